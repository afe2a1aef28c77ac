/**
 * Public types of the client library. Amounts are `bigint` in base units (wei, token units) unless a field says
 * "human units"; times are unix seconds (`number`).
 */
import type { Intent } from "./eip712";
import type { DenyReasonName, IntentStatusName } from "./shapes";

// The module's enums and structs (STATUS_NAMES, DENY_REASON_NAMES, RECIPIENT_MODES, AgentConfigValue, ...).
export * from "./shapes";

/**
 * Each denial reason in words: what the module found wrong with the intent. The client's errors, the CLI, the MCP
 * server and the monitor explain denials with these sentences ({@link denialText} adds the consequence).
 */
export const DENY_REASON_TEXT: Readonly<Record<DenyReasonName, string>> = {
  None: "not denied",
  TargetNotAllowed:
    "the call's target or function is not allowed for this agent (or its arguments fail the owners' conditions); the Safe, its target and the module are never valid targets",
  ApprovalNotAllowed:
    "approval-type calls (approve, increaseAllowance, permit, setApprovalForAll, transferFrom) let a third party move the Safe's assets later; they are refused unless the owners allowed that exact call",
  AssetNotAllowed: "the agent has no spending limit for this asset, so nothing in it can be paid",
  AboveHardCap:
    "the amount is above the agent's hard cap per intent (escalatedPerTx), which not even the co-signers can approve",
  RecipientNotAllowed: "the recipient is not on the owners' allowlist for this agent",
  RateLimited: "the agent sent more intents than its rate limit allows in the rate window",
  MalformedCall:
    "the calldata is not a canonical ERC-20 transfer(address,uint256): it must be exactly 68 bytes (selector, recipient word, amount word) with a clean address (the recipient word's 12 high bytes zero)",
};

/** What the module found wrong, in words (see {@link DENY_REASON_TEXT}). */
export function denyReasonText(reason: DenyReasonName): string {
  return DENY_REASON_TEXT[reason];
}

/** A denial explained: `<reason>: <what was wrong>; the module denied it and counted a strike against the agent.` */
export function denialText(reason: DenyReasonName): string {
  return `${reason}: ${DENY_REASON_TEXT[reason]}; the module denied it and counted a strike against the agent.`;
}

/** Statuses after which an intent never changes again. */
export const FINAL_STATUSES: readonly IntentStatusName[] = ["Executed", "Denied", "Cancelled", "Expired"];

/**
 * An asset: `"ETH"`, a token symbol known to the client (its `tokens` map), or a token address.
 */
export type AssetRef = string;

/** A nonce lane: a number, or a workflow name hashed into a lane (`laneOf`). Lane 0 is the default. */
export type LaneRef = bigint | number | string;

/** What the client knows about an asset, read from chain. */
export interface AssetInfo {
  /** address(0) for ETH. */
  address: string;
  symbol: string;
  decimals: number;
}

interface RequestCommon {
  /**
   * Why the agent does this. The text is journaled; its keccak256 is the intent's `rationale`, so an auditor can
   * pair the on-chain event with it. Required: an agent that cannot say why should not move money.
   */
  rationale: string;
  /**
   * Idempotency key: a 32-byte hex string used as is, or any text (hashed with keccak256). When omitted, a key is
   * derived from the request (agent, target, value, calldata, rationale), so a retried request pays once.
   */
  idempotencyKey?: string;
  /** Nonce lane for this workflow (default 0). Independent workflows use separate lanes. */
  lane?: LaneRef;
  /** Seconds the signature stays valid for submission (default: the client's `validFor`, 1 hour). */
  validFor?: number;
}

/** A payment: ETH or an ERC-20 `transfer`. */
export interface PayRequest extends RequestCommon {
  asset: AssetRef;
  /** Recipient address. */
  to: string;
  /** A decimal string in human units ("2.5" ETH, "1000" USDC, read with the token's on-chain decimals), or base units as bigint. */
  amount: string | bigint;
}

