/**
 * USD caps in policy files (SPEC section 11, v3): `priceFeeds` (a Chainlink feed per asset), `localPriceFeeds`
 * (chain 31337: a mock aggregator per asset with a price) and each agent's `usdLimit` in dollars, resolved to chain
 * units; and the plan items that make the module's feeds and USD limits match the file.
 *
 * Units: the module keeps USD with 8 decimals (100000000 = $1), so `"5000"` dollars is 500000000000.
 */
import { Contract, Interface, Provider, ZeroAddress, getAddress } from "ethers";
import type { AgentTreasuryLens } from "../typechain-types";
import type { Policy, ResolvedAsset } from "./policy";
import { UnitError, formatAmount, formatDuration, parseAmount, parseDuration } from "./units";
import { AssetLimitField, FieldChange, isNoLimit, priceFeedLoosens, usdLimitChange } from "./loosening";

/** Decimals of the module's USD unit. */
export const USD_DECIMALS = 8;
/** A local mock feed's decimals unless the file says otherwise (Chainlink's USD feeds use 8). */
export const LOCAL_FEED_DECIMALS = 8;
/** A local mock feed's maxAge unless the file says otherwise. */
export const LOCAL_FEED_MAX_AGE = "25h";
/** `MockAggregator.Mode.AlwaysFresh`: local mocks report every block as an update, so moving the clock never stales them. */
export const LOCAL_FEED_MODE = 1;

/** A USD limit in the module's units (8 decimals), as `setUsdLimit` takes it. */
export interface UsdLimitValue {
  autoPerTx: bigint;
  autoPerWindow: bigint;
  window: bigint;
  escalatedPerTx: bigint;
}

export const NO_USD_LIMIT: UsdLimitValue = { autoPerTx: 0n, autoPerWindow: 0n, window: 0n, escalatedPerTx: 0n };

/** A price feed the policy asks for. */
export interface ResolvedPriceFeed {
  asset: ResolvedAsset;
  /** The key as written in the file ("USDC", "ETH" or an address). */
  label: string;
  feed: string;
  maxAge: number;
  /** Set for a `localPriceFeeds` entry: the mock aggregator the pipeline deploys. */
  local?: { price: bigint; decimals: number };
}

/** Dollars in human units ("5000", "0.5") to the module's USD unit. Throws {@link UnitError}. */
export function parseUsd(value: string | number, what = "amount"): bigint {
  return parseAmount(value, USD_DECIMALS, what);
}

/** The module's USD unit in dollars, e.g. `5000` or `12.5`. */
export function formatUsd(value: bigint): string {
  return formatAmount(value, USD_DECIMALS);
}

/** `$5,000 per tx`-style: dollars with a `$`. */
export function showUsd(value: bigint): string {
  return `$${formatUsd(value)}`;
}

/**
 * The constructor arguments of a `localPriceFeeds` entry's mock (contracts/test/MockAggregator.sol): decimals, the
 * price in them, `AlwaysFresh`. Undefined when the price cannot be read (`resolveUsd` reports it, naming the field).
 */
export function localFeedArgs(spec: { price: string | number; decimals?: number }): [number, bigint, number] | undefined {
  const decimals = spec.decimals ?? LOCAL_FEED_DECIMALS;
  try {
    return [decimals, parseAmount(spec.price, decimals, "price"), LOCAL_FEED_MODE];
  } catch (error) {
    if (error instanceof UnitError) return undefined;
    throw error;
  }
}

export interface UsdResolveContext {
  isLocal: boolean;
  chainId: bigint;
  provider: Provider;
  /** The asset a reference in the file stands for ("ETH", a symbol, an address), or undefined (already reported). */
  assetAt: (ref: string, path: (string | number)[]) => Promise<ResolvedAsset | undefined>;
  add: (path: (string | number)[], message: string, value?: unknown) => void;
  /** Addresses of the `localPriceFeeds` mocks (deployed or predicted by the pipeline), by the key in the file. */
  localFeedAddresses?: Record<string, string>;
}

/**
 * Resolves `priceFeeds`, `localPriceFeeds` and every agent's `usdLimit` (problems go to `ctx.add`, each naming its
 * field): feeds must be contracts; local feeds only on chain 31337 and only once the pipeline knows their address.
 */
