/**
 * The state updates, one per chain event kind: each records what the event changes in the statistics and then runs
 * the rule checks (rules-checks.ts) that look at it. {@link STATE_UPDATES} is the table the engine dispatches on; a
 * new event kind does not compile until it has an entry. The updates of configuration events (an agent's policy, the
 * module's settings, the Safe's) are in rules-updates-config.ts.
 */
import { ZeroAddress, dataLength } from "ethers";
import type { Intent } from "../sdk/eip712";
import { splitNonce } from "../sdk/eip712";
import type { ChainEvent, ChainEventKind } from "./events";
import {
  EmergencyReport,
  NewRecipient,
  checkDeniedIntent,
  checkEmergency,
  checkIdempotencyConflict,
  checkIdempotentReplay,
  checkIntentBurst,
  checkNewRecipient,
  checkNonceLane,
  checkRejectedSubmission,
  checkSpendRate,
  checkStrikes,
} from "./rules-checks";
import { At, DAY, Emit, EngineCore, EventOf, Update, isTransfer, lower, prune, pushUnique } from "./rules-core";
import type { RuleConfig, RuleKind } from "../core/monitorSchema";
import type { AgentState } from "./stats";
import {
  agentSet,
  agentRemoved,
  agentRotated,
  assetLimitSet,
  allowedCallSet,
  callConditionsSet,
  recipientSet,
  cosignersSet,
  guardianSet,
  treasuryLimitSet,
  safeEnabledModule,
  safeDisabledModule,
  safeAddedOwner,
  safeRemovedOwner,
  safeChangedThreshold,
  safeChangedGuard,
} from "./rules-updates-config";

// ---------------------------------------------------------------------------------------------- shared steps

/** Counts an intent (for the burst rule). */
function recordActivity(core: EngineCore, agent: AgentState, e: ChainEvent, emit: Emit, at: At): void {
  agent.activity.push(e.timestamp);
  checkIntentBurst(core, agent, e, emit, at);
}

/** Records the nonce lane of an intent (for the lane rules). */
function recordLane(core: EngineCore, agent: AgentState, intent: Intent, e: ChainEvent, emit: Emit, at: At): void {
  const lane = splitNonce(intent.nonce).lane.toString();
  const use = { lane, known: agent.lanes[lane] !== undefined, hadHistory: Object.keys(agent.lanes).length > 0 };
  agent.lanes[lane] = e.timestamp;
  agent.laneUses.push([e.timestamp, lane]);
  checkNonceLane(core, agent, intent, use, e, emit, at);
}

/** Records a recipient paid (a queued one only counts once paid); a first one is reported once. */
function recordRecipient(core: EngineCore, agent: AgentState, seen: NewRecipient, emit: Emit, at: At): void {
  const r = lower(seen.recipient);
  const known = agent.recipients.includes(r) || agent.allowlist.includes(r);
  if (!seen.queued) pushUnique(agent.recipients, r);
  if (known || agent.flaggedRecipients.includes(r)) return;
  if (checkNewRecipient(core, agent, seen, emit, at)) agent.flaggedRecipients.push(r);
}

/** Adds an executed spend to the agent's totals and recent spends (for the spend-rate rule). */
function recordSpend(core: EngineCore, agent: AgentState, e: EventOf<"IntentExecuted">, emit: Emit, at: At): void {
  agent.spent[e.asset] = (BigInt(agent.spent[e.asset] ?? "0") + e.amount).toString();
  (agent.spend[e.asset] ??= []).push([e.timestamp, e.amount.toString()]);
  checkSpendRate(core, agent, e.asset, e.timestamp, e.intentId, emit, at);
}

const emergency = (core: EngineCore, report: EmergencyReport, emit: Emit, at: At) =>
  checkEmergency(core, report, emit, at);

// ---------------------------------------------------------------------------------------------- intents

