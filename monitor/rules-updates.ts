/**
 * The state updates, one per chain event kind: each records what the event changes in the statistics and then runs
 * the rule checks (rules-checks.ts) that look at it. {@link STATE_UPDATES} is the table the engine dispatches on; a
 * new event kind does not compile until it has an entry.
 */
import { ZeroAddress, dataLength, getAddress } from "ethers";
import type { Intent } from "../sdk/eip712";
import { splitNonce } from "../sdk/eip712";
import { isNoLimit, treasuryLimitLoosens } from "../core/loosening";
import type { ChainEvent, ChainEventKind } from "./events";
import {
  ConfigReport,
  EmergencyReport,
  NewRecipient,
  checkConfigLoosened,
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
import { Change, configChanges, limitChanges } from "./rules-changes";
import { At, DAY, Emit, EngineCore, EventOf, isTransfer, lower, prune, pushUnique } from "./rules-core";
import type { RuleConfig, RuleKind } from "../core/monitorSchema";
import type { AgentState } from "./stats";
import type { ConditionValue } from "../sdk/types";
import { describeCondition } from "../sdk/conditions";
import { conditionsLoosen } from "../core/conditions";

type Update<K extends ChainEventKind> = (core: EngineCore, e: EventOf<K>, emit: Emit, at: At) => void;

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
const config = (core: EngineCore, report: ConfigReport, emit: Emit, at: At) =>
  checkConfigLoosened(core, report, emit, at);

/** A set membership switched on or off: the change in words, or nothing when it did not change. */
function toggled(
  what: string,
  had: boolean,
  has: boolean,
  words: [off: string, on: string],
  loosens: boolean,
): Change[] {
  return had === has ? [] : [{ what, before: had ? words[1] : words[0], after: has ? words[1] : words[0], loosens }];
}

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

// ---------------------------------------------------------------------------------------------- agents

const agentSet: Update<"AgentSet"> = (core, e, emit, at) => {
  const known = core.state.keys[lower(e.agent)] !== undefined;
  const agent = core.agentOf(e.agent, e.timestamp);
  const changes: Change[] =
    known && agent.config
      ? configChanges(agent.config, e.config)
      : [{ what: "agent", before: "none", after: "registered", loosens: true }];
  if (known && agent.removed) changes.unshift({ what: "agent", before: "removed", after: "re-added", loosens: true });
  agent.config = e.config;
  agent.removed = false;
  config(core, { title: `agent ${getAddress(e.agent)} set`, changes, agent, key: e.agent }, emit, at);
};

const agentRemoved: Update<"AgentRemoved"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.removed = true;
  core.dropQueued(agent);
  const changes = [{ what: "agent", before: "active", after: "removed", loosens: false }];
  config(core, { title: `agent ${getAddress(e.agent)} removed`, changes, agent, key: e.agent }, emit, at);
};

const agentRotated: Update<"AgentRotated"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.oldKey, e.timestamp);
  agent.key = e.newKey;
  pushUnique(agent.keys, e.newKey);
  core.state.keys[lower(e.newKey)] = lower(agent.identity);
  core.dropQueued(agent, e.oldKey);
  const changes = [{ what: "key", before: e.oldKey, after: e.newKey, loosens: false }];
  config(core, { title: `agent key rotated from ${e.oldKey} to ${e.newKey}`, changes, agent, key: e.newKey }, emit, at);
};

const assetLimitSet: Update<"AssetLimitSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const changes = limitChanges(agent.limits[e.asset], e.limit, (v) => core.amount(e.asset, v));
  if (isNoLimit(e.limit)) delete agent.limits[e.asset];
  else {
    const { autoPerTx, autoPerWindow, window, escalatedPerTx } = e.limit;
    agent.limits[e.asset] = {
      autoPerTx: autoPerTx.toString(),
      autoPerWindow: autoPerWindow.toString(),
      window,
      escalatedPerTx: escalatedPerTx.toString(),
    };
  }
  config(
    core,
    { title: `limits of ${core.meta(e.asset)?.symbol ?? e.asset} changed`, changes, agent, key: e.agent },
    emit,
    at,
  );
};

