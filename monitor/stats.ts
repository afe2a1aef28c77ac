/**
 * The watchtower's memory: per-agent statistics (counts, spend, recipients, lanes, recent activity), the module's
 * configuration as its events set it, and the queued intents still waiting. Plain JSON (amounts as decimal strings)
 * so that it lives in the checkpoint file and a restarted watchtower continues exactly where it stopped.
 * Histories are pruned to what the rules look back on, so the file stays small.
 */
import type { AgentConfigNumbers, AssetLimitWith } from "../sdk/shapes";
import type { ConditionValue } from "../sdk/types";

export const STATE_VERSION = 1;

/** An `AssetLimit` in the state file: amounts as decimal strings, the window in seconds. */
export type LimitJson = AssetLimitWith<string, number>;

export interface AgentCounts {
  executed: number;
  queued: number;
  denied: number;
  cancelled: number;
  replays: number;
  reverted: number;
}

export interface AgentState {
  /** The agent's first key: its identity survives rotation (SPEC section 7). */
  identity: string;
  /** Its current key. */
  key: string;
  /** Every key it has had. */
  keys: string[];
  config?: AgentConfigNumbers;
  /** asset address (checksummed) -> limit */
  limits: Record<string, LimitJson>;
  /** "target:selector", lower case */
  allowedCalls: string[];
  /** v3: "target:selector" (lower case) -> the call's argument conditions (CallConditionsSet); absent: none. */
  callConditions?: Record<string, ConditionValue[]>;
  /** Recipients the owners allowlisted (RecipientSet), lower case. */
  allowlist: string[];
  /** Recipients it has paid, lower case. */
  recipients: string[];
  /** Recipients already reported as new, lower case. */
  flaggedRecipients: string[];
  frozen: boolean;
  removed: boolean;
  counts: AgentCounts;
  /** asset -> total executed, base units */
  spent: Record<string, string>;
  /** asset -> recent executed spends [blockTime, amount] (pruned) */
  spend: Record<string, [number, string][]>;
  /** block times of recent intents (executed in the auto tier, queued, denied) */
  activity: number[];
  /** block times of recent denials */
  denials: number[];
  /** block times of recent idempotent replays */
  replays: number[];
  /** lane (decimal) -> block time of its last use */
  lanes: Record<string, number>;
  /** recent [blockTime, lane] */
  laneUses: [number, string][];
  firstSeen?: number;
  lastSeen?: number;
}

export interface QueuedState {
  identity: string;
  key: string;
  eta: number;
  gracePeriod: number;
  /** Co-signers that approved on-chain (current members only). */
  approvals: string[];
  summary: string;
  /** Rule ids that already reported this intent. */
  alerted: string[];
}

export interface MonitorState {
  v: number;
  agents: Record<string, AgentState>;
  /** key (lower case) -> identity (lower case) */
  keys: Record<string, string>;
  paused: boolean;
  cosigners: string[];
  threshold: number;
  guardians: string[];
  treasuryLimits: Record<string, { perWindow: string; window: number }>;
  queued: Record<string, QueuedState>;
  /** "ruleId|subject" -> block time the rule last fired for it */
  cooldowns: Record<string, number>;
  safe: { modules: string[]; threshold?: number };
  lastBlock?: number;
  lastTime?: number;
}

export function emptyState(): MonitorState {
  return {
    v: STATE_VERSION,
    agents: {},
    keys: {},
    paused: false,
    cosigners: [],
    threshold: 0,
    guardians: [],
    treasuryLimits: {},
    queued: {},
    cooldowns: {},
    safe: { modules: [] },
  };
}

export function newAgent(key: string, time: number): AgentState {
  return {
    identity: key,
    key,
    keys: [key],
    limits: {},
    allowedCalls: [],
    allowlist: [],
    recipients: [],
    flaggedRecipients: [],
    frozen: false,
    removed: false,
    counts: { executed: 0, queued: 0, denied: 0, cancelled: 0, replays: 0, reverted: 0 },
    spent: {},
    spend: {},
    activity: [],
    denials: [],
    replays: [],
    lanes: {},
    laneUses: [],
    firstSeen: time,
  };
}

/** A deep copy (the checkpoint keeps the state as it was at the start of a block). */
export function cloneState(state: MonitorState): MonitorState {
  return JSON.parse(JSON.stringify(state)) as MonitorState;
}

/** A summary per agent for `--json` output and metrics. */
export interface AgentSummary {
  agent: string;
  identity: string;
  name?: string;
  frozen: boolean;
  removed: boolean;
  counts: AgentCounts;
  spent: Record<string, string>;
  recipients: number;
  lanes: number;
  lastSeen?: number;
}

export function summarize(state: MonitorState, names: Record<string, string> = {}): AgentSummary[] {
  return Object.values(state.agents).map((a) => ({
    agent: a.key,
    identity: a.identity,
    name: a.keys.map((k) => names[k.toLowerCase()]).find((n) => n !== undefined),
    frozen: a.frozen,
    removed: a.removed,
    counts: { ...a.counts },
    spent: { ...a.spent },
    recipients: a.recipients.length,
    lanes: Object.keys(a.lanes).length,
    lastSeen: a.lastSeen,
  }));
}
