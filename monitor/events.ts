/**
 * The chain events the watchtower and the audit trail read, decoded into plain typed records: the module's events,
 * the Safe's module/owner events, and submissions that reverted on-chain (they leave no event, only a failed
 * transaction). Also decodes `submit` / `propose` / `executeQueued` calldata, so an `IntentExecuted` or
 * `IntentDenied` event can be paired with its whole intent (nonce lane, calldata) from the transaction input.
 */
import {
  AbiCoder,
  Interface,
  Log,
  Result,
  TransactionResponse,
  dataLength,
  dataSlice,
  decodeBytes32String,
  getAddress,
} from "ethers";
import { Intent, hashIntent } from "../sdk/eip712";
import {
  AgentConfigNumbers,
  AssetLimitValue,
  DenyReasonName,
  agentConfigNumbers,
  assetLimitValue,
  denyReasonName,
} from "../sdk/shapes";
import { toIntent } from "../sdk/chain";
import type { ConditionValue } from "../sdk/types";
import { moduleInterface } from "../sdk/bindings";

export { moduleInterface };

/** Safe events that change who or what can move the Safe's funds. Single-address events are decoded by hand so
 * that both Safe 1.4.1 (unindexed) and 1.5.0 (indexed) logs read. */
const SAFE_EVENTS = new Interface([
  "event EnabledModule(address module)",
  "event DisabledModule(address module)",
  "event AddedOwner(address owner)",
  "event RemovedOwner(address owner)",
  "event ChangedThreshold(uint256 threshold)",
  "event ChangedGuard(address guard)",
  "event ChangedModuleGuard(address moduleGuard)",
]);

/** Where an event happened. `logIndex` is -1 for a reverted transaction (it has no log). */
export interface EventPosition {
  block: number;
  blockHash: string;
  timestamp: number;
  txHash: string;
  txIndex: number;
  logIndex: number;
}

export type ModuleEventBody =
  | {
      kind: "IntentExecuted";
      intentId: string;
      agent: string;
      asset: string;
      to: string;
      amount: bigint;
      escalated: boolean;
      rationale: string;
      /** The whole intent, when the transaction input could be decoded. */
      intent?: Intent;
      via?: SubmitFunction;
      /** `executeQueued` only: the co-signers whose EIP-712 approvals the call carried (counted with on-chain ones). */
      signers?: string[];
    }
  | { kind: "IntentQueued"; intentId: string; agent: string; eta: number; intent: Intent; via?: SubmitFunction }
  | {
      kind: "IntentDenied";
      intentId: string;
      agent: string;
      reason: DenyReasonName;
      rationale: string;
      intent?: Intent;
      via?: SubmitFunction;
    }
  | { kind: "IntentApproved"; intentId: string; cosigner: string }
  | { kind: "IntentCancelled"; intentId: string; by: string }
  | { kind: "IdempotentReplay"; intentId: string; agent: string; idempotencyKey: string }
  | { kind: "AgentFrozen"; agent: string; by: string; reason: string }
  | { kind: "AgentUnfrozen"; agent: string; by: string }
  | { kind: "Paused"; by: string }
  | { kind: "Unpaused"; by: string }
  | { kind: "ModuleInitialized"; avatar: string }
  | { kind: "AgentSet"; agent: string; config: AgentConfigNumbers }
  | { kind: "AgentRemoved"; agent: string }
  | { kind: "AgentRotated"; oldKey: string; newKey: string }
  | { kind: "AssetLimitSet"; agent: string; asset: string; limit: AssetLimitValue }
  | { kind: "AllowedCallSet"; agent: string; target: string; selector: string; allowed: boolean }
  /** v3: the argument conditions of an agent's call were replaced (an empty list cleared them). */
  | { kind: "CallConditionsSet"; agent: string; target: string; selector: string; conditions: ConditionValue[] }
  | { kind: "RecipientSet"; agent: string; recipient: string; allowed: boolean }
  | { kind: "CosignersSet"; members: string[]; threshold: number }
  | { kind: "GuardianSet"; guardian: string; enabled: boolean }
  | { kind: "TreasuryLimitSet"; asset: string; perWindow: bigint; window: number }
  // The Safe's own events.
  | { kind: "SafeEnabledModule"; module: string }
  | { kind: "SafeDisabledModule"; module: string }
  | { kind: "SafeAddedOwner"; owner: string }
  | { kind: "SafeRemovedOwner"; owner: string }
  | { kind: "SafeChangedThreshold"; threshold: number; previous?: number }
  | { kind: "SafeChangedGuard"; guard: string; moduleGuard: boolean }
  // A mined transaction to the module that reverted (no log).
  | {
      kind: "SubmissionReverted";
      from: string;
      function: string;
      agent?: string;
      intentId?: string;
      idempotencyKey?: string;
      /** The module's custom error, e.g. "IdempotencyKeyConflict"; "unknown" when the revert could not be read. */
      errorName: string;
      errorArgs: Record<string, string>;
    };

export type ChainEvent = ModuleEventBody & EventPosition;
export type ChainEventKind = ChainEvent["kind"];

export type SubmitFunction = "submit" | "propose" | "executeQueued";

