/**
 * Output shared by every task: one parseable JSON object on stdout with `--json`, readable tables otherwise.
 * Errors become `{ "error": { "code", "message", ... } }` with `--json` (stderr text otherwise) and a non-zero exit
 * code, so scripts can rely on both.
 */

/** JSON.stringify that writes bigints as decimal strings. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === "bigint" ? v.toString() : v), indent);
}

/** Prints exactly one JSON object (one line) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

/** Formats rows as a plain-text table with a header and column padding. */
export function formatTable(headers: string[], rows: (string | number | bigint | boolean)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map((c) => String(c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(cells[0]), widths.map((w) => "-".repeat(w)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** Prints a titled table (or "(none)" when empty). */
export function printTable(title: string, headers: string[], rows: (string | number | bigint | boolean)[][]): void {
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(rows.length === 0 ? "  (none)\n" : `${formatTable(headers, rows)}\n`);
}

/** Prints `key: value` lines aligned. */
export function printFields(fields: Record<string, string | number | bigint | boolean | undefined>): void {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [k, v] of entries) process.stdout.write(`${`${k}:`.padEnd(width + 2)}${String(v)}\n`);
}

interface CodedError {
  code?: unknown;
  message: string;
  issues?: unknown;
}

/** The JSON shape of an error. */
export function errorJson(error: unknown): { error: { code: string; message: string; issues?: unknown } } {
  if (error instanceof Error) {
    const coded = error as Error & CodedError;
    const code = typeof coded.code === "string" ? coded.code : error.name || "ERROR";
    return { error: { code, message: error.message, ...(coded.issues !== undefined ? { issues: coded.issues } : {}) } };
  }
  return { error: { code: "ERROR", message: String(error) } };
}

/**
 * Runs a task body and reports its outcome: on success `render` (or JSON); on failure a JSON error object or a
 * message on stderr, and exit code 1. Hardhat exits with `process.exitCode` once the task returns.
 */
export async function runTask<T>(json: boolean, body: () => Promise<T>, render: (result: T) => void): Promise<T | undefined> {
  try {
    const result = await body();
    if (json) printJson(result);
    else render(result);
    return result;
  } catch (error) {
    process.exitCode = 1;
    if (json) {
      printJson(errorJson(error));
    } else {
      const { code, message } = errorJson(error).error;
      process.stderr.write(`Error [${code}]: ${message}\n`);
      if (process.env.ATG_DEBUG) process.stderr.write(`${(error as Error).stack ?? ""}\n`);
    }
    return undefined;
  }
}
