/**
 * EscalationQueue: the state machine of a queued intent, its time boundaries, co-signer approvals (on-chain, EOA and
 * ERC-1271 signatures), co-signer set changes, the blind-signing defence, limits at execution time, failing inner
 * calls and the accounting of escalated spend.
 *
 * Promise 3: escalated intents execute only with the threshold of current co-signers, not before `eta`, never
 * after expiry or cancellation. Every forbidden transition reverts
 * `IntentUnexpectedStatus(intentId, current, expectedStates)` with `expectedStates = 1 << Status.Queued`.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { network } from "hardhat";
import { AbiCoder, ContractTransactionResponse, Log, Result, ZeroAddress, id, parseEther, parseUnits } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  Status,
  Treasury,
  agentConfig,
  approvalSignature,
  buildIntent,
  callTargetFixture,
  cosignerSignatures,
  impersonate,
  intentId,
  moduleWithoutCosignersFixture,
  safeCosignerFixture,
  sign,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
  twoAgentsFixture,
} from "../fixtures";
import { Intent, hashIntent, signCosignerApproval, signIntent } from "../../sdk/eip712";
import { execSafeCall } from "../../sdk/safe";

/** `expectedStates` of approve, cancel and executeQueued: only `Queued` is accepted. */
const QUEUED_ONLY = 1n << Status.Queued;
const FIVE_ETH = parseEther("5");
const GRACE = BigInt(DAY);
const DELAY = BigInt(HOUR);

interface Queued {
  intent: Intent;
  id: string;
  eta: bigint;
}

/** The Safe itself (impersonated): the module's owner. */
async function owner(fx: Treasury) {
  return fx.module.connect(await impersonate(fx.safeAddress));
}

/** Submits an agent-signed ETH payment above the auto tier (5 ETH to alice by default) and returns it queued. */
async function queuePayment(fx: Treasury, fields: Partial<Intent> = {}): Promise<Queued> {
  const intent = await buildIntent(fx, { value: FIVE_ETH, ...fields });
  const receipt = await (await submitSigned(fx, intent)).wait();
  const queuedAt = BigInt((await receipt!.getBlock()).timestamp);
  const id_ = intentId(fx, intent);
  expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued, "setup: the payment should have been queued");
  return { intent, id: id_, eta: queuedAt + DELAY };
}

/** Proposes `intent` as an agent-signed review request (`review` set: always queued) and returns it as signed. */
async function proposeIntent(fx: Treasury, unsigned: Intent): Promise<Queued> {
  const intent = { ...unsigned, review: true };
  const receipt = await (await fx.module.connect(fx.relayer).propose(intent, await sign(fx.agent, fx, intent))).wait();
  const queuedAt = BigInt((await receipt!.getBlock()).timestamp);
  return { intent, id: intentId(fx, intent), eta: queuedAt + DELAY };
}

