/**
 * A durable write-ahead journal of every intent a client signs: append-only JSON lines, each appended with one
 * `write` and made durable with `fsync` before the client acts on it.
 *
 * Crash safety:
 * - An intent is journaled ("signed", with its signature and rationale text) before it is sent, so a crash after
 *   signing never loses it: on start the client reconciles every unfinished entry with the chain (idempotency
 *   record, nonce, events) and either records the outcome that happened or resumes it under the same idempotency
 *   key, which pays at most once.
 * - A crash in the middle of an append leaves at most one torn last line, which was never acted upon (the client
 *   acts only after `append` returns). Opening the journal drops it. A malformed line anywhere else is corruption
 *   and is refused, never skipped silently.
 * - One process owns a journal at a time (a lock file holding its pid); a lock left by a dead process is taken over.
 *
 * Chain binding: the client writes a "chain" line naming the chain instance (chain id, genesis hash, Hardhat node
 * instance: sdk/chainIdentity.ts) before the first intent of a chain id. When it later connects to a chain with the
 * same id but another instance (a restarted `hardhat node`, a reset testnet), the journal describes intents of a chain
 * that is gone: the file is set aside as `<name>.<genesis prefix>.stale.jsonl` (kept, never deleted; one line is
 * logged) and a fresh journal starts at the same path with the entries of other chain ids carried over. Within one
 * instance, an outcome the chain no longer confirms (a reorganisation) is marked "reopened" and the intent is driven
 * again under its key (sdk/client.ts).
 */
import * as fs from "fs";
import * as path from "path";
import * as os from "os";
import { ChainIdentity, identityMismatch, setAside } from "./chainIdentity";
import type { Intent } from "./eip712";
import { JournalError } from "./errors";
import type { DenyReasonName, IntentStatusName } from "./types";

/** 2 added the "chain" and "reopened" lines; files of version 1 are read as they are. */
export const JOURNAL_VERSION = 2;

/** An Intent with bigints as decimal strings (JSON has no bigint). */
export interface SerializedIntent {
  agent: string;
  target: string;
  value: string;
  data: string;
  nonce: string;
  idempotencyKey: string;
  validAfter: string;
  validUntil: string;
  rationale: string;
  /** v3. Absent in entries written before the review flag (their signatures no longer verify anyway). */
  review?: boolean;
}

export type IntentKind = "submit" | "propose";

interface EntryBase {
  v: number;
  /** ISO time of the append. */
  at: string;
  intentId: string;
}

/** Written before the intent leaves the process. */
export interface SignedEntry extends EntryBase {
  t: "signed";
  kind: IntentKind;
  chainId: string;
  module: string;
  intent: SerializedIntent;
  signature: string;
  /** The agent's stated reason; keccak256 of it is `intent.rationale`. */
  rationaleText: string;
  /** Where the idempotency key came from. */
  keySource: "caller" | "derived";
  /** Block number when signed: events of this intent cannot be older. */
  signedAtBlock: number;
  /** The intentId this entry replaces (re-signed with a fresh nonce or deadline under the same key). */
  supersedes?: string;
}

/** The transaction carrying the intent was broadcast. */
export interface SentEntry extends EntryBase {
  t: "sent";
  txHash: string;
}

/** The intent's outcome on chain (or, for `replayOf`, the outcome of the original intent bound to the same key). */
export interface OutcomeEntry extends EntryBase {
  t: "outcome";
  status: IntentStatusName;
  reason?: DenyReasonName;
  txHash?: string;
  eta?: number;
  blockNumber?: number;
  /** The key was already bound: this intent did nothing and `replayOf` is the original. */
  replayOf?: string;
}

/** The intent was refused before anything was recorded on chain (a revert), or replaced by a re-signed one. */
export interface ClosedEntry extends EntryBase {
  t: "closed";
  why: "rejected" | "superseded";
  code?: string;
  message?: string;
}

/**
 * The chain no longer confirms the outcome this journal recorded for the intent (a reorganisation dropped its
 * transaction, or the journal outlived its chain): the intent is unfinished again and is driven anew under its key.
 */
export interface ReopenedEntry extends EntryBase {
  t: "reopened";
  why: string;
}

export type JournalEntry = SignedEntry | SentEntry | OutcomeEntry | ClosedEntry | ReopenedEntry;

/** The chain instance this journal's intents of `chainId` belong to. Not an intent entry: not in `entries()`. */
export interface ChainEntry extends ChainIdentity {
  t: "chain";
  v: number;
  at: string;
}

