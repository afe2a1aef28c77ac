/**
 * Why the module routes an intent the way it does: a read-only model of `IntentPolicy._evaluate`,
 * `SpendingLimits._checkSpend`, `UsdLimits._checkUsd` (v3), the recipient mode, the rate limit and the review
 * request, evaluated with the module's and the lens's views at one block (USD values come from the module's own
 * `usdValue`, so the model never prices anything itself).
 *
 * The model explains; it never decides. Callers pair it with the module's own answer (a static call of `submit`,
 * or the status a transaction produced) and show its reasons only when its status agrees with the module's
 * (`explainAgainst`), so a drift between this file and the contract shows up as "unexplained", never as a wrong
 * reason.
 */
import { BlockTag, ZeroAddress, dataLength, dataSlice, getAddress } from "ethers";
import type { AgentTreasuryLens } from "../typechain-types/contracts/AgentTreasuryLens";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import {
  DENY_REASON_NAMES,
  DenyReasonName,
  IntentStatusName,
  QueueReason,
  RecipientModeName,
  recipientModeName,
} from "./types";
import { ConditionCheck, checkConditions } from "./conditions";
import { priceFaultName } from "./usd";

export const QUEUE_REASON_TEXT: Record<QueueReason, string> = {
  "review-requested": "you asked for human review",
  "above-auto-per-tx": "the amount is above what you may pay alone in one payment (autoPerTx)",
  "above-window": "your spending window has less left than the amount",
  "treasury-limit": "the treasury-wide limit for this asset (all agents together) has less left than the amount",
  "unknown-recipient": "the recipient is not on your allowlist, and payments to unknown recipients need co-signers",
  "above-usd-per-tx":
    "its value in dollars is above what you may pay alone in one payment across all assets (USD autoPerTx)",
  "above-usd-window": "your dollar budget across all assets has less left than its value",
  "no-trustworthy-price":
    "there is no trustworthy price for the asset right now, so its value in dollars cannot be checked",
};

/** What the model says the module would do with an intent, and why. */
export interface RouteExplanation {
  status: Extract<IntentStatusName, "Executed" | "Queued" | "Denied">;
  /** Set when `status` is Denied. */
  denyReason?: DenyReasonName;
  /** Every reason that applies, when `status` is Queued. */
  queuedBecause: QueueReason[];
  /** The asset the intent spends and how much (address(0) = ETH), when it spends one. */
  spends?: { asset: string; amount: bigint };
  /** ETH sent along a token transfer (or a charged call), charged too. */
  extraEth?: bigint;
  /** v3: a call with argument conditions: each condition in words and whether this call meets it. */
  conditions?: ConditionCheck[];
  /** What the agent may still spend of `spends.asset` in the auto tier (its own window), at the block read. */
  availableAllowance?: bigint;
  /** v3, agents with a USD limit: the spend's value and what the agent may still spend in USD (8 decimals). */
  usd?: { value: bigint; availableUsdAllowance: bigint; unpriced?: { asset: string; fault: string } };
  /** Denied only: strikes in the window before this denial, the limit, and whether this one freezes the agent. */
  strikes?: { now: number; max: number; wouldFreeze: boolean };
  /** The block whose state was read. */
  blockTag: BlockTag;
}

export interface RoutePayload {
  target: string;
  value: bigint;
  data: string;
}

const TRANSFER = "0xa9059cbb";
const APPROVAL_LIKE = new Set(["0x095ea7b3", "0x39509351", "0xd505accf", "0x8fcbaf0c", "0xa22cb465", "0x23b872dd"]);

/** The deny reason of a malformed token transfer: `MalformedCall` where the module has it (SPEC v3), else `TargetNotAllowed`. */
const MALFORMED: DenyReasonName = (
  (DENY_REASON_NAMES as readonly string[]).includes("MalformedCall") ? "MalformedCall" : "TargetNotAllowed"
) as DenyReasonName;

