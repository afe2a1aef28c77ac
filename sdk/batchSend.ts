/**
 * The write path of a batch (`AgentClient.payMany`, sdk/batch.ts): signs the rows at consecutive nonces of one lane
 * (journaled before anything is sent, with the single request's `sign`), checks the whole batch with a static call,
 * sends one `submitBatch` transaction and settles every intent from its receipt. A payment the module would reject
 * is found by bisecting the batch and reported as an error naming it; nothing is sent then.
 */
import { Interface, TransactionReceipt, ZeroHash, getAddress } from "ethers";
import type { Intent } from "./eip712";
import { JOURNAL_VERSION, deserializeIntent } from "./journal";
import type { SignedEntry } from "./journal";
import {
  InvalidRequestError,
  NonceMismatchError,
  TreasuryError,
  TreasuryErrorDetails,
  UnknownRevertError,
  decodeError,
} from "./errors";
import { AssetBook, ReceiptOutcome, serialBroadcast, waitForReceipt } from "./chain";
import { withRetry } from "./retry";
import { LaneLocks, Payload } from "./request";
import { ClientCore, settleByKey, settleFromChain, settleFromReceipt } from "./settle";
import { closeRejected, closeSuperseded, sign } from "./drive";
import { IntentResult, PayRequest, denyReasonName } from "./types";

/** Nonce races (another process on the same lane) tolerated before giving up, as for single requests. */
const MAX_RESIGNS = 3;

/** What a batch needs of its AgentClient: the parts every request uses, the asset book, the lens and the lanes. */
export interface BatchHost extends ClientCore {
  assets: AssetBook;
  /** The AgentTreasuryLens address: lets `dryRunMany` say why. */
  lens?: string;
  /** The client's lane locks: a batch holds its lane while it runs, as a single request does. */
  lanes: LaneLocks;
}

/** One request of a batch, checked: its index in the caller's list, its payload and idempotency key. */
export interface Row {
  index: number;
  request: PayRequest;
  payload: Payload;
  key: string;
}

/** What the batch transaction did. */
export interface Sent {
  results: IntentResult[];
  txHash?: string;
  blockNumber?: number;
  gasUsed?: bigint;
}

type BatchCall = (count: number) => Promise<unknown>;

/**
 * Signs the rows at consecutive nonces (journaled before anything is sent) and runs the batch as a static call
 * from the relayer. A nonce race re-signs them (the old entries are closed as superseded by the new ones' keys);
 * a rejection closes every entry as rejected and throws the row's error.
 */
export async function signChecked(host: BatchHost, rows: Row[], lane: bigint): Promise<SignedEntry[]> {
  const selfRelayed = await isSelfRelayed(host);
  for (let attempt = 0; ; attempt++) {
    const block = await latestBlock(host);
    const start = await withRetry("read the lane nonce", () => host.module.getNonce(host.agent, lane), host.retry);
    const signed: SignedEntry[] = [];
    for (const [i, row] of rows.entries()) {
      const keySource = row.request.idempotencyKey === undefined ? "derived" : "caller";
      const { payload, key, request } = row;
      const at = { nonce: start + BigInt(i), block };
      signed.push(
        await sign(host, {
          kind: "submit",
          payload,
          key,
          keySource,
          rationaleText: request.rationale,
          lane,
          validFor: request.validFor,
          at,
        }),
      );
    }
    const call = staticBatch(host, wireOf(signed, selfRelayed));
    try {
      await withRetry("check the batch", () => call(signed.length), host.retry);
      return signed;
    } catch (err) {
      const error = await rejection(err, call, (position) => rows[position].index, signed.length);
      const raced = error instanceof NonceMismatchError && attempt + 1 < MAX_RESIGNS;
      for (const s of signed) {
        if (raced) closeSuperseded(host, s.intentId);
        else closeRejected(host, s, error);
      }
      if (!raced) throw error;
    }
  }
}

