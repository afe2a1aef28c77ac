/**
 * Routing (SPEC 5): every authentic intent ends in exactly one outcome (Promise 6). Payments need an asset limit;
 * other calls need an allowed (target, selector); approval-type calls are denied unless allowed; a token `transfer`
 * is always charged; the Safe and the module are never targets. Denials are recorded, consume the nonce and count a
 * strike; enough strikes freeze the agent.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, encodeBytes32String, id, parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  RecipientMode,
  Status,
  Treasury,
  agentConfig,
  assetLimit,
  buildIntent,
  callTargetFixture,
  intentId,
  mocksFixture,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  transferData,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import type { Intent } from "../../sdk/eip712";

const APPROVALS = new Interface([
  "function approve(address,uint256)",
  "function increaseAllowance(address,uint256)",
  "function permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  "function permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)",
  "function setApprovalForAll(address,bool)",
  "function transferFrom(address,address,uint256)",
]);
const TRANSFER_SELECTOR = "0xa9059cbb";

/** The intent as the tuple the `IntentQueued` event carries. */
function tuple(intent: Intent): unknown[] {
  return [
    intent.agent,
    intent.target,
    intent.value,
    intent.data,
    intent.nonce,
    intent.idempotencyKey,
    intent.validAfter,
    intent.validUntil,
    intent.rationale,
    intent.review,
  ];
}

/** Submits and checks the denial: event with reason and rationale, status recorded, nonce consumed, nothing moved. */
async function expectDenied(fx: Treasury, intent: Intent, reason: bigint, signer = fx.agent): Promise<void> {
  const before = await treasuryState(fx);
  const nonce = await fx.module.getNonce(intent.agent, intent.nonce >> 64n);
  const id_ = intentId(fx, intent);
  const tx = submitSigned(fx, intent, signer);
  await expect(tx).to.emit(fx.module, "IntentDenied").withArgs(id_, intent.agent, reason, intent.rationale);
  await expect(tx).to.not.emit(fx.module, "IntentExecuted");
  expect(await fx.module.intentStatus(id_)).to.equal(Status.Denied);
  expect(await fx.module.getNonce(intent.agent, intent.nonce >> 64n)).to.equal(nonce + 1n);
  const after = await treasuryState(fx);
  for (const key of Object.keys(before)) {
    if (!key.startsWith("nonce:")) expect(after[key], key).to.equal(before[key]);
  }
}

