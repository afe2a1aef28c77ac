/**
 * A TypeScript model of AgentTreasuryModule, precise enough to predict, for every call of the invariant campaign,
 * the exact outcome: the custom error and its arguments, or the events, balance moves and state changes.
 *
 * It follows SPEC sections 4 to 8 and reproduces the implementation's documented approximations exactly:
 * - the spending window is a ring of 8 entries; spends of the same second share one entry; when full, the two
 *   oldest merge into one carrying the later timestamp (SlidingWindow.sol); an entry counts while
 *   `time + length > now` and is evicted on the next write;
 * - rate and strike counters are two buckets of width ceil(window / 2) (AgentRegistry._roll);
 * - co-signer approvals are void once the member list changes (EscalationQueue: an era per list).
 *
 * Version 3: an intent signed with `review` is queued by `submit` even within limits, and `propose` reverts
 * `IntentNotForReview` for any other; a non-canonical `transfer` is Denied `MalformedCall`; an identity with a USD
 * limit has every spend valued with its asset's feed (rounded up) and charged to its own USD window, and a price
 * that cannot be trusted queues the intent with `NoTrustworthyPrice` (UsdLimits.sol).
 *
 * The model is plain data (structured-clonable) plus pure functions, so a campaign run can start from a copy of
 * the state after setup, as the chain starts from an EVM snapshot.
 */
import { AbiCoder, ZeroAddress, ZeroHash, keccak256 } from "ethers";
import type { Intent } from "../../sdk/eip712";
import {
  DENY_REASON_NAMES,
  PRICE_FAULT_NAMES,
  RECIPIENT_MODE_NAMES,
  STATUS_NAMES,
  ZERO_AGENT_CONFIG,
  enumValues,
} from "../../sdk/shapes";
import type { AgentConfigValue, AssetLimitWith } from "../../sdk/shapes";

export const ETH = ZeroAddress;
export const MASK64 = (1n << 64n) - 1n;

/** The module's enums by name (`St.Executed === 1`), from the one table each (sdk/shapes.ts). */
export const St = enumValues(STATUS_NAMES);
export type Status = (typeof St)[keyof typeof St];
export const Deny = enumValues(DENY_REASON_NAMES);
export const Mode = enumValues(RECIPIENT_MODE_NAMES);

export const TRANSFER = "0xa9059cbb";
const APPROVAL_LIKE = new Set(["0x095ea7b3", "0x39509351", "0xd505accf", "0x8fcbaf0c", "0xa22cb465", "0x23b872dd"]);
export const WINDOW_CAPACITY = 8;

/** The model's intent is the client's: one definition of the struct the module signs (sdk/eip712.ts). */
export type IntentM = Intent;

export type ConfigM = AgentConfigValue;

export interface LimitM extends AssetLimitWith<bigint> {
  enabled: boolean;
}

export interface WindowM {
  len: bigint;
  entries: { t: bigint; amt: bigint }[];
}

export interface Counter {
  bucket: bigint;
  prev: bigint;
  cur: bigint;
}

/** A price feed as the module sees it (MockAggregator): `mode` "revert" makes every read fail. */
export interface FeedM {
  price: bigint;
  feedDecimals: number;
  assetDecimals: number;
  updatedAt: bigint;
  maxAge: bigint;
  mode: "ok" | "revert";
}

/** An identity's USD limit (8 decimals) and its USD window. */
export interface UsdLimitM {
  autoPerTx: bigint;
  autoPerWindow: bigint;
  escalatedPerTx: bigint;
  enabled: boolean;
  window: WindowM;
}

/** `PriceFault`, in the order of the interface. */
export const Fault = enumValues(PRICE_FAULT_NAMES);

export interface IdentityM {
  id: number;
  usd?: UsdLimitM;
  currentKey: string;
  status: "Active" | "Removed";
  epoch: number;
  frozen: boolean;
  cfg: ConfigM;
  lanes: Map<bigint, bigint>;
  rate: Counter;
  strike: Counter;
  limits: Map<string, LimitM>;
  windows: Map<string, WindowM>;
  recipients: Set<string>;
  calls: Set<string>;
  keys: Map<string, string>;
  keyAt: Map<number, string>;
}

export interface RecordM {
  status: Status;
  eta: bigint;
  grace: bigint;
  identity: number;
  epoch: number;
  approvals: number; // bitmap by co-signer index
  era: number;
  payload: string; // full payload hash (the chain keeps a prefix; equality is what matters)
}

export interface AutoSpend {
  identity: number;
  asset: string; // lower-case asset, or "usd" for a charge to the identity's USD window
  amount: bigint;
  t: bigint;
  treasury: boolean;
}

