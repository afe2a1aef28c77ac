/**
 * SpendingLimits (SPEC section 5): per agent and asset, an auto tier (`autoPerTx`, `autoPerWindow` over an exact
 * sliding `window`) below a hard cap (`escalatedPerTx`); a treasury-wide limit per asset across all agents' auto
 * spend; and the record of escalated spend, which never consumes an auto window. An asset without a limit cannot be
 * spent at all. The window itself is specified in SlidingWindow.spec.ts.
 *
 * Promise 1 (bounded loss): for every agent, asset and window, auto-executed spend is at most `autoPerWindow`, and
 * across all agents at most the treasury-wide limit.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  Status,
  assetLimit,
  buildIntent,
  cosignerSignatures,
  intentId,
  mocksFixture,
  moduleAsSafe,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
  twoAgentsFixture,
} from "../fixtures";
import type { AssetLimit } from "../fixtures";
import { readField, stateField } from "../layout";
import {
  FIVE_ETH,
  ONE_ETH,
  TENTH,
  ethBalance,
  expectDenied,
  expectOutcome,
  intentTuple,
  limitTuple,
  queuePayment,
  submitAt,
} from "./helpers";

describe("SpendingLimits", function () {
  describe("setAssetLimit", function () {
    it("refuses a zero window and an autoPerTx above autoPerWindow or escalatedPerTx, each with its own error and values, and keeps the limit [test_setAssetLimit_inconsistentLimits_revertAssetLimitInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      const u = fx.usdcAddress;
      const cases: Array<[AssetLimit, string, unknown[]]> = [
        [assetLimit(1n, 2n, 0, 3n), "AssetLimitWindowZero", [a, u]],
        [assetLimit(3n, 2n, DAY, 3n), "AssetLimitAutoAboveWindow", [a, u, 3n, 2n]],
        [assetLimit(3n, 4n, DAY, 2n), "AssetLimitAutoAboveHardCap", [a, u, 3n, 2n]],
        [assetLimit(0n, 0n, 0, 1n), "AssetLimitWindowZero", [a, u]],
      ];
      for (const [limit, error, args] of cases) {
        await expect(owner.setAssetLimit(a, u, limit))
          .to.be.revertedWithCustomError(fx.module, error)
          .withArgs(...args);
      }
      expect(await fx.module.assetLimit(a, fx.usdcAddress)).to.deep.equal(limitTuple(fx.usdcLimit));
    });

    it("removes the limit when given all zeros [test_setAssetLimit_allZeros_removesTheLimit]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(0n, 0n, 0, 0n));
      expect(await fx.module.assetLimit(fx.agent.address, fx.usdcAddress)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    });

    it("refuses a limit for an unknown agent with AgentUnknown [test_setAssetLimit_unknownAgent_revertsAgentUnknown]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).setAssetLimit(fx.bob.address, ETH, fx.ethLimit))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
    });

    it("queues every payment of an asset whose limit has no auto tier [test_setAssetLimit_escalationOnly_queuesEveryPayment]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, DAY, parseEther("5")));
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      await expect(submitSigned(fx, await buildIntent(fx, { value: 1n }))).to.emit(fx.module, "IntentQueued");
    });
  });

  describe("the auto tier", function () {
    it("executes a payment within autoPerTx and the window at once, and charges that asset's window only [test_submit_withinAutoLimits_executesAndCharges]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseUnits("1000", 6); // exactly autoPerTx
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.bob.address, amount);
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.agent.address,
          fx.usdcAddress,
          fx.bob.address,
          amount,
          false,
          intent.rationale,
        );
      await expect(tx).to.changeTokenBalances(fx.usdc, [fx.safeAddress, fx.bob.address], [-amount, amount]);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("4000", 6));
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
    });

    it("queues a payment above autoPerTx with its eta, charging nothing [test_submit_aboveAutoPerTx_queuedWithEta]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("1") + 1n });
      const before = await treasuryState(fx);
      const ts = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(ts);
      const eta = ts + BigInt(HOUR);
      const id_ = intentId(fx, intent);
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, eta, intentTuple(intent));
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, eta, 0n, Status.Queued]);
      const after = await treasuryState(fx);
      expect(after[`nonce:${fx.agent.address}:0`]).to.equal(1n);
      delete after[`nonce:${fx.agent.address}:0`];
      delete before[`nonce:${fx.agent.address}:0`];
      expect(after).to.deep.equal(before);
    });

    it("queues a payment once the window's allowance is spent [test_submit_windowFull_queued]", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (let i = 0; i < 3; i++) {
        await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("1") }))).to.emit(
          fx.module,
          "IntentExecuted",
        );
      }
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      const intent = await buildIntent(fx, { value: parseEther("0.5") });
      const before = await ethers.provider.getBalance(fx.alice.address);
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentQueued");
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Queued);
      expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(before);
    });

    it("charges ETH sent along a token transfer to the ETH limits too, which may queue or deny the whole intent [test_submit_ethValueOnTokenTransfer_chargedToEthToo]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.payable;
      const tokenAddress = await token.getAddress();
      const amount = parseUnits("100", 6);
      const value = parseEther("0.5");
      const intent = await tokenPayment(fx, tokenAddress, fx.alice.address, amount, { value });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.agent.address,
          tokenAddress,
          fx.alice.address,
          amount,
          false,
          intent.rationale,
        );
      await expect(tx).to.changeEtherBalances([fx.safeAddress, tokenAddress], [-value, value]);
      expect(await token.balanceOf(fx.alice.address)).to.equal(amount);
      expect(await fx.module.availableAllowance(fx.agent.address, tokenAddress)).to.equal(parseUnits("4900", 6));
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.5"));
      // ETH above its autoPerTx queues the whole intent even though the token amount fits.
      const queued = await tokenPayment(fx, tokenAddress, fx.alice.address, amount, { value: parseEther("1.5") });
      await expect(submitSigned(fx, queued)).to.emit(fx.module, "IntentQueued");
      // ETH above its hard cap is denied.
      await expectDenied(
        fx,
        await tokenPayment(fx, tokenAddress, fx.alice.address, amount, { value: parseEther("11") }),
        DenyReason.AboveHardCap,
      );
      // Without an ETH limit, no ETH may ride along.
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      await expectDenied(
        fx,
        await tokenPayment(fx, tokenAddress, fx.alice.address, amount, { value: 1n }),
        DenyReason.AssetNotAllowed,
      );
    });

    it("reports what is left of autoPerWindow, whatever autoPerTx, a pause or a freeze [test_availableAllowance_ignoresAutoPerTxPauseAndFreeze]", async function () {
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
  });

  describe("the hard cap, and assets without a limit", function () {
    it("denies a payment above escalatedPerTx with AboveHardCap and queues one exactly at it [test_submit_aboveHardCap_deniedAboveHardCap_atCapQueued]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("10") + 1n }), DenyReason.AboveHardCap);
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("50000", 6) + 1n),
        DenyReason.AboveHardCap,
      );
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("10") }))).to.emit(
        fx.module,
        "IntentQueued",
      );
    });

    it("denies an ETH payment without an ETH limit with AssetNotAllowed [test_submit_ethPaymentWithoutEthLimit_deniedAssetNotAllowed]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.AssetNotAllowed);
    });

    it("denies even a zero ETH payment without an ETH limit [test_submit_zeroEthPaymentWithoutEthLimit_deniedAssetNotAllowed]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n))).wait();
      await expectDenied(fx, await buildIntent(fx, { value: 0n }), DenyReason.AssetNotAllowed);
    });

    it("denies a payment in a token without a limit with AssetNotAllowed [test_submit_tokenWithoutLimit_deniedAssetNotAllowed]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
      await other.mint(fx.safeAddress, parseEther("10"));
      const intent = await tokenPayment(fx, await other.getAddress(), fx.alice.address, 1n);
      await expectDenied(fx, intent, DenyReason.AssetNotAllowed);
      expect(await other.balanceOf(fx.safeAddress)).to.equal(parseEther("10"));
    });

    it("queues a zero-amount transfer of a token whose limit has no auto tier [test_submit_zeroTokenTransferUnderEscalationOnlyLimit_queued]", async function () {
      const fx = await loadFixture(treasuryFixture);
      // USDC may only move with co-signers: no auto tier, escalatedPerTx 50,000.
      await (
        await (
          await moduleAsSafe(fx)
        ).setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(0n, 0n, DAY, parseUnits("50000", 6)))
      ).wait();
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, 0n);
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentQueued");
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Queued);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
    });
  });

  describe("the treasury-wide limit (Promise 1)", function () {
    const FOUR_ETH = parseEther("4");

    it("refuses a limit with only one of perWindow and window zero, with TreasuryLimitInvalid [test_setTreasuryLimit_halfZero_revertsTreasuryLimitInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await expect(owner.setTreasuryLimit(ETH, 0n, DAY))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(ETH, 0n, DAY);
      await expect(owner.setTreasuryLimit(ETH, 5n, 0))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(ETH, 5n, 0n);
      await expect(owner.setTreasuryLimit(fx.usdcAddress, 0n, DAY))
        .to.be.revertedWithCustomError(fx.module, "TreasuryLimitInvalid")
        .withArgs(fx.usdcAddress, 0n, DAY);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, ETH)).to.deep.equal([0n, 0n, 0n]);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([0n, 0n, 0n]);
    });

    it("counts each limited asset once through updates and removals, and applies the new limit [test_setTreasuryLimit_updateAndRemoveUnset_keepTheLimitedAssetCount]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const count = await stateField("_treasuryLimitedAssets");
      expect(await readField(fx, count)).to.equal(0n);
      // Removing a limit that was never set changes nothing (no underflow).
      await expect(owner.setTreasuryLimit(ETH, 0, 0))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(ETH, 0n, 0n);
      expect(await readField(fx, count)).to.equal(0n);

      await (await owner.setTreasuryLimit(fx.usdcAddress, parseUnits("2000", 6), DAY)).wait();
      expect(await readField(fx, count)).to.equal(1n);
      // Changing an existing limit keeps the count at one and the new limit applies.
      await expect(owner.setTreasuryLimit(fx.usdcAddress, parseUnits("1500", 6), DAY))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(fx.usdcAddress, parseUnits("1500", 6), DAY);
      expect(await readField(fx, count)).to.equal(1n);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([
        parseUnits("1500", 6),
        BigInt(DAY),
        0n,
      ]);
      const amount = parseUnits("1000", 6);
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount), "IntentExecuted");
      // 1,000 + 1,000 is within the agent's 5,000 but above the treasury's 1,500: co-signers decide.
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount), "IntentQueued");

      await (await owner.setTreasuryLimit(fx.usdcAddress, 0, 0)).wait();
      expect(await readField(fx, count)).to.equal(0n);
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount), "IntentExecuted");
    });

    it("queues an auto payment that would cross it although the agent's own window has room [test_submit_crossingTreasuryLimit_queued]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await expect((await moduleAsSafe(fx)).setTreasuryLimit(fx.usdcAddress, parseUnits("1500", 6), DAY))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(fx.usdcAddress, parseUnits("1500", 6), DAY);
      await expect(
        submitSigned(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("1000", 6))),
      ).to.emit(fx.module, "IntentExecuted");
      const crossing = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("501", 6));
      await expect(submitSigned(fx, crossing)).to.emit(fx.module, "IntentQueued");
      // The agent's own window had room: only the treasury-wide limit queued it.
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("4000", 6));
      const [perWindow, window, spent] = await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress);
      expect([perWindow, window, spent]).to.deep.equal([parseUnits("1500", 6), BigInt(DAY), parseUnits("1000", 6)]);
      await expect(
        submitSigned(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("500", 6))),
      ).to.emit(fx.module, "IntentExecuted");
    });

    it("caps all agents' auto spend together; co-signers can still let more through [test_submit_twoAgentsTogether_cannotExceedTreasuryLimitInAutoTier]", async function () {
      // Promise 1 across agents: 2 agents x 3 ETH per day of auto allowance, but the treasury caps both at 4 ETH.
      const fx = await loadFixture(twoAgentsFixture);
      await (await moduleAsSafe(fx)).setTreasuryLimit(ETH, FOUR_ETH, DAY);
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

    it("slides: the auto tier reopens once the spend is a window old [test_submit_treasuryWindowSlides_autoTierReopens]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      await (await moduleAsSafe(fx)).setTreasuryLimit(ETH, ONE_ETH, HOUR);
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

    it("gates only its own asset [test_submit_treasuryLimitOnAnotherAssetOnly_ethPaymentExecutes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      // A treasury-wide limit on USDC, far below the ETH amounts: it must not gate ETH.
      await (await (await moduleAsSafe(fx)).setTreasuryLimit(fx.usdcAddress, 1, DAY)).wait();
      const value = parseEther("1");
      const intent = await buildIntent(fx, { value });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, value, false, intent.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.alice.address], [-value, value]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2"));
      // USDC is still gated by its treasury limit.
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, 2n), "IntentQueued");
    });

    it("bounds the auto tier no more once removed [test_setTreasuryLimit_removed_autoTierUnbounded]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const safe = await moduleAsSafe(fx);
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
  });

  describe("escalated spend", function () {
    it("records an executed queued payment as escalated spend and leaves the auto window alone [test_executeQueued_ethPayment_doesNotConsumeAutoWindowAndIsRecorded]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const autoBefore = await fx.module.availableAllowance(fx.agent.address, ETH);
      expect(autoBefore).to.equal(parseEther("3"));
      const q = await queuePayment(fx);
      await time.increaseTo(q.eta);
      await fx.module.connect(fx.relayer).executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners));
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(autoBefore);
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(FIVE_ETH);
      // The auto tier is untouched: a 1 ETH payment still executes at once.
      const small = await buildIntent(fx, { value: parseEther("1") });
      await expect(submitSigned(fx, small))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, small),
          fx.agent.address,
          ETH,
          fx.alice.address,
          parseEther("1"),
          false,
          small.rationale,
        );
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2"));
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(FIVE_ETH);
    });

    it("records a queued token payment as escalated spend in that token [test_executeQueued_tokenPayment_movesTokensAndRecordsEscalatedSpend]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseUnits("20000", 6);
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.bob.address, amount);
      const id_ = intentId(fx, intent);
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentQueued");
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(0n);
      await time.increase(HOUR);
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, await cosignerSignatures(fx, id_, fx.cosigners)))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, fx.usdcAddress, fx.bob.address, amount, true, intent.rationale);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(amount);
      expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(parseUnits("1000000", 6) - amount);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("5000", 6));
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, fx.usdcAddress)).to.equal(amount);
    });

    it("records both the tokens and the ETH sent along a queued token transfer as escalated spend [test_executeQueued_ethValueOnTokenTransfer_chargedAsEscalatedToBoth]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.payable;
      const tokenAddress = await token.getAddress();
      const amount = parseUnits("100", 6);
      const value = parseEther("0.5");
      const intent = await tokenPayment(fx, tokenAddress, fx.alice.address, amount, {
        value,
        validUntil: BigInt(await time.latest()) + BigInt(DAY),
        review: true,
      });
      const id_ = intentId(fx, intent);
      // Proposed for review: queued although both amounts fit the auto tier.
      await expect(fx.module.connect(fx.agent).propose(intent, "0x")).to.emit(fx.module, "IntentQueued");
      await time.increase(HOUR);
      const allowances = [
        await fx.module.availableAllowance(fx.agent.address, tokenAddress),
        await fx.module.availableAllowance(fx.agent.address, ETH),
      ];
      const signatures = await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2));
      const tx = fx.module.connect(fx.relayer).executeQueued(intent, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, tokenAddress, fx.alice.address, amount, true, intent.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, tokenAddress], [-value, value]);
      expect(await token.balanceOf(fx.alice.address)).to.equal(amount);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Executed);
      // Both the token amount and the ETH riding along are recorded as escalated spend ...
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, tokenAddress)).to.equal(amount);
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(value);
      // ... and neither consumes the auto windows.
      expect(await fx.module.availableAllowance(fx.agent.address, tokenAddress)).to.equal(allowances[0]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(allowances[1]);
    });
  });
});
