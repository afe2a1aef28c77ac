import type { AgentView } from "../../api";
import type { PlannedAction, Roles } from "../actions";
import { Bar } from "../components/Bar";
import { SpendChart } from "../components/SpendChart";
import { StopButtons } from "../components/StopButtons";
import { groupDigits, utc } from "../format";

const STATE_WORDS = { active: "active", frozen: "FROZEN", expired: "EXPIRED" } as const;

/**
 * One agent: its state, strikes, rate limit, and per asset its caps, what it may still spend now, and the chart; v3,
 * its USD budget across every asset.
 */
export function AgentCard(props: {
  agent: AgentView;
  now: number;
  roles: Roles;
  freeze: (agent: AgentView) => PlannedAction | undefined;
  unfreeze: (agent: AgentView) => PlannedAction | undefined;
  onAction: (a: PlannedAction) => void;
}) {
  const { agent, roles } = props;
  const label = agent.name ?? agent.address;
  const freeze = roles.guardian && agent.state === "active" ? props.freeze(agent) : undefined;
  const unfreeze = roles.owner && agent.state === "frozen" ? props.unfreeze(agent) : undefined;
  return (
    <section className={`card agent ${agent.state}`} aria-label={`Agent ${label}`}>
      <header>
        <h3>{label}</h3>
        <span className={`badge ${agent.state}`}>{STATE_WORDS[agent.state]}</span>
        <code className="muted">{agent.address}</code>
      </header>
      <dl className="facts">
        <dt>Strikes</dt>
        <dd>
          {agent.strikes} of {agent.maxStrikes || "no limit"} in {agent.strikeWindow}
        </dd>
        <dt>Rate limit</dt>
        <dd>
          {agent.rateMax
            ? `${agent.rateUsed} of ${agent.rateMax} intents per ${agent.rateWindow}`
            : `${agent.rateUsed} intents (no limit)`}
        </dd>
        <dt>Valid until</dt>
        <dd>{agent.validUntil ? utc(agent.validUntil) : "never expires"}</dd>
        <dt>Co-signed payments</dt>
        <dd>
          wait {agent.escalationDelay}, then {agent.gracePeriod} to execute; recipients: {agent.recipientMode}
        </dd>
      </dl>
      {agent.limits.map((l) => (
        <div className="limit" key={l.asset}>
          <h4>{l.symbol}</h4>
          <Bar
            label={`${label} may still spend in ${l.symbol}`}
            share={l.availableShare}
            text={`${groupDigits(l.available)} of ${groupDigits(l.autoPerWindow)} ${l.symbol} left per ${l.window}`}
          />
          <p className="muted">
            Without co-signers: up to {groupDigits(l.autoPerTx)} {l.symbol} per payment, {groupDigits(l.autoPerWindow)}{" "}
            per {l.window}. Hard cap with co-signers: {groupDigits(l.escalatedPerTx)} {l.symbol}.
          </p>
          <SpendChart points={l.chart} symbol={l.symbol} now={props.now} label={`${label}, ${l.symbol}`} />
        </div>
      ))}
      {agent.usdLimit && (
        <div className="limit usd">
          <h4>USD, all assets together</h4>
          <Bar
            label={`${label} may still spend in USD across all assets`}
            share={agent.usdLimit.availableShare}
            text={`$${groupDigits(agent.usdLimit.available)} of $${groupDigits(agent.usdLimit.autoPerWindow)} left per ${agent.usdLimit.window}`}
          />
          <p className="muted">
            Every payment is valued with its asset's price feed and counts against this budget too: up to $
            {groupDigits(agent.usdLimit.autoPerTx)} per payment without co-signers, never more than $
            {groupDigits(agent.usdLimit.escalatedPerTx)}. When a price cannot be trusted, payments wait for the
            co-signers.
          </p>
        </div>
      )}
      <StopButtons stop={freeze} undo={unfreeze} labels={["Freeze", "Unfreeze"]} onAction={props.onAction} />
    </section>
  );
}
