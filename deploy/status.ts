/**
 * `treasury:status`: what the treasury holds and how each agent's fence stands right now. Balances of the Safe,
 * each agent's limits with its available auto-tier allowance, frozen state and strikes (lens), the pause flag,
 * and the queued intents (found from `IntentQueued` logs, confirmed with `module.intent()`) with eta, expiry,
 * approvals and whether the agent asked for review; the module's exec target when it is not the Safe (v3); v3 USD
 * caps: each agent's USD limit with its available USD allowance, and every price feed with its price now or why the
 * module does not trust it (deploy/usd.ts). A pause
 * and frozen agents are also shown apart (`emergency`), each with who did it and the owners' command that undoes it
 * (deploy/owners.ts).
 */
import { Interface, ZeroAddress, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { RECIPIENT_MODE_NAME, ResolvedAsset } from "./policy";
import { PlanTarget, assetInfo, moduleContracts, readChainState, scanLogs, showAmount } from "./plan";
import { formatAmount, formatDuration, formatTimestamp } from "./units";
import { EmergencyState, readEmergency } from "./owners";
import { PriceFeedStatus, USD_EVENT_TOPICS, UsdLimitStatus, assetsWithFeedEvents, readPriceFeedStatus, readPriceFeeds, readUsdLimitStatus } from "./usd";

export interface AssetAmount {
  asset: string;
  symbol: string;
  amount: string;
  raw: string;
}

export interface AgentLimitStatus {
  asset: string;
  symbol: string;
  autoPerTx: string;
  autoPerWindow: string;
  window: string;
  escalatedPerTx: string;
  available: string;
}

export interface AgentStatus {
  name?: string;
  address: string;
  frozen: boolean;
  strikes: number;
  maxStrikes: number;
  intentsInRateWindow: number;
  validUntil: string;
  escalationDelay: string;
  gracePeriod: string;
  recipientMode: string;
  limits: AgentLimitStatus[];
  /** v3: the agent's USD limit across every asset (dollars) and what it can still spend alone now; absent when it has none. */
  usdLimit?: UsdLimitStatus;
  allowedCalls: { target: string; selector: string }[];
  recipients: string[];
}

export interface QueuedIntentStatus {
  intentId: string;
  agent: string;
  agentName?: string;
  /** Human summary: "pay 5 ETH to 0x…", "transfer 20000 USDC to 0x…", "call 0x12345678 on 0x…". */
  action: string;
  eta: string;
  expiresAt: string;
  approvals: number;
  threshold: number;
  /** True when it can run now (eta passed, not expired, enough approvals). */
  ready: boolean;
  /** v3: the agent signed a request for human review (it was queued even if within its limits). */
  review: boolean;
}

export interface TreasuryStatus {
  chainId: string;
  safe: string;
  module: string;
  lens: string;
  /** v3: the module's exec target (a Zodiac modifier in front of the Safe), only when it is not the Safe itself. */
  target?: string;
  paused: boolean;
  /** The pause and the frozen agents, with who did it and the owners' command that undoes each. */
  emergency: EmergencyState;
  moduleEnabled: boolean;
  balances: AssetAmount[];
  cosigners: { members: string[]; threshold: number };
  guardians: string[];
  treasuryLimits: { asset: string; symbol: string; perWindow: string; window: string; spentInWindow: string }[];
  /** v3: the module's USD price feeds and whether it trusts each price now. */
  priceFeeds: PriceFeedStatus[];
  agents: AgentStatus[];
  queued: QueuedIntentStatus[];
  /** Chain time the status was read at. */
  at: string;
}

const INTENT_QUEUED =
  "event IntentQueued(bytes32 indexed intentId, address indexed agent, uint48 eta, (address agent,address target,uint256 value,bytes data,uint256 nonce,bytes32 idempotencyKey,uint48 validAfter,uint48 validUntil,bytes32 rationale,bool review) intent)";
const TRANSFER = new Interface(["function transfer(address to, uint256 amount)"]);
const QUEUED = 2n;

/** Reads the whole status. `names` maps agent addresses (any case) to names from the policy or the record. */
export async function readStatus(
  hre: HardhatRuntimeEnvironment,
  target: PlanTarget,
  opts: { names?: Record<string, string>; assets?: Record<string, ResolvedAsset> } = {},
): Promise<TreasuryStatus> {
  const provider = hre.ethers.provider;
  const { module, lens } = await moduleContracts(hre, target);
  const nameOf = (address: string) => opts.names?.[address.toLowerCase()];
  const known: Record<string, ResolvedAsset> = { ...(opts.assets ?? {}) };
  const tokenAddresses = Object.values(target.tokens ?? {});
  const state = await readChainState(hre, target, { assets: [ZeroAddress, ...tokenAddresses] });
  const block = await provider.getBlock("latest");
  const now = BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000));

  const balanceAssets = new Set<string>([ZeroAddress.toLowerCase(), ...tokenAddresses.map((t) => t.toLowerCase()), ...state.seenAssets]);
  const balances: AssetAmount[] = [];
  for (const assetKey of balanceAssets) {
    const asset = await assetInfo(provider, known, assetKey);
    let raw: bigint;
    if (asset.address === ZeroAddress) raw = await provider.getBalance(target.safe);
    else {
      try {
        const token = await hre.ethers.getContractAt(["function balanceOf(address) view returns (uint256)"], asset.address);
        raw = (await token.balanceOf(target.safe)) as bigint;
      } catch {
        continue;
      }
    }
    balances.push({ asset: asset.address, symbol: asset.symbol, amount: formatAmount(raw, asset.decimals), raw: raw.toString() });
  }

  const usdLimitOf = async (agent: string) => {
    const usdLimit = await readUsdLimitStatus(module, lens, target.module, agent);
    return usdLimit ? { usdLimit } : {};
  };
  const agents: AgentStatus[] = [];
  for (const agent of state.agents.values()) {
    if (!agent.active) continue;
    const limits: AgentLimitStatus[] = [];
    for (const [assetKey, limit] of agent.limits) {
      const asset = await assetInfo(provider, known, assetKey);
      const available = await module.availableAllowance(agent.address, asset.address);
      const show = (v: bigint) => formatAmount(v, asset.decimals);
      limits.push({
        asset: asset.address,
        symbol: asset.symbol,
        autoPerTx: show(limit.autoPerTx),
        autoPerWindow: show(limit.autoPerWindow),
        window: formatDuration(limit.window),
        escalatedPerTx: show(limit.escalatedPerTx),
        available: show(available),
      });
    }
    agents.push({
      name: nameOf(agent.address),
      address: agent.address,
      frozen: await module.isFrozen(agent.address),
      strikes: Number(await lens.strikes(target.module, agent.address)),
      maxStrikes: Number(agent.config.maxStrikes),
      intentsInRateWindow: Number(await lens.rateCount(target.module, agent.address)),
      validUntil: formatTimestamp(agent.config.validUntil),
      escalationDelay: formatDuration(agent.config.escalationDelay),
      gracePeriod: formatDuration(agent.config.gracePeriod),
      recipientMode: RECIPIENT_MODE_NAME[agent.config.recipientMode],
      limits,
      ...(await usdLimitOf(agent.address)),
      allowedCalls: [...agent.calls.values()],
      recipients: [...agent.recipients.values()],
    });
  }

  const treasuryLimits: TreasuryStatus["treasuryLimits"] = [];
  for (const [assetKey, t] of state.treasuryLimits) {
    const asset = await assetInfo(provider, known, assetKey);
    const [, , spent] = await lens.treasuryLimit(target.module, asset.address);
    treasuryLimits.push({
      asset: asset.address,
      symbol: asset.symbol,
      perWindow: formatAmount(t.perWindow, asset.decimals),
      window: formatDuration(t.window),
      spentInWindow: formatAmount(spent, asset.decimals),
    });
  }

  const feedLogs = await scanLogs(provider, target.module, USD_EVENT_TOPICS, target.moduleBlock ?? 0);
  const feeds = await readPriceFeeds(lens, target.module, assetsWithFeedEvents(feedLogs));
  const feedSymbols = new Map<string, string>();
  for (const asset of feeds.keys()) feedSymbols.set(asset, (await assetInfo(provider, known, asset)).symbol);
  const priceFeeds = await readPriceFeedStatus(provider, module, feeds.values(), (a) => feedSymbols.get(a.toLowerCase()) ?? a, now);

  // Queued intents: the log carries the whole intent; the module says whether it is still queued.
  const queuedIface = new Interface([INTENT_QUEUED]);
  const logs = await scanLogs(provider, target.module, [queuedIface.getEvent("IntentQueued")!.topicHash], target.moduleBlock ?? 0);
  const threshold = state.cosigners.threshold;
  const queued: QueuedIntentStatus[] = [];
  for (const log of logs) {
    const parsed = queuedIface.parseLog(log);
    if (!parsed) continue;
    const intentId = parsed.args.intentId as string;
    const record = await module.intent(intentId);
    if (record.status !== QUEUED) continue;
    const intent = parsed.args.intent;
    const agentAddress = getAddress(intent.agent);
    const grace = (await module.agentConfig(agentAddress)).gracePeriod;
    const eta = BigInt(record.eta);
    const expires = eta + BigInt(grace);
    queued.push({
      intentId,
      agent: agentAddress,
      agentName: nameOf(agentAddress),
      action: await describeIntent(hre, known, intent.target, intent.value, intent.data),
      eta: formatTimestamp(eta),
      expiresAt: formatTimestamp(expires),
      approvals: Number(record.approvals),
      threshold,
      ready: eta <= now && now < expires && Number(record.approvals) >= threshold,
      review: Boolean(intent.review),
    });
  }

  return {
    chainId: (await provider.getNetwork()).chainId.toString(),
    safe: getAddress(target.safe),
    module: getAddress(target.module),
    lens: getAddress(target.lens),
    ...(state.target !== undefined && state.target.toLowerCase() !== target.safe.toLowerCase() ? { target: state.target } : {}),
    paused: await module.paused(),
    emergency: await readEmergency(hre, target, { names: opts.names }),
    moduleEnabled: state.moduleEnabled,
    balances,
    cosigners: state.cosigners,
    guardians: state.guardians,
    treasuryLimits,
    priceFeeds,
    agents,
    queued,
    at: formatTimestamp(now),
  };
}

async function describeIntent(
  hre: HardhatRuntimeEnvironment,
  known: Record<string, ResolvedAsset>,
  target: string,
  value: bigint,
  data: string,
): Promise<string> {
  const provider = hre.ethers.provider;
  const eth = await assetInfo(provider, known, ZeroAddress);
  if (data === "0x") return `pay ${showAmount(value, eth)} to ${getAddress(target)}`;
  if (data.slice(0, 10).toLowerCase() === TRANSFER.getFunction("transfer")!.selector) {
    try {
      const [to, amount] = TRANSFER.decodeFunctionData("transfer", data);
      const token = await assetInfo(provider, known, target);
      return `transfer ${showAmount(amount as bigint, token)} to ${getAddress(to as string)}`;
    } catch {
      // Malformed calldata: shown as a plain call below.
    }
  }
  return `call ${data.slice(0, 10)} on ${getAddress(target)}${value > 0n ? ` with ${showAmount(value, eth)}` : ""}`;
}
