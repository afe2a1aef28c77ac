/**
 * Many payments in one transaction: `AgentClient.payMany` and `AgentClient.dryRunMany` over the module's
 * `submitBatch` (SPEC section 4), which does what `submit` does for each intent, in order: a rejection of any intent
 * reverts the whole batch, a denial is recorded for its intent and the batch goes on.
 *
 * Each payment is what `pay` would make of it: the same checks, the same idempotency key (the caller's, or derived
 * from the request and its reason), journaled before it leaves the process and settled from the receipt. The
 * payments of a batch use consecutive nonces of one lane, signed at one block. A payment this client or the chain
 * has seen before under its key is answered as a replay and not sent again, so retrying a whole batch after a lost
 * receipt or a crash pays each payment at most once; an unfinished journal entry is superseded by the batch (its key
 * makes the two pay at most once between them). When the relayer is the agent itself, the batch goes out with empty
 * signatures (the module then checks `msg.sender` instead of recovering each signature), which is cheaper.
 *
 * Before anything is sent the whole batch runs as a static call: a payment the module would reject is found by
 * bisecting the batch and reported as an error naming it (its index and the module's typed error), and nothing is
 * sent. `dryRunMany` is that static call alone, from the agent's address: the module's own status for every row,
 * with each row's reason when the client's policy model (`./route`) agrees with it.
 */
import { BlockTag, Interface, Provider, Signer, TransactionReceipt, ZeroAddress, ZeroHash, getAddress } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { AgentTreasuryLens__factory } from "../typechain-types/factories/contracts/AgentTreasuryLens__factory";
import type { Stage } from "./types";
import { AssetBook, formatAmount, serialBroadcast, waitForReceipt } from "./chain";
import { Intent, hashIntent } from "./eip712";
import { JOURNAL_VERSION, deserializeIntent } from "./journal";
import type { Journal, SignedEntry } from "./journal";
import { InvalidRequestError, NonceMismatchError, TreasuryError, TreasuryErrorDetails, UnknownRevertError, decodeError } from "./errors";
import { RetryOptions, withRetry } from "./retry";
import { RoutePayload, explainAgainst, explainRoute } from "./route";
import type { QueueReason } from "./types";
import { AssetInfo, DenyReasonName, IntentResult, IntentStatusName, LaneRef, PayRequest, denyReasonName, statusName } from "./types";

/** More payments than this do not fit one transaction safely (EIP-7825 caps a transaction at 2^24 gas): split them. */
export const MAX_BATCH_PAYMENTS = 150;
/** Nonce races (another process on the same lane) tolerated before giving up, as for single requests. */
const MAX_RESIGNS = 3;

export interface PayManyOptions {
  /** The nonce lane of the whole batch (default 0). A request's own `lane`, when given, must name the same lane. */
  lane?: LaneRef;
  /** Seconds the signatures stay valid for submission (default: the request's, else the client's `validFor`). */
  validFor?: number;
}

/** What `payMany` did. */
export interface BatchResult {
  /** One result per request, in request order (a replay carries the original intent's id and status). */
  results: IntentResult[];
  /** The `submitBatch` transaction; absent when every request had been submitted before (all replays). */
  txHash?: string;
  blockNumber?: number;
  gasUsed?: bigint;
  /** How many intents the transaction carried: requests answered from the journal or the chain are not sent again. */
  sent: number;
}

/** What one row of `dryRunMany` would do. */
export interface BatchRowPreview {
  /** The request's index in the list given. */
  index: number;
  status: IntentStatusName;
  /** The intent the client would sign, or the original's id on a replay. */
  intentId: string;
  /** True when this payment was submitted before under its key: sending it changes nothing. */
  replay: boolean;
  /** Denied: the rule it breaks (when `explained`). */
  reason?: DenyReasonName;
  /** Queued: why it would wait for co-signers (when `explained`). */
  queuedBecause?: QueueReason[];
  /** Denied: strikes before this batch, the limit, and whether this denial alone would freeze the agent. */
  strikes?: { now: number; max: number; wouldFreeze: boolean };
  /** True when the policy model, evaluated for this row alone, agrees with the module's status for it in the batch. */
  explained: boolean;
  spends: { asset: AssetInfo; amount: bigint; formatted: string };
  idempotencyKey: string;
  /** The nonce the row would use (absent for a replay, which uses none). */
  nonce?: bigint;
}

