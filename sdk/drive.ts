/**
 * The agent client's write path: signs an intent at its lane's nonce and journals it before it leaves the process,
 * then drives it to its outcome: re-signed under the same key if it can no longer land, checked with a static call
 * (reverts become typed errors before any gas is spent), sent, and settled from the receipt.
 */
import { ZeroHash } from "ethers";
import { Intent, hashIntent, payloadCommitment, signIntent, splitNonce } from "./eip712";
import {
  IdempotencyConflictError,
  InvalidRequestError,
  NonceMismatchError,
  TreasuryError,
  UnknownRevertError,
  decodeError,
} from "./errors";
import { outcomeFromReceipt, serialBroadcast, waitForReceipt } from "./chain";
import { IntentKind, SignedEntry, JOURNAL_VERSION, deserializeIntent, serializeIntent } from "./journal";
import { withRetry } from "./retry";
import { Payload, buildIntent } from "./request";
import {
  ClientCore,
  chainReplay,
  chainTime,
  confirmedReplay,
  landedOutcome,
  settleByKey,
  settleFromChain,
  settleFromReceipt,
} from "./settle";
import type { IntentResult } from "./types";

/** Seconds before `validUntil` after which the client re-signs instead of sending (block times drift). */
const DEADLINE_MARGIN = 30n;
/** Nonce races (another process on the same lane) tolerated per request before giving up. */
const MAX_RESIGNS = 3;

/** What a new intent signs: the payload under its key, why, and on which lane. */
export interface SignRequest {
  kind: IntentKind;
  payload: Payload;
  key: string;
  keySource: "caller" | "derived";
  rationaleText: string;
  lane: bigint;
  /** Seconds the signature stays valid (default: the client's). */
  validFor?: number;
  /** The intent this one replaces under the same key. */
  supersedes?: string;
  /** A batch signs consecutive nonces at one block; a single request reads the lane's nonce and the block now. */
  at?: { nonce: bigint; block: { number: number; timestamp: number } };
}

/** A key bound to another payload than the request's: a key names one payment forever. */
export function idempotencyConflict(core: ClientCore, key: string, original: string): IdempotencyConflictError {
  return new IdempotencyConflictError(
    `Idempotency key ${key} of agent ${core.agent} is already bound to a different payload (intent ${original}). A key ` +
      "names one payment forever: use a new key for a new payment, or repeat the original payload exactly to read its result.",
    { errorName: "IdempotencyKeyConflict", args: { agent: core.agent, key, originalIntentId: original } },
  );
}

/** Throws the conflict when a journaled intent under `key` carries another payload than `p`. */
export function requireSamePayload(core: ClientCore, s: SignedEntry, p: Payload, key: string): void {
  const i = s.intent;
  if (payloadCommitment(i.target, BigInt(i.value), i.data) !== payloadCommitment(p.target, p.value, p.data)) {
    throw idempotencyConflict(core, key, s.intentId);
  }
}

/**
 * The answer to a request this client or the chain has seen before under `key`, or undefined for a new one.
 * 1. The journal first: a retry of a request this client already handled is answered without a new intent (a settled
 *    one the chain no longer knows, after a reorganisation or a restarted node, is sent again under its key); an
 *    unfinished one is driven to its outcome (`drive`) or, when a batch will send it again, closed as superseded
 *    unless it landed (`supersede`).
 * 2. Then the chain: the key may have been used by a lost journal or another process.
 */
export async function knownAnswer(
  core: ClientCore,
  payload: Payload,
  key: string,
  unfinishedAs: "drive" | "supersede",
): Promise<IntentResult | undefined> {
  const previous = core.journal.byKey(core.chainId, core.moduleAddress, core.agent, key);
  for (const r of previous) requireSamePayload(core, r.signed, payload, key);
  const settled = previous.find((r) => r.outcome);
  if (settled) return (await confirmedReplay(core, settled)) ?? drive(core, settled.signed, false);
  const unfinished = previous.find((r) => !r.outcome && !r.closed);
  if (unfinished && unfinishedAs === "drive") return drive(core, unfinished.signed, true);
  if (unfinished) {
    const landed = await landedOutcome(core, { signed: unfinished.signed });
    if (landed) return landed;
    closeSuperseded(core, unfinished.signed.intentId);
  }
  const bound = await withRetry(
    "read the idempotency record",
    () => core.module.idempotencyRecord(core.agent, key),
    core.retry,
  );
  if (bound.intentId === ZeroHash) return undefined;
  if (bound.payloadHash !== payloadCommitment(payload.target, payload.value, payload.data)) {
    throw idempotencyConflict(core, key, bound.intentId);
  }
  // One of our own closed attempts may have landed by another hand: journal it so journal and chain agree.
  const ours = previous.find((r) => r.signed.intentId.toLowerCase() === bound.intentId.toLowerCase());
  if (ours) return { ...(await settleFromChain(core, ours.signed, bound.intentId, undefined)), replay: true };
  return chainReplay(core, bound.intentId, key);
}

