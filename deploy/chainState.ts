/**
 * The module's configuration as the chain holds it, for the plan (core/policyDiff.ts) and the status. The module
 * keeps no lists of agents, guardians, calls or recipients (that would cost gas on every change), so the candidates
 * come from its configuration events and each one is confirmed with a view (`isAgent`, `isGuardian`, `assetLimit`,
 * the lens's `isAllowedCall` / `isRecipient`, v3 `priceFeed` and `usdLimit`): the events say what might be set, the
 * views say what is.
 *
 * Reads through an ethers provider and the typechain bindings only: no Hardhat.
 */
import { Contract, Interface, Log, Provider, ZeroAddress, getAddress } from "ethers";
import type { AgentTreasuryLens, IAgentTreasuryModule } from "../typechain-types";
import { ETH_ASSET, ResolvedAsset } from "../core/policyResolve";
import { ZERO_AGENT_CONFIG } from "../sdk/shapes";
import type { AgentChainState, ChainState, PlanTarget, StateHints } from "../core/policyDiff";
import { SAFE_ABI } from "../sdk/safe";
import { allowanceKey } from "../core/policyDiffCalls";
import { readPriceFeeds, readUsdLimit } from "../core/priceFeeds";
import { treasuryLens, treasuryModule } from "../sdk/bindings";

const CONFIG_EVENTS = [
  "event AgentSet(address indexed agent, (uint48 validUntil,uint32 escalationDelay,uint32 gracePeriod,uint16 maxIntentsPerWindow,uint32 rateWindow,uint8 maxStrikes,uint32 strikeWindow,uint8 recipientMode) config)",
  "event AgentRemoved(address indexed agent)",
  "event AgentRotated(address indexed oldKey, address indexed newKey)",
  "event AssetLimitSet(address indexed agent, address indexed asset, (uint128 autoPerTx,uint128 autoPerWindow,uint32 window,uint128 escalatedPerTx) limit)",
  "event AllowedCallSet(address indexed agent, address indexed target, bytes4 indexed selector, bool allowed)",
  "event RecipientSet(address indexed agent, address indexed recipient, bool allowed)",
  "event GuardianSet(address indexed guardian, bool enabled)",
  "event TreasuryLimitSet(address indexed asset, uint128 perWindow, uint32 window)",
  "event PriceFeedSet(address indexed asset, address feed, uint32 maxAge)",
];
const configInterface = new Interface(CONFIG_EVENTS);

/** Reads a contract's logs for `topics` (any of), from `fromBlock`; falls back to 10k-block chunks if the node refuses the range. */
export async function scanLogs(provider: Provider, address: string, topics: string[], fromBlock = 0): Promise<Log[]> {
  const filter = { address, topics: [topics] };
  try {
    return await provider.getLogs({ ...filter, fromBlock, toBlock: "latest" });
  } catch {
    const latest = await provider.getBlockNumber();
    const logs: Log[] = [];
    for (let start = fromBlock; start <= latest; start += 10_000) {
      logs.push(...(await provider.getLogs({ ...filter, fromBlock: start, toBlock: Math.min(start + 9_999, latest) })));
    }
    return logs;
  }
}

function lower(a: string) {
  return a.toLowerCase();
}

/** The module, its lens and its Safe, read-only on `provider`. */
export function moduleContracts(provider: Provider, target: { module: string; lens: string; safe: string }) {
  return {
    module: treasuryModule(target.module, provider) as IAgentTreasuryModule,
    lens: treasuryLens(target.lens, provider) as AgentTreasuryLens,
    safe: new Contract(target.safe, SAFE_ABI, provider),
  };
}

type Call = { target: string; selector: string };

/** What the configuration events name: candidates to confirm with views. */
interface Candidates {
  agentKeys: Set<string>;
  guardians: Set<string>;
  assetsByAgent: Map<string, Set<string>>;
  callsByAgent: Map<string, Map<string, Call>>;
  recipientsByAgent: Map<string, Set<string>>;
  treasuryAssets: Set<string>;
  /** v3: assets a `PriceFeedSet` event names. */
  feedAssets: Set<string>;
  /** lower-case new key -> the key it replaced. */
  predecessor: Map<string, string>;
}

function entry<T>(map: Map<string, T>, key: string, make: () => T): T {
  if (!map.has(key)) map.set(key, make());
  return map.get(key)!;
}

