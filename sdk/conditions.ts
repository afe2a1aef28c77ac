/**
 * Conditions on call arguments (SPEC section 11, v3), read the way the module reads them and said in words: which
 * 32-byte argument word each named argument of a function occupies (`argumentWords`), a condition in words
 * (`describeCondition`: "recipient is the Safe", "amountIn charged as USDC"), and whether a call's calldata meets a
 * list of conditions (`checkConditions`, a model of `CallConditions._meetsCallConditions`). Pure functions, no chain
 * access: the CLI, the MCP server, the console and the policy files (core/conditions.ts) share them; reading a
 * call's conditions from the chain and saying them in words is ./callReport.ts.
 */
import { FunctionFragment, ParamType, ZeroAddress, dataLength, dataSlice, getAddress } from "ethers";
import { formatUnitsPlain as formatAmount } from "./units";
import type { ConditionCheck, ConditionValue } from "./types";
import { CONDITION_OP_NAMES, ConditionOpName, enumValues } from "./shapes";

export type { ConditionCheck, ConditionValue };

/** `enum Op` of IAgentTreasuryTypes, name -> on-chain value (the table is sdk/shapes.ts). */
export const OP = enumValues(CONDITION_OP_NAMES);
export type OpName = ConditionOpName;
export const OP_NAMES: readonly OpName[] = CONDITION_OP_NAMES;
/** At most this many conditions per call (`CallConditions.MAX_CALL_CONDITIONS`). */
export const MAX_CALL_CONDITIONS = 16;

/** One 32-byte word of a function's arguments (the head of its ABI encoding, after the selector). */
export interface ArgumentWord {
  word: number;
  /** `recipient`, or `params.recipient` inside a named tuple, `amounts[1]` in a fixed array. */
  path: string;
  /** The last name of the path (`recipient`). */
  name: string;
  /** The ABI type of the word (`address`, `uint256`, ...); for a dynamic argument, its whole type. */
  type: string;
  /** A dynamic argument (bytes, string, a dynamic array or tuple): its word is an offset, not its value. */
  dynamic: boolean;
  /** For a field of a dynamic tuple: the tuple's type (the field itself has no word of its own in the head). */
  container?: string;
}

function isDynamic(p: ParamType): boolean {
  if (p.baseType === "string" || p.baseType === "bytes") return true;
  if (p.isArray()) return p.arrayLength === -1 || isDynamic(p.arrayChildren);
  if (p.isTuple()) return p.components.some(isDynamic);
  return false;
}

function walk(p: ParamType, prefix: string, word: number, out: ArgumentWord[]): number {
  const path = p.name ? (prefix ? `${prefix}.${p.name}` : p.name) : prefix;
  if (isDynamic(p)) {
    if (p.name || !p.isTuple()) out.push({ word, path, name: p.name, type: p.format("sighash"), dynamic: true });
    // The fields of a dynamic tuple are named too, so that a condition on one says why it cannot be read.
    if (p.isTuple()) {
      const fields: ArgumentWord[] = [];
      for (const c of p.components) walk(c, path, 0, fields);
      for (const f of fields) out.push({ ...f, word, dynamic: true, container: p.format("sighash") });
    }
    return word + 1;
  }
  if (p.isTuple()) {
    for (const c of p.components) word = walk(c, path, word, out);
    return word;
  }
  if (p.isArray()) {
    for (let i = 0; i < p.arrayLength; i++) {
      const child = p.arrayChildren;
      word = walk(child, `${path}[${i}]`, word, out);
      const last = out[out.length - 1];
      if (last && !child.isTuple() && !child.isArray()) last.name = `${p.name}[${i}]`;
    }
    return word;
  }
  out.push({ word, path, name: p.name, type: p.type, dynamic: false });
  return word + 1;
}

/**
 * The argument words of `fragment`, in order: a static tuple's fields and a fixed array's elements each take their
 * own word at a fixed position (so `exactInputSingle((address tokenIn, ...))` has `recipient` at word 3), and a
 * dynamic argument one word (its offset).
 */
export function argumentWords(fragment: FunctionFragment): ArgumentWord[] {
  const out: ArgumentWord[] = [];
  let word = 0;
  for (const input of fragment.inputs) word = walk(input, "", word, out);
  return out;
}

function typeText(p: ParamType, named: boolean): string {
  const name = named && p.name ? ` ${p.name}` : "";
  // An array's element type has no name of its own.
  if (p.isArray()) return `${typeText(p.arrayChildren, named)}[${p.arrayLength === -1 ? "" : p.arrayLength}]${name}`;
  if (p.isTuple()) return `(${p.components.map((c) => typeText(c, named)).join(",")})${name}`;
  return `${p.type}${name}`;
}

/** `name(type1 arg1,type2 arg2)`: the canonical signature with the parameter names, as a policy file may write it. */
export function namedSignature(fragment: FunctionFragment): string {
  return `${fragment.name}(${fragment.inputs.map((p) => typeText(p, true)).join(",")})`;
}

function normalise(signature: string): string {
  return signature
    .trim()
    .replace(/\s+/g, " ")
    .replace(/\s*([(),[\]])\s*/g, "$1");
}

/**
 * Why a function signature is unusable, or undefined when it is canonical: `name(type1,type2)` with canonical
 * types (`uint256`, not `uint`), optionally with parameter names (`name(address to,uint256 amount)`), which
 * conditions use to name arguments.
 */
export function signatureProblem(value: string): string | undefined {
  let fragment: FunctionFragment;
  try {
    fragment = FunctionFragment.from(value.trim());
  } catch {
    return `"${value}" is not a function signature: write it as name(type1,type2), e.g. "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"`;
  }
  const written = normalise(value);
  if (written === fragment.format("sighash") || written === normalise(namedSignature(fragment))) return undefined;
  return (
    `"${value}" is not a canonical function signature: write it as ${fragment.format("sighash")}, or with parameter ` +
    `names as ${namedSignature(fragment)} (canonical types, no "function", modifiers or returns)`
  );
}

