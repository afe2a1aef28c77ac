/**
 * EmergencyControls and the agent lifecycle around them: pause, freeze, automatic freeze after strikes, the rate
 * limit, the agent's validUntil, key rotation and the treasury-wide limit.
 *
 * Promise 4: nothing moves while paused, or for a frozen, expired or removed agent.
 * Promise 8: rotating a key never restores spent allowance.
 * Promise 1 (treasury-wide): many agents together never exceed the treasury limit in the auto tier.
 */
import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, id, parseEther, ZeroAddress } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  Status,
  Treasury,
  agentConfig,
  AgentConfig,
  buildIntent,
  cosignerSignatures,
  impersonate,
  intentId,
  sign,
  submitSigned,
  transferData,
  treasuryFixture,
  twoAgentsFixture,
} from "../fixtures";
import { Intent, packNonce } from "../../sdk/eip712";

const MANUAL = encodeBytes32String("manual");
const STRIKES = encodeBytes32String("strikes");
const QUEUED_ONLY = 1n << Status.Queued;
const ONE_ETH = parseEther("1");
const TENTH = parseEther("0.1");

/** The Safe itself (impersonated): the module's owner. */
async function owner(fx: Treasury) {
  return fx.module.connect(await impersonate(fx.safeAddress));
}

async function reconfigure(fx: Treasury, overrides: Partial<AgentConfig>, agent = fx.agent.address) {
  await (await (await owner(fx)).setAgent(agent, agentConfig(overrides))).wait();
}

async function ethBalance(fx: Treasury, address: string): Promise<bigint> {
  return fx.deployer.provider.getBalance(address);
}

/**
 * Signs `fields` for the agent (valid for an hour from `ts`) and submits it in a block at exactly `ts`.
 * Returns the intent, its id and the pending transaction.
 */
async function submitAt(
  fx: Treasury,
  ts: bigint,
  fields: Partial<Intent> = {},
  signer: HardhatEthersSigner = fx.agent,
) {
  const intent = await buildIntent(fx, { agent: signer.address, validUntil: ts + BigInt(HOUR), ...fields });
  const signature = await sign(signer, fx, intent);
  await time.setNextBlockTimestamp(ts);
  return { intent, id: intentId(fx, intent), tx: fx.module.connect(fx.relayer).submit(intent, signature) };
}

/** An authentic intent the policy denies: 11 ETH is above the agent's 10 ETH hard cap. One strike. */
const ABOVE_CAP = { value: parseEther("11") };

/** The first second of a bucket of `width` seconds, comfortably after the latest block. */
async function nextBucketStart(width: bigint): Promise<bigint> {
  return (BigInt(await time.latest()) / width + 2n) * width;
}

async function queueFiveEth(fx: Treasury, signer: HardhatEthersSigner = fx.agent) {
  const intent = await buildIntent(fx, { agent: signer.address, value: parseEther("5") });
  const receipt = await (await submitSigned(fx, intent, signer)).wait();
  const eta = BigInt((await receipt!.getBlock()).timestamp) + BigInt(HOUR);
  return { intent, id: intentId(fx, intent), eta };
}

