/**
 * What the console's server tells the page (`GET /api/state`, and the same object on `GET /api/events` whenever
 * it changes) and what the page posts back. Shared by console/server.ts and the page (console/app): types and
 * constants only, no Node or browser imports. Amounts are decimal strings in the asset's own units ("7500",
 * "0.5"), times unix seconds of the chain's clock, addresses EIP-55.
 */
import type { SerializedIntent } from "../sdk/journal";
import type { CallConditionsReport } from "../sdk/callReport";
import type { AgentLimitStatus } from "../core/limitStatus";
import type { DenyReasonName, IntentStatusName, RecipientModeName } from "../sdk/shapes";

export const STATE_VERSION = 1;

export type AgentState = "active" | "frozen" | "expired";

export interface ChartPoint {
  time: number;
  /** Auto-tier spend inside the sliding window ending at `time` (asset units, as a number for plotting). */
  spent: number;
  /** The cap (`autoPerWindow`) in force at `time`. */
  cap: number;
}

export interface LimitView extends AgentLimitStatus {
  /** available / autoPerWindow, 0 to 1 (1 when nothing was spent in the window). */
  availableShare: number;
  /** Spend against the cap over time (from the audit trail): present once the agent spent or the cap changed. */
  chart: ChartPoint[];
}

/** v3: an agent's USD limit across every asset, in dollars (deploy/status.ts), and the share of it left now. */
export interface UsdLimitView {
  autoPerTx: string;
  autoPerWindow: string;
  window: string;
  escalatedPerTx: string;
  /** `availableUsdAllowance`: dollars the agent may still spend in the auto tier now, across every asset. */
  available: string;
  /** available / autoPerWindow, 0 to 1. */
  availableShare: number;
}

/** v3: a price feed the module values USD-limited spends with, and whether it trusts its price now. */
export interface PriceFeedView {
  asset: string;
  symbol: string;
  feed: string;
  maxAge: string;
  /** Dollars per whole unit, by the module's own valuation (only when trusted). */
  price?: string;
  /** How old the feed's answer is, e.g. "3h12m". */
  age?: string;
  trusted: boolean;
  /** The module's `PriceFault` when it does not trust the price (USD-limited payments then wait for co-signers). */
  fault?: string;
}

export interface AgentView {
  name?: string;
  address: string;
  state: AgentState;
  /** 0 = never expires. */
  validUntil: number;
  strikes: number;
  maxStrikes: number;
  strikeWindow: string;
  /** Intents counted by the rate limit now, against `maxIntentsPerWindow` (0 = no limit) per `rateWindow`. */
  rateUsed: number;
  rateMax: number;
  rateWindow: string;
  escalationDelay: string;
  gracePeriod: string;
  recipientMode: RecipientModeName;
  limits: LimitView[];
  /** v3: the USD limit across every asset; absent when the agent has none. */
  usdLimit?: UsdLimitView;
}

export interface ActionView {
  kind: "eth-payment" | "token-payment" | "approval" | "call" | "unknown";
  /** The sdk's decoding, in words: "Pay 7500 USDC to 0x…", "Call deposit() on 0x… with (…)". */
  summary: string;
  symbol?: string;
  /** Asset units. */
  amount?: string;
  to?: string;
}

/** The agent's stated reason for an intent, and whether keccak256 of the text is the on-chain `rationale`. */
export interface ReasonView {
  text: string;
  /** journal: an agent journal of this deployment; console: pasted into the console by a reviewer. */
  source: "journal" | "console";
  matches: boolean;
}

export interface SignatureView {
  signer: string;
  signature: string;
}