/** Everything the journal knows about one intent. */
export interface JournalRecord {
  signed: SignedEntry;
  sent?: SentEntry;
  outcome?: OutcomeEntry;
  closed?: ClosedEntry;
}

export function serializeIntent(intent: Intent): SerializedIntent {
  return {
    agent: intent.agent,
    target: intent.target,
    value: intent.value.toString(),
    data: intent.data,
    nonce: intent.nonce.toString(),
    idempotencyKey: intent.idempotencyKey,
    validAfter: intent.validAfter.toString(),
    validUntil: intent.validUntil.toString(),
    rationale: intent.rationale,
    review: intent.review,
  };
}

export function deserializeIntent(s: SerializedIntent): Intent {
  return {
    agent: s.agent,
    target: s.target,
    value: BigInt(s.value),
    data: s.data,
    nonce: BigInt(s.nonce),
    idempotencyKey: s.idempotencyKey,
    validAfter: BigInt(s.validAfter),
    validUntil: BigInt(s.validUntil),
    rationale: s.rationale,
    review: s.review === true,
  };
}

function isEntry(x: unknown): x is JournalEntry {
  if (!x || typeof x !== "object") return false;
  const e = x as Partial<JournalEntry>;
  return (
    typeof e.intentId === "string" &&
    typeof e.at === "string" &&
    (e.t === "signed" || e.t === "sent" || e.t === "outcome" || e.t === "closed" || e.t === "reopened")
  );
}

