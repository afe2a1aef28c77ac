/**
 * The rule engine: reads confirmed blocks' events in order, updates the statistics ({@link MonitorState}) and
 * reports what the policy's rules ask for. It is deterministic: the same state and the same block give the same
 * alerts with the same ids, which is what lets a restarted watchtower skip what it already delivered. It never
 * touches the chain; the watchtower resolves token decimals before each block and acts on the alerts.
 *
 * What each rule looks at is documented in README-MONITOR.md; the comments here say why.
 */
import { Interface, ZeroAddress, dataLength, dataSlice, formatUnits, getAddress } from "ethers";
import type { Intent } from "../sdk/eip712";
import { splitNonce } from "../sdk/eip712";
import { isCanonicalTransfer } from "../sdk/chain";
import { Alert, AlertDetail, alertId, ALERT_VERSION } from "./alerts";
import type { AgentConfigValue, AssetLimitValue, ChainEvent } from "./events";
import type { BlockBatch } from "./follower";
import type { RuleConfig, RuleKind, RuleOf, Severity } from "../core/monitorSchema";
import { AgentState, MonitorState, emptyState, newAgent } from "./stats";
import type { JournalEntry, SignedEntry } from "../sdk/journal";
import { AgentConfigField, RECIPIENT_MODE_NAMES, agentConfigChanges, assetLimitChange, isNoLimit, treasuryLimitLoosens } from "../core/loosening";

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

export interface ProcessOptions {
  /** false during warm-up: learn the history, report nothing. */
  emit: boolean;
  /** The newest block read when processing (goes into alerts). */
  detectedAtBlock?: number;
}

const DAY = 86_400;
const transferInterface = new Interface(["function transfer(address,uint256)"]);

const DEFAULT_SEVERITY: Record<RuleKind, Severity> = {
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
};

const lower = (a: string) => a.toLowerCase();

function pushUnique(list: string[], value: string): boolean {
  if (list.includes(value)) return false;
  list.push(value);
  return true;
}

/** Keeps entries whose time is after `since`. */
function prune<T>(list: T[], time: (t: T) => number, since: number): T[] {
  const i = list.findIndex((t) => time(t) > since);
  return i === -1 ? [] : i === 0 ? list : list.slice(i);
}

interface Change {
  what: string;
  before: string;
  after: string;
  loosens: boolean;
}

type Emit = (a: Omit<Alert, "v" | "type" | "chainId" | "module" | "detectedAtBlock" | "detectedAt" | "severity" | "action"> & {
  severity?: Severity;
}) => void;

export class RuleEngine {
  state: MonitorState;
  private readonly rules: RuleConfig[];
  private readonly filters = new Map<string, Set<string>>();
  private ctx: EngineContext;

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

  /** Updates names and token metadata (the watchtower resolves tokens before each block). */
  setContext(ctx: Partial<EngineContext>): void {
    this.ctx = { ...this.ctx, ...ctx, assets: { ...(this.ctx.assets ?? {}), ...(ctx.assets ?? {}) } };
  }

  /** Token addresses in `batch` whose decimals the engine does not know yet. */
  assetsNeeded(batch: BlockBatch): string[] {
    const out = new Set<string>();
    const known = this.ctx.assets ?? {};
    const add = (a: string | undefined) => {
      if (a && a !== ZeroAddress && !known[lower(a)]) out.add(getAddress(a));
    };
    for (const e of batch.events) {
      if (e.kind === "IntentExecuted" || e.kind === "AssetLimitSet" || e.kind === "TreasuryLimitSet") add(e.asset);
      if (e.kind === "IntentQueued" && isTransfer(e.intent)) add(e.intent.target);
      if ((e.kind === "IntentDenied" || e.kind === "IntentExecuted") && e.intent && isTransfer(e.intent)) add(e.intent.target);
    }
    return [...out];
  }

  /** Reads one block: updates the statistics and returns the alerts its events and its time trigger. */
  process(batch: BlockBatch, options: ProcessOptions): Alert[] {
    const alerts: Alert[] = [];
    const detectedAtBlock = options.detectedAtBlock ?? batch.number;
    const emit: Emit = (a) => {
      if (!options.emit) return;
      const rule = this.rules.find((r) => r.id === a.rule)!;
      alerts.push({
        v: ALERT_VERSION,
        type: "alert",
        chainId: this.ctx.chainId,
        module: this.ctx.module,
        detectedAtBlock,
        detectedAt: new Date().toISOString(),
        action: rule.action,
        ...a,
        severity: rule.severity ?? a.severity ?? DEFAULT_SEVERITY[rule.rule],
      });
    };
    for (const event of batch.events) this.apply(event, emit);
    this.tick(batch, emit);
    this.state.lastBlock = batch.number;
    this.state.lastTime = batch.timestamp;
    return alerts;
  }

  // ------------------------------------------------------------------------------------------- helpers

  private rulesOf<K extends RuleKind>(kind: K, agent?: AgentState): RuleOf<K>[] {
    return this.rules.filter((r): r is RuleOf<K> => {
      if (r.rule !== kind) return false;
      if (!agent) return true;
      const filter = this.filters.get(r.id!);
      return !filter || agent.keys.some((k) => filter.has(lower(k)));
    });
  }