export interface QueueItem {
  intentId: string;
  agent: string;
  agentName?: string;
  action: ActionView;
  /**
   * v3: a call with argument conditions: the call decoded and each condition in words, met or not by its calldata
   * under the conditions the module holds now (they are checked again when it executes), and what it charges.
   */
  conditions?: CallConditionsReport;
  /** The whole intent, as `IntentQueued` carried it (the page re-hashes it and passes it to `executeQueued`). */
  intent: SerializedIntent;
  rationaleHash: string;
  reason?: ReasonView;
  queuedAt: number;
  eta: number;
  /** eta + the agent's grace period at queueing: from then on the intent is Expired. */
  expiresAt: number;
  /** Current co-signers whose on-chain approval counts in the current era. */
  approvedOnChain: string[];
  /** Collected `CosignerApproval` signatures of the current era by current co-signers, signers ascending. */
  signatures: SignatureView[];
  /** Distinct co-signers counted (on-chain or signed). */
  counted: number;
  threshold: number;
  txHash: string;
}

export interface HistoryItem {
  intentId: string;
  agent: string;
  agentName?: string;
  status: IntentStatusName;
  route: "auto" | "queued" | "denied" | "unknown";
  action: ActionView;
  /** The module's `DenyReason` name, for a denied intent. */
  denyReason?: DenyReasonName;
  reason?: ReasonView;
  rationaleHash: string;
  submittedAt: number;
  /** When it executed, was cancelled, or expired. */
  endedAt?: number;
  cancelledBy?: string;
  /** Approvals that counted / threshold, for queued intents. */
  approvals?: string;
  txHash: string;
}

export interface EmergencyEventView {
  kind: string;
  time: number;
  block: number;
  by?: string;
  summary: string;
  txHash: string;
}

export interface AlertView {
  id: string;
  rule: string;
  severity: "info" | "warning" | "critical";
  message: string;
  advice?: string;
  agent?: string;
  agentName?: string;
  intentId?: string;
  block: number;
  blockTime: number;
  /** What the rule asks for; the console's watchtower never acts (it holds no key). */
  action: "alert" | "freeze" | "pause";
  txHash?: string;
}

export interface BatchView {
  /** The file's name in `<deployments dir>/batches/`; downloaded from `/api/batches/<file>`. */
  file: string;
  title: string;
  items: { description: string; loosens: boolean }[];
  nextSteps: string[];
  createdAt: number;
}

export interface ConsoleState {
  version: typeof STATE_VERSION;
  network: string;
  chainId: string;
  block: number;
  /** Chain time of `block`. */
  time: number;
  safe: string;
  module: string;
  safeOwners: string[];
  safeThreshold: number;
  paused: boolean;
  /** Who paused, when (the latest `Paused` event), while paused. */
  pausedBy?: { by: string; time: string; block: number };
  balances: { asset: string; symbol: string; amount: string }[];
  /** v3: the module's price feeds (`treasury:status`). */
  priceFeeds: PriceFeedView[];
  cosigners: { members: string[]; threshold: number; era: number };
  guardians: string[];
  agents: AgentView[];
  queue: QueueItem[];
  history: HistoryItem[];
  emergencyEvents: EmergencyEventView[];
  alerts: AlertView[];
  /** Transaction Builder batches the console wrote for the Safe owners, newest first. */
  batches: BatchView[];
  /** Set when the last refresh failed (the rest is the previous good state). */
  error?: string;
}

/** `POST /api/signatures`: a co-signer's `CosignerApproval` signature, made in the page with the wallet. */
export interface SignatureRequest {
  intentId: string;
  signer: string;
  cosignerEra: number;
  signature: string;
}

/** `POST /api/reasons`: the agent's reason text for an intent (stored only when it hashes to the rationale). */
export interface ReasonRequest {
  intentId: string;
  text: string;
}

/** `POST /api/owners/unpause`, `/api/owners/unfreeze` (`agent`), `/api/owners/policy` (`policy`: the file's JSON text). */
export interface OwnersRequest {
  agent?: string;
  policy?: string;
  /** The policy file's name, for the batch's title. */
  policyName?: string;
}

/** Every error answer: `{ error: { code, message } }` with a 4xx or 5xx status. */
export interface ErrorBody {
  error: { code: string; message: string };
}
