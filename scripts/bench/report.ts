/**
 * Rows, budgets and stability checks of the gas benchmark, the printed table and the JSON reports.
 * A row above its budget's `max` (its mark) makes the run fail, as does a failed stability check; `aim` is
 * informational.
 */
import fs from "fs";
import path from "path";

export interface Row {
  name: string;
  gas: bigint;
  /** The transaction measured, when the row is one transaction (used by the profiler). */
  txHash?: string;
  /** How the number was obtained, when that is not obvious from the name. */
  note?: string;
}

export interface Budget {
  name: string;
  max: bigint;
  aim?: bigint;
  /** Why this budget applies to this row, when it is not the row the budget was set for. */
  note?: string;
}

export interface BudgetVerdict {
  name: string;
  gas: string;
  budget: string;
  aim: string | null;
  pass: boolean;
  aimMet: boolean | null;
  note?: string;
}

export interface StabilityCheck {
  label: string;
  a: string;
  b: string;
  gasA: string;
  gasB: string;
  diffPercent: number;
  limitPercent: number;
  pass: boolean;
  /** "difference": |b - a| / a (the default); "growth": (b - a) / a, negative when b is smaller. */
  kind?: "difference" | "growth";
}

/** A required row is missing: the report would be incomplete. */
export class BenchRowMissingError extends Error {
  readonly code = "BENCH_ROW_MISSING";
  constructor(name: string) {
    super(`row "${name}" was not measured: add its measurement to scripts/bench/gas.ts before reading the report`);
    this.name = "BenchRowMissingError";
  }
}

export const BASELINE = "Safe 1-of-1 execTransaction ERC-20";

export class Rows {
  private readonly rows: Row[] = [];

  add(row: Row): Row {
    if (this.rows.some((r) => r.name === row.name)) throw new Error(`duplicate bench row "${row.name}"`);
    this.rows.push(row);
    return row;
  }

  get(name: string): Row {
    const row = this.rows.find((r) => r.name === name);
    if (!row) throw new BenchRowMissingError(name);
    return row;
  }

  all(): readonly Row[] {
    return this.rows;
  }
}

export const fmtGas = (n: bigint | number): string => BigInt(n).toLocaleString("en-US");

export function ratio(gas: bigint, baseline: bigint): number {
  return Number((gas * 10_000n) / baseline) / 10_000;
}

export function judgeBudgets(rows: Rows, budgets: Budget[]): BudgetVerdict[] {
  return budgets.map((b) => {
    const gas = rows.get(b.name).gas;
    return {
      name: b.name,
      gas: gas.toString(),
      budget: b.max.toString(),
      aim: b.aim === undefined ? null : b.aim.toString(),
      pass: gas <= b.max,
      aimMet: b.aim === undefined ? null : gas <= b.aim,
      ...(b.note ? { note: b.note } : {}),
    };
  });
}

export function checkStability(rows: Rows, label: string, a: string, b: string, limitPercent: number): StabilityCheck {
  return compareRows(rows, label, a, b, limitPercent, "difference");
}

/**
 * Passes when row `b` is at most `limitPercent` above row `a` (a smaller `b` always passes): for figures that may
 * fall but must not grow, such as the gas per payment from one batch size to a larger one.
 */
export function checkNoGrowth(rows: Rows, label: string, a: string, b: string, limitPercent: number): StabilityCheck {
  return compareRows(rows, label, a, b, limitPercent, "growth");
}

/** Rows `a` and `b` compared as `kind` says (see {@link StabilityCheck}), against `limitPercent`. */
function compareRows(
  rows: Rows,
  label: string,
  a: string,
  b: string,
  limitPercent: number,
  kind: "difference" | "growth",
): StabilityCheck {
  const gasA = rows.get(a).gas;
  const gasB = rows.get(b).gas;
  const change = kind === "growth" ? gasB - gasA : gasA > gasB ? gasA - gasB : gasB - gasA;
  const percent = (Number(change) * 100) / Number(gasA);
  return {
    label,
    a,
    b,
    gasA: gasA.toString(),
    gasB: gasB.toString(),
    diffPercent: Math.round(percent * 1000) / 1000,
    limitPercent,
    pass: percent <= limitPercent,
    ...(kind === "growth" ? { kind } : {}),
  };
}

