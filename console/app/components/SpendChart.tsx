import type { ChartPoint } from "../../api";
import { groupDigits, utc } from "../format";

const W = 320;
const H = 96;
const PAD = 4;

/** Steps through the points: the value holds until the next point. */
function steps(
  points: ChartPoint[],
  value: (p: ChartPoint) => number,
  x: (t: number) => number,
  y: (v: number) => number,
  end: number,
): string {
  const out: string[] = [];
  points.forEach((p, i) => {
    const next = points[i + 1]?.time ?? end;
    out.push(`${x(p.time).toFixed(1)},${y(value(p)).toFixed(1)}`, `${x(next).toFixed(1)},${y(value(p)).toFixed(1)}`);
  });
  return out.join(" ");
}

/** Auto-tier spend in the sliding window (solid) against the cap (dashed) over time, up to `now`. */
export function SpendChart(props: { points: ChartPoint[]; symbol: string; now: number; label: string }) {
  const { points, symbol } = props;
  if (points.every((p) => p.spent === 0))
    return <p className="muted">No auto-tier spend of {symbol} yet: no chart to draw.</p>;
  const start = points[0].time;
  const end = Math.max(props.now, points[points.length - 1].time, start + 1);
  const top = Math.max(...points.map((p) => Math.max(p.cap, p.spent)), 1e-9) * 1.1;
  const x = (t: number) => PAD + ((t - start) / (end - start)) * (W - 2 * PAD);
  const y = (v: number) => H - PAD - (v / top) * (H - 2 * PAD);
  const last = points[points.length - 1];
  const summary = `${props.label}: ${groupDigits(String(last.spent))} of ${groupDigits(String(last.cap))} ${symbol} spent in the window now; peak ${groupDigits(String(Math.max(...points.map((p) => p.spent))))} ${symbol}.`;
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={summary}>
        <polyline className="cap" points={steps(points, (p) => p.cap, x, y, end)} />
        <polyline className="spent" points={steps(points, (p) => p.spent, x, y, end)} />
      </svg>
      <figcaption>
        <span>{utc(start)}</span>
        <span>
          <span className="key spent" /> spent in window
        </span>
        <span>
          <span className="key cap" /> cap
        </span>
        <span>now</span>
      </figcaption>
    </figure>
  );
}
