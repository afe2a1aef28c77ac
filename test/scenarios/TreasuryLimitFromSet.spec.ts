/**
 * Review item 6 (R6): the treasury-wide limit (`setTreasuryLimit`) caps what all agents together take in the auto
 * tier over a sliding window, but it counts auto spend only from the moment it is set: spend before that was never
 * recorded for it (SPEC section 5 says so; the module keeps no treasury window while no limit exists, which keeps
 * every payment without one lean). So on the day the owners set a limit, the agents can take up to the limit on top
 * of what they already took that day. This story measures it. Two agents, each with the fixture's ETH limits (auto 1
 * per payment, 3 per day). Agent 1 spends 2 ETH; then the owners set a treasury-wide limit of 3 ETH per day.
 * Threat: several compromised agents at once (docs/THREAT-MODEL.md, T-TREASURY).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { DAY, ETH, Status, intentId, twoAgentsFixture } from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { TreasuryBook } from "./model";

const ONE = parseEther("1");
const SAFE_ETH = parseEther("100");

describe("Scenario: the treasury-wide limit counts from when it is set (review item 6)", function () {
  it("test_treasuryLimit_spendBeforeSetNotCounted_spendAfterCounted", async function () {
    const fx = await loadFixture(twoAgentsFixture);
    const book = await TreasuryBook.open(fx, { agents: [fx.agent2.address] });
    const pay = async (agent: typeof fx.agent, fields: Partial<Intent> = {}) => {
      const intent = await book.intent({ agent: agent.address, value: ONE, ...fields });
      const receipt = await (
        await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent, agent))
      ).wait();
      const names = receipt!.logs.map((l) => fx.module.interface.parseLog(l)?.name).filter((n) => n !== undefined);
      return { intent, names };
    };

    // Before any treasury-wide limit: agent 1 pays 2 ETH to alice. Nothing records it for a treasury window.
    for (let i = 0; i < 2; i++) {
      expect((await pay(fx.agent)).names).to.deep.equal(["IntentExecuted"]);
      book.pay(ETH, fx.alice.address, ONE);
    }
    expect(await fx.lens.treasuryLimit(fx.moduleAddress, ETH)).to.deep.equal([0n, 0n, 0n]);

    // The owners set 3 ETH per day across all agents. It starts at zero spent: the 2 ETH before it are not counted.
    await book.asOwners(fx.module.interface.encodeFunctionData("setTreasuryLimit", [ETH, parseEther("3"), DAY]));
    expect(await fx.lens.treasuryLimit(fx.moduleAddress, ETH)).to.deep.equal([parseEther("3"), BigInt(DAY), 0n]);

    // After: agent 2 pays 1, 1, 1 ETH, each counted; the treasury window is full at 3.
    for (let i = 0; i < 3; i++) {
      expect((await pay(fx.agent2)).names).to.deep.equal(["IntentExecuted"]);
      book.pay(ETH, fx.alice.address, ONE);
      expect((await fx.lens.treasuryLimit(fx.moduleAddress, ETH))[2]).to.equal(ONE * BigInt(i + 1));
    }
    // Agent 1 still has 1 ETH in its own window, but the next payment would cross the treasury-wide limit: queued.
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(ONE);
    const crossing = await pay(fx.agent);
    expect(crossing.names).to.deep.equal(["IntentQueued"]);
    expect(await fx.module.intentStatus(intentId(fx, crossing.intent))).to.equal(Status.Queued);

    // The numbers of the day: 5 ETH left in the auto tier, 2 before the limit and 3 under it, never more than 3
    // counted by it. Agent 1's own window was never exceeded.
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - 5n * ONE);
    expect((await fx.lens.treasuryLimit(fx.moduleAddress, ETH))[2]).to.equal(3n * ONE);

    // One window after the limit was set, its spend has slid out and agents pay again.
    await time.increase(DAY);
    expect((await fx.lens.treasuryLimit(fx.moduleAddress, ETH))[2]).to.equal(0n);
    expect((await pay(fx.agent2)).names).to.deep.equal(["IntentExecuted"]);
    book.pay(ETH, fx.alice.address, ONE);
    expect((await fx.lens.treasuryLimit(fx.moduleAddress, ETH))[2]).to.equal(ONE);
    await book.assertNothingLost();
  });
});
