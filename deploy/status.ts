/**
 * `treasury:status`: what the treasury holds and how each agent's fence stands right now. Balances of the Safe,
 * each agent's limits with its available auto-tier allowance, frozen state and strikes (lens), the pause flag,
 * and the queued intents (found from `IntentQueued` logs, confirmed with `module.intent()`) with eta, expiry,
 * approvals and whether the agent asked for review; the module's exec target when it is not the Safe (v3); v3 USD
 * caps: each agent's USD limit with its available USD allowance, and every price feed with its price now or why the
 * module does not trust it (core/priceFeeds.ts). A pause
 * and frozen agents are also shown apart (`emergency`), each with who did it and the owners' command that undoes it
 * (deploy/emergency.ts).
 *
 * Takes a {@link ChainContext} (provider, artifacts, network name), not Hardhat's runtime environment.
 */
import { Contract, Interface, Provider, ZeroAddress, getAddress } from "ethers";
import type { AgentTreasuryLens, IAgentTreasuryModule } from "../typechain-types";
import type { ChainContext } from "../core/chainContext";
import type { AgentLimitStatus } from "../core/limitStatus";
import { ResolvedAsset } from "../core/policyResolve";
import { RecipientModeName, recipientModeName } from "../sdk/shapes";
import { AgentChainState, ChainState, PlanTarget, showAmount } from "../core/policyDiff";
import { formatAmount, formatDuration, formatTimestamp } from "../core/units";
import { assetInfo, moduleContracts, readChainState, scanLogs } from "./chainState";
import { EmergencyState, readEmergency } from "./emergency";
import { PriceFeedStatus, UsdLimitStatus, readPriceFeedStatus, usdLimitStatus } from "../core/priceFeeds";

