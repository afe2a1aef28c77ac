/**
 * The module's enums and structs in TypeScript, one definition each; every other file imports them from here.
 *
 * - Struct fields come from typechain's `IAgentTreasuryTypes` structs: a field added in Solidity appears in these
 *   types after `npx hardhat compile`, and the type check fails wherever a value is built without it (the field
 *   lists below must name every field, or they do not compile).
 * - Enum members are one table each, by name, index = on-chain value. Typechain gives enums only as numbers, so
 *   test/unit/Shapes.spec.ts checks these tables against the compiled contract (member names and order) and the
 *   field lists against the compiled ABI: a new enum member or struct field fails that test until it is added here.
 *
 * No runtime imports: the console's page (console/app) uses this file in the browser.
 */
import type { IAgentTreasuryTypes } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";

// ---------------------------------------------------------------------------------------------- enums

/** The module's `Status` enum, by name (SPEC section 5). Index = on-chain value. */
export const STATUS_NAMES = ["None", "Executed", "Queued", "Denied", "Cancelled", "Expired"] as const;
export type IntentStatusName = (typeof STATUS_NAMES)[number];

/** The module's `DenyReason` enum, by name, in the order the checks run. Index = on-chain value. */
export const DENY_REASON_NAMES = [
  "None",
  "TargetNotAllowed",
  "ApprovalNotAllowed",
  "AssetNotAllowed",
  "AboveHardCap",
  "RecipientNotAllowed",
  "RateLimited",
  "MalformedCall",
] as const;
export type DenyReasonName = (typeof DENY_REASON_NAMES)[number];

/** The reasons an intent can actually be denied for: every `DenyReason` but `None` (value 0). */
export const [, ...DENIAL_REASONS] = DENY_REASON_NAMES;
export type DenialReasonName = (typeof DENIAL_REASONS)[number];

/** The module's `RecipientMode` enum, by its Solidity name. Index = on-chain value. */
export const RECIPIENT_MODE_NAMES = ["Any", "Allowlist", "EscalateUnknown"] as const;

/**
 * The same modes as policy files, the CLI, the monitor and the MCP server spell them (kebab case of the Solidity
 * names, same order; Shapes.spec.ts checks that the two tables agree).
 */
export const RECIPIENT_MODES = ["any", "allowlist", "escalate-unknown"] as const;
export type RecipientModeName = (typeof RECIPIENT_MODES)[number];

/** v3: the module's `Op` enum of argument conditions (SPEC section 11), by name. Index = on-chain value. */
export const CONDITION_OP_NAMES = ["EqualTo", "EqualToAvatar", "LessOrEqual", "GreaterOrEqual", "ChargeAs"] as const;
export type ConditionOpName = (typeof CONDITION_OP_NAMES)[number];

/**
 * The module's `PriceFault` enum (v3, USD caps): why a price cannot be trusted (`usdValue`, `NoTrustworthyPrice`).
 * Index = on-chain value.
 */
export const PRICE_FAULT_NAMES = [
  "None",
  "NoFeed",
  "FeedReverted",
  "MalformedAnswer",
  "NonPositivePrice",
  "IncompleteRound",
  "StalePrice",
] as const;
export type PriceFaultName = (typeof PRICE_FAULT_NAMES)[number];

function memberAt<N extends string>(names: readonly N[], value: bigint | number, enumName: string): N {
  const name = names[Number(value)];
  if (name === undefined) throw new RangeError(`unknown ${enumName} value ${value}`);
  return name;
}

export function statusName(value: bigint | number): IntentStatusName {
  return memberAt(STATUS_NAMES, value, "Status");
}

export function denyReasonName(value: bigint | number): DenyReasonName {
  return memberAt(DENY_REASON_NAMES, value, "DenyReason");
}

export function priceFaultName(value: bigint | number): PriceFaultName {
  return memberAt(PRICE_FAULT_NAMES, value, "PriceFault");
}

/** A `RecipientMode` value as policy files spell it ("any", "allowlist", "escalate-unknown"). */
export function recipientModeName(value: bigint | number): RecipientModeName {
  return memberAt(RECIPIENT_MODES, value, "RecipientMode");
}

/** The on-chain value of a recipient mode. */
export function recipientModeValue(name: RecipientModeName): number {
  return RECIPIENT_MODES.indexOf(name);
}

/** An enum table as name -> on-chain value (`{ None: 0, Executed: 1, ... }`), for tests and models. */
export function enumValues<N extends string>(names: readonly N[]): { readonly [K in N]: number } {
  return Object.fromEntries(names.map((name, value) => [name, value])) as { [K in N]: number };
}

