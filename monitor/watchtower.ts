/**
 * The watchtower: follows one module's confirmed blocks, runs the rules, acts on alerts that ask for it, and
 * delivers every alert to every sink exactly once across restarts (see monitor/checkpoint.ts for how, and for the
 * one crash window where a receiver may see an alert twice, with the same id).
 *
 * Start-up: with a checkpoint it resumes at the block it was reading. Without one it first learns the history
 * silently (statistics, configuration, known recipients and lanes, from `historyFrom`, normally the module's
 * deployment block) and reports from `fromBlock` on (default: the next confirmed block), so a watchtower added to an
 * old treasury starts with a baseline instead of a flood of "new recipient" alerts.
 *
 * Restarts and reorganisations: every poll first checks that the last block read is still on the chain with the
 * hash it had. When it is not (another hash, or a block beyond the chain's head), the chain under the checkpoint
 * changed, and the watchtower raises a critical `reorg` alert and re-reads:
 * - the same chain (a reorganisation deeper than the confirmations): statistics are rebuilt silently up to the
 *   newest block read that still has its hash (the checkpoint keeps the last {@link RECENT_BLOCKS}), and every block
 *   after it is read again with alerts;
 * - a new chain (a restarted node: another genesis block or node instance, or no recorded block matches):
 *   statistics start afresh and every block from the module's creation on the new chain is read with alerts (from
 *   the next block when the module is not on it yet).
 * A checkpoint of another chain instance found at start is set aside (kept, one line logged) and handled as a new
 * chain. Alert ids include the chain's genesis hash, so an alert of the new chain is never taken for one of the old.
 */
import type { Provider } from "ethers";
import { AssetBook } from "../sdk/chain";
import { ChainIdentity, identityMismatch, readChainIdentity } from "../sdk/chainIdentity";
import { Alert, ChainChange, alertId, chainChangeAlert } from "./alerts";
import { Checkpoint, CHECKPOINT_VERSION, CheckpointStore } from "./checkpoint";
import { BlockBatch, EventFollower } from "./follower";
import type { MonitorMetrics } from "./metrics";
import type { AutoResponder } from "./response";
import { AssetMeta, RuleEngine } from "./rules";
import type { MonitorConfig } from "../core/monitorSchema";
import type { AlertSink } from "./sinks";
import { FeedWatchState, emptyFeedWatchState, watchFeeds } from "./priceFeeds";
import { JournalCheckpoint, JournalWatch } from "./watchJournal";
import { deliverAlert } from "./delivery";
import { AgentSummary, MonitorState, cloneState, emptyState, summarize } from "./stats";

/** How many recently read blocks' hashes the checkpoint keeps for finding where a reorganisation forked off. */
export const RECENT_BLOCKS = 64;

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

export class Watchtower {
  readonly follower: EventFollower;
  readonly engine: RuleEngine;
  private readonly store: CheckpointStore;
  private readonly assets: AssetBook;
  private nextBlock = 0;
  private lastHash?: string;
  private delivered: Record<string, string[]> = {};
  private responses: Checkpoint["responses"] = {};
  /** The agent's journal, when one is watched (monitor/watchJournal.ts). */
  private readonly journal: JournalWatch;
  /** The chain instance being read (set by `start`, updated when the chain changes). */
  private identity?: ChainIdentity;
  /** [block, hash] of recently read blocks, oldest first. */
  private recent: [number, string][] = [];
  /** First block of the module's history on this chain. */
  private historyFrom: number;
  /** Alerts that belong to no block (restart, reorganisation) and the sinks that accepted each. */
  private notices: { alert: Alert; delivered: string[] }[] = [];
  private feeds: FeedWatchState = emptyFeedWatchState(); // v3: the module's price feeds and their last readings
  private started = false;
  private stopping = false;
  private wake?: () => void;
  private readonly log: (line: string) => void;

