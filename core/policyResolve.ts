/**
 * A policy file in chain units (`resolvePolicy`): token decimals read on-chain, amounts in base units, durations in
 * seconds, addresses checksummed, the salt as bytes32, each agent's configuration as the module stores it. Every
 * problem is reported as a {@link PolicyError} whose issues name the field path and the bad value.
 */
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
import { LOCAL_CHAIN_ID } from "./keys";
import { Policy, PolicyError, PolicyIssue, formatPath } from "./policy";
import { UnitError, parseAmount, parseDuration, parseTimestamp } from "./units";
import { ConditionSpec, Reference, ResolvedCondition, compileConditions } from "./conditions";
import { ResolvedPriceFeed, UsdLimitValue, resolveUsd } from "./usdPolicy";
import { AgentConfigValue, AssetLimitValue, recipientModeValue } from "../sdk/shapes";

export type { AgentConfigValue };
/** The recipient modes as policy files spell them, index = on-chain value (the name plan, status and diff import). */
export { RECIPIENT_MODES as RECIPIENT_MODE_NAME } from "../sdk/shapes";

export interface ResolvedAsset {
  /** address(0) for ETH. */
  address: string;
  symbol: string;
  decimals: number;
}

export interface ResolvedLimit extends AssetLimitValue {
  asset: ResolvedAsset;
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

/** v3, local chain only: Uniswap v3 deployed by the pipeline (deploy/uniswap.ts), and its pools. */
export interface ResolvedLocalUniswap {
  /** Contract name -> address (`SwapRouter02`, ...). */
  contracts: Record<string, string>;
  pools: { tokenA: ResolvedAsset; tokenB: ResolvedAsset; fee: number; amountA: bigint; amountB: bigint }[];
}

export interface ResolvedAgent {
  name: string;
  address: string;
  config: AgentConfigValue;
  recipients: string[];
  limits: ResolvedLimit[];
  allowedCalls: ResolvedCall[];
  /** v3: the agent's USD limit in the module's units (8 decimals), when the file gives one. */
  usdLimit?: UsdLimitValue;
}

export interface ResolvedLocalToken {
  symbol: string;
  name: string;
  decimals: number;
  mint: bigint;
  address: string;
}

export type ResolvedSafe =
  { kind: "existing"; address: string } | { kind: "new"; owners: string[]; threshold: number; saltNonce: bigint };

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
  /** v3: every price feed the file names (`priceFeeds` and, on chain 31337, `localPriceFeeds`). */
  priceFeeds: ResolvedPriceFeed[];
}

export const ETH_ASSET: ResolvedAsset = { address: ZeroAddress, symbol: "ETH", decimals: 18 };

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
  /**
   * v3: addresses of the local contracts a policy with `localUniswap` names (the pipeline's predicted CreateX
   * addresses, deploy/uniswap.ts `localContractAddresses`), by name.
   */
  localContractAddresses?: Record<string, string>;
  /** The file name, for error messages. */
  file?: string;
  /** v3: addresses of the `localPriceFeeds` mocks (deployed or predicted by the pipeline), by the key in the file. */
  localFeedAddresses?: Record<string, string>;
}

const ERC20_META = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

type Path = (string | number)[];

/** One resolution: the chain, every problem found so far, and the assets named so far (by symbol and address). */
class Resolution {
  readonly issues: PolicyIssue[] = [];
  readonly bySymbol = new Map<string, ResolvedAsset>();
  readonly byAddress = new Map<string, ResolvedAsset>([[ZeroAddress, ETH_ASSET]]);
  /** symbol -> address for all tokens (listed and local). */
  readonly tokens: Record<string, string> = {};
  /** v3: local contract names (the local Uniswap's) -> address. */
  readonly contracts: Record<string, string> = {};

  constructor(
    readonly provider: Provider,
    readonly chainId: bigint,
  ) {}

  add(path: Path, message: string, value?: unknown): void {
    this.issues.push({ path: formatPath(path), message, value });
  }

