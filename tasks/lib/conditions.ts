/**
 * What the CLI says about a call with argument conditions (SPEC section 11, v3): the call decoded in words and each
 * of its conditions, met or not, read from the lens at the latest block and checked against the call's own calldata
 * (sdk/conditions.ts, the model of `CallConditions`). Argument names come from the `--function` given, else from the
 * signature the deployment's policy file names for that call; addresses are named by the deployment's tokens and the
 * policy's local contracts.
 */
import { FunctionFragment, Interface, dataSlice, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { AgentClient, CallRequest } from "../../sdk";
import { ArgumentWord, ConditionContext, argumentWords, checkConditions } from "../../sdk";
import type { ClientContext } from "./context";

/** The call's conditions as `agent:call` prints them (`conditions` in --json). */
export interface CallConditionsReport {
  /** The function and its arguments in words, when a signature for it is known. */
  call?: string;
  /** Every condition of the call, in words, whether this call meets it and the value the call has. */
  conditions: { text: string; met: boolean; actual?: string }[];
  /** What a `ChargeAs` condition charges, in the token's units. */
  charges?: string;
}

/** Signatures of the policy file's allowed calls (with their parameter names), by selector. */
async function policySignatures(ctx: ClientContext): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!ctx.record?.policyFile) return out;
  try {
    const { loadPolicy } = await import("../../core/policy");
    const policy = loadPolicy(ctx.record.policyFile);
    for (const agent of policy.agents) for (const c of agent.allowedCalls ?? []) out.set(FunctionFragment.from(c.signature).selector, c.signature);
  } catch {
    // A policy file that moved or no longer parses only costs the argument names.
  }
  return out;
}

/** Names for addresses: the deployment's tokens and, with a local Uniswap, its contracts. */
async function addressNames(ctx: ClientContext): Promise<Map<string, string>> {
  const names = new Map<string, string>(Object.entries(ctx.tokens).map(([symbol, address]) => [address.toLowerCase(), symbol]));
  const { predictUniswapAddresses } = await import("../../deploy/uniswap");
  if (ctx.chainId === 31337n) for (const [name, address] of Object.entries(predictUniswapAddresses())) names.set(address.toLowerCase(), name);
  return names;
}

function describeArguments(fragment: FunctionFragment, data: string, label: (a: string) => string | undefined): string | undefined {
  try {
    const values = new Interface([fragment]).decodeFunctionData(fragment, data);
    const show = (v: unknown): string => {
      if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return label(v) ?? v;
      if (Array.isArray(v)) return `(${v.map(show).join(", ")})`;
      return String(v);
    };
    const flat = argumentWords(fragment).filter((a) => !a.dynamic);
    const words = flat.length > 0 && fragment.inputs.every((p) => p.isTuple() || !p.isArray()) ? flat : undefined;
    if (words && words.every((a) => a.path)) {
      // Static arguments by name: "tokenIn USDC, recipient 0x…, amountIn 1000000".
      const parts = words.map((a: ArgumentWord) => `${a.path} ${show(getAt(values, fragment, a.path))}`);
      return `${fragment.name}(${parts.join(", ")})`;
    }
    return `${fragment.name}(${Array.from(values, show).join(", ")})`;
  } catch {
    return undefined;
  }
}

/** The decoded value at a path such as `recipient` or `params.recipient` (tuples decode with their field names). */
function getAt(values: ReturnType<Interface["decodeFunctionData"]>, fragment: FunctionFragment, path: string): unknown {
  for (const [i, input] of fragment.inputs.entries()) {
    const top = values[i] as unknown;
    if (input.name && (path === input.name || path.startsWith(`${input.name}.`))) {
      if (path === input.name) return top;
      return (top as Record<string, unknown>)[path.slice(input.name.length + 1)];
    }
    if (!input.name && input.isTuple() && input.components.some((c) => c.name === path)) return (top as Record<string, unknown>)[path];
  }
  return undefined;
}

/**
 * The report for a call request, or undefined when the call has no conditions (or the deployment names no lens).
 */
export async function callConditionsReport(
  hre: HardhatRuntimeEnvironment,
  ctx: ClientContext,
  client: AgentClient,
  request: CallRequest,
): Promise<CallConditionsReport | undefined> {
  if (!ctx.record?.lens) return undefined;
  const payload = client.callPayload(request);
  const selector = dataSlice(payload.data, 0, 4).toLowerCase();
  const lens = await hre.ethers.getContractAt("AgentTreasuryLens", ctx.record.lens);
  const raw = await lens.callConditions(ctx.module, client.agent, payload.target, selector);
  if (raw.length === 0) return undefined;
  const given = request.function ? FunctionFragment.from(request.function) : undefined;
  const fragment = given && argumentWords(given).some((a) => a.path) ? given : fromPolicy((await policySignatures(ctx)).get(selector));
  const names = await addressNames(ctx);
  const safe = getAddress(await client.module.avatar());
  const label = (a: string) => (a.toLowerCase() === safe.toLowerCase() ? "the Safe" : names.get(a.toLowerCase()));
  const conditions = raw.map((c) => ({ word: Number(c.word), op: Number(c.op), value: String(c.value) }));
  const decimals = new Map<string, number>();
  for (const c of conditions) {
    if (c.op !== 4) continue;
    const asset = getAddress(`0x${c.value.slice(-40)}`);
    decimals.set(asset.toLowerCase(), (await client.assets.info(asset)).decimals);
  }
  const context: ConditionContext = { args: fragment ? argumentWords(fragment) : undefined, label, decimals: (a) => decimals.get(a.toLowerCase()) };
  const verdict = checkConditions(payload.data, conditions, safe, context);
  const report: CallConditionsReport = { conditions: verdict.checks.map((c) => ({ text: c.text, met: c.met, ...(c.actual !== undefined ? { actual: c.actual } : {}) })) };
  const call = fragment ? describeArguments(fragment, payload.data, label) : undefined;
  if (call) report.call = call;
  if (verdict.charge) report.charges = verdict.charge.amountFormatted ?? `${verdict.charge.amount} base units of ${verdict.charge.asset}`;
  return report;
}

/** The report as lines for the terminal. */
export function reportLines(r: CallConditionsReport): string[] {
  const lines = r.call ? [`call: ${r.call}`] : [];
  for (const c of r.conditions) lines.push(`${c.met ? "  met   " : "  FAILS "} ${c.text}${c.met || c.actual === undefined ? "" : ` (the call has ${c.actual})`}`);
  if (r.charges) lines.push(`charged: ${r.charges} to the agent's limits, like a payment`);
  return lines;
}

function fromPolicy(signature: string | undefined): FunctionFragment | undefined {
  return signature ? FunctionFragment.from(signature) : undefined;
}