/**
 * Sends the checked batch, journals it as sent, waits for the receipt and settles every intent from it.
 * `indexes[i]` is the request index of `signed[i]` (for errors naming the payment).
 */
export async function sendBatch(host: BatchHost, signed: SignedEntry[], indexes: number[]): Promise<Sent> {
  const wire = wireOf(signed, await isSelfRelayed(host));
  const hash = await broadcastBatch(host, wire);
  if (!hash) {
    // Landed through an earlier attempt whose hash we never saw: settle every intent from the chain.
    return { results: await Promise.all(signed.map((s) => settleFromChain(host, s, s.intentId, undefined))) };
  }
  for (const s of signed) {
    host.journal.append({
      t: "sent",
      v: JOURNAL_VERSION,
      at: new Date().toISOString(),
      intentId: s.intentId,
      txHash: hash,
    });
    await host.onStage?.("sent", s.intentId);
  }
  // On timeout the entries stay "sent": the next reconciliation (or a retry of the batch) settles them from chain.
  const receipt = await waitForReceipt(host.provider, hash, host.retry, host.pollIntervalMs, host.receiptTimeoutMs);
  if (receipt.status !== 1) {
    // Reverted on chain although the static call passed (the state changed in between): find the row and say why.
    const call = staticBatch(host, wire);
    let error: TreasuryError = new UnknownRevertError(
      `Transaction ${hash} reverted; no payment of the batch was recorded. Retry the batch.`,
    );
    try {
      await call(signed.length);
    } catch (err) {
      error = await rejection(err, call, (position) => indexes[position], signed.length);
    }
    for (const s of signed) closeRejected(host, s, error);
    throw error;
  }
  const results = await settleBatch(host, receipt, signed);
  return { results, txHash: hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
}

/** Broadcasts the batch (once, even over retries); undefined when an earlier attempt already landed. */
async function broadcastBatch(host: BatchHost, wire: Wire): Promise<string | undefined> {
  const firstKey = wire.intents[0].idempotencyKey;
  let txHash: string | undefined;
  await withRetry(
    `send a batch of ${wire.intents.length} payments`,
    async (attempt) => {
      if (attempt > 0) {
        // The last attempt may have reached the node before the connection dropped; the batch is atomic, so one
        // bound key means it landed.
        const bound = await host.module.idempotencyRecord(host.agent, firstKey);
        if (bound.intentId !== ZeroHash) return;
      }
      const tx = await serialBroadcast(host.relayer, () => host.module.submitBatch(wire.intents, wire.signatures));
      txHash = tx.hash;
    },
    host.retry,
  );
  return txHash;
}

/** Journals and returns each intent's outcome from the batch's receipt (the chain decides where the receipt is silent). */
async function settleBatch(
  host: BatchHost,
  receipt: TransactionReceipt,
  signed: SignedEntry[],
): Promise<IntentResult[]> {
  const hash = receipt.hash;
  const outcomes = batchOutcomes(host, receipt, signed);
  const results: IntentResult[] = [];
  for (const [i, s] of signed.entries()) {
    const out = outcomes[i];
    // Bound meanwhile by another process (a replay), or no event for it: the chain decides.
    results.push(await (!out || out.replay ? settleByKey(host, s, hash) : settleFromReceipt(host, s, out, receipt)));
  }
  return results;
}

/** What the receipt says of one row: the single request's receipt outcome, found by the row's intent id. */
type RowOutcome = Omit<ReceiptOutcome, "intentId">;

/**
 * Each intent's outcome from the batch's receipt: its `IntentExecuted`, `IntentQueued` or `IntentDenied` (with the
 * `AgentFrozen` that a denial's strike may emit just before it), or an `IdempotentReplay` of its key.
 */
function batchOutcomes(
  host: BatchHost,
  receipt: TransactionReceipt,
  signed: SignedEntry[],
): (RowOutcome | undefined)[] {
  const byId = new Map(signed.map((s, i) => [s.intentId.toLowerCase(), i]));
  const byKey = new Map(signed.map((s, i) => [s.intent.idempotencyKey.toLowerCase(), i]));
  const out: (RowOutcome | undefined)[] = signed.map(() => undefined);
  const iface = host.module.interface as unknown as Interface;
  const ours = (agent: unknown) => String(agent).toLowerCase() === host.agent.toLowerCase();
  let frozenPending = false;
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== host.moduleAddress.toLowerCase()) continue;
    const parsed = iface.parseLog(log);
    if (!parsed) continue;
    if (parsed.name === "AgentFrozen" && ours(parsed.args.agent)) {
      frozenPending = true;
      continue;
    }
    if (parsed.name === "IdempotentReplay") {
      const i = byKey.get(String(parsed.args.idempotencyKey).toLowerCase());
      if (i !== undefined && ours(parsed.args.agent)) out[i] = { status: "None", replay: true, frozen: false };
      continue;
    }
    const i = byId.get(String(parsed.args[0]).toLowerCase());
    if (i === undefined) continue;
    if (parsed.name === "IntentExecuted") out[i] = { status: "Executed", replay: false, frozen: false };
    else if (parsed.name === "IntentQueued")
      out[i] = { status: "Queued", eta: Number(parsed.args.eta), replay: false, frozen: false };
    else if (parsed.name === "IntentDenied") {
      out[i] = { status: "Denied", reason: denyReasonName(parsed.args.reason), replay: false, frozen: frozenPending };
      frozenPending = false;
    }
  }
  return out;
}

