/**
 * A manipulated price feed (docs/THREAT-MODEL.md, A11). The owners set a Chainlink feed per asset; suppose it lies
 * within every check the module makes. Too low, and a USD-limited agent's USD window is barely charged: it can still
 * move only what its per-asset limits allow. Too high, and its payments are denied above the USD hard cap (strikes
 * that freeze it: a denial of service, never a loss). The USD limit is an extra fence; the asset limits are the bound.
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import { DenyReason, Status, intentId, sign, tokenPayment } from "../fixtures";
import { USD, usdTreasuryFixture } from "../usdFixtures";

describe("Scenario: a manipulated price feed", function () {
  it("test_feedPricedNearZero_agentStillHeldToItsAssetWindow", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    // One USDC "worth" 10^-8 dollars: the smallest positive answer an 8-decimal feed can give.
    await (await fx.usdcFeed.setPrice(1n)).wait();
    const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);
    const statuses: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.attacker.address, parseUnits("1000", 6));
      const signature = await sign(fx.agent, fx, intent);
      const [, status] = await fx.module.connect(fx.relayer).submit.staticCall(intent, signature);
      await (await fx.module.connect(fx.relayer).submit(intent, signature)).wait();
      statuses.push(status);
    }
    // Five payments fill the USDC window of 5,000; the rest wait for co-signers, whatever the USD window says.
    expect(statuses).to.deep.equal([1n, 1n, 1n, 1n, 1n, 2n, 2n, 2n]);
    expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(fx.usdcLimit.autoPerWindow);
    expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(fx.usdcLimit.autoPerWindow);
    // The USD window was charged what the lie says: $0.00001 (1,000 units of 10^-8 dollars) per payment.
    expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(3_000n * USD - 5_000n);
  });

  it("test_feedPricedSkyHigh_paymentsDeniedAboveHardCap_agentFrozen_nothingMoves", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    await (await fx.usdcFeed.setPrice(10n ** 30n)).wait(); // below 2^128: a price the checks accept
    const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);
    for (let i = 0; i < 3; i++) {
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("1", 6));
      const tx = fx.module.connect(fx.relayer).submit(intent, await sign(fx.agent, fx, intent));
      await expect(tx)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Denied);
    }
    expect(await fx.module.isFrozen(fx.agent.address), "three strikes freeze the agent").to.equal(true);
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(safeBefore);
  });
});
