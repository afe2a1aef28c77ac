/**
 * The one answer to "does this change loosen the fence?" (more can move, sooner, or with fewer checks), shared by
 * the plan of a policy file (`core/policyDiff.ts`) and the watchtower's configuration alerts (`monitor/rules.ts`).
 * Pure functions over the module's values; callers word the descriptions.
 *
 * The rules, field by field (a change that is neither looser nor tighter by these rules counts as tightening):
 * - validUntil: removing the expiry, or moving it later, loosens.
 * - escalationDelay: shorter loosens (queued intents run sooner). gracePeriod: longer loosens (they stay runnable).
 * - maxIntentsPerWindow, maxStrikes (0 = none): removing the limit or raising it loosens; adding one does not.
 * - rateWindow, strikeWindow: shorter loosens, but only while the limit they belong to is on before and after the
 *   change (without a rate limit the rate window counts nothing; adding a limit never loosens, and removing one is
 *   already loosening through its count).
 * - recipientMode: any < escalate-unknown < allowlist; a move to a laxer mode loosens.
 * - asset limit: adding one loosens (the asset could not be spent before); removing one does not; raising
 *   autoPerTx, autoPerWindow or escalatedPerTx, or shortening the window, loosens.
 * - treasury-wide limit: adding one does not loosen; removing one, raising perWindow or shortening the window does.
 * - USD limit (v3): adding one does not loosen (one more budget to fit); removing one does; raising autoPerTx,
 *   autoPerWindow or escalatedPerTx, or shortening the window, loosens.
 * - price feed (v3): setting one where there was none, or another feed, loosens (USD-limited agents' payments in that
 *   asset could only wait for co-signers, or a new oracle is trusted); removing one does not; a longer maxAge loosens.
 */

import {
  AGENT_CONFIG_FIELDS,
  ASSET_LIMIT_FIELDS,
  AgentConfigField,
  AgentConfigLike,
  AssetLimitField,
  AssetLimitLike,
  RECIPIENT_MODES,
  RecipientModeName,
} from "../sdk/shapes";

export type { AgentConfigField, AgentConfigLike, AssetLimitField, AssetLimitLike };

/** A treasury-wide limit (`setTreasuryLimit`). */
export interface TreasuryLimitLike {
  perWindow: bigint | number | string;
  window: bigint | number;
}

/** One field that changed, before and after, and whether this change loosens the fence. */
export interface FieldChange<F extends string = string> {
  field: F;
  before: bigint;
  after: bigint;
  loosens: boolean;
}

/** How strict each recipient mode is: a move to a lower number loosens. */
export const RECIPIENT_MODE_STRICTNESS: Readonly<Record<RecipientModeName, number>> = {
  any: 0,
  "escalate-unknown": 1,
  allowlist: 2,
};

/** The strictness of a `RecipientMode` value (0 for a value the module does not define). */
function strictness(mode: bigint): number {
  const name = RECIPIENT_MODES[Number(mode)];
  return name === undefined ? 0 : RECIPIENT_MODE_STRICTNESS[name];
}

/** A count limit where 0 means "none": removing it or raising it loosens; adding one does not. */
function looserCount(before: bigint, after: bigint): boolean {
  if (before === 0n) return false;
  return after === 0n || after > before;
}

/** Whether one field's change, from `prev` to `next`, loosens the agent's configuration. */
function agentFieldLoosens(
  field: AgentConfigField,
  prev: Record<AgentConfigField, bigint>,
  next: Record<AgentConfigField, bigint>,
): boolean {
  const [a, b] = [prev[field], next[field]];
  switch (field) {
    case "validUntil":
      return b === 0n ? a !== 0n : a !== 0n && b > a;
    case "escalationDelay":
      return b < a;
    case "gracePeriod":
      return b > a;
    case "maxIntentsPerWindow":
    case "maxStrikes":
      return looserCount(a, b);
    case "rateWindow":
      return prev.maxIntentsPerWindow !== 0n && next.maxIntentsPerWindow !== 0n && b < a;
    case "strikeWindow":
      return prev.maxStrikes !== 0n && next.maxStrikes !== 0n && b < a;
    case "recipientMode":
      return strictness(b) < strictness(a);
  }
}

