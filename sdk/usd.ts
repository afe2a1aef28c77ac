/**
 * USD caps on the client side (SPEC section 11, v3): the module keeps dollars with 8 decimals; these helpers word
 * them for agents and people. Values come from the module's own views (`usdValue`, `availableUsdAllowance`), never
 * from a price the client computes.
 */
import { formatUnitsPlain } from "./units";
import type { UsdAmount, UsdPreview } from "./types";

export type { UsdAmount, UsdPreview };

/** Decimals of the module's USD unit (100000000 = $1). */
export const USD_DECIMALS = 8;

/** The module's `PriceFault` names (sdk/shapes.ts). */
export { PRICE_FAULT_NAMES, priceFaultName } from "./shapes";
export type { PriceFaultName } from "./shapes";

export function usdAmount(amount: bigint): UsdAmount {
  return { amount, formatted: formatUnitsPlain(amount, USD_DECIMALS) };
}

export function usdPreview(usd: {
  value: bigint;
  availableUsdAllowance: bigint;
  unpriced?: { asset: string; fault: string };
}): UsdPreview {
  return {
    value: usdAmount(usd.value),
    left: usdAmount(usd.availableUsdAllowance),
    ...(usd.unpriced ? { unpriced: usd.unpriced } : {}),
  };
}
