/**
 * EscalationQueue (SPEC section 6): what happens to an intent above the auto tier. It waits `escalationDelay` (eta),
 * then runs through `executeQueued` while `eta <= now < eta + gracePeriod` once `threshold` current co-signers have
 * approved it, on-chain or by EIP-712 signature (EOA or ERC-1271), in the current co-signer era (v3). It can be
 * cancelled by a guardian, a co-signer, the owner or its agent. Limits are checked again at execution; a failing
 * inner call leaves it queued; a stuck intent never blocks another. Every forbidden transition reverts
 * `IntentUnexpectedStatus(intentId, current, expectedStates)` with `expectedStates = 1 << Status.Queued`.
 *
 * Promise 3: escalated intents execute only with the threshold of current co-signers, not before `eta`, never after
 * expiry or cancellation.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers, network } from "hardhat";
import { AbiCoder, ContractTransactionResponse, Log, ZeroAddress, keccak256, parseEther, toUtf8Bytes } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  DenyReason,
  ETH,
  Status,
  Treasury,
  agentConfig,
  approvalSignature,
  buildIntent,
  callTargetFixture,
  cosignerSignatures,
  impersonate,
  intentId,
  moduleAsSafe,
  moduleWithoutCosignersFixture,
  safeCosignerFixture,
  sign,
  submitSigned,
  treasuryFixture,
  twoAgentsFixture,
} from "../fixtures";
import { Intent, hashIntent, signCosignerApproval, signIntent } from "../../sdk/eip712";
import { execSafeCall } from "../../sdk/safe";
import { readField, stateField, writeField } from "../layout";
import { DELAY, FIVE_ETH, GRACE, QUEUED_ONLY, Queued, ethBalance, queuePayment } from "./helpers";

/** Proposes `intent` as an agent-signed review request (`review` set: always queued) and returns it as signed. */
async function proposeIntent(fx: Treasury, unsigned: Intent): Promise<Queued> {
  const intent = { ...unsigned, review: true };
  const receipt = await (await fx.module.connect(fx.relayer).propose(intent, await sign(fx.agent, fx, intent))).wait();
  const queuedAt = BigInt((await receipt!.getBlock()).timestamp);
  return { intent, id: intentId(fx, intent), eta: queuedAt + DELAY };
}

/** The signature of a Safe co-signer: its owner signs the SafeMessage wrapping the module's approval digest. */
async function safeCosignerSignature(fx: Treasury, cosignerSafe: string, safeOwner: HardhatEthersSigner, id_: string) {
  const digest = await fx.module.hashCosignerApproval(id_);
  // CompatibilityFallbackHandler.isValidSignature checks `SafeMessage(bytes message)` with message = abi.encode(digest)
  // under the co-signer Safe's own domain (chainId, verifyingContract = that Safe).
  return safeOwner.signTypedData(
    { chainId: fx.chainId, verifyingContract: cosignerSafe },
    { SafeMessage: [{ name: "message", type: "bytes" }] },
    { message: AbiCoder.defaultAbiCoder().encode(["bytes32"], [digest]) },
  );
}

async function receiptOf(tx: ContractTransactionResponse) {
  const receipt = await tx.provider.getTransactionReceipt(tx.hash);
  if (!receipt) throw new Error(`no receipt for ${tx.hash}: mine the block first`);
  return receipt;
}

/** Sends `send()` transactions into one block mined at `timestamp` (automine off meanwhile), in order. */
async function inOneBlock(timestamp: bigint, ...send: (() => Promise<ContractTransactionResponse>)[]) {
  await network.provider.send("evm_setAutomine", [false]);
  try {
    const txs: ContractTransactionResponse[] = [];
    for (const s of send) txs.push(await s());
    await time.setNextBlockTimestamp(timestamp);
    await network.provider.send("evm_mine", []);
    const receipts = await Promise.all(txs.map(receiptOf));
    // Same block, in the order sent.
    expect(new Set(receipts.map((r) => r.blockNumber)).size).to.equal(1);
    expect(receipts.map((r) => r.index)).to.deep.equal(receipts.map((_, i) => i));
    return receipts;
  } finally {
    await network.provider.send("evm_setAutomine", [true]);
  }
}