/** Signs a new intent at the lane's current nonce and journals it (write-ahead) before it can reach the chain. */
export async function sign(core: ClientCore, r: SignRequest): Promise<SignedEntry> {
  const [nonce, block] = r.at
    ? [r.at.nonce, r.at.block]
    : await Promise.all([
        withRetry("read the lane nonce", () => core.module.getNonce(core.agent, r.lane), core.retry),
        withRetry("read the latest block", () => core.provider.getBlock("latest"), core.retry),
      ]);
  if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
  const validUntil = BigInt(block.timestamp) + (r.validFor === undefined ? core.validFor : BigInt(r.validFor));
  const intent = buildIntent({
    agent: core.agent,
    kind: r.kind,
    payload: r.payload,
    key: r.key,
    nonce,
    validUntil,
    rationaleText: r.rationaleText,
  });
  const signature = await signIntent(core.signer, intent, core.chainId, core.moduleAddress);
  const entry: SignedEntry = {
    t: "signed",
    v: JOURNAL_VERSION,
    at: new Date().toISOString(),
    intentId: hashIntent(intent, core.chainId, core.moduleAddress),
    kind: r.kind,
    chainId: core.chainId.toString(),
    module: core.moduleAddress,
    intent: serializeIntent(intent),
    signature,
    rationaleText: r.rationaleText,
    keySource: r.keySource,
    signedAtBlock: block.number,
  };
  if (r.supersedes) entry.supersedes = r.supersedes;
  core.journal.append(entry); // write-ahead: on disk before it can reach the chain
  await core.onStage?.("signed", entry.intentId);
  return entry;
}

/** Replaces an intent that can no longer land (nonce used, deadline near) by one with the same key. */
async function resign(core: ClientCore, old: SignedEntry): Promise<SignedEntry> {
  const i = deserializeIntent(old.intent);
  const entry = await sign(core, {
    kind: old.kind,
    payload: { target: i.target, value: i.value, data: i.data },
    key: i.idempotencyKey,
    keySource: old.keySource,
    rationaleText: old.rationaleText,
    lane: splitNonce(i.nonce).lane,
    supersedes: old.intentId,
  });
  closeSuperseded(core, old.intentId);
  return entry;
}

/** Journals that an intent was replaced by another under its key (it will not be driven again). */
export function closeSuperseded(core: ClientCore, intentId: string): void {
  core.journal.append({ t: "closed", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId, why: "superseded" });
}

function nonceRace(core: ClientCore, intent: Intent, current: bigint): NonceMismatchError {
  return new NonceMismatchError(
    `Lane ${splitNonce(intent.nonce).lane} of agent ${core.agent} keeps moving (now at nonce ${current}): another process ` +
      "submits on the same lane. Give each workflow or process its own lane (the `lane` option), then retry with the same idempotency key.",
    { errorName: "IntentNonceMismatch", args: { agent: core.agent, expected: current, got: intent.nonce } },
  );
}

/** Journals that the module refused the intent (it will not be driven again). */
export function closeRejected(core: ClientCore, s: SignedEntry, error: TreasuryError): void {
  core.journal.append({
    t: "closed",
    v: JOURNAL_VERSION,
    at: new Date().toISOString(),
    intentId: s.intentId,
    why: "rejected",
    code: error.code,
    message: error.message,
  });
}

/** `submit` or `propose` as a static call: the intentId it would return, or the revert. */
async function staticSubmit(core: ClientCore, s: SignedEntry, intent: Intent): Promise<string> {
  if (s.kind === "propose") return core.module.propose.staticCall(intent, s.signature);
  const [intentId] = await core.module.submit.staticCall(intent, s.signature);
  return intentId;
}

