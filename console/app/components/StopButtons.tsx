import type { PlannedAction } from "../actions";

/**
 * The emergency pair of a card: the guardian's stop (Pause, Freeze) in red and the owners' undo (Unpause,
 * Unfreeze); each shown only when the connected wallet may plan it now, and nothing when neither applies.
 */
export function StopButtons(props: {
  stop?: PlannedAction;
  undo?: PlannedAction;
  labels: [stop: string, undo: string];
  onAction: (a: PlannedAction) => void;
}) {
  const { stop, undo, labels, onAction } = props;
  if (!stop && !undo) return null;
  return (
    <div className="buttons">
      {stop && (
        <button className="danger" onClick={() => onAction(stop)}>
          {labels[0]}
        </button>
      )}
      {undo && <button onClick={() => onAction(undo)}>{labels[1]}</button>}
    </div>
  );
}
