/**
 * AgentTreasuryModuleFactory: EIP-1167 clones with CREATE2, one per (avatar, salt), initialised once in the creating
 * transaction. The implementation itself can never be initialised.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, ZeroAddress, concat, getCreate2Address, id, keccak256 } from "ethers";
import { agentConfig, moduleAsSafe, treasuryFixture } from "../fixtures";

/** The EIP-1167 creation code for `implementation`, as OpenZeppelin's Clones deploys it. */
function cloneInitCode(implementation: string): string {
  return concat(["0x3d602d80600a3d3981f3363d3d373d3d3d363d73", implementation, "0x5af43d82803e903d91602b57fd5bf3"]);
}

/** The clone's address, computed independently of the factory's own prediction. */
function expectedAddress(factory: string, implementation: string, avatar: string, salt: string): string {
  const cloneSalt = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [avatar, salt]));
  return getCreate2Address(factory, cloneSalt, keccak256(cloneInitCode(implementation)));
}

describe("AgentTreasuryModuleFactory", function () {
  it("test_createModule_deploysAtPredictedAddressAndInitialises", async function () {
    const fx = await loadFixture(treasuryFixture);
    const avatar = fx.bob.address;
    const salt = id("dao-2");
    const factoryAddress = await fx.factory.getAddress();
    const implementation = await fx.implementation.getAddress();
    const predicted = await fx.factory.predictModuleAddress(avatar, salt);
    expect(predicted).to.equal(expectedAddress(factoryAddress, implementation, avatar, salt));
    expect(await ethers.provider.getCode(predicted)).to.equal("0x");
    expect(await fx.factory.createModule.staticCall(avatar, salt)).to.equal(predicted);
    const tx = fx.factory.connect(fx.attacker).createModule(avatar, salt);
    await expect(tx).to.emit(fx.factory, "ModuleCreated").withArgs(avatar, predicted, salt);
    const clone = await ethers.getContractAt("IAgentTreasuryModule", predicted);
    await expect(tx).to.emit(clone, "ModuleInitialized").withArgs(avatar);
    expect(await clone.avatar()).to.equal(avatar);
    // A minimal proxy delegating to the implementation.
    expect(await ethers.provider.getCode(predicted)).to.equal(
      concat(["0x363d3d373d3d3d363d73", implementation, "0x5af43d82803e903d91602b57fd5bf3"]).toLowerCase(),
    );
    expect(await fx.factory.implementation()).to.equal(implementation);
  });

  it("test_predictModuleAddress_isDeterministicPerAvatarAndSalt", async function () {
    const fx = await loadFixture(treasuryFixture);
    const s1 = id("one");
    const s2 = id("two");
    const a = await fx.factory.predictModuleAddress(fx.bob.address, s1);
    expect(await fx.factory.predictModuleAddress(fx.bob.address, s1)).to.equal(a);
    const others = [
      await fx.factory.predictModuleAddress(fx.bob.address, s2),
      await fx.factory.predictModuleAddress(fx.alice.address, s1),
    ];
    expect(new Set([a, ...others]).size).to.equal(3);
    // The fixture's own module sits where the factory said it would.
    expect(await fx.factory.predictModuleAddress(fx.safeAddress, fx.salt)).to.equal(fx.moduleAddress);
    // Who calls createModule does not matter: the address binds only (avatar, salt).
    await fx.factory.connect(fx.attacker).createModule(fx.bob.address, s1);
    expect(await (await ethers.getContractAt("IAgentTreasuryModule", a)).avatar()).to.equal(fx.bob.address);
  });

  it("test_createModule_sameAvatarAndSaltTwice_reverts", async function () {
    const fx = await loadFixture(treasuryFixture);
    await expect(fx.factory.createModule(fx.safeAddress, fx.salt)).to.be.revertedWithCustomError(
      fx.factory,
      "FailedDeployment",
    );
    const salt = id("again");
    await fx.factory.createModule(fx.bob.address, salt);
    await expect(fx.factory.createModule(fx.bob.address, salt)).to.be.revertedWithCustomError(
      fx.factory,
      "FailedDeployment",
    );
  });

  it("test_createModule_zeroAvatar_revertsModuleInvalidAvatar", async function () {
    const fx = await loadFixture(treasuryFixture);
    const salt = id("zero");
    const predicted = await fx.factory.predictModuleAddress(ZeroAddress, salt);
    await expect(fx.factory.createModule(ZeroAddress, salt))
      .to.be.revertedWithCustomError(fx.implementation, "ModuleInvalidAvatar")
      .withArgs(ZeroAddress);
    expect(await ethers.provider.getCode(predicted)).to.equal("0x");
  });

  it("test_initialize_implementation_revertsModuleAlreadyInitialized", async function () {
    const fx = await loadFixture(treasuryFixture);
    await expect(fx.implementation.connect(fx.attacker).initialize(fx.attacker.address)).to.be.revertedWithCustomError(
      fx.implementation,
      "ModuleAlreadyInitialized",
    );
    expect(await fx.implementation.avatar()).to.equal(ZeroAddress);
    // And it cannot be configured by anyone either: it has no owner.
    await expect(fx.implementation.connect(fx.attacker).setGuardian(fx.attacker.address, true))
      .to.be.revertedWithCustomError(fx.implementation, "ModuleCallerNotOwner")
      .withArgs(fx.attacker.address, ZeroAddress);
  });

  it("test_initialize_clone_cannotBeReinitialised", async function () {
    const fx = await loadFixture(treasuryFixture);
    for (const caller of [fx.attacker, fx.deployer]) {
      await expect(fx.module.connect(caller).initialize(caller.address)).to.be.revertedWithCustomError(
        fx.module,
        "ModuleAlreadyInitialized",
      );
    }
    const safeSigner = await moduleAsSafe(fx);
    await expect(safeSigner.initialize(fx.attacker.address)).to.be.revertedWithCustomError(
      fx.module,
      "ModuleAlreadyInitialized",
    );
    expect(await fx.module.avatar()).to.equal(fx.safeAddress);
  });

  it("test_clones_keepSeparateState", async function () {
    const fx = await loadFixture(treasuryFixture);
    const salt = id("separate");
    const other = await fx.factory.predictModuleAddress(fx.bob.address, salt);
    await fx.factory.createModule(fx.bob.address, salt);
    const clone = await ethers.getContractAt("IAgentTreasuryModule", other);
    expect(await clone.isAgent(fx.agent.address)).to.equal(false);
    expect(await clone.cosigners()).to.deep.equal([]);
    expect(await fx.module.isAgent(fx.agent.address)).to.equal(true);
    // The fixture's Safe is not the other clone's owner.
    await expect((await moduleAsSafe(fx)).setAgent.staticCall(fx.alice.address, agentConfig())).to.not.be.reverted;
    await expect(clone.connect(await ethers.getSigner(fx.safeAddress)).setAgent(fx.alice.address, agentConfig()))
      .to.be.revertedWithCustomError(clone, "ModuleCallerNotOwner")
      .withArgs(fx.safeAddress, fx.bob.address);
  });

  it("test_constructor_implementationWithoutCode_revertsFactoryImplementationInvalid", async function () {
    const fx = await loadFixture(treasuryFixture);
    const Factory = await ethers.getContractFactory("AgentTreasuryModuleFactory");
    await expect(Factory.deploy(fx.bob.address))
      .to.be.revertedWithCustomError(Factory, "FactoryImplementationInvalid")
      .withArgs(fx.bob.address);
  });
});
