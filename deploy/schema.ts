/**
 * The policy file's schema (zod). It checks everything that can be checked without a chain: shapes, unknown
 * fields, address checksums, amount and duration syntax, thresholds, duplicates, consistent limits. What needs the
 * chain (token decimals, contracts behind addresses, the chain's clock) is checked by `resolvePolicy` in
 * deploy/policy.ts. Both report errors that name the field path and the bad value.
 */
import { z } from "zod";
import { getAddress, isHexString } from "ethers";
import { UnitError, amountSyntax, isAmountSyntax, parseDuration, parseTimestamp } from "./units";
import { monitorSchema } from "../monitor/rules-schema";
import { signatureProblem } from "../sdk/conditions";
import { ConditionSpec, Reference, compileConditions } from "./conditions";
import { FEE_TICK_SPACING, UNISWAP_CONTRACTS } from "./uniswap";

export const RECIPIENT_MODES = ["any", "allowlist", "escalate-unknown"] as const;
export type RecipientModeName = (typeof RECIPIENT_MODES)[number];

/** Why an address string is unusable, or undefined when it is fine (checksummed, or all one case). */
export function addressProblem(value: string): string | undefined {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value)) return `"${value}" is not an address (0x followed by 40 hex digits)`;
  try {
    getAddress(value);
  } catch {
    return `"${value}" has a bad checksum (mixed case that does not match EIP-55): copy the address again from a trusted source`;
  }
  return undefined;
}

const address = z.string({ invalid_type_error: "must be an address string" }).superRefine((value, ctx) => {
  const problem = addressProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

/** A token amount in human units: a decimal string ("2.5", "1_000") or a safe non-negative integer. */
const amount = z
  .custom<string | number>((v) => typeof v === "string" || typeof v === "number", {
    message: 'must be an amount like "2.5" (a string) or a whole number',
  })
  .superRefine((value, ctx) => {
    try {
      amountSyntax(value);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  });

/** A duration: "24h", "7d", "1h30m", or whole seconds. */
const duration = z
  .custom<string | number>((v) => typeof v === "string" || typeof v === "number", {
    message: 'must be a duration like "24h" or a number of seconds',
  })
  .superRefine((value, ctx) => {
    try {
      parseDuration(value);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  });

const timestamp = z
  .custom<string | number>((v) => typeof v === "string" || typeof v === "number", {
    message: 'must be "never", unix seconds or an ISO-8601 date',
  })
  .superRefine((value, ctx) => {
    try {
      parseTimestamp(value);
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
    }
  });

const symbol = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9._-]{0,15}$/, "must be a token symbol: a letter then up to 15 letters, digits, . _ -");

/** A canonical function signature, optionally with parameter names (which conditions use to name arguments). */
const signature = z.string().superRefine((value, ctx) => {
  const problem = signatureProblem(value);
  if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem });
});

const count = (max: number) =>
  z
    .number({ invalid_type_error: "must be a whole number" })
    .int("must be a whole number")
    .min(0, "must not be negative")
    .max(max, `must be at most ${max}`);

const limitSchema = z
  .object({
    asset: z.string({ required_error: 'required: "ETH", a token symbol or a token address' }),
    autoPerTx: amount,
    autoPerWindow: amount,
    window: duration,
    escalatedPerTx: amount,
  })
  .strict();

/** v3: a condition on one argument of an allowed call, in words (deploy/conditions.ts). */
const conditionSchema = z
  .object({
    arg: z.string({ required_error: "required: the argument's name in the signature" }).min(1, "must name an argument"),
    is: z.union([z.string(), z.number(), z.boolean()]).optional(),
    atMost: z.union([z.string(), z.number()]).optional(),
    atLeast: z.union([z.string(), z.number()]).optional(),
    chargeAs: z.string().optional(),
  })
  .strict();

const allowedCallSchema = z
  .object({
    target: z.string({ required_error: "required: a contract address, a token symbol or a local contract name" }),
    signature,
    conditions: z.array(conditionSchema).optional(),
  })
  .strict();

