/**
 * Adversarial stories: an agent (stolen or prompt-injected key) tries to get around its spending limits by granting
 * spending rights (approve, increaseAllowance, permit, setApprovalForAll, transferFrom), by disguising a transfer as a
 * call, by leaving an allowance behind, or by getting the Safe to delegatecall.
 * Threat: a stolen or prompt-injected agent key (docs/THREAT-MODEL.md, T-BYPASS, T-DELEGATECALL).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, MaxUint256, concat, encodeBytes32String, parseUnits, solidityPacked } from "ethers";
import { DenyReason, ETH, Status, intentId, transferData, treasuryFixture } from "../fixtures";
import { NothingLostError, TreasuryBook } from "./model";

const GRANTS = new Interface([
  "function approve(address,uint256)",
  "function increaseAllowance(address,uint256)",
  "function permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  "function permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)",
  "function setApprovalForAll(address,bool)",
  "function transferFrom(address,address,uint256)",
  "function transfer(address,uint256)",
]);
const SAFE_SELF = new Interface([
  "function execTransactionFromModule(address,uint256,bytes,uint8) returns (bool)",
  "function enableModule(address)",
  "function changeThreshold(uint256)",
  "function addOwnerWithThreshold(address,uint256)",
  "function setGuard(address)",
]);
const TRANSFER = GRANTS.getFunction("transfer")!.selector;
const APPROVE = GRANTS.getFunction("approve")!.selector;

/** The base treasury plus an NFT held by the Safe, a takeover contract and Safe's MultiSendCallOnly. */
async function bypassFixture() {
  const fx = await treasuryFixture();
  const nft = await ethers.deployContract("AttackNFT");
  await (await nft.mint(fx.safeAddress, 1n)).wait();
  const takeover = await ethers.deployContract("SafeTakeover", [fx.attacker.address]);
  const multiSend = await ethers.deployContract("MultiSendCallOnly");
  return {
    ...fx,
    nft,
    nftAddress: await nft.getAddress(),
    takeover,
    takeoverAddress: await takeover.getAddress(),
    multiSend,
    multiSendAddress: await multiSend.getAddress(),
  };
}

type BypassFx = Awaited<ReturnType<typeof bypassFixture>>;

function openBook(fx: BypassFx, extra: { agent: string; target: string; selector: string }[] = []) {
  return TreasuryBook.open(fx, {
    nfts: [fx.nftAddress],
    spenders: [fx.takeoverAddress, fx.multiSendAddress],
    allowedCalls: [
      { agent: fx.agent.address, target: fx.usdcAddress, selector: TRANSFER },
      { agent: fx.agent.address, target: fx.usdcAddress, selector: APPROVE },
      ...extra,
    ],
  });
}

