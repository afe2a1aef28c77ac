import { useState } from "react";

/** A value shown in full with a button that copies it (the text is selected instead when the clipboard is refused). */
export function CopyText(props: { value: string; label: string }) {
  const [copied, setCopied] = useState(false);
  const id = `copy-${props.value}`;
  return (
    <span className="copy">
      <code id={id}>{props.value}</code>
      <button
        className="small"
        aria-label={`Copy ${props.label}`}
        onClick={() => {
          navigator.clipboard.writeText(props.value).then(
            () => setCopied(true),
            () => {
              const node = document.getElementById(id);
              if (node) window.getSelection()?.selectAllChildren(node);
            },
          );
        }}
      >
        {copied ? "Copied" : "Copy"}
      </button>
    </span>
  );
}
