/**
 * Mock price feeds and USD limits (SPEC section 11, v3), shared by the specs (test/usdFixtures.ts), the benchmark
 * and the invariant campaign: the module's USD unit, `MockAggregator`'s modes, `PriceFault`, a `UsdLimit` in
 * whole dollars, and a mock feed deployed on the in-process chain.
 */
import { ethers } from "hardhat";
import type { MockAggregator } from "../typechain-types";
import { PRICE_FAULT_NAMES, PriceFaultName } from "../sdk/shapes";

/** One US dollar in the module's USD unit (8 decimals). */
export const USD = 100_000_000n;

/** `MockAggregator.Mode`, in its order. */
export const FeedMode = {
  Normal: 0,
  AlwaysFresh: 1,
  Revert: 2,
  ShortAnswer: 3,
  RevertDecimals: 4,
  BadDecimals: 5,
  BurnGas: 6,
  ShortDecimals: 7,
} as const;

/** `PriceFault` as name -> on-chain value (bigint, as the module's events and views return it); sdk/shapes.ts holds the names. */
export const PriceFault = Object.fromEntries(PRICE_FAULT_NAMES.map((name, value) => [name, BigInt(value)])) as {
  readonly [K in PriceFaultName]: bigint;
};

export interface UsdLimit {
  autoPerTx: bigint;
  autoPerWindow: bigint;
  window: bigint;
  escalatedPerTx: bigint;
}

/** A `UsdLimit` in whole dollars (window in seconds). */
export function usdLimit(
  autoPerTx: bigint,
  autoPerWindow: bigint,
  window: number | bigint,
  escalatedPerTx: bigint,
): UsdLimit {
  return {
    autoPerTx: autoPerTx * USD,
    autoPerWindow: autoPerWindow * USD,
    window: BigInt(window),
    escalatedPerTx: escalatedPerTx * USD,
  };
}

/** Deploys a mock feed with `decimals` and a first `answer` (already scaled to `decimals`), in `mode`. */
export async function deployFeed(
  decimals: number,
  answer: bigint,
  mode: number = FeedMode.Normal,
): Promise<MockAggregator> {
  return (await ethers.deployContract("MockAggregator", [decimals, answer, mode])) as unknown as MockAggregator;
}