export interface ModelState {
  module: string;
  safe: string;
  paused: boolean;
  guardians: Set<string>;
  cosigners: string[];
  threshold: number;
  era: number;
  lastId: number;
  identities: Map<number, IdentityM>;
  keyStatus: Map<string, { identity: number; status: "Active" | "Removed" | "Retired"; lane0?: bigint }>;
  records: Map<string, RecordM>;
  treasury: Map<string, { perWindow: bigint; window: WindowM }>;
  feeds: Map<string, FeedM>; // lower(asset) -> the module's feed (v3)
  balances: Map<string, bigint>; // `${holder}|${asset}`
  escalated: Map<string, bigint>;
  autoSpends: AutoSpend[]; // history for the independent Promise 1 check
  executed: Set<string>; // intentIds that executed (auto or escalated)
  consumed: Set<string>; // `${identity}|${lane}|${seq}`
  bindings: Map<string, string>; // `${identity}|${key}` -> first intentId ever bound
}

/** An expected event: its name and the arguments the campaign compares (prefix of the event's arguments). */
export type Ev = [name: string, ...args: unknown[]];
export type Outcome = { revert: string; args: unknown[] } | { events: Ev[] };

export function lower(a: string): string {
  return a.toLowerCase();
}

// ------------------------------------------------------------------ sliding window (SlidingWindow.sol)

export function windowSpent(w: WindowM | undefined, now: bigint): bigint {
  if (!w) return 0n;
  let total = 0n;
  for (const e of w.entries) if (e.t + w.len > now) total += e.amt;
  return total;
}

export function windowRecord(w: WindowM, amount: bigint, now: bigint): void {
  if (amount === 0n) return;
  while (w.entries.length > 0 && w.entries[0].t + w.len <= now) w.entries.shift();
  // Spends of the same second share one entry (a batch): exact, they count over the same interval.
  const newest = w.entries[w.entries.length - 1];
  if (newest && newest.t === now) {
    newest.amt += amount;
    return;
  }
  if (w.entries.length === WINDOW_CAPACITY) {
    // Merge the two oldest toward the later timestamp: over-counts, never under-counts.
    w.entries[1] = { t: w.entries[1].t, amt: w.entries[1].amt + w.entries[0].amt };
    w.entries.shift();
  }
  w.entries.push({ t: now, amt: amount });
}

// ------------------------------------------------------------------ bucketed counters (AgentRegistry._roll)

export function roll(c: Counter, window: bigint, now: bigint): Counter {
  const width = (window + 1n) / 2n;
  const nowBucket = now / width;
  if (nowBucket === c.bucket) return { ...c };
  if (nowBucket === c.bucket + 1n) return { bucket: nowBucket, prev: c.cur, cur: 0n };
  return { bucket: nowBucket, prev: 0n, cur: 0n };
}

// ------------------------------------------------------------------ helpers

export function payloadHash(target: string, value: bigint, data: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(["address", "uint256", "bytes32"], [target, value, keccak256(data)]),
  );
}

export function classify(data: string): {
  kind: "eth" | "token" | "call" | "malformed";
  selector: string;
  to: string;
  amount: bigint;
} {
  if (data === "0x" || data.length === 2) return { kind: "eth", selector: "0x00000000", to: ZeroAddress, amount: 0n };
  const bytes = (data.length - 2) / 2;
  const selector = (data.slice(0, Math.min(10, data.length)) + "00000000").slice(0, 10).toLowerCase();
  if (selector === TRANSFER) {
    // v3: only the canonical encoding is a payment: 68 bytes and a recipient word with clean high bits.
    if (bytes !== 68 || BigInt("0x" + data.slice(10, 74)) >> 160n !== 0n)
      return { kind: "malformed", selector, to: ZeroAddress, amount: 0n };
    const [to, amount] = AbiCoder.defaultAbiCoder().decode(["address", "uint256"], "0x" + data.slice(10));
    return { kind: "token", selector, to: to as string, amount: amount as bigint };
  }
  return { kind: "call", selector, to: ZeroAddress, amount: 0n };
}

function popcount(bits: number): number {
  let n = 0;
  for (let b = bits; b !== 0; b &= b - 1) n++;
  return n;
}

export function statusOf(s: ModelState, r: RecordM | undefined, now: bigint): Status {
  if (!r) return St.None;
  if (r.status !== St.Queued) return r.status;
  if (s.identities.get(r.identity)!.epoch !== r.epoch) return St.Cancelled;
  if (now >= r.eta + r.grace) return St.Expired;
  return St.Queued;
}

export function validApprovals(s: ModelState, r: RecordM): number {
  return r.era === s.era ? r.approvals : 0;
}

export function identityOfKey(s: ModelState, key: string): IdentityM | undefined {
  const k = s.keyStatus.get(lower(key));
  return k ? s.identities.get(k.identity) : undefined;
}

