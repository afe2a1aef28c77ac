/**
 * The policy file's schema (zod). It checks everything that can be checked without a chain: shapes, unknown
 * fields, address checksums, amount and duration syntax, thresholds, duplicates, consistent limits. What needs the
 * chain (token decimals, contracts behind addresses, the chain's clock) is checked by `resolvePolicy` in
 * core/policy.ts. Both report errors that name the field path and the bad value.
 */
import { z } from "zod";
import { getAddress, isHexString } from "ethers";
import { UnitError, amountSyntax, isAmountSyntax, parseDuration, parseTimestamp } from "./units";
import { monitorSchema } from "./monitorSchema";
import type { ConditionSpec } from "./conditions";
import {
  SchemaChecks,
  allowanceSchema,
  checkAllowances,
  checkCallConditions,
  checkLocalPools,
  conditionSchema,
  localContractNames,
  localUniswapSchema,
  signatureSchema,
} from "./policySchemaCalls";
import { RECIPIENT_MODES } from "../sdk/shapes";

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

/** A string or number field that `parse` accepts; otherwise the issue is `parse`'s own error message. */
const parsedBy = (parse: (value: string | number) => unknown, message: string) =>
  z
    .custom<string | number>((v) => typeof v === "string" || typeof v === "number", { message })
    .superRefine((value, ctx) => {
      try {
        parse(value);
      } catch (error) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      }
    });

/** A token amount in human units: a decimal string ("2.5", "1_000") or a safe non-negative integer. */
const amount = parsedBy(amountSyntax, 'must be an amount like "2.5" (a string) or a whole number');

/** A duration: "24h", "7d", "1h30m", or whole seconds. */
const duration = parsedBy(parseDuration, 'must be a duration like "24h" or a number of seconds');

const timestamp = parsedBy(parseTimestamp, 'must be "never", unix seconds or an ISO-8601 date');

const symbol = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9._-]{0,15}$/, "must be a token symbol: a letter then up to 15 letters, digits, . _ -");

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

/** v3: an agent's USD limit across every asset, in dollars ("5000"); the module keeps 8 decimals. */
const usdLimitSchema = z
  .object({
    autoPerTx: amount,
    autoPerWindow: amount,
    window: duration,
    escalatedPerTx: amount,
  })
  .strict();

/** v3: a Chainlink price feed (AggregatorV3Interface) of an asset in USD, and how old its answer may be. */
const priceFeedSchema = z
  .object({
    feed: address,
    maxAge: duration,
  })
  .strict();

/** v3, chain 31337 only: a mock price feed the pipeline deploys with this price in dollars. */
const localPriceFeedSchema = z
  .object({
    price: amount,
    decimals: count(36).optional(),
    maxAge: duration.optional(),
  })
  .strict();

