/**
 * `npm run fuzz -- --runs N`: a longer run of the invariant campaign (testkit/invariants/harness.ts) on the in-process
 * Hardhat chain, with a progress bar and the throughput in operations per second.
 *
 * Options:
 *   --runs N        sequences to run (default 200)
 *   --max-ops K     longest sequence (default 30)
 *   --seed S        fast-check seed (default: time-based, printed)
 *   --path P        replay a failure: the path fast-check printed with its seed
 *   --out FILE      where to write the statistics (default reports/fuzz.json)
 *
 * A failure prints the shrunk counterexample, its seed and path, and the command that replays it.
 */
import fs from "fs";
import path from "path";
import fc from "fast-check";
import hre from "hardhat";
import { campaignProperty, emptyStats, setupWorld } from "../testkit/invariants/harness";

/** A command-line mistake: the message says what to type instead. */
class FuzzUsageError extends Error {
  readonly code = "FUZZ_USAGE";
  constructor(message: string) {
    super(`${message}. Usage: npm run fuzz -- --runs N [--max-ops K] [--seed S --path P] [--out FILE]`);
  }
}

interface Options {
  runs: number;
  maxOps: number;
  seed: number;
  path?: string;
  out: string;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { runs: 200, maxOps: 30, seed: Date.now() % 2 ** 31, out: "reports/fuzz.json" };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const int = () => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0)
        throw new FuzzUsageError(`${flag} needs a non-negative integer, got "${value}"`);
      i++;
      return n;
    };
    if (flag === "--runs") opts.runs = int();
    else if (flag === "--max-ops") opts.maxOps = int();
    else if (flag === "--seed") opts.seed = int();
    else if (flag === "--path") {
      if (!value) throw new FuzzUsageError("--path needs the path fast-check printed");
      opts.path = value;
      i++;
    } else if (flag === "--out") {
      if (!value) throw new FuzzUsageError("--out needs a file name");
      opts.out = value;
      i++;
    } else throw new FuzzUsageError(`unknown option "${flag}"`);
  }
  if (opts.maxOps < 1) throw new FuzzUsageError("--max-ops must be at least 1");
  return opts;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  await hre.run("compile", { quiet: true });
  const world = await setupWorld(hre);
  const stats = emptyStats();
  const started = Date.now();
  const tty = process.stderr.isTTY;
  let lastPrinted = -1;
  const render = (final = false) => {
    const seconds = (Date.now() - started) / 1000;
    const done = Math.min(stats.runs, opts.runs);
    const rate = stats.ops / Math.max(seconds, 0.001);
    const eta = done > 0 ? (seconds / done) * (opts.runs - done) : Infinity;
    const width = 30;
    const filled = opts.runs === 0 ? width : Math.round((done / opts.runs) * width);
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${opts.runs} runs  ${stats.ops} ops  ${rate.toFixed(1)} ops/s  ${final ? `in ${duration(seconds)}` : `ETA ${duration(eta)}`}`;
    if (tty) process.stderr.write(`\r${line}${final ? "\n" : ""}`);
    else {
      const decile = Math.floor((done / Math.max(opts.runs, 1)) * 10);
      if (final || decile !== lastPrinted) {
        lastPrinted = decile;
        process.stderr.write(`${line}\n`);
      }
    }
  };
  const timer = setInterval(() => render(), 500);
  console.log(
    `Invariant campaign: ${opts.runs} runs of up to ${opts.maxOps} operations, seed ${opts.seed}${opts.path ? `, path ${opts.path}` : ""}`,
  );
  let failure: string | undefined;
  try {
    await fc.assert(campaignProperty(world, stats, opts.maxOps), {
      numRuns: opts.runs,
      seed: opts.seed,
      path: opts.path,
      endOnFailure: opts.path !== undefined,
    });
  } catch (e) {
    failure = e instanceof Error ? e.message : String(e);
  } finally {
    clearInterval(timer);
    render(true);
  }
  const seconds = (Date.now() - started) / 1000;
  const summary = {
    passed: failure === undefined,
    seed: opts.seed,
    path: opts.path ?? null,
    runs: stats.runs,
    operations: stats.ops,
    seconds: Number(seconds.toFixed(1)),
    opsPerSecond: Number((stats.ops / Math.max(seconds, 0.001)).toFixed(1)),
    maxOps: opts.maxOps,
    byKind: stats.byKind,
    outcomes: stats.outcomes,
    failure: failure ?? null,
    finishedAt: new Date().toISOString(),
  };
  fs.mkdirSync(path.dirname(opts.out), { recursive: true });
  fs.writeFileSync(opts.out, JSON.stringify(summary, null, 2));
  console.log(`${stats.runs} runs, ${stats.ops} operations, ${summary.opsPerSecond} ops/s; statistics in ${opts.out}`);
  if (failure !== undefined) {
    const replayPath = /path: "([^"]+)"/.exec(failure)?.[1];
    console.error(`\nFAILED\n${failure}\n`);
    console.error(
      `Replay: npm run fuzz -- --seed ${opts.seed} --max-ops ${opts.maxOps}${replayPath ? ` --path ${replayPath}` : ""}`,
    );
    process.exitCode = 1;
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? `${e.message}` : e);
  process.exitCode = 1;
});
