/**
 * The difference between a policy file and the chain, as a list of Safe calls (`treasury:plan`), and the chain
 * state it is computed from. The module keeps no lists of agents, guardians, calls or recipients (that would cost
 * gas on every change), so the candidates come from its configuration events and each one is confirmed with a
 * view (`isAgent`, `isGuardian`, `assetLimit`, the lens's `isAllowedCall` / `isRecipient`): the events say what
 * might be set, the views say what is.
 *
 * Every item says whether it loosens the fence (more money can move, or with fewer checks) or tightens it, so
 * reviewers can give loosening changes the attention they deserve.
 */
import { Contract, FunctionFragment, Interface, Log, Provider, ZeroAddress, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { AgentTreasuryLens, IAgentTreasuryModule } from "../typechain-types";
import {
  AgentConfigValue,
  ETH_ASSET,
  Policy,
  PolicyError,
  RECIPIENT_MODE_NAME,
  policySalt,
  ResolvedAsset,
  ResolvedPolicy,
  resolvePolicy,
  targetIssues,
} from "./policy";
import { formatAmount, formatDuration, formatTimestamp } from "./units";
import { SAFE_ABI } from "../sdk/safe";
import { AgentConfigField, agentConfigChanges, assetLimitChange, treasuryLimitLoosens } from "./loosening";
import { allowanceItems, chainConditions, conditionItem } from "./planConditions";

export type PlanKind =
  | "enableModule"
  | "disableModule"
  | "setCosigners"
  | "setGuardian"
  | "setAgent"
  | "removeAgent"
  | "setAssetLimit"
  | "setAllowedCall"
  | "setRecipient"
  | "setTreasuryLimit"
  | "setTarget"
  /** v3: the conditions on an allowed call's arguments (deploy/planConditions.ts). */
  | "setCallConditions"
  /** v3: the Safe's allowance to a spender, `approve` on the token (deploy/planConditions.ts). */
  | "approve";

export interface PlanItem {
  kind: PlanKind;
  /** What changes, in human units, e.g. `payroll: USDC autoPerWindow 5000 -> 7500`. */
  description: string;
  /** True when the change lets more money move or removes a check. */
  loosens: boolean;
  /** The call the Safe makes (to the module, to itself for enableModule, to a token for approve). */
  call: { to: string; data: string };
  /** The agent concerned, if any. */
  agent?: string;
}

/** Where the policy lives on-chain. A {@link DeploymentRecord} fits. */
export interface PlanTarget {
  safe: string;
  module: string;
  lens: string;
  /** First block to scan for configuration events (the module's creation). */
  moduleBlock?: number;
  /** symbol -> address, e.g. local tokens from the deployment record. */
  tokens?: Record<string, string>;
  /** bytes32 salt the module was created with, when known (from the deployment record). */
  salt?: string;
}

/** The file cannot be applied as written (e.g. it names a rotated-out agent key). */
export class PlanError extends Error {
  readonly code = "PLAN_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "PlanError";
  }
}

export interface LimitValue {
  autoPerTx: bigint;
  autoPerWindow: bigint;
  window: bigint;
  escalatedPerTx: bigint;
}

export interface AgentChainState {
  address: string;
  active: boolean;
  config: AgentConfigValue;
  /** lower-case asset -> limit (only non-zero limits). */
  limits: Map<string, LimitValue>;
  /** `${target}:${selector}` (lower-case) of allowed calls. */
  calls: Map<string, { target: string; selector: string }>;
  /** lower-case recipient -> checksummed. */
  recipients: Map<string, string>;
}

export interface ChainState {
  moduleDeployed: boolean;
  moduleEnabled: boolean;
  cosigners: { members: string[]; threshold: number };
  guardians: string[];
  /** Active agents plus any agent the hints asked about, by lower-case address. */
  agents: Map<string, AgentChainState>;
  /** lower-case old key -> new key, for every rotation. */
  rotatedTo: Map<string, string>;
  /** lower-case asset -> treasury-wide limit (only set limits). */
  treasuryLimits: Map<string, { asset: string; perWindow: bigint; window: bigint }>;
  /** Every asset that appears in a limit event, lower-case. */
  seenAssets: Set<string>;
  /** v3: the module's exec target (`target()`; the avatar unless set). Absent when the module is not deployed, or predates v3. */
  target?: string;
}

