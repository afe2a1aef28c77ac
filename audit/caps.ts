/**
 * The audit page's chart data: per agent and asset, the auto-tier spend inside the sliding window at every moment it
 * changes, against the cap in force at that moment.
 */
import type { AssetInfo } from "../sdk/types";

export interface CapPoint {
  time: number;
  /** Auto-tier spend within the sliding window ending at `time`, base units. */
  spent: string;
  /** autoPerWindow in force at `time`, base units ("0" when no limit). */
  cap: string;
}

export interface CapSeries {
  asset: AssetInfo;
  /** Window in force at the end, seconds. */
  window: number;
  points: CapPoint[];
  /** Highest spent / cap over the series (0 to 1+). */
  peakShare: number;
  capNow: string;
}

export interface LimitAt {
  time: number;
  autoPerWindow: bigint;
  window: number;
}

/**
 * The auto-tier spend inside the sliding window at every moment it changes: at each spend `s` (it counts from `s`)
 * and at `s + window` (it stops counting), as the module counts it (SPEC section 5: a spend at `s` counts at every
 * `t` with `s <= t < s + window`), against the cap in force at that moment.
 */
export function capSeries(
  asset: AssetInfo,
  history: LimitAt[],
  spends: { time: number; amount: bigint }[],
  end: number,
): CapSeries {
  const limitAt = (t: number): LimitAt | undefined => {
    let found: LimitAt | undefined;
    for (const l of history) if (l.time <= t) found = l;
    return found;
  };
  const times = new Set<number>();
  for (const l of history) times.add(l.time);
  for (const s of spends) {
    times.add(s.time);
    const w = limitAt(s.time)?.window ?? 0;
    if (w > 0 && s.time + w <= end) times.add(s.time + w);
  }
  times.add(end);
  const points: CapPoint[] = [];
  let peak = 0;
  for (const t of [...times].filter((t) => t <= end).sort((a, b) => a - b)) {
    const limit = limitAt(t);
    const window = limit?.window ?? 0;
    const spent = spends
      .filter((s) => s.time <= t && (window === 0 || t < s.time + window))
      .reduce((sum, s) => sum + s.amount, 0n);
    const cap = limit?.autoPerWindow ?? 0n;
    if (cap > 0n) peak = Math.max(peak, Number((spent * 10_000n) / cap) / 10_000);
    points.push({ time: t, spent: spent.toString(), cap: cap.toString() });
  }
  const last = limitAt(end);
  return { asset, window: last?.window ?? 0, points, peakShare: peak, capNow: (last?.autoPerWindow ?? 0n).toString() };
}