/** What `payMany` would do now (`dryRunMany`): nothing was signed, journaled or sent. */
export interface BatchPreview {
  dryRun: true;
  agent: string;
  rows: BatchRowPreview[];
  /** What would leave the Safe now, per asset (rows that would execute). */
  totals: { asset: AssetInfo; amount: bigint; formatted: string }[];
  /** The block whose state answered. */
  blockNumber: number;
}

/** A request of a batch cannot be used; `index` says which (0-based), `args.field` and `args.value` what. */
export class BatchRequestError extends InvalidRequestError {
  readonly index: number;
  constructor(index: number, message: string, details: TreasuryErrorDetails = {}) {
    super(`Payment ${index + 1} of the batch: ${message}`, { ...details, args: { ...details.args, index } });
    this.index = index;
  }
}

/** What the batch needs from its AgentClient (see `AgentClient.batchHost`). */
export interface BatchHost {
  agent: string;
  chainId: bigint;
  moduleAddress: string;
  /** The module, connected to the relayer. */
  module: IAgentTreasuryModule;
  provider: Provider;
  relayer: Signer;
  journal: Journal;
  assets: AssetBook;
  retry: Partial<RetryOptions>;
  pollIntervalMs: number;
  receiptTimeoutMs?: number;
  lens?: string;
  /** Seconds a signature stays valid when the request does not say. */
  validFor: bigint;
  laneOf(lane: LaneRef | undefined): bigint;
  onLane<T>(lane: bigint, fn: () => Promise<T>): Promise<T>;
  checkRequest(request: PayRequest): void;
  payload(request: PayRequest): Promise<RoutePayload>;
  keyOf(payload: RoutePayload, request: PayRequest): string;
  /** The intent the client signs for a payment (review false). */
  buildIntent(payload: RoutePayload, key: string, nonce: bigint, validUntil: bigint, rationaleText: string): Intent;
  knownAnswer(payload: RoutePayload, key: string): Promise<IntentResult | undefined>;
  sign(payload: RoutePayload, key: string, request: PayRequest, lane: bigint, at: { nonce: bigint; block: { number: number; timestamp: number } }): Promise<SignedEntry>;
  closeRejected(s: SignedEntry, error: TreasuryError): void;
  stage(stage: Stage, intentId: string): Promise<void>;
  settleFromChain(s: SignedEntry, decidedBy: string, txHash: string | undefined): Promise<IntentResult>;
  result(s: SignedEntry, status: IntentStatusName, extra: { reason?: DenyReasonName; eta?: number; txHash?: string; blockNumber?: number; frozen?: boolean }): IntentResult;
}

interface Row {
  index: number;
  request: PayRequest;
  payload: RoutePayload;
  key: string;
}

/** Sends the payments of `requests` in one `submitBatch` transaction (see the file comment). */
export async function payMany(host: BatchHost, requests: readonly PayRequest[], options: PayManyOptions = {}): Promise<BatchResult> {
  const lane = laneOfBatch(host, requests, options);
  return host.onLane(lane, async () => {
    const rows = await prepareRows(host, requests, options);
    const results: (IntentResult | undefined)[] = [];
    const fresh: Row[] = [];
    for (const row of rows) {
      const known = await atRow(row.index, () => host.knownAnswer(row.payload, row.key));
      results[row.index] = known;
      if (!known) fresh.push(row);
    }
    if (fresh.length === 0) return { results: results as IntentResult[], sent: 0 };

    const signed = await signChecked(host, fresh, lane);
    const sent = await send(host, signed, fresh.map((row) => row.index));
    fresh.forEach((row, i) => (results[row.index] = sent.results[i]));
    return { results: results as IntentResult[], txHash: sent.txHash, blockNumber: sent.blockNumber, gasUsed: sent.gasUsed, sent: signed.length };
  });
}

