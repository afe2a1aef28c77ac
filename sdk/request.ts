/**
 * A request of the agent client turned into what it signs: the payload (target, value, calldata) of a payment or a
 * call, its idempotency key (the caller's, or derived from what it does and why), its nonce lane, and the intent.
 * Pure functions and one lock; nothing here reads the chain except token metadata through the asset book.
 */
import { AbiCoder, Interface, ZeroAddress, isHexString, keccak256, toUtf8Bytes } from "ethers";
import type { Intent } from "./eip712";
import { InvalidRequestError } from "./errors";
import { AssetBook, parseAmount, requireAddress } from "./chain";
import type { IntentKind } from "./journal";
import type { CallRequest, LaneRef, PayRequest } from "./types";

/** What an intent does on chain: the call the Safe makes. */
export interface Payload {
  target: string;
  value: bigint;
  data: string;
}

/** A workflow name or number as a 192-bit nonce lane. Names hash to a lane so they never collide with small numbers. */
export function laneOf(lane: LaneRef | undefined): bigint {
  if (lane === undefined) return 0n;
  if (typeof lane === "string") {
    if (/^\d+$/.test(lane)) return laneOf(BigInt(lane));
    return BigInt(keccak256(toUtf8Bytes(`atg.lane:${lane}`))) >> 64n;
  }
  const n = BigInt(lane);
  if (n < 0n || n >= 1n << 192n) throw new InvalidRequestError(`lane ${lane} is outside 0 .. 2^192-1.`);
  return n;
}

/** An idempotency key from caller text: 32-byte hex is used as is, other text is hashed. */
export function keyFromText(text: string): string {
  if (isHexString(text, 32)) {
    if (BigInt(text) === 0n) throw new InvalidRequestError("idempotencyKey 0x00…00 means 'no key'; give a real key.");
    return text.toLowerCase();
  }
  if (text.length === 0)
    throw new InvalidRequestError("idempotencyKey must not be empty; omit it to derive one from the request.");
  return keccak256(toUtf8Bytes(text));
}

/**
 * The key of a request without one: a hash of what it does (agent, kind, target, value, calldata) and why
 * (the rationale text) on this chain and module. The same request retried, even by a restarted process, gets the
 * same key and therefore pays once; a deliberately repeated payment needs its own rationale (e.g. the invoice
 * number) or an explicit key.
 */
export function deriveKey(
  chainId: bigint,
  module: string,
  agent: string,
  kind: IntentKind,
  p: Payload,
  rationaleText: string,
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "uint256", "address", "address", "string", "address", "uint256", "bytes32", "bytes32"],
      [
        "atg.derived-key.v1",
        chainId,
        module,
        agent,
        kind,
        p.target,
        p.value,
        keccak256(p.data),
        keccak256(toUtf8Bytes(rationaleText)),
      ],
    ),
  );
}

/** The request's idempotency key: the caller's, or derived from what it does and why (`deriveKey`). */
export function requestKey(
  where: { chainId: bigint; moduleAddress: string; agent: string },
  kind: IntentKind,
  payload: Payload,
  request: PayRequest | CallRequest,
): string {
  return request.idempotencyKey === undefined
    ? deriveKey(where.chainId, where.moduleAddress, where.agent, kind, payload, request.rationale)
    : keyFromText(request.idempotencyKey);
}

/** Serialises async work per lane: nonces of one lane are used strictly in order, other lanes run in parallel. */
export class LaneLocks {
  private readonly tails = new Map<bigint, Promise<unknown>>();
  run<T>(lane: bigint, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(lane) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.tails.set(lane, next);
    return next;
  }
}

/** The checks every request passes before anything is built or signed. */
export function checkRequest(request: PayRequest | CallRequest): void {
  if (typeof request.rationale !== "string" || request.rationale.trim().length === 0) {
    throw new InvalidRequestError(
      "rationale is required: say why (it is journaled and its hash goes on chain with the intent).",
    );
  }
  if (request.validFor !== undefined && (!Number.isInteger(request.validFor) || request.validFor < 60)) {
    throw new InvalidRequestError(`validFor must be a whole number of seconds >= 60 (got ${request.validFor}).`);
  }
}

/** A payment's payload: ETH sent to the recipient, or the token's `transfer(to, amount)`. */
export async function payPayload(assets: AssetBook, request: PayRequest): Promise<Payload> {
  if (typeof request.to !== "string") throw new InvalidRequestError("pay needs `to`, the recipient address.");
  const to = requireAddress(request.to, "to");
  if (BigInt(to) === 0n) throw new InvalidRequestError("to is the zero address; tokens sent there are lost.");
  const asset = await assets.resolve(request.asset);
  const amount = parseAmount(request.amount, asset);
  if (amount === 0n) throw new InvalidRequestError("amount is 0: there is nothing to pay.");
  if (asset.address === ZeroAddress) return { target: to, value: amount, data: "0x" };
  const data = new Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [to, amount]);
  return { target: asset.address, value: 0n, data };
}

/** A call's payload: raw `data`, or `function` encoded with `args`, and the ETH it sends. */
export function callPayload(request: CallRequest): Payload {
  const target = requireAddress(request.target, "target");
  let data: string;
  if (request.data !== undefined) {
    if (request.function !== undefined)
      throw new InvalidRequestError("Give either `data` or `function` with `args`, not both.");
    if (!isHexString(request.data) || request.data.length < 10)
      throw new InvalidRequestError("data must be hex calldata with at least a 4-byte selector.");
    data = request.data.toLowerCase();
  } else if (request.function !== undefined) {
    try {
      const iface = new Interface([`function ${request.function}`]);
      data = iface.encodeFunctionData(request.function.split("(")[0].trim(), [...(request.args ?? [])]);
    } catch (err) {
      const args = JSON.stringify(request.args ?? [], (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      throw new InvalidRequestError(
        `Cannot encode ${request.function} with args ${args}: ${(err as Error).message.split("\n")[0]}`,
        { cause: err },
      );
    }
  } else {
    throw new InvalidRequestError('call needs `data`, or `function` (e.g. "deposit(uint256)") with `args`.');
  }
  const eth = { address: ZeroAddress, symbol: "ETH", decimals: 18 };
  const value = request.value === undefined ? 0n : parseAmount(request.value, eth, "value");
  return { target, value, data };
}

/** What an intent of `agent` says about a payload: the one place the client builds intents (`sign`, `dryRun`). */
export interface IntentFields {
  agent: string;
  kind: IntentKind;
  payload: Payload;
  key: string;
  nonce: bigint;
  validUntil: bigint;
  rationaleText: string;
}

/** The intent the client signs for a payload. */
export function buildIntent(f: IntentFields): Intent {
  return {
    agent: f.agent,
    target: f.payload.target,
    value: f.payload.value,
    data: f.payload.data,
    nonce: f.nonce,
    idempotencyKey: f.key,
    validAfter: 0n,
    validUntil: f.validUntil,
    rationale: keccak256(toUtf8Bytes(f.rationaleText)),
    // v3: a request for review is part of what the agent signs; `propose` accepts nothing else.
    review: f.kind === "propose",
  };
}
