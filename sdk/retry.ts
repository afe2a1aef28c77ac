/**
 * Retry with exponential backoff for transient RPC failures (connection refused or reset, timeouts, 429, 5xx).
 * Anything else, in particular a contract revert, is not transient and is rethrown at once: retrying a revert only
 * burns time and gas.
 */
import { RpcUnavailableError, TreasuryError } from "./errors";

export interface RetryOptions {
  /** Attempts after the first (default 5). */
  retries: number;
  /** First delay in ms (default 250); doubles (`factor`) up to `maxDelayMs`. */
  minDelayMs: number;
  maxDelayMs: number;
  factor: number;
  /** Decides what is worth retrying (default `isTransientRpcError`). */
  isTransient: (err: unknown) => boolean;
  /** Called before each wait, e.g. to log. */
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
}

export const DEFAULT_RETRY: RetryOptions = {
  retries: 5,
  minDelayMs: 250,
  maxDelayMs: 8_000,
  factor: 2,
  isTransient: isTransientRpcError,
};

/**
 * Error codes of a node that did not answer: ethers' transport codes and Node's and undici's socket codes. The one
 * list the retry loop, the CLI's errors and the MCP server's tool errors classify by.
 */
export const TRANSPORT_CODES: ReadonlySet<string> = new Set([
  "NETWORK_ERROR",
  "TIMEOUT",
  "SERVER_ERROR",
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** The errors ethers and Node wrap a transport failure in: `cause`, `error`, `info.error`. */
function wrapped(e: { cause?: unknown; error?: unknown; info?: { error?: unknown } }): unknown {
  return e.cause ?? e.error ?? e.info?.error;
}

/** The first transport code ({@link TRANSPORT_CODES}) on `err` or the errors it wraps, else undefined. */
export function transportCode(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current && typeof current === "object" && !seen.has(current); depth++) {
    seen.add(current);
    const e = current as { code?: unknown; cause?: unknown; error?: unknown; info?: { error?: unknown } };
    if (typeof e.code === "string" && TRANSPORT_CODES.has(e.code)) return e.code;
    current = wrapped(e);
  }
  return undefined;
}

const TRANSIENT_TEXT =
  /(ECONNREFUSED|ECONNRESET|ETIMEDOUT|socket hang up|fetch failed|network error|request timeout|\b(429|502|503|504)\b|Too Many Requests|rate limit)/i;

/** True for failures of the transport, not of the transaction. */
export function isTransientRpcError(err: unknown): boolean {
  const seen = new Set<unknown>();
  let current: unknown = err;
  // Walk the cause chain (ethers wraps transport errors in `error`, `info.error` or `cause`).
  for (let depth = 0; depth < 6 && current && typeof current === "object" && !seen.has(current); depth++) {
    seen.add(current);
    // Our own errors are decisions, not transport failures.
    if (current instanceof TreasuryError) return false;
    const e = current as {
      code?: unknown;
      message?: unknown;
      shortMessage?: unknown;
      error?: unknown;
      cause?: unknown;
      info?: { error?: unknown };
    };
    if (e.code === "CALL_EXCEPTION" || e.code === "INSUFFICIENT_FUNDS" || e.code === "NONCE_EXPIRED") return false;
    if (typeof e.code === "string" && TRANSPORT_CODES.has(e.code)) return true;
    const text = `${typeof e.shortMessage === "string" ? e.shortMessage : ""} ${typeof e.message === "string" ? e.message : ""}`;
    if (TRANSIENT_TEXT.test(text) && !/revert/i.test(text)) return true;
    current = wrapped(e);
  }
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `fn` until it succeeds, a non-transient error occurs, or retries are exhausted (then throws
 * {RpcUnavailableError} with the last error as `cause`). `what` names the operation in messages.
 */
export async function withRetry<T>(
  what: string,
  fn: (attempt: number) => Promise<T>,
  options: Partial<RetryOptions> = {},
): Promise<T> {
  const o: RetryOptions = { ...DEFAULT_RETRY, ...options };
  let delay = o.minDelayMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!o.isTransient(err)) throw err;
      if (attempt >= o.retries) throw new RpcUnavailableError(what, attempt + 1, err);
      o.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
      delay = Math.min(o.maxDelayMs, Math.round(delay * o.factor));
    }
  }
}
