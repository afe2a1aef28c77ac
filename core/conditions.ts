/**
 * Conditions on call arguments in a policy file (SPEC section 11, v3), in words:
 *
 *   "conditions": [
 *     { "arg": "tokenIn", "is": "USDC" },          // EqualTo a token's (or contract's) address
 *     { "arg": "recipient", "is": "safe" },        // EqualToAvatar: the output goes to the Safe
 *     { "arg": "fee", "is": 3000 },                // EqualTo a number
 *     { "arg": "amountOutMinimum", "atLeast": 1 }, // GreaterOrEqual (atMost: LessOrEqual), unsigned
 *     { "arg": "amountIn", "chargeAs": "USDC" }    // ChargeAs: charged to the agent's USDC limits
 *   ]
 *
 * Arguments are named by the call's `signature`, which then carries parameter names
 * (`exactInputSingle((address tokenIn,...,uint256 amountIn,...))`); a name inside a tuple may be written alone
 * (`recipient`) when it is unique, or as its path (`params.recipient`). Numbers are base units (a JSON number up to
 * 2^53, or a string of digits), or `"<amount> <SYMBOL>"` in a token's units (`"5000 USDC"`).
 *
 * `compileConditions` turns that list into the module's `Condition { word, op, value }`, with every problem as an
 * issue naming the field; the schema (core/policySchema.ts) runs it without a chain to check the words, the resolver
 * (core/policyResolve.ts) with the chain's addresses and decimals to get the values.
 */
import { FunctionFragment, getAddress, isHexString, toBeHex, zeroPadBytes, zeroPadValue } from "ethers";
import {
  ArgumentWord,
  ConditionValue,
  MAX_CALL_CONDITIONS,
  OP,
  argumentWords,
  describeCondition,
  signatureProblem,
} from "../sdk/conditions";
import { UnitError, amountSyntax, parseAmount } from "./units";

/** A condition as a policy file writes it: an argument and exactly one test. */
export interface ConditionSpec {
  arg: string;
  is?: string | number | boolean;
  atMost?: string | number;
  atLeast?: string | number;
  chargeAs?: string;
}

/** A condition resolved for the module, with what the file said and the condition in words. */
export interface ResolvedCondition extends ConditionValue {
  /** The argument's path in the signature. */
  arg: string;
  /** In words, e.g. "recipient is the Safe". */
  text: string;
}

/** What a name in a condition refers to. */
export type Reference =
  | { kind: "token"; address?: string; symbol: string; decimals?: number }
  | { kind: "contract"; address?: string; name: string }
  | { kind: "address"; address: string }
  | { kind: "eth" };

export interface CompileEnv {
  /** What `ref` (a token symbol, a contract name, an address, "ETH") means; undefined: unknown. */
  lookup(ref: string): Reference | undefined;
  /** Names for addresses, for the condition in words. */
  label?: (address: string) => string | undefined;
}

export interface ConditionIssue {
  /** Path below the condition list: `[index, field]`. */
  path: (string | number)[];
  message: string;
  value?: unknown;
}

export const TESTS = ["is", "atMost", "atLeast", "chargeAs"] as const;

/** The argument a condition names, or why none fits. */
export function findArgument(args: readonly ArgumentWord[], name: string, fn: string): ArgumentWord | string {
  const exact = args.filter((a) => a.path === name);
  if (exact.length === 1) return exact[0];
  const byName = args.filter((a) => a.name === name);
  if (byName.length === 1) return byName[0];
  if (byName.length > 1)
    return `"${name}" is ambiguous in ${fn}: write its path, one of ${byName.map((a) => a.path).join(", ")}`;
  const known = args.map((a) => a.path).filter(Boolean);
  if (known.length === 0) {
    return `${fn} names no arguments: write the signature with parameter names, e.g. "transfer(address to,uint256 amount)", so that conditions can name them`;
  }
  return `"${name}" is not an argument of ${fn}: its arguments are ${known.join(", ")}`;
}

function bits(type: string): number {
  const m = /^u?int(\d*)$/.exec(type);
  return m && m[1] ? Number(m[1]) : 256;
}

