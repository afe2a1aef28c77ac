/**
 * Alerts: what a rule reports, with a stable `id` derived from the rule and the chain facts that triggered it
 * (never from the time the watchtower noticed), so a restarted watchtower recognises an alert it already delivered
 * and a receiver can drop a duplicate by id. Formats: one JSON object per line, or one readable line.
 */
import { id as keccakText } from "ethers";
import type { RuleAction, RuleKind, Severity } from "./rules-schema";

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
