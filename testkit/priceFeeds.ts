/**
 * Mock price feeds and USD limits (SPEC section 11, v3), shared by the specs (test/usdFixtures.ts), the benchmark
 * and the invariant campaign: the module's USD unit, `MockAggregator`'s modes, `PriceFault`, a `UsdLimit` in
 * whole dollars, and a mock feed deployed on the in-process chain.
 */
import { ethers } from "hardhat";
import type { MockAggregator } from "../typechain-types";

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
} as const;

/** `PriceFault`, in the order of the interface. */
export const PriceFault = {
  None: 0n,
  NoFeed: 1n,
  FeedReverted: 2n,
  MalformedAnswer: 3n,
  NonPositivePrice: 4n,
  IncompleteRound: 5n,
  StalePrice: 6n,
} as const;

export interface UsdLimit {
  autoPerTx: bigint;
  autoPerWindow: bigint;
  window: bigint;
  escalatedPerTx: bigint;
}

/** A `UsdLimit` in whole dollars (window in seconds). */
export function usdLimit(autoPerTx: bigint, autoPerWindow: bigint, window: number | bigint, escalatedPerTx: bigint): UsdLimit {
  return { autoPerTx: autoPerTx * USD, autoPerWindow: autoPerWindow * USD, window: BigInt(window), escalatedPerTx: escalatedPerTx * USD };
}

/** Deploys a mock feed with `decimals` and a first `answer` (already scaled to `decimals`), in `mode`. */
export async function deployFeed(decimals: number, answer: bigint, mode: number = FeedMode.Normal): Promise<MockAggregator> {
  return (await ethers.deployContract("MockAggregator", [decimals, answer, mode])) as unknown as MockAggregator;
}