/** Collects candidates from the module's configuration events (and records rotations and seen assets in `state`). */
async function readCandidates(
  provider: Provider,
  target: PlanTarget,
  hints: StateHints,
  state: ChainState,
): Promise<Candidates> {
  const topics: string[] = [];
  configInterface.forEachEvent((event) => topics.push(event.topicHash));
  const logs = await scanLogs(provider, target.module, topics, target.moduleBlock ?? 0);
  const c: Candidates = {
    agentKeys: new Set((hints.agents ?? []).map(lower)),
    guardians: new Set(),
    assetsByAgent: new Map(),
    callsByAgent: new Map(),
    recipientsByAgent: new Map(),
    treasuryAssets: new Set(),
    feedAssets: new Set((hints.feedAssets ?? []).map(lower)),
    predecessor: new Map(),
  };
  for (const log of logs) {
    const parsed = configInterface.parseLog(log);
    if (!parsed) continue;
    const a = parsed.args;
    switch (parsed.name) {
      case "AgentSet":
      case "AgentRemoved":
        c.agentKeys.add(lower(a.agent));
        break;
      case "AgentRotated":
        c.agentKeys.add(lower(a.newKey));
        state.rotatedTo.set(lower(a.oldKey), getAddress(a.newKey));
        c.predecessor.set(lower(a.newKey), lower(a.oldKey));
        break;
      case "AssetLimitSet":
        entry(c.assetsByAgent, lower(a.agent), () => new Set<string>()).add(lower(a.asset));
        state.seenAssets.add(lower(a.asset));
        break;
      case "AllowedCallSet":
        entry(c.callsByAgent, lower(a.agent), () => new Map<string, Call>()).set(
          `${lower(a.target)}:${lower(a.selector)}`,
          {
            target: getAddress(a.target),
            selector: lower(a.selector),
          },
        );
        break;
      case "RecipientSet":
        entry(c.recipientsByAgent, lower(a.agent), () => new Set<string>()).add(lower(a.recipient));
        break;
      case "GuardianSet":
        c.guardians.add(lower(a.guardian));
        break;
      case "TreasuryLimitSet":
        c.treasuryAssets.add(lower(a.asset));
        break;
      case "PriceFeedSet":
        c.feedAssets.add(lower(a.asset));
        break;
    }
  }
  return c;
}

/** One agent key as the views confirm it: its configuration (if active), limits, calls and recipients. */
async function readAgent(
  contracts: { module: IAgentTreasuryModule; lens: AgentTreasuryLens },
  target: PlanTarget,
  key: string,
  wanted: { assets: Set<string>; calls: Map<string, Call>; recipients: Set<string> },
): Promise<AgentChainState> {
  const { module, lens } = contracts;
  const active = await module.isAgent(key);
  const agent: AgentChainState = {
    address: getAddress(key),
    active,
    config: ZERO_AGENT_CONFIG,
    limits: new Map(),
    calls: new Map(),
    recipients: new Map(),
    conditions: new Map(),
  };
  if (active) {
    const c = await module.agentConfig(key);
    agent.config = {
      validUntil: BigInt(c.validUntil),
      escalationDelay: BigInt(c.escalationDelay),
      gracePeriod: BigInt(c.gracePeriod),
      maxIntentsPerWindow: BigInt(c.maxIntentsPerWindow),
      rateWindow: BigInt(c.rateWindow),
      maxStrikes: BigInt(c.maxStrikes),
      strikeWindow: BigInt(c.strikeWindow),
      recipientMode: Number(c.recipientMode),
    };
  }
  // Limits, calls and recipients belong to the identity and survive removal: read them even when inactive,
  // since re-adding the agent brings them back.
  for (const asset of wanted.assets) {
    const l = await module.assetLimit(key, asset);
    if (l.autoPerTx !== 0n || l.autoPerWindow !== 0n || l.escalatedPerTx !== 0n) {
      agent.limits.set(asset, {
        autoPerTx: l.autoPerTx,
        autoPerWindow: l.autoPerWindow,
        window: BigInt(l.window),
        escalatedPerTx: l.escalatedPerTx,
      });
    }
  }
  for (const [ck, c] of wanted.calls) {
    if (await lens.isAllowedCall(target.module, key, c.target, c.selector)) agent.calls.set(ck, c);
    // v3: conditions stay when a call is forbidden and apply again when it is allowed again: read them either way.
    const conditions = await lens.callConditions(target.module, key, c.target, c.selector);
    if (conditions.length > 0)
      agent.conditions.set(
        ck,
        conditions.map((x) => ({ word: Number(x.word), op: Number(x.op), value: String(x.value) })),
      );
  }
  for (const r of wanted.recipients) {
    if (await lens.isRecipient(target.module, key, r)) agent.recipients.set(r, getAddress(r));
  }
  const usdLimit = await readUsdLimit(lens, target.module, key);
  if (usdLimit) agent.usdLimit = usdLimit;
  return agent;
}