/** What a payload does, as the module classifies it, and the target's denial if it is refused outright. */
interface Classified {
  denial?: DenyReasonName;
  /** A payment (ETH or a canonical token transfer), as opposed to another call. */
  payment: boolean;
  /** What it spends: the asset (address(0) for ETH), the amount, the recipient, and ETH sent along a transfer. */
  asset: string;
  amount: bigint;
  to: string;
  extraEth: bigint;
  /** v3: an allowed call's argument conditions, checked against its calldata. */
  conditions?: ConditionCheck[];
  /** v3: a `ChargeAs` condition makes the call spend `amount` of `asset` like a token payment. */
  charged?: boolean;
}

/** Classifies a payload: never the Safe or the module, a transfer must be canonical, other calls must be allowed. */
async function classify(
  lens: AgentTreasuryLens,
  where: { moduleAddress: string; safe: string; agent: string; blockTag: BlockTag },
  payload: RoutePayload,
): Promise<Classified> {
  const target = getAddress(payload.target);
  const out: Classified = { payment: true, asset: ZeroAddress, amount: payload.value, to: target, extraEth: 0n };
  if (target === getAddress(where.safe) || target === getAddress(where.moduleAddress))
    return { ...out, denial: "TargetNotAllowed" };
  if (dataLength(payload.data) === 0) return out;
  const selector =
    dataLength(payload.data) >= 4
      ? dataSlice(payload.data, 0, 4).toLowerCase()
      : payload.data.toLowerCase().padEnd(10, "0");
  if (selector === TRANSFER) {
    if (dataLength(payload.data) !== 68) return { ...out, denial: MALFORMED };
    const [amount, to] = [BigInt(dataSlice(payload.data, 36, 68)), getAddress(dataSlice(payload.data, 16, 36))];
    return { ...out, asset: target, amount, to, extraEth: payload.value };
  }
  const allowed = await lens.isAllowedCall(where.moduleAddress, where.agent, target, selector, {
    blockTag: where.blockTag,
  });
  if (!allowed)
    return { ...out, payment: false, denial: APPROVAL_LIKE.has(selector) ? "ApprovalNotAllowed" : "TargetNotAllowed" };
  return withConditions(lens, where, { ...out, payment: false }, target, selector, payload);
}

/**
 * v3: an allowed call with argument conditions (`CallConditions`): denied `TargetNotAllowed` unless its calldata meets
 * them all; a `ChargeAs` condition makes it spend the charged argument like a token payment, with its ETH value
 * beside it (as a token transfer that sends ETH).
 */
async function withConditions(
  lens: AgentTreasuryLens,
  where: { moduleAddress: string; safe: string; agent: string; blockTag: BlockTag },
  call: Classified,
  target: string,
  selector: string,
  payload: RoutePayload,
): Promise<Classified> {
  const raw = await lens.callConditions(where.moduleAddress, where.agent, target, selector, {
    blockTag: where.blockTag,
  });
  if (raw.length === 0) return call;
  const verdict = checkConditions(
    payload.data,
    raw.map((c) => ({ word: Number(c.word), op: Number(c.op), value: String(c.value) })),
    where.safe,
  );
  const out: Classified = { ...call, conditions: verdict.checks };
  if (!verdict.met) return { ...out, denial: "TargetNotAllowed" };
  if (!verdict.charge) return out;
  return {
    ...out,
    charged: true,
    asset: getAddress(verdict.charge.asset),
    amount: verdict.charge.amount,
    extraEth: payload.value,
  };
}

/**
 * Evaluates an intent of `agent` with `payload` against the module's state at `blockTag`, as the module would
 * route it now (`forceQueue`: a review request). Rejections (pause, frozen or inactive agent, signature, nonce,
 * window, idempotency) are not modelled: the module's own static call reports those.
 */