/** v3, local chain only: a Uniswap v3 pool the pipeline creates, with full-range liquidity (deploy/uniswap.ts). */
const localPoolSchema = z
  .object({
    tokens: z.tuple([symbol, symbol], { invalid_type_error: 'must be two token symbols, e.g. ["USDC", "WETH"]' }),
    fee: z.number().int("must be a whole number"),
    liquidity: z.record(symbol, amount),
  })
  .strict();

const localUniswapSchema = z.object({ pools: z.array(localPoolSchema).min(1, "at least one pool") }).strict();

/** v3: a bounded allowance from the Safe to a spender (an owners' transaction, never an agent's). */
const allowanceSchema = z
  .object({
    token: z.string({ required_error: "required: a token symbol or address" }),
    spender: z.string({ required_error: "required: a contract address or a local contract name" }),
    amount,
  })
  .strict();

const agentSchema = z
  .object({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/, "must be 1-32 letters, digits, . _ - (used in commands and reports)"),
    description: z.string().optional(),
    address,
    validUntil: timestamp.optional(),
    escalationDelay: duration,
    gracePeriod: duration,
    maxIntentsPerWindow: count(65535).optional(),
    rateWindow: duration.optional(),
    maxStrikes: count(255).optional(),
    strikeWindow: duration.optional(),
    recipientMode: z.enum(RECIPIENT_MODES, {
      errorMap: () => ({ message: `must be one of ${RECIPIENT_MODES.map((m) => `"${m}"`).join(", ")}` }),
    }),
    recipients: z.array(address).optional(),
    limits: z.array(limitSchema).optional(),
    allowedCalls: z.array(allowedCallSchema).optional(),
  })
  .strict();

const newSafeSchema = z
  .object({
    owners: z.array(address).min(1, "a Safe needs at least one owner"),
    threshold: z.number().int("must be a whole number").min(1, "must be at least 1"),
    saltNonce: z
      .union([z.string().regex(/^\d+$/, "must be a decimal integer string"), count(Number.MAX_SAFE_INTEGER)])
      .optional(),
  })
  .strict();

export type NewSafeSpec = z.infer<typeof newSafeSchema>;

/** `safe` is either an existing Safe's address or the owners and threshold of a new one. */
const safeSchema = z.custom<string | NewSafeSpec>().superRefine((value, ctx) => {
  const inner = typeof value === "string" ? address : newSafeSchema;
  if (typeof value !== "string" && (typeof value !== "object" || value === null || Array.isArray(value))) {
    ctx.addIssue({
      code: z.ZodIssueCode.custom,
      message: 'must be an existing Safe\'s address or { "owners": [...], "threshold": n } for a new Safe',
    });
    return;
  }
  const result = inner.safeParse(value);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue(issue as z.IssueData);
});

const localTokenSchema = z
  .object({
    name: z.string().optional(),
    decimals: count(36),
    mint: amount.optional(),
  })
  .strict();

const treasuryLimitSchema = z
  .object({
    asset: z.string(),
    perWindow: amount,
    window: duration,
  })
  .strict();

const policyObject = z
  .object({
    description: z.string().optional(),
    safe: safeSchema,
    salt: z.string().min(1, "must not be empty: any label, e.g. \"main\", or a 32-byte hex value"),
    guardians: z.array(address).default([]),
    cosigners: z
      .object({
        members: z.array(address).min(1, "at least one co-signer").max(20, "at most 20 co-signers"),
        threshold: z.number().int("must be a whole number").min(1, "must be at least 1"),
      })
      .strict(),
    /** v3: the module's exec target (a Zodiac modifier in front of the Safe); absent = the Safe itself. */
    target: address.optional(),
    tokens: z.record(symbol, address).optional(),
    localTokens: z.record(symbol, localTokenSchema).optional(),
    localEth: amount.optional(),
    treasuryLimits: z.array(treasuryLimitSchema).optional(),
    /** v3, local chain only: Uniswap v3 from the npm artifacts; its contracts are named like tokens. */
    localUniswap: localUniswapSchema.optional(),
    /** v3: allowances the Safe gives (owners' transactions), e.g. a DEX router's bounded allowance. */
    allowances: z.array(allowanceSchema).optional(),
    agents: z.array(agentSchema),
    monitor: monitorSchema.optional(),
  })
  .strict();

