/**
 * Adversarial stories: tokens that do not behave like ERC-20 (no return value, false return, fee on transfer,
 * rebasing, blocklists, pauses, hostile overdraws, unreadable balances) and ETH forced into the Safe.
 * Threat: a malicious or non-standard token (docs/THREAT-MODEL.md, T-TOKEN).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Contract, parseEther, parseUnits } from "ethers";
import { DAY, ETH, intentId, transferData, treasuryFixture } from "../fixtures";
import { TreasuryBook, forceSend } from "./model";

const SINK = "0x0000000000000000000000000000000000000FEE";

function limit(decimals: number) {
  return {
    autoPerTx: parseUnits("1000", decimals),
    autoPerWindow: parseUnits("5000", decimals),
    window: BigInt(DAY),
    escalatedPerTx: parseUnits("50000", decimals),
  };
}

/** The base treasury holding 1,000,000 of each hostile token, with the agent allowed to pay each of them. */
async function hostileTokensFixture() {
  const fx = await treasuryFixture();
  const deploy = async (name: string, args: unknown[], decimals: number) => {
    const token = await ethers.deployContract(name, args);
    const address = await token.getAddress();
    await (await (token as unknown as Contract).mint(fx.safeAddress, parseUnits("1000000", decimals))).wait();
    await fx.asOwners(
      fx.module.interface.encodeFunctionData("setAssetLimit", [fx.agent.address, address, limit(decimals)]),
    );
    return { token: token as unknown as Contract, address };
  };
  const noReturn = await deploy("NoReturnToken", [], 6);
  const falseReturn = await deploy("FalseReturningToken", [false], 6);
  const falseButMoves = await deploy("FalseReturningToken", [true], 6);
  const oddReturn = await deploy("OddReturnToken", [2n], 6);
  const deflationary = await deploy("FeeOnTransferToken", [100n, false], 6);
  const feeOnTop = await deploy("FeeOnTransferToken", [100n, true], 6);
  const overdraw = await deploy("OverdrawingToken", [parseUnits("5", 6)], 6);
  const rebasing = await deploy("RebasingToken", [], 18);
  const blocklist = await deploy("BlocklistToken", [], 6);
  const pausable = await deploy("PausableToken", [], 18);
  const payable = await deploy("PayableToken", [], 6);
  const unreadable = await ethers.deployContract("UnreadableBalanceToken");
  const unreadableAddress = await unreadable.getAddress();
  await fx.asOwners(
    fx.module.interface.encodeFunctionData("setAssetLimit", [fx.agent.address, unreadableAddress, limit(6)]),
  );
  return {
    ...fx,
    noReturn,
    falseReturn,
    falseButMoves,
    oddReturn,
    deflationary,
    feeOnTop,
    overdraw,
    rebasing,
    blocklist,
    pausable,
    payable,
    unreadableAddress,
  };
}

type HostileFx = Awaited<ReturnType<typeof hostileTokensFixture>>;

async function openBook(fx: HostileFx) {
  const assets = [
    fx.noReturn,
    fx.falseReturn,
    fx.falseButMoves,
    fx.oddReturn,
    fx.deflationary,
    fx.feeOnTop,
    fx.overdraw,
    fx.rebasing,
    fx.blocklist,
    fx.pausable,
    fx.payable,
  ].map((t) => t.address);
  return TreasuryBook.open(fx, { assets, accounts: { sink: SINK, payableToken: fx.payable.address } });
}

/** Builds, signs and submits a token payment through the relayer. */
async function pay(fx: HostileFx, book: TreasuryBook, token: string, to: string, amount: bigint, value = 0n) {
  const intent = await book.intent({ target: token, data: transferData(to, amount), value });
  return { intent, tx: fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)) };
}