export interface AssetAmount {
  asset: string;
  symbol: string;
  amount: string;
  raw: string;
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
  recipientMode: RecipientModeName;
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

/** What the parts of the status read with: the chain, the module and lens, asset names (a cache), the agent names. */
interface StatusReader {
  provider: Provider;
  module: IAgentTreasuryModule;
  lens: AgentTreasuryLens;
  target: PlanTarget;
  known: Record<string, ResolvedAsset>;
  nameOf: (address: string) => string | undefined;
  asset: (address: string) => Promise<ResolvedAsset>;
}

/** Reads the whole status. `names` maps agent addresses (any case) to names from the policy or the record. */
export async function readStatus(
  chain: ChainContext,
  target: PlanTarget,
  opts: { names?: Record<string, string>; assets?: Record<string, ResolvedAsset> } = {},
): Promise<TreasuryStatus> {
  const provider = chain.provider;
  const { module, lens } = moduleContracts(provider, target);
  const known: Record<string, ResolvedAsset> = { ...(opts.assets ?? {}) };
  const r: StatusReader = {
    provider,
    module,
    lens,
    target,
    known,
    nameOf: (address) => opts.names?.[address.toLowerCase()],
    asset: (address) => assetInfo(provider, known, address),
  };
  const tokenAddresses = Object.values(target.tokens ?? {});
  const state = await readChainState(provider, target, { assets: [ZeroAddress, ...tokenAddresses] });
  const block = await provider.getBlock("latest");
  const now = BigInt(block?.timestamp ?? Math.floor(Date.now() / 1000));
  const balanceAssets = new Set<string>([
    ZeroAddress.toLowerCase(),
    ...tokenAddresses.map((t) => t.toLowerCase()),
    ...state.seenAssets,
  ]);
  const balances = await readBalances(r, balanceAssets);
  const agents: AgentStatus[] = [];
  for (const agent of state.agents.values()) if (agent.active) agents.push(await agentStatus(r, agent));
  const priceFeeds: PriceFeedStatus[] = [];
  for (const feed of state.priceFeeds.values())
    priceFeeds.push(await readPriceFeedStatus(provider, module, feed, (await r.asset(feed.asset)).symbol, now));
  return {
    chainId: (await provider.getNetwork()).chainId.toString(),
    safe: getAddress(target.safe),
    module: getAddress(target.module),
    lens: getAddress(target.lens),
    ...(state.target !== undefined && state.target.toLowerCase() !== target.safe.toLowerCase()
      ? { target: state.target }
      : {}),
    paused: await module.paused(),
    emergency: await readEmergency(chain, target, { names: opts.names }),
    moduleEnabled: state.moduleEnabled,
    balances,
    cosigners: state.cosigners,
    guardians: state.guardians,
    treasuryLimits: await treasuryLimitStatus(r, state),
    priceFeeds,
    agents,
    queued: await queuedIntents(r, state.cosigners.threshold, now),
    at: formatTimestamp(now),
  };
}

/** The Safe's balance of each asset (ETH, the record's tokens, every asset a limit names); unreadable tokens left out. */
async function readBalances(r: StatusReader, assets: Set<string>): Promise<AssetAmount[]> {
  const balances: AssetAmount[] = [];
  for (const assetKey of assets) {
    const asset = await r.asset(assetKey);
    let raw: bigint;
    if (asset.address === ZeroAddress) raw = await r.provider.getBalance(r.target.safe);
    else {
      try {
        const token = new Contract(asset.address, ["function balanceOf(address) view returns (uint256)"], r.provider);
        raw = (await token.balanceOf(r.target.safe)) as bigint;
      } catch {
        continue;
      }
    }
    balances.push({
      asset: asset.address,
      symbol: asset.symbol,
      amount: formatAmount(raw, asset.decimals),
      raw: raw.toString(),
    });
  }
  return balances;
}

async function agentStatus(r: StatusReader, agent: AgentChainState): Promise<AgentStatus> {
  const limits: AgentLimitStatus[] = [];
  for (const [assetKey, limit] of agent.limits) {
    const asset = await r.asset(assetKey);
    const available = await r.module.availableAllowance(agent.address, asset.address);
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
  return {
    name: r.nameOf(agent.address),
    address: agent.address,
    frozen: await r.module.isFrozen(agent.address),
    strikes: Number(await r.lens.strikes(r.target.module, agent.address)),
    maxStrikes: Number(agent.config.maxStrikes),
    intentsInRateWindow: Number(await r.lens.rateCount(r.target.module, agent.address)),
    validUntil: formatTimestamp(agent.config.validUntil),
    escalationDelay: formatDuration(agent.config.escalationDelay),
    gracePeriod: formatDuration(agent.config.gracePeriod),
    recipientMode: recipientModeName(agent.config.recipientMode),
    limits,
    ...(agent.usdLimit
      ? { usdLimit: usdLimitStatus(agent.usdLimit, await r.module.availableUsdAllowance(agent.address)) }
      : {}),
    allowedCalls: [...agent.calls.values()],
    recipients: [...agent.recipients.values()],
  };
}

async function treasuryLimitStatus(r: StatusReader, state: ChainState): Promise<TreasuryStatus["treasuryLimits"]> {
  const out: TreasuryStatus["treasuryLimits"] = [];
  for (const [assetKey, t] of state.treasuryLimits) {
    const asset = await r.asset(assetKey);
    const [, , spent] = await r.lens.treasuryLimit(r.target.module, asset.address);
    out.push({
      asset: asset.address,
      symbol: asset.symbol,
      perWindow: formatAmount(t.perWindow, asset.decimals),
      window: formatDuration(t.window),
      spentInWindow: formatAmount(spent, asset.decimals),
    });
  }
  return out;
}

/** Queued intents: the log carries the whole intent; the module says whether it is still queued. */
async function queuedIntents(r: StatusReader, threshold: number, now: bigint): Promise<QueuedIntentStatus[]> {
  const queuedIface = new Interface([INTENT_QUEUED]);
  const logs = await scanLogs(
    r.provider,
    r.target.module,
    [queuedIface.getEvent("IntentQueued")!.topicHash],
    r.target.moduleBlock ?? 0,
  );
  const queued: QueuedIntentStatus[] = [];
  for (const log of logs) {
    const parsed = queuedIface.parseLog(log);
    if (!parsed) continue;
    const intentId = parsed.args.intentId as string;
    const record = await r.module.intent(intentId);
    if (record.status !== QUEUED) continue;
    const intent = parsed.args.intent;
    const agentAddress = getAddress(intent.agent);
    const grace = (await r.module.agentConfig(agentAddress)).gracePeriod;
    const eta = BigInt(record.eta);
    const expires = eta + BigInt(grace);
    queued.push({
      intentId,
      agent: agentAddress,
      agentName: r.nameOf(agentAddress),
      action: await describeIntent(r, intent.target, intent.value, intent.data),
      eta: formatTimestamp(eta),
      expiresAt: formatTimestamp(expires),
      approvals: Number(record.approvals),
      threshold,
      ready: eta <= now && now < expires && Number(record.approvals) >= threshold,
      review: Boolean(intent.review),
    });
  }
  return queued;
}

async function describeIntent(r: StatusReader, target: string, value: bigint, data: string): Promise<string> {
  const eth = await r.asset(ZeroAddress);
  if (data === "0x") return `pay ${showAmount(value, eth)} to ${getAddress(target)}`;
  if (data.slice(0, 10).toLowerCase() === TRANSFER.getFunction("transfer")!.selector) {
    try {
      const [to, amount] = TRANSFER.decodeFunctionData("transfer", data);
      const token = await r.asset(target);
      return `transfer ${showAmount(amount as bigint, token)} to ${getAddress(to as string)}`;
    } catch {
      // Malformed calldata: shown as a plain call below.
    }
  }
  return `call ${data.slice(0, 10)} on ${getAddress(target)}${value > 0n ? ` with ${showAmount(value, eth)}` : ""}`;
}