export async function resolveUsd(
  policy: Policy,
  ctx: UsdResolveContext,
): Promise<{ priceFeeds: ResolvedPriceFeed[]; usdLimits: (UsdLimitValue | undefined)[] }> {
  const priceFeeds: ResolvedPriceFeed[] = [];
  for (const [key, spec] of Object.entries(policy.priceFeeds ?? {})) {
    const asset = await ctx.assetAt(key, ["priceFeeds", key]);
    if (!asset) continue;
    const feed = getAddress(spec.feed);
    if ((await ctx.provider.getCode(feed)) === "0x") {
      ctx.add(["priceFeeds", key, "feed"], `${feed} has no contract on chain ${ctx.chainId}: give the address of a Chainlink price feed (AggregatorV3Interface) for ${asset.symbol}/USD`, spec.feed);
      continue;
    }
    priceFeeds.push({ asset, label: key, feed, maxAge: parseDuration(spec.maxAge) });
  }
  const local = Object.entries(policy.localPriceFeeds ?? {});
  if (local.length > 0 && !ctx.isLocal) {
    ctx.add(["localPriceFeeds"], `mock price feeds are deployed only on the local chain 31337, not on chain ${ctx.chainId}: list real Chainlink feeds under "priceFeeds"`, local.map(([k]) => k));
  } else {
    for (const [key, spec] of local) {
      const asset = await ctx.assetAt(key, ["localPriceFeeds", key]);
      if (!asset) continue;
      const decimals = spec.decimals ?? LOCAL_FEED_DECIMALS;
      let price = 0n;
      try {
        price = parseAmount(spec.price, decimals, "price");
      } catch (error) {
        if (!(error instanceof UnitError)) throw error;
        ctx.add(["localPriceFeeds", key, "price"], error.message, spec.price);
        continue;
      }
      const feed = ctx.localFeedAddresses?.[key];
      if (!feed) {
        ctx.add(["localPriceFeeds", key], "the address of this local price feed is unknown: deploy the policy first (treasury:deploy)");
        continue;
      }
      priceFeeds.push({ asset, label: key, feed: getAddress(feed), maxAge: parseDuration(spec.maxAge ?? LOCAL_FEED_MAX_AGE), local: { price, decimals } });
    }
  }
  const usdLimits = policy.agents.map((agent, a) => {
    const limit = agent.usdLimit;
    if (!limit) return undefined;
    const at = (field: string) => ["agents", a, "usdLimit", field];
    const usd = (field: "autoPerTx" | "autoPerWindow" | "escalatedPerTx") => {
      try {
        return parseUsd(limit[field], field);
      } catch (error) {
        if (!(error instanceof UnitError)) throw error;
        ctx.add(at(field), error.message, limit[field]);
        return 0n;
      }
    };
    return { autoPerTx: usd("autoPerTx"), autoPerWindow: usd("autoPerWindow"), window: BigInt(parseDuration(limit.window)), escalatedPerTx: usd("escalatedPerTx") };
  });
  return { priceFeeds, usdLimits };
}

// ---------------------------------------------------------------------------------------------- chain state

export interface PriceFeedState {
  asset: string;
  feed: string;
  maxAge: number;
  assetDecimals: number;
}

const USD_EVENTS = new Interface([
  "event PriceFeedSet(address indexed asset, address feed, uint32 maxAge)",
  "event UsdLimitSet(address indexed agent, (uint128 autoPerTx,uint128 autoPerWindow,uint32 window,uint128 escalatedPerTx) limit)",
]);

/** Topic hashes of the USD configuration events, for a log scan. */
export const USD_EVENT_TOPICS = [USD_EVENTS.getEvent("PriceFeedSet")!.topicHash, USD_EVENTS.getEvent("UsdLimitSet")!.topicHash];

/** The assets named by `PriceFeedSet` logs (lower case). */
export function assetsWithFeedEvents(logs: { topics: readonly string[]; data: string }[]): string[] {
  const assets = new Set<string>();
  for (const log of logs) {
    const parsed = USD_EVENTS.parseLog(log);
    if (parsed?.name === "PriceFeedSet") assets.add(String(parsed.args.asset).toLowerCase());
  }
  return [...assets];
}

/** The module's price feeds of `assets` (lens), by lower-case asset; assets without a feed are left out. */
export async function readPriceFeeds(lens: AgentTreasuryLens, module: string, assets: Iterable<string>): Promise<Map<string, PriceFeedState>> {
  const out = new Map<string, PriceFeedState>();
  for (const asset of new Set([...assets].map((a) => a.toLowerCase()))) {
    const [feed, maxAge, assetDecimals] = await lens.priceFeed(module, asset);
    if (feed !== ZeroAddress) out.set(asset, { asset: getAddress(asset), feed: getAddress(feed), maxAge: Number(maxAge), assetDecimals: Number(assetDecimals) });
  }
  return out;
}

