/**
 * Adversarial stories at the edges of time: the escalation timelock and grace period at +-1 second, two
 * transactions racing in one block, and the period-reset double spend that fixed-window allowances allow.
 * Threats: a stolen agent key racing the clock, a front-runner (docs/THREAT-MODEL.md, T-TIME, T-WINDOW).
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import {
  DAY,
  ETH,
  HOUR,
  Status,
  cosignerSignatures,
  intentId,
  transferData,
  treasuryFixture,
  type Treasury,
} from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { TreasuryBook, atTimestamp, minedAt } from "./model";

const QUEUED_BIT = 1n << Status.Queued;

/** Queues a `value` ETH payment to `to` at the next block and returns it with its eta and two co-signatures. */
async function queuePayment(fx: Treasury, book: TreasuryBook, to: string, value: bigint, validFor = BigInt(DAY)) {
  const intent = await book.intent({ target: to, value, validUntil: BigInt(await time.latest()) + validFor });
  const id_ = intentId(fx, intent);
  const tx = await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent));
  const queuedAt = await minedAt(tx);
  const [, eta] = await fx.module.intent(id_);
  expect(eta).to.equal(BigInt(queuedAt + HOUR));
  return { intent, id: id_, eta, sigs: await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2)) };
}

describe("Scenario: timelock edges", function () {
  describe("when someone executes one second before eta", function () {
    it("test_timelock_etaMinusOne_notReady_atEta_executes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const value = parseEther("2");
      const q = await queuePayment(fx, book, fx.bob.address, value);
      await atTimestamp(q.eta - 1n);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, q.sigs))
        .to.be.revertedWithCustomError(fx.module, "IntentNotReady")
        .withArgs(q.id, q.eta, q.eta - 1n);
      await atTimestamp(q.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, q.sigs))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.bob.address, value, true, q.intent.rationale);
      book.pay(ETH, fx.bob.address, value);
      await book.assertNothingLost();
    });
  });

  describe("when someone executes at the last second of the grace period, and one second later", function () {
    it("test_timelock_graceLastSecond_executes_graceEnd_expired", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const value = parseEther("2");
      const a = await queuePayment(fx, book, fx.alice.address, value, 3n * BigInt(DAY));
      const b = await queuePayment(fx, book, fx.bob.address, value, 3n * BigInt(DAY));
      const grace = BigInt(DAY);
      await atTimestamp(a.eta + grace - 1n);
      await expect(fx.module.connect(fx.relayer).executeQueued(a.intent, a.sigs)).to.emit(fx.module, "IntentExecuted");
      book.pay(ETH, fx.alice.address, value);
      await atTimestamp(b.eta + grace);
      await expect(fx.module.connect(fx.relayer).executeQueued(b.intent, b.sigs))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(b.id, Status.Expired, QUEUED_BIT);
      expect(await fx.module.intentStatus(b.id)).to.equal(Status.Expired);
      // An expired intent cannot be approved or cancelled back to life either.
      await expect(fx.module.connect(fx.cosigners[2]).approve(b.id))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(b.id, Status.Expired, QUEUED_BIT);
      await book.assertNothingLost();
    });
  });

  describe("when two transactions race in one block", function () {
    it("test_timelock_twoExecutionsInOneBlock_paysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const value = parseEther("3");
      const q = await queuePayment(fx, book, fx.bob.address, value);
      await time.increaseTo(q.eta);
      const results = await inOneBlock([
        () => fx.module.connect(fx.relayer).executeQueued(q.intent, q.sigs, { gasLimit: 600_000 }),
        () => fx.module.connect(fx.attacker).executeQueued(q.intent, q.sigs, { gasLimit: 600_000 }),
      ]);
      expect(results.sort()).to.deep.equal([0, 1]);
      book.pay(ETH, fx.bob.address, value);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
      await book.assertNothingLost();
    });

    it("test_timelock_cancelAndExecuteInOneBlock_cancelFirstNothingMoves", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const q = await queuePayment(fx, book, fx.attacker.address, parseEther("5"));
      await time.increaseTo(q.eta);
      // The guardian's cancel pays a higher tip and lands first; the execution in the same block finds it cancelled.
      const results = await inOneBlock([
        () =>
          fx.module
            .connect(fx.guardian)
            .cancel(q.id, { gasLimit: 200_000, maxPriorityFeePerGas: parseEther("0.00001") }),
        () =>
          fx.module
            .connect(fx.attacker)
            .executeQueued(q.intent, q.sigs, { gasLimit: 600_000, maxPriorityFeePerGas: 1n }),
      ]);
      expect(results).to.deep.equal([1, 0]);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
      await book.assertNothingLost();
    });

    it("test_timelock_twoSubmitsSameNonceInOneBlock_onlyOneAccepted", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const value = parseEther("0.5");
      const toAlice = await book.intent({ target: fx.alice.address, value });
      const toBob = await book.intent({ target: fx.bob.address, value });
      expect(toAlice.nonce).to.equal(toBob.nonce);
      const [sa, sb] = [await book.signature(toAlice), await book.signature(toBob)];
      const results = await inOneBlock([
        () =>
          fx.module
            .connect(fx.relayer)
            .submit(toAlice, sa, { gasLimit: 600_000, maxPriorityFeePerGas: parseEther("0.00001") }),
        () => fx.module.connect(fx.attacker).submit(toBob, sb, { gasLimit: 600_000, maxPriorityFeePerGas: 1n }),
      ]);
      expect(results).to.deep.equal([1, 0]);
      book.pay(ETH, fx.alice.address, value);
      await book.assertNothingLost();
    });
  });
});