function verdictText(v: BudgetVerdict): string {
  const aim = v.aim === null ? "" : `; aim ${fmtGas(BigInt(v.aim))} ${v.aimMet ? "met" : "missed"}`;
  return `${v.pass ? "PASS" : "FAIL"} (budget ${fmtGas(BigInt(v.budget))}${aim})`;
}

/** The table: name, gas, ratio to the Safe 1-of-1 baseline, budget verdict where one applies. */
export function formatTable(rows: Rows, verdicts: BudgetVerdict[]): string[] {
  const baseline = rows.get(BASELINE).gas;
  const header = ["row", "gas", "ratio", "budget"];
  const body = rows.all().map((r) => {
    const v = verdicts.find((x) => x.name === r.name);
    return [r.name, fmtGas(r.gas), `${ratio(r.gas, baseline).toFixed(2)}x`, v ? verdictText(v) : ""];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  return [
    `ratio = gas / ${BASELINE} (${fmtGas(baseline)})`,
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
  ];
}

export function formatVerdicts(verdicts: BudgetVerdict[], checks: StabilityCheck[]): string[] {
  return [
    "Budgets (enforced: a row above its max fails the run; the aim is informational):",
    ...verdicts.map((v) => `  ${v.name}: ${fmtGas(BigInt(v.gas))} ${verdictText(v)}${v.note ? ` [${v.note}]` : ""}`),
    "Stability (enforced: the run fails above the limit):",
    ...checks.map(
      (c) =>
        `  ${c.label}: ${fmtGas(BigInt(c.gasA))} vs ${fmtGas(BigInt(c.gasB))}, ${c.kind ?? "difference"} ` +
        `${c.diffPercent.toFixed(3)}%: ${c.pass ? "PASS" : "FAIL"} (limit ${c.limitPercent}%)`,
    ),
  ];
}

/**
 * Why the run fails, one line per cause: each row above its budget's max (named, with its gas and the mark), each
 * failed stability check. Empty when the run passes. A missed aim is not a cause.
 */
export function benchFailures(verdicts: readonly BudgetVerdict[], checks: readonly StabilityCheck[]): string[] {
  return [
    ...verdicts
      .filter((v) => !v.pass)
      .map(
        (v) =>
          `Row "${v.name}" used ${fmtGas(BigInt(v.gas))} gas, above its mark of ${fmtGas(BigInt(v.budget))} ` +
          `(by ${fmtGas(BigInt(v.gas) - BigInt(v.budget))}; BUDGETS in scripts/bench/budgets.ts)`,
      ),
    ...checks
      .filter((c) => !c.pass)
      .map(
        (c) =>
          `Stability check "${c.label}": ${fmtGas(BigInt(c.gasA))} vs ${fmtGas(BigInt(c.gasB))} differ by ` +
          `${c.diffPercent}%, above the limit of ${c.limitPercent}%`,
      ),
  ];
}

/** Writes reports/gas.json (`[{name, gas, ratio}]`) and reports/gas-budgets.json (budgets and stability). */
export function writeReports(
  root: string,
  rows: Rows,
  verdicts: BudgetVerdict[],
  checks: StabilityCheck[],
): { gasFile: string; budgetFile: string } {
  const dir = path.join(root, "reports");
  fs.mkdirSync(dir, { recursive: true });
  const baseline = rows.get(BASELINE).gas;
  const gas = rows.all().map((r) => ({
    name: r.name,
    gas: Number(r.gas),
    ratio: ratio(r.gas, baseline),
    ...(r.note ? { note: r.note } : {}),
  }));
  const gasFile = path.join(dir, "gas.json");
  const budgetFile = path.join(dir, "gas-budgets.json");
  fs.writeFileSync(gasFile, JSON.stringify(gas, null, 2) + "\n");
  fs.writeFileSync(
    budgetFile,
    JSON.stringify(
      {
        budgets: verdicts.map((v) => ({
          ...v,
          gas: Number(v.gas),
          budget: Number(v.budget),
          aim: v.aim === null ? null : Number(v.aim),
        })),
        stability: checks.map((c) => ({ ...c, gasA: Number(c.gasA), gasB: Number(c.gasB) })),
      },
      null,
      2,
    ) + "\n",
  );
  return { gasFile, budgetFile };
}
