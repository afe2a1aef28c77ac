/**
 * The difference between a policy file and the chain, as the list of Safe calls that makes the module match the
 * file (`treasury:plan`, `treasury:apply`, the pipeline's configuration step). Pure: it compares a resolved policy
 * (core/policy.ts) with the chain state read by deploy/chainState.ts, and asks the caller only for the symbol and
 * decimals of assets the policy does not name.
 *
 * Every item says whether it loosens the fence (more money can move, or with fewer checks) or tightens it, so
 * reviewers can give loosening changes the attention they deserve; the field rules are core/loosening.ts.
 */
import { FunctionFragment, Interface, ZeroAddress, getAddress } from "ethers";
import { Policy, PolicyError } from "./policy";
import {
  AgentConfigValue,
  ETH_ASSET,
  RECIPIENT_MODE_NAME,
  ResolvedAgent,
  ResolvedAsset,
  ResolvedPolicy,
  policySalt,
  targetIssues,
} from "./policyResolve";
import { formatAmount, formatDuration, formatTimestamp } from "./units";
import { AgentConfigField, agentConfigChanges, assetLimitChange, treasuryLimitLoosens } from "./loosening";
import { SAFE_ABI } from "../sdk/safe";
import type { ConditionValue } from "../sdk/conditions";
import { allowanceItems, conditionItem } from "./policyDiffCalls";
import { PriceFeedState, UsdLimitValue, diffUsd } from "./usdPolicy";

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
  /** v3: the conditions on an allowed call's arguments (core/policyDiffCalls.ts). */
  | "setCallConditions"
  /** v3: the Safe's allowance to a spender, `approve` on the token (core/policyDiffCalls.ts). */
  | "approve"
  | "setPriceFeed"
  | "setUsdLimit";

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
  /** v3: `localPriceFeeds` key -> mock feed address, from the deployment record (chain 31337). */
  localPriceFeeds?: Record<string, string>;
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
  /** v3: `${target}:${selector}` (lower-case) -> the conditions the module holds for that call (only non-empty lists). */
  conditions: Map<string, ConditionValue[]>;
  /** v3: the identity's USD limit; absent when it has none. */
  usdLimit?: UsdLimitValue;
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
  /** v3: the module's price feeds (`PriceFeedSet` events and the policy's assets, confirmed with the lens), by lower-case asset. */
  priceFeeds: Map<string, PriceFeedState>;
  /** v3: the module's exec target (`target()`; the avatar unless set). Absent when the module is not deployed, or predates v3. */
  target?: string;
  /** v3: the Safe's allowances the hints asked about, by `${token}:${spender}` (lower-case; core/policyDiffCalls.ts). */
  allowances: Map<string, bigint>;
}

/** What the caller wants looked at besides what the events reveal (the policy's own agents and entries). */
export interface StateHints {
  agents?: string[];
  assets?: string[];
  /** v3: assets whose price feed to read besides those `PriceFeedSet` events name. */
  feedAssets?: string[];
  calls?: Record<string, { target: string; selector: string }[]>;
  recipients?: Record<string, string[]>;
  /** v3: the Safe's allowances to read (token, spender). */
  allowances?: { token: string; spender: string }[];
}

/** What {@link diffPolicy} needs besides the policy and the chain state. */
export interface DiffContext {
  /** The module's interface (its compiled ABI), to encode the calls. */
  moduleInterface: Interface;
  /** The module and its Safe. */
  target: PlanTarget;
  /** Symbol and decimals of an asset the policy does not name (a limit only the chain has). */
  assetOf: (address: string) => Promise<ResolvedAsset>;
}

function lower(a: string) {
  return a.toLowerCase();
}

/** Formats an amount of an asset: `2.5 ETH`. */
export function showAmount(amount: bigint, asset: ResolvedAsset): string {
  return `${formatAmount(amount, asset.decimals)} ${asset.symbol}`;
}