describe("Scenario: approval and allowance bypass attempts", function () {
  describe("when the agent tries every way of granting spending rights", function () {
    it("test_bypass_approvalLikeCalls_allDeniedAndStrikesFreeze", async function () {
      const fx = await loadFixture(bypassFixture);
      const book = await openBook(fx);
      const a = fx.attacker.address;
      const deadline = 2n ** 40n;
      const attempts: { target: string; data: string }[] = [
        { target: fx.usdcAddress, data: GRANTS.encodeFunctionData("approve", [a, MaxUint256]) },
        { target: fx.usdcAddress, data: GRANTS.encodeFunctionData("increaseAllowance", [a, MaxUint256]) },
        {
          target: fx.usdcAddress,
          data: GRANTS.encodeFunctionData("permit(address,address,uint256,uint256,uint8,bytes32,bytes32)", [
            fx.safeAddress,
            a,
            MaxUint256,
            deadline,
            27,
            encodeBytes32String("r"),
            encodeBytes32String("s"),
          ]),
        },
        {
          target: fx.usdcAddress,
          data: GRANTS.encodeFunctionData("permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", [
            fx.safeAddress,
            a,
            0n,
            deadline,
            true,
            27,
            encodeBytes32String("r"),
            encodeBytes32String("s"),
          ]),
        },
        { target: fx.nftAddress, data: GRANTS.encodeFunctionData("setApprovalForAll", [a, true]) },
        {
          target: fx.usdcAddress,
          data: GRANTS.encodeFunctionData("transferFrom", [fx.safeAddress, a, parseUnits("1000", 6)]),
        },
      ];
      const unfreeze = fx.module.interface.encodeFunctionData("unfreezeAgent", [fx.agent.address]);
      for (let i = 0; i < attempts.length; i++) {
        const intent = await book.intent(attempts[i]);
        const tx = fx.module.connect(fx.relayer).submit(intent, await book.signature(intent));
        await expect(tx)
          .to.emit(fx.module, "IntentDenied")
          .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.ApprovalNotAllowed, intent.rationale);
        expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Denied);
        // maxStrikes is 3: every third probe freezes the agent; the owners unfreeze it to let the story go on.
        if (i % 3 === 2) {
          expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
          const next = await buildFrozenProbe(fx, book);
          await expect(fx.module.connect(fx.relayer).submit(next.intent, next.sig))
            .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
            .withArgs(fx.agent.address);
          await book.asOwners(unfreeze);
        }
      }
      expect(await fx.usdc.allowance(fx.safeAddress, a)).to.equal(0n);
      expect(await fx.nft.isApprovedForAll(fx.safeAddress, a)).to.equal(false);
      await book.assertNothingLost();
    });
  });

  describe("when the owners allowed transfer as a call", function () {
    it("test_bypass_exactTransferThroughAllowedCall_stillChargedAsPayment", async function () {
      const fx = await loadFixture(bypassFixture);
      const m = fx.module.interface;
      await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, fx.usdcAddress, TRANSFER, true]));
      const book = await openBook(fx);
      const amount = parseUnits("1000", 6);
      for (let i = 0; i < 5; i++) {
        const intent = await book.intent({ target: fx.usdcAddress, data: transferData(fx.attacker.address, amount) });
        await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(
            intentId(fx, intent),
            fx.agent.address,
            fx.usdcAddress,
            fx.attacker.address,
            amount,
            false,
            intent.rationale,
          );
        book.pay(fx.usdcAddress, fx.attacker.address, amount);
      }
      // The window is full: the sixth transfer waits for co-signers though `transfer` is an allowed call.
      const sixth = await book.intent({ target: fx.usdcAddress, data: transferData(fx.attacker.address, amount) });
      await expect(fx.module.connect(fx.relayer).submit(sixth, await book.signature(sixth))).to.emit(
        fx.module,
        "IntentQueued",
      );
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      await book.assertNothingLost();
    });

    it("test_bypass_transferWithTrailingByteAsAllowedCall_chargedOrRefused", async function () {
      const fx = await loadFixture(bypassFixture);
      const m = fx.module.interface;
      await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, fx.usdcAddress, TRANSFER, true]));
      const book = await openBook(fx);
      // 100,000 USDC is twice the hard cap. One extra byte after the arguments makes the calldata 69 bytes long,
      // so the module's decoder does not see a token payment, while the token ignores the byte and pays.
      const amount = parseUnits("100000", 6);
      const disguised = concat([transferData(fx.attacker.address, amount), "0x00"]);
      const intent = await book.intent({ target: fx.usdcAddress, data: disguised });
      // v3: a non-canonical transfer is a recorded denial with its strike (never a bare revert, which is free).
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.MalformedCall, intent.rationale);
      // SPEC section 5: a token transfer is always charged as a payment; an allowed call never bypasses limits.
      expect(
        await fx.usdc.balanceOf(fx.attacker.address),
        "transfer disguised as a call moved funds uncharged",
      ).to.equal(0n);
      await book.assertNothingLost();
    });

    it("test_bypass_transferWithTrailingByteWithoutAllowedCall_denied", async function () {
      const fx = await loadFixture(bypassFixture);
      const book = await openBook(fx);
      const disguised = concat([transferData(fx.attacker.address, parseUnits("100000", 6)), "0x00"]);
      const intent = await book.intent({ target: fx.usdcAddress, data: disguised });
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.MalformedCall, intent.rationale);
      await book.assertNothingLost();
    });
  });

  describe("when the owners allowed approve for a router", function () {
    it("test_bypass_leftoverAllowance_flaggedByCheckerUntilRevoked", async function () {
      const fx = await loadFixture(bypassFixture);
      const m = fx.module.interface;
      await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, fx.usdcAddress, APPROVE, true]));
      const book = await openBook(fx);
      // The agent approves the "router" (bob) and never revokes: a standing right to pull funds later.
      const grant = await book.intent({
        target: fx.usdcAddress,
        data: GRANTS.encodeFunctionData("approve", [fx.bob.address, parseUnits("1000", 6)]),
      });
      await (await fx.module.connect(fx.relayer).submit(grant, await book.signature(grant))).wait();
      const caught = await book.checkApprovals().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(caught).to.be.instanceOf(NothingLostError);
      expect((caught as NothingLostError).code).to.equal("LEFTOVER_ALLOWANCE");
      const revoke = await book.intent({
        target: fx.usdcAddress,
        data: GRANTS.encodeFunctionData("approve", [fx.bob.address, 0n]),
      });
      await (await fx.module.connect(fx.relayer).submit(revoke, await book.signature(revoke))).wait();
      await book.assertNothingLost();
    });
  });
});

