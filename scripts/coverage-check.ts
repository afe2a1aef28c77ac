/**
 * Enforces the coverage gate after `hardhat coverage` (run by `npm run coverage`): on every source under contracts/
 * except contracts/test (mocks, attackers) and contracts/safe (vendored Safe), 100% of lines and functions and at
 * least 95% of branches. Reads coverage.json (istanbul's raw map, written by solidity-coverage) and falls back to
 * coverage/coverage-summary.json. Prints a table, lists every uncovered line, function and branch, writes
 * reports/coverage.json for the audit report, and exits 1 when a threshold is missed.
 *
 * Usage: ts-node scripts/coverage-check.ts [--lines 100] [--functions 100] [--branches 95] [--json FILE]
 */
import fs from "fs";
import path from "path";

export interface FileCoverage {
  file: string;
  lines: { total: number; covered: number; pct: number };
  functions: { total: number; covered: number; pct: number };
  branches: { total: number; covered: number; pct: number };
  uncoveredLines: number[];
  uncoveredFunctions: string[];
  uncoveredBranches: { line: number; type: string; arm: number }[];
}

export interface CoverageReport {
  generatedAt: string;
  thresholds: { lines: number; functions: number; branches: number };
  total: FileCoverage;
  files: FileCoverage[];
  passed: boolean;
  failures: string[];
}

/** A missing or unreadable coverage file: the message says which command produces it. */
export class CoverageInputError extends Error {
  readonly code = "COVERAGE_INPUT";
}

interface IstanbulFile {
  path: string;
  l: Record<string, number>;
  f: Record<string, number>;
  b: Record<string, number[]>;
  fnMap: Record<string, { name: string; line?: number; loc?: { start: { line: number } } }>;
  branchMap: Record<
    string,
    { line?: number; type: string; loc?: { start: { line: number } }; locations?: { start: { line: number } }[] }
  >;
}

function pct(covered: number, total: number): number {
  return total === 0 ? 100 : Math.floor((covered / total) * 10_000) / 100;
}

function measured(rel: string): boolean {
  const p = rel.split(path.sep).join("/");
  return p.startsWith("contracts/") && !p.startsWith("contracts/test/") && !p.startsWith("contracts/safe/");
}

export function analyse(root: string): FileCoverage[] {
  const raw = path.join(root, "coverage.json");
  const summary = path.join(root, "coverage", "coverage-summary.json");
  if (fs.existsSync(raw)) {
    const data = JSON.parse(fs.readFileSync(raw, "utf8")) as Record<string, IstanbulFile>;
    const files: FileCoverage[] = [];
    for (const [key, f] of Object.entries(data)) {
      const rel = path.relative(
        root,
        path.isAbsolute(f.path ?? key) ? (f.path ?? key) : path.join(root, f.path ?? key),
      );
      if (!measured(rel)) continue;
      const lineHits = Object.entries(f.l);
      const fnHits = Object.entries(f.f);
      const uncoveredBranches: FileCoverage["uncoveredBranches"] = [];
      let branchTotal = 0;
      let branchCovered = 0;
      for (const [id, hits] of Object.entries(f.b)) {
        const meta = f.branchMap[id];
        hits.forEach((h, arm) => {
          branchTotal++;
          if (h > 0) branchCovered++;
          else
            uncoveredBranches.push({
              line: meta.line ?? meta.loc?.start.line ?? meta.locations?.[arm]?.start.line ?? 0,
              type: meta.type,
              arm,
            });
        });
      }
      const linesCovered = lineHits.filter(([, h]) => h > 0).length;
      const fnCovered = fnHits.filter(([, h]) => h > 0).length;
      files.push({
        file: rel,
        lines: { total: lineHits.length, covered: linesCovered, pct: pct(linesCovered, lineHits.length) },
        functions: { total: fnHits.length, covered: fnCovered, pct: pct(fnCovered, fnHits.length) },
        branches: { total: branchTotal, covered: branchCovered, pct: pct(branchCovered, branchTotal) },
        uncoveredLines: lineHits.filter(([, h]) => h === 0).map(([l]) => Number(l)),
        uncoveredFunctions: fnHits
          .filter(([, h]) => h === 0)
          .map(([id]) => `${f.fnMap[id].name} (line ${f.fnMap[id].line ?? f.fnMap[id].loc?.start.line})`),
        uncoveredBranches,
      });
    }
    return files.sort((a, b) => a.file.localeCompare(b.file));
  }
  if (fs.existsSync(summary)) {
    const data = JSON.parse(fs.readFileSync(summary, "utf8")) as Record<
      string,
      Record<string, { total: number; covered: number; pct: number }>
    >;
    return Object.entries(data)
      .filter(([k]) => k !== "total" && measured(path.relative(root, k)))
      .map(([k, v]) => ({
        file: path.relative(root, k),
        lines: v.lines,
        functions: v.functions,
        branches: v.branches,
        uncoveredLines: [],
        uncoveredFunctions: [],
        uncoveredBranches: [],
      }));
  }
  throw new CoverageInputError(
    "No coverage.json or coverage/coverage-summary.json: run `npm run coverage` (hardhat coverage) first",
  );
}