  /** Makes `asset` known under `symbol` (the file's own name for it). */
  name(symbol: string, asset: ResolvedAsset): void {
    const named = { ...asset, symbol };
    this.bySymbol.set(symbol.toUpperCase(), named);
    this.byAddress.set(asset.address.toLowerCase(), named);
    this.tokens[symbol] = asset.address;
  }

  amountAt(value: string | number, decimals: number, path: Path): bigint {
    try {
      return parseAmount(value, decimals);
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      this.add(path, error.message, value);
      return 0n;
    }
  }

  /** The ERC-20 at `addr` (decimals, symbol), or undefined with an issue when there is no token there. */
  async inspect(addr: string, path: Path): Promise<ResolvedAsset | undefined> {
    const address = getAddress(addr);
    const known = this.byAddress.get(address.toLowerCase());
    if (known) return known;
    if ((await this.provider.getCode(address)) === "0x") {
      this.add(path, `${address} has no contract on chain ${this.chainId}: check the address and the network`, addr);
      return undefined;
    }
    const erc20 = new Contract(address, ERC20_META, this.provider);
    let decimals: number;
    try {
      decimals = Number(await erc20.decimals());
    } catch {
      this.add(path, `${address} does not answer decimals(): it is not an ERC-20 token`, addr);
      return undefined;
    }
    let symbol = `${address.slice(0, 6)}…${address.slice(-4)}`;
    try {
      symbol = String(await erc20.symbol());
    } catch {
      // symbol() is optional in ERC-20; the short address is shown instead.
    }
    const asset = { address, symbol, decimals };
    this.byAddress.set(address.toLowerCase(), asset);
    return asset;
  }

  /** An asset reference: "ETH", an address, or a symbol the file lists. */
  async assetAt(ref: string, path: Path): Promise<ResolvedAsset | undefined> {
    if (ref.toUpperCase() === "ETH") return ETH_ASSET;
    if (ref.startsWith("0x")) return this.inspect(ref, path);
    return this.bySymbol.get(ref.toUpperCase());
  }

  /** A call target: a symbol the file lists, or an address that must hold a contract. */
  async targetAt(ref: string, path: Path): Promise<string | undefined> {
    if (!ref.startsWith("0x")) return this.bySymbol.get(ref.toUpperCase())?.address ?? this.contractNamed(ref);
    const address = getAddress(ref);
    if (this.byAddress.has(address.toLowerCase())) return address;
    if ((await this.provider.getCode(address)) === "0x") {
      this.add(
        path,
        `${address} has no contract on chain ${this.chainId}: an allowed call needs a contract target`,
        ref,
      );
      return undefined;
    }
    return address;
  }

  /** v3: a local contract by name (case-insensitive). */
  contractNamed(ref: string): string | undefined {
    return Object.entries(this.contracts).find(([name]) => name.toUpperCase() === ref.toUpperCase())?.[1];
  }

  /** v3: what a name in a condition means on this chain (core/conditions.ts). */
  reference(ref: string, localSymbols: readonly string[]): Reference | undefined {
    if (ref.toUpperCase() === "ETH") return { kind: "eth" };
    if (ref.startsWith("0x")) {
      const known = this.byAddress.get(ref.toLowerCase());
      return known
        ? { kind: "token", address: known.address, symbol: known.symbol, decimals: known.decimals }
        : { kind: "address", address: getAddress(ref) };
    }
    const token = this.bySymbol.get(ref.toUpperCase());
    if (token) return { kind: "token", address: token.address, symbol: token.symbol, decimals: token.decimals };
    // A local token whose address is unknown has its own issue already (localTokens): no second one here.
    const local = localSymbols.find((k) => k.toUpperCase() === ref.toUpperCase());
    if (local) return { kind: "token", symbol: local };
    const contract = this.contractNamed(ref);
    return contract ? { kind: "contract", address: contract, name: ref } : undefined;
  }