describe("Scenario: delegatecall attempts", function () {
  it("test_delegatecall_intentsTargetingTheSafe_deniedTargetNotAllowed", async function () {
    const fx = await loadFixture(bypassFixture);
    const book = await openBook(fx);
    const takeoverCall = new Interface(["function takeover()"]).encodeFunctionData("takeover");
    const attempts = [
      SAFE_SELF.encodeFunctionData("execTransactionFromModule", [fx.takeoverAddress, 0n, takeoverCall, 1]),
      SAFE_SELF.encodeFunctionData("enableModule", [fx.attacker.address]),
    ];
    for (const data of attempts) {
      const intent = await book.intent({ target: fx.safeAddress, data });
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.TargetNotAllowed, intent.rationale);
    }
    // Nor can the owners hand the agent the Safe or the module as a call target.
    const reader = fx.module.connect(ethers.provider);
    for (const target of [fx.safeAddress, fx.moduleAddress]) {
      await expect(
        reader.setAllowedCall.staticCall(fx.agent.address, target, "0x610b5925", true, { from: fx.safeAddress }),
      )
        .to.be.revertedWithCustomError(fx.module, "TargetForbidden")
        .withArgs(target);
    }
    expect(await fx.safe.isModuleEnabled(fx.attacker.address)).to.equal(false);
    await book.assertNothingLost();
  });

  it("test_delegatecall_allowedTakeoverCall_runsAsPlainCallSafeStorageUntouched", async function () {
    const fx = await loadFixture(bypassFixture);
    const selector = new Interface(["function takeover()"]).getFunction("takeover")!.selector;
    // An owner mistake: the agent may call a contract that rewrites slot 0 and the threshold slot.
    await fx.asOwners(
      fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, fx.takeoverAddress, selector, true]),
    );
    const book = await openBook(fx, [{ agent: fx.agent.address, target: fx.takeoverAddress, selector }]);
    const slot0 = await ethers.provider.getStorage(fx.safeAddress, 0);
    const intent = await book.intent({ target: fx.takeoverAddress, data: selector });
    // The module asks the Safe for Operation.Call only: the code runs in the target's context, never the Safe's.
    await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
      .to.emit(fx.takeover, "TakeoverRan")
      .withArgs(fx.takeoverAddress, fx.safeAddress);
    expect(await ethers.provider.getStorage(fx.safeAddress, 0)).to.equal(slot0);
    expect(await fx.safe.getThreshold()).to.equal(2n);
    expect(await ethers.provider.getStorage(fx.takeoverAddress, 0)).to.equal(
      ethers.zeroPadValue(fx.attacker.address, 32).toLowerCase(),
    );
    await book.assertNothingLost();
  });

  it("test_delegatecall_allowedMultiSend_batchRunsAsMultiSendAndMovesNothing", async function () {
    const fx = await loadFixture(bypassFixture);
    const selector = fx.multiSend.interface.getFunction("multiSend")!.selector;
    await fx.asOwners(
      fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, fx.multiSendAddress, selector, true]),
    );
    const book = await openBook(fx, [{ agent: fx.agent.address, target: fx.multiSendAddress, selector }]);
    // A batch that would pay the attacker 100,000 USDC if the Safe delegatecalled MultiSend.
    const inner = transferData(fx.attacker.address, parseUnits("100000", 6));
    const packed = solidityPacked(
      ["uint8", "address", "uint256", "uint256", "bytes"],
      [0, fx.usdcAddress, 0, (inner.length - 2) / 2, inner],
    );
    const intent = await book.intent({
      target: fx.multiSendAddress,
      data: fx.multiSend.interface.encodeFunctionData("multiSend", [packed]),
    });
    // Called (not delegatecalled), MultiSend pays from its own empty balance: the token refuses, everything reverts.
    await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
      .to.be.revertedWithCustomError(fx.usdc, "ERC20InsufficientBalance")
      .withArgs(fx.multiSendAddress, 0n, parseUnits("100000", 6));
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
    await book.assertNothingLost();
  });
});

/** An innocuous payment, used to show that a frozen agent is rejected before anything else happens. */
async function buildFrozenProbe(fx: BypassFx, book: TreasuryBook) {
  const intent = await book.intent({ target: fx.bob.address, value: 1n });
  return { intent, sig: await book.signature(intent) };
}
