/**
 * `npm run mutation`: mutation testing of the contracts with SuMo (@morenabarboni/sumo). Writes the mutation score
 * and every surviving mutant to reports/mutation.json (read by `npm run audit`).
 *
 * SuMo rewrites contracts in place and empties the build directory, so it never runs in the working tree: this
 * script copies the project into a sandbox (node_modules linked, SuMo itself copied so that its operator settings
 * stay private), writes sumo-config.js there, and points SuMo at the sandbox with APP_ROOT_PATH.
 *
 * Options:
 *   --contracts a.sol,b.sol   contracts to mutate, relative to contracts/ (default: everything but test/, safe/,
 *                             interfaces/). Each mutant recompiles the module (legacy pipeline in the sandbox, see
 *                             hardhat.mutation.config.ts) and reruns the specs until one fails, so a full run of
 *                             every mutant takes hours; pick files for a quick look.
 *   --tests a,b               spec files that try to kill each mutant (default: unit, scenarios, a short invariant
 *                             campaign; the 2,000-intent state-growth story is left out)
 *   --operators AOR,BOR,...   mutation operators to enable (default: SuMo's standard set)
 *   --minimal                 SuMo's minimal mutation rules (fewer, less redundant mutants)
 *   --preflight               only generate and count the mutants
 *   --max N                   test at most the first N mutants
 *   --sample N                test N mutants spread evenly over every selected contract's generated list (every
 *                             k-th of each file, k chosen so the files share N in proportion to their mutants):
 *                             an estimate of the whole score in one run (one SuMo pre-test, then N mutants)
 *   --keep                    keep the sandbox afterwards (printed path)
 *   --report-only             write the report from the sandbox's results so far (a run stopped midway)
 *
 * Score = killed / (killed + live). Timed-out mutants count as killed (the tests noticed); stillborn mutants (that
 * do not compile) and equivalent/redundant ones are excluded, as SuMo reports them.
 */
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";

/** A bad option or a failed SuMo step: the message says what to do next. */
class MutationError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

interface Options {
  contracts?: string[];
  tests?: string[];
  operators?: string[];
  minimal: boolean;
  preflight: boolean;
  max?: number;
  sample?: number;
  keep: boolean;
  reportOnly: boolean;
  out: string;
}

interface MutantRow {
  id: string;
  file: string;
  operator: string;
  startLine: number;
  original: string;
  replacement: string;
  status: string;
  seconds: number;
}

const ROOT = process.cwd();
const SKIP_COPY = new Set([
  "node_modules",
  ".git",
  "artifacts",
  "cache",
  "coverage",
  "coverage.json",
  "reports",
  ".sumo",
  ".coverage_artifacts",
  ".coverage_cache",
  ".coverage_contracts",
]);
const DEFAULT_SKIP = ["test", "safe", "interfaces"];

function parseArgs(argv: string[]): Options {
  const o: Options = { minimal: false, preflight: false, keep: false, reportOnly: false, out: "reports/mutation.json" };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const list = () => {
      const v = argv[++i];
      if (!v) throw new MutationError("MUTATION_USAGE", `${a} needs a comma-separated list`);
      return v
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean);
    };
    if (a === "--contracts") o.contracts = list();
    else if (a === "--tests") o.tests = list();
    else if (a === "--operators") o.operators = list();
    else if (a === "--minimal") o.minimal = true;
    else if (a === "--preflight") o.preflight = true;
    else if (a === "--keep") o.keep = true;
    else if (a === "--report-only") o.reportOnly = true;
    else if (a === "--max") o.max = Number(argv[++i]);
    else if (a === "--sample") o.sample = Number(argv[++i]);
    else if (a === "--out") o.out = argv[++i];
    else throw new MutationError("MUTATION_USAGE", `unknown option ${a}; see the header of scripts/mutation.ts`);
  }
  return o;
}

function listSpecs(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSpecs(p));
    else if (entry.name.endsWith(".spec.ts")) out.push(p);
  }
  return out.sort();
}