/** The chain state a diff with `resolved` must read besides what the events reveal: the policy's own entries. */
export function stateHints(resolved: ResolvedPolicy): StateHints {
  return {
    agents: resolved.agents.map((a) => a.address),
    assets: [...Object.keys(resolved.assets), ...resolved.treasuryLimits.map((t) => t.asset.address)],
    feedAssets: resolved.priceFeeds.map((f) => f.asset.address),
    calls: Object.fromEntries(
      resolved.agents.map((a) => [
        lower(a.address),
        a.allowedCalls.map((c) => ({ target: c.target, selector: c.selector })),
      ]),
    ),
    recipients: Object.fromEntries(resolved.agents.map((a) => [lower(a.address), a.recipients])),
    allowances: resolved.allowances.map((a) => ({ token: a.token.address, spender: a.spender })),
  };
}

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
  return {
    fields: changes.map((c) => `${c.field} ${show[c.field](c.before)} -> ${show[c.field](c.after)}`),
    loosens: changes.some((c) => c.loosens),
  };
}

function describeConfig(c: AgentConfigValue): string {
  const parts = [
    `delay ${formatDuration(c.escalationDelay)}`,
    `grace ${formatDuration(c.gracePeriod)}`,
    `recipients ${RECIPIENT_MODE_NAME[c.recipientMode]}`,
    c.maxIntentsPerWindow === 0n ? "no rate limit" : `rate ${c.maxIntentsPerWindow}/${formatDuration(c.rateWindow)}`,
    c.maxStrikes === 0n
      ? "never auto-frozen"
      : `frozen after ${c.maxStrikes} strikes/${formatDuration(c.strikeWindow)}`,
    `valid until ${formatTimestamp(c.validUntil)}`,
  ];
  return parts.join(", ");
}

/** Names for selectors found on-chain that the policy does not name. */
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

const NO_LIMIT: LimitValue = { autoPerTx: 0n, autoPerWindow: 0n, window: 0n, escalatedPerTx: 0n };

