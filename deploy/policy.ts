/**
 * Policy files: load and validate (`loadPolicy`, schema in deploy/schema.ts), then resolve human units against a
 * chain (`resolvePolicy`): token decimals read on-chain, durations in seconds, addresses checksummed, the salt as
 * bytes32. Every problem is reported as a {@link PolicyError} whose issues name the field path and the bad value.
 */
import fs from "fs";
import {
  Contract,
  FunctionFragment,
  Provider,
  ZeroAddress,
  getAddress,
  isHexString,
  keccak256,
  toUtf8Bytes,
} from "ethers";
import { z } from "zod";
import { policySchema, PolicyShape, RecipientModeName, NewSafeSpec } from "./schema";
import { UnitError, parseAmount, parseDuration, parseTimestamp } from "./units";
import { ConditionSpec, Reference, ResolvedCondition, compileConditions } from "./conditions";
import { UniswapAddresses, predictUniswapAddresses } from "./uniswap";

/** A validated policy file, exactly as written (human units). See deploy/examples/README.md. */
export type Policy = PolicyShape;
export type PolicyAgent = Policy["agents"][number];
export type { NewSafeSpec, RecipientModeName };

export interface PolicyIssue {
  /** Field path in the file, e.g. `agents[1].limits[0].autoPerTx`. */
  path: string;
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
}

/** The policy file cannot be used. `issues` lists every problem found, each naming its field. */
export class PolicyError extends Error {
  readonly code = "POLICY_INVALID";
  constructor(
    readonly issues: PolicyIssue[],
    readonly file?: string,
  ) {
    super(PolicyError.format(issues, file));
    this.name = "PolicyError";
  }

  static format(issues: PolicyIssue[], file?: string): string {
    const lines = issues.map((i) => {
      const value = i.value === undefined ? "" : ` (value: ${JSON.stringify(i.value)})`;
      return `  - ${i.path || "(file)"}: ${i.message}${value}`;
    });
    const head = `Policy${file ? ` ${file}` : ""} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):`;
    return [head, ...lines, "Fix the fields above and run the command again; nothing was deployed or changed."].join("\n");
  }
}

/** Renders a zod/JSON path as `a.b[0].c`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length][b.length];
}

const KNOWN_KEYS = [
  "description", "safe", "salt", "guardians", "cosigners", "tokens", "localTokens", "localEth", "treasuryLimits",
  "agents", "owners", "threshold", "saltNonce", "members", "name", "address", "validUntil", "escalationDelay",
  "gracePeriod", "maxIntentsPerWindow", "rateWindow", "maxStrikes", "strikeWindow", "recipientMode", "recipients",
  "limits", "allowedCalls", "asset", "autoPerTx", "autoPerWindow", "window", "escalatedPerTx", "target", "signature",
  "decimals", "mint", "perWindow", "conditions", "arg", "is", "atMost", "atLeast", "chargeAs", "localUniswap", "pools",
  "fee", "liquidity", "allowances", "token", "spender", "amount",
];

function suggest(key: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of KNOWN_KEYS) {
    const d = editDistance(key.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best ? ` (did you mean "${best}"?)` : "";
}

/** Converts zod issues into policy issues: one per field, with the value found at that path. */
export function toPolicyIssues(error: z.ZodError, input: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({ path: formatPath(path), message: `unknown field "${key}"${suggest(key)}`, value: valueAt(input, path) });
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    const parent = valueAt(input, issue.path.slice(0, -1));
    const last = issue.path[issue.path.length - 1];
    const missing =
      issue.path.length > 0 && value === undefined && parent !== null && typeof parent === "object" && !(String(last) in parent);
    const message = missing ? `required field is missing (${issue.message})` : issue.message;
    issues.push({ path: formatPath(issue.path), message, value });
  }
  return issues;
}

/** Validates an already-parsed JSON value as a policy. Throws {@link PolicyError}. */
export function parsePolicy(input: unknown, file?: string): Policy {
  const result = policySchema.safeParse(input);
  if (!result.success) throw new PolicyError(toPolicyIssues(result.error, input), file);
  return result.data;
}

