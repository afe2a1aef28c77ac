/**
 * Conditions on call arguments (SPEC section 11, v3) for the model: the policy's conditions on each allowed call in
 * words (the rules and treasury_limits), and for a call it makes or checks, each condition the module holds, met or
 * not by that call, with what a `chargeAs` condition charges to its limits (sdk/callReport.ts).
 */
import type { AgentClient } from "../../sdk";
import type { AgentTreasuryLens } from "../../typechain-types/contracts/AgentTreasuryLens";
import type { PolicyAgent } from "../../core/policy";
import { CallConditionsReport, callConditionsReport } from "../../sdk/callReport";
import { ConditionSpec, conditionSpecText } from "../../core/conditions";

type AllowedCall = NonNullable<PolicyAgent["allowedCalls"]>[number];

/** What these helpers read of the tools' context (a `ToolContext` of ./context.ts). */
export interface ConditionsContext {
  client: AgentClient;
  lens: AgentTreasuryLens;
  safe: string;
  tokens: Record<string, string>;
  contracts?: Record<string, string>;
  policyAgent: PolicyAgent;
}

/** What these helpers read of a prepared request (a `PreparedRequest` of ./requests.ts). */
interface PreparedCall {
  kind: "payment" | "call";
  payload: { target: string; data: string };
}

/** A call's conditions in the policy's words ("recipient is the Safe"); empty when it has none. */
export function policyConditionWords(call: AllowedCall): string[] {
  return ((call.conditions ?? []) as ConditionSpec[]).map(conditionSpecText);
}

/** An allowed call in words for the rules: "exactInputSingle(...) on SwapRouter02 (0x…), only when ...". */
export function allowedCallText(ctx: ConditionsContext, call: AllowedCall): string {
  const address = ctx.tokens[call.target] ?? ctx.contracts?.[call.target];
  const on =
    address && address.toLowerCase() !== call.target.toLowerCase() ? `${call.target} (${address})` : call.target;
  const words = policyConditionWords(call);
  return `${call.signature.split("(")[0]} on ${on}${words.length > 0 ? ` only when ${words.join(", ")}` : ""}`;
}

/** Names for addresses in the reports: the deployment's tokens and local contracts. */
function label(ctx: ConditionsContext): (address: string) => string | undefined {
  const names = new Map(
    Object.entries({ ...(ctx.contracts ?? {}), ...ctx.tokens }).map(([name, a]) => [a.toLowerCase(), name]),
  );
  return (address) => names.get(address.toLowerCase());
}

/** The conditions the module holds for a prepared call, checked against its calldata; undefined for none. */
export async function callConditionsOf(
  ctx: ConditionsContext,
  prepared: PreparedCall,
  signature?: string,
): Promise<CallConditionsReport | undefined> {
  if (prepared.kind !== "call") return undefined;
  return callConditionsReport({
    lens: ctx.lens,
    module: ctx.client.moduleAddress,
    agent: ctx.client.agent,
    safe: ctx.safe,
    target: prepared.payload.target,
    data: prepared.payload.data,
    signatures: [...(signature ? [signature] : []), ...(ctx.policyAgent.allowedCalls ?? []).map((c) => c.signature)],
    label: label(ctx),
    decimals: async (asset) => (await ctx.client.assets.info(asset)).decimals,
  });
}

/** The report as one passage for the model: each condition met or failed, and the charge. */
export function conditionsSentence(r: CallConditionsReport): string {
  const each = r.conditions.map((c) =>
    c.met ? `${c.text} (met)` : `${c.text} (FAILS: the call has ${c.actual ?? "no such argument"})`,
  );
  const charge = r.charges ? ` It is charged to your limits like a payment of ${r.charges}.` : "";
  return `The owners' conditions on this call: ${each.join("; ")}.${charge}`;
}
