/**
 * The benchmark's budgets: a row above its `max` (its mark) fails `npm run bench`; `aim` is the figure we work
 * towards and is only reported. Kept apart from gas.ts so tests can read them without running the benchmark.
 */
import type { Budget } from "./report";
import { batchRow } from "./batch";
import { USD_BUDGETS } from "./usd";

export const BUDGETS: Budget[] = [
  { name: "auto ERC-20 payment (relayed)", max: 100_000n, aim: 85_000n },
  { name: "auto ERC-20 payment with idempotency key", max: 140_000n, aim: 110_000n },
  { name: "module creation", max: 150_000n },
  { name: batchRow(20), max: 50_000n, aim: 40_000n },
  { name: "escalated path 2-of-3 total", max: 250_000n },
  {
    name: "auto ERC-20 payment, mean of 1,000",
    max: 100_000n,
    aim: 85_000n,
    note: "the relayed budget applied to the amortised steady state, where each payment expires one",
  },
  // v3: USD caps (issue 19).
  ...USD_BUDGETS,
];
