/**
 * The audit trail's record of everything that is not an intent: every pause, unpause, freeze and unfreeze (who did
 * it: a guardian, the Safe's owners, or the module itself after repeated denials) and every configuration change,
 * each told in words with amounts in the token's own units.
 */
import { getAddress } from "ethers";
import { AssetBook, formatAmount } from "../sdk/chain";
import type { ChainEvent } from "../monitor/events";
import { RECIPIENT_MODES } from "../sdk/shapes";
import { describeCondition } from "../sdk/conditions";

export type AuditEventCategory = "emergency" | "configuration";

export interface AuditEvent {
  /** The module's event name, e.g. `Paused`, `AgentFrozen`, `AssetLimitSet`. */
  kind: string;
  category: AuditEventCategory;
  block: number;
  /** Block time, unix seconds. */
  time: number;
  txHash: string;
  /** Who did it: a guardian or the Safe (pause, freeze), the module itself (a freeze on strikes), the Safe (configuration). */
  by?: string;
  /** The agent concerned, if any, and its name. */
  agent?: string;
  agentName?: string;
  /** What happened, in words. */
  summary: string;
}

const EMERGENCY_KINDS = new Set(["Paused", "Unpaused", "AgentFrozen", "AgentUnfrozen"]);
const CONFIGURATION_KINDS = new Set([
  "ModuleInitialized",
  "AgentSet",
  "AgentRemoved",
  "AgentRotated",
  "AssetLimitSet",
  "AllowedCallSet",
  "CallConditionsSet",
  "RecipientSet",
  "CosignersSet",
  "GuardianSet",
  "TreasuryLimitSet",
]);

/** Seconds in the largest fitting units: `1d 2h`, `30m`, `45s`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [d ? `${d}d` : "", h ? `${h}h` : "", m ? `${m}m` : "", !d && !h && !m ? `${s % 60}s` : ""].filter(
    Boolean,
  );
  return parts.join(" ");
}

export interface DescribeContext {
  assets: AssetBook;
  /** The agent's name for a key (any key of the identity). */
  nameOf: (agent: string) => string | undefined;
  module: string;
  safe?: string;
}

