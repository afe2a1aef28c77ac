import { useEffect, useRef, useState } from "react";
import type { PlannedAction } from "../actions";

/** Says in plain words what an action does before the wallet (or the server) is asked; Escape or Back closes it. */
export function ConfirmDialog(props: { action: PlannedAction; onConfirm: () => Promise<void>; onClose: () => void }) {
  const { action, onConfirm, onClose } = props;
  const [busy, setBusy] = useState(false);
  const confirmRef = useRef<HTMLButtonElement>(null);
  useEffect(() => confirmRef.current?.focus(), []);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !busy) onClose();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [busy, onClose]);
  return (
    <div className="backdrop">
      <div
        role="dialog"
        aria-modal="true"
        aria-labelledby="confirm-title"
        aria-describedby="confirm-body"
        className="dialog"
      >
        <h2 id="confirm-title">{action.title}</h2>
        <div id="confirm-body">
          {action.lines.map((line, i) => (
            <p key={i}>{line}</p>
          ))}
        </div>
        <div className="buttons">
          <button
            ref={confirmRef}
            className="primary"
            disabled={busy}
            onClick={() => {
              setBusy(true);
              void onConfirm().finally(() => setBusy(false));
            }}
          >
            {action.confirm}
          </button>
          <button disabled={busy} onClick={onClose}>
            Back
          </button>
          {busy && <span role="status">Waiting for the wallet and the chain…</span>}
        </div>
      </div>
    </div>
  );
}
