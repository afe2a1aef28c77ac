/**
 * Typed errors of the client library (the classes are in ./errorClasses.ts and exported from here). Each class has a
 * stable `code`, and its message says what happened and what to do next. Reverts are decoded from the module's
 * custom errors with the generated (typechain) interface, so a caller can
 * `catch (e) { if (e instanceof AgentFrozenError) ... }` or switch on `e.code`.
 */
import { AbiCoder, ErrorDescription, dataSlice, decodeBytes32String, formatUnits } from "ethers";
import { erc20ErrorsInterface, moduleInterface } from "./bindings";
import { DENY_REASON_NAMES, DENY_REASON_TEXT, STATUS_NAMES } from "./types";
import { CONDITION_OP_NAMES } from "./shapes";
import {
  TreasuryError,
  ModulePausedError,
  AgentFrozenError,
  AgentInactiveError,
  SignatureRejectedError,
  NonceMismatchError,
  IntentWindowError,
  IntentNotForReviewError,
  IdempotencyConflictError,
  ExecutionFailedError,
  IntentNotReadyError,
  IntentStateError,
  PolicyViolationError,
  ApprovalsInsufficientError,
  CosignerRejectedError,
  NotAuthorizedError,
  ModuleConfigError,
  UnknownRevertError,
  InvalidRequestError,
} from "./errorClasses";
import type { TreasuryErrorDetails } from "./errorClasses";

export * from "./errorClasses";

// ---------------------------------------------------------------- decoding

type Args = Record<string, unknown>;
type ErrorClass = new (message: string, details?: TreasuryErrorDetails) => TreasuryError;

const when = (seconds: unknown): string => {
  const n = Number(seconds);
  return Number.isFinite(n) && n > 0 ? `${new Date(n * 1000).toISOString()} (unix ${n})` : String(seconds);
};
const statusOf = (v: unknown): string => STATUS_NAMES[Number(v)] ?? String(v);
const statesIn = (bitmap: unknown): string => {
  const bits = BigInt(bitmap as bigint);
  const names = STATUS_NAMES.filter((_, i) => (bits >> BigInt(i)) & 1n);
  return names.length ? names.join(" or ") : "none";
};
const laneOf = (nonce: unknown): string => (BigInt(nonce as bigint) >> 64n).toString();
const policyReason = (reason: unknown): string => {
  const name = DENY_REASON_NAMES[Number(reason)];
  return name === undefined ? String(reason) : `${name}: ${DENY_REASON_TEXT[name]}`;
};