/** The event as an {@link AuditEvent}, or undefined for intent events and the Safe's own events. */
export async function describeEvent(e: ChainEvent, ctx: DescribeContext): Promise<AuditEvent | undefined> {
  const category: AuditEventCategory | undefined = EMERGENCY_KINDS.has(e.kind)
    ? "emergency"
    : CONFIGURATION_KINDS.has(e.kind)
      ? "configuration"
      : undefined;
  if (!category) return undefined;
  const same = (a: string | undefined, b: string | undefined) =>
    a !== undefined && b !== undefined && a.toLowerCase() === b.toLowerCase();
  const agentLabel = (a: string) => {
    const name = ctx.nameOf(a);
    return name ? `${name} (${getAddress(a)})` : getAddress(a);
  };
  const asset = async (address: string) => {
    const info = await ctx.assets
      .info(address)
      .catch(() => ({ address: getAddress(address), symbol: address, decimals: 0 }));
    return { ...info, show: (v: bigint) => `${formatAmount(v, info.decimals)} ${info.symbol}` };
  };
  const base = {
    kind: e.kind,
    category,
    block: e.block,
    time: e.timestamp,
    txHash: e.txHash,
    ...(category === "configuration" && ctx.safe ? { by: ctx.safe } : {}),
  };
  const forAgent = (a: string) => ({ agent: getAddress(a), ...(ctx.nameOf(a) ? { agentName: ctx.nameOf(a) } : {}) });
  switch (e.kind) {
    case "Paused":
      return {
        ...base,
        by: e.by,
        summary: `Module paused by ${same(e.by, ctx.safe) ? "the Safe's owners" : `guardian ${e.by}`}: no submission or execution until the owners unpause`,
      };
    case "Unpaused":
      return { ...base, by: e.by, summary: `Module unpaused by ${same(e.by, ctx.safe) ? "the Safe's owners" : e.by}` };
    case "AgentFrozen": {
      const how = same(e.by, ctx.module)
        ? `automatically after repeated denials (reason "${e.reason}")`
        : `by ${same(e.by, ctx.safe) ? "the Safe's owners" : `guardian ${e.by}`} (reason "${e.reason}")`;
      return { ...base, by: e.by, ...forAgent(e.agent), summary: `Agent ${agentLabel(e.agent)} frozen ${how}` };
    }
    case "AgentUnfrozen":
      return {
        ...base,
        by: e.by,
        ...forAgent(e.agent),
        summary: `Agent ${agentLabel(e.agent)} unfrozen by ${same(e.by, ctx.safe) ? "the Safe's owners" : e.by}; its strikes cleared`,
      };
    case "ModuleInitialized":
      return { ...base, summary: `Module initialized for Safe ${e.avatar}` };
    case "AgentSet": {
      const c = e.config;
      const parts = [
        `delay ${duration(c.escalationDelay)}`,
        `grace ${duration(c.gracePeriod)}`,
        `recipients ${RECIPIENT_MODES[c.recipientMode] ?? c.recipientMode}`,
        c.maxIntentsPerWindow === 0 ? "no rate limit" : `rate ${c.maxIntentsPerWindow} per ${duration(c.rateWindow)}`,
        c.maxStrikes === 0
          ? "never frozen on strikes"
          : `frozen after ${c.maxStrikes} strikes in ${duration(c.strikeWindow)}`,
        `valid until ${c.validUntil === 0 ? "never" : new Date(c.validUntil * 1000).toISOString().replace(".000Z", "Z")}`,
      ];
      return { ...base, ...forAgent(e.agent), summary: `Agent ${agentLabel(e.agent)} set: ${parts.join(", ")}` };
    }
    case "AgentRemoved":
      return { ...base, ...forAgent(e.agent), summary: `Agent ${agentLabel(e.agent)} removed` };
    case "AgentRotated":
      return {
        ...base,
        ...forAgent(e.newKey),
        summary: `Agent ${agentLabel(e.oldKey)} rotated to the key ${e.newKey}; the old key is dead`,
      };
    case "AssetLimitSet": {
      const a = await asset(e.asset);
      const l = e.limit;
      const removed = l.autoPerTx === 0n && l.autoPerWindow === 0n && l.escalatedPerTx === 0n;
      const text = removed
        ? `${a.symbol} limit removed (it can no longer spend ${a.symbol})`
        : `${a.symbol} limit: auto ${a.show(l.autoPerTx)} per tx, ${a.show(l.autoPerWindow)} per ${duration(l.window)}, hard cap ${a.show(l.escalatedPerTx)}`;
      return { ...base, ...forAgent(e.agent), summary: `Agent ${agentLabel(e.agent)}: ${text}` };
    }
    case "AllowedCallSet":
      return {
        ...base,
        ...forAgent(e.agent),
        summary: `Agent ${agentLabel(e.agent)}: ${e.allowed ? "may call" : "may no longer call"} ${e.selector} on ${e.target}`,
      };
    case "CallConditionsSet": {
      // Address values that are tokens (tokenIn, a charged asset) are named by their symbol.
      const labels = new Map<string, string>();
      for (const c of e.conditions) {
        const n = BigInt(c.value);
        if (n === 0n || n >> 160n !== 0n) continue;
        const address = getAddress(`0x${c.value.slice(-40)}`);
        const info = await ctx.assets.info(address).catch(() => undefined);
        if (info && info.symbol !== address) labels.set(address.toLowerCase(), info.symbol);
      }
      const words = e.conditions
        .map((c) => describeCondition(c, { label: (a) => labels.get(a.toLowerCase()) }))
        .join("; ");
      const text = e.conditions.length === 0 ? "conditions cleared" : `only when ${words}`;
      return {
        ...base,
        ...forAgent(e.agent),
        summary: `Agent ${agentLabel(e.agent)}: call ${e.selector} on ${e.target}: ${text}`,
      };
    }
    case "RecipientSet":
      return {
        ...base,
        ...forAgent(e.agent),
        summary: `Agent ${agentLabel(e.agent)}: recipient ${e.recipient} ${e.allowed ? "added" : "removed"}`,
      };
    case "CosignersSet":
      return { ...base, summary: `Co-signers set: ${e.threshold} of ${e.members.length} (${e.members.join(", ")})` };
    case "GuardianSet":
      return { ...base, summary: `Guardian ${e.guardian} ${e.enabled ? "added" : "removed"}` };
    case "TreasuryLimitSet": {
      const a = await asset(e.asset);
      return {
        ...base,
        summary:
          e.perWindow === 0n
            ? `Treasury-wide ${a.symbol} limit removed`
            : `Treasury-wide ${a.symbol} limit: ${a.show(e.perWindow)} per ${duration(e.window)} across all agents`,
      };
    }
    default:
      return undefined;
  }
}
