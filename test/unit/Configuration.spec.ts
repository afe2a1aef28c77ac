/**
 * Configuration (SPEC 8): only the Safe configures (Promise 5), every setter emits its event, invalid input is refused
 * with errors that carry the values, and every view reflects the state. Removing an agent never resets its nonces
 * or idempotency records (Promise 2).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, encodeBytes32String, id, parseEther, parseUnits } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  DAY,
  ETH,
  HOUR,
  RecipientMode,
  Status,
  Treasury,
  agentConfig,
  assetLimit,
  buildIntent,
  intentId,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import type { AgentConfig, AssetLimit } from "../fixtures";

function configTuple(c: AgentConfig): bigint[] {
  return [
    c.validUntil,
    c.escalationDelay,
    c.gracePeriod,
    c.maxIntentsPerWindow,
    c.rateWindow,
    c.maxStrikes,
    c.strikeWindow,
    BigInt(c.recipientMode),
  ];
}

function limitTuple(l: AssetLimit): bigint[] {
  return [l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx];
}

/** Every owner-only call, as a function of the module connected to some caller. */
function ownerCalls(fx: Treasury) {
  const m = (c: HardhatEthersSigner) => fx.module.connect(c);
  const a = fx.agent.address;
  return {
    setAgent: (c: HardhatEthersSigner) => m(c).setAgent(fx.attacker.address, agentConfig()),
    removeAgent: (c: HardhatEthersSigner) => m(c).removeAgent(a),
    rotateAgent: (c: HardhatEthersSigner) => m(c).rotateAgent(a, fx.attacker.address),
    setAssetLimit: (c: HardhatEthersSigner) =>
      m(c).setAssetLimit(a, ETH, assetLimit(parseEther("100"), parseEther("100"), DAY, parseEther("100"))),
    setAllowedCall: (c: HardhatEthersSigner) => m(c).setAllowedCall(a, fx.usdcAddress, "0x095ea7b3", true),
    setRecipient: (c: HardhatEthersSigner) => m(c).setRecipient(a, fx.attacker.address, true),
    setCosigners: (c: HardhatEthersSigner) => m(c).setCosigners([fx.attacker.address], 1),
    setGuardian: (c: HardhatEthersSigner) => m(c).setGuardian(fx.attacker.address, true),
    setTreasuryLimit: (c: HardhatEthersSigner) => m(c).setTreasuryLimit(ETH, 1n, 1),
    setTarget: (c: HardhatEthersSigner) => m(c).setTarget(fx.attacker.address),
    unpause: (c: HardhatEthersSigner) => m(c).unpause(),
    unfreezeAgent: (c: HardhatEthersSigner) => m(c).unfreezeAgent(a),
  };
}

/** Everything the owner-only calls above would change. */
async function configState(fx: Treasury) {
  const a = fx.agent.address;
  return {
    attackerAgent: await fx.module.isAgent(fx.attacker.address),
    agent: await fx.module.isAgent(a),
    config: await fx.module.agentConfig(a),
    ethLimit: await fx.module.assetLimit(a, ETH),
    allowed: await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.usdcAddress, "0x095ea7b3"),
    recipient: await fx.lens.isRecipient(fx.moduleAddress, a, fx.attacker.address),
    cosigners: await fx.module.cosigners(),
    threshold: await fx.module.threshold(),
    guardian: await fx.module.isGuardian(fx.attacker.address),
    treasury: await fx.lens.treasuryLimit(fx.moduleAddress, ETH),
    target: await fx.module.getFunction("target")(),
    paused: await fx.module.paused(),
    frozen: await fx.module.isFrozen(a),
  };
}