const asBig = <K extends string>(o: Record<K, bigint | number | string>, fields: readonly K[]) =>
  Object.fromEntries(fields.map((f) => [f, BigInt(o[f])])) as Record<K, bigint>;

/** Every field of an agent's configuration that differs, in the module's field order. */
export function agentConfigChanges(prev: AgentConfigLike, next: AgentConfigLike): FieldChange<AgentConfigField>[] {
  const a = asBig(prev, AGENT_CONFIG_FIELDS);
  const b = asBig(next, AGENT_CONFIG_FIELDS);
  return AGENT_CONFIG_FIELDS.filter((f) => a[f] !== b[f]).map((f) => ({
    field: f,
    before: a[f],
    after: b[f],
    loosens: agentFieldLoosens(f, a, b),
  }));
}

/** True for the all-zero limit, which the module reads as "no limit: the asset cannot be spent". */
export function isNoLimit(limit: AssetLimitLike | undefined): boolean {
  return limit === undefined || ASSET_LIMIT_FIELDS.every((f) => BigInt(limit[f]) === 0n);
}

/**
 * What changes when an asset limit goes from `prev` to `next` (`undefined` or all zeros = no limit).
 * `added`/`removed` say the limit appears or disappears (then `fields` is empty); otherwise each changed field.
 */
export function assetLimitChange(
  prev: AssetLimitLike | undefined,
  next: AssetLimitLike | undefined,
): { added: boolean; removed: boolean; fields: FieldChange<AssetLimitField>[]; loosens: boolean } {
  const had = !isNoLimit(prev);
  const has = !isNoLimit(next);
  if (!had && !has) return { added: false, removed: false, fields: [], loosens: false };
  if (!had) return { added: true, removed: false, fields: [], loosens: true };
  if (!has) return { added: false, removed: true, fields: [], loosens: false };
  const a = asBig(prev!, ASSET_LIMIT_FIELDS);
  const b = asBig(next!, ASSET_LIMIT_FIELDS);
  const fields = ASSET_LIMIT_FIELDS.filter((f) => a[f] !== b[f]).map((f) => ({
    field: f,
    before: a[f],
    after: b[f],
    loosens: f === "window" ? b[f] < a[f] : b[f] > a[f],
  }));
  return { added: false, removed: false, fields, loosens: fields.some((c) => c.loosens) };
}

/**
 * What changes when a USD limit goes from `prev` to `next` (`undefined` or all zeros = none), as
 * {@link assetLimitChange} reports it, with the USD rule for adding and removing (see the file header).
 */
export function usdLimitChange(
  prev: AssetLimitLike | undefined,
  next: AssetLimitLike | undefined,
): { added: boolean; removed: boolean; fields: FieldChange<AssetLimitField>[]; loosens: boolean } {
  const change = assetLimitChange(prev, next);
  if (change.added) return { ...change, loosens: false };
  if (change.removed) return { ...change, loosens: true };
  return change;
}

/** Whether a price feed change loosens (`undefined` or feed address(0) = none). */
export function priceFeedLoosens(
  prev: { feed: string; maxAge: bigint | number } | undefined,
  next: { feed: string; maxAge: bigint | number } | undefined,
): boolean {
  const none = (f?: { feed: string }) => f === undefined || /^0x0{40}$/i.test(f.feed);
  if (none(next)) return false;
  if (none(prev)) return true;
  if (prev!.feed.toLowerCase() !== next!.feed.toLowerCase()) return true;
  return BigInt(next!.maxAge) > BigInt(prev!.maxAge);
}

/** Whether a treasury-wide limit change loosens (`undefined` or perWindow 0 = no limit). */
export function treasuryLimitLoosens(
  prev: TreasuryLimitLike | undefined,
  next: TreasuryLimitLike | undefined,
): boolean {
  const had = prev !== undefined && BigInt(prev.perWindow) !== 0n;
  const has = next !== undefined && BigInt(next.perWindow) !== 0n;
  if (!had) return false;
  if (!has) return true;
  return BigInt(next!.perWindow) > BigInt(prev!.perWindow) || BigInt(next!.window) < BigInt(prev!.window);
}
