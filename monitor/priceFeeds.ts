/**
 * The watchtower's eye on the module's price feeds (SPEC section 11, v3; docs/THREAT-MODEL.md, A11). USD-limited
 * agents' spends are valued with them, so two things deserve a human: a feed the module stops trusting (stale, not
 * positive, an incomplete round, reverting, malformed: every USD-limited payment in that asset now waits for
 * co-signers), and a price that jumps more than a set share between two reads (a manipulated or broken feed prices
 * payments wrongly within the checks).
 *
 * Feeds are found from the module's `PriceFeedSet` logs and read at the confirmed head after each poll, through the
 * module's own valuation (`usdValue` of one whole unit): the price and the fault are exactly what a payment would
 * see. The check itself ({@link checkFeeds}) is pure: the same readings and the same remembered state give the same
 * alerts with the same ids, and the state is plain JSON kept in the checkpoint.
 */
import { Contract, Interface, Provider, ZeroAddress, getAddress } from "ethers";
import { priceFaultName } from "../sdk/usd";
import { formatUnitsPlain } from "../sdk/units";
import type { RuleConfig, RuleOf } from "../core/monitorSchema";
import { Alert, ALERT_VERSION, alertId } from "./alerts";
import { DEFAULT_SEVERITY } from "./rules-core";

const USD_DECIMALS = 8;
const FEED_EVENTS = new Interface(["event PriceFeedSet(address indexed asset, address feed, uint32 maxAge)"]);
const PRICE_FEED_SET = FEED_EVENTS.getEvent("PriceFeedSet")!.topicHash;
const MODULE_VIEWS = ["function usdValue(address asset, uint256 amount) view returns (uint256 usd, uint8 fault)"];
const DECIMALS = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

/** One feed as the watchtower last read it (JSON: the price as a decimal string of the module's USD unit). */
export interface FeedReadingJson {
  feed: string;
  trusted: boolean;
  fault?: string;
  price?: string;
  block: number;
  time: number;
}

/** What the watchtower remembers about feeds between polls (kept in the checkpoint). */
export interface FeedWatchState {
  /** The last block whose `PriceFeedSet` logs were read. */
  scannedTo: number;
  /** The block the feeds were last read at. */
  readAt: number;
  /** lower-case asset -> the feed the module has for it (address(0) once removed) and the asset's symbol and decimals. */
  feeds: Record<string, { feed: string; maxAge: number; symbol: string; decimals: number }>;
  /** lower-case asset -> the last reading. */
  readings: Record<string, FeedReadingJson>;
}

export function emptyFeedWatchState(): FeedWatchState {
  return { scannedTo: -1, readAt: -1, feeds: {}, readings: {} };
}

/** One feed read at one block. */
export interface FeedReading {
  asset: string;
  symbol: string;
  feed: string;
  maxAge: number;
  trusted: boolean;
  fault?: string;
  /** Dollars per whole unit in the module's USD unit (8 decimals), when trusted. */
  price?: bigint;
}

/** Where and for whom the readings were taken (the alerts' envelope). */
export interface FeedCheckContext {
  chainId: string;
  module: string;
  block: number;
  blockHash?: string;
  blockTime: number;
  /** The chain's head when read. */
  detectedAtBlock: number;
}

const dollars = (units: bigint) => `$${formatUnitsPlain(units, USD_DECIMALS)}`;

/** Basis points of the move from `before` to `after` (both > 0). */
function moveBps(before: bigint, after: bigint): bigint {
  const diff = after > before ? after - before : before - after;
  return (diff * 10_000n) / before;
}

/**
 * The alerts `readings` raise against what was read before (`state.readings`), and the state to remember:
 * - `price-feed-untrusted`: a feed the module does not trust now, once when it stops being trusted (or its fault
 *   changes, or it is first read untrusted);
 * - `price-feed-moved`: a trusted price that moved more than the rule's `maxMove` (a share: 0.1 = 10%) from the last
 *   trusted read of the same feed.
 */
