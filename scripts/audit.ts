/**
 * `npm run audit`: one command that runs what an auditor runs and writes one report.
 *
 * Steps (each logged to reports/audit-logs/<step>.log):
 *   lint      npm run lint
 *   tests     the whole test suite, with per-test results collected (reports/mocha.json)
 *   coverage  npm run coverage (solidity-coverage + the thresholds of scripts/coverage-check.ts)
 *   rebuild   npx hardhat compile --force (coverage leaves instrumented artifacts behind)
 *   bench     npm run bench (reports/gas.json, reports/gas-budgets.json)
 *   fuzz      a short invariant campaign, npm run fuzz -- --runs 100 (reports/fuzz.json)
 * then reports/audit.md and a self-contained reports/audit.html: the threat table of docs/THREAT-MODEL.md with each
 * claim's test result, coverage, the gas table against its baselines, the campaign's statistics, and the mutation
 * score when reports/mutation.json exists (`npm run mutation`, hours: not run here). The page is also rendered to
 * reports/audit.png in the headless Chromium that npm installs (@sparticuz/chromium, testkit/browser.ts).
 *
 * Options: --skip step,step (reuse that step's last report if any)   --fuzz-runs N (default 100)
 *          --tests a,b (run only these spec files in the tests step; default: the whole suite)
 * Exit code 1 when any step failed.
 */
import { spawn } from "child_process";
import fs from "fs";
import path from "path";
import { threatModelRows, titleHasTestId } from "./threatModel";

const ROOT = process.cwd();
const REPORTS = path.join(ROOT, "reports");
const LOGS = path.join(REPORTS, "audit-logs");

// ------------------------------------------------------------------ per-test results (used inside the test child)

interface TestResult {
  title: string;
  fullTitle: string;
  file: string;
  state: "passed" | "failed" | "pending";
  durationMs: number;
  error?: string;
}

/**
 * A mocha reporter that prints like `spec` and writes every test's result to MOCHA_RESULTS. Loaded by the test
 * child process (see `testsStep`), which runs Hardhat's own `test` task with it.
 */
export function makeAuditReporter() {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Mocha = require("mocha") as typeof import("mocha");
  return class AuditReporter extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
      super(runner, options);
      const results: TestResult[] = [];
      const record = (t: Mocha.Test | Mocha.Hook, state: TestResult["state"], err?: Error) =>
        results.push({
          title: t.title,
          fullTitle: t.fullTitle(),
          file: path.relative(ROOT, t.file ?? ""),
          state,
          durationMs: t.duration ?? 0,
          error: err ? `${err.message}`.slice(0, 2000) : undefined,
        });
      runner.on("pass", (t) => record(t, "passed"));
      runner.on("fail", (t, err) => record(t, "failed", err));
      runner.on("pending", (t) => record(t, "pending"));
      runner.once("end", () => {
        const out = process.env.MOCHA_RESULTS ?? path.join(REPORTS, "mocha.json");
        fs.mkdirSync(path.dirname(out), { recursive: true });
        fs.writeFileSync(out, JSON.stringify({ stats: this.stats, tests: results }, null, 2));
      });
    }
  };
}

// ------------------------------------------------------------------ steps

interface StepResult {
  name: string;
  command: string;
  ok: boolean;
  skipped: boolean;
  seconds: number;
  tail: string;
}

function run(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string> = {},
  label?: string,
): Promise<StepResult> {
  fs.mkdirSync(LOGS, { recursive: true });
  const log = fs.createWriteStream(path.join(LOGS, `${name}.log`));
  const started = Date.now();
  console.log(`\n=== ${name}: ${label ?? `${command} ${args.join(" ")}`}`);
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let tail = "";
    const onData = (chunk: Buffer) => {
      process.stdout.write(chunk);
      log.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => {
      log.end();
      resolve({
        name,
        command: label ?? `${command} ${args.join(" ")}`,
        ok: code === 0,
        skipped: false,
        seconds: (Date.now() - started) / 1000,
        tail,
      });
    });
  });
}

