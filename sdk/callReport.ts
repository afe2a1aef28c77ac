/**
 * A call with argument conditions in words (SPEC section 11, v3), as the CLI (`agent:call`), the MCP server, the
 * console and the demo show it: the call decoded with its argument names, and each condition the module holds for
 * it, met or not by this call's own calldata, with what a `ChargeAs` condition charges. The conditions are read from
 * the lens (`callConditions`) and checked with the model in ./conditions.ts; argument names come from a function
 * signature with parameter names (the policy file's, or the caller's), addresses are named by the caller's labels.
 */
import { BlockTag, FunctionFragment, Interface, dataLength, dataSlice, getAddress } from "ethers";
import type { AgentTreasuryLens } from "../typechain-types/contracts/AgentTreasuryLens";
import { ConditionContext, OP, argumentWords, checkConditions } from "./conditions";

/** A call's conditions in words (`conditions` in the CLI's and the MCP server's JSON). */
export interface CallConditionsReport {
  /** The function and its arguments in words, when a signature with parameter names is known. */
  call?: string;
  /** Every condition of the call, in words, whether this call meets it and the value the call has. */
  conditions: { text: string; met: boolean; actual?: string }[];
  /** True when the call meets every condition. */
  met: boolean;
  /** What a `ChargeAs` condition charges this call, in the token's units ("5000 USDC"). */
  charges?: string;
}

export interface CallReportInput {
  lens: AgentTreasuryLens;
  module: string;
  agent: string;
  /** The Safe (`EqualToAvatar` compares with it). */
  safe: string;
  target: string;
  data: string;
  /** Signatures with parameter names that may name this call's arguments (the first whose selector matches is used). */
  signatures?: readonly string[];
  /** A name for an address (a token symbol, a contract name); the Safe is "the Safe" without it. */
  label?: (address: string) => string | undefined;
  /** Decimals of a charged token, to show the charge in its units. */
  decimals?: (asset: string) => Promise<number | undefined>;
  blockTag?: BlockTag;
}

/** The first of `signatures` with parameter names whose selector is `selector`. */
export function namedFragment(signatures: readonly string[], selector: string): FunctionFragment | undefined {
  for (const signature of signatures) {
    let fragment: FunctionFragment;
    try {
      fragment = FunctionFragment.from(signature);
    } catch {
      continue;
    }
    if (fragment.selector.toLowerCase() === selector.toLowerCase() && argumentWords(fragment).some((a) => a.path))
      return fragment;
  }
  return undefined;
}

/** The decoded value at a path such as `recipient` or `params.recipient` (tuples decode with their field names). */
function valueAt(
  values: ReturnType<Interface["decodeFunctionData"]>,
  fragment: FunctionFragment,
  path: string,
): unknown {
  for (const [i, input] of fragment.inputs.entries()) {
    const top = values[i] as unknown;
    if (input.name && path === input.name) return top;
    if (input.name && path.startsWith(`${input.name}.`))
      return (top as Record<string, unknown>)[path.slice(input.name.length + 1)];
    if (!input.name && input.isTuple() && input.components.some((c) => c.name === path))
      return (top as Record<string, unknown>)[path];
  }
  return undefined;
}

/**
 * `exactInputSingle(tokenIn USDC, tokenOut WETH, fee 3000, recipient the Safe, amountIn 5000000000, ...)`: a call in
 * words, its arguments by name when all are static and named, else by position; undefined when it does not decode.
 */
export function describeCall(
  fragment: FunctionFragment,
  data: string,
  label: (address: string) => string | undefined = () => undefined,
): string | undefined {
  let values: ReturnType<Interface["decodeFunctionData"]>;
  try {
    values = new Interface([fragment]).decodeFunctionData(fragment, data);
  } catch {
    return undefined;
  }
  const show = (v: unknown): string => {
    if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return label(v) ?? v;
    if (Array.isArray(v)) return `(${v.map(show).join(", ")})`;
    return String(v);
  };
  // By name when every argument word is static, named and outside an array; else by position.
  const words = argumentWords(fragment);
  if (words.length > 0 && words.every((a) => !a.dynamic && a.path && !a.path.includes("["))) {
    return `${fragment.name}(${words.map((a) => `${a.path} ${show(valueAt(values, fragment, a.path))}`).join(", ")})`;
  }
  return `${fragment.name}(${Array.from(values, show).join(", ")})`;
}

/** The report for a call, or undefined when the module holds no conditions for it. */
export async function callConditionsReport(input: CallReportInput): Promise<CallConditionsReport | undefined> {
  if (dataLength(input.data) < 4) return undefined;
  const selector = dataSlice(input.data, 0, 4).toLowerCase();
  const overrides = input.blockTag === undefined ? {} : { blockTag: input.blockTag };
  const raw = await input.lens.callConditions(input.module, input.agent, input.target, selector, overrides);
  if (raw.length === 0) return undefined;
  const safe = getAddress(input.safe);
  const label = (a: string) => (a.toLowerCase() === safe.toLowerCase() ? "the Safe" : input.label?.(a));
  const conditions = raw.map((c) => ({ word: Number(c.word), op: Number(c.op), value: String(c.value) }));
  const decimals = new Map<string, number | undefined>();
  for (const c of conditions) {
    if (c.op !== OP.ChargeAs) continue;
    const asset = getAddress(`0x${c.value.slice(-40)}`);
    decimals.set(asset.toLowerCase(), await input.decimals?.(asset));
  }
  const fragment = namedFragment(input.signatures ?? [], selector);
  const context: ConditionContext = {
    args: fragment ? argumentWords(fragment) : undefined,
    label,
    decimals: (a) => decimals.get(a.toLowerCase()),
  };
  const verdict = checkConditions(input.data, conditions, safe, context);
  const report: CallConditionsReport = {
    conditions: verdict.checks.map((c) => ({
      text: c.text,
      met: c.met,
      ...(c.actual !== undefined ? { actual: c.actual } : {}),
    })),
    met: verdict.met,
  };
  const call = fragment ? describeCall(fragment, input.data, label) : undefined;
  if (call) report.call = call;
  if (verdict.charge)
    report.charges = verdict.charge.amountFormatted ?? `${verdict.charge.amount} base units of ${verdict.charge.asset}`;
  return report;
}

/** The report as lines for a terminal: the call, then `met` / `FAILS` per condition, then the charge. */
export function reportLines(r: CallConditionsReport, indent = "  "): string[] {
  const lines = r.call ? [`${indent}call: ${r.call}`] : [];
  for (const c of r.conditions) {
    lines.push(
      `${indent}${c.met ? "met    " : "FAILS  "}${c.text}${c.met || c.actual === undefined ? "" : ` (the call has ${c.actual})`}`,
    );
  }
  if (r.charges) lines.push(`${indent}charged: ${r.charges} to the agent's limits, like a payment`);
  return lines;
}
