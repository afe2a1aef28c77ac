/**
 * EventFollower: reads confirmed blocks of one module (and its Safe) in order. A block is read only once it has
 * `confirmations` blocks on top of the chain's head counting itself (1 = the head), so short reorganisations never
 * reach the rules. Each block with events becomes a {@link BlockBatch}, events in chain order, each `IntentExecuted`
 * / `IntentDenied` paired with its whole intent decoded from the transaction input. When asked, reverted
 * transactions to the module (idempotency conflicts, forged signatures, a frozen agent still trying) are read from
 * the blocks' transactions, since they leave no log.
 */
import { Contract, Log, Provider, getAddress } from "ethers";
import type { TransactionResponse } from "ethers";
import { decodeRevert, revertDataOf } from "../sdk/errors";
import {
  ChainEvent,
  EventPosition,
  ModuleEventBody,
  decodeModuleLog,
  decodeSafeLog,
  directCall,
  findIntent,
  moduleTopics,
  safeTopics,
} from "./events";
import { hashIntent } from "../sdk/eip712";

/** The events of one block, in chain order. A batch may have no events: it still advances the clock. */
export interface BlockBatch {
  number: number;
  hash: string;
  timestamp: number;
  events: ChainEvent[];
}

export interface RangeOptions {
  /** Read reverted submissions too (when the follower scans them). Default true. */
  reverts?: boolean;
  /** Try one getLogs call for the whole range first (warm-up over a long history). */
  wholeRange?: boolean;
}

export interface FollowerOptions {
  module: string;
  safe?: string;
  chainId: bigint;
  confirmations: number;
  /** Blocks per getLogs call. */
  chunkSize?: number;
  /** Read every block's transactions for reverted submissions (costs one block read per block). */
  scanReverts?: boolean;
}

/** The chain under the checkpoint changed: a reorganisation deeper than the confirmations. */
export class ReorgDetectedError extends Error {
  readonly code = "REORG_BEYOND_CONFIRMATIONS";
  constructor(
    readonly block: number,
    readonly expectedHash: string,
    readonly actualHash: string,
  ) {
    super(
      `Block ${block} changed from ${expectedHash} to ${actualHash} after it was read with the configured confirmations: ` +
        "raise --confirmations; alerts from that block may describe events that are no longer on chain.",
    );
    this.name = "ReorgDetectedError";
  }
}

const SAFE_THRESHOLD_ABI = ["function getThreshold() view returns (uint256)"];

export class EventFollower {
  readonly module: string;
  readonly safe?: string;
  private readonly chunkSize: number;
  private readonly txCache = new Map<string, TransactionResponse | null>();

  constructor(
    readonly provider: Provider,
    private readonly options: FollowerOptions,
  ) {
    this.module = getAddress(options.module);
    this.safe = options.safe ? getAddress(options.safe) : undefined;
    this.chunkSize = options.chunkSize ?? 2000;
  }

  get confirmations(): number {
    return this.options.confirmations;
  }

  /** The chain's head block number. */
  async head(): Promise<number> {
    return this.provider.getBlockNumber();
  }

  /** The newest block with enough confirmations for `head`. */
  confirmedHead(head: number): number {
    return head - Math.max(1, this.options.confirmations) + 1;
  }