/** Reads a JSON policy file and validates it with the schema. Throws {@link PolicyError} naming each bad field. */
export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new PolicyError([{ path: "", message: `cannot read the file: ${(error as Error).message}` }], file);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new PolicyError([{ path: "", message: `not valid JSON: ${(error as Error).message}` }], file);
  }
  return parsePolicy(input, file);
}

// ---------------------------------------------------------------------------------------------- resolution

export const RECIPIENT_MODE_VALUE: Record<RecipientModeName, number> = { any: 0, allowlist: 1, "escalate-unknown": 2 };
export const RECIPIENT_MODE_NAME = ["any", "allowlist", "escalate-unknown"] as const;

export interface ResolvedAsset {
  /** address(0) for ETH. */
  address: string;
  symbol: string;
  decimals: number;
}

export interface ResolvedLimit {
  asset: ResolvedAsset;
  autoPerTx: bigint;
  autoPerWindow: bigint;
  window: number;
  escalatedPerTx: bigint;
}

export interface ResolvedCall {
  target: string;
  /** The symbol or address as written in the file. */
  targetLabel: string;
  /** Canonical, without parameter names (`exactInputSingle((address,...))`). */
  signature: string;
  /** As written in the file, with the parameter names conditions use (v3). */
  namedSignature: string;
  selector: string;
  /** v3: the conditions on the call's arguments, in the module's form and in words; empty: unconditioned. */
  conditions: ResolvedCondition[];
}

/** v3: an allowance the Safe gives a spender (an owners' transaction). */
export interface ResolvedAllowance {
  token: ResolvedAsset;
  spender: string;
  /** The name or address as written in the file. */
  spenderLabel: string;
  amount: bigint;
}

/** v3, local chain only: Uniswap v3 deployed by the pipeline, and its pools. */
export interface ResolvedLocalUniswap {
  contracts: UniswapAddresses;
  pools: { tokenA: ResolvedAsset; tokenB: ResolvedAsset; fee: number; amountA: bigint; amountB: bigint }[];
}

/** The module's `AgentConfig`, as ethers encodes and decodes it. */
export interface AgentConfigValue {
  validUntil: bigint;
  escalationDelay: bigint;
  gracePeriod: bigint;
  maxIntentsPerWindow: bigint;
  rateWindow: bigint;
  maxStrikes: bigint;
  strikeWindow: bigint;
  recipientMode: number;
}

export interface ResolvedAgent {
  name: string;
  address: string;
  config: AgentConfigValue;
  recipients: string[];
  limits: ResolvedLimit[];
  allowedCalls: ResolvedCall[];
}

export interface ResolvedLocalToken {
  symbol: string;
  name: string;
  decimals: number;
  mint: bigint;
  address: string;
}

export type ResolvedSafe =
  | { kind: "existing"; address: string }
  | { kind: "new"; owners: string[]; threshold: number; saltNonce: bigint };

/** A policy in chain units, ready to compare with the chain and to encode as configuration calls. */
export interface ResolvedPolicy {
  chainId: bigint;
  safe: ResolvedSafe;
  /** bytes32 salt for the module clone. */
  salt: string;
  saltLabel: string;
  guardians: string[];
  cosigners: { members: string[]; threshold: number };
  /** v3: the module's exec target (a Zodiac modifier); undefined = the Safe (avatar) itself. */
  target?: string;
  treasuryLimits: { asset: ResolvedAsset; perWindow: bigint; window: number }[];
  agents: ResolvedAgent[];
  /** Every asset the policy names, by lower-case address (ETH under address(0)). */
  assets: Record<string, ResolvedAsset>;
  /** symbol -> address for all tokens (listed and local). */
  tokens: Record<string, string>;
  localTokens: ResolvedLocalToken[];
  localEth: bigint;
  /** v3: the Safe's allowances the policy sets. */
  allowances: ResolvedAllowance[];
  /** v3: contract names the policy may use as call targets and spenders (the local Uniswap's), name -> address. */
  contracts: Record<string, string>;
  localUniswap?: ResolvedLocalUniswap;
}

