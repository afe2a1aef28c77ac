/**
 * USD caps in policy files (SPEC section 11, v3): `priceFeeds` (a Chainlink feed per asset), `localPriceFeeds`
 * (chain 31337: a mock aggregator per asset with a price) and each agent's `usdLimit` in dollars, resolved to chain
 * units (`resolveUsd`, called by core/policyResolve.ts); and the plan items that make the module's feeds and USD
 * limits match the file (`diffUsd`, called by core/policyDiff.ts).
 *
 * Units: the module keeps USD with 8 decimals (100000000 = $1), so `"5000"` dollars is 500000000000.
 */
import { Provider, ZeroAddress, getAddress } from "ethers";
import type { Policy } from "./policy";
import { UnitError, formatAmount, formatDuration, parseAmount, parseDuration } from "./units";
import { AssetLimitField, FieldChange, isNoLimit, priceFeedLoosens, usdLimitChange } from "./loosening";
import { USD_DECIMALS } from "../sdk/usd";

export { USD_DECIMALS };
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

/** An asset as the policy names it (core/policyResolve.ts's `ResolvedAsset`). */
export interface PricedAsset {
  /** address(0) for ETH. */
  address: string;
  symbol: string;
  decimals: number;
}

/** A price feed the policy asks for. */
export interface ResolvedPriceFeed {
  asset: PricedAsset;
  /** The key as written in the file ("USDC", "ETH" or an address). */
  label: string;
  feed: string;
  maxAge: number;
  /** Set for a `localPriceFeeds` entry: the mock aggregator the pipeline deploys. */
  local?: { price: bigint; decimals: number };
}

/** A feed the module has (lens `priceFeed`), by asset. */
export interface PriceFeedState {
  asset: string;
  feed: string;
  maxAge: number;
  assetDecimals: number;
}

/** Dollars in human units ("5000", "0.5") to the module's USD unit. Throws {@link UnitError}. */
export function parseUsd(value: string | number, what = "amount"): bigint {
  return parseAmount(value, USD_DECIMALS, what);
}

/** The module's USD unit in dollars, e.g. `5000` or `12.5`. */
export function formatUsd(value: bigint): string {
  return formatAmount(value, USD_DECIMALS);
}

/** Dollars with a `$`: `$5000`. */
export function showUsd(value: bigint): string {
  return `$${formatUsd(value)}`;
}

/** `MockAggregator(decimals, answer, mode)` constructor arguments. */
export type MockAggregatorArgs = [number, bigint, number];

/**
 * The constructor arguments of a `localPriceFeeds` entry's mock (contracts/test/MockAggregator.sol): decimals, the
 * price in them, `AlwaysFresh`. Undefined when the price cannot be read (`resolveUsd` reports it, naming the field).
 */
export function localFeedArgs(spec: { price: string | number; decimals?: number }): MockAggregatorArgs | undefined {
  const decimals = spec.decimals ?? LOCAL_FEED_DECIMALS;
  try {
    return [decimals, parseAmount(spec.price, decimals, "price"), LOCAL_FEED_MODE];
  } catch (error) {
    if (error instanceof UnitError) return undefined;
    throw error;
  }
}

type Path = (string | number)[];

export interface UsdResolveContext {
  isLocal: boolean;
  chainId: bigint;
  provider: Provider;
  /** The asset a reference in the file stands for ("ETH", a symbol, an address), or undefined (already reported). */
  assetAt: (ref: string, path: Path) => Promise<PricedAsset | undefined>;
  add: (path: Path, message: string, value?: unknown) => void;
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
      ctx.add(
        ["priceFeeds", key, "feed"],
        `${feed} has no contract on chain ${ctx.chainId}: give the address of a Chainlink price feed (AggregatorV3Interface) for ${asset.symbol}/USD`,
        spec.feed,
      );
      continue;
    }
    priceFeeds.push({ asset, label: key, feed, maxAge: parseDuration(spec.maxAge) });
  }
  priceFeeds.push(...(await resolveLocalFeeds(policy, ctx)));
  const usdLimits = policy.agents.map((agent, a) => {
    const limit = agent.usdLimit;
    if (!limit) return undefined;
    const usd = (field: "autoPerTx" | "autoPerWindow" | "escalatedPerTx") => {
      try {
        return parseUsd(limit[field], field);
      } catch (error) {
        if (!(error instanceof UnitError)) throw error;
        ctx.add(["agents", a, "usdLimit", field], error.message, limit[field]);
        return 0n;
      }
    };
    return {
      autoPerTx: usd("autoPerTx"),
      autoPerWindow: usd("autoPerWindow"),
      window: BigInt(parseDuration(limit.window)),
      escalatedPerTx: usd("escalatedPerTx"),
    };
  });
  return { priceFeeds, usdLimits };
}

