import type { AgentView, ConsoleState } from "../../api";
import type { PlannedAction, Roles } from "../actions";
import { StopButtons } from "../components/StopButtons";
import { groupDigits, shortAddress, utc } from "../format";
import { AgentCard } from "./AgentCard";
import { OwnersPanel } from "./OwnersPanel";

/** The Safe and its balances, paused or not, the price feeds (v3), the roles, every agent, and the owners' batches. */
export function Overview(props: {
  state: ConsoleState;
  now: number;
  roles: Roles;
  pause: () => PlannedAction | undefined;
  unpause: () => PlannedAction | undefined;
  freeze: (agent: AgentView) => PlannedAction | undefined;
  unfreeze: (agent: AgentView) => PlannedAction | undefined;
  policy: (fileName: string, text: string) => PlannedAction | undefined;
  onAction: (a: PlannedAction) => void;
}) {
  const { state, roles } = props;
  const pause = roles.guardian && !state.paused ? props.pause() : undefined;
  const unpause = roles.owner && state.paused ? props.unpause() : undefined;
  return (
    <>
      <section className={`card safe ${state.paused ? "paused" : ""}`} aria-label="Safe">
        <header>
          <h2>Safe</h2>
          <code>{state.safe}</code>
        </header>
        {state.paused ? (
          <p className="alert-line critical" role="status">
            PAUSED
            {state.pausedBy
              ? ` by ${state.pausedBy.by} at ${state.pausedBy.time.replace("T", " ").replace("Z", " UTC")}`
              : ""}
            : nothing moves until the Safe owners unpause.
          </p>
        ) : (
          <p className="ok-line">Running: agents can spend within their limits.</p>
        )}
        <table className="balances">
          <caption>Balances</caption>
          <tbody>
            {state.balances.map((b) => (
              <tr key={b.asset}>
                <th scope="row">{b.symbol}</th>
                <td className="num">{groupDigits(b.amount)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {state.priceFeeds.length > 0 && (
          <table className="feeds">
            <caption>Price feeds (USD limits value every spend with them)</caption>
            <tbody>
              {state.priceFeeds.map((f) => (
                <tr key={f.asset} className={f.trusted ? "" : "untrusted"}>
                  <th scope="row">{f.symbol}</th>
                  <td className="num">{f.price !== undefined ? `$${groupDigits(f.price)}` : "-"}</td>
                  <td>
                    {f.trusted
                      ? `trusted, updated ${f.age ?? "?"} ago (max ${f.maxAge})`
                      : `NOT TRUSTED (${f.fault}): USD-limited payments wait for co-signers`}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <dl className="facts">
          <dt>Module</dt>
          <dd>
            <code>{state.module}</code>
          </dd>
          <dt>Safe owners</dt>
          <dd>
            {state.safeThreshold} of {state.safeOwners.length}: {state.safeOwners.map(shortAddress).join(", ")}
          </dd>
          <dt>Co-signers</dt>
          <dd>
            {state.cosigners.threshold} of {state.cosigners.members.length} (era {state.cosigners.era}):{" "}
            {state.cosigners.members.map(shortAddress).join(", ")}
          </dd>
          <dt>Guardians</dt>
          <dd>{state.guardians.map(shortAddress).join(", ") || "none"}</dd>
          <dt>Chain time</dt>
          <dd>{utc(state.time)}</dd>
        </dl>
        <StopButtons stop={pause} undo={unpause} labels={["Pause", "Unpause"]} onAction={props.onAction} />
      </section>
      <h2 className="section-title">Agents</h2>
      <div className="grid">
        {state.agents.map((a) => (
          <AgentCard
            key={a.address}
            agent={a}
            now={props.now}
            roles={roles}
            freeze={props.freeze}
            unfreeze={props.unfreeze}
            onAction={props.onAction}
          />
        ))}
      </div>
      <OwnersPanel state={state} roles={roles} policy={props.policy} onAction={props.onAction} />
    </>
  );
}