/**
 * The error of a batch the module rejects, naming the payment: the smallest prefix that reverts ends with it (a
 * prefix that reverts stays reverting when it grows), found by bisection with static calls.
 */
export async function rejection(
  err: unknown,
  call: BatchCall,
  indexOf: (position: number) => number,
  count: number,
): Promise<TreasuryError> {
  const whole = decodeError(err);
  if (!whole) throw err;
  let low = 1;
  let high = count;
  let last: unknown = err;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    try {
      await call(mid);
      low = mid + 1;
    } catch (e) {
      if (!decodeError(e)) throw e;
      last = e;
      high = mid;
    }
  }
  if (low !== count) {
    try {
      await call(low);
    } catch (e) {
      last = e;
    }
  }
  const error = decodeError(last) ?? whole;
  return withIndex(error, indexOf(low - 1));
}

/** `error` (a typed TreasuryError) again, of the same class, with the payment's number in its message and args. */
export function withIndex(error: TreasuryError, index: number): TreasuryError {
  const Kind = error.constructor as new (message: string, details?: TreasuryErrorDetails) => TreasuryError;
  return new Kind(`Payment ${index + 1} of the batch: ${error.message} Nothing of the batch was sent or recorded.`, {
    errorName: error.errorName,
    args: { ...error.args, index },
    cause: error,
  });
}

/** The batch as `submitBatch` takes it. */
interface Wire {
  intents: Intent[];
  signatures: string[];
}

/** When the relayer is the agent itself, the batch goes out with empty signatures (the module checks the sender). */
function wireOf(signed: SignedEntry[], selfRelayed: boolean): Wire {
  return {
    intents: signed.map((s) => deserializeIntent(s.intent)),
    signatures: signed.map((s) => (selfRelayed ? "0x" : s.signature)),
  };
}

/** The first `count` rows of the batch as a static call from the relayer. */
function staticBatch(host: BatchHost, wire: Wire): BatchCall {
  return (count) => host.module.submitBatch.staticCall(wire.intents.slice(0, count), wire.signatures.slice(0, count));
}

async function isSelfRelayed(host: BatchHost): Promise<boolean> {
  return getAddress(await host.relayer.getAddress()) === getAddress(host.agent);
}

export async function latestBlock(host: ClientCore): Promise<{ number: number; timestamp: number }> {
  const block = await withRetry("read the latest block", () => host.provider.getBlock("latest"), host.retry);
  if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
  return block;
}
