/**
 * submitBatch (SPEC section 4, v3): what `submit` does for each intent, in order, in one transaction, for any mix of
 * agents. A rejection (anything `submit` would revert on) reverts the whole batch; a denial is recorded for its
 * intent and the batch goes on. Every intent is checked against the state the intents before it left: windows,
 * treasury limit, rate limit, strikes, idempotency keys, nonces, and the Safe's balance change.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ContractTransactionResponse, Signer, ZeroHash, id, parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  Status,
  Treasury,
  agentConfig,
  buildIntent,
  intentId,
  mocksFixture,
  moduleAsSafe,
  sign,
  tokenPayment,
  treasuryFixture,
  treasuryState,
  twoAgentsFixture,
} from "../fixtures";
import type { Intent } from "../../sdk/eip712";

const usdc = (n: string) => parseUnits(n, 6);

/** Signs each intent with its signer (default: the fixture's agent). */
async function signAll(fx: Treasury, intents: Intent[], signers: Signer[] = []): Promise<string[]> {
  return Promise.all(intents.map((intent, i) => sign(signers[i] ?? fx.agent, fx, intent)));
}

/** USDC payments from the fixture's agent at consecutive lane-0 nonces from the current one. */
async function usdcPayments(
  fx: Treasury,
  payments: [to: string, amount: bigint][],
  fields: Partial<Intent> = {},
): Promise<Intent[]> {
  const start = await fx.module.getNonce(fx.agent.address, 0);
  return Promise.all(
    payments.map(([to, amount], i) =>
      tokenPayment(fx, fx.usdcAddress, to, amount, { nonce: start + BigInt(i), ...fields }),
    ),
  );
}

/** The module's events of a transaction, in log order, as [name, intentId]. */
async function outcomeEvents(fx: Treasury, tx: Promise<ContractTransactionResponse>): Promise<[string, string][]> {
  const receipt = await (await tx).wait();
  if (!receipt) throw new Error("no receipt");
  return receipt.logs
    .filter((log) => log.address.toLowerCase() === fx.moduleAddress.toLowerCase())
    .map((log) => fx.module.interface.parseLog(log)!)
    .map((parsed) => [parsed.name, String(parsed.args[0])]);
}

