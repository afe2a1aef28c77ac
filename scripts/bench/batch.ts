/**
 * Batch payments for the benchmark (`submitBatch`, SPEC section 4): a payroll run of N USDC payments to N different
 * recipients who already hold USDC, in one transaction, reported per payment (the transaction's `gasUsed` / N).
 *
 * Each batch size gets its own agent with the same history (one payment an hour earlier in its window, so the
 * window is in use and nothing expires), so the rows differ only by the size of the batch. Every intent of every
 * measured batch must have executed and paid its recipient, or the run stops.
 */
import { ContractTransactionReceipt, Wallet, id, parseEther, zeroPadValue } from "ethers";
import { ethers } from "hardhat";
import { Intent, hashIntent, packNonce, signIntent } from "../../sdk/eip712";
import { AssetLimit, HOUR, agentConfig } from "../../testkit/stack";
import {
  BenchAgent,
  BenchOutcomeError,
  Payment,
  newAgent,
  nextBlockAfter,
  paymentIntent,
  submitPayment,
} from "./payments";
import { Rows, StabilityCheck, checkNoGrowth, fmtGas, ratio } from "./report";
import { Stack, Treasury, agentCalls, agentKey, configure, createTreasury, usdc } from "./setup";

/** The batch sizes reported per payment; the headline row is the batch of 20. */
export const BATCH_SIZES = [1, 5, 20, 100] as const;
/** A payroll agent may pay up to 1,000 USDC per payment and 1,000,000 per sliding day: a batch of 100 fits. */
const PAYROLL_LIMIT: AssetLimit = {
  autoPerTx: usdc("1000"),
  autoPerWindow: usdc("1000000"),
  window: BigInt(24 * HOUR),
  escalatedPerTx: usdc("50000"),
};
const PAY = usdc("100");
/** Gas per payment may not grow by more than this from one batch size to the next (enforced). */
export const GROWTH_LIMIT_PERCENT = 2;

/**
 * The Safe Allowance Module's single ERC-20 payment (fixed period, uint16 nonce, no deadline), as issue 16 reports it.
 * Not measured by this bench (the module's bytecode is not among the dependencies): a fixed reference for the ratio
 * column of the batch rows.
 */
export const ALLOWANCE_MODULE_PAYMENT = 72_670n;

export const batchRow = (size: number): string => `auto ERC-20 payment in a batch of ${size} (per payment)`;
export const SELF_SUBMITTED_ROW =
  "auto ERC-20 payment in a batch of 20, submitted by the agent without a signature (per payment)";
export const KEYED_BATCH_ROW = "auto ERC-20 payment with idempotency key in a batch of 20 (per payment)";

/** `count` recipients that already hold USDC (payroll pays people who were paid before). */
async function fundedRecipients(stack: Stack, count: number): Promise<string[]> {
  const recipients = Array.from(
    { length: count },
    (_, i) => new Wallet(id(`agent-treasury-guard bench payee ${i}`)).address,
  );
  for (const r of recipients) await (await stack.usdc.mint(r, usdc("1"))).wait();
  return recipients;
}

interface BatchOptions {
  /** The agent sends the transaction itself, with empty signatures. */
  selfSubmitted?: boolean;
  /** Each payment carries a fresh idempotency key. */
  keyed?: boolean;
}

/**
 * Signs one USDC payment of PAY per recipient at consecutive lane-0 nonces and submits them in one `submitBatch`
 * transaction `gap` seconds after the clock. Throws {BenchOutcomeError} unless every intent executed and paid.
 */
async function payBatch(
  stack: Stack,
  agent: BenchAgent,
  recipients: string[],
  gap: number,
  options: BatchOptions = {},
): Promise<ContractTransactionReceipt> {
  const { module, moduleAddress } = agent.treasury;
  const blockTime = await nextBlockAfter(gap);
  const payments: Payment[] = recipients.map((to, i) => ({
    asset: stack.usdcAddress,
    to,
    amount: PAY,
    ...(options.keyed ? { idempotencyKey: id(`bench payroll ${agent.label} ${blockTime} ${i}`) } : {}),
  }));
  const intents: Intent[] = payments.map((p, i) => ({
    ...paymentIntent(agent, p, blockTime),
    nonce: packNonce(0n, agent.sequence + BigInt(i)),
  }));
  const signatures = options.selfSubmitted
    ? intents.map(() => "0x")
    : await Promise.all(intents.map((intent) => signIntent(agent.key, intent, stack.chainId, moduleAddress)));
  const sender = options.selfSubmitted ? agent.key.connect(ethers.provider) : stack.relayer;
  const receipt = await (await module.connect(sender).submitBatch(intents, signatures)).wait();
  if (!receipt || receipt.status !== 1)
    throw new BenchOutcomeError(`submitBatch of ${intents.length} by ${agent.label} reverted`);
  requireEveryPayment(stack, agent.treasury, receipt, intents, payments);
  agent.sequence += BigInt(intents.length);
  return receipt;
}

const TRANSFER_TOPIC = id("Transfer(address,address,uint256)");

/**
 * Every intent of the batch has its `IntentExecuted` and its token `Transfer` from the Safe to its recipient (the logs
 * are read once: a check per intent over all of a 100-payment batch's logs took long enough to overtake the clock).
 */
