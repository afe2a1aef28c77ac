/**
 * AvatarOwned (SPEC sections 2 and 8): the module acts for one Safe, its avatar and owner, through one exec target
 * (the avatar, or a Zodiac modifier in front of it, v3). It calls the Safe with hand-encoded calldata, decodes the
 * answer `(bool success, bytes returnData)` by hand, bubbles a failing inner call's error, and for a token payment
 * checks what actually left the Safe. Each payment is either correct or rejected with a clear error, and a window is
 * never charged wrongly (Promise 1). Who may call `setTarget` is checked in ModuleInterface.spec.ts.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Contract, ZeroAddress, id, parseEther, parseUnits, toBeHex, zeroPadValue } from "ethers";
import {
  DAY,
  ETH,
  Status,
  Treasury,
  agentConfig,
  assetLimit,
  buildIntent,
  deployModuleInfra,
  intentId,
  mocksFixture,
  moduleAsSafe,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import type { IAgentTreasuryModule } from "../../typechain-types";

type Mocks = Awaited<ReturnType<typeof mocksFixture>>;

const coder = AbiCoder.defaultAbiCoder();
const SINK = "0x0000000000000000000000000000000000000FEE";

/** The state probe for a token: the agent's allowance and nonce, and balances of the Safe, alice and the sink. */
async function tokenState(fx: Mocks, token: Contract) {
  const address = await token.getAddress();
  return treasuryState(fx, { assets: [ETH, address], accounts: [fx.safeAddress, fx.alice.address, SINK] });
}

/** Slot 1 of the module: `_target` (see test/layout.ts and SlotZero.spec.ts). */
async function targetSlot(fx: Treasury): Promise<bigint> {
  return BigInt(await ethers.provider.getStorage(fx.moduleAddress, 1));
}

/**
 * A module clone whose avatar is a test contract (MalformedAvatar) that answers the module's exec calls with chosen
 * raw bytes, and an agent with an ETH limit.
 */
async function malformedAvatarFixture() {
  const [, agent, alice] = await ethers.getSigners();
  const avatar = (await ethers.deployContract("MalformedAvatar")) as unknown as Contract;
  const avatarAddress = await avatar.getAddress();
  await agent.sendTransaction({ to: avatarAddress, value: parseEther("10") });
  const { factory } = await deployModuleInfra();
  const salt = id("malformed-avatar");
  const moduleAddress = await factory.predictModuleAddress(avatarAddress, salt);
  await (await factory.createModule(avatarAddress, salt)).wait();
  const module = (await ethers.getContractAt("IAgentTreasuryModule", moduleAddress)) as unknown as IAgentTreasuryModule;
  const asOwner = async (data: string) => (await avatar.getFunction("exec")(moduleAddress, data)).wait();
  await asOwner(module.interface.encodeFunctionData("setAgent", [agent.address, agentConfig()]));
  await asOwner(
    module.interface.encodeFunctionData("setAssetLimit", [
      agent.address,
      ETH,
      assetLimit(parseEther("1"), parseEther("3"), DAY, parseEther("10")),
    ]),
  );
  return { avatar, module, agent, alice };
}

type Fx = Awaited<ReturnType<typeof malformedAvatarFixture>>;

/** A direct (self-submitted) ETH payment of 0.1 ETH to alice at the agent's current lane-0 nonce. */
async function ethPayment(fx: Fx) {
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  return {
    agent: fx.agent.address,
    target: fx.alice.address,
    value: parseEther("0.1"),
    data: "0x",
    nonce: await fx.module.getNonce(fx.agent.address, 0),
    idempotencyKey: ethers.ZeroHash,
    validAfter: 0,
    validUntil: now + 3_600n,
    rationale: id("pay alice"),
    review: false,
  };
}

/** Submitting the payment reverts ExecutionFailed(alice), and neither the nonce nor the allowance moved. */
async function expectRejectedAsFailedCall(fx: Fx, answer: string) {
  await fx.avatar.getFunction("setAnswer")(answer);
  const allowanceBefore = await fx.module.availableAllowance(fx.agent.address, ETH);
  const intent = await ethPayment(fx);
  await expect(fx.module.connect(fx.agent).submit(intent, "0x"))
    .to.be.revertedWithCustomError(fx.module, "ExecutionFailed")
    .withArgs(fx.alice.address);
  expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(intent.nonce);
  expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(allowanceBefore);
}

