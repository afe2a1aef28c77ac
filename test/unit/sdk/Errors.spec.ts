import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Interface, ZeroHash, concat, encodeBytes32String, id } from "ethers";
import { IAgentTreasuryModule__factory } from "../../../typechain-types";
import {
  AgentFrozenError,
  AgentInactiveError,
  ApprovalsInsufficientError,
  CosignerRejectedError,
  ExecutionFailedError,
  IdempotencyConflictError,
  IntentNotForReviewError,
  IntentNotReadyError,
  IntentStateError,
  IntentWindowError,
  InvalidRequestError,
  ModuleConfigError,
  ModulePausedError,
  NonceMismatchError,
  NotAuthorizedError,
  PolicyViolationError,
  SignatureRejectedError,
  TreasuryError,
  UnknownRevertError,
  DENY_REASON_NAMES,
  DENY_REASON_TEXT,
  decodeError,
  denialText,
  decodeRevert,
  isMappedModuleError,
  moduleErrorNames,
} from "../../../sdk";
import { buildIntent, impersonate, intentId, sign, treasuryFixture } from "../../fixtures";

const iface = IAgentTreasuryModule__factory.createInterface();
const A = "0x00000000000000000000000000000000000000a1";
const B = "0x00000000000000000000000000000000000000b2";
const ID = "0x" + "cd".repeat(32);

type Klass = abstract new (...args: never[]) => TreasuryError;

