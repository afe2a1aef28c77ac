/**
 * How the agent client learns an intent's outcome from the chain and writes it to the journal: the shared state
 * of the client's parts ({@link ClientCore}), the result of a request, and the answers for a request that was
 * already decided (by this client, a lost journal or another process), confirmed against the chain.
 */
import { Provider, Signer, TransactionReceipt, ZeroHash } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { InvalidRequestError } from "./errors";
import { ReceiptOutcome, outcomeOf } from "./chain";
import { Journal, JournalRecord, OutcomeEntry, SignedEntry, JOURNAL_VERSION } from "./journal";
import { RetryOptions, withRetry } from "./retry";
import type { DenyReasonName, IntentResult, IntentStatusName, Stage } from "./types";

/** What the client's parts share: the connections, who the agent is, the journal and the settings. */
export interface ClientCore {
  /** The module, connected to the relayer. */
  module: IAgentTreasuryModule;
  agent: string;
  chainId: bigint;
  moduleAddress: string;
  journal: Journal;
  provider: Provider;
  /** Signs intents. */
  signer: Signer;
  /** Sends the transactions and pays gas. */
  relayer: Signer;
  retry: Partial<RetryOptions>;
  /** Seconds each signature stays valid. */
  validFor: bigint;
  /** Events of intents are searched from this block. */
  fromBlock: number;
  pollIntervalMs: number;
  receiptTimeoutMs?: number;
  onStage?: (stage: Stage, intentId: string) => void | Promise<void>;
  log: (line: string) => void;
}

/** What a result adds to the signed entry and its status. */
export interface ResultExtra {
  reason?: DenyReasonName;
  eta?: number;
  txHash?: string;
  blockNumber?: number;
  replay: boolean;
  frozen?: boolean;
}

/** The chain's time now (the latest block's timestamp). */
export async function chainTime(core: ClientCore): Promise<bigint> {
  const block = await withRetry("read the latest block", () => core.provider.getBlock("latest"), core.retry);
  if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
  return BigInt(block.timestamp);
}

/** A request's result: its status and what the chain said about it. */
export function result(
  core: ClientCore,
  intentId: string,
  s: SignedEntry,
  status: IntentStatusName,
  extra: ResultExtra,
): IntentResult {
  const r: IntentResult = {
    intentId,
    status,
    replay: extra.replay,
    agent: core.agent,
    idempotencyKey: s.intent.idempotencyKey,
    nonce: BigInt(s.intent.nonce),
  };
  if (status === "Denied" && extra.reason) r.reason = extra.reason;
  if (
    extra.eta !== undefined &&
    (status === "Queued" || status === "Executed" || status === "Expired" || status === "Cancelled")
  )
    r.eta = extra.eta;
  if (extra.txHash) r.txHash = extra.txHash;
  if (extra.blockNumber !== undefined) r.blockNumber = extra.blockNumber;
  if (extra.frozen) r.frozen = true;
  return r;
}

/** The intent that the chain bound an idempotency key to (ZeroHash when the key is unbound). */
export async function boundIntent(core: ClientCore, key: string): Promise<string> {
  const bound = await withRetry(
    "read the idempotency record",
    () => core.module.idempotencyRecord(core.agent, key),
    core.retry,
  );
  return bound.intentId;
}

/** Journals the outcome of `s` as decided on chain by `decidedBy` (s itself, or the original of its key). */
export async function settleFromChain(
  core: ClientCore,
  s: SignedEntry,
  decidedBy: string,
  txHash: string | undefined,
): Promise<IntentResult> {
  const replay = decidedBy.toLowerCase() !== s.intentId.toLowerCase();
  // The original of a replay may be older than this entry; our own intent's events cannot be.
  const chain = await outcomeOf(core.module, decidedBy, replay ? core.fromBlock : s.signedAtBlock, core.retry);
  const entryTx = replay ? txHash : (chain.txHash ?? txHash);
  await journalOutcome(core, s, { ...chain, txHash: entryTx, ...(replay ? { replayOf: decidedBy } : {}) });
  return result(core, decidedBy, s, chain.status, {
    reason: chain.reason,
    eta: chain.eta,
    txHash: chain.txHash ?? txHash,
    blockNumber: chain.blockNumber,
    replay,
  });
}

/** The receipt of our own transaction holds `s`'s event (not a replay): journals and returns that outcome. */
export async function settleFromReceipt(
  core: ClientCore,
  s: SignedEntry,
  out: Omit<ReceiptOutcome, "intentId" | "replay">,
  receipt: TransactionReceipt,
): Promise<IntentResult> {
  const landed = { reason: out.reason, eta: out.eta, txHash: receipt.hash, blockNumber: receipt.blockNumber };
  await journalOutcome(core, s, { status: out.status, ...landed });
  return result(core, s.intentId, s, out.status, { ...landed, replay: false, frozen: out.frozen });
}