/** Names the word `word` of `args` (its path), or `word N` when unknown. */
export function argumentName(word: number, args?: readonly ArgumentWord[]): string {
  return args?.find((a) => a.word === word)?.path || `word ${word}`;
}

/** Everything a description needs besides the condition: the Safe's address and names for addresses. */
export interface ConditionContext {
  /** The call's argument words (from its signature), when known. */
  args?: readonly ArgumentWord[];
  /** A name for an address (a token symbol, a contract name), when known. */
  label?: (address: string) => string | undefined;
  /** Decimals of a token, to show a charged amount in its units. */
  decimals?: (address: string) => number | undefined;
}

function addressOf(word: string): string | undefined {
  const n = BigInt(word);
  return n >> 160n === 0n ? getAddress(`0x${n.toString(16).padStart(40, "0")}`) : undefined;
}

function showAddress(address: string, ctx: ConditionContext): string {
  const label = ctx.label?.(address);
  return label ? `${label} (${address})` : address;
}

function showValue(value: string, type: string | undefined, ctx: ConditionContext): string {
  const n = BigInt(value);
  if (type === undefined && n !== 0n) {
    // No signature: a word that is a known address (a token's) is still named.
    const address = addressOf(value);
    const label = address ? ctx.label?.(address) : undefined;
    if (label) return `${label} (${address})`;
  }
  if (type === "address") {
    const address = addressOf(value);
    return address ? showAddress(address, ctx) : value;
  }
  if (type === "bool" && n <= 1n) return n === 1n ? "true" : "false";
  if (type && /^bytes\d+$/.test(type)) return dataSlice(value, 0, Number(type.slice(5)));
  if (type && /^int\d+$/.test(type) && n >> 255n === 1n) return (n - (1n << 256n)).toString();
  return n.toString();
}

/** A condition in words: "recipient is the Safe", "fee is 3000", "amountIn charged as USDC (0x…)". */
export function describeCondition(c: ConditionValue, ctx: ConditionContext = {}): string {
  const name = argumentName(c.word, ctx.args);
  const type = ctx.args?.find((a) => a.word === c.word)?.type;
  switch (c.op) {
    case OP.EqualToAvatar:
      return `${name} is the Safe`;
    case OP.EqualTo:
      return `${name} is ${showValue(c.value, type, ctx)}`;
    case OP.LessOrEqual:
      return `${name} at most ${BigInt(c.value)}`;
    case OP.GreaterOrEqual:
      return `${name} at least ${BigInt(c.value)}`;
    case OP.ChargeAs: {
      const asset = addressOf(c.value);
      return `${name} charged as ${asset ? showAddress(asset, ctx) : c.value} (to the agent's limits, like a payment)`;
    }
    default:
      return `${name}: unknown op ${c.op}`;
  }
}

/** What a list of conditions says about one call, as the module would judge it. */
export interface ConditionsVerdict {
  met: boolean;
  checks: ConditionCheck[];
  /** A `ChargeAs` condition's charge when the conditions are met: the asset and the amount. */
  charge?: { asset: string; amount: bigint; amountFormatted?: string };
}

/**
 * Checks `data` against `conditions` as `CallConditions._meetsCallConditions` does: word w is calldata bytes
 * 4 + 32w to 36 + 32w; a word past the end fails; `EqualToAvatar` compares with `safe`; comparisons are unsigned.
 */
export function checkConditions(
  data: string,
  conditions: readonly ConditionValue[],
  safe: string,
  ctx: ConditionContext = {},
): ConditionsVerdict {
  const length = dataLength(data);
  const checks: ConditionCheck[] = [];
  let charge: ConditionsVerdict["charge"];
  for (const condition of conditions) {
    const end = 36 + 32 * condition.word;
    const text = describeCondition(condition, ctx);
    if (length < end) {
      checks.push({ condition, text, met: false });
      continue;
    }
    const word = dataSlice(data, end - 32, end);
    const arg = BigInt(word);
    const value = BigInt(condition.value);
    const type = ctx.args?.find((a) => a.word === condition.word)?.type;
    let met: boolean;
    if (condition.op === OP.EqualToAvatar) met = arg === BigInt(safe);
    else if (condition.op === OP.EqualTo) met = arg === value;
    else if (condition.op === OP.LessOrEqual) met = arg <= value;
    else if (condition.op === OP.GreaterOrEqual) met = arg >= value;
    else {
      met = true;
      const asset = addressOf(condition.value) ?? ZeroAddress;
      const decimals = ctx.decimals?.(asset);
      const label = ctx.label?.(asset);
      charge = {
        asset,
        amount: arg,
        amountFormatted: decimals === undefined ? undefined : `${formatAmount(arg, decimals)} ${label ?? asset}`,
      };
    }
    checks.push({
      condition,
      text,
      met,
      actual: condition.op === OP.ChargeAs ? arg.toString() : showValue(word, type, ctx),
    });
  }
  const met = checks.every((c) => c.met);
  return { met, checks, charge: met ? charge : undefined };
}

/** One line per check: "met: recipient is the Safe" or "FAILS: recipient is the Safe (the call has 0x…)". */
export function formatChecks(verdict: ConditionsVerdict): string[] {
  return verdict.checks.map((c) => {
    if (c.met) return `met: ${c.text}`;
    return `FAILS: ${c.text} (${c.actual === undefined ? "the call is too short to hold this argument" : `the call has ${c.actual}`})`;
  });
}
