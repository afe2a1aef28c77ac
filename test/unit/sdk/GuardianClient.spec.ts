import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String } from "ethers";
import { GuardianClient, ModulePausedError, NotAuthorizedError } from "../../../sdk";
import { treasuryFixture } from "../../fixtures";
import { agentClient } from "./helpers";

describe("GuardianClient", function () {
  it("test_pause_guardian_pausesAndStopsAgents", async function () {
    const fx = await loadFixture(treasuryFixture);
    const g = await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.guardian });
    expect(await g.state()).to.deep.equal({ paused: false, isGuardian: true });

    const p = await g.pause();

    expect(p).to.deep.include({ paused: true, by: fx.guardian.address });
    await expect(p.txHash!).to.emit(fx.module, "Paused").withArgs(fx.guardian.address);
    expect(await fx.module.paused()).to.equal(true);
    const { client } = await agentClient(fx);
    await expect(client.pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r" })).to.be.rejectedWith(
      ModulePausedError,
    );
    client.close();
  });

  it("test_pause_alreadyPaused_succeedsWithoutATransaction", async function () {
    const fx = await loadFixture(treasuryFixture);
    const g = await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.guardian });
    await g.pause();
    const block = await ethers.provider.getBlockNumber();
    const again = await g.pause();
    expect(again).to.deep.equal({ paused: true, by: fx.guardian.address, alreadyPaused: true });
    expect(await ethers.provider.getBlockNumber()).to.equal(block); // nothing was sent
    expect(await fx.module.paused()).to.equal(true);
  });

  it("test_freeze_guardian_freezesAgentWithManualReason", async function () {
    const fx = await loadFixture(treasuryFixture);
    const g = await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.guardian });
    const f = await g.freeze(fx.agent.address);
    expect(f).to.deep.include({ agent: fx.agent.address, frozen: true, by: fx.guardian.address });
    await expect(f.txHash!)
      .to.emit(fx.module, "AgentFrozen")
      .withArgs(fx.agent.address, fx.guardian.address, encodeBytes32String("manual"));
    const block = await ethers.provider.getBlockNumber();
    expect(await g.freeze(fx.agent.address)).to.deep.equal({
      agent: fx.agent.address,
      frozen: true,
      by: fx.guardian.address,
      alreadyFrozen: true,
    });
    expect(await ethers.provider.getBlockNumber()).to.equal(block);
  });

  it("test_pauseAndFreeze_notGuardian_throwNotAuthorized", async function () {
    const fx = await loadFixture(treasuryFixture);
    const g = await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.attacker });
    expect((await g.state()).isGuardian).to.equal(false);
    const err = await g.pause().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(NotAuthorizedError);
    expect((err as NotAuthorizedError).args).to.deep.equal({ caller: fx.attacker.address });
    await expect(g.freeze(fx.agent.address)).to.be.rejectedWith(NotAuthorizedError);
    expect(await fx.module.paused()).to.equal(false);
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
  });

  it("test_cancel_guardian_cancelsQueuedIntent", async function () {
    const fx = await loadFixture(treasuryFixture);
    const { client } = await agentClient(fx);
    const r = await client.pay({ asset: "ETH", to: fx.attacker.address, amount: "9", rationale: "suspicious" });
    client.close();
    const g = await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.guardian });
    const c = await g.cancel(r.intentId);
    expect(c).to.deep.include({ status: "Cancelled", by: fx.guardian.address });
    await expect(c.txHash!).to.emit(fx.module, "IntentCancelled").withArgs(r.intentId, fx.guardian.address);
  });
});
