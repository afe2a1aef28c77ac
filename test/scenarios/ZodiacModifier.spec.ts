/**
 * Finding R4 (low) of the v3 review: the module behind a Zodiac modifier. A DAO that already runs a Zodiac modifier
 * (Roles, Delay) in front of its Safe wants the agents' payments to pass through it too, so the owners point the
 * module's `target()` at the modifier (Zodiac's convention: `avatar()` holds the funds, `target()` receives the
 * exec call). Three things could go wrong, and each is tried here:
 * 1. the payment does not really go through the modifier, or someone other than the Safe pays;
 * 2. a modifier (compromised or buggy) takes more from the Safe than the intent was charged: the module would not
 *    notice if it read the balance of the modifier, which holds nothing;
 * 3. the agent calls the modifier itself (enableModule, setTarget) to get a path around the policy.
 * The chain: Safe <- Zodiac modifier (a module of the Safe) <- AgentTreasuryModule (a module of the modifier only).
 * The forwarding modifier is Zodiac's own TestModifier from @gnosis-guild/zodiac 4.2.1, compiled from node_modules
 * (contracts/test/ZodiacModifiers.sol); the hostile one is built on Zodiac's `Modifier` base.
 * Threat: a malicious or faulty exec target (docs/THREAT-MODEL.md, T-ZODIAC).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Contract, id, parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  Status,
  Treasury,
  agentConfig,
  buildIntent,
  cosignerSignatures,
  intentId,
  moduleAsSafe,
  sign,
  transferData,
  treasuryFixture,
} from "../fixtures";
import { execSafeCall } from "../../sdk/safe";
import { TreasuryBook } from "./model";

const SENTINEL = "0x0000000000000000000000000000000000000001";
const SKIM = 1_000_000n; // what the hostile modifier takes on top: 1 USDC, or 1,000,000 wei
const SAFE_ETH = parseEther("100");
const SAFE_USDC = parseUnits("1000000", 6);

/** A call from the Safe to `to`, signed by two of its three owners. */
async function asSafe(fx: Treasury, to: string, data: string) {
  return execSafeCall(fx.safe, fx.ownerSigners, fx.deployer, to, data);
}

/**
 * Puts `modifier` between the module and the Safe with real owners-signed Safe transactions: the Safe enables the
 * modifier as a module and disables the agents' module (which then reaches the Safe only through the modifier); the
 * modifier, owned by the Safe, enables the agents' module; the module's `target()` becomes the modifier.
 */
async function installModifier(fx: Treasury, modifier: Contract): Promise<string> {
  const modifierAddress = await modifier.getAddress();
  const safe = fx.infra.singleton.interface;
  await (await modifier.connect(fx.deployer).getFunction("transferOwnership")(fx.safeAddress)).wait();
  await asSafe(fx, fx.safeAddress, safe.encodeFunctionData("enableModule", [modifierAddress]));
  // Safe's module list is linked, newest first: modifier -> module -> sentinel.
  await asSafe(fx, fx.safeAddress, safe.encodeFunctionData("disableModule", [modifierAddress, fx.moduleAddress]));
  await asSafe(fx, modifierAddress, modifier.interface.encodeFunctionData("enableModule", [fx.moduleAddress]));
  await expect(asSafe(fx, fx.moduleAddress, fx.module.interface.encodeFunctionData("setTarget", [modifierAddress])))
    .to.emit(fx.module, "TargetSet")
    .withArgs(fx.safeAddress, modifierAddress);
  expect(await fx.module.avatar()).to.equal(fx.safeAddress);
  expect(await fx.module.getFunction("target")()).to.equal(modifierAddress);
  expect(await fx.safe.isModuleEnabled(fx.moduleAddress)).to.equal(false);
  expect(await fx.safe.isModuleEnabled(modifierAddress)).to.equal(true);
  expect(await modifier.getFunction("isModuleEnabled")(fx.moduleAddress)).to.equal(true);
  expect(await modifier.getFunction("getModulesPaginated")(SENTINEL, 10)).to.deep.equal([[fx.moduleAddress], SENTINEL]);
  return modifierAddress;
}

