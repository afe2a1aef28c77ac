/**
 * Promise 5: only the Safe changes configuration; guardians can only restrict.
 *
 * The story: an attacker steals the guardian's key. With it they try to move funds (as an agent, as a co-signer,
 * as a relayer, straight at the Safe), to loosen every limit through every owner-only setter, and to undo the
 * restrictions a guardian can impose (unpause, unfreeze). Everything reverts with its custom error and the
 * treasury ends with exactly what it held. What the key can still do is restrict: pause, freeze, cancel.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, encodeBytes32String, parseEther, parseUnits } from "ethers";
import {
  ETH,
  HOUR,
  Status,
  Treasury,
  agentConfig,
  approvalSignature,
  buildIntent,
  cosignerSignatures,
  impersonate,
  intentId,
  sign,
  submitSigned,
  treasuryFixture,
} from "../fixtures";
import { execSafeCall } from "../../sdk/safe";

const QUEUED_ONLY = 1n << Status.Queued;
const SAFE_ETH = parseEther("100");
const SAFE_USDC = parseUnits("1000000", 6);

async function queueFiveEth(fx: Treasury) {
  const intent = await buildIntent(fx, { value: parseEther("5") });
  const receipt = await (await submitSigned(fx, intent)).wait();
  const eta = BigInt((await receipt!.getBlock()).timestamp) + BigInt(HOUR);
  return { intent, id: intentId(fx, intent), eta };
}

async function expectTreasuryUntouched(fx: Treasury) {
  expect(await fx.deployer.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH);
  expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(SAFE_USDC);
}

describe("GuardianPowers (Promise 5)", function () {
  describe("when the guardian key is stolen", function () {
    it("test_guardian_cannotMoveFundsAsAgentOrRelayer", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      // As an agent of its own: not registered.
      const own = await buildIntent(fx, { agent: g.address, target: g.address, value: parseEther("1") });
      await expect(fx.module.connect(g).submit(own, "0x"))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(g.address);
      const ownReview = { ...own, review: true };
      await expect(fx.module.connect(g).propose(ownReview, await sign(g, fx, ownReview)))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(g.address);
      // Impersonating the real agent: neither an empty signature nor its own signature passes.
      const forged = await buildIntent(fx, { target: g.address, value: parseEther("1") });
      await expect(fx.module.connect(g).submit(forged, "0x"))
        .to.be.revertedWithCustomError(fx.module, "IntentSenderNotAgent")
        .withArgs(g.address, fx.agent.address);
      await expect(fx.module.connect(g).submit(forged, await sign(g, fx, forged)))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, forged));
      const forgedReview = { ...forged, review: true };
      await expect(fx.module.connect(g).propose(forgedReview, await sign(g, fx, forgedReview)))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, forgedReview));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      await expectTreasuryUntouched(fx);
    });

    it("test_guardian_cannotApproveOrExecuteQueuedIntents", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      const q = await queueFiveEth(fx);
      await expect(fx.module.connect(g).approve(q.id))
        .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
        .withArgs(g.address);
      await time.increaseTo(q.eta);
      await expect(fx.module.connect(g).executeQueued(q.intent, []))
        .to.be.revertedWithCustomError(fx.module, "ApprovalsInsufficient")
        .withArgs(q.id, 0n, 2n);
      // Its own CosignerApproval signature, alone or beside one real co-signer, is refused.
      const own = { signer: g.address, signature: await approvalSignature(g, fx, q.id) };
      await expect(fx.module.connect(g).executeQueued(q.intent, [own]))
        .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
        .withArgs(g.address);
      const mixed = [...(await cosignerSignatures(fx, q.id, [fx.cosigners[0]])), own].sort((a, b) =>
        BigInt(a.signer) < BigInt(b.signer) ? -1 : 1,
      );
      await expect(fx.module.connect(g).executeQueued(q.intent, mixed))
        .to.be.revertedWithCustomError(fx.module, "CosignerUnknown")
        .withArgs(g.address);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
      await expectTreasuryUntouched(fx);
    });

    it("test_guardian_cannotMoveFundsThroughTheSafe", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      // Not a module of the Safe...
      const moduleCall = new Interface([
        "function execTransactionFromModule(address to,uint256 value,bytes data,uint8 operation) returns (bool)",
      ]);
      await expect(
        g.sendTransaction({
          to: fx.safeAddress,
          data: moduleCall.encodeFunctionData("execTransactionFromModule", [g.address, parseEther("1"), "0x", 0]),
        }),
      ).to.be.revertedWith("GS104");
      // ...nor an owner: a Safe transaction signed with its key alone is refused.
      await expect(execSafeCall(fx.safe, [g], g, g.address, "0x", parseEther("1"))).to.be.revertedWith("GS020");
      await expectTreasuryUntouched(fx);
    });

    it("test_guardian_everyOwnerOnlySetter_revertsModuleCallerNotOwner", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      const m = fx.module.connect(g);
      const approveSelector = fx.usdc.interface.getFunction("approve").selector;
      const loose = {
        autoPerTx: parseEther("100"),
        autoPerWindow: parseEther("100"),
        window: 1n,
        escalatedPerTx: parseEther("100"),
      };
      const attempts: [string, () => Promise<unknown>][] = [
        ["setAgent (register itself)", () => m.setAgent(g.address, agentConfig())],
        [
          "setAgent (no strikes, no delay)",
          () => m.setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n, escalationDelay: 0n })),
        ],
        ["removeAgent", () => m.removeAgent(fx.agent.address)],
        ["rotateAgent (to its own key)", () => m.rotateAgent(fx.agent.address, g.address)],
        ["setAssetLimit (raise)", () => m.setAssetLimit(fx.agent.address, ETH, loose)],
        ["setAssetLimit (new asset)", () => m.setAssetLimit(fx.agent.address, fx.attacker.address, loose)],
        [
          "setAllowedCall (token approve)",
          () => m.setAllowedCall(fx.agent.address, fx.usdcAddress, approveSelector, true),
        ],
        ["setRecipient", () => m.setRecipient(fx.agent.address, g.address, true)],
        ["setCosigners (itself, 1-of-1)", () => m.setCosigners([g.address], 1)],
        [
          "setCosigners (lower threshold)",
          () =>
            m.setCosigners(
              fx.cosigners.map((c) => c.address),
              1,
            ),
        ],
        ["setGuardian (an accomplice)", () => m.setGuardian(fx.attacker.address, true)],
        ["setGuardian (remove the others)", () => m.setGuardian(g.address, false)],
        ["setTreasuryLimit (remove)", () => m.setTreasuryLimit(ETH, 0, 0)],
        ["setTreasuryLimit (raise)", () => m.setTreasuryLimit(ETH, parseEther("1000"), 1)],
        ["unpause", () => m.unpause()],
        ["unfreezeAgent", () => m.unfreezeAgent(fx.agent.address)],
      ];
      for (const [what, attempt] of attempts) {
        await expect(attempt(), what)
          .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
          .withArgs(g.address, fx.safeAddress);
      }
      await expect(m.initialize(g.address)).to.be.revertedWithCustomError(fx.module, "ModuleAlreadyInitialized");

      // Nothing changed.
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      expect(await fx.module.agentConfig(fx.agent.address)).to.deep.equal(Object.values(agentConfig()).map(BigInt));
      expect(await fx.module.assetLimit(fx.agent.address, ETH)).to.deep.equal(Object.values(fx.ethLimit));
      expect(await fx.module.isAgent(g.address)).to.equal(false);
      expect(await fx.module.cosigners()).to.deep.equal(fx.cosigners.map((c) => c.address));
      expect(await fx.module.threshold()).to.equal(2n);
      expect(await fx.module.isGuardian(fx.attacker.address)).to.equal(false);
      expect(await fx.module.isGuardian(g.address)).to.equal(true);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, fx.usdcAddress, approveSelector)).to.equal(
        false,
      );
      expect(await fx.lens.isRecipient(fx.moduleAddress, fx.agent.address, g.address)).to.equal(false);
      await expectTreasuryUntouched(fx);
    });

    it("test_guardian_cannotUnpause", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect(fx.module.connect(fx.guardian).pause()).to.emit(fx.module, "Paused").withArgs(fx.guardian.address);
      await expect(fx.module.connect(fx.guardian).unpause())
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.guardian.address, fx.safeAddress);
      expect(await fx.module.paused()).to.equal(true);
      // Only the Safe, through its owners, resumes.
      await expect(fx.module.connect(await impersonate(fx.safeAddress)).unpause())
        .to.emit(fx.module, "Unpaused")
        .withArgs(fx.safeAddress);
    });

    it("test_guardian_cannotUnfreeze", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect(fx.module.connect(fx.guardian).freezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, fx.guardian.address, encodeBytes32String("manual"));
      await expect(fx.module.connect(fx.guardian).unfreezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.guardian.address, fx.safeAddress);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
    });

    it("test_guardian_cancelCannotUndoAnExecutedIntent", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queueFiveEth(fx);
      await time.increaseTo(q.eta);
      await fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners));
      await expect(fx.module.connect(fx.guardian).cancel(q.id))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(q.id, Status.Executed, QUEUED_ONLY);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Executed);
    });
  });

  describe("what a guardian can do: restrict", function () {
    it("test_guardian_pausesFreezesAndCancels", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      const q = await queueFiveEth(fx);
      await expect(fx.module.connect(g).cancel(q.id)).to.emit(fx.module, "IntentCancelled").withArgs(q.id, g.address);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
      await expect(fx.module.connect(g).freezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, g.address, encodeBytes32String("manual"));
      await expect(fx.module.connect(g).pause()).to.emit(fx.module, "Paused").withArgs(g.address);
      expect(await fx.module.paused()).to.equal(true);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
      await expectTreasuryUntouched(fx);
    });

    it("test_guardian_disabledByOwner_losesEveryPower", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      const q = await queueFiveEth(fx);
      await expect(fx.module.connect(await impersonate(fx.safeAddress)).setGuardian(g.address, false))
        .to.emit(fx.module, "GuardianSet")
        .withArgs(g.address, false);
      expect(await fx.module.isGuardian(g.address)).to.equal(false);
      await expect(fx.module.connect(g).pause())
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
        .withArgs(g.address);
      await expect(fx.module.connect(g).freezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
        .withArgs(g.address);
      await expect(fx.module.connect(g).cancel(q.id))
        .to.be.revertedWithCustomError(fx.module, "CancelNotAuthorized")
        .withArgs(q.id, g.address);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
    });
  });
});