export const ETH_ASSET: ResolvedAsset = { address: ZeroAddress, symbol: "ETH", decimals: 18 };
export const LOCAL_CHAIN_ID = 31337n;

/** The bytes32 salt for a policy's `salt`: a 32-byte hex value as is, any other text hashed. */
export function policySalt(salt: string): string {
  return isHexString(salt, 32) ? salt.toLowerCase() : keccak256(toUtf8Bytes(salt));
}

/** The Safe `saltNonce` for a new Safe: explicit, or derived from the policy salt (same Safe address per chain). */
export function safeSaltNonce(policy: Policy): bigint {
  if (typeof policy.safe === "object" && policy.safe.saltNonce !== undefined) return BigInt(policy.safe.saltNonce);
  return BigInt(keccak256(toUtf8Bytes(`agent-treasury-guard/safe/${policy.salt}`)));
}

export interface ResolveOptions {
  /** Addresses of the `localTokens` (deployed or predicted by the pipeline), by symbol. */
  localTokenAddresses?: Record<string, string>;
  /** The file name, for error messages. */
  file?: string;
}

const ERC20_META = [
  "function decimals() view returns (uint8)",
  "function symbol() view returns (string)",
];

/**
 * Converts a validated policy into chain units on `provider`'s chain: reads each token's `decimals()` (a token
 * or call target without a contract is an error naming the field), converts amounts and durations, checks that
 * amounts fit `uint128` and that `validUntil` is in the future by the chain's clock, and that local-only sections
 * are used only on chain 31337. Throws {@link PolicyError} with every problem found.
 */