async function resolveLocalFeeds(policy: Policy, ctx: UsdResolveContext): Promise<ResolvedPriceFeed[]> {
  const local = Object.entries(policy.localPriceFeeds ?? {});
  if (local.length > 0 && !ctx.isLocal) {
    ctx.add(
      ["localPriceFeeds"],
      `mock price feeds are deployed only on the local chain 31337, not on chain ${ctx.chainId}: list real Chainlink feeds under "priceFeeds"`,
      local.map(([k]) => k),
    );
    return [];
  }
  const out: ResolvedPriceFeed[] = [];
  for (const [key, spec] of local) {
    const asset = await ctx.assetAt(key, ["localPriceFeeds", key]);
    if (!asset) continue;
    const decimals = spec.decimals ?? LOCAL_FEED_DECIMALS;
    let price: bigint;
    try {
      price = parseAmount(spec.price, decimals, "price");
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      ctx.add(["localPriceFeeds", key, "price"], error.message, spec.price);
      continue;
    }
    const feed = ctx.localFeedAddresses?.[key];
    if (!feed) {
      ctx.add(
        ["localPriceFeeds", key],
        "the address of this local price feed is unknown: deploy the policy first (treasury:deploy)",
      );
      continue;
    }
    out.push({
      asset,
      label: key,
      feed: getAddress(feed),
      maxAge: parseDuration(spec.maxAge ?? LOCAL_FEED_MAX_AGE),
      local: { price, decimals },
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------- plan

export interface UsdPlanItem {
  kind: "setPriceFeed" | "setUsdLimit";
  description: string;
  loosens: boolean;
  /** The module function and its arguments. */
  fn: "setPriceFeed" | "setUsdLimit";
  args: unknown[];
  agent?: string;
}

export function describeUsdLimit(l: UsdLimitValue): string {
  return `auto ${showUsd(l.autoPerTx)} per tx, ${showUsd(l.autoPerWindow)} per ${formatDuration(l.window)}, hard cap ${showUsd(l.escalatedPerTx)}`;
}

/**
 * The calls that make the module's feeds and USD limits match the file: feeds first (a USD limit without its feeds
 * would queue every payment), then each agent's USD limit. `chainFeeds` are the module's feeds by lower-case asset,
 * `chainLimits` the USD limits of the file's agents by lower-case address; a feed on-chain that the file does not
 * name is removed. `symbolOf` names an asset the file does not list.
 */
export async function diffUsd(
  feeds: ResolvedPriceFeed[],
  agents: { name: string; address: string; usdLimit?: UsdLimitValue }[],
  chainFeeds: Map<string, PriceFeedState>,
  chainLimits: Map<string, UsdLimitValue | undefined>,
  symbolOf: (asset: string) => Promise<string>,
): Promise<UsdPlanItem[]> {
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
    items.push({
      kind: "setPriceFeed",
      description,
      loosens: priceFeedLoosens(have, f),
      fn: "setPriceFeed",
      args: [f.asset.address, f.feed, f.maxAge],
    });
  }
  for (const [key, have] of chainFeeds) {
    if (fileAssets.has(key)) continue;
    const symbol = await symbolOf(have.asset);
    items.push({
      kind: "setPriceFeed",
      description: `remove the ${symbol}/USD price feed ${have.feed} (USD-limited agents' ${symbol} payments will wait for co-signers)`,
      loosens: false,
      fn: "setPriceFeed",
      args: [have.asset, ZeroAddress, 0],
    });
  }
  for (const agent of agents) {
    const have = chainLimits.get(agent.address.toLowerCase());
    const want = isNoLimit(agent.usdLimit) ? undefined : agent.usdLimit;
    const change = usdLimitChange(have, want);
    if (!change.added && !change.removed && change.fields.length === 0) continue;
    const show = (c: FieldChange<AssetLimitField>) =>
      c.field === "window"
        ? `window ${formatDuration(c.before)} -> ${formatDuration(c.after)}`
        : `${c.field} ${showUsd(c.before)} -> ${showUsd(c.after)}`;
    const description = change.added
      ? `${agent.name}: USD limit across all assets: ${describeUsdLimit(want!)}`
      : change.removed
        ? `${agent.name}: remove the USD limit (only the per-asset limits remain)`
        : `${agent.name}: USD ${change.fields.map(show).join(", ")}`;
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