const intentExecuted: Update<"IntentExecuted"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.lastSeen = e.timestamp;
  agent.counts.executed++;
  if (e.escalated) delete core.state.queued[e.intentId];
  else {
    recordActivity(core, agent, e, emit, at);
    if (e.intent) recordLane(core, agent, e.intent, e, emit, at);
  }
  const isCall = e.intent !== undefined && dataLength(e.intent.data) > 0 && !isTransfer(e.intent);
  if (!isCall && (e.asset !== ZeroAddress || e.amount > 0n)) {
    const what = `paid ${core.amount(e.asset, e.amount)}`;
    recordRecipient(core, agent, { recipient: e.to, what, intentId: e.intentId, queued: false }, emit, at);
  }
  if (e.amount > 0n) recordSpend(core, agent, e, emit, at);
};

const intentQueued: Update<"IntentQueued"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.lastSeen = e.timestamp;
  agent.counts.queued++;
  const d = core.describe(e.intent);
  core.state.queued[e.intentId] = {
    identity: lower(agent.identity),
    key: e.agent,
    eta: e.eta,
    gracePeriod: agent.config?.gracePeriod ?? DAY,
    approvals: [],
    summary: d.summary,
    alerted: [],
  };
  recordActivity(core, agent, e, emit, at);
  recordLane(core, agent, e.intent, e, emit, at);
  if (d.recipient)
    recordRecipient(
      core,
      agent,
      { recipient: d.recipient, what: `queued: ${d.summary}`, intentId: e.intentId, queued: true },
      emit,
      at,
    );
};

const intentDenied: Update<"IntentDenied"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.lastSeen = e.timestamp;
  agent.counts.denied++;
  agent.denials.push(e.timestamp);
  recordActivity(core, agent, e, emit, at);
  if (e.intent) recordLane(core, agent, e.intent, e, emit, at);
  checkDeniedIntent(core, agent, e, emit, at);
  checkStrikes(core, agent, e, emit, at);
};

const intentApproved: Update<"IntentApproved"> = (core, e) => {
  const q = core.state.queued[e.intentId];
  if (q && core.state.cosigners.includes(lower(e.cosigner))) pushUnique(q.approvals, lower(e.cosigner));
};

const intentCancelled: Update<"IntentCancelled"> = (core, e) => {
  const q = core.state.queued[e.intentId];
  if (!q) return;
  const agent = core.state.agents[q.identity];
  if (agent) agent.counts.cancelled++;
  delete core.state.queued[e.intentId];
};

const idempotentReplay: Update<"IdempotentReplay"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.counts.replays++;
  agent.replays.push(e.timestamp);
  checkIdempotentReplay(core, agent, e, emit, at);
};

const submissionReverted: Update<"SubmissionReverted"> = (core, e, emit, at) => {
  const agent = e.agent ? core.agentOf(e.agent, e.timestamp) : undefined;
  if (agent) agent.counts.reverted++;
  if (e.errorName === "IdempotencyKeyConflict") checkIdempotencyConflict(core, agent, e, emit, at);
  else checkRejectedSubmission(core, agent, e, emit, at);
};

// ---------------------------------------------------------------------------------------------- emergencies

const agentFrozen: Update<"AgentFrozen"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.frozen = true;
  const message = `agent frozen by ${core.who(e.by)} (reason "${e.reason}")`;
  emergency(
    core,
    { message, agent, key: e.agent, severity: "critical", details: { by: e.by, reason: e.reason } },
    emit,
    at,
  );
};

const agentUnfrozen: Update<"AgentUnfrozen"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.frozen = false;
  agent.denials = []; // unfreezing clears the module's strikes
  const message = `agent unfrozen by ${core.who(e.by)}; its strikes are cleared`;
  emergency(core, { message, agent, key: e.agent, severity: "warning", details: { by: e.by } }, emit, at);
};

const paused: Update<"Paused"> = (core, e, emit, at) => {
  core.state.paused = true;
  const message = `module paused by ${core.who(e.by)}: no submit, propose or executeQueued until the Safe unpauses`;
  emergency(core, { message, severity: "critical", details: { by: e.by } }, emit, at);
};