describe("submitBatch", function () {
  describe("when every intent fits the auto tier", function () {
    it("test_submitBatch_threePayments_executeInOrderWithOneEventAndStatusEach", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("100")],
        [fx.bob.address, usdc("200")],
        [fx.alice.address, usdc("300")],
      ]);
      const signatures = await signAll(fx, intents);
      const ids = intents.map((i) => intentId(fx, i));
      const [returnedIds, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
      expect(returnedIds).to.deep.equal(ids);
      expect(statuses).to.deep.equal([Status.Executed, Status.Executed, Status.Executed]);

      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(ids[1], fx.agent.address, fx.usdcAddress, fx.bob.address, usdc("200"), false, intents[1].rationale);
      expect(await outcomeEvents(fx, tx)).to.deep.equal(ids.map((i) => ["IntentExecuted", i]));
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("400"));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("200"));
      expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(usdc("1000000") - usdc("600"));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(3n);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(usdc("4400"));
    });

    it("test_submitBatch_agentSubmitsItsOwnBatchWithEmptySignatures_executes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("10")],
        [fx.bob.address, usdc("20")],
      ]);
      await expect(fx.module.connect(fx.agent).submitBatch(intents, ["0x", "0x"]))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intents[1]),
          fx.agent.address,
          fx.usdcAddress,
          fx.bob.address,
          usdc("20"),
          false,
          intents[1].rationale,
        );
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("20"));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(2n);
    });

    it("test_submitBatch_emptyBatch_returnsNothingAndEmitsNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.module.connect(fx.relayer).submitBatch.staticCall([], [])).to.deep.equal([[], []]);
      expect(await outcomeEvents(fx, fx.module.connect(fx.relayer).submitBatch([], []))).to.deep.equal([]);
    });

    it("test_submitBatch_reviewRequest_isQueuedLikeSubmitQueuesIt", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("10")],
        [fx.bob.address, usdc("20")],
      ]);
      intents[1] = { ...intents[1], review: true };
      const ids = intents.map((i) => intentId(fx, i));
      const tx = fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents));
      expect(await outcomeEvents(fx, tx)).to.deep.equal([
        ["IntentExecuted", ids[0]],
        ["IntentQueued", ids[1]],
      ]);
      expect(await fx.module.intentStatus(ids[1])).to.equal(Status.Queued);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(0n);
    });
  });

  describe("when an intent in the middle breaks policy", function () {
    it("test_submitBatch_denialInTheMiddle_isRecordedAndTheBatchGoesOn", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = await fx.module.getNonce(fx.agent.address, 0);
      const intents = [
        await tokenPayment(fx, fx.usdcAddress, fx.alice.address, usdc("100"), { nonce: start }),
        // A token the agent has no limit for: Denied AssetNotAllowed, nonce consumed, one strike.
        await tokenPayment(fx, fx.bob.address, fx.alice.address, 1n, { nonce: start + 1n }),
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, usdc("50"), { nonce: start + 2n }),
      ];
      const signatures = await signAll(fx, intents);
      const ids = intents.map((i) => intentId(fx, i));
      const [, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
      expect(statuses).to.deep.equal([Status.Executed, Status.Denied, Status.Executed]);

      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(ids[1], fx.agent.address, DenyReason.AssetNotAllowed, intents[1].rationale);
      expect(await outcomeEvents(fx, tx)).to.deep.equal([
        ["IntentExecuted", ids[0]],
        ["IntentDenied", ids[1]],
        ["IntentExecuted", ids[2]],
      ]);
      expect(await fx.module.intentStatus(ids[1])).to.equal(Status.Denied);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(start + 3n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("100"));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("50"));
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    it("test_submitBatch_strikesFreezeTheAgentMidBatch_itsNextIntentRevertsTheWholeBatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (
        await moduleAsSafe(fx)
      ).setAgent(fx.agent.address, agentConfig({ maxStrikes: 2n, strikeWindow: BigInt(DAY) }));
      const start = await fx.module.getNonce(fx.agent.address, 0);
      const denied = (nonce: bigint) => tokenPayment(fx, fx.bob.address, fx.alice.address, 1n, { nonce });
      const twoDenials = [await denied(start), await denied(start + 1n)];
      // Two denials freeze the agent within the batch, as two submits would.
      const [, statuses] = await fx.module
        .connect(fx.relayer)
        .submitBatch.staticCall(twoDenials, await signAll(fx, twoDenials));
      expect(statuses).to.deep.equal([Status.Denied, Status.Denied]);

      // A third intent of the frozen agent is a rejection (submit would revert AgentIsFrozen): nothing is kept,
      // not even the denials and the freeze before it.
      const third = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, usdc("1"), { nonce: start + 2n });
      const intents = [...twoDenials, third];
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents)))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
      expect(await fx.module.intentStatus(intentId(fx, twoDenials[0]))).to.equal(Status.None);
    });

    it("test_submitBatch_rateLimit_countsEveryEarlierIntentOfTheBatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (
        await moduleAsSafe(fx)
      ).setAgent(fx.agent.address, agentConfig({ maxIntentsPerWindow: 2n, rateWindow: BigInt(DAY) }));
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("1")],
        [fx.alice.address, usdc("2")],
        [fx.alice.address, usdc("3")],
      ]);
      const ids = intents.map((i) => intentId(fx, i));
      const tx = fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents));
      await expect(tx)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(ids[2], fx.agent.address, DenyReason.RateLimited, intents[2].rationale);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("3"));
    });
  });

  describe("when an intent would be rejected", function () {
    it("test_submitBatch_badSignatureInTheMiddle_revertsAllNothingRecorded", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("100")],
        [fx.bob.address, usdc("200")],
        [fx.alice.address, usdc("300")],
      ]);
      const signatures = await signAll(fx, intents, [fx.agent, fx.attacker, fx.agent]);
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, intents[1]));
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
    });

    it("test_submitBatch_nonceGap_revertsIntentNonceMismatchForTheIntentThatHasIt", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("1")],
        [fx.bob.address, usdc("2")],
      ]);
      intents[1] = { ...intents[1], nonce: 5n };
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents)))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 5n);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
    });

    it("test_submitBatch_sameKeylessIntentTwice_secondReusesTheNonceAndRevertsAll", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [intent] = await usdcPayments(fx, [[fx.alice.address, usdc("1")]]);
      const signature = await sign(fx.agent, fx, intent);
      await expect(fx.module.connect(fx.relayer).submitBatch([intent, intent], [signature, signature]))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
    });

    it("test_submitBatch_relayerWithEmptySignature_revertsIntentSenderNotAgent", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("1")],
        [fx.bob.address, usdc("2")],
      ]);
      const signatures = [await sign(fx.agent, fx, intents[0]), "0x"];
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentSenderNotAgent")
        .withArgs(fx.relayer.address, fx.agent.address);
    });

    it("test_submitBatch_moreIntentsThanSignatures_revertsBatchLengthMismatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("1")],
        [fx.bob.address, usdc("2")],
      ]);
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, [await sign(fx.agent, fx, intents[0])]))
        .to.be.revertedWithCustomError(fx.module, "BatchLengthMismatch")
        .withArgs(2n, 1n);
    });

    it("test_submitBatch_whilePaused_revertsModuleIsPaused", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await fx.module.connect(fx.guardian).pause()).wait();
      const intents = await usdcPayments(fx, [[fx.alice.address, usdc("1")]]);
      await expect(
        fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents)),
      ).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
    });

    it("test_submitBatch_expiredIntentLast_revertsIntentExpiredAndUndoesTheEarlierPayments", async function () {
      const fx = await loadFixture(treasuryFixture);
      const now = BigInt(await time.latest());
      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("1")],
        [fx.bob.address, usdc("2")],
      ]);
      intents[1] = { ...intents[1], validUntil: now + 5n };
      const signatures = await signAll(fx, intents);
      const before = await treasuryState(fx);
      await time.setNextBlockTimestamp(now + 10n);
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentExpired")
        .withArgs(now + 5n, now + 10n);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });
  });

  describe("when the Safe's balance moves more than an intent charged", function () {
    it("test_submitBatch_overdrawingTokenAfterAGoodPayment_revertsBalanceChangeExceedsChargeForThatIntent", async function () {
      const fx = await loadFixture(mocksFixture);
      const overdrawing = await fx.tokens.overdrawing.getAddress();
      const start = await fx.module.getNonce(fx.agent.address, 0);
      const intents = [
        await tokenPayment(fx, fx.usdcAddress, fx.alice.address, usdc("100"), { nonce: start }),
        await tokenPayment(fx, overdrawing, fx.alice.address, usdc("250"), { nonce: start + 1n }),
      ];
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents)))
        .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
        .withArgs(overdrawing, usdc("250"), usdc("250") + 1n);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });
  });

  describe("when two agents share a batch", function () {
    it("test_submitBatch_twoAgents_eachSignsItsOwnAndEachNonceAdvances", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const a1 = await buildIntent(fx, { target: fx.alice.address, value: parseEther("0.5") });
      const a2first = await buildIntent(fx, {
        agent: fx.agent2.address,
        target: fx.bob.address,
        value: parseEther("0.25"),
      });
      const a2second = { ...a2first, nonce: a2first.nonce + 1n, value: parseEther("0.75") };
      const a1second = { ...a1, nonce: a1.nonce + 1n, target: fx.bob.address, value: parseEther("0.1") };
      const intents = [a1, a2first, a1second, a2second];
      const signatures = await signAll(fx, intents, [fx.agent, fx.agent2, fx.agent, fx.agent2]);
      const ids = intents.map((i) => intentId(fx, i));
      const [aliceBefore, bobBefore] = await Promise.all(
        [fx.alice, fx.bob].map((s) => ethers.provider.getBalance(s.address)),
      );

      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(ids[1], fx.agent2.address, ETH, fx.bob.address, parseEther("0.25"), false, a2first.rationale);
      expect(await outcomeEvents(fx, tx)).to.deep.equal(ids.map((i) => ["IntentExecuted", i]));
      expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(aliceBefore + parseEther("0.5"));
      expect(await ethers.provider.getBalance(fx.bob.address)).to.equal(bobBefore + parseEther("1.1"));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(2n);
      expect(await fx.module.getNonce(fx.agent2.address, 0)).to.equal(2n);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.4"));
      expect(await fx.module.availableAllowance(fx.agent2.address, ETH)).to.equal(parseEther("2"));
    });

    it("test_submitBatch_twoAgentsCrossTheTreasuryLimit_laterIntentIsQueued", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await (await moduleAsSafe(fx)).setTreasuryLimit(ETH, parseEther("2.5"), DAY);
      const a1 = await buildIntent(fx, { target: fx.alice.address, value: parseEther("1") });
      const a2 = await buildIntent(fx, { agent: fx.agent2.address, target: fx.alice.address, value: parseEther("1") });
      const a2over = { ...a2, nonce: a2.nonce + 1n, target: fx.bob.address };
      const a1fits = { ...a1, nonce: a1.nonce + 1n, value: parseEther("0.5") };
      const intents = [a1, a2, a2over, a1fits];
      const signers: HardhatEthersSigner[] = [fx.agent, fx.agent2, fx.agent2, fx.agent];
      const [, statuses] = await fx.module
        .connect(fx.relayer)
        .submitBatch.staticCall(intents, await signAll(fx, intents, signers));
      // 1 + 1 = 2 ETH; a third 1 ETH would make 3 > 2.5 across agents: queued; then 0.5 makes exactly 2.5: executed.
      expect(statuses).to.deep.equal([Status.Executed, Status.Executed, Status.Queued, Status.Executed]);
    });
  });

  describe("when a batch crosses the agent's window", function () {
    it("test_submitBatch_crossesTheWindow_laterPaymentsQueueUntilOneFitsAgain", async function () {
      const fx = await loadFixture(treasuryFixture);
      // The window (5,000 USDC a day) already holds 3,500.
      const earlier = await usdcPayments(fx, [
        [fx.bob.address, usdc("1000")],
        [fx.bob.address, usdc("1000")],
        [fx.bob.address, usdc("1000")],
        [fx.bob.address, usdc("500")],
      ]);
      await (await fx.module.connect(fx.relayer).submitBatch(earlier, await signAll(fx, earlier))).wait();
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(usdc("1500"));

      const intents = await usdcPayments(fx, [
        [fx.alice.address, usdc("1000")], // 4,500: executed
        [fx.alice.address, usdc("1000")], // 5,500 > 5,000: queued (on its own it would have fitted)
        [fx.alice.address, usdc("1000")], // queued
        [fx.alice.address, usdc("400")], //  4,900: executed
      ]);
      const signatures = await signAll(fx, intents);
      const [, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
      expect(statuses).to.deep.equal([Status.Executed, Status.Queued, Status.Queued, Status.Executed]);
      await (await fx.module.connect(fx.relayer).submitBatch(intents, signatures)).wait();
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("1400"));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(usdc("100"));
      // Promise 1 over the whole day: 4,900 of 5,000 left in the auto tier; the two queued wait for co-signers.
      expect(await fx.module.intentStatus(intentId(fx, intents[1]))).to.equal(Status.Queued);
    });
  });

  describe("when intents carry idempotency keys", function () {
    it("test_submitBatch_wholeBatchRetried_replaysEveryIntentAndPaysNothingMore", async function () {
      const fx = await loadFixture(treasuryFixture);
      const keys = ["payroll-2025-01/alice", "payroll-2025-01/bob", "payroll-2025-01/carol"].map((k) => id(k));
      const start = await fx.module.getNonce(fx.agent.address, 0);
      const intents = await Promise.all(
        [fx.alice, fx.bob, fx.attacker].map((to, i) =>
          tokenPayment(fx, fx.usdcAddress, to.address, usdc(String(100 * (i + 1))), {
            nonce: start + BigInt(i),
            idempotencyKey: keys[i],
          }),
        ),
      );
      const signatures = await signAll(fx, intents);
      const ids = intents.map((i) => intentId(fx, i));
      await (await fx.module.connect(fx.relayer).submitBatch(intents, signatures)).wait();
      const after = await treasuryState(fx, {
        accounts: [fx.safeAddress, fx.alice.address, fx.bob.address, fx.attacker.address],
      });

      // The same batch again (a lost receipt), then rebuilt at fresh nonces with new deadlines: replays only.
      const now = BigInt(await time.latest());
      const rebuilt = intents.map((intent, i) => ({ ...intent, nonce: 3n + BigInt(i), validUntil: now + 7200n }));
      for (const [retry, retrySignatures] of [
        [intents, signatures],
        [rebuilt, await signAll(fx, rebuilt)],
      ] as const) {
        const [returnedIds, statuses] = await fx.module
          .connect(fx.relayer)
          .submitBatch.staticCall(retry, retrySignatures);
        expect(returnedIds).to.deep.equal(ids);
        expect(statuses).to.deep.equal([Status.Executed, Status.Executed, Status.Executed]);
        const tx = fx.module.connect(fx.relayer).submitBatch(retry, retrySignatures);
        await expect(tx).to.emit(fx.module, "IdempotentReplay").withArgs(ids[2], fx.agent.address, keys[2]);
        expect(await outcomeEvents(fx, tx)).to.deep.equal(ids.map((i) => ["IdempotentReplay", i]));
        expect(
          await treasuryState(fx, {
            accounts: [fx.safeAddress, fx.alice.address, fx.bob.address, fx.attacker.address],
          }),
        ).to.deep.equal(after);
      }
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(3n);
    });

    it("test_submitBatch_sameKeyAndPayloadTwiceInOneBatch_secondIsAReplayOfTheFirst", async function () {
      const fx = await loadFixture(treasuryFixture);
      const key = id("invoice-42");
      const [first, second] = await usdcPayments(
        fx,
        [
          [fx.alice.address, usdc("42")],
          [fx.alice.address, usdc("42")],
        ],
        { idempotencyKey: key },
      );
      const original = intentId(fx, first);
      const signatures = await signAll(fx, [first, second]);
      const [returnedIds, statuses] = await fx.module
        .connect(fx.relayer)
        .submitBatch.staticCall([first, second], signatures);
      expect(returnedIds).to.deep.equal([original, original]);
      expect(statuses).to.deep.equal([Status.Executed, Status.Executed]);
      const tx = fx.module.connect(fx.relayer).submitBatch([first, second], signatures);
      expect(await outcomeEvents(fx, tx)).to.deep.equal([
        ["IntentExecuted", original],
        ["IdempotentReplay", original],
      ]);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("42"));
      // The replay's nonce was neither checked nor consumed.
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });

    it("test_submitBatch_sameKeyOtherPayloadInOneBatch_revertsIdempotencyKeyConflict", async function () {
      const fx = await loadFixture(treasuryFixture);
      const key = id("invoice-43");
      const intents = await usdcPayments(
        fx,
        [
          [fx.alice.address, usdc("43")],
          [fx.bob.address, usdc("43")],
        ],
        { idempotencyKey: key },
      );
      await expect(fx.module.connect(fx.relayer).submitBatch(intents, await signAll(fx, intents)))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(fx.agent.address, key, intentId(fx, intents[0]));
      expect(await fx.module.idempotencyRecord(fx.agent.address, key)).to.deep.equal([ZeroHash, ZeroHash]);
    });
  });

  describe("when a recipient re-enters", function () {
    it("test_submitBatch_recipientReentersSubmit_theLockHoldsForTheWholeBatch", async function () {
      const fx = await loadFixture(mocksFixture);
      const start = await fx.module.getNonce(fx.agent.address, 0);
      // The recipient of the first payment tries to submit the batch's second intent itself, in between.
      const intents = [
        await buildIntent(fx, { target: fx.reentrantAddress, value: parseEther("0.1"), nonce: start }),
        await tokenPayment(fx, fx.usdcAddress, fx.alice.address, usdc("1"), { nonce: start + 1n }),
      ];
      const signatures = await signAll(fx, intents);
      const reentry = fx.module.interface.encodeFunctionData("submit", [intents[1], signatures[1]]);
      await (await fx.reentrant.arm(reentry, true)).wait();
      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx)
        .to.emit(fx.reentrant, "Reentered")
        .withArgs(false, id("ReentrancyGuardReentrantCall()").slice(0, 10));
      expect(await outcomeEvents(fx, tx)).to.deep.equal(intents.map((i) => ["IntentExecuted", intentId(fx, i)]));
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("1"));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(start + 2n);
    });
  });
});
