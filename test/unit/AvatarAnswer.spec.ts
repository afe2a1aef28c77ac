/**
 * The module calls its Safe with hand-encoded calldata and decodes the answer `(bool success, bytes returnData)`
 * by hand (AvatarOwned._callAvatar). A real Safe always answers well-formed; these specs put a test avatar in the
 * Safe's place that answers with chosen raw bytes, and check that an answer no Safe could give is a failed call
 * (ExecutionFailed naming the target, nothing charged, no nonce consumed) and that a well-formed one is decoded
 * exactly (success with the inner return data, or failure bubbling the inner revert data).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Contract, id, parseEther, toBeHex, zeroPadValue } from "ethers";
import { ETH, agentConfig, assetLimit, deployModuleInfra } from "../fixtures";
import type { IAgentTreasuryModule } from "../../typechain-types";

const coder = AbiCoder.defaultAbiCoder();
const DAY = 86_400;

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

describe("Avatar answer decoding (a Safe that answers what no Safe would)", function () {
  it("test_submit_answerShorterThanThreeWords_revertsExecutionFailed", async function () {
    const fx = await loadFixture(malformedAvatarFixture);
    await expectRejectedAsFailedCall(fx, coder.encode(["bool", "uint256"], [true, 64]));
  });

  it("test_submit_successFlagNotABool_revertsExecutionFailed", async function () {
    const fx = await loadFixture(malformedAvatarFixture);
    await expectRejectedAsFailedCall(fx, coder.encode(["uint256", "bytes"], [2, "0x"]));
  });

  it("test_submit_returnDataOffsetPastTheEnd_revertsExecutionFailed", async function () {
    const fx = await loadFixture(malformedAvatarFixture);
    // success = true, offset 0x60 with only three words returned: the length word lies past the end.
    const answer = ethers.concat([zeroPadValue("0x01", 32), zeroPadValue(toBeHex(0x60), 32), zeroPadValue("0x00", 32)]);
    await expectRejectedAsFailedCall(fx, answer);
  });

  it("test_submit_returnDataLengthPastTheEnd_revertsExecutionFailed", async function () {
    const fx = await loadFixture(malformedAvatarFixture);
    // success = true, offset 0x40, length 33 with no bytes following.
    const answer = ethers.concat([
      zeroPadValue("0x01", 32),
      zeroPadValue(toBeHex(0x40), 32),
      zeroPadValue(toBeHex(33), 32),
    ]);
    await expectRejectedAsFailedCall(fx, answer);
  });

  it("test_submit_wellFormedFailureWithData_bubblesTheInnerRevertData", async function () {
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

  it("test_submit_wellFormedSuccess_executesAndCharges", async function () {
    const fx = await loadFixture(malformedAvatarFixture);
    // The test avatar moves nothing, so the balance check sees no outflow: the payment is accepted and charged.
    await fx.avatar.getFunction("setAnswer")(coder.encode(["bool", "bytes"], [true, "0x"]));
    const intent = await ethPayment(fx);
    await expect(fx.module.connect(fx.agent).submit(intent, "0x")).to.emit(fx.module, "IntentExecuted");
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(intent.nonce + 1n);
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3") - parseEther("0.1"));
  });
});