/** A whole number in base units, or `"<amount> <SYMBOL>"` in a token's units. Returns undefined with an issue. */
function number(
  value: string | number | boolean,
  env: CompileEnv,
  fail: (message: string) => undefined,
  signed: boolean,
): bigint | undefined {
  if (typeof value === "boolean") return fail(`must be a number, not ${value}`);
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value))
      return fail(`${value} is not a whole number up to 2^53: write large numbers as strings of digits`);
    if (value < 0 && !signed) return fail(`${value} is negative: the argument is unsigned`);
    return BigInt(value);
  }
  const text = value.trim().replace(/_/g, "");
  if (/^-?\d+$/.test(text)) {
    if (text.startsWith("-") && !signed) return fail(`${value} is negative: the argument is unsigned`);
    return BigInt(text);
  }
  const units = /^(\S+)\s+([A-Za-z][A-Za-z0-9._-]*)$/.exec(value.trim());
  if (!units) {
    return fail(
      `"${value}" is not a number: write base units ("1000000", or a JSON number) or an amount and a token symbol ("1 USDC")`,
    );
  }
  const ref = env.lookup(units[2]);
  if (!ref || ref.kind !== "token")
    return fail(`"${units[2]}" in "${value}" is not a token symbol of the policy: list it under "tokens"`);
  try {
    if (ref.decimals === undefined) {
      amountSyntax(units[1]);
      return 0n; // syntax checked; the value needs the token's decimals from the chain
    }
    return parseAmount(units[1], ref.decimals);
  } catch (error) {
    if (error instanceof UnitError) return fail(error.message);
    throw error;
  }
}

/**
 * Compiles a call's conditions for the module. `signature` is the call's signature as the file writes it. Every
 * problem is returned as an issue (path relative to the list); conditions with problems are left out.
 */
export function compileConditions(
  signature: string,
  specs: readonly ConditionSpec[],
  env: CompileEnv,
): { conditions: ResolvedCondition[]; issues: ConditionIssue[] } {
  const issues: ConditionIssue[] = [];
  const conditions: ResolvedCondition[] = [];
  if (signatureProblem(signature) !== undefined) return { conditions, issues }; // the signature's own issue says why
  const fragment = FunctionFragment.from(signature.trim());
  const fn = fragment.name;
  const args = argumentWords(fragment);
  if (specs.length > MAX_CALL_CONDITIONS) {
    issues.push({
      path: [],
      message: `${specs.length} conditions: the module keeps at most ${MAX_CALL_CONDITIONS} per call`,
      value: specs.length,
    });
  }
  let charging: number | undefined;
  specs.forEach((spec, i) => {
    const tests = TESTS.filter((t) => spec[t] !== undefined);
    if (tests.length !== 1) {
      issues.push({
        path: [i],
        message:
          tests.length === 0
            ? `needs one test: "is", "atMost", "atLeast" or "chargeAs"`
            : `has ${tests.join(" and ")}: one test per condition (write two conditions for a range)`,
      });
      return;
    }
    const test = tests[0];
    const raw = spec[test] as string | number | boolean;
    const found = findArgument(args, spec.arg, fn);
    if (typeof found === "string") {
      issues.push({ path: [i, "arg"], message: found, value: spec.arg });
      return;
    }
    const fail = (message: string): undefined => {
      issues.push({ path: [i, test], message: `${found.path} (${found.type}): ${message}`, value: raw });
      return undefined;
    };
    if (found.dynamic) {
      issues.push({
        path: [i, "arg"],
        message:
          (found.container
            ? `${found.path} is inside ${found.container}, a dynamic tuple`
            : `${found.path} is ${found.type}, a dynamic argument`) +
          `: its word holds an offset, and conditions read only fixed words (static arguments and static tuples)`,
        value: spec.arg,
      });
      return;
    }
    const type = found.type;
    const unsigned = /^uint\d*$/.test(type);
    const signed = /^int\d*$/.test(type);
    let op: number | undefined;
    let value: string | undefined;
    if (test === "chargeAs") {
      if (!unsigned) return void fail(`chargeAs needs an amount argument (uint), not ${type}`);
      if (charging !== undefined) {
        issues.push({
          path: [i, "chargeAs"],
          message: `a call charges one argument; condition ${charging} charges already`,
          value: raw,
        });
        return;
      }
      charging = i;
      const ref = typeof raw === "string" ? env.lookup(raw) : undefined;
      if (ref?.kind === "eth")
        return void fail(
          `"ETH" cannot be charged: ETH leaves the Safe through a call only as its value, which is charged anyway; name a token`,
        );
      if (!ref || ref.kind === "contract")
        return void fail(
          `"${String(raw)}" is not a token: chargeAs names a token symbol of the policy or a token address`,
        );
      op = OP.ChargeAs;
      value = zeroPadValue(ref.address ?? "0x" + "00".repeat(20), 32);
    } else if (test === "atMost" || test === "atLeast") {
      if (!unsigned)
        return void fail(`${test} compares unsigned numbers: use it on a uint argument (for ${type}, use "is")`);
      const n = number(raw, env, fail, false);
      if (n === undefined) return;
      if (n >= 1n << BigInt(bits(type))) return void fail(`${n} does not fit ${type}`);
      op = test === "atMost" ? OP.LessOrEqual : OP.GreaterOrEqual;
      value = zeroPadValue(toBeHex(n), 32);
    } else if (type === "address") {
      if (typeof raw !== "string") return void fail(`must be "safe", a token or contract name, or an address`);
      if (raw.toLowerCase() === "safe") {
        op = OP.EqualToAvatar;
        value = zeroPadValue("0x", 32);
      } else {
        const ref = env.lookup(raw);
        if (!ref || ref.kind === "eth")
          return void fail(`"${raw}" is not "safe", a token or contract name of the policy, or an address`);
        op = OP.EqualTo;
        value = zeroPadValue(ref.address ?? "0x" + "00".repeat(20), 32);
      }
    } else if (type === "bool") {
      if (typeof raw !== "boolean") return void fail(`must be true or false`);
      op = OP.EqualTo;
      value = zeroPadValue(raw ? "0x01" : "0x", 32);
    } else if (/^bytes\d+$/.test(type)) {
      const size = Number(type.slice(5));
      if (typeof raw !== "string" || !isHexString(raw, size))
        return void fail(`must be 0x and exactly ${size} bytes of hex`);
      op = OP.EqualTo;
      value = zeroPadBytes(raw, 32);
    } else if (unsigned || signed) {
      if (raw === "safe") return void fail(`"safe" pins an address argument; this one is a number`);
      const n = number(raw, env, fail, signed);
      if (n === undefined) return;
      const width = BigInt(bits(type));
      if (unsigned ? n >= 1n << width : n >= 1n << (width - 1n) || n < -(1n << (width - 1n)))
        return void fail(`${n} does not fit ${type}`);
      op = OP.EqualTo;
      value = zeroPadValue(toBeHex(n < 0n ? (1n << 256n) + n : n), 32);
    } else {
      return void fail(`conditions on ${type} arguments are not supported`);
    }
    const resolved = { word: found.word, op, value };
    conditions.push({ ...resolved, arg: found.path, text: describeCondition(resolved, { args, label: env.label }) });
  });
  return { conditions, issues };
}