/** What `payMany(requests)` would do now (see the file comment). */
export async function dryRunMany(host: BatchHost, requests: readonly PayRequest[], options: PayManyOptions = {}): Promise<BatchPreview> {
  const lane = laneOfBatch(host, requests, options);
  const rows = await prepareRows(host, requests, options);
  const block = await latestBlock(host);
  const blockTag = block.number;
  const reader = host.module.connect(host.provider);
  // Rows whose key is bound on chain are replays (the module answers them without a nonce); the others take
  // consecutive nonces from the lane's current one.
  const bound = await Promise.all(rows.map((row) => withRetry("read the idempotency record", () => reader.idempotencyRecord(host.agent, row.key, { blockTag }), host.retry)));
  let nonce = await withRetry("read the lane nonce", () => reader.getNonce(host.agent, lane, { blockTag }), host.retry);
  const intents: Intent[] = [];
  const nonces: (bigint | undefined)[] = [];
  for (const [i, row] of rows.entries()) {
    const replay = bound[i].intentId !== ZeroHash;
    nonces.push(replay ? undefined : nonce);
    const validUntil = BigInt(block.timestamp) + (row.request.validFor === undefined ? host.validFor : BigInt(row.request.validFor));
    intents.push(host.buildIntent(row.payload, row.key, replay ? 0n : nonce, validUntil, row.request.rationale));
    if (!replay) nonce += 1n;
  }
  const call = (count: number) =>
    reader.submitBatch.staticCall(intents.slice(0, count), intents.slice(0, count).map(() => "0x"), { from: host.agent, blockTag });
  let answer: [string[], bigint[]];
  try {
    answer = await withRetry("simulate the batch", () => call(intents.length), host.retry);
  } catch (err) {
    throw await rejection(err, call, (position) => rows[position].index, intents.length);
  }
  const [ids, statuses] = answer;
  const previews: BatchRowPreview[] = [];
  const totals = new Map<string, { asset: AssetInfo; amount: bigint }>();
  const lens = host.lens ? AgentTreasuryLens__factory.connect(host.lens, host.provider) : undefined;
  for (const [i, row] of rows.entries()) {
    const intentId = hashIntent(intents[i], host.chainId, host.moduleAddress);
    const replay = ids[i].toLowerCase() !== intentId.toLowerCase();
    const status = statusName(statuses[i]);
    const asset = await host.assets.info(assetOf(row.payload));
    const amount = amountOf(row.payload);
    const preview: BatchRowPreview = {
      index: row.index,
      status,
      intentId: replay ? ids[i] : intentId,
      replay,
      explained: false,
      spends: { asset, amount, formatted: formatAmount(amount, asset.decimals) },
      idempotencyKey: row.key,
    };
    if (nonces[i] !== undefined) preview.nonce = nonces[i];
    if (status === "Executed" && !replay) {
      const t = totals.get(asset.address) ?? { asset, amount: 0n };
      totals.set(asset.address, { asset, amount: t.amount + amount });
    }
    if (status === "Executed" || replay) preview.explained = true;
    else if (lens) {
      // The model sees the state before the batch: it agrees for rows the earlier rows did not affect.
      const model = await withRetry("read the policy", () => explainRoute(reader, lens, host.agent, row.payload, false, blockTag as BlockTag), host.retry);
      const agreed = explainAgainst(model, status);
      if (agreed) {
        preview.explained = true;
        if (agreed.denyReason) preview.reason = agreed.denyReason;
        if (agreed.queuedBecause.length > 0) preview.queuedBecause = agreed.queuedBecause;
        if (agreed.strikes) preview.strikes = agreed.strikes;
      }
    }
    previews.push(preview);
  }
  return {
    dryRun: true,
    agent: host.agent,
    rows: previews,
    totals: [...totals.values()].map((t) => ({ ...t, formatted: formatAmount(t.amount, t.asset.decimals) })),
    blockNumber: blockTag,
  };
}

// ------------------------------------------------------------------------------------------------- steps

function laneOfBatch(host: BatchHost, requests: readonly PayRequest[], options: PayManyOptions): bigint {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new InvalidRequestError("payMany needs at least one payment (an array of { asset, to, amount, rationale }).");
  }
  if (requests.length > MAX_BATCH_PAYMENTS) {
    throw new InvalidRequestError(
      `${requests.length} payments do not fit one transaction safely; send at most ${MAX_BATCH_PAYMENTS} per batch (split the list).`,
      { args: { count: requests.length, max: MAX_BATCH_PAYMENTS } },
    );
  }
  const lane = host.laneOf(options.lane);
  requests.forEach((r, i) => {
    if (r.lane !== undefined && host.laneOf(r.lane) !== lane) {
      throw new BatchRequestError(i, `lane ${String(r.lane)} differs from the batch's lane ${String(options.lane ?? 0)}: a batch uses one lane. Give the lane in the batch's options.`, {
        args: { field: "lane", value: String(r.lane) },
      });
    }
  });
  return lane;
}