  constructor(private readonly options: WatchtowerOptions) {
    const { config } = options;
    const scanReverts = config.rules.some(
      (r) => r.enabled && (r.rule === "rejected-submission" || r.rule === "idempotency-conflict"),
    );
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
    this.journal = new JournalWatch(options.journal, this.log);
    this.historyFrom = options.historyFrom ?? 0;
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
    this.identity = await readChainIdentity(this.options.provider);
    const loaded = this.store.load(this.identity, this.follower.module, this.log);
    const cp = loaded.checkpoint;
    if (cp) {
      this.engine.state = cp.state;
      this.nextBlock = cp.nextBlock;
      this.lastHash = cp.lastHash;
      this.delivered = cp.delivered;
      this.responses = cp.responses;
      this.journal.restore(cp);
      this.recent = cp.recent ?? (cp.lastHash && cp.nextBlock > 0 ? [[cp.nextBlock - 1, cp.lastHash]] : []);
      this.historyFrom = cp.historyFrom ?? this.historyFrom;
      this.notices = cp.notices ?? [];
      this.feeds = cp.priceFeeds ?? emptyFeedWatchState();
      // Alerts of this block may have been delivered before the restart: keep their record for it.
      this.pendingBlock = cp.nextBlock;
      if (this.options.fromBlock !== undefined && this.options.fromBlock !== cp.nextBlock) {
        this.log(
          `monitor: resuming from checkpoint ${this.store.file} at block ${cp.nextBlock} (--from-block ${this.options.fromBlock} ignored; move the checkpoint aside to start over)`,
        );
      }
      return { resumed: true, fromBlock: this.nextBlock };
    }
    const head = await this.follower.head();
    this.journal.skipToEnd(); // report new journal entries only
    if (loaded.setAside) {
      // Written on another instance of this chain (a restarted node): nothing of this chain has been read yet.
      const old = loaded.setAside.checkpoint;
      const change = {
        block: old.nextBlock - 1,
        hash: old.lastHash,
        now: loaded.setAside.reason,
        setAsideAs: loaded.setAside.file,
      };
      await this.restartOnNewChain(head, change);
      return { resumed: false, fromBlock: this.nextBlock };
    }
    const start = this.options.fromBlock ?? Math.max(0, this.follower.confirmedHead(head) + 1);
    this.lastHash = await this.learn(Math.min(this.historyFrom, start), start - 1);
    if (!this.lastHash && start > 0 && start - 1 <= head)
      this.lastHash = (await this.options.provider.getBlock(start - 1))?.hash ?? undefined;
    this.recent = this.lastHash ? [[start - 1, this.lastHash]] : [];
    this.nextBlock = start;
    this.save();
    return { resumed: false, fromBlock: start };
  }

