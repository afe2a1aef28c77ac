/**
 * AgentClient.payMany and dryRunMany (sdk/batch.ts): many payments in one submitBatch transaction, journaled and
 * keyed like single payments, at consecutive nonces of one lane; retries and crashes pay each payment at most once.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import {
  AgentFrozenError,
  BatchRequestError,
  InvalidRequestError,
  MAX_BATCH_PAYMENTS,
  ModulePausedError,
  PayRequest,
} from "../../../sdk";
import { agentConfig, moduleAsSafe, treasuryFixture } from "../../fixtures";
import type { Treasury } from "../../fixtures";
import { agentClient, readJournal, tmpJournal } from "./helpers";

const usdc = (n: string) => parseUnits(n, 6);

/** A second token the Safe holds but the agent has no limit for: paying in it is Denied AssetNotAllowed. */
async function unlimitedToken(fx: Treasury): Promise<string> {
  const dai = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
  await (await dai.mint(fx.safeAddress, parseUnits("1000", 18))).wait();
  return dai.getAddress();
}

function payroll(fx: Treasury, amounts: string[], month = "2025-01"): PayRequest[] {
  const people = [fx.alice.address, fx.bob.address, fx.attacker.address];
  return amounts.map((amount, i) => ({
    asset: "USDC",
    to: people[i % people.length],
    amount,
    rationale: `salary ${month} line ${i + 1}`,
  }));
}