  /** True (and starts the cooldown) when the rule may fire for `subject` at `time`. */
  private cool(rule: RuleConfig, subject: string, time: number, cooldown = rule.cooldown ?? 0): boolean {
    const key = `${rule.id}|${subject}`;
    const last = this.state.cooldowns[key];
    if (last !== undefined && time - last < cooldown) return false;
    this.state.cooldowns[key] = time;
    return true;
  }

  private agentOf(key: string, time: number): AgentState {
    const k = lower(key);
    const identity = this.state.keys[k];
    if (identity) return this.state.agents[identity];
    // An agent seen before its AgentSet (the watchtower started without history): track it from now on.
    const agent = newAgent(getAddress(key), time);
    this.state.agents[k] = agent;
    this.state.keys[k] = k;
    return agent;
  }

  private subject(agent: AgentState, key?: string): { address: string; name?: string } {
    const address = getAddress(key ?? agent.key);
    const names = this.ctx.names ?? {};
    const name = names[lower(address)] ?? agent.keys.map((k) => names[lower(k)]).find((n) => n !== undefined);
    return name ? { address, name } : { address };
  }

  private meta(asset: string): AssetMeta | undefined {
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

  private describe(intent: Intent): { summary: string; recipient?: string; asset?: string; amount?: bigint } {
    if (dataLength(intent.data) === 0) {
      return { summary: `pay ${this.amount(ZeroAddress, intent.value)} to ${intent.target}`, recipient: intent.target, asset: ZeroAddress, amount: intent.value };
    }
    if (isTransfer(intent)) {
      const [to, amount] = transferInterface.decodeFunctionData("transfer", intent.data);
      return { summary: `pay ${this.amount(intent.target, amount as bigint)} to ${String(to)}`, recipient: getAddress(String(to)), asset: intent.target, amount: amount as bigint };
    }
    const selector = dataLength(intent.data) >= 4 ? dataSlice(intent.data, 0, 4) : intent.data;
    return { summary: `call ${selector} on ${intent.target}${intent.value > 0n ? ` with ${this.amount(ZeroAddress, intent.value)}` : ""}` };
  }

  private who(address: string): string {
    const a = lower(address);
    if (a === lower(this.ctx.module)) return "the module itself (strike limit reached)";
    if (this.ctx.self && a === lower(this.ctx.self)) return `this watchtower's guardian ${getAddress(address)}`;
    if (this.ctx.safe && a === lower(this.ctx.safe)) return `the Safe (owners) ${getAddress(address)}`;
    if (this.state.guardians.includes(a)) return `guardian ${getAddress(address)}`;
    return getAddress(address);
  }

  // ------------------------------------------------------------------------------------------- events

  private apply(e: ChainEvent, emit: Emit): void {
    const at = { block: e.block, blockHash: e.blockHash, blockTime: e.timestamp, txHash: e.txHash, logIndex: e.logIndex };
    switch (e.kind) {
      case "IntentExecuted": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.lastSeen = e.timestamp;
        agent.counts.executed++;
        if (e.escalated) delete this.state.queued[e.intentId];
        else {
          this.activity(agent, e, emit, at);
          if (e.intent) this.lane(agent, e.intent, e, emit, at);
        }
        const isCall = e.intent !== undefined && dataLength(e.intent.data) > 0 && !isTransfer(e.intent);
        if (!isCall && (e.asset !== ZeroAddress || e.amount > 0n)) {
          this.recipient(agent, e.to, `paid ${this.amount(e.asset, e.amount)}`, e.intentId, emit, at, false);
        }
        if (e.amount > 0n) this.spend(agent, e.asset, e.amount, e.timestamp, e.intentId, emit, at);
        return;
      }
      case "IntentQueued": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.lastSeen = e.timestamp;
        agent.counts.queued++;
        const d = this.describe(e.intent);
        this.state.queued[e.intentId] = {
          identity: lower(agent.identity),
          key: e.agent,
          eta: e.eta,
          gracePeriod: agent.config?.gracePeriod ?? DAY,
          approvals: [],
          summary: d.summary,
          alerted: [],
        };
        this.activity(agent, e, emit, at);
        this.lane(agent, e.intent, e, emit, at);
        if (d.recipient) this.recipient(agent, d.recipient, `queued: ${d.summary}`, e.intentId, emit, at, true);
        return;
      }
      case "IntentDenied": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.lastSeen = e.timestamp;
        agent.counts.denied++;
        agent.denials.push(e.timestamp);
        this.activity(agent, e, emit, at);
        if (e.intent) this.lane(agent, e.intent, e, emit, at);
        const what = e.intent ? this.describe(e.intent).summary : "an intent (calldata not decoded)";
        for (const rule of this.rulesOf("denied-intent", agent)) {
          if (rule.reasons && !rule.reasons.includes(e.reason as never)) continue;
          if (!this.cool(rule, `${agent.identity}|${e.intentId}`, e.timestamp)) continue;
          emit({
            ...at,
            id: alertId(rule.id!, e.txHash, e.logIndex),
            rule: rule.id!,
            kind: "denied-intent",
            agent: this.subject(agent, e.agent),
            intentId: e.intentId,
            message: `intent denied (${e.reason}): ${what}`,
            advice: "check why the agent asks for something its policy forbids; freeze it if it was not expected",
            details: { reason: e.reason, intent: what, rationale: e.rationale },
          });
        }
        for (const rule of this.rulesOf("strikes", agent)) {
          const window = rule.window ?? agent.config?.strikeWindow ?? DAY;
          const recent = agent.denials.filter((t) => t > e.timestamp - window).length;
          if (recent < rule.atLeast) continue;
          if (!this.cool(rule, agent.identity, e.timestamp)) continue;
          const max = agent.config?.maxStrikes ?? 0;
          emit({
            ...at,
            id: alertId(rule.id!, e.txHash, e.logIndex),
            rule: rule.id!,
            kind: "strikes",
            agent: this.subject(agent, e.agent),
            intentId: e.intentId,
            message:
              `${recent} denied intents within ${window}s` +
              (max > 0 ? ` (the module freezes it at ${max} within its strike window)` : " (no on-chain strike limit)") +
              `: latest ${e.reason}`,
            advice: "an agent probing its fence is likely compromised or prompt-injected: freeze it and read its journal",
            details: { strikes: recent, maxStrikes: max, windowSeconds: window, reason: e.reason },
          });
        }
        return;
      }
      case "IntentApproved": {
        const q = this.state.queued[e.intentId];
        if (q && this.state.cosigners.includes(lower(e.cosigner))) pushUnique(q.approvals, lower(e.cosigner));
        return;
      }
      case "IntentCancelled": {
        const q = this.state.queued[e.intentId];
        if (q) {
          const agent = this.state.agents[q.identity];
          if (agent) agent.counts.cancelled++;
          delete this.state.queued[e.intentId];
        }
        return;
      }
      case "IdempotentReplay": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.counts.replays++;
        agent.replays.push(e.timestamp);
        for (const rule of this.rulesOf("idempotent-replay", agent)) {
          const recent = agent.replays.filter((t) => t > e.timestamp - rule.period).length;
          if (recent <= rule.maxReplays) continue;
          if (!this.cool(rule, agent.identity, e.timestamp, rule.cooldown ?? (rule.maxReplays > 0 ? rule.period : 0))) continue;
          emit({
            ...at,
            id: alertId(rule.id!, e.txHash, e.logIndex),
            rule: rule.id!,
            kind: "idempotent-replay",
            agent: this.subject(agent, e.agent),
            intentId: e.intentId,
            message: `idempotent replay of ${e.intentId} (key ${e.idempotencyKey}): nothing new happened; ${recent} replay(s) within ${rule.period}s`,
            advice: "a retry after a crash is normal; many replays mean a client stuck in a loop or someone replaying signed intents",
            details: { idempotencyKey: e.idempotencyKey, replaysInPeriod: recent, periodSeconds: rule.period },
          });
        }
        return;
      }
      case "AgentFrozen": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.frozen = true;
        this.emergency(emit, at, `agent frozen by ${this.who(e.by)} (reason "${e.reason}")`, agent, e.agent, "critical", {
          by: e.by,
          reason: e.reason,
        });
        return;
      }
      case "AgentUnfrozen": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.frozen = false;
        agent.denials = []; // unfreezing clears the module's strikes
        this.emergency(emit, at, `agent unfrozen by ${this.who(e.by)}; its strikes are cleared`, agent, e.agent, "warning", { by: e.by });
        return;
      }
      case "Paused":
        this.state.paused = true;
        this.emergency(emit, at, `module paused by ${this.who(e.by)}: no submit, propose or executeQueued until the Safe unpauses`, undefined, undefined, "critical", { by: e.by });
        return;
      case "Unpaused":
        this.state.paused = false;
        this.emergency(emit, at, `module unpaused by ${this.who(e.by)}`, undefined, undefined, "warning", { by: e.by });
        return;
      case "ModuleInitialized":
        return;
      case "AgentSet": {
        const k = lower(e.agent);
        const known = this.state.keys[k] !== undefined;
        const agent = this.agentOf(e.agent, e.timestamp);
        const changes = known && agent.config ? configChanges(agent.config, e.config) : [{ what: "agent", before: "none", after: "registered", loosens: true }];
        if (known && agent.removed) changes.unshift({ what: "agent", before: "removed", after: "re-added", loosens: true });
        agent.config = e.config;
        agent.removed = false;
        this.config(emit, at, `agent ${getAddress(e.agent)} set`, changes, agent, e.agent);
        return;
      }
      case "AgentRemoved": {
        const agent = this.agentOf(e.agent, e.timestamp);
        agent.removed = true;
        this.dropQueued(agent);
        this.config(emit, at, `agent ${getAddress(e.agent)} removed`, [{ what: "agent", before: "active", after: "removed", loosens: false }], agent, e.agent);
        return;
      }
      case "AgentRotated": {
        const agent = this.agentOf(e.oldKey, e.timestamp);
        agent.key = e.newKey;
        pushUnique(agent.keys, e.newKey);
        this.state.keys[lower(e.newKey)] = lower(agent.identity);
        this.dropQueued(agent, e.oldKey);
        this.config(emit, at, `agent key rotated from ${e.oldKey} to ${e.newKey}`, [{ what: "key", before: e.oldKey, after: e.newKey, loosens: false }], agent, e.newKey);
        return;
      }
      case "AssetLimitSet": {
        const agent = this.agentOf(e.agent, e.timestamp);
        const prev = agent.limits[e.asset];
        const changes = limitChanges(prev, e.limit, (v) => this.amount(e.asset, v));
        if (isZeroLimit(e.limit)) delete agent.limits[e.asset];
        else {
          agent.limits[e.asset] = {
            autoPerTx: e.limit.autoPerTx.toString(),
            autoPerWindow: e.limit.autoPerWindow.toString(),
            window: e.limit.window,
            escalatedPerTx: e.limit.escalatedPerTx.toString(),
          };
        }
        this.config(emit, at, `limits of ${this.meta(e.asset)?.symbol ?? e.asset} changed`, changes, agent, e.agent);
        return;
      }
      case "AllowedCallSet": {
        const agent = this.agentOf(e.agent, e.timestamp);
        const key = `${lower(e.target)}:${e.selector}`;
        const had = agent.allowedCalls.includes(key);
        if (e.allowed) pushUnique(agent.allowedCalls, key);
        else agent.allowedCalls = agent.allowedCalls.filter((c) => c !== key);
        if (had === e.allowed) return;
        this.config(
          emit,
          at,
          `call ${e.selector} on ${e.target} ${e.allowed ? "allowed" : "forbidden"}`,
          [{ what: `call ${e.selector} on ${e.target}`, before: had ? "allowed" : "forbidden", after: e.allowed ? "allowed" : "forbidden", loosens: e.allowed }],
          agent,
          e.agent,
        );
        return;
      }
      case "RecipientSet": {
        const agent = this.agentOf(e.agent, e.timestamp);
        const r = lower(e.recipient);
        const had = agent.allowlist.includes(r);
        if (e.allowed) pushUnique(agent.allowlist, r);
        else agent.allowlist = agent.allowlist.filter((x) => x !== r);
        if (had === e.allowed) return;
        this.config(
          emit,
          at,
          `recipient ${e.recipient} ${e.allowed ? "added to" : "removed from"} the allowlist`,
          [{ what: `recipient ${e.recipient}`, before: had ? "allowed" : "unknown", after: e.allowed ? "allowed" : "unknown", loosens: e.allowed }],
          agent,
          e.agent,
        );
        return;
      }
      case "CosignersSet": {
        const before = this.state.cosigners;
        const after = e.members.map(lower);
        const changes: Change[] = [];
        if (before.length > 0 || this.state.threshold > 0) {
          if (e.threshold !== this.state.threshold) {
            changes.push({ what: "co-signer threshold", before: String(this.state.threshold), after: String(e.threshold), loosens: e.threshold < this.state.threshold });
          }
          for (const m of after.filter((m) => !before.includes(m))) changes.push({ what: `co-signer ${getAddress(m)}`, before: "absent", after: "added", loosens: true });
          for (const m of before.filter((m) => !after.includes(m))) changes.push({ what: `co-signer ${getAddress(m)}`, before: "member", after: "removed", loosens: false });
        } else {
          changes.push({ what: "co-signers", before: "none", after: `${e.threshold} of ${after.length}`, loosens: false });
        }
        // Removed members' approvals stop counting at once, and stay void if they come back.
        for (const q of Object.values(this.state.queued)) q.approvals = q.approvals.filter((a) => after.includes(a));
        this.state.cosigners = after;
        this.state.threshold = e.threshold;
        this.config(emit, at, "co-signer set changed", changes);
        return;
      }
      case "GuardianSet": {
        const g = lower(e.guardian);
        const had = this.state.guardians.includes(g);
        if (e.enabled) pushUnique(this.state.guardians, g);
        else this.state.guardians = this.state.guardians.filter((x) => x !== g);
        if (had === e.enabled) return;
        this.config(emit, at, `guardian ${e.guardian} ${e.enabled ? "enabled" : "disabled"}`, [
          { what: `guardian ${e.guardian}`, before: had ? "enabled" : "absent", after: e.enabled ? "enabled" : "disabled", loosens: !e.enabled },
        ]);
        return;
      }
      case "TreasuryLimitSet": {
        const prev = this.state.treasuryLimits[e.asset];
        const show = (v: string | bigint) => this.amount(e.asset, v);
        const changes: Change[] = [];
        if (e.perWindow === 0n) {
          if (prev) changes.push({ what: "treasury limit", before: `${show(prev.perWindow)} per ${prev.window}s`, after: "none", loosens: treasuryLimitLoosens(prev, undefined) });
          delete this.state.treasuryLimits[e.asset];
        } else {
          if (!prev) changes.push({ what: "treasury limit", before: "none", after: `${show(e.perWindow)} per ${e.window}s`, loosens: false });
          else {
            if (e.perWindow !== BigInt(prev.perWindow)) {
              changes.push({ what: "treasury perWindow", before: show(prev.perWindow), after: show(e.perWindow), loosens: treasuryLimitLoosens(prev, { perWindow: e.perWindow, window: prev.window }) });
            }
            if (e.window !== prev.window) {
              changes.push({ what: "treasury window", before: `${prev.window}s`, after: `${e.window}s`, loosens: treasuryLimitLoosens(prev, { perWindow: prev.perWindow, window: e.window }) });
            }
          }
          this.state.treasuryLimits[e.asset] = { perWindow: e.perWindow.toString(), window: e.window };
        }
        this.config(emit, at, `treasury-wide limit of ${this.meta(e.asset)?.symbol ?? e.asset} changed`, changes);
        return;
      }
      case "SafeEnabledModule": {
        pushUnique(this.state.safe.modules, lower(e.module));
        if (lower(e.module) === lower(this.ctx.module)) return; // this module's own enabling
        this.config(emit, at, `the Safe enabled another module ${e.module}`, [
          { what: `Safe module ${e.module}`, before: "disabled", after: "enabled", loosens: true },
        ]);
        return;
      }
      case "SafeDisabledModule":
        this.state.safe.modules = this.state.safe.modules.filter((m) => m !== lower(e.module));
        this.config(emit, at, `the Safe disabled module ${e.module}${lower(e.module) === lower(this.ctx.module) ? " (this module: agents can no longer act)" : ""}`, [
          { what: `Safe module ${e.module}`, before: "enabled", after: "disabled", loosens: false },
        ]);
        return;
      case "SafeAddedOwner":
        this.config(emit, at, `the Safe added owner ${e.owner}`, [{ what: `Safe owner ${e.owner}`, before: "absent", after: "owner", loosens: true }]);
        return;
      case "SafeRemovedOwner":
        this.config(emit, at, `the Safe removed owner ${e.owner}`, [{ what: `Safe owner ${e.owner}`, before: "owner", after: "removed", loosens: false }]);
        return;
      case "SafeChangedThreshold": {
        const previous = e.previous ?? this.state.safe.threshold;
        this.state.safe.threshold = e.threshold;
        this.config(emit, at, `the Safe's threshold changed to ${e.threshold}`, [
          { what: "Safe threshold", before: previous === undefined ? "unknown" : String(previous), after: String(e.threshold), loosens: previous === undefined || e.threshold < previous },
        ]);
        return;
      }
      case "SafeChangedGuard": {
        const removed = e.guard === ZeroAddress;
        this.config(emit, at, `the Safe's ${e.moduleGuard ? "module guard" : "guard"} ${removed ? "was removed" : `is now ${e.guard}`}`, [
          { what: e.moduleGuard ? "Safe module guard" : "Safe guard", before: "previous", after: removed ? "none" : e.guard, loosens: removed },
        ]);
        return;
      }
      case "SubmissionReverted": {
        const agent = e.agent ? this.agentOf(e.agent, e.timestamp) : undefined;
        if (agent) agent.counts.reverted++;
        if (e.errorName === "IdempotencyKeyConflict") {
          for (const rule of this.rulesOf("idempotency-conflict", agent)) {
            emit({
              ...at,
              id: alertId(rule.id!, e.txHash, "reverted"),
              rule: rule.id!,
              kind: "idempotency-conflict",
              agent: agent ? this.subject(agent, e.agent) : undefined,
              intentId: e.intentId,
              message: `a ${e.function} reverted with IdempotencyKeyConflict: key ${e.errorArgs.key ?? e.idempotencyKey} is bound to another payload (original ${e.errorArgs.originalIntentId ?? "?"})`,
              advice: "the same key was signed for two different payments: check the agent's journal and the original intent",
              details: { from: e.from, function: e.function, ...e.errorArgs },
            });
          }
          return;
        }
        for (const rule of this.rulesOf("rejected-submission", agent)) {
          if (rule.errors && !rule.errors.includes(e.errorName)) continue;
          emit({
            ...at,
            id: alertId(rule.id!, e.txHash, "reverted"),
            rule: rule.id!,
            kind: "rejected-submission",
            agent: agent ? this.subject(agent, e.agent) : undefined,
            intentId: e.intentId,
            message: `a ${e.function} from ${e.from} reverted on-chain with ${e.errorName}`,
            advice:
              e.errorName === "IntentSignatureInvalid"
                ? "someone relays intents the agent did not sign: check who holds or imitates the agent's key"
                : e.errorName === "AgentIsFrozen"
                  ? "a frozen agent is still trying: its key or its operator is still active"
                  : "read the error's arguments; repeated rejections mean a broken or hostile client",
            severity: e.errorName === "IntentSignatureInvalid" || e.errorName === "AgentIsFrozen" ? "critical" : undefined,
            details: { from: e.from, function: e.function, error: e.errorName, ...e.errorArgs },
          });
        }
        return;
      }
    }
  }

  private dropQueued(agent: AgentState, key?: string): void {
    for (const [id, q] of Object.entries(this.state.queued)) {
      if (q.identity !== lower(agent.identity)) continue;
      if (key && lower(q.key) !== lower(key)) continue;
      delete this.state.queued[id];
    }
  }

  private emergency(
    emit: Emit,
    at: Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">,
    message: string,
    agent: AgentState | undefined,
    key: string | undefined,
    severity: Severity,
    details: Record<string, AlertDetail>,
  ): void {
    for (const rule of this.rulesOf("emergency")) {
      emit({
        ...at,
        id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
        rule: rule.id!,
        kind: "emergency",
        agent: agent ? this.subject(agent, key) : undefined,
        message,
        severity,
        advice: severity === "critical" ? "confirm who acted and why; only the Safe's owners can undo it" : undefined,
        details,
      });
    }
  }

  private config(
    emit: Emit,
    at: Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">,
    title: string,
    changes: Change[],
    agent?: AgentState,
    key?: string,
  ): void {
    if (changes.length === 0) return;
    const loosened = changes.filter((c) => c.loosens);
    for (const rule of this.rulesOf("config-loosened")) {
      if (loosened.length === 0 && !rule.includeTightening) continue;
      const shown = loosened.length > 0 ? loosened : changes;
      emit({
        ...at,
        id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
        rule: rule.id!,
        kind: "config-loosened",
        agent: agent ? this.subject(agent, key) : undefined,
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

  /** Counts an intent and applies the burst rule. */
  private activity(agent: AgentState, e: ChainEvent, emit: Emit, at: Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">): void {
    agent.activity.push(e.timestamp);
    for (const rule of this.rulesOf("intent-burst", agent)) {
      const recent = agent.activity.filter((t) => t > e.timestamp - rule.period).length;
      if (recent <= rule.maxIntents) continue;
      if (!this.cool(rule, agent.identity, e.timestamp, rule.cooldown ?? rule.period)) continue;
      emit({
        ...at,
        id: alertId(rule.id!, e.txHash, e.logIndex),
        rule: rule.id!,
        kind: "intent-burst",
        agent: this.subject(agent, "agent" in e ? (e as { agent: string }).agent : undefined),
        intentId: "intentId" in e ? (e as { intentId: string }).intentId : undefined,
        message: `${recent} intents within ${rule.period}s (rule allows ${rule.maxIntents})`,
        advice: "a burst is how a hijacked agent drains its window: check its journal and freeze it if unexpected",
        details: { intents: recent, maxIntents: rule.maxIntents, periodSeconds: rule.period },
      });
    }
  }

  /** Records the nonce lane of an intent and applies the lane rules. */
  private lane(agent: AgentState, intent: Intent, e: ChainEvent, emit: Emit, at: Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">): void {
    const lane = splitNonce(intent.nonce).lane.toString();
    const known = agent.lanes[lane] !== undefined;
    const hadHistory = Object.keys(agent.lanes).length > 0;
    agent.lanes[lane] = e.timestamp;
    agent.laneUses.push([e.timestamp, lane]);
    for (const rule of this.rulesOf("nonce-lane", agent)) {
      const distinct = new Set(agent.laneUses.filter(([t]) => t > e.timestamp - rule.period).map(([, l]) => l));
      const tooMany = distinct.size > rule.maxLanes;
      const fresh = !known && hadHistory && rule.alertOnNewLane;
      if (!tooMany && !fresh) continue;
      if (tooMany && !fresh && !this.cool(rule, agent.identity, e.timestamp, rule.cooldown ?? rule.period)) continue;
      emit({
        ...at,
        id: alertId(rule.id!, e.txHash, e.logIndex),
        rule: rule.id!,
        kind: "nonce-lane",
        agent: this.subject(agent, intent.agent),
        intentId: "intentId" in e ? (e as { intentId: string }).intentId : undefined,
        message:
          (fresh ? `first use of nonce lane ${shortLane(lane)}` : `nonce lane ${shortLane(lane)}`) +
          (tooMany ? `; ${distinct.size} lanes within ${rule.period}s (rule allows ${rule.maxLanes})` : ""),
        advice: "lanes are the agent's parallel workflows: a new one means new behaviour; many mean intents spread to avoid one stuck lane",
        details: { lane, sequence: splitNonce(intent.nonce).sequence.toString(), lanesInPeriod: distinct.size, knownLanes: Object.keys(agent.lanes).length },
      });
    }
  }

  private recipient(
    agent: AgentState,
    recipient: string,
    what: string,
    intentId: string,
    emit: Emit,
    at: Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">,
    queued: boolean,
  ): void {
    const r = lower(recipient);
    const known = agent.recipients.includes(r) || agent.allowlist.includes(r);
    if (!queued) pushUnique(agent.recipients, r);
    if (known || agent.flaggedRecipients.includes(r)) return;
    let fired = false;
    for (const rule of this.rulesOf("new-recipient", agent)) {
      if (queued && !rule.includeQueued) continue;
      fired = true;
      emit({
        ...at,
        id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
        rule: rule.id!,
        kind: "new-recipient",
        agent: this.subject(agent),
        intentId,
        message: `new recipient ${getAddress(recipient)}: ${what}`,
        advice: "confirm the recipient with the invoice or payroll it belongs to; a redirected payment is a classic injection",
        details: { recipient: getAddress(recipient), queued, knownRecipients: agent.recipients.length },
      });
    }
    if (fired) agent.flaggedRecipients.push(r);
  }

  private spend(agent: AgentState, asset: string, amount: bigint, time: number, intentId: string, emit: Emit, at: Pick<Alert, "block" | "blockHash" | "blockTime" | "txHash" | "logIndex">): void {
    agent.spent[asset] = (BigInt(agent.spent[asset] ?? "0") + amount).toString();
    const entries = (agent.spend[asset] ??= []);
    entries.push([time, amount.toString()]);
    const sum = (from: number, to: number) => entries.filter(([t]) => t > from && t <= to).reduce((s, [, a]) => s + BigInt(a), 0n);
    for (const rule of this.rulesOf("spend-rate", agent)) {
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
      if (!this.cool(rule, `${agent.identity}|${lower(asset)}`, time, rule.cooldown ?? rule.period)) continue;
      const ratio = perPeriod > 0n ? `${(Number((current * 100n) / perPeriod) / 100).toFixed(1)}x its baseline of ${this.amount(asset, perPeriod)}` : "with no spend in its baseline";
      emit({
        ...at,
        id: alertId(rule.id!, at.txHash ?? "", at.logIndex ?? 0),
        rule: rule.id!,
        kind: "spend-rate",
        agent: this.subject(agent),
        intentId,
        message: `spent ${this.amount(asset, current)} in the last ${rule.period}s, ${ratio} per period` + (cap > 0n ? ` (window cap ${this.amount(asset, cap)})` : ""),
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

  /** Time-driven checks at the end of each block, and pruning. */
  private tick(batch: BlockBatch, emit: Emit): void {
    const now = batch.timestamp;
    for (const [id, q] of Object.entries(this.state.queued)) {
      if (now >= q.eta + q.gracePeriod) {
        delete this.state.queued[id]; // expired
        continue;
      }
      const agent = this.state.agents[q.identity];
      for (const rule of this.rulesOf("queued-near-eta", agent)) {
        if (q.alerted.includes(rule.id!)) continue;
        if (now < q.eta - rule.within) continue;
        const approvals = q.approvals.filter((a) => this.state.cosigners.includes(a)).length;
        if (approvals >= this.state.threshold) continue;
        q.alerted.push(rule.id!);
        const eta = new Date(q.eta * 1000).toISOString();
        emit({
          block: batch.number,
          blockHash: batch.hash,
          blockTime: now,
          id: alertId(rule.id!, id),
          rule: rule.id!,
          kind: "queued-near-eta",
          agent: agent ? this.subject(agent, q.key) : undefined,
          intentId: id,
          message:
            `queued intent (${q.summary}) ${now >= q.eta ? "reached" : "is close to"} its eta ${eta} with ${approvals} of ${this.state.threshold} on-chain approvals`,
          advice: "co-signers: review and approve (or cancel) it before it expires",
          details: { eta: q.eta, expiresAt: q.eta + q.gracePeriod, approvals, threshold: this.state.threshold },
        });
      }
    }
    this.prune(now);
  }

  private prune(now: number): void {
    const keep = (kind: RuleKind, fallback: number, f: (r: RuleConfig) => number) =>
      Math.max(fallback, ...this.rules.filter((r) => r.rule === kind).map(f));
    const spendKeep = keep("spend-rate", DAY, (r) => (r.rule === "spend-rate" ? r.period + r.baseline : 0));
    const burstKeep = keep("intent-burst", 0, (r) => (r.rule === "intent-burst" ? r.period : 0));
    const laneKeep = keep("nonce-lane", 0, (r) => (r.rule === "nonce-lane" ? r.period : 0));
    const replayKeep = keep("idempotent-replay", 0, (r) => (r.rule === "idempotent-replay" ? r.period : 0));
    const strikeRuleKeep = keep("strikes", 0, (r) => (r.rule === "strikes" ? (r.window ?? 0) : 0));
    for (const agent of Object.values(this.state.agents)) {
      for (const asset of Object.keys(agent.spend)) agent.spend[asset] = prune(agent.spend[asset], ([t]) => t, now - spendKeep);
      agent.activity = prune(agent.activity, (t) => t, now - burstKeep);
      agent.laneUses = prune(agent.laneUses, ([t]) => t, now - laneKeep);
      agent.replays = prune(agent.replays, (t) => t, now - replayKeep);
      agent.denials = prune(agent.denials, (t) => t, now - Math.max(strikeRuleKeep, agent.config?.strikeWindow ?? DAY));
    }
    for (const [key, time] of Object.entries(this.state.cooldowns)) if (now - time > 30 * DAY) delete this.state.cooldowns[key];
  }

  // ------------------------------------------------------------------------------------------- journal

  /**
   * Idempotency conflicts seen by an agent's client (they revert before reaching the chain, so only the client's
   * journal knows): a "closed" entry with code IDEMPOTENCY_CONFLICT, or two signed intents under one key with
   * different payloads. `entries` are the journal's entries from index `from` on; `all` the whole journal.
   */
  journalAlerts(all: readonly JournalEntry[], from: number, now: { block: number; time: number }): Alert[] {
    const alerts: Alert[] = [];
    const rules = this.rulesOf("idempotency-conflict");
    if (rules.length === 0) return alerts;
    const signed = new Map<string, SignedEntry>();
    const firstByKey = new Map<string, SignedEntry>();
    all.forEach((entry, index) => {
      if (entry.t === "signed") {
        signed.set(lower(entry.intentId), entry);
        const key = lower(entry.intent.idempotencyKey);
        if (/^0x0{64}$/.test(key)) return;
        const k = `${lower(entry.module)}|${lower(entry.intent.agent)}|${key}`;
        const first = firstByKey.get(k);
        if (!first) {
          firstByKey.set(k, entry);
          return;
        }
        const same =
          lower(first.intent.target) === lower(entry.intent.target) &&
          first.intent.value === entry.intent.value &&
          lower(first.intent.data) === lower(entry.intent.data);
        if (same || index < from || lower(entry.module) !== lower(this.ctx.module)) return;
        for (const rule of this.journalRules(rules, entry.intent.agent)) {
          alerts.push(this.journalAlert(rule, entry, now, `the agent signed two different payloads under idempotency key ${key}: ${entry.intentId} and ${first.intentId}`, {
            key,
            original: first.intentId,
          }));
        }
      } else if (entry.t === "closed" && entry.code === "IDEMPOTENCY_CONFLICT" && index >= from) {
        const s = signed.get(lower(entry.intentId));
        if (!s || lower(s.module) !== lower(this.ctx.module)) return;
        for (const rule of this.journalRules(rules, s.intent.agent)) {
          alerts.push(this.journalAlert(rule, s, now, `the module rejected ${s.intentId}: idempotency key ${s.intent.idempotencyKey} is bound to another payload (${entry.message ?? "no message"})`, {
            key: s.intent.idempotencyKey,
          }));
        }
      }
    });
    return alerts;
  }

  private journalRules(rules: RuleOf<"idempotency-conflict">[], key: string) {
    const identity = this.state.keys[lower(key)];
    const agent = identity ? this.state.agents[identity] : undefined;
    return rules.filter((r) => {
      const filter = this.filters.get(r.id!);
      return !filter || (agent ? agent.keys.some((k) => filter.has(lower(k))) : filter.has(lower(key)));
    });
  }

  private journalAlert(rule: RuleConfig, s: SignedEntry, now: { block: number; time: number }, message: string, details: Record<string, AlertDetail>): Alert {
    const identity = this.state.keys[lower(s.intent.agent)];
    const agent = identity ? this.state.agents[identity] : undefined;
    return {
      v: ALERT_VERSION,
      type: "alert",
      id: alertId(rule.id!, "journal", s.intentId, message),
      rule: rule.id!,
      kind: "idempotency-conflict",
      severity: rule.severity ?? DEFAULT_SEVERITY["idempotency-conflict"],
      message,
      advice: "one key must always mean one payment: find out why the agent re-used it for a different payload",
      chainId: this.ctx.chainId,
      module: this.ctx.module,
      agent: agent ? this.subject(agent, s.intent.agent) : { address: getAddress(s.intent.agent) },
      intentId: s.intentId,
      block: now.block,
      blockTime: now.time,
      detectedAtBlock: now.block,
      detectedAt: new Date().toISOString(),
      action: rule.action,
      details: { source: "journal", ...details },
    };
  }
}

function shortLane(lane: string): string {
  return lane.length > 12 ? `${lane.slice(0, 6)}…${lane.slice(-4)}` : lane;
}

/** A canonical token transfer, as the module charges it; a non-canonical one is Denied `MalformedCall` (v3). */
export function isTransfer(intent: Intent): boolean {
  return isCanonicalTransfer(intent.data);
}

function isZeroLimit(l: AssetLimitValue): boolean {
  return isNoLimit(l);
}

/** What changed between two asset limits, and whether each change lets the agent move more (deploy/loosening.ts). */
export function limitChanges(prev: { autoPerTx: string; autoPerWindow: string; window: number; escalatedPerTx: string } | undefined, next: AssetLimitValue, show: (v: bigint) => string): Change[] {
  const change = assetLimitChange(prev, next);
  if (change.added) {
    return [{ what: "asset limit", before: "none (asset not allowed)", after: `${show(next.autoPerTx)}/tx, ${show(next.autoPerWindow)} per ${next.window}s, hard cap ${show(next.escalatedPerTx)}`, loosens: true }];
  }
  if (change.removed) return [{ what: "asset limit", before: "set", after: "removed (asset not allowed)", loosens: false }];
  return change.fields.map((c) => ({
    what: c.field,
    before: c.field === "window" ? `${c.before}s` : show(c.before),
    after: c.field === "window" ? `${c.after}s` : show(c.after),
    loosens: c.loosens,
  }));
}

/** What changed in an agent's configuration, and whether each change loosens it (deploy/loosening.ts). */
export function configChanges(prev: AgentConfigValue, next: AgentConfigValue): Change[] {
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
    recipientMode: (v) => RECIPIENT_MODE_NAMES[Number(v)] ?? String(v),
  };
  return agentConfigChanges(prev, next).map((c) => ({ what: c.field, before: show[c.field](c.before), after: show[c.field](c.after), loosens: c.loosens }));
}
