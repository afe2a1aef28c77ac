/**
 * The idempotency-conflict rule on the agents' journals. A conflict the client refuses reverts before it reaches
 * the chain, so only the client's journal knows it: a "closed" entry with code IDEMPOTENCY_CONFLICT, or two signed
 * intents under one key with different payloads.
 */
import { getAddress } from "ethers";
import type { JournalEntry, SignedEntry } from "../sdk/journal";
import { ALERT_VERSION, Alert, AlertDetail, alertId } from "./alerts";
import { DEFAULT_SEVERITY, EngineCore, lower } from "./rules-core";
import type { RuleOf } from "../core/monitorSchema";

type ConflictRule = RuleOf<"idempotency-conflict">;

/** When the journal was read: the newest block and its time. */
export interface JournalClock {
  block: number;
  time: number;
}

/**
 * The conflicts in `all` (the whole journal) from entry `from` on: reported once, for this module, by the rules
 * whose agent filter matches.
 */
export function journalAlerts(
  core: EngineCore,
  all: readonly JournalEntry[],
  from: number,
  now: JournalClock,
): Alert[] {
  const alerts: Alert[] = [];
  const rules = core.rulesOf("idempotency-conflict");
  if (rules.length === 0) return alerts;
  const signed = new Map<string, SignedEntry>();
  const firstByKey = new Map<string, SignedEntry>();
  const ours = (entry: SignedEntry) => lower(entry.module) === lower(core.ctx.module);
  all.forEach((entry, index) => {
    if (entry.t === "signed") {
      signed.set(lower(entry.intentId), entry);
      const first = firstUnderKey(firstByKey, entry);
      if (!first || samePayload(first, entry) || index < from || !ours(entry)) return;
      const key = lower(entry.intent.idempotencyKey);
      const message = `the agent signed two different payloads under idempotency key ${key}: ${entry.intentId} and ${first.intentId}`;
      for (const rule of matching(core, rules, entry.intent.agent)) {
        alerts.push(alert(core, rule, entry, now, message, { key, original: first.intentId }));
      }
    } else if (entry.t === "closed" && entry.code === "IDEMPOTENCY_CONFLICT" && index >= from) {
      const s = signed.get(lower(entry.intentId));
      if (!s || !ours(s)) return;
      const message = `the module rejected ${s.intentId}: idempotency key ${s.intent.idempotencyKey} is bound to another payload (${entry.message ?? "no message"})`;
      for (const rule of matching(core, rules, s.intent.agent)) {
        alerts.push(alert(core, rule, s, now, message, { key: s.intent.idempotencyKey }));
      }
    }
  });
  return alerts;
}

/** The first entry signed under this entry's key (module, agent, key), or undefined when this is the first or has no key. */
function firstUnderKey(firstByKey: Map<string, SignedEntry>, entry: SignedEntry): SignedEntry | undefined {
  const key = lower(entry.intent.idempotencyKey);
  if (/^0x0{64}$/.test(key)) return undefined;
  const k = `${lower(entry.module)}|${lower(entry.intent.agent)}|${key}`;
  const first = firstByKey.get(k);
  if (!first) firstByKey.set(k, entry);
  return first;
}

function samePayload(a: SignedEntry, b: SignedEntry): boolean {
  return (
    lower(a.intent.target) === lower(b.intent.target) &&
    a.intent.value === b.intent.value &&
    lower(a.intent.data) === lower(b.intent.data)
  );
}

/** The rules whose agent filter matches the key (or its agent's other keys). */
function matching(core: EngineCore, rules: ConflictRule[], key: string): ConflictRule[] {
  const identity = core.state.keys[lower(key)];
  const agent = identity ? core.state.agents[identity] : undefined;
  return rules.filter((r) => {
    const filter = core.filterOf(r);
    return !filter || (agent ? agent.keys.some((k) => filter.has(lower(k))) : filter.has(lower(key)));
  });
}

function alert(
  core: EngineCore,
  rule: ConflictRule,
  s: SignedEntry,
  now: JournalClock,
  message: string,
  details: Record<string, AlertDetail>,
): Alert {
  const identity = core.state.keys[lower(s.intent.agent)];
  const agent = identity ? core.state.agents[identity] : undefined;
  return {
    v: ALERT_VERSION,
    type: "alert",
    id: alertId(rule.id!, "journal", s.intentId, message),
    rule: rule.id!,
    kind: "idempotency-conflict",
    severity: rule.severity ?? DEFAULT_SEVERITY["idempotency-conflict"],
    message,
    advice: "one key must always mean one payment: find out why the agent re-used it for a different payload",
    chainId: core.ctx.chainId,
    module: core.ctx.module,
    agent: agent ? core.subject(agent, s.intent.agent) : { address: getAddress(s.intent.agent) },
    intentId: s.intentId,
    block: now.block,
    blockTime: now.time,
    detectedAtBlock: now.block,
    detectedAt: new Date().toISOString(),
    action: rule.action,
    details: { source: "journal", ...details },
  };
}