/** getNonce(agent, lane): lane 0 lives in the key's own record, other lanes with the identity. */
export function nonceOf(s: ModelState, key: string, lane: bigint): bigint {
  const k = s.keyStatus.get(lower(key));
  if (!k) return lane << 64n;
  const ident = s.identities.get(k.identity)!;
  const seq = lane === 0n && k.status === "Retired" ? k.lane0! : (ident.lanes.get(lane) ?? 0n);
  return (lane << 64n) | seq;
}

/** availableAllowance(agent, asset) as the module computes it. */
export function availableAllowance(s: ModelState, key: string, asset: string, now: bigint): bigint {
  const k = s.keyStatus.get(lower(key));
  if (!k || k.status !== "Active") return 0n;
  const ident = s.identities.get(k.identity)!;
  const limit = ident.limits.get(lower(asset));
  if (!limit || !limit.enabled) return 0n;
  const spent = windowSpent(ident.windows.get(lower(asset)), now);
  return spent >= limit.autoPerWindow ? 0n : limit.autoPerWindow - spent;
}

/** assetLimit(agent, asset): by the key's identity whatever its status; zeros when disabled. */
export function assetLimitOf(s: ModelState, key: string, asset: string): [bigint, bigint, bigint, bigint] {
  const ident = identityOfKey(s, key);
  const l = ident?.limits.get(lower(asset));
  if (!l || !l.enabled) return [0n, 0n, 0n, 0n];
  return [l.autoPerTx, l.autoPerWindow, ident!.windows.get(lower(asset))?.len ?? 0n, l.escalatedPerTx];
}

export function move(s: ModelState, asset: string, from: string, to: string, amount: bigint): void {
  const f = `${lower(from)}|${lower(asset)}`;
  const t = `${lower(to)}|${lower(asset)}`;
  if (s.balances.has(f)) s.balances.set(f, s.balances.get(f)! - amount);
  if (s.balances.has(t)) s.balances.set(t, s.balances.get(t)! + amount);
}

// ------------------------------------------------------------------ policy (IntentPolicy._evaluate)

interface Decision {
  reason: number;
  fitsAuto: boolean;
  asset: string;
  amount: bigint;
  to: string;
  payment: boolean;
  usd: bigint; // v3: the USD value to charge (fault None)
  fault: number; // v3: why a price could not be trusted
  unpriced: string; // v3: the asset of that price
}

// ------------------------------------------------------------------ USD caps (UsdLimits.sol, v3)

/** `usdValue(asset, amount)`: ceil(amount * answer * 10^8 / 10^(assetDecimals + feedDecimals)), or a fault. */
export function usdValue(s: ModelState, asset: string, amount: bigint, now: bigint): { usd: bigint; fault: number } {
  const f = s.feeds.get(lower(asset));
  if (!f) return { usd: 0n, fault: Fault.NoFeed };
  if (f.mode === "revert") return { usd: 0n, fault: Fault.FeedReverted };
  if (f.price <= 0n) return { usd: 0n, fault: Fault.NonPositivePrice };
  if (now - f.updatedAt > f.maxAge) return { usd: 0n, fault: Fault.StalePrice };
  const decimals = BigInt(f.assetDecimals + f.feedDecimals);
  const product = amount * f.price;
  if (decimals >= 8n) {
    const d = 10n ** (decimals - 8n);
    return { usd: (product + d - 1n) / d, fault: Fault.None };
  }
  return { usd: product * 10n ** (8n - decimals), fault: Fault.None };
}

/** `_checkUsd`: fills `d.usd`, `d.fault`, `d.unpriced`; returns [reason, fitsAuto]. */
function checkUsd(s: ModelState, u: UsdLimitM, d: Decision, extraEth: bigint, now: bigint): [number, boolean] {
  if (d.amount === 0n && extraEth === 0n) return [Deny.None, true];
  let usd = 0n;
  let fault: number = Fault.None;
  let unpriced = ETH;
  if (d.amount !== 0n) {
    const v = usdValue(s, d.asset, d.amount, now);
    usd = v.usd;
    fault = v.fault;
    if (fault !== Fault.None) unpriced = d.asset;
  }
  if (extraEth !== 0n) {
    const v = usdValue(s, ETH, extraEth, now);
    usd += v.usd;
    if (fault === Fault.None) fault = v.fault;
  }
  d.usd = usd;
  d.fault = fault;
  d.unpriced = unpriced;
  if (fault !== Fault.None || usd > u.autoPerTx || u.autoPerWindow === 0n) {
    return [usd > u.escalatedPerTx ? Deny.AboveHardCap : Deny.None, false];
  }
  return [Deny.None, windowSpent(u.window, now) + usd <= u.autoPerWindow];
}

