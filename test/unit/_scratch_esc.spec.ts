import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { network } from "hardhat";
import { parseEther } from "ethers";
import { treasuryFixture, buildIntent, submitSigned, intentId, cosignerSignatures, HOUR } from "../fixtures";

describe("scratch", function () {
  it("estimate respects next timestamp", async function () {
    const fx = await loadFixture(treasuryFixture);
    const intent = await buildIntent(fx, { value: parseEther("5") });
    const rc = await (await submitSigned(fx, intent)).wait();
    const t = BigInt((await rc!.getBlock()).timestamp);
    const eta = t + BigInt(HOUR);
    const id = intentId(fx, intent);
    const sigs = await cosignerSignatures(fx, id, [fx.cosigners[0], fx.cosigners[1]]);
    await time.setNextBlockTimestamp(eta - 1n);
    await expect(fx.module.connect(fx.relayer).executeQueued(intent, sigs)).to.be.revertedWithCustomError(fx.module, "IntentNotReady").withArgs(id, eta, eta - 1n);
    console.log("latest after revert", await time.latest(), "eta-1", eta - 1n);
    await time.setNextBlockTimestamp(eta);
    await fx.module.connect(fx.relayer).executeQueued(intent, sigs);
    console.log("latest after exec", await time.latest());
  });
  it("ordering in one block", async function () {
    const fx = await loadFixture(treasuryFixture);
    const intent = await buildIntent(fx, { value: parseEther("5") });
    await (await submitSigned(fx, intent)).wait();
    const id = intentId(fx, intent);
    await time.increase(HOUR);
    await fx.module.connect(fx.cosigners[0]).approve(id);
    await network.provider.send("evm_setAutomine", [false]);
    const a = await fx.module.connect(fx.cosigners[1]).approve(id, { gasLimit: 200000 });
    const b = await fx.module.connect(fx.relayer).executeQueued(intent, [], { gasLimit: 500000 });
    const c = await fx.module.connect(fx.guardian).cancel(id, { gasLimit: 200000 });
    await network.provider.send("evm_mine", []);
    await network.provider.send("evm_setAutomine", [true]);
    for (const tx of [a, b, c]) {
      const r = await fx.relayer.provider.getTransactionReceipt(tx.hash);
      console.log(r!.blockNumber, r!.index, r!.status);
    }
  });
});
