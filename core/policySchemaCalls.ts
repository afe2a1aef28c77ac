/**
 * The v3 parts of the policy file's schema (SPEC section 11): conditions on an allowed call's arguments, the Safe's
 * allowances to spenders (owners' `approve` transactions), and a local Uniswap v3 (chain 31337). The shapes are
 * zod schemas core/policySchema.ts places in the file; the checks that span fields take the schema's helpers
 * ({@link SchemaChecks}) and report issues naming the field, like the rest of the schema. What needs the chain
 * (addresses, decimals) is core/policyResolve.ts.
 */
import { z } from "zod";
import { getAddress } from "ethers";
import { signatureProblem } from "../sdk/conditions";
import { ConditionSpec, Reference, compileConditions } from "./conditions";
import { FEE_TICK_SPACING, UNISWAP_CONTRACTS } from "./localUniswap";

type Path = (string | number)[];

/** A canonical function signature, optionally with parameter names (which conditions use to name arguments). */
export const signatureSchema = z.string().superRefine((value, ctx) => {
  const problem = signatureProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** A condition on one argument of an allowed call, in words (core/conditions.ts). */
export const conditionSchema = z
  .object({
    arg: z.string({ required_error: "required: the argument's name in the signature" }).min(1, "must name an argument"),
    is: z.union([z.string(), z.number(), z.boolean()]).optional(),
    atMost: z.union([z.string(), z.number()]).optional(),
    atLeast: z.union([z.string(), z.number()]).optional(),
    chargeAs: z.string().optional(),
  })
  .strict();

/** Local chain only: a Uniswap v3 pool the pipeline creates, with full-range liquidity (deploy/uniswap.ts). */
export function localUniswapSchema(symbol: z.ZodString, amount: z.ZodType<string | number>) {
  const pool = z
    .object({
      tokens: z.tuple([symbol, symbol], { invalid_type_error: 'must be two token symbols, e.g. ["USDC", "WETH"]' }),
      fee: z.number().int("must be a whole number"),
      liquidity: z.record(symbol, amount),
    })
    .strict();
  return z.object({ pools: z.array(pool).min(1, "at least one pool") }).strict();
}

/** A bounded allowance from the Safe to a spender (an owners' transaction, never an agent's). */
export function allowanceSchema(amount: z.ZodType<string | number>) {
  return z
    .object({
      token: z.string({ required_error: "required: a token symbol or address" }),
      spender: z.string({ required_error: "required: a contract address or a local contract name" }),
      amount,
    })
    .strict();
}

/** What the schema's cross checks share with these (core/policySchema.ts). */
export interface SchemaChecks {
  issue(path: Path, message: string): void;
  duplicates(values: string[], path: Path, what: string, field?: string): void;
  /** Why an address string is unusable, or undefined. */
  addressProblem(value: string): string | undefined;
  /** Token symbols the file lists (upper case -> as written). */
  symbols: ReadonlyMap<string, string>;
  /** 0 for an amount of zero (undefined when it does not parse: its own issue says why). */
  big(value: string | number): bigint | undefined;
}

/** The parts of a policy these checks read (structural, so that this file does not import the schema). */
export interface CallsPolicyPart {
  localTokens?: Record<string, unknown>;
  localUniswap?: { pools: { tokens: [string, string]; fee: number; liquidity: Record<string, string | number> }[] };
  allowances?: { token: string; spender: string }[];
}

/** Local contract names the file may use like token symbols (upper case -> as written): the local Uniswap's. */
export function localContractNames(policy: CallsPolicyPart, checks: SchemaChecks): Map<string, string> {
  const contracts = new Map<string, string>();
  if (!policy.localUniswap) return contracts;
  for (const name of UNISWAP_CONTRACTS) {
    if (checks.symbols.has(name.toUpperCase()))
      checks.issue(["localUniswap"], `${name} names a local Uniswap contract: use another token symbol`);
    contracts.set(name.toUpperCase(), name);
  }
  return contracts;
}

/** What a name in a condition means without the chain (addresses come later, from core/policyResolve.ts). */
function references(
  checks: SchemaChecks,
  contracts: ReadonlyMap<string, string>,
): (ref: string) => Reference | undefined {
  return (ref) => {
    if (ref.toUpperCase() === "ETH") return { kind: "eth" };
    if (/^0x[0-9a-fA-F]{40}$/.test(ref))
      return checks.addressProblem(ref) ? undefined : { kind: "address", address: getAddress(ref) };
    const token = checks.symbols.get(ref.toUpperCase());
    if (token) return { kind: "token", symbol: token };
    const contract = contracts.get(ref.toUpperCase());
    return contract ? { kind: "contract", name: contract } : undefined;
  };
}

/** A call's conditions, compiled without the chain: every problem as an issue under `at` (the call's path). */
export function checkCallConditions(
  call: { signature: string; conditions?: ConditionSpec[] },
  at: Path,
  checks: SchemaChecks,
  contracts: ReadonlyMap<string, string>,
): void {
  const { issues } = compileConditions(call.signature, call.conditions ?? [], {
    lookup: references(checks, contracts),
  });
  for (const problem of issues) checks.issue([...at, "conditions", ...problem.path], problem.message);
}

/** The Safe's allowances: a token (not ETH, not a contract) and a spender that is no token; one per pair. */
export function checkAllowances(
  policy: CallsPolicyPart,
  checks: SchemaChecks,
  contracts: ReadonlyMap<string, string>,
  assetRef: (value: string, path: Path, allowEth: boolean) => string | undefined,
  normalise: (asset: string) => string,
): void {
  const allowances = policy.allowances ?? [];
  allowances.forEach((allowance, i) => {
    if (allowance.token.toUpperCase() === "ETH")
      checks.issue(["allowances", i, "token"], `ETH has no allowance: name a token`);
    else if (contracts.has(allowance.token.toUpperCase()))
      checks.issue(["allowances", i, "token"], `${allowance.token} is a contract, not a token`);
    else assetRef(allowance.token, ["allowances", i, "token"], false);
    if (checks.symbols.has(allowance.spender.toUpperCase())) {
      checks.issue(
        ["allowances", i, "spender"],
        `${allowance.spender} is a token: the spender is the contract that may pull the tokens (a router)`,
      );
    } else assetRef(allowance.spender, ["allowances", i, "spender"], false);
  });
  checks.duplicates(
    allowances.map((a) => `${normalise(a.token)}:${normalise(a.spender)}`),
    ["allowances"],
    "allowance for this token and spender",
    "spender",
  );
}

/** The local pools: two different local mock tokens, a fee tier, an amount of each token above 0. */
export function checkLocalPools(policy: CallsPolicyPart, checks: SchemaChecks): void {
  const local = Object.keys(policy.localTokens ?? {}).map((s) => s.toUpperCase());
  (policy.localUniswap?.pools ?? []).forEach((pool, i) => {
    const at = (...rest: (string | number)[]) => ["localUniswap", "pools", i, ...rest];
    pool.tokens.forEach((t, k) => {
      if (!local.includes(t.toUpperCase())) {
        checks.issue(
          at("tokens", k),
          `"${t}" is not under localTokens: a local pool's liquidity is minted, so both tokens must be local mocks`,
        );
      }
    });
    if (pool.tokens[0].toUpperCase() === pool.tokens[1].toUpperCase())
      checks.issue(at("tokens"), "a pool needs two different tokens");
    if (FEE_TICK_SPACING[pool.fee] === undefined) {
      checks.issue(
        at("fee"),
        `${pool.fee} is not a Uniswap v3 fee tier: use 500, 3000 or 10000 (hundredths of a basis point)`,
      );
    }
    const named = Object.keys(pool.liquidity)
      .map((s) => s.toUpperCase())
      .sort();
    const wanted = pool.tokens.map((s) => s.toUpperCase()).sort();
    if (named.join() !== wanted.join()) {
      checks.issue(
        at("liquidity"),
        `must give an amount for each of the pool's tokens (${pool.tokens.join(", ")}), and nothing else; their ratio is the price`,
      );
    }
    for (const [s, v] of Object.entries(pool.liquidity))
      if (checks.big(v) === 0n) checks.issue(at("liquidity", s), "must be above 0");
  });
}
