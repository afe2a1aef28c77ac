/**
 * AgentRegistry (SPEC section 8): the owners register agents with their policy, remove them, rotate their keys, and
 * allow calls and recipients per agent. An agent is an identity: its nonces, idempotency records, spend history,
 * strikes and freeze stay with it when it is removed and added again and when its key is rotated; a rotated-out key
 * is dead for good. Who may call the setters is checked for every function at once in ModuleInterface.spec.ts.
 *
 * Promise 4: nothing moves for an expired or removed agent. Promise 8: rotating a key never restores spent allowance.
 */
import { expect } from "chai";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, id, parseEther, parseUnits } from "ethers";
import {
  DAY,
  ETH,
  HOUR,
  RecipientMode,
  Status,
  agentConfig,
  buildIntent,
  cosignerSignatures,
  intentId,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
  twoAgentsFixture,
} from "../fixtures";
import type { AgentConfig } from "../fixtures";
import { packNonce } from "../../sdk/eip712";
import {
  ABOVE_CAP,
  ONE_ETH,
  QUEUED_ONLY,
  TENTH,
  configTuple,
  ethBalance,
  limitTuple,
  queuePayment,
  reconfigure,
  spendBeforeRotation,
  submitAt,
  withTarget,
} from "./helpers";

describe("AgentRegistry", function () {
  describe("setAgent", function () {
    it("refuses address(0), the Safe and the module as an agent key with AgentKeyInvalid [test_setAgent_invalidKey_revertsAgentKeyInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      for (const key of [ZeroAddress, fx.safeAddress, fx.moduleAddress]) {
        await expect(owner.setAgent(key, agentConfig()))
          .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
          .withArgs(key);
      }
    });

    it("refuses a zero grace period, a rate or strike limit without a window and a validUntil not in the future, each with its own error and values [test_setAgent_invalidConfig_revertsAgentConfigInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const b = fx.bob.address;
      const now = BigInt(await time.latest());
      const cases: Array<[Partial<AgentConfig>, string, unknown[]]> = [
        [{ gracePeriod: 0n }, "AgentGracePeriodZero", [b]],
        [{ maxIntentsPerWindow: 5n, rateWindow: 0n }, "AgentRateWindowZero", [b, 5n]],
        [{ maxStrikes: 2n, strikeWindow: 0n }, "AgentStrikeWindowZero", [b, 2n]],
        [{ validUntil: now - 1n }, "AgentValidUntilNotInFuture", [b, now - 1n, anyValue]],
      ];
      for (const [overrides, error, args] of cases) {
        await expect(owner.setAgent(b, agentConfig(overrides)))
          .to.be.revertedWithCustomError(fx.module, error)
          .withArgs(...args);
      }
      // validUntil equal to the block's time is already dead.
      const at = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(at);
      await expect(owner.setAgent(b, agentConfig({ validUntil: at })))
        .to.be.revertedWithCustomError(fx.module, "AgentValidUntilNotInFuture")
        .withArgs(b, at, at);
      expect(await fx.module.isAgent(b)).to.equal(false);
      // Zero limits with zero windows are fine.
      await expect(owner.setAgent(b, agentConfig({ maxStrikes: 0n, strikeWindow: 0n }))).to.emit(fx.module, "AgentSet");
    });

    it("refuses a rotated-out key with AgentKeyRetired [test_setAgent_rotatedOutKey_revertsAgentKeyRetired]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await moduleAsSafe(fx);
      await safe.rotateAgent(fx.agent.address, fx.freshKey.address);
      await expect(safe.setAgent(fx.agent.address, agentConfig()))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyRetired")
        .withArgs(fx.agent.address);
      expect(await fx.module.isAgent(fx.agent.address)).to.equal(false);
    });

    it("refuses the exec target as an agent key, in setAgent and in rotateAgent [test_setAgentOrRotate_targetAsKey_revertsAgentKeyInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const modifier = fx.bob.address;
      await owner.setTarget(modifier);
      await expect(owner.setAgent(modifier, agentConfig()))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
        .withArgs(modifier);
      await expect(owner.rotateAgent(fx.agent.address, modifier))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
        .withArgs(modifier);
      expect(await fx.module.isAgent(modifier)).to.equal(false);
      expect(await fx.module.isAgent(fx.agent.address)).to.equal(true);
    });

    it("updates an active agent's policy and keeps its nonces, limits and spend [test_setAgent_updateOfActiveAgent_keepsItsState]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("1") }));
      const cfg = agentConfig({ escalationDelay: BigInt(2 * HOUR) });
      await owner.setAgent(a, cfg);
      expect(await fx.module.agentConfig(a)).to.deep.equal(configTuple(cfg));
      expect(await fx.module.getNonce(a, 0)).to.equal(1n);
      expect(await fx.module.availableAllowance(a, ETH)).to.equal(parseEther("2"));
      expect(await fx.module.assetLimit(a, ETH)).to.deep.equal(limitTuple(fx.ethLimit));
    });
  });

  describe("an agent's validUntil (Promise 4)", function () {
    it("rejects the agent's intents from its validUntil on with AgentExpired, recording nothing [test_submit_atValidUntil_revertsAgentExpired]", async function () {
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

    it("refuses to execute an intent whose agent expired after it was queued [test_executeQueued_agentExpiredSinceQueueing_revertsAgentExpired]", async function () {
      const fx = await loadFixture(treasuryFixture);
      // After loadFixture the next block takes the wall clock, which may be far past the snapshot: read a fresh block.
      await mine();
      const validUntil = BigInt(await time.latest()) + 1000n;
      await reconfigure(fx, { validUntil });
      const q = await queuePayment(fx);
      await time.setNextBlockTimestamp(q.eta); // eta (1 h after queueing) is past validUntil
      const safeBefore = await ethBalance(fx, fx.safeAddress);
      await expect(
        fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners)),
      )
        .to.be.revertedWithCustomError(fx.module, "AgentExpired")
        .withArgs(fx.agent.address, validUntil, q.eta);
      expect(await ethBalance(fx, fx.safeAddress)).to.equal(safeBefore);
    });

    it("rejects an expired agent as it rejects an unknown one: no record, no nonce, no strike [test_submit_expiredAgent_rejectedLikeUnknownAgent]", async function () {
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

    it("revives an expired agent when the owners extend its validUntil [test_setAgent_extendsValidUntil_revivesExpiredAgent]", async function () {
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

  describe("removeAgent", function () {
    it("rejects a removed agent and, when it is added again, keeps its nonces and idempotency records so that old signatures stay dead [test_removeAgent_keepsNoncesAndIdempotencyRecords_oldSignaturesStayDead]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      const key = id("payroll-march");
      const keyed = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("300", 6), {
        idempotencyKey: key,
      });
      const keyedSig = await sign(fx.agent, fx, keyed);
      await fx.module.connect(fx.relayer).submit(keyed, keyedSig);
      const keyless = await buildIntent(fx, { value: parseEther("0.2") });
      const keylessSig = await sign(fx.agent, fx, keyless);
      await fx.module.connect(fx.relayer).submit(keyless, keylessSig);
      const queued = await buildIntent(fx, { value: parseEther("2") });
      await submitSigned(fx, queued);
      expect(await fx.module.intentStatus(intentId(fx, queued))).to.equal(Status.Queued);

      await expect(owner.removeAgent(a)).to.emit(fx.module, "AgentRemoved").withArgs(a);
      // Removed: every submission is rejected.
      const fresh = await buildIntent(fx, { value: parseEther("0.1") });
      await expect(submitSigned(fx, fresh)).to.be.revertedWithCustomError(fx.module, "AgentUnknown").withArgs(a);
      await expect(owner.removeAgent(a)).to.be.revertedWithCustomError(fx.module, "AgentUnknown").withArgs(a);
      expect(await fx.module.intentStatus(intentId(fx, queued))).to.equal(Status.Cancelled);

      await owner.setAgent(a, agentConfig({ recipientMode: RecipientMode.Any }));
      expect(await fx.module.getNonce(a, 0)).to.equal(3n);
      expect((await fx.module.idempotencyRecord(a, key))[0]).to.equal(intentId(fx, keyed));
      // The queued intent of the old activation stays dead.
      expect(await fx.module.intentStatus(intentId(fx, queued))).to.equal(Status.Cancelled);
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submit(keyless, keylessSig))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(a, 3n, keyless.nonce);
      await expect(fx.module.connect(fx.relayer).submit(keyed, keyedSig))
        .to.emit(fx.module, "IdempotentReplay")
        .withArgs(intentId(fx, keyed), a, key);
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(parseUnits("300", 6));
    });
  });

  describe("rotateAgent", function () {
    it("refuses an unknown old key, an invalid new key and a key already used, and leaves the agent active [test_rotateAgent_invalidKeys_revert]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await expect(owner.rotateAgent(fx.bob.address, fx.alice.address))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
      for (const key of [ZeroAddress, fx.safeAddress, fx.moduleAddress]) {
        await expect(owner.rotateAgent(fx.agent.address, key))
          .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
          .withArgs(key);
      }
      await owner.setAgent(fx.bob.address, agentConfig());
      await expect(owner.rotateAgent(fx.agent.address, fx.bob.address))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyAlreadyUsed")
        .withArgs(fx.bob.address);
      // A removed key was used too.
      await owner.removeAgent(fx.bob.address);
      await expect(owner.rotateAgent(fx.agent.address, fx.bob.address))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyAlreadyUsed")
        .withArgs(fx.bob.address);
      expect(await fx.module.isAgent(fx.agent.address)).to.equal(true);
    });

    it("refuses any key ever used, active, removed or rotated out, as the new key with AgentKeyAlreadyUsed [test_rotateAgent_toUsedKey_revertsAgentKeyAlreadyUsed]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await moduleAsSafe(fx);
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

    it("gives the new key the old key's policy, limits, nonces in every lane, idempotency records and spend [test_rotateAgent_newKeyInheritsPolicyNoncesRecordsAndSpend]", async function () {
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

      await expect((await moduleAsSafe(fx)).rotateAgent(fx.agent.address, fx.freshKey.address))
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

    it("never restores spent allowance: after a full window the new key can only queue (Promise 8) [test_rotateAgent_fullWindowSpent_newKeyCannotSpendAutoAgain]", async function () {
      // Promise 8: rotating a key never restores spent allowance.
      const fx = await loadFixture(twoAgentsFixture);
      for (let i = 0; i < 3; ++i) await (await submitSigned(fx, await buildIntent(fx, { value: ONE_ETH }))).wait();
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      await (await moduleAsSafe(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);
      expect(await fx.module.availableAllowance(fx.freshKey.address, ETH)).to.equal(0n);

      const attempt = await buildIntent(fx, { agent: fx.freshKey.address, value: ONE_ETH });
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(submitSigned(fx, attempt, fx.freshKey)).to.emit(fx.module, "IntentQueued");
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);
      // The window slides on as before: a day after the spend, the allowance is back.
      await time.increase(DAY);
      expect(await fx.module.availableAllowance(fx.freshKey.address, ETH)).to.equal(parseEther("3"));
    });

    it("rejects the old key at once, signed or calling itself, and its queued intents read as cancelled [test_rotateAgent_oldKeyRejectedAtOnceAndItsQueuedIntentsDie]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const q = await queuePayment(fx);
      await fx.module.connect(fx.cosigners[0]).approve(q.id);
      await fx.module.connect(fx.cosigners[1]).approve(q.id);
      const stale = await buildIntent(fx, { value: TENTH }); // signed with the old key before rotation
      const staleSignature = await sign(fx.agent, fx, stale);
      await (await moduleAsSafe(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);

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

    it("keeps a frozen agent frozen under its new key, with its strikes [test_rotateAgent_frozenAgent_newKeyInheritsFreezeAndStrikes]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await (await submitSigned(fx, await buildIntent(fx, ABOVE_CAP))).wait();
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await (await moduleAsSafe(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);
      expect(await fx.module.isFrozen(fx.freshKey.address)).to.equal(true);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.freshKey.address)).to.equal(1n);
      await expect(submitSigned(fx, await buildIntent(fx, { agent: fx.freshKey.address, value: TENTH }), fx.freshKey))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.freshKey.address);
    });
  });

  describe("setAllowedCall", function () {
    it("refuses the Safe and the module as call targets with TargetForbidden [test_setAllowedCall_safeOrModule_revertsTargetForbidden]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const selector = fx.safe.interface.getFunction("enableModule")!.selector;
      await expect(owner.setAllowedCall(fx.agent.address, fx.safeAddress, selector, true))
        .to.be.revertedWithCustomError(fx.module, "TargetForbidden")
        .withArgs(fx.safeAddress);
      await expect(owner.setAllowedCall(fx.agent.address, fx.moduleAddress, selector, true))
        .to.be.revertedWithCustomError(fx.module, "TargetForbidden")
        .withArgs(fx.moduleAddress);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, fx.safeAddress, selector)).to.equal(false);
    });

    it("refuses the exec target as a call target while it is set, and accepts it again once the target is the avatar [test_setAllowedCall_onTheTarget_revertsTargetForbidden]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { modifier, modifierAddress } = await withTarget(fx);
      const ping = modifier.interface.getFunction("ping")!.selector;
      await expect((await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, modifierAddress, ping, true))
        .to.be.revertedWithCustomError(fx.module, "TargetForbidden")
        .withArgs(modifierAddress);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, modifierAddress, ping)).to.equal(false);
      // Once the owners set the target back to the avatar, that contract is an ordinary target again.
      await fx.asOwners(fx.module.interface.encodeFunctionData("setTarget", [fx.safeAddress]));
      await expect((await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, modifierAddress, ping, true))
        .to.emit(fx.module, "AllowedCallSet")
        .withArgs(fx.agent.address, modifierAddress, ping, true);
    });
  });

  describe("views", function () {
    it("reads zeros for an unknown agent and for an asset without a limit [test_views_unknownAgent_areZero]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const b = fx.bob.address;
      expect(await fx.module.agentConfig(b)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
      expect(await fx.module.assetLimit(b, ETH)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.module.isAgent(b)).to.equal(false);
      expect(await fx.module.isFrozen(b)).to.equal(false);
      expect(await fx.module.availableAllowance(b, ETH)).to.equal(0n);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.bob.address)).to.equal(0n); // asset without limit
    });

    it("reads a removed agent as no agent (zero policy, no allowance, not frozen); a disabled guardian can no longer pause [test_views_removedAgent_areZeroAndGuardianToggles]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      await fx.module.connect(fx.guardian).freezeAgent(a);
      await owner.removeAgent(a);
      expect(await fx.module.isAgent(a)).to.equal(false);
      expect(await fx.module.agentConfig(a)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
      expect(await fx.module.availableAllowance(a, ETH)).to.equal(0n);
      expect(await fx.module.isFrozen(a)).to.equal(false);
      await owner.setGuardian(fx.guardian.address, false);
      expect(await fx.module.isGuardian(fx.guardian.address)).to.equal(false);
      await expect(fx.module.connect(fx.guardian).pause())
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotGuardian")
        .withArgs(fx.guardian.address);
    });
  });
});
