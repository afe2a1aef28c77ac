/**
 * What the rule engine's parts share: the statistics ({@link MonitorState}), the enabled rules and their agent
 * filters, the names and token metadata of the deployment, and the helpers every state update and rule check uses
 * (an agent by any of its keys, cooldowns, amounts in human units, an intent in words).
 */
import { Interface, ZeroAddress, dataLength, dataSlice, formatUnits, getAddress } from "ethers";
import type { Intent } from "../sdk/eip712";
import { isCanonicalTransfer } from "../sdk/calldata";
import type { Alert } from "./alerts";
import type { ChainEvent, ChainEventKind } from "./events";
import type { RuleConfig, RuleKind, RuleOf, Severity } from "../core/monitorSchema";
import { AgentState, MonitorState, emptyState, newAgent } from "./stats";

export interface AssetMeta {
  symbol: string;
  decimals: number;
}

export interface EngineContext {
  chainId: string;
  module: string;
  safe?: string;
  /** agent address (lower case) -> name */
  names?: Record<string, string>;
  /** token address (lower case) -> symbol and decimals; ETH is built in */
  assets?: Record<string, AssetMeta>;
  /** The guardian this watchtower acts as (its own freezes are labelled so). */
  self?: string;
}

/** A rule's `agents` filter names an agent the deployment does not know. */
export class RuleConfigError extends Error {
  readonly code = "MONITOR_RULE_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "RuleConfigError";
  }
}

export const DAY = 86_400;

export const DEFAULT_SEVERITY: Record<RuleKind, Severity> = {
  "spend-rate": "critical",
  "new-recipient": "warning",
  "intent-burst": "warning",
  "denied-intent": "warning",
  strikes: "critical",
  "idempotent-replay": "info",
  "idempotency-conflict": "warning",
  "rejected-submission": "warning",
  "nonce-lane": "warning",
  "queued-near-eta": "warning",
  emergency: "critical",
  "config-loosened": "critical",
  "price-feed-untrusted": "warning",
  "price-feed-moved": "critical",
};

/** The chain event of one kind. */
export type EventOf<K extends ChainEventKind> = Extract<ChainEvent, { kind: K }>;

/** Where an event happened, as an alert reports it. */
export type At = Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">;

/** Reports an alert (the engine adds the envelope: chain, module, detection, severity and action of the rule). */
export type Emit = (
  a: Omit<Alert, "v" | "type" | "chainId" | "module" | "detectedAtBlock" | "detectedAt" | "severity" | "action"> & {
    severity?: Severity;
  },
) => void;

/** The state update of one event kind: records what the event changes, then runs the rule checks that look at it. */
export type Update<K extends ChainEventKind> = (core: EngineCore, e: EventOf<K>, emit: Emit, at: At) => void;

export const lower = (a: string) => a.toLowerCase();

export function pushUnique(list: string[], value: string): boolean {
  if (list.includes(value)) return false;
  list.push(value);
  return true;
}

/** Keeps entries whose time is after `since`. */
export function prune<T>(list: T[], time: (t: T) => number, since: number): T[] {
  const i = list.findIndex((t) => time(t) > since);
  return i === -1 ? [] : i === 0 ? list : list.slice(i);
}

/** A canonical token transfer, as the module charges it; a non-canonical one is Denied `MalformedCall` (v3). */
export function isTransfer(intent: Intent): boolean {
  return isCanonicalTransfer(intent.data);
}

const transferInterface = new Interface(["function transfer(address,uint256)"]);

/** The enabled rules, the deployment's names and the statistics, with the lookups every part of the engine uses. */
export class EngineCore {
  state: MonitorState;
  readonly rules: RuleConfig[];
  ctx: EngineContext;
  /** rule id -> the agents (lower-case addresses) its `agents` filter names */
  private readonly filters = new Map<string, Set<string>>();

  constructor(rules: readonly RuleConfig[], ctx: EngineContext, state?: MonitorState) {
    this.rules = rules.filter((r) => r.enabled);
    this.ctx = ctx;
    this.state = state ?? emptyState();
    const byName = new Map(Object.entries(ctx.names ?? {}).map(([address, name]) => [lower(name), lower(address)]));
    for (const rule of this.rules) {
      if (!("agents" in rule) || !rule.agents) continue;
      const set = new Set<string>();
      for (const ref of rule.agents) {
        if (/^0x[0-9a-fA-F]{40}$/.test(ref)) set.add(lower(ref));
        else {
          const address = byName.get(lower(ref));
          if (!address) {
            throw new RuleConfigError(
              `Rule "${rule.id}" names agent "${ref}", which the deployment record does not know (known: ${[...byName.keys()].join(", ") || "none"}). Use an agent name from the policy or an address.`,
            );
          }
          set.add(address);
        }
      }
      this.filters.set(rule.id!, set);
    }
  }