/** An agent's USD limit (lens), or undefined when it has none. */
export async function readUsdLimit(lens: AgentTreasuryLens, module: string, agent: string): Promise<UsdLimitValue | undefined> {
  const l = await lens.usdLimit(module, agent);
  const limit = { autoPerTx: l.autoPerTx, autoPerWindow: l.autoPerWindow, window: BigInt(l.window), escalatedPerTx: l.escalatedPerTx };
  return isNoLimit(limit) ? undefined : limit;
}

// ---------------------------------------------------------------------------------------------- plan

export interface UsdPlanItem {
  kind: "setPriceFeed" | "setUsdLimit";
  description: string;
  loosens: boolean;
  /** Function and arguments for the module's interface. */
  fn: "setPriceFeed" | "setUsdLimit";
  args: unknown[];
  agent?: string;
}

export function describeUsdLimit(l: UsdLimitValue): string {
  return `auto ${showUsd(l.autoPerTx)} per tx, ${showUsd(l.autoPerWindow)} per ${formatDuration(l.window)}, hard cap ${showUsd(l.escalatedPerTx)}`;
}

/**
 * The calls that make the module's feeds and USD limits match the file: feeds first (a USD limit without its feeds
 * would queue every payment), then each agent's USD limit. `chainFeeds` are the module's feeds (lens), `chainLimits`
 * the USD limits of the file's agents by lower-case address; a feed on-chain that the file does not name is removed.
 * `symbolOf` names an asset the file does not list.
 */
export function planUsd(
  feeds: ResolvedPriceFeed[],
  agents: { name: string; address: string; usdLimit?: UsdLimitValue }[],
  chainFeeds: Map<string, PriceFeedState>,
  chainLimits: Map<string, UsdLimitValue | undefined>,
  symbolOf: (asset: string) => string,
): UsdPlanItem[] {
  const items: UsdPlanItem[] = [];
  const fileAssets = new Set<string>();
  for (const f of feeds) {
    const key = f.asset.address.toLowerCase();
    fileAssets.add(key);
    const have = chainFeeds.get(key);
    if (have && have.feed.toLowerCase() === f.feed.toLowerCase() && have.maxAge === f.maxAge) continue;
    const what = `${f.asset.symbol}/USD price feed`;
    const local = f.local ? ` (local mock at $${formatAmount(f.local.price, f.local.decimals)})` : "";
    let description: string;
    if (!have) description = `${what}: ${f.feed}${local}, maxAge ${formatDuration(f.maxAge)}`;
    else if (have.feed.toLowerCase() !== f.feed.toLowerCase()) {
      description = `${what}: ${have.feed} -> ${f.feed}${local}, maxAge ${formatDuration(have.maxAge)} -> ${formatDuration(f.maxAge)} (a new oracle to trust)`;
    } else description = `${what}: maxAge ${formatDuration(have.maxAge)} -> ${formatDuration(f.maxAge)}`;
    const loosens = priceFeedLoosens(have, f);
    items.push({ kind: "setPriceFeed", description, loosens, fn: "setPriceFeed", args: [f.asset.address, f.feed, f.maxAge] });
  }
  for (const [key, have] of chainFeeds) {
    if (fileAssets.has(key)) continue;
    items.push({
      kind: "setPriceFeed",
      description: `remove the ${symbolOf(have.asset)}/USD price feed ${have.feed} (USD-limited agents' ${symbolOf(have.asset)} payments will wait for co-signers)`,
      loosens: false,
      fn: "setPriceFeed",
      args: [have.asset, ZeroAddress, 0],
    });
  }
  for (const agent of agents) {
    const have = chainLimits.get(agent.address.toLowerCase());
    const want = agent.usdLimit;
    const change = usdLimitChange(have, want);
    if (!change.added && !change.removed && change.fields.length === 0) continue;
    const description = change.added
      ? `${agent.name}: USD limit across all assets: ${describeUsdLimit(want!)}`
      : change.removed
        ? `${agent.name}: remove the USD limit (only the per-asset limits remain)`
        : `${agent.name}: USD ${change.fields.map((c: FieldChange<AssetLimitField>) => `${c.field} ${c.field === "window" ? formatDuration(c.before) : showUsd(c.before)} -> ${c.field === "window" ? formatDuration(c.after) : showUsd(c.after)}`).join(", ")}`;
    items.push({
      kind: "setUsdLimit",
      description,
      loosens: change.loosens,
      fn: "setUsdLimit",
      args: [agent.address, want ?? NO_USD_LIMIT],
      agent: agent.address,
    });
  }
  return items;
}