/** The request checks, payloads and keys of every row; a duplicate key within the batch is refused. */
async function prepareRows(host: BatchHost, requests: readonly PayRequest[], options: PayManyOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const byKey = new Map<string, number>();
  for (const [index, original] of requests.entries()) {
    const request: PayRequest = options.validFor === undefined ? original : { ...original, validFor: options.validFor };
    const [payload, key] = await atRow(index, async () => {
      host.checkRequest(request);
      const p = await host.payload(request);
      return [p, host.keyOf(p, request)] as const;
    });
    const first = byKey.get(key);
    if (first !== undefined) {
      throw new BatchRequestError(
        index,
        `it has the same idempotency key as payment ${first + 1} (${key}), so it would pay nothing. Two payments of the same ` +
          "amount to the same recipient need different reasons or explicit idempotency keys.",
        { args: { field: "idempotencyKey", value: key, duplicateOf: first } },
      );
    }
    byKey.set(key, index);
    rows.push({ index, request, payload, key });
  }
  return rows;
}

/**
 * Signs the rows at consecutive nonces (journaled before anything is sent) and runs the batch as a static call
 * from the relayer. A nonce race re-signs them (the old entries are closed as superseded by the new ones' keys);
 * a rejection closes every entry as rejected and throws the row's error.
 */
async function signChecked(host: BatchHost, rows: Row[], lane: bigint): Promise<SignedEntry[]> {
  const selfRelayed = getAddress(await host.relayer.getAddress()) === getAddress(host.agent);
  for (let attempt = 0; ; attempt++) {
    const block = await latestBlock(host);
    const start = await withRetry("read the lane nonce", () => host.module.getNonce(host.agent, lane), host.retry);
    const signed: SignedEntry[] = [];
    for (const [i, row] of rows.entries()) signed.push(await host.sign(row.payload, row.key, row.request, lane, { nonce: start + BigInt(i), block }));
    const wire = wireOf(signed, selfRelayed);
    const call = (count: number) => host.module.submitBatch.staticCall(wire.intents.slice(0, count), wire.signatures.slice(0, count));
    try {
      await withRetry("check the batch", () => call(signed.length), host.retry);
      return signed;
    } catch (err) {
      const error = await rejection(err, call, (position) => rows[position].index, signed.length);
      const raced = error instanceof NonceMismatchError && attempt + 1 < MAX_RESIGNS;
      for (const s of signed) {
        if (raced) host.journal.append({ t: "closed", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: s.intentId, why: "superseded" });
        else host.closeRejected(s, error);
      }
      if (!raced) throw error;
    }
  }
}

/**
 * Sends the checked batch, journals it as sent, waits for the receipt and settles every intent from it.
 * `indexes[i]` is the request index of `signed[i]` (for errors naming the payment).
 */
