/**
 * IntentRouter (SPEC section 5): the agents' entry points. `submit` routes an authentic intent to exactly one outcome
 * (Promise 6): executed now, queued for co-signers, or denied, each with its event. Rejections (pause, agent state,
 * validity window, signature, idempotency conflict, nonce) revert and record nothing; a denial is recorded, consumes
 * the nonce and is a strike. An intent signed with `review` is queued even within the auto tier, and `propose`
 * accepts nothing else (v3). Every entry point holds a reentrancy lock, so a recipient or target can neither spend
 * twice from one window nor reuse a nonce (Promise 2). What happens to a queued intent is in EscalationQueue.spec.ts.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Result, id, parseEther, parseUnits } from "ethers";
import {
  DenyReason,
  ETH,
  HOUR,
  Status,
  buildIntent,
  cosignerSignatures,
  intentId,
  mocksFixture,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import { Intent, hashIntent } from "../../sdk/eip712";
import { DELAY, ethBalance, expectDenied, intentTuple } from "./helpers";

const REENTRANT_CALL = id("ReentrancyGuardReentrantCall()").slice(0, 10);

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

describe("IntentRouter", function () {
  describe("one outcome for every authentic intent (Promise 6)", function () {
    it("records a denial with its event and status, consumes the nonce and counts a strike, moving nothing [test_submit_denied_recordsOutcomeConsumesNonceAndStrikes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("20"), rationale: id("probe the fence") });
      await expectDenied(fx, intent, DenyReason.AboveHardCap);
      const [agent, eta, approvals, status] = await fx.module.intent(intentId(fx, intent));
      expect([agent, eta, approvals, status]).to.deep.equal([fx.agent.address, 0n, 0n, Status.Denied]);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });
  });

  describe("review requests (v3)", function () {
    it("queues an intent signed for review even within the auto tier, paying and charging nothing [test_submit_reviewWithinLimits_queuedWithIntentQueued]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseEther("0.5"); // within autoPerTx 1 and autoPerWindow 3
      const intent = await buildIntent(fx, { value: amount, review: true, rationale: id("new vendor, please check") });
      const id_ = intentId(fx, intent);
      const signature = await sign(fx.agent, fx, intent);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(intent, signature)).to.deep.equal([
        id_,
        Status.Queued,
      ]);
      const before = await treasuryState(fx);
      const ts = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(ts);
      const tx = fx.module.connect(fx.relayer).submit(intent, signature);
      await expect(tx)
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, ts + BigInt(HOUR), intentTuple(intent));
      await expect(tx).to.not.emit(fx.module, "IntentExecuted");
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, ts + BigInt(HOUR), 0n, Status.Queued]);
      // Nothing paid or charged; only the nonce moved.
      const after = await treasuryState(fx);
      expect(after[`nonce:${fx.agent.address}:0`]).to.equal(intent.nonce + 1n);
      delete after[`nonce:${fx.agent.address}:0`];
      delete before[`nonce:${fx.agent.address}:0`];
      expect(after).to.deep.equal(before);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
    });

    it("denies a review request that policy denies, with its strike, instead of queueing it [test_submit_reviewAboveHardCap_deniedNotQueued]", async function () {
      // A review request is queued only if policy would accept it: a denial comes first.
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("11"), review: true });
      await expectDenied(fx, intent, DenyReason.AboveHardCap);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
    });

    it("queues a review request through propose; co-signers then execute it as escalated spend [test_propose_withinAutoLimits_queuesInsteadOfExecuting]", async function () {
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

    it("refuses an intent not signed for review through propose with IntentNotForReview, recording nothing; submit still pays it [test_propose_withoutReview_revertsIntentNotForReviewWithTheId]", async function () {
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

    it("denies through propose a review request that policy denies [test_propose_policyViolation_isDenied]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("11"), review: true });
      const id_ = intentId(fx, intent);
      await expect(fx.module.connect(fx.relayer).propose(intent, await sign(fx.agent, fx, intent)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(id_, fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Denied);
    });
  });

  describe("the IntentQueued log", function () {
    it("carries the whole intent, so that anyone can rebuild it from the log and execute it [test_intentQueued_carriesWholeIntent_rebuiltIntentExecutes]", async function () {
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

  describe("when a recipient or target re-enters (Promise 2)", function () {
    it("reverts the whole submission when a recipient re-enters submit and lets the lock's error bubble, charging nothing [test_submit_reentrantRecipientBubbling_revertsReentrancyGuardAndChargesNothing]", async function () {
      const fx = await loadFixture(mocksFixture);
      const value = parseEther("0.5");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value });
      // The inner intent is authentic and would fit the window: only the lock stops it.
      const inner = await buildIntent(fx, { target: fx.reentrantAddress, value, nonce: outer.nonce + 1n });
      const innerCall = fx.module.interface.encodeFunctionData("submit", [inner, await sign(fx.agent, fx, inner)]);
      await fx.reentrant.arm(innerCall, false);
      const probe = { accounts: [fx.safeAddress, fx.reentrantAddress] };
      const before = await treasuryState(fx, probe);
      await expect(submitSigned(fx, outer)).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
      expect(await fx.reentrant.attempts()).to.equal(0n);
    });

    it("pays once a recipient that re-enters and swallows the lock's error; the inner intent's nonce stays free [test_submit_reentrantRecipientSwallowing_isPaidOnceAndInnerNonceStaysFree]", async function () {
      const fx = await loadFixture(mocksFixture);
      const value = parseEther("0.5");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value });
      const inner = await buildIntent(fx, { target: fx.reentrantAddress, value, nonce: outer.nonce + 1n });
      const innerSig = await sign(fx.agent, fx, inner);
      await fx.reentrant.arm(fx.module.interface.encodeFunctionData("submit", [inner, innerSig]), true);
      const tx = submitSigned(fx, outer);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, outer), fx.agent.address, ETH, fx.reentrantAddress, value, false, outer.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.reentrantAddress], [-value, value]);
      await expect(tx).to.emit(fx.reentrant, "Reentered").withArgs(false, REENTRANT_CALL);
      expect(await fx.reentrant.attempts()).to.equal(1n);
      expect(await fx.reentrant.lastRevertData()).to.equal(REENTRANT_CALL);
      // Charged once, one nonce consumed.
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - value);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      // The inner intent was never accepted: it is still a valid, unconsumed intent for its own submission.
      await expect(fx.module.connect(fx.relayer).submit(inner, innerSig)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(
        fx.ethLimit.autoPerWindow - 2n * value,
      );
    });

    it("never lets a recipient replay the intent that pays it [test_submit_reentrantRecipientReplayingSameIntent_cannotReuseTheNonce]", async function () {
      const fx = await loadFixture(mocksFixture);
      const value = parseEther("0.5");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value });
      const outerSig = await sign(fx.agent, fx, outer);
      await fx.reentrant.arm(fx.module.interface.encodeFunctionData("submit", [outer, outerSig]), true);
      await expect(fx.module.connect(fx.relayer).submit(outer, outerSig)).to.changeEtherBalance(
        fx.reentrantAddress,
        value,
      );
      expect(await fx.reentrant.lastRevertData()).to.equal(REENTRANT_CALL);
      await expect(fx.module.connect(fx.relayer).submit(outer, outerSig))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - value);
    });

    it("stops an allowed call target that re-enters submit, submitBatch or propose [test_submit_reentrantCallTarget_revertsReentrancyGuard]", async function () {
      const fx = await loadFixture(mocksFixture);
      const hook = fx.reentrant.interface.getFunction("hook")!.selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.reentrantAddress, hook, true);
      const value = parseEther("0.4");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value, data: hook });
      const inner = await buildIntent(fx, { target: fx.reentrantAddress, value, nonce: outer.nonce + 1n });
      const innerSig = await sign(fx.agent, fx, inner);
      for (const entry of ["submit", "submitBatch", "propose"] as const) {
        const call =
          entry === "submitBatch"
            ? fx.module.interface.encodeFunctionData("submitBatch", [[inner], [innerSig]])
            : entry === "submit"
              ? fx.module.interface.encodeFunctionData("submit", [inner, innerSig])
              : fx.module.interface.encodeFunctionData("propose", [inner, innerSig]);
        await fx.reentrant.arm(call, false);
        const probe = { accounts: [fx.safeAddress, fx.reentrantAddress] };
        const before = await treasuryState(fx, probe);
        await expect(submitSigned(fx, outer)).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
        expect(await treasuryState(fx, probe)).to.deep.equal(before);
        expect(await fx.module.intentStatus(intentId(fx, inner))).to.equal(Status.None);
      }
    });

    it("stops a recipient that re-enters executeQueued; the queued intent still runs when called directly [test_submit_reentrantRecipientCallingExecuteQueued_cannotRunTheQueuedIntent]", async function () {
      const fx = await loadFixture(mocksFixture);
      // A queued 2 ETH payment to the attacker's contract, approved and ready.
      const queued = await buildIntent(fx, { target: fx.reentrantAddress, value: parseEther("2") });
      await expect(submitSigned(fx, queued)).to.emit(fx.module, "IntentQueued");
      await time.increase(3600);
      const queuedId = intentId(fx, queued);
      const sigs = await cosignerSignatures(fx, queuedId, fx.cosigners.slice(0, 2));
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value: parseEther("0.1") });
      await fx.reentrant.arm(fx.module.interface.encodeFunctionData("executeQueued", [queued, sigs]), false);
      const probe = { accounts: [fx.safeAddress, fx.reentrantAddress] };
      const before = await treasuryState(fx, probe);
      await expect(submitSigned(fx, outer)).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
      expect(await fx.module.intentStatus(queuedId)).to.equal(Status.Queued);
      // Called directly (not re-entered) the same call works: only the lock stopped it.
      await fx.reentrant.disarm();
      await expect(fx.module.connect(fx.relayer).executeQueued(queued, sigs)).to.changeEtherBalance(
        fx.reentrantAddress,
        parseEther("2"),
      );
      expect(await fx.module.intentStatus(queuedId)).to.equal(Status.Executed);
    });
  });
});