const lower = (a: string) => a.toLowerCase();

function bytes32Text(value: string): string {
  try {
    return decodeBytes32String(value);
  } catch {
    return value;
  }
}

/** The topics to ask `getLogs` for: every module event. */
export function moduleTopics(): string[] {
  const topics: string[] = [];
  moduleInterface().forEachEvent((e) => topics.push(e.topicHash));
  return topics;
}

export function safeTopics(): string[] {
  const topics: string[] = [];
  SAFE_EVENTS.forEachEvent((e) => topics.push(e.topicHash));
  return topics;
}

function singleAddress(log: Log): string {
  // Indexed (1.5.0): the address is topic 1; unindexed (1.4.1): it is the data.
  const word = log.topics.length > 1 ? log.topics[1] : log.data;
  return getAddress(dataSlice(word, 12, 32));
}

/** Decodes a Safe log, or undefined when it is not one of the events above. */
export function decodeSafeLog(log: Log): ModuleEventBody | undefined {
  const topic = log.topics[0];
  const ev = SAFE_EVENTS.getEvent(topic);
  if (!ev) return undefined;
  switch (ev.name) {
    case "EnabledModule":
      return { kind: "SafeEnabledModule", module: singleAddress(log) };
    case "DisabledModule":
      return { kind: "SafeDisabledModule", module: singleAddress(log) };
    case "AddedOwner":
      return { kind: "SafeAddedOwner", owner: singleAddress(log) };
    case "RemovedOwner":
      return { kind: "SafeRemovedOwner", owner: singleAddress(log) };
    case "ChangedThreshold":
      return {
        kind: "SafeChangedThreshold",
        threshold: Number(AbiCoder.defaultAbiCoder().decode(["uint256"], log.data)[0]),
      };
    case "ChangedGuard":
      return { kind: "SafeChangedGuard", guard: singleAddress(log), moduleGuard: false };
    case "ChangedModuleGuard":
      return { kind: "SafeChangedGuard", guard: singleAddress(log), moduleGuard: true };
  }
  return undefined;
}

/** Decodes a module log, or undefined when it is not the module's. */
export function decodeModuleLog(log: Log): ModuleEventBody | undefined {
  let parsed;
  try {
    parsed = moduleInterface().parseLog(log);
  } catch {
    return undefined;
  }
  if (!parsed) return undefined;
  return (
    decodeIntentEvent(parsed.name, parsed.args) ??
    decodeEmergencyEvent(parsed.name, parsed.args) ??
    decodeAgentEvent(parsed.name, parsed.args) ??
    decodeModuleConfigEvent(parsed.name, parsed.args)
  );
}

/** An intent's life: executed, queued, denied, approved, cancelled, replayed. */
function decodeIntentEvent(name: string, a: Result): ModuleEventBody | undefined {
  switch (name) {
    case "IntentExecuted":
      return {
        kind: "IntentExecuted",
        intentId: lower(a.intentId),
        agent: getAddress(a.agent),
        asset: getAddress(a.asset),
        to: getAddress(a.to),
        amount: BigInt(a.amount),
        escalated: Boolean(a.escalated),
        rationale: lower(a.rationale),
      };
    case "IntentQueued":
      return {
        kind: "IntentQueued",
        intentId: lower(a.intentId),
        agent: getAddress(a.agent),
        eta: Number(a.eta),
        intent: toIntent(a.intent),
      };
    case "IntentDenied":
      return {
        kind: "IntentDenied",
        intentId: lower(a.intentId),
        agent: getAddress(a.agent),
        reason: denyReasonName(a.reason),
        rationale: lower(a.rationale),
      };
    case "IntentApproved":
      return { kind: "IntentApproved", intentId: lower(a.intentId), cosigner: getAddress(a.cosigner) };
    case "IntentCancelled":
      return { kind: "IntentCancelled", intentId: lower(a.intentId), by: getAddress(a.by) };
    case "IdempotentReplay":
      return {
        kind: "IdempotentReplay",
        intentId: lower(a.intentId),
        agent: getAddress(a.agent),
        idempotencyKey: lower(a.idempotencyKey),
      };
  }
  return undefined;
}

/** The brakes (freezing an agent, pausing the module) and the module's initialisation. */
function decodeEmergencyEvent(name: string, a: Result): ModuleEventBody | undefined {
  switch (name) {
    case "AgentFrozen":
      return { kind: "AgentFrozen", agent: getAddress(a.agent), by: getAddress(a.by), reason: bytes32Text(a.reason) };
    case "AgentUnfrozen":
      return { kind: "AgentUnfrozen", agent: getAddress(a.agent), by: getAddress(a.by) };
    case "Paused":
      return { kind: "Paused", by: getAddress(a.by) };
    case "Unpaused":
      return { kind: "Unpaused", by: getAddress(a.by) };
    case "ModuleInitialized":
      return { kind: "ModuleInitialized", avatar: getAddress(a.avatar) };
  }
  return undefined;
}

