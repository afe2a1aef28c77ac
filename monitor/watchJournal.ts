/**
 * The watchtower's reading of an agent's journal: idempotency conflicts never reach the chain, only the client's
 * journal, so the watchtower follows that file too. It remembers how many entries it has examined, which alerts of
 * the newer ones each sink has accepted, and the journal's first entry, by which a replaced file (set aside after a
 * chain restart, and started afresh) is told from a grown one. All three are kept in the checkpoint.
 */
import { Journal, JournalEntry } from "../sdk/journal";
import type { Checkpoint } from "./checkpoint";

/** What the checkpoint keeps of the journal's reading. */
export interface JournalCheckpoint {
  journalEntries: number;
  journalDelivered: Record<string, string[]>;
  journalMark?: string;
}

export class JournalWatch {
  /** Entries of the journal already examined. */
  private examinedCount = 0;
  /** Alerts of the entries not examined yet that sinks accepted: alert id -> the sinks. */
  delivered: Record<string, string[]> = {};
  /** The journal's first entry when it was last read (`intentId@at`). */
  private mark?: string;

  /** `file`: the journal (none: nothing to follow); `log`: diagnostics. */
  constructor(
    private readonly file: string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  /** Takes up the reading where a checkpoint left it. */
  restore(cp: Checkpoint): void {
    this.examinedCount = cp.journalEntries ?? 0;
    this.delivered = (cp as Checkpoint & { journalDelivered?: Record<string, string[]> }).journalDelivered ?? {};
    this.mark = cp.journalMark;
  }

  /** The reading, for the checkpoint. */
  checkpoint(): JournalCheckpoint {
    return {
      journalEntries: this.examinedCount,
      journalDelivered: this.delivered,
      ...(this.mark !== undefined ? { journalMark: this.mark } : {}),
    };
  }

  /** Remembers how far the journal goes now, so that only later entries are reported. */
  skipToEnd(): void {
    if (!this.file) return;
    const entries = this.read();
    this.examinedCount = entries.length;
    this.mark = firstEntryMark(entries);
  }

  /**
   * The journal's entries, when some have not been examined yet (`from`: the first of those); undefined otherwise, or
   * when the journal cannot be read (logged; tried again at the next poll). A journal that is not the one read before
   * (another first entry, or fewer entries: journals only grow) is read from its first entry.
   */
  unread(): { entries: readonly JournalEntry[]; from: number } | undefined {
    if (!this.file) return undefined;
    let entries;
    try {
      entries = this.read();
    } catch (error) {
      this.log(`monitor: cannot read journal ${this.file}: ${(error as Error).message}`);
      return undefined;
    }
    const mark = firstEntryMark(entries);
    if (
      this.examinedCount > 0 &&
      ((this.mark !== undefined && mark !== this.mark) || entries.length < this.examinedCount)
    ) {
      // Journals only grow: another first entry, or fewer entries, is a new file (the old one set aside after a restart).
      this.log(
        `monitor: journal ${this.file} was replaced (set aside after a chain restart?): reading it from its first entry`,
      );
      this.examinedCount = 0;
      this.delivered = {};
    }
    this.mark = mark;
    if (entries.length <= this.examinedCount) return undefined;
    return { entries, from: this.examinedCount };
  }

  /** The first `count` entries are examined and their alerts delivered. */
  examined(count: number): void {
    this.examinedCount = count;
    this.delivered = {};
  }

  private read(): readonly JournalEntry[] {
    return Journal.open(this.file!, { readOnly: true }).entries();
  }
}

function firstEntryMark(entries: readonly JournalEntry[]): string | undefined {
  return entries.length > 0 ? `${entries[0].intentId}@${entries[0].at}` : undefined;
}