describe("AgentClient.payMany", function () {
  describe("when every payment fits the auto tier", function () {
    it("test_payMany_threePayments_oneTransactionJournaledPerPayment", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx);
      const batch = await client.payMany(payroll(fx, ["100", "200", "300"]));

      expect(batch.sent).to.equal(3);
      expect(batch.results.map((r) => r.status)).to.deep.equal(["Executed", "Executed", "Executed"]);
      expect(batch.results.map((r) => r.nonce)).to.deep.equal([0n, 1n, 2n]);
      expect(batch.results.every((r) => r.txHash === batch.txHash && !r.replay)).to.equal(true);
      const receipt = await ethers.provider.getTransactionReceipt(batch.txHash!);
      expect(receipt!.to).to.equal(fx.moduleAddress);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("100"));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("200"));
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(usdc("300"));
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal([
        "signed",
        "signed",
        "signed",
        "sent",
        "sent",
        "sent",
        "outcome",
        "outcome",
        "outcome",
      ]);
      client.close();
    });

    it("test_payMany_wholeBatchRetried_answersEveryPaymentAsReplayAndSendsNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const requests = payroll(fx, ["100", "200", "300"]);
      const first = await client.payMany(requests);
      const blockBefore = await ethers.provider.getBlockNumber();

      const again = await client.payMany(requests);
      expect(again.sent).to.equal(0);
      expect(again.txHash).to.equal(undefined);
      expect(again.results.map((r) => [r.intentId, r.status, r.replay])).to.deep.equal(
        first.results.map((r) => [r.intentId, "Executed", true]),
      );
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
      // A fresh client with a lost journal reads the same answers from the chain.
      const other = await agentClient(fx);
      const fromChain = await other.client.payMany(requests);
      expect(fromChain.results.map((r) => [r.intentId, r.replay])).to.deep.equal(
        first.results.map((r) => [r.intentId, true]),
      );
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(usdc("300"));
      client.close();
      other.client.close();
    });

    it("test_payMany_partlyPaidBefore_sendsOnlyTheNewPayments", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const requests = payroll(fx, ["100", "200", "300"]);
      const single = await client.pay(requests[1]);
      const batch = await client.payMany(requests);
      expect(batch.sent).to.equal(2);
      expect(batch.results.map((r) => r.replay)).to.deep.equal([false, true, false]);
      expect(batch.results[1].intentId).to.equal(single.intentId);
      expect(batch.results.map((r) => r.nonce)).to.deep.equal([1n, 0n, 2n]);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("200"));
      client.close();
    });

    it("test_payMany_agentIsItsOwnRelayer_sendsEmptySignatures", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx, { relayer: fx.agent });
      const batch = await client.payMany(payroll(fx, ["1", "2"]));
      const tx = await ethers.provider.getTransaction(batch.txHash!);
      const [, signatures] = fx.module.interface.decodeFunctionData("submitBatch", tx!.data);
      expect(signatures).to.deep.equal(["0x", "0x"]);
      expect(tx!.from).to.equal(fx.agent.address);
      expect(batch.results.map((r) => r.status)).to.deep.equal(["Executed", "Executed"]);
      client.close();
    });
  });

  describe("when a payment breaks policy", function () {
    it("test_payMany_denialInTheMiddle_isReportedAndTheOthersPay", async function () {
      const fx = await loadFixture(treasuryFixture);
      const dai = await unlimitedToken(fx);
      const { client } = await agentClient(fx);
      const requests = payroll(fx, ["100", "200", "300"]);
      requests[1] = { ...requests[1], asset: dai };
      const batch = await client.payMany(requests);
      expect(batch.results.map((r) => [r.status, r.reason])).to.deep.equal([
        ["Executed", undefined],
        ["Denied", "AssetNotAllowed"],
        ["Executed", undefined],
      ]);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(usdc("300"));
      client.close();
    });
  });

  describe("when the module would reject a payment", function () {
    it("test_payMany_strikesWouldFreezeMidBatch_throwsAgentFrozenNamingThePaymentAndSendsNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 2n }));
      const dai = await unlimitedToken(fx);
      const { client, journal } = await agentClient(fx);
      const requests = payroll(fx, ["1", "2", "3"]);
      requests[0] = { ...requests[0], asset: dai };
      requests[1] = { ...requests[1], asset: dai };
      const blockBefore = await ethers.provider.getBlockNumber();
      const err = await client.payMany(requests).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AgentFrozenError);
      expect((err as AgentFrozenError).args.index).to.equal(2);
      expect((err as AgentFrozenError).message).to.match(/^Payment 3 of the batch: /);
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
      expect(
        readJournal(journal)
          .filter((e) => e.t === "closed")
          .map((e) => (e as { why: string }).why),
      ).to.deep.equal(["rejected", "rejected", "rejected"]);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      client.close();
    });

    it("test_payMany_firstPaidBeforeAndLaterOneRejected_errorNamesTheRequestNotItsPlaceInTheTransaction", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 2n }));
      const dai = await unlimitedToken(fx);
      const { client } = await agentClient(fx);
      const requests = payroll(fx, ["1", "2", "3", "4"]);
      await client.pay(requests[0]);
      requests[1] = { ...requests[1], asset: dai };
      requests[2] = { ...requests[2], asset: dai };
      // Request 0 is a replay and is not sent: the transaction would carry requests 1, 2 and 3, and 3 is rejected.
      const err = await client.payMany(requests).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AgentFrozenError);
      expect((err as AgentFrozenError).args.index).to.equal(3);
      expect((err as AgentFrozenError).message).to.match(/^Payment 4 of the batch: /);
      client.close();
    });

    it("test_payMany_modulePaused_throwsModulePausedForTheFirstPayment", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await fx.module.connect(fx.guardian).pause()).wait();
      const { client } = await agentClient(fx);
      const err = await client.payMany(payroll(fx, ["1", "2"])).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ModulePausedError);
      expect((err as ModulePausedError).args.index).to.equal(0);
      client.close();
    });
  });

  describe("when a request is malformed", function () {
    it("test_payMany_badAmountInRowTwo_throwsBatchRequestErrorNamingRowFieldAndValue", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx);
      const requests = payroll(fx, ["1", "12,5", "3"]);
      const err = await client.payMany(requests).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(BatchRequestError);
      expect((err as BatchRequestError).index).to.equal(1);
      expect((err as BatchRequestError).args).to.deep.include({ index: 1, field: "amount", value: "12,5" });
      expect((err as BatchRequestError).message).to.match(/^Payment 2 of the batch: .*12,5/);
      expect(readJournal(journal)).to.deep.equal([]);
      client.close();
    });

    it("test_payMany_samePaymentTwiceWithoutKeys_throwsDuplicateKeyNamingBothRows", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const row = { asset: "USDC", to: fx.alice.address, amount: "5", rationale: "salary" };
      const err = await client.payMany([row, { ...row, to: fx.bob.address }, row]).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(BatchRequestError);
      expect((err as BatchRequestError).index).to.equal(2);
      expect((err as BatchRequestError).args).to.deep.include({ field: "idempotencyKey", duplicateOf: 0 });
      expect((err as BatchRequestError).message).to.match(/same idempotency key as payment 1/);
      client.close();
    });

    it("test_payMany_emptyOrTooLong_throwsInvalidRequest", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      await expect(client.payMany([])).to.be.rejectedWith(InvalidRequestError, /at least one payment/);
      const many = payroll(
        fx,
        Array.from({ length: MAX_BATCH_PAYMENTS + 1 }, () => "1"),
      );
      await expect(client.payMany(many)).to.be.rejectedWith(
        InvalidRequestError,
        new RegExp(`at most ${MAX_BATCH_PAYMENTS}`),
      );
      client.close();
    });

    it("test_payMany_rowWithAnotherLane_throwsNamingTheLane", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const requests = payroll(fx, ["1", "2"]);
      requests[1] = { ...requests[1], lane: "grants" };
      await expect(client.payMany(requests, { lane: "payroll" })).to.be.rejectedWith(
        BatchRequestError,
        /Payment 2 of the batch: lane grants differs/,
      );
      client.close();
    });
  });

  describe("after a crash", function () {
    const crash = (at: string) => async (stage: string) => {
      if (stage === at) throw new Error(`simulated crash after ${stage}`);
    };

    it("test_payMany_crashAfterSending_reconnectRecordsOutcomesAndRetryPaysNothingMore", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const requests = payroll(fx, ["10", "20", "30"]);
      const first = await agentClient(fx, { journal, onStage: crash("sent") });
      await expect(first.client.payMany(requests)).to.be.rejectedWith(/simulated crash after sent/);
      first.client.close();

      const again = await agentClient(fx, { journal });
      expect(again.client.recovery.landed.map((r) => r.status)).to.deep.equal(["Executed", "Executed", "Executed"]);
      const retried = await again.client.payMany(requests);
      expect(retried.sent).to.equal(0);
      expect(retried.results.every((r) => r.replay && r.status === "Executed")).to.equal(true);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(usdc("30"));
      again.client.close();
    });

    it("test_payMany_crashBeforeSending_reconnectResumesEachOnceAndRetryReplays", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const requests = payroll(fx, ["10", "20"]);
      const first = await agentClient(fx, { journal, onStage: crash("signed") });
      await expect(first.client.payMany(requests)).to.be.rejectedWith(/simulated crash after signed/);
      first.client.close();
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);

      // Only the first payment had been signed when the process died: the journal holds one unfinished intent.
      const again = await agentClient(fx, { journal });
      expect(again.client.recovery.resumed.map((r) => r.status)).to.deep.equal(["Executed"]);
      const retried = await again.client.payMany(requests);
      expect(retried.results.map((r) => r.replay)).to.deep.equal([true, false]);
      expect(retried.sent).to.equal(1);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("10"));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("20"));
      again.client.close();
    });
  });
});