/** availableUsdAllowance(agent). */
export function availableUsdAllowance(s: ModelState, key: string, now: bigint): bigint {
  const k = s.keyStatus.get(lower(key));
  if (!k || k.status !== "Active") return 0n;
  const u = s.identities.get(k.identity)!.usd;
  if (!u || !u.enabled) return 0n;
  const spent = windowSpent(u.window, now);
  return spent >= u.autoPerWindow ? 0n : u.autoPerWindow - spent;
}

/** setUsdLimit(agent, limit), for a consistent limit (the campaign sends no other). */
export function setUsdLimit(
  s: ModelState,
  sender: string,
  key: string,
  l: { autoPerTx: bigint; autoPerWindow: bigint; window: bigint; escalatedPerTx: bigint },
): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  const ident = activeIdentity(s, key);
  if (!ident) return { revert: "AgentUnknown", args: [key] };
  const remove = l.autoPerTx === 0n && l.autoPerWindow === 0n && l.window === 0n && l.escalatedPerTx === 0n;
  ident.usd ??= {
    autoPerTx: 0n,
    autoPerWindow: 0n,
    escalatedPerTx: 0n,
    enabled: false,
    window: { len: 0n, entries: [] },
  };
  if (!remove) ident.usd.window.len = l.window;
  Object.assign(ident.usd, {
    autoPerTx: l.autoPerTx,
    autoPerWindow: l.autoPerWindow,
    escalatedPerTx: l.escalatedPerTx,
    enabled: !remove,
  });
  return { events: [["UsdLimitSet", key]] };
}

function checkSpend(s: ModelState, ident: IdentityM, asset: string, amount: bigint, now: bigint): [number, boolean] {
  const l = ident.limits.get(lower(asset));
  const autoPerTx = l?.autoPerTx ?? 0n;
  const autoPerWindow = l?.autoPerWindow ?? 0n;
  if (amount > autoPerTx || autoPerWindow === 0n) {
    if (!l || !l.enabled) return [Deny.AssetNotAllowed, false];
    if (amount > l.escalatedPerTx) return [Deny.AboveHardCap, false];
    return [Deny.None, false];
  }
  let fits = windowSpent(ident.windows.get(lower(asset)), now) + amount <= autoPerWindow;
  const t = s.treasury.get(lower(asset));
  if (fits && t && t.perWindow !== 0n) fits = windowSpent(t.window, now) + amount <= t.perWindow;
  return [Deny.None, fits];
}

export function evaluate(s: ModelState, ident: IdentityM, intent: IntentM, now: bigint): Decision {
  const d: Decision = {
    reason: Deny.None,
    fitsAuto: false,
    asset: ETH,
    amount: intent.value,
    to: intent.target,
    payment: false,
    usd: 0n,
    fault: Fault.None,
    unpriced: ETH,
  };
  if (lower(intent.target) === lower(s.safe) || lower(intent.target) === lower(s.module)) {
    d.reason = Deny.TargetNotAllowed;
    return d;
  }
  const c = classify(intent.data);
  if (c.kind === "malformed") {
    d.reason = Deny.MalformedCall;
    return d;
  }
  d.payment = c.kind !== "call";
  let extraEth = 0n;
  if (c.kind === "token") {
    d.asset = intent.target;
    d.amount = c.amount;
    d.to = c.to;
    extraEth = intent.value;
  } else if (c.kind === "call" && !ident.calls.has(`${lower(intent.target)}|${c.selector}`)) {
    d.reason = APPROVAL_LIKE.has(c.selector) ? Deny.ApprovalNotAllowed : Deny.TargetNotAllowed;
    return d;
  }
  d.fitsAuto = true;
  if (d.payment || d.amount !== 0n) {
    const [reason, fits] = checkSpend(s, ident, d.asset, d.amount, now);
    d.reason = reason;
    d.fitsAuto = fits;
    if (reason !== Deny.None) return d;
  }
  if (extraEth !== 0n) {
    const [reason, fits] = checkSpend(s, ident, ETH, extraEth, now);
    if (reason !== Deny.None) {
      d.reason = reason;
      return d;
    }
    d.fitsAuto = d.fitsAuto && fits;
  }
  if (ident.usd?.enabled) {
    const [reason, fits] = checkUsd(s, ident.usd, d, extraEth, now);
    if (reason !== Deny.None) {
      d.reason = reason;
      return d;
    }
    d.fitsAuto = d.fitsAuto && fits;
  }
  if (d.payment && ident.cfg.recipientMode !== Mode.Any && !ident.recipients.has(lower(d.to))) {
    if (ident.cfg.recipientMode === Mode.Allowlist) d.reason = Deny.RecipientNotAllowed;
    else d.fitsAuto = false;
  }
  return d;
}

// ------------------------------------------------------------------ the agents' entry points (IntentRouter)

