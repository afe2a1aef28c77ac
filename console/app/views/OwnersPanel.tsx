import { useState } from "react";
import type { ConsoleState } from "../../api";
import type { PlannedAction, Roles } from "../actions";
import { batchUrl } from "../client";
import { utc } from "../format";

/** For the Safe's owners: a changed policy file becomes a batch; every batch the console wrote, to download. */
export function OwnersPanel(props: {
  state: ConsoleState;
  roles: Roles;
  policy: (fileName: string, text: string) => PlannedAction | undefined;
  onAction: (a: PlannedAction) => void;
}) {
  const { state, roles } = props;
  const [error, setError] = useState<string>();
  if (!roles.owner && state.batches.length === 0) return null;
  return (
    <section className="card" aria-label="Safe owners">
      <h2>For the Safe owners</h2>
      {roles.owner && (
        <p>
          <label>
            Change the policy: choose the edited policy file{" "}
            <input
              type="file"
              accept="application/json,.json"
              onChange={(e) => {
                const file = e.target.files?.[0];
                e.target.value = "";
                if (!file) return;
                setError(undefined);
                file.text().then(
                  (text) => {
                    const action = props.policy(file.name, text);
                    if (action) props.onAction(action);
                  },
                  (err: Error) => setError(`Cannot read ${file.name}: ${err.message}`),
                );
              }}
            />
          </label>
        </p>
      )}
      {error && <p role="alert">{error}</p>}
      {state.batches.length > 0 && (
        <ul className="batches">
          {state.batches.map((b) => (
            <li key={b.file}>
              <strong>{b.title}</strong> <span className="muted">({utc(b.createdAt)})</span>
              <ol>
                {b.items.map((item, i) => (
                  <li key={i}>
                    {item.loosens && <span className="badge frozen">loosens</span>} {item.description}
                  </li>
                ))}
              </ol>
              <a href={batchUrl(b.file)} download={b.file}>
                Download batch file {b.file}
              </a>
              <ol className="muted">
                {b.nextSteps.map((s, i) => (
                  <li key={i}>{s}</li>
                ))}
              </ol>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
