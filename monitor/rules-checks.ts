/**
 * The rule checks, one per rule kind: each reads the statistics as the state updates (rules-updates.ts) left them
 * and reports what its rules ask for. They change nothing but cooldowns (and which rules already reported a queued
 * intent). What each rule looks at is documented in README-MONITOR.md; the comments here say why.
 */
import { getAddress } from "ethers";
import type { Intent } from "../sdk/eip712";
import { splitNonce } from "../sdk/eip712";
import { AlertDetail, alertId } from "./alerts";
import type { ChainEvent } from "./events";
import type { Change } from "./rules-changes";
import { At, DAY, Emit, EngineCore, EventOf, lower } from "./rules-core";
import type { Severity } from "../core/monitorSchema";
import type { AgentState, QueuedState } from "./stats";
import type { BlockBatch } from "./follower";

/** denied-intent: every denial (of the listed reasons), once per intent. */
export function checkDeniedIntent(
  core: EngineCore,
  agent: AgentState,
  e: EventOf<"IntentDenied">,
  emit: Emit,
  at: At,
): void {
  const what = e.intent ? core.describe(e.intent).summary : "an intent (calldata not decoded)";
  for (const rule of core.rulesOf("denied-intent", agent)) {
    if (rule.reasons && !rule.reasons.includes(e.reason as never)) continue;
    if (!core.cool(rule, `${agent.identity}|${e.intentId}`, e.timestamp)) continue;
    emit({
      ...at,
      id: alertId(rule.id!, e.txHash, e.logIndex),
      rule: rule.id!,
      kind: "denied-intent",
      agent: core.subject(agent, e.agent),
      intentId: e.intentId,
      message: `intent denied (${e.reason}): ${what}`,
      advice: "check why the agent asks for something its policy forbids; freeze it if it was not expected",
      details: { reason: e.reason, intent: what, rationale: e.rationale },
    });
  }
}

/** strikes: `atLeast` denials within the window (the rule's, else the agent's strike window). */
export function checkStrikes(
  core: EngineCore,
  agent: AgentState,
  e: EventOf<"IntentDenied">,
  emit: Emit,
  at: At,
): void {
  for (const rule of core.rulesOf("strikes", agent)) {
    const window = rule.window ?? agent.config?.strikeWindow ?? DAY;
    const recent = agent.denials.filter((t) => t > e.timestamp - window).length;
    if (recent < rule.atLeast) continue;
    if (!core.cool(rule, agent.identity, e.timestamp)) continue;
    const max = agent.config?.maxStrikes ?? 0;
    emit({
      ...at,
      id: alertId(rule.id!, e.txHash, e.logIndex),
      rule: rule.id!,
      kind: "strikes",
      agent: core.subject(agent, e.agent),
      intentId: e.intentId,
      message:
        `${recent} denied intents within ${window}s` +
        (max > 0 ? ` (the module freezes it at ${max} within its strike window)` : " (no on-chain strike limit)") +
        `: latest ${e.reason}`,
      advice: "an agent probing its fence is likely compromised or prompt-injected: freeze it and read its journal",
      details: { strikes: recent, maxStrikes: max, windowSeconds: window, reason: e.reason },
    });
  }
}

/** idempotent-replay: more than `maxReplays` replays within the period. */
export function checkIdempotentReplay(
  core: EngineCore,
  agent: AgentState,
  e: EventOf<"IdempotentReplay">,
  emit: Emit,
  at: At,
): void {
  for (const rule of core.rulesOf("idempotent-replay", agent)) {
    const recent = agent.replays.filter((t) => t > e.timestamp - rule.period).length;
    if (recent <= rule.maxReplays) continue;
    if (!core.cool(rule, agent.identity, e.timestamp, rule.cooldown ?? (rule.maxReplays > 0 ? rule.period : 0)))
      continue;
    emit({
      ...at,
      id: alertId(rule.id!, e.txHash, e.logIndex),
      rule: rule.id!,
      kind: "idempotent-replay",
      agent: core.subject(agent, e.agent),
      intentId: e.intentId,
      message: `idempotent replay of ${e.intentId} (key ${e.idempotencyKey}): nothing new happened; ${recent} replay(s) within ${rule.period}s`,
      advice:
        "a retry after a crash is normal; many replays mean a client stuck in a loop or someone replaying signed intents",
      details: { idempotencyKey: e.idempotencyKey, replaysInPeriod: recent, periodSeconds: rule.period },
    });
  }
}

