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

/** The module's `PriceFault` names, in the order of the interface (`usdValue` and `NoTrustworthyPrice` give the index). */
export const PRICE_FAULT_NAMES = ["None", "NoFeed", "FeedReverted", "MalformedAnswer", "NonPositivePrice", "IncompleteRound", "StalePrice"] as const;
export type PriceFaultName = (typeof PRICE_FAULT_NAMES)[number];

/** The name of a `PriceFault` value; an index the interface does not know reads as `MalformedAnswer`. */
export function priceFaultName(fault: bigint | number): PriceFaultName {
  return PRICE_FAULT_NAMES[Number(fault)] ?? "MalformedAnswer";
}


export function usdAmount(amount: bigint): UsdAmount {
  return { amount, formatted: formatUnitsPlain(amount, USD_DECIMALS) };
}


export function usdPreview(usd: { value: bigint; availableUsdAllowance: bigint; unpriced?: { asset: string; fault: string } }): UsdPreview {
  return { value: usdAmount(usd.value), left: usdAmount(usd.availableUsdAllowance), ...(usd.unpriced ? { unpriced: usd.unpriced } : {}) };
}