/** What to ask the views about an agent key: everything its identity's events (all its keys) and the hints name. */
function wantedFor(key: string, c: Candidates, hints: StateHints, seenAssets: Set<string>) {
  const keys = [key];
  for (let k = c.predecessor.get(key); k !== undefined; k = c.predecessor.get(k)) keys.push(k);
  const assets = new Set<string>(seenAssets);
  const calls = new Map<string, Call>();
  const recipients = new Set<string>();
  for (const k of keys) {
    for (const asset of c.assetsByAgent.get(k) ?? []) assets.add(asset);
    for (const [ck, call] of c.callsByAgent.get(k) ?? []) calls.set(ck, call);
    for (const r of c.recipientsByAgent.get(k) ?? []) recipients.add(r);
  }
  for (const call of hints.calls?.[key] ?? [])
    calls.set(`${lower(call.target)}:${lower(call.selector)}`, {
      target: getAddress(call.target),
      selector: lower(call.selector),
    });
  for (const r of hints.recipients?.[key] ?? []) recipients.add(lower(r));
  return { assets, calls, recipients };
}

/** Reads the module's configuration (see the file header for how candidates are found). */
export async function readChainState(
  provider: Provider,
  target: PlanTarget,
  hints: StateHints = {},
): Promise<ChainState> {
  const { module, lens, safe } = moduleContracts(provider, target);
  const moduleDeployed = (await provider.getCode(target.module)) !== "0x";
  const safeDeployed = (await provider.getCode(target.safe)) !== "0x";
  const state: ChainState = {
    moduleDeployed,
    moduleEnabled: safeDeployed && moduleDeployed ? Boolean(await safe.isModuleEnabled(target.module)) : false,
    cosigners: { members: [], threshold: 0 },
    guardians: [],
    agents: new Map(),
    rotatedTo: new Map(),
    treasuryLimits: new Map(),
    seenAssets: new Set((hints.assets ?? []).map(lower)),
    priceFeeds: new Map(),
    allowances: await readAllowances(provider, target.safe, hints.allowances ?? []),
  };
  if (!moduleDeployed) return state;

  state.cosigners = {
    members: (await module.cosigners()).map((m) => getAddress(m)),
    threshold: Number(await module.threshold()),
  };
  try {
    // ethers v6: `module.target` is the contract's address; the Zodiac function is reached through getFunction.
    state.target = getAddress(await module.getFunction("target")());
  } catch {
    // A module deployed before v3 has no target(): its calls always go to the avatar.
  }
  const c = await readCandidates(provider, target, hints, state);
  for (const g of c.guardians) if (await module.isGuardian(g)) state.guardians.push(getAddress(g));
  for (const asset of c.treasuryAssets) {
    const [perWindow, window] = await lens.treasuryLimit(target.module, asset);
    if (perWindow !== 0n)
      state.treasuryLimits.set(asset, { asset: getAddress(asset), perWindow, window: BigInt(window) });
  }
  state.priceFeeds = await readPriceFeeds(lens, target.module, c.feedAssets);
  for (const key of c.agentKeys) {
    if (state.rotatedTo.has(key)) continue; // rotated out for good: its identity lives on under the new key.
    state.agents.set(key, await readAgent({ module, lens }, target, key, wantedFor(key, c, hints, state.seenAssets)));
  }
  return state;
}

const ERC20_ALLOWANCE = ["function allowance(address owner, address spender) view returns (uint256)"];

/** v3: the Safe's allowances (0 where the token or the Safe has no code yet). */
async function readAllowances(
  provider: Provider,
  safe: string,
  wanted: { token: string; spender: string }[],
): Promise<Map<string, bigint>> {
  const out = new Map<string, bigint>();
  const safeDeployed = wanted.length > 0 && (await provider.getCode(safe)) !== "0x";
  for (const { token, spender } of wanted) {
    const hasCode = safeDeployed && (await provider.getCode(token)) !== "0x";
    out.set(
      allowanceKey(token, spender),
      hasCode ? ((await new Contract(token, ERC20_ALLOWANCE, provider).allowance(safe, spender)) as bigint) : 0n,
    );
  }
  return out;
}

const ERC20_META = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

/** Looks up an asset's symbol and decimals: the policy's, else the token's own, else the bare address. */
export async function assetInfo(
  provider: Provider,
  known: Record<string, ResolvedAsset>,
  address: string,
): Promise<ResolvedAsset> {
  const key = lower(address);
  if (key === lower(ZeroAddress)) return ETH_ASSET;
  if (known[key]) return known[key];
  const token = new Contract(address, ERC20_META, provider);
  let decimals = 0;
  let symbol = `${address.slice(0, 8)}…`;
  try {
    decimals = Number(await token.decimals());
    symbol = String(await token.symbol());
  } catch {
    // Not an ERC-20 (or no symbol): amounts are shown in base units.
  }
  const info = { address: getAddress(address), symbol, decimals };
  known[key] = info;
  return info;
}