  /** The agents a rule is limited to, or undefined when it watches every agent. */
  filterOf(rule: RuleConfig): Set<string> | undefined {
    return this.filters.get(rule.id!);
  }

  /** The enabled rules of a kind that watch `agent` (every rule of the kind when no agent is given). */
  rulesOf<K extends RuleKind>(kind: K, agent?: AgentState): RuleOf<K>[] {
    return this.rules.filter((r): r is RuleOf<K> => {
      if (r.rule !== kind) return false;
      if (!agent) return true;
      const filter = this.filterOf(r);
      return !filter || agent.keys.some((k) => filter.has(lower(k)));
    });
  }

  /** True (and starts the cooldown) when the rule may fire for `subject` at `time`. */
  cool(rule: RuleConfig, subject: string, time: number, cooldown = rule.cooldown ?? 0): boolean {
    const key = `${rule.id}|${subject}`;
    const last = this.state.cooldowns[key];
    if (last !== undefined && time - last < cooldown) return false;
    this.state.cooldowns[key] = time;
    return true;
  }

  /** The agent a key belongs to (any key it has had); an unknown key starts a new agent. */
  agentOf(key: string, time: number): AgentState {
    const k = lower(key);
    const identity = this.state.keys[k];
    if (identity) return this.state.agents[identity];
    // An agent seen before its AgentSet (the watchtower started without history): track it from now on.
    const agent = newAgent(getAddress(key), time);
    this.state.agents[k] = agent;
    this.state.keys[k] = k;
    return agent;
  }

  /** The agent as an alert names it: the key, and the policy's name when there is one. */
  subject(agent: AgentState, key?: string): { address: string; name?: string } {
    const address = getAddress(key ?? agent.key);
    const names = this.ctx.names ?? {};
    const name = names[lower(address)] ?? agent.keys.map((k) => names[lower(k)]).find((n) => n !== undefined);
    return name ? { address, name } : { address };
  }

  meta(asset: string): AssetMeta | undefined {
    if (asset === ZeroAddress) return { symbol: "ETH", decimals: 18 };
    return this.ctx.assets?.[lower(asset)];
  }

  /** An amount in human units with its symbol, or base units when the token is unknown. */
  amount(asset: string, amount: bigint | string): string {
    const m = this.meta(asset);
    const value = BigInt(amount);
    if (!m) return `${value} base units of ${asset}`;
    const text = formatUnits(value, m.decimals);
    return `${text.endsWith(".0") ? text.slice(0, -2) : text} ${m.symbol}`;
  }

  /** An intent in words, with the recipient, asset and amount of a payment. */
  describe(intent: Intent): { summary: string; recipient?: string; asset?: string; amount?: bigint } {
    if (dataLength(intent.data) === 0) {
      const summary = `pay ${this.amount(ZeroAddress, intent.value)} to ${intent.target}`;
      return { summary, recipient: intent.target, asset: ZeroAddress, amount: intent.value };
    }
    if (isTransfer(intent)) {
      const [to, amount] = transferInterface.decodeFunctionData("transfer", intent.data);
      const summary = `pay ${this.amount(intent.target, amount as bigint)} to ${String(to)}`;
      return { summary, recipient: getAddress(String(to)), asset: intent.target, amount: amount as bigint };
    }
    const selector = dataLength(intent.data) >= 4 ? dataSlice(intent.data, 0, 4) : intent.data;
    return {
      summary: `call ${selector} on ${intent.target}${intent.value > 0n ? ` with ${this.amount(ZeroAddress, intent.value)}` : ""}`,
    };
  }

  /** Who acted, in words: the module itself, this watchtower, the Safe, a guardian or an address. */
  who(address: string): string {
    const a = lower(address);
    if (a === lower(this.ctx.module)) return "the module itself (strike limit reached)";
    if (this.ctx.self && a === lower(this.ctx.self)) return `this watchtower's guardian ${getAddress(address)}`;
    if (this.ctx.safe && a === lower(this.ctx.safe)) return `the Safe (owners) ${getAddress(address)}`;
    if (this.state.guardians.includes(a)) return `guardian ${getAddress(address)}`;
    return getAddress(address);
  }

  /** Forgets an agent's queued intents (all of them, or those of one key). */
  dropQueued(agent: AgentState, key?: string): void {
    for (const [id, q] of Object.entries(this.state.queued)) {
      if (q.identity !== lower(agent.identity)) continue;
      if (key && lower(q.key) !== lower(key)) continue;
      delete this.state.queued[id];
    }
  }
}