export function check(root: string, thresholds = { lines: 100, functions: 100, branches: 95 }): CoverageReport {
  const files = analyse(root);
  if (files.length === 0)
    throw new CoverageInputError(
      "The coverage data holds no file under contracts/: was .solcover.js's skipFiles changed?",
    );
  const sum = (k: "lines" | "functions" | "branches") => {
    const total = files.reduce((a, f) => a + f[k].total, 0);
    const covered = files.reduce((a, f) => a + f[k].covered, 0);
    return { total, covered, pct: pct(covered, total) };
  };
  const total: FileCoverage = {
    file: "total",
    lines: sum("lines"),
    functions: sum("functions"),
    branches: sum("branches"),
    uncoveredLines: [],
    uncoveredFunctions: [],
    uncoveredBranches: [],
  };
  const failures: string[] = [];
  if (total.lines.pct < thresholds.lines) failures.push(`lines ${total.lines.pct}% < ${thresholds.lines}%`);
  if (total.functions.pct < thresholds.functions)
    failures.push(`functions ${total.functions.pct}% < ${thresholds.functions}%`);
  if (total.branches.pct < thresholds.branches)
    failures.push(`branches ${total.branches.pct}% < ${thresholds.branches}%`);
  return { generatedAt: new Date().toISOString(), thresholds, total, files, passed: failures.length === 0, failures };
}

function main() {
  const args = process.argv.slice(2);
  const arg = (name: string, fallback: number) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : fallback;
  };
  const jsonIndex = args.indexOf("--json");
  const out = jsonIndex >= 0 ? args[jsonIndex + 1] : "reports/coverage.json";
  const report = check(process.cwd(), {
    lines: arg("--lines", 100),
    functions: arg("--functions", 100),
    branches: arg("--branches", 95),
  });
  const row = (f: FileCoverage) =>
    `${f.file.padEnd(48)} ${String(f.lines.pct).padStart(7)}% ${String(f.functions.pct).padStart(7)}% ${String(f.branches.pct).padStart(7)}%`;
  console.log(`${"file".padEnd(48)} ${"lines".padStart(8)} ${"funcs".padStart(8)} ${"branches".padStart(8)}`);
  for (const f of report.files) console.log(row(f));
  console.log(row(report.total));
  for (const f of report.files) {
    if (f.uncoveredLines.length) console.log(`  ${f.file}: uncovered lines ${f.uncoveredLines.join(", ")}`);
    if (f.uncoveredFunctions.length) console.log(`  ${f.file}: uncovered functions ${f.uncoveredFunctions.join(", ")}`);
    if (f.uncoveredBranches.length) {
      console.log(
        `  ${f.file}: uncovered branches ${f.uncoveredBranches.map((b) => `line ${b.line} (${b.type} arm ${b.arm})`).join(", ")}`,
      );
    }
  }
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(report, null, 2));
  if (!report.passed) {
    console.error(`\nCoverage gate FAILED: ${report.failures.join("; ")}. Add tests for the uncovered lines above.`);
    process.exitCode = 1;
  } else {
    console.log(
      `\nCoverage gate passed (lines ${report.thresholds.lines}%, functions ${report.thresholds.functions}%, branches >= ${report.thresholds.branches}%).`,
    );
  }
}

if (require.main === module) {
  try {
    main();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  }
}