describe("Routing", function () {
  describe("payments", function () {
    it("test_submit_ethPaymentWithoutEthLimit_deniedAssetNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.AssetNotAllowed);
    });

    it("test_submit_tokenWithoutLimit_deniedAssetNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      const other = await ethers.deployContract("MockERC20", ["Other", "OTH", 18]);
      await other.mint(fx.safeAddress, parseEther("10"));
      const intent = await tokenPayment(fx, await other.getAddress(), fx.alice.address, 1n);
      await expectDenied(fx, intent, DenyReason.AssetNotAllowed);
      expect(await other.balanceOf(fx.safeAddress)).to.equal(parseEther("10"));
    });

    it("test_submit_withinAutoLimits_executesAndCharges", async function () {
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

    it("test_submit_aboveAutoPerTx_queuedWithEta", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("1") + 1n });
      const before = await treasuryState(fx);
      const ts = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(ts);
      const eta = ts + BigInt(HOUR);
      const id_ = intentId(fx, intent);
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, eta, tuple(intent));
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, eta, 0n, Status.Queued]);
      const after = await treasuryState(fx);
      expect(after[`nonce:${fx.agent.address}:0`]).to.equal(1n);
      delete after[`nonce:${fx.agent.address}:0`];
      delete before[`nonce:${fx.agent.address}:0`];
      expect(after).to.deep.equal(before);
    });

    it("test_submit_windowFull_queued", async function () {
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

    it("test_submit_aboveHardCap_deniedAboveHardCap_atCapQueued", async function () {
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

    it("test_submit_crossingTreasuryLimit_queued", async function () {
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
  });

  describe("calls", function () {
    it("test_submit_callWithoutAllowedCall_deniedTargetNotAllowed", async function () {
      const fx = await loadFixture(mocksFixture);
      const data = fx.callTarget.interface.encodeFunctionData("ping", [7]);
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data }),
        DenyReason.TargetNotAllowed,
      );
      expect(await fx.callTarget.pings()).to.equal(0n);
    });

    it("test_submit_allowedCall_executesOnlyThatSelector", async function () {
      const fx = await loadFixture(mocksFixture);
      const ping = fx.callTarget.interface.getFunction("ping").selector;
      await expect((await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, true))
        .to.emit(fx.module, "AllowedCallSet")
        .withArgs(fx.agent.address, fx.callTargetAddress, ping, true);
      const intent = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("ping", [7]),
      });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.callTargetAddress, 0n, false, intent.rationale);
      await expect(tx).to.emit(fx.callTarget, "Pinged").withArgs(fx.safeAddress, 0n, 7n);
      expect(await fx.callTarget.pings()).to.equal(1n);
      // A call that spends nothing leaves every window alone.
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
      // Another selector on the same target is still not allowed.
      const other = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("other"),
      });
      await expectDenied(fx, other, DenyReason.TargetNotAllowed);
      // And revoking the selector denies it again.
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, false);
      const again = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("ping", [8]),
      });
      await expectDenied(fx, again, DenyReason.TargetNotAllowed);
    });

    it("test_submit_allowedCallWithValue_chargedToEth", async function () {
      const fx = await loadFixture(mocksFixture);
      const ping = fx.callTarget.interface.getFunction("ping").selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, true);
      const data = fx.callTarget.interface.encodeFunctionData("ping", [1]);
      const value = parseEther("0.75");
      const intent = await buildIntent(fx, { target: fx.callTargetAddress, data, value });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.callTargetAddress, value, false, intent.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.callTargetAddress], [-value, value]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.25"));
      // Above autoPerTx: queued like a payment.
      await expect(
        submitSigned(fx, await buildIntent(fx, { target: fx.callTargetAddress, data, value: parseEther("1.5") })),
      ).to.emit(fx.module, "IntentQueued");
      // Without an ETH limit the value cannot be spent at all.
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data, value: 1n }),
        DenyReason.AssetNotAllowed,
      );
    });

    it("test_submit_approvalTypeCalls_deniedApprovalNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      const max = 2n ** 256n - 1n;
      const calls = [
        APPROVALS.encodeFunctionData("approve", [fx.attacker.address, max]),
        APPROVALS.encodeFunctionData("increaseAllowance", [fx.attacker.address, max]),
        APPROVALS.encodeFunctionData("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", [
          fx.safeAddress,
          fx.attacker.address,
          max,
          max,
          27,
          id("r"),
          id("s"),
        ]),
        APPROVALS.encodeFunctionData("permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", [
          fx.safeAddress,
          fx.attacker.address,
          0,
          max,
          true,
          27,
          id("r"),
          id("s"),
        ]),
        APPROVALS.encodeFunctionData("setApprovalForAll", [fx.attacker.address, true]),
        APPROVALS.encodeFunctionData("transferFrom", [fx.safeAddress, fx.attacker.address, 1n]),
      ];
      // The USDC limit exists, yet none of these is a payment.
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      for (const data of calls) {
        await expectDenied(fx, await buildIntent(fx, { target: fx.usdcAddress, data }), DenyReason.ApprovalNotAllowed);
      }
      expect(await fx.usdc.allowance(fx.safeAddress, fx.attacker.address)).to.equal(0n);
    });

    it("test_submit_approveExplicitlyAllowed_executesAndChargesNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      const approve = APPROVALS.getFunction("approve")!.selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, approve, true);
      const amount = parseUnits("123", 6);
      const intent = await buildIntent(fx, {
        target: fx.usdcAddress,
        data: APPROVALS.encodeFunctionData("approve", [fx.bob.address, amount]),
      });
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.usdc.allowance(fx.safeAddress, fx.bob.address)).to.equal(amount);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });

    it("test_submit_transferAllowedAsCall_isStillChargedAsPayment", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, TRANSFER_SELECTOR, true);
      // Above autoPerTx: an allowed call would run at once; a payment is queued.
      const big = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("2000", 6));
      await expect(submitSigned(fx, big)).to.emit(fx.module, "IntentQueued");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
      const small = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("600", 6));
      await expect(submitSigned(fx, small))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, small),
          fx.agent.address,
          fx.usdcAddress,
          fx.alice.address,
          parseUnits("600", 6),
          false,
          small.rationale,
        );
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("4400", 6));
    });

    it("test_submit_transferWithTrailingBytesAsAllowedCall_isNeverUncharged", async function () {
      // An allowed call can never bypass limits (SPEC 5). ERC-20s decode `transfer(to, amount)` and ignore trailing
      // calldata, so a padded transfer moves tokens exactly like a plain one.
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, TRANSFER_SELECTOR, true);
      const amount = parseUnits("2000", 6); // above autoPerTx 1,000
      const padded = await buildIntent(fx, {
        target: fx.usdcAddress,
        data: transferData(fx.attacker.address, amount) + "00",
      });
      const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);
      const allowanceBefore = await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress);
      // The `transfer` selector with trailing bytes is never an allowed call: it is denied as malformed (v3).
      await expectDenied(fx, padded, DenyReason.MalformedCall);
      const outflow = safeBefore - (await fx.usdc.balanceOf(fx.safeAddress));
      const charged = allowanceBefore - (await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress));
      expect(outflow, "USDC left the Safe without being charged to the agent's window").to.be.at.most(charged);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.be.at.most(fx.usdcLimit.autoPerTx);
    });

    it("test_submit_paddedTransferNotAllowedAsCall_deniedMalformedCall", async function () {
      const fx = await loadFixture(treasuryFixture);
      const padded = await buildIntent(fx, {
        target: fx.usdcAddress,
        data: transferData(fx.alice.address, parseUnits("10", 6)) + "00",
      });
      await expectDenied(fx, padded, DenyReason.MalformedCall);
    });

    it("test_submit_ethValueOnTokenTransfer_chargedToEthToo", async function () {
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
  });

  describe("the Safe and the module as targets", function () {
    it("test_submit_safeOrModuleAsTarget_deniedTargetNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      const safeCall = fx.safe.interface.encodeFunctionData("enableModule", [fx.attacker.address]);
      const moduleCall = fx.module.interface.encodeFunctionData("setAgent", [fx.attacker.address, agentConfig()]);
      const targets: Array<Partial<Intent>> = [
        { target: fx.safeAddress, value: parseEther("0.1") }, // an ETH "payment" to the Safe
        { target: fx.safeAddress, data: safeCall },
        { target: fx.moduleAddress, data: moduleCall },
        { target: fx.moduleAddress, value: parseEther("0.1") },
      ];
      for (const fields of targets) {
        await expectDenied(fx, await buildIntent(fx, fields), DenyReason.TargetNotAllowed);
      }
      expect(await fx.module.isAgent(fx.attacker.address)).to.equal(false);
      expect(await fx.safe.isModuleEnabled(fx.attacker.address)).to.equal(false);
    });

    it("test_setAllowedCall_safeOrModule_revertsTargetForbidden", async function () {
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
  });

  describe("when the owners set a target in front of the avatar (v3)", function () {
    /** The base treasury with `target()` set to a contract standing for a Zodiac modifier, through the Safe. */
    async function withTarget(fx: Treasury) {
      const modifier = await ethers.deployContract("MockCallTarget");
      const modifierAddress = await modifier.getAddress();
      await fx.asOwners(fx.module.interface.encodeFunctionData("setTarget", [modifierAddress]));
      expect(await fx.module.getFunction("target")()).to.equal(modifierAddress);
      return { modifier, modifierAddress };
    }

    it("test_submit_intentTargetingTheTarget_deniedTargetNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { modifier, modifierAddress } = await withTarget(fx);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      const intents: Array<Partial<Intent>> = [
        { target: modifierAddress, value: parseEther("0.1") }, // an ETH "payment" to the modifier
        { target: modifierAddress, data: modifier.interface.encodeFunctionData("ping", [1n]) },
        // A payment to the avatar is still refused while a target is set.
        { target: fx.safeAddress, value: parseEther("0.1") },
      ];
      for (const fields of intents) {
        await expectDenied(fx, await buildIntent(fx, fields), DenyReason.TargetNotAllowed);
      }
    });

    it("test_submit_callAllowedBeforeSetTarget_deniedOnceItIsTheTarget", async function () {
      // An allowed call granted while the contract was an ordinary target does not survive it becoming the target.
      const fx = await loadFixture(treasuryFixture);
      const modifier = await ethers.deployContract("MockCallTarget");
      const modifierAddress = await modifier.getAddress();
      const ping = modifier.interface.getFunction("ping")!.selector;
      await fx.asOwners(fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, modifierAddress, ping, true]));
      const data = modifier.interface.encodeFunctionData("ping", [1n]);
      await expect(submitSigned(fx, await buildIntent(fx, { target: modifierAddress, data }))).to.emit(fx.module, "IntentExecuted");
      expect(await modifier.pings()).to.equal(1n);
      await fx.asOwners(fx.module.interface.encodeFunctionData("setTarget", [modifierAddress]));
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, modifierAddress, ping)).to.equal(true);
      await expectDenied(fx, await buildIntent(fx, { target: modifierAddress, data }), DenyReason.TargetNotAllowed);
      expect(await modifier.pings()).to.equal(1n);
    });

    it("test_setAllowedCall_onTheTarget_revertsTargetForbidden", async function () {
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

  describe("review requests (v3)", function () {
    it("test_submit_reviewWithinLimits_queuedWithIntentQueued", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseEther("0.5"); // within autoPerTx 1 and autoPerWindow 3
      const intent = await buildIntent(fx, { value: amount, review: true, rationale: id("new vendor, please check") });
      const id_ = intentId(fx, intent);
      const signature = await sign(fx.agent, fx, intent);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(intent, signature)).to.deep.equal([id_, Status.Queued]);
      const before = await treasuryState(fx);
      const ts = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(ts);
      const tx = fx.module.connect(fx.relayer).submit(intent, signature);
      await expect(tx)
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, ts + BigInt(HOUR), tuple(intent));
      await expect(tx).to.not.emit(fx.module, "IntentExecuted");
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, ts + BigInt(HOUR), 0n, Status.Queued]);
      // Nothing paid or charged; only the nonce moved.
      const after = await treasuryState(fx);
      expect(after[`nonce:${fx.agent.address}:0`]).to.equal(intent.nonce + 1n);
      delete after[`nonce:${fx.agent.address}:0`];
      delete before[`nonce:${fx.agent.address}:0`];
      expect(after).to.deep.equal(before);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
    });

    it("test_submit_reviewAboveHardCap_deniedNotQueued", async function () {
      // A review request is queued only if policy would accept it: a denial comes first.
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("11"), review: true });
      await expectDenied(fx, intent, DenyReason.AboveHardCap);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
    });
  });

  describe("non-canonical transfers (v3)", function () {
    const RECIPIENT_WORD = (to: string) => "000000000000000000000000" + to.slice(2).toLowerCase();
    const AMOUNT_WORD = (amount: bigint) => amount.toString(16).padStart(64, "0");
    /** Calldata of each non-canonical encoding of `transfer(to, amount)`, by name: every one is MalformedCall. */
    const CASES: Array<[string, (to: string, amount: bigint) => string]> = [
      ["transfer36Bytes", (to) => TRANSFER_SELECTOR + RECIPIENT_WORD(to)],
      ["transfer67Bytes", (to, amount) => transferData(to, amount).slice(0, -2)],
      ["transfer69Bytes", (to, amount) => transferData(to, amount) + "00"],
      ["transfer73Bytes", (to, amount) => transferData(to, amount) + "0000000000"],
      ["transferDirtyRecipientWord", (to, amount) => TRANSFER_SELECTOR + "ff" + RECIPIENT_WORD(to).slice(2) + AMOUNT_WORD(amount)],
    ];

    it("test_nonCanonicalTransferCases_haveTheLengthsTheirNamesSay", function () {
      const lengths = CASES.map(([, build]) => (build(ethers.ZeroAddress, 1n).length - 2) / 2);
      expect(lengths).to.deep.equal([36, 67, 69, 73, 68]);
    });

    for (const [name, build] of CASES) {
      it(`test_submit_${name}_deniedMalformedCallWithStrike`, async function () {
        const fx = await loadFixture(treasuryFixture);
        const amount = parseUnits("10", 6); // a payment the agent could make if it were canonical
        const intent = await buildIntent(fx, { target: fx.usdcAddress, data: build(fx.attacker.address, amount) });
        const before = await treasuryState(fx, { accounts: [fx.safeAddress, fx.alice.address, fx.attacker.address] });
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
        // Denied (recorded, nonce consumed, strike), never a bare revert.
        await expectDenied(fx, intent, DenyReason.MalformedCall);
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
        const after = await treasuryState(fx, { accounts: [fx.safeAddress, fx.alice.address, fx.attacker.address] });
        expect(after[`nonce:${fx.agent.address}:0`]).to.equal(intent.nonce + 1n);
        delete after[`nonce:${fx.agent.address}:0`];
        delete before[`nonce:${fx.agent.address}:0`];
        expect(after).to.deep.equal(before);
        expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
      });
    }

    it("test_submit_transferDirtyRecipientWord_deniedEvenWhenTransferIsAnAllowedCall", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.usdcAddress, TRANSFER_SELECTOR, true);
      const data = CASES[4][1](fx.attacker.address, parseUnits("10", 6));
      await expectDenied(fx, await buildIntent(fx, { target: fx.usdcAddress, data }), DenyReason.MalformedCall);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
    });
  });

  describe("recipient modes", function () {
    it("test_submit_allowlistMode_ethSentWithAllowedCall_chargedNotRecipientChecked", async function () {
      // SPEC 5: recipient rules apply to payments. ETH sent along an allowed call goes to a target the owners allowed:
      // it is charged to the ETH window, but the allowlist is not asked.
      const fx = await loadFixture(callTargetFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.Allowlist, maxStrikes: 0n }));
      expect(await fx.lens.isRecipient(fx.moduleAddress, fx.agent.address, fx.targetAddress)).to.equal(false);
      const value = parseEther("0.5");
      const call = await buildIntent(fx, { target: fx.targetAddress, value, data: fx.target.interface.encodeFunctionData("ping", [7n]) });
      const tx = submitSigned(fx, call);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, call), fx.agent.address, ETH, fx.targetAddress, value, false, call.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.targetAddress], [-value, value]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - value);
      // The same ETH sent to the same contract as a plain payment is a payment: the allowlist applies.
      await expectDenied(fx, await buildIntent(fx, { target: fx.targetAddress, value }), DenyReason.RecipientNotAllowed);
    });

    it("test_submit_allowlistModeUnknownRecipient_deniedRecipientNotAllowed", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.Allowlist, maxStrikes: 0n }));
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.RecipientNotAllowed);
      // For a token the decoded recipient counts, not the token contract.
      await owner.setRecipient(fx.agent.address, fx.usdcAddress, true);
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("5", 6)),
        DenyReason.RecipientNotAllowed,
      );
      // Above the auto tier an unknown recipient is still denied, not queued.
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("2") }), DenyReason.RecipientNotAllowed);
      await expect(owner.setRecipient(fx.agent.address, fx.alice.address, true))
        .to.emit(fx.module, "RecipientSet")
        .withArgs(fx.agent.address, fx.alice.address, true);
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
      await expect(
        submitSigned(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("5", 6))),
      ).to.emit(fx.module, "IntentExecuted");
    });

    it("test_submit_allowlistMode_allowedCallsAreNotPayments", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.Allowlist }));
      const ping = fx.callTarget.interface.getFunction("ping").selector;
      await owner.setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, true);
      const intent = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("ping", [1]),
      });
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentExecuted");
    });

    it("test_submit_escalateUnknownMode_queuesUnknownAndExecutesKnown", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(fx.agent.address, agentConfig({ recipientMode: RecipientMode.EscalateUnknown }));
      const unknown = await buildIntent(fx, { value: parseEther("0.1") });
      const ts = BigInt(await time.latest()) + 5n;
      await time.setNextBlockTimestamp(ts);
      const id_ = intentId(fx, unknown);
      await expect(submitSigned(fx, unknown))
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, ts + BigInt(HOUR), tuple(unknown));
      expect(await fx.module.intent(id_)).to.deep.equal([fx.agent.address, ts + BigInt(HOUR), 0n, Status.Queued]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
      await owner.setRecipient(fx.agent.address, fx.alice.address, true);
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
    });
  });

  describe("denials", function () {
    it("test_submit_denied_recordsOutcomeConsumesNonceAndStrikes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("20"), rationale: id("probe the fence") });
      await expectDenied(fx, intent, DenyReason.AboveHardCap);
      const [agent, eta, approvals, status] = await fx.module.intent(intentId(fx, intent));
      expect([agent, eta, approvals, status]).to.deep.equal([fx.agent.address, 0n, 0n, Status.Denied]);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    it("test_submit_denialReasons_followTheSpecOrder", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(
        fx.agent.address,
        agentConfig({
          maxStrikes: 0n,
          recipientMode: RecipientMode.Allowlist,
          maxIntentsPerWindow: 1n,
          rateWindow: BigInt(DAY),
        }),
      );
      await owner.setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n));
      // Target before asset: a disallowed call carrying ETH the agent has no limit for.
      const data = fx.callTarget.interface.encodeFunctionData("ping", [1]);
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data, value: 1n }),
        DenyReason.TargetNotAllowed,
      );
      // Approval before asset.
      await expectDenied(
        fx,
        await buildIntent(fx, {
          target: fx.usdcAddress,
          data: APPROVALS.encodeFunctionData("approve", [fx.bob.address, 1n]),
          value: 1n,
        }),
        DenyReason.ApprovalNotAllowed,
      );
      // Hard cap before recipient.
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("60000", 6)),
        DenyReason.AboveHardCap,
      );
      // Every policy reason before the rate limit, which these intents long exceeded.
      await expectDenied(
        fx,
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, 1n),
        DenyReason.RecipientNotAllowed,
      );
      await owner.setRecipient(fx.agent.address, fx.bob.address, true);
      await expectDenied(fx, await tokenPayment(fx, fx.usdcAddress, fx.bob.address, 1n), DenyReason.RateLimited);
    });

    it("test_submit_beyondRateLimit_deniedRateLimitedUntilTheWindowPasses", async function () {
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
  });

  describe("strikes", function () {
    it("test_submit_maxStrikesDenials_freezeTheAgent", async function () {
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

    it("test_submit_maxStrikesZero_neverFreezes", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await moduleAsSafe(fx)).setAgent(fx.agent.address, agentConfig({ maxStrikes: 0n }));
      for (let i = 0; i < 5; i++) {
        await expectDenied(fx, await buildIntent(fx, { value: parseEther("50") }), DenyReason.AboveHardCap);
      }
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });

    it("test_submit_strikesFurtherApartThanTheWindow_doNotAccumulate", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (let i = 0; i < 4; i++) {
        const intent = await buildIntent(fx, {
          value: parseEther("50"),
          validUntil: BigInt(await time.latest()) + 2n * BigInt(DAY),
        });
        await expectDenied(fx, intent, DenyReason.AboveHardCap);
        await time.increase(DAY + 1);
      }
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });
  });
});
