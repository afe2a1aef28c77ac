/**
 * Agent payments for the benchmark: intents built and signed with the production EIP-712 code (sdk/eip712.ts),
 * submitted by an untrusted relayer at a chosen block time, and checked for the outcome they were meant to have,
 * so a denied or queued intent can never be measured as a cheap "payment".
 */
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { ContractTransactionReceipt, Signer, Wallet, ZeroHash, id } from "ethers";
import { Intent, hashIntent, packNonce, signCosignerApproval, signIntent } from "../../sdk/eip712";
import { ETH, HOUR, transferData } from "../../testkit/stack";
import type { Stack, Treasury } from "./setup";

/** A measured transaction did not do what the row claims: the number would be misleading, so the run stops. */
export class BenchOutcomeError extends Error {
  readonly code = "BENCH_UNEXPECTED_OUTCOME";
  constructor(what: string) {
    super(
      `${what}. The benchmark measures only transactions with the intended outcome: check the agent's limits and timing in scripts/bench/gas.ts.`,
    );
    this.name = "BenchOutcomeError";
  }
}

/** An agent key on a treasury, with the next sequence of its nonce lane 0 tracked locally. */
export interface BenchAgent {
  label: string;
  key: Wallet;
  treasury: Treasury;
  sequence: bigint;
}

export interface Payment {
  /** ETH (address(0)) or an ERC-20 token. */
  asset: string;
  to: string;
  amount: bigint;
  idempotencyKey?: string;
}

export type Outcome = "Executed" | "Queued";

export interface Submitted {
  receipt: ContractTransactionReceipt;
  intent: Intent;
  intentId: string;
}

const RATIONALE = id("bench: pay an invoice");

/**
 * The benchmark's clock. Measured transactions are mined at timestamps that follow from a fixed start and the
 * gaps the benchmark asks for, not from the wall clock, so intents (their `validUntil`), signatures, calldata and
 * therefore every gas number are the same on every run. Blocks mined by setup transactions in between follow
 * Hardhat's wall clock; should one of them overtake the clock, the clock slips forward and the slip is counted.
 */
const CLOCK_START = 2_000_000_000; // 2033-05-18: ahead of any wall clock the benchmark runs at
let clockNow = 0;
let clockSlips = 0;

/** Sets the next block's timestamp `seconds` after the previous clock time and returns it. */
export async function nextBlockAfter(seconds: number): Promise<number> {
  const latest = await time.latest();
  if (clockNow === 0) clockNow = Math.max(CLOCK_START, latest);
  clockNow += seconds;
  if (clockNow <= latest) {
    clockSlips += 1;
    clockNow = latest + seconds;
  }
  await time.setNextBlockTimestamp(clockNow);
  return clockNow;
}

/** Moves the clock forward without mining: the next measured block comes `seconds` later than it would have. */
export async function advanceClock(seconds: number): Promise<void> {
  if (clockNow === 0) clockNow = Math.max(CLOCK_START, await time.latest());
  clockNow += seconds;
}

/** How many times setup blocks overtook the clock (0 means the run is reproducible to the gas unit). */
export function clockSlipCount(): number {
  return clockSlips;
}

export function newAgent(label: string, key: Wallet, treasury: Treasury): BenchAgent {
  return { label, key, treasury, sequence: 0n };
}

/** The intent of a plain payment, valid for an hour from `blockTime`. */
export function paymentIntent(agent: BenchAgent, payment: Payment, blockTime: number): Intent {
  const isEth = payment.asset === ETH;
  return {
    agent: agent.key.address,
    target: isEth ? payment.to : payment.asset,
    value: isEth ? payment.amount : 0n,
    data: isEth ? "0x" : transferData(payment.to, payment.amount),
    nonce: packNonce(0n, agent.sequence),
    idempotencyKey: payment.idempotencyKey ?? ZeroHash,
    validAfter: 0n,
    validUntil: BigInt(blockTime + HOUR),
    rationale: RATIONALE,
    review: false,
  };
}

/**
 * Signs `payment` as the agent and has the relayer submit it in a block `gapSeconds` after the latest one.
 * Throws {BenchOutcomeError} unless the module reports `expected` for exactly this intent.
 */
