import type { ConsoleState } from "../../api";
import { denyReasonWords, groupDigits, shortAddress, utc } from "../format";

/** Executed, denied, cancelled and expired intents, newest first, and every pause and freeze. */
export function History(props: { state: ConsoleState }) {
  const { state } = props;
  return (
    <>
      <table className="history">
        <caption>Intents</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">Agent</th>
            <th scope="col">Outcome</th>
            <th scope="col">Action</th>
            <th scope="col">Reason given</th>
            <th scope="col">Intent</th>
          </tr>
        </thead>
        <tbody>
          {state.history.map((h) => (
            <tr key={h.intentId} className={h.status.toLowerCase()}>
              <td>{utc(h.endedAt ?? h.submittedAt)}</td>
              <td>{h.agentName ?? shortAddress(h.agent)}</td>
              <td>
                <strong>{h.status === "None" ? "Unknown" : h.status}</strong>
                {h.status === "Denied" && <>: {denyReasonWords(h.denyReason)}</>}
                {h.status === "Cancelled" && h.cancelledBy && <> by {shortAddress(h.cancelledBy)}</>}
                {h.route === "queued" && h.approvals && <span className="muted"> (co-signed, {h.approvals})</span>}
                {h.route === "auto" && <span className="muted"> (within limits)</span>}
              </td>
              <td>{groupDigits(h.action.summary)}</td>
              <td>
                {h.reason ? (
                  `${h.reason.text}${h.reason.matches ? "" : " (does NOT match the on-chain hash)"}`
                ) : (
                  <span className="muted">hash {h.rationaleHash.slice(0, 10)}…</span>
                )}
              </td>
              <td>
                <code title={h.intentId}>{h.intentId.slice(0, 10)}…</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {state.history.length === 0 && <p className="empty">No intent has finished yet.</p>}
      <table className="history">
        <caption>Pauses and freezes</caption>
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
          </tr>
        </thead>
        <tbody>
          {state.emergencyEvents.map((e) => (
            <tr key={`${e.txHash}-${e.kind}-${e.summary}`}>
              <td>{utc(e.time)}</td>
              <td>{e.summary}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {state.emergencyEvents.length === 0 && (
        <p className="empty">The module was never paused and no agent was frozen.</p>
      )}
      <p className="muted">Read from the events of module {state.module} since its deployment.</p>
    </>
  );
}