export async function explainRoute(
  module: IAgentTreasuryModule,
  lens: AgentTreasuryLens,
  agent: string,
  payload: RoutePayload,
  forceQueue: boolean,
  blockTag: BlockTag,
): Promise<RouteExplanation> {
  const at = { blockTag };
  const moduleAddress = await module.getAddress();
  const out: RouteExplanation = { status: "Executed", queuedBecause: [], blockTag };
  const [safe, config] = await Promise.all([module.avatar(at), module.agentConfig(agent, at)]);

  // Policy reasons first, in the order of DenyReason; the rate limit after them (IntentRouter._decide).
  const action = await classify(lens, { moduleAddress, safe, agent, blockTag }, payload);
  if (action.conditions) out.conditions = action.conditions;
  const route: Routing = { module, lens, agent, moduleAddress, at, out, queued: new Set<QueueReason>() };
  let policyDenial = action.denial ?? (await checkSpends(route, action));
  if (policyDenial === undefined)
    policyDenial = await checkUsd(
      module,
      lens,
      agent,
      [
        [action.asset, action.amount],
        [ZeroAddress, action.extraEth],
      ],
      at,
      out,
      route.queued,
    );
  const recipientMode = recipientModeName(config.recipientMode);
  if (policyDenial === undefined) policyDenial = await checkRecipientAndRate(route, config, recipientMode, action);
  if (policyDenial !== undefined) return denied(route, config, policyDenial);
  if (forceQueue) route.queued.add("review-requested");
  if (route.queued.size > 0) return { ...out, status: "Queued", queuedBecause: [...route.queued] };
  return out;
}

/** What the steps of {@link explainRoute} read from and write to: the explanation and the queue reasons found. */
interface Routing {
  module: IAgentTreasuryModule;
  lens: AgentTreasuryLens;
  agent: string;
  moduleAddress: string;
  at: { blockTag: BlockTag };
  out: RouteExplanation;
  queued: Set<QueueReason>;
}

type AgentConfig = Awaited<ReturnType<IAgentTreasuryModule["agentConfig"]>>;

/**
 * `SpendingLimits._checkSpend` for what the action spends (a payment, or a charged call) and for ETH sent along it:
 * the deny reason, or undefined with the queue reasons added.
 */
async function checkSpends(route: Routing, action: Classified): Promise<DenyReasonName | undefined> {
  const { module, agent, at, out } = route;
  const { payment, asset, amount, extraEth } = action;
  let denial: DenyReasonName | undefined;
  if (payment || amount !== 0n) {
    out.spends = { asset, amount };
    denial = await checkSpend(route, asset, amount, asset);
  } else if (action.charged && (await module.assetLimit(agent, asset, at)).window === 0n) {
    // A charge of zero needs a limit for its asset too; it moves nothing, so it never queues (IntentPolicy).
    denial = "AssetNotAllowed";
  }
  if (denial === undefined && extraEth !== 0n) {
    out.extraEth = extraEth;
    denial = await checkSpend(route, ZeroAddress, extraEth, asset);
  }
  return denial;
}

/** One asset's spend against the agent's limit for it and the treasury-wide limit (`spent`: the action's asset). */
async function checkSpend(
  route: Routing,
  spendAsset: string,
  spendAmount: bigint,
  spent: string,
): Promise<DenyReasonName | undefined> {
  const { module, lens, agent, moduleAddress, at, out, queued } = route;
  const [limit, available] = await Promise.all([
    module.assetLimit(agent, spendAsset, at),
    module.availableAllowance(agent, spendAsset, at),
  ]);
  if (spendAsset === spent) out.availableAllowance = available;
  const enabled = limit.window !== 0n; // the module stores no limit as all zeros, and a limit always has a window
  if (spendAmount > limit.autoPerTx || limit.autoPerWindow === 0n) {
    if (!enabled) return "AssetNotAllowed";
    if (spendAmount > limit.escalatedPerTx) return "AboveHardCap";
    queued.add("above-auto-per-tx");
    return undefined;
  }
  if (spendAmount > available) {
    queued.add("above-window");
    return undefined;
  }
  const treasury = await lens.treasuryLimit(moduleAddress, spendAsset, at);
  if (treasury.perWindow !== 0n && treasury.spent + spendAmount > treasury.perWindow) queued.add("treasury-limit");
  return undefined;
}