describe("Configuration", function () {
  describe("access control", function () {
    it("test_ownerOnlySetters_nonOwner_revertModuleCallerNotOwner", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Put the module in a state where unpause and unfreeze would otherwise succeed.
      await fx.module.connect(fx.guardian).pause();
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      const before = await configState(fx);
      const callers = [fx.attacker, fx.guardian, fx.agent, fx.cosigners[0], fx.owners[0]];
      for (const [name, call] of Object.entries(ownerCalls(fx))) {
        for (const caller of callers) {
          await expect(call(caller), `${name} by ${caller.address}`)
            .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
            .withArgs(caller.address, fx.safeAddress);
        }
      }
      expect(await configState(fx)).to.deep.equal(before);
    });

    it("test_guardianCalls_nonGuardian_revertModuleCallerNotGuardian", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (const caller of [fx.attacker, fx.agent, fx.cosigners[0]]) {
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

    it("test_configurationThroughRealSafeTransaction_applies", async function () {
      const fx = await loadFixture(treasuryFixture);
      await fx.asOwners(fx.module.interface.encodeFunctionData("setGuardian", [fx.bob.address, true]));
      expect(await fx.module.isGuardian(fx.bob.address)).to.equal(true);
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
    });
  });

  describe("events", function () {
    it("test_setters_emitTheirEvents", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      const cfg = agentConfig({ escalationDelay: 7n, maxIntentsPerWindow: 9n, rateWindow: 60n, recipientMode: 2 });
      await expect(owner.setAgent(a, cfg)).to.emit(fx.module, "AgentSet").withArgs(a, configTuple(cfg));
      const limit = assetLimit(1n, 2n, 3, 4n);
      await expect(owner.setAssetLimit(a, fx.usdcAddress, limit))
        .to.emit(fx.module, "AssetLimitSet")
        .withArgs(a, fx.usdcAddress, limitTuple(limit));
      await expect(owner.setAllowedCall(a, fx.bob.address, "0x12345678", true))
        .to.emit(fx.module, "AllowedCallSet")
        .withArgs(a, fx.bob.address, "0x12345678", true);
      await expect(owner.setRecipient(a, fx.bob.address, true))
        .to.emit(fx.module, "RecipientSet")
        .withArgs(a, fx.bob.address, true);
      const members = [fx.cosigners[2].address, fx.bob.address];
      await expect(owner.setCosigners(members, 1)).to.emit(fx.module, "CosignersSet").withArgs(members, 1n);
      await expect(owner.setGuardian(fx.bob.address, true))
        .to.emit(fx.module, "GuardianSet")
        .withArgs(fx.bob.address, true);
      await expect(owner.setTreasuryLimit(fx.usdcAddress, 5n, 6))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(fx.usdcAddress, 5n, 6n);
      await expect(owner.pause()).to.emit(fx.module, "Paused").withArgs(fx.safeAddress);
      await expect(owner.unpause()).to.emit(fx.module, "Unpaused").withArgs(fx.safeAddress);
      await expect(fx.module.connect(fx.guardian).freezeAgent(a))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(a, fx.guardian.address, encodeBytes32String("manual"));
      await expect(owner.unfreezeAgent(a)).to.emit(fx.module, "AgentUnfrozen").withArgs(a, fx.safeAddress);
      const newKey = fx.signers[15].address;
      await expect(owner.rotateAgent(a, newKey)).to.emit(fx.module, "AgentRotated").withArgs(a, newKey);
      await expect(owner.removeAgent(newKey)).to.emit(fx.module, "AgentRemoved").withArgs(newKey);
    });
  });

  describe("setAssetLimit", function () {
    it("test_setAssetLimit_inconsistentLimits_revertAssetLimitInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      const cases: Array<[AssetLimit, string]> = [
        [assetLimit(1n, 2n, 0, 3n), "window == 0"],
        [assetLimit(3n, 2n, DAY, 3n), "autoPerTx > autoPerWindow"],
        [assetLimit(3n, 4n, DAY, 2n), "autoPerTx > escalatedPerTx"],
        [assetLimit(0n, 0n, 0, 1n), "window == 0"],
      ];
      for (const [limit, rule] of cases) {
        await expect(owner.setAssetLimit(a, fx.usdcAddress, limit))
          .to.be.revertedWithCustomError(fx.module, "AssetLimitInvalid")
          .withArgs(a, fx.usdcAddress, encodeBytes32String(rule));
      }
      expect(await fx.module.assetLimit(a, fx.usdcAddress)).to.deep.equal(limitTuple(fx.usdcLimit));
    });

    it("test_setAssetLimit_allZeros_removesTheLimit", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(0n, 0n, 0, 0n));
      expect(await fx.module.assetLimit(fx.agent.address, fx.usdcAddress)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    });

    it("test_setAssetLimit_unknownAgent_revertsAgentUnknown", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).setAssetLimit(fx.bob.address, ETH, fx.ethLimit))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
    });

    it("test_setAssetLimit_escalationOnly_queuesEveryPayment", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, DAY, parseEther("5")));
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      await expect(submitSigned(fx, await buildIntent(fx, { value: 1n }))).to.emit(fx.module, "IntentQueued");
    });
  });

  describe("setAgent", function () {
    it("test_setAgent_invalidKey_revertsAgentKeyInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      for (const key of [ZeroAddress, fx.safeAddress, fx.moduleAddress]) {
        await expect(owner.setAgent(key, agentConfig()))
          .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
          .withArgs(key);
      }
    });

    it("test_setAgent_invalidConfig_revertsAgentConfigInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const b = fx.bob.address;
      const now = BigInt(await time.latest());
      const cases: Array<[Partial<AgentConfig>, string, bigint]> = [
        [{ gracePeriod: 0n }, "gracePeriod", 0n],
        [{ maxIntentsPerWindow: 5n, rateWindow: 0n }, "rateWindow", 0n],
        [{ maxStrikes: 2n, strikeWindow: 0n }, "strikeWindow", 0n],
        [{ validUntil: now - 1n }, "validUntil", now - 1n],
      ];
      for (const [overrides, field, value] of cases) {
        await expect(owner.setAgent(b, agentConfig(overrides)))
          .to.be.revertedWithCustomError(fx.module, "AgentConfigInvalid")
          .withArgs(b, encodeBytes32String(field), value);
      }
      // validUntil equal to the block's time is already dead.
      const at = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(at);
      await expect(owner.setAgent(b, agentConfig({ validUntil: at })))
        .to.be.revertedWithCustomError(fx.module, "AgentConfigInvalid")
        .withArgs(b, encodeBytes32String("validUntil"), at);
      expect(await fx.module.isAgent(b)).to.equal(false);
      // Zero limits with zero windows are fine.
      await expect(owner.setAgent(b, agentConfig({ maxStrikes: 0n, strikeWindow: 0n }))).to.emit(fx.module, "AgentSet");
    });

    it("test_setAgent_retiredKey_revertsAgentKeyRetired", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await owner.rotateAgent(fx.agent.address, fx.bob.address);
      await expect(owner.setAgent(fx.agent.address, agentConfig()))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyRetired")
        .withArgs(fx.agent.address);
    });

    it("test_rotateAgent_invalidKeys_revert", async function () {
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
  });

  describe("setCosigners", function () {
    it("test_setCosigners_invalidSets_revertWithTheirErrors", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const three = fx.cosigners.map((c) => c.address);
      await expect(owner.setCosigners(three, 0))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(0n, 3n);
      await expect(owner.setCosigners(three, 4))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(4n, 3n);
      await expect(owner.setCosigners([], 1))
        .to.be.revertedWithCustomError(fx.module, "CosignerThresholdInvalid")
        .withArgs(1n, 0n);
      const many = Array.from({ length: 21 }, (_, i) =>
        ethers.getAddress("0x" + (i + 1).toString(16).padStart(40, "0")),
      );
      await expect(owner.setCosigners(many, 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerSetTooLarge")
        .withArgs(21n, 20n);
      await expect(owner.setCosigners([three[0], ZeroAddress], 1))
        .to.be.revertedWithCustomError(fx.module, "CosignerInvalid")
        .withArgs(ZeroAddress);
      await expect(owner.setCosigners([three[0], three[1], three[0]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerInvalid")
        .withArgs(three[0]);
      expect(await fx.module.cosigners()).to.deep.equal(three);
      expect(await fx.module.threshold()).to.equal(2n);
      // Twenty members is the maximum, and allowed.
      await expect(owner.setCosigners(many.slice(0, 20), 20))
        .to.emit(fx.module, "CosignersSet")
        .withArgs(many.slice(0, 20), 20n);
      expect(await fx.module.cosigners()).to.deep.equal(many.slice(0, 20));
      expect(await fx.module.threshold()).to.equal(20n);
    });
  });

  describe("setTarget (v3)", function () {
    /** Slot 1 of the module: `_target` (see test/layout.ts and SlotZero.spec.ts). */
    async function targetSlot(fx: Treasury): Promise<bigint> {
      return BigInt(await ethers.provider.getStorage(fx.moduleAddress, 1));
    }

    it("test_target_beforeSetTarget_isTheAvatar", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
      expect(await targetSlot(fx)).to.equal(0n);
    });

    it("test_setTarget_nonOwner_revertsModuleCallerNotOwner", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (const caller of [fx.attacker, fx.guardian, fx.agent, fx.cosigners[0], fx.owners[0]]) {
        await expect(fx.module.connect(caller).setTarget(fx.bob.address))
          .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
          .withArgs(caller.address, fx.safeAddress);
      }
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
    });

    it("test_setTarget_zeroAddressOrModule_revertsModuleInvalidTarget", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      for (const bad of [ZeroAddress, fx.moduleAddress]) {
        await expect(owner.setTarget(bad)).to.be.revertedWithCustomError(fx.module, "ModuleInvalidTarget").withArgs(bad);
      }
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
    });

    it("test_setTarget_modifierThenAvatar_emitsTargetSetAndSettingTheAvatarUndoesIt", async function () {
      const fx = await loadFixture(treasuryFixture);
      const modifier = fx.bob.address;
      const owner = await moduleAsSafe(fx);
      await expect(owner.setTarget(modifier)).to.emit(fx.module, "TargetSet").withArgs(fx.safeAddress, modifier);
      expect(await fx.module.getFunction("target")()).to.equal(modifier);
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      await expect(owner.setTarget(fx.alice.address)).to.emit(fx.module, "TargetSet").withArgs(modifier, fx.alice.address);
      await expect(owner.setTarget(fx.safeAddress)).to.emit(fx.module, "TargetSet").withArgs(fx.alice.address, fx.safeAddress);
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
      // Undone, not merely pointed at the avatar: the stored target is cleared again.
      expect(await targetSlot(fx)).to.equal(0n);
    });

    it("test_setAgentOrRotate_targetAsKey_revertsAgentKeyInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const modifier = fx.bob.address;
      await owner.setTarget(modifier);
      await expect(owner.setAgent(modifier, agentConfig())).to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid").withArgs(modifier);
      await expect(owner.rotateAgent(fx.agent.address, modifier))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
        .withArgs(modifier);
      expect(await fx.module.isAgent(modifier)).to.equal(false);
      expect(await fx.module.isAgent(fx.agent.address)).to.equal(true);
    });
  });

  describe("other setters", function () {
    it("test_setTreasuryLimit_halfZero_revertsTreasuryLimitInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await expect(owner.setTreasuryLimit(ETH, 0n, DAY))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(ETH, 0n, DAY);
      await expect(owner.setTreasuryLimit(ETH, 5n, 0))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(ETH, 5n, 0n);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, ETH)).to.deep.equal([0n, 0n, 0n]);
    });

    it("test_setGuardian_zeroAddress_reverts", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).setGuardian(ZeroAddress, true))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
        .withArgs(ZeroAddress);
    });

    it("test_pauseAndFreeze_repeated_revert", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await expect(owner.unpause()).to.be.revertedWithCustomError(fx.module, "ModuleNotPaused");
      await fx.module.connect(fx.guardian).pause();
      await expect(fx.module.connect(fx.guardian).pause()).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await expect(fx.module.connect(fx.guardian).freezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      await expect(fx.module.connect(fx.guardian).freezeAgent(fx.bob.address))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
    });
  });

  describe("views", function () {
    it("test_views_reflectTheFixtureConfiguration", async function () {
      const fx = await loadFixture(treasuryFixture);
      const a = fx.agent.address;
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      expect(await fx.module.agentConfig(a)).to.deep.equal(configTuple(agentConfig()));
      expect(await fx.module.isAgent(a)).to.equal(true);
      expect(await fx.module.assetLimit(a, ETH)).to.deep.equal(limitTuple(fx.ethLimit));
      expect(await fx.module.assetLimit(a, fx.usdcAddress)).to.deep.equal(limitTuple(fx.usdcLimit));
      expect(await fx.module.isFrozen(a)).to.equal(false);
      expect(await fx.module.paused()).to.equal(false);
      expect(await fx.module.cosigners()).to.deep.equal(fx.cosigners.map((c) => c.address));
      expect(await fx.module.threshold()).to.equal(2n);
      expect(await fx.module.isGuardian(fx.guardian.address)).to.equal(true);
      expect(await fx.module.isGuardian(fx.attacker.address)).to.equal(false);
      expect(await fx.module.availableAllowance(a, ETH)).to.equal(fx.ethLimit.autoPerWindow);
      expect(await fx.module.availableAllowance(a, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });

    it("test_views_unknownAgent_areZero", async function () {
      const fx = await loadFixture(treasuryFixture);
      const b = fx.bob.address;
      expect(await fx.module.agentConfig(b)).to.deep.equal([0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n]);
      expect(await fx.module.assetLimit(b, ETH)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.module.isAgent(b)).to.equal(false);
      expect(await fx.module.isFrozen(b)).to.equal(false);
      expect(await fx.module.availableAllowance(b, ETH)).to.equal(0n);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.bob.address)).to.equal(0n); // asset without limit
    });

    it("test_availableAllowance_ignoresAutoPerTxPauseAndFreeze", async function () {
      const fx = await loadFixture(treasuryFixture);
      const a = fx.agent.address;
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.5") }));
      expect(await fx.module.availableAllowance(a, ETH)).to.equal(parseEther("2.5")); // above autoPerTx 1
      await fx.module.connect(fx.guardian).pause();
      await fx.module.connect(fx.guardian).freezeAgent(a);
      expect(await fx.module.isFrozen(a)).to.equal(true);
      expect(await fx.module.paused()).to.equal(true);
      expect(await fx.module.availableAllowance(a, ETH)).to.equal(parseEther("2.5"));
    });

    it("test_views_removedAgent_areZeroAndGuardianToggles", async function () {
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

  describe("when an agent is removed and added again", function () {
    it("test_removeAgent_keepsNoncesAndIdempotencyRecords_oldSignaturesStayDead", async function () {
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

    it("test_setAgent_updateOfActiveAgent_keepsItsState", async function () {
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
});
