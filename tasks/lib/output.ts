/**
 * Output shared by every task: one parseable JSON object on stdout with `--json`, readable tables otherwise.
 * Errors become `{ "error": { "code", "message", ... } }` with `--json` (stderr text otherwise) and a non-zero exit
 * code, so scripts can rely on both.
 */
import { transportCode } from "../../sdk/retry";

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

/**
 * Prints what a run for the Safe's owners did (deploy/owners.ts `runAsOwners`): the changes applied with their keys
 * on the local chain, or the batch file and the steps left to the owners on a live network.
 */
export function printOwnersRun(r: {
  applied: string[];
  pending: { loosens: boolean; description: string }[];
  batchFile?: string;
  nextSteps: string[];
}): void {
  printTable(
    "Applied",
    ["#", "change"],
    r.applied.map((d, i) => [i + 1, d]),
  );
  if (!r.batchFile) return;
  printTable(
    "Waiting for the Safe owners",
    ["#", "loosens", "change"],
    r.pending.map((p, i) => [i + 1, p.loosens ? "yes" : "", p.description]),
  );
  process.stdout.write(
    `\nBatch file: ${r.batchFile}\nNext steps:\n${r.nextSteps.map((step, i) => `  ${i + 1}. ${step}`).join("\n")}\n`,
  );
}

/** Prints `key: value` lines aligned. */
export function printFields(fields: Record<string, string | number | bigint | boolean | undefined>): void {
  const entries = Object.entries(fields).filter(([, v]) => v !== undefined);
  const width = Math.max(...entries.map(([k]) => k.length));
  for (const [k, v] of entries) process.stdout.write(`${`${k}:`.padEnd(width + 2)}${String(v)}\n`);
}

/**
 * Every code a failed command can print under `--json` (README-CLI.md lists them all; a test checks both lists
 * agree). An error whose own code is not here is reported as `INTERNAL_ERROR` with its code kept in `detail`.
 */
export const CLI_ERROR_CODES = [
  // What the caller passed (flags, files, the network) and where things are
  "INVALID_REQUEST",
  "DEPLOYMENT_NOT_FOUND",
  "DEPLOYMENT_STALE",
  "MODULE_NOT_FOUND",
  "POLICY_INVALID",
  "UNIT_INVALID",
  "PLAN_INVALID",
  "BATCH_INVALID",
  // Keys
  "KEY_MISSING",
  "KEY_INVALID",
  "KEY_DEV_REFUSED",
  "KEY_MISMATCH",
  "KEYSTORE_UNREADABLE",
  // The node
  "RPC_UNAVAILABLE",
  "WAIT_TIMEOUT",
  // The module's answers (sdk/errors.ts)
  "MODULE_PAUSED",
  "AGENT_FROZEN",
  "AGENT_INACTIVE",
  "SIGNATURE_INVALID",
  "NONCE_MISMATCH",
  "INTENT_OUTSIDE_WINDOW",
  "IDEMPOTENCY_CONFLICT",
  "INTENT_NOT_FOR_REVIEW",
  "EXECUTION_FAILED",
  "INTENT_NOT_READY",
  "INTENT_WRONG_STATUS",
  "POLICY_VIOLATION",
  "APPROVALS_INSUFFICIENT",
  "COSIGNER_REJECTED",
  "COSIGNER_SIGNATURE_STALE",
  "NOT_AUTHORIZED",
  "MODULE_CONFIG",
  "REVERTED",
  "JOURNAL_ERROR",
  // Deployment
  "DEPLOYMENT_FAILED",
  "CREATEX_MISSING",
  // The watchtower and the audit (treasury:monitor, treasury:audit)
  "NOT_A_GUARDIAN",
  "MONITOR_CONFIG_INVALID",
  "MONITOR_RULE_INVALID",
  "METRICS_NOT_LOOPBACK",
  "CHECKPOINT_MISMATCH",
  "REORG_BEYOND_CONFIRMATIONS",
  "WEBHOOK_FAILED",
  "ALERT_DELIVERY_PENDING",
  // Anything else
  "HARDHAT_ERROR",
  "INTERNAL_ERROR",
] as const;
export type CliErrorCode = (typeof CLI_ERROR_CODES)[number];

