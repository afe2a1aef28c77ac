/** What is left of a cap, as a meter: the filled part is what the agent may still spend now. */
export function Bar(props: { label: string; share: number; text: string }) {
  const share = Math.max(0, Math.min(1, props.share));
  const level = share < 0.2 ? "low" : share < 0.5 ? "mid" : "high";
  return (
    <div className="bar-row">
      <div
        className={`bar ${level}`}
        role="meter"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={Math.round(share * 100)}
        aria-valuetext={props.text}
      >
        <div className="fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
      </div>
      <span className="bar-text">{props.text}</span>
    </div>
  );
}
