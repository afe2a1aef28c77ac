/**
 * The console's own records, append-only JSON lines in `<deployments dir>/console/<chainId>-<module>[-<node instance>]/`:
 * - `signatures.jsonl`: co-signers' `CosignerApproval` signatures collected from the page, one line each, written
 *   only after the server checked them (console/server.ts: a current co-signer, the current era, a signature that
 *   verifies against the module's own digest). Whoever presses Execute passes them to `executeQueued`.
 * - `reasons.jsonl`: agents' reason texts pasted by reviewers, stored only when keccak256 of the text is the
 *   intent's on-chain rationale.
 * Each line is appended with one write and made durable with fsync before the server answers; a torn last line
 * (a crash in the middle of a write) is ignored on reading, and a malformed line elsewhere is refused. Plain
 * `fs`, no native modules.
 */
import fs from "fs";
import path from "path";

export interface StoredSignature {
  t: "signature";
  at: string;
  intentId: string;
  signer: string;
  cosignerEra: number;
  signature: string;
}

export interface StoredReason {
  t: "reason";
  at: string;
  intentId: string;
  text: string;
}

/**
 * The console's store directory for a module. On a local development node the record names the node's instance:
 * a restarted node that got the same module again (CREATE2) starts with a fresh store, not with the alerts,
 * signatures and watchtower checkpoint of the chain that is gone.
 */
export function storeDir(
  deploymentsDir: string,
  record: { chainId: string; module: string; nodeInstance?: string },
): string {
  const instance = record.nodeInstance ? `-${record.nodeInstance.replace(/[^\w]/g, "").slice(0, 16)}` : "";
  return path.join(deploymentsDir, "console", `${record.chainId}-${record.module.toLowerCase()}${instance}`);
}

/** A file of one JSON object per line, appended to and read back in order. */
export class JsonLinesFile<T extends { t: string }> {
  constructor(
    readonly file: string,
    private readonly kind: T["t"],
  ) {}

  /** Every complete line, oldest first. */
  read(): T[] {
    if (!fs.existsSync(this.file)) return [];
    const text = fs.readFileSync(this.file, "utf8");
    const lines = text.split("\n");
    // The last element is "" after a final newline, or a torn line whose write never returned: not a record.
    lines.pop();
    return lines.map((line, i) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        throw new Error(
          `${this.file} line ${i + 1} is not JSON: the file is damaged. Move it aside (signatures can be collected again).`,
        );
      }
      if (!parsed || typeof parsed !== "object" || (parsed as { t?: unknown }).t !== this.kind) {
        throw new Error(`${this.file} line ${i + 1} is not a "${this.kind}" record. Is this the right file?`);
      }
      return parsed as T;
    });
  }

  /** Appends one record durably (write + fsync) before returning. */
  append(record: T): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const fd = fs.openSync(this.file, "a");
    try {
      const line = Buffer.from(`${JSON.stringify(record)}\n`, "utf8");
      let offset = 0;
      while (offset < line.length) offset += fs.writeSync(fd, line, offset, line.length - offset);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}

/** The signatures and reasons of one module. */
export class ConsoleStore {
  readonly signatures: JsonLinesFile<StoredSignature>;
  readonly reasons: JsonLinesFile<StoredReason>;

  constructor(readonly dir: string) {
    this.signatures = new JsonLinesFile<StoredSignature>(path.join(dir, "signatures.jsonl"), "signature");
    this.reasons = new JsonLinesFile<StoredReason>(path.join(dir, "reasons.jsonl"), "reason");
  }

  /** Adds a checked signature unless the same signer already gave one for the intent in the same era. */
  addSignature(s: Omit<StoredSignature, "t" | "at">): boolean {
    const same = this.signatures
      .read()
      .some(
        (x) =>
          x.intentId === s.intentId &&
          x.signer.toLowerCase() === s.signer.toLowerCase() &&
          x.cosignerEra === s.cosignerEra,
      );
    if (same) return false;
    this.signatures.append({ t: "signature", at: new Date().toISOString(), ...s });
    return true;
  }

  /** Adds a checked reason text unless the intent already has one. */
  addReason(r: Omit<StoredReason, "t" | "at">): boolean {
    if (this.reasons.read().some((x) => x.intentId === r.intentId)) return false;
    this.reasons.append({ t: "reason", at: new Date().toISOString(), ...r });
    return true;
  }
}
