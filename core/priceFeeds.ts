/**
 * The module's USD caps as the chain holds them now (SPEC section 11, v3), for the status, the plan's chain state,
 * the watchtower, the console and the MCP server: which assets have a price feed (from `PriceFeedSet` logs, confirmed
 * with the lens), each agent's USD limit and available USD allowance, and every feed's price by the module's own
 * valuation (`usdValue`) or the `PriceFault` that makes the module distrust it.
 *
 * Reads through an ethers provider and the typechain bindings only: no Hardhat.
 */
import { Contract, Interface, Provider, ZeroAddress, getAddress } from "ethers";
import type { AgentTreasuryLens } from "../typechain-types";
import { PriceFaultName, priceFaultName } from "../sdk/usd";
import { formatDuration } from "./units";
import { PriceFeedState, UsdLimitValue, formatUsd } from "./usdPolicy";

export const USD_EVENTS = new Interface([
  "event PriceFeedSet(address indexed asset, address feed, uint32 maxAge)",
  "event UsdLimitSet(address indexed agent, (uint128 autoPerTx,uint128 autoPerWindow,uint32 window,uint128 escalatedPerTx) limit)",
]);

/** Topic of `PriceFeedSet`, for a log scan. */
export const PRICE_FEED_SET_TOPIC = USD_EVENTS.getEvent("PriceFeedSet")!.topicHash;

/** The assets named by `PriceFeedSet` logs (lower case). */
export function assetsWithFeedEvents(logs: { topics: readonly string[]; data: string }[]): string[] {
  const assets = new Set<string>();
  for (const log of logs) {
    if (log.topics[0] !== PRICE_FEED_SET_TOPIC) continue;
    const parsed = USD_EVENTS.parseLog(log);
    if (parsed) assets.add(String(parsed.args.asset).toLowerCase());
  }
  return [...assets];
}

/** The module's price feeds of `assets` (lens), by lower-case asset; assets without a feed are left out. */
export async function readPriceFeeds(
  lens: AgentTreasuryLens,
  module: string,
  assets: Iterable<string>,
): Promise<Map<string, PriceFeedState>> {
  const out = new Map<string, PriceFeedState>();
  for (const asset of new Set([...assets].map((a) => a.toLowerCase()))) {
    const [feed, maxAge, assetDecimals] = await lens.priceFeed(module, asset);
    if (feed !== ZeroAddress)
      out.set(asset, {
        asset: getAddress(asset),
        feed: getAddress(feed),
        maxAge: Number(maxAge),
        assetDecimals: Number(assetDecimals),
      });
  }
  return out;
}

/** An agent's USD limit (lens), or undefined when it has none. */
export async function readUsdLimit(
  lens: AgentTreasuryLens,
  module: string,
  agent: string,
): Promise<UsdLimitValue | undefined> {
  const l = await lens.usdLimit(module, agent);
  if (l.autoPerTx === 0n && l.autoPerWindow === 0n && l.window === 0n && l.escalatedPerTx === 0n) return undefined;
  return {
    autoPerTx: l.autoPerTx,
    autoPerWindow: l.autoPerWindow,
    window: BigInt(l.window),
    escalatedPerTx: l.escalatedPerTx,
  };
}

/** A feed's latest round and decimals, read directly, or undefined when it does not answer (the module says why). */
export async function latestRound(
  provider: Provider,
  feed: string,
): Promise<{ roundId: bigint; answer: bigint; updatedAt: bigint; decimals: number } | undefined> {
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
    return {
      roundId: r.roundId as bigint,
      answer: r.answer as bigint,
      updatedAt: r.updatedAt as bigint,
      decimals: Number(decimals),
    };
  } catch {
    return undefined;
  }
}

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

/** The module's USD views (the union interface has them; tests pass the typechain contract). */
export interface UsdViews {
  availableUsdAllowance(agent: string): Promise<bigint>;
  usdValue(asset: string, amount: bigint): Promise<[bigint, bigint] & { usd: bigint; fault: bigint }>;
}

/** An agent's USD limit and its available USD allowance (module units) in dollars. */
export function usdLimitStatus(limit: UsdLimitValue, available: bigint): UsdLimitStatus {
  return {
    autoPerTx: formatUsd(limit.autoPerTx),
    autoPerWindow: formatUsd(limit.autoPerWindow),
    window: formatDuration(limit.window),
    escalatedPerTx: formatUsd(limit.escalatedPerTx),
    available: formatUsd(available),
  };
}

/** An agent's USD limit and its available USD allowance (module and lens), or undefined when it has none. */
export async function readUsdLimitStatus(
  module: UsdViews,
  lens: AgentTreasuryLens,
  moduleAddress: string,
  agent: string,
): Promise<UsdLimitStatus | undefined> {
  const limit = await readUsdLimit(lens, moduleAddress, agent);
  return limit ? usdLimitStatus(limit, await module.availableUsdAllowance(agent)) : undefined;
}

/** One feed as the module sees it at chain time `now` (seconds). */
export async function readPriceFeedStatus(
  provider: Provider,
  module: UsdViews,
  f: PriceFeedState,
  symbol: string,
  now: bigint,
): Promise<PriceFeedStatus> {
  const [usd, fault] = await module.usdValue(f.asset, 10n ** BigInt(f.assetDecimals));
  const status: PriceFeedStatus = {
    asset: f.asset,
    symbol,
    feed: f.feed,
    maxAge: formatDuration(f.maxAge),
    trusted: fault === 0n,
  };
  if (fault === 0n) status.price = formatUsd(usd);
  else status.fault = priceFaultName(fault);
  const round = await latestRound(provider, f.feed);
  if (round && round.updatedAt > 0n && round.updatedAt <= now) {
    status.updatedAt = new Date(Number(round.updatedAt) * 1000).toISOString();
    status.age = formatDuration(now - round.updatedAt);
  }
  return status;
}