export type PolicyShape = z.output<typeof policyObject>;

/** The whole policy file: shapes plus the rules that span fields. */
export const policySchema = policyObject.superRefine((policy, ctx) => crossCheck(policy, ctx));

function issue(ctx: z.RefinementCtx, path: (string | number)[], message: string) {
  ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
}

function lower(a: string) {
  return a.toLowerCase();
}

/** Reports each later duplicate of a value in a list. */
function duplicates(
  ctx: z.RefinementCtx,
  values: string[],
  path: (string | number)[],
  what: string,
  field?: string,
) {
  const seen = new Map<string, number>();
  values.forEach((v, i) => {
    const key = lower(v);
    const first = seen.get(key);
    const at = field === undefined ? [...path, i] : [...path, i, field];
    if (first !== undefined) issue(ctx, at, `duplicate ${what} (also at index ${first})`);
    else seen.set(key, i);
  });
}

function safeDuration(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value);
  } catch (error) {
    if (error instanceof UnitError) return undefined;
    throw error;
  }
}

function big(value: string | number): bigint | undefined {
  return isAmountSyntax(value) ? amountSyntax(value) : undefined;
}

/** Rules that span fields: thresholds, duplicates, references to tokens, limit consistency. */
function crossCheck(policy: PolicyShape, ctx: z.RefinementCtx) {
  const { cosigners } = policy;
  if (cosigners.threshold > cosigners.members.length) {
    issue(ctx, ["cosigners", "threshold"], `threshold ${cosigners.threshold} is above the ${cosigners.members.length} members`);
  }
  duplicates(ctx, cosigners.members, ["cosigners", "members"], "co-signer");
  duplicates(ctx, policy.guardians, ["guardians"], "guardian");
  if (typeof policy.safe === "object") {
    if (policy.safe.threshold > policy.safe.owners.length) {
      issue(ctx, ["safe", "threshold"], `threshold ${policy.safe.threshold} is above the ${policy.safe.owners.length} owners`);
    }
    duplicates(ctx, policy.safe.owners, ["safe", "owners"], "owner");
  }
  if (policy.target !== undefined && /^0x0{40}$/i.test(policy.target)) {
    issue(ctx, ["target"], "the zero address cannot receive the module's calls: omit target to send them to the Safe itself");
  }
  if (/^0x/i.test(policy.salt) && !(isHexString(policy.salt, 32))) {
    issue(ctx, ["salt"], "a hex salt must be exactly 32 bytes (0x + 64 hex digits); any other text is hashed");
  }

  const symbols = new Map<string, string>();
  for (const s of Object.keys(policy.tokens ?? {})) symbols.set(s.toUpperCase(), s);
  for (const s of Object.keys(policy.localTokens ?? {})) {
    if (symbols.has(s.toUpperCase())) issue(ctx, ["localTokens", s], `symbol ${s} is also listed under tokens`);
    symbols.set(s.toUpperCase(), s);
  }
  if (symbols.has("ETH")) issue(ctx, ["tokens"], `"ETH" is reserved for the native asset; do not list it as a token`);
  // v3: the local Uniswap contracts are named like tokens, but are not assets.
  const contracts = new Map<string, string>();
  if (policy.localUniswap) {
    for (const name of UNISWAP_CONTRACTS) {
      if (symbols.has(name.toUpperCase())) issue(ctx, ["localUniswap"], `${name} names a local Uniswap contract: use another token symbol`);
      contracts.set(name.toUpperCase(), name);
    }
  }

  /** Checks an asset reference ("ETH", a known symbol or an address); returns a normalised key. */
  const assetRef = (value: string, path: (string | number)[], allowEth: boolean): string | undefined => {
    if (value.toUpperCase() === "ETH") {
      if (!allowEth) issue(ctx, path, `"ETH" is not a contract: name a contract address or token symbol`);
      return "ETH";
    }
    if (value.startsWith("0x")) {
      const problem = addressProblem(value);
      if (problem) issue(ctx, path, problem);
      return lower(value);
    }
    const known = symbols.get(value.toUpperCase());
    if (!known) {
      const contract = contracts.get(value.toUpperCase());
      if (contract && !allowEth) return contract;
      if (contract) {
        issue(ctx, path, `${contract} is a contract, not an asset: name a token`);
        return undefined;
      }
      const hint = contracts.size > 0 ? `, a local contract (${[...contracts.values()].join(", ")})` : "";
      issue(ctx, path, `unknown token symbol "${value}": list it under "tokens" (symbol -> address)${hint} or use an address`);
      return undefined;
    }
    return known.toUpperCase();
  };
  /** What a name in a condition means, without the chain (addresses come later, from deploy/policy.ts). */
  const reference = (ref: string): Reference | undefined => {
    if (ref.toUpperCase() === "ETH") return { kind: "eth" };
    if (/^0x[0-9a-fA-F]{40}$/.test(ref)) return addressProblem(ref) ? undefined : { kind: "address", address: getAddress(ref) };
    const token = symbols.get(ref.toUpperCase());
    if (token) return { kind: "token", symbol: token };
    const contract = contracts.get(ref.toUpperCase());
    return contract ? { kind: "contract", name: contract } : undefined;
  };

  const positive = (value: string | number | undefined, path: (string | number)[], what: string) => {
    const seconds = safeDuration(value);
    if (seconds === 0) issue(ctx, path, `${what} must be longer than 0 seconds`);
  };

  (policy.treasuryLimits ?? []).forEach((limit, i) => {
    assetRef(limit.asset, ["treasuryLimits", i, "asset"], true);
    positive(limit.window, ["treasuryLimits", i, "window"], "window");
    if (big(limit.perWindow) === 0n) {
      issue(ctx, ["treasuryLimits", i, "perWindow"], "perWindow must be above 0 (remove the entry to have no treasury limit)");
    }
  });
  duplicates(
    ctx,
    (policy.treasuryLimits ?? []).map((l) => normaliseAsset(l.asset)),
    ["treasuryLimits"],
    "treasury limit for this asset",
    "asset",
  );

  duplicates(ctx, policy.agents.map((a) => a.name), ["agents"], "agent name", "name");
  duplicates(ctx, policy.agents.map((a) => a.address), ["agents"], "agent address", "address");
  policy.agents.forEach((agent, a) => {
    const at = (...rest: (string | number)[]) => ["agents", a, ...rest];
    positive(agent.gracePeriod, at("gracePeriod"), "gracePeriod");
    if ((agent.maxIntentsPerWindow ?? 0) > 0 && !safeDuration(agent.rateWindow)) {
      issue(ctx, at("rateWindow"), "required (and above 0) when maxIntentsPerWindow is set");
    }
    if ((agent.maxStrikes ?? 0) > 0 && !safeDuration(agent.strikeWindow)) {
      issue(ctx, at("strikeWindow"), "required (and above 0) when maxStrikes is set");
    }
    if (typeof policy.safe === "string" && lower(policy.safe) === lower(agent.address)) {
      issue(ctx, at("address"), "the Safe itself cannot be an agent");
    }
    duplicates(ctx, agent.recipients ?? [], at("recipients"), "recipient");
    const assets: string[] = [];
    (agent.limits ?? []).forEach((limit, l) => {
      assets.push(assetRef(limit.asset, at("limits", l, "asset"), true) ?? `?${l}`);
      positive(limit.window, at("limits", l, "window"), "window");
      const [tx, win, esc] = [big(limit.autoPerTx), big(limit.autoPerWindow), big(limit.escalatedPerTx)];
      if (tx !== undefined && win !== undefined && tx > win) {
        issue(ctx, at("limits", l, "autoPerTx"), `autoPerTx ${limit.autoPerTx} is above autoPerWindow ${limit.autoPerWindow}`);
      }
      if (tx !== undefined && esc !== undefined && tx > esc) {
        issue(ctx, at("limits", l, "autoPerTx"), `autoPerTx ${limit.autoPerTx} is above escalatedPerTx ${limit.escalatedPerTx}`);
      }
      if (tx === 0n && win === 0n && esc === 0n) {
        issue(ctx, at("limits", l), "all-zero limits mean no limit: remove the entry instead");
      }
    });
    duplicates(ctx, assets, at("limits"), "limit for this asset", "asset");
    const calls: string[] = [];
    (agent.allowedCalls ?? []).forEach((call, c) => {
      const target = assetRef(call.target, at("allowedCalls", c, "target"), false);
      calls.push(`${target}:${call.signature.replace(/\s+/g, "")}`);
      const { issues } = compileConditions(call.signature, (call.conditions ?? []) as ConditionSpec[], { lookup: reference });
      for (const problem of issues) issue(ctx, at("allowedCalls", c, "conditions", ...problem.path), problem.message);
    });
    duplicates(ctx, calls, at("allowedCalls"), "allowed call");
  });

  (policy.allowances ?? []).forEach((allowance, i) => {
    if (allowance.token.toUpperCase() === "ETH") issue(ctx, ["allowances", i, "token"], `ETH has no allowance: name a token`);
    else if (contracts.has(allowance.token.toUpperCase())) issue(ctx, ["allowances", i, "token"], `${allowance.token} is a contract, not a token`);
    else assetRef(allowance.token, ["allowances", i, "token"], false);
    if (symbols.has(allowance.spender.toUpperCase())) {
      issue(ctx, ["allowances", i, "spender"], `${allowance.spender} is a token: the spender is the contract that may pull the tokens (a router)`);
    } else assetRef(allowance.spender, ["allowances", i, "spender"], false);
  });
  duplicates(
    ctx,
    (policy.allowances ?? []).map((a) => `${normaliseAsset(a.token)}:${normaliseAsset(a.spender)}`),
    ["allowances"],
    "allowance for this token and spender",
    "spender",
  );

  (policy.localUniswap?.pools ?? []).forEach((pool, i) => {
    const at = (...rest: (string | number)[]) => ["localUniswap", "pools", i, ...rest];
    const local = Object.keys(policy.localTokens ?? {}).map((s) => s.toUpperCase());
    pool.tokens.forEach((t, k) => {
      if (!local.includes(t.toUpperCase())) issue(ctx, at("tokens", k), `"${t}" is not under localTokens: a local pool's liquidity is minted, so both tokens must be local mocks`);
    });
    if (pool.tokens[0].toUpperCase() === pool.tokens[1].toUpperCase()) issue(ctx, at("tokens"), "a pool needs two different tokens");
    if (FEE_TICK_SPACING[pool.fee] === undefined) issue(ctx, at("fee"), `${pool.fee} is not a Uniswap v3 fee tier: use 500, 3000 or 10000 (hundredths of a basis point)`);
    const named = Object.keys(pool.liquidity).map((s) => s.toUpperCase()).sort();
    const wanted = pool.tokens.map((s) => s.toUpperCase()).sort();
    if (named.join() !== wanted.join()) {
      issue(ctx, at("liquidity"), `must give an amount for each of the pool's tokens (${pool.tokens.join(", ")}), and nothing else; their ratio is the price`);
    }
    for (const [s, v] of Object.entries(pool.liquidity)) if (big(v) === 0n) issue(ctx, at("liquidity", s), "must be above 0");
  });
}

function normaliseAsset(asset: string): string {
  return asset.toUpperCase() === "ETH" ? "ETH" : asset.startsWith("0x") ? lower(asset) : asset.toUpperCase();
}