  /**
   * The first block at which the module has code (a binary search over historical state), or undefined when it has
   * no code at `head`. A node without historical state answers `fallback` (the deployment record's block).
   */
  async creationBlock(head: number, fallback: number): Promise<number | undefined> {
    if ((await this.provider.getCode(this.module, head)) === "0x") return undefined;
    let lo = 0;
    let hi = head;
    try {
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if ((await this.provider.getCode(this.module, mid)) === "0x") lo = mid + 1;
        else hi = mid;
      }
    } catch {
      return Math.min(fallback, head);
    }
    return lo;
  }

  /** Throws {@link ReorgDetectedError} when block `number` no longer has `hash`. */
  async verify(number: number, hash: string): Promise<void> {
    const block = await this.provider.getBlock(number);
    if (!block) throw new ReorgDetectedError(number, hash, "(missing)");
    if (block.hash !== hash) throw new ReorgDetectedError(number, hash, block.hash ?? "(none)");
  }

  /**
   * The batches of blocks `from..to` (inclusive): one per block that has events, plus block `to` itself so that
   * time-driven rules see the clock move even when nothing happens.
   */
  async range(from: number, to: number, opts: RangeOptions = {}): Promise<BlockBatch[]> {
    const addresses = [this.module, ...(this.safe ? [this.safe] : [])];
    const topics = [...moduleTopics(), ...safeTopics()];
    const filter = { address: addresses, topics: [topics] };
    let logs: Log[] | undefined;
    if (opts.wholeRange || to - from + 1 <= this.chunkSize) {
      try {
        logs = await this.provider.getLogs({ ...filter, fromBlock: from, toBlock: to });
      } catch (error) {
        if (!opts.wholeRange) throw error;
        // The node refuses the range (too many blocks or results): read it in chunks below.
      }
    }
    if (!logs) {
      logs = [];
      for (let start = from; start <= to; start += this.chunkSize) {
        const end = Math.min(to, start + this.chunkSize - 1);
        logs.push(...(await this.provider.getLogs({ ...filter, fromBlock: start, toBlock: end })));
      }
    }
    logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);

    const batches = new Map<number, BlockBatch>();
    const blockOf = async (n: number): Promise<BlockBatch> => {
      let batch = batches.get(n);
      if (!batch) {
        const block = await this.provider.getBlock(n);
        if (!block || !block.hash)
          throw new Error(`Block ${n} is not available from the RPC node; retry or use another node.`);
        batch = { number: n, hash: block.hash, timestamp: block.timestamp, events: [] };
        batches.set(n, batch);
      }
      return batch;
    };

    for (const log of logs) {
      if (log.removed) continue;
      const address = getAddress(log.address);
      const body = address === this.module ? decodeModuleLog(log) : decodeSafeLog(log);
      if (!body) continue;
      const batch = await blockOf(log.blockNumber);
      const position: EventPosition = {
        block: log.blockNumber,
        blockHash: log.blockHash,
        timestamp: batch.timestamp,
        txHash: log.transactionHash,
        txIndex: log.transactionIndex,
        logIndex: log.index,
      };
      await this.enrich(body, position);
      batch.events.push({ ...body, ...position } as ChainEvent);
    }

    if (this.options.scanReverts && opts.reverts !== false) {
      for (let n = from; n <= to; n++) {
        const reverted = await this.revertedSubmissions(n);
        if (reverted.length === 0) continue;
        const batch = await blockOf(n);
        batch.events.push(...reverted.map((r) => ({ ...r, timestamp: batch.timestamp })));
        batch.events.sort((a, b) => a.txIndex - b.txIndex || a.logIndex - b.logIndex);
      }
    }

    await blockOf(to);
    this.txCache.clear();
    return [...batches.values()].sort((a, b) => a.number - b.number);
  }

  /** Adds what the log alone does not say: the whole intent from the transaction, the Safe's previous threshold. */
  private async enrich(body: ModuleEventBody, at: EventPosition): Promise<void> {
    if (body.kind === "IntentExecuted" || body.kind === "IntentDenied" || body.kind === "IntentQueued") {
      const tx = await this.transaction(at.txHash);
      if (!tx) return;
      const found = findIntent(tx.data, body.intentId, this.options.chainId, this.module);
      if (found) {
        body.via = found.function;
        if (body.kind !== "IntentQueued") body.intent = found.intent;
        if (body.kind === "IntentExecuted" && found.signers) body.signers = found.signers;
      }
    } else if (body.kind === "SafeChangedThreshold" && this.safe && at.block > 0) {
      try {
        const safe = new Contract(this.safe, SAFE_THRESHOLD_ABI, this.provider);
        body.previous = Number(await safe.getThreshold({ blockTag: at.block - 1 }));
      } catch {
        // No archive state on this node: the rule reports the change without the previous value.
      }
    }
  }

  private async transaction(hash: string): Promise<TransactionResponse | null> {
    if (!this.txCache.has(hash)) this.txCache.set(hash, await this.provider.getTransaction(hash));
    return this.txCache.get(hash) ?? null;
  }

  /**
   * The revert data of a mined, failed transaction: from `debug_traceTransaction` when the node offers it (exact),
   * else by replaying the call on the state before its block (exact for the block's first transaction, an
   * approximation for later ones, whose predecessors in the block are not applied).
   */
  private async revertData(tx: TransactionResponse, n: number): Promise<string | undefined> {
    const rpc = this.provider as Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };
    if (typeof rpc.send === "function") {
      try {
        const trace = (await rpc.send("debug_traceTransaction", [
          tx.hash,
          { disableStorage: true, disableMemory: true, disableStack: true, enableMemory: false },
        ])) as { failed?: boolean; returnValue?: string };
        if (trace && trace.failed && typeof trace.returnValue === "string" && trace.returnValue.length >= 8) {
          return trace.returnValue.startsWith("0x") ? trace.returnValue : `0x${trace.returnValue}`;
        }
      } catch {
        // No debug namespace on this node.
      }
    }
    try {
      await this.provider.call({ to: tx.to, from: tx.from, data: tx.data, value: tx.value, blockTag: n - 1 });
    } catch (error) {
      return revertDataOf(error);
    }
    return undefined;
  }

  /** Transactions of block `n` sent straight to the module that reverted, with the module's error when readable. */
  private async revertedSubmissions(n: number): Promise<ChainEvent[]> {
    const block = await this.provider.getBlock(n, true);
    if (!block || !block.hash) return [];
    const out: ChainEvent[] = [];
    for (const tx of block.prefetchedTransactions) {
      if (!tx.to || getAddress(tx.to) !== this.module) continue;
      const receipt = await this.provider.getTransactionReceipt(tx.hash);
      if (!receipt || receipt.status !== 0) continue;
      const call = directCall(tx);
      if (!call || !["submit", "propose", "executeQueued"].includes(call.function)) continue;
      let errorName = "unknown";
      let errorArgs: Record<string, string> = {};
      const data = await this.revertData(tx, n);
      if (data) {
        const decoded = decodeRevert(data);
        errorName = decoded.errorName ?? decoded.code;
        errorArgs = Object.fromEntries(Object.entries(decoded.args).map(([k, v]) => [k, String(v)]));
      }
      const intent = call.intent;
      out.push({
        kind: "SubmissionReverted",
        from: getAddress(tx.from),
        function: call.function,
        ...(intent
          ? {
              agent: intent.agent,
              intentId: hashIntent(intent, this.options.chainId, this.module).toLowerCase(),
              idempotencyKey: intent.idempotencyKey.toLowerCase(),
            }
          : {}),
        errorName,
        errorArgs,
        block: n,
        blockHash: block.hash,
        timestamp: block.timestamp,
        txHash: tx.hash,
        txIndex: tx.index,
        logIndex: -1,
      });
    }
    return out;
  }
}