function limitEqual(a: LimitValue | undefined, b: LimitValue | undefined): boolean {
  const [x, y] = [a ?? NO_LIMIT, b ?? NO_LIMIT];
  return (
    x.autoPerTx === y.autoPerTx &&
    x.autoPerWindow === y.autoPerWindow &&
    x.window === y.window &&
    x.escalatedPerTx === y.escalatedPerTx
  );
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

// ---------------------------------------------------------------------------------------------- the diff

/** One diff's working set: the encoder, the addresses, asset names, selector names. */
interface Diff {
  m: Interface;
  module: string;
  safe: string;
  call: (data: string) => { to: string; data: string };
  asset: (address: string) => Promise<ResolvedAsset>;
  /** Assets named so far (the policy's, then those looked up), by lower-case address. */
  known: Record<string, ResolvedAsset>;
  selectorNames: Map<string, string>;
}

function diffOf(resolved: ResolvedPolicy, ctx: DiffContext): Diff {
  const module = getAddress(ctx.target.module);
  const known: Record<string, ResolvedAsset> = { ...resolved.assets };
  // Names for selectors found on-chain: the policy's own signatures and the usual token functions.
  const selectorNames = new Map<string, string>();
  for (const sig of COMMON_SIGNATURES) selectorNames.set(FunctionFragment.from(sig).selector, sig);
  for (const agent of resolved.agents)
    for (const c of agent.allowedCalls) selectorNames.set(lower(c.selector), c.signature);
  const asset = async (address: string) => {
    const key = lower(address);
    if (key === lower(ZeroAddress)) return ETH_ASSET;
    return (known[key] ??= await ctx.assetOf(address));
  };
  return {
    m: ctx.moduleInterface,
    module,
    safe: getAddress(ctx.target.safe),
    call: (data) => ({ to: module, data }),
    asset,
    known,
    selectorNames,
  };
}

/**
 * The Safe calls that make the chain (`state`) match `resolved`, in an order that applies cleanly (enableModule
 * first; an agent before its limits, calls and recipients). Empty when the chain already matches. Throws
 * {@link PlanError} for a file that cannot be applied, {@link PolicyError} for an exec target the module refuses.
 */
export async function diffPolicy(resolved: ResolvedPolicy, state: ChainState, ctx: DiffContext): Promise<PlanItem[]> {
  const d = diffOf(resolved, ctx);
  const items: PlanItem[] = [
    ...moduleItems(resolved, state, d),
    ...cosignerItems(resolved, state, d),
    ...guardianItems(resolved, state, d),
  ];
  for (const agent of resolved.agents) items.push(...(await agentItems(agent, state, d)));
  items.push(...removedAgentItems(resolved, state, d));
  items.push(...(await treasuryLimitItems(resolved, state, d)));
  items.push(...(await usdItems(resolved, state, d)));
  // v3: the Safe's allowances (owners' approve calls on the tokens), last.
  items.push(...allowanceItems(resolved.allowances, state.allowances));
  return items;
}

/** v3: price feeds, then USD limits (core/usdPolicy.ts): after the agents, so a new agent exists before its USD limit. */
async function usdItems(resolved: ResolvedPolicy, state: ChainState, d: Diff): Promise<PlanItem[]> {
  const chainLimits = new Map(
    resolved.agents.map((a) => [lower(a.address), state.agents.get(lower(a.address))?.usdLimit]),
  );
  const items = await diffUsd(
    resolved.priceFeeds,
    resolved.agents,
    state.priceFeeds,
    chainLimits,
    async (a) => (await d.asset(a)).symbol,
  );
  return items.map((u) => ({
    kind: u.kind,
    description: u.description,
    loosens: u.loosens,
    call: d.call(d.m.encodeFunctionData(u.fn, u.args)),
    ...(u.agent ? { agent: u.agent } : {}),
  }));
}

/** enableModule, and (v3) where the module's calls go: early, so calls allowed on a former target are no longer refused. */
function moduleItems(resolved: ResolvedPolicy, state: ChainState, d: Diff): PlanItem[] {
  const items: PlanItem[] = [];
  const avatar = d.safe;
  if (!state.moduleEnabled) {
    items.push({
      kind: "enableModule",
      description: `enable module ${d.module} on Safe ${avatar}`,
      loosens: true,
      call: { to: avatar, data: new Interface(SAFE_ABI).encodeFunctionData("enableModule", [d.module]) },
    });
  }
  const wantTarget =
    resolved.target === undefined || lower(resolved.target) === lower(avatar) ? avatar : getAddress(resolved.target);
  const chainTarget = state.target ?? (state.moduleDeployed ? undefined : avatar);
  if (resolved.target !== undefined && wantTarget !== avatar) {
    const issues = targetIssues(resolved, d.module);
    if (issues.length > 0) throw new PolicyError(issues);
    if (chainTarget === undefined) {
      throw new PlanError(
        `The module ${d.module} has no target() (it predates v3), so the policy's target ${wantTarget} cannot be set: deploy a v3 module, or remove target from the file.`,
      );
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
      call: d.call(d.m.encodeFunctionData("setTarget", [wantTarget])),
    });
  }
  return items;
}

function cosignerItems(resolved: ResolvedPolicy, state: ChainState, d: Diff): PlanItem[] {
  const cos = resolved.cosigners;
  if (sameSet(cos.members, state.cosigners.members) && cos.threshold === state.cosigners.threshold) return [];
  const before = state.cosigners.members.map(lower);
  const added = cos.members.filter((x) => !before.includes(lower(x)));
  const removed = state.cosigners.members.filter((x) => !cos.members.map(lower).includes(lower(x)));
  const fmt = (t: number, n: number) => (n === 0 ? "none" : `${t} of ${n}`);
  const delta = [...added.map((a) => `+${a}`), ...removed.map((r) => `-${r}`)].join(" ");
  return [
    {
      kind: "setCosigners",
      description: `co-signers ${fmt(state.cosigners.threshold, state.cosigners.members.length)} -> ${fmt(cos.threshold, cos.members.length)}${delta ? ` (${delta})` : ""}`,
      loosens: cos.threshold < state.cosigners.threshold || added.length > 0,
      call: d.call(d.m.encodeFunctionData("setCosigners", [cos.members, cos.threshold])),
    },
  ];
}