export function checkFeeds(
  rules: readonly RuleConfig[],
  readings: readonly FeedReading[],
  state: FeedWatchState,
  ctx: FeedCheckContext,
): { alerts: Alert[]; readings: Record<string, FeedReadingJson> } {
  const alerts: Alert[] = [];
  const next: Record<string, FeedReadingJson> = { ...state.readings };
  const untrustedRules = rules.filter(
    (r): r is RuleOf<"price-feed-untrusted"> => r.enabled && r.rule === "price-feed-untrusted",
  );
  const movedRules = rules.filter((r): r is RuleOf<"price-feed-moved"> => r.enabled && r.rule === "price-feed-moved");
  for (const r of readings) {
    const key = r.asset.toLowerCase();
    const before = state.readings[key];
    const sameFeed = before !== undefined && before.feed.toLowerCase() === r.feed.toLowerCase();
    if (!r.trusted) {
      const news = !sameFeed || before.trusted || before.fault !== r.fault;
      if (news) alerts.push(...untrustedAlerts(untrustedRules, r, ctx));
      next[key] = {
        feed: r.feed,
        trusted: false,
        ...(r.fault ? { fault: r.fault } : {}),
        ...(sameFeed && before.price ? { price: before.price } : {}),
        block: ctx.block,
        time: ctx.blockTime,
      };
      continue;
    }
    if (sameFeed) alerts.push(...movedAlerts(movedRules, r, before, ctx));
    next[key] = {
      feed: r.feed,
      trusted: true,
      ...(r.price !== undefined ? { price: r.price.toString() } : {}),
      block: ctx.block,
      time: ctx.blockTime,
    };
  }
  return { alerts, readings: next };
}

/** What every feed alert of `rule` carries: where and when it was read, and what the rule asks for. */
function feedAlertEnvelope(rule: RuleConfig, ctx: FeedCheckContext) {
  return {
    v: ALERT_VERSION,
    type: "alert" as const,
    chainId: ctx.chainId,
    module: ctx.module,
    block: ctx.block,
    ...(ctx.blockHash ? { blockHash: ctx.blockHash } : {}),
    blockTime: ctx.blockTime,
    detectedAtBlock: ctx.detectedAtBlock,
    detectedAt: new Date().toISOString(),
    action: rule.action,
    rule: rule.id!,
  };
}

/** `price-feed-untrusted`: one alert per rule for a feed the module has just stopped trusting (`r` untrusted). */
function untrustedAlerts(
  rules: readonly RuleOf<"price-feed-untrusted">[],
  r: FeedReading,
  ctx: FeedCheckContext,
): Alert[] {
  const key = r.asset.toLowerCase();
  return rules.map((rule) => ({
    ...feedAlertEnvelope(rule, ctx),
    id: alertId(rule.id!, key, r.feed, r.fault ?? "", ctx.block),
    kind: "price-feed-untrusted",
    severity: rule.severity ?? DEFAULT_SEVERITY["price-feed-untrusted"],
    message: `the module does not trust the ${r.symbol}/USD price now (${r.fault}): every ${r.symbol} payment of an agent with a USD limit waits for co-signers`,
    advice:
      r.fault === "StalePrice"
        ? `the feed ${r.feed} has not updated within its maxAge of ${r.maxAge}s: check the feed's heartbeat and the network; raise maxAge only if the feed's heartbeat is longer`
        : `check the feed ${r.feed}: a broken or replaced oracle; point the module at a working feed (setPriceFeed) if it does not recover`,
    details: { asset: r.asset, symbol: r.symbol, feed: r.feed, fault: r.fault ?? "", maxAgeSeconds: r.maxAge },
  }));
}

/**
 * `price-feed-moved`: one alert per rule whose `maxMove` the trusted price `r` exceeds, measured from `before`, the
 * last reading of the same feed (none when that reading had no price).
 */
function movedAlerts(
  rules: readonly RuleOf<"price-feed-moved">[],
  r: FeedReading,
  before: FeedReadingJson,
  ctx: FeedCheckContext,
): Alert[] {
  const last = before.price !== undefined ? BigInt(before.price) : undefined;
  if (last === undefined || last <= 0n || r.price === undefined) return [];
  const price = r.price;
  const key = r.asset.toLowerCase();
  const bps = moveBps(last, price);
  const share = Number(bps) / 100;
  return rules
    .filter((rule) => bps > BigInt(Math.round(rule.maxMove * 10_000)))
    .map((rule) => ({
      ...feedAlertEnvelope(rule, ctx),
      id: alertId(rule.id!, key, r.feed, before.block, ctx.block),
      kind: "price-feed-moved",
      severity: rule.severity ?? DEFAULT_SEVERITY["price-feed-moved"],
      message: `the ${r.symbol}/USD price moved ${share}% between two reads: ${dollars(last)} at block ${before.block} -> ${dollars(price)} at block ${ctx.block} (rule: more than ${rule.maxMove * 100}%)`,
      advice:
        "a manipulated or broken feed misprices USD-limited payments (the per-asset limits still hold): compare with another source; if it is wrong, pause the module or remove the feed (setPriceFeed to address(0)) so that those payments wait for co-signers",
      details: {
        asset: r.asset,
        symbol: r.symbol,
        feed: r.feed,
        from: formatUnitsPlain(last, USD_DECIMALS),
        to: formatUnitsPlain(price, USD_DECIMALS),
        movedPercent: share,
        fromBlock: before.block,
      },
    }));
}

