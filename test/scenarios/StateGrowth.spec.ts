/**
 * Adversarial story: an agent floods the queue with 2,000 intents. Nothing iterates over the queue, so pausing,
 * cancelling and executing still cost what they cost on an empty queue, far within the block gas limit.
 * Threat: a stolen agent key used for denial of service (docs/THREAT-MODEL.md, T-GROWTH).
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { DAY, ETH, Status, cosignerSignatures, intentId, treasuryFixture } from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { TreasuryBook } from "./model";

// 2,000 intents; 200 under `npm run coverage`, where every instruction is instrumented and ten times slower.
const UNDER_COVERAGE =
  (hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true;
const FLOOD = UNDER_COVERAGE ? 200 : 2_000;
const BLOCK_GAS_LIMIT = 30_000_000n;

describe("Scenario: state growth", function () {
  it("test_growth_twoThousandQueued_pauseCancelExecuteStayCheap", async function () {
    this.timeout(300_000);
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const validUntil = BigInt(await time.latest()) + BigInt(DAY);
    const intents: Intent[] = [];
    for (let i = 0; i < FLOOD; i++) {
      intents.push({
        agent: fx.agent.address,
        target: fx.bob.address,
        value: parseEther("2"),
        data: "0x",
        nonce: BigInt(i),
        idempotencyKey: ethers.ZeroHash,
        validAfter: 0n,
        validUntil,
        rationale: ethers.id(`flood ${i}`),
        review: true, // proposed for review: `propose` accepts nothing else (v3)
      });
    }
    book.note(...intents);
    // The agent submits directly (empty signature): no signing, one transaction each.
    const agentModule = fx.module.connect(fx.agent);
    const gasOf: bigint[] = [];
    for (let i = 0; i < FLOOD; i++) {
      const receipt = await (await agentModule.propose(intents[i], "0x", { gasLimit: 400_000 })).wait();
      gasOf.push(receipt!.gasUsed);
    }
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(BigInt(FLOOD));
    // The 2,000th proposal costs what the first did (within 1%: only warm/cold slot differences).
    const [firstGas, lastGas] = [gasOf[0], gasOf[gasOf.length - 1]];
    expect(lastGas * 100n).to.be.lessThanOrEqual(firstGas * 101n);

    const victim = intentId(fx, intents[FLOOD - 1]);
    const chosen = intentId(fx, intents[0]);
    expect(await fx.module.intentStatus(victim)).to.equal(Status.Queued);
    const gasUsed = async (tx: Promise<{ wait: () => Promise<{ gasUsed: bigint } | null> }>) =>
      (await (await tx).wait())!.gasUsed;
    // Cancel one, pause, unpause (owners), execute one with co-signatures: each far below the block gas limit.
    const cancelGas = await gasUsed(fx.module.connect(fx.guardian).cancel(victim));
    const pauseGas = await gasUsed(fx.module.connect(fx.guardian).pause());
    await book.asOwners(fx.module.interface.encodeFunctionData("unpause"));
    await time.increase(3600);
    const sigs = await cosignerSignatures(fx, chosen, fx.cosigners.slice(0, 2));
    const executeGas = await gasUsed(fx.module.connect(fx.relayer).executeQueued(intents[0], sigs));
    book.pay(ETH, fx.bob.address, parseEther("2"));
    for (const g of [cancelGas, pauseGas, executeGas]) expect(g).to.be.lessThan(BLOCK_GAS_LIMIT / 100n);
    expect(await fx.module.intentStatus(victim)).to.equal(Status.Cancelled);
    expect(await fx.module.intentStatus(chosen)).to.equal(Status.Executed);
    // A view over one intent does not grow with the queue either.
    const [agent, , approvals, status] = await fx.module.intent(intentId(fx, intents[FLOOD / 2]));
    expect([agent, approvals, status]).to.deep.equal([fx.agent.address, 0n, Status.Queued]);
    await book.assertNothingLost();
  });
});