const allowedCallSet: Update<"AllowedCallSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const key = `${lower(e.target)}:${e.selector}`;
  const had = agent.allowedCalls.includes(key);
  if (e.allowed) pushUnique(agent.allowedCalls, key);
  else agent.allowedCalls = agent.allowedCalls.filter((c) => c !== key);
  const changes = toggled(`call ${e.selector} on ${e.target}`, had, e.allowed, ["forbidden", "allowed"], e.allowed);
  const title = `call ${e.selector} on ${e.target} ${e.allowed ? "allowed" : "forbidden"}`;
  config(core, { title, changes, agent, key: e.agent }, emit, at);
};

/** v3: a call's argument conditions replaced; dropping or changing one loosens (core/conditions.ts). */
const callConditionsSet: Update<"CallConditionsSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const key = `${lower(e.target)}:${e.selector}`;
  const all = (agent.callConditions ??= {});
  const before = all[key] ?? [];
  if (e.conditions.length === 0) delete all[key];
  else all[key] = e.conditions;
  const words = (list: readonly ConditionValue[]) =>
    list.length === 0 ? "none" : list.map((c) => describeCondition(c)).join("; ");
  const what = `conditions of call ${e.selector} on ${e.target}`;
  const changes = [
    { what, before: words(before), after: words(e.conditions), loosens: conditionsLoosen(before, e.conditions) },
  ];
  config(
    core,
    { title: `${what} ${e.conditions.length === 0 ? "cleared" : "set"}`, changes, agent, key: e.agent },
    emit,
    at,
  );
};

const recipientSet: Update<"RecipientSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const r = lower(e.recipient);
  const had = agent.allowlist.includes(r);
  if (e.allowed) pushUnique(agent.allowlist, r);
  else agent.allowlist = agent.allowlist.filter((x) => x !== r);
  const changes = toggled(`recipient ${e.recipient}`, had, e.allowed, ["unknown", "allowed"], e.allowed);
  const title = `recipient ${e.recipient} ${e.allowed ? "added to" : "removed from"} the allowlist`;
  config(core, { title, changes, agent, key: e.agent }, emit, at);
};

// ---------------------------------------------------------------------------------------------- the module

const cosignersSet: Update<"CosignersSet"> = (core, e, emit, at) => {
  const { state } = core;
  const before = state.cosigners;
  const after = e.members.map(lower);
  const changes: Change[] = [];
  if (before.length > 0 || state.threshold > 0) {
    if (e.threshold !== state.threshold) {
      changes.push({
        what: "co-signer threshold",
        before: String(state.threshold),
        after: String(e.threshold),
        loosens: e.threshold < state.threshold,
      });
    }
    for (const m of after.filter((m) => !before.includes(m)))
      changes.push({ what: `co-signer ${getAddress(m)}`, before: "absent", after: "added", loosens: true });
    for (const m of before.filter((m) => !after.includes(m)))
      changes.push({ what: `co-signer ${getAddress(m)}`, before: "member", after: "removed", loosens: false });
  } else {
    changes.push({ what: "co-signers", before: "none", after: `${e.threshold} of ${after.length}`, loosens: false });
  }
  // Removed members' approvals stop counting at once, and stay void if they come back.
  for (const q of Object.values(state.queued)) q.approvals = q.approvals.filter((a) => after.includes(a));
  state.cosigners = after;
  state.threshold = e.threshold;
  config(core, { title: "co-signer set changed", changes }, emit, at);
};

const guardianSet: Update<"GuardianSet"> = (core, e, emit, at) => {
  const g = lower(e.guardian);
  const had = core.state.guardians.includes(g);
  if (e.enabled) pushUnique(core.state.guardians, g);
  else core.state.guardians = core.state.guardians.filter((x) => x !== g);
  if (had === e.enabled) return;
  const changes = [
    {
      what: `guardian ${e.guardian}`,
      before: had ? "enabled" : "absent",
      after: e.enabled ? "enabled" : "disabled",
      loosens: !e.enabled,
    },
  ];
  config(core, { title: `guardian ${e.guardian} ${e.enabled ? "enabled" : "disabled"}`, changes }, emit, at);
};