// ---------------------------------------------------------------------------------------------- structs

type AgentConfigStruct = IAgentTreasuryTypes.AgentConfigStruct;
type AssetLimitStruct = IAgentTreasuryTypes.AssetLimitStruct;
type ConditionStruct = IAgentTreasuryTypes.ConditionStruct;
type UsdLimitStruct = IAgentTreasuryTypes.UsdLimitStruct;

/** A field of the module's `AgentConfig` (per-agent policy, SPEC section 8). */
export type AgentConfigField = keyof AgentConfigStruct;
/** A field of the module's `AssetLimit` (per-agent, per-asset limits). */
export type AssetLimitField = keyof AssetLimitStruct;

/** `AgentConfig` with its fields as `T`, and `recipientMode` as `Mode`. */
export type AgentConfigWith<T, Mode = T> = { [K in AgentConfigField]: K extends "recipientMode" ? Mode : T };
/** `AssetLimit` with its amounts as `Amount` and `window` (seconds) as `Window`. */
export type AssetLimitWith<Amount, Window = Amount> = { [K in AssetLimitField]: K extends "window" ? Window : Amount };

/** `AgentConfig` as the policy pipeline and the tests build it: durations as bigint, the recipient mode's value. */
export type AgentConfigValue = AgentConfigWith<bigint, number>;
/** The module's `agentConfig` of an address that is not an agent: every field zero (recipient mode Any). */
export const ZERO_AGENT_CONFIG: Readonly<AgentConfigValue> = {
  validUntil: 0n,
  escalationDelay: 0n,
  gracePeriod: 0n,
  maxIntentsPerWindow: 0n,
  rateWindow: 0n,
  maxStrikes: 0n,
  strikeWindow: 0n,
  recipientMode: 0,
};
/** `AgentConfig` in plain numbers (every field fits in 48 bits), as events decode into JSON-friendly state. */
export type AgentConfigNumbers = AgentConfigWith<number>;
/** `AgentConfig` in either form (a view's bigints, an event's numbers). */
export type AgentConfigLike = AgentConfigWith<bigint | number>;

/** `AssetLimit` with amounts in base units and the window in seconds. */
export type AssetLimitValue = AssetLimitWith<bigint, number>;
/** `AssetLimit` in any of the forms it travels in (amounts may be decimal strings, as in JSON state). */
export type AssetLimitLike = AssetLimitWith<bigint | number | string, bigint | number>;

/** `fields` must name every key of `T`: a key left out is a compile error that names it. */
function allFields<T>() {
  return <const L extends readonly (keyof T)[]>(
    fields: L & ([Exclude<keyof T, L[number]>] extends [never] ? unknown : { missing: Exclude<keyof T, L[number]> }),
  ): L => fields;
}

/** `AgentConfig`'s fields in their Solidity order. */
export const AGENT_CONFIG_FIELDS = allFields<AgentConfigStruct>()([
  "validUntil",
  "escalationDelay",
  "gracePeriod",
  "maxIntentsPerWindow",
  "rateWindow",
  "maxStrikes",
  "strikeWindow",
  "recipientMode",
]);

/** `AssetLimit`'s fields in their Solidity order. */
export const ASSET_LIMIT_FIELDS = allFields<AssetLimitStruct>()([
  "autoPerTx",
  "autoPerWindow",
  "window",
  "escalatedPerTx",
]);

/** v3: `Condition`'s fields in their Solidity order (an argument condition: word, op, value). */
export const CONDITION_FIELDS = allFields<ConditionStruct>()(["word", "op", "value"]);

/** `UsdLimit`'s fields in their Solidity order (v3; 8-decimal USD, the window in seconds). */
export const USD_LIMIT_FIELDS = allFields<UsdLimitStruct>()(["autoPerTx", "autoPerWindow", "window", "escalatedPerTx"]);

/** An `AgentConfig` (a view's result, an event's argument) as plain numbers. */
export function agentConfigNumbers(config: AgentConfigLike): AgentConfigNumbers {
  return Object.fromEntries(AGENT_CONFIG_FIELDS.map((field) => [field, Number(config[field])])) as AgentConfigNumbers;
}

/** An `AssetLimit` (a view's result, an event's argument) with bigint amounts and the window in seconds. */
export function assetLimitValue(limit: AssetLimitLike): AssetLimitValue {
  return {
    autoPerTx: BigInt(limit.autoPerTx),
    autoPerWindow: BigInt(limit.autoPerWindow),
    window: Number(limit.window),
    escalatedPerTx: BigInt(limit.escalatedPerTx),
  };
}
