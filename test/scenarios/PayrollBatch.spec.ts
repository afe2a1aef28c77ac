/**
 * Batch payments (SPEC section 4, `submitBatch`): a payroll run in one transaction, told twice.
 *
 * 1. Month's end: the payroll agent pays twelve employees 400 USDC each in one batch relayed by an untrusted relayer.
 *    One row is in DAI by mistake, an asset the agent has no limit for: that payment is denied (one strike) and the
 *    other eleven are paid. The relayer never saw its receipt and sends the same batch again: every intent is an idempotent replay,
 *    nobody is paid twice.
 * 2. A stolen payroll key: the attacker signs thirty payments of 1,000 USDC to itself and submits them as one batch,
 *    hoping a single transaction slips past the per-window cap. It does not: the window counts every earlier intent
 *    of the batch, so five payments (5,000 USDC, the agent's `autoPerWindow`) leave the Safe and the other twenty-five
 *    wait for co-signers, who never approve them (Promise 1). Threat: a stolen agent key (docs/THREAT-MODEL.md).
 *
 * Both stories end with the "nothing lost" checks of ./model.ts.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, id, parseUnits } from "ethers";
import { DenyReason, Status, intentId, transferData, treasuryFixture } from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { TreasuryBook } from "./model";

const usdc = (n: string) => parseUnits(n, 6);
const SALARY = usdc("400");

describe("Scenario: a payroll run in one transaction (submitBatch)", function () {
  it("test_payrollBatch_monthEnd_oneDenialElevenPaid_lostReceiptRetryPaysNobodyTwice", async function () {
    const fx = await loadFixture(treasuryFixture);
    // The Safe also holds DAI, for which the payroll agent has no limit.
    const dai = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
    const daiAddress = await dai.getAddress();
    await (await dai.mint(fx.safeAddress, parseUnits("100000", 18))).wait();
    const newcomers = Array.from({ length: 10 }, () => Wallet.createRandom().address);
    const employees = [fx.alice.address, fx.bob.address, ...newcomers];
    const book = await TreasuryBook.open(fx, {
      assets: [daiAddress],
      accounts: Object.fromEntries(newcomers.map((a, i) => [`employee ${i + 3}`, a])),
    });

    // Twelve rows, each with the idempotency key of its payroll line. Line 6 is in DAI by mistake.
    const intents: Intent[] = [];
    for (const [i, to] of employees.entries()) {
      const [token, amount] = i === 5 ? [daiAddress, parseUnits("400", 18)] : [fx.usdcAddress, SALARY];
      intents.push(
        await book.intent({
          target: token,
          data: transferData(to, amount),
          nonce: BigInt(i),
          idempotencyKey: id(`payroll 2025-01 line ${i + 1}`),
          rationale: id(`January salary, line ${i + 1}`),
        }),
      );
    }
    const signatures = await Promise.all(intents.map((intent) => book.signature(intent)));
    const ids = intents.map((intent) => intentId(fx, intent));
    const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);

    const [, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
    expect(statuses).to.deep.equal(employees.map((_, i) => (i === 5 ? Status.Denied : Status.Executed)));
    const run = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
    await expect(run)
      .to.emit(fx.module, "IntentDenied")
      .withArgs(ids[5], fx.agent.address, DenyReason.AssetNotAllowed, intents[5].rationale);
    await (await run).wait();
    for (const [i, to] of employees.entries()) if (i !== 5) book.pay(fx.usdcAddress, to, SALARY);
    // 11 x 400 = 4,400 USDC left the Safe; no DAI did.
    expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(usdc("4400"));
    expect(await dai.balanceOf(employees[5])).to.equal(0n);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(12n);

    // The relayer lost the receipt and sends the same batch again: twelve replays, no payment, no nonce.
    const retry = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
    await expect(retry)
      .to.emit(fx.module, "IdempotentReplay")
      .withArgs(ids[5], fx.agent.address, intents[5].idempotencyKey);
    await expect(retry).to.not.emit(fx.module, "IntentExecuted");
    expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(usdc("4400"));
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(12n);
    expect(await fx.module.intentStatus(ids[5])).to.equal(Status.Denied);

    await book.assertNothingLost();
  });

  it("test_payrollBatch_stolenKeyBatchesThirtyPayments_windowStillCapsTheLossAt5000", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);

    // The attacker holds the agent's key: thirty 1,000 USDC payments to itself (autoPerTx each), in one batch.
    const intents: Intent[] = [];
    for (let i = 0; i < 30; i++) {
      intents.push(
        await book.intent({
          target: fx.usdcAddress,
          data: transferData(fx.attacker.address, usdc("1000")),
          nonce: BigInt(i),
          rationale: id(`drain ${i}`),
        }),
      );
    }
    const signatures = await Promise.all(intents.map((intent) => book.signature(intent)));
    const [, statuses] = await fx.module.connect(fx.attacker).submitBatch.staticCall(intents, signatures);
    expect(statuses).to.deep.equal(intents.map((_, i) => (i < 5 ? Status.Executed : Status.Queued)));
    await (await fx.module.connect(fx.attacker).submitBatch(intents, signatures)).wait();
    book.pay(fx.usdcAddress, fx.attacker.address, usdc("5000"));

    // Promise 1: exactly the agent's autoPerWindow left the Safe; the window is exhausted for a day.
    expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(usdc("5000"));
    expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(usdc("5000"));
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    // The other twenty-five wait for co-signers; a guardian cancels them, and freezes the key.
    for (const intent of intents.slice(5)) {
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Queued);
    }
    await expect(fx.module.connect(fx.guardian).cancel(intentId(fx, intents[29])))
      .to.emit(fx.module, "IntentCancelled")
      .withArgs(intentId(fx, intents[29]), fx.guardian.address);
    await (await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address)).wait();
    const more = await book.intent({ target: fx.usdcAddress, data: transferData(fx.attacker.address, 1n), nonce: 30n });
    await expect(fx.module.connect(fx.attacker).submitBatch([more], [await book.signature(more)]))
      .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
      .withArgs(fx.agent.address);
    await book.asOwners(fx.module.interface.encodeFunctionData("unfreezeAgent", [fx.agent.address]));

    await book.assertNothingLost();
  });
});
