/**
 * Adversarial stories: a recipient re-enters the module from every callback a payment can trigger (ETH receive,
 * ERC-777 tokensReceived, ERC-721 onERC721Received, ERC-1155 onERC1155Received), or calls the Safe directly.
 * Threat: a malicious recipient or call target (docs/THREAT-MODEL.md, T-REENTRY).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, encodeBytes32String, id, parseEther, parseUnits } from "ethers";
import { DAY, ETH, Status, cosignerSignatures, intentId, transferData, treasuryFixture } from "../fixtures";
import { TreasuryBook } from "./model";

const REENTRANT_CALL = id("ReentrancyGuardReentrantCall()").slice(0, 10);
const NFT = new Interface([
  "function safeTransferFrom(address,address,uint256)",
  "function safeTransferFrom(address,address,uint256,uint256,bytes)",
]);
const SAFE_TRANSFER_721 = NFT.getFunction("safeTransferFrom(address,address,uint256)")!.selector;
const SAFE_TRANSFER_1155 = NFT.getFunction("safeTransferFrom(address,address,uint256,uint256,bytes)")!.selector;
const SAFE_MODULE = new Interface(["function execTransactionFromModule(address,uint256,bytes,uint8) returns (bool)"]);

/** The base treasury plus a hook recipient, an ERC-777-style token, an ERC-721 and an ERC-1155 held by the Safe. */
async function hooksFixture() {
  const fx = await treasuryFixture();
  const hook = await ethers.deployContract("HookReentrant");
  const hookToken = await ethers.deployContract("HookToken");
  const nft = await ethers.deployContract("AttackNFT");
  const multi = await ethers.deployContract("AttackMultiToken");
  const [hookAddress, hookTokenAddress, nftAddress, multiAddress] = await Promise.all(
    [hook, hookToken, nft, multi].map((c) => c.getAddress()),
  );
  await (await hookToken.mint(fx.safeAddress, parseEther("1000000"))).wait();
  await (await nft.mint(fx.safeAddress, 1n)).wait();
  await (await nft.mint(fx.safeAddress, 2n)).wait();
  await (await multi.mint(fx.safeAddress, 7n, 100n)).wait();
  const m = fx.module.interface;
  const hookLimit = {
    autoPerTx: parseEther("1000"),
    autoPerWindow: parseEther("5000"),
    window: BigInt(DAY),
    escalatedPerTx: parseEther("50000"),
  };
  await fx.asOwners(m.encodeFunctionData("setAssetLimit", [fx.agent.address, hookTokenAddress, hookLimit]));
  // The owners let the agent move NFTs: a capability they chose, not a spend the windows can measure.
  await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, nftAddress, SAFE_TRANSFER_721, true]));
  await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, multiAddress, SAFE_TRANSFER_1155, true]));
  return { ...fx, hook, hookToken, nft, multi, hookAddress, hookTokenAddress, nftAddress, multiAddress };
}

type HooksFx = Awaited<ReturnType<typeof hooksFixture>>;

async function openBook(fx: HooksFx) {
  return TreasuryBook.open(fx, {
    assets: [fx.hookTokenAddress],
    attackers: [fx.attacker.address, fx.hookAddress],
    nfts: [fx.nftAddress, fx.multiAddress],
    allowedCalls: [
      { agent: fx.agent.address, target: fx.nftAddress, selector: SAFE_TRANSFER_721 },
      { agent: fx.agent.address, target: fx.multiAddress, selector: SAFE_TRANSFER_1155 },
    ],
  });
}

/** A second payment to the attacker, signed in advance, for the hook to submit from inside the first. */
async function armSecondPayment(
  fx: HooksFx,
  book: TreasuryBook,
  fields: Parameters<TreasuryBook["intent"]>[0],
  bubble: boolean,
) {
  const second = await book.intent({ ...fields, nonce: 1n });
  const call = fx.module.interface.encodeFunctionData("submit", [second, await book.signature(second)]);
  await (await fx.hook.arm(fx.moduleAddress, call, bubble)).wait();
  return second;
}

