/**
 * The rule engine: reads confirmed blocks' events in order, updates the statistics ({@link MonitorState}) and
 * reports what the policy's rules ask for. It is deterministic: the same state and the same block give the same
 * alerts with the same ids, which is what lets a restarted watchtower skip what it already delivered. It never
 * touches the chain; the watchtower resolves token decimals before each block and acts on the alerts.
 *
 * Its parts: rules-core.ts (the shared state and lookups), rules-updates.ts (one state update per event kind, the
 * table the engine dispatches on), rules-checks.ts (one check per rule kind), rules-changes.ts (configuration
 * changes in words) and rules-journal.ts (conflicts only the agents' journals show). What each rule looks at is
 * documented in README-MONITOR.md.
 */
import { ZeroAddress, getAddress } from "ethers";
import type { JournalEntry } from "../sdk/journal";
import { ALERT_VERSION, Alert } from "./alerts";
import type { BlockBatch } from "./follower";
import type { RuleConfig } from "../core/monitorSchema";
import type { MonitorState } from "./stats";
import { checkQueuedNearEta } from "./rules-checks";
import { DEFAULT_SEVERITY, Emit, EngineContext, EngineCore, isTransfer, lower } from "./rules-core";
import { JournalClock, journalAlerts } from "./rules-journal";
import { applyEvent, pruneState } from "./rules-updates";

export { RuleConfigError, isTransfer } from "./rules-core";
export type { AssetMeta, EngineContext } from "./rules-core";
export { configChanges, limitChanges } from "./rules-changes";

export interface ProcessOptions {
  /** false during warm-up: learn the history, report nothing. */
  emit: boolean;
  /** The newest block read when processing (goes into alerts). */
  detectedAtBlock?: number;
}

export class RuleEngine {
  private readonly core: EngineCore;

  constructor(rules: readonly RuleConfig[], ctx: EngineContext, state?: MonitorState) {
    this.core = new EngineCore(rules, ctx, state);
  }

  /** The statistics: plain JSON, saved in the checkpoint and restored into a new engine. */
  get state(): MonitorState {
    return this.core.state;
  }

  set state(state: MonitorState) {
    this.core.state = state;
  }

  /** Updates names and token metadata (the watchtower resolves tokens before each block). */
  setContext(ctx: Partial<EngineContext>): void {
    const now = this.core.ctx;
    this.core.ctx = { ...now, ...ctx, assets: { ...(now.assets ?? {}), ...(ctx.assets ?? {}) } };
  }

  /** Token addresses in `batch` whose decimals the engine does not know yet. */
  assetsNeeded(batch: BlockBatch): string[] {
    const out = new Set<string>();
    const known = this.core.ctx.assets ?? {};
    const add = (a: string | undefined) => {
      if (a && a !== ZeroAddress && !known[lower(a)]) out.add(getAddress(a));
    };
    for (const e of batch.events) {
      if (e.kind === "IntentExecuted" || e.kind === "AssetLimitSet" || e.kind === "TreasuryLimitSet") add(e.asset);
      if (e.kind === "IntentQueued" && isTransfer(e.intent)) add(e.intent.target);
      if ((e.kind === "IntentDenied" || e.kind === "IntentExecuted") && e.intent && isTransfer(e.intent))
        add(e.intent.target);
    }
    return [...out];
  }

  /** Reads one block: updates the statistics and returns the alerts its events and its time trigger. */
  process(batch: BlockBatch, options: ProcessOptions): Alert[] {
    const alerts: Alert[] = [];
    const detectedAtBlock = options.detectedAtBlock ?? batch.number;
    const { ctx, rules } = this.core;
    const emit: Emit = (a) => {
      if (!options.emit) return;
      const rule = rules.find((r) => r.id === a.rule)!;
      alerts.push({
        v: ALERT_VERSION,
        type: "alert",
        chainId: ctx.chainId,
        module: ctx.module,
        detectedAtBlock,
        detectedAt: new Date().toISOString(),
        action: rule.action,
        ...a,
        severity: rule.severity ?? a.severity ?? DEFAULT_SEVERITY[rule.rule],
      });
    };
    for (const event of batch.events) applyEvent(this.core, event, emit);
    this.tick(batch, emit);
    this.core.state.lastBlock = batch.number;
    this.core.state.lastTime = batch.timestamp;
    return alerts;
  }

  /**
   * Idempotency conflicts seen by an agent's client (they revert before reaching the chain, so only the client's
   * journal knows): a "closed" entry with code IDEMPOTENCY_CONFLICT, or two signed intents under one key with
   * different payloads. `entries` are the journal's entries from index `from` on; `all` the whole journal.
   */
  journalAlerts(all: readonly JournalEntry[], from: number, now: JournalClock): Alert[] {
    return journalAlerts(this.core, all, from, now);
  }

  /** Time-driven checks at the end of each block: queued intents that expired or near their eta; then pruning. */
  private tick(batch: BlockBatch, emit: Emit): void {
    const { state } = this.core;
    for (const [id, q] of Object.entries(state.queued)) {
      if (batch.timestamp >= q.eta + q.gracePeriod) {
        delete state.queued[id]; // expired
        continue;
      }
      checkQueuedNearEta(this.core, id, q, batch, emit);
    }
    pruneState(this.core, batch.timestamp);
  }
}
