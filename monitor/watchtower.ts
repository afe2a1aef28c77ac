/**
 * The watchtower: follows one module's confirmed blocks, runs the rules, acts on alerts that ask for it, and
 * delivers every alert to every sink exactly once across restarts (see monitor/checkpoint.ts for how, and for the
 * one crash window where a receiver may see an alert twice, with the same id).
 *
 * Start-up: with a checkpoint it resumes at the block it was reading. Without one it first learns the history
 * silently (statistics, configuration, known recipients and lanes, from `historyFrom`, normally the module's
 * deployment block) and reports from `fromBlock` on (default: the next confirmed block), so a watchtower added to an
 * old treasury starts with a baseline instead of a flood of "new recipient" alerts.
 */
import type { Provider } from "ethers";
import { AssetBook } from "../sdk/chain";
import { Journal } from "../sdk/journal";
import { Alert, ALERT_VERSION, alertId } from "./alerts";
import { Checkpoint, CHECKPOINT_VERSION, CheckpointStore } from "./checkpoint";
import { BlockBatch, EventFollower, ReorgDetectedError } from "./follower";
import type { MonitorMetrics } from "./metrics";
import type { AutoResponder } from "./response";
import { AssetMeta, RuleEngine } from "./rules";
import type { MonitorConfig } from "./rules-schema";
import type { AlertSink } from "./sinks";
import { AgentSummary, MonitorState, cloneState, summarize } from "./stats";

export interface WatchtowerOptions {
  provider: Provider;
  chainId: bigint;
  module: string;
  /** The Safe: its module, owner and guard events are watched too. */
  safe?: string;
  config: MonitorConfig;
  sinks: AlertSink[];
  responder?: AutoResponder;
  checkpointFile: string;
  /** First block to report on when there is no checkpoint (default: the next confirmed block). */
  fromBlock?: number;
  /** First block of the silent warm-up (default 0; give the module's deployment block). */
  historyFrom?: number;
  /** agent address -> name (the deployment record's `agents`, inverted) */
  names?: Record<string, string>;
  /** token symbol -> address, for token metadata */
  tokens?: Record<string, string>;
  /** An agent's journal: idempotency conflicts never reach the chain, only the client's journal. */
  journal?: string;
  metrics?: MonitorMetrics;
  /** Diagnostics (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface PollResult {
  head: number;
  /** Newest block read. */
  processed: number;
  alerts: Alert[];
}

/** A sink refused an alert: the watchtower stays on that block and retries at the next poll. */
export class DeliveryPendingError extends Error {
  readonly code = "ALERT_DELIVERY_PENDING";
  constructor(
    readonly sink: string,
    readonly alertId: string,
    cause: unknown,
  ) {
    super(`Sink ${sink} did not accept alert ${alertId} (${(cause as Error).message}); it is retried at the next poll.`, { cause });
    this.name = "DeliveryPendingError";
  }
}

export class Watchtower {
  readonly follower: EventFollower;
  readonly engine: RuleEngine;
  private readonly store: CheckpointStore;
  private readonly assets: AssetBook;
  private nextBlock = 0;
  private lastHash?: string;
  private delivered: Record<string, string[]> = {};
  private responses: Checkpoint["responses"] = {};
  private journalEntries = 0;
  private journalDelivered: Record<string, string[]> = {};
  private started = false;
  private stopping = false;
  private wake?: () => void;
  private readonly log: (line: string) => void;

  constructor(private readonly options: WatchtowerOptions) {
    const { config } = options;
    const scanReverts = config.rules.some((r) => r.enabled && (r.rule === "rejected-submission" || r.rule === "idempotency-conflict"));
    this.follower = new EventFollower(options.provider, {
      module: options.module,
      safe: options.safe,
      chainId: options.chainId,
      confirmations: config.confirmations,
      chunkSize: config.chunkSize,
      scanReverts,
    });
    this.engine = new RuleEngine(config.rules, {
      chainId: options.chainId.toString(),
      module: this.follower.module,
      safe: this.follower.safe,
      names: lowerKeys(options.names ?? {}),
      self: options.responder?.guardianAddress,
    });
    this.store = new CheckpointStore(options.checkpointFile);
    this.assets = new AssetBook(options.provider, options.tokens ?? {}, { retries: 2 });
    this.log = options.log ?? (() => undefined);
  }

  /** The next block the watchtower will read. */
  get position(): number {
    return this.nextBlock;
  }

  get state(): MonitorState {
    return this.engine.state;
  }

  /** Per-agent statistics. */
  stats(): AgentSummary[] {
    return summarize(this.engine.state, lowerKeys(this.options.names ?? {}));
  }

