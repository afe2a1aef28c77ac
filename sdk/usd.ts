/**
 * USD caps on the client side (SPEC section 11, v3): the module keeps dollars with 8 decimals; these helpers word
 * them for agents and people. Values come from the module's own views (`usdValue`, `availableUsdAllowance`), never
 * from a price the client computes.
 */
import { formatUnitsPlain } from "./units";

/** Decimals of the module's USD unit (100000000 = $1). */
export const USD_DECIMALS = 8;

/** Dollars, as the module counts them, and the same in words: `{ amount: 150000000000n, formatted: "1500" }`. */
export interface UsdAmount {
  amount: bigint;
  formatted: string;
}

export function usdAmount(amount: bigint): UsdAmount {
  return { amount, formatted: formatUnitsPlain(amount, USD_DECIMALS) };
}

/** What a request is worth against the agent's USD limit (agents with one only). */
export interface UsdPreview {
  /** The spend's value in dollars, rounded up (0 when a price cannot be trusted). */
  value: UsdAmount;
  /** What the agent may still spend in dollars in the auto tier now, across every asset (before this request). */
  left: UsdAmount;
  /** Set when a price cannot be trusted: the asset (address(0) = ETH) and the module's `PriceFault` name. */
  unpriced?: { asset: string; fault: string };
}

export function usdPreview(usd: { value: bigint; availableUsdAllowance: bigint; unpriced?: { asset: string; fault: string } }): UsdPreview {
  return { value: usdAmount(usd.value), left: usdAmount(usd.availableUsdAllowance), ...(usd.unpriced ? { unpriced: usd.unpriced } : {}) };
}