export interface SubmitCall {
  intent: IntentM;
  intentId: string;
  /** Whether the signature is the agent's for this chain and module (forged, foreign or malformed: false). */
  signatureValid: boolean;
  /** Empty signature: only valid when `sender` is the agent. */
  emptySignature: boolean;
  sender: string;
  /** The entry point: `propose` refuses an intent not signed for review before any other check. */
  entry: "submit" | "propose";
}

export function submit(s: ModelState, call: SubmitCall, now: bigint): Outcome {
  const { intent, intentId } = call;
  const agent = intent.agent;
  if (call.entry === "propose" && !intent.review) return { revert: "IntentNotForReview", args: [intentId] };
  if (s.paused) return { revert: "ModuleIsPaused", args: [] };
  const k = s.keyStatus.get(lower(agent));
  if (!k || k.status !== "Active") return { revert: "AgentUnknown", args: [agent] };
  const ident = s.identities.get(k.identity)!;
  if (ident.cfg.validUntil !== 0n && now >= ident.cfg.validUntil) {
    return { revert: "AgentExpired", args: [agent, ident.cfg.validUntil, now] };
  }
  if (ident.frozen) return { revert: "AgentIsFrozen", args: [agent] };
  if (intent.validUntil === 0n) return { revert: "IntentValidUntilZero", args: [agent] };
  if (now < intent.validAfter) return { revert: "IntentNotYetValid", args: [intent.validAfter, now] };
  if (now > intent.validUntil) return { revert: "IntentExpired", args: [intent.validUntil, now] };
  if (call.emptySignature) {
    if (lower(call.sender) !== lower(agent)) return { revert: "IntentSenderNotAgent", args: [call.sender, agent] };
  } else if (!call.signatureValid) {
    return { revert: "IntentSignatureInvalid", args: [agent, intentId] };
  }
  const payload = payloadHash(intent.target, intent.value, intent.data);
  if (intent.idempotencyKey !== ZeroHash) {
    const original = ident.keys.get(intent.idempotencyKey);
    if (original !== undefined) {
      if (s.records.get(original)!.payload !== payload) {
        return { revert: "IdempotencyKeyConflict", args: [agent, intent.idempotencyKey, original] };
      }
      return { events: [["IdempotentReplay", original, agent, intent.idempotencyKey]] };
    }
  }
  const lane = intent.nonce >> 64n;
  const seq = intent.nonce & MASK64;
  const expected = ident.lanes.get(lane) ?? 0n;
  if (seq !== expected) return { revert: "IntentNonceMismatch", args: [agent, (lane << 64n) | expected, intent.nonce] };

  // Accepted: from here on the state changes.
  ident.lanes.set(lane, expected + 1n);
  s.consumed.add(`${ident.id}|${lane}|${seq}`);
  const d = evaluate(s, ident, intent, now);
  if (ident.cfg.maxIntentsPerWindow !== 0n) {
    const c = roll(ident.rate, ident.cfg.rateWindow, now);
    const limited = c.prev + c.cur >= ident.cfg.maxIntentsPerWindow;
    if (c.cur < 0xffffn) c.cur += 1n;
    ident.rate = c;
    if (limited && d.reason === Deny.None) d.reason = Deny.RateLimited;
  }
  const keyed = intent.idempotencyKey !== ZeroHash;
  const record = (status: Status, eta: bigint, grace: bigint) => {
    if (status === St.Executed && !keyed) return;
    s.records.set(intentId, {
      status,
      eta,
      grace,
      identity: ident.id,
      epoch: ident.epoch,
      approvals: 0,
      era: 0,
      payload,
    });
    if (keyed) {
      ident.keys.set(intent.idempotencyKey, intentId);
      const b = `${ident.id}|${intent.idempotencyKey}`;
      if (!s.bindings.has(b)) s.bindings.set(b, intentId);
    }
  };
  if (d.reason !== Deny.None) {
    const events: Ev[] = [];
    if (ident.cfg.maxStrikes !== 0n) {
      const c = roll(ident.strike, ident.cfg.strikeWindow, now);
      c.cur += 1n;
      ident.strike = c;
      if (c.prev + c.cur >= ident.cfg.maxStrikes && !ident.frozen) {
        ident.frozen = true;
        events.push(["AgentFrozen", agent, s.module]);
      }
    }
    record(St.Denied, 0n, 0n);
    events.push(["IntentDenied", intentId, agent, d.reason, intent.rationale]);
    return { events };
  }
  // A review request is queued even within limits, whichever entry point relayed it.
  if (intent.review || !d.fitsAuto) {
    const eta = now + ident.cfg.escalationDelay;
    record(St.Queued, eta, ident.cfg.gracePeriod);
    const events: Ev[] = [["IntentQueued", intentId, agent, eta]];
    if (d.fault !== Fault.None) events.push(["NoTrustworthyPrice", intentId, d.unpriced, d.fault]);
    return { events };
  }
  chargeAuto(s, ident, d.asset, d.amount, now);
  const cls = classify(intent.data);
  if (cls.kind === "token" && intent.value !== 0n) chargeAuto(s, ident, ETH, intent.value, now);
  if (d.usd !== 0n) {
    windowRecord(ident.usd!.window, d.usd, now);
    s.autoSpends.push({ identity: ident.id, asset: "usd", amount: d.usd, t: now, treasury: false });
  }
  record(St.Executed, 0n, 0n);
  s.executed.add(intentId);
  pay(s, intent, d);
  return { events: [["IntentExecuted", intentId, agent, d.asset, d.to, d.amount, false, intent.rationale]] };
}

