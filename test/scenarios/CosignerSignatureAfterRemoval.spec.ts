/**
 * Finding R2 (low) of the v3 review: on-chain approvals of a removed co-signer died with the co-signer era, but an
 * off-chain `CosignerApproval(bytes32 intentId)` signature named nothing but the intent, so it came back to life when
 * the same address was added again. The story: co-signer cos1 signs its approval of a queued 5 ETH payment and hands
 * the signature to a relayer; the owners then remove cos1 (its laptop was lost) and, once it has a new device, add
 * the same address back. The relayer, holding cos1's old signature, tries to execute with it. In v3 the signature
 * names the co-signer era (`CosignerApproval(bytes32 intentId,uint16 cosignerEra)`), so it is void for good; only a
 * fresh signature, made in the current era, counts.
 * Threat: co-signers and their keys (docs/THREAT-MODEL.md, T-COSIGNER).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { id, parseEther } from "ethers";
import { DAY, ETH, HOUR, Status, approvalSignature, intentId, treasuryFixture } from "../fixtures";
import { hashCosignerApproval } from "../../sdk/eip712";
import { TreasuryBook } from "./model";

const FIVE_ETH = parseEther("5");

type Sig = { signer: string; signature: string };
const ascending = (sigs: Sig[]): Sig[] => [...sigs].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));

describe("Scenario: a co-signer's signature after its removal and return (finding R2)", function () {
  it("test_cosignerSignature_removedThenReadded_oldSignatureVoid_freshOneCounts", async function () {
    const fx = await loadFixture(treasuryFixture);
    const [cos1, cos2, cos3] = fx.cosigners;
    const book = await TreasuryBook.open(fx);
    const m = fx.module.interface;

    // The agent's 5 ETH payment to alice is above its 1 ETH auto tier: queued for 2 of the 3 co-signers.
    const payment = await book.intent({
      value: FIVE_ETH,
      rationale: id("annual audit fee"),
      validUntil: BigInt(await time.latest()) + BigInt(DAY),
    });
    const paymentId = intentId(fx, payment);
    await expect(fx.module.connect(fx.relayer).submit(payment, await book.signature(payment))).to.emit(
      fx.module,
      "IntentQueued",
    );
    const eta = (await fx.module.intent(paymentId)).eta;

    // Era 1: cos1 signs its approval off-chain and hands it over.
    expect(await fx.module.cosignerEra()).to.equal(1n);
    const oldByCos1: Sig = { signer: cos1.address, signature: await approvalSignature(cos1, fx, paymentId) };
    expect(await fx.module.hashCosignerApproval(paymentId)).to.equal(
      hashCosignerApproval(paymentId, 1n, fx.chainId, fx.moduleAddress),
    );

    // The owners remove cos1 (era 2) and later add the same address back (era 3).
    await book.asOwners(m.encodeFunctionData("setCosigners", [[cos2.address, cos3.address], 2]));
    expect(await fx.module.cosignerEra()).to.equal(2n);
    await book.asOwners(m.encodeFunctionData("setCosigners", [[cos1.address, cos2.address, cos3.address], 2]));
    expect(await fx.module.cosignerEra()).to.equal(3n);
    expect(await fx.module.cosigners()).to.deep.equal([cos1.address, cos2.address, cos3.address]);

    // The relayer executes with cos1's era-1 signature and a fresh one from cos2: cos1's does not count.
    await time.increaseTo(eta);
    const freshByCos2: Sig = { signer: cos2.address, signature: await approvalSignature(cos2, fx, paymentId) };
    const aliceBefore = await ethers.provider.getBalance(fx.alice.address);
    const safeBefore = await ethers.provider.getBalance(fx.safeAddress);
    await expect(fx.module.connect(fx.relayer).executeQueued(payment, ascending([oldByCos1, freshByCos2])))
      .to.be.revertedWithCustomError(fx.module, "CosignerSignatureInvalid")
      .withArgs(cos1.address, paymentId);
    // Nothing was paid and nothing counted: no on-chain approvals, the intent still queued.
    expect((await fx.module.intent(paymentId)).approvals).to.equal(0n);
    expect(await fx.module.intentStatus(paymentId)).to.equal(Status.Queued);
    expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(aliceBefore);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(safeBefore);

    // cos1, back on its new device, signs again in era 3: with cos2's that is the threshold, and the payment runs once.
    const freshByCos1: Sig = { signer: cos1.address, signature: await approvalSignature(cos1, fx, paymentId) };
    const sigs = ascending([freshByCos1, freshByCos2]);
    await expect(fx.module.connect(fx.relayer).executeQueued(payment, sigs))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(paymentId, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, payment.rationale);
    book.pay(ETH, fx.alice.address, FIVE_ETH);
    expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(aliceBefore + FIVE_ETH);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(safeBefore - FIVE_ETH);
    await expect(fx.module.connect(fx.relayer).executeQueued(payment, sigs))
      .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
      .withArgs(paymentId, Status.Executed, 1n << Status.Queued);
    await book.assertNothingLost();
  });

  it("test_cosignerSignature_onChainApprovalBeforeRemoval_voidAfterReadd", async function () {
    // The on-chain half of the same story, unchanged since v1: cos1 approves on-chain, leaves, comes back.
    const fx = await loadFixture(treasuryFixture);
    const [cos1, cos2, cos3] = fx.cosigners;
    const book = await TreasuryBook.open(fx);
    const m = fx.module.interface;
    const payment = await book.intent({ value: FIVE_ETH, validUntil: BigInt(await time.latest()) + BigInt(DAY) });
    const paymentId = intentId(fx, payment);
    await fx.module.connect(fx.relayer).submit(payment, await book.signature(payment));
    await expect(fx.module.connect(cos1).approve(paymentId))
      .to.emit(fx.module, "IntentApproved")
      .withArgs(paymentId, cos1.address);
    expect((await fx.module.intent(paymentId)).approvals).to.equal(1n);
    await book.asOwners(m.encodeFunctionData("setCosigners", [[cos2.address, cos3.address], 2]));
    await book.asOwners(m.encodeFunctionData("setCosigners", [[cos1.address, cos2.address, cos3.address], 2]));
    expect((await fx.module.intent(paymentId)).approvals).to.equal(0n);
    expect(await fx.module.hasApproved(paymentId, cos1.address)).to.equal(false);
    await time.increase(HOUR);
    const byCos2 = [{ signer: cos2.address, signature: await approvalSignature(cos2, fx, paymentId) }];
    await expect(fx.module.connect(fx.relayer).executeQueued(payment, byCos2))
      .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
      .withArgs(paymentId, 1n, 2n);
    expect(await fx.module.intentStatus(paymentId)).to.equal(Status.Queued);
    await book.assertNothingLost();
  });
});
