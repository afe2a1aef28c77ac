import { expect } from "chai";
import * as fs from "fs";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers } from "hardhat";
import { keccak256, parseUnits, toUtf8Bytes } from "ethers";
import {
  ApprovalsInsufficientError,
  AssetBook,
  CosignerClient,
  CosignerRejectedError,
  CosignerSignatureStaleError,
  IntentNotReadyError,
  IntentStateError,
  InvalidRequestError,
  NotAuthorizedError,
  PolicyViolationError,
  decodeAction,
  sortSignatures,
} from "../../../sdk";
import { HOUR, Treasury, treasuryFixture } from "../../fixtures";
import { agentClient, readJournal } from "./helpers";

const usdc = (n: string) => parseUnits(n, 6);

async function cosigner(fx: Treasury, i: number, journals: string[] = []) {
  return CosignerClient.connect({ module: fx.moduleAddress, signer: fx.cosigners[i], journals, pollIntervalMs: 10 });
}

/** A 25,000 USDC invoice queued by the fixture's agent (above its 1,000 auto cap, within its 50,000 hard cap). */
async function queuedInvoice(fx: Treasury, rationale = "Invoice 2024-117: audit by Trail & Co") {
  const { client, journal } = await agentClient(fx);
  const r = await client.pay({ asset: "USDC", to: fx.bob.address, amount: "25000", rationale });
  client.close();
  expect(r.status).to.equal("Queued");
  return { r, journal };
}