describe("AgentClient.dryRunMany", function () {
  it("test_dryRunMany_crossingTheWindow_showsEachRowsStatusAndTotalsWithoutSending", async function () {
    const fx = await loadFixture(treasuryFixture);
    const { client, journal } = await agentClient(fx, { lens: await fx.lens.getAddress() });
    // 6 x 1,000 USDC against a 5,000 window: the sixth waits for co-signers.
    const requests = payroll(fx, ["1000", "1000", "1000", "1000", "1000", "1000"]);
    const blockBefore = await ethers.provider.getBlockNumber();
    const preview = await client.dryRunMany(requests);
    expect(preview.rows.map((r) => r.status)).to.deep.equal([
      "Executed",
      "Executed",
      "Executed",
      "Executed",
      "Executed",
      "Queued",
    ]);
    expect(preview.rows.map((r) => r.nonce)).to.deep.equal([0n, 1n, 2n, 3n, 4n, 5n]);
    // Alone, the sixth row would fit: the model of one row disagrees, so no reason is claimed for it.
    expect(preview.rows[5].explained).to.equal(false);
    expect(preview.totals.map((t) => [t.asset.symbol, t.formatted])).to.deep.equal([["USDC", "5000"]]);
    expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
    expect(readJournal(journal)).to.deep.equal([]);

    const batch = await client.payMany(requests);
    expect(batch.results.map((r) => r.status)).to.deep.equal(preview.rows.map((r) => r.status));
    client.close();
  });

  it("test_dryRunMany_deniedRow_isExplainedAndPaidRowsAreReplays", async function () {
    const fx = await loadFixture(treasuryFixture);
    const dai = await unlimitedToken(fx);
    const { client } = await agentClient(fx, { lens: await fx.lens.getAddress() });
    const requests = payroll(fx, ["1", "2", "3"]);
    await client.pay(requests[0]);
    requests[2] = { ...requests[2], asset: dai };
    const preview = await client.dryRunMany(requests);
    expect(preview.rows.map((r) => [r.status, r.replay, r.reason])).to.deep.equal([
      ["Executed", true, undefined],
      ["Executed", false, undefined],
      ["Denied", false, "AssetNotAllowed"],
    ]);
    expect(preview.rows[2].strikes).to.deep.equal({ now: 0, max: 3, wouldFreeze: false });
    expect(preview.rows.map((r) => r.nonce)).to.deep.equal([undefined, 1n, 2n]);
    client.close();
  });
});
