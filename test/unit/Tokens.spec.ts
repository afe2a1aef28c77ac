/**
 * Tokens and execution: non-standard ERC-20s (no return value, false, fee on transfer, moving more than asked), the
 * Safe's real balance check, inner-call failures bubbling, and reentrancy. Each payment is either correct or rejected
 * with a clear error, and the window is never charged wrongly (Promise 1). A reentrant recipient or target can neither
 * spend twice from one window nor reuse a nonce (Promise 2).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Contract, id, parseEther, parseUnits } from "ethers";
import {
  ETH,
  Status,
  buildIntent,
  cosignerSignatures,
  intentId,
  mocksFixture,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  treasuryState,
} from "../fixtures";

type Mocks = Awaited<ReturnType<typeof mocksFixture>>;

const REENTRANT_CALL = id("ReentrancyGuardReentrantCall()").slice(0, 10);
const SINK = "0x0000000000000000000000000000000000000FEE";

/** The state probe for a token: the agent's allowance and nonce, and balances of the Safe, alice and the sink. */
async function tokenState(fx: Mocks, token: Contract) {
  const address = await token.getAddress();
  return treasuryState(fx, { assets: [ETH, address], accounts: [fx.safeAddress, fx.alice.address, SINK] });
}

describe("Tokens and execution", function () {
  describe("non-standard tokens", function () {
    it("test_submit_usdtStyleNoReturnValue_paysAndCharges", async function () {
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

    it("test_submit_tokenReturnsFalse_revertsTokenTransferReturnedFalse", async function () {
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

    it("test_submit_tokenReturnsWellFormedTrue_pays", async function () {
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

    it("test_submit_feeOnTransferDeflationary_chargesWhatLeftTheSafe", async function () {
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

    it("test_submit_feeChargedOnTopOfAmount_revertsBalanceChangeExceedsCharge", async function () {
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

    it("test_submit_tokenMovesMoreThanAsked_revertsBalanceChangeExceedsCharge", async function () {
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

    it("test_submit_tokenBalanceUnreadable_revertsTokenBalanceUnreadable", async function () {
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

    it("test_submit_keyedPaymentThatReverts_bindsNoKey", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.overdrawing;
      const address = await token.getAddress();
      const key = id("invoice-7");
      const intent = await tokenPayment(fx, address, fx.alice.address, parseUnits("250", 6), { idempotencyKey: key });
      await expect(submitSigned(fx, intent)).to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge");
      expect(await fx.module.idempotencyRecord(fx.agent.address, key)).to.deep.equal([
        ethers.ZeroHash,
        ethers.ZeroHash,
      ]);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.None);
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

    it("test_submit_innerCustomError_bubblesWithItsArguments", async function () {
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

    it("test_submit_innerRevertWithoutData_revertsExecutionFailed", async function () {
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

    it("test_submit_innerRevertReason_bubbles", async function () {
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

    it("test_submit_ethSentToNonPayableToken_revertsExecutionFailed", async function () {
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

    it("test_submit_tokenTransferBeyondSafeBalance_bubblesTokenError", async function () {
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

  describe("when the recipient re-enters", function () {
    it("test_submit_reentrantRecipientBubbling_revertsReentrancyGuardAndChargesNothing", async function () {
      const fx = await loadFixture(mocksFixture);
      const value = parseEther("0.5");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value });
      // The inner intent is authentic and would fit the window: only the lock stops it.
      const inner = await buildIntent(fx, { target: fx.reentrantAddress, value, nonce: outer.nonce + 1n });
      const innerCall = fx.module.interface.encodeFunctionData("submit", [inner, await sign(fx.agent, fx, inner)]);
      await fx.reentrant.arm(innerCall, false);
      const probe = { accounts: [fx.safeAddress, fx.reentrantAddress] };
      const before = await treasuryState(fx, probe);
      await expect(submitSigned(fx, outer)).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
      expect(await fx.reentrant.attempts()).to.equal(0n);
    });

    it("test_submit_reentrantRecipientSwallowing_isPaidOnceAndInnerNonceStaysFree", async function () {
      const fx = await loadFixture(mocksFixture);
      const value = parseEther("0.5");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value });
      const inner = await buildIntent(fx, { target: fx.reentrantAddress, value, nonce: outer.nonce + 1n });
      const innerSig = await sign(fx.agent, fx, inner);
      await fx.reentrant.arm(fx.module.interface.encodeFunctionData("submit", [inner, innerSig]), true);
      const tx = submitSigned(fx, outer);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, outer), fx.agent.address, ETH, fx.reentrantAddress, value, false, outer.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.reentrantAddress], [-value, value]);
      await expect(tx).to.emit(fx.reentrant, "Reentered").withArgs(false, REENTRANT_CALL);
      expect(await fx.reentrant.attempts()).to.equal(1n);
      expect(await fx.reentrant.lastRevertData()).to.equal(REENTRANT_CALL);
      // Charged once, one nonce consumed.
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - value);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      // The inner intent was never accepted: it is still a valid, unconsumed intent for its own submission.
      await expect(fx.module.connect(fx.relayer).submit(inner, innerSig)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(
        fx.ethLimit.autoPerWindow - 2n * value,
      );
    });

    it("test_submit_reentrantRecipientReplayingSameIntent_cannotReuseTheNonce", async function () {
      const fx = await loadFixture(mocksFixture);
      const value = parseEther("0.5");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value });
      const outerSig = await sign(fx.agent, fx, outer);
      await fx.reentrant.arm(fx.module.interface.encodeFunctionData("submit", [outer, outerSig]), true);
      await expect(fx.module.connect(fx.relayer).submit(outer, outerSig)).to.changeEtherBalance(
        fx.reentrantAddress,
        value,
      );
      expect(await fx.reentrant.lastRevertData()).to.equal(REENTRANT_CALL);
      await expect(fx.module.connect(fx.relayer).submit(outer, outerSig))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - value);
    });

    it("test_submit_reentrantCallTarget_revertsReentrancyGuard", async function () {
      const fx = await loadFixture(mocksFixture);
      const hook = fx.reentrant.interface.getFunction("hook")!.selector;
      await (await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.reentrantAddress, hook, true);
      const value = parseEther("0.4");
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value, data: hook });
      const inner = await buildIntent(fx, { target: fx.reentrantAddress, value, nonce: outer.nonce + 1n });
      const innerSig = await sign(fx.agent, fx, inner);
      for (const entry of ["submit", "propose"] as const) {
        const call =
          entry === "submit"
            ? fx.module.interface.encodeFunctionData("submit", [inner, innerSig])
            : fx.module.interface.encodeFunctionData("propose", [inner, innerSig]);
        await fx.reentrant.arm(call, false);
        const probe = { accounts: [fx.safeAddress, fx.reentrantAddress] };
        const before = await treasuryState(fx, probe);
        await expect(submitSigned(fx, outer)).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
        expect(await treasuryState(fx, probe)).to.deep.equal(before);
        expect(await fx.module.intentStatus(intentId(fx, inner))).to.equal(Status.None);
      }
    });

    it("test_submit_reentrantRecipientCallingExecuteQueued_cannotRunTheQueuedIntent", async function () {
      const fx = await loadFixture(mocksFixture);
      // A queued 2 ETH payment to the attacker's contract, approved and ready.
      const queued = await buildIntent(fx, { target: fx.reentrantAddress, value: parseEther("2") });
      await expect(submitSigned(fx, queued)).to.emit(fx.module, "IntentQueued");
      await time.increase(3600);
      const queuedId = intentId(fx, queued);
      const sigs = await cosignerSignatures(fx, queuedId, fx.cosigners.slice(0, 2));
      const outer = await buildIntent(fx, { target: fx.reentrantAddress, value: parseEther("0.1") });
      await fx.reentrant.arm(fx.module.interface.encodeFunctionData("executeQueued", [queued, sigs]), false);
      const probe = { accounts: [fx.safeAddress, fx.reentrantAddress] };
      const before = await treasuryState(fx, probe);
      await expect(submitSigned(fx, outer)).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
      expect(await fx.module.intentStatus(queuedId)).to.equal(Status.Queued);
      // Called directly (not re-entered) the same call works: only the lock stopped it.
      await fx.reentrant.disarm();
      await expect(fx.module.connect(fx.relayer).executeQueued(queued, sigs)).to.changeEtherBalance(
        fx.reentrantAddress,
        parseEther("2"),
      );
      expect(await fx.module.intentStatus(queuedId)).to.equal(Status.Executed);
    });
  });
});