function chargeAuto(s: ModelState, ident: IdentityM, asset: string, amount: bigint, now: bigint) {
  const a = lower(asset);
  if (!ident.windows.has(a)) ident.windows.set(a, { len: 0n, entries: [] });
  windowRecord(ident.windows.get(a)!, amount, now);
  const t = s.treasury.get(a);
  const treasury = !!t && t.perWindow !== 0n;
  if (treasury) windowRecord(t!.window, amount, now);
  if (amount !== 0n) s.autoSpends.push({ identity: ident.id, asset: a, amount, t: now, treasury });
}

function pay(s: ModelState, intent: IntentM, d: Decision) {
  const c = classify(intent.data);
  if (c.kind === "token") {
    move(s, intent.target, s.safe, c.to, c.amount);
    if (intent.value !== 0n) move(s, ETH, s.safe, intent.target, intent.value);
  } else {
    move(s, ETH, s.safe, intent.target, intent.value);
  }
  void d;
}

export interface ExecuteCall {
  intent: IntentM;
  intentId: string;
  /** Signatures in the order given: signer and whether the signature is that signer's approval of this intent. */
  signatures: { signer: string; valid: boolean }[];
}

export function executeQueued(s: ModelState, call: ExecuteCall, now: bigint): Outcome {
  const { intent, intentId } = call;
  if (s.paused) return { revert: "ModuleIsPaused", args: [] };
  const r = s.records.get(intentId);
  const st = statusOf(s, r, now);
  if (st !== St.Queued) return { revert: "IntentUnexpectedStatus", args: [intentId, st, 1n << BigInt(St.Queued)] };
  if (now < r!.eta) return { revert: "IntentNotReady", args: [intentId, r!.eta, now] };
  const k = s.keyStatus.get(lower(intent.agent));
  if (!k || k.status !== "Active") return { revert: "AgentUnknown", args: [intent.agent] };
  const ident = s.identities.get(k.identity)!;
  if (ident.cfg.validUntil !== 0n && now >= ident.cfg.validUntil) {
    return { revert: "AgentExpired", args: [intent.agent, ident.cfg.validUntil, now] };
  }
  if (ident.frozen) return { revert: "AgentIsFrozen", args: [intent.agent] };
  const d = evaluate(s, ident, intent, now);
  if (d.reason !== Deny.None) return { revert: "IntentPolicyViolation", args: [intentId, d.reason] };
  const required = s.threshold === 0 ? 1 : s.threshold;
  let bits = validApprovals(s, r!);
  let previous = 0n;
  for (const sig of call.signatures) {
    const signer = BigInt(sig.signer);
    if (signer <= previous) {
      return {
        revert: "CosignerSignaturesUnordered",
        args: ["0x" + previous.toString(16).padStart(40, "0"), sig.signer],
      };
    }
    previous = signer;
    const index = s.cosigners.findIndex((c) => lower(c) === lower(sig.signer));
    if (index < 0) return { revert: "CosignerUnknown", args: [sig.signer] };
    if (!sig.valid) return { revert: "CosignerSignatureInvalid", args: [sig.signer, intentId] };
    bits |= 1 << index;
  }
  const counted = popcount(bits);
  if (counted < required)
    return { revert: "ApprovalsInsufficient", args: [intentId, BigInt(counted), BigInt(required)] };
  r!.status = St.Executed;
  const e = `${ident.id}|${lower(d.asset)}`;
  s.escalated.set(e, (s.escalated.get(e) ?? 0n) + d.amount);
  s.executed.add(intentId);
  pay(s, intent, d);
  return { events: [["IntentExecuted", intentId, intent.agent, d.asset, d.to, d.amount, true, intent.rationale]] };
}

export function approve(s: ModelState, sender: string, intentId: string, now: bigint): Outcome {
  const index = s.cosigners.findIndex((c) => lower(c) === lower(sender));
  if (index < 0) return { revert: "CosignerUnknown", args: [sender] };
  const r = s.records.get(intentId);
  const st = statusOf(s, r, now);
  if (st !== St.Queued) return { revert: "IntentUnexpectedStatus", args: [intentId, st, 1n << BigInt(St.Queued)] };
  const bits = validApprovals(s, r!);
  if ((bits >> index) & 1) return { revert: "CosignerAlreadyApproved", args: [intentId, sender] };
  r!.approvals = bits | (1 << index);
  r!.era = s.era;
  return { events: [["IntentApproved", intentId, sender]] };
}