describe("EmergencyControls", function () {
  describe("pause", function () {
    it("test_pause_byGuardian_blocksSubmitProposeAndExecuteQueued", async function () {
      // Promise 4: nothing moves while paused.
      const fx = await loadFixture(treasuryFixture);
      const q = await queueFiveEth(fx);
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

    it("test_pause_byOwner_emitsPaused", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await owner(fx)).pause())
        .to.emit(fx.module, "Paused")
        .withArgs(fx.safeAddress);
      expect(await fx.module.paused()).to.equal(true);
    });

    it("test_pause_byNonGuardian_revertsModuleCallerNotGuardian", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (const caller of [fx.attacker, fx.agent, fx.cosigners[0], fx.relayer]) {
        await expect(fx.module.connect(caller).pause())
          .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
          .withArgs(caller.address);
      }
      expect(await fx.module.paused()).to.equal(false);
    });

    it("test_pause_whenPaused_revertsModuleIsPaused", async function () {
      const fx = await loadFixture(treasuryFixture);
      await fx.module.connect(fx.guardian).pause();
      await expect(fx.module.connect(fx.guardian).pause()).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
      await expect((await owner(fx)).pause()).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
    });

    it("test_unpause_byGuardian_revertsModuleCallerNotOwner", async function () {
      const fx = await loadFixture(treasuryFixture);
      await fx.module.connect(fx.guardian).pause();
      await expect(fx.module.connect(fx.guardian).unpause())
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.guardian.address, fx.safeAddress);
      expect(await fx.module.paused()).to.equal(true);
    });

    it("test_unpause_byOwner_resumesSubmitAndExecuteQueued", async function () {
      const fx = await loadFixture(treasuryFixture);
      const q = await queueFiveEth(fx);
      await fx.module.connect(fx.guardian).pause();
      await time.increaseTo(q.eta);
      await expect((await owner(fx)).unpause())
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

    it("test_unpause_whenNotPaused_revertsModuleNotPaused", async function () {
      const fx = await loadFixture(treasuryFixture);
      const safe = await owner(fx);
      await expect(safe.unpause()).to.be.revertedWithCustomError(fx.module, "ModuleNotPaused");
      await safe.pause();
      await safe.unpause();
      await expect(safe.unpause()).to.be.revertedWithCustomError(fx.module, "ModuleNotPaused");
    });

    it("test_cancel_whilePaused_succeeds", async function () {
      // A guardian who paused can still cancel what is queued: restricting is never blocked by the pause.
      const fx = await loadFixture(treasuryFixture);
      const q = await queueFiveEth(fx);
      await fx.module.connect(fx.guardian).pause();
      await expect(fx.module.connect(fx.guardian).cancel(q.id))
        .to.emit(fx.module, "IntentCancelled")
        .withArgs(q.id, fx.guardian.address);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
    });

    it("test_pause_spanningGracePeriod_queuedIntentExpires", async function () {
      // A pause does not extend a queued intent's window: if it ends after eta + gracePeriod the intent is Expired.
      const fx = await loadFixture(treasuryFixture);
      const q = await queueFiveEth(fx);
      await fx.module.connect(fx.guardian).pause();
      await time.increaseTo(q.eta + BigInt(DAY));
      await (await owner(fx)).unpause();
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(q.id, Status.Expired, QUEUED_ONLY);
    });
  });

  describe("freeze", function () {
    it("test_freezeAgent_byGuardian_blocksSubmitProposeAndExecuteQueued", async function () {
      // Promise 4: nothing moves for a frozen agent.
      const fx = await loadFixture(treasuryFixture);
      const q = await queueFiveEth(fx);
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

    it("test_freezeAgent_byOwner_emitsAgentFrozen", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await owner(fx)).freezeAgent(fx.agent.address))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(fx.agent.address, fx.safeAddress, MANUAL);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
    });

    it("test_freezeAgent_invalidCalls_revertWithValues", async function () {
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

    it("test_freezeAgent_oneAgent_othersKeepWorking", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      const other = await buildIntent(fx, { agent: fx.agent2.address, value: TENTH });
      await expect(submitSigned(fx, other, fx.agent2))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, other), fx.agent2.address, ETH, fx.alice.address, TENTH, false, other.rationale);
      expect(await fx.module.isFrozen(fx.agent2.address)).to.equal(false);
    });

    it("test_unfreezeAgent_byGuardian_revertsModuleCallerNotOwner", async function () {
      const fx = await loadFixture(treasuryFixture);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await expect(fx.module.connect(fx.guardian).unfreezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.guardian.address, fx.safeAddress);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
    });

    it("test_unfreezeAgent_byOwner_resumesAndClearsStrikes", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);

      await expect((await owner(fx)).unfreezeAgent(fx.agent.address))
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

    it("test_unfreezeAgent_strikeBucketStillCurrent_clearsEveryStrike", async function () {
      // With the longest strike window (2^32 - 1 s) a bucket spans 2^31 s, longer than the chain has existed, so
      // every strike lands in bucket 0, the bucket number that unfreezing stores: the cleared counts themselves,
      // not an old bucket number, must be what forgets the strikes.
      const fx = await loadFixture(treasuryFixture);
      await reconfigure(fx, { strikeWindow: 2n ** 32n - 1n });
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await (await (await owner(fx)).unfreezeAgent(fx.agent.address)).wait();
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

  describe("automatic freeze after strikes", function () {
    it("test_submit_maxStrikesDenialsWithinWindow_freezesAgent", async function () {
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

    it("test_submit_denialsSpreadBeyondStrikeWindow_neverFreezes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = BigInt(await time.latest()) + 10n;
      for (let i = 0n; i < 4n; ++i) {
        const { tx } = await submitAt(fx, start + i * (BigInt(DAY) + 1n), ABOVE_CAP);
        await expect(tx).to.emit(fx.module, "IntentDenied").and.not.to.emit(fx.module, "AgentFrozen");
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      }
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    it("test_submit_maxStrikesZero_neverFreezes", async function () {
      const fx = await loadFixture(treasuryFixture);
      await reconfigure(fx, { maxStrikes: 0n, strikeWindow: 0n });
      for (let i = 0; i < 5; ++i) {
        await expect(submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).not.to.emit(fx.module, "AgentFrozen");
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
          it(`test_submit_secondDenial${half - 1n}sLater_offset${offset}_freezes`, async function () {
            const fx = await loadFixture(treasuryFixture);
            await reconfigure(fx, { maxStrikes: 2n, strikeWindow: window });
            const s = (await nextBucketStart(half)) + offset;
            await expect((await submitAt(fx, s, ABOVE_CAP)).tx).not.to.emit(fx.module, "AgentFrozen");
            await expect((await submitAt(fx, s + half - 1n, ABOVE_CAP)).tx)
              .to.emit(fx.module, "AgentFrozen")
              .withArgs(fx.agent.address, fx.moduleAddress, STRIKES);
            expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
          });

          it(`test_submit_secondDenial${window + 1n}sLater_offset${offset}_doesNotFreeze`, async function () {
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

  describe("rate limit", function () {
    it("test_submit_burstPastRateLimit_deniedRateLimitedAndFreezesOnStrikes", async function () {
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

    it("test_submit_rateCountsQueuedAndDeniedIntents", async function () {
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

    it("test_submit_afterRateWindow_acceptedAgain", async function () {
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

    // Same bounds as the strike counter: an accepted intent always counts for ceil(window / 2) seconds and never
    // once it is older than `window` seconds. maxIntentsPerWindow 1: the second intent is limited iff the first counts.
    for (const window of [100n, 101n]) {
      const half = (window + 1n) / 2n;
      for (const offset of [0n, half - 1n]) {
        it(`test_submit_rateWindow${window}_secondIntent${half - 1n}sLater_offset${offset}_rateLimited`, async function () {
          const fx = await loadFixture(treasuryFixture);
          await reconfigure(fx, { maxIntentsPerWindow: 1n, rateWindow: window });
          const s = (await nextBucketStart(half)) + offset;
          await expect((await submitAt(fx, s, { value: TENTH })).tx).to.emit(fx.module, "IntentExecuted");
          const second = await submitAt(fx, s + half - 1n, { value: TENTH });
          await expect(second.tx)
            .to.emit(fx.module, "IntentDenied")
            .withArgs(second.id, fx.agent.address, DenyReason.RateLimited, second.intent.rationale);
        });

        it(`test_submit_rateWindow${window}_secondIntent${window + 1n}sLater_offset${offset}_accepted`, async function () {
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

  describe("agent validUntil", function () {
    it("test_submit_atValidUntil_revertsAgentExpired", async function () {
      // Promise 4: nothing moves for an expired agent. The key is dead from validUntil on.
      const fx = await loadFixture(treasuryFixture);
      // After loadFixture the next block takes the wall clock, which may be far past the snapshot: read a fresh block.
      await mine();
      const validUntil = BigInt(await time.latest()) + 1000n;
      await reconfigure(fx, { validUntil });
      const lastSecond = await submitAt(fx, validUntil - 1n, { value: TENTH });
      await expect(lastSecond.tx).to.emit(fx.module, "IntentExecuted");

      const tooLate = await buildIntent(fx, { value: TENTH, validUntil: validUntil + BigInt(HOUR) });
      const signature = await sign(fx.agent, fx, tooLate);
      await time.setNextBlockTimestamp(validUntil);
      await expect(fx.module.connect(fx.relayer).submit(tooLate, signature))
        .to.be.revertedWithCustomError(fx.module, "AgentExpired")
        .withArgs(fx.agent.address, validUntil, validUntil);
      const tooLateReview = { ...tooLate, review: true };
      await expect(fx.module.connect(fx.relayer).propose(tooLateReview, await sign(fx.agent, fx, tooLateReview)))
        .to.be.revertedWithCustomError(fx.module, "AgentExpired")
        .withArgs(fx.agent.address, validUntil, validUntil + 1n);
      // Rejected, not denied: nothing recorded, nonce not consumed.
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(tooLate.nonce);
      expect(await fx.module.intentStatus(intentId(fx, tooLate))).to.equal(Status.None);
      expect(await fx.module.intentStatus(intentId(fx, tooLateReview))).to.equal(Status.None);
    });

    it("test_executeQueued_agentExpiredSinceQueueing_revertsAgentExpired", async function () {
      const fx = await loadFixture(treasuryFixture);
      // After loadFixture the next block takes the wall clock, which may be far past the snapshot: read a fresh block.
      await mine();
      const validUntil = BigInt(await time.latest()) + 1000n;
      await reconfigure(fx, { validUntil });
      const q = await queueFiveEth(fx);
      await time.setNextBlockTimestamp(q.eta); // eta (1 h after queueing) is past validUntil
      const safeBefore = await ethBalance(fx, fx.safeAddress);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "AgentExpired")
        .withArgs(fx.agent.address, validUntil, q.eta);
      expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore);
    });

    it("test_submit_expiredAgent_rejectedLikeUnknownAgent", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Pin the next block's time: after a fixture revert it would otherwise take the wall clock, which on a slow
      // run can lie beyond `validUntil`.
      const now = BigInt(await time.latest());
      await time.setNextBlockTimestamp(now + 1n);
      const validUntil = now + 100n;
      await reconfigure(fx, { validUntil });
      await time.increaseTo(validUntil + 10n);
      const expired = await buildIntent(fx, { value: TENTH });
      const unknown = await buildIntent(fx, { agent: fx.bob.address, value: TENTH });
      const safeBefore = await ethBalance(fx, fx.safeAddress);
      await expect(submitSigned(fx, expired)).to.be.revertedWithCustomError(fx.module, "AgentExpired");
      await expect(submitSigned(fx, unknown, fx.bob))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
      // Both are rejections: no record, no nonce consumed, no strike, nothing moved.
      for (const [intent, agent] of [
        [expired, fx.agent.address],
        [unknown, fx.bob.address],
      ] as const) {
        expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.None);
        expect(await fx.module.getNonce(agent, 0)).to.equal(0n);
      }
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore);
    });

    it("test_setAgent_validUntilNotInFuture_revertsAgentConfigInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const now = BigInt(await time.latest());
      await time.setNextBlockTimestamp(now + 1n);
      await expect((await owner(fx)).setAgent(fx.agent.address, agentConfig({ validUntil: now + 1n })))
        .to.be.revertedWithCustomError(fx.module, "AgentConfigInvalid")
        .withArgs(fx.agent.address, encodeBytes32String("validUntil"), now + 1n);
    });

    it("test_setAgent_extendsValidUntil_revivesExpiredAgent", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Pin the next block's time: after a fixture revert it would otherwise take the wall clock, which on a slow
      // run can lie beyond `validUntil`.
      const now = BigInt(await time.latest());
      await time.setNextBlockTimestamp(now + 1n);
      const validUntil = now + 100n;
      await reconfigure(fx, { validUntil });
      await time.increaseTo(validUntil);
      await reconfigure(fx, { validUntil: validUntil + BigInt(DAY) });
      await expect(submitSigned(fx, await buildIntent(fx, { value: TENTH }))).to.emit(fx.module, "IntentExecuted");
    });
  });

  describe("rotateAgent", function () {
    /** Spends 2.5 ETH in the auto tier over lanes 0 and 5, one payment carrying an idempotency key. */
    async function spendBeforeRotation(fx: Treasury) {
      const keyed = await buildIntent(fx, { value: ONE_ETH, idempotencyKey: id("invoice-42") });
      await (await submitSigned(fx, keyed)).wait();
      await (await submitSigned(fx, await buildIntent(fx, { value: ONE_ETH }))).wait();
      await (await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.5"), lane: 5n }))).wait();
      return keyed;
    }

    it("test_rotateAgent_newKeyInheritsPolicyNoncesRecordsAndSpend", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const keyed = await spendBeforeRotation(fx);
      const before = {
        config: await fx.module.agentConfig(fx.agent.address),
        ethLimit: await fx.module.assetLimit(fx.agent.address, ETH),
        usdcLimit: await fx.module.assetLimit(fx.agent.address, fx.usdcAddress),
        available: await fx.module.availableAllowance(fx.agent.address, ETH),
        entries: await fx.lens.spendEntries(fx.moduleAddress, fx.agent.address, ETH),
        record: await fx.module.idempotencyRecord(fx.agent.address, keyed.idempotencyKey),
      };
      expect(before.available).to.equal(parseEther("0.5"));

      await expect((await owner(fx)).rotateAgent(fx.agent.address, fx.freshKey.address))
        .to.emit(fx.module, "AgentRotated")
        .withArgs(fx.agent.address, fx.freshKey.address);

      const k = fx.freshKey.address;
      expect(await fx.module.isAgent(k)).to.equal(true);
      expect(await fx.module.isAgent(fx.agent.address)).to.equal(false);
      expect(await fx.module.agentConfig(k)).to.deep.equal(before.config);
      expect(await fx.module.assetLimit(k, ETH)).to.deep.equal(before.ethLimit);
      expect(await fx.module.assetLimit(k, fx.usdcAddress)).to.deep.equal(before.usdcLimit);
      // Promise 8: the same allowance, never restored.
      expect(await fx.module.availableAllowance(k, ETH)).to.equal(before.available);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      expect(await fx.lens.spendEntries(fx.moduleAddress, k, ETH)).to.deep.equal(before.entries);
      // Nonces of every lane continue.
      expect(await fx.module.getNonce(k, 0)).to.equal(2n);
      expect(await fx.module.getNonce(k, 5)).to.equal(packNonce(5n, 1n));
      expect(await fx.module.idempotencyRecord(k, keyed.idempotencyKey)).to.deep.equal(before.record);

      // The new key pays at the inherited nonce, within what is left.
      const next = await buildIntent(fx, { agent: k, value: parseEther("0.5") });
      expect(next.nonce).to.equal(2n);
      await expect(submitSigned(fx, next, fx.freshKey))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, next), k, ETH, fx.alice.address, parseEther("0.5"), false, next.rationale);
      expect(await fx.module.availableAllowance(k, ETH)).to.equal(0n);
    });

    it("test_rotateAgent_fullWindowSpent_newKeyCannotSpendAutoAgain", async function () {
      // Promise 8: rotating a key never restores spent allowance.
      const fx = await loadFixture(twoAgentsFixture);
      for (let i = 0; i < 3; ++i) await (await submitSigned(fx, await buildIntent(fx, { value: ONE_ETH }))).wait();
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      await (await owner(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);
      expect(await fx.module.availableAllowance(fx.freshKey.address, ETH)).to.equal(0n);

      const attempt = await buildIntent(fx, { agent: fx.freshKey.address, value: ONE_ETH });
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(submitSigned(fx, attempt, fx.freshKey)).to.emit(fx.module, "IntentQueued");
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
      // The window slides on as before: a day after the spend, the allowance is back.
      await time.increase(DAY);
      expect(await fx.module.availableAllowance(fx.freshKey.address, ETH)).to.equal(parseEther("3"));
    });

    it("test_rotateAgent_oldKeyRejectedAtOnceAndItsQueuedIntentsDie", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const q = await queueFiveEth(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      await fx.module.connect(fx.cosigners[1]).approve(q.id);
      const stale = await buildIntent(fx, { value: TENTH }); // signed with the old key before rotation
      const staleSignature = await sign(fx.agent, fx, stale);
      await (await owner(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);

      await expect(fx.module.connect(fx.relayer).submit(stale, staleSignature))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.agent.address);
      await expect(fx.module.connect(fx.agent).submit(stale, "0x"))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.agent.address);
      expect(await fx.module.intentStatus(q.id)).to.equal(Status.Cancelled);
      await time.increaseTo(q.eta);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).executeQueued(q.intent, []))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(q.id, Status.Cancelled, QUEUED_ONLY);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
    });

    it("test_rotateAgent_idempotencyKeysFollowTheIdentity", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const keyed = await spendBeforeRotation(fx);
      const originalId = intentId(fx, keyed);
      await (await owner(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);
      const k = fx.freshKey.address;

      // The same payment retried under the new key is a replay of the original: nothing moves twice.
      const retry = await buildIntent(fx, { ...keyed, agent: k, nonce: await fx.module.getNonce(k, 0) });
      const retrySignature = await sign(fx.freshKey, fx, retry);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(retry, retrySignature)).to.deep.equal([
        originalId,
        Status.Executed,
      ]);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).submit(retry, retrySignature))
        .to.emit(fx.module, "IdempotentReplay")
        .withArgs(originalId, k, keyed.idempotencyKey);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);

      const conflict = await buildIntent(fx, { agent: k, value: TENTH, idempotencyKey: keyed.idempotencyKey });
      await expect(submitSigned(fx, conflict, fx.freshKey))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(k, keyed.idempotencyKey, originalId);
    });

    it("test_rotateAgent_frozenAgent_newKeyInheritsFreezeAndStrikes", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await (await owner(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);
      expect(await fx.module.isFrozen(fx.freshKey.address)).to.equal(true);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.freshKey.address)).to.equal(1n);
      await expect(submitSigned(fx, await buildIntent(fx, { agent: fx.freshKey.address, value: TENTH }), fx.freshKey))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.freshKey.address);
    });

    it("test_rotateAgent_toUsedKey_revertsAgentKeyAlreadyUsed", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await owner(fx);
      await expect(safe.rotateAgent(fx.agent.address, fx.agent2.address))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyAlreadyUsed")
        .withArgs(fx.agent2.address);
      await safe.removeAgent(fx.agent2.address);
      await expect(safe.rotateAgent(fx.agent.address, fx.agent2.address))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyAlreadyUsed")
        .withArgs(fx.agent2.address);
      await safe.rotateAgent(fx.agent.address, fx.freshKey.address);
      // Rotating back to the retired key is refused too.
      await expect(safe.rotateAgent(fx.freshKey.address, fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyAlreadyUsed")
        .withArgs(fx.agent.address);
    });

    it("test_setAgent_rotatedOutKey_revertsAgentKeyRetired", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await owner(fx);
      await safe.rotateAgent(fx.agent.address, fx.freshKey.address);
      await expect(safe.setAgent(fx.agent.address, agentConfig()))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyRetired")
        .withArgs(fx.agent.address);
      expect(await fx.module.isAgent(fx.agent.address)).to.equal(false);
    });

    it("test_rotateAgent_invalidKeys_revertWithValues", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await owner(fx);
      await expect(safe.rotateAgent(fx.bob.address, fx.freshKey.address))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
      for (const bad of [ZeroAddress, fx.safeAddress, fx.moduleAddress]) {
        await expect(safe.rotateAgent(fx.agent.address, bad))
          .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
          .withArgs(bad);
      }
      await expect(fx.module.connect(fx.guardian).rotateAgent(fx.agent.address, fx.freshKey.address))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.guardian.address, fx.safeAddress);
    });
  });

  describe("treasury-wide limit", function () {
    const FOUR_ETH = parseEther("4");

    it("test_setTreasuryLimit_emitsAndIsReadable", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await expect((await owner(fx)).setTreasuryLimit(ETH, FOUR_ETH, DAY))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(ETH, FOUR_ETH, BigInt(DAY));
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, ETH)).to.deep.equal([FOUR_ETH, BigInt(DAY), 0n]);
    });

    it("test_submit_twoAgentsTogether_cannotExceedTreasuryLimitInAutoTier", async function () {
      // Promise 1 across agents: 2 agents x 3 ETH per day of auto allowance, but the treasury caps both at 4 ETH.
      const fx = await loadFixture(twoAgentsFixture);
      await (await owner(fx)).setTreasuryLimit(ETH, FOUR_ETH, DAY);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      for (let i = 0; i < 3; ++i) {
        await expect(submitSigned(fx, await buildIntent(fx, { value: ONE_ETH }))).to.emit(fx.module, "IntentExecuted");
      }
      const fourth = await buildIntent(fx, { agent: fx.agent2.address, value: ONE_ETH });
      await expect(submitSigned(fx, fourth, fx.agent2)).to.emit(fx.module, "IntentExecuted");
      // The fifth ether would cross the treasury limit: queued for co-signers, not executed, not denied.
      const fifth = await buildIntent(fx, { agent: fx.agent2.address, value: ONE_ETH });
      const fifthId = intentId(fx, fifth);
      await expect(submitSigned(fx, fifth, fx.agent2)).to.emit(fx.module, "IntentQueued");
      expect(await fx.module.intentStatus(fifthId)).to.equal(Status.Queued);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FOUR_ETH);
      expect((await fx.lens.treasuryLimit(fx.moduleAddress, ETH))[2]).to.equal(FOUR_ETH);
      // availableAllowance ignores the treasury-wide limit (SPEC 5): agent2 has spent only 1 of its 3 ETH.
      expect(await fx.module.availableAllowance(fx.agent2.address, ETH)).to.equal(parseEther("2"));

      // Co-signers can still let it through; escalated spend does not consume the treasury window.
      await time.increase(HOUR);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(fifth, await cosignerSignatures(fx, fifthId, fx.cosigners)),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(fifthId, fx.agent2.address, ETH, fx.alice.address, ONE_ETH, true, fifth.rationale);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore + FOUR_ETH + ONE_ETH);
      expect((await fx.lens.treasuryLimit(fx.moduleAddress, ETH))[2]).to.equal(FOUR_ETH);
    });

    it("test_submit_treasuryWindowSlides_autoTierReopens", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await (await owner(fx)).setTreasuryLimit(ETH, ONE_ETH, HOUR);
      const start = BigInt(await time.latest()) + 10n;
      await expect((await submitAt(fx, start, { value: ONE_ETH })).tx).to.emit(fx.module, "IntentExecuted");
      await expect((await submitAt(fx, start + BigInt(HOUR) - 1n, { value: TENTH }, fx.agent2)).tx).to.emit(
        fx.module,
        "IntentQueued",
      );
      await expect((await submitAt(fx, start + BigInt(HOUR), { value: TENTH }, fx.agent2)).tx).to.emit(
        fx.module,
        "IntentExecuted",
      );
    });

    it("test_setTreasuryLimit_removed_autoTierUnbounded", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await owner(fx);
      await safe.setTreasuryLimit(ETH, ONE_ETH, DAY);
      await (await submitSigned(fx, await buildIntent(fx, { value: ONE_ETH }))).wait();
      await expect(
        submitSigned(fx, await buildIntent(fx, { agent: fx.agent2.address, value: ONE_ETH }), fx.agent2),
      ).to.emit(fx.module, "IntentQueued");
      await expect(safe.setTreasuryLimit(ETH, 0, 0))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(ETH, 0n, 0n);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, ETH)).to.deep.equal([0n, 0n, 0n]);
      await expect(
        submitSigned(fx, await buildIntent(fx, { agent: fx.agent2.address, value: ONE_ETH }), fx.agent2),
      ).to.emit(fx.module, "IntentExecuted");
    });

    it("test_setTreasuryLimit_halfZero_revertsTreasuryLimitInvalid", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await owner(fx);
      await expect(safe.setTreasuryLimit(ETH, ONE_ETH, 0))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(ETH, ONE_ETH, 0n);
      await expect(safe.setTreasuryLimit(fx.usdcAddress, 0, DAY))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(fx.usdcAddress, 0n, BigInt(DAY));
    });
  });
});