/** The recipient mode (a payment to someone off the allowlist), then the rate limit. */
async function checkRecipientAndRate(
  route: Routing,
  config: AgentConfig,
  recipientMode: RecipientModeName,
  action: Classified,
): Promise<DenyReasonName | undefined> {
  const { lens, agent, moduleAddress, at } = route;
  if (action.payment && recipientMode !== "any" && !(await lens.isRecipient(moduleAddress, agent, action.to, at))) {
    if (recipientMode === "allowlist") return "RecipientNotAllowed";
    route.queued.add("unknown-recipient");
  }
  if (config.maxIntentsPerWindow !== 0n) {
    const count = await lens.rateCount(moduleAddress, agent, at);
    if (count >= config.maxIntentsPerWindow) return "RateLimited";
  }
  return undefined;
}

/** The explanation of a denial, with the agent's strikes when it has a strike limit. */
async function denied(route: Routing, config: AgentConfig, reason: DenyReasonName): Promise<RouteExplanation> {
  const explanation: RouteExplanation = { ...route.out, status: "Denied", denyReason: reason, queuedBecause: [] };
  if (config.maxStrikes !== 0n) {
    const now = Number(await route.lens.strikes(route.moduleAddress, route.agent, route.at));
    explanation.strikes = { now, max: Number(config.maxStrikes), wouldFreeze: now + 1 >= Number(config.maxStrikes) };
  }
  return explanation;
}

/**
 * `UsdLimits._checkUsd` for an agent with a USD limit (nothing otherwise): each non-zero spend valued by the module's
 * `usdValue`; AboveHardCap when the trusted part is above the USD hard cap, else the queue reasons it adds.
 */
async function checkUsd(
  module: IAgentTreasuryModule,
  lens: AgentTreasuryLens,
  agent: string,
  spends: [string, bigint][],
  at: { blockTag: BlockTag },
  out: RouteExplanation,
  queued: Set<QueueReason>,
): Promise<DenyReasonName | undefined> {
  // Nothing spent is worth nothing: no feed is read and the USD limit has nothing to say.
  if (spends.every(([, amount]) => amount === 0n)) return undefined;
  const limit = await lens.usdLimit(await module.getAddress(), agent, at);
  if (limit.window === 0n) return undefined; // no USD limit: the module reads no feed
  let value = 0n;
  let unpriced: { asset: string; fault: string } | undefined;
  for (const [asset, amount] of spends) {
    if (amount === 0n) continue;
    const [usd, fault] = await module.usdValue(asset, amount, at);
    value += usd;
    if (fault !== 0n && !unpriced) unpriced = { asset, fault: priceFaultName(fault) };
  }
  const available = await module.availableUsdAllowance(agent, at);
  out.usd = { value, availableUsdAllowance: available, ...(unpriced ? { unpriced } : {}) };
  if (unpriced || value > limit.autoPerTx || limit.autoPerWindow === 0n) {
    if (value > limit.escalatedPerTx) return "AboveHardCap";
    queued.add(unpriced ? "no-trustworthy-price" : "above-usd-per-tx");
  } else if (value > available) queued.add("above-usd-window");
  return undefined;
}

/**
 * The explanation when it agrees with the module's own status for the same intent; otherwise undefined (the
 * model and the contract differ: say nothing rather than something wrong).
 */
export function explainAgainst(explanation: RouteExplanation, status: IntentStatusName): RouteExplanation | undefined {
  return explanation.status === status ? explanation : undefined;
}

/** One sentence: why an intent was (or would be) queued. */
export function describeQueueReasons(reasons: readonly QueueReason[]): string {
  const parts = reasons.map((r) => QUEUE_REASON_TEXT[r]);
  if (parts.length <= 1) return parts[0] ?? "the module queued it for co-signers";
  return `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
}
