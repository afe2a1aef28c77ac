/**
 * Configuration changes in words, field by field, each marked as loosening the fence or not. Whether a change
 * loosens is decided once, in core/loosening.ts, for the policy plan and the watchtower alike.
 */
import { agentConfigChanges, assetLimitChange } from "../core/loosening";
import { AgentConfigField, AgentConfigNumbers, AssetLimitValue, RECIPIENT_MODES } from "../sdk/shapes";
import type { LimitJson } from "./stats";

/** One changed item: what, before and after in words, and whether it lets the agent move more. */
export interface Change {
  what: string;
  before: string;
  after: string;
  loosens: boolean;
}

/** What changed between two asset limits, and whether each change lets the agent move more (core/loosening.ts). */
export function limitChanges(
  prev: LimitJson | undefined,
  next: AssetLimitValue,
  show: (v: bigint) => string,
): Change[] {
  const change = assetLimitChange(prev, next);
  if (change.added) {
    const after = `${show(next.autoPerTx)}/tx, ${show(next.autoPerWindow)} per ${next.window}s, hard cap ${show(next.escalatedPerTx)}`;
    return [{ what: "asset limit", before: "none (asset not allowed)", after, loosens: true }];
  }
  if (change.removed)
    return [{ what: "asset limit", before: "set", after: "removed (asset not allowed)", loosens: false }];
  return change.fields.map((c) => ({
    what: c.field,
    before: c.field === "window" ? `${c.before}s` : show(c.before),
    after: c.field === "window" ? `${c.after}s` : show(c.after),
    loosens: c.loosens,
  }));
}

/** What changed in an agent's configuration, and whether each change loosens it (core/loosening.ts). */
export function configChanges(prev: AgentConfigNumbers, next: AgentConfigNumbers): Change[] {
  const never = (v: bigint) => (v === 0n ? "never" : new Date(Number(v) * 1000).toISOString());
  const none = (v: bigint) => (v === 0n ? "none" : String(v));
  const seconds = (v: bigint) => `${v}s`;
  const show: Record<AgentConfigField, (v: bigint) => string> = {
    validUntil: never,
    escalationDelay: seconds,
    gracePeriod: seconds,
    maxIntentsPerWindow: none,
    rateWindow: seconds,
    maxStrikes: none,
    strikeWindow: seconds,
    recipientMode: (v) => RECIPIENT_MODES[Number(v)] ?? String(v),
  };
  return agentConfigChanges(prev, next).map((c) => ({
    what: c.field,
    before: show[c.field](c.before),
    after: show[c.field](c.after),
    loosens: c.loosens,
  }));
}
