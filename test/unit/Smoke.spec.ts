import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import { treasuryFixture, tokenPayment, submitSigned, intentId, Status } from "../fixtures";

describe("AgentTreasuryModule smoke", function () {
  it("test_submit_autoTokenPayment_movesFundsAndEmits", async function () {
    const fx = await loadFixture(treasuryFixture);
    const amount = parseUnits("250", 6);
    const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount);
    const id = intentId(fx, intent);
    await expect(submitSigned(fx, intent))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(id, fx.agent.address, fx.usdcAddress, fx.alice.address, amount, false, intent.rationale);
    expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(amount);
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("4750", 6));
    expect(await fx.module.intentStatus(id)).to.equal(Status.None);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
  });
});