/** The receipt is silent about `s`, or shows a replay: the intent its key is bound to on chain decides. */
export async function settleByKey(core: ClientCore, s: SignedEntry, txHash: string): Promise<IntentResult> {
  const bound = await core.module.idempotencyRecord(core.agent, s.intent.idempotencyKey);
  return settleFromChain(core, s, bound.intentId === ZeroHash ? s.intentId : bound.intentId, txHash);
}

/** What an outcome entry of the journal says: the status, and what the chain or the receipt adds. */
type OutcomeFields = Omit<OutcomeEntry, "t" | "v" | "at" | "intentId">;

/** Appends `s`'s outcome to the journal and reports the stage "settled". */
async function journalOutcome(core: ClientCore, s: SignedEntry, o: OutcomeFields): Promise<void> {
  core.journal.append({
    t: "outcome",
    v: JOURNAL_VERSION,
    at: new Date().toISOString(),
    intentId: s.intentId,
    status: o.status,
    ...(o.reason ? { reason: o.reason } : {}),
    ...(o.txHash ? { txHash: o.txHash } : {}),
    ...(o.eta !== undefined ? { eta: o.eta } : {}),
    ...(o.blockNumber !== undefined ? { blockNumber: o.blockNumber } : {}),
    ...(o.replayOf ? { replayOf: o.replayOf } : {}),
  });
  await core.onStage?.("settled", s.intentId);
}

/** Whether an unfinished intent (or another with its key) reached the chain; if so journals and returns it. */
export async function landedOutcome(core: ClientCore, record: JournalRecord): Promise<IntentResult | undefined> {
  const s = record.signed;
  const bound = await boundIntent(core, s.intent.idempotencyKey);
  if (bound === ZeroHash) return undefined;
  return settleFromChain(core, s, bound, undefined);
}

/** The key is bound on chain but not in this journal (lost journal, other process): report the original. */
export async function chainReplay(core: ClientCore, original: string, key: string): Promise<IntentResult> {
  const chain = await outcomeOf(core.module, original, core.fromBlock, core.retry);
  const r: IntentResult = {
    intentId: original,
    status: chain.status,
    replay: true,
    agent: core.agent,
    idempotencyKey: key,
    nonce: 0n,
  };
  if (chain.queuedIntent) r.nonce = chain.queuedIntent.nonce;
  if (chain.reason && chain.status === "Denied") r.reason = chain.reason;
  if (chain.eta !== undefined) r.eta = chain.eta;
  if (chain.txHash) r.txHash = chain.txHash;
  if (chain.blockNumber !== undefined) r.blockNumber = chain.blockNumber;
  return r;
}

/**
 * A request already settled in the journal, as the chain confirms it: its current state, marked as a replay.
 * Returns undefined when the chain has no record of the key (the journal's outcome happened on a chain that is
 * gone); the entry is then reopened in the journal, for the caller to drive again.
 */
export async function confirmedReplay(core: ClientCore, record: JournalRecord): Promise<IntentResult | undefined> {
  const o = record.outcome!;
  const s = record.signed;
  const decidedBy = o.replayOf ?? s.intentId;
  const bound = await boundIntent(core, s.intent.idempotencyKey);
  if (bound === ZeroHash) {
    const why =
      `chain ${core.chainId} has no record of idempotency key ${s.intent.idempotencyKey}, which the journal settled as ` +
      `${o.status}${o.txHash ? ` in tx ${o.txHash}` : ""}${o.blockNumber !== undefined ? ` at block ${o.blockNumber}` : ""}`;
    core.journal.append({ t: "reopened", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: s.intentId, why });
    core.log(
      `agent client: ${why}: that outcome is not on this chain (reorganisation or node restart); sending intent ${s.intentId} again under the same key`,
    );
    return undefined;
  }
  if (bound.toLowerCase() !== decidedBy.toLowerCase()) {
    // The chain bound the key to another intent than the journal says: the chain decides, and the journal follows.
    return { ...(await settleFromChain(core, s, bound, undefined)), replay: true };
  }
  const chain = await outcomeOf(core.module, decidedBy, s.signedAtBlock, core.retry);
  return result(core, decidedBy, s, chain.status, {
    reason: chain.reason ?? o.reason,
    eta: chain.eta ?? o.eta,
    txHash: chain.txHash ?? o.txHash,
    blockNumber: chain.blockNumber ?? o.blockNumber,
    replay: true,
  });
}