const allowedCallSchema = z
  .object({
    target: z.string({ required_error: "required: a contract address, a token symbol or a local contract name" }),
    signature: signatureSchema,
    /** v3: conditions on the call's arguments, in words (core/conditions.ts). */
    conditions: z.array(conditionSchema).optional(),
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
    usdLimit: usdLimitSchema.optional(),
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
    salt: z.string().min(1, 'must not be empty: any label, e.g. "main", or a 32-byte hex value'),
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
    localUniswap: localUniswapSchema(symbol, amount).optional(),
    /** v3: allowances the Safe gives (owners' transactions), e.g. a DEX router's bounded allowance. */
    allowances: z.array(allowanceSchema(amount)).optional(),
    priceFeeds: z.record(z.string(), priceFeedSchema).optional(),
    localPriceFeeds: z.record(z.string(), localPriceFeedSchema).optional(),
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
function duplicates(ctx: z.RefinementCtx, values: string[], path: (string | number)[], what: string, field?: string) {
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

/** Checks an asset reference ("ETH", a known symbol or an address); returns a normalised key. */
type AssetRef = (value: string, path: (string | number)[], allowEth: boolean) => string | undefined;

/** Rules that span fields: thresholds, duplicates, references to tokens, limit consistency. */
function crossCheck(policy: PolicyShape, ctx: z.RefinementCtx) {
  checkMembers(policy, ctx);
  const symbols = tokenSymbols(policy, ctx);
  const checks: SchemaChecks = {
    issue: (path, message) => issue(ctx, path, message),
    duplicates: (values, path, what, field) => duplicates(ctx, values, path, what, field),
    addressProblem,
    symbols,
    big,
  };
  // v3: the local Uniswap's contracts are named like tokens, but are not assets.
  const contracts = localContractNames(policy, checks);
  const assetRef = assetRefs(symbols, contracts, ctx);
  (policy.treasuryLimits ?? []).forEach((limit, i) => {
    assetRef(limit.asset, ["treasuryLimits", i, "asset"], true);
    positive(ctx, limit.window, ["treasuryLimits", i, "window"], "window");
    if (big(limit.perWindow) === 0n) {
      issue(
        ctx,
        ["treasuryLimits", i, "perWindow"],
        "perWindow must be above 0 (remove the entry to have no treasury limit)",
      );
    }
  });
  duplicates(
    ctx,
    (policy.treasuryLimits ?? []).map((l) => normaliseAsset(l.asset)),
    ["treasuryLimits"],
    "treasury limit for this asset",
    "asset",
  );
  const priced = checkPriceFeeds(policy, ctx, assetRef);
  duplicates(
    ctx,
    policy.agents.map((a) => a.name),
    ["agents"],
    "agent name",
    "name",
  );
  duplicates(
    ctx,
    policy.agents.map((a) => a.address),
    ["agents"],
    "agent address",
    "address",
  );
  policy.agents.forEach((agent, a) => {
    checkAgent(policy, agent, a, ctx, assetRef, priced);
    (agent.allowedCalls ?? []).forEach((call, c) =>
      checkCallConditions(
        { signature: call.signature, conditions: call.conditions as ConditionSpec[] | undefined },
        ["agents", a, "allowedCalls", c],
        checks,
        contracts,
      ),
    );
  });
  checkAllowances(policy, checks, contracts, assetRef, normaliseAsset);
  checkLocalPools(policy, checks);
}

/**
 * v3: `priceFeeds` and `localPriceFeeds`: one feed per asset, a maxAge above 0, a local price above 0. Returns the
 * priced assets (normalised key -> where the file prices it).
 */
function checkPriceFeeds(policy: PolicyShape, ctx: z.RefinementCtx, assetRef: AssetRef): Map<string, string> {
  const priced = new Map<string, string>();
  for (const [section, feeds] of [
    ["priceFeeds", policy.priceFeeds],
    ["localPriceFeeds", policy.localPriceFeeds],
  ] as const) {
    for (const [key, spec] of Object.entries(feeds ?? {})) {
      const asset = assetRef(key, [section, key], true);
      if (asset === undefined) continue;
      const other = priced.get(asset);
      if (other) issue(ctx, [section, key], `${key} already has a price feed under ${other}: give each asset one feed`);
      else priced.set(asset, `${section}.${key}`);
      positive(ctx, spec.maxAge, [section, key, "maxAge"], "maxAge");
      if ("price" in spec && big(spec.price) === 0n) issue(ctx, [section, key, "price"], "a price must be above 0");
    }
  }
  return priced;
}

/**
 * v3: an agent's `usdLimit`, checked like an asset limit; and every asset the agent has a limit for needs a price
 * (`assets` are the normalised keys of its limits, `?n` for one already reported).
 */
function checkUsdLimit(
  agent: PolicyShape["agents"][number],
  at: (...rest: (string | number)[]) => (string | number)[],
  ctx: z.RefinementCtx,
  assets: string[],
  priced: Map<string, string>,
) {
  const u = agent.usdLimit;
  if (!u) return;
  positive(ctx, u.window, at("usdLimit", "window"), "window");
  const [tx, win, esc] = [big(u.autoPerTx), big(u.autoPerWindow), big(u.escalatedPerTx)];
  if (tx !== undefined && win !== undefined && tx > win) {
    issue(ctx, at("usdLimit", "autoPerTx"), `autoPerTx ${u.autoPerTx} is above autoPerWindow ${u.autoPerWindow}`);
  }
  if (tx !== undefined && esc !== undefined && tx > esc) {
    issue(ctx, at("usdLimit", "autoPerTx"), `autoPerTx ${u.autoPerTx} is above escalatedPerTx ${u.escalatedPerTx}`);
  }
  if (tx === 0n && win === 0n && esc === 0n)
    issue(ctx, at("usdLimit"), "an all-zero USD limit means none: remove usdLimit instead");
  // Every asset the agent may spend needs a price, or each of its payments in that asset waits for co-signers.
  assets.forEach((asset, l) => {
    if (asset.startsWith("?") || priced.has(asset)) return;
    const name = agent.limits![l].asset;
    issue(
      ctx,
      at("limits", l, "asset"),
      `${name} has no price feed, but the agent has a usdLimit: add it under "priceFeeds" (or "localPriceFeeds" on the local chain), or every ${name} payment of this agent waits for co-signers`,
    );
  });
}

/** Thresholds and duplicates of the co-signers, guardians and a new Safe's owners; the target and the salt. */
function checkMembers(policy: PolicyShape, ctx: z.RefinementCtx) {
  const { cosigners } = policy;
  if (cosigners.threshold > cosigners.members.length) {
    issue(
      ctx,
      ["cosigners", "threshold"],
      `threshold ${cosigners.threshold} is above the ${cosigners.members.length} members`,
    );
  }
  duplicates(ctx, cosigners.members, ["cosigners", "members"], "co-signer");
  duplicates(ctx, policy.guardians, ["guardians"], "guardian");
  if (typeof policy.safe === "object") {
    if (policy.safe.threshold > policy.safe.owners.length) {
      issue(
        ctx,
        ["safe", "threshold"],
        `threshold ${policy.safe.threshold} is above the ${policy.safe.owners.length} owners`,
      );
    }
    duplicates(ctx, policy.safe.owners, ["safe", "owners"], "owner");
  }
  if (policy.target !== undefined && /^0x0{40}$/i.test(policy.target)) {
    issue(
      ctx,
      ["target"],
      "the zero address cannot receive the module's calls: omit target to send them to the Safe itself",
    );
  }
  if (/^0x/i.test(policy.salt) && !isHexString(policy.salt, 32)) {
    issue(ctx, ["salt"], "a hex salt must be exactly 32 bytes (0x + 64 hex digits); any other text is hashed");
  }
}

/** The token symbols the file lists, upper case -> as written (checked for clashes). */
function tokenSymbols(policy: PolicyShape, ctx: z.RefinementCtx): Map<string, string> {
  const symbols = new Map<string, string>();
  for (const s of Object.keys(policy.tokens ?? {})) symbols.set(s.toUpperCase(), s);
  for (const s of Object.keys(policy.localTokens ?? {})) {
    if (symbols.has(s.toUpperCase())) issue(ctx, ["localTokens", s], `symbol ${s} is also listed under tokens`);
    symbols.set(s.toUpperCase(), s);
  }
  if (symbols.has("ETH")) issue(ctx, ["tokens"], `"ETH" is reserved for the native asset; do not list it as a token`);
  return symbols;
}

/**
 * An {@link AssetRef} over the file's token symbols that reports unknown ones; a local contract name (v3) is a call
 * target or spender, never an asset.
 */
function assetRefs(
  symbols: ReadonlyMap<string, string>,
  contracts: ReadonlyMap<string, string>,
  ctx: z.RefinementCtx,
): AssetRef {
  return (value, path, allowEth) => {
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
      issue(
        ctx,
        path,
        `unknown token symbol "${value}": list it under "tokens" (symbol -> address)${hint} or use an address`,
      );
      return undefined;
    }
    return known.toUpperCase();
  };
}

function positive(ctx: z.RefinementCtx, value: string | number | undefined, path: (string | number)[], what: string) {
  const seconds = safeDuration(value);
  if (seconds === 0) issue(ctx, path, `${what} must be longer than 0 seconds`);
}

function checkAgent(
  policy: PolicyShape,
  agent: PolicyShape["agents"][number],
  a: number,
  ctx: z.RefinementCtx,
  assetRef: AssetRef,
  priced: Map<string, string>,
) {
  const at = (...rest: (string | number)[]) => ["agents", a, ...rest];
  positive(ctx, agent.gracePeriod, at("gracePeriod"), "gracePeriod");
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
    positive(ctx, limit.window, at("limits", l, "window"), "window");
    const [tx, win, esc] = [big(limit.autoPerTx), big(limit.autoPerWindow), big(limit.escalatedPerTx)];
    if (tx !== undefined && win !== undefined && tx > win) {
      issue(
        ctx,
        at("limits", l, "autoPerTx"),
        `autoPerTx ${limit.autoPerTx} is above autoPerWindow ${limit.autoPerWindow}`,
      );
    }
    if (tx !== undefined && esc !== undefined && tx > esc) {
      issue(
        ctx,
        at("limits", l, "autoPerTx"),
        `autoPerTx ${limit.autoPerTx} is above escalatedPerTx ${limit.escalatedPerTx}`,
      );
    }
    if (tx === 0n && win === 0n && esc === 0n) {
      issue(ctx, at("limits", l), "all-zero limits mean no limit: remove the entry instead");
    }
  });
  duplicates(ctx, assets, at("limits"), "limit for this asset", "asset");
  checkUsdLimit(agent, at, ctx, assets, priced);
  const calls: string[] = [];
  (agent.allowedCalls ?? []).forEach((call, c) => {
    const target = assetRef(call.target, at("allowedCalls", c, "target"), false);
    calls.push(`${target}:${call.signature.replace(/\s+/g, "")}`);
  });
  duplicates(ctx, calls, at("allowedCalls"), "allowed call");
}

function normaliseAsset(asset: string): string {
  return asset.toUpperCase() === "ETH" ? "ETH" : asset.startsWith("0x") ? lower(asset) : asset.toUpperCase();
}
