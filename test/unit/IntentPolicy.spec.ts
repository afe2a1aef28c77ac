/**
 * IntentPolicy (SPEC section 5): what an authentic intent may do, checked at submission and again when a queued
 * intent executes. Checks run in the order of `DenyReason`: target, malformed transfer, approval, asset, hard cap,
 * recipient, then the rate limit. A plain ETH payment or a token `transfer` is a payment and needs a limit for its
 * asset; any other call needs an allowed (target, selector); approval-type calls are denied unless allowed; a token
 * `transfer` is always charged as a payment; the Safe, the exec target and the module are never targets. A denial is
 * recorded, consumes the nonce and is a strike (IntentRouter.spec.ts, EmergencyControls.spec.ts).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, id, parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  RecipientMode,
  Status,
  agentConfig,
  assetLimit,
  buildIntent,
  callTargetFixture,
  intentId,
  mocksFixture,
  moduleAsSafe,
  submitSigned,
  tokenPayment,
  transferData,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { expectDenied, intentTuple, withTarget } from "./helpers";

const APPROVALS = new Interface([
  "function approve(address,uint256)",
  "function increaseAllowance(address,uint256)",
  "function permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  "function permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)",
  "function setApprovalForAll(address,bool)",
  "function transferFrom(address,address,uint256)",
]);
const TRANSFER_SELECTOR = "0xa9059cbb";

describe("IntentPolicy", function () {
  describe("calls", function () {
    it("denies a call the agent is not allowed with TargetNotAllowed [test_submit_callWithoutAllowedCall_deniedTargetNotAllowed]", async function () {
      const fx = await loadFixture(mocksFixture);
      const data = fx.callTarget.interface.encodeFunctionData("ping", [7]);
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data }),
        DenyReason.TargetNotAllowed,
      );
      expect(await fx.callTarget.pings()).to.equal(0n);
    });

    it("executes an allowed (target, selector), and nothing else on that target, until it is revoked [test_submit_allowedCall_executesOnlyThatSelector]", async function () {
      const fx = await loadFixture(mocksFixture);
      const ping = fx.callTarget.interface.getFunction("ping").selector;
      await expect((await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, true))
        .to.emit(fx.module, "AllowedCallSet")
        .withArgs(fx.agent.address, fx.callTargetAddress, ping, true);
      const intent = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("ping", [7]),
      });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.callTargetAddress, 0n, false, intent.rationale);
      await expect(tx).to.emit(fx.callTarget, "Pinged").withArgs(fx.safeAddress, 0n, 7n);
      expect(await fx.callTarget.pings()).to.equal(1n);
      // A call that spends nothing leaves every window alone.
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
      // Another selector on the same target is still not allowed.
      const other = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("other"),
      });
      await expectDenied(fx, other, DenyReason.TargetNotAllowed);
      // And revoking the selector denies it again.
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, false);
      const again = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("ping", [8]),
      });
      await expectDenied(fx, again, DenyReason.TargetNotAllowed);
    });

    it("charges ETH sent with an allowed call to the ETH limits, like a payment [test_submit_allowedCallWithValue_chargedToEth]", async function () {
      const fx = await loadFixture(mocksFixture);
      const ping = fx.callTarget.interface.getFunction("ping").selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, true);
      const data = fx.callTarget.interface.encodeFunctionData("ping", [1]);
      const value = parseEther("0.75");
      const intent = await buildIntent(fx, { target: fx.callTargetAddress, data, value });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.callTargetAddress, value, false, intent.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.callTargetAddress], [-value, value]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.25"));
      // Above autoPerTx: queued like a payment.
      await expect(
        submitSigned(fx, await buildIntent(fx, { target: fx.callTargetAddress, data, value: parseEther("1.5") })),
      ).to.emit(fx.module, "IntentQueued");
      // Without an ETH limit the value cannot be spent at all.
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data, value: 1n }),
        DenyReason.AssetNotAllowed,
      );
    });

    it("denies approve, increaseAllowance, both permits, setApprovalForAll and transferFrom with ApprovalNotAllowed [test_submit_approvalTypeCalls_deniedApprovalNotAllowed]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const max = 2n ** 256n - 1n;
      const calls = [
        APPROVALS.encodeFunctionData("approve", [fx.attacker.address, max]),
        APPROVALS.encodeFunctionData("increaseAllowance", [fx.attacker.address, max]),
        APPROVALS.encodeFunctionData("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", [
          fx.safeAddress,
          fx.attacker.address,
          max,
          max,
          27,
          id("r"),
          id("s"),
        ]),
        APPROVALS.encodeFunctionData("permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", [
          fx.safeAddress,
          fx.attacker.address,
          0,
          max,
          true,
          27,
          id("r"),
          id("s"),
        ]),
        APPROVALS.encodeFunctionData("setApprovalForAll", [fx.attacker.address, true]),
        APPROVALS.encodeFunctionData("transferFrom", [fx.safeAddress, fx.attacker.address, 1n]),
      ];
      // The USDC limit exists, yet none of these is a payment.
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      for (const data of calls) {
        await expectDenied(fx, await buildIntent(fx, { target: fx.usdcAddress, data }), DenyReason.ApprovalNotAllowed);
      }
      expect(await fx.usdc.allowance(fx.safeAddress, fx.attacker.address)).to.equal(0n);
    });

    it("executes an approve the owners allowed, charging nothing [test_submit_approveExplicitlyAllowed_executesAndChargesNothing]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const approve = APPROVALS.getFunction("approve")!.selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, approve, true);
      const amount = parseUnits("123", 6);
      const intent = await buildIntent(fx, {
        target: fx.usdcAddress,
        data: APPROVALS.encodeFunctionData("approve", [fx.bob.address, amount]),
      });
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.usdc.allowance(fx.safeAddress, fx.bob.address)).to.equal(amount);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });
  });

  describe("a token transfer is always a payment", function () {
    it("charges a transfer as a payment even when transfer is an allowed call [test_submit_transferAllowedAsCall_isStillChargedAsPayment]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, TRANSFER_SELECTOR, true);
      // Above autoPerTx: an allowed call would run at once; a payment is queued.
      const big = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("2000", 6));
      await expect(submitSigned(fx, big)).to.emit(fx.module, "IntentQueued");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
      const small = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("600", 6));
      await expect(submitSigned(fx, small))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, small),
          fx.agent.address,
          fx.usdcAddress,
          fx.alice.address,
          parseUnits("600", 6),
          false,
          small.rationale,
        );
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("4400", 6));
    });

    it("never lets a padded transfer through as an uncharged allowed call [test_submit_transferWithTrailingBytesAsAllowedCall_isNeverUncharged]", async function () {
      // An allowed call can never bypass limits (SPEC 5). ERC-20s decode `transfer(to, amount)` and ignore trailing
      // calldata, so a padded transfer moves tokens exactly like a plain one.
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, TRANSFER_SELECTOR, true);
      const amount = parseUnits("2000", 6); // above autoPerTx 1,000
      const padded = await buildIntent(fx, {
        target: fx.usdcAddress,
        data: transferData(fx.attacker.address, amount) + "00",
      });
      const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);
      const allowanceBefore = await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress);
      // The `transfer` selector with trailing bytes is never an allowed call: it is denied as malformed (v3).
      await expectDenied(fx, padded, DenyReason.MalformedCall);
      const outflow = safeBefore - (await fx.usdc.balanceOf(fx.safeAddress));
      const charged = allowanceBefore - (await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress));
      expect(outflow, "USDC left the Safe without being charged to the agent's window").to.be.at.most(charged);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.be.at.most(fx.usdcLimit.autoPerTx);
    });
  });

  describe("non-canonical transfers (v3)", function () {
    const RECIPIENT_WORD = (to: string) => "000000000000000000000000" + to.slice(2).toLowerCase();
    const AMOUNT_WORD = (amount: bigint) => amount.toString(16).padStart(64, "0");
    /** Calldata of each non-canonical encoding of `transfer(to, amount)`, by name: every one is MalformedCall. */
    const CASES: Array<[string, (to: string, amount: bigint) => string]> = [
      ["transfer36Bytes", (to) => TRANSFER_SELECTOR + RECIPIENT_WORD(to)],
      ["transfer67Bytes", (to, amount) => transferData(to, amount).slice(0, -2)],
      ["transfer69Bytes", (to, amount) => transferData(to, amount) + "00"],
      ["transfer73Bytes", (to, amount) => transferData(to, amount) + "0000000000"],
      [
        "transferDirtyRecipientWord",
        (to, amount) => TRANSFER_SELECTOR + "ff" + RECIPIENT_WORD(to).slice(2) + AMOUNT_WORD(amount),
      ],
    ];

    /** "transfer36Bytes" -> "a 36-byte transfer"; "transferDirtyRecipientWord" -> "a transfer whose recipient word is dirty". */
    const described = (name: string) =>
      name === "transferDirtyRecipientWord"
        ? "a transfer whose recipient word is dirty"
        : `a ${name.slice(8, -5)}-byte transfer`;

    it("builds each non-canonical case with the length its name says [test_nonCanonicalTransferCases_haveTheLengthsTheirNamesSay]", function () {
      const lengths = CASES.map(([, build]) => (build(ethers.ZeroAddress, 1n).length - 2) / 2);
      expect(lengths).to.deep.equal([36, 67, 69, 73, 68]);
    });

    for (const [name, build] of CASES) {
      it(`denies ${described(name)} with MalformedCall and a strike, moving nothing [test_submit_${name}_deniedMalformedCallWithStrike]`, async function () {
        const fx = await loadFixture(treasuryFixture);
        const amount = parseUnits("10", 6); // a payment the agent could make if it were canonical
        const intent = await buildIntent(fx, { target: fx.usdcAddress, data: build(fx.attacker.address, amount) });
        const before = await treasuryState(fx, { accounts: [fx.safeAddress, fx.alice.address, fx.attacker.address] });
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
        // Denied (recorded, nonce consumed, strike), never a bare revert.
        await expectDenied(fx, intent, DenyReason.MalformedCall);
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
        const after = await treasuryState(fx, { accounts: [fx.safeAddress, fx.alice.address, fx.attacker.address] });
        expect(after[`nonce:${fx.agent.address}:0`]).to.equal(intent.nonce + 1n);
        delete after[`nonce:${fx.agent.address}:0`];
        delete before[`nonce:${fx.agent.address}:0`];
        expect(after).to.deep.equal(before);
        expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
      });
    }

    it("pays the highest address there is, 2^160 - 1, like any other: its word is canonical [test_submit_transferToHighestAddress_isAPayment]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const highest = ethers.getAddress("0x" + "ff".repeat(20));
      const amount = parseUnits("10", 6);
      const intent = await buildIntent(fx, { target: fx.usdcAddress, data: transferData(highest, amount) });
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, fx.usdcAddress, highest, amount, false, intent.rationale);
      expect(await fx.usdc.balanceOf(highest)).to.equal(amount);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
    });

    it("denies a transfer with a dirty recipient word even when transfer is an allowed call [test_submit_transferDirtyRecipientWord_deniedEvenWhenTransferIsAnAllowedCall]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, TRANSFER_SELECTOR, true);
      const data = CASES[4][1](fx.attacker.address, parseUnits("10", 6));
      await expectDenied(fx, await buildIntent(fx, { target: fx.usdcAddress, data }), DenyReason.MalformedCall);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
    });
  });

  describe("the Safe, the module and the exec target are never targets", function () {
    it("denies any payment to or call of the Safe or the module with TargetNotAllowed [test_submit_safeOrModuleAsTarget_deniedTargetNotAllowed]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      const safeCall = fx.safe.interface.encodeFunctionData("enableModule", [fx.attacker.address]);
      const moduleCall = fx.module.interface.encodeFunctionData("setAgent", [fx.attacker.address, agentConfig()]);
      const targets: Array<Partial<Intent>> = [
        { target: fx.safeAddress, value: parseEther("0.1") }, // an ETH "payment" to the Safe
        { target: fx.safeAddress, data: safeCall },
        { target: fx.moduleAddress, data: moduleCall },
        { target: fx.moduleAddress, value: parseEther("0.1") },
      ];
      for (const fields of targets) {
        await expectDenied(fx, await buildIntent(fx, fields), DenyReason.TargetNotAllowed);
      }
      expect(await fx.module.isAgent(fx.attacker.address)).to.equal(false);
      expect(await fx.safe.isModuleEnabled(fx.attacker.address)).to.equal(false);
    });

    it("denies any payment to or call of the exec target, and a payment to the avatar, while a target is set (v3) [test_submit_intentTargetingTheTarget_deniedTargetNotAllowed]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { modifier, modifierAddress } = await withTarget(fx);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      const intents: Array<Partial<Intent>> = [
        { target: modifierAddress, value: parseEther("0.1") }, // an ETH "payment" to the modifier
        { target: modifierAddress, data: modifier.interface.encodeFunctionData("ping", [1n]) },
        // A payment to the avatar is still refused while a target is set.
        { target: fx.safeAddress, value: parseEther("0.1") },
      ];
      for (const fields of intents) {
        await expectDenied(fx, await buildIntent(fx, fields), DenyReason.TargetNotAllowed);
      }
    });

    it("denies a call allowed before its contract became the exec target (v3) [test_submit_callAllowedBeforeSetTarget_deniedOnceItIsTheTarget]", async function () {
      // An allowed call granted while the contract was an ordinary target does not survive it becoming the target.
      const fx = await loadFixture(treasuryFixture);
      const modifier = await ethers.deployContract("MockCallTarget");
      const modifierAddress = await modifier.getAddress();
      const ping = modifier.interface.getFunction("ping")!.selector;
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, modifierAddress, ping, true]),
      );
      const data = modifier.interface.encodeFunctionData("ping", [1n]);
      await expect(submitSigned(fx, await buildIntent(fx, { target: modifierAddress, data }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
      expect(await modifier.pings()).to.equal(1n);
      await fx.asOwners(fx.module.interface.encodeFunctionData("setTarget", [modifierAddress]));
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, modifierAddress, ping)).to.equal(true);
      await expectDenied(fx, await buildIntent(fx, { target: modifierAddress, data }), DenyReason.TargetNotAllowed);
      expect(await modifier.pings()).to.equal(1n);
    });
  });

  describe("recipient modes", function () {
    it("in Allowlist mode denies a payment to an unknown recipient (for a token, the one it pays), also above the auto tier [test_submit_allowlistModeUnknownRecipient_deniedRecipientNotAllowed]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.Allowlist, maxStrikes: 0n }));
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.RecipientNotAllowed);
      // For a token the decoded recipient counts, not the token contract.
      await owner.setRecipient(fx.agent.address, fx.usdcAddress, true);
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("5", 6)),
        DenyReason.RecipientNotAllowed,
      );
      // Above the auto tier an unknown recipient is still denied, not queued.
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("2") }), DenyReason.RecipientNotAllowed);
      await expect(owner.setRecipient(fx.agent.address, fx.alice.address, true))
        .to.emit(fx.module, "RecipientSet")
        .withArgs(fx.agent.address, fx.alice.address, true);
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
      await expect(
        submitSigned(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("5", 6))),
      ).to.emit(fx.module, "IntentExecuted");
    });

    it("in Allowlist mode charges ETH sent with an allowed call without asking the allowlist, and asks it for the same ETH sent as a payment [test_submit_allowlistMode_ethSentWithAllowedCall_chargedNotRecipientChecked]", async function () {
      // SPEC 5: recipient rules apply to payments. ETH sent along an allowed call goes to a target the owners allowed:
      // it is charged to the ETH window, but the allowlist is not asked.
      const fx = await loadFixture(callTargetFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.Allowlist, maxStrikes: 0n }));
      expect(await fx.lens.isRecipient(fx.moduleAddress, fx.agent.address, fx.targetAddress)).to.equal(false);
      const value = parseEther("0.5");
      const call = await buildIntent(fx, {
        target: fx.targetAddress,
        value,
        data: fx.target.interface.encodeFunctionData("ping", [7n]),
      });
      const tx = submitSigned(fx, call);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, call), fx.agent.address, ETH, fx.targetAddress, value, false, call.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.targetAddress], [-value, value]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - value);
      // The same ETH sent to the same contract as a plain payment is a payment: the allowlist applies.
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.targetAddress, value }),
        DenyReason.RecipientNotAllowed,
      );
    });

    it("in EscalateUnknown mode queues a payment to an unknown recipient and executes one to a known recipient [test_submit_escalateUnknownMode_queuesUnknownAndExecutesKnown]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.EscalateUnknown }));
      const unknown = await buildIntent(fx, { value: parseEther("0.1") });
      const ts = BigInt(await time.latest()) + 5n;
      await time.setNextBlockTimestamp(ts);
      const id_ = intentId(fx, unknown);
      await expect(submitSigned(fx, unknown))
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, ts + BigInt(HOUR), intentTuple(unknown));
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, ts + BigInt(HOUR), 0n, Status.Queued]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
      await owner.setRecipient(fx.agent.address, fx.alice.address, true);
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
    });
  });

  describe("the order of the checks", function () {
    it("denies with the first failing check in the order of DenyReason, the rate limit last [test_submit_denialReasons_followTheSpecOrder]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(
        fx.agent.address,
        agentConfig({
          maxStrikes: 0n,
          recipientMode: RecipientMode.Allowlist,
          maxIntentsPerWindow: 1n,
          rateWindow: BigInt(DAY),
        }),
      );
      await owner.setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      // Target before asset: a disallowed call carrying ETH the agent has no limit for.
      const data = fx.callTarget.interface.encodeFunctionData("ping", [1]);
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data, value: 1n }),
        DenyReason.TargetNotAllowed,
      );
      // Approval before asset.
      await expectDenied(
        fx,
        await buildIntent(fx, {
          target: fx.usdcAddress,
          data: APPROVALS.encodeFunctionData("approve", [fx.bob.address, 1n]),
          value: 1n,
        }),
        DenyReason.ApprovalNotAllowed,
      );
      // Hard cap before recipient.
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("60000", 6)),
        DenyReason.AboveHardCap,
      );
      // Every policy reason before the rate limit, which these intents long exceeded.
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, 1n),
        DenyReason.RecipientNotAllowed,
      );
      await owner.setRecipient(fx.agent.address, fx.bob.address, true);
      await expectDenied(fx, await tokenPayment(fx, fx.usdcAddress, fx.bob.address, 1n), DenyReason.RateLimited);
    });
  });
});