function defaultTests(): string[] {
  const rel = (p: string) => path.relative(ROOT, p);
  const unit = listSpecs(path.join(ROOT, "test", "unit")).filter((p) => !p.includes(`${path.sep}sdk${path.sep}`));
  const scenarios = listSpecs(path.join(ROOT, "test", "scenarios")).filter((p) => !p.endsWith("StateGrowth.spec.ts"));
  const invariants = listSpecs(path.join(ROOT, "test", "invariants"));
  // Fastest killers first: --bail stops at the first failing test.
  return [...invariants, ...unit, ...scenarios].map(rel);
}

/** All .sol files under contracts/ except the skipped folders, relative to contracts/. */
function mutableContracts(): string[] {
  const base = path.join(ROOT, "contracts");
  const walk = (dir: string): string[] =>
    fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? walk(p) : e.name.endsWith(".sol") ? [path.relative(base, p)] : [];
    });
  return walk(base).filter((f) => !DEFAULT_SKIP.some((s) => f.startsWith(s + path.sep)));
}

function copyProject(sandbox: string): void {
  fs.rmSync(sandbox, { recursive: true, force: true });
  fs.mkdirSync(sandbox, { recursive: true });
  for (const entry of fs.readdirSync(ROOT)) {
    if (SKIP_COPY.has(entry)) continue;
    fs.cpSync(path.join(ROOT, entry), path.join(sandbox, entry), { recursive: true });
  }
  // node_modules: links to the real packages, except SuMo, copied so that its operator switches stay private.
  const nm = path.join(sandbox, "node_modules");
  fs.mkdirSync(nm);
  for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
    const src = path.join(ROOT, "node_modules", entry);
    if (entry === "@morenabarboni") {
      fs.cpSync(src, path.join(nm, entry), { recursive: true, dereference: true });
    } else {
      fs.symlinkSync(src, path.join(nm, entry));
    }
  }
  // SuMo 1.2.1 calls glob 7's callback API but does not depend on glob: the hoisted glob is 10 (promises only).
  // Give the sandbox's SuMo a glob 7 from the tree.
  const glob7 = findGlob7();
  if (!glob7)
    throw new MutationError("MUTATION_SETUP", "SuMo needs glob 7 and none is installed under node_modules: run npm ci");
  const sumoModules = path.join(nm, "@morenabarboni", "sumo", "node_modules");
  fs.mkdirSync(sumoModules, { recursive: true });
  fs.rmSync(path.join(sumoModules, "glob"), { recursive: true, force: true });
  fs.symlinkSync(glob7, path.join(sumoModules, "glob"));
  fs.mkdirSync(path.join(sandbox, "artifacts"), { recursive: true });
}

function findGlob7(): string | undefined {
  const candidates = ["globby", "rimraf", "shelljs", "typechain"].map((p) =>
    path.join(ROOT, "node_modules", p, "node_modules", "glob"),
  );
  return candidates.find((c) => {
    try {
      return (
        JSON.parse(fs.readFileSync(path.join(c, "package.json"), "utf8")) as { version: string }
      ).version.startsWith("7.");
    } catch {
      return false;
    }
  });
}

function configureSandbox(sandbox: string, o: Options, tests: string[]): void {
  const contracts = o.contracts ?? mutableContracts();
  const all = mutableContracts();
  const unknown = contracts.filter((c) => !fs.existsSync(path.join(ROOT, "contracts", c)));
  if (unknown.length)
    throw new MutationError("MUTATION_USAGE", `no such contract(s) under contracts/: ${unknown.join(", ")}`);
  // SuMo selects by skipping: skip every mutable contract that was not chosen, plus the default folders.
  const skip = [...DEFAULT_SKIP, ...all.filter((c) => !contracts.includes(c))];
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const base = require(path.join(ROOT, "sumo-config.js")) as Record<string, unknown>;
  const config = { ...base, skipContracts: skip, minimal: o.minimal };
  fs.writeFileSync(path.join(sandbox, "sumo-config.js"), `module.exports = ${JSON.stringify(config, null, 2)};\n`);
  const pkgPath = path.join(sandbox, "package.json");
  const pkg = JSON.parse(fs.readFileSync(pkgPath, "utf8")) as { scripts: Record<string, string> };
  // The sandbox builds with hardhat.mutation.config.ts: the module through the legacy pipeline (seconds per mutant
  // instead of the IR pipeline's minutes); see that file's header.
  pkg.scripts.compile = "hardhat --config hardhat.mutation.config.ts compile --quiet";
  pkg.scripts.test = `hardhat --config hardhat.mutation.config.ts test --bail --no-compile ${tests.join(" ")}`;
  fs.writeFileSync(pkgPath, JSON.stringify(pkg, null, 2));
  if (o.operators) {
    const opsPath = path.join(sandbox, "node_modules", "@morenabarboni", "sumo", "src", "operators.config.json");
    const ops = JSON.parse(fs.readFileSync(opsPath, "utf8")) as Record<string, boolean>;
    for (const k of Object.keys(ops)) ops[k] = o.operators.includes(k);
    fs.writeFileSync(opsPath, JSON.stringify(ops, null, 2));
  }
}