describe("Scenario: the period-boundary double spend", function () {
  it("test_window_capAtWMinusOne_againAtWAndWPlusOne_onlyAfterAFullWindow", async function () {
    const fx = await loadFixture(treasuryFixture);
    const W = BigInt(DAY);
    const cap = parseUnits("1000", 6);
    // A fixed daily allowance would reset at every multiple of W: the attacker spends the cap one second before
    // the reset and again right after it, 2x the cap in 2 seconds. The sliding window must refuse that.
    await fx.asOwners(
      fx.module.interface.encodeFunctionData("setAssetLimit", [
        fx.agent.address,
        fx.usdcAddress,
        { autoPerTx: cap, autoPerWindow: cap, window: W, escalatedPerTx: parseUnits("50000", 6) },
      ]),
    );
    const book = await TreasuryBook.open(fx);
    const now = BigInt(await time.latest());
    const t0 = (now / W + 2n) * W - 1n; // one second before a period boundary (t0 = kW - 1)
    // Submits a cap-sized payment at exactly `at` and reports what the module did with it.
    const pay = async (at: bigint): Promise<{ intent: Intent; outcome: string }> => {
      const intent = await book.intent({
        target: fx.usdcAddress,
        data: transferData(fx.attacker.address, cap),
        validUntil: at + BigInt(HOUR),
      });
      const sig = await book.signature(intent);
      await atTimestamp(at);
      const receipt = await (await fx.module.connect(fx.relayer).submit(intent, sig)).wait();
      const names = receipt!.logs.map((l) => fx.module.interface.parseLog(l)?.name);
      const outcome = names.includes("IntentExecuted")
        ? "executed"
        : names.includes("IntentQueued")
          ? "queued"
          : "other";
      return { intent, outcome };
    };
    expect((await pay(t0)).outcome).to.equal("executed");
    book.pay(fx.usdcAddress, fx.attacker.address, cap);
    const attempts = [t0 + 1n, t0 + 2n, t0 + W - 1n]; // W, W + 1 (the reset a fixed window would allow), and the last second
    const queuedIds: string[] = [];
    for (const at of attempts) {
      const { intent, outcome } = await pay(at);
      expect(outcome, `spend at t0+${at - t0}`).to.equal("queued");
      queuedIds.push(intentId(fx, intent));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    }
    // Exactly one full window after the first spend, the cap is available again, and spent once.
    expect((await pay(t0 + W)).outcome).to.equal("executed");
    book.pay(fx.usdcAddress, fx.attacker.address, cap);
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    // The queued ones never run: the guardian cancels them.
    for (const q of queuedIds) await (await fx.module.connect(fx.guardian).cancel(q)).wait();
    await book.assertNothingLost();
  });
});

/** Sends the transactions with automine off, mines one block, and returns their receipt statuses in order. */
async function inOneBlock(sends: (() => Promise<{ hash: string }>)[]): Promise<number[]> {
  await network.provider.send("evm_setAutomine", [false]);
  const hashes: string[] = [];
  try {
    for (const send of sends) hashes.push((await send()).hash);
    await network.provider.send("evm_mine");
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
  const receipts = await Promise.all(hashes.map((h) => ethers.provider.getTransactionReceipt(h)));
  expect(new Set(receipts.map((r) => r!.blockNumber)).size, "same block").to.equal(1);
  return receipts.map((r) => r!.status!);
}