/** `latestRoundData()` of a feed, or undefined when it does not answer (the module's `usdValue` says why). */
export async function latestRound(provider: Provider, feed: string): Promise<{ roundId: bigint; answer: bigint; updatedAt: bigint; decimals: number } | undefined> {
  const c = new Contract(
    feed,
    [
      "function latestRoundData() view returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)",
      "function decimals() view returns (uint8)",
    ],
    provider,
  );
  try {
    const [r, decimals] = await Promise.all([c.latestRoundData(), c.decimals()]);
    return { roundId: r.roundId as bigint, answer: r.answer as bigint, updatedAt: r.updatedAt as bigint, decimals: Number(decimals) };
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------- status

/** `PriceFault` names, in the order of the interface. */
export const PRICE_FAULT_NAMES = ["None", "NoFeed", "FeedReverted", "MalformedAnswer", "NonPositivePrice", "IncompleteRound", "StalePrice"] as const;
export type PriceFaultName = (typeof PRICE_FAULT_NAMES)[number];

/** An agent's USD limit and what it can still spend alone now, in dollars. */
export interface UsdLimitStatus {
  autoPerTx: string;
  autoPerWindow: string;
  window: string;
  escalatedPerTx: string;
  available: string;
}

/** A price feed as the module sees it now. */
export interface PriceFeedStatus {
  asset: string;
  symbol: string;
  feed: string;
  maxAge: string;
  /** Dollars per whole unit of the asset by the module's own valuation (rounded up), when the price is trusted. */
  price?: string;
  /** When the feed's latest round was updated, and how long ago (when it answers). */
  updatedAt?: string;
  age?: string;
  /** Whether the module trusts the price now; otherwise `fault` says why (USD-limited payments then wait for co-signers). */
  trusted: boolean;
  fault?: PriceFaultName;
}

interface UsdViews {
  availableUsdAllowance(agent: string): Promise<bigint>;
  usdValue(asset: string, amount: bigint): Promise<[bigint, bigint] & { usd: bigint; fault: bigint }>;
}

/** An agent's USD limit and its available USD allowance (module and lens), or undefined when it has none. */
export async function readUsdLimitStatus(module: UsdViews, lens: AgentTreasuryLens, moduleAddress: string, agent: string): Promise<UsdLimitStatus | undefined> {
  const limit = await readUsdLimit(lens, moduleAddress, agent);
  if (!limit) return undefined;
  return {
    autoPerTx: formatUsd(limit.autoPerTx),
    autoPerWindow: formatUsd(limit.autoPerWindow),
    window: formatDuration(limit.window),
    escalatedPerTx: formatUsd(limit.escalatedPerTx),
    available: formatUsd(await module.availableUsdAllowance(agent)),
  };
}

/** Every feed of `feeds` as the module sees it at chain time `now` (seconds). */
export async function readPriceFeedStatus(
  provider: Provider,
  module: UsdViews,
  feeds: Iterable<PriceFeedState>,
  symbolOf: (asset: string) => string,
  now: bigint,
): Promise<PriceFeedStatus[]> {
  const out: PriceFeedStatus[] = [];
  for (const f of feeds) {
    const [usd, fault] = await module.usdValue(f.asset, 10n ** BigInt(f.assetDecimals));
    const round = await latestRound(provider, f.feed);
    const status: PriceFeedStatus = { asset: f.asset, symbol: symbolOf(f.asset), feed: f.feed, maxAge: formatDuration(f.maxAge), trusted: fault === 0n };
    if (fault === 0n) status.price = formatUsd(usd);
    else status.fault = PRICE_FAULT_NAMES[Number(fault)] ?? "MalformedAnswer";
    if (round && round.updatedAt > 0n && round.updatedAt <= now) {
      status.updatedAt = new Date(Number(round.updatedAt) * 1000).toISOString();
      status.age = formatDuration(now - round.updatedAt);
    }
    out.push(status);
  }
  return out;
}
