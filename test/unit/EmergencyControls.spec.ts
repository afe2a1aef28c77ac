/**
 * EmergencyControls (SPEC section 7): guardians and the owner can restrict at once (pause the module, freeze an
 * agent, cancel a queued intent); only the owner undoes a pause or a freeze. An agent whose denials reach
 * `maxStrikes` within `strikeWindow` freezes itself; the rate limit denies what exceeds `maxIntentsPerWindow` within
 * `rateWindow`. Both counters keep two buckets of half a window. Who may call each function is checked for every
 * function at once in ModuleInterface.spec.ts.
 *
 * Promise 4: nothing moves while paused, or for a frozen agent. Promise 5: guardians can only restrict.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, ZeroAddress, encodeBytes32String, parseEther, parseUnits } from "ethers";
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
  cosignerSignatures,
  impersonate,
  intentId,
  moduleAsSafe,
  sign,
  submitSigned,
  transferData,
  treasuryFixture,
  treasuryState,
  twoAgentsFixture,
} from "../fixtures";
import { execSafeCall } from "../../sdk/safe";
import type { Intent } from "../../sdk/eip712";
import { mappedStructField, readField, writeField } from "../layout";
import {
  ABOVE_CAP,
  MANUAL,
  QUEUED_ONLY,
  STRIKES,
  TENTH,
  ethBalance,
  expectDenied,
  expectOutcome,
  nextBucketStart,
  queuePayment,
  reconfigure,
  submitAt,
} from "./helpers";

const SAFE_ETH = parseEther("100");
const SAFE_USDC = parseUnits("1000000", 6);

async function expectTreasuryUntouched(fx: Treasury) {
  expect(await fx.deployer.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH);
  expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(SAFE_USDC);
}

describe("EmergencyControls", function () {
  describe("guardians (Promise 5)", function () {
    it("refuses address(0) as a guardian with GuardianInvalid [test_setGuardian_zeroAddress_reverts]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).setGuardian(ZeroAddress, true))
        .to.be.revertedWithCustomError(fx.module, "GuardianInvalid")
        .withArgs(ZeroAddress);
    });

    it("refuses pause and freeze from anyone but a guardian or the owner with ModuleCallerNotGuardian [test_guardianCalls_nonGuardian_revertModuleCallerNotGuardian]", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (const caller of [fx.attacker, fx.agent, fx.cosigners[0], fx.relayer]) {
        await expect(fx.module.connect(caller).pause())
          .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
          .withArgs(caller.address);
        await expect(fx.module.connect(caller).freezeAgent(fx.agent.address))
          .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
          .withArgs(caller.address);
      }
      expect(await fx.module.paused()).to.equal(false);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    it("lets a guardian restrict: cancel, freeze and pause [test_guardian_pausesFreezesAndCancels]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      const q = await queuePayment(fx);
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

    it("takes every power from a guardian the owners disable [test_guardian_disabledByOwner_losesEveryPower]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const g = fx.guardian;
      const q = await queuePayment(fx);
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

    describe("when a guardian's key is stolen", function () {
      it("moves no funds as an agent of its own or in the agent's name, signed or not [test_guardian_cannotMoveFundsAsAgentOrRelayer]", async function () {
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

      it("cannot approve or execute a queued intent, alone or beside a real co-signer [test_guardian_cannotApproveOrExecuteQueuedIntents]", async function () {
        const fx = await loadFixture(treasuryFixture);
        const g = fx.guardian;
        const q = await queuePayment(fx);
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

      it("moves no funds through the Safe, which knows it neither as a module nor as an owner [test_guardian_cannotMoveFundsThroughTheSafe]", async function () {
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
    });
  });

  describe("pause (Promise 4)", function () {
    it("stops submit, propose and executeQueued when a guardian pauses [test_pause_byGuardian_blocksSubmitProposeAndExecuteQueued]", async function () {
      // Promise 4: nothing moves while paused.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      const signatures = await cosignerSignatures(fx, q.id, fx.cosigners);
      await time.increaseTo(q.eta);

      await expect(fx.module.connect(fx.guardian).pause()).to.emit(fx.module, "Paused").withArgs(fx.guardian.address);
      expect(await fx.module.paused()).to.equal(true);

      const safeBefore = await ethBalance(fx, fx.safeAddress);
      const small = await buildIntent(fx, { value: TENTH });
      await expect(submitSigned(fx, small)).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
      const review = { ...small, review: true };
      await expect(
        fx.module.connect(fx.relayer).propose(review, await sign(fx.agent, fx, review)),
      ).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, signatures)).to.be.revertedWithCustomError(
        fx.module,
        "ModuleIsPaused",
      );
      expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(small.nonce);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Queued);
    });

    it("lets the owner pause too [test_pause_byOwner_emitsPaused]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).pause())
        .to.emit(fx.module, "Paused")
        .withArgs(fx.safeAddress);
      expect(await fx.module.paused()).to.equal(true);
    });

    it("refuses a second pause with ModuleIsPaused [test_pause_whenPaused_revertsModuleIsPaused]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await fx.module.connect(fx.guardian).pause();
      await expect(fx.module.connect(fx.guardian).pause()).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
      await expect((await moduleAsSafe(fx)).pause()).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
    });

    it("resumes submissions and queued executions when the owner unpauses [test_unpause_byOwner_resumesSubmitAndExecuteQueued]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.guardian).pause();
      await time.increaseTo(q.eta);
      await expect((await moduleAsSafe(fx)).unpause())
        .to.emit(fx.module, "Unpaused")
        .withArgs(fx.safeAddress);
      expect(await fx.module.paused()).to.equal(false);

      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, parseEther("5"), true, q.intent.rationale);
      const small = await buildIntent(fx, { value: TENTH });
      await expect(submitSigned(fx, small))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, small), fx.agent.address, ETH, fx.alice.address, TENTH, false, small.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + parseEther("5") + TENTH);
    });

    it("refuses to unpause a module that is not paused with ModuleNotPaused [test_unpause_whenNotPaused_revertsModuleNotPaused]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const safe = await moduleAsSafe(fx);
      await expect(safe.unpause()).to.be.revertedWithCustomError(fx.module, "ModuleNotPaused");
      await safe.pause();
      await safe.unpause();
      await expect(safe.unpause()).to.be.revertedWithCustomError(fx.module, "ModuleNotPaused");
    });

    it("still lets a guardian cancel while paused [test_cancel_whilePaused_succeeds]", async function () {
      // A guardian who paused can still cancel what is queued: restricting is never blocked by the pause.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.guardian).pause();
      await expect(fx.module.connect(fx.guardian).cancel(q.id))
        .to.emit(fx.module, "IntentCancelled")
        .withArgs(q.id, fx.guardian.address);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
    });

    it("does not extend a queued intent's window: it expires during a long pause [test_pause_spanningGracePeriod_queuedIntentExpires]", async function () {
      // A pause does not extend a queued intent's window: if it ends after eta + gracePeriod the intent is Expired.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.guardian).pause();
      await time.increaseTo(q.eta + BigInt(DAY));
      await (await moduleAsSafe(fx)).unpause();
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(q.id, Status.Expired, QUEUED_ONLY);
    });
  });

  describe("freeze (Promise 4)", function () {
    it("stops everything the agent signed, queued intents included, when a guardian freezes it [test_freezeAgent_byGuardian_blocksSubmitProposeAndExecuteQueued]", async function () {
      // Promise 4: nothing moves for a frozen agent.
      const fx = await loadFixture(treasuryFixture);
      const q = await queuePayment(fx);
      await expect(fx.module.connect(fx.guardian).freezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, fx.guardian.address, MANUAL);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);

      const small = await buildIntent(fx, { value: TENTH });
      await expect(submitSigned(fx, small))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      const review = { ...small, review: true };
      await expect(fx.module.connect(fx.relayer).propose(review, await sign(fx.agent, fx, review)))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      // Even the agent itself, with an empty signature.
      await expect(fx.module.connect(fx.agent).submit(small, "0x"))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      await time.increaseTo(q.eta);
      const safeBefore = await ethBalance(fx, fx.safeAddress);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(small.nonce);
    });

    it("lets the owner freeze too [test_freezeAgent_byOwner_emitsAgentFrozen]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).freezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, fx.safeAddress, MANUAL);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
    });

    it("refuses a stranger, an unknown agent and a second freeze, naming the value [test_freezeAgent_invalidCalls_revertWithValues]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect(fx.module.connect(fx.attacker).freezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
        .withArgs(fx.attacker.address);
      await expect(fx.module.connect(fx.guardian).freezeAgent(fx.bob.address))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await expect(fx.module.connect(fx.guardian).freezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
    });

    it("freezes only that agent [test_freezeAgent_oneAgent_othersKeepWorking]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      const other = await buildIntent(fx, { agent: fx.agent2.address, value: TENTH });
      await expect(submitSigned(fx, other, fx.agent2))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, other), fx.agent2.address, ETH, fx.alice.address, TENTH, false, other.rationale);
      expect(await fx.module.isFrozen(fx.agent2.address)).to.equal(false);
    });

    it("resumes the agent and clears its strikes when the owner unfreezes it [test_unfreezeAgent_byOwner_resumesAndClearsStrikes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);

      await expect((await moduleAsSafe(fx)).unfreezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentUnfrozen")
        .withArgs(fx.agent.address, fx.safeAddress);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);

      // With the strikes cleared, one more denial does not refreeze (maxStrikes is 3).
      const denied = await buildIntent(fx, ABOVE_CAP);
      await expect(submitSigned(fx, denied)).not.to.emit(fx.module, "AgentFrozen");
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      const small = await buildIntent(fx, { value: TENTH });
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(submitSigned(fx, small)).to.emit(fx.module, "IntentExecuted");
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + TENTH);
    });

    it("clears every strike even while the strike bucket is still current [test_unfreezeAgent_strikeBucketStillCurrent_clearsEveryStrike]", async function () {
      // With the longest strike window (2^32 - 1 s) a bucket spans 2^31 s, longer than the chain has existed, so
      // every strike lands in bucket 0, the bucket number that unfreezing stores: the cleared counts themselves,
      // not an old bucket number, must be what forgets the strikes.
      const fx = await loadFixture(treasuryFixture);
      await reconfigure(fx, { strikeWindow: 2n ** 32n - 1n });
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await (await (await moduleAsSafe(fx)).unfreezeAgent(fx.agent.address)).wait();
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);

      // maxStrikes is 3: two more denials leave the agent live, the third freezes it.
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await expect(submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).not.to.emit(fx.module, "AgentFrozen");
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
      await expect(submitSigned(fx, await buildIntent(fx, ABOVE_CAP)))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, fx.moduleAddress, STRIKES);
    });
  });

  describe("strikes: the automatic freeze", function () {
    it("freezes the agent at maxStrikes denials within the strike window, whatever their reasons [test_submit_maxStrikesDenialsWithinWindow_freezesAgent]", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Three different fence probes: above the hard cap, an asset without a limit, an approval not allowed.
      const probes: [Partial<Intent>, bigint][] = [
        [ABOVE_CAP, DenyReason.AboveHardCap],
        [{ target: fx.bob.address, data: transferData(fx.attacker.address, 1n) }, DenyReason.AssetNotAllowed],
        [
          {
            target: fx.usdcAddress,
            data: fx.usdc.interface.encodeFunctionData("approve", [fx.attacker.address, 2n ** 255n]),
          },
          DenyReason.ApprovalNotAllowed,
        ],
      ];
      for (const [i, [fields, reason]] of probes.entries()) {
        const intent = await buildIntent(fx, fields);
        const tx = submitSigned(fx, intent);
        await expect(tx)
          .to.emit(fx.module, "IntentDenied")
          .withArgs(intentId(fx, intent), fx.agent.address, reason, intent.rationale);
        if (i < 2) await expect(tx).not.to.emit(fx.module, "AgentFrozen");
        else await expect(tx).to.emit(fx.module, "AgentFrozen").withArgs(fx.agent.address, fx.moduleAddress, STRIKES);
      }
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(3n);
      // Denied intents consumed their nonces; the frozen agent is now rejected outright.
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(3n);
      await expect(submitSigned(fx, await buildIntent(fx, { value: TENTH })))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      expect(await fx.usdc.allowance(fx.safeAddress, fx.attacker.address)).to.equal(0n);
    });

    it("freezes the agent on its maxStrikes-th denial, until the owner unfreezes it and clears the strikes [test_submit_maxStrikesDenials_freezeTheAgent]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const strikes = Number(agentConfig().maxStrikes);
      for (let i = 1; i < strikes; i++) {
        await expectDenied(fx, await buildIntent(fx, { value: parseEther("50") }), DenyReason.AboveHardCap);
        expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
      }
      const last = await buildIntent(fx, { value: parseEther("50") });
      const tx = submitSigned(fx, last);
      await expect(tx)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, last), fx.agent.address, DenyReason.AboveHardCap, last.rationale);
      await expect(tx)
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, fx.moduleAddress, encodeBytes32String("strikes"));
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(BigInt(strikes));
      // Frozen: even a valid payment is rejected, and nothing is consumed.
      const valid = await buildIntent(fx, { value: parseEther("0.1") });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, valid))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      expect(await treasuryState(fx)).to.deep.equal(before);
      // The owner unfreezes and the strikes are cleared.
      await expect((await moduleAsSafe(fx)).unfreezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentUnfrozen")
        .withArgs(fx.agent.address, fx.safeAddress);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      await expect(submitSigned(fx, valid)).to.emit(fx.module, "IntentExecuted");
    });

    it("never freezes an agent whose maxStrikes is 0 [test_submit_maxStrikesZero_neverFreezes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      for (let i = 0; i < 5; i++) {
        await expectDenied(fx, await buildIntent(fx, { value: parseEther("50") }), DenyReason.AboveHardCap);
      }
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    it("never freezes for denials further apart than the strike window [test_submit_denialsSpreadBeyondStrikeWindow_neverFreezes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = BigInt(await time.latest()) + 10n;
      for (let i = 0n; i < 4n; ++i) {
        const { tx } = await submitAt(fx, start + i * (BigInt(DAY) + 1n), ABOVE_CAP);
        await expect(tx).to.emit(fx.module, "IntentDenied").and.not.to.emit(fx.module, "AgentFrozen");
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      }
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    // Bucketed counter bounds (SPEC 5): a strike always counts for the last ceil(window / 2) seconds and never once
    // it is older than `window` seconds, wherever the strike falls inside its bucket. maxStrikes 2: the second
    // denial freezes the agent exactly when the first still counts.
    for (const window of [100n, 101n]) {
      const half = (window + 1n) / 2n; // ceil(window / 2), also the bucket width
      describe(`when strikeWindow is ${window} s`, function () {
        for (const offset of [0n, 1n, half / 2n, half - 1n]) {
          it(`freezes on a second denial ${half - 1n} s after the first, ${offset} s into its bucket [test_submit_secondDenial${half - 1n}sLater_offset${offset}_freezes]`, async function () {
            const fx = await loadFixture(treasuryFixture);
            await reconfigure(fx, { maxStrikes: 2n, strikeWindow: window });
            const s = (await nextBucketStart(half)) + offset;
            await expect((await submitAt(fx, s, ABOVE_CAP)).tx).not.to.emit(fx.module, "AgentFrozen");
            await expect((await submitAt(fx, s + half - 1n, ABOVE_CAP)).tx)
              .to.emit(fx.module, "AgentFrozen")
              .withArgs(fx.agent.address, fx.moduleAddress, STRIKES);
            expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
          });

          it(`does not freeze on a second denial ${window + 1n} s after the first, ${offset} s into its bucket [test_submit_secondDenial${window + 1n}sLater_offset${offset}_doesNotFreeze]`, async function () {
            const fx = await loadFixture(treasuryFixture);
            await reconfigure(fx, { maxStrikes: 2n, strikeWindow: window });
            const s = (await nextBucketStart(half)) + offset;
            await (await (await submitAt(fx, s, ABOVE_CAP)).tx).wait();
            await expect((await submitAt(fx, s + window + 1n, ABOVE_CAP)).tx)
              .to.emit(fx.module, "IntentDenied")
              .and.not.to.emit(fx.module, "AgentFrozen");
            expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
            expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
          });
        }
      });
    }
  });

  describe("the rate limit", function () {
    it("denies every intent past the limit with RateLimited, each a strike, so a burst freezes the agent [test_submit_burstPastRateLimit_deniedRateLimitedAndFreezesOnStrikes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await reconfigure(fx, { maxIntentsPerWindow: 3n, rateWindow: BigInt(HOUR) });
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      for (let i = 0; i < 6; ++i) {
        const intent = await buildIntent(fx, { value: TENTH });
        const tx = submitSigned(fx, intent);
        if (i < 3) {
          await expect(tx).to.emit(fx.module, "IntentExecuted");
          continue;
        }
        // Every intent past the limit is denied and is a strike, by design; the third strike freezes.
        await expect(tx)
          .to.emit(fx.module, "IntentDenied")
          .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.RateLimited, intent.rationale);
        if (i < 5) await expect(tx).not.to.emit(fx.module, "AgentFrozen");
        else await expect(tx).to.emit(fx.module, "AgentFrozen").withArgs(fx.agent.address, fx.moduleAddress, STRIKES);
      }
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + 3n * TENTH);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(3n);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(6n);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(6n);
    });

    it("counts queued and denied intents as well as executed ones [test_submit_rateCountsQueuedAndDeniedIntents]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await reconfigure(fx, { maxIntentsPerWindow: 3n, rateWindow: BigInt(HOUR) });
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("5") }))).to.emit(
        fx.module,
        "IntentQueued",
      );
      await expect(submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).to.emit(fx.module, "IntentDenied");
      await expect(submitSigned(fx, await buildIntent(fx, { value: TENTH }))).to.emit(fx.module, "IntentExecuted");
      const fourth = await buildIntent(fx, { value: TENTH });
      await expect(submitSigned(fx, fourth))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, fourth), fx.agent.address, DenyReason.RateLimited, fourth.rationale);
      expect(await fx.module.intentStatus(intentId(fx, fourth))).to.equal(Status.Denied);
    });

    it("denies with RateLimited until the window has passed [test_submit_beyondRateLimit_deniedRateLimitedUntilTheWindowPasses]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (
        await moduleAsSafe(fx)
      ).setAgent(fx.agent.address, agentConfig({ maxIntentsPerWindow: 2n, rateWindow: BigInt(HOUR), maxStrikes: 0n }));
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
      // A queued intent counts too.
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("2") }))).to.emit(
        fx.module,
        "IntentQueued",
      );
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.RateLimited);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(3n);
      await time.increase(HOUR);
      await expect(
        submitSigned(
          fx,
          await buildIntent(fx, { value: parseEther("0.1"), validUntil: BigInt(await time.latest()) + 100n }),
        ),
      ).to.emit(fx.module, "IntentExecuted");
    });

    it("accepts intents again once the rate window has passed [test_submit_afterRateWindow_acceptedAgain]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await reconfigure(fx, { maxIntentsPerWindow: 1n, rateWindow: BigInt(HOUR) });
      const start = BigInt(await time.latest()) + 10n;
      await expect((await submitAt(fx, start, { value: TENTH })).tx).to.emit(fx.module, "IntentExecuted");
      await expect((await submitAt(fx, start + 1n, { value: TENTH })).tx).to.emit(fx.module, "IntentDenied");
      await expect((await submitAt(fx, start + BigInt(HOUR) + 1n, { value: TENTH })).tx).to.emit(
        fx.module,
        "IntentExecuted",
      );
    });

    it("saturates its counter at 65,535 instead of wrapping, and keeps denying [test_submit_rateCounterAtUint16Max_saturatesAndKeepsDenying]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const window = 30n * BigInt(DAY);
      await (
        await moduleAsSafe(fx)
      ).setAgent(fx.agent.address, agentConfig({ maxIntentsPerWindow: 65_535n, rateWindow: window, maxStrikes: 0n }));
      const width = (window + 1n) / 2n;
      const start = (BigInt(await time.latest()) / width + 1n) * width;
      await time.increaseTo(start + 10n);
      // 65,534 intents already counted in this bucket (a state that takes 65,534 transactions to reach).
      const bucket = await mappedStructField("_agents", fx.agent.address, "rateBucket");
      const cur = await mappedStructField("_agents", fx.agent.address, "rateCur");
      await writeField(fx, bucket, start / width);
      await writeField(fx, cur, 65_534n);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(65_534n);

      // The 65,535th intent fits the limit exactly and executes.
      await expectOutcome(fx, await buildIntent(fx, { value: parseEther("0.1") }), "IntentExecuted");
      expect(await readField(fx, cur)).to.equal(65_535n);
      // Past the limit the counter saturates instead of wrapping to 0, so the agent stays rate limited.
      for (let i = 0; i < 2; i++) {
        await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.RateLimited);
        expect(await readField(fx, cur)).to.equal(65_535n);
        expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(65_535n);
      }
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.9"));
    });

    // Same bounds as the strike counter: an accepted intent always counts for ceil(window / 2) seconds and never
    // once it is older than `window` seconds. maxIntentsPerWindow 1: the second intent is limited iff the first counts.
    for (const window of [100n, 101n]) {
      const half = (window + 1n) / 2n;
      for (const offset of [0n, half - 1n]) {
        it(`with a ${window} s window, denies a second intent ${half - 1n} s after the first, ${offset} s into its bucket [test_submit_rateWindow${window}_secondIntent${half - 1n}sLater_offset${offset}_rateLimited]`, async function () {
          const fx = await loadFixture(treasuryFixture);
          await reconfigure(fx, { maxIntentsPerWindow: 1n, rateWindow: window });
          const s = (await nextBucketStart(half)) + offset;
          await expect((await submitAt(fx, s, { value: TENTH })).tx).to.emit(fx.module, "IntentExecuted");
          const second = await submitAt(fx, s + half - 1n, { value: TENTH });
          await expect(second.tx)
            .to.emit(fx.module, "IntentDenied")
            .withArgs(second.id, fx.agent.address, DenyReason.RateLimited, second.intent.rationale);
        });

        it(`with a ${window} s window, accepts a second intent ${window + 1n} s after the first, ${offset} s into its bucket [test_submit_rateWindow${window}_secondIntent${window + 1n}sLater_offset${offset}_accepted]`, async function () {
          const fx = await loadFixture(treasuryFixture);
          await reconfigure(fx, { maxIntentsPerWindow: 1n, rateWindow: window });
          const s = (await nextBucketStart(half)) + offset;
          await expect((await submitAt(fx, s, { value: TENTH })).tx).to.emit(fx.module, "IntentExecuted");
          const second = await submitAt(fx, s + window + 1n, { value: TENTH });
          await expect(second.tx)
            .to.emit(fx.module, "IntentExecuted")
            .withArgs(second.id, fx.agent.address, ETH, fx.alice.address, TENTH, false, second.intent.rationale);
        });
      }
    }
  });
});