/** For each custom error of the module: the class it maps to and a message saying what to do next. */
const MODULE_ERRORS: Record<string, [ErrorClass, (a: Args) => string]> = {
  ModuleIsPaused: [
    ModulePausedError,
    () =>
      "The treasury module is paused (a guardian or the owners stopped it): nothing can be submitted or executed. " +
      "Do not retry in a loop; wait until the Safe owners unpause it.",
  ],
  AgentIsFrozen: [
    AgentFrozenError,
    (a) =>
      `Agent ${a.agent} is frozen (by a guardian, or automatically after repeated denied intents). Stop submitting ` +
      "and ask the Safe owners to review its activity and unfreeze it.",
  ],
  AgentUnknown: [
    AgentInactiveError,
    (a) =>
      `${a.agent} is not an active agent of this module (never registered, removed, or rotated out). Check the ` +
      "module address and the agent key; the Safe owners register agents with setAgent.",
  ],
  AgentExpired: [
    AgentInactiveError,
    (a) =>
      `Agent key ${a.agent} expired at ${when(a.validUntil)}. Ask the Safe owners to extend its validUntil or rotate to a new key.`,
  ],
  IntentSenderNotAgent: [
    SignatureRejectedError,
    (a) =>
      `An unsigned intent must be sent by the agent ${a.agent} itself, not by ${a.sender}. Sign the intent, or send it from the agent's key.`,
  ],
  IntentSignatureInvalid: [
    SignatureRejectedError,
    (a) =>
      `The signature of intent ${a.intentId} is not agent ${a.agent}'s. Sign with the agent's key for this chain ` +
      "and module (the client does); a relayer must pass the intent and signature unchanged.",
  ],
  IntentNonceMismatch: [
    NonceMismatchError,
    (a) =>
      `Nonce ${a.got} is not the current nonce ${a.expected} of lane ${laneOf(a.expected)} for agent ${a.agent}: another ` +
      "intent used this lane first. Re-read the nonce and sign again (the client does this); give concurrent " +
      "workflows separate lanes.",
  ],
  IntentValidUntilZero: [
    IntentWindowError,
    (a) => `Intent of agent ${a.agent} has validUntil 0. Give it a deadline (the client signs with now + validFor).`,
  ],
  IntentNotYetValid: [
    IntentWindowError,
    (a) =>
      `The intent is not valid before ${when(a.validAfter)} (block time ${a.timestamp}). Submit it after that time.`,
  ],
  IntentExpired: [
    IntentWindowError,
    (a) =>
      `The intent's signature expired at ${when(a.validUntil)} (block time ${a.timestamp}). Sign it again with a fresh ` +
      "deadline and the same idempotency key, so that it still pays at most once.",
  ],
  IntentNotForReview: [
    IntentNotForReviewError,
    (a) =>
      `Intent ${a.intentId} was not signed with review = true, so propose refuses it: the request for review is part of ` +
      "what the agent signs (SPEC v3). Sign it again with review = true (AgentClient.propose and agent:propose do), " +
      "or send it with submit if it should not wait for co-signers.",
  ],
  IdempotencyKeyConflict: [
    IdempotencyConflictError,
    (a) =>
      `Idempotency key ${a.key} of agent ${a.agent} is already bound to a different payload (intent ` +
      `${a.originalIntentId}). A key names one payment forever: use a new key for a new payment, or repeat the ` +
      "original payload exactly to read its result.",
  ],
  BatchLengthMismatch: [
    InvalidRequestError,
    (a) =>
      `submitBatch was given ${a.intents} intents but ${a.signatures} signatures: give one signature per intent, in the ` +
      "same order (an empty one only when the agent sends the batch itself). AgentClient.payMany builds both lists.",
  ],
  ExecutionFailed: [
    ExecutionFailedError,
    (a) =>
      `The Safe's call to ${a.target} reverted; nothing was charged and the nonce was not consumed. Check the ` +
      "target's state (the Safe's balance, the token, the contract) before retrying.",
  ],
  TokenTransferReturnedFalse: [
    ExecutionFailedError,
    (a) =>
      `Token ${a.token} returned false from transfer (often: the Safe's balance is too low). Check the Safe's balance; nothing was charged.`,
  ],
  TokenBalanceUnreadable: [
    ExecutionFailedError,
    (a) =>
      `The module could not read the Safe's balance of ${a.token}: is it an ERC-20 token? Check the asset address.`,
  ],
  BalanceChangeExceedsCharge: [
    ExecutionFailedError,
    (a) =>
      `More of asset ${a.asset} left the Safe (${a.actual}) than the intent was charged (${a.charged}), so the module ` +
      "reverted it. The token or target behaves unexpectedly (fee on transfer, reentrancy): review it before use.",
  ],
  IntentNotReady: [
    IntentNotReadyError,
    (a) =>
      `Intent ${a.intentId} is timelocked until ${when(a.eta)} (block time ${a.timestamp}). Execute it after the ` +
      "escalation delay.",
  ],
  IntentUnexpectedStatus: [
    IntentStateError,
    (a) =>
      `Intent ${a.intentId} is ${statusOf(a.current)}, but this needs it to be ${statesIn(a.expectedStates)}. Read its ` +
      "status (intent:show) before acting again.",
  ],
  IntentPolicyViolation: [
    PolicyViolationError,
    (a) =>
      `Intent ${a.intentId} no longer fits the agent's policy (${policyReason(a.reason)}); ` +
      "limits at execution time apply. Cancel it, or ask the Safe owners to change the policy first.",
  ],
  ApprovalsInsufficient: [
    ApprovalsInsufficientError,
    (a) =>
      `Intent ${a.intentId} has ${a.counted} of the ${a.required} co-signer approvals it needs. Collect more ` +
      "approvals (on-chain or signatures) and execute again.",
  ],
  CosignerUnknown: [
    CosignerRejectedError,
    (a) =>
      `${a.signer} is not a current co-signer. Use a co-signer's key, or ask the Safe owners to update the co-signer set.`,
  ],
  CosignerSignatureInvalid: [
    CosignerRejectedError,
    (a) =>
      `The approval signature of ${a.signer} for intent ${a.intentId} is invalid. It must sign CosignerApproval for ` +
      "this exact intentId, chain and module, in the current co-signer era (cosignerEra()): ask the co-signer to " +
      "sign again with intent:approve --signature-only.",
  ],
  CosignerSignaturesUnordered: [
    CosignerRejectedError,
    (a) =>
      `Co-signer signatures must be sorted by signer address without duplicates (${a.signer} came after ` +
      `${a.previous}). Remove the duplicate; the client sorts signatures for you.`,
  ],
  CosignerAlreadyApproved: [
    CosignerRejectedError,
    (a) => `${a.cosigner} has already approved intent ${a.intentId}; nothing to do. Other co-signers must approve too.`,
  ],
  CancelNotAuthorized: [
    NotAuthorizedError,
    (a) =>
      `${a.caller} may not cancel intent ${a.intentId}: only a guardian, a co-signer, the Safe or the intent's agent ` +
      "can. Use one of those keys.",
  ],
  ModuleCallerNotGuardian: [
    NotAuthorizedError,
    (a) =>
      `${a.caller} is not a guardian of this module. Use a guardian key (the Safe owners appoint guardians with setGuardian).`,
  ],
  ModuleCallerNotOwner: [
    NotAuthorizedError,
    (a) =>
      `Only the Safe ${a.owner} may do this, not ${a.caller}. Propose it as a Safe transaction for the owners to sign.`,
  ],
  ModuleNotPaused: [ModuleConfigError, () => "The module is not paused; there is nothing to unpause."],
  ReentrancyGuardReentrantCall: [
    ExecutionFailedError,
    () =>
      "A target or recipient tried to re-enter the module during execution, so the whole submission reverted and " +
      "nothing was charged. Do not pay or call that contract without review.",
  ],
  PriceReadOutOfGas: [
    InvalidRequestError,
    (a) =>
      `A read of the price feed ${a.feed} ran out of gas, and with so little gas left the module cannot tell a broken ` +
      "feed from a short gas limit, so nothing was recorded and the nonce is unused. Send the same request again " +
      "with a higher gas limit (about 100,000 more).",
  ],
  UsdLimitInvalid: [
    ModuleConfigError,
    (a) =>
      `The module refused the USD limit of agent ${a.agent}: ${ruleText(a.rule)}. Fix usdLimit in the policy and ` +
      "propose the Safe transaction again.",
  ],
  PriceFeedInvalid: [
    ModuleConfigError,
    (a) =>
      `The module refused the price feed ${a.feed} for asset ${a.asset}: ${ruleText(a.rule)}. Give a Chainlink ` +
      "AggregatorV3Interface feed whose decimals() answers (at most 36) and a maxAge above 0 under priceFeeds, and " +
      "propose the Safe transaction again.",
  ],
  // v3: setCallConditions (the policy file's `conditions`, core/conditions.ts, names the same problems first).
  CallConditionsTooMany: [
    ModuleConfigError,
    (a) =>
      `The module refused ${a.count} conditions on one call: at most ${a.max} apply to a call. Drop some from its ` +
      "conditions in the policy and propose the Safe transaction again.",
  ],
  CallConditionInvalid: [
    ModuleConfigError,
    (a) =>
      `The module refused condition ${a.index} (${conditionOpName(a.op)}, value ${a.value}): EqualToAvatar takes no ` +
      "value and ChargeAs the address of a token (never ETH, which a call sends as its value). Fix that condition in " +
      "the policy and propose the Safe transaction again.",
  ],
  CallConditionChargedTwice: [
    ModuleConfigError,
    (a) =>
      `The module refused conditions ${a.first} and ${a.second}: both charge an argument (chargeAs), and a call ` +
      "charges at most one. Keep one chargeAs in the policy and propose the Safe transaction again.",
  ],
  CallConditionsOnPayment: [
    ModuleConfigError,
    (a) =>
      `The module refused conditions on ${a.selector} of ${a.target}: transfer(address,uint256) is always a payment, ` +
      "checked by the agent's limits and recipients, never an allowed call. Remove those conditions from the policy.",
  ],
  SafeCastOverflowedUintDowncast: [
    InvalidRequestError,
    (a) =>
      `An amount or time in the intent does not fit the module's ${a.bits}-bit field (value ${a.value}). Use a realistic amount.`,
  ],
};

