/**
 * Adversarial stories: the inner call fails or costs on purpose (a reverting recipient, a gas eater, a return-data
 * bomb). A failing inner call must revert the whole submission: nothing charged, nonce not consumed.
 * Threat: a malicious recipient or call target (docs/THREAT-MODEL.md, T-INNER).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, parseEther } from "ethers";
import { DAY, ETH, Status, cosignerSignatures, intentId, treasuryFixture } from "../fixtures";
import { TreasuryBook } from "./model";

const BOMB = new Interface(["function bomb(uint256) returns (bytes)", "function revertBomb(uint256)"]);
const BOMB_SIZE = 200_000n;

/** The base treasury plus the hazardous recipients; the agent may call the return bomb. */
async function innerCallsFixture() {
  const fx = await treasuryFixture();
  const reverting = await ethers.deployContract("RevertingRecipient");
  const eater = await ethers.deployContract("GasEater");
  const bomb = await ethers.deployContract("ReturnBomb");
  const bombAddress = await bomb.getAddress();
  const m = fx.module.interface;
  for (const fn of ["bomb", "revertBomb"]) {
    await fx.asOwners(
      m.encodeFunctionData("setAllowedCall", [fx.agent.address, bombAddress, BOMB.getFunction(fn)!.selector, true]),
    );
  }
  return {
    ...fx,
    reverting,
    revertingAddress: await reverting.getAddress(),
    eater,
    eaterAddress: await eater.getAddress(),
    bomb,
    bombAddress,
  };
}

type InnerFx = Awaited<ReturnType<typeof innerCallsFixture>>;

function openBook(fx: InnerFx) {
  return TreasuryBook.open(fx, {
    accounts: { reverting: fx.revertingAddress, eater: fx.eaterAddress, bomb: fx.bombAddress },
    allowedCalls: ["bomb", "revertBomb"].map((fn) => ({
      agent: fx.agent.address,
      target: fx.bombAddress,
      selector: BOMB.getFunction(fn)!.selector,
    })),
  });
}

async function expectUntouched(fx: InnerFx) {
  expect(await fx.module.getNonce(fx.agent.address, 0), "nonce not consumed").to.equal(0n);
  expect(await fx.module.availableAllowance(fx.agent.address, ETH), "nothing charged").to.equal(
    fx.ethLimit.autoPerWindow,
  );
}

describe("Scenario: inner-call failures", function () {
  describe("when the recipient reverts", function () {
    it("test_inner_revertingRecipient_bubblesErrorAndChargesNothing", async function () {
      const fx = await loadFixture(innerCallsFixture);
      const book = await openBook(fx);
      const value = parseEther("0.5");
      const intent = await book.intent({ target: fx.revertingAddress, value });
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
        .to.be.revertedWithCustomError(fx.reverting, "RecipientRefuses")
        .withArgs(value);
      await expectUntouched(fx);
      await book.assertNothingLost();
    });

    it("test_inner_revertingRecipientOfQueuedIntent_staysQueuedForRetryOrCancel", async function () {
      const fx = await loadFixture(innerCallsFixture);
      const book = await openBook(fx);
      const value = parseEther("2");
      const intent = await book.intent({
        target: fx.revertingAddress,
        value,
        validUntil: BigInt(await time.latest()) + BigInt(DAY),
      });
      const id_ = intentId(fx, intent);
      await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
      await time.increase(3600);
      const sigs = await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2));
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, sigs))
        .to.be.revertedWithCustomError(fx.reverting, "RecipientRefuses")
        .withArgs(value);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued);
      await (await fx.module.connect(fx.cosigners[0]).cancel(id_)).wait();
      await book.assertNothingLost();
    });
  });

  describe("when the recipient eats all the gas", function () {
    it("test_inner_gasEater_revertsExecutionFailedWithinBlockGasLimit", async function () {
      const fx = await loadFixture(innerCallsFixture);
      const book = await openBook(fx);
      const intent = await book.intent({ target: fx.eaterAddress, value: parseEther("0.1") });
      const sig = await book.signature(intent);
      // The 1/64 of gas the EVM keeps back lets the module revert cleanly after its inner call ran dry.
      await expect(fx.module.connect(fx.relayer).submit(intent, sig, { gasLimit: 5_000_000 }))
        .to.be.revertedWithCustomError(fx.module, "ExecutionFailed")
        .withArgs(fx.eaterAddress);
      await expectUntouched(fx);
      await book.assertNothingLost();
    });
  });

  describe("when the call target answers with a return-data bomb", function () {
    it("test_inner_hugeReturnData_executesWithBoundedGas", async function () {
      const fx = await loadFixture(innerCallsFixture);
      const book = await openBook(fx);
      const intent = await book.intent({ target: fx.bombAddress, data: BOMB.encodeFunctionData("bomb", [BOMB_SIZE]) });
      const receipt = await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
      // 200 kB copied through the Safe and the module costs gas (paid by the relayer), never funds.
      expect(receipt!.gasUsed).to.be.lessThan(5_000_000n);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      await book.assertNothingLost();
    });

    it("test_inner_hugeRevertData_bubbledAndNothingConsumed", async function () {
      const fx = await loadFixture(innerCallsFixture);
      const book = await openBook(fx);
      const intent = await book.intent({
        target: fx.bombAddress,
        data: BOMB.encodeFunctionData("revertBomb", [BOMB_SIZE]),
      });
      const sig = await book.signature(intent);
      const error = await fx.module
        .connect(fx.relayer)
        .submit.staticCall(intent, sig)
        .then(
          () => undefined,
          (e: { data?: string }) => e,
        );
      expect(error?.data?.length, "the inner revert data is bubbled whole").to.equal(2 + 2 * Number(BOMB_SIZE));
      await expect(fx.module.connect(fx.relayer).submit(intent, sig, { gasLimit: 10_000_000 })).to.be.reverted;
      await expectUntouched(fx);
      await book.assertNothingLost();
    });
  });
});