export interface ErrorJson {
  error: { code: CliErrorCode; message: string; issues?: unknown; hardhatCode?: string; detail?: string };
}

interface CodedError {
  code?: unknown;
  message: string;
  issues?: unknown;
}

interface HardhatErrorLike {
  _isHardhatError: true;
  number: number;
  message: string;
  messageArguments?: Record<string, unknown>;
}

function isHardhatError(e: unknown): e is HardhatErrorLike {
  return typeof e === "object" && e !== null && (e as { _isHardhatError?: unknown })._isHardhatError === true;
}

/** The network the command talks to, as Hardhat resolved it (undefined before the runtime exists). */
function currentNetwork(): { name: string; url?: string } | undefined {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { HardhatContext } = require("hardhat/internal/context") as typeof import("hardhat/internal/context");
    if (!HardhatContext.isCreated()) return undefined;
    const env = HardhatContext.getHardhatContext().environment;
    if (!env) return undefined;
    const config = env.network.config as { url?: string };
    return { name: env.network.name, url: typeof config.url === "string" ? redactUrl(config.url) : undefined };
  } catch {
    return undefined;
  }
}

/** An RPC URL without credentials (user:password@ and the path of hosted endpoints, which often holds an API key). */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    const local =
      u.hostname === "127.0.0.1" || u.hostname === "localhost" || u.hostname === "::1" || u.hostname === "[::1]";
    return local ? `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}` : `${u.protocol}//${u.host}/…`;
  } catch {
    return "(unparseable URL)";
  }
}

/** How to point a network at another node. */
export function rpcUrlHint(network: string): string {
  return network === "localhost"
    ? "set RPC_URL=<url> (in the environment or in .env; default http://127.0.0.1:8545)"
    : `set ${network.toUpperCase()}_RPC_URL=<url> (in the environment, in .env, or npx hardhat vars set ${network.toUpperCase()}_RPC_URL)`;
}

/** Which node the command used and how to choose another. */
function rpcWhere(): string {
  const net = currentNetwork();
  const name = net?.name ?? "localhost";
  return `Network ${name} uses ${net?.url ?? "its configured RPC URL"}; to use another node, ${rpcUrlHint(name)}.`;
}

function rpcUnavailableMessage(reason: string): string {
  const net = currentNetwork();
  const start =
    net?.name === "localhost" ? "Start it (npx hardhat node) or point the command at yours" : "Check that it runs";
  return `Cannot reach the JSON-RPC node of network ${net?.name ?? "localhost"}${net?.url ? ` at ${net.url}` : ""} (${reason}). ${start}, then run the same command again. ${rpcWhere()}`;
}

function fromHardhatError(error: HardhatErrorLike): ErrorJson["error"] {
  const hardhatCode = `HH${error.number}`;
  const text = error.message.replace(/^HH\d+: /, "");
  if (error.number === 108 || error.number === 109 || error.number === 110) {
    const reason =
      error.number === 108
        ? "no node answered"
        : error.number === 109
          ? "the connection timed out"
          : "it answered with invalid JSON-RPC";
    return { code: "RPC_UNAVAILABLE", message: rpcUnavailableMessage(reason), hardhatCode };
  }
  if (error.number === 100) {
    const network = error.messageArguments?.network;
    return {
      code: "INVALID_REQUEST",
      message:
        `--network ${typeof network === "string" ? network : ""} is not configured. Use hardhat (the in-process chain), localhost ` +
        "(a node at RPC_URL, default http://127.0.0.1:8545) or sepolia (once SEPOLIA_RPC_URL is set); see README-CLI.md.",
      hardhatCode,
    };
  }
  if (error.number >= 300 && error.number <= 399) {
    const first = text.split("\n")[0];
    return {
      code: "INVALID_REQUEST",
      message: `${first}${/[.!?]$/.test(first) ? "" : "."} Run npx hardhat help <task> for its flags.`,
      hardhatCode,
    };
  }
  return { code: "HARDHAT_ERROR", message: text, hardhatCode };
}