describe("CosignerClient", function () {
  describe("when an intent is queued", function () {
    it("test_listQueued_decodesCalldataInHumanUnitsWithVerifiedRationale", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r, journal } = await queuedInvoice(fx);
      const c = await cosigner(fx, 0, [journal]);

      const list = await c.listQueued();

      expect(list).to.have.length(1);
      const q = list[0];
      expect(q).to.deep.include({
        intentId: r.intentId,
        status: "Queued",
        agent: fx.agent.address,
        eta: r.eta,
        approvals: 0,
        threshold: 2,
        executable: false,
      });
      expect(q.expiresAt).to.equal(r.eta! + 24 * HOUR);
      expect(q.action.kind).to.equal("token-payment");
      expect(q.action).to.deep.include({ to: fx.bob.address, amount: usdc("25000"), amountFormatted: "25000" });
      expect(q.action.summary).to.equal(`Pay 25000 USDC to ${fx.bob.address}`);
      expect(q.rationaleText).to.equal("Invoice 2024-117: audit by Trail & Co");
      expect(q.queuedTxHash).to.equal(r.txHash);
    });

    it("test_listQueued_tamperedJournalText_isNotShown", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { journal } = await queuedInvoice(fx, "the real reason");
      // Someone edits the journal to make the intent look harmless: the hash no longer matches, so it is dropped.
      fs.writeFileSync(journal, fs.readFileSync(journal, "utf8").replace("the real reason", "routine, approve fast"));
      const c = await cosigner(fx, 0, [journal]);
      const [q] = await c.listQueued();
      expect(q.rationaleText).to.equal(undefined);
      expect(q.rationaleHash).to.equal(keccak256(toUtf8Bytes("the real reason")));
    });

    it("test_approve_onChain_emitsAndCounts", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const c = await cosigner(fx, 0);
      const a = await c.approve(r.intentId);
      await expect(a.txHash!).to.emit(fx.module, "IntentApproved").withArgs(r.intentId, fx.cosigners[0].address);
      expect(a).to.deep.include({ status: "Queued", approvals: 1, threshold: 2, signer: fx.cosigners[0].address });
      const [q] = await c.listQueued();
      expect(q.approvedBy).to.deep.equal([fx.cosigners[0].address]);
    });

    it("test_execute_oneOnChainOneSignatureAfterDelay_paysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const [c1, c2, c3] = await Promise.all([0, 1, 2].map((i) => cosigner(fx, i)));
      await c1.approve(r.intentId);
      const signed = await c2.approve(r.intentId, { signatureOnly: true });
      expect(signed.txHash).to.equal(undefined);
      expect(signed.approvals).to.equal(1); // a signature counts only at execution
      await time.increaseTo(r.eta!);

      const before = await fx.usdc.balanceOf(fx.safeAddress);
      const done = await c3.execute(r.intentId, { signatures: [signed.signature!] });

      expect(done).to.deep.include({ intentId: r.intentId, status: "Executed", replay: false });
      await expect(done.txHash!)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          r.intentId,
          fx.agent.address,
          fx.usdcAddress,
          fx.bob.address,
          usdc("25000"),
          true,
          keccak256(toUtf8Bytes("Invoice 2024-117: audit by Trail & Co")),
        );
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("25000"));
      expect(before - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(usdc("25000"));
      expect(await c1.listQueued()).to.deep.equal([]);
      expect((await c1.listQueued({ all: true }))[0].status).to.equal("Executed");
    });

    it("test_execute_beforeEta_throwsIntentNotReady", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const [c1, c2] = await Promise.all([cosigner(fx, 0), cosigner(fx, 1)]);
      await c1.approve(r.intentId);
      await c2.approve(r.intentId);
      const err = await c1.execute(r.intentId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(IntentNotReadyError);
      expect((err as IntentNotReadyError).args.eta).to.equal(BigInt(r.eta!));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(0n);
    });

    it("test_execute_oneApprovalOfTwo_throwsApprovalsInsufficient", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const c1 = await cosigner(fx, 0);
      await c1.approve(r.intentId);
      await time.increaseTo(r.eta!);
      const err = await c1.execute(r.intentId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ApprovalsInsufficientError);
      expect((err as ApprovalsInsufficientError).args).to.deep.include({ counted: 1n, required: 2n });
    });

    it("test_execute_limitLoweredMeanwhile_throwsPolicyViolation", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const [c1, c2] = await Promise.all([cosigner(fx, 0), cosigner(fx, 1)]);
      await c1.approve(r.intentId);
      await c2.approve(r.intentId);
      const lowered = { ...fx.usdcLimit, escalatedPerTx: usdc("10000") };
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAssetLimit", [fx.agent.address, fx.usdcAddress, lowered]),
      );
      await time.increaseTo(r.eta!);
      const err = await c1.execute(r.intentId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(PolicyViolationError);
      expect((err as PolicyViolationError).args.reason).to.equal(4n); // AboveHardCap
    });

    it("test_approve_twice_throwsCosignerRejected", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const c1 = await cosigner(fx, 0);
      await c1.approve(r.intentId);
      const err = await c1.approve(r.intentId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CosignerRejectedError);
      expect((err as CosignerRejectedError).errorName).to.equal("CosignerAlreadyApproved");
    });

    it("test_approve_notACosigner_throwsCosignerRejectedOnChainAndOffChain", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const outsider = await CosignerClient.connect({ module: fx.moduleAddress, signer: fx.attacker });
      for (const signatureOnly of [false, true]) {
        const err = await outsider.approve(r.intentId, { signatureOnly }).catch((e: unknown) => e);
        expect(err).to.be.instanceOf(CosignerRejectedError);
        expect((err as CosignerRejectedError).errorName).to.equal("CosignerUnknown");
      }
      expect((await fx.module.intent(r.intentId)).approvals).to.equal(0n);
    });

    it("test_cancel_byCosigner_emitsAndBlocksExecution", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const c1 = await cosigner(fx, 0);
      const cancelled = await c1.cancel(r.intentId);
      expect(cancelled).to.deep.include({ intentId: r.intentId, status: "Cancelled", by: fx.cosigners[0].address });
      await expect(cancelled.txHash!)
        .to.emit(fx.module, "IntentCancelled")
        .withArgs(r.intentId, fx.cosigners[0].address);
      const err = await c1.approve(r.intentId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(IntentStateError);
      expect((err as Error).message).to.match(/is Cancelled, but this needs it to be Queued/);
    });

    it("test_cancel_byOutsider_throwsNotAuthorized", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const outsider = await CosignerClient.connect({ module: fx.moduleAddress, signer: fx.attacker });
      const err = await outsider.cancel(r.intentId).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NotAuthorizedError);
      expect((err as NotAuthorizedError).args).to.deep.equal({ intentId: r.intentId, caller: fx.attacker.address });
    });
  });

  describe("when the co-signer members change after a signature (v3 eras)", function () {
    /** The owners replace co-signer 2 (index 1) by bob: membership changes, so the co-signer era moves on. */
    async function replaceSecondCosigner(fx: Treasury) {
      const before = await fx.module.cosignerEra();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setCosigners", [
          [fx.cosigners[0].address, fx.bob.address, fx.cosigners[2].address],
          2,
        ]),
      );
      expect(await fx.module.cosignerEra()).to.equal(before + 1n);
      return { before: Number(before), now: Number(before) + 1 };
    }

    it("test_approveSignatureOnly_recordsTheCurrentEra", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const signed = await (await cosigner(fx, 0)).approve(r.intentId, { signatureOnly: true });
      expect(signed.signature!.era).to.equal(Number(await fx.module.cosignerEra()));
      expect(signed.signature!.signer).to.equal(fx.cosigners[0].address);
    });

    it("test_execute_signaturesOfAnEarlierEra_throwStaleNamingSignersAndEras_thenFreshSignaturesExecute", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const [c1, c2, c3] = await Promise.all([0, 1, 2].map((i) => cosigner(fx, i)));
      const old1 = (await c1.approve(r.intentId, { signatureOnly: true })).signature!;
      const old2 = (await c2.approve(r.intentId, { signatureOnly: true })).signature!;
      const eras = await replaceSecondCosigner(fx);
      await time.increaseTo(r.eta!);
      const [safeBefore, blockBefore] = [
        await fx.usdc.balanceOf(fx.safeAddress),
        await ethers.provider.getBlockNumber(),
      ];

      const err = await c3.execute(r.intentId, { signatures: [old1, old2] }).catch((e: unknown) => e);

      expect(err).to.be.instanceOf(CosignerSignatureStaleError);
      const stale = err as CosignerSignatureStaleError;
      expect(stale.code).to.equal("COSIGNER_SIGNATURE_STALE");
      const [first, second] = [old1.signer, old2.signer].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      expect(stale.args).to.deep.include({
        intentId: r.intentId,
        signer: first,
        signedEra: eras.before,
        currentEra: eras.now,
        staleSigners: `${first},${second}`,
      });
      expect(stale.message).to.match(
        new RegExp(`^Stale co-signer approval for intent ${r.intentId}: the signature of 0x`),
      );
      expect(stale.message).to.include(`${fx.cosigners[0].address} was made in co-signer era ${eras.before}`);
      expect(stale.message).to.include(
        `${fx.cosigners[1].address} was made in co-signer era ${eras.before} (and it is no longer a co-signer)`,
      );
      expect(stale.message).to.include(`the current co-signer era is ${eras.now}`);
      expect(stale.message).to.include(
        `Ask ${fx.cosigners[0].address} to sign again (npx hardhat intent:approve ${r.intentId} --signature-only)`,
      );
      expect(stale.message).to.not.include(`Ask ${fx.cosigners[1].address}`);
      // Nothing was sent: no block, no payment, still queued.
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
      expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(safeBefore);
      expect(await fx.module.intentStatus(r.intentId)).to.equal(2n);

      // The current co-signers sign again, in the new era: it executes.
      const bobClient = await CosignerClient.connect({ module: fx.moduleAddress, signer: fx.bob });
      const fresh1 = (await c1.approve(r.intentId, { signatureOnly: true })).signature!;
      const freshBob = (await bobClient.approve(r.intentId, { signatureOnly: true })).signature!;
      expect([fresh1.era, freshBob.era]).to.deep.equal([eras.now, eras.now]);
      const checks = await c3.checkSignatures(r.intentId, [old1, fresh1, freshBob]);
      expect(checks.map((c) => [c.signer, c.current, c.signedEra, c.member])).to.deep.equal([
        [fx.cosigners[0].address, false, eras.before, true],
        [fx.cosigners[0].address, true, eras.now, true],
        [fx.bob.address, true, eras.now, true],
      ]);
      const done = await c3.execute(r.intentId, { signatures: [fresh1, freshBob] });
      expect(done).to.deep.include({ intentId: r.intentId, status: "Executed", replay: false });
      await expect(done.txHash!).to.emit(fx.module, "IntentExecuted");
      expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(usdc("25000"));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("25000"));
    });

    it("test_execute_staleSignatureWithoutRecordedEra_eraIsFoundAndNamed", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const c1 = await cosigner(fx, 0);
      const { signer, signature } = (await c1.approve(r.intentId, { signatureOnly: true })).signature!;
      const eras = await replaceSecondCosigner(fx);
      await time.increaseTo(r.eta!);
      // Typed by hand as signer:signature, without the era: the client tries the earlier eras itself.
      const err = await c1.execute(r.intentId, { signatures: [{ signer, signature }] }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CosignerSignatureStaleError);
      expect((err as CosignerSignatureStaleError).args).to.deep.include({
        signer,
        signedEra: eras.before,
        currentEra: eras.now,
      });
    });

    it("test_execute_thresholdOnlyChange_keepsTheEraAndEarlierSignaturesCount", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const [c1, c2, c3] = await Promise.all([0, 1, 2].map((i) => cosigner(fx, i)));
      const eraBefore = await fx.module.cosignerEra();
      const early = [
        (await c1.approve(r.intentId, { signatureOnly: true })).signature!,
        (await c2.approve(r.intentId, { signatureOnly: true })).signature!,
      ];
      const members = fx.cosigners.map((c) => c.address);
      await fx.asOwners(fx.module.interface.encodeFunctionData("setCosigners", [members, 3]));
      expect(await fx.module.cosignerEra()).to.equal(eraBefore);
      const late = (await c3.approve(r.intentId, { signatureOnly: true })).signature!;
      await time.increaseTo(r.eta!);
      const done = await c3.execute(r.intentId, { signatures: [...early, late] });
      expect(done.status).to.equal("Executed");
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("25000"));
    });

    it("test_execute_signatureOfAnotherIntent_isLeftToTheModulesInvalidSignatureError", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { r } = await queuedInvoice(fx);
      const { r: other } = await queuedInvoice(fx, "a second invoice");
      const [c1, c2] = await Promise.all([cosigner(fx, 0), cosigner(fx, 1)]);
      await c1.approve(r.intentId);
      const wrong = (await c2.approve(other.intentId, { signatureOnly: true })).signature!;
      await time.increaseTo(r.eta!);
      // Not stale (it verifies in no era for this intent): the module's own error, decoded.
      const err = await c1.execute(r.intentId, { signatures: [wrong] }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(CosignerRejectedError);
      expect((err as CosignerRejectedError).errorName).to.equal("CosignerSignatureInvalid");
      expect((err as CosignerRejectedError).args).to.deep.equal({
        signer: fx.cosigners[1].address,
        intentId: r.intentId,
      });
    });
  });

  describe("show", function () {
    it("test_show_autoExecutedPayment_decodesFromJournal", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx);
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "42", rationale: "stickers" });
      client.close();
      const c = await cosigner(fx, 0, [journal]);
      const v = await c.show(r.intentId);
      expect(v).to.deep.include({
        intentId: r.intentId,
        status: "Executed",
        agent: fx.agent.address,
        rationaleText: "stickers",
        txHash: r.txHash,
        executable: false,
        review: false,
      });
      expect(v.action?.summary).to.equal(`Pay 42 USDC to ${fx.alice.address}`);
      expect(readJournal(journal)).to.have.length(3);
    });

    it("test_show_withoutJournal_decodesFromExecutedEvent", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const r = await client.pay({ asset: "ETH", to: fx.alice.address, amount: "0.5", rationale: "x" });
      client.close();
      const v = await (await cosigner(fx, 0)).show(r.intentId);
      expect(v.action?.summary).to.equal(`Paid 0.5 ETH to ${fx.alice.address}`);
      expect(v.rationaleText).to.equal(undefined);
      expect(v.review).to.equal(false); // executed in the auto tier: the agent cannot have asked for review
      expect(v.intent).to.equal(undefined);
    });

    it("test_show_unknownIntent_throwsInvalidRequest", async function () {
      const fx = await loadFixture(treasuryFixture);
      const c = await cosigner(fx, 0);
      await expect(c.show("0x" + "12".repeat(32))).to.be.rejectedWith(InvalidRequestError, /unknown on this module/);
      await expect(c.show("0x12")).to.be.rejectedWith(InvalidRequestError, /not an intentId/);
    });
  });

  describe("decodeAction", function () {
    it("test_decodeAction_approvalAndUnknownCall_areFlagged", async function () {
      const fx = await loadFixture(treasuryFixture);
      const assets = new AssetBook(ethers.provider);
      const base = {
        agent: fx.agent.address,
        nonce: 0n,
        idempotencyKey: ethers.ZeroHash,
        validAfter: 0n,
        validUntil: 1n,
        rationale: ethers.ZeroHash,
        review: false,
      };
      const approve = await decodeAction(
        {
          ...base,
          target: fx.usdcAddress,
          value: 0n,
          data: fx.usdc.interface.encodeFunctionData("approve", [fx.attacker.address, usdc("1000")]),
        },
        assets,
      );
      expect(approve).to.deep.include({ kind: "approval", spender: fx.attacker.address, amountFormatted: "1000 USDC" });
      expect(approve.summary).to.match(/^GRANTS SPENDING RIGHTS: approve/);
      const call = await decodeAction(
        { ...base, target: fx.bob.address, value: 10n ** 18n, data: "0x12345678" },
        assets,
        ["deposit(uint256)"],
      );
      expect(call).to.deep.include({
        kind: "call",
        selector: "0x12345678",
        function: undefined,
        ethValueFormatted: "1",
      });
      const known = await decodeAction(
        {
          ...base,
          target: fx.bob.address,
          value: 0n,
          data: new ethers.Interface(["function deposit(uint256)"]).encodeFunctionData("deposit", [5]),
        },
        assets,
        ["deposit(uint256)"],
      );
      expect(known).to.deep.include({ kind: "call", function: "deposit(uint256)" });
      expect(known.summary).to.equal(`Call deposit(uint256) on ${fx.bob.address} with (5)`);
    });

    it("test_sortSignatures_unorderedWithDuplicates_sortedUnique", function () {
      const a = "0x00000000000000000000000000000000000000a1";
      const b = "0x00000000000000000000000000000000000000B2";
      const sorted = sortSignatures([
        { signer: b, signature: "0x02" },
        { signer: a, signature: "0x01" },
        { signer: b.toLowerCase(), signature: "0x03" },
      ]);
      expect(sorted.map((s) => [s.signer.toLowerCase(), s.signature])).to.deep.equal([
        [a, "0x01"],
        [b.toLowerCase(), "0x03"],
      ]);
    });
  });
});
