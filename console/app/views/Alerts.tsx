import type { ConsoleState } from "../../api";
import { shortAddress, utc } from "../format";

const ACTION_WORDS = {
  freeze: "The rule asks to freeze the agent: a guardian can press Freeze in the overview.",
  pause: "The rule asks to pause: a guardian can press Pause in the overview.",
};

/** The watchtower's alerts as they happen, newest first. */
export function Alerts(props: { state: ConsoleState }) {
  const { alerts } = props.state;
  if (alerts.length === 0) return <p className="empty">No alerts since the console started watching.</p>;
  return (
    <ol className="alerts">
      {alerts.map((a) => (
        <li key={a.id} className={`card alert ${a.severity}`}>
          <p>
            <span className={`badge ${a.severity}`}>{a.severity}</span> <strong>[{a.rule}]</strong>{" "}
            {a.agentName ?? (a.agent ? shortAddress(a.agent) : "")} {a.message}
          </p>
          {a.action !== "alert" && <p>{ACTION_WORDS[a.action]}</p>}
          {a.advice && <p className="muted">Next: {a.advice}</p>}
          <p className="muted">
            {utc(a.blockTime)}, block {a.block}
            {a.intentId ? `, intent ${a.intentId.slice(0, 10)}…` : ""}
          </p>
        </li>
      ))}
    </ol>
  );
}