function sumo(sandbox: string, args: string[]): number {
  const bin = path.join(sandbox, "node_modules", "@morenabarboni", "sumo", "index.js");
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: sandbox,
    stdio: "inherit",
    env: {
      ...process.env,
      APP_ROOT_PATH: sandbox,
      INVARIANT_RUNS: process.env.INVARIANT_RUNS ?? "10",
      FORCE_COLOR: "0",
    },
  });
  return r.status ?? 1;
}

/**
 * Every k-th mutant of each file's generated list (the first of each stride), with k = total / n, so each file
 * contributes in proportion to its mutants and every operator and region of a file is reached.
 */
function sampleOf(generated: MutantRow[], n: number): MutantRow[] {
  if (!Number.isInteger(n) || n < 1)
    throw new MutationError("MUTATION_USAGE", `--sample needs a positive integer, got ${n}`);
  if (n >= generated.length) return generated;
  const stride = generated.length / n;
  const picked: MutantRow[] = [];
  for (let i = 0; i < n; i++) picked.push(generated[Math.floor(i * stride)]);
  return picked;
}

/**
 * Makes the sandbox's SuMo test only `sample`: its copy of mutationRunner.js (private to the sandbox, see
 * copyProject) filters the generated mutants by the ids listed in .sumo/sample.json.
 */
function restrictToSample(sandbox: string, sample: MutantRow[]): void {
  const list = path.join(sandbox, ".sumo", "sample.json");
  fs.writeFileSync(list, JSON.stringify(sample.map((m) => m.id)));
  const runner = path.join(sandbox, "node_modules", "@morenabarboni", "sumo", "src", "mutationRunner.js");
  const source = fs.readFileSync(runner, "utf8");
  const anchor = "var mutations = generateAllMutations(contractsUnderMutation, true)";
  if (!source.includes(anchor))
    throw new MutationError("MUTATION_SETUP", `this SuMo version has no "${anchor}": --sample cannot select mutants`);
  const filter = `${anchor}\n        { const only = new Set(JSON.parse(require("fs").readFileSync(${JSON.stringify(list)}, "utf8"))); mutations = mutations.filter((m) => only.has(m.id)); }`;
  fs.writeFileSync(runner, source.replace(anchor, filter));
  console.log(`Sample: ${sample.length} mutants (${list})`);
}