function guardianItems(resolved: ResolvedPolicy, state: ChainState, d: Diff): PlanItem[] {
  const chainGuardians = state.guardians.map(lower);
  const fileGuardians = resolved.guardians.map(lower);
  const set = (g: string, enabled: boolean): PlanItem => ({
    kind: "setGuardian",
    description: `${enabled ? "add" : "remove"} guardian ${g}`,
    loosens: !enabled,
    call: d.call(d.m.encodeFunctionData("setGuardian", [g, enabled])),
  });
  return [
    ...resolved.guardians.filter((g) => !chainGuardians.includes(lower(g))).map((g) => set(g, true)),
    ...state.guardians.filter((g) => !fileGuardians.includes(lower(g))).map((g) => set(g, false)),
  ];
}

/** Everything about one of the policy's agents: its configuration, limits, allowed calls and recipients. */
async function agentItems(agent: ResolvedAgent, state: ChainState, d: Diff): Promise<PlanItem[]> {
  const rotated = state.rotatedTo.get(lower(agent.address));
  if (rotated) {
    throw new PlanError(
      `Agent "${agent.name}" (${agent.address}) was rotated to ${rotated} on-chain; an old key can never be re-added. ` +
        `Put the new key in the policy file.`,
    );
  }
  const chain = state.agents.get(lower(agent.address));
  return [
    ...configItems(agent, chain, d),
    ...(await limitItems(agent, chain, d)),
    ...callItems(agent, chain, d),
    ...recipientItems(agent, chain, d),
  ];
}

function configItems(agent: ResolvedAgent, chain: AgentChainState | undefined, d: Diff): PlanItem[] {
  const call = d.call(d.m.encodeFunctionData("setAgent", [agent.address, agent.config]));
  if (!chain || !chain.active) {
    return [
      {
        kind: "setAgent",
        description: `add agent ${agent.name} (${agent.address}): ${describeConfig(agent.config)}`,
        loosens: true,
        call,
        agent: agent.address,
      },
    ];
  }
  const { fields, loosens } = configChanges(chain.config, agent.config);
  return fields.length === 0
    ? []
    : [{ kind: "setAgent", description: `${agent.name}: ${fields.join(", ")}`, loosens, call, agent: agent.address }];
}

async function limitItems(agent: ResolvedAgent, chain: AgentChainState | undefined, d: Diff): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  const label = agent.name;
  const chainLimits = chain?.limits ?? new Map<string, LimitValue>();
  const setLimit = (asset: string, limit: LimitValue) =>
    d.call(d.m.encodeFunctionData("setAssetLimit", [agent.address, asset, limit]));
  for (const limit of agent.limits) {
    const want: LimitValue = {
      autoPerTx: limit.autoPerTx,
      autoPerWindow: limit.autoPerWindow,
      window: BigInt(limit.window),
      escalatedPerTx: limit.escalatedPerTx,
    };
    const have = chainLimits.get(lower(limit.asset.address));
    if (limitEqual(have, want)) continue;
    const show = (v: bigint) => formatAmount(v, limit.asset.decimals);
    const showField = (field: string, v: bigint) => (field === "window" ? formatDuration(v) : show(v));
    const change = assetLimitChange(have, want);
    const description = change.added
      ? `${label}: ${limit.asset.symbol} limit: auto ${show(want.autoPerTx)} per tx, ${show(want.autoPerWindow)} per ${formatDuration(want.window)}, hard cap ${show(want.escalatedPerTx)}`
      : `${label}: ${limit.asset.symbol} ${change.fields.map((c) => `${c.field} ${showField(c.field, c.before)} -> ${showField(c.field, c.after)}`).join(", ")}`;
    items.push({
      kind: "setAssetLimit",
      description,
      loosens: change.loosens,
      call: setLimit(limit.asset.address, want),
      agent: agent.address,
    });
  }
  const fileAssets = new Set(agent.limits.map((l) => lower(l.asset.address)));
  for (const [assetKey] of chainLimits) {
    if (fileAssets.has(assetKey)) continue;
    const asset = await d.asset(assetKey);
    items.push({
      kind: "setAssetLimit",
      description: `${label}: remove ${asset.symbol} limit (the agent can no longer spend ${asset.symbol})`,
      loosens: false,
      call: setLimit(asset.address, NO_LIMIT),
      agent: agent.address,
    });
  }
  return items;
}

