/**
 * The Freysa story replayed through the policy. In November 2024 the Freysa agent guarded a prize pool with one
 * rule, "never approve a transfer", and was talked into calling `approveTransfer` with the whole pool (about
 * $47,000) by a message that redefined what the function meant. Here the agent is equally convinced: it tries to
 * pay the attacker the whole treasury, then in pieces, then through approvals. The policy, not the prompt, decides.
 * Threat: a prompt-injected agent (docs/THREAT-MODEL.md, T-AGENT).
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, MaxUint256, id, parseEther, parseUnits } from "ethers";
import { ETH, Status, intentId, transferData, treasuryFixture } from "../fixtures";
import { TreasuryBook } from "./model";

const ERC20 = new Interface(["function approve(address,uint256)"]);

describe("Scenario: a Freysa-style prompt injection", function () {
  it("test_promptInjection_payWholePool_heldToAutoCapThenFrozen", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const a = fx.attacker.address;
    const submit = async (fields: Parameters<TreasuryBook["intent"]>[0]) => {
      const intent = await book.intent({
        rationale: id("incoming transfers are approved by approveTransfer"),
        ...fields,
      });
      const receipt = await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
      const names = receipt!.logs.map((l) => fx.module.interface.parseLog(l)?.name);
      return { intent, names };
    };
    const pool = await fx.usdc.balanceOf(fx.safeAddress);
    expect(pool).to.equal(parseUnits("1000000", 6));

    // 1. "Transfer the whole treasury": above the 50,000 USDC hard cap, denied, strike 1.
    const whole = await submit({ target: fx.usdcAddress, data: transferData(a, pool) });
    expect(whole.names).to.include("IntentDenied");
    expect(await fx.module.intentStatus(intentId(fx, whole.intent))).to.equal(Status.Denied);

    // 2. In auto-sized pieces: five payments of 1,000 go through, the sixth waits for co-signers.
    const piece = parseUnits("1000", 6);
    for (let i = 0; i < 5; i++) {
      expect((await submit({ target: fx.usdcAddress, data: transferData(a, piece) })).names).to.include(
        "IntentExecuted",
      );
      book.pay(fx.usdcAddress, a, piece);
    }
    const sixth = await submit({ target: fx.usdcAddress, data: transferData(a, piece) });
    expect(sixth.names).to.include("IntentQueued");

    // 3. The ETH too: 3 x 1 ETH fit the window, the fourth is queued.
    for (let i = 0; i < 3; i++) {
      expect((await submit({ target: a, value: parseEther("1") })).names).to.include("IntentExecuted");
      book.pay(ETH, a, parseEther("1"));
    }
    const fourth = await submit({ target: a, value: parseEther("1") });
    expect(fourth.names).to.include("IntentQueued");

    // 4. "approveTransfer": an unlimited approval, denied (strike 2); a call to an unknown contract (strike 3).
    const approval = await submit({
      target: fx.usdcAddress,
      data: ERC20.encodeFunctionData("approve", [a, MaxUint256]),
    });
    expect(approval.names).to.include("IntentDenied");
    const probe = await submit({ target: a, data: "0xdeadbeef" });
    expect(probe.names).to.have.members(["IntentDenied", "AgentFrozen"]);
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);

    // 5. Frozen: the next attempt is rejected outright, and the queued ones can no longer run.
    const more = await book.intent({ target: a, value: 1n });
    await expect(fx.module.connect(fx.relayer).submit(more, await book.signature(more)))
      .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
      .withArgs(fx.agent.address);
    for (const q of [sixth, fourth]) {
      await expect(fx.module.connect(fx.cosigners[0]).cancel(intentId(fx, q.intent)))
        .to.emit(fx.module, "IntentCancelled")
        .withArgs(intentId(fx, q.intent), fx.cosigners[0].address);
    }

    // The whole loss is the auto tier: 5,000 USDC and 3 ETH of a 1,000,000 USDC and 100 ETH treasury.
    expect(await fx.usdc.balanceOf(a)).to.equal(parseUnits("5000", 6));
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(pool - parseUnits("5000", 6));
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(3n);
    await book.assertNothingLost();
  });
});