function testsStep(files: string[]): Promise<StepResult> {
  const child = [
    `const { makeAuditReporter } = require(${JSON.stringify(path.join(ROOT, "scripts", "audit.ts"))});`,
    `const hre = require("hardhat");`,
    `hre.config.mocha.reporter = makeAuditReporter();`,
    // Hardhat 2's test task resolves to undefined and reports failures through process.exitCode (their count).
    `hre.run("test", { testFiles: ${JSON.stringify(files)} }).then(() => { process.exitCode = process.exitCode ? 1 : 0; }, (e) => { console.error(e); process.exitCode = 1; });`,
  ].join("\n");
  const label = `hardhat test ${files.length ? files.map((f) => path.relative(ROOT, f)).join(" ") : "(whole suite)"} with per-test results in reports/mocha.json`;
  return run(
    "tests",
    process.execPath,
    ["-r", "ts-node/register", "-e", child],
    { TS_NODE_TRANSPILE_ONLY: "1", MOCHA_RESULTS: path.join(REPORTS, "mocha.json") },
    label,
  );
}

// ------------------------------------------------------------------ reading the reports

interface Claim {
  id: string;
  claim: string;
  promise: string;
  file: string;
  test: string;
  result: "passed" | "failed" | "pending" | "not run";
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function claims(tests: TestResult[]): Claim[] {
  return threatModelRows(ROOT).map(({ id, claim, promise, file, test }) => {
    const hits = tests.filter((t) => titleHasTestId(t.title, test) && (!t.file || t.file === file));
    const result: Claim["result"] =
      hits.length === 0
        ? "not run"
        : hits.some((h) => h.state === "failed")
          ? "failed"
          : hits.every((h) => h.state === "pending")
            ? "pending"
            : "passed";
    return { id, claim, promise, file, test, result };
  });
}

interface Coverage {
  total: { lines: { pct: number }; functions: { pct: number }; branches: { pct: number } };
  files: {
    file: string;
    lines: { pct: number; total: number };
    functions: { pct: number; total: number };
    branches: { pct: number; total: number };
    uncoveredLines: number[];
    uncoveredBranches: { line: number }[];
  }[];
  passed: boolean;
  thresholds: { lines: number; functions: number; branches: number };
}
interface GasRow {
  name: string;
  gas: number;
  ratio: number;
  note?: string;
}
interface Budgets {
  budgets: { name: string; gas: number; budget: number; aim: number | null; pass: boolean }[];
  stability?: { label: string; diffPercent: number; limitPercent: number; pass: boolean }[];
}
interface Fuzz {
  passed: boolean;
  seed: number;
  runs: number;
  operations: number;
  seconds: number;
  opsPerSecond: number;
  maxOps: number;
  outcomes: Record<string, number>;
  byKind: Record<string, number>;
  failure: string | null;
}
interface Mutation {
  score: number;
  killed: number;
  live: number;
  stillborn: number;
  mutantsTested: number;
  mutantsGenerated: number;
  contracts: string[];
  minutes: number;
  survivors: {
    id: string;
    file: string;
    line: number;
    operator: string;
    original: string;
    replacement: string;
    why?: string;
  }[];
}

// ------------------------------------------------------------------ rendering

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

function md(s: unknown): string {
  return String(s).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

interface Report {
  generatedAt: string;
  steps: StepResult[];
  claims: Claim[];
  tests?: { passes: number; failures: number; pending: number; total: number };
  coverage?: Coverage;
  gas?: GasRow[];
  budgets?: Budgets;
  fuzz?: Fuzz;
  mutation?: Mutation;
}

function markdown(r: Report): string {
  const out: string[] = [];
  out.push(`# Agent Treasury Guard: audit report`, "", `Generated ${r.generatedAt} by \`npm run audit\`.`, "");
  out.push("## Steps", "", "| step | result | time | command |", "|---|---|---|---|");
  for (const s of r.steps)
    out.push(
      `| ${s.name} | ${s.skipped ? "skipped" : s.ok ? "pass" : "FAIL"} | ${s.seconds.toFixed(0)} s | \`${md(s.command)}\` |`,
    );
  if (r.tests) out.push("", `Tests: ${r.tests.passes} passed, ${r.tests.failures} failed, ${r.tests.pending} pending.`);
  const ok = r.claims.filter((c) => c.result === "passed").length;
  out.push("", `## Threats and claims (${ok} of ${r.claims.length} verified)`, "", "Source: docs/THREAT-MODEL.md.", "");
  out.push("| ID | claim | promise | test | result |", "|---|---|---|---|---|");
  for (const c of r.claims)
    out.push(`| ${c.id} | ${md(c.claim)} | ${c.promise} | \`${c.file}\` ${md(c.test)} | ${c.result} |`);
  if (r.coverage) {
    const t = r.coverage.total;
    out.push(
      "",
      "## Coverage",
      "",
      `Gate (lines ${r.coverage.thresholds.lines}%, functions ${r.coverage.thresholds.functions}%, branches ${r.coverage.thresholds.branches}%): ${r.coverage.passed ? "pass" : "FAIL"}.`,
      "",
    );
    out.push("| file | lines | functions | branches | uncovered lines |", "|---|---|---|---|---|");
    for (const f of r.coverage.files.filter((x) => x.lines.total + x.functions.total + x.branches.total > 0)) {
      out.push(
        `| ${f.file} | ${f.lines.pct}% | ${f.functions.pct}% | ${f.branches.pct}% | ${f.uncoveredLines.join(", ")} |`,
      );
    }
    out.push(`| **total** | **${t.lines.pct}%** | **${t.functions.pct}%** | **${t.branches.pct}%** | |`);
  } else out.push("", "## Coverage", "", "No coverage report (run `npm run coverage`).");
  if (r.gas) {
    out.push(
      "",
      "## Gas (against the Safe 1-of-1 ERC-20 transfer baseline of the same run)",
      "",
      "| operation | gas | x baseline | budget | within budget |",
      "|---|---|---|---|---|",
    );
    for (const g of r.gas) {
      const b = r.budgets?.budgets.find((x) => x.name === g.name);
      out.push(
        `| ${md(g.name)} | ${g.gas.toLocaleString("en")} | ${g.ratio.toFixed(2)} | ${b ? b.budget.toLocaleString("en") : ""} | ${b ? (b.pass ? "yes" : "NO") : ""} |`,
      );
    }
  } else out.push("", "## Gas", "", "No gas report (run `npm run bench`).");
  if (r.fuzz) {
    const f = r.fuzz;
    out.push(
      "",
      "## Invariant campaign",
      "",
      `${f.passed ? "Passed" : "FAILED"}: ${f.runs} runs, ${f.operations} operations (sequences of up to ${f.maxOps}), ${f.seconds} s, ${f.opsPerSecond} ops/s, seed ${f.seed}.`,
      "",
    );
    out.push("| outcome | count |", "|---|---|");
    for (const [k, v] of Object.entries(f.outcomes).sort((a, b) => b[1] - a[1])) out.push(`| ${md(k)} | ${v} |`);
    if (f.failure) out.push("", "```", f.failure, "```");
  }
  if (r.mutation) {
    const m = r.mutation;
    out.push(
      "",
      "## Mutation testing (SuMo)",
      "",
      `Score ${m.score}%: ${m.killed} killed, ${m.live} survived, ${m.stillborn} stillborn, of ${m.mutantsTested} tested (${m.mutantsGenerated} generated) in ${m.minutes} min. Contracts: ${m.contracts.join(", ")}.`,
      "",
    );
    if (m.survivors.length) {
      out.push("| mutant | where | operator | change | why it survives |", "|---|---|---|---|---|");
      for (const s of m.survivors)
        out.push(
          `| ${s.id} | ${s.file}:${s.line} | ${s.operator} | \`${md(s.original)}\` -> \`${md(s.replacement)}\` | ${md(s.why ?? "")} |`,
        );
    }
  } else out.push("", "## Mutation testing", "", "No reports/mutation.json (run `npm run mutation`).");
  return out.join("\n") + "\n";
}

const CSS = `
:root{--ok:#137333;--bad:#c5221f;--warn:#b06000;--mute:#5f6368;--line:#dadce0;--bg:#f8f9fa}
*{box-sizing:border-box}body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#202124;margin:0;background:#fff}
header{background:#1a2b4c;color:#fff;padding:24px 40px}header h1{margin:0 0 4px;font-size:24px}header p{margin:0;opacity:.8}
main{padding:24px 40px;max-width:1400px}h2{font-size:18px;margin:32px 0 12px;border-bottom:2px solid var(--line);padding-bottom:6px}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid var(--line);border-radius:8px;padding:12px 16px;min-width:150px;background:var(--bg)}
.card b{display:block;font-size:22px}.card span{color:var(--mute);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:#f1f3f4;padding:1px 4px;border-radius:3px;word-break:break-all}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.passed,.pass{background:var(--ok)}.failed,.fail{background:var(--bad)}.pending,.skipped,.notrun{background:var(--warn)}
.bar{height:8px;background:#e8eaed;border-radius:4px;overflow:hidden;min-width:80px}.bar i{display:block;height:100%;background:var(--ok)}
.bar i.low{background:var(--bad)}pre{background:var(--bg);border:1px solid var(--line);padding:12px;overflow:auto;font-size:12px}
footer{color:var(--mute);padding:16px 40px 40px;font-size:12px}
`;

function badge(state: string): string {
  const cls = state.replace(/\s/g, "");
  return `<span class="badge ${esc(cls)}">${esc(state)}</span>`;
}

function bar(pct: number, min: number): string {
  return `<div class="bar" title="${pct}%"><i class="${pct < min ? "low" : ""}" style="width:${Math.max(0, Math.min(100, pct))}%"></i></div>`;
}

function html(r: Report): string {
  const h: string[] = [];
  const verified = r.claims.filter((c) => c.result === "passed").length;
  h.push(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`,
  );
  h.push(`<title>Agent Treasury Guard: audit report</title><style>${CSS}</style></head><body>`);
  h.push(
    `<header><h1>Agent Treasury Guard: audit report</h1><p>Generated ${esc(r.generatedAt)} by <code style="background:none;color:#fff">npm run audit</code></p></header><main>`,
  );
  h.push(`<div class="cards">`);
  h.push(`<div class="card"><span>claims verified</span><b>${verified} / ${r.claims.length}</b></div>`);
  if (r.tests)
    h.push(
      `<div class="card"><span>tests</span><b>${r.tests.passes} passed</b>${r.tests.failures ? `<em style="color:var(--bad)">${r.tests.failures} failed</em>` : ""}</div>`,
    );
  if (r.coverage)
    h.push(
      `<div class="card"><span>coverage lines / branches</span><b>${r.coverage.total.lines.pct}% / ${r.coverage.total.branches.pct}%</b></div>`,
    );
  if (r.fuzz)
    h.push(`<div class="card"><span>campaign</span><b>${r.fuzz.operations} ops</b>${r.fuzz.opsPerSecond} ops/s</div>`);
  if (r.mutation) h.push(`<div class="card"><span>mutation score</span><b>${r.mutation.score}%</b></div>`);
  h.push(`</div>`);
  h.push(`<h2>Steps</h2><table><tr><th>step</th><th>result</th><th>time</th><th>command</th></tr>`);
  for (const s of r.steps) {
    h.push(
      `<tr><td>${esc(s.name)}</td><td>${badge(s.skipped ? "skipped" : s.ok ? "pass" : "fail")}</td><td class="num">${s.seconds.toFixed(0)} s</td><td><code>${esc(s.command)}</code></td></tr>`,
    );
  }
  h.push(`</table>`);
  h.push(
    `<h2>Threats and claims</h2><p>From <code>docs/THREAT-MODEL.md</code>; each claim's result is its test's result in this run.</p>`,
  );
  h.push(`<table><tr><th>ID</th><th>claim</th><th>promise</th><th>test</th><th>result</th></tr>`);
  for (const c of r.claims) {
    h.push(
      `<tr><td>${esc(c.id)}</td><td>${esc(c.claim)}</td><td>${esc(c.promise)}</td><td><code>${esc(c.file)}</code><br>${esc(c.test)}</td><td>${badge(c.result)}</td></tr>`,
    );
  }
  h.push(`</table>`);
  h.push(`<h2>Coverage</h2>`);
  if (r.coverage) {
    const c = r.coverage;
    h.push(
      `<p>Gate: lines ${c.thresholds.lines}%, functions ${c.thresholds.functions}%, branches at least ${c.thresholds.branches}% on <code>contracts/</code> (mocks and the vendored Safe excluded): ${badge(c.passed ? "pass" : "fail")}</p>`,
    );
    h.push(
      `<table><tr><th>file</th><th>lines</th><th></th><th>functions</th><th>branches</th><th></th><th>uncovered lines</th></tr>`,
    );
    for (const f of c.files.filter((x) => x.lines.total + x.functions.total + x.branches.total > 0)) {
      h.push(
        `<tr><td><code>${esc(f.file)}</code></td><td class="num">${f.lines.pct}%</td><td>${bar(f.lines.pct, c.thresholds.lines)}</td><td class="num">${f.functions.pct}%</td><td class="num">${f.branches.pct}%</td><td>${bar(f.branches.pct, c.thresholds.branches)}</td><td>${esc(f.uncoveredLines.join(", "))}</td></tr>`,
      );
    }
    h.push(
      `<tr><th>total</th><th class="num">${c.total.lines.pct}%</th><th></th><th class="num">${c.total.functions.pct}%</th><th class="num">${c.total.branches.pct}%</th><th></th><th></th></tr></table>`,
    );
  } else h.push(`<p>No coverage report: run <code>npm run coverage</code>.</p>`);
  h.push(`<h2>Gas</h2>`);
  if (r.gas) {
    h.push(
      `<p>Each row against the Safe 1-of-1 <code>execTransaction</code> ERC-20 transfer measured in the same run.</p><table><tr><th>operation</th><th>gas</th><th>x baseline</th><th>budget</th><th></th><th>note</th></tr>`,
    );
    for (const g of r.gas) {
      const b = r.budgets?.budgets.find((x) => x.name === g.name);
      h.push(
        `<tr><td>${esc(g.name)}</td><td class="num">${g.gas.toLocaleString("en")}</td><td class="num">${g.ratio.toFixed(2)}</td><td class="num">${b ? b.budget.toLocaleString("en") : ""}</td><td>${b ? badge(b.pass ? "pass" : "fail") : ""}</td><td>${esc(g.note ?? "")}</td></tr>`,
      );
    }
    h.push(`</table>`);
  } else h.push(`<p>No gas report: run <code>npm run bench</code>.</p>`);
  h.push(`<h2>Invariant campaign</h2>`);
  if (r.fuzz) {
    const f = r.fuzz;
    h.push(
      `<p>${badge(f.passed ? "pass" : "fail")} ${f.runs} runs, ${f.operations} operations (sequences of up to ${f.maxOps}) in ${f.seconds} s: <b>${f.opsPerSecond} ops/s</b>, seed ${f.seed}. Every step checked against the model and SPEC section 9.</p>`,
    );
    h.push(`<table><tr><th>outcome</th><th>count</th></tr>`);
    for (const [k, v] of Object.entries(f.outcomes).sort((a, b) => b[1] - a[1]))
      h.push(`<tr><td>${esc(k)}</td><td class="num">${v}</td></tr>`);
    h.push(`</table>`);
    if (f.failure) h.push(`<pre>${esc(f.failure)}</pre>`);
  } else h.push(`<p>No campaign statistics: run <code>npm run fuzz</code>.</p>`);
  h.push(`<h2>Mutation testing</h2>`);
  if (r.mutation) {
    const m = r.mutation;
    h.push(
      `<p>SuMo: score <b>${m.score}%</b>, ${m.killed} killed, ${m.live} survived, ${m.stillborn} stillborn, of ${m.mutantsTested} tested (${m.mutantsGenerated} generated) in ${m.minutes} min. Contracts: <code>${esc(m.contracts.join(", "))}</code>.</p>`,
    );
    if (m.survivors.length) {
      h.push(`<table><tr><th>mutant</th><th>where</th><th>operator</th><th>change</th><th>why it survives</th></tr>`);
      for (const s of m.survivors)
        h.push(
          `<tr><td>${esc(s.id)}</td><td><code>${esc(s.file)}:${s.line}</code></td><td>${esc(s.operator)}</td><td><code>${esc(s.original)}</code> &rarr; <code>${esc(s.replacement)}</code></td><td>${esc(s.why ?? "")}</td></tr>`,
        );
      h.push(`</table>`);
    }
  } else h.push(`<p>No mutation report: run <code>npm run mutation</code>.</p>`);
  h.push(`</main><footer>Self-contained page: no scripts, no external resources.</footer></body></html>`);
  return h.join("\n");
}

async function screenshot(htmlFile: string): Promise<string> {
  const { launchChromium } = await import("../testkit/browser");
  let browser: import("playwright-core").Browser;
  try {
    ({ browser } = await launchChromium());
  } catch (error) {
    return `screenshot skipped: ${(error as Error).message.split("\n")[0]}`;
  }
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`file://${htmlFile}`);
    const png = path.join(REPORTS, "audit.png");
    await page.screenshot({ path: png, fullPage: true });
    return `screenshot in ${path.relative(ROOT, png)}`;
  } finally {
    await browser.close();
  }
}

async function main() {
  const args = process.argv.slice(2);
  const skipIndex = args.indexOf("--skip");
  const skip = new Set(skipIndex >= 0 ? args[skipIndex + 1].split(",") : []);
  const fuzzIndex = args.indexOf("--fuzz-runs");
  const fuzzRuns = fuzzIndex >= 0 ? args[fuzzIndex + 1] : "100";
  const testsIndex = args.indexOf("--tests");
  const testFiles = testsIndex >= 0 ? args[testsIndex + 1].split(",").map((f) => path.resolve(ROOT, f)) : [];
  fs.mkdirSync(REPORTS, { recursive: true });
  const steps: StepResult[] = [];
  const plan: [string, () => Promise<StepResult>][] = [
    ["lint", () => run("lint", "npm", ["run", "lint"])],
    ["tests", () => testsStep(testFiles)],
    ["coverage", () => run("coverage", "npm", ["run", "coverage"])],
    // Coverage builds instrumented, legacy-pipeline artifacts: the benchmark must measure the real build.
    ["rebuild", () => run("rebuild", "npx", ["hardhat", "compile", "--force", "--quiet"])],
    ["bench", () => run("bench", "npm", ["run", "bench"])],
    ["fuzz", () => run("fuzz", "npm", ["run", "fuzz", "--", "--runs", fuzzRuns, "--out", "reports/fuzz.json"])],
  ];
  for (const [name, step] of plan) {
    if (skip.has(name))
      steps.push({
        name,
        command: "(skipped: last report reused if present)",
        ok: true,
        skipped: true,
        seconds: 0,
        tail: "",
      });
    else steps.push(await step());
  }
  const mocha = readJson<{
    stats: { passes: number; failures: number; pending: number; tests: number };
    tests: TestResult[];
  }>(path.join(REPORTS, "mocha.json"));
  const report: Report = {
    generatedAt: new Date().toISOString(),
    steps,
    claims: claims(mocha?.tests ?? []),
    tests: mocha
      ? {
          passes: mocha.stats.passes,
          failures: mocha.stats.failures,
          pending: mocha.stats.pending,
          total: mocha.stats.tests,
        }
      : undefined,
    coverage: readJson<Coverage>(path.join(REPORTS, "coverage.json")),
    gas: readJson<GasRow[]>(path.join(REPORTS, "gas.json")),
    budgets: readJson<Budgets>(path.join(REPORTS, "gas-budgets.json")),
    fuzz: readJson<Fuzz>(path.join(REPORTS, "fuzz.json")),
    mutation: readJson<Mutation>(path.join(REPORTS, "mutation.json")),
  };
  fs.writeFileSync(path.join(REPORTS, "audit.md"), markdown(report));
  const htmlFile = path.join(REPORTS, "audit.html");
  fs.writeFileSync(htmlFile, html(report));
  console.log(
    `\nReport: reports/audit.md and reports/audit.html (${await screenshot(htmlFile).catch((e: Error) => `screenshot failed: ${e.message}`)})`,
  );
  const failed = steps.filter((s) => !s.ok);
  const claimsFailed = report.claims.filter((c) => c.result !== "passed");
  console.log(
    `Claims verified: ${report.claims.length - claimsFailed.length}/${report.claims.length}${claimsFailed.length ? ` (not verified: ${claimsFailed.map((c) => `${c.id} ${c.result}`).join(", ")})` : ""}`,
  );
  if (failed.length) {
    console.error(`Failed steps: ${failed.map((s) => s.name).join(", ")} (logs in reports/audit-logs/)`);
    process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