function requireEveryPayment(
  stack: Stack,
  treasury: Treasury,
  receipt: ContractTransactionReceipt,
  intents: Intent[],
  payments: Payment[],
): void {
  const executed = new Set<string>();
  const transfers = new Map<string, number>();
  const safeTopic = zeroPadValue(treasury.safeAddress, 32).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() === treasury.moduleAddress.toLowerCase()) {
      const parsed = treasury.module.interface.parseLog(log);
      if (parsed?.name === "IntentExecuted") executed.add(String(parsed.args[0]).toLowerCase());
    } else if (
      log.address.toLowerCase() === stack.usdcAddress.toLowerCase() &&
      log.topics[0] === TRANSFER_TOPIC &&
      log.topics[1].toLowerCase() === safeTopic
    ) {
      const key = `${log.topics[2].toLowerCase()}|${BigInt(log.data)}`;
      transfers.set(key, (transfers.get(key) ?? 0) + 1);
    }
  }
  intents.forEach((intent, i) => {
    const intentId = hashIntent(intent, stack.chainId, treasury.moduleAddress).toLowerCase();
    if (!executed.has(intentId))
      throw new BenchOutcomeError(`payment ${i + 1} of the batch on ${treasury.label} (${intentId}) did not execute`);
    const key = `${zeroPadValue(payments[i].to, 32).toLowerCase()}|${payments[i].amount}`;
    const left = transfers.get(key) ?? 0;
    if (left === 0)
      throw new BenchOutcomeError(
        `no Transfer of ${payments[i].amount} from ${treasury.label}'s Safe to ${payments[i].to}`,
      );
    transfers.set(key, left - 1);
  });
}

/** A fresh payroll agent on `treasury` whose window already holds one payment (steady state). */
async function payrollAgent(
  stack: Stack,
  treasury: Treasury,
  label: string,
  warmRecipient: string,
  funded = false,
): Promise<BenchAgent> {
  const agent = newAgent(label, agentKey(label), treasury);
  await configure(
    stack,
    treasury,
    agentCalls(treasury, agent.key.address, agentConfig(), [{ asset: stack.usdcAddress, limit: PAYROLL_LIMIT }]),
  );
  if (funded) await (await stack.deployer.sendTransaction({ to: agent.key.address, value: parseEther("1") })).wait();
  await submitPayment(stack, agent, { asset: stack.usdcAddress, to: warmRecipient, amount: PAY }, 60);
  return agent;
}

/** A per-payment row: the transaction's gas divided by its payments (no txHash: the row is not one transaction's gas). */
function addPerPayment(
  rows: Rows,
  name: string,
  receipt: ContractTransactionReceipt,
  size: number,
  note: string,
): void {
  rows.add({
    name,
    gas: receipt.gasUsed / BigInt(size),
    note: `${note}; the transaction ${receipt.hash}: ${fmtGas(receipt.gasUsed)} gas`,
  });
}

/** The batch rows beside the Allowance Module's single payment (the ratio README's gas table shows). */
export function formatAllowanceComparison(rows: Rows): string[] {
  const names = [...BATCH_SIZES.map(batchRow), SELF_SUBMITTED_ROW, KEYED_BATCH_ROW];
  return [
    `Per payment vs the Safe Allowance Module's single payment (${fmtGas(ALLOWANCE_MODULE_PAYMENT)}, as issue 16 reports it; not measured here):`,
    ...names.map((n) => {
      const gas = rows.get(n).gas;
      return `  ${n}: ${fmtGas(gas)} = ${ratio(gas, ALLOWANCE_MODULE_PAYMENT).toFixed(2)}x`;
    }),
  ];
}

/**
 * The batch rows: per payment in batches of 1, 5, 20 and 100, the agent's own batch of 20 without signatures, and a
 * keyed batch of 20. Returns the enforced checks that the gas per payment does not grow with the batch's size.
 */
export async function measureBatches(
  stack: Stack,
  rows: Rows,
  progress: (text: string) => void,
): Promise<StabilityCheck[]> {
  const treasury = await createTreasury(stack, "payroll", 3, 2);
  const recipients = await fundedRecipients(stack, Math.max(...BATCH_SIZES));
  const warm = recipients[0];
  for (const size of BATCH_SIZES) {
    const agent = await payrollAgent(stack, treasury, `payroll-${size}`, warm);
    const receipt = await payBatch(stack, agent, recipients.slice(0, size), HOUR);
    addPerPayment(
      rows,
      batchRow(size),
      receipt,
      size,
      `relayed, ${size} different funded recipients, keyless, 1 earlier payment in the window`,
    );
    progress(`batch of ${size}: ${(receipt.gasUsed / BigInt(size)).toLocaleString("en-US")} gas per payment`);
  }
  const self = await payrollAgent(stack, treasury, "payroll-self", warm, true);
  const selfReceipt = await payBatch(stack, self, recipients.slice(0, 20), HOUR, { selfSubmitted: true });
  addPerPayment(
    rows,
    SELF_SUBMITTED_ROW,
    selfReceipt,
    20,
    "msg.sender is the agent, empty signatures (no ECDSA recovery), keyless",
  );
  const keyed = await payrollAgent(stack, treasury, "payroll-keyed", warm);
  const keyedReceipt = await payBatch(stack, keyed, recipients.slice(0, 20), HOUR, { keyed: true });
  addPerPayment(
    rows,
    KEYED_BATCH_ROW,
    keyedReceipt,
    20,
    "relayed, a new key per payment: key binding + intent record each",
  );
  return BATCH_SIZES.slice(1).map((size, i) => {
    const smaller = BATCH_SIZES[i];
    return checkNoGrowth(
      rows,
      `batch of ${smaller} vs ${size} (per payment)`,
      batchRow(smaller),
      batchRow(size),
      GROWTH_LIMIT_PERCENT,
    );
  });
}
