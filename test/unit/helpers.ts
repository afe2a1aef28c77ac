/**
 * Helpers shared by the specs of the module's parts (test/unit/<Part>.spec.ts): the base treasury's numbers, queueing
 * a payment, submitting at a chosen second, and checking an outcome or a denial in full. The fixtures themselves are
 * in test/fixtures.ts; `hardhat test` runs only `*.spec.ts`, so this file is never run on its own.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, id, parseEther } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  DAY,
  HOUR,
  Status,
  Treasury,
  agentConfig,
  buildIntent,
  intentId,
  moduleAsSafe,
  sign,
  submitSigned,
  treasuryState,
} from "../fixtures";
import type { AgentConfig, AssetLimit } from "../fixtures";
import type { Intent } from "../../sdk/eip712";

/** `expectedStates` of approve, cancel and executeQueued: only `Queued` is accepted. */
export const QUEUED_ONLY = 1n << Status.Queued;
export const TENTH = parseEther("0.1");
export const ONE_ETH = parseEther("1");
/** Above the base treasury's ETH autoPerTx (1) and within its escalatedPerTx (10): queued. */
export const FIVE_ETH = parseEther("5");
/** An authentic intent the policy denies: 11 ETH is above the agent's 10 ETH hard cap. One strike. */
export const ABOVE_CAP = { value: parseEther("11") };
/** The base agent's escalation delay and grace period (`agentConfig()`). */
export const DELAY = BigInt(HOUR);
export const GRACE = BigInt(DAY);
/** The `reason` of `AgentFrozen`: by a guardian or the owner, or on strikes. */
export const MANUAL = encodeBytes32String("manual");
export const STRIKES = encodeBytes32String("strikes");

/** An `AgentConfig` as views and events return it (a tuple of bigints). */
export function configTuple(c: AgentConfig): bigint[] {
  return [
    c.validUntil,
    c.escalationDelay,
    c.gracePeriod,
    c.maxIntentsPerWindow,
    c.rateWindow,
    c.maxStrikes,
    c.strikeWindow,
    BigInt(c.recipientMode),
  ];
}

/** An `AssetLimit` as views and events return it. */
export function limitTuple(l: AssetLimit): bigint[] {
  return [l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx];
}

export interface Queued {
  intent: Intent;
  id: string;
  eta: bigint;
}

export async function ethBalance(fx: Treasury, address: string): Promise<bigint> {
  return fx.deployer.provider.getBalance(address);
}

/** Submits an agent-signed ETH payment above the auto tier (5 ETH to alice by default) and returns it queued. */
export async function queuePayment(fx: Treasury, fields: Partial<Intent> = {}): Promise<Queued> {
  const intent = await buildIntent(fx, { value: FIVE_ETH, ...fields });
  const receipt = await (await submitSigned(fx, intent)).wait();
  const queuedAt = BigInt((await receipt!.getBlock()).timestamp);
  const id_ = intentId(fx, intent);
  expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued, "setup: the payment should have been queued");
  return { intent, id: id_, eta: queuedAt + DELAY };
}

/** Sets the agent's policy to `agentConfig(overrides)`, as the Safe. */
export async function reconfigure(fx: Treasury, overrides: Partial<AgentConfig>, agent = fx.agent.address) {
  await (await (await moduleAsSafe(fx)).setAgent(agent, agentConfig(overrides))).wait();
}

/**
 * Signs `fields` for the agent (valid for an hour from `ts`) and submits it in a block at exactly `ts`.
 * Returns the intent, its id and the pending transaction.
 */
export async function submitAt(
  fx: Treasury,
  ts: bigint,
  fields: Partial<Intent> = {},
  signer: HardhatEthersSigner = fx.agent,
) {
  const intent = await buildIntent(fx, { agent: signer.address, validUntil: ts + BigInt(HOUR), ...fields });
  const signature = await sign(signer, fx, intent);
  await time.setNextBlockTimestamp(ts);
  return { intent, id: intentId(fx, intent), tx: fx.module.connect(fx.relayer).submit(intent, signature) };
}

/** The first second of a bucket of `width` seconds, comfortably after the latest block. */
export async function nextBucketStart(width: bigint): Promise<bigint> {
  return (BigInt(await time.latest()) / width + 2n) * width;
}

/** The intent as the tuple the `IntentQueued` event carries. */
export function intentTuple(intent: Intent): unknown[] {
  return [
    intent.agent,
    intent.target,
    intent.value,
    intent.data,
    intent.nonce,
    intent.idempotencyKey,
    intent.validAfter,
    intent.validUntil,
    intent.rationale,
    intent.review,
  ];
}

/** Submits and checks that exactly `event` of the three outcome events is emitted. */
export async function expectOutcome(
  fx: Treasury,
  intent: Intent,
  event: "IntentExecuted" | "IntentQueued" | "IntentDenied",
) {
  const tx = submitSigned(fx, intent);
  for (const other of ["IntentExecuted", "IntentQueued", "IntentDenied"].filter((e) => e !== event)) {
    await expect(tx).to.not.emit(fx.module, other);
  }
  await expect(tx).to.emit(fx.module, event);
}

/** Submits and checks the denial: event with reason and rationale, status recorded, nonce consumed, nothing moved. */
export async function expectDenied(fx: Treasury, intent: Intent, reason: bigint, signer = fx.agent): Promise<void> {
  const before = await treasuryState(fx);
  const nonce = await fx.module.getNonce(intent.agent, intent.nonce >> 64n);
  const id_ = intentId(fx, intent);
  const tx = submitSigned(fx, intent, signer);
  await expect(tx).to.emit(fx.module, "IntentDenied").withArgs(id_, intent.agent, reason, intent.rationale);
  await expect(tx).to.not.emit(fx.module, "IntentExecuted");
  expect(await fx.module.intentStatus(id_)).to.equal(Status.Denied);
  expect(await fx.module.getNonce(intent.agent, intent.nonce >> 64n)).to.equal(nonce + 1n);
  const after = await treasuryState(fx);
  for (const key of Object.keys(before)) {
    if (!key.startsWith("nonce:")) expect(after[key], key).to.equal(before[key]);
  }
}

/** Sets `target()` to a contract standing for a Zodiac modifier (a MockCallTarget), through the Safe's owners. */
export async function withTarget(fx: Treasury) {
  const modifier = await ethers.deployContract("MockCallTarget");
  const modifierAddress = await modifier.getAddress();
  await fx.asOwners(fx.module.interface.encodeFunctionData("setTarget", [modifierAddress]));
  expect(await fx.module.getFunction("target")()).to.equal(modifierAddress);
  return { modifier, modifierAddress };
}

/** Spends 2.5 ETH in the auto tier over lanes 0 and 5, one payment carrying an idempotency key (before a rotation). */
export async function spendBeforeRotation(fx: Treasury) {
  const keyed = await buildIntent(fx, { value: ONE_ETH, idempotencyKey: id("invoice-42") });
  await (await submitSigned(fx, keyed)).wait();
  await (await submitSigned(fx, await buildIntent(fx, { value: ONE_ETH }))).wait();
  await (await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.5"), lane: 5n }))).wait();
  return keyed;
}