/** intent-burst: more than `maxIntents` intents within the period. */
export function checkIntentBurst(core: EngineCore, agent: AgentState, e: ChainEvent, emit: Emit, at: At): void {
  for (const rule of core.rulesOf("intent-burst", agent)) {
    const recent = agent.activity.filter((t) => t > e.timestamp - rule.period).length;
    if (recent <= rule.maxIntents) continue;
    if (!core.cool(rule, agent.identity, e.timestamp, rule.cooldown ?? rule.period)) continue;
    emit({
      ...at,
      id: alertId(rule.id!, e.txHash, e.logIndex),
      rule: rule.id!,
      kind: "intent-burst",
      agent: core.subject(agent, "agent" in e ? (e as { agent: string }).agent : undefined),
      intentId: "intentId" in e ? (e as { intentId: string }).intentId : undefined,
      message: `${recent} intents within ${rule.period}s (rule allows ${rule.maxIntents})`,
      advice: "a burst is how a hijacked agent drains its window: check its journal and freeze it if unexpected",
      details: { intents: recent, maxIntents: rule.maxIntents, periodSeconds: rule.period },
    });
  }
}

/** What the lane update saw before it recorded the intent's lane. */
export interface LaneUse {
  lane: string;
  /** The agent had used this lane before. */
  known: boolean;
  /** The agent had used some lane before. */
  hadHistory: boolean;
}

/** nonce-lane: a lane never used before (when asked), or more than `maxLanes` lanes within the period. */
export function checkNonceLane(
  core: EngineCore,
  agent: AgentState,
  intent: Intent,
  use: LaneUse,
  e: ChainEvent,
  emit: Emit,
  at: At,
): void {
  const { lane, known, hadHistory } = use;
  for (const rule of core.rulesOf("nonce-lane", agent)) {
    const distinct = new Set(agent.laneUses.filter(([t]) => t > e.timestamp - rule.period).map(([, l]) => l));
    const tooMany = distinct.size > rule.maxLanes;
    const fresh = !known && hadHistory && rule.alertOnNewLane;
    if (!tooMany && !fresh) continue;
    if (tooMany && !fresh && !core.cool(rule, agent.identity, e.timestamp, rule.cooldown ?? rule.period)) continue;
    emit({
      ...at,
      id: alertId(rule.id!, e.txHash, e.logIndex),
      rule: rule.id!,
      kind: "nonce-lane",
      agent: core.subject(agent, intent.agent),
      intentId: "intentId" in e ? (e as { intentId: string }).intentId : undefined,
      message:
        (fresh ? `first use of nonce lane ${shortLane(lane)}` : `nonce lane ${shortLane(lane)}`) +
        (tooMany ? `; ${distinct.size} lanes within ${rule.period}s (rule allows ${rule.maxLanes})` : ""),
      advice:
        "lanes are the agent's parallel workflows: a new one means new behaviour; many mean intents spread to avoid one stuck lane",
      details: {
        lane,
        sequence: splitNonce(intent.nonce).sequence.toString(),
        lanesInPeriod: distinct.size,
        knownLanes: Object.keys(agent.lanes).length,
      },
    });
  }
}

function shortLane(lane: string): string {
  return lane.length > 12 ? `${lane.slice(0, 6)}…${lane.slice(-4)}` : lane;
}

/** A payment to a recipient the agent never paid (and the owners never allowlisted). */
export interface NewRecipient {
  recipient: string;
  /** What the agent did, in words. */
  what: string;
  intentId: string;
  /** Queued, not paid yet (reported only by rules with `includeQueued`). */
  queued: boolean;
}

/** new-recipient: reports a recipient seen for the first time; true when a rule fired. */
export function checkNewRecipient(
  core: EngineCore,
  agent: AgentState,
  seen: NewRecipient,
  emit: Emit,
  at: At,
): boolean {
  let fired = false;
  for (const rule of core.rulesOf("new-recipient", agent)) {
    if (seen.queued && !rule.includeQueued) continue;
    fired = true;
    emit({
      ...at,
      id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
      rule: rule.id!,
      kind: "new-recipient",
      agent: core.subject(agent),
      intentId: seen.intentId,
      message: `new recipient ${getAddress(seen.recipient)}: ${seen.what}`,
      advice:
        "confirm the recipient with the invoice or payroll it belongs to; a redirected payment is a classic injection",
      details: { recipient: getAddress(seen.recipient), queued: seen.queued, knownRecipients: agent.recipients.length },
    });
  }
  return fired;
}