/** What the caller wants looked at besides what the events reveal (the policy's own agents and entries). */
export interface StateHints {
  agents?: string[];
  assets?: string[];
  calls?: Record<string, { target: string; selector: string }[]>;
  recipients?: Record<string, string[]>;
}

const CONFIG_EVENTS = [
  "event AgentSet(address indexed agent, (uint48 validUntil,uint32 escalationDelay,uint32 gracePeriod,uint16 maxIntentsPerWindow,uint32 rateWindow,uint8 maxStrikes,uint32 strikeWindow,uint8 recipientMode) config)",
  "event AgentRemoved(address indexed agent)",
  "event AgentRotated(address indexed oldKey, address indexed newKey)",
  "event AssetLimitSet(address indexed agent, address indexed asset, (uint128 autoPerTx,uint128 autoPerWindow,uint32 window,uint128 escalatedPerTx) limit)",
  "event AllowedCallSet(address indexed agent, address indexed target, bytes4 indexed selector, bool allowed)",
  "event RecipientSet(address indexed agent, address indexed recipient, bool allowed)",
  "event GuardianSet(address indexed guardian, bool enabled)",
  "event TreasuryLimitSet(address indexed asset, uint128 perWindow, uint32 window)",
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

const ZERO_CONFIG: AgentConfigValue = {
  validUntil: 0n,
  escalationDelay: 0n,
  gracePeriod: 0n,
  maxIntentsPerWindow: 0n,
  rateWindow: 0n,
  maxStrikes: 0n,
  strikeWindow: 0n,
  recipientMode: 0,
};

export async function moduleContracts(hre: HardhatRuntimeEnvironment, target: { module: string; lens: string; safe: string }) {
  const provider = hre.ethers.provider;
  const module = (await hre.ethers.getContractAt("IAgentTreasuryModule", target.module)) as unknown as IAgentTreasuryModule;
  const lens = (await hre.ethers.getContractAt("AgentTreasuryLens", target.lens)) as unknown as AgentTreasuryLens;
  const safe = new Contract(target.safe, SAFE_ABI, provider);
  return { module: module.connect(provider) as IAgentTreasuryModule, lens: lens.connect(provider) as AgentTreasuryLens, safe };
}

/** Reads the module's configuration (see the file header for how candidates are found). */
export async function readChainState(hre: HardhatRuntimeEnvironment, target: PlanTarget, hints: StateHints = {}): Promise<ChainState> {
  const provider = hre.ethers.provider;
  const { module, lens, safe } = await moduleContracts(hre, target);
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
  };
  if (!moduleDeployed) return state;

  state.cosigners = { members: (await module.cosigners()).map((m) => getAddress(m)), threshold: Number(await module.threshold()) };
  try {
    // ethers v6: `module.target` is the contract's address; the Zodiac function is reached through getFunction.
    state.target = getAddress(await module.getFunction("target")());
  } catch {
    // A module deployed before v3 has no target(): its calls always go to the avatar.
  }

  const topics: string[] = [];
  configInterface.forEachEvent((event) => topics.push(event.topicHash));
  const logs = await scanLogs(provider, target.module, topics, target.moduleBlock ?? 0);
  const agentKeys = new Set<string>((hints.agents ?? []).map(lower));
  const guardianCandidates = new Set<string>();
  const assetsByAgent = new Map<string, Set<string>>();
  const callsByAgent = new Map<string, Map<string, { target: string; selector: string }>>();
  const recipientsByAgent = new Map<string, Set<string>>();
  const treasuryAssets = new Set<string>();
  const predecessor = new Map<string, string>();
  const push = <T>(map: Map<string, T>, key: string, make: () => T) => {
    if (!map.has(key)) map.set(key, make());
    return map.get(key)!;
  };
  for (const log of logs) {
    const parsed = configInterface.parseLog(log);
    if (!parsed) continue;
    const a = parsed.args;
    switch (parsed.name) {
      case "AgentSet":
      case "AgentRemoved":
        agentKeys.add(lower(a.agent));
        break;
      case "AgentRotated":
        agentKeys.add(lower(a.newKey));
        state.rotatedTo.set(lower(a.oldKey), getAddress(a.newKey));
        predecessor.set(lower(a.newKey), lower(a.oldKey));
        break;
      case "AssetLimitSet":
        push(assetsByAgent, lower(a.agent), () => new Set()).add(lower(a.asset));
        state.seenAssets.add(lower(a.asset));
        break;
      case "AllowedCallSet":
        push(callsByAgent, lower(a.agent), () => new Map()).set(`${lower(a.target)}:${lower(a.selector)}`, {
          target: getAddress(a.target),
          selector: lower(a.selector),
        });
        break;
      case "RecipientSet":
        push(recipientsByAgent, lower(a.agent), () => new Set()).add(lower(a.recipient));
        break;
      case "GuardianSet":
        guardianCandidates.add(lower(a.guardian));
        break;
      case "TreasuryLimitSet":
        treasuryAssets.add(lower(a.asset));
        break;
    }
  }

  for (const g of guardianCandidates) if (await module.isGuardian(g)) state.guardians.push(getAddress(g));
  for (const asset of treasuryAssets) {
    const [perWindow, window] = await lens.treasuryLimit(target.module, asset);
    if (perWindow !== 0n) state.treasuryLimits.set(asset, { asset: getAddress(asset), perWindow, window: BigInt(window) });
  }

  // All keys an identity had: the current key and its predecessors (their events describe the same identity).
  const lineage = (key: string) => {
    const keys = [key];
    for (let k = predecessor.get(key); k !== undefined; k = predecessor.get(k)) keys.push(k);
    return keys;
  };
  for (const key of agentKeys) {
    if (state.rotatedTo.has(key)) continue; // rotated out for good: its identity lives on under the new key.
    const active = await module.isAgent(key);
    const keys = lineage(key);
    const assets = new Set<string>(state.seenAssets);
    const calls = new Map<string, { target: string; selector: string }>();
    const recipients = new Set<string>();
    for (const k of keys) {
      for (const asset of assetsByAgent.get(k) ?? []) assets.add(asset);
      for (const [ck, c] of callsByAgent.get(k) ?? []) calls.set(ck, c);
      for (const r of recipientsByAgent.get(k) ?? []) recipients.add(r);
    }
    for (const c of hints.calls?.[key] ?? []) calls.set(`${lower(c.target)}:${lower(c.selector)}`, { target: getAddress(c.target), selector: lower(c.selector) });
    for (const r of hints.recipients?.[key] ?? []) recipients.add(lower(r));

    const agent: AgentChainState = {
      address: getAddress(key),
      active,
      config: ZERO_CONFIG,
      limits: new Map(),
      calls: new Map(),
      recipients: new Map(),
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
    for (const asset of assets) {
      const l = await module.assetLimit(key, asset);
      if (l.autoPerTx !== 0n || l.autoPerWindow !== 0n || l.escalatedPerTx !== 0n) {
        agent.limits.set(asset, { autoPerTx: l.autoPerTx, autoPerWindow: l.autoPerWindow, window: BigInt(l.window), escalatedPerTx: l.escalatedPerTx });
      }
    }
    for (const [ck, c] of calls) {
      if (await lens.isAllowedCall(target.module, key, c.target, c.selector)) agent.calls.set(ck, c);
    }
    for (const r of recipients) {
      if (await lens.isRecipient(target.module, key, r)) agent.recipients.set(r, getAddress(r));
    }
    state.agents.set(key, agent);
  }
  return state;
}

// ---------------------------------------------------------------------------------------------- diff

export function configChanges(from: AgentConfigValue, to: AgentConfigValue): { fields: string[]; loosens: boolean } {
  const show: Record<AgentConfigField, (v: bigint) => string> = {
    validUntil: (v) => formatTimestamp(v),
    escalationDelay: formatDuration,
    gracePeriod: formatDuration,
    maxIntentsPerWindow: (v) => (v === 0n ? "none" : v.toString()),
    rateWindow: formatDuration,
    maxStrikes: (v) => (v === 0n ? "never" : v.toString()),
    strikeWindow: formatDuration,
    recipientMode: (v) => RECIPIENT_MODE_NAME[Number(v)],
  };
  const changes = agentConfigChanges(from, to);
  return { fields: changes.map((c) => `${c.field} ${show[c.field](c.before)} -> ${show[c.field](c.after)}`), loosens: changes.some((c) => c.loosens) };
}

function describeConfig(c: AgentConfigValue): string {
  const parts = [
    `delay ${formatDuration(c.escalationDelay)}`,
    `grace ${formatDuration(c.gracePeriod)}`,
    `recipients ${RECIPIENT_MODE_NAME[c.recipientMode]}`,
    c.maxIntentsPerWindow === 0n ? "no rate limit" : `rate ${c.maxIntentsPerWindow}/${formatDuration(c.rateWindow)}`,
    c.maxStrikes === 0n ? "never auto-frozen" : `frozen after ${c.maxStrikes} strikes/${formatDuration(c.strikeWindow)}`,
    `valid until ${formatTimestamp(c.validUntil)}`,
  ];
  return parts.join(", ");
}

const COMMON_SIGNATURES = [
  "approve(address,uint256)",
  "transfer(address,uint256)",
  "transferFrom(address,address,uint256)",
  "increaseAllowance(address,uint256)",
  "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  "setApprovalForAll(address,bool)",
  "deposit()",
  "withdraw(uint256)",
];

const ERC20_META = ["function decimals() view returns (uint8)", "function symbol() view returns (string)"];

/** Looks up an asset's symbol and decimals: the policy's, else the token's own, else the bare address. */
export async function assetInfo(provider: Provider, known: Record<string, ResolvedAsset>, address: string): Promise<ResolvedAsset> {
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

/** Formats an amount of an asset: `2.5 ETH`. */
export function showAmount(amount: bigint, asset: ResolvedAsset): string {
  return `${formatAmount(amount, asset.decimals)} ${asset.symbol}`;
}

function limitEqual(a: LimitValue | undefined, b: LimitValue | undefined): boolean {
  const z = (l?: LimitValue) => l ?? { autoPerTx: 0n, autoPerWindow: 0n, window: 0n, escalatedPerTx: 0n };
  const [x, y] = [z(a), z(b)];
  return x.autoPerTx === y.autoPerTx && x.autoPerWindow === y.autoPerWindow && x.window === y.window && x.escalatedPerTx === y.escalatedPerTx;
}

function sameSet(a: string[], b: string[]): boolean {
  const sa = new Set(a.map(lower));
  return a.length === b.length && sa.size === new Set(b.map(lower)).size && b.every((x) => sa.has(lower(x)));
}

/**
 * Refuses to compare a file with a treasury it does not describe: a policy for another Safe, or with another
 * salt than the deployment record's, would plan the removal of everything on the wrong module.
 */
export function checkPolicyMatchesTarget(policy: Policy, target: PlanTarget): void {
  if (typeof policy.safe === "string" && getAddress(policy.safe) !== getAddress(target.safe)) {
    throw new PlanError(
      `The policy file is for Safe ${getAddress(policy.safe)}, but the module ${target.module} belongs to Safe ${getAddress(target.safe)}: ` +
        `pass --module, or check --network and DEPLOYMENTS_DIR.`,
    );
  }
  if (target.salt && policySalt(policy.salt) !== target.salt.toLowerCase()) {
    throw new PlanError(
      `The policy file's salt "${policy.salt}" is not the one the module ${target.module} was deployed with: ` +
        `this file describes another treasury. Pass --module, or check --network and DEPLOYMENTS_DIR.`,
    );
  }
}

function isResolved(policy: Policy | ResolvedPolicy): policy is ResolvedPolicy {
  return typeof (policy as ResolvedPolicy).chainId === "bigint";
}

/**
 * The Safe calls that make the chain match `policy`, in an order that applies cleanly (enableModule first; an
 * agent before its limits, calls and recipients). Empty when the chain already matches. `policy` may be a loaded
 * file (it is resolved against the chain, local tokens taken from `deployment.tokens`) or already resolved.
 */
export async function planPolicy(
  hre: HardhatRuntimeEnvironment,
  policy: Policy | ResolvedPolicy,
  deployment: PlanTarget,
): Promise<PlanItem[]> {
  const provider = hre.ethers.provider;
  const resolved = isResolved(policy)
    ? policy
    : await resolvePolicy(policy, provider, { localTokenAddresses: deployment.tokens });
  const hints: StateHints = {
    agents: resolved.agents.map((a) => a.address),
    assets: [...Object.keys(resolved.assets), ...resolved.treasuryLimits.map((t) => t.asset.address)],
    calls: Object.fromEntries(resolved.agents.map((a) => [lower(a.address), a.allowedCalls.map((c) => ({ target: c.target, selector: c.selector }))])),
    recipients: Object.fromEntries(resolved.agents.map((a) => [lower(a.address), a.recipients])),
  };
  const state = await readChainState(hre, deployment, hints);
  const { lens } = await moduleContracts(hre, deployment);
  const moduleIface = (await hre.artifacts.readArtifact("IAgentTreasuryModule")).abi;
  const m = new Interface(moduleIface);
  const safeIface = new Interface(SAFE_ABI);
  const to = getAddress(deployment.module);
  const known: Record<string, ResolvedAsset> = { ...resolved.assets };
  const items: PlanItem[] = [];
  const call = (data: string) => ({ to, data });
  // Names for selectors found on-chain: the policy's own signatures and the usual token functions.
  const selectorNames = new Map<string, string>();
  for (const sig of COMMON_SIGNATURES) selectorNames.set(FunctionFragment.from(sig).selector, sig);
  for (const agent of resolved.agents) for (const c of agent.allowedCalls) selectorNames.set(lower(c.selector), c.signature);

  if (!state.moduleEnabled) {
    items.push({
      kind: "enableModule",
      description: `enable module ${to} on Safe ${getAddress(deployment.safe)}`,
      loosens: true,
      call: { to: getAddress(deployment.safe), data: safeIface.encodeFunctionData("enableModule", [to]) },
    });
  }

  // v3: where the module's calls go. Early in the plan, so calls allowed on a former target are no longer refused.
  const avatar = getAddress(deployment.safe);
  const wantTarget = resolved.target === undefined || lower(resolved.target) === lower(avatar) ? avatar : getAddress(resolved.target);
  const chainTarget = state.target ?? (state.moduleDeployed ? undefined : avatar);
  if (resolved.target !== undefined && wantTarget !== avatar) {
    const issues = targetIssues(resolved, to);
    if (issues.length > 0) throw new PolicyError(issues);
    if (chainTarget === undefined) {
      throw new PlanError(`The module ${to} has no target() (it predates v3), so the policy's target ${wantTarget} cannot be set: deploy a v3 module, or remove target from the file.`);
    }
  }
  if (chainTarget !== undefined && lower(chainTarget) !== lower(wantTarget)) {
    const name = (a: string) => (lower(a) === lower(avatar) ? `the Safe ${avatar}` : a);
    items.push({
      kind: "setTarget",
      description:
        `exec target ${name(chainTarget)} -> ${name(wantTarget)}` +
        (wantTarget === avatar
          ? " (module calls go straight to the Safe, without the modifier's checks)"
          : " (module calls reach the Safe through this contract: a Zodiac modifier that must have the module enabled; review what it checks)"),
      // The plan cannot know what a modifier checks, so any change of the execution path is shown for review.
      loosens: true,
      call: call(m.encodeFunctionData("setTarget", [wantTarget])),
    });
  }

  const cos = resolved.cosigners;
  if (!sameSet(cos.members, state.cosigners.members) || cos.threshold !== state.cosigners.threshold) {
    const before = state.cosigners.members.map(lower);
    const added = cos.members.filter((x) => !before.includes(lower(x)));
    const removed = state.cosigners.members.filter((x) => !cos.members.map(lower).includes(lower(x)));
    const fmt = (t: number, n: number) => (n === 0 ? "none" : `${t} of ${n}`);
    const delta = [...added.map((a) => `+${a}`), ...removed.map((r) => `-${r}`)].join(" ");
    items.push({
      kind: "setCosigners",
      description: `co-signers ${fmt(state.cosigners.threshold, state.cosigners.members.length)} -> ${fmt(cos.threshold, cos.members.length)}${delta ? ` (${delta})` : ""}`,
      loosens: cos.threshold < state.cosigners.threshold || added.length > 0,
      call: call(m.encodeFunctionData("setCosigners", [cos.members, cos.threshold])),
    });
  }

  const chainGuardians = state.guardians.map(lower);
  for (const g of resolved.guardians) {
    if (!chainGuardians.includes(lower(g))) {
      items.push({ kind: "setGuardian", description: `add guardian ${g}`, loosens: false, call: call(m.encodeFunctionData("setGuardian", [g, true])) });
    }
  }
  for (const g of state.guardians) {
    if (!resolved.guardians.map(lower).includes(lower(g))) {
      items.push({ kind: "setGuardian", description: `remove guardian ${g}`, loosens: true, call: call(m.encodeFunctionData("setGuardian", [g, false])) });
    }
  }

  const fileAgents = new Set(resolved.agents.map((a) => lower(a.address)));
  for (const agent of resolved.agents) {
    const key = lower(agent.address);
    const rotated = state.rotatedTo.get(key);
    if (rotated) {
      throw new PlanError(
        `Agent "${agent.name}" (${agent.address}) was rotated to ${rotated} on-chain; an old key can never be re-added. ` +
          `Put the new key in the policy file.`,
      );
    }
    const chain = state.agents.get(key);
    const label = `${agent.name}`;
    if (!chain || !chain.active) {
      items.push({
        kind: "setAgent",
        description: `add agent ${label} (${agent.address}): ${describeConfig(agent.config)}`,
        loosens: true,
        call: call(m.encodeFunctionData("setAgent", [agent.address, agent.config])),
        agent: agent.address,
      });
    } else {
      const { fields, loosens } = configChanges(chain.config, agent.config);
      if (fields.length > 0) {
        items.push({
          kind: "setAgent",
          description: `${label}: ${fields.join(", ")}`,
          loosens,
          call: call(m.encodeFunctionData("setAgent", [agent.address, agent.config])),
          agent: agent.address,
        });
      }
    }

    const chainLimits = chain?.limits ?? new Map<string, LimitValue>();
    for (const limit of agent.limits) {
      const assetKey = lower(limit.asset.address);
      const want: LimitValue = { autoPerTx: limit.autoPerTx, autoPerWindow: limit.autoPerWindow, window: BigInt(limit.window), escalatedPerTx: limit.escalatedPerTx };
      const have = chainLimits.get(assetKey);
      if (limitEqual(have, want)) continue;
      const show = (v: bigint) => formatAmount(v, limit.asset.decimals);
      const change = assetLimitChange(have, want);
      const description = change.added
        ? `${label}: ${limit.asset.symbol} limit: auto ${show(want.autoPerTx)} per tx, ${show(want.autoPerWindow)} per ${formatDuration(want.window)}, hard cap ${show(want.escalatedPerTx)}`
        : `${label}: ${limit.asset.symbol} ${change.fields
            .map((c) => `${c.field} ${c.field === "window" ? formatDuration(c.before) : show(c.before)} -> ${c.field === "window" ? formatDuration(c.after) : show(c.after)}`)
            .join(", ")}`;
      const loosens = change.loosens;
      items.push({
        kind: "setAssetLimit",
        description,
        loosens,
        call: call(m.encodeFunctionData("setAssetLimit", [agent.address, limit.asset.address, want])),
        agent: agent.address,
      });
    }
    const fileAssets = new Set(agent.limits.map((l) => lower(l.asset.address)));
    for (const [assetKey] of chainLimits) {
      if (fileAssets.has(assetKey)) continue;
      const asset = await assetInfo(provider, known, assetKey);
      items.push({
        kind: "setAssetLimit",
        description: `${label}: remove ${asset.symbol} limit (the agent can no longer spend ${asset.symbol})`,
        loosens: false,
        call: call(m.encodeFunctionData("setAssetLimit", [agent.address, asset.address, { autoPerTx: 0n, autoPerWindow: 0n, window: 0n, escalatedPerTx: 0n }])),
        agent: agent.address,
      });
    }

    const chainCalls = chain?.calls ?? new Map<string, { target: string; selector: string }>();
    const fileCalls = new Set<string>();
    for (const c of agent.allowedCalls) {
      const ck = `${lower(c.target)}:${lower(c.selector)}`;
      fileCalls.add(ck);
      // v3: the call's conditions first, so it is never allowed without them.
      const have = state.moduleDeployed ? await chainConditions(lens, to, agent.address, c) : [];
      const conditions = conditionItem(m, to, agent, c, have);
      if (conditions) items.push(conditions);
      if (chainCalls.has(ck)) continue;
      items.push({
        kind: "setAllowedCall",
        description: `${label}: allow ${c.signature} on ${c.targetLabel}${c.targetLabel.startsWith("0x") ? "" : ` (${c.target})`}`,
        loosens: true,
        call: call(m.encodeFunctionData("setAllowedCall", [agent.address, c.target, c.selector, true])),
        agent: agent.address,
      });
    }
    for (const [ck, c] of chainCalls) {
      if (fileCalls.has(ck)) continue;
      const fn = selectorNames.get(c.selector) ?? `selector ${c.selector}`;
      const on = known[lower(c.target)] ? `${known[lower(c.target)].symbol} (${c.target})` : c.target;
      items.push({
        kind: "setAllowedCall",
        description: `${label}: forbid ${fn} on ${on}`,
        loosens: false,
        call: call(m.encodeFunctionData("setAllowedCall", [agent.address, c.target, c.selector, false])),
        agent: agent.address,
      });
    }

    const chainRecipients = chain?.recipients ?? new Map<string, string>();
    const fileRecipients = new Set(agent.recipients.map(lower));
    for (const r of agent.recipients) {
      if (chainRecipients.has(lower(r))) continue;
      items.push({
        kind: "setRecipient",
        description: `${label}: add recipient ${r}`,
        loosens: true,
        call: call(m.encodeFunctionData("setRecipient", [agent.address, r, true])),
        agent: agent.address,
      });
    }
    for (const [rk, r] of chainRecipients) {
      if (fileRecipients.has(rk)) continue;
      items.push({
        kind: "setRecipient",
        description: `${label}: remove recipient ${r}`,
        loosens: false,
        call: call(m.encodeFunctionData("setRecipient", [agent.address, r, false])),
        agent: agent.address,
      });
    }
  }

  for (const [key, chain] of state.agents) {
    if (!chain.active || fileAgents.has(key)) continue;
    items.push({
      kind: "removeAgent",
      description: `remove agent ${chain.address} (not in the policy file)`,
      loosens: false,
      call: call(m.encodeFunctionData("removeAgent", [chain.address])),
      agent: chain.address,
    });
  }

  const fileTreasury = new Set<string>();
  for (const t of resolved.treasuryLimits) {
    const key = lower(t.asset.address);
    fileTreasury.add(key);
    const have = state.treasuryLimits.get(key);
    if (have && have.perWindow === t.perWindow && have.window === BigInt(t.window)) continue;
    const show = (v: bigint) => showAmount(v, t.asset);
    items.push({
      kind: "setTreasuryLimit",
      description: have
        ? `treasury limit ${t.asset.symbol}: ${show(have.perWindow)} per ${formatDuration(have.window)} -> ${show(t.perWindow)} per ${formatDuration(t.window)}`
        : `treasury limit ${t.asset.symbol}: ${show(t.perWindow)} per ${formatDuration(t.window)} across all agents`,
      loosens: treasuryLimitLoosens(have, t),
      call: call(m.encodeFunctionData("setTreasuryLimit", [t.asset.address, t.perWindow, t.window])),
    });
  }
  for (const [key, have] of state.treasuryLimits) {
    if (fileTreasury.has(key)) continue;
    const asset = await assetInfo(provider, known, key);
    items.push({
      kind: "setTreasuryLimit",
      description: `remove the treasury limit on ${asset.symbol} (was ${showAmount(have.perWindow, asset)} per ${formatDuration(have.window)})`,
      loosens: treasuryLimitLoosens(have, undefined),
      call: call(m.encodeFunctionData("setTreasuryLimit", [have.asset, 0n, 0])),
    });
  }
  // v3: the Safe's allowances (owners' approve calls on the tokens), last.
  items.push(...(await allowanceItems(provider, resolved, getAddress(deployment.safe))));
  return items;
}