  /** Reads every confirmed block not read yet and delivers their alerts. */
  async poll(): Promise<PollResult> {
    await this.start();
    let head = await this.follower.head();
    if (await this.chainChanged(head)) head = await this.follower.head();
    const alerts: Alert[] = await this.deliverNotices();
    const confirmed = this.follower.confirmedHead(head);
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
    // v3: the price feeds at the last block read, delivered like notices (exactly once; monitor/priceFeeds.ts).
    const feedAlerts = await watchFeeds(this.options.provider, this.options.config.rules, this.feeds, {
      chainId: this.options.chainId.toString(),
      module: this.follower.module,
      historyFrom: this.historyFrom,
      block: this.nextBlock - 1,
      head,
      chunkSize: this.options.config.chunkSize,
    });
    if (feedAlerts) {
      for (const alert of feedAlerts) this.queueNotice(alert);
      this.save();
      alerts.push(...(await this.deliverNotices()));
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
    const alerts = this.scoped(this.engine.process(batch, { emit: true, detectedAtBlock: head }));
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
    this.recent.push([batch.number, batch.hash]);
    if (this.recent.length > RECENT_BLOCKS) this.recent.splice(0, this.recent.length - RECENT_BLOCKS);
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
  private async deliver(
    alert: Alert,
    delivered: Record<string, string[]>,
    block: number,
    before?: MonitorState,
  ): Promise<void> {
    const save = () => (before ? this.save(before, block) : this.save());
    await deliverAlert(alert, (delivered[alert.id] ??= []), {
      sinks: this.options.sinks,
      responder: this.options.responder,
      metrics: this.options.metrics,
      responses: before ? this.responses : this.otherResponses,
      responded: before ? save : undefined,
      accepted: save,
    });
  }

  private save(state?: MonitorState, block?: number): void {
    const cp: Checkpoint & JournalCheckpoint = {
      v: CHECKPOINT_VERSION,
      chainId: this.options.chainId.toString(),
      module: this.follower.module,
      nextBlock: block ?? this.nextBlock,
      lastHash: this.lastHash,
      state: state ?? this.engine.state,
      delivered: block !== undefined ? this.delivered : {},
      responses: block !== undefined ? this.responses : {},
      ...this.journal.checkpoint(),
      ...(this.identity
        ? {
            genesisHash: this.identity.genesisHash,
            ...(this.identity.instanceId ? { instanceId: this.identity.instanceId } : {}),
          }
        : {}),
      recent: this.recent,
      historyFrom: this.historyFrom,
      notices: this.notices,
      priceFeeds: this.feeds,
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

  /** Reports the journal's new entries (idempotency conflicts), each alert delivered once like a block's. */
  private async pollJournal(head: number): Promise<Alert[]> {
    const unread = this.journal.unread();
    if (!unread) return [];
    const time = Math.floor(Date.now() / 1000);
    const alerts = this.scoped(this.engine.journalAlerts(unread.entries, unread.from, { block: head, time }));
    for (const alert of alerts) await this.deliver(alert, this.journal.delivered, head);
    this.journal.examined(unread.entries.length);
    this.save();
    return alerts;
  }

  /** Alert ids include the chain instance, so an alert of a restarted chain is never taken for one of the old. */
  private scoped(alerts: Alert[]): Alert[] {
    for (const alert of alerts) alert.id = alertId(alert.id, this.identity?.genesisHash ?? "");
    return alerts;
  }

  /** Reads blocks `from..to` silently into the statistics; returns the hash of block `to` (undefined if none read). */
  private async learn(from: number, to: number): Promise<string | undefined> {
    if (from > to) return undefined;
    this.log(`monitor: learning history from block ${from} to ${to} (no alerts)`);
    const batches = await this.follower.range(from, to, { reverts: false, wholeRange: true });
    for (const batch of batches) {
      await this.resolveAssets(batch);
      this.engine.process(batch, { emit: false });
    }
    return batches[batches.length - 1]?.hash;
  }

  /**
   * Whether the chain under the checkpoint changed: the last block read has another hash now, or is beyond the head.
   * If so, re-positions the watchtower (see the file header) and queues the `reorg` alert.
   */
  private async chainChanged(head: number): Promise<boolean> {
    const last = this.nextBlock - 1;
    if (last < 0 || !this.lastHash) return false;
    let now: string;
    if (last > head) {
      now = `beyond the chain's head, block ${head}`;
    } else {
      const block = await this.options.provider.getBlock(last);
      if (block?.hash === this.lastHash) return false;
      now = block?.hash ? `now ${block.hash}` : "missing";
    }
    const identity = await readChainIdentity(this.options.provider);
    const reason = this.identity ? identityMismatch(this.identity, identity) : undefined;
    this.identity = identity;
    const change: ChainChange = { block: last, hash: this.lastHash, now: reason ? `${now}; ${reason}` : now };
    this.log(
      `monitor: the chain changed under the checkpoint: block ${last} (read as ${this.lastHash}) is ${change.now}`,
    );
    if (reason || !(await this.rewindToFork(head, change))) await this.restartOnNewChain(head, change);
    return true;
  }

  /** Same chain, reorganised: re-reads from the newest recorded block that still has its hash. False if none has. */
  private async rewindToFork(head: number, change: ChainChange): Promise<boolean> {
    for (let i = this.recent.length - 1; i >= 0; i--) {
      const [number, hash] = this.recent[i];
      if (number > head || (await this.options.provider.getBlock(number))?.hash !== hash) continue;
      this.resetState();
      await this.learn(this.historyFrom, number);
      this.nextBlock = number + 1;
      this.lastHash = hash;
      this.recent = this.recent.slice(0, i + 1);
      this.queueNotice(
        chainChangeAlert(change, {
          identity: this.identity!,
          module: this.follower.module,
          head,
          from: number + 1,
          newChain: false,
        }),
      );
      this.save();
      return true;
    }
    return false;
  }

  /** A new chain (restarted node): statistics afresh, everything from the module's creation read with alerts. */
  private async restartOnNewChain(head: number, change: ChainChange): Promise<void> {
    const created = await this.follower.creationBlock(head, this.options.historyFrom ?? 0);
    const from = created ?? head + 1;
    this.resetState();
    this.historyFrom = from;
    this.nextBlock = from;
    this.lastHash = from > 0 ? ((await this.options.provider.getBlock(from - 1))?.hash ?? undefined) : undefined;
    this.recent = this.lastHash ? [[from - 1, this.lastHash]] : [];
    this.queueNotice(
      chainChangeAlert(change, {
        identity: this.identity!,
        module: this.follower.module,
        head,
        from,
        newChain: true,
        moduleMissing: created === undefined,
      }),
    );
    this.save();
  }

  private resetState(): void {
    this.engine.state = emptyState();
    this.feeds = emptyFeedWatchState();
    this.delivered = {};
    this.responses = {};
    this.pendingBlock = undefined;
  }

  private queueNotice(alert: Alert): void {
    if (!this.notices.some((n) => n.alert.id === alert.id)) this.notices.push({ alert, delivered: [] });
  }

  /** Delivers the queued notices, each to every sink that has not accepted it, recording progress in the checkpoint. */
  private async deliverNotices(): Promise<Alert[]> {
    const out: Alert[] = [];
    while (this.notices.length > 0) {
      const notice = this.notices[0];
      await this.deliver(notice.alert, { [notice.alert.id]: notice.delivered }, this.nextBlock);
      this.notices.shift();
      this.save();
      out.push(notice.alert);
    }
    return out;
  }
}

function lowerKeys(names: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(names).map(([k, v]) => [k.toLowerCase(), v]));
}
