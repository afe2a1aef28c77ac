/**
 * `TEST_TIMINGS=1 npx hardhat test`: mocha's spec output, then each spec file's wall time (its top-level suites from
 * first hook to last, so `before` hooks that start a node or deploy count) and CPU time, slowest first, and the time
 * spent outside any file's suites (the clock starts once mocha has loaded the files). TEST_TIMINGS=<path>.json also
 * writes the table as JSON (`[{file, ms, cpuMs, tests}]`).
 * Wired in hardhat.config.ts; without TEST_TIMINGS mocha keeps its default reporter.
 */
import fs from "fs";
import path from "path";
import Mocha from "mocha";

export interface FileTiming {
  file: string;
  ms: number;
  /** CPU time of the test process and of the child processes it reaped meanwhile (nodes, CLI runs); null off Linux. */
  cpuMs: number | null;
  tests: number;
}

/**
 * CPU milliseconds used so far by this process and by its children that have exited and been reaped (Linux:
 * /proc/self/stat's cutime and cstime, in clock ticks of 10 ms), or null where /proc is not there. On a shared
 * machine wall time follows the load; CPU time much less so.
 */
export function cpuMsSoFar(): number | null {
  let stat: string;
  try {
    stat = fs.readFileSync("/proc/self/stat", "utf8");
  } catch {
    return null;
  }
  // Fields after "(comm)": state is field 3, so cutime (16) and cstime (17) are at 13 and 14 of this slice.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const children = (Number(fields[13]) + Number(fields[14])) * 10;
  const self = process.cpuUsage();
  return Math.round((self.user + self.system) / 1000) + children;
}

/**
 * Per-file wall times, slowest first, as table lines: file, wall seconds, share of the total wall time, CPU seconds
 * (this process and its reaped children, see {@link cpuMsSoFar}), test count.
 */
export function formatTimings(timings: FileTiming[], totalMs: number, totalCpuMs: number | null): string[] {
  const sorted = [...timings].sort((a, b) => b.ms - a.ms);
  const outside = "(outside spec files: root hooks, between files)";
  const width = Math.max(outside.length, ...sorted.map((t) => t.file.length));
  const sum = (f: (t: FileTiming) => number) => sorted.reduce((total, t) => total + f(t), 0);
  const cpu = (ms: number | null) => (ms === null ? "n/a" : `${(ms / 1000).toFixed(1)} s`);
  const line = (file: string, ms: number, cpuMs: number | null, tests: string) =>
    `${file.padEnd(width)}  ${(ms / 1000).toFixed(1).padStart(7)} s  ${((ms * 100) / Math.max(totalMs, 1)).toFixed(1).padStart(5)}%  ${cpu(cpuMs).padStart(9)}  ${tests.padStart(5)}`;
  const outsideCpu = totalCpuMs === null ? null : Math.max(0, totalCpuMs - sum((t) => t.cpuMs ?? 0));
  return [
    `${"file".padEnd(width)}  ${"wall".padStart(9)}  ${"share".padStart(6)}  ${"cpu".padStart(9)}  ${"tests".padStart(5)}`,
    ...sorted.map((t) => line(t.file, t.ms, t.cpuMs, String(t.tests))),
    line(outside, Math.max(0, totalMs - sum((t) => t.ms)), outsideCpu, ""),
    line("(total)", totalMs, totalCpuMs, String(sum((t) => t.tests))),
  ];
}

export class TimingReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    const root = path.resolve(__dirname, "..");
    const started = Date.now();
    const startedCpu = cpuMsSoFar();
    const byFile = new Map<string, FileTiming>();
    const open = new Map<Mocha.Suite, { at: number; cpu: number | null }>();
    const fileOf = (suite: Mocha.Suite | Mocha.Test): string =>
      suite.file ? path.relative(root, suite.file) : "(no file)";
    const entry = (file: string): FileTiming => {
      let t = byFile.get(file);
      if (!t) byFile.set(file, (t = { file, ms: 0, cpuMs: startedCpu === null ? null : 0, tests: 0 }));
      return t;
    };
    runner.on("suite", (suite) => {
      if (suite.parent?.root) open.set(suite, { at: Date.now(), cpu: cpuMsSoFar() });
    });
    runner.on("suite end", (suite) => {
      const start = open.get(suite);
      if (start === undefined) return;
      open.delete(suite);
      const t = entry(fileOf(suite));
      t.ms += Date.now() - start.at;
      const cpu = cpuMsSoFar();
      if (t.cpuMs !== null && cpu !== null && start.cpu !== null) t.cpuMs += cpu - start.cpu;
    });
    runner.on("test end", (test) => {
      entry(fileOf(test)).tests += 1;
    });
    runner.once("end", () => {
      const now = cpuMsSoFar();
      const lines = formatTimings(
        [...byFile.values()],
        Date.now() - started,
        now === null || startedCpu === null ? null : now - startedCpu,
      );
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
