import { useState } from "react";
import type { ConsoleState, QueueItem } from "../../api";
import type { PlannedAction, Roles } from "../actions";
import { actionWords, agentLabel } from "../actions";
import { Countdown } from "../components/Countdown";
import { CopyText } from "../components/CopyText";
import { shortAddress } from "../format";

export interface QueueActions {
  approve: (item: QueueItem) => PlannedAction | undefined;
  sign: (item: QueueItem) => PlannedAction | undefined;
  execute: (item: QueueItem) => PlannedAction | undefined;
  cancel: (item: QueueItem) => PlannedAction | undefined;
  reason: (item: QueueItem, text: string) => PlannedAction | undefined;
}

/** Why Execute is not possible yet, or undefined when it is. */
export function notExecutable(state: ConsoleState, item: QueueItem, now: number): string | undefined {
  if (state.paused) return "The module is paused.";
  if (now >= item.expiresAt) return "Its execution window has passed.";
  if (item.counted < item.threshold) return `It needs ${item.threshold - item.counted} more approval(s).`;
  if (now < item.eta) return "Its delay has not passed yet.";
  return undefined;
}

function Reason(props: { item: QueueItem; canAdd: boolean; add: (text: string) => void }) {
  const { item } = props;
  const [text, setText] = useState("");
  if (item.reason) {
    return (
      <div className="reason">
        <blockquote>{item.reason.text}</blockquote>
        <p className={item.reason.matches ? "ok-line" : "alert-line critical"}>
          {item.reason.matches
            ? `Matches the on-chain rationale hash (from the ${item.reason.source === "journal" ? "agent's journal" : "console's store"}).`
            : `Does NOT match the on-chain rationale hash ${item.rationaleHash}: this is not the reason the agent signed.`}
        </p>
      </div>
    );
  }
  return (
    <div className="reason">
      <p>
        No reason text known; on-chain rationale hash <code>{item.rationaleHash}</code>.
      </p>
      {props.canAdd && (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (text.trim()) props.add(text);
          }}
        >
          <label>
            The agent's reason, exactly as it stated it <input value={text} onChange={(e) => setText(e.target.value)} />
          </label>{" "}
          <button type="submit">Check and store the reason</button>
        </form>
      )}
    </div>
  );
}

/** v3: a call's argument conditions, each met or not, and what it charges to the agent's limits. */
function Conditions(props: { item: QueueItem }) {
  const report = props.item.conditions;
  if (!report) return null;
  return (
    <div className="conditions">
      {report.call && (
        <p>
          <code>{report.call}</code>
        </p>
      )}
      <ul>
        {report.conditions.map((c, i) => (
          <li key={i} className={c.met ? "ok-line" : "alert-line critical"}>
            {c.met ? "Met: " : "FAILS: "}
            {c.text}
            {!c.met && c.actual !== undefined ? ` (the call has ${c.actual})` : ""}
          </li>
        ))}
      </ul>
      {report.charges && <p>Charged to the agent's limits like a payment: {report.charges}.</p>}
      {!report.met && (
        <p className="alert-line critical">It breaks the owners' conditions now: executing it will revert.</p>
      )}
    </div>
  );
}

function QueueCard(props: {
  state: ConsoleState;
  item: QueueItem;
  now: number;
  roles: Roles;
  account?: string;
  actions: QueueActions;
  onAction: (a: PlannedAction) => void;
}) {
  const { state, item, now, roles, account, actions } = props;
  const headingId = `intent-${item.intentId}`;
  const mine = (list: string[]) => account !== undefined && list.some((a) => a.toLowerCase() === account.toLowerCase());
  const approved = mine(item.approvedOnChain);
  const signed = mine(item.signatures.map((s) => s.signer));
  const blocked = notExecutable(state, item, now);
  const offer = (make: (i: QueueItem) => PlannedAction | undefined) => () => {
    const a = make(item);
    if (a) props.onAction(a);
  };
  return (
    <article className="card intent" aria-labelledby={headingId}>
      <h3 id={headingId}>{actionWords(item)}</h3>
      <dl className="facts">
        <dt>Intent</dt>
        <dd>
          <CopyText value={item.intentId} label="intent ID" />
        </dd>
        <dt>Agent</dt>
        <dd>{agentLabel(item.agentName, item.agent)}</dd>
        <dt>Why (the agent says)</dt>
        <dd>
          <Reason
            item={item}
            canAdd={roles.cosigner || roles.guardian}
            add={(text) => props.onAction(actions.reason(item, text)!)}
          />
        </dd>
        {item.conditions && (
          <>
            <dt>The owners' conditions on this call</dt>
            <dd>
              <Conditions item={item} />
            </dd>
          </>
        )}
        <dt>Can execute</dt>
        <dd>
          <Countdown at={item.eta} now={now} />
        </dd>
        <dt>Expires</dt>
        <dd>
          <Countdown at={item.expiresAt} now={now} />
        </dd>
        <dt>Approvals</dt>
        <dd>
          <strong>
            {item.counted} of {item.threshold}
          </strong>
          : {item.approvedOnChain.length} on-chain
          {item.approvedOnChain.length ? ` (${item.approvedOnChain.map(shortAddress).join(", ")})` : ""},{" "}
          {item.signatures.length} signed
          {item.signatures.length ? ` (${item.signatures.map((s) => shortAddress(s.signer)).join(", ")})` : ""}
        </dd>
      </dl>
      <div className="buttons">
        {roles.cosigner && !approved && !signed && <button onClick={offer(actions.approve)}>Approve</button>}
        {roles.cosigner && !approved && !signed && <button onClick={offer(actions.sign)}>Sign</button>}
        {account && (
          <button
            className="primary"
            disabled={blocked !== undefined}
            aria-describedby={`why-${item.intentId}`}
            onClick={offer(actions.execute)}
          >
            Execute
          </button>
        )}
        {(roles.cosigner || roles.guardian) && (
          <button className="danger" onClick={offer(actions.cancel)}>
            Cancel
          </button>
        )}
        <span id={`why-${item.intentId}`} className="muted">
          {blocked ?? "Ready: anyone may execute it now."}
        </span>
      </div>
    </article>
  );
}

/** Every intent waiting for co-signers. */
export function Queue(props: {
  state: ConsoleState;
  now: number;
  roles: Roles;
  account?: string;
  actions: QueueActions;
  onAction: (a: PlannedAction) => void;
}) {
  if (props.state.queue.length === 0) return <p className="empty">Nothing is waiting for co-signers.</p>;
  return (
    <>
      {props.state.queue.map((item) => (
        <QueueCard key={item.intentId} {...props} item={item} />
      ))}
    </>
  );
}