describe("EscalationQueue", function () {
  describe("the life of a queued intent", function () {
    it("reports an intent it never recorded as no agent, no eta, no approvals and status None [test_intent_unknownId_allZeroStatusNone]", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.module.intent(keccak256(toUtf8Bytes("never submitted")))).to.deep.equal([
        ZeroAddress,
        0n,
        0n,
        Status.None,
      ]);
    });

    describe("Queued -> Executed", function () {
      it("executes once the threshold has approved, on-chain and by signature, and never again (Promise 3) [test_executeQueued_thresholdApprovals_executesOnceAndEmits]", async function () {
        // Promise 3 (allowed path) and Promise 6 (one outcome, one event).
        const fx = await loadFixture(treasuryFixture);
        const intent = await buildIntent(fx, { value: FIVE_ETH });
        const id_ = intentId(fx, intent);
        const tx = await submitSigned(fx, intent);
        const queuedAt = BigInt((await (await tx.wait())!.getBlock()).timestamp);
        const eta = queuedAt + DELAY;
        await expect(tx).to.emit(fx.module, "IntentQueued");
        expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, eta, 0n, Status.Queued]);

        await expect(fx.module.connect(fx.cosigners[0]).approve(id_))
          .to.emit(fx.module, "IntentApproved")
          .withArgs(id_, fx.cosigners[0].address);
        const signatures = await cosignerSignatures(fx, id_, [fx.cosigners[1]]);
        const safeBefore = await ethBalance(fx, fx.safeAddress);
        const aliceBefore = await ethBalance(fx, fx.alice.address);

        await time.setNextBlockTimestamp(eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(intent, signatures))
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(id_, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, intent.rationale);

        expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore - FIVE_ETH);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
        expect(await fx.module.intentStatus(id_)).to.equal(Status.Executed);
        // Promise 2: executed at most once.
        await expect(fx.module.connect(fx.relayer).executeQueued(intent, signatures))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(id_, Status.Executed, QUEUED_ONLY);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
      });
    });

    describe("Queued -> Cancelled", function () {
      const cancellers: [string, (fx: Treasury) => Promise<string>, (fx: Treasury) => Promise<HardhatEthersSigner>][] =
        [
          ["Guardian", async (fx) => fx.guardian.address, async (fx) => fx.guardian],
          ["Cosigner", async (fx) => fx.cosigners[2].address, async (fx) => fx.cosigners[2]],
          ["Owner", async (fx) => fx.safeAddress, async (fx) => impersonate(fx.safeAddress)],
          ["Agent", async (fx) => fx.agent.address, async (fx) => fx.agent],
        ];
      for (const [role, addressOf, signerOf] of cancellers) {
        it(`lets the ${role.toLowerCase()} cancel it, after which nothing moves even with every approval [test_cancel_by${role}_cancelsAndNothingMoves]`, async function () {
          const fx = await loadFixture(treasuryFixture);
          const q = await queuePayment(fx);
          await fx.module.connect(fx.cosigners[0]).approve(q.id);
          await expect(fx.module.connect(await signerOf(fx)).cancel(q.id))
            .to.emit(fx.module, "IntentCancelled")
            .withArgs(q.id, await addressOf(fx));
          expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);

          // Promise 3: never after cancellation, even with every approval, inside the window.
          const aliceBefore = await ethBalance(fx, fx.alice.address);
          const all = await cosignerSignatures(fx, q.id, fx.cosigners);
          await time.increaseTo(q.eta);
          await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, all))
            .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
            .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
          expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
        });
      }

      it("refuses a stranger's or a relayer's cancel with CancelNotAuthorized [test_cancel_byStranger_revertsCancelNotAuthorized]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await expect(fx.module.connect(fx.attacker).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
          .withArgs(q.id, fx.attacker.address);
        // A relayer is not a canceller either.
        await expect(fx.module.connect(fx.relayer).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
          .withArgs(q.id, fx.relayer.address);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      });

      it("refuses another agent's cancel [test_cancel_byAnotherAgent_revertsCancelNotAuthorized]", async function () {
        const fx = await loadFixture(twoAgentsFixture);
        const q = await queuePayment(fx);
        await expect(fx.module.connect(fx.agent2).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
          .withArgs(q.id, fx.agent2.address);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      });

      it("refuses the cancel of a co-signer no longer in the set [test_cancel_byRemovedCosigner_revertsCancelNotAuthorized]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const [cos1, cos2, cos3] = fx.cosigners;
        await (await moduleAsSafe(fx)).setCosigners([cos2.address, cos3.address], 2);
        await expect(fx.module.connect(cos1).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
          .withArgs(q.id, cos1.address);
      });

      it("reads the intents of a removed agent as cancelled, for good, even once it is added again [test_removeAgent_queuedIntent_readsCancelledAndStaysDeadAfterReAdding]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await fx.module.connect(fx.cosigners[1]).approve(q.id);
        const safe = await moduleAsSafe(fx);
        await expect(safe.removeAgent(fx.agent.address)).to.emit(fx.module, "AgentRemoved").withArgs(fx.agent.address);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
        expect((await fx.module.intent(q.id)).status).to.equal(Status.Cancelled);

        // Re-adding the agent opens a new activation: its old queued intents stay dead (Promise 3).
        await safe.setAgent(fx.agent.address, agentConfig());
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
        await expect(fx.module.connect(fx.guardian).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
      });
    });

    describe("Queued -> Expired", function () {
      it("reads the intent as expired from eta + gracePeriod on [test_intentStatus_atEtaPlusGrace_readsExpired]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await time.increaseTo(q.eta + GRACE - 1n);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
        await time.increaseTo(q.eta + GRACE);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Expired);
        expect(await fx.module.intent(q.id)).to.deep.equal([fx.agent.address, q.eta, 0n, Status.Expired]);
      });
    });

    describe("forbidden transitions", function () {
      // Each state is reached for real; then approve, cancel and executeQueued (with every signature) all revert.
      const states: [string, bigint, (fx: Treasury) => Promise<{ intent: Intent; id: string }>][] = [
        [
          "None",
          Status.None,
          async (fx) => {
            const intent = await buildIntent(fx, { value: FIVE_ETH });
            return { intent, id: intentId(fx, intent) };
          },
        ],
        [
          "Executed",
          Status.Executed,
          async (fx) => {
            const q = await queuePayment(fx);
            await time.increaseTo(q.eta);
            await fx.module.executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2)));
            return q;
          },
        ],
        [
          "Denied",
          Status.Denied,
          async (fx) => {
            // 11 ETH is above the agent's escalatedPerTx hard cap of 10 ETH.
            const intent = await buildIntent(fx, { value: parseEther("11") });
            const id_ = intentId(fx, intent);
            await expect(submitSigned(fx, intent))
              .to.emit(fx.module, "IntentDenied")
              .withArgs(id_, fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
            return { intent, id: id_ };
          },
        ],
        [
          "Cancelled",
          Status.Cancelled,
          async (fx) => {
            const q = await queuePayment(fx);
            await fx.module.connect(fx.guardian).cancel(q.id);
            await time.increaseTo(q.eta);
            return q;
          },
        ],
        [
          "Expired",
          Status.Expired,
          async (fx) => {
            const q = await queuePayment(fx);
            await time.increaseTo(q.eta + GRACE);
            return q;
          },
        ],
      ];
      for (const [name, status, reach] of states) {
        describe(`when the intent is ${name}`, function () {
          it(`refuses an approval with IntentUnexpectedStatus [test_approve_${name}_revertsIntentUnexpectedStatus]`, async function () {
            const fx = await loadFixture(treasuryFixture);
            const { id: id_ } = await reach(fx);
            expect(await fx.module.intentStatus(id_)).to.equal(status);
            await expect(fx.module.connect(fx.cosigners[2]).approve(id_))
              .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
              .withArgs(id_, status, QUEUED_ONLY);
            expect(await fx.module.hasApproved(id_, fx.cosigners[2].address)).to.equal(false);
          });

          it(`refuses every canceller with IntentUnexpectedStatus [test_cancel_${name}_revertsIntentUnexpectedStatus]`, async function () {
            const fx = await loadFixture(treasuryFixture);
            const { id: id_ } = await reach(fx);
            for (const canceller of [fx.guardian, fx.cosigners[0], fx.agent, await impersonate(fx.safeAddress)]) {
              await expect(fx.module.connect(canceller).cancel(id_))
                .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
                .withArgs(id_, status, QUEUED_ONLY);
            }
            expect(await fx.module.intentStatus(id_)).to.equal(status);
          });

          it(`refuses to execute it, even with every signature, with IntentUnexpectedStatus [test_executeQueued_${name}_revertsIntentUnexpectedStatus]`, async function () {
            const fx = await loadFixture(treasuryFixture);
            const { intent, id: id_ } = await reach(fx);
            const safeBefore = await ethBalance(fx, fx.safeAddress);
            await expect(
              fx.module.connect(fx.relayer).executeQueued(intent, await cosignerSignatures(fx, id_, fx.cosigners)),
            )
              .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
              .withArgs(id_, status, QUEUED_ONLY);
            expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore);
          });
        });
      }
    });
  });

  describe("time boundaries", function () {
    // Promise 3: runnable exactly while eta <= now < eta + gracePeriod.
    // Promise 3: runnable exactly while eta <= now < eta + gracePeriod.
    it("refuses to execute before eta with IntentNotReady, an early approval counting [test_executeQueued_atEtaMinusOne_revertsIntentNotReady]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      // Approving before eta is allowed; it does not make the intent ready.
      await fx.module.connect(fx.cosigners[2]).approve(q.id);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
      await time.setNextBlockTimestamp(q.eta - 1n);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentNotReady")
        .withArgs(q.id, q.eta, q.eta - 1n);
      expect(await fx.module.intent(q.id)).to.deep.equal([fx.agent.address, q.eta, 1n, Status.Queued]);
    });

    it("executes at exactly eta [test_executeQueued_atEta_executes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await time.setNextBlockTimestamp(q.eta);
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2))),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      expect(await time.latest()).to.equal(Number(q.eta));
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
    });

    it("executes in the last second of the grace period, long after the intent's own validUntil [test_executeQueued_atEtaPlusGraceMinusOne_executes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      // Long after the intent's own validUntil: that bounds submission only, a queued intent runs in its window.
      expect(q.intent.validUntil).to.be.lessThan(q.eta + GRACE - 1n);
      await time.setNextBlockTimestamp(q.eta + GRACE - 1n);
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners.slice(1))),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
    });
    for (const [label, offset] of [
      ["EtaPlusGrace", 0n],
      ["EtaPlusGracePlusOne", 1n],
    ] as const) {
      it(`refuses to execute or cancel at eta + gracePeriod${offset === 0n ? "" : " + 1"}: the intent has expired [test_executeQueued_at${label}_revertsExpired]`, async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        const signatures = await cosignerSignatures(fx, q.id, [fx.cosigners[1]]);
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        await time.setNextBlockTimestamp(q.eta + GRACE + offset);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Expired, QUEUED_ONLY);
        expect(await time.latest()).to.equal(Number(q.eta + GRACE + offset));
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Expired);
        await expect(fx.module.connect(fx.guardian).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Expired, QUEUED_ONLY);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
      });
    }

    describe("when two transactions share one block", function () {
      it("executes in the block of the approval that completes the threshold [test_approveThenExecuteQueued_sameBlock_bothSucceed]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        const [approved, executed] = await inOneBlock(
          q.eta,
          () => fx.module.connect(fx.cosigners[1]).approve(q.id, { gasLimit: 300_000 }),
          () => fx.module.connect(fx.relayer).executeQueued(q.intent, [], { gasLimit: 1_000_000 }),
        );
        expect(approved.status).to.equal(1);
        expect(executed.status).to.equal(1);
        const events = executed.logs
          .map((l) => fx.module.interface.parseLog(l))
          .filter((p) => p?.name === "IntentExecuted");
        expect(events.map((e) => [...e!.args])).to.deep.equal([
          [q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale],
        ]);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
      });

      it("executes once when two executions share a block (Promise 2) [test_executeQueuedTwice_sameBlock_secondReverts]", async function () {
        // Promise 2: an intentId executes at most once, even twice in one block.
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        const [first, second] = await inOneBlock(
          q.eta,
          () => fx.module.connect(fx.relayer).executeQueued(q.intent, signatures, { gasLimit: 1_000_000 }),
          () => fx.module.connect(fx.attacker).executeQueued(q.intent, signatures, { gasLimit: 1_000_000 }),
        );
        expect([first.status, second.status]).to.deep.equal([1, 0]);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
        // Why the second failed, replayed on the resulting state:
        await expect(fx.module.connect(fx.attacker).executeQueued.staticCall(q.intent, signatures))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Executed, QUEUED_ONLY);
      });

      it("lets a cancel earlier in the block win [test_cancelThenExecuteQueued_sameBlock_cancelWins]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        const [cancelled, executed] = await inOneBlock(
          q.eta,
          () => fx.module.connect(fx.guardian).cancel(q.id, { gasLimit: 300_000 }),
          () => fx.module.connect(fx.relayer).executeQueued(q.intent, signatures, { gasLimit: 1_000_000 }),
        );
        expect([cancelled.status, executed.status]).to.deep.equal([1, 0]);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
        await expect(fx.module.connect(fx.relayer).executeQueued.staticCall(q.intent, signatures))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
      });

      it("lets an execution earlier in the block win [test_executeQueuedThenCancel_sameBlock_executionWins]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        const [executed, cancelled] = await inOneBlock(
          q.eta,
          () => fx.module.connect(fx.relayer).executeQueued(q.intent, signatures, { gasLimit: 1_000_000 }),
          () => fx.module.connect(fx.guardian).cancel(q.id, { gasLimit: 300_000 }),
        );
        expect([executed.status, cancelled.status]).to.deep.equal([1, 0]);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
      });
    });
  });

  describe("approvals", function () {
    describe("on-chain approve", function () {
      it("records a co-signer's approval and emits IntentApproved [test_approve_cosigner_recordsAndEmits]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await expect(fx.module.connect(fx.cosigners[1]).approve(q.id))
          .to.emit(fx.module, "IntentApproved")
          .withArgs(q.id, fx.cosigners[1].address);
        expect(await fx.module.hasApproved(q.id, fx.cosigners[1].address)).to.equal(true);
        expect(await fx.module.hasApproved(q.id, fx.cosigners[0].address)).to.equal(false);
        expect(await fx.module.intent(q.id)).to.deep.equal([fx.agent.address, q.eta, 1n, Status.Queued]);
      });

      it("refuses a second approval by the same co-signer with CosignerAlreadyApproved [test_approve_twice_revertsCosignerAlreadyApproved]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await expect(fx.module.connect(fx.cosigners[0]).approve(q.id))
          .to.be.revertedWithCustomError(fx.module, "CosignerAlreadyApproved")
          .withArgs(q.id, fx.cosigners[0].address);
        expect((await fx.module.intent(q.id)).approvals).to.equal(1n);
      });

      it("refuses an approval from anyone but a co-signer with CosignerUnknown [test_approve_nonCosigner_revertsCosignerUnknown]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        for (const stranger of [fx.attacker, fx.guardian, fx.agent]) {
          await expect(fx.module.connect(stranger).approve(q.id))
            .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
            .withArgs(stranger.address);
        }
        expect((await fx.module.intent(q.id)).approvals).to.equal(0n);
      });

      it("executes with two on-chain approvals and no signature [test_executeQueued_twoOnChainApprovalsNoSignatures_executes]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await fx.module.connect(fx.cosigners[2]).approve(q.id);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      });
    });

    describe("EIP-712 signatures", function () {
      it("executes with two co-signer signatures and no on-chain approval [test_executeQueued_twoSignatures_executes]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const signatures = await cosignerSignatures(fx, q.id, [fx.cosigners[2], fx.cosigners[0]]);
        await time.increaseTo(q.eta);
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
      });

      it("executes with more signatures than the threshold [test_executeQueued_allThreeSignatures_executes]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await time.increaseTo(q.eta);
        await expect(
          fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
        ).to.emit(fx.module, "IntentExecuted");
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
      });

      it("counts once a co-signer who approved on-chain and signed [test_executeQueued_sameCosignerOnChainAndSigned_countsOnce]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[1]).approve(q.id);
        await time.increaseTo(q.eta);
        await expect(
          fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, [fx.cosigners[1]])),
        )
          .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
          .withArgs(q.id, 1n, 2n);
      });

      it("refuses signatures whose signers are not in ascending order [test_executeQueued_signersDescending_revertsCosignerSignaturesUnordered]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const ascending = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
        const descending = [...ascending].reverse();
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, descending))
          .to.be.revertedWithCustomError(fx.module, "CosignerSignaturesUnordered")
          .withArgs(descending[0].signer, descending[1].signer);
      });

      it("refuses the same signer twice [test_executeQueued_duplicateSigner_revertsCosignerSignaturesUnordered]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const [one] = await cosignerSignatures(fx, q.id, [fx.cosigners[0]]);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, [one, one]))
          .to.be.revertedWithCustomError(fx.module, "CosignerSignaturesUnordered")
          .withArgs(one.signer, one.signer);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      });

      it("refuses a stranger's signature with CosignerUnknown, even beside enough real ones [test_executeQueued_nonCosignerSigner_revertsCosignerUnknown]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        // Enough real co-signers plus a stranger: the stranger's signature is refused, not ignored.
        const signatures = await cosignerSignatures(fx, q.id, [fx.cosigners[0], fx.cosigners[1], fx.attacker]);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
          .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
          .withArgs(fx.attacker.address);
      });

      it("refuses a signature made by another key than the named co-signer's [test_executeQueued_signatureByAnotherKey_revertsCosignerSignatureInvalid]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        // The attacker signs and claims to be cos1.
        const forged = [{ signer: fx.cosigners[0].address, signature: await approvalSignature(fx.attacker, fx, q.id) }];
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, forged))
          .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
          .withArgs(fx.cosigners[0].address, q.id);
      });

      it("refuses a corrupted, truncated or empty signature [test_executeQueued_malformedSignature_revertsCosignerSignatureInvalid]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const [good] = await cosignerSignatures(fx, q.id, [fx.cosigners[1]]);
        // Flip a byte of r, and truncate: neither recovers to cos2.
        const flipped = good.signature.slice(0, 4) + (good.signature[4] === "0" ? "1" : "0") + good.signature.slice(5);
        await time.increaseTo(q.eta);
        for (const signature of [flipped, good.signature.slice(0, 130), "0x"]) {
          await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, [{ signer: good.signer, signature }]))
            .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
            .withArgs(good.signer, q.id);
        }
      });

      it("refuses an approval signed for another module (Promise 7) [test_executeQueued_signatureForAnotherModule_revertsCosignerSignatureInvalid]", async function () {
        // Promise 7: an approval signed for one module (domain) is worthless on another.
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const elsewhere = await signCosignerApproval(
          fx.cosigners[0],
          q.id,
          await fx.module.cosignerEra(),
          fx.chainId,
          fx.implementation.target as string,
        );
        await time.increaseTo(q.eta);
        await expect(
          fx.module
            .connect(fx.relayer)
            .executeQueued(q.intent, [{ signer: fx.cosigners[0].address, signature: elsewhere }]),
        )
          .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
          .withArgs(fx.cosigners[0].address, q.id);
      });

      it("refuses to execute below the threshold with ApprovalsInsufficient, counting what it has [test_executeQueued_tooFewApprovals_revertsApprovalsInsufficient]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
          .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
          .withArgs(q.id, 0n, 2n);
        await expect(
          fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, [fx.cosigners[2]])),
        )
          .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
          .withArgs(q.id, 1n, 2n);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      });
    });

    describe("when a co-signer is itself a Safe (ERC-1271)", function () {
      it("accepts a Safe co-signer's signature, made by its owner over the Safe's message [test_executeQueued_safeCosignerSignature_executes]", async function () {
        const fx = await loadFixture(safeCosignerFixture);
        expect(await fx.module.cosigners()).to.deep.equal([fx.cosigners[0].address, fx.cosignerSafeAddress]);
        const q = await queuePayment(fx);
        const signatures = [
          await cosignerSignatures(fx, q.id, [fx.cosigners[0]]).then(([s]) => s),
          {
            signer: fx.cosignerSafeAddress,
            signature: await safeCosignerSignature(fx, fx.cosignerSafeAddress, fx.cosignerSafeOwner, q.id),
          },
        ].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
        await time.increaseTo(q.eta);
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
      });

      it("counts a Safe co-signer's on-chain approval made through its own Safe transaction [test_approve_bySafeCosignerTransaction_counts]", async function () {
        const fx = await loadFixture(safeCosignerFixture);
        const q = await queuePayment(fx);
        // The co-signer Safe approves on-chain through its own owner-signed Safe transaction.
        const receipt = await execSafeCall(
          fx.cosignerSafe,
          [fx.cosignerSafeOwner],
          fx.deployer,
          fx.moduleAddress,
          fx.module.interface.encodeFunctionData("approve", [q.id]),
        );
        const moduleLogs: Log[] = receipt.logs.filter((l: Log) => l.address === fx.moduleAddress);
        const events = moduleLogs.map((l) => fx.module.interface.parseLog(l));
        expect(events.map((e) => [e?.name, ...(e?.args ?? [])])).to.deep.equal([
          ["IntentApproved", q.id, fx.cosignerSafeAddress],
        ]);
        expect(await fx.module.hasApproved(q.id, fx.cosignerSafeAddress)).to.equal(true);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, [])).to.emit(fx.module, "IntentExecuted");
      });

      it("refuses a Safe co-signer's signature made by someone who is not its owner [test_executeQueued_safeCosignerSignedByNonOwner_revertsCosignerSignatureInvalid]", async function () {
        const fx = await loadFixture(safeCosignerFixture);
        const q = await queuePayment(fx);
        const forged = await safeCosignerSignature(fx, fx.cosignerSafeAddress, fx.attacker, q.id);
        await time.increaseTo(q.eta);
        await expect(
          fx.module
            .connect(fx.relayer)
            .executeQueued(q.intent, [{ signer: fx.cosignerSafeAddress, signature: forged }]),
        )
          .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
          .withArgs(fx.cosignerSafeAddress, q.id);
      });

      it("refuses a Safe co-signer's signature for another intent [test_executeQueued_safeOwnerSignatureForAnotherIntent_revertsCosignerSignatureInvalid]", async function () {
        const fx = await loadFixture(safeCosignerFixture);
        const first = await queuePayment(fx);
        const second = await queuePayment(fx, { target: fx.bob.address });
        const forFirst = await safeCosignerSignature(fx, fx.cosignerSafeAddress, fx.cosignerSafeOwner, first.id);
        await time.increaseTo(second.eta);
        await expect(
          fx.module
            .connect(fx.relayer)
            .executeQueued(second.intent, [{ signer: fx.cosignerSafeAddress, signature: forFirst }]),
        )
          .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
          .withArgs(fx.cosignerSafeAddress, second.id);
      });
    });
  });

  describe("setCosigners", function () {
    it("refuses a threshold of 0 or above the members, more than 20 members, address(0) and a repeated member; 20 members is the maximum [test_setCosigners_invalidSets_revertWithTheirErrors]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const three = fx.cosigners.map((c) => c.address);
      await expect(owner.setCosigners(three, 0))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(0n, 3n);
      await expect(owner.setCosigners(three, 4))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(4n, 3n);
      await expect(owner.setCosigners([], 1))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(1n, 0n);
      const many = Array.from({ length: 21 }, (_, i) =>
        ethers.getAddress("0x" + (i + 1).toString(16).padStart(40, "0")),
      );
      await expect(owner.setCosigners(many, 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerSetTooLarge")
        .withArgs(21n, 20n);
      await expect(owner.setCosigners([three[0], ZeroAddress], 1))
        .to.be.revertedWithCustomError(fx.module, "CosignerInvalid")
        .withArgs(ZeroAddress);
      await expect(owner.setCosigners([three[0], three[1], three[0]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerInvalid")
        .withArgs(three[0]);
      expect(await fx.module.cosigners()).to.deep.equal(three);
      expect(await fx.module.threshold()).to.equal(2n);
      // Twenty members is the maximum, and allowed.
      await expect(owner.setCosigners(many.slice(0, 20), 20))
        .to.emit(fx.module, "CosignersSet")
        .withArgs(many.slice(0, 20), 20n);
      expect(await fx.module.cosigners()).to.deep.equal(many.slice(0, 20));
      expect(await fx.module.threshold()).to.equal(20n);
    });

    it("voids a removed co-signer's approval and signature at once [test_setCosigners_removedCosigner_pendingApprovalVoidedAtOnce]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      await fx.module.connect(cos1).approve(q.id);
      const byCos2 = await cosignerSignatures(fx, q.id, [cos2]);
      await time.increaseTo(q.eta);
      // Before the change, cos1's approval plus cos2's signature would execute.
      await fx.module.connect(fx.relayer).executeQueued.staticCall(q.intent, byCos2);

      await expect((await moduleAsSafe(fx)).setCosigners([cos2.address, cos3.address], 2))
        .to.emit(fx.module, "CosignersSet")
        .withArgs([cos2.address, cos3.address], 2n);
      expect(await fx.module.hasApproved(q.id, cos1.address)).to.equal(false);
      expect((await fx.module.intent(q.id)).approvals).to.equal(0n);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      // v3: cos2's signature named the era before the change, so it is void too; signed again it counts alone.
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, byCos2))
        .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
        .withArgs(cos2.address, q.id);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, [cos2])))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(q.id, 1n, 2n);
      // Its signature is refused too, and it can no longer approve.
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, [cos1])))
        .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
        .withArgs(cos1.address);
      await expect(fx.module.connect(cos1).approve(q.id))
        .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
        .withArgs(cos1.address);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
    });

    it("keeps an old approval void when its co-signer is added again: it approves again [test_setCosigners_reAddedCosigner_oldApprovalStaysVoid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      await fx.module.connect(cos1).approve(q.id);
      const byCos2 = await cosignerSignatures(fx, q.id, [cos2]);
      const safe = await moduleAsSafe(fx);
      await safe.setCosigners([cos2.address, cos3.address], 2);
      await safe.setCosigners([cos1.address, cos2.address, cos3.address], 2);
      expect(await fx.module.hasApproved(q.id, cos1.address)).to.equal(false);
      expect((await fx.module.intent(q.id)).approvals).to.equal(0n);

      await time.increaseTo(q.eta);
      // v3: cos2's signature from before the changes names an old era and is void; signed again, it counts.
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, byCos2))
        .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
        .withArgs(cos2.address, q.id);
      const freshCos2 = await cosignerSignatures(fx, q.id, [cos2]);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, freshCos2))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(q.id, 1n, 2n);
      // As a member again it must approve again; that approval counts.
      await expect(fx.module.connect(cos1).approve(q.id))
        .to.emit(fx.module, "IntentApproved")
        .withArgs(q.id, cos1.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, freshCos2))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
    });

    it("voids every pending approval on any change of the members or of their order [test_setCosigners_membershipOrOrderChange_voidsEveryPendingApproval]", async function () {
      // Documented rule (IAgentTreasuryModule.setCosigners): any change of the members or of their order starts a
      // new era; remaining co-signers approve again or sign. A reorder must never credit one member's approval to
      // another.
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      await fx.module.connect(cos1).approve(q.id);
      await fx.module.connect(cos2).approve(q.id);
      const safe = await moduleAsSafe(fx);
      await safe.setCosigners([cos3.address, cos2.address, cos1.address], 2);
      for (const c of fx.cosigners) expect(await fx.module.hasApproved(q.id, c.address)).to.equal(false);
      expect((await fx.module.intent(q.id)).approvals).to.equal(0n);
      await time.increaseTo(q.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(q.id, 0n, 2n);
      // Signatures of current members still count.
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, [cos1, cos2])),
      ).to.emit(fx.module, "IntentExecuted");
    });

    it("never revives a cancelled intent by lowering the threshold [test_setCosigners_lowerThreshold_cancelledIntentStaysCancelled]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      await fx.module.connect(fx.guardian).cancel(q.id);
      const safe = await moduleAsSafe(fx);
      await safe.setCosigners(
        fx.cosigners.map((c) => c.address),
        1,
      );
      expect(await fx.module.threshold()).to.equal(1n);
      await time.increaseTo(q.eta);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
    });

    it("applies a lowered threshold to what is queued, at execution [test_setCosigners_lowerThreshold_appliesToQueuedIntentAtExecution]", async function () {
      // The threshold is read at execution time: the owner's decision to lower it applies to what is still queued.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      await time.increaseTo(q.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(q.id, 1n, 2n);
      const safe = await moduleAsSafe(fx);
      await safe.setCosigners(
        fx.cosigners.map((c) => c.address),
        1,
      );
      // Same members, same order: only the threshold changed, so cos1's approval still counts.
      expect(await fx.module.hasApproved(q.id, fx.cosigners[0].address)).to.equal(true);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, [])).to.emit(fx.module, "IntentExecuted");
    });
  });

  describe("the co-signer era (v3)", function () {
    it("is 0 on a fresh clone and 1 after the first setCosigners [test_cosignerEra_afterTheFixturesSetCosigners_isOne]", async function () {
      // A fresh clone starts at era 0; the fixture's one setCosigners (3 members, threshold 2) starts era 1.
      const fx = await loadFixture(moduleWithoutCosignersFixture);
      expect(await fx.bare.cosignerEra()).to.equal(0n);
      expect(await fx.module.cosignerEra()).to.equal(1n);
      expect(await fx.module.cosigners()).to.deep.equal(fx.cosigners.map((c) => c.address));
    });

    it("starts anew at every change of the members or of their order, and stays on a threshold-only change [test_setCosigners_memberChange_incrementsEra_thresholdOnlyChange_keepsIt]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners.map((c) => c.address);
      const safe = await moduleAsSafe(fx);
      // The threshold alone: same era.
      await expect(safe.setCosigners([cos1, cos2, cos3], 3))
        .to.emit(fx.module, "CosignersSet")
        .withArgs([cos1, cos2, cos3], 3n);
      expect(await fx.module.cosignerEra()).to.equal(1n);
      await safe.setCosigners([cos1, cos2, cos3], 1);
      expect(await fx.module.cosignerEra()).to.equal(1n);
      // A member removed, one added back, the order changed (bit i would stand for someone else): a new era each.
      await safe.setCosigners([cos1, cos2], 2);
      expect(await fx.module.cosignerEra()).to.equal(2n);
      await safe.setCosigners([cos1, cos2, cos3], 2);
      expect(await fx.module.cosignerEra()).to.equal(3n);
      await safe.setCosigners([cos3, cos2, cos1], 2);
      expect(await fx.module.cosignerEra()).to.equal(4n);
      // The same list again, any threshold: unchanged.
      await safe.setCosigners([cos3, cos2, cos1], 3);
      expect(await fx.module.cosignerEra()).to.equal(4n);
    });

    it("keeps counting signatures made before a threshold-only change [test_executeQueued_thresholdOnlyChange_earlierSignaturesStillCount]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
      await (
        await moduleAsSafe(fx)
      ).setCosigners(
        fx.cosigners.map((c) => c.address),
        1,
      );
      await time.increaseTo(q.eta);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
    });

    it("voids signatures naming an earlier or a future era, even from a re-added member [test_executeQueued_signatureOfEarlierEra_revertsCosignerSignatureInvalidEvenAfterReadd]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      const era1 = await fx.module.cosignerEra();
      const oldByCos1 = await approvalSignature(cos1, fx, q.id);
      const safe = await moduleAsSafe(fx);
      await safe.setCosigners([cos2.address, cos3.address], 2);
      await safe.setCosigners([cos1.address, cos2.address, cos3.address], 2);
      const era3 = await fx.module.cosignerEra();
      expect(era3).to.equal(era1 + 2n);
      await time.increaseTo(q.eta);
      const freshCos2 = { signer: cos2.address, signature: await approvalSignature(cos2, fx, q.id) };
      const sorted = (sigs: { signer: string; signature: string }[]) =>
        [...sigs].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      // cos1 is a member again, but its signature names era 1: void.
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(q.intent, sorted([{ signer: cos1.address, signature: oldByCos1 }, freshCos2])),
      )
        .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
        .withArgs(cos1.address, q.id);
      // A signature naming an era that has not started yet is void too.
      const future = await approvalSignature(cos1, fx, q.id, era3 + 1n);
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(q.intent, sorted([{ signer: cos1.address, signature: future }, freshCos2])),
      )
        .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
        .withArgs(cos1.address, q.id);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      // Signed again in era 3, it counts.
      const freshCos1 = { signer: cos1.address, signature: await approvalSignature(cos1, fx, q.id, era3) };
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, sorted([freshCos1, freshCos2])))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
    });

    it("refuses a change of members once the era is exhausted, but still changes the threshold [test_setCosigners_eraExhausted_revertsForNewMembersButThresholdStillChanges]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const members = fx.cosigners.map((c) => c.address);
      // The era after 65,535 membership changes.
      const era = await stateField("_cosignerEra");
      await writeField(fx, era, 65_535n);

      await expect(owner.setCosigners([members[0], members[1]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerEraExhausted")
        .withArgs(65_535n);
      await expect(owner.setCosigners([members[1], members[0], members[2]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerEraExhausted")
        .withArgs(65_535n);
      expect(await fx.module.cosigners()).to.deep.equal(members);

      // The same members in the same order need no new era: only the threshold changes.
      await expect(owner.setCosigners(members, 3)).to.emit(fx.module, "CosignersSet").withArgs(members, 3n);
      expect(await fx.module.threshold()).to.equal(3n);
      expect(await readField(fx, era)).to.equal(65_535n);
    });
  });

  describe("the blind-signing defence", function () {
    it("takes a modified intent for another intent, never queued: the original's approvals do not carry over [test_executeQueued_modifiedAmountWithOriginalApprovals_revertsStatusNone]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(1));
      await time.increaseTo(q.eta);
      // A relayer swaps in a larger amount (still under the hard cap): that is another intent, never queued.
      const modified = { ...q.intent, value: parseEther("9") };
      const modifiedId = intentId(fx, modified);
      await expect(fx.module.connect(fx.relayer).executeQueued(modified, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(modifiedId, Status.None, QUEUED_ONLY);
      // The original still runs with its own approvals, for its own amount.
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
    });

    it("does not count the original's approvals for a modified intent that was queued too [test_executeQueued_modifiedRecipientAlsoQueued_originalApprovalsDoNotCount]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const original = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(original.id);
      await fx.module.connect(fx.cosigners[1]).approve(original.id);
      const signatures = await cosignerSignatures(fx, original.id, fx.cosigners.slice(1));
      // The (compromised) agent queues the same payment to another recipient.
      const modified = await queuePayment(fx, { target: fx.attacker.address });
      await time.increaseTo(modified.eta);
      const attackerBefore = await ethBalance(fx, fx.attacker.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(modified.intent, []))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(modified.id, 0n, 2n);
      await expect(fx.module.connect(fx.relayer).executeQueued(modified.intent, signatures))
        .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
        .withArgs(signatures[0].signer, modified.id);
      expect(await ethBalance(fx, fx.attacker.address)).to.equal(attackerBefore);
      expect((await fx.module.intent(modified.id)).approvals).to.equal(0n);
    });
  });

  describe("limits at execution time", function () {
    it("refuses to execute above a hard cap lowered since queueing, with IntentPolicyViolation, leaving it queued [test_executeQueued_hardCapLoweredBelowAmount_revertsIntentPolicyViolation]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
      await (
        await moduleAsSafe(fx)
      ).setAssetLimit(fx.agent.address, ETH, { ...fx.ethLimit, escalatedPerTx: parseEther("4") });
      await time.increaseTo(q.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.AboveHardCap);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
    });

    it("refuses to execute once the asset's limit is removed [test_executeQueued_assetLimitRemoved_revertsIntentPolicyViolation]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await (
        await moduleAsSafe(fx)
      ).setAssetLimit(fx.agent.address, ETH, {
        autoPerTx: 0n,
        autoPerWindow: 0n,
        window: 0n,
        escalatedPerTx: 0n,
      });
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.AssetNotAllowed);
    });

    it("refuses a call no longer allowed, and runs it once it is allowed again [test_executeQueued_allowedCallRemoved_revertsIntentPolicyViolation]", async function () {
      const fx = await loadFixture(callTargetFixture);
      const data = fx.target.interface.encodeFunctionData("ping", [7n]);
      const q = await proposeIntent(fx, await buildIntent(fx, { target: fx.targetAddress, data }));
      const selector = fx.target.interface.getFunction("ping").selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.targetAddress, selector, false);
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.TargetNotAllowed);
      expect(await fx.target.pings()).to.equal(0n);
      // Allowed again (the owner's decision), the same queued intent runs.
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.targetAddress, selector, true);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.emit(fx.target, "Pinged")
        .withArgs(fx.safeAddress, 0n, 7n);
    });

    it("refuses a payment to a recipient outside a new allowlist [test_executeQueued_recipientOutsideNewAllowlist_revertsIntentPolicyViolation]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ recipientMode: 1 /* Allowlist */ }));
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.RecipientNotAllowed);
    });
  });

  describe("failing and stuck intents", function () {
    it("bubbles a failing call's error and keeps the intent queued, approvals intact, until it expires [test_executeQueued_innerCallReverts_bubblesAndStaysQueuedUntilExpiry]", async function () {
      const fx = await loadFixture(callTargetFixture);
      const failing = await proposeIntent(
        fx,
        await buildIntent(fx, {
          target: fx.targetAddress,
          data: fx.target.interface.encodeFunctionData("fail", [13n]),
        }),
      );
      await fx.module.connect(fx.cosigners[0]).approve(failing.id);
      await fx.module.connect(fx.cosigners[1]).approve(failing.id);
      await time.increaseTo(failing.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(failing.intent, []))
        .to.be.revertedWithCustomError(fx.target, "MockCallTargetFailure")
        .withArgs(13n, fx.safeAddress);
      // Nothing happened: still queued, approvals intact, nothing recorded as escalated spend.
      expect(await fx.module.intent(failing.id)).to.deep.equal([fx.agent.address, failing.eta, 2n, Status.Queued]);

      // It stays queued (and failing) until the end of its grace period, then reads Expired.
      await time.setNextBlockTimestamp(failing.eta + GRACE - 1n);
      await expect(fx.module.connect(fx.relayer).executeQueued(failing.intent, []))
        .to.be.revertedWithCustomError(fx.target, "MockCallTargetFailure")
        .withArgs(13n, fx.safeAddress);
      await time.increaseTo(failing.eta + GRACE);
      expect(await fx.module.intentStatus(failing.id)).to.equal(Status.Expired);
      await expect(fx.module.connect(fx.relayer).executeQueued(failing.intent, []))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(failing.id, Status.Expired, QUEUED_ONLY);
    });

    it("reverts ExecutionFailed for a call failing without data, leaving the intent queued [test_executeQueued_innerCallRevertsEmpty_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(callTargetFixture);
      const q = await proposeIntent(
        fx,
        await buildIntent(fx, { target: fx.targetAddress, data: fx.target.interface.encodeFunctionData("failEmpty") }),
      );
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "ExecutionFailed")
        .withArgs(fx.targetAddress);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
    });

    it("never lets stuck, failing or expired intents block a later one [test_executeQueued_stuckFailingAndExpiredIntents_neverBlockOthers]", async function () {
      const fx = await loadFixture(callTargetFixture);
      // Queued in this order: a payment nobody approves, a failing call, a second payment, then a third later.
      const stuck = await queuePayment(fx);
      const failing = await proposeIntent(
        fx,
        await buildIntent(fx, { target: fx.targetAddress, data: fx.target.interface.encodeFunctionData("fail", [1n]) }),
      );
      const second = await queuePayment(fx, { target: fx.bob.address, value: parseEther("2") });
      await time.increaseTo(second.eta);
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(failing.intent, await cosignerSignatures(fx, failing.id, fx.cosigners)),
      ).to.be.revertedWithCustomError(fx.target, "MockCallTargetFailure");
      const bobBefore = await ethBalance(fx, fx.bob.address);
      // No first-in-first-out: the later intent runs while earlier ones are stuck or failing.
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(second.intent, await cosignerSignatures(fx, second.id, fx.cosigners)),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(second.id, fx.agent.address, ETH, fx.bob.address, parseEther("2"), true, second.intent.rationale);
      expect(await ethBalance(fx, fx.bob.address)).to.equal(bobBefore + parseEther("2"));

      // Once both earlier intents have expired, a new one still queues and runs.
      await time.increaseTo(failing.eta + GRACE); // the later of the two
      expect(await fx.module.intentStatus(stuck.id)).to.equal(Status.Expired);
      expect(await fx.module.intentStatus(failing.id)).to.equal(Status.Expired);
      const third = await queuePayment(fx, { value: parseEther("3") });
      await time.increaseTo(third.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(third.intent, await cosignerSignatures(fx, third.id, fx.cosigners)),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(third.id, fx.agent.address, ETH, fx.alice.address, parseEther("3"), true, third.intent.rationale);
    });
  });

  describe("when no co-signers have been set", function () {
    it("executes nothing and lets nobody approve [test_executeQueued_beforeCosigners_revertsApprovalsInsufficient]", async function () {
      const fx = await loadFixture(moduleWithoutCosignersFixture);
      expect(await fx.bare.cosigners()).to.deep.equal([]);
      expect(await fx.bare.threshold()).to.equal(0n);
      const intent = await buildIntent(fx, { value: FIVE_ETH, nonce: 0n });
      const id_ = hashIntent(intent, fx.chainId, fx.bareAddress);
      const signature = await signIntent(fx.agent, intent, fx.chainId, fx.bareAddress);
      const receipt = await (await fx.bare.connect(fx.relayer).submit(intent, signature)).wait();
      expect(await fx.bare.intentStatus(id_)).to.equal(Status.Queued);
      await time.increaseTo(BigInt((await receipt!.getBlock()).timestamp) + DELAY);
      await expect(fx.bare.connect(fx.relayer).executeQueued(intent, []))
        .to.be.revertedWithCustomError(fx.bare, "ApprovalsInsufficient")
        .withArgs(id_, 0n, 1n);
      // Nobody can approve yet, on-chain or by signature.
      await expect(fx.bare.connect(fx.cosigners[0]).approve(id_))
        .to.be.revertedWithCustomError(fx.bare, "CosignerUnknown")
        .withArgs(fx.cosigners[0].address);
      const byCos1 = await signCosignerApproval(
        fx.cosigners[0],
        id_,
        await fx.bare.cosignerEra(),
        fx.chainId,
        fx.bareAddress,
      );
      await expect(
        fx.bare.connect(fx.relayer).executeQueued(intent, [{ signer: fx.cosigners[0].address, signature: byCos1 }]),
      )
        .to.be.revertedWithCustomError(fx.bare, "CosignerUnknown")
        .withArgs(fx.cosigners[0].address);
      expect(await fx.bare.intentStatus(id_)).to.equal(Status.Queued);
    });
  });
});