const unpaused: Update<"Unpaused"> = (core, e, emit, at) => {
  core.state.paused = false;
  emergency(
    core,
    { message: `module unpaused by ${core.who(e.by)}`, severity: "warning", details: { by: e.by } },
    emit,
    at,
  );
};

// ---------------------------------------------------------------------------------------------- the table

/** The state update of every event kind. */
export const STATE_UPDATES: { readonly [K in ChainEventKind]: Update<K> } = {
  IntentExecuted: intentExecuted,
  IntentQueued: intentQueued,
  IntentDenied: intentDenied,
  IntentApproved: intentApproved,
  IntentCancelled: intentCancelled,
  IdempotentReplay: idempotentReplay,
  AgentFrozen: agentFrozen,
  AgentUnfrozen: agentUnfrozen,
  Paused: paused,
  Unpaused: unpaused,
  ModuleInitialized: () => undefined,
  AgentSet: agentSet,
  AgentRemoved: agentRemoved,
  AgentRotated: agentRotated,
  AssetLimitSet: assetLimitSet,
  AllowedCallSet: allowedCallSet,
  CallConditionsSet: callConditionsSet,
  RecipientSet: recipientSet,
  CosignersSet: cosignersSet,
  GuardianSet: guardianSet,
  TreasuryLimitSet: treasuryLimitSet,
  SafeEnabledModule: safeEnabledModule,
  SafeDisabledModule: safeDisabledModule,
  SafeAddedOwner: safeAddedOwner,
  SafeRemovedOwner: safeRemovedOwner,
  SafeChangedThreshold: safeChangedThreshold,
  SafeChangedGuard: safeChangedGuard,
  SubmissionReverted: submissionReverted,
};

/** Applies one event: its state update, then the rule checks that look at it. */
export function applyEvent<K extends ChainEventKind>(core: EngineCore, e: EventOf<K>, emit: Emit): void {
  const at: At = {
    block: e.block,
    blockHash: e.blockHash,
    blockTime: e.timestamp,
    txHash: e.txHash,
    logIndex: e.logIndex,
  };
  const update: Update<K> = STATE_UPDATES[e.kind as K];
  update(core, e, emit, at);
}

/** Drops history older than any rule looks back on (and cooldowns older than 30 days), so the state stays small. */
export function pruneState(core: EngineCore, now: number): void {
  const keep = (kind: RuleKind, fallback: number, f: (r: RuleConfig) => number) =>
    Math.max(fallback, ...core.rules.filter((r) => r.rule === kind).map(f));
  const spendKeep = keep("spend-rate", DAY, (r) => (r.rule === "spend-rate" ? r.period + r.baseline : 0));
  const burstKeep = keep("intent-burst", 0, (r) => (r.rule === "intent-burst" ? r.period : 0));
  const laneKeep = keep("nonce-lane", 0, (r) => (r.rule === "nonce-lane" ? r.period : 0));
  const replayKeep = keep("idempotent-replay", 0, (r) => (r.rule === "idempotent-replay" ? r.period : 0));
  const strikeRuleKeep = keep("strikes", 0, (r) => (r.rule === "strikes" ? (r.window ?? 0) : 0));
  for (const agent of Object.values(core.state.agents)) {
    for (const asset of Object.keys(agent.spend))
      agent.spend[asset] = prune(agent.spend[asset], ([t]) => t, now - spendKeep);
    agent.activity = prune(agent.activity, (t) => t, now - burstKeep);
    agent.laneUses = prune(agent.laneUses, ([t]) => t, now - laneKeep);
    agent.replays = prune(agent.replays, (t) => t, now - replayKeep);
    agent.denials = prune(agent.denials, (t) => t, now - Math.max(strikeRuleKeep, agent.config?.strikeWindow ?? DAY));
  }
  for (const [key, time] of Object.entries(core.state.cooldowns))
    if (now - time > 30 * DAY) delete core.state.cooldowns[key];
}