const treasuryLimitSet: Update<"TreasuryLimitSet"> = (core, e, emit, at) => {
  const prev = core.state.treasuryLimits[e.asset];
  const show = (v: string | bigint) => core.amount(e.asset, v);
  const changes: Change[] = [];
  if (e.perWindow === 0n) {
    if (prev)
      changes.push({
        what: "treasury limit",
        before: `${show(prev.perWindow)} per ${prev.window}s`,
        after: "none",
        loosens: treasuryLimitLoosens(prev, undefined),
      });
    delete core.state.treasuryLimits[e.asset];
  } else {
    if (!prev)
      changes.push({
        what: "treasury limit",
        before: "none",
        after: `${show(e.perWindow)} per ${e.window}s`,
        loosens: false,
      });
    else {
      if (e.perWindow !== BigInt(prev.perWindow)) {
        const loosens = treasuryLimitLoosens(prev, { perWindow: e.perWindow, window: prev.window });
        changes.push({ what: "treasury perWindow", before: show(prev.perWindow), after: show(e.perWindow), loosens });
      }
      if (e.window !== prev.window) {
        const loosens = treasuryLimitLoosens(prev, { perWindow: prev.perWindow, window: e.window });
        changes.push({ what: "treasury window", before: `${prev.window}s`, after: `${e.window}s`, loosens });
      }
    }
    core.state.treasuryLimits[e.asset] = { perWindow: e.perWindow.toString(), window: e.window };
  }
  config(core, { title: `treasury-wide limit of ${core.meta(e.asset)?.symbol ?? e.asset} changed`, changes }, emit, at);
};

// ---------------------------------------------------------------------------------------------- the Safe

const safeEnabledModule: Update<"SafeEnabledModule"> = (core, e, emit, at) => {
  pushUnique(core.state.safe.modules, lower(e.module));
  if (lower(e.module) === lower(core.ctx.module)) return; // this module's own enabling
  const changes = [{ what: `Safe module ${e.module}`, before: "disabled", after: "enabled", loosens: true }];
  config(core, { title: `the Safe enabled another module ${e.module}`, changes }, emit, at);
};

const safeDisabledModule: Update<"SafeDisabledModule"> = (core, e, emit, at) => {
  core.state.safe.modules = core.state.safe.modules.filter((m) => m !== lower(e.module));
  const ours = lower(e.module) === lower(core.ctx.module) ? " (this module: agents can no longer act)" : "";
  const changes = [{ what: `Safe module ${e.module}`, before: "enabled", after: "disabled", loosens: false }];
  config(core, { title: `the Safe disabled module ${e.module}${ours}`, changes }, emit, at);
};

const safeAddedOwner: Update<"SafeAddedOwner"> = (core, e, emit, at) => {
  const changes = [{ what: `Safe owner ${e.owner}`, before: "absent", after: "owner", loosens: true }];
  config(core, { title: `the Safe added owner ${e.owner}`, changes }, emit, at);
};

const safeRemovedOwner: Update<"SafeRemovedOwner"> = (core, e, emit, at) => {
  const changes = [{ what: `Safe owner ${e.owner}`, before: "owner", after: "removed", loosens: false }];
  config(core, { title: `the Safe removed owner ${e.owner}`, changes }, emit, at);
};

const safeChangedThreshold: Update<"SafeChangedThreshold"> = (core, e, emit, at) => {
  const previous = e.previous ?? core.state.safe.threshold;
  core.state.safe.threshold = e.threshold;
  const before = previous === undefined ? "unknown" : String(previous);
  const changes = [
    {
      what: "Safe threshold",
      before,
      after: String(e.threshold),
      loosens: previous === undefined || e.threshold < previous,
    },
  ];
  config(core, { title: `the Safe's threshold changed to ${e.threshold}`, changes }, emit, at);
};

const safeChangedGuard: Update<"SafeChangedGuard"> = (core, e, emit, at) => {
  const removed = e.guard === ZeroAddress;
  const which = e.moduleGuard ? "module guard" : "guard";
  const changes = [
    {
      what: e.moduleGuard ? "Safe module guard" : "Safe guard",
      before: "previous",
      after: removed ? "none" : e.guard,
      loosens: removed,
    },
  ];
  config(core, { title: `the Safe's ${which} ${removed ? "was removed" : `is now ${e.guard}`}`, changes }, emit, at);
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