// Configuration and initialisation errors share one class: the owners' tooling (treasury:apply) reports them.
for (const name of [
  "ModuleAlreadyInitialized",
  "ModuleInvalidAvatar",
  "AgentKeyInvalid",
  "AgentKeyRetired",
  "AgentKeyAlreadyUsed",
  "AgentGracePeriodZero",
  "AgentRateWindowZero",
  "AgentStrikeWindowZero",
  "AgentValidUntilNotInFuture",
  "AssetLimitWindowZero",
  "AssetLimitAutoAboveWindow",
  "AssetLimitAutoAboveHardCap",
  "GuardianInvalid",
  "TargetForbidden",
  "CosignerInvalid",
  "CosignerSetTooLarge",
  "CosignerThresholdInvalid",
  "CosignerEraExhausted",
  "TreasuryLimitInvalid",
  "ModuleInvalidTarget",
]) {
  MODULE_ERRORS[name] = [
    ModuleConfigError,
    (a) =>
      `The module refused the configuration: ${name}(${Object.values(a).map(String).join(", ")}). Fix that value ` +
      "in the policy and propose the Safe transaction again.",
  ];
}

/** The name of an `Op` value of a condition ("ChargeAs"), or the raw value when the module has no such op. */
function conditionOpName(op: unknown): string {
  return CONDITION_OP_NAMES[Number(op)] ?? `op ${String(op)}`;
}