/** One example of each custom error: arguments, the class it must decode to, and words its message must contain. */
const CASES: [string, unknown[], Klass, string, RegExp][] = [
  ["ModuleIsPaused", [], ModulePausedError, "MODULE_PAUSED", /paused.*wait until the Safe owners unpause/],
  ["AgentIsFrozen", [A], AgentFrozenError, "AGENT_FROZEN", /frozen.*unfreeze/],
  ["AgentUnknown", [A], AgentInactiveError, "AGENT_INACTIVE", /not an active agent.*setAgent/],
  ["AgentExpired", [A, 100, 200], AgentInactiveError, "AGENT_INACTIVE", /expired at 1970.*rotate/],
  ["IntentSenderNotAgent", [B, A], SignatureRejectedError, "SIGNATURE_INVALID", /must be sent by the agent/],
  [
    "IntentSignatureInvalid",
    [A, ID],
    SignatureRejectedError,
    "SIGNATURE_INVALID",
    /not agent .*'s\. Sign with the agent's key/,
  ],
  [
    "IntentNonceMismatch",
    [A, (7n << 64n) | 3n, (7n << 64n) | 2n],
    NonceMismatchError,
    "NONCE_MISMATCH",
    /current nonce .* of lane 7.*separate lanes/,
  ],
  ["IntentValidUntilZero", [A], IntentWindowError, "INTENT_OUTSIDE_WINDOW", /validUntil 0/],
  ["IntentNotYetValid", [500, 400], IntentWindowError, "INTENT_OUTSIDE_WINDOW", /not valid before/],
  ["IntentExpired", [400, 500], IntentWindowError, "INTENT_OUTSIDE_WINDOW", /expired.*same idempotency key/],
  [
    "IdempotencyKeyConflict",
    [A, ID, ID],
    IdempotencyConflictError,
    "IDEMPOTENCY_CONFLICT",
    /different payload.*new key/,
  ],
  ["ExecutionFailed", [B], ExecutionFailedError, "EXECUTION_FAILED", /reverted; nothing was charged/],
  ["TokenTransferReturnedFalse", [B], ExecutionFailedError, "EXECUTION_FAILED", /returned false/],
  ["TokenBalanceUnreadable", [B], ExecutionFailedError, "EXECUTION_FAILED", /could not read/],
  ["BalanceChangeExceedsCharge", [B, 1, 2], ExecutionFailedError, "EXECUTION_FAILED", /More of asset/],
  [
    "IntentUnexpectedStatus",
    [ID, 1, 4],
    IntentStateError,
    "INTENT_WRONG_STATUS",
    /is Executed, but this needs it to be Queued/,
  ],
  ["IntentNotReady", [ID, 1000, 900], IntentNotReadyError, "INTENT_NOT_READY", /timelocked until/],
  [
    "IntentPolicyViolation",
    [ID, 4],
    PolicyViolationError,
    "POLICY_VIOLATION",
    /AboveHardCap: the amount is above the agent's hard cap.*Cancel it/,
  ],
  [
    "IntentNotForReview",
    [ID],
    IntentNotForReviewError,
    "INTENT_NOT_FOR_REVIEW",
    /not signed with review = true, so propose refuses it.*Sign it again/,
  ],
  ["ModuleInvalidTarget", [A], ModuleConfigError, "MODULE_CONFIG", /ModuleInvalidTarget\(0x0+a1\)/i],
  ["ApprovalsInsufficient", [ID, 1, 2], ApprovalsInsufficientError, "APPROVALS_INSUFFICIENT", /has 1 of the 2/],
  ["CosignerUnknown", [A], CosignerRejectedError, "COSIGNER_REJECTED", /not a current co-signer/],
  ["CosignerSignatureInvalid", [A, ID], CosignerRejectedError, "COSIGNER_REJECTED", /signature .* is invalid/],
  ["CosignerSignaturesUnordered", [B, A], CosignerRejectedError, "COSIGNER_REJECTED", /sorted by signer address/],
  ["CosignerAlreadyApproved", [ID, A], CosignerRejectedError, "COSIGNER_REJECTED", /already approved/],
  ["CancelNotAuthorized", [ID, A], NotAuthorizedError, "NOT_AUTHORIZED", /may not cancel/],
  ["ModuleCallerNotGuardian", [A], NotAuthorizedError, "NOT_AUTHORIZED", /not a guardian/],
  ["ModuleCallerNotOwner", [A, B], NotAuthorizedError, "NOT_AUTHORIZED", /Only the Safe/],
  ["ModuleNotPaused", [], ModuleConfigError, "MODULE_CONFIG", /not paused/],
  ["CosignerThresholdInvalid", [0, 3], ModuleConfigError, "MODULE_CONFIG", /CosignerThresholdInvalid\(0, 3\)/],
  ["ModuleInvalidTarget", [A], ModuleConfigError, "MODULE_CONFIG", /ModuleInvalidTarget\(0x0+a1\)/i],
  ["ReentrancyGuardReentrantCall", [], ExecutionFailedError, "EXECUTION_FAILED", /re-enter/],
  ["SafeCastOverflowedUintDowncast", [128, 1n << 130n], InvalidRequestError, "INVALID_REQUEST", /128-bit/],
  [
    "BatchLengthMismatch",
    [2, 1],
    InvalidRequestError,
    "INVALID_REQUEST",
    /2 intents but 1 signatures: give one signature per intent/,
  ],
  [
    "PriceReadOutOfGas",
    [A],
    InvalidRequestError,
    "INVALID_REQUEST",
    /price feed 0x0+a1 ran out of gas.*Send the same request again with a higher gas limit/i,
  ],
  [
    "UsdLimitInvalid",
    [A, encodeBytes32String("autoPerTx > autoPerWindow")],
    ModuleConfigError,
    "MODULE_CONFIG",
    /USD limit of agent 0x0+a1: autoPerTx > autoPerWindow\. Fix usdLimit/i,
  ],
  [
    "PriceFeedInvalid",
    [A, B, encodeBytes32String("feed has no code")],
    ModuleConfigError,
    "MODULE_CONFIG",
    /price feed 0x0+b2 for asset 0x0+a1: feed has no code\./i,
  ],
  ["CallConditionsTooMany", [17, 16], ModuleConfigError, "MODULE_CONFIG", /17 conditions on one call: at most 16/],
  [
    "CallConditionInvalid",
    [1, 4, ZeroHash],
    ModuleConfigError,
    "MODULE_CONFIG",
    /condition 1 \(ChargeAs, value 0x0{64}\).*ChargeAs the address of a token/,
  ],
  [
    "CallConditionChargedTwice",
    [0, 2],
    ModuleConfigError,
    "MODULE_CONFIG",
    /conditions 0 and 2: both charge an argument \(chargeAs\)/,
  ],
  [
    "CallConditionsOnPayment",
    [A, "0xa9059cbb"],
    ModuleConfigError,
    "MODULE_CONFIG",
    /conditions on 0xa9059cbb of 0x0+a1: transfer\(address,uint256\) is always a payment/i,
  ],
];

