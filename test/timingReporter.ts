/**
 * `TEST_TIMINGS=1 npx hardhat test`: mocha's spec output, then each spec file's wall time (its top-level suites from
 * first hook to last, so `before` hooks that start a node or deploy count), slowest first, and the time spent outside
 * any file's suites (the clock starts once mocha has loaded the files). TEST_TIMINGS=<path>.json also writes the table as JSON (`[{file, ms, tests}]`).
 * Wired in hardhat.config.ts; without TEST_TIMINGS mocha keeps its default reporter.
 */
import fs from "fs";
import path from "path";
import Mocha from "mocha";

export interface FileTiming {
  file: string;
  ms: number;
  tests: number;
}

/** Per-file wall times, slowest first, as table lines (file, seconds, share of the total, test count). */
export function formatTimings(timings: FileTiming[], totalMs: number): string[] {
  const sorted = [...timings].sort((a, b) => b.ms - a.ms);
  const outside = "(outside spec files: root hooks, between files)";
  const width = Math.max(outside.length, ...sorted.map((t) => t.file.length));
  const inFiles = sorted.reduce((sum, t) => sum + t.ms, 0);
  const line = (file: string, ms: number, tests: string) =>
    `${file.padEnd(width)}  ${(ms / 1000).toFixed(1).padStart(7)} s  ${((ms * 100) / Math.max(totalMs, 1)).toFixed(1).padStart(5)}%  ${tests.padStart(5)}`;
  return [
    `${"file".padEnd(width)}  ${"wall".padStart(9)}  ${"share".padStart(6)}  ${"tests".padStart(5)}`,
    ...sorted.map((t) => line(t.file, t.ms, String(t.tests))),
    line(outside, Math.max(0, totalMs - inFiles), ""),
    line("(total)", totalMs, String(sorted.reduce((sum, t) => sum + t.tests, 0))),
  ];
}

export class TimingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    const root = path.resolve(__dirname, "..");
    const started = Date.now();
    const byFile = new Map<string, FileTiming>();
    const open = new Map<Mocha.Suite, number>();
    const fileOf = (suite: Mocha.Suite | Mocha.Test): string =>
      suite.file ? path.relative(root, suite.file) : "(no file)";
    const entry = (file: string): FileTiming => {
      let t = byFile.get(file);
      if (!t) byFile.set(file, (t = { file, ms: 0, tests: 0 }));
      return t;
    };
    runner.on("suite", (suite) => {
      if (suite.parent?.root) open.set(suite, Date.now());
    });
    runner.on("suite end", (suite) => {
      const start = open.get(suite);
      if (start === undefined) return;
      open.delete(suite);
      entry(fileOf(suite)).ms += Date.now() - start;
    });
    runner.on("test end", (test) => {
      entry(fileOf(test)).tests += 1;
    });
    runner.once("end", () => {
      const lines = formatTimings([...byFile.values()], Date.now() - started);
      console.log(["", "Wall time per spec file (TEST_TIMINGS):", ...lines.map((l) => `  ${l}`)].join("\n"));
      const out = process.env.TEST_TIMINGS ?? "";
      if (out.endsWith(".json")) {
        fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
        const rows = [...byFile.values()].sort((a, b) => b.ms - a.ms);
        fs.writeFileSync(out, JSON.stringify(rows, null, 2) + "\n");
      }
    });
  }
}
