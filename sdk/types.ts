/**
 * Public types of the client library. Amounts are `bigint` in base units (wei, token units) unless a field says
 * "human units"; times are unix seconds (`number`).
 */
import type { Intent } from "./eip712";

/** The module's `Status` enum, by name (SPEC section 5). Index = on-chain value. */
export const STATUS_NAMES = ["None", "Executed", "Queued", "Denied", "Cancelled", "Expired"] as const;
export type IntentStatusName = (typeof STATUS_NAMES)[number];

/** The module's `DenyReason` enum, by name. Index = on-chain value. */
export const DENY_REASON_NAMES = [
  "None",
  "TargetNotAllowed",
  "ApprovalNotAllowed",
  "AssetNotAllowed",
  "AboveHardCap",
  "RecipientNotAllowed",
  "RateLimited",
] as const;
export type DenyReasonName = (typeof DENY_REASON_NAMES)[number];

export function statusName(value: bigint | number): IntentStatusName {
  const name = STATUS_NAMES[Number(value)];
  if (name === undefined) throw new RangeError(`unknown Status value ${value}`);
  return name;
}

export function denyReasonName(value: bigint | number): DenyReasonName {
  const name = DENY_REASON_NAMES[Number(value)];
  if (name === undefined) throw new RangeError(`unknown DenyReason value ${value}`);
  return name;
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
export interface IntentPreview {
  dryRun: true;
  status: IntentStatusName;
  /** The intent the client would sign, or the original's id on a replay. */
  intentId: string;
  /** True when the idempotency key is already bound to this payload: the request would change nothing. */
  replay: boolean;
  /** Denied: the rule it breaks. */
  reason?: DenyReasonName;
  /** Queued: every reason it would wait for co-signers (see `sdk/route.ts` QueueReason). */
  queuedBecause?: import("./route").QueueReason[];
  /** Denied: strikes in the window now, the limit, and whether this denial would freeze the agent. */
  strikes?: { now: number; max: number; wouldFreeze: boolean };
  /** The asset and amount the intent spends. */
  spends?: { asset: AssetInfo; amount: bigint; formatted: string };
  /** What the agent may still spend of that asset in the auto tier now (before this request). */
  allowanceLeft?: { asset: AssetInfo; amount: bigint; formatted: string };
  /** True when the reasons above are given (the model of the policy agreed with the module's answer). */
  explained: boolean;
  agent: string;
  idempotencyKey: string;
  nonce: bigint;
  /** The block whose state answered. */
  blockNumber: number;
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
}
