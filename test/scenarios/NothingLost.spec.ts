/**
 * The "nothing lost" checker must be able to fail: each story below breaks one of its rules on purpose and expects
 * the matching NothingLostError. Without these, a checker that always passes would make every scenario vacuous.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import { ETH, buildIntent, impersonate, sign, treasuryFixture } from "../fixtures";
import { NothingLostError, TreasuryBook } from "./model";

async function failure(check: Promise<void>): Promise<string> {
  const caught = await check.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(caught, "the checker should have failed").to.be.instanceOf(NothingLostError);
  return (caught as NothingLostError).code;
}

describe("The nothing-lost checker", function () {
  it("test_checker_undeclaredPaymentToAttacker_flagged", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const intent = await book.intent({ target: fx.attacker.address, value: parseEther("0.5") });
    await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
    // The story "forgot" to authorise the payment: the Safe's balance no longer matches.
    expect(await failure(book.checkBalances())).to.equal("BALANCE_MISMATCH");
    book.pay(ETH, fx.attacker.address, parseEther("0.5"));
    await book.checkBalances();
  });

  it("test_checker_configChangedOutsideOwnerTransaction_flagged", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    // Changing the configuration behind the book's back (here by impersonating the Safe) is caught.
    const safe = await impersonate(fx.safeAddress);
    await (await fx.module.connect(safe).setGuardian(fx.attacker.address, true)).wait();
    expect(await failure(book.checkConfiguration())).to.equal("CONFIG_CHANGED");
  });

  it("test_checker_intentTheStoryNeverBuilt_flagged", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const stray = await buildIntent(fx, { target: fx.usdcAddress, data: "0x", value: 0n });
    const transfer = {
      ...stray,
      data: new ethers.Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [
        fx.bob.address,
        parseUnits("1", 6),
      ]),
    };
    await (await fx.module.connect(fx.relayer).submit(transfer, await sign(fx.agent, fx, transfer))).wait();
    book.pay(fx.usdcAddress, fx.bob.address, parseUnits("1", 6));
    expect(await failure(book.checkIntents())).to.equal("UNKNOWN_INTENT");
  });
});
