/**
 * The one reader of human amounts ("2.5" ETH, "1_000" USDC): the client library, the CLI, the MCP server and the
 * policy files all go through `readAmount`, so "1.50" means the same thing everywhere and an amount the chain
 * cannot carry is refused with a clear message before anything is encoded or signed.
 *
 * Pure functions, no chain access: the caller supplies the asset's decimals.
 */
import { InvalidRequestError } from "./errors";

/** The largest value a `uint256` holds: the bound of an ETH `value` and of a token `transfer` amount. */
export const UINT256_MAX = 2n ** 256n - 1n;
/** The largest value a `uint128` holds: the bound of every limit the module stores (`AssetLimit`, treasury limits). */
export const UINT128_MAX = 2n ** 128n - 1n;

export interface AmountOptions {
  /** Names the value in messages (default "amount"). */
  field?: string;
  /** The asset's symbol, for messages (default "the token"). */
  symbol?: string;
  /** The largest base-unit amount accepted (default {@link UINT256_MAX}). */
  max?: bigint;
  /** What `max` is, for messages (default "uint256"). */
  maxType?: string;
}

/**
 * Formats base units as a human amount without trailing zeros: 2500000 with 6 decimals is "2.5".
 */
export function formatUnitsPlain(amount: bigint, decimals: number): string {
  const negative = amount < 0n;
  const abs = negative ? -amount : amount;
  const base = 10n ** BigInt(decimals);
  const whole = abs / base;
  const fraction = (abs % base).toString().padStart(decimals, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? `.${fraction}` : ""}`;
}

/**
 * Reads a human amount into base units with `decimals` decimals: `"2.5"` with 18 gives 2.5e18. Accepts a decimal
 * string (underscores may group digits: `"1_000_000"`; trailing zeros after the point are exact, so `"1.50"` is
 * 1.5 even for a 1-decimal token), a non-negative safe integer, or base units as a bigint. Refuses negatives,
 * exponents, more significant fractional digits than the asset has, and anything above `max`, each with a
 * message that names the field and the value.
 * @throws InvalidRequestError
 */
export function readAmount(input: string | number | bigint, decimals: number, opts: AmountOptions = {}): bigint {
  const field = opts.field ?? "amount";
  const symbol = opts.symbol ?? "the token";
  const max = opts.max ?? UINT256_MAX;
  const bounded = (value: bigint, shown: string): bigint => {
    if (value > max) {
      throw new InvalidRequestError(
        `${field} ${shown} is above the largest amount a ${opts.maxType ?? "uint256"} can hold ` +
          `(${formatUnitsPlain(max, decimals)}${opts.symbol ? ` ${opts.symbol}` : ""}): check the amount.`,
        { args: { field, value: shown } },
      );
    }
    return value;
  };
  if (typeof input === "bigint") {
    if (input < 0n)
      throw new InvalidRequestError(`${field} ${input} is negative: amounts are never below 0.`, {
        args: { field, value: String(input) },
      });
    return bounded(input, `${input} base units`);
  }
  let text: string;
  if (typeof input === "number") {
    if (!Number.isSafeInteger(input)) {
      throw new InvalidRequestError(
        `${field} ${input} must be written as a string (e.g. "2.5") to keep its precision.`,
        {
          args: { field, value: String(input) },
        },
      );
    }
    text = String(input);
  } else if (typeof input === "string") {
    text = input.trim();
  } else {
    throw new InvalidRequestError(`${field} must be a decimal string like "2.5" (got ${typeof input}).`, {
      args: { field },
    });
  }
  const shown = `"${input}"`;
  if (text.startsWith("-"))
    throw new InvalidRequestError(`${field} ${shown} is negative: amounts are never below 0.`, {
      args: { field, value: text },
    });
  const plain = text.replace(/_/g, "");
  if (!/^\d+(\.\d+)?$/.test(plain) || /(^_|_$|__|_\.|\._)/.test(text)) {
    throw new InvalidRequestError(
      `${field} ${shown} is not a decimal number: write e.g. "1000" or "2.5" (human units of ${symbol}).`,
      {
        args: { field, value: text },
      },
    );
  }
  const [whole, fraction = ""] = plain.split(".");
  const significant = fraction.replace(/0+$/, "");
  if (significant.length > decimals) {
    throw new InvalidRequestError(
      `${field} ${shown} has ${significant.length} decimal places but ${symbol} has only ${decimals}: round it.`,
      {
        args: { field, value: text },
      },
    );
  }
  return bounded(BigInt(whole) * 10n ** BigInt(decimals) + BigInt(significant.padEnd(decimals, "0") || "0"), shown);
}