/**
 * spend-rate: the spend of the last period above both its share of the window cap and `multiple` times the
 * average spend per period over the history seen (at most `baseline`).
 */
export function checkSpendRate(
  core: EngineCore,
  agent: AgentState,
  asset: string,
  time: number,
  intentId: string,
  emit: Emit,
  at: At,
): void {
  const entries = agent.spend[asset] ?? [];
  const sum = (from: number, to: number) =>
    entries.filter(([t]) => t > from && t <= to).reduce((s, [, a]) => s + BigInt(a), 0n);
  for (const rule of core.rulesOf("spend-rate", agent)) {
    const current = sum(time - rule.period, time);
    const baselineStart = Math.max(time - rule.period - rule.baseline, (agent.firstSeen ?? time) - 1);
    const span = time - rule.period - baselineStart;
    const history = span > 0 ? sum(baselineStart, time - rule.period) : 0n;
    // The baseline is the average spend per period over the history actually seen (at most `baseline`).
    const perPeriod = span > 0 ? (history * BigInt(rule.period)) / BigInt(span) : 0n;
    const limit = agent.limits[asset];
    const cap = limit ? BigInt(limit.autoPerWindow) : 0n;
    const floor = (cap * BigInt(Math.round(rule.minShareOfCap * 10_000))) / 10_000n;
    const ceiling = (perPeriod * BigInt(Math.round(rule.multiple * 100))) / 100n;
    if (current <= floor || current <= ceiling) continue;
    if (!core.cool(rule, `${agent.identity}|${lower(asset)}`, time, rule.cooldown ?? rule.period)) continue;
    const ratio =
      perPeriod > 0n
        ? `${(Number((current * 100n) / perPeriod) / 100).toFixed(1)}x its baseline of ${core.amount(asset, perPeriod)}`
        : "with no spend in its baseline";
    emit({
      ...at,
      id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
      rule: rule.id!,
      kind: "spend-rate",
      agent: core.subject(agent),
      intentId,
      message:
        `spent ${core.amount(asset, current)} in the last ${rule.period}s, ${ratio} per period` +
        (cap > 0n ? ` (window cap ${core.amount(asset, cap)})` : ""),
      advice: "a drain runs at the cap's pace: freeze the agent unless this spend is planned",
      details: {
        asset,
        spentInPeriod: current.toString(),
        baselinePerPeriod: perPeriod.toString(),
        periodSeconds: rule.period,
        windowCap: cap.toString(),
        floor: floor.toString(),
      },
    });
  }
}

/** What an emergency alert says: who acted, on which agent (if any), how severe. */
export interface EmergencyReport {
  message: string;
  agent?: AgentState;
  key?: string;
  severity: Severity;
  details: Record<string, AlertDetail>;
}

/** emergency: every pause, unpause, freeze and unfreeze. */
export function checkEmergency(core: EngineCore, report: EmergencyReport, emit: Emit, at: At): void {
  for (const rule of core.rulesOf("emergency")) {
    emit({
      ...at,
      id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
      rule: rule.id!,
      kind: "emergency",
      agent: report.agent ? core.subject(report.agent, report.key) : undefined,
      message: report.message,
      severity: report.severity,
      advice:
        report.severity === "critical" ? "confirm who acted and why; only the Safe's owners can undo it" : undefined,
      details: report.details,
    });
  }
}

/** A configuration change: a title, what changed, and the agent it concerns (if any). */
export interface ConfigReport {
  title: string;
  changes: Change[];
  agent?: AgentState;
  key?: string;
}

/** config-loosened: a change that loosens the fence (and, with `includeTightening`, any change). */
export function checkConfigLoosened(core: EngineCore, report: ConfigReport, emit: Emit, at: At): void {
  const { title, changes, agent, key } = report;
  if (changes.length === 0) return;
  const loosened = changes.filter((c) => c.loosens);
  for (const rule of core.rulesOf("config-loosened")) {
    if (loosened.length === 0 && !rule.includeTightening) continue;
    const shown = loosened.length > 0 ? loosened : changes;
    emit({
      ...at,
      id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
      rule: rule.id!,
      kind: "config-loosened",
      agent: agent ? core.subject(agent, key) : undefined,
      message:
        `${title}: ` +
        shown.map((c) => `${c.what} ${c.before} -> ${c.after}`).join("; ") +
        (loosened.length > 0 ? " (LOOSENS)" : " (does not loosen)"),
      severity: loosened.length > 0 ? undefined : "info",
      advice: loosened.length > 0 ? "confirm with the Safe's owners that this change was intended" : undefined,
      details: {
        loosens: loosened.length > 0,
        changes: changes.map((c) => `${c.what}: ${c.before} -> ${c.after}${c.loosens ? " (looser)" : ""}`),
      },
    });
  }
}