/** Rebuilds an `Intent` from the `intent` tuple of an `IntentQueued` log. */
function intentFromLog(tuple: Result): Intent {
  return {
    agent: tuple.agent,
    target: tuple.target,
    value: tuple.value,
    data: tuple.data,
    nonce: tuple.nonce,
    idempotencyKey: tuple.idempotencyKey,
    validAfter: tuple.validAfter,
    validUntil: tuple.validUntil,
    rationale: tuple.rationale,
    review: tuple.review,
  };
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

async function ethBalance(fx: Treasury, address: string): Promise<bigint> {
  return fx.deployer.provider.getBalance(address);
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
  describe("state machine of a queued intent", function () {
    describe("Queued -> Executed", function () {
      it("test_executeQueued_thresholdApprovals_executesOnceAndEmits", async function () {
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
        it(`test_cancel_by${role}_cancelsAndNothingMoves`, async function () {
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

      it("test_cancel_byStranger_revertsCancelNotAuthorized", async function () {
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

      it("test_cancel_byAnotherAgent_revertsCancelNotAuthorized", async function () {
        const fx = await loadFixture(twoAgentsFixture);
        const q = await queuePayment(fx);
        await expect(fx.module.connect(fx.agent2).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
          .withArgs(q.id, fx.agent2.address);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      });

      it("test_cancel_byRemovedCosigner_revertsCancelNotAuthorized", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const [cos1, cos2, cos3] = fx.cosigners;
        await (await owner(fx)).setCosigners([cos2.address, cos3.address], 2);
        await expect(fx.module.connect(cos1).cancel(q.id))
          .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
          .withArgs(q.id, cos1.address);
      });

      it("test_removeAgent_queuedIntent_readsCancelledAndStaysDeadAfterReAdding", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await fx.module.connect(fx.cosigners[1]).approve(q.id);
        const safe = await owner(fx);
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

      it("test_rotateAgent_queuedIntentOfOldKey_readsCancelled", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await fx.module.connect(fx.cosigners[1]).approve(q.id);
        const newKey = fx.signers[15];
        await expect((await owner(fx)).rotateAgent(fx.agent.address, newKey.address))
          .to.emit(fx.module, "AgentRotated")
          .withArgs(fx.agent.address, newKey.address);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
        await time.increaseTo(q.eta);
        const aliceBefore = await ethBalance(fx, fx.alice.address);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
          .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
          .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
        expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
      });
    });

    describe("Queued -> Expired", function () {
      it("test_intentStatus_atEtaPlusGrace_readsExpired", async function () {
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
          it(`test_approve_${name}_revertsIntentUnexpectedStatus`, async function () {
            const fx = await loadFixture(treasuryFixture);
            const { id: id_ } = await reach(fx);
            expect(await fx.module.intentStatus(id_)).to.equal(status);
            await expect(fx.module.connect(fx.cosigners[2]).approve(id_))
              .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
              .withArgs(id_, status, QUEUED_ONLY);
            expect(await fx.module.hasApproved(id_, fx.cosigners[2].address)).to.equal(false);
          });

          it(`test_cancel_${name}_revertsIntentUnexpectedStatus`, async function () {
            const fx = await loadFixture(treasuryFixture);
            const { id: id_ } = await reach(fx);
            for (const canceller of [fx.guardian, fx.cosigners[0], fx.agent, await impersonate(fx.safeAddress)]) {
              await expect(fx.module.connect(canceller).cancel(id_))
                .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
                .withArgs(id_, status, QUEUED_ONLY);
            }
            expect(await fx.module.intentStatus(id_)).to.equal(status);
          });

          it(`test_executeQueued_${name}_revertsIntentUnexpectedStatus`, async function () {
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
    it("test_executeQueued_atEtaMinusOne_revertsIntentNotReady", async function () {
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

    it("test_executeQueued_atEta_executes", async function () {
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

    it("test_executeQueued_atEtaPlusGraceMinusOne_executes", async function () {
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
      it(`test_executeQueued_at${label}_revertsExpired`, async function () {
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
      it("test_approveThenExecuteQueued_sameBlock_bothSucceed", async function () {
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

      it("test_executeQueuedTwice_sameBlock_secondReverts", async function () {
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

      it("test_cancelThenExecuteQueued_sameBlock_cancelWins", async function () {
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

      it("test_executeQueuedThenCancel_sameBlock_executionWins", async function () {
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
      it("test_approve_cosigner_recordsAndEmits", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await expect(fx.module.connect(fx.cosigners[1]).approve(q.id))
          .to.emit(fx.module, "IntentApproved")
          .withArgs(q.id, fx.cosigners[1].address);
        expect(await fx.module.hasApproved(q.id, fx.cosigners[1].address)).to.equal(true);
        expect(await fx.module.hasApproved(q.id, fx.cosigners[0].address)).to.equal(false);
        expect(await fx.module.intent(q.id)).to.deep.equal([fx.agent.address, q.eta, 1n, Status.Queued]);
      });

      it("test_approve_twice_revertsCosignerAlreadyApproved", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[0]).approve(q.id);
        await expect(fx.module.connect(fx.cosigners[0]).approve(q.id))
          .to.be.revertedWithCustomError(fx.module, "CosignerAlreadyApproved")
          .withArgs(q.id, fx.cosigners[0].address);
        expect((await fx.module.intent(q.id)).approvals).to.equal(1n);
      });

      it("test_approve_nonCosigner_revertsCosignerUnknown", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        for (const stranger of [fx.attacker, fx.guardian, fx.agent]) {
          await expect(fx.module.connect(stranger).approve(q.id))
            .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
            .withArgs(stranger.address);
        }
        expect((await fx.module.intent(q.id)).approvals).to.equal(0n);
      });

      it("test_executeQueued_twoOnChainApprovalsNoSignatures_executes", async function () {
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
      it("test_executeQueued_twoSignatures_executes", async function () {
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

      it("test_executeQueued_allThreeSignatures_executes", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await time.increaseTo(q.eta);
        await expect(
          fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
        ).to.emit(fx.module, "IntentExecuted");
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
      });

      it("test_executeQueued_mixOfOnChainApprovalAndSignature_executes", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        await fx.module.connect(fx.cosigners[1]).approve(q.id);
        await time.increaseTo(q.eta);
        await expect(
          fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, [fx.cosigners[2]])),
        )
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      });

      it("test_executeQueued_sameCosignerOnChainAndSigned_countsOnce", async function () {
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

      it("test_executeQueued_signersDescending_revertsCosignerSignaturesUnordered", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const ascending = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
        const descending = [...ascending].reverse();
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, descending))
          .to.be.revertedWithCustomError(fx.module, "CosignerSignaturesUnordered")
          .withArgs(descending[0].signer, descending[1].signer);
      });

      it("test_executeQueued_duplicateSigner_revertsCosignerSignaturesUnordered", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        const [one] = await cosignerSignatures(fx, q.id, [fx.cosigners[0]]);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, [one, one]))
          .to.be.revertedWithCustomError(fx.module, "CosignerSignaturesUnordered")
          .withArgs(one.signer, one.signer);
        expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      });

      it("test_executeQueued_nonCosignerSigner_revertsCosignerUnknown", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        // Enough real co-signers plus a stranger: the stranger's signature is refused, not ignored.
        const signatures = await cosignerSignatures(fx, q.id, [fx.cosigners[0], fx.cosigners[1], fx.attacker]);
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
          .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
          .withArgs(fx.attacker.address);
      });

      it("test_executeQueued_signatureByAnotherKey_revertsCosignerSignatureInvalid", async function () {
        const fx = await loadFixture(treasuryFixture);
        const q = await queuePayment(fx);
        // The attacker signs and claims to be cos1.
        const forged = [{ signer: fx.cosigners[0].address, signature: await approvalSignature(fx.attacker, fx, q.id) }];
        await time.increaseTo(q.eta);
        await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, forged))
          .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
          .withArgs(fx.cosigners[0].address, q.id);
      });

      it("test_executeQueued_malformedSignature_revertsCosignerSignatureInvalid", async function () {
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

      it("test_executeQueued_signatureForAnotherModule_revertsCosignerSignatureInvalid", async function () {
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

      it("test_executeQueued_tooFewApprovals_revertsApprovalsInsufficient", async function () {
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
      it("test_executeQueued_safeCosignerSignature_executes", async function () {
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

      it("test_approve_bySafeCosignerTransaction_counts", async function () {
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

      it("test_executeQueued_safeCosignerSignedByNonOwner_revertsCosignerSignatureInvalid", async function () {
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

      it("test_executeQueued_safeOwnerSignatureForAnotherIntent_revertsCosignerSignatureInvalid", async function () {
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

  describe("co-signer set changes", function () {
    it("test_setCosigners_removedCosigner_pendingApprovalVoidedAtOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      await fx.module.connect(cos1).approve(q.id);
      const byCos2 = await cosignerSignatures(fx, q.id, [cos2]);
      await time.increaseTo(q.eta);
      // Before the change, cos1's approval plus cos2's signature would execute.
      await fx.module.connect(fx.relayer).executeQueued.staticCall(q.intent, byCos2);

      await expect((await owner(fx)).setCosigners([cos2.address, cos3.address], 2))
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

    it("test_setCosigners_reAddedCosigner_oldApprovalStaysVoid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      await fx.module.connect(cos1).approve(q.id);
      const byCos2 = await cosignerSignatures(fx, q.id, [cos2]);
      const safe = await owner(fx);
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

    it("test_setCosigners_membershipOrOrderChange_voidsEveryPendingApproval", async function () {
      // Documented rule (IAgentTreasuryModule.setCosigners): any change of the members or of their order starts a
      // new era; remaining co-signers approve again or sign. A reorder must never credit one member's approval to
      // another.
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      await fx.module.connect(cos1).approve(q.id);
      await fx.module.connect(cos2).approve(q.id);
      const safe = await owner(fx);
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

    it("test_setCosigners_lowerThreshold_cancelledIntentStaysCancelled", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      await fx.module.connect(fx.guardian).cancel(q.id);
      const safe = await owner(fx);
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

    it("test_setCosigners_lowerThreshold_appliesToQueuedIntentAtExecution", async function () {
      // The threshold is read at execution time: the owner's decision to lower it applies to what is still queued.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      await time.increaseTo(q.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(q.id, 1n, 2n);
      const safe = await owner(fx);
      await safe.setCosigners(
        fx.cosigners.map((c) => c.address),
        1,
      );
      // Same members, same order: only the threshold changed, so cos1's approval still counts.
      expect(await fx.module.hasApproved(q.id, fx.cosigners[0].address)).to.equal(true);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, [])).to.emit(fx.module, "IntentExecuted");
    });

    it("test_setCosigners_invalidSets_revertWithValues", async function () {
      const fx = await loadFixture(treasuryFixture);
      const safe = await owner(fx);
      const members = fx.cosigners.map((c) => c.address);
      await expect(safe.setCosigners(members, 0))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(0n, 3n);
      await expect(safe.setCosigners(members, 4))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(4n, 3n);
      await expect(safe.setCosigners([], 1))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(1n, 0n);
      await expect(safe.setCosigners([members[0], ZeroAddress], 1))
        .to.be.revertedWithCustomError(fx.module, "CosignerInvalid")
        .withArgs(ZeroAddress);
      await expect(safe.setCosigners([members[0], members[1], members[0]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerInvalid")
        .withArgs(members[0]);
      const many = Array.from({ length: 21 }, (_, i) => "0x" + (i + 1).toString(16).padStart(40, "0"));
      await expect(safe.setCosigners(many, 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerSetTooLarge")
        .withArgs(21n, 20n);
      // 20 members is the maximum and is accepted.
      await expect(safe.setCosigners(many.slice(0, 20), 20)).to.emit(fx.module, "CosignersSet");
      expect(await fx.module.threshold()).to.equal(20n);
    });
  });

  describe("co-signer era (v3)", function () {
    it("test_cosignerEra_afterTheFixturesSetCosigners_isOne", async function () {
      // A fresh clone starts at era 0; the fixture's one setCosigners (3 members, threshold 2) starts era 1.
      const fx = await loadFixture(moduleWithoutCosignersFixture);
      expect(await fx.bare.cosignerEra()).to.equal(0n);
      expect(await fx.module.cosignerEra()).to.equal(1n);
      expect(await fx.module.cosigners()).to.deep.equal(fx.cosigners.map((c) => c.address));
    });

    it("test_setCosigners_memberChange_incrementsEra_thresholdOnlyChange_keepsIt", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners.map((c) => c.address);
      const safe = await owner(fx);
      // The threshold alone: same era.
      await expect(safe.setCosigners([cos1, cos2, cos3], 3)).to.emit(fx.module, "CosignersSet").withArgs([cos1, cos2, cos3], 3n);
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

    it("test_executeQueued_thresholdOnlyChange_earlierSignaturesStillCount", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
      await (await owner(fx)).setCosigners(fx.cosigners.map((c) => c.address), 1);
      await time.increaseTo(q.eta);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
    });

    it("test_executeQueued_signatureOfEarlierEra_revertsCosignerSignatureInvalidEvenAfterReadd", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [cos1, cos2, cos3] = fx.cosigners;
      const q = await queuePayment(fx);
      const era1 = await fx.module.cosignerEra();
      const oldByCos1 = await approvalSignature(cos1, fx, q.id);
      const safe = await owner(fx);
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
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, sorted([{ signer: cos1.address, signature: oldByCos1 }, freshCos2])))
        .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
        .withArgs(cos1.address, q.id);
      // A signature naming an era that has not started yet is void too.
      const future = await approvalSignature(cos1, fx, q.id, era3 + 1n);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, sorted([{ signer: cos1.address, signature: future }, freshCos2])))
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
  });

  describe("blind-signing defence", function () {
    it("test_hashIntent_everyField_changesIntentId", async function () {
      const fx = await loadFixture(treasuryFixture);
      const base = await buildIntent(fx, { value: FIVE_ETH });
      const baseId = await fx.module.hashIntent(base);
      expect(baseId).to.equal(intentId(fx, base));
      const changes: Partial<Intent>[] = [
        { agent: fx.bob.address },
        { target: fx.bob.address },
        { value: FIVE_ETH + 1n },
        { data: "0x00" },
        { nonce: base.nonce + 1n },
        { idempotencyKey: id("another key") },
        { validAfter: base.validAfter + 1n },
        { validUntil: base.validUntil + 1n },
        { rationale: id("another reason") },
      ];
      for (const change of changes) {
        expect(await fx.module.hashIntent({ ...base, ...change })).to.not.equal(baseId, Object.keys(change)[0]);
      }
    });

    it("test_executeQueued_modifiedAmountWithOriginalApprovals_revertsStatusNone", async function () {
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

    it("test_executeQueued_modifiedRecipientAlsoQueued_originalApprovalsDoNotCount", async function () {
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
    it("test_executeQueued_hardCapLoweredBelowAmount_revertsIntentPolicyViolation", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2));
      await (await owner(fx)).setAssetLimit(fx.agent.address, ETH, { ...fx.ethLimit, escalatedPerTx: parseEther("4") });
      await time.increaseTo(q.eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures))
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.AboveHardCap);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
    });

    it("test_executeQueued_assetLimitRemoved_revertsIntentPolicyViolation", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await (
        await owner(fx)
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

    it("test_executeQueued_allowedCallRemoved_revertsIntentPolicyViolation", async function () {
      const fx = await loadFixture(callTargetFixture);
      const data = fx.target.interface.encodeFunctionData("ping", [7n]);
      const q = await proposeIntent(fx, await buildIntent(fx, { target: fx.targetAddress, data }));
      const selector = fx.target.interface.getFunction("ping").selector;
      await (await owner(fx)).setAllowedCall(fx.agent.address, fx.targetAddress, selector, false);
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.TargetNotAllowed);
      expect(await fx.target.pings()).to.equal(0n);
      // Allowed again (the owner's decision), the same queued intent runs.
      await (await owner(fx)).setAllowedCall(fx.agent.address, fx.targetAddress, selector, true);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.emit(fx.target, "Pinged")
        .withArgs(fx.safeAddress, 0n, 7n);
    });

    it("test_executeQueued_recipientOutsideNewAllowlist_revertsIntentPolicyViolation", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await (await owner(fx)).setAgent(fx.agent.address, agentConfig({ recipientMode: 1 /* Allowlist */ }));
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(q.id, DenyReason.RecipientNotAllowed);
    });

    it("test_executeQueued_agentFrozenAfterQueueing_revertsAgentIsFrozen", async function () {
      // Promise 4: nothing moves for a frozen agent, queued intents included.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await time.increaseTo(q.eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
    });
  });

  describe("failing and stuck intents", function () {
    it("test_executeQueued_innerCallReverts_bubblesAndStaysQueuedUntilExpiry", async function () {
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

    it("test_executeQueued_innerCallRevertsEmpty_revertsExecutionFailed", async function () {
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

    it("test_executeQueued_stuckFailingAndExpiredIntents_neverBlockOthers", async function () {
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

  describe("escalated spend", function () {
    it("test_executeQueued_ethPayment_doesNotConsumeAutoWindowAndIsRecorded", async function () {
      const fx = await loadFixture(treasuryFixture);
      const autoBefore = await fx.module.availableAllowance(fx.agent.address, ETH);
      expect(autoBefore).to.equal(parseEther("3"));
      const q = await queuePayment(fx);
      await time.increaseTo(q.eta);
      await fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners));
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(autoBefore);
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(FIVE_ETH);
      // The auto tier is untouched: a 1 ETH payment still executes at once.
      const small = await buildIntent(fx, { value: parseEther("1") });
      await expect(submitSigned(fx, small))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, small),
          fx.agent.address,
          ETH,
          fx.alice.address,
          parseEther("1"),
          false,
          small.rationale,
        );
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2"));
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(FIVE_ETH);
    });

    it("test_executeQueued_tokenPayment_movesTokensAndRecordsEscalatedSpend", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseUnits("20000", 6);
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.bob.address, amount);
      const id_ = intentId(fx, intent);
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentQueued");
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(0n);
      await time.increase(HOUR);
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, await cosignerSignatures(fx, id_, fx.cosigners)))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, fx.usdcAddress, fx.bob.address, amount, true, intent.rationale);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(amount);
      expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(parseUnits("1000000", 6) - amount);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("5000", 6));
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, fx.usdcAddress)).to.equal(amount);
    });
  });

  describe("propose", function () {
    it("test_propose_withinAutoLimits_queuesInsteadOfExecuting", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseEther("0.5");
      const intent = await buildIntent(fx, { value: amount, rationale: id("please review this vendor"), review: true });
      const id_ = intentId(fx, intent);
      const signature = await sign(fx.agent, fx, intent);
      expect(await fx.module.connect(fx.relayer).propose.staticCall(intent, signature)).to.equal(id_);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      const tx = await fx.module.connect(fx.relayer).propose(intent, signature);
      const eta = BigInt((await (await tx.wait())!.getBlock()).timestamp) + DELAY;
      await expect(tx).to.emit(fx.module, "IntentQueued");
      await expect(tx).not.to.emit(fx.module, "IntentExecuted");
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3"));
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, eta, 0n, Status.Queued]);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);

      await time.increaseTo(eta);
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, await cosignerSignatures(fx, id_, fx.cosigners)))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, ETH, fx.alice.address, amount, true, intent.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + amount);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3"));
    });

    it("test_propose_withoutReview_revertsIntentNotForReviewWithTheId", async function () {
      // v3: propose accepts only an intent whose signed `review` flag is true; nothing is recorded otherwise.
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5"), review: false });
      const id_ = intentId(fx, intent);
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).propose(intent, await sign(fx.agent, fx, intent)))
        .to.be.revertedWithCustomError(fx.module, "IntentNotForReview")
        .withArgs(id_);
      // Also from the agent itself with an empty signature.
      await expect(fx.module.connect(fx.agent).propose(intent, "0x"))
        .to.be.revertedWithCustomError(fx.module, "IntentNotForReview")
        .withArgs(id_);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.None);
      expect(await treasuryState(fx)).to.deep.equal(before);
      // The same intent is still a valid payment through submit, with the same id.
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, ETH, fx.alice.address, parseEther("0.5"), false, intent.rationale);
    });

    it("test_propose_policyViolation_isDenied", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("11"), review: true });
      const id_ = intentId(fx, intent);
      await expect(fx.module.connect(fx.relayer).propose(intent, await sign(fx.agent, fx, intent)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(id_, fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Denied);
    });
  });

  describe("IntentQueued log", function () {
    it("test_intentQueued_carriesWholeIntent_rebuiltIntentExecutes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const original = await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("12345", 6), {
        idempotencyKey: id("invoice-2024-117"),
        validAfter: 1n,
        rationale: id("vendor invoice 117"),
      });
      const receipt = await (await submitSigned(fx, original)).wait();
      const logs = receipt!.logs.map((l) => fx.module.interface.parseLog(l)).filter((p) => p?.name === "IntentQueued");
      expect(logs).to.have.length(1);
      const { intentId: loggedId, agent, eta, intent: tuple } = logs[0]!.args;
      // A co-signer or relayer who only has the log rebuilds the intent from it.
      const rebuilt = intentFromLog(tuple);
      expect(rebuilt).to.deep.equal(original);
      expect(loggedId).to.equal(hashIntent(rebuilt, fx.chainId, fx.moduleAddress));
      expect(agent).to.equal(fx.agent.address);
      expect(eta).to.equal(BigInt((await receipt!.getBlock()).timestamp) + DELAY);

      await time.increaseTo(eta);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(rebuilt, await cosignerSignatures(fx, loggedId, fx.cosigners)),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          loggedId,
          fx.agent.address,
          fx.usdcAddress,
          fx.bob.address,
          parseUnits("12345", 6),
          true,
          rebuilt.rationale,
        );
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(parseUnits("12345", 6));
    });
  });

  describe("when no co-signers have been set", function () {
    it("test_executeQueued_beforeCosigners_revertsApprovalsInsufficient", async function () {
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
      const byCos1 = await signCosignerApproval(fx.cosigners[0], id_, await fx.bare.cosignerEra(), fx.chainId, fx.bareAddress);
      await expect(
        fx.bare.connect(fx.relayer).executeQueued(intent, [{ signer: fx.cosigners[0].address, signature: byCos1 }]),
      )
        .to.be.revertedWithCustomError(fx.bare, "CosignerUnknown")
        .withArgs(fx.cosigners[0].address);
      expect(await fx.bare.intentStatus(id_)).to.equal(Status.Queued);
    });
  });
});