/** The JSON shape of an error, with a documented code (CLI_ERROR_CODES). */
export function errorJson(error: unknown): ErrorJson {
  if (isHardhatError(error)) return { error: fromHardhatError(error) };
  if (error instanceof Error) {
    const coded = error as Error & CodedError;
    const issues = coded.issues !== undefined ? { issues: coded.issues } : {};
    if (typeof coded.code === "string" && (CLI_ERROR_CODES as readonly string[]).includes(coded.code)) {
      const code = coded.code as CliErrorCode;
      const message =
        code === "RPC_UNAVAILABLE" && !/RPC_URL/.test(error.message) ? `${error.message} ${rpcWhere()}` : error.message;
      return { error: { code, message, ...issues } };
    }
    const transport = transportCode(error);
    if (transport)
      return { error: { code: "RPC_UNAVAILABLE", message: rpcUnavailableMessage(transport), detail: transport } };
    if (coded.code === "INVALID_ARGUMENT")
      return { error: { code: "INVALID_REQUEST", message: error.message.split("\n")[0], detail: "INVALID_ARGUMENT" } };
    const detail = typeof coded.code === "string" ? coded.code : error.name;
    return {
      error: {
        code: "INTERNAL_ERROR",
        message: `${error.message.split("\n")[0]} (an unexpected ${detail}: rerun with ATG_DEBUG=1 for the stack, and report it if it persists)`,
        detail,
        ...issues,
      },
    };
  }
  return { error: { code: "INTERNAL_ERROR", message: String(error) } };
}

let jsonErrorPrinted = false;

/**
 * Hardhat's own failures (a missing or unknown flag, a flag value of the wrong type, an unknown network, a task
 * that throws) are printed by Hardhat as text and reported to its `Reporter` before it exits with code 1.
 * - With `--json` they must still end as one JSON error object on stdout: console.log goes to stderr (stdout is for
 *   the JSON object alone) and the Reporter hook prints the object.
 * - Without it, a mistyped flag gets Hardhat's one-line message without the stack trace that Hardhat adds on
 *   machines it takes for CI servers (any Linux without a display); `--show-stack-traces` still shows it.
 * Installed from hardhat.config.ts (tasks/lib/startup.ts).
 */
export function installCliErrorHandler(argv: readonly string[] = process.argv): void {
  const consoleError = console.error.bind(console);
  if (!argv.includes("--show-stack-traces")) {
    console.error = (...args: unknown[]) => {
      const [only] = args;
      if (
        args.length === 1 &&
        isHardhatError(only) &&
        (only.number === 100 || (only.number >= 300 && only.number <= 399))
      )
        return;
      consoleError(...args);
    };
  }
  if (!argv.includes("--json")) return;
  // Libraries print progress with console.log; under --json stdout carries only the result.
  console.log = (...args: unknown[]) => console.error(...args);
  console.info = console.log;
  try {
    type SentryReporter = typeof import("hardhat/internal/sentry/reporter");
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Reporter } = require("hardhat/internal/sentry/reporter") as SentryReporter;
    const original = Reporter.reportError.bind(Reporter);
    Reporter.reportError = (error: Error) => {
      if (!jsonErrorPrinted) {
        jsonErrorPrinted = true;
        printJson(errorJson(error));
      }
      return original(error);
    };
  } catch {
    // Not running under Hardhat's CLI: nothing to hook.
  }
}

/**
 * Runs a task body and reports its outcome: on success `render` (or JSON); on failure a JSON error object or a
 * message on stderr, and exit code 1. Hardhat exits with `process.exitCode` once the task returns.
 */
export async function runTask<T>(
  json: boolean,
  body: () => Promise<T>,
  render: (result: T) => void,
): Promise<T | undefined> {
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