/** What every alert about a reverted submission says first: one alert per transaction and rule. */
function revertedAlert(
  core: EngineCore,
  agent: AgentState | undefined,
  e: EventOf<"SubmissionReverted">,
  rule: string,
  kind: "idempotency-conflict" | "rejected-submission",
  at: At,
) {
  return {
    ...at,
    id: alertId(rule, e.txHash, "reverted"),
    rule,
    kind,
    agent: agent ? core.subject(agent, e.agent) : undefined,
    intentId: e.intentId,
  };
}

/** idempotency-conflict: a submission reverted because its key is bound to another payload. */
export function checkIdempotencyConflict(
  core: EngineCore,
  agent: AgentState | undefined,
  e: EventOf<"SubmissionReverted">,
  emit: Emit,
  at: At,
): void {
  for (const rule of core.rulesOf("idempotency-conflict", agent)) {
    const key = e.errorArgs.key ?? e.idempotencyKey;
    emit({
      ...revertedAlert(core, agent, e, rule.id!, "idempotency-conflict", at),
      message: `a ${e.function} reverted with IdempotencyKeyConflict: key ${key} is bound to another payload (original ${e.errorArgs.originalIntentId ?? "?"})`,
      advice: "the same key was signed for two different payments: check the agent's journal and the original intent",
      details: { from: e.from, function: e.function, ...e.errorArgs },
    });
  }
}

/** rejected-submission: any other submission that reverted on-chain (of the listed errors). */
export function checkRejectedSubmission(
  core: EngineCore,
  agent: AgentState | undefined,
  e: EventOf<"SubmissionReverted">,
  emit: Emit,
  at: At,
): void {
  const critical = e.errorName === "IntentSignatureInvalid" || e.errorName === "AgentIsFrozen";
  for (const rule of core.rulesOf("rejected-submission", agent)) {
    if (rule.errors && !rule.errors.includes(e.errorName)) continue;
    emit({
      ...revertedAlert(core, agent, e, rule.id!, "rejected-submission", at),
      message: `a ${e.function} from ${e.from} reverted on-chain with ${e.errorName}`,
      advice:
        e.errorName === "IntentSignatureInvalid"
          ? "someone relays intents the agent did not sign: check who holds or imitates the agent's key"
          : e.errorName === "AgentIsFrozen"
            ? "a frozen agent is still trying: its key or its operator is still active"
            : "read the error's arguments; repeated rejections mean a broken or hostile client",
      severity: critical ? "critical" : undefined,
      details: { from: e.from, function: e.function, error: e.errorName, ...e.errorArgs },
    });
  }
}

/** queued-near-eta: a queued intent within `within` of its eta without enough on-chain approvals, once per rule. */
export function checkQueuedNearEta(core: EngineCore, id: string, q: QueuedState, batch: BlockBatch, emit: Emit): void {
  const now = batch.timestamp;
  const agent = core.state.agents[q.identity];
  const { threshold, cosigners } = core.state;
  for (const rule of core.rulesOf("queued-near-eta", agent)) {
    if (q.alerted.includes(rule.id!)) continue;
    if (now < q.eta - rule.within) continue;
    const approvals = q.approvals.filter((a) => cosigners.includes(a)).length;
    if (approvals >= threshold) continue;
    q.alerted.push(rule.id!);
    const eta = new Date(q.eta * 1000).toISOString();
    emit({
      block: batch.number,
      blockHash: batch.hash,
      blockTime: now,
      id: alertId(rule.id!, id),
      rule: rule.id!,
      kind: "queued-near-eta",
      agent: agent ? core.subject(agent, q.key) : undefined,
      intentId: id,
      message: `queued intent (${q.summary}) ${now >= q.eta ? "reached" : "is close to"} its eta ${eta} with ${approvals} of ${threshold} on-chain approvals`,
      advice: "co-signers: review and approve (or cancel) it before it expires",
      details: { eta: q.eta, expiresAt: q.eta + q.gracePeriod, approvals, threshold },
    });
  }
}
