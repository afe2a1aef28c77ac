/**
 * Human units in policy files: token amounts ("2.5", "1_000_000") and durations ("24h", "7d", "1h30m").
 * Pure functions, no chain access: the decimals of a token come from the caller (core/policy.ts reads them
 * on-chain with `decimals()`).
 */
import { InvalidRequestError } from "../sdk/errors";
import { UINT128_MAX, formatUnitsPlain, readAmount } from "../sdk/units";

/** A value in a policy file that cannot be read as the unit it stands for. The message names the problem. */
export class UnitError extends Error {
  readonly code = "UNIT_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "UnitError";
  }
}

const SECOND = 1;
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const WEEK = 7 * DAY;

const DURATION_UNITS: Record<string, number> = {
  s: SECOND,
  sec: SECOND,
  secs: SECOND,
  second: SECOND,
  seconds: SECOND,
  m: MINUTE,
  min: MINUTE,
  mins: MINUTE,
  minute: MINUTE,
  minutes: MINUTE,
  h: HOUR,
  hr: HOUR,
  hrs: HOUR,
  hour: HOUR,
  hours: HOUR,
  d: DAY,
  day: DAY,
  days: DAY,
  w: WEEK,
  week: WEEK,
  weeks: WEEK,
};

/** The largest duration the module stores (`uint32` seconds, about 136 years). */
export const MAX_DURATION = 2 ** 32 - 1;

/**
 * Parses a duration into whole seconds. Accepts a non-negative integer (seconds) or a string of one or more
 * `<number><unit>` parts: `"90s"`, `"30m"`, `"24h"`, `"7d"`, `"2w"`, `"1h30m"`, `"1 day"`, `"0"`.
 * Units: s, m (minutes), h, d, w and their long forms. Throws {@link UnitError} naming the bad part.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new UnitError(`duration ${input} must be a whole, non-negative number of seconds or a string like "24h"`);
    }
    return checkDurationRange(input, String(input));
  }
  const text = input.trim().toLowerCase();
  if (text === "") throw new UnitError(`duration is empty: write e.g. "24h", "7d" or "90s"`);
  if (/^\d+$/.test(text)) return checkDurationRange(Number(text), input);
  const part = /(\d+(?:\.\d+)?)\s*([a-z]+)\s*/gy;
  let total = 0;
  let consumed = 0;
  let match: RegExpExecArray | null;
  while ((match = part.exec(text)) !== null) {
    const [, amount, unit] = match;
    const seconds = DURATION_UNITS[unit];
    if (seconds === undefined) {
      throw new UnitError(
        `duration "${input}" has unknown unit "${unit}": use s, m, h, d or w (e.g. "24h", "7d", "1h30m")`,
      );
    }
    const value = Number(amount) * seconds;
    if (!Number.isInteger(value)) {
      throw new UnitError(`duration "${input}" is not a whole number of seconds`);
    }
    total += value;
    consumed = part.lastIndex;
  }
  if (consumed !== text.length || consumed === 0) {
    if (text.startsWith("-")) throw new UnitError(`duration "${input}" is negative`);
    throw new UnitError(
      `duration "${input}" is not a duration: write e.g. "24h", "7d", "1h30m" or a number of seconds`,
    );
  }
  return checkDurationRange(total, input);
}

function checkDurationRange(seconds: number, input: string): number {
  if (seconds > MAX_DURATION) {
    throw new UnitError(`duration "${input}" is ${seconds} seconds, above the maximum ${MAX_DURATION} (uint32)`);
  }
  return seconds;
}

/** Formats seconds compactly: 86400 -> "1d", 5400 -> "1h30m", 0 -> "0s". */
export function formatDuration(seconds: number | bigint): string {
  let rest = Number(seconds);
  if (rest === 0) return "0s";
  const parts: string[] = [];
  for (const [unit, size] of [
    ["w", WEEK],
    ["d", DAY],
    ["h", HOUR],
    ["m", MINUTE],
    ["s", SECOND],
  ] as const) {
    if (rest >= size) {
      const n = Math.floor(rest / size);
      // Weeks only when exact: "10d" reads better than "1w3d".
      if (unit === "w" && rest % WEEK !== 0) continue;
      parts.push(`${n}${unit}`);
      rest -= n * size;
    }
  }
  return parts.join("");
}

/**
 * Parses a human amount into base units with `decimals` decimals: `"2.5"` with 18 gives 2.5e18. The reader is
 * shared with the client library, the CLI and the MCP server (`sdk/units.ts` `readAmount`), so a policy file and an
 * agent read "1.50" alike; this wrapper reports problems as {@link UnitError} for the policy validator.
 * Amounts in a policy are limits the module stores as `uint128`.
 */
export function parseAmount(input: string | number, decimals: number, what = "amount"): bigint {
  try {
    return readAmount(input, decimals, {
      field: what,
      max: UINT128_MAX,
      maxType: "uint128 (the module's limit fields)",
    });
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new UnitError(error.message);
    throw error;
  }
}

/**
 * Reads an amount with 77 decimals and no upper bound: the schema's syntax check, and a common scale for comparing
 * amounts whose token decimals are not known yet. Throws {@link UnitError}.
 */
export function amountSyntax(input: string | number): bigint {
  try {
    return readAmount(input, 77, { max: 2n ** 1024n });
  } catch (error) {
    if (error instanceof InvalidRequestError) throw new UnitError(error.message);
    throw error;
  }
}

/** True when `input` is a syntactically valid amount (any number of decimals): used by the schema. */
export function isAmountSyntax(input: string | number): boolean {
  try {
    amountSyntax(input);
    return true;
  } catch {
    return false;
  }
}

/** Formats base units as a human amount without trailing zeros: 2500000 with 6 decimals -> "2.5". */
export const formatAmount = formatUnitsPlain;

/**
 * Parses an agent's `validUntil`: `0`, `"never"` (no expiry), a unix timestamp in seconds, or an ISO-8601 date
 * with a time zone (`"2027-01-01T00:00:00Z"`). Returns unix seconds (0 = never).
 */
export function parseTimestamp(input: string | number): number {
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input) || input < 0) throw new UnitError(`timestamp ${input} must be whole seconds >= 0`);
    return checkTimestampRange(input, String(input));
  }
  const text = input.trim();
  if (text === "never" || text === "0") return 0;
  if (/^\d+$/.test(text)) return checkTimestampRange(Number(text), input);
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/.test(text)) {
    throw new UnitError(
      `timestamp "${input}" is not a date: use "never", unix seconds or ISO-8601 like "2027-01-01T00:00:00Z"`,
    );
  }
  const ms = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) throw new UnitError(`timestamp "${input}" is not a valid date`);
  if (ms % 1000 !== 0) throw new UnitError(`timestamp "${input}" must be whole seconds`);
  return checkTimestampRange(ms / 1000, input);
}

function checkTimestampRange(seconds: number, input: string): number {
  if (seconds >= 2 ** 48) throw new UnitError(`timestamp "${input}" does not fit uint48`);
  return seconds;
}

/** Formats unix seconds as ISO-8601 UTC ("never" for 0). */
export function formatTimestamp(seconds: number | bigint): string {
  const n = Number(seconds);
  if (n === 0) return "never";
  return new Date(n * 1000).toISOString().replace(".000Z", "Z");
}
