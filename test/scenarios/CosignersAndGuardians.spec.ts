/**
 * Adversarial stories about the humans: a co-signer approving something other than what was shown (Bybit, Radiant),
 * co-signers colluding below the threshold, and a stolen guardian key.
 * Threats: blind signing, co-signer collusion, a stolen guardian key (docs/THREAT-MODEL.md, T-BLIND, T-COLLUDE, T-GUARDIAN).
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, id, parseEther } from "ethers";
import {
  DAY,
  ETH,
  Status,
  agentConfig,
  approvalSignature,
  cosignerSignatures,
  intentId,
  treasuryFixture,
  type Treasury,
} from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { TreasuryBook } from "./model";

const QUEUED_BIT = 1n << Status.Queued;

async function queue(fx: Treasury, book: TreasuryBook, fields: Partial<Intent>) {
  const intent = await book.intent({ validUntil: BigInt(await time.latest()) + BigInt(DAY), ...fields });
  const receipt = await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
  const queued = receipt!.logs.map((l) => fx.module.interface.parseLog(l)).find((p) => p?.name === "IntentQueued");
  expect(queued, "intent queued").to.not.equal(undefined);
  return { intent, id: intentId(fx, intent), event: queued! };
}

describe("Scenario: co-signers shown one intent, asked to run another (Bybit, Radiant)", function () {
  it("test_blindSigning_approvalsOfShownIntent_worthlessForModifiedOne", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    // The compromised agent queues a 5 ETH payment to alice: what the co-signers' screens show.
    const shown = await queue(fx, book, {
      target: fx.alice.address,
      value: parseEther("5"),
      rationale: id("pay alice's invoice"),
    });
    // The IntentQueued log carries the whole intent: the co-signers' tools rebuild the id from it and compare.
    const l = shown.event.args.intent;
    const rebuilt: Intent = {
      agent: l.agent,
      target: l.target,
      value: l.value,
      data: l.data,
      nonce: l.nonce,
      idempotencyKey: l.idempotencyKey,
      validAfter: l.validAfter,
      validUntil: l.validUntil,
      rationale: l.rationale,
      review: l.review,
    };
    expect(rebuilt).to.deep.equal(shown.intent);
    expect(await fx.module.hashIntent(rebuilt)).to.equal(shown.id);
    const sigs = await cosignerSignatures(fx, shown.id, fx.cosigners.slice(0, 2));
    // The attacker swaps the recipient (same nonce, same everything else) and presents the approvals.
    const swapped: Intent = { ...shown.intent, target: fx.attacker.address };
    book.note(swapped);
    const swappedId = intentId(fx, swapped);
    await time.increase(3600);
    await expect(fx.module.connect(fx.attacker).executeQueued(swapped, sigs))
      .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
      .withArgs(swappedId, Status.None, QUEUED_BIT);
    // It queues the swapped payment for real (next nonce) and replays the approvals of the shown one on it.
    const real = await queue(fx, book, {
      target: fx.attacker.address,
      value: parseEther("5"),
      rationale: id("pay alice's invoice"),
    });
    await time.increase(3600);
    const [first] = [...sigs].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
    await expect(fx.module.connect(fx.attacker).executeQueued(real.intent, sigs))
      .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
      .withArgs(first.signer, real.id);
    // Every field is part of the id: changing any one of them makes a different intent.
    const variants: Partial<Intent>[] = [
      { agent: fx.bob.address },
      { target: fx.attacker.address },
      { value: shown.intent.value + 1n },
      { data: "0x00" },
      { nonce: shown.intent.nonce + 1n },
      { idempotencyKey: id("k") },
      { validAfter: 1n },
      { validUntil: shown.intent.validUntil + 1n },
      { rationale: id("other") },
    ];
    const ids = new Set(variants.map((v) => intentId(fx, { ...shown.intent, ...v })));
    expect(ids.size).to.equal(variants.length);
    expect(ids.has(shown.id)).to.equal(false);
    // The shown intent runs as approved; the swapped one is cancelled by an honest co-signer.
    await expect(fx.module.connect(fx.relayer).executeQueued(shown.intent, sigs))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(shown.id, fx.agent.address, ETH, fx.alice.address, parseEther("5"), true, shown.intent.rationale);
    book.pay(ETH, fx.alice.address, parseEther("5"));
    await expect(fx.module.connect(fx.cosigners[2]).cancel(real.id))
      .to.emit(fx.module, "IntentCancelled")
      .withArgs(real.id, fx.cosigners[2].address);
    await book.assertNothingLost();
  });
});

describe("Scenario: co-signers colluding below the threshold", function () {
  it("test_collusion_oneOfTwoCosignersPlusForgeries_insufficient", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const [corrupt, honest] = fx.cosigners;
    const q = await queue(fx, book, { target: fx.attacker.address, value: parseEther("9") });
    await time.increase(3600);
    // The corrupt co-signer approves on-chain and by signature: it still counts once.
    await (await fx.module.connect(corrupt).approve(q.id)).wait();
    const own = { signer: corrupt.address, signature: await approvalSignature(corrupt, fx, q.id) };
    await expect(fx.module.connect(fx.attacker).executeQueued(q.intent, [own]))
      .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
      .withArgs(q.id, 1n, 2n);
    // The same signature twice is refused as unordered (duplicates are not strictly ascending).
    await expect(fx.module.connect(fx.attacker).executeQueued(q.intent, [own, own]))
      .to.be.revertedWithCustomError(fx.module, "CosignerSignaturesUnordered")
      .withArgs(corrupt.address, corrupt.address);
    // The attacker's own key is not a co-signer.
    const forged = { signer: fx.attacker.address, signature: await approvalSignature(fx.attacker, fx, q.id) };
    const sorted = [own, forged].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
    await expect(fx.module.connect(fx.attacker).executeQueued(q.intent, sorted))
      .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
      .withArgs(fx.attacker.address);
    // A signature "from" the honest co-signer made by the corrupt one is invalid.
    const fake = { signer: honest.address, signature: await approvalSignature(corrupt, fx, q.id) };
    const withFake = [own, fake].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
    await expect(fx.module.connect(fx.attacker).executeQueued(q.intent, withFake))
      .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
      .withArgs(honest.address, q.id);
    await expect(fx.module.connect(corrupt).approve(q.id))
      .to.be.revertedWithCustomError(fx.module, "CosignerAlreadyApproved")
      .withArgs(q.id, corrupt.address);
    await (await fx.module.connect(honest).cancel(q.id)).wait();
    await book.assertNothingLost();
  });

  it("test_collusion_removedCosignerApproval_voidAndNotRevivedOnReadd", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const [c1, c2, c3] = fx.cosigners;
    const q = await queue(fx, book, { target: fx.attacker.address, value: parseEther("9") });
    await (await fx.module.connect(c1).approve(q.id)).wait();
    await (await fx.module.connect(c2).approve(q.id)).wait();
    // The owners learn c1 is compromised and rotate it out, then (later) back in: its approval stays void.
    const m = fx.module.interface;
    await book.asOwners(m.encodeFunctionData("setCosigners", [[c2.address, c3.address], 2]));
    expect(await fx.module.hasApproved(q.id, c1.address)).to.equal(false);
    await book.asOwners(m.encodeFunctionData("setCosigners", [[c1.address, c2.address, c3.address], 2]));
    expect(await fx.module.hasApproved(q.id, c1.address)).to.equal(false);
    // Whatever else the owners' change voided, the approvals left are below the threshold.
    const [, , approvals] = await fx.module.intent(q.id);
    expect(approvals).to.be.lessThan(2n);
    await time.increase(3600);
    await expect(fx.module.connect(fx.attacker).executeQueued(q.intent, []))
      .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
      .withArgs(q.id, approvals, 2n);
    await (await fx.module.connect(c3).cancel(q.id)).wait();
    await book.assertNothingLost();
  });
});

describe("Scenario: a stolen guardian key", function () {
  it("test_guardian_stolenKey_canStopButNeverMoveOrLoosen", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const thief = fx.module.connect(fx.guardian);
    const safe = fx.safeAddress;
    // A legitimate escalated payment is waiting; the thief cancels it, pauses, and freezes the agent.
    const q = await queue(fx, book, { target: fx.bob.address, value: parseEther("4") });
    await expect(thief.cancel(q.id)).to.emit(fx.module, "IntentCancelled").withArgs(q.id, fx.guardian.address);
    await expect(thief.pause()).to.emit(fx.module, "Paused").withArgs(fx.guardian.address);
    await expect(thief.freezeAgent(fx.agent.address))
      .to.emit(fx.module, "AgentFrozen")
      .withArgs(fx.agent.address, fx.guardian.address, encodeBytes32String("manual"));
    // Everything that would loosen a restriction or move funds is the owner's alone.
    await expect(thief.unpause())
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
      .withArgs(fx.guardian.address, safe);
    await expect(thief.unfreezeAgent(fx.agent.address))
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
      .withArgs(fx.guardian.address, safe);
    await expect(thief.setGuardian(fx.attacker.address, true))
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
      .withArgs(fx.guardian.address, safe);
    await expect(
      thief.setAssetLimit(fx.agent.address, ETH, {
        autoPerTx: parseEther("100"),
        autoPerWindow: parseEther("100"),
        window: 1,
        escalatedPerTx: parseEther("100"),
      }),
    )
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
      .withArgs(fx.guardian.address, safe);
    await expect(thief.setAgent(fx.attacker.address, agentConfig()))
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
      .withArgs(fx.guardian.address, safe);
    await expect(thief.setCosigners([fx.guardian.address], 1))
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
      .withArgs(fx.guardian.address, safe);
    await expect(thief.approve(q.id))
      .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
      .withArgs(fx.guardian.address);
    const pay = await book.intent({ agent: fx.guardian.address, target: fx.guardian.address, value: parseEther("1") });
    await expect(thief.submit(pay, "0x")).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
    // The owners remove the guardian and restore service (ownersStillInControl unpauses and unfreezes).
    await book.asOwners(fx.module.interface.encodeFunctionData("setGuardian", [fx.guardian.address, false]));
    await expect(thief.pause())
      .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
      .withArgs(fx.guardian.address);
    await book.assertNothingLost();
  });
});
