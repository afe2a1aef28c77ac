import { useCallback, useEffect, useMemo, useState } from "react";
import type { ConsoleState, QueueItem } from "../api";
import type { ActionContext, ActionOutcome, PlannedAction } from "./actions";
import {
  approveAction,
  cancelAction,
  executeAction,
  freezeAction,
  pauseAction,
  policyAction,
  reasonAction,
  rolesOf,
  signAction,
  unfreezeAction,
  unpauseAction,
} from "./actions";
import { batchUrl, followState } from "./client";
import { ConfirmDialog } from "./components/ConfirmDialog";
import { shortAddress } from "./format";
import { Alerts } from "./views/Alerts";
import { History } from "./views/History";
import { Overview } from "./views/Overview";
import { Queue } from "./views/Queue";
import { connectWallet, errorText, injectedProvider, watchWallet } from "./wallet";
import type { Connection } from "./wallet";

type Tab = "overview" | "queue" | "history" | "alerts";
const TABS: { id: Tab; label: string }[] = [
  { id: "overview", label: "Overview" },
  { id: "queue", label: "Queue" },
  { id: "history", label: "History" },
  { id: "alerts", label: "Alerts" },
];

/** The chain's clock: the latest block's time plus the seconds since the page saw that block. */
function useChainNow(state: ConsoleState | undefined): number {
  const [seen, setSeen] = useState<{ block: number; time: number; at: number }>();
  const [tick, setTick] = useState(Date.now());
  useEffect(() => {
    if (state && state.block !== seen?.block) setSeen({ block: state.block, time: state.time, at: Date.now() });
  }, [state, seen]);
  useEffect(() => {
    const timer = setInterval(() => setTick(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  if (!seen) return state?.time ?? 0;
  return seen.time + Math.max(0, Math.floor((tick - seen.at) / 1000));
}

export function App() {
  const [state, setState] = useState<ConsoleState>();
  const [serverProblem, setServerProblem] = useState<string>();
  const [connection, setConnection] = useState<Connection>();
  const [tab, setTab] = useState<Tab>("overview");
  const [planned, setPlanned] = useState<PlannedAction>();
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string; outcome?: ActionOutcome }>();
  const now = useChainNow(state);

  useEffect(() => followState(setState, setServerProblem), []);
  useEffect(() => watchWallet(setConnection), []);

  const wrongChain = state !== undefined && connection !== undefined && String(connection.chainId) !== state.chainId;
  const active = connection && !wrongChain ? connection : undefined;
  const roles = useMemo(
    () => (state ? rolesOf(state, active?.account) : { cosigner: false, guardian: false, owner: false }),
    [state, active],
  );
  const ctx: ActionContext | undefined = state && active ? { state, connection: active, now } : undefined;
  const when = useCallback(
    <A extends unknown[]>(make: (c: ActionContext, ...args: A) => PlannedAction) =>
      (...args: A) =>
        ctx ? make(ctx, ...args) : undefined,
    [ctx],
  );

  const connect = () => {
    connectWallet().then(setConnection, (e: unknown) => setOutcome({ ok: false, text: errorText(e) }));
  };

  const confirm = async () => {
    if (!planned) return;
    try {
      const result = await planned.run();
      setOutcome({ ok: true, text: result.message, outcome: result });
    } catch (e) {
      setOutcome({ ok: false, text: errorText(e) });
    }
    setPlanned(undefined);
  };

  const roleNames = [roles.cosigner && "co-signer", roles.guardian && "guardian", roles.owner && "Safe owner"]
    .filter(Boolean)
    .join(", ");
  return (
    <>
      <header className="top">
        <h1>Agent Treasury Guard</h1>
        {state && (
          <p className="chain">
            {state.network} (chain {state.chainId}), block {state.block}
          </p>
        )}
        <div className="wallet">
          {!injectedProvider() && <span>No browser wallet: the console is read-only.</span>}
          {injectedProvider() && !connection && (
            <button className="primary" onClick={connect}>
              Connect wallet
            </button>
          )}
          {connection && (
            <span>
              Wallet <code title={connection.account}>{shortAddress(connection.account)}</code>:{" "}
              {roleNames || "no role (you can execute ready intents)"}
            </span>
          )}
        </div>
      </header>
      {wrongChain && (
        <p role="alert" className="alert-line critical">
          Your wallet is on chain {connection?.chainId}, the treasury on chain {state?.chainId}: switch networks in the
          wallet to act.
        </p>
      )}
      {serverProblem && <p role="alert">{serverProblem}</p>}
      {state?.error && (
        <p role="alert">
          The last refresh failed ({state.error}); showing block {state.block}.
        </p>
      )}
      <div aria-live="polite" className="outcome">
        {outcome && (
          <p className={outcome.ok ? "ok-line" : "alert-line critical"}>
            {outcome.text}{" "}
            {outcome.outcome?.batch && (
              <a href={batchUrl(outcome.outcome.batch.file)} download={outcome.outcome.batch.file}>
                Download batch file
              </a>
            )}
          </p>
        )}
      </div>
      <nav role="tablist" aria-label="Views">
        {TABS.map((t) => (
          <button
            key={t.id}
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={tab === t.id}
            aria-controls={`view-${t.id}`}
            onClick={() => setTab(t.id)}
          >
            {t.label}
            {state && t.id === "queue" ? ` (${state.queue.length})` : ""}
            {state && t.id === "alerts" ? ` (${state.alerts.length})` : ""}
          </button>
        ))}
      </nav>
      <main id={`view-${tab}`} role="tabpanel" aria-labelledby={`tab-${tab}`}>
        {!state && <p>Reading the chain…</p>}
        {state && tab === "overview" && (
          <Overview
            state={state}
            now={now}
            roles={roles}
            pause={when(pauseAction)}
            unpause={when(unpauseAction)}
            freeze={when(freezeAction)}
            unfreeze={when(unfreezeAction)}
            policy={when(policyAction)}
            onAction={setPlanned}
          />
        )}
        {state && tab === "queue" && (
          <Queue
            state={state}
            now={now}
            roles={roles}
            account={active?.account}
            actions={{
              approve: when(approveAction),
              sign: when(signAction),
              execute: when(executeAction),
              cancel: when((c: ActionContext, item: QueueItem) =>
                cancelAction(c, item, roles.cosigner ? "co-signer" : "guardian"),
              ),
              reason: (item, text) => reasonAction(item, text),
            }}
            onAction={setPlanned}
          />
        )}
        {state && tab === "history" && <History state={state} />}
        {state && tab === "alerts" && <Alerts state={state} />}
      </main>
      {planned && <ConfirmDialog action={planned} onConfirm={confirm} onClose={() => setPlanned(undefined)} />}
    </>
  );
}