export async function resolvePolicy(policy: Policy, provider: Provider, opts: ResolveOptions = {}): Promise<ResolvedPolicy> {
  const issues: PolicyIssue[] = [];
  const add = (path: (string | number)[], message: string, value?: unknown) =>
    issues.push({ path: formatPath(path), message, value });
  const chainId = (await provider.getNetwork()).chainId;
  const latest = await provider.getBlock("latest");
  const now = latest ? latest.timestamp : Math.floor(Date.now() / 1000);

  const isLocal = chainId === LOCAL_CHAIN_ID;
  if (!isLocal && policy.localTokens) {
    add(["localTokens"], `mock tokens are deployed only on the local chain 31337, not on chain ${chainId}: list real token addresses under "tokens"`, Object.keys(policy.localTokens));
  }
  if (!isLocal && policy.localEth !== undefined) {
    add(["localEth"], `funding the Safe from the deployer happens only on the local chain 31337, not on chain ${chainId}`, policy.localEth);
  }

  // Tokens: symbol -> asset, decimals read on-chain (local tokens take their declared decimals).
  const bySymbol = new Map<string, ResolvedAsset>();
  const byAddress = new Map<string, ResolvedAsset>();
  byAddress.set(ZeroAddress, ETH_ASSET);
  const tokens: Record<string, string> = {};
  const localTokens: ResolvedLocalToken[] = [];

  const inspect = async (addr: string, path: (string | number)[]): Promise<ResolvedAsset | undefined> => {
    const address = getAddress(addr);
    const known = byAddress.get(address.toLowerCase());
    if (known) return known;
    const code = await provider.getCode(address);
    if (code === "0x") {
      add(path, `${address} has no contract on chain ${chainId}: check the address and the network`, addr);
      return undefined;
    }
    const erc20 = new Contract(address, ERC20_META, provider);
    let decimals: number;
    try {
      decimals = Number(await erc20.decimals());
    } catch {
      add(path, `${address} does not answer decimals(): it is not an ERC-20 token`, addr);
      return undefined;
    }
    let symbol = `${address.slice(0, 6)}…${address.slice(-4)}`;
    try {
      symbol = String(await erc20.symbol());
    } catch {
      // symbol() is optional in ERC-20; the short address is shown instead.
    }
    const asset = { address, symbol, decimals };
    byAddress.set(address.toLowerCase(), asset);
    return asset;
  };

  for (const [symbol, addr] of Object.entries(policy.tokens ?? {})) {
    const asset = await inspect(addr, ["tokens", symbol]);
    if (asset) {
      const named = { ...asset, symbol };
      bySymbol.set(symbol.toUpperCase(), named);
      byAddress.set(asset.address.toLowerCase(), named);
      tokens[symbol] = asset.address;
    }
  }
  if (isLocal) {
    for (const [symbol, spec] of Object.entries(policy.localTokens ?? {})) {
      const addr = opts.localTokenAddresses?.[symbol];
      if (!addr) {
        add(["localTokens", symbol], "the address of this local token is unknown: deploy the policy first (treasury:deploy)");
        continue;
      }
      const asset = { address: getAddress(addr), symbol, decimals: spec.decimals };
      bySymbol.set(symbol.toUpperCase(), asset);
      byAddress.set(asset.address.toLowerCase(), asset);
      tokens[symbol] = asset.address;
      let mint = 0n;
      if (spec.mint !== undefined) mint = amountAt(spec.mint, spec.decimals, ["localTokens", symbol, "mint"]);
      localTokens.push({ symbol, name: spec.name ?? `${symbol} (local mock)`, decimals: spec.decimals, mint, address: asset.address });
    }
  }

  function amountAt(value: string | number, decimals: number, path: (string | number)[]): bigint {
    try {
      return parseAmount(value, decimals);
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      add(path, error.message, value);
      return 0n;
    }
  }

  const assetAt = async (ref: string, path: (string | number)[]): Promise<ResolvedAsset | undefined> => {
    if (ref.toUpperCase() === "ETH") return ETH_ASSET;
    if (ref.startsWith("0x")) return inspect(ref, path);
    return bySymbol.get(ref.toUpperCase());
  };

  // v3: the local Uniswap's contracts, at their CreateX addresses (deployed by the pipeline before configuration).
  const contracts: Record<string, string> = {};
  if (policy.localUniswap) {
    if (!isLocal) {
      add(["localUniswap"], `a local Uniswap is deployed only on the local chain 31337, not on chain ${chainId}: name the real router's address instead`);
    } else Object.assign(contracts, predictUniswapAddresses());
  }
  const contractNamed = (ref: string): string | undefined =>
    Object.entries(contracts).find(([name]) => name.toUpperCase() === ref.toUpperCase())?.[1];

  const targetAt = async (ref: string, path: (string | number)[]): Promise<string | undefined> => {
    if (!ref.startsWith("0x")) return bySymbol.get(ref.toUpperCase())?.address ?? contractNamed(ref);
    const address = getAddress(ref);
    if (byAddress.has(address.toLowerCase())) return address;
    if ((await provider.getCode(address)) === "0x") {
      add(path, `${address} has no contract on chain ${chainId}: an allowed call needs a contract target`, ref);
      return undefined;
    }
    return address;
  };

  const treasuryLimits: ResolvedPolicy["treasuryLimits"] = [];
  for (const [i, limit] of (policy.treasuryLimits ?? []).entries()) {
    const asset = await assetAt(limit.asset, ["treasuryLimits", i, "asset"]);
    if (!asset) continue;
    treasuryLimits.push({
      asset,
      perWindow: amountAt(limit.perWindow, asset.decimals, ["treasuryLimits", i, "perWindow"]),
      window: parseDuration(limit.window),
    });
  }

  /** What a name in a condition means on this chain (deploy/conditions.ts). */
  const reference = (ref: string): Reference | undefined => {
    if (ref.toUpperCase() === "ETH") return { kind: "eth" };
    if (ref.startsWith("0x")) {
      const known = byAddress.get(ref.toLowerCase());
      return known ? { kind: "token", address: known.address, symbol: known.symbol, decimals: known.decimals } : { kind: "address", address: getAddress(ref) };
    }
    const token = bySymbol.get(ref.toUpperCase());
    if (token) return { kind: "token", address: token.address, symbol: token.symbol, decimals: token.decimals };
    // A local token whose address is unknown has its own issue already (localTokens): no second one here.
    const local = Object.keys(policy.localTokens ?? {}).find((k) => k.toUpperCase() === ref.toUpperCase());
    if (local) return { kind: "token", symbol: local };
    const contract = contractNamed(ref);
    return contract ? { kind: "contract", address: contract, name: ref } : undefined;
  };
  /** A name for an address: a token symbol or a local contract name. */
  const label = (address: string): string | undefined =>
    byAddress.get(address.toLowerCase())?.symbol ?? Object.entries(contracts).find(([, at]) => at.toLowerCase() === address.toLowerCase())?.[0];

  const agents: ResolvedAgent[] = [];
  for (const [a, agent] of policy.agents.entries()) {
    const validUntil = agent.validUntil === undefined ? 0 : parseTimestamp(agent.validUntil);
    if (validUntil !== 0 && validUntil <= now) {
      add(["agents", a, "validUntil"], `is in the past by the chain's clock (${new Date(now * 1000).toISOString()})`, agent.validUntil);
    }
    const limits: ResolvedLimit[] = [];
    for (const [l, limit] of (agent.limits ?? []).entries()) {
      const at = (field: string) => ["agents", a, "limits", l, field];
      const asset = await assetAt(limit.asset, at("asset"));
      if (!asset) continue;
      limits.push({
        asset,
        autoPerTx: amountAt(limit.autoPerTx, asset.decimals, at("autoPerTx")),
        autoPerWindow: amountAt(limit.autoPerWindow, asset.decimals, at("autoPerWindow")),
        window: parseDuration(limit.window),
        escalatedPerTx: amountAt(limit.escalatedPerTx, asset.decimals, at("escalatedPerTx")),
      });
    }
    const allowedCalls: ResolvedCall[] = [];
    for (const [c, call] of (agent.allowedCalls ?? []).entries()) {
      const target = await targetAt(call.target, ["agents", a, "allowedCalls", c, "target"]);
      if (!target) continue;
      const fragment = FunctionFragment.from(call.signature);
      const compiled = compileConditions(call.signature, (call.conditions ?? []) as ConditionSpec[], { lookup: reference, label });
      for (const problem of compiled.issues) {
        add(["agents", a, "allowedCalls", c, "conditions", ...problem.path], problem.message, problem.value);
      }
      allowedCalls.push({
        target,
        targetLabel: call.target,
        signature: fragment.format("sighash"),
        namedSignature: call.signature.trim(),
        selector: fragment.selector,
        conditions: compiled.conditions,
      });
    }
    agents.push({
      name: agent.name,
      address: getAddress(agent.address),
      config: {
        validUntil: BigInt(validUntil),
        escalationDelay: BigInt(parseDuration(agent.escalationDelay)),
        gracePeriod: BigInt(parseDuration(agent.gracePeriod)),
        maxIntentsPerWindow: BigInt(agent.maxIntentsPerWindow ?? 0),
        rateWindow: BigInt(agent.rateWindow === undefined ? 0 : parseDuration(agent.rateWindow)),
        maxStrikes: BigInt(agent.maxStrikes ?? 0),
        strikeWindow: BigInt(agent.strikeWindow === undefined ? 0 : parseDuration(agent.strikeWindow)),
        recipientMode: RECIPIENT_MODE_VALUE[agent.recipientMode],
      },
      recipients: (agent.recipients ?? []).map((r) => getAddress(r)),
      limits,
      allowedCalls,
    });
  }

  const allowances: ResolvedAllowance[] = [];
  for (const [i, allowance] of (policy.allowances ?? []).entries()) {
    const token = await assetAt(allowance.token, ["allowances", i, "token"]);
    const spender = await targetAt(allowance.spender, ["allowances", i, "spender"]);
    if (!token || !spender) continue;
    allowances.push({ token, spender, spenderLabel: allowance.spender, amount: amountAt(allowance.amount, token.decimals, ["allowances", i, "amount"]) });
  }
  let localUniswap: ResolvedLocalUniswap | undefined;
  if (policy.localUniswap && isLocal) {
    localUniswap = { contracts: predictUniswapAddresses(), pools: [] };
    for (const [i, pool] of policy.localUniswap.pools.entries()) {
      const [tokenA, tokenB] = pool.tokens.map((t) => bySymbol.get(t.toUpperCase()));
      if (!tokenA || !tokenB) continue;
      const liquidity = (t: ResolvedAsset) => {
        const key = Object.keys(pool.liquidity).find((k) => k.toUpperCase() === t.symbol.toUpperCase()) ?? t.symbol;
        return amountAt(pool.liquidity[key], t.decimals, ["localUniswap", "pools", i, "liquidity", key]);
      };
      localUniswap.pools.push({ tokenA, tokenB, fee: pool.fee, amountA: liquidity(tokenA), amountB: liquidity(tokenB) });
    }
  }

  let safe: ResolvedSafe;
  if (typeof policy.safe === "string") {
    safe = { kind: "existing", address: getAddress(policy.safe) };
    const code = await provider.getCode(safe.address);
    if (code === "0x") add(["safe"], `no Safe at ${safe.address} on chain ${chainId}: check the address and the network`, policy.safe);
  } else {
    safe = {
      kind: "new",
      owners: policy.safe.owners.map((o) => getAddress(o)),
      threshold: policy.safe.threshold,
      saltNonce: safeSaltNonce(policy),
    };
  }
  const localEth = policy.localEth === undefined || !isLocal ? 0n : amountAt(policy.localEth, 18, ["localEth"]);

  // v3: a separate exec target is a contract (a Zodiac modifier forwarding to the Safe); the Safe itself is the default.
  let target: string | undefined;
  if (policy.target !== undefined) {
    target = getAddress(policy.target);
    if (safe.kind === "existing" && target === safe.address) target = undefined;
    else if ((await provider.getCode(target)) === "0x") {
      add(["target"], `${target} has no contract on chain ${chainId}: the target must be a Zodiac modifier (deployed, with the module enabled) or the Safe itself; omit it for the Safe`, policy.target);
    }
  }

  if (issues.length > 0) throw new PolicyError(issues, opts.file);
  const assets: Record<string, ResolvedAsset> = {};
  for (const [key, asset] of byAddress) assets[key] = asset;
  return {
    chainId,
    safe,
    salt: policySalt(policy.salt),
    saltLabel: policy.salt,
    guardians: policy.guardians.map((g) => getAddress(g)),
    cosigners: { members: policy.cosigners.members.map((m) => getAddress(m)), threshold: policy.cosigners.threshold },
    ...(target !== undefined ? { target } : {}),
    treasuryLimits,
    agents,
    assets,
    tokens,
    localTokens,
    localEth,
    allowances,
    contracts,
    ...(localUniswap ? { localUniswap } : {}),
  };
}

/**
 * v3: what the module refuses about a policy's `target` (`setTarget` refuses the module itself, and no agent may
 * call the exec target), as policy issues naming the field. Empty when the target is fine or absent.
 */
export function targetIssues(resolved: ResolvedPolicy, module: string): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const target = resolved.target;
  if (target === undefined) return issues;
  if (target.toLowerCase() === module.toLowerCase()) {
    issues.push({ path: "target", message: `the target cannot be the module itself (${getAddress(module)}): name the Zodiac modifier in front of the Safe, or omit it`, value: target });
  }
  resolved.agents.forEach((agent, a) => {
    agent.allowedCalls.forEach((c, i) => {
      if (c.target.toLowerCase() === target.toLowerCase()) {
        issues.push({
          path: formatPath(["agents", a, "allowedCalls", i, "target"]),
          message: `a call target cannot be the module's exec target (${target}): agents never call the modifier in front of the Safe`,
          value: c.targetLabel,
        });
      }
    });
  });
  return issues;
}