  /** v3: a name for an address in a condition's words: a token symbol or a local contract name. */
  label(address: string): string | undefined {
    return (
      this.byAddress.get(address.toLowerCase())?.symbol ??
      Object.entries(this.contracts).find(([, at]) => at.toLowerCase() === address.toLowerCase())?.[0]
    );
  }
}

/**
 * Converts a validated policy into chain units on `provider`'s chain: reads each token's `decimals()` (a token
 * or call target without a contract is an error naming the field), converts amounts and durations, checks that
 * amounts fit `uint128` and that `validUntil` is in the future by the chain's clock, and that local-only sections
 * are used only on chain 31337. Throws {@link PolicyError} with every problem found.
 */
export async function resolvePolicy(
  policy: Policy,
  provider: Provider,
  opts: ResolveOptions = {},
): Promise<ResolvedPolicy> {
  const chainId = (await provider.getNetwork()).chainId;
  const latest = await provider.getBlock("latest");
  const now = latest ? latest.timestamp : Math.floor(Date.now() / 1000);
  const r = new Resolution(provider, chainId);
  const isLocal = chainId === LOCAL_CHAIN_ID;
  if (!isLocal && policy.localTokens) {
    r.add(
      ["localTokens"],
      `mock tokens are deployed only on the local chain 31337, not on chain ${chainId}: list real token addresses under "tokens"`,
      Object.keys(policy.localTokens),
    );
  }
  if (!isLocal && policy.localEth !== undefined) {
    r.add(
      ["localEth"],
      `funding the Safe from the deployer happens only on the local chain 31337, not on chain ${chainId}`,
      policy.localEth,
    );
  }
  // Tokens: symbol -> asset, decimals read on-chain (local tokens take their declared decimals).
  for (const [symbol, addr] of Object.entries(policy.tokens ?? {})) {
    const asset = await r.inspect(addr, ["tokens", symbol]);
    if (asset) r.name(symbol, asset);
  }
  const localTokens = isLocal ? resolveLocalTokens(r, policy, opts) : [];
  // v3: the local Uniswap's contracts, at their CreateX addresses (deployed by the pipeline before configuration).
  if (policy.localUniswap) {
    if (!isLocal) {
      r.add(
        ["localUniswap"],
        `a local Uniswap is deployed only on the local chain 31337, not on chain ${chainId}: name the real router's address instead`,
      );
    } else if (!opts.localContractAddresses) {
      r.add(
        ["localUniswap"],
        "the addresses of the local Uniswap contracts are unknown here: resolve the policy through the deploy pipeline (treasury:deploy, treasury:plan)",
      );
    } else Object.assign(r.contracts, opts.localContractAddresses);
  }
  const treasuryLimits: ResolvedPolicy["treasuryLimits"] = [];
  for (const [i, limit] of (policy.treasuryLimits ?? []).entries()) {
    const asset = await r.assetAt(limit.asset, ["treasuryLimits", i, "asset"]);
    if (asset)
      treasuryLimits.push({
        asset,
        perWindow: r.amountAt(limit.perWindow, asset.decimals, ["treasuryLimits", i, "perWindow"]),
        window: parseDuration(limit.window),
      });
  }
  const agents: ResolvedAgent[] = [];
  const localSymbols = Object.keys(policy.localTokens ?? {});
  for (const [a, agent] of policy.agents.entries()) agents.push(await resolveAgent(r, agent, a, now, localSymbols));
  const allowances = await resolveAllowances(r, policy);
  const localUniswap = isLocal ? resolveLocalUniswap(r, policy) : undefined;
  const usd = await resolveUsd(policy, {
    isLocal,
    chainId,
    provider,
    assetAt: (ref, path) => r.assetAt(ref, path),
    add: (path, message, value) => r.add(path, message, value),
    localFeedAddresses: opts.localFeedAddresses,
  });
  usd.usdLimits.forEach((limit, a) => {
    if (limit) agents[a].usdLimit = limit;
  });
  const safe = await resolveSafe(r, policy);
  const localEth = policy.localEth === undefined || !isLocal ? 0n : r.amountAt(policy.localEth, 18, ["localEth"]);
  const target = await resolveTarget(r, policy, safe);
  if (r.issues.length > 0) throw new PolicyError(r.issues, opts.file);
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
    assets: Object.fromEntries(r.byAddress),
    tokens: r.tokens,
    localTokens,
    localEth,
    allowances,
    contracts: r.contracts,
    ...(localUniswap ? { localUniswap } : {}),
    priceFeeds: usd.priceFeeds,
  };
}

