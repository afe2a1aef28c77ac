/**
 * The watchtower's checkpoint: the next block to read, the statistics as they were before it, and the alerts of
 * that block already delivered (per sink) and acted upon. Written atomically (temporary file, fsync, rename) after
 * every block and after every delivered alert, so a watchtower killed at any point restarts at the block it was
 * reading, re-derives the same alerts (the rules are deterministic) and delivers only those it had not delivered:
 * no event is lost and no alert is repeated. The one window left is between a sink accepting an alert and the
 * checkpoint recording it (a crash there repeats that one alert once); every alert carries a stable `id` so a
 * receiver can drop such a duplicate.
 *
 * A checkpoint names the chain instance it was written on (genesis hash and Hardhat node instance, see
 * sdk/chainIdentity.ts). One from another instance of the same chain id (a restarted `hardhat node`) describes
 * blocks that no longer exist: {@link CheckpointStore.load} sets it aside as
 * `<chainId>-<module>.checkpoint.<genesis prefix>.stale.json` (kept, with one line logged) and the watchtower
 * re-reads the new chain from the module's creation (monitor/watchtower.ts).
 */
import fs from "fs";
import path from "path";
import type { Alert, AlertResponse } from "./alerts";
import type { FeedWatchState } from "./priceFeeds";
import { MonitorState, STATE_VERSION } from "./stats";
import { deploymentsDir } from "../core/deployment";
import { ChainIdentity, identityMismatch, setAside } from "../sdk/chainIdentity";

export const CHECKPOINT_VERSION = 1;

export interface Checkpoint {
  v: number;
  chainId: string;
  module: string;
  /** The next block to read. */
  nextBlock: number;
  /** Hash of block `nextBlock - 1` when it was read (reorganisation check). */
  lastHash?: string;
  /** The statistics before block `nextBlock`. */
  state: MonitorState;
  /** Alerts of block `nextBlock` already delivered: alert id -> sinks that accepted it. */
  delivered: Record<string, string[]>;
  /** Automatic responses already made for alerts of block `nextBlock`: alert id -> response. */
  responses: Record<string, AlertResponse>;
  /** Entries of the agent journal already examined. */
  journalEntries?: number;
  /** The journal's first entry when it was last read (`intentId@at`): a different one means the file was replaced. */
  journalMark?: string;
  /** Hash of block 0 of the chain the checkpoint was written on (absent in older checkpoints). */
  genesisHash?: string;
  /** The Hardhat node instance it was written on, when the node is a Hardhat node. */
  instanceId?: string;
  /** [block, hash] of recently read blocks, oldest first: where a reorganisation forked off is found among them. */
  recent?: [number, string][];
  /** First block of the module's history on this chain (statistics are rebuilt from here after a reorganisation). */
  historyFrom?: number;
  /** Alerts that belong to no block (a restart or a reorganisation), with the sinks that already accepted each. */
  notices?: { alert: Alert; delivered: string[] }[];
  /** v3: the module's price feeds and their last readings (monitor/priceFeeds.ts). */
  priceFeeds?: FeedWatchState;
  updatedAt: string;
}

/** What {@link CheckpointStore.load} found. */
export interface LoadedCheckpoint {
  /** The checkpoint of this chain instance and module. */
  checkpoint?: Checkpoint;
  /** A checkpoint of another instance of this chain, now kept under `file`; `reason` says how the chains differ. */
  setAside?: { file: string; checkpoint: Checkpoint; reason: string };
}

/** The checkpoint belongs to another chain or module, or was written by an incompatible version. */
export class CheckpointMismatchError extends Error {
  readonly code = "CHECKPOINT_MISMATCH";
  constructor(message: string) {
    super(message);
    this.name = "CheckpointMismatchError";
  }
}

/**
 * The default checkpoint path for a chain and module: beside the deployment records (`DEPLOYMENTS_DIR`, else
 * `./deployments`, git-ignored), in `monitor/`.
 */
export function defaultCheckpointFile(chainId: bigint | string, module: string): string {
  return path.join(deploymentsDir(), "monitor", `${chainId.toString()}-${module.toLowerCase()}.checkpoint.json`);
}

export class CheckpointStore {
  constructor(readonly file: string) {}

  /**
   * Reads the checkpoint. Refuses one of another chain id or module (a wrong --checkpoint); sets aside one of
   * another instance of this chain (a restarted node), logging one line.
   */
  load(identity: ChainIdentity, module: string, log: (line: string) => void): LoadedCheckpoint {
    const chainId = identity.chainId;
    if (!fs.existsSync(this.file)) return {};
    let cp: Checkpoint;
    try {
      cp = JSON.parse(fs.readFileSync(this.file, "utf8")) as Checkpoint;
    } catch (error) {
      throw new CheckpointMismatchError(
        `Checkpoint ${this.file} is not valid JSON (${(error as Error).message}): move it aside and restart with --from-block <the last block you trust>.`,
      );
    }
    if (cp.v !== CHECKPOINT_VERSION || cp.state?.v !== STATE_VERSION) {
      throw new CheckpointMismatchError(
        `Checkpoint ${this.file} has format ${cp.v}; this watchtower reads ${CHECKPOINT_VERSION}. Move it aside and restart with --from-block.`,
      );
    }
    if (cp.chainId !== chainId || cp.module.toLowerCase() !== module.toLowerCase()) {
      throw new CheckpointMismatchError(
        `Checkpoint ${this.file} belongs to module ${cp.module} on chain ${cp.chainId}, not ${module} on chain ${chainId}: pass --checkpoint <another file>.`,
      );
    }
    cp.delivered ??= {};
    cp.responses ??= {};
    const reason = identityMismatch(
      { chainId: cp.chainId, genesisHash: cp.genesisHash, instanceId: cp.instanceId },
      identity,
    );
    if (reason) {
      const file = setAside(
        this.file,
        { chainId: cp.chainId, genesisHash: cp.genesisHash, instanceId: cp.instanceId },
        reason,
        "watchtower checkpoint",
        log,
      );
      return { setAside: { file, checkpoint: cp, reason } };
    }
    return { checkpoint: cp };
  }

  /** Writes the checkpoint atomically and durably. */
  save(cp: Checkpoint): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, JSON.stringify({ ...cp, updatedAt: new Date().toISOString() }));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.file);
  }
}