/**
 * Takes a journaled intent to its outcome: re-signs it if it can no longer land, checks it with a static call
 * (reverts become typed errors before any gas is spent), sends it, and settles it from the receipt.
 */
export async function drive(core: ClientCore, initial: SignedEntry, checkLanded: boolean): Promise<IntentResult> {
  if (checkLanded) {
    // Sent before (the receipt was lost, or the process restarted): the chain may already have it.
    const landed = await landedOutcome(core, { signed: initial });
    if (landed) return landed;
  }
  let s = initial;
  for (let resigns = 0; ; resigns++) {
    const intent = deserializeIntent(s.intent);
    const lane = splitNonce(intent.nonce).lane;
    const [current, now] = await Promise.all([
      withRetry("read the lane nonce", () => core.module.getNonce(core.agent, lane), core.retry),
      chainTime(core),
    ]);
    // The idempotency key was checked unbound before we got here, so an intent whose nonce moved on (used by
    // another intent) or whose deadline passed can never land: replace it under the same key.
    if (current !== intent.nonce || now + DEADLINE_MARGIN >= intent.validUntil) {
      if (resigns >= MAX_RESIGNS) throw nonceRace(core, intent, current);
      s = await resign(core, s);
      continue;
    }
    let returnedId: string;
    try {
      returnedId = await withRetry(`check intent ${s.intentId}`, () => staticSubmit(core, s, intent), core.retry);
    } catch (err) {
      const error = decodeError(err);
      if (!error) throw err;
      if (error instanceof NonceMismatchError && resigns < MAX_RESIGNS) continue; // raced: re-read the nonce
      closeRejected(core, s, error);
      throw error;
    }
    if (returnedId.toLowerCase() !== s.intentId.toLowerCase()) {
      // The key was bound meanwhile (another process, or our own earlier send): nothing new will happen.
      return settleFromChain(core, s, returnedId, undefined);
    }
    return send(core, s, intent);
  }
}

/** Broadcasts the submission (once, even over retries); undefined when an earlier attempt already landed. */
async function broadcast(core: ClientCore, s: SignedEntry, intent: Intent): Promise<string | undefined> {
  let txHash: string | undefined;
  await withRetry(
    `send intent ${s.intentId}`,
    async (attempt) => {
      if (attempt > 0) {
        // The last attempt may have reached the node before the connection dropped: look before sending again.
        const bound = await core.module.idempotencyRecord(core.agent, intent.idempotencyKey);
        if (bound.intentId !== ZeroHash) return;
      }
      const tx = await serialBroadcast(core.relayer, () =>
        s.kind === "propose" ? core.module.propose(intent, s.signature) : core.module.submit(intent, s.signature),
      );
      txHash = tx.hash;
    },
    core.retry,
  );
  return txHash;
}

/** Sends the intent, journals the transaction, and settles the intent from its receipt. */
async function send(core: ClientCore, s: SignedEntry, intent: Intent): Promise<IntentResult> {
  const hash = await broadcast(core, s, intent);
  if (!hash) {
    // Landed through an earlier attempt whose hash we never saw.
    const bound = await core.module.idempotencyRecord(core.agent, intent.idempotencyKey);
    return settleFromChain(core, s, bound.intentId, undefined);
  }
  core.journal.append({
    t: "sent",
    v: JOURNAL_VERSION,
    at: new Date().toISOString(),
    intentId: s.intentId,
    txHash: hash,
  });
  await core.onStage?.("sent", s.intentId);

  // On timeout the entry stays "sent": the next reconciliation (or a retry of the request) settles it from chain.
  const receipt = await waitForReceipt(core.provider, hash, core.retry, core.pollIntervalMs, core.receiptTimeoutMs);
  if (receipt.status !== 1) {
    // Reverted on chain although the static call passed (state changed in between, e.g. a pause): decode now.
    let error: TreasuryError = new UnknownRevertError(
      `Transaction ${hash} reverted; the intent was not recorded. Retry the request.`,
    );
    try {
      await staticSubmit(core, s, intent);
    } catch (err) {
      error = decodeError(err) ?? error;
    }
    closeRejected(core, s, error);
    throw error;
  }
  const out = outcomeFromReceipt(core.module, core.moduleAddress, receipt, s.intentId, core.agent);
  // Replay (another process bound the key first) or no event for us: the chain decides.
  return !out || out.replay ? settleByKey(core, s, hash) : settleFromReceipt(core, s, out, receipt);
}