describe("AvatarOwned", function () {
  describe("the exec target (v3)", function () {
    it("is the avatar until the owners set another [test_target_beforeSetTarget_isTheAvatar]", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
      expect(await targetSlot(fx)).to.equal(0n);
    });

    it("refuses address(0) and the module itself as the target with ModuleInvalidTarget [test_setTarget_zeroAddressOrModule_revertsModuleInvalidTarget]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      for (const bad of [ZeroAddress, fx.moduleAddress]) {
        await expect(owner.setTarget(bad))
          .to.be.revertedWithCustomError(fx.module, "ModuleInvalidTarget")
          .withArgs(bad);
      }
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
    });

    it("emits TargetSet at every change, and setting the avatar again clears the stored target [test_setTarget_modifierThenAvatar_emitsTargetSetAndSettingTheAvatarUndoesIt]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const modifier = fx.bob.address;
      const owner = await moduleAsSafe(fx);
      await expect(owner.setTarget(modifier)).to.emit(fx.module, "TargetSet").withArgs(fx.safeAddress, modifier);
      expect(await fx.module.getFunction("target")()).to.equal(modifier);
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      await expect(owner.setTarget(fx.alice.address))
        .to.emit(fx.module, "TargetSet")
        .withArgs(modifier, fx.alice.address);
      await expect(owner.setTarget(fx.safeAddress))
        .to.emit(fx.module, "TargetSet")
        .withArgs(fx.alice.address, fx.safeAddress);
      expect(await fx.module.getFunction("target")()).to.equal(fx.safeAddress);
      // Undone, not merely pointed at the avatar: the stored target is cleared again.
      expect(await targetSlot(fx)).to.equal(0n);
    });
  });

  describe("the answer to an exec call (a Safe that answers what no Safe would)", function () {
    it("takes an answer shorter than three words for a failed call [test_submit_answerShorterThanThreeWords_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(malformedAvatarFixture);
      await expectRejectedAsFailedCall(fx, coder.encode(["bool", "uint256"], [true, 64]));
    });

    it("takes a success flag that is not a bool for a failed call [test_submit_successFlagNotABool_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(malformedAvatarFixture);
      await expectRejectedAsFailedCall(fx, coder.encode(["uint256", "bytes"], [2, "0x"]));
    });

    it("takes a return-data offset past the end for a failed call [test_submit_returnDataOffsetPastTheEnd_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(malformedAvatarFixture);
      // success = true, offset 0x60 with only three words returned: the length word lies past the end.
      const answer = ethers.concat([
        zeroPadValue("0x01", 32),
        zeroPadValue(toBeHex(0x60), 32),
        zeroPadValue("0x00", 32),
      ]);
      await expectRejectedAsFailedCall(fx, answer);
    });

    it("takes a return-data length past the end for a failed call [test_submit_returnDataLengthPastTheEnd_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(malformedAvatarFixture);
      // success = true, offset 0x40, length 33 with no bytes following.
      const answer = ethers.concat([
        zeroPadValue("0x01", 32),
        zeroPadValue(toBeHex(0x40), 32),
        zeroPadValue(toBeHex(33), 32),
      ]);
      await expectRejectedAsFailedCall(fx, answer);
    });

    it("bubbles the inner revert data of a well-formed failure [test_submit_wellFormedFailureWithData_bubblesTheInnerRevertData]", async function () {
      const fx = await loadFixture(malformedAvatarFixture);
      const inner = fx.module.interface.encodeErrorResult("ModuleIsPaused", []);
      await fx.avatar.getFunction("setAnswer")(coder.encode(["bool", "bytes"], [false, inner]));
      const intent = await ethPayment(fx);
      await expect(fx.module.connect(fx.agent).submit(intent, "0x")).to.be.revertedWithCustomError(
        fx.module,
        "ModuleIsPaused",
      );
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(intent.nonce);
    });

    it("executes and charges on a well-formed success [test_submit_wellFormedSuccess_executesAndCharges]", async function () {
      const fx = await loadFixture(malformedAvatarFixture);
      // The test avatar moves nothing, so the balance check sees no outflow: the payment is accepted and charged.
      await fx.avatar.getFunction("setAnswer")(coder.encode(["bool", "bytes"], [true, "0x"]));
      const intent = await ethPayment(fx);
      await expect(fx.module.connect(fx.agent).submit(intent, "0x")).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(intent.nonce + 1n);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3") - parseEther("0.1"));
    });
  });

  describe("when the inner call fails", function () {
    async function allowFailures(fx: Mocks) {
      const owner = await moduleAsSafe(fx);
      for (const name of ["fail", "failEmpty", "failReason"] as const) {
        await owner.setAllowedCall(
          fx.agent.address,
          fx.callTargetAddress,
          fx.callTarget.interface.getFunction(name)!.selector,
          true,
        );
      }
    }

    it("bubbles the inner call's custom error with its arguments, and nothing is charged [test_submit_innerCustomError_bubblesWithItsArguments]", async function () {
      const fx = await loadFixture(mocksFixture);
      await allowFailures(fx);
      const intent = await buildIntent(fx, {
        target: fx.callTargetAddress,
        value: parseEther("0.2"),
        data: fx.callTarget.interface.encodeFunctionData("fail", [7]),
      });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.callTarget, "MockCallTargetFailure")
        .withArgs(7n, fx.safeAddress);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("reverts ExecutionFailed naming the target when the inner call fails without data [test_submit_innerRevertWithoutData_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(mocksFixture);
      await allowFailures(fx);
      const intent = await buildIntent(fx, {
        target: fx.callTargetAddress,
        value: parseEther("0.2"),
        data: fx.callTarget.interface.encodeFunctionData("failEmpty"),
      });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "ExecutionFailed")
        .withArgs(fx.callTargetAddress);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("bubbles the inner call's revert reason [test_submit_innerRevertReason_bubbles]", async function () {
      const fx = await loadFixture(mocksFixture);
      await allowFailures(fx);
      const intent = await buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("failReason"),
      });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent)).to.be.revertedWith("MockCallTarget: refused");
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("reverts ExecutionFailed when a token refuses the ETH sent along its transfer [test_submit_ethSentToNonPayableToken_revertsExecutionFailed]", async function () {
      const fx = await loadFixture(mocksFixture);
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("10", 6), {
        value: parseEther("0.1"),
      });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "ExecutionFailed")
        .withArgs(fx.usdcAddress);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("bubbles the token's error for a transfer beyond the Safe's balance [test_submit_tokenTransferBeyondSafeBalance_bubblesTokenError]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.noReturn;
      const address = await token.getAddress();
      await (
        await moduleAsSafe(fx)
      ).setAssetLimit(fx.agent.address, address, {
        ...fx.usdcLimit,
        autoPerTx: parseUnits("2000000", 6),
        autoPerWindow: parseUnits("2000000", 6),
        escalatedPerTx: parseUnits("2000000", 6),
      });
      const amount = parseUnits("1000001", 6);
      const intent = await tokenPayment(fx, address, fx.alice.address, amount);
      const before = await tokenState(fx, token);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(token, "MiniTokenInsufficientBalance")
        .withArgs(fx.safeAddress, parseUnits("1000000", 6), amount);
      expect(await tokenState(fx, token)).to.deep.equal(before);
    });
  });

  describe("token payments: what left the Safe", function () {
    it("pays and charges through a token whose transfer returns nothing (USDT style) [test_submit_usdtStyleNoReturnValue_paysAndCharges]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.noReturn;
      const address = await token.getAddress();
      const amount = parseUnits("500", 6);
      const intent = await tokenPayment(fx, address, fx.alice.address, amount);
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, address, fx.alice.address, amount, false, intent.rationale);
      await expect(tx).to.changeTokenBalances(token, [fx.safeAddress, fx.alice.address], [-amount, amount]);
      expect(await fx.module.availableAllowance(fx.agent.address, address)).to.equal(parseUnits("4500", 6));
    });

    it("reverts TokenTransferReturnedFalse when transfer answers false or anything but true, even if tokens moved [test_submit_tokenReturnsFalse_revertsTokenTransferReturnedFalse]", async function () {
      const fx = await loadFixture(mocksFixture);
      for (const token of [fx.tokens.returnsFalse, fx.tokens.movesAndReturnsFalse, fx.tokens.returnsTwo]) {
        const address = await token.getAddress();
        const intent = await tokenPayment(fx, address, fx.alice.address, parseUnits("500", 6));
        const before = await tokenState(fx, token);
        await expect(submitSigned(fx, intent))
          .to.be.revertedWithCustomError(fx.module, "TokenTransferReturnedFalse")
          .withArgs(address);
        expect(await tokenState(fx, token)).to.deep.equal(before);
      }
    });

    it("pays through a token answering a well-formed true [test_submit_tokenReturnsWellFormedTrue_pays]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.returnsOne;
      const amount = parseUnits("500", 6);
      const intent = await tokenPayment(fx, await token.getAddress(), fx.alice.address, amount);
      await expect(submitSigned(fx, intent)).to.changeTokenBalances(
        token,
        [fx.safeAddress, fx.alice.address],
        [-amount, amount],
      );
    });

    it("charges what left the Safe when the token takes its fee out of the amount [test_submit_feeOnTransferDeflationary_chargesWhatLeftTheSafe]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.feeOnTransfer;
      const address = await token.getAddress();
      const amount = parseUnits("1000", 6);
      const fee = amount / 100n;
      const intent = await tokenPayment(fx, address, fx.alice.address, amount);
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, address, fx.alice.address, amount, false, intent.rationale);
      // The Safe lost exactly the amount; the recipient got it minus the token's fee.
      await expect(tx).to.changeTokenBalances(
        token,
        [fx.safeAddress, fx.alice.address, SINK],
        [-amount, amount - fee, fee],
      );
      expect(await fx.module.availableAllowance(fx.agent.address, address)).to.equal(parseUnits("4000", 6));
    });

    it("reverts BalanceChangeExceedsCharge when a fee on top takes more than the amount from the Safe [test_submit_feeChargedOnTopOfAmount_revertsBalanceChangeExceedsCharge]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.feeOnTop;
      const address = await token.getAddress();
      const amount = parseUnits("1000", 6);
      const intent = await tokenPayment(fx, address, fx.alice.address, amount);
      const before = await tokenState(fx, token);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
        .withArgs(address, amount, amount + amount / 100n);
      expect(await tokenState(fx, token)).to.deep.equal(before);
    });

    it("reverts BalanceChangeExceedsCharge when the token moves more than asked [test_submit_tokenMovesMoreThanAsked_revertsBalanceChangeExceedsCharge]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.overdrawing;
      const address = await token.getAddress();
      const amount = parseUnits("250", 6);
      const intent = await tokenPayment(fx, address, fx.alice.address, amount);
      const before = await tokenState(fx, token);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
        .withArgs(address, amount, amount + 1n);
      expect(await tokenState(fx, token)).to.deep.equal(before);
    });

    it("reverts TokenBalanceUnreadable when balanceOf reverts, charging nothing [test_submit_tokenBalanceUnreadable_revertsTokenBalanceUnreadable]", async function () {
      const fx = await loadFixture(mocksFixture);
      const address = await fx.tokens.unreadable.getAddress();
      const intent = await tokenPayment(fx, address, fx.alice.address, parseUnits("1", 6));
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "TokenBalanceUnreadable")
        .withArgs(address);
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.module.availableAllowance(fx.agent.address, address)).to.equal(fx.usdcLimit.autoPerWindow);
    });

    it('reverts TokenBalanceUnreadable for a "token" without code, recording nothing [test_submit_tokenAddressWithoutCode_revertsTokenBalanceUnreadable]', async function () {
      const fx = await loadFixture(treasuryFixture);
      // An address with no code answers `balanceOf` with success and no data: its balance is unreadable.
      const noCode = fx.bob.address;
      await (await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, noCode, fx.usdcLimit)).wait();
      const intent = await tokenPayment(fx, noCode, fx.alice.address, parseUnits("100", 6));
      // (The probe leaves out the code-less "token": its balances are what cannot be read.)
      const probe = { assets: [ETH, fx.usdcAddress] };
      const before = await treasuryState(fx, probe);
      const allowanceBefore = await fx.module.availableAllowance(fx.agent.address, noCode);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "TokenBalanceUnreadable")
        .withArgs(noCode);
      // Nothing is recorded, charged or consumed.
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
      expect(await fx.module.availableAllowance(fx.agent.address, noCode)).to.equal(allowanceBefore);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.None);
    });
  });
});