export function cancel(s: ModelState, sender: string, intentId: string, now: bigint): Outcome {
  const r = s.records.get(intentId);
  const st = statusOf(s, r, now);
  if (st !== St.Queued) return { revert: "IntentUnexpectedStatus", args: [intentId, st, 1n << BigInt(St.Queued)] };
  const ident = s.identities.get(r!.identity)!;
  const authorised =
    s.guardians.has(lower(sender)) ||
    lower(sender) === lower(s.safe) ||
    s.cosigners.some((c) => lower(c) === lower(sender)) ||
    lower(sender) === lower(ident.keyAt.get(r!.epoch) ?? ZeroAddress);
  if (!authorised) return { revert: "CancelNotAuthorized", args: [intentId, sender] };
  r!.status = St.Cancelled;
  return { events: [["IntentCancelled", intentId, sender]] };
}

// ------------------------------------------------------------------ emergency controls and configuration

export function pause(s: ModelState, sender: string): Outcome {
  if (!s.guardians.has(lower(sender)) && lower(sender) !== lower(s.safe))
    return { revert: "ModuleCallerNotGuardian", args: [sender] };
  if (s.paused) return { revert: "ModuleIsPaused", args: [] };
  s.paused = true;
  return { events: [["Paused", sender]] };
}

function ownerOnly(s: ModelState, sender: string): Outcome | undefined {
  if (lower(sender) !== lower(s.safe)) return { revert: "ModuleCallerNotOwner", args: [sender, s.safe] };
  return undefined;
}

export function unpause(s: ModelState, sender: string): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  if (!s.paused) return { revert: "ModuleNotPaused", args: [] };
  s.paused = false;
  return { events: [["Unpaused", sender]] };
}

function activeIdentity(s: ModelState, key: string): IdentityM | undefined {
  const k = s.keyStatus.get(lower(key));
  if (!k || k.status !== "Active") return undefined;
  return s.identities.get(k.identity);
}

export function freeze(s: ModelState, sender: string, key: string): Outcome {
  if (!s.guardians.has(lower(sender)) && lower(sender) !== lower(s.safe))
    return { revert: "ModuleCallerNotGuardian", args: [sender] };
  const ident = activeIdentity(s, key);
  if (!ident) return { revert: "AgentUnknown", args: [key] };
  if (ident.frozen) return { revert: "AgentIsFrozen", args: [key] };
  ident.frozen = true;
  return { events: [["AgentFrozen", key, sender]] };
}

export function unfreeze(s: ModelState, sender: string, key: string): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  const ident = activeIdentity(s, key);
  if (!ident) return { revert: "AgentUnknown", args: [key] };
  ident.frozen = false;
  ident.strike = { bucket: 0n, prev: 0n, cur: 0n };
  return { events: [["AgentUnfrozen", key, sender]] };
}

export function setAssetLimit(
  s: ModelState,
  sender: string,
  key: string,
  asset: string,
  l: Omit<LimitM, "enabled">,
): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  const ident = activeIdentity(s, key);
  if (!ident) return { revert: "AgentUnknown", args: [key] };
  const remove = l.autoPerTx === 0n && l.autoPerWindow === 0n && l.window === 0n && l.escalatedPerTx === 0n;
  const a = lower(asset);
  if (!remove) {
    if (l.window === 0n) return { revert: "AssetLimitWindowZero", args: [key, asset] };
    if (l.autoPerTx > l.autoPerWindow)
      return { revert: "AssetLimitAutoAboveWindow", args: [key, asset, l.autoPerTx, l.autoPerWindow] };
    if (l.autoPerTx > l.escalatedPerTx)
      return { revert: "AssetLimitAutoAboveHardCap", args: [key, asset, l.autoPerTx, l.escalatedPerTx] };
    if (!ident.windows.has(a)) ident.windows.set(a, { len: 0n, entries: [] });
    ident.windows.get(a)!.len = l.window;
  }
  ident.limits.set(a, { ...l, enabled: !remove });
  return { events: [["AssetLimitSet", key, asset]] };
}

export function setTreasuryLimit(
  s: ModelState,
  sender: string,
  asset: string,
  perWindow: bigint,
  window: bigint,
): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  if ((perWindow === 0n) !== (window === 0n))
    return { revert: "TreasuryLimitInvalid", args: [asset, perWindow, window] };
  const a = lower(asset);
  if (!s.treasury.has(a)) s.treasury.set(a, { perWindow: 0n, window: { len: 0n, entries: [] } });
  const t = s.treasury.get(a)!;
  if (window !== 0n) t.window.len = window;
  t.perWindow = perWindow;
  return { events: [["TreasuryLimitSet", asset, perWindow, window]] };
}