/** v3: the Safe's allowances, in base units of each token. */
async function resolveAllowances(r: Resolution, policy: Policy): Promise<ResolvedAllowance[]> {
  const allowances: ResolvedAllowance[] = [];
  for (const [i, allowance] of (policy.allowances ?? []).entries()) {
    const token = await r.assetAt(allowance.token, ["allowances", i, "token"]);
    const spender = await r.targetAt(allowance.spender, ["allowances", i, "spender"]);
    if (!token || !spender) continue;
    allowances.push({
      token,
      spender,
      spenderLabel: allowance.spender,
      amount: r.amountAt(allowance.amount, token.decimals, ["allowances", i, "amount"]),
    });
  }
  return allowances;
}

/** v3, chain 31337: the local Uniswap's pools, their liquidity in base units. */
function resolveLocalUniswap(r: Resolution, policy: Policy): ResolvedLocalUniswap | undefined {
  if (!policy.localUniswap) return undefined;
  const out: ResolvedLocalUniswap = { contracts: { ...r.contracts }, pools: [] };
  for (const [i, pool] of policy.localUniswap.pools.entries()) {
    const [tokenA, tokenB] = pool.tokens.map((t) => r.bySymbol.get(t.toUpperCase()));
    if (!tokenA || !tokenB) continue;
    const liquidity = (t: ResolvedAsset) => {
      const key = Object.keys(pool.liquidity).find((k) => k.toUpperCase() === t.symbol.toUpperCase()) ?? t.symbol;
      return r.amountAt(pool.liquidity[key], t.decimals, ["localUniswap", "pools", i, "liquidity", key]);
    };
    out.pools.push({ tokenA, tokenB, fee: pool.fee, amountA: liquidity(tokenA), amountB: liquidity(tokenB) });
  }
  return out;
}

/** The local mock tokens (chain 31337) at the addresses the pipeline gives them, with their declared decimals. */
function resolveLocalTokens(r: Resolution, policy: Policy, opts: ResolveOptions): ResolvedLocalToken[] {
  const localTokens: ResolvedLocalToken[] = [];
  for (const [symbol, spec] of Object.entries(policy.localTokens ?? {})) {
    const addr = opts.localTokenAddresses?.[symbol];
    if (!addr) {
      r.add(
        ["localTokens", symbol],
        "the address of this local token is unknown: deploy the policy first (treasury:deploy)",
      );
      continue;
    }
    const address = getAddress(addr);
    r.name(symbol, { address, symbol, decimals: spec.decimals });
    const mint = spec.mint === undefined ? 0n : r.amountAt(spec.mint, spec.decimals, ["localTokens", symbol, "mint"]);
    localTokens.push({ symbol, name: spec.name ?? `${symbol} (local mock)`, decimals: spec.decimals, mint, address });
  }
  return localTokens;
}

