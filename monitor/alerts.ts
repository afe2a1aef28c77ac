/**
 * Alerts: what a rule reports, with a stable `id` derived from the rule and the chain facts that triggered it
 * (never from the time the watchtower noticed), so a restarted watchtower recognises an alert it already delivered
 * and a receiver can drop a duplicate by id. Formats: one JSON object per line, or one readable line.
 */
import { id as keccakText } from "ethers";
import { ChainIdentity, describeIdentity } from "../sdk/chainIdentity";
import type { RuleAction, RuleKind, Severity } from "../core/monitorSchema";

export const ALERT_VERSION = 1;

export interface AlertSubjectAgent {
  /** The agent's key at the time of the event. */
  address: string;
  /** Its name in the deployment record / policy, when known. */
  name?: string;
}

/** What the automatic response did. */
export interface AlertResponse {
  action: "freeze" | "pause";
  /** done: the transaction landed; already: nothing to do (already frozen / paused); failed: see `error`;
   *  disabled: the watchtower has no guardian key or runs with --no-respond; skipped: see `error`. */
  status: "done" | "already" | "failed" | "disabled" | "skipped";
  txHash?: string;
  by?: string;
  error?: string;
}

export type AlertDetail = string | number | boolean | string[];

export interface Alert {
  v: number;
  type: "alert";
  id: string;
  /** The rule instance's id (from the policy), e.g. "spend-rate" or "payroll-burst". */
  rule: string;
  kind: RuleKind | "reorg";
  severity: Severity;
  /** One sentence saying what happened, in human units. */
  message: string;
  /** What the on-call engineer should do next. */
  advice?: string;
  chainId: string;
  module: string;
  agent?: AlertSubjectAgent;
  intentId?: string;
  /** The block whose events triggered the alert. */
  block: number;
  blockHash?: string;
  /** Block time (unix seconds) of `block`. */
  blockTime: number;
  txHash?: string;
  logIndex?: number;
  /** The chain's head block when the watchtower raised the alert (at least `block + confirmations - 1`). */
  detectedAtBlock: number;
  /** Wall-clock time the alert was raised (ISO 8601). */
  detectedAt: string;
  /** What the rule asked for. */
  action: RuleAction;
  response?: AlertResponse;
  details: Record<string, AlertDetail>;
}

/** A stable alert id: keccak256 of the rule id and the facts that make the alert unique. */
export function alertId(rule: string, ...facts: (string | number)[]): string {
  return keccakText([rule, ...facts.map(String)].join("|")).slice(0, 34);
}

function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

export function agentLabel(agent: AlertSubjectAgent | undefined): string {
  if (!agent) return "";
  return agent.name ? `${agent.name} (${shortAddress(agent.address)})` : agent.address;
}

function responseText(r: AlertResponse): string {
  const verb = r.action === "freeze" ? "froze the agent" : "paused the module";
  switch (r.status) {
    case "done":
      return `AUTO-RESPONSE: ${verb}${r.txHash ? ` in tx ${r.txHash}` : ""}`;
    case "already":
      return `AUTO-RESPONSE: nothing to do (${r.action === "freeze" ? "agent already frozen" : "module already paused"})`;
    case "failed":
      return `AUTO-RESPONSE FAILED (${r.action}): ${r.error ?? "unknown error"}: act by hand now`;
    case "disabled":
      return `AUTO-RESPONSE OFF (${r.action} requested): ${r.error ?? "no guardian key"}: act by hand now`;
    case "skipped":
      return `AUTO-RESPONSE SKIPPED (${r.action}): ${r.error ?? ""}`;
  }
}

/** One readable line: time, severity, rule, agent, message, response, where. */
export function formatAlertLine(alert: Alert): string {
  const when = new Date(alert.blockTime * 1000).toISOString().replace(".000Z", "Z");
  const parts = [when, alert.severity.toUpperCase().padEnd(8), `[${alert.rule}]`];
  if (alert.agent) parts.push(agentLabel(alert.agent) + ":");
  parts.push(alert.message);
  if (alert.response) parts.push(`| ${responseText(alert.response)}`);
  parts.push(`| block ${alert.block}${alert.txHash ? ` tx ${alert.txHash}` : ""} | id ${alert.id}`);
  if (alert.advice) parts.push(`| next: ${alert.advice}`);
  return parts.join(" ");
}

/** The alert as one JSON line (bigints never appear: amounts are strings in `details`). */
export function formatAlertJson(alert: Alert): string {
  return JSON.stringify(alert);
}

/** What the watchtower found changed under its checkpoint (monitor/watchtower.ts). */
export interface ChainChange {
  /** The last block read before the change, and its hash then. */
  block: number;
  hash?: string;
  /** What the chain shows at `block` now, or how the chains differ. */
  now: string;
  /** The checkpoint of another chain instance was set aside under this name. */
  setAsideAs?: string;
}

/**
 * The critical `reorg` alert for a chain change: on the same chain (a reorganisation), blocks from `from` are read
 * again; on a new chain (a restarted node), everything from the module's creation block `from` (or from the next
 * block when the module is not there yet: `moduleMissing`). Its id is derived from the change and the new chain,
 * so a watchtower that re-detects the same change after a crash raises the same alert.
 */
export function chainChangeAlert(
  change: ChainChange,
  at: {
    identity: ChainIdentity;
    module: string;
    head: number;
    from: number;
    newChain: boolean;
    moduleMissing?: boolean;
  },
): Alert {
  const { identity, module, head, from, newChain } = at;
  const what = change.setAsideAs
    ? `its checkpoint was written on another instance of chain ${identity.chainId} (${change.now}; set aside as ${change.setAsideAs})`
    : `block ${change.block}, read as ${change.hash}, is ${change.now}`;
  const message = newChain
    ? `The chain was restarted or replaced: ${what}. Now reading ${describeIdentity(identity)}, head ${head}: statistics start afresh and ` +
      (at.moduleMissing
        ? `module ${module} is not on this chain yet, so reading goes on from block ${from}.`
        : `every block from ${from}, where module ${module} was created, is read again with alerts.`)
    : `Reorganisation deeper than the confirmations: ${what}. Statistics are rebuilt up to block ${from - 1}, the last block read ` +
      `that is still on the chain, and blocks from ${from} are read again with alerts.`;
  return {
    v: ALERT_VERSION,
    type: "alert",
    id: alertId("reorg", change.block, change.hash ?? "", identity.genesisHash, from),
    rule: "reorg",
    kind: "reorg",
    severity: "critical",
    message,
    advice: newChain
      ? "alerts and statistics before this one describe the old chain; if the module is missing, deploy again (treasury:deploy), and re-run agents' requests (their clients set old journals aside)"
      : "raise --confirmations and compare recent alerts with the chain",
    chainId: identity.chainId,
    module,
    block: change.block,
    blockTime: Math.floor(Date.now() / 1000),
    detectedAtBlock: head,
    detectedAt: new Date().toISOString(),
    action: "alert",
    details: {
      checkpointBlock: change.block,
      checkpointHash: change.hash ?? "",
      now: change.now,
      resumeFrom: from,
      newChain,
      genesisHash: identity.genesisHash,
      ...(change.setAsideAs ? { setAsideAs: change.setAsideAs } : {}),
    },
  };
}