/** The on-chain form of a list, as `setCallConditions` takes it. */
export function conditionTuples(conditions: readonly ConditionValue[]): { word: number; op: number; value: string }[] {
  return conditions.map((c) => ({ word: c.word, op: c.op, value: c.value.toLowerCase() }));
}

/** True when two lists are the same conditions in the same order. */
export function sameConditions(a: readonly ConditionValue[], b: readonly ConditionValue[]): boolean {
  return (
    a.length === b.length &&
    a.every((c, i) => c.word === b[i].word && c.op === b[i].op && c.value.toLowerCase() === b[i].value.toLowerCase())
  );
}

/**
 * True when replacing `before` with `after` can let more through: some earlier condition is gone or changed
 * (adding conditions only narrows the call).
 */
export function conditionsLoosen(before: readonly ConditionValue[], after: readonly ConditionValue[]): boolean {
  return before.some(
    (b) => !after.some((a) => a.word === b.word && a.op === b.op && a.value.toLowerCase() === b.value.toLowerCase()),
  );
}

/** The checksummed address of a 32-byte address word. */
export function wordAddress(value: string): string {
  return getAddress(`0x${value.slice(-40)}`);
}

/**
 * A condition as a policy file writes it, in words, without the chain: "recipient is the Safe", "tokenIn is USDC",
 * "amountIn at most 5000 USDC", "amountIn is charged to the agent's USDC limits, like a payment". For the MCP
 * server's rules and `treasury_limits`, which show the policy's words.
 */
export function conditionSpecText(spec: ConditionSpec): string {
  if (spec.chargeAs !== undefined)
    return `${spec.arg} is charged to the agent's ${spec.chargeAs} limits, like a payment`;
  if (spec.atMost !== undefined) return `${spec.arg} at most ${spec.atMost}`;
  if (spec.atLeast !== undefined) return `${spec.arg} at least ${spec.atLeast}`;
  if (typeof spec.is === "string" && spec.is.toLowerCase() === "safe") return `${spec.arg} is the Safe`;
  return `${spec.arg} is ${String(spec.is)}`;
}