  /** Loads the checkpoint, or learns the history silently up to the first block to report on. */
  async start(): Promise<{ resumed: boolean; fromBlock: number }> {
    if (this.started) return { resumed: true, fromBlock: this.nextBlock };
    this.started = true;
    const chainId = this.options.chainId.toString();
    const cp = this.store.load(chainId, this.follower.module);
    if (cp) {
      this.engine.state = cp.state;
      this.nextBlock = cp.nextBlock;
      this.lastHash = cp.lastHash;
      this.delivered = cp.delivered;
      this.responses = cp.responses;
      this.journalEntries = cp.journalEntries ?? 0;
      this.journalDelivered = (cp as Checkpoint & { journalDelivered?: Record<string, string[]> }).journalDelivered ?? {};
      // Alerts of this block may have been delivered before the restart: keep their record for it.
      this.pendingBlock = cp.nextBlock;
      if (this.options.fromBlock !== undefined && this.options.fromBlock !== cp.nextBlock) {
        this.log(`monitor: resuming from checkpoint ${this.store.file} at block ${cp.nextBlock} (--from-block ${this.options.fromBlock} ignored; move the checkpoint aside to start over)`);
      }
      return { resumed: true, fromBlock: this.nextBlock };
    }
    const head = await this.follower.head();
    const start = this.options.fromBlock ?? Math.max(0, this.follower.confirmedHead(head) + 1);
    const historyFrom = Math.min(this.options.historyFrom ?? 0, start);
    if (historyFrom < start) {
      this.log(`monitor: learning history from block ${historyFrom} to ${start - 1} (no alerts)`);
      const batches = await this.follower.range(historyFrom, start - 1, { reverts: false, wholeRange: true });
      for (const batch of batches) {
        await this.resolveAssets(batch);
        this.engine.process(batch, { emit: false });
      }
      const last = batches[batches.length - 1];
      this.lastHash = last?.number === start - 1 ? last.hash : undefined;
    }
    if (this.options.journal) this.journalEntries = this.readJournal().length; // report new journal entries only
    this.nextBlock = start;
    this.save();
    return { resumed: false, fromBlock: start };
  }

  /** Reads every confirmed block not read yet and delivers their alerts. */
  async poll(): Promise<PollResult> {
    await this.start();
    const head = await this.follower.head();
    const confirmed = this.follower.confirmedHead(head);
    const alerts: Alert[] = [];
    if (this.lastHash && this.nextBlock > 0 && this.nextBlock - 1 <= confirmed) {
      try {
        await this.follower.verify(this.nextBlock - 1, this.lastHash);
      } catch (error) {
        if (!(error instanceof ReorgDetectedError)) throw error;
        const alert = this.reorgAlert(error, head);
        await this.deliver(alert, {}, this.nextBlock);
        alerts.push(alert);
        this.lastHash = undefined;
      }
    }
    while (this.nextBlock <= confirmed && !this.stopping) {
      const to = Math.min(confirmed, this.nextBlock + this.options.config.chunkSize - 1);
      const batches = await this.follower.range(this.nextBlock, to, { reverts: true });
      for (const batch of batches) {
        if (batch.number < this.nextBlock) continue;
        alerts.push(...(await this.block(batch, head)));
      }
      this.nextBlock = to + 1;
      this.save();
    }
    alerts.push(...(await this.pollJournal(head)));
    this.options.metrics?.position(head, this.nextBlock - 1);
    this.options.metrics?.stats(this.engine.state, lowerKeys(this.options.names ?? {}));
    return { head, processed: this.nextBlock - 1, alerts };
  }