describe("Scenario: non-standard and hostile ERC-20s", function () {
  describe("when the token returns nothing (USDT-style)", function () {
    it("test_tokenPayment_noReturnValue_acceptedAndCharged", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseUnits("500", 6);
      const { intent, tx } = await pay(fx, book, fx.noReturn.address, fx.alice.address, amount);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.agent.address,
          fx.noReturn.address,
          fx.alice.address,
          amount,
          false,
          intent.rationale,
        );
      book.pay(fx.noReturn.address, fx.alice.address, amount);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.noReturn.address)).to.equal(parseUnits("4500", 6));
      await book.assertNothingLost();
    });
  });

  describe("when the token answers false or garbage", function () {
    it("test_tokenPayment_falseOrMalformedReturn_revertsAndKeepsNonce", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseUnits("500", 6);
      // Including the token that moves the funds and then says false: the revert undoes the move.
      for (const token of [fx.falseReturn, fx.falseButMoves, fx.oddReturn]) {
        const { tx } = await pay(fx, book, token.address, fx.alice.address, amount);
        await expect(tx).to.be.revertedWithCustomError(fx.module, "TokenTransferReturnedFalse").withArgs(token.address);
      }
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      await book.assertNothingLost();
    });
  });

  describe("when the token takes a fee", function () {
    it("test_tokenPayment_deflationaryFee_chargedWhatLeftTheSafe", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseUnits("1000", 6);
      const fee = amount / 100n;
      await (
        await pay(fx, book, fx.deflationary.address, fx.alice.address, amount)
      ).tx;
      // The Safe lost exactly what was charged; alice got 1% less; the fee went to the token's sink.
      book.pay(fx.deflationary.address, fx.alice.address, amount, amount - fee);
      book.credit(fx.deflationary.address, SINK, fee);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.deflationary.address)).to.equal(
        parseUnits("4000", 6),
      );
      await book.assertNothingLost();
    });

    it("test_tokenPayment_feeOnTopOrOverdraw_revertsBalanceChangeExceedsCharge", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseUnits("1000", 6);
      const onTop = await pay(fx, book, fx.feeOnTop.address, fx.alice.address, amount);
      await expect(onTop.tx)
        .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
        .withArgs(fx.feeOnTop.address, amount, amount + amount / 100n);
      const overdraw = await pay(fx, book, fx.overdraw.address, fx.alice.address, amount);
      await expect(overdraw.tx)
        .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
        .withArgs(fx.overdraw.address, amount, amount + parseUnits("5", 6));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      await book.assertNothingLost();
    });
  });

  describe("when the token rebases", function () {
    it("test_tokenPayment_rebaseBetweenPayments_windowCountsNominalAmounts", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const token = fx.rebasing.address;
      const amount = parseEther("1000");
      await (
        await pay(fx, book, token, fx.alice.address, amount)
      ).tx;
      book.pay(token, fx.alice.address, amount);
      // The issuer halves every balance (a negative rebase): the treasury's loss is the token's, not the module's.
      const balance = (who: string): Promise<bigint> => fx.rebasing.token.balanceOf(who);
      const safeBefore = await balance(fx.safeAddress);
      const aliceBefore = await balance(fx.alice.address);
      await (await fx.rebasing.token.rebase(parseEther("0.5"))).wait();
      book.credit(token, fx.safeAddress, (await balance(fx.safeAddress)) - safeBefore);
      book.credit(token, fx.alice.address, (await balance(fx.alice.address)) - aliceBefore);
      // The window still counts the 1,000 tokens paid, and the next payment is charged at face value.
      expect(await fx.module.availableAllowance(fx.agent.address, token)).to.equal(parseEther("4000"));
      await (
        await pay(fx, book, token, fx.alice.address, amount)
      ).tx;
      book.pay(token, fx.alice.address, amount);
      expect(await fx.module.availableAllowance(fx.agent.address, token)).to.equal(parseEther("3000"));
      await book.assertNothingLost();
    });

    it("test_tokenPayment_negativeRebaseInsideTransfer_reverts", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const token = fx.rebasing.address;
      const amount = parseEther("1000");
      // The token shrinks every balance by 10% inside transfer: the Safe's balance falls by far more than 1,000.
      await (await fx.rebasing.token.setRebaseDuringTransfer(parseEther("0.9"))).wait();
      const { tx } = await pay(fx, book, token, fx.alice.address, amount);
      await expect(tx).to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge");
      expect(await fx.rebasing.token.index()).to.equal(parseEther("1"));
      // A positive rebase inside transfer leaves the Safe richer than charged: accepted.
      await (await fx.rebasing.token.setRebaseDuringTransfer(parseEther("1.1"))).wait();
      const balance = (who: string): Promise<bigint> => fx.rebasing.token.balanceOf(who);
      const safeBefore = await balance(fx.safeAddress);
      const second = await pay(fx, book, token, fx.alice.address, amount);
      await (await second.tx).wait();
      const safeAfter = await balance(fx.safeAddress);
      // Alice held none of this token before: all she holds now (1,000 rebased by 1.1) came from this payment.
      book.pay(token, fx.alice.address, amount, await balance(fx.alice.address));
      book.credit(token, fx.safeAddress, safeAfter - safeBefore + amount);
      expect(safeAfter).to.be.greaterThan(safeBefore - amount);
      await book.assertNothingLost();
    });
  });

  describe("when the token blocklists or pauses", function () {
    it("test_tokenPayment_blocklistedRecipient_revertsAndAgentPaysAnother", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseUnits("700", 6);
      await (await fx.blocklist.token.setBlocked(fx.alice.address, true)).wait();
      const blocked = await pay(fx, book, fx.blocklist.address, fx.alice.address, amount);
      await expect(blocked.tx)
        .to.be.revertedWithCustomError(fx.blocklist.token, "BlocklistTokenBlocked")
        .withArgs(fx.alice.address);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      const other = await pay(fx, book, fx.blocklist.address, fx.bob.address, amount);
      await (await other.tx).wait();
      book.pay(fx.blocklist.address, fx.bob.address, amount);
      // If the issuer blocklists the Safe itself, no agent payment can leave; nothing is charged.
      await (await fx.blocklist.token.setBlocked(fx.safeAddress, true)).wait();
      const frozenOut = await pay(fx, book, fx.blocklist.address, fx.bob.address, amount);
      await expect(frozenOut.tx)
        .to.be.revertedWithCustomError(fx.blocklist.token, "BlocklistTokenBlocked")
        .withArgs(fx.safeAddress);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.blocklist.address)).to.equal(
        parseUnits("4300", 6),
      );
      await book.assertNothingLost();
    });

    it("test_tokenPayment_pausedToken_revertsThenSameSignatureWorksAfterUnpause", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseEther("600");
      await (await fx.pausable.token.setPaused(true)).wait();
      const intent = await book.intent({ target: fx.pausable.address, data: transferData(fx.alice.address, amount) });
      const sig = await book.signature(intent);
      await expect(fx.module.connect(fx.relayer).submit(intent, sig)).to.be.revertedWithCustomError(
        fx.pausable.token,
        "PausableTokenPaused",
      );
      await (await fx.pausable.token.setPaused(false)).wait();
      await expect(fx.module.connect(fx.relayer).submit(intent, sig)).to.emit(fx.module, "IntentExecuted");
      book.pay(fx.pausable.address, fx.alice.address, amount);
      await book.assertNothingLost();
    });
  });

  describe("when the Safe's balance cannot be read", function () {
    it("test_tokenPayment_unreadableBalance_revertsTokenBalanceUnreadable", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const intent = await book.intent({ target: fx.unreadableAddress, data: transferData(fx.alice.address, 1n) });
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
        .to.be.revertedWithCustomError(fx.module, "TokenBalanceUnreadable")
        .withArgs(fx.unreadableAddress);
      await book.assertNothingLost();
    });
  });

  describe("when ETH rides along a token payment", function () {
    it("test_tokenPayment_withEthValue_chargesBothWindows", async function () {
      const fx = await loadFixture(hostileTokensFixture);
      const book = await openBook(fx);
      const amount = parseUnits("100", 6);
      const eth = parseEther("0.5");
      await (await (await pay(fx, book, fx.payable.address, fx.alice.address, amount, eth)).tx).wait();
      book.pay(fx.payable.address, fx.alice.address, amount);
      book.pay(ETH, fx.payable.address, eth);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - eth);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.payable.address)).to.equal(parseUnits("4900", 6));
      await book.assertNothingLost();
    });
  });
});

describe("Scenario: forced ETH", function () {
  it("test_forcedEth_selfdestructIntoSafe_accountingStaysExact", async function () {
    const fx = await loadFixture(hostileTokensFixture);
    const book = await openBook(fx);
    // The attacker force-feeds 5 ETH with a contract that self-destructs in its constructor (no receive runs).
    const forced = parseEther("5");
    await forceSend(fx.attacker, fx.safeAddress, forced);
    book.credit(ETH, fx.safeAddress, forced);
    // The module charges windows by intent, not by balance: the extra ETH buys the agent nothing.
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
    const amount = parseEther("1");
    for (let i = 0; i < 3; i++) {
      const intent = await book.intent({ target: fx.bob.address, value: amount });
      await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
      book.pay(ETH, fx.bob.address, amount);
    }
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
    // A fourth auto payment does not fit: it waits for co-signers instead of spending the forced ETH.
    const fourth = await book.intent({ target: fx.bob.address, value: amount });
    await expect(fx.module.connect(fx.relayer).submit(fourth, await book.signature(fourth))).to.emit(
      fx.module,
      "IntentQueued",
    );
    await book.assertNothingLost();
  });
});