describe("errors", function () {
  describe("decoding the module's custom errors", function () {
    it("test_moduleErrors_everyDeclaredError_hasATypedClass", function () {
      const names = moduleErrorNames();
      expect(names.length).to.be.greaterThan(30);
      expect(names.filter((n) => !isMappedModuleError(n))).to.deep.equal([]);
    });

    for (const [name, args, klass, code, words] of CASES) {
      it(`test_decodeRevert_${name}_is${klass.name}`, function () {
        const data = iface.encodeErrorResult(name as "ModuleIsPaused", args as []);
        const err = decodeRevert(data);
        expect(err).to.be.instanceOf(klass);
        expect(err.code).to.equal(code);
        expect(err.errorName).to.equal(name);
        expect(err.message).to.match(words);
        expect(Object.keys(err.args)).to.have.length(args.length);
      });
    }

    it("test_decodeRevert_innerReasonString_isExecutionFailed", function () {
      const data = concat(["0x08c379a0", AbiCoder.defaultAbiCoder().encode(["string"], ["token paused"])]);
      const err = decodeRevert(data);
      expect(err).to.be.instanceOf(ExecutionFailedError);
      expect(err.message).to.contain('"token paused"');
    });

    it("test_decodeRevert_innerErc20Error_isExecutionFailedWithAmounts", function () {
      const erc20 = new Interface(["error ERC20InsufficientBalance(address sender, uint256 balance, uint256 needed)"]);
      const err = decodeRevert(erc20.encodeErrorResult("ERC20InsufficientBalance", [A, 5, 9]));
      expect(err).to.be.instanceOf(ExecutionFailedError);
      expect(err.message).to.contain("holds 5 base units, needs 9");
    });

    it("test_decodeRevert_unknownSelector_isUnknownRevert", function () {
      const err = decodeRevert(id("Nope()").slice(0, 10));
      expect(err).to.be.instanceOf(UnknownRevertError);
      expect(err.code).to.equal("REVERTED");
    });

    it("test_toJSON_bigintArgs_areDecimalStrings", function () {
      const err = decodeRevert(iface.encodeErrorResult("ApprovalsInsufficient", [ID, 1, 2]));
      expect(err.toJSON()).to.deep.include({ code: "APPROVALS_INSUFFICIENT", errorName: "ApprovalsInsufficient" });
      expect(err.toJSON().args).to.deep.equal({ intentId: ID, counted: "1", required: "2" });
    });
  });

  describe("explaining denial reasons", function () {
    it("test_denyReasons_matchTheModulesEnumAndEachHasWords", function () {
      // SPEC section 8: v3 appends MalformedCall (value 7), so the earlier reasons keep their numbers.
      expect(DENY_REASON_NAMES.indexOf("MalformedCall")).to.equal(7);
      expect(DENY_REASON_NAMES.indexOf("RateLimited")).to.equal(6);
      for (const name of DENY_REASON_NAMES.slice(1))
        expect(DENY_REASON_TEXT[name], name).to.be.a("string").and.have.length.above(40);
    });

    it("test_denialText_malformedCall_explainsCanonicalTransferAndStrike", function () {
      expect(denialText("MalformedCall")).to.equal(
        "MalformedCall: the calldata is not a canonical ERC-20 transfer(address,uint256): it must be exactly 68 bytes " +
          "(selector, recipient word, amount word) with a clean address (the recipient word's 12 high bytes zero); the " +
          "module denied it and counted a strike against the agent.",
      );
    });
  });

  describe("decoding errors thrown by the chain", function () {
    it("test_decodeError_realConfigRevert_isModuleConfigError", async function () {
      const fx = await loadFixture(treasuryFixture);
      const safe = await impersonate(fx.safeAddress);
      const err = await fx.module
        .connect(safe)
        .setCosigners.staticCall([fx.cosigners[0].address], 2)
        .catch((e: unknown) => e);
      const decoded = decodeError(err);
      expect(decoded).to.be.instanceOf(ModuleConfigError);
      expect(decoded!.errorName).to.equal("CosignerThresholdInvalid");
      expect(decoded!.args).to.deep.equal({ threshold: 2n, members: 1n });
    });

    it("test_decodeError_expiredIntentSubmitted_isIntentWindowError", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: 1n, validUntil: 1n, idempotencyKey: ZeroHash });
      const err = await fx.module
        .connect(fx.relayer)
        .submit.staticCall(intent, await sign(fx.agent, fx, intent))
        .catch((e: unknown) => e);
      const decoded = decodeError(err);
      expect(decoded).to.be.instanceOf(IntentWindowError);
      expect(decoded!.errorName).to.equal("IntentExpired");
      expect(decoded!.args.validUntil).to.equal(1n);
    });

    it("test_decodeError_proposeWithoutReviewFlag_isIntentNotForReview", async function () {
      const fx = await loadFixture(treasuryFixture);
      // v3: an intent the agent signed for `submit` (review = false) cannot be relayed as a proposal.
      const intent = await buildIntent(fx, { value: 1n, review: false });
      const err = await fx.module
        .connect(fx.relayer)
        .propose.staticCall(intent, await sign(fx.agent, fx, intent))
        .catch((e: unknown) => e);
      const decoded = decodeError(err);
      expect(decoded).to.be.instanceOf(IntentNotForReviewError);
      expect(decoded!.code).to.equal("INTENT_NOT_FOR_REVIEW");
      expect(decoded!.args).to.deep.equal({ intentId: intentId(fx, intent) });
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(intent.nonce); // rejected: nonce not consumed
    });

    it("test_decodeError_transportFailure_isUndefined", function () {
      expect(decodeError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }))).to.equal(
        undefined,
      );
    });
  });
});