function isChainEntry(x: unknown): x is ChainEntry {
  const e = x as Partial<ChainEntry> | null;
  return !!e && e.t === "chain" && typeof e.chainId === "string" && typeof e.genesisHash === "string";
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export interface JournalOpenOptions {
  /** Open without the lock and refuse appends (co-signers reading rationale texts). Default false. */
  readOnly?: boolean;
}

/**
 * The journal files behind `paths`: a file as given, a folder as every `*.jsonl` file in it (sorted; e.g. the
 * per-agent journals `<deployments dir>/journals/<chainId>-<module>/`). Each file appears once.
 * @throws JournalError naming a path that does not exist.
 */
export function journalFiles(paths: readonly string[]): string[] {
  const files: string[] = [];
  for (const given of paths) {
    const p = path.resolve(given);
    if (!fs.existsSync(p))
      throw new JournalError(`Journal ${given} does not exist: give a journal file (.jsonl) or a folder of them.`);
    if (fs.statSync(p).isDirectory()) {
      for (const f of fs
        .readdirSync(p)
        .filter((name) => name.endsWith(".jsonl"))
        .sort())
        files.push(path.join(p, f));
    } else files.push(p);
  }
  return [...new Set(files)];
}

export class Journal {
  private readonly entriesList: JournalEntry[] = [];
  private readonly records = new Map<string, JournalRecord>();
  private readonly bindings = new Map<string, ChainEntry>();
  private fd: number | undefined;
  private lockPath: string | undefined;

  private constructor(
    /** File path, or undefined for an in-memory journal. */
    readonly file: string | undefined,
    readonly readOnly: boolean,
  ) {}

  /**
   * Opens (creating if needed) a journal file, repairs a torn last line, and takes the lock.
   * @throws JournalError when another live process holds the lock or a line is corrupt.
   */
  static open(file: string, options: JournalOpenOptions = {}): Journal {
    const j = new Journal(path.resolve(file), options.readOnly ?? false);
    if (j.readOnly) {
      if (fs.existsSync(j.file!)) j.load(false);
      return j;
    }
    fs.mkdirSync(path.dirname(j.file!), { recursive: true });
    j.lock();
    try {
      const existed = fs.existsSync(j.file!);
      j.fd = fs.openSync(j.file!, "a+");
      if (!existed) Journal.fsyncDir(path.dirname(j.file!));
      j.load(true);
    } catch (err) {
      j.close();
      throw err;
    }
    return j;
  }

  /** A journal that lives only in memory: no crash safety. For tests and throwaway scripts. */
  static inMemory(): Journal {
    return new Journal(undefined, false);
  }

  /** Every entry, oldest first. */
  entries(): readonly JournalEntry[] {
    return this.entriesList;
  }

  record(intentId: string): JournalRecord | undefined {
    return this.records.get(intentId.toLowerCase());
  }

  /** All records, oldest first. */
  allRecords(): JournalRecord[] {
    return [...this.records.values()];
  }

  /** Records of `agent` on `chainId`/`module` that have neither an outcome nor a closing entry. */
  unfinished(chainId: bigint, module: string, agent: string): JournalRecord[] {
    return this.allRecords().filter((r) => !r.outcome && !r.closed && this.matches(r.signed, chainId, module, agent));
  }

  /** Records carrying `key` for `agent`, oldest first. */
  byKey(chainId: bigint, module: string, agent: string, key: string): JournalRecord[] {
    const k = key.toLowerCase();
    return this.allRecords().filter(
      (r) => r.signed.intent.idempotencyKey.toLowerCase() === k && this.matches(r.signed, chainId, module, agent),
    );
  }

  /** The rationale text whose keccak256 is `rationaleHash`, if any intent in the journal carried it. */
  rationaleText(rationaleHash: string): string | undefined {
    const h = rationaleHash.toLowerCase();
    for (const r of this.records.values())
      if (r.signed.intent.rationale.toLowerCase() === h) return r.signed.rationaleText;
    return undefined;
  }

  /** Appends an entry durably (write + fsync) before returning. */
  append(entry: JournalEntry): void {
    this.write(entry);
    this.index(entry);
  }

  /** The chain instance the intents of `chainId` were journaled on, when the journal records it. */
  binding(chainId: bigint | string): ChainIdentity | undefined {
    const b = this.bindings.get(chainId.toString());
    if (!b) return undefined;
    return { chainId: b.chainId, genesisHash: b.genesisHash, ...(b.instanceId ? { instanceId: b.instanceId } : {}) };
  }

  /**
   * Binds the journal's intents of `identity.chainId` to that chain instance. When the journal is bound to another
   * instance of the same chain id, it describes a chain that is gone: the file is set aside under its stale name
   * (one line to `log`) and this journal continues, empty but for the entries of other chain ids, at the same path.
   * A journal without a binding (written before bindings existed) is bound as it is; outcomes the chain does not
   * confirm are then reopened one by one (sdk/client.ts). Returns the set-aside path, if a file was set aside.
   */
  bind(identity: ChainIdentity, log: (line: string) => void): string | undefined {
    const bound = this.bindings.get(identity.chainId);
    const reason = bound ? identityMismatch(bound, identity) : undefined;
    if (bound && !reason) return undefined;
    let setAsidePath: string | undefined;
    if (bound && reason) setAsidePath = this.startAfresh(bound, reason, log);
    const entry: ChainEntry = { t: "chain", v: JOURNAL_VERSION, at: new Date().toISOString(), ...identity };
    this.write(entry);
    this.bindings.set(identity.chainId, entry);
    return setAsidePath;
  }

  /** Releases the file and the lock. */
  close(): void {
    if (this.fd !== undefined) {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
    if (this.lockPath) {
      try {
        const owner = fs.readFileSync(this.lockPath, "utf8");
        if (owner.startsWith(`${process.pid}@`)) fs.unlinkSync(this.lockPath);
      } catch {
        // already gone
      }
      this.lockPath = undefined;
    }
  }

  // ---------------------------------------------------------------- internals

  private matches(s: SignedEntry, chainId: bigint, module: string, agent: string): boolean {
    return (
      s.chainId === chainId.toString() &&
      s.module.toLowerCase() === module.toLowerCase() &&
      s.intent.agent.toLowerCase() === agent.toLowerCase()
    );
  }

  /** Writes one line durably (write + fsync); in memory, nothing. */
  private write(line: JournalEntry | ChainEntry): void {
    if (this.readOnly)
      throw new JournalError(`Journal ${this.file} is open read-only; open it without readOnly to write.`);
    if (this.file === undefined) return;
    if (this.fd === undefined) throw new JournalError(`Journal ${this.file} is closed; open it again before use.`);
    const bytes = Buffer.from(JSON.stringify(line) + "\n", "utf8");
    let offset = 0;
    while (offset < bytes.length) offset += fs.writeSync(this.fd, bytes, offset, bytes.length - offset);
    fs.fsyncSync(this.fd);
  }

  /**
   * Sets the file aside (it stays on disk under its stale name) and starts a new one at the same path, holding the
   * bindings and entries of the other chain ids. The lock (on `<file>.lock`) is held throughout.
   */
  private startAfresh(stale: ChainEntry, reason: string, log: (line: string) => void): string | undefined {
    const chainId = stale.chainId;
    const chainOf = (e: JournalEntry) => this.records.get(e.intentId.toLowerCase())?.signed.chainId;
    const keptBindings = [...this.bindings.values()].filter((b) => b.chainId !== chainId);
    const keptEntries = this.entriesList.filter((e) => chainOf(e) !== chainId);
    let moved: string | undefined;
    if (this.file === undefined) {
      log(`journal (in memory) held intents of chain ${chainId} from another instance of it (${reason}): dropped them`);
    } else {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      this.fd = undefined;
      moved = setAside(this.file, stale, reason, "journal", log);
      this.fd = fs.openSync(this.file, "a+");
      Journal.fsyncDir(path.dirname(this.file));
    }
    this.entriesList.length = 0;
    this.records.clear();
    this.bindings.clear();
    for (const b of keptBindings) {
      this.write(b);
      this.bindings.set(b.chainId, b);
    }
    for (const e of keptEntries) this.append(e);
    return moved;
  }

  private index(entry: JournalEntry): void {
    this.entriesList.push(entry);
    const id = entry.intentId.toLowerCase();
    if (entry.t === "signed") {
      this.records.set(id, { signed: entry });
      return;
    }
    const rec = this.records.get(id);
    // An entry about an intent this journal never signed is corruption: refuse rather than guess.
    if (!rec)
      throw new JournalError(
        `Journal ${this.file ?? "(memory)"} has a "${entry.t}" entry for ${entry.intentId} without its "signed" entry; the file is damaged. Move it aside and let the client reconcile from the chain.`,
      );
    if (entry.t === "sent") rec.sent = entry;
    else if (entry.t === "outcome") rec.outcome = entry;
    else if (entry.t === "closed") rec.closed = entry;
    else {
      // Reopened: what the journal said happened is not on this chain; the intent is unfinished again.
      delete rec.sent;
      delete rec.outcome;
      delete rec.closed;
    }
  }

  private load(repair: boolean): void {
    const text = fs.readFileSync(this.file!, "utf8");
    if (text.length === 0) return;
    const lastNewline = text.lastIndexOf("\n");
    const complete = text.slice(0, lastNewline + 1);
    const torn = text.slice(lastNewline + 1);
    if (torn.length > 0 && repair) {
      // The append that wrote this never returned, so nothing acted on it: drop it.
      fs.ftruncateSync(this.fd!, Buffer.byteLength(complete, "utf8"));
      fs.fsyncSync(this.fd!);
    }
    const lines = complete.split("\n");
    lines.pop(); // after the final newline
    lines.forEach((line, i) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new JournalError(
          `Journal ${this.file} line ${i + 1} is not valid JSON; the file is damaged. Restore it from a backup or move it aside (the client then reconciles from the chain).`,
        );
      }
      const version = (parsed as { v?: unknown } | null)?.v;
      if (typeof version === "number" && version > JOURNAL_VERSION) {
        throw new JournalError(
          `Journal ${this.file} was written by a newer client (format ${version}); upgrade the client.`,
        );
      }
      if (isChainEntry(parsed)) {
        this.bindings.set(parsed.chainId, parsed);
        return;
      }
      if (!isEntry(parsed))
        throw new JournalError(`Journal ${this.file} line ${i + 1} is not a journal entry. Is this the right file?`);
      this.index(parsed);
    });
  }

  private lock(): void {
    const lockPath = this.file + ".lock";
    const me = `${process.pid}@${os.hostname()}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(lockPath, me, { flag: "wx" });
        this.lockPath = lockPath;
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
        let owner = "";
        try {
          owner = fs.readFileSync(lockPath, "utf8");
        } catch {
          continue; // released meanwhile
        }
        const [pidText, host] = owner.split("@");
        const pid = Number(pidText);
        if (host === os.hostname() && Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
          fs.unlinkSync(lockPath); // left by a process that died (crash, kill -9): take over
          continue;
        }
        throw new JournalError(
          `Journal ${this.file} is in use by process ${owner || "unknown"}. Run one client per journal (stop the other ` +
            "process or give this one its own journal file); if that process is gone, delete the .lock file.",
        );
      }
    }
    throw new JournalError(`Could not lock journal ${this.file}; retry.`);
  }

  private static fsyncDir(dir: string): void {
    try {
      const fd = fs.openSync(dir, "r");
      try {
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      // Some platforms cannot fsync a directory; the file itself is still fsynced.
    }
  }
}