/** A contract call allowed by the policy (`setAllowedCall`). */
export interface CallRequest extends RequestCommon {
  target: string;
  /** Calldata. Give either `data`, or `function` (e.g. "deposit(uint256,address)") with `args`. */
  data?: string;
  function?: string;
  args?: readonly unknown[];
  /** ETH sent with the call: human units as a decimal string, or wei as bigint (default 0). */
  value?: string | bigint;
}

export type ProposeRequest = PayRequest | CallRequest;

/** The outcome of a submission, a replay, or a status read. */
export interface IntentResult {
  intentId: string;
  status: IntentStatusName;
  /** Set when `status` is "Denied". */
  reason?: DenyReasonName;
  /** The transaction that carried the outcome (absent when nothing was sent, e.g. a replay answered from chain). */
  txHash?: string;
  /** Set when the intent was queued: unix seconds from which co-signers' approvals can execute it. */
  eta?: number;
  /** True when the request had already been submitted under the same idempotency key: nothing new happened. */
  replay: boolean;
  /** True when this denial froze the agent (strikes reached the limit). */
  frozen?: boolean;
  agent: string;
  idempotencyKey: string;
  nonce: bigint;
  blockNumber?: number;
}

/**
 * What a request would do now (`AgentClient.dryRun`): nothing was signed, journaled or sent. `status` is the
 * module's own answer for the exact intent the client would sign; `reason`, `queuedBecause`, `strikes`, `spends`
 * and `allowanceLeft` come from a model of the policy and are set only when `explained` (the model agreed).
 */
export interface IntentPreview extends PreviewVerdict {
  dryRun: true;
  /** The asset and amount the intent spends. */
  spends?: { asset: AssetInfo; amount: bigint; formatted: string };
  /** What the agent may still spend of that asset in the auto tier now (before this request). */
  allowanceLeft?: { asset: AssetInfo; amount: bigint; formatted: string };
  /** v3, an agent with a USD limit: the request's value in dollars and the agent's USD budget left (sdk/usd.ts). */
  usd?: UsdPreview;
  /** v3: a call with argument conditions: each in words, whether this call meets it, and the value it has. */
  conditions?: ConditionCheck[];
  agent: string;
  nonce: bigint;
  /** The block whose state answered. */
  blockNumber: number;
}

/**
 * What a dry run says of one intent (`dryRun`, and each row of `dryRunMany`): the module's status, and the reasons
 * from the model of the policy, set only when `explained`.
 */
export interface PreviewVerdict {
  status: IntentStatusName;
  /** The intent the client would sign, or the original's id on a replay. */
  intentId: string;
  /** True when the idempotency key is already bound to this payload: sending it would change nothing. */
  replay: boolean;
  /** Denied: the rule it breaks. */
  reason?: DenyReasonName;
  /** Queued: every reason it would wait for co-signers (see {@link QueueReason}). */
  queuedBecause?: QueueReason[];
  /** Denied: strikes in the window now (for a batch row: before the batch), the limit, and whether this denial alone would freeze the agent. */
  strikes?: { now: number; max: number; wouldFreeze: boolean };
  /** True when the reasons above are given: the model of the policy (for a batch row: evaluated for that row alone) agreed with the module. */
  explained: boolean;
  idempotencyKey: string;
}

/** A decoded description of what an intent does, built from its calldata alone (never from the agent's words). */
export type DecodedAction =
  | {
      kind: "eth-payment";
      to: string;
      asset: AssetInfo;
      amount: bigint;
      /** human units */
      amountFormatted: string;
      summary: string;
    }
  | {
      kind: "token-payment";
      token: string;
      to: string;
      asset: AssetInfo;
      amount: bigint;
      amountFormatted: string;
      /** ETH sent along (charged too). */
      ethValue: bigint;
      summary: string;
    }
  | {
      kind: "approval";
      target: string;
      selector: string;
      function: string;
      /** Who would be allowed to move the Safe's assets. */
      spender?: string;
      amount?: bigint;
      amountFormatted?: string;
      ethValue: bigint;
      summary: string;
    }
  | {
      kind: "call";
      target: string;
      selector: string;
      /** The function signature when known to the decoder, else undefined. */
      function?: string;
      args?: string[];
      ethValue: bigint;
      ethValueFormatted: string;
      summary: string;
    };