async function resolveAgent(
  r: Resolution,
  agent: Policy["agents"][number],
  a: number,
  now: number,
  localSymbols: readonly string[],
): Promise<ResolvedAgent> {
  const validUntil = agent.validUntil === undefined ? 0 : parseTimestamp(agent.validUntil);
  if (validUntil !== 0 && validUntil <= now) {
    r.add(
      ["agents", a, "validUntil"],
      `is in the past by the chain's clock (${new Date(now * 1000).toISOString()})`,
      agent.validUntil,
    );
  }
  const limits: ResolvedLimit[] = [];
  for (const [l, limit] of (agent.limits ?? []).entries()) {
    const at = (field: string) => ["agents", a, "limits", l, field];
    const asset = await r.assetAt(limit.asset, at("asset"));
    if (!asset) continue;
    limits.push({
      asset,
      autoPerTx: r.amountAt(limit.autoPerTx, asset.decimals, at("autoPerTx")),
      autoPerWindow: r.amountAt(limit.autoPerWindow, asset.decimals, at("autoPerWindow")),
      window: parseDuration(limit.window),
      escalatedPerTx: r.amountAt(limit.escalatedPerTx, asset.decimals, at("escalatedPerTx")),
    });
  }
  const allowedCalls: ResolvedCall[] = [];
  for (const [c, call] of (agent.allowedCalls ?? []).entries()) {
    const target = await r.targetAt(call.target, ["agents", a, "allowedCalls", c, "target"]);
    if (!target) continue;
    const fragment = FunctionFragment.from(call.signature);
    const compiled = compileConditions(call.signature, (call.conditions ?? []) as ConditionSpec[], {
      lookup: (ref) => r.reference(ref, localSymbols),
      label: (address) => r.label(address),
    });
    for (const problem of compiled.issues)
      r.add(["agents", a, "allowedCalls", c, "conditions", ...problem.path], problem.message, problem.value);
    allowedCalls.push({
      target,
      targetLabel: call.target,
      signature: fragment.format("sighash"),
      namedSignature: call.signature.trim(),
      selector: fragment.selector,
      conditions: compiled.conditions,
    });
  }
  const seconds = (d: string | number | undefined) => BigInt(d === undefined ? 0 : parseDuration(d));
  return {
    name: agent.name,
    address: getAddress(agent.address),
    config: {
      validUntil: BigInt(validUntil),
      escalationDelay: seconds(agent.escalationDelay),
      gracePeriod: seconds(agent.gracePeriod),
      maxIntentsPerWindow: BigInt(agent.maxIntentsPerWindow ?? 0),
      rateWindow: seconds(agent.rateWindow),
      maxStrikes: BigInt(agent.maxStrikes ?? 0),
      strikeWindow: seconds(agent.strikeWindow),
      recipientMode: recipientModeValue(agent.recipientMode),
    },
    recipients: (agent.recipients ?? []).map((x) => getAddress(x)),
    limits,
    allowedCalls,
  };
}

async function resolveSafe(r: Resolution, policy: Policy): Promise<ResolvedSafe> {
  if (typeof policy.safe === "object") {
    return {
      kind: "new",
      owners: policy.safe.owners.map((o) => getAddress(o)),
      threshold: policy.safe.threshold,
      saltNonce: safeSaltNonce(policy),
    };
  }
  const address = getAddress(policy.safe);
  if ((await r.provider.getCode(address)) === "0x")
    r.add(["safe"], `no Safe at ${address} on chain ${r.chainId}: check the address and the network`, policy.safe);
  return { kind: "existing", address };
}

/** v3: a separate exec target is a contract (a Zodiac modifier forwarding to the Safe); the Safe itself is the default. */
async function resolveTarget(r: Resolution, policy: Policy, safe: ResolvedSafe): Promise<string | undefined> {
  if (policy.target === undefined) return undefined;
  const target = getAddress(policy.target);
  if (safe.kind === "existing" && target === safe.address) return undefined;
  if ((await r.provider.getCode(target)) === "0x") {
    r.add(
      ["target"],
      `${target} has no contract on chain ${r.chainId}: the target must be a Zodiac modifier (deployed, with the module enabled) or the Safe itself; omit it for the Safe`,
      policy.target,
    );
  }
  return target;
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
    issues.push({
      path: "target",
      message: `the target cannot be the module itself (${getAddress(module)}): name the Zodiac modifier in front of the Safe, or omit it`,
      value: target,
    });
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
