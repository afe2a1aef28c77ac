/**
 * Finding R1 (medium) of the v3 review: whether an intent asks for human review was decided by the entry point a
 * caller chose (`propose` queued, `submit` routed), not by anything the agent signed. Anyone may relay, so a relayer
 * holding an agent's signed intent could turn a review request into an immediate payment (relay it through
 * `submit`), or a payment into a queued intent the co-signers never expected (relay it through `propose`).
 * In v3 the agent signs `review`: `submit` queues a review request even within limits, `propose` refuses anything
 * else with `IntentNotForReview(intentId)`. This story has a relayer try both, then try to get a stale review request
 * executed after the agent's key was rotated.
 * Threat: a malicious relayer (docs/THREAT-MODEL.md, T-REVIEW).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { id, parseEther } from "ethers";
import { DAY, ETH, HOUR, Status, cosignerSignatures, intentId, treasuryFixture } from "../fixtures";
import { TreasuryBook } from "./model";

const QUEUED_ONLY = 1n << Status.Queued;
const SAFE_ETH = parseEther("100");

describe("Scenario: a relayer re-routes signed intents (finding R1)", function () {
  it("test_review_relayerSubmitsReviewRequest_queuedNothingPaid_agentsProposeReplays", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    // The agent asks for review of a 0.5 ETH payment to a new vendor: within its 1 ETH auto tier. It signs
    // `review = true` with an idempotency key (the client's default) and hands the request to its relayer.
    const request = await book.intent({
      target: fx.alice.address,
      value: parseEther("0.5"),
      idempotencyKey: id("vendor-onboarding-7"),
      review: true,
      rationale: id("new vendor: please check the invoice"),
    });
    const requestId = intentId(fx, request);
    const signature = await book.signature(request);

    // The relayer calls submit instead of propose, hoping for an auto-tier payment. It is queued, nothing is paid.
    const ts = BigInt(await time.latest()) + 10n;
    await time.setNextBlockTimestamp(ts);
    const relayed = fx.module.connect(fx.relayer).submit(request, signature);
    await expect(relayed)
      .to.emit(fx.module, "IntentQueued")
      .withArgs(requestId, fx.agent.address, ts + BigInt(HOUR), [...Object.values(request)]);
    await expect(relayed).to.not.emit(fx.module, "IntentExecuted");
    expect(await fx.module.intentStatus(requestId)).to.equal(Status.Queued);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH);
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3"));
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);

    // The agent, unaware, proposes the same signed request itself: the same id comes back as an idempotent replay,
    // nothing new is queued and its nonce is not consumed again.
    expect(await fx.module.connect(fx.agent).propose.staticCall(request, signature)).to.equal(requestId);
    const own = fx.module.connect(fx.agent).propose(request, signature);
    await expect(own)
      .to.emit(fx.module, "IdempotentReplay")
      .withArgs(requestId, fx.agent.address, request.idempotencyKey);
    await expect(own).to.not.emit(fx.module, "IntentQueued");
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);

    // A keyless review request relayed first: the agent's own propose is then a spent nonce, rejected.
    const keyless = await book.intent({ target: fx.alice.address, value: parseEther("0.2"), review: true });
    const keylessSig = await book.signature(keyless);
    await expect(fx.module.connect(fx.relayer).submit(keyless, keylessSig)).to.emit(fx.module, "IntentQueued");
    await expect(fx.module.connect(fx.agent).propose(keyless, keylessSig))
      .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
      .withArgs(fx.agent.address, 2n, 1n);

    // The co-signers review the first request and let it run: alice is paid once, 0.5 ETH, as escalated spend.
    await time.increaseTo(ts + BigInt(HOUR));
    await expect(
      fx.module
        .connect(fx.relayer)
        .executeQueued(request, await cosignerSignatures(fx, requestId, fx.cosigners.slice(0, 2))),
    )
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(requestId, fx.agent.address, ETH, fx.alice.address, parseEther("0.5"), true, request.rationale);
    book.pay(ETH, fx.alice.address, parseEther("0.5"));
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - parseEther("0.5"));
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3"));
    await book.assertNothingLost();
  });

  it("test_review_relayerProposesSignedPayment_revertsIntentNotForReviewNothingQueued", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    // A routine 0.5 ETH payment to bob, signed `review = false`. A relayer wants it stuck in the co-signers' queue
    // (or to flood them with intents the agent never asked them to review).
    const payment = await book.intent({ target: fx.bob.address, value: parseEther("0.5"), rationale: id("pay bob") });
    const paymentId = intentId(fx, payment);
    const signature = await book.signature(payment);
    await expect(fx.module.connect(fx.relayer).propose(payment, signature))
      .to.be.revertedWithCustomError(fx.module, "IntentNotForReview")
      .withArgs(paymentId);
    expect(await fx.module.intentStatus(paymentId)).to.equal(Status.None);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH);

    // The same signature still pays, once, through submit.
    await expect(fx.module.connect(fx.relayer).submit(payment, signature))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(paymentId, fx.agent.address, ETH, fx.bob.address, parseEther("0.5"), false, payment.rationale);
    book.pay(ETH, fx.bob.address, parseEther("0.5"));
    await expect(fx.module.connect(fx.relayer).propose(payment, signature))
      .to.be.revertedWithCustomError(fx.module, "IntentNotForReview")
      .withArgs(paymentId);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - parseEther("0.5"));
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.5"));
    await book.assertNothingLost();
  });

  it("test_review_staleRequestAfterRotation_neverApprovedOrExecuted_paidOnce", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const oldKey = fx.agent;
    const newKey = fx.signers[15];
    const validUntil = BigInt(await time.latest()) + 2n * BigInt(DAY);
    // A keyed review request for 0.8 ETH to alice, queued by a relayer; one co-signer approves it.
    const stale = await book.intent({
      target: fx.alice.address,
      value: parseEther("0.8"),
      idempotencyKey: id("rent-2026-12"),
      review: true,
      validUntil,
    });
    const staleId = intentId(fx, stale);
    const staleSig = await book.signature(stale);
    await expect(fx.module.connect(fx.relayer).submit(stale, staleSig)).to.emit(fx.module, "IntentQueued");
    await fx.module.connect(fx.cosigners[0]).approve(staleId);

    // The owners rotate the agent's key (say it leaked). The old key's queued intents are dead: Cancelled.
    await book.rotate(oldKey.address, newKey.address);
    expect(await fx.module.intentStatus(staleId)).to.equal(Status.Cancelled);
    await time.increase(HOUR);
    await expect(fx.module.connect(fx.cosigners[1]).approve(staleId))
      .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
      .withArgs(staleId, Status.Cancelled, QUEUED_ONLY);
    await expect(
      fx.module
        .connect(fx.relayer)
        .executeQueued(stale, await cosignerSignatures(fx, staleId, fx.cosigners.slice(0, 2))),
    )
      .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
      .withArgs(staleId, Status.Cancelled, QUEUED_ONLY);
    // Relayed again, the old key is no agent any more.
    await expect(fx.module.connect(fx.relayer).submit(stale, staleSig))
      .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
      .withArgs(oldKey.address);

    // The new key inherits the idempotency records: the same request under the same key reads as the dead original.
    const sameKey = await book.intent({
      ...stale,
      agent: newKey.address,
      nonce: await fx.module.getNonce(newKey.address, 0),
    });
    await expect(fx.module.connect(fx.relayer).submit(sameKey, await book.signature(sameKey, newKey)))
      .to.emit(fx.module, "IdempotentReplay")
      .withArgs(staleId, newKey.address, stale.idempotencyKey);
    // Asked again under a new key, it is queued, approved and executed: alice is paid once.
    const fresh = await book.intent({ ...sameKey, idempotencyKey: id("rent-2026-12/again") });
    const freshId = intentId(fx, fresh);
    await expect(fx.module.connect(fx.relayer).submit(fresh, await book.signature(fresh, newKey))).to.emit(
      fx.module,
      "IntentQueued",
    );
    await time.increase(HOUR);
    const sigs = await cosignerSignatures(fx, freshId, fx.cosigners.slice(0, 2));
    await expect(fx.module.connect(fx.relayer).executeQueued(fresh, sigs))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(freshId, newKey.address, ETH, fx.alice.address, parseEther("0.8"), true, fresh.rationale);
    book.pay(ETH, fx.alice.address, parseEther("0.8"));
    await expect(fx.module.connect(fx.relayer).executeQueued(fresh, sigs))
      .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
      .withArgs(freshId, Status.Executed, QUEUED_ONLY);
    await expect(fx.module.connect(fx.relayer).executeQueued(stale, sigs))
      .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
      .withArgs(staleId, Status.Cancelled, QUEUED_ONLY);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - parseEther("0.8"));
    await book.assertNothingLost();
  });
});