/** True when some enabled rule watches the feeds (the watchtower then reads them after each poll). */
export function watchesFeeds(rules: readonly RuleConfig[]): boolean {
  return rules.some((r) => r.enabled && (r.rule === "price-feed-untrusted" || r.rule === "price-feed-moved"));
}

/**
 * The watchtower's step after each poll: reads the feeds at `at.block` (once per block, only when a feed rule is on)
 * and checks them against the last reading. Updates `state`; returns the alerts, or undefined when nothing was read.
 */
export async function watchFeeds(
  provider: Provider,
  rules: readonly RuleConfig[],
  state: FeedWatchState,
  at: { chainId: string; module: string; historyFrom: number; block: number; head: number; chunkSize: number },
): Promise<Alert[] | undefined> {
  if (!watchesFeeds(rules) || at.block < 0 || at.block <= state.readAt) return undefined;
  const block = await provider.getBlock(at.block);
  if (!block) return undefined;
  const readings = await readFeeds(provider, at.module, state, at.historyFrom, at.block, at.chunkSize);
  const ctx = {
    chainId: at.chainId,
    module: at.module,
    block: at.block,
    blockHash: block.hash ?? undefined,
    blockTime: block.timestamp,
    detectedAtBlock: at.head,
  };
  const checked = checkFeeds(rules, readings, state, ctx);
  state.readings = checked.readings;
  state.readAt = at.block;
  return checked.alerts;
}

/**
 * Follows the module's feeds: `PriceFeedSet` logs from `state.scannedTo + 1` (or `fromBlock`) to `toBlock`, in
 * `chunkSize` blocks per `eth_getLogs` call (as the watchtower reads events), then one `usdValue` read per feed at
 * `toBlock`. Updates `state.feeds` and `state.scannedTo` (chunk by chunk, so a failed call resumes where it stopped);
 * returns the readings.
 */
export async function readFeeds(
  provider: Provider,
  module: string,
  state: FeedWatchState,
  fromBlock: number,
  toBlock: number,
  chunkSize = 2000,
): Promise<FeedReading[]> {
  for (let start = Math.max(fromBlock, state.scannedTo + 1); start <= toBlock; start += chunkSize) {
    const end = Math.min(toBlock, start + chunkSize - 1);
    const logs = await provider.getLogs({ address: module, topics: [PRICE_FEED_SET], fromBlock: start, toBlock: end });
    for (const log of logs) {
      const parsed = FEED_EVENTS.parseLog(log);
      if (!parsed) continue;
      const asset = getAddress(String(parsed.args.asset));
      const known = state.feeds[asset.toLowerCase()];
      const meta = known ?? (await assetMeta(provider, asset));
      state.feeds[asset.toLowerCase()] = {
        feed: getAddress(String(parsed.args.feed)),
        maxAge: Number(parsed.args.maxAge),
        symbol: meta.symbol,
        decimals: meta.decimals,
      };
    }
    state.scannedTo = end;
  }
  const views = new Contract(module, MODULE_VIEWS, provider);
  const readings: FeedReading[] = [];
  for (const [key, f] of Object.entries(state.feeds)) {
    if (f.feed === ZeroAddress) continue; // removed: nothing values with it
    const [usd, fault] = (await views.usdValue(getAddress(key), 10n ** BigInt(f.decimals), { blockTag: toBlock })) as [
      bigint,
      bigint,
    ];
    const trusted = fault === 0n;
    readings.push({
      asset: getAddress(key),
      symbol: f.symbol,
      feed: f.feed,
      maxAge: f.maxAge,
      trusted,
      ...(trusted ? { price: usd } : { fault: priceFaultName(fault) }),
    });
  }
  return readings;
}

async function assetMeta(provider: Provider, asset: string): Promise<{ symbol: string; decimals: number }> {
  if (asset === ZeroAddress) return { symbol: "ETH", decimals: 18 };
  const token = new Contract(asset, DECIMALS, provider);
  const decimals = Number(await token.decimals());
  let symbol = `${asset.slice(0, 6)}…${asset.slice(-4)}`;
  try {
    symbol = String(await token.symbol());
  } catch {
    // symbol() is optional in ERC-20.
  }
  return { symbol, decimals };
}