  /** Polls until {@link stop} (or, with `once`, until it has caught up with the confirmed head). */
  async run(options: { once?: boolean } = {}): Promise<void> {
    await this.start();
    while (!this.stopping) {
      try {
        const r = await this.poll();
        if (options.once && r.processed >= this.follower.confirmedHead(r.head)) break;
      } catch (error) {
        if (options.once) throw error;
        // Transient RPC failures and refusing sinks: stay on the block, try again at the next poll.
        this.log(`monitor: ${(error as Error).message}`);
      }
      if (this.stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.options.config.pollIntervalMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Stops after the block being read (its checkpoint is written). */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  // ------------------------------------------------------------------------------------------- internals

  private async block(batch: BlockBatch, head: number): Promise<Alert[]> {
    const before = cloneState(this.engine.state);
    await this.resolveAssets(batch);
    const alerts = this.engine.process(batch, { emit: true, detectedAtBlock: head });
    if (this.pendingBlock !== batch.number) {
      this.delivered = {};
      this.responses = {};
    }
    this.pendingBlock = batch.number;
    try {
      for (const alert of alerts) await this.deliver(alert, this.delivered, batch.number, before);
    } catch (error) {
      // Re-read this block at the next poll from the statistics as they were before it.
      this.engine.state = before;
      this.nextBlock = batch.number;
      this.save(before, batch.number);
      throw error;
    }
    this.nextBlock = batch.number + 1;
    this.lastHash = batch.hash;
    this.delivered = {};
    this.responses = {};
    this.pendingBlock = undefined;
    this.save();
    return alerts;
  }

  private pendingBlock?: number;
  /** Responses to alerts that belong to no block (journal, reorganisation). */
  private readonly otherResponses: Checkpoint["responses"] = {};

  /** Responds (once) and delivers to every sink that has not accepted the alert yet, recording each step. */
  private async deliver(alert: Alert, delivered: Record<string, string[]>, block: number, before?: MonitorState): Promise<void> {
    const done = (delivered[alert.id] ??= []);
    if (this.options.sinks.every((s) => done.includes(s.name))) return;
    const responses = before ? this.responses : this.otherResponses;
    if (alert.action !== "alert" && this.options.responder) {
      if (!responses[alert.id]) {
        const response = await this.options.responder.respond(alert);
        if (response) {
          responses[alert.id] = response;
          if (before) this.save(before, block);
        }
      }
      alert.response = responses[alert.id];
    } else if (alert.action !== "alert") {
      alert.response = { action: alert.action, status: "disabled", error: "the watchtower runs without a responder" };
    }
    for (const sink of this.options.sinks) {
      if (done.includes(sink.name)) continue;
      try {
        await sink.deliver(alert);
      } catch (error) {
        this.options.metrics?.sinkFailed(sink.name);
        throw new DeliveryPendingError(sink.name, alert.id, error);
      }
      done.push(sink.name);
      if (before) this.save(before, block);
      else this.save();
    }
    this.options.metrics?.alert(alert);
  }

  private save(state?: MonitorState, block?: number): void {
    const cp: Checkpoint & { journalDelivered: Record<string, string[]> } = {
      v: CHECKPOINT_VERSION,
      chainId: this.options.chainId.toString(),
      module: this.follower.module,
      nextBlock: block ?? this.nextBlock,
      lastHash: this.lastHash,
      state: state ?? this.engine.state,
      delivered: block !== undefined ? this.delivered : {},
      responses: block !== undefined ? this.responses : {},
      journalEntries: this.journalEntries,
      journalDelivered: this.journalDelivered,
      updatedAt: "",
    };
    this.store.save(cp);
  }

  private async resolveAssets(batch: BlockBatch): Promise<void> {
    const needed = this.engine.assetsNeeded(batch);
    if (needed.length === 0) return;
    const assets: Record<string, AssetMeta> = {};
    for (const address of needed) {
      try {
        const info = await this.assets.info(address);
        assets[address.toLowerCase()] = { symbol: info.symbol, decimals: info.decimals };
      } catch {
        // Not an ERC-20 (or unreadable): amounts are shown in base units.
      }
    }
    this.engine.setContext({ assets });
  }

  private readJournal() {
    const file = this.options.journal!;
    return Journal.open(file, { readOnly: true }).entries();
  }

  private async pollJournal(head: number): Promise<Alert[]> {
    if (!this.options.journal) return [];
    let entries;
    try {
      entries = this.readJournal();
    } catch (error) {
      this.log(`monitor: cannot read journal ${this.options.journal}: ${(error as Error).message}`);
      return [];
    }
    if (entries.length <= this.journalEntries) return [];
    const time = Math.floor(Date.now() / 1000);
    const alerts = this.engine.journalAlerts(entries, this.journalEntries, { block: head, time });
    for (const alert of alerts) await this.deliver(alert, this.journalDelivered, head);
    this.journalEntries = entries.length;
    this.journalDelivered = {};
    this.save();
    return alerts;
  }

  private reorgAlert(error: ReorgDetectedError, head: number): Alert {
    return {
      v: ALERT_VERSION,
      type: "alert",
      id: alertId("reorg", error.block, error.actualHash),
      rule: "reorg",
      kind: "reorg",
      severity: "critical",
      message: error.message,
      advice: "raise --confirmations and compare recent alerts with the chain",
      chainId: this.options.chainId.toString(),
      module: this.follower.module,
      block: error.block,
      blockTime: Math.floor(Date.now() / 1000),
      detectedAtBlock: head,
      detectedAt: new Date().toISOString(),
      action: "alert",
      details: { expectedHash: error.expectedHash, actualHash: error.actualHash },
    };
  }
}

function lowerKeys(names: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [k.toLowerCase(), v]));
}