/** An agent's policy: its configuration, key, limits, allowed calls and their conditions, recipients. */
function decodeAgentEvent(name: string, a: Result): ModuleEventBody | undefined {
  switch (name) {
    case "AgentSet":
      return { kind: "AgentSet", agent: getAddress(a.agent), config: agentConfigNumbers(a.config) };
    case "AgentRemoved":
      return { kind: "AgentRemoved", agent: getAddress(a.agent) };
    case "AgentRotated":
      return { kind: "AgentRotated", oldKey: getAddress(a.oldKey), newKey: getAddress(a.newKey) };
    case "AssetLimitSet":
      return {
        kind: "AssetLimitSet",
        agent: getAddress(a.agent),
        asset: getAddress(a.asset),
        limit: assetLimitValue(a.limit),
      };
    case "AllowedCallSet":
      return {
        kind: "AllowedCallSet",
        agent: getAddress(a.agent),
        target: getAddress(a.target),
        selector: lower(a.selector),
        allowed: Boolean(a.allowed),
      };
    case "CallConditionsSet": {
      const conditions = (a.conditions as { word: bigint; op: bigint; value: string }[]).map((c) => ({
        word: Number(c.word),
        op: Number(c.op),
        value: lower(c.value),
      }));
      return {
        kind: "CallConditionsSet",
        agent: getAddress(a.agent),
        target: getAddress(a.target),
        selector: lower(a.selector),
        conditions,
      };
    }
    case "RecipientSet":
      return {
        kind: "RecipientSet",
        agent: getAddress(a.agent),
        recipient: getAddress(a.recipient),
        allowed: Boolean(a.allowed),
      };
  }
  return undefined;
}

/** What holds for every agent: the co-signers, the guardians, the treasury-wide limits. */
function decodeModuleConfigEvent(name: string, a: Result): ModuleEventBody | undefined {
  switch (name) {
    case "CosignersSet":
      return {
        kind: "CosignersSet",
        members: (a.members as string[]).map((m) => getAddress(m)),
        threshold: Number(a.threshold),
      };
    case "GuardianSet":
      return { kind: "GuardianSet", guardian: getAddress(a.guardian), enabled: Boolean(a.enabled) };
    case "TreasuryLimitSet":
      return {
        kind: "TreasuryLimitSet",
        asset: getAddress(a.asset),
        perWindow: BigInt(a.perWindow),
        window: Number(a.window),
      };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------- calldata

export interface DecodedSubmission {
  function: SubmitFunction;
  intent: Intent;
  /** `executeQueued` only: the signers of the co-signer signatures passed with it, in call order. */
  signers?: string[];
}

const SUBMIT_FUNCTIONS: SubmitFunction[] = ["submit", "propose", "executeQueued"];
let selectors: Map<string, SubmitFunction> | undefined;
/** The submit functions by selector (built on first use, with the bindings). */
const submitSelectors = (): Map<string, SubmitFunction> =>
  (selectors ??= new Map(SUBMIT_FUNCTIONS.map((f) => [moduleInterface().getFunction(f)!.selector.toLowerCase(), f])));

/**
 * Every `submit` / `propose` / `executeQueued` call found in a transaction's input: a direct call, or one nested
 * in a relayer's batch (found by scanning for the selectors and decoding from there; candidates that do not decode
 * are skipped). Callers pair them with events by intentId.
 */
export function decodeSubmissions(input: string): DecodedSubmission[] {
  const out: DecodedSubmission[] = [];
  const hex = input.toLowerCase().replace(/^0x/, "");
  for (const [selector, fn] of submitSelectors()) {
    const needle = selector.slice(2);
    let at = hex.indexOf(needle);
    // Selectors are byte aligned: only even hex offsets are real.
    while (at !== -1) {
      if (at % 2 === 0) {
        try {
          const decoded = moduleInterface().decodeFunctionData(fn, "0x" + hex.slice(at));
          const signers =
            fn === "executeQueued"
              ? { signers: (decoded[1] as { signer: string }[]).map((s) => getAddress(s.signer)) }
              : {};
          out.push({ function: fn, intent: toIntent(decoded[0]), ...signers });
        } catch {
          // not a call at this offset
        }
      }
      at = hex.indexOf(needle, at + 1);
    }
  }
  return out;
}

/** The submission in `input` whose intent hashes to `intentId` under the module's domain, if any. */
export function findIntent(
  input: string,
  intentId: string,
  chainId: bigint,
  module: string,
): DecodedSubmission | undefined {
  for (const s of decodeSubmissions(input)) {
    if (lower(hashIntent(s.intent, chainId, module)) === lower(intentId)) return s;
  }
  return undefined;
}

/** The function of a direct call to the module (for reverted transactions). */
export function directCall(tx: Pick<TransactionResponse, "data">): { function: string; intent?: Intent } | undefined {
  if (dataLength(tx.data) < 4) return undefined;
  try {
    const parsed = moduleInterface().parseTransaction({ data: tx.data });
    if (!parsed) return undefined;
    const fn = parsed.name;
    if (fn === "submit" || fn === "propose" || fn === "executeQueued")
      return { function: fn, intent: toIntent(parsed.args[0]) };
    return { function: fn };
  } catch {
    return undefined;
  }
}

export { toIntent };