export function setCosigners(s: ModelState, sender: string, members: string[], threshold: number): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  if (members.length > 20) return { revert: "CosignerSetTooLarge", args: [BigInt(members.length), 20n] };
  if (threshold === 0 || threshold > members.length) {
    return { revert: "CosignerThresholdInvalid", args: [BigInt(threshold), BigInt(members.length)] };
  }
  const changed = members.length !== s.cosigners.length || members.some((m, i) => lower(m) !== lower(s.cosigners[i]));
  if (changed) {
    s.era += 1;
    s.cosigners = [...members];
  }
  s.threshold = threshold;
  return { events: [["CosignersSet"]] };
}

export function setAgent(s: ModelState, sender: string, key: string, cfg: ConfigM, now: bigint): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  if (cfg.validUntil !== 0n && cfg.validUntil <= now)
    return { revert: "AgentValidUntilNotInFuture", args: [key, cfg.validUntil] };
  const k = s.keyStatus.get(lower(key));
  if (k?.status === "Retired") return { revert: "AgentKeyRetired", args: [key] };
  let ident: IdentityM;
  if (!k) {
    const id = ++s.lastId;
    ident = newIdentity(id, key);
    s.identities.set(id, ident);
  } else {
    ident = s.identities.get(k.identity)!;
  }
  if (!k || k.status !== "Active") {
    ident.epoch += 1;
    ident.keyAt.set(ident.epoch, key);
  }
  if (cfg.rateWindow !== ident.cfg.rateWindow) ident.rate = { bucket: 0n, prev: 0n, cur: 0n };
  if (cfg.strikeWindow !== ident.cfg.strikeWindow) ident.strike = { bucket: 0n, prev: 0n, cur: 0n };
  ident.cfg = { ...cfg };
  ident.status = "Active";
  s.keyStatus.set(lower(key), { identity: ident.id, status: "Active" });
  return { events: [["AgentSet", key]] };
}

export function newIdentity(id: number, key: string): IdentityM {
  return {
    id,
    currentKey: key,
    status: "Active",
    epoch: 0,
    frozen: false,
    cfg: { ...ZERO_AGENT_CONFIG },
    lanes: new Map(),
    rate: { bucket: 0n, prev: 0n, cur: 0n },
    strike: { bucket: 0n, prev: 0n, cur: 0n },
    limits: new Map(),
    windows: new Map(),
    recipients: new Set(),
    calls: new Set(),
    keys: new Map(),
    keyAt: new Map(),
  };
}

export function removeAgent(s: ModelState, sender: string, key: string): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  const ident = activeIdentity(s, key);
  if (!ident) return { revert: "AgentUnknown", args: [key] };
  ident.status = "Removed";
  ident.epoch += 1;
  s.keyStatus.set(lower(key), { identity: ident.id, status: "Removed" });
  return { events: [["AgentRemoved", key]] };
}

export function rotateAgent(s: ModelState, sender: string, oldKey: string, newKey: string): Outcome {
  const denied = ownerOnly(s, sender);
  if (denied) return denied;
  const ident = activeIdentity(s, oldKey);
  if (!ident) return { revert: "AgentUnknown", args: [oldKey] };
  if (newKey === ZeroAddress || lower(newKey) === lower(s.safe) || lower(newKey) === lower(s.module)) {
    return { revert: "AgentKeyInvalid", args: [newKey] };
  }
  if (s.keyStatus.has(lower(newKey))) return { revert: "AgentKeyAlreadyUsed", args: [newKey] };
  // The retired key keeps its own record: its lane-0 nonce reads as it was at rotation.
  s.keyStatus.set(lower(oldKey), { identity: ident.id, status: "Retired", lane0: ident.lanes.get(0n) ?? 0n });
  s.keyStatus.set(lower(newKey), { identity: ident.id, status: "Active" });
  ident.epoch += 1;
  ident.keyAt.set(ident.epoch, newKey);
  ident.currentKey = newKey;
  return { events: [["AgentRotated", oldKey, newKey]] };
}

export function setRecipient(s: ModelState, key: string, recipient: string, allowed: boolean): void {
  const ident = activeIdentity(s, key)!;
  if (allowed) ident.recipients.add(lower(recipient));
  else ident.recipients.delete(lower(recipient));
}

export function setAllowedCall(s: ModelState, key: string, target: string, selector: string, allowed: boolean): void {
  const ident = activeIdentity(s, key)!;
  const c = `${lower(target)}|${selector.toLowerCase()}`;
  if (allowed) ident.calls.add(c);
  else ident.calls.delete(c);
}

/** A deep copy (Maps, Sets and bigints included). */
export function cloneState(s: ModelState): ModelState {
  return structuredClone(s);
}