async function forwardingFixture() {
  const fx = await treasuryFixture();
  const modifier = (await ethers.deployContract("ZodiacForwardingModifier", [
    fx.safeAddress,
    fx.safeAddress,
  ])) as unknown as Contract;
  const modifierAddress = await installModifier(fx, modifier);
  return { ...fx, modifier, modifierAddress };
}

async function skimmingFixture() {
  const fx = await treasuryFixture();
  const modifier = (await ethers.deployContract("SkimmingModifier", [
    fx.safeAddress,
    fx.safeAddress,
    fx.attacker.address,
    SKIM,
  ])) as unknown as Contract;
  const modifierAddress = await installModifier(fx, modifier);
  return { ...fx, modifier, modifierAddress };
}

describe("Scenario: the module behind a Zodiac modifier (finding R4)", function () {
  it("test_zodiac_paymentsThroughForwardingModifier_paidByTheSafe", async function () {
    const fx = await loadFixture(forwardingFixture);
    const book = await TreasuryBook.open(fx, { accounts: { modifier: fx.modifierAddress } });
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH);

    // An auto-tier ETH payment: the module calls the modifier, the modifier calls the Safe, the Safe pays.
    const eth = await book.intent({ target: fx.alice.address, value: parseEther("0.5"), rationale: id("pay alice") });
    const ethId = intentId(fx, eth);
    const tx = fx.module.connect(fx.relayer).submit(eth, await book.signature(eth));
    await expect(tx)
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(ethId, fx.agent.address, ETH, fx.alice.address, parseEther("0.5"), false, eth.rationale);
    await expect(tx)
      .to.emit(fx.modifier, "ExecutedAndReturnedData")
      .withArgs(fx.alice.address, parseEther("0.5"), "0x", 0n, "0x", true);
    await expect(tx).to.changeEtherBalances(
      [fx.safeAddress, fx.alice.address, fx.modifierAddress],
      [-parseEther("0.5"), parseEther("0.5"), 0n],
    );
    book.pay(ETH, fx.alice.address, parseEther("0.5"));

    // A token payment the same way.
    const amount = parseUnits("250", 6);
    const usdc = await book.intent({ target: fx.usdcAddress, data: transferData(fx.bob.address, amount) });
    await expect(fx.module.connect(fx.relayer).submit(usdc, await book.signature(usdc)))
      .to.emit(fx.modifier, "ExecutedAndReturnedData")
      .withArgs(fx.usdcAddress, 0n, usdc.data, 0n, ethers.AbiCoder.defaultAbiCoder().encode(["bool"], [true]), true);
    book.pay(fx.usdcAddress, fx.bob.address, amount);

    // An escalated payment too: queued, approved by two co-signers, executed through the modifier.
    const big = await book.intent({
      target: fx.alice.address,
      value: parseEther("5"),
      validUntil: BigInt(await time.latest()) + BigInt(DAY),
    });
    const bigId = intentId(fx, big);
    await expect(fx.module.connect(fx.relayer).submit(big, await book.signature(big))).to.emit(
      fx.module,
      "IntentQueued",
    );
    await time.increase(agentConfig().escalationDelay);
    await expect(
      fx.module.connect(fx.relayer).executeQueued(big, await cosignerSignatures(fx, bigId, fx.cosigners.slice(0, 2))),
    )
      .to.emit(fx.modifier, "ExecutedAndReturnedData")
      .withArgs(fx.alice.address, parseEther("5"), "0x", 0n, "0x", true);
    expect(await fx.module.intentStatus(bigId)).to.equal(Status.Executed);
    book.pay(ETH, fx.alice.address, parseEther("5"));

    // The Safe paid 5.5 ETH and 250 USDC; the modifier holds nothing.
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - parseEther("5.5"));
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(SAFE_USDC - amount);
    expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(amount);
    expect(await ethers.provider.getBalance(fx.modifierAddress)).to.equal(0n);
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.5"));
    await book.assertNothingLost();
  });

  it("test_zodiac_withoutSetTarget_moduleNoLongerEnabledOnTheSafe_paysNothing", async function () {
    // The other half of "through the modifier": with the module enabled only on the modifier, the owners' setTarget
    // is what routes payments. Set back to the avatar, the Safe refuses the module (Safe's GS104) and nothing moves.
    const fx = await loadFixture(forwardingFixture);
    await asSafe(fx, fx.moduleAddress, fx.module.interface.encodeFunctionData("setTarget", [fx.safeAddress]));
    const before = await ethers.provider.getBalance(fx.safeAddress);
    const eth = await buildIntent(fx, { value: parseEther("0.5") });
    await expect(fx.module.connect(fx.relayer).submit(eth, await sign(fx.agent, fx, eth))).to.be.revertedWith("GS104");
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(before);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(eth.nonce);
  });

  it("test_zodiac_skimmingModifier_revertsBalanceChangeExceedsChargeOnTheAvatar", async function () {
    const fx = await loadFixture(skimmingFixture);
    const book = await TreasuryBook.open(fx, { accounts: { modifier: fx.modifierAddress } });
    const attackerEth = await ethers.provider.getBalance(fx.attacker.address);

    // ETH: the Safe would lose 0.5 ETH + 1,000,000 wei; the module charged 0.5 ETH and reverts the whole submission.
    const eth = await book.intent({ target: fx.alice.address, value: parseEther("0.5") });
    await expect(fx.module.connect(fx.relayer).submit(eth, await book.signature(eth)))
      .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
      .withArgs(ETH, parseEther("0.5"), parseEther("0.5") + SKIM);
    // USDC: 100 charged, 101 would have left the Safe.
    const amount = parseUnits("100", 6);
    const usdc = await book.intent({
      target: fx.usdcAddress,
      data: transferData(fx.bob.address, amount),
      nonce: eth.nonce,
    });
    await expect(fx.module.connect(fx.relayer).submit(usdc, await book.signature(usdc)))
      .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
      .withArgs(fx.usdcAddress, amount, amount + SKIM);

    // Nothing moved, nothing charged, the nonce is still free; the thief got nothing.
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH);
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(SAFE_USDC);
    expect(await ethers.provider.getBalance(fx.attacker.address)).to.equal(attackerEth);
    expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(eth.nonce);
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3"));
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("5000", 6));
    await book.assertNothingLost();
  });

  it("test_zodiac_intentsTargetingTheModifier_deniedTargetNotAllowed", async function () {
    const fx = await loadFixture(forwardingFixture);
    const book = await TreasuryBook.open(fx, { accounts: { modifier: fx.modifierAddress } });
    await book.asOwners(
      fx.module.interface.encodeFunctionData("setAgent", [fx.agent.address, agentConfig({ maxStrikes: 0n })]),
    );
    const m = fx.modifier.interface;
    // The agent tries to enable itself on the modifier, to retarget it, and to park ETH in it.
    const attempts = [
      { target: fx.modifierAddress, data: m.encodeFunctionData("enableModule", [fx.attacker.address]) },
      { target: fx.modifierAddress, data: m.encodeFunctionData("setTarget", [fx.attacker.address]) },
      { target: fx.modifierAddress, value: parseEther("0.5") },
    ];
    for (const fields of attempts) {
      const intent = await book.intent(fields);
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.TargetNotAllowed, intent.rationale);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Denied);
    }
    // The owners cannot allow it either.
    const enable = m.getFunction("enableModule")!.selector;
    await expect((await moduleAsSafe(fx)).setAllowedCall(fx.agent.address, fx.modifierAddress, enable, true))
      .to.be.revertedWithCustomError(fx.module, "TargetForbidden")
      .withArgs(fx.modifierAddress);
    expect(await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, fx.modifierAddress, enable)).to.equal(false);
    // The modifier is as it was: one module, the same target, nothing in it.
    expect(await fx.modifier.getFunction("getModulesPaginated")(SENTINEL, 10)).to.deep.equal([
      [fx.moduleAddress],
      SENTINEL,
    ]);
    expect(await fx.modifier.getFunction("target")()).to.equal(fx.safeAddress);
    expect(await ethers.provider.getBalance(fx.modifierAddress)).to.equal(0n);
    await book.assertNothingLost();
  });
});