async function send(
  host: BatchHost,
  signed: SignedEntry[],
  indexes: number[],
): Promise<{ results: IntentResult[]; txHash?: string; blockNumber?: number; gasUsed?: bigint }> {
  const selfRelayed = getAddress(await host.relayer.getAddress()) === getAddress(host.agent);
  const wire = wireOf(signed, selfRelayed);
  const firstKey = wire.intents[0].idempotencyKey;
  let txHash: string | undefined;
  await withRetry(
    `send a batch of ${signed.length} payments`,
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
  if (!txHash) {
    // Landed through an earlier attempt whose hash we never saw: settle every intent from the chain.
    return { results: await Promise.all(signed.map((s) => host.settleFromChain(s, s.intentId, undefined))) };
  }
  const hash = txHash;
  for (const s of signed) {
    host.journal.append({ t: "sent", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: s.intentId, txHash: hash });
    await host.stage("sent", s.intentId);
  }
  // On timeout the entries stay "sent": the next reconciliation (or a retry of the batch) settles them from chain.
  const receipt = await waitForReceipt(host.provider, hash, host.retry, host.pollIntervalMs, host.receiptTimeoutMs);
  if (receipt.status !== 1) {
    // Reverted on chain although the static call passed (the state changed in between): find the row and say why.
    const call = (count: number) => host.module.submitBatch.staticCall(wire.intents.slice(0, count), wire.signatures.slice(0, count));
    let error: TreasuryError = new UnknownRevertError(`Transaction ${hash} reverted; no payment of the batch was recorded. Retry the batch.`);
    try {
      await call(signed.length);
    } catch (err) {
      error = await rejection(err, call, (position) => indexes[position], signed.length);
    }
    for (const s of signed) host.closeRejected(s, error);
    throw error;
  }
  const outcomes = batchOutcomes(host, receipt, signed);
  const results: IntentResult[] = [];
  for (const [i, s] of signed.entries()) {
    const out = outcomes[i];
    if (!out || out.replay) {
      // Bound meanwhile by another process (a replay), or no event for it: the chain decides.
      const bound = await host.module.idempotencyRecord(host.agent, wire.intents[i].idempotencyKey);
      results.push(await host.settleFromChain(s, bound.intentId === ZeroHash ? s.intentId : bound.intentId, hash));
      continue;
    }
    host.journal.append({
      t: "outcome",
      v: JOURNAL_VERSION,
      at: new Date().toISOString(),
      intentId: s.intentId,
      status: out.status,
      ...(out.reason ? { reason: out.reason } : {}),
      txHash: hash,
      ...(out.eta !== undefined ? { eta: out.eta } : {}),
      blockNumber: receipt.blockNumber,
    });
    await host.stage("settled", s.intentId);
    results.push(host.result(s, out.status, { reason: out.reason, eta: out.eta, txHash: hash, blockNumber: receipt.blockNumber, frozen: out.frozen }));
  }
  return { results, txHash: hash, blockNumber: receipt.blockNumber, gasUsed: receipt.gasUsed };
}

// ------------------------------------------------------------------------------------------------- helpers

interface RowOutcome {
  status: IntentStatusName;
  reason?: DenyReasonName;
  eta?: number;
  replay: boolean;
  frozen: boolean;
}

/**
 * Each intent's outcome from the batch's receipt: its `IntentExecuted`, `IntentQueued` or `IntentDenied` (with the
 * `AgentFrozen` that a denial's strike may emit just before it), or an `IdempotentReplay` of its key.
 */
function batchOutcomes(host: BatchHost, receipt: TransactionReceipt, signed: SignedEntry[]): (RowOutcome | undefined)[] {
  const byId = new Map(signed.map((s, i) => [s.intentId.toLowerCase(), i]));
  const byKey = new Map(signed.map((s, i) => [s.intent.idempotencyKey.toLowerCase(), i]));
  const out: (RowOutcome | undefined)[] = signed.map(() => undefined);
  const iface = host.module.interface as unknown as Interface;
  let frozenPending = false;
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== host.moduleAddress.toLowerCase()) continue;
    const parsed = iface.parseLog(log);
    if (!parsed) continue;
    if (parsed.name === "AgentFrozen" && String(parsed.args.agent).toLowerCase() === host.agent.toLowerCase()) {
      frozenPending = true;
      continue;
    }
    if (parsed.name === "IdempotentReplay") {
      const i = byKey.get(String(parsed.args.idempotencyKey).toLowerCase());
      if (i !== undefined && String(parsed.args.agent).toLowerCase() === host.agent.toLowerCase()) out[i] = { status: "None", replay: true, frozen: false };
      continue;
    }
    const i = byId.get(String(parsed.args[0]).toLowerCase());
    if (i === undefined) continue;
    if (parsed.name === "IntentExecuted") out[i] = { status: "Executed", replay: false, frozen: false };
    else if (parsed.name === "IntentQueued") out[i] = { status: "Queued", eta: Number(parsed.args.eta), replay: false, frozen: false };
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
async function rejection(err: unknown, call: (count: number) => Promise<unknown>, indexOf: (position: number) => number, count: number): Promise<TreasuryError> {
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
function withIndex(error: TreasuryError, index: number): TreasuryError {
  const Kind = error.constructor as new (message: string, details?: TreasuryErrorDetails) => TreasuryError;
  const copy = new Kind(`Payment ${index + 1} of the batch: ${error.message} Nothing of the batch was sent or recorded.`, {
    errorName: error.errorName,
    args: { ...error.args, index },
    cause: error,
  });
  return copy;
}

/** Runs a step of one row; an invalid request becomes a BatchRequestError naming the row. */
async function atRow<T>(index: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof InvalidRequestError && !(err instanceof BatchRequestError)) {
      throw new BatchRequestError(index, err.message, { errorName: err.errorName, args: { ...err.args }, cause: err });
    }
    if (err instanceof TreasuryError && !(err instanceof BatchRequestError)) throw withIndex(err, index);
    throw err;
  }
}

function wireOf(signed: SignedEntry[], selfRelayed: boolean): { intents: Intent[]; signatures: string[] } {
  return { intents: signed.map((s) => deserializeIntent(s.intent)), signatures: signed.map((s) => (selfRelayed ? "0x" : s.signature)) };
}

async function latestBlock(host: BatchHost): Promise<{ number: number; timestamp: number }> {
  const block = await withRetry("read the latest block", () => host.provider.getBlock("latest"), host.retry);
  if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
  return block;
}

function assetOf(p: RoutePayload): string {
  return p.data === "0x" ? ZeroAddress : p.target;
}

function amountOf(p: RoutePayload): bigint {
  return p.data === "0x" ? p.value : BigInt("0x" + p.data.slice(74, 138));
}
