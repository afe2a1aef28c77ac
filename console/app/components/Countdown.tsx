import { duration, utc } from "../format";

/** "in 59m 12s (2025-01-31 14:05:00 UTC)" or "2m 3s ago (…)", against the chain's clock. */
export function Countdown(props: { at: number; now: number }) {
  const { at, now } = props;
  const text = at > now ? `in ${duration(at - now)}` : `${duration(now - at)} ago`;
  return (
    <time dateTime={new Date(at * 1000).toISOString()} title={utc(at)}>
      {text} <span className="muted">({utc(at)})</span>
    </time>
  );
}
