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
import { ZeroAddress, ZeroHash } from "ethers";
import { Intent, hashIntent } from "./eip712";
import { InvalidRequestError, TreasuryError, TreasuryErrorDetails } from "./errors";
import { formatAmount } from "./chain";
import { withRetry } from "./retry";
import { explainAgainst, explainRoute } from "./route";
import { Payload, buildIntent, checkRequest, laneOf, payPayload, requestKey } from "./request";
import { knownAnswer } from "./drive";
import { BatchHost, Row, latestBlock, rejection, sendBatch, signChecked, withIndex } from "./batchSend";
import type { PreviewVerdict } from "./types";
import { AssetInfo, IntentResult, IntentStatusName, LaneRef, PayRequest, statusName } from "./types";
import { treasuryLens } from "./bindings";

export type { BatchHost } from "./batchSend";

/** More payments than this do not fit one transaction safely (EIP-7825 caps a transaction at 2^24 gas): split them. */
export const MAX_BATCH_PAYMENTS = 150;

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
export interface BatchRowPreview extends PreviewVerdict {
  /** The request's index in the list given. */
  index: number;
  spends: { asset: AssetInfo; amount: bigint; formatted: string };
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

/** Sends the payments of `requests` in one `submitBatch` transaction (see the file comment). */
export async function payMany(
  host: BatchHost,
  requests: readonly PayRequest[],
  options: PayManyOptions = {},
): Promise<BatchResult> {
  const lane = laneOfBatch(requests, options);
  return host.lanes.run(lane, async () => {
    const rows = await prepareRows(host, requests, options);
    const results: (IntentResult | undefined)[] = [];
    const fresh: Row[] = [];
    for (const row of rows) {
      const known = await atRow(row.index, () => knownAnswer(host, row.payload, row.key, "supersede"));
      results[row.index] = known;
      if (!known) fresh.push(row);
    }
    if (fresh.length === 0) return { results: results as IntentResult[], sent: 0 };

    const signed = await signChecked(host, fresh, lane);
    const sent = await sendBatch(
      host,
      signed,
      fresh.map((row) => row.index),
    );
    fresh.forEach((row, i) => (results[row.index] = sent.results[i]));
    return {
      results: results as IntentResult[],
      txHash: sent.txHash,
      blockNumber: sent.blockNumber,
      gasUsed: sent.gasUsed,
      sent: signed.length,
    };
  });
}

/** What `payMany(requests)` would do now (see the file comment). */
export async function dryRunMany(
  host: BatchHost,
  requests: readonly PayRequest[],
  options: PayManyOptions = {},
): Promise<BatchPreview> {
  const lane = laneOfBatch(requests, options);
  const rows = await prepareRows(host, requests, options);
  const block = await latestBlock(host);
  const { intents, nonces } = await unsignedIntents(host, rows, lane, block);
  const reader = host.module.connect(host.provider);
  const blockTag = block.number;
  const call = (count: number) =>
    reader.submitBatch.staticCall(
      intents.slice(0, count),
      intents.slice(0, count).map(() => "0x"),
      { from: host.agent, blockTag },
    );
  let answer: [string[], bigint[]];
  try {
    answer = await withRetry("simulate the batch", () => call(intents.length), host.retry);
  } catch (err) {
    throw await rejection(err, call, (position) => rows[position].index, intents.length);
  }
  const [ids, statuses] = answer;
  const previews: BatchRowPreview[] = [];
  const totals = new Map<string, { asset: AssetInfo; amount: bigint }>();
  for (const [i, row] of rows.entries()) {
    const intentId = hashIntent(intents[i], host.chainId, host.moduleAddress);
    const preview = await previewRow(
      host,
      row,
      { intentId, answeredId: ids[i], status: statusName(statuses[i]), nonce: nonces[i] },
      blockTag,
    );
    if (preview.status === "Executed" && !preview.replay) {
      const { asset, amount } = preview.spends;
      const t = totals.get(asset.address) ?? { asset, amount: 0n };
      totals.set(asset.address, { asset, amount: t.amount + amount });
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

/**
 * The intents a dry run simulates, unsigned: rows whose key is bound on chain are replays (the module answers them
 * without a nonce); the others take consecutive nonces from the lane's current one.
 */
async function unsignedIntents(
  host: BatchHost,
  rows: Row[],
  lane: bigint,
  block: { number: number; timestamp: number },
): Promise<{ intents: Intent[]; nonces: (bigint | undefined)[] }> {
  const blockTag = block.number;
  const reader = host.module.connect(host.provider);
  const readBound = (row: Row) =>
    withRetry(
      "read the idempotency record",
      () => reader.idempotencyRecord(host.agent, row.key, { blockTag }),
      host.retry,
    );
  const bound = await Promise.all(rows.map(readBound));
  let nonce = await withRetry("read the lane nonce", () => reader.getNonce(host.agent, lane, { blockTag }), host.retry);
  const intents: Intent[] = [];
  const nonces: (bigint | undefined)[] = [];
  for (const [i, row] of rows.entries()) {
    const replay = bound[i].intentId !== ZeroHash;
    nonces.push(replay ? undefined : nonce);
    const validUntil =
      BigInt(block.timestamp) + (row.request.validFor === undefined ? host.validFor : BigInt(row.request.validFor));
    const { payload, key, request } = row;
    intents.push(
      buildIntent({
        agent: host.agent,
        kind: "submit",
        payload,
        key,
        nonce: replay ? 0n : nonce,
        validUntil,
        rationaleText: request.rationale,
      }),
    );
    if (!replay) nonce += 1n;
  }
  return { intents, nonces };
}

/** The module's answer for one row of a dry run. */
interface RowAnswer {
  /** The intent the client would sign. */
  intentId: string;
  /** The id the module returned: the original's on a replay. */
  answeredId: string;
  status: IntentStatusName;
  nonce?: bigint;
}

/** One row of a dry run, with the policy model's reasons when the client knows the lens and the model agrees. */
async function previewRow(host: BatchHost, row: Row, answer: RowAnswer, blockTag: number): Promise<BatchRowPreview> {
  const replay = answer.answeredId.toLowerCase() !== answer.intentId.toLowerCase();
  const { status } = answer;
  const asset = await host.assets.info(assetOf(row.payload));
  const amount = amountOf(row.payload);
  const preview: BatchRowPreview = {
    index: row.index,
    status,
    intentId: replay ? answer.answeredId : answer.intentId,
    replay,
    explained: false,
    spends: { asset, amount, formatted: formatAmount(amount, asset.decimals) },
    idempotencyKey: row.key,
  };
  if (answer.nonce !== undefined) preview.nonce = answer.nonce;
  if (status === "Executed" || replay) {
    preview.explained = true;
    return preview;
  }
  if (!host.lens) return preview;
  // The model sees the state before the batch: it agrees for rows the earlier rows did not affect.
  const reader = host.module.connect(host.provider);
  const lens = treasuryLens(host.lens, host.provider);
  const model = await withRetry(
    "read the policy",
    () => explainRoute(reader, lens, host.agent, row.payload, false, blockTag),
    host.retry,
  );
  const agreed = explainAgainst(model, status);
  if (agreed) {
    preview.explained = true;
    if (agreed.denyReason) preview.reason = agreed.denyReason;
    if (agreed.queuedBecause.length > 0) preview.queuedBecause = agreed.queuedBecause;
    if (agreed.strikes) preview.strikes = agreed.strikes;
  }
  return preview;
}

// ------------------------------------------------------------------------------------------------- steps

function laneOfBatch(requests: readonly PayRequest[], options: PayManyOptions): bigint {
  if (!Array.isArray(requests) || requests.length === 0) {
    throw new InvalidRequestError("payMany needs at least one payment (an array of { asset, to, amount, rationale }).");
  }
  if (requests.length > MAX_BATCH_PAYMENTS) {
    throw new InvalidRequestError(
      `${requests.length} payments do not fit one transaction safely; send at most ${MAX_BATCH_PAYMENTS} per batch (split the list).`,
      { args: { count: requests.length, max: MAX_BATCH_PAYMENTS } },
    );
  }
  const lane = laneOf(options.lane);
  requests.forEach((r, i) => {
    if (r.lane !== undefined && laneOf(r.lane) !== lane) {
      throw new BatchRequestError(
        i,
        `lane ${String(r.lane)} differs from the batch's lane ${String(options.lane ?? 0)}: a batch uses one lane. Give the lane in the batch's options.`,
        {
          args: { field: "lane", value: String(r.lane) },
        },
      );
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
      checkRequest(request);
      const p = await payPayload(host.assets, request);
      return [p, requestKey(host, "submit", p, request)] as const;
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

// ------------------------------------------------------------------------------------------------- helpers

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

function assetOf(p: Payload): string {
  return p.data === "0x" ? ZeroAddress : p.target;
}

function amountOf(p: Payload): bigint {
  return p.data === "0x" ? p.value : BigInt("0x" + p.data.slice(74, 138));
}