export async function submitPayment(
  stack: Stack,
  agent: BenchAgent,
  payment: Payment,
  gapSeconds: number,
  expected: Outcome = "Executed",
): Promise<Submitted> {
  const { module, moduleAddress } = agent.treasury;
  const blockTime = await nextBlockAfter(gapSeconds);
  const intent = paymentIntent(agent, payment, blockTime);
  const signature = await signIntent(agent.key, intent, stack.chainId, moduleAddress);
  const intentId = hashIntent(intent, stack.chainId, moduleAddress);
  const receipt = await (await module.connect(stack.relayer).submit(intent, signature)).wait();
  if (!receipt || receipt.status !== 1) throw new BenchOutcomeError(`submit by ${agent.label} reverted`);
  requireEvent(agent.treasury, receipt, expected === "Executed" ? "IntentExecuted" : "IntentQueued", intentId);
  if (expected === "Executed" && payment.asset !== ETH) requireTokenTransfer(receipt, agent.treasury, payment);
  agent.sequence += 1n;
  return { receipt, intent, intentId };
}

/** Co-signer approvals of `intentId` as `executeQueued` wants them: EIP-712 signatures, signers ascending. */
export async function cosignerSignatures(
  stack: Stack,
  treasury: Treasury,
  intentId: string,
  signers: Signer[],
): Promise<{ signer: string; signature: string }[]> {
  const signed = await Promise.all(
    signers.map(async (s) => ({
      signer: await s.getAddress(),
      signature: await signCosignerApproval(
        s,
        intentId,
        await treasury.module.cosignerEra(),
        stack.chainId,
        treasury.moduleAddress,
      ),
    })),
  );
  return signed.sort((a, b) =>
    BigInt(a.signer) < BigInt(b.signer) ? -1 : BigInt(a.signer) > BigInt(b.signer) ? 1 : 0,
  );
}

/** Runs a queued intent with the given co-signer signatures; requires an escalated `IntentExecuted`. */
export async function executeQueued(
  stack: Stack,
  treasury: Treasury,
  queued: Submitted,
  signatures: { signer: string; signature: string }[],
): Promise<ContractTransactionReceipt> {
  const receipt = await (await treasury.module.connect(stack.relayer).executeQueued(queued.intent, signatures)).wait();
  if (!receipt || receipt.status !== 1) throw new BenchOutcomeError(`executeQueued of ${queued.intentId} reverted`);
  requireEvent(treasury, receipt, "IntentExecuted", queued.intentId);
  return receipt;
}

/** A co-signer's on-chain approval; requires `IntentApproved`. */
export async function approveOnChain(
  treasury: Treasury,
  cosigner: Stack["cosigners"][number],
  intentId: string,
): Promise<ContractTransactionReceipt> {
  const receipt = await (await treasury.module.connect(cosigner).approve(intentId)).wait();
  if (!receipt || receipt.status !== 1) throw new BenchOutcomeError(`approve of ${intentId} reverted`);
  requireEvent(treasury, receipt, "IntentApproved", intentId);
  return receipt;
}

function requireEvent(treasury: Treasury, receipt: ContractTransactionReceipt, name: string, intentId: string): void {
  const found = receipt.logs.some((log) => {
    if (log.address.toLowerCase() !== treasury.moduleAddress.toLowerCase()) return false;
    const parsed = treasury.module.interface.parseLog(log);
    return parsed?.name === name && parsed.args[0] === intentId;
  });
  if (!found) {
    const seen = receipt.logs
      .filter((log) => log.address.toLowerCase() === treasury.moduleAddress.toLowerCase())
      .map((log) => treasury.module.interface.parseLog(log)?.name ?? "?");
    throw new BenchOutcomeError(`expected ${name} for ${intentId} on ${treasury.label}, saw [${seen.join(", ")}]`);
  }
}

const TRANSFER_TOPIC = id("Transfer(address,address,uint256)");

function requireTokenTransfer(receipt: ContractTransactionReceipt, treasury: Treasury, payment: Payment): void {
  const pad = (a: string) => "0x" + a.slice(2).toLowerCase().padStart(64, "0");
  const ok = receipt.logs.some(
    (log) =>
      log.address.toLowerCase() === payment.asset.toLowerCase() &&
      log.topics[0] === TRANSFER_TOPIC &&
      log.topics[1] === pad(treasury.safeAddress) &&
      log.topics[2] === pad(payment.to) &&
      BigInt(log.data) === payment.amount,
  );
  if (!ok)
    throw new BenchOutcomeError(`no Transfer of ${payment.amount} from ${treasury.label}'s Safe to ${payment.to}`);
}