/** A queued intent as a co-signer sees it. */
export interface QueuedIntent {
  intentId: string;
  status: IntentStatusName;
  agent: string;
  eta: number;
  /** Approximate: eta + the agent's current grace period. */
  expiresAt: number;
  approvals: number;
  threshold: number;
  approvedBy: string[];
  /** True when it can run now: Queued, eta reached, enough on-chain approvals, module not paused. */
  executable: boolean;
  action: DecodedAction;
  intent: Intent;
  /** v3: the agent signed a request for human review (`intent.review`): it was queued even if within limits. */
  review: boolean;
  rationaleHash: string;
  /** The agent's stated reason, from a journal, only when its keccak256 matches the on-chain rationale. */
  rationaleText?: string;
  queuedTxHash: string;
  queuedBlock: number;
}

/** An approval given by signature instead of a transaction (pass it to `execute`). */
export interface CosignerSignatureInfo {
  signer: string;
  signature: string;
  /**
   * The co-signer era (`cosignerEra()`) the signature was made in (v3). A signature counts only in that era: once
   * the co-signer members change, it is stale and the co-signer must sign again. Absent in signatures collected
   * before v3 or typed by hand; the client then finds the era itself when it can.
   */
  era?: number;
}

/** Dollars, as the module counts them (8 decimals), and the same in words: `{ amount: 150000000000n, formatted: "1500" }`. */
export interface UsdAmount {
  amount: bigint;
  formatted: string;
}

/** What a request is worth against the agent's USD limit (agents with one only; sdk/usd.ts). */
export interface UsdPreview {
  /** The spend's value in dollars, rounded up (0 when a price cannot be trusted). */
  value: UsdAmount;
  /** What the agent may still spend in dollars in the auto tier now, across every asset (before this request). */
  left: UsdAmount;
  /** Set when a price cannot be trusted: the asset (address(0) = ETH) and the module's `PriceFault` name. */
  unpriced?: { asset: string; fault: string };
}

/** Why an intent that breaks no rule is queued for co-signers instead of executing now. */
export type QueueReason =
  /** The agent asked for human review (propose). */
  | "review-requested"
  /** The amount is above the agent's `autoPerTx` for the asset (or its auto tier is off). */
  | "above-auto-per-tx"
  /** The agent's sliding window for the asset has less left than the amount. */
  | "above-window"
  /** The treasury-wide limit of the asset (all agents together) has less left than the amount. */
  | "treasury-limit"
  /** The recipient is not on the agent's allowlist and the agent's mode escalates unknown recipients. */
  | "unknown-recipient"
  /** v3: the spend's USD value is above the agent's USD `autoPerTx` (or its USD auto tier is off). */
  | "above-usd-per-tx"
  /** v3: the agent's USD window (one budget across every asset) has less left than the spend's USD value. */
  | "above-usd-window"
  /** v3: a price the agent's USD limit needs cannot be trusted now (no feed, stale, not positive, ...). */
  | "no-trustworthy-price";

/** Durable steps of a submission, reported to `onStage` after each is on disk (observability, crash tests). */
export type Stage = "signed" | "sent" | "settled";

/** v3: a condition on a call's arguments as the module stores it: argument word, op, and a 32-byte value (hex). */
export interface ConditionValue {
  word: number;
  op: number;
  value: string;
}

/** v3: one condition checked against a call (sdk/conditions.ts `checkConditions`). */
export interface ConditionCheck {
  condition: ConditionValue;
  /** The condition in words. */
  text: string;
  met: boolean;
  /** The argument's value in the call (undefined when the call is too short to hold its word). */
  actual?: string;
}
