/**
 * Helpers for the client-library specs: temporary journals and clients bound to `treasuryFixture`'s treasury.
 * No tests here.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Signer } from "ethers";
import { AgentClient, AgentClientOptions, ChainEntry, JournalEntry } from "../../../sdk";
import type { Treasury } from "../../fixtures";

/** A fresh journal path in a temporary directory. */
export function tmpJournal(name = "journal.jsonl"): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-sdk-")), name);
}

/** The journal file's intent entries, parsed (the "chain" binding lines are left out: see chainLines). */
export function readJournal(file: string): JournalEntry[] {
  return rawLines(file).filter((l) => l.t !== "chain") as JournalEntry[];
}

/** The journal file's "chain" binding lines, parsed. */
export function chainLines(file: string): ChainEntry[] {
  return rawLines(file).filter((l) => l.t === "chain") as ChainEntry[];
}

function rawLines(file: string): { t: string }[] {
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as { t: string });
}

/** An AgentClient for the fixture's agent, relayed by the fixture's relayer, with a fresh journal. */
export async function agentClient(
  fx: Treasury,
  overrides: Partial<AgentClientOptions> & { signer?: Signer } = {},
): Promise<{ client: AgentClient; journal: string }> {
  const journal = typeof overrides.journal === "string" ? overrides.journal : tmpJournal();
  const client = await AgentClient.connect({
    module: fx.moduleAddress,
    signer: fx.agent,
    relayer: fx.relayer,
    tokens: { USDC: fx.usdcAddress },
    pollIntervalMs: 20,
    retry: { retries: 2, minDelayMs: 10 },
    ...overrides,
    journal,
  });
  return { client, journal };
}
