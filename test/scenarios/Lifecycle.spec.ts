/**
 * Adversarial stories about deployment: initialising the implementation, re-initialising a clone, and
 * front-running the factory.
 * Threat: anyone on the network, a front-runner (docs/THREAT-MODEL.md, T-INIT).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, id } from "ethers";
import { agentConfig, createSafe, treasuryFixture } from "../fixtures";
import { execSafeCall } from "../../sdk/safe";
import { TreasuryBook } from "./model";
import type { IAgentTreasuryModule } from "../../typechain-types";

describe("Scenario: initialisation attacks", function () {
  it("test_init_implementation_cannotBeInitialised", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    await expect(fx.implementation.connect(fx.attacker).initialize(fx.attacker.address)).to.be.revertedWithCustomError(
      fx.implementation,
      "ModuleAlreadyInitialized",
    );
    expect(await fx.implementation.avatar()).to.equal(ZeroAddress);
    await book.assertNothingLost();
  });

  it("test_init_clone_cannotBeReinitialised", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    await expect(fx.module.connect(fx.attacker).initialize(fx.attacker.address)).to.be.revertedWithCustomError(
      fx.module,
      "ModuleAlreadyInitialized",
    );
    expect(await fx.module.avatar()).to.equal(fx.safeAddress);
    await book.assertNothingLost();
  });

  it("test_init_frontRunFactory_cloneStillBelongsToTheSafe", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    // A new DAO Safe is about to create its module; the attacker sees the transaction and sends it first.
    const victim = await createSafe(
      fx.infra,
      fx.owners.map((o) => o.address),
      2,
      7n,
    );
    const victimAddress = await victim.getAddress();
    const salt = id("new-dao");
    const predicted = await fx.factory.predictModuleAddress(victimAddress, salt);
    await expect(fx.factory.connect(fx.attacker).createModule(victimAddress, salt))
      .to.emit(fx.factory, "ModuleCreated")
      .withArgs(victimAddress, predicted, salt);
    const clone = (await ethers.getContractAt("IAgentTreasuryModule", predicted)) as unknown as IAgentTreasuryModule;
    // The clone is bound to the victim Safe, not to whoever paid for it, and cannot be re-bound.
    expect(await clone.avatar()).to.equal(victimAddress);
    await expect(clone.connect(fx.attacker).initialize(fx.attacker.address)).to.be.revertedWithCustomError(
      clone,
      "ModuleAlreadyInitialized",
    );
    await expect(clone.connect(fx.attacker).setAgent(fx.attacker.address, agentConfig()))
      .to.be.revertedWithCustomError(clone, "ModuleCallerNotOwner")
      .withArgs(fx.attacker.address, victimAddress);
    // The DAO's own create now fails (the address is taken), and it simply enables the predicted address.
    await expect(fx.factory.createModule(victimAddress, salt)).to.be.revertedWithCustomError(
      fx.factory,
      "FailedDeployment",
    );
    await execSafeCall(
      victim,
      fx.ownerSigners,
      fx.deployer,
      victimAddress,
      victim.interface.encodeFunctionData("enableModule", [predicted]),
    );
    await execSafeCall(
      victim,
      fx.ownerSigners,
      fx.deployer,
      predicted,
      clone.interface.encodeFunctionData("setAgent", [fx.agent.address, agentConfig()]),
    );
    expect(await clone.isAgent(fx.agent.address)).to.equal(true);
    expect(await victim.isModuleEnabled(predicted)).to.equal(true);
    await book.assertNothingLost();
  });
});