/** A `bytes32` rule of a configuration error as text ("autoPerTx > autoPerWindow"), or the raw value. */
function ruleText(rule: unknown): string {
  try {
    return decodeBytes32String(String(rule));
  } catch {
    return String(rule);
  }
}

/** Names of every custom error the module declares (for tests that check the mapping is complete). */
export function moduleErrorNames(): string[] {
  const names: string[] = [];
  moduleInterface().forEachError((e) => names.push(e.name));
  return names;
}

/** True when every custom error of the module maps to a typed class. */
export function isMappedModuleError(name: string): boolean {
  return name in MODULE_ERRORS;
}

function argsOf(desc: ErrorDescription): Args {
  const args: Args = {};
  desc.fragment.inputs.forEach((input, i) => (args[input.name || String(i)] = desc.args[i]));
  return args;
}

/** Finds revert data in an ethers / Hardhat error object (it hides at different depths). */
export function revertDataOf(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const stack: unknown[] = [err];
  while (stack.length) {
    const e = stack.pop();
    if (!e || typeof e !== "object" || seen.has(e)) continue;
    seen.add(e);
    const o = e as Record<string, unknown>;
    if (typeof o.data === "string" && /^0x[0-9a-fA-F]{8,}$/.test(o.data)) return o.data;
    if (o.data && typeof o.data === "object") {
      const inner = (o.data as Record<string, unknown>).data;
      if (typeof inner === "string" && /^0x[0-9a-fA-F]{8,}$/.test(inner)) return inner;
    }
    for (const key of ["error", "info", "cause", "data", "receipt"])
      if (o[key] && typeof o[key] === "object") stack.push(o[key]);
  }
  return undefined;
}

const ERROR_STRING = "0x08c379a0"; // Error(string)
const PANIC = "0x4e487b71"; // Panic(uint256)

/**
 * Decodes revert data: the module's custom errors into their typed class; anything else (the inner call's revert
 * bubbled up by the module) into {ExecutionFailedError} with the decoded reason, or {UnknownRevertError}.
 */
export function decodeRevert(data: string, cause?: unknown): TreasuryError {
  const selector = dataSlice(data, 0, 4);
  // Error(string) and Panic(uint256) are built into every interface: they come from the inner call, not the module.
  const desc = selector === ERROR_STRING || selector === PANIC ? null : moduleInterface().parseError(data);
  if (desc) {
    const mapped = MODULE_ERRORS[desc.name];
    const args = argsOf(desc);
    if (mapped) return new mapped[0](mapped[1](args), { errorName: desc.name, args, cause });
    return new UnknownRevertError(
      `The module reverted with ${desc.name}; see its documentation in IAgentTreasuryModule.`,
      {
        errorName: desc.name,
        args,
        cause,
      },
    );
  }
  let inner: string | undefined;
  if (selector === ERROR_STRING) inner = `"${AbiCoder.defaultAbiCoder().decode(["string"], dataSlice(data, 4))[0]}"`;
  else if (selector === PANIC)
    inner = `panic 0x${(AbiCoder.defaultAbiCoder().decode(["uint256"], dataSlice(data, 4))[0] as bigint).toString(16)}`;
  else {
    const token = erc20ErrorsInterface().parseError(data);
    if (token) {
      const a = argsOf(token);
      inner =
        token.name === "ERC20InsufficientBalance"
          ? `ERC20InsufficientBalance: the Safe holds ${formatUnits(a.balance as bigint, 0)} base units, needs ${formatUnits(a.needed as bigint, 0)}`
          : `${token.name}(${Object.values(a).map(String).join(", ")})`;
    }
  }
  if (inner !== undefined) {
    return new ExecutionFailedError(
      `The Safe's inner call reverted with ${inner}; nothing was charged and the nonce was not consumed. Fix the cause ` +
        "(e.g. the Safe's balance) before retrying.",
      { errorName: "InnerCallReverted", args: { reason: inner, data }, cause },
    );
  }
  return new UnknownRevertError(
    `The transaction reverted with undecoded data ${data}. Inspect it with the target's ABI.`,
    {
      args: { data },
      cause,
    },
  );
}

/** Turns a thrown ethers/Hardhat error into a typed {TreasuryError} when it is a revert; otherwise undefined. */
export function decodeError(err: unknown): TreasuryError | undefined {
  if (err instanceof TreasuryError) return err;
  const data = revertDataOf(err);
  if (data) return decodeRevert(data, err);
  return undefined;
}

/** `decodeError`, or the original error when it is not a revert (e.g. a transport failure). */
export function toTreasuryError(err: unknown): unknown {
  return decodeError(err) ?? err;
}