function callItems(agent: ResolvedAgent, chain: AgentChainState | undefined, d: Diff): PlanItem[] {
  const items: PlanItem[] = [];
  const chainCalls = chain?.calls ?? new Map<string, { target: string; selector: string }>();
  const setCall = (target: string, selector: string, allowed: boolean) =>
    d.call(d.m.encodeFunctionData("setAllowedCall", [agent.address, target, selector, allowed]));
  const fileCalls = new Set<string>();
  for (const c of agent.allowedCalls) {
    const ck = `${lower(c.target)}:${lower(c.selector)}`;
    fileCalls.add(ck);
    // v3: the call's conditions first, so it is never allowed without them.
    const conditions = conditionItem(d.m, d.module, agent, c, chain?.conditions.get(ck) ?? []);
    if (conditions) items.push(conditions);
    if (chainCalls.has(ck)) continue;
    items.push({
      kind: "setAllowedCall",
      description: `${agent.name}: allow ${c.signature} on ${c.targetLabel}${c.targetLabel.startsWith("0x") ? "" : ` (${c.target})`}`,
      loosens: true,
      call: setCall(c.target, c.selector, true),
      agent: agent.address,
    });
  }
  for (const [ck, c] of chainCalls) {
    if (fileCalls.has(ck)) continue;
    const fn = d.selectorNames.get(c.selector) ?? `selector ${c.selector}`;
    const token = d.known[lower(c.target)];
    const on = token ? `${token.symbol} (${c.target})` : c.target;
    items.push({
      kind: "setAllowedCall",
      description: `${agent.name}: forbid ${fn} on ${on}`,
      loosens: false,
      call: setCall(c.target, c.selector, false),
      agent: agent.address,
    });
  }
  return items;
}

function recipientItems(agent: ResolvedAgent, chain: AgentChainState | undefined, d: Diff): PlanItem[] {
  const chainRecipients = chain?.recipients ?? new Map<string, string>();
  const fileRecipients = new Set(agent.recipients.map(lower));
  const set = (r: string, allowed: boolean): PlanItem => ({
    kind: "setRecipient",
    description: `${agent.name}: ${allowed ? "add" : "remove"} recipient ${r}`,
    loosens: allowed,
    call: d.call(d.m.encodeFunctionData("setRecipient", [agent.address, r, allowed])),
    agent: agent.address,
  });
  return [
    ...agent.recipients.filter((r) => !chainRecipients.has(lower(r))).map((r) => set(r, true)),
    ...[...chainRecipients].filter(([rk]) => !fileRecipients.has(rk)).map(([, r]) => set(r, false)),
  ];
}

/** Active agents on-chain that the file does not list. */
function removedAgentItems(resolved: ResolvedPolicy, state: ChainState, d: Diff): PlanItem[] {
  const fileAgents = new Set(resolved.agents.map((a) => lower(a.address)));
  return [...state.agents]
    .filter(([key, chain]) => chain.active && !fileAgents.has(key))
    .map(([, chain]) => ({
      kind: "removeAgent" as const,
      description: `remove agent ${chain.address} (not in the policy file)`,
      loosens: false,
      call: d.call(d.m.encodeFunctionData("removeAgent", [chain.address])),
      agent: chain.address,
    }));
}

async function treasuryLimitItems(resolved: ResolvedPolicy, state: ChainState, d: Diff): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
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
      call: d.call(d.m.encodeFunctionData("setTreasuryLimit", [t.asset.address, t.perWindow, t.window])),
    });
  }
  for (const [key, have] of state.treasuryLimits) {
    if (fileTreasury.has(key)) continue;
    const asset = await d.asset(key);
    items.push({
      kind: "setTreasuryLimit",
      description: `remove the treasury limit on ${asset.symbol} (was ${showAmount(have.perWindow, asset)} per ${formatDuration(have.window)})`,
      loosens: treasuryLimitLoosens(have, undefined),
      call: d.call(d.m.encodeFunctionData("setTreasuryLimit", [have.asset, 0n, 0])),
    });
  }
  return items;
}
