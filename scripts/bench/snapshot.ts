/**
 * The committed gas snapshot (`gas-snapshot.json` at the repository root): every row of the benchmark and its gas,
 * one row a line, in the benchmark's order, so that `git diff` shows which rows a commit moved. `npm run bench`
 * compares the run with it and prints each row's difference; GAS_SNAPSHOT=update rewrites it; GAS_SNAPSHOT=check
 * also fails the run when a row's gas differs from it (rows that are new or missing are reported, never a failure).
 */
import fs from "fs";
import { Row, fmtGas } from "./report";

export const SNAPSHOT_FILE = "gas-snapshot.json";

/** Row name -> gas, in the benchmark's row order. */
export type GasSnapshot = Record<string, number>;

export type SnapshotMode = "compare" | "update" | "check";

/** A snapshot file that cannot be read as `{ "row name": gas }`. */
export class GasSnapshotError extends Error {
  readonly code = "GAS_SNAPSHOT_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "GasSnapshotError";
  }
}

/** GAS_SNAPSHOT: unset or empty = compare, `update` = rewrite the snapshot, `check` = fail on any changed row. */
export function snapshotMode(value: string | undefined): SnapshotMode {
  const v = (value ?? "").trim();
  if (v === "" || v === "compare") return "compare";
  if (v === "update" || v === "check") return v;
  throw new GasSnapshotError(
    `GAS_SNAPSHOT is "${value}": use GAS_SNAPSHOT=update to rewrite ${SNAPSHOT_FILE}, GAS_SNAPSHOT=check to fail ` +
      `on any changed row, or leave it unset to compare`,
  );
}

export function snapshotOf(rows: readonly Row[]): GasSnapshot {
  const snapshot: GasSnapshot = {};
  for (const row of rows) snapshot[row.name] = Number(row.gas);
  return snapshot;
}

/** Parses a snapshot's text; `source` names the file in errors. */
export function parseSnapshot(text: string, source: string): GasSnapshot {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GasSnapshotError(
      `${source} is not JSON (${(error as Error).message}): restore it from git or rewrite it with GAS_SNAPSHOT=update npm run bench`,
    );
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new GasSnapshotError(
      `${source} must be an object { "row name": gas }, got ${Array.isArray(parsed) ? "an array" : String(parsed)}`,
    );
  }
  const snapshot: GasSnapshot = {};
  for (const [name, gas] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof gas !== "number" || !Number.isSafeInteger(gas) || gas < 0) {
      throw new GasSnapshotError(
        `${source}: row "${name}" has gas ${JSON.stringify(gas)}, expected a non-negative integer: ` +
          `fix the entry or rewrite the file with GAS_SNAPSHOT=update npm run bench`,
      );
    }
    snapshot[name] = gas;
  }
  return snapshot;
}

/** The snapshot at `file`, or null when there is none yet. */
export function readSnapshot(file: string): GasSnapshot | null {
  if (!fs.existsSync(file)) return null;
  return parseSnapshot(fs.readFileSync(file, "utf8"), file);
}

export function writeSnapshot(file: string, snapshot: GasSnapshot): void {
  fs.writeFileSync(file, JSON.stringify(snapshot, null, 2) + "\n");
}

export interface RowDiff {
  name: string;
  status: "same" | "changed" | "new" | "missing";
  /** Gas in the snapshot (absent for a new row). */
  before?: number;
  /** Gas in this run (absent for a row missing from the run). */
  after?: number;
  /** after - before, for rows in both. */
  delta?: number;
  /** delta as a percentage of before (null when before is 0), rounded to 0.01. */
  percent?: number | null;
}

/** Each row of the run against the snapshot, in the run's order, then the snapshot's rows this run did not measure. */
export function diffSnapshot(snapshot: GasSnapshot, rows: readonly Row[]): RowDiff[] {
  const seen = new Set<string>();
  const diffs: RowDiff[] = rows.map((row) => {
    seen.add(row.name);
    const after = Number(row.gas);
    if (!Object.prototype.hasOwnProperty.call(snapshot, row.name)) return { name: row.name, status: "new", after };
    const before = snapshot[row.name];
    const delta = after - before;
    const percent = before === 0 ? null : Math.round((delta * 10_000) / before) / 100;
    return { name: row.name, status: delta === 0 ? "same" : "changed", before, after, delta, percent };
  });
  for (const [name, before] of Object.entries(snapshot)) {
    if (!seen.has(name)) diffs.push({ name, status: "missing", before });
  }
  return diffs;
}

const signed = (n: number): string => (n > 0 ? `+${fmtGas(n)}` : n < 0 ? `-${fmtGas(-n)}` : "0");

function change(d: RowDiff): string {
  if (d.status === "new") return "new row (not in the snapshot)";
  if (d.status === "missing") return "missing from this run";
  if (d.status === "same") return "=";
  const percent =
    d.percent === null || d.percent === undefined ? "n/a" : `${d.percent > 0 ? "+" : ""}${d.percent.toFixed(2)}%`;
  return `${signed(d.delta ?? 0)} (${percent})`;
}

/** The difference table: row, snapshot gas, this run's gas, change (absolute and %), and a one-line summary. */
export function formatDiff(diffs: readonly RowDiff[], source: string): string[] {
  const header = ["row", "snapshot", "this run", "change"];
  const body = diffs.map((d) => [
    d.name,
    d.before === undefined ? "" : fmtGas(d.before),
    d.after === undefined ? "" : fmtGas(d.after),
    change(d),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((v, i) => (i === 1 || i === 2 ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join("  ")
      .trimEnd();
  const count = (s: RowDiff["status"]) => diffs.filter((d) => d.status === s).length;
  return [
    `Gas against ${source}:`,
    line(header),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...body.map(line),
    `${count("changed")} changed, ${count("same")} unchanged, ${count("new")} new, ${count("missing")} missing.`,
  ];
}

/** GAS_SNAPSHOT=check: one failure line per row whose gas differs from the snapshot (new and missing rows pass). */
export function snapshotFailures(diffs: readonly RowDiff[], source: string): string[] {
  return diffs
    .filter((d) => d.status === "changed")
    .map(
      (d) =>
        `Row "${d.name}" moved from ${fmtGas(d.before ?? 0)} to ${fmtGas(d.after ?? 0)} gas (${change(d)}) against ` +
        `${source}: commit the new figures with GAS_SNAPSHOT=update npm run bench`,
    );
}

/**
 * The benchmark's snapshot step: compares `rows` with the snapshot at `file` and returns the lines to print and the
 * failures (only in check mode); in update mode it then rewrites the file with this run's rows.
 */
export function applySnapshot(
  file: string,
  rows: readonly Row[],
  mode: SnapshotMode,
): { lines: string[]; failures: string[] } {
  const snapshot = readSnapshot(file);
  const lines =
    snapshot === null
      ? [`No gas snapshot at ${file} yet: GAS_SNAPSHOT=update npm run bench writes it.`]
      : formatDiff(diffSnapshot(snapshot, rows), SNAPSHOT_FILE);
  const failures =
    mode === "check"
      ? snapshot === null
        ? [`GAS_SNAPSHOT=check needs ${file}: write it with GAS_SNAPSHOT=update npm run bench and commit it`]
        : snapshotFailures(diffSnapshot(snapshot, rows), SNAPSHOT_FILE)
      : [];
  if (mode === "update") {
    writeSnapshot(file, snapshotOf(rows));
    lines.push(`Rewrote ${file} with this run's ${rows.length} rows: commit it with the change that moved the gas.`);
  }
  return { lines, failures };
}