describe("Scenario: re-entrancy through payment callbacks", function () {
  describe("when an ETH recipient re-enters submit from receive()", function () {
    it("test_reenter_ethReceiveSwallowed_secondPaymentBlockedFirstPaidOnce", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      const amount = parseEther("0.5");
      await armSecondPayment(fx, book, { target: fx.hookAddress, value: amount }, false);
      const first = await book.intent({ target: fx.hookAddress, value: amount });
      await expect(fx.module.connect(fx.relayer).submit(first, await book.signature(first)))
        .to.emit(fx.hook, "Reentered")
        .withArgs(encodeBytes32String("receive"), false, REENTRANT_CALL);
      book.pay(ETH, fx.hookAddress, amount);
      expect(await fx.hook.lastRevertData()).to.equal(REENTRANT_CALL);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - amount);
      await book.assertNothingLost();
    });

    it("test_reenter_ethReceiveBubbled_wholePaymentReverts", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      const amount = parseEther("0.5");
      await armSecondPayment(fx, book, { target: fx.hookAddress, value: amount }, true);
      const first = await book.intent({ target: fx.hookAddress, value: amount });
      await expect(
        fx.module.connect(fx.relayer).submit(first, await book.signature(first)),
      ).to.be.revertedWithCustomError(fx.module, "ReentrancyGuardReentrantCall");
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      await book.assertNothingLost();
    });

    it("test_reenter_executeQueuedFromReceive_blockedAndQueuedIntentRunsOnce", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      // A legitimate 2 ETH payment to bob waits for co-signers; it is ready and approved.
      const big = parseEther("2");
      const queued = await book.intent({
        target: fx.bob.address,
        value: big,
        validUntil: BigInt(await time.latest()) + BigInt(DAY),
      });
      const qid = intentId(fx, queued);
      await (await fx.module.connect(fx.relayer).submit(queued, await book.signature(queued))).wait();
      expect(await fx.module.intentStatus(qid)).to.equal(Status.Queued);
      await time.increase(3600);
      const sigs = await cosignerSignatures(fx, qid, fx.cosigners.slice(0, 2));
      // The hook, paid by a small auto payment, tries to run the queued intent from inside that payment.
      await (
        await fx.hook.arm(
          fx.moduleAddress,
          fx.module.interface.encodeFunctionData("executeQueued", [queued, sigs]),
          false,
        )
      ).wait();
      const small = parseEther("0.1");
      const pay = await book.intent({ target: fx.hookAddress, value: small });
      await (await fx.module.connect(fx.relayer).submit(pay, await book.signature(pay))).wait();
      book.pay(ETH, fx.hookAddress, small);
      expect(await fx.hook.lastRevertData()).to.equal(REENTRANT_CALL);
      expect(await fx.module.intentStatus(qid)).to.equal(Status.Queued);
      await expect(fx.module.connect(fx.relayer).executeQueued(queued, sigs))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(qid, fx.agent.address, ETH, fx.bob.address, big, true, queued.rationale);
      book.pay(ETH, fx.bob.address, big);
      await expect(fx.module.connect(fx.relayer).executeQueued(queued, sigs))
        .to.be.revertedWithCustomError(fx.module, "IntentUnexpectedStatus")
        .withArgs(qid, Status.Executed, 1n << Status.Queued);
      await book.assertNothingLost();
    });

    it("test_reenter_recipientCallsSafeDirectly_refusedAsNotAModule", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      // From inside its payment, the recipient asks the Safe itself to pay it 50 ETH as if it were a module.
      const drain = SAFE_MODULE.encodeFunctionData("execTransactionFromModule", [
        fx.hookAddress,
        parseEther("50"),
        "0x",
        0,
      ]);
      await (await fx.hook.arm(fx.safeAddress, drain, false)).wait();
      const amount = parseEther("0.2");
      const pay = await book.intent({ target: fx.hookAddress, value: amount });
      await (await fx.module.connect(fx.relayer).submit(pay, await book.signature(pay))).wait();
      book.pay(ETH, fx.hookAddress, amount);
      expect(await fx.hook.lastSucceeded()).to.equal(false);
      // Safe 1.5.0 answers GS104 ("method can only be called from an enabled module").
      const reason = new Interface(["function Error(string)"]).decodeFunctionData(
        "Error",
        await fx.hook.lastRevertData(),
      )[0];
      expect(reason).to.equal("GS104");
      await book.assertNothingLost();
    });
  });

  describe("when an ERC-777-style token calls the recipient's tokensReceived", function () {
    it("test_reenter_tokensReceivedHook_secondPaymentBlocked", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      const amount = parseEther("800");
      await armSecondPayment(
        fx,
        book,
        { target: fx.hookTokenAddress, data: transferData(fx.hookAddress, amount) },
        false,
      );
      const first = await book.intent({ target: fx.hookTokenAddress, data: transferData(fx.hookAddress, amount) });
      await expect(fx.module.connect(fx.relayer).submit(first, await book.signature(first)))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, first),
          fx.agent.address,
          fx.hookTokenAddress,
          fx.hookAddress,
          amount,
          false,
          first.rationale,
        );
      book.pay(fx.hookTokenAddress, fx.hookAddress, amount);
      expect(await fx.hook.lastHook()).to.equal(encodeBytes32String("tokensReceived"));
      expect(await fx.hook.attempts()).to.equal(1n);
      expect(await fx.hook.lastRevertData()).to.equal(REENTRANT_CALL);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      await book.assertNothingLost();
    });
  });

  describe("when an NFT recipient re-enters from onERC721Received / onERC1155Received", function () {
    it("test_reenter_erc721ReceiverHook_blockedAndOnlyTheOneNftMoves", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      const steal = NFT.encodeFunctionData("safeTransferFrom(address,address,uint256)", [
        fx.safeAddress,
        fx.hookAddress,
        2n,
      ]);
      await armSecondPayment(fx, book, { target: fx.nftAddress, data: steal }, false);
      const give = NFT.encodeFunctionData("safeTransferFrom(address,address,uint256)", [
        fx.safeAddress,
        fx.hookAddress,
        1n,
      ]);
      const first = await book.intent({ target: fx.nftAddress, data: give });
      await (await fx.module.connect(fx.relayer).submit(first, await book.signature(first))).wait();
      expect(await fx.nft.ownerOf(1n)).to.equal(fx.hookAddress);
      expect(await fx.nft.ownerOf(2n)).to.equal(fx.safeAddress);
      expect(await fx.hook.lastHook()).to.equal(encodeBytes32String("onERC721Received"));
      expect(await fx.hook.lastRevertData()).to.equal(REENTRANT_CALL);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      await book.assertNothingLost();
    });

    it("test_reenter_erc1155ReceiverHook_blockedAndOnlyTheAskedAmountMoves", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      const move = (amount: bigint) =>
        NFT.encodeFunctionData("safeTransferFrom(address,address,uint256,uint256,bytes)", [
          fx.safeAddress,
          fx.hookAddress,
          7n,
          amount,
          "0x",
        ]);
      await armSecondPayment(fx, book, { target: fx.multiAddress, data: move(90n) }, false);
      const first = await book.intent({ target: fx.multiAddress, data: move(10n) });
      await (await fx.module.connect(fx.relayer).submit(first, await book.signature(first))).wait();
      expect(await fx.multi.balanceOf(fx.hookAddress, 7n)).to.equal(10n);
      expect(await fx.multi.balanceOf(fx.safeAddress, 7n)).to.equal(90n);
      expect(await fx.hook.lastHook()).to.equal(encodeBytes32String("onERC1155Received"));
      expect(await fx.hook.lastRevertData()).to.equal(REENTRANT_CALL);
      await book.assertNothingLost();
    });
  });

  describe("when the hook recipient is paid in USDC (no hook runs)", function () {
    it("test_reenter_plainErc20Payment_noCallbackNoReentry", async function () {
      const fx = await loadFixture(hooksFixture);
      const book = await openBook(fx);
      const amount = parseUnits("900", 6);
      await armSecondPayment(fx, book, { target: fx.usdcAddress, data: transferData(fx.hookAddress, amount) }, false);
      const first = await book.intent({ target: fx.usdcAddress, data: transferData(fx.hookAddress, amount) });
      await (await fx.module.connect(fx.relayer).submit(first, await book.signature(first))).wait();
      book.pay(fx.usdcAddress, fx.hookAddress, amount);
      expect(await fx.hook.attempts()).to.equal(0n);
      await book.assertNothingLost();
    });
  });
});