function readCsv(file: string): MutantRow[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs
    .readFileSync(file, "utf8")
    .split("\n")
    .slice(1)
    .filter((l) => l.trim());
  return lines.map((l) => {
    const c = l.split("$");
    // generated.csv and results.csv share the first columns: Hash$File$Operator$Start$End$StartLine$EndLine$Original$Replacement[$Status$Time]
    return {
      id: c[0],
      file: c[1],
      operator: c[2],
      startLine: Number(c[5]),
      original: c[7],
      replacement: c[8],
      status: c[9] ?? "generated",
      seconds: c[10] ? Number(c[10]) / 1000 : 0,
    };
  });
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  const tests = o.tests ?? defaultTests();
  const sandbox = path.join(os.tmpdir(), "atg-mutation-sandbox");
  if (o.reportOnly) {
    writeReport(sandbox, o, tests, readCsv(path.join(sandbox, ".sumo", "results", "generated.csv")), Date.now(), 0);
    return;
  }
  console.log(`Mutation testing in sandbox ${sandbox}`);
  copyProject(sandbox);
  configureSandbox(sandbox, o, tests);
  const generatedCsv = path.join(sandbox, ".sumo", "results", "generated.csv");
  if (o.preflight || o.max !== undefined || o.sample !== undefined) {
    if (sumo(sandbox, ["preflight"]) !== 0)
      throw new MutationError("MUTATION_SUMO", "sumo preflight failed (see its output above)");
  }
  const generated = readCsv(generatedCsv);
  if (o.preflight) {
    const byFile: Record<string, number> = {};
    for (const m of generated)
      byFile[path.relative(path.join(sandbox, "contracts"), m.file)] =
        (byFile[path.relative(path.join(sandbox, "contracts"), m.file)] ?? 0) + 1;
    console.log(JSON.stringify({ mutants: generated.length, byFile }, null, 2));
    return;
  }
  const started = Date.now();
  const args = ["test"];
  if (o.max !== undefined && generated.length > o.max) args.push(generated[0].id, generated[o.max - 1].id);
  if (o.sample !== undefined) restrictToSample(sandbox, sampleOf(generated, o.sample));
  const status = sumo(sandbox, args);
  writeReport(sandbox, o, tests, generated, started, status);
  if (!o.keep) fs.rmSync(sandbox, { recursive: true, force: true });
}

function writeReport(
  sandbox: string,
  o: Options,
  tests: string[],
  generated: MutantRow[],
  started: number,
  status: number,
): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const config = require(path.join(ROOT, "sumo-config.js")) as { survivorNotes?: Record<string, string> };
  const notes = config.survivorNotes ?? {};
  const results = readCsv(path.join(sandbox, ".sumo", "results", "results.csv"));
  if (results.length === 0) {
    throw new MutationError(
      "MUTATION_SUMO",
      `SuMo produced no results (exit ${status}); the pre-test must pass in the sandbox: run the selected specs with npx hardhat test`,
    );
  }
  const count = (s: string) => results.filter((r) => r.status === s).length;
  const killed = count("killed") + count("timedout");
  const live = count("live");
  const score = killed + live === 0 ? 0 : Math.round((killed / (killed + live)) * 10_000) / 100;
  const rel = (f: string) => path.relative(sandbox, f);
  const report = {
    generatedAt: new Date().toISOString(),
    tool: "SuMo @morenabarboni/sumo",
    contracts: o.contracts ?? mutableContracts(),
    tests,
    operators: o.operators ?? "SuMo standard set",
    minimal: o.minimal,
    sample: o.sample ?? null,
    mutantsGenerated: generated.length || results.length,
    mutantsTested: results.length,
    killed,
    live,
    timedout: count("timedout"),
    stillborn: count("stillborn"),
    equivalent: count("equivalent") + count("redundant"),
    score,
    minutes: o.reportOnly
      ? Math.round(results.reduce((a, r) => a + r.seconds, 0) / 0.6) / 100
      : Math.round((Date.now() - started) / 600) / 100,
    survivors: results
      .filter((r) => r.status === "live")
      .map((r) => ({
        id: r.id,
        file: rel(r.file),
        line: r.startLine,
        operator: r.operator,
        original: r.original,
        replacement: r.replacement,
        why: notes[r.id] ?? "not analysed yet",
      })),
  };
  fs.mkdirSync(path.dirname(path.join(ROOT, o.out)), { recursive: true });
  fs.writeFileSync(path.join(ROOT, o.out), JSON.stringify(report, null, 2));
  console.log(
    `\nMutation score ${score}% (${killed} killed, ${live} survived, ${report.stillborn} stillborn) in ${report.minutes} min; report in ${o.out}`,
  );
  for (const s of report.survivors)
    console.log(`  survived ${s.id} ${s.file}:${s.line} ${s.operator}: ${s.original} -> ${s.replacement}`);
}

try {
  main();
} catch (e) {
  console.error(e instanceof MutationError ? `${e.code}: ${e.message}` : e);
  process.exitCode = 1;
}
