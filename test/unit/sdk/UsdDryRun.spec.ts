/**
 * `AgentClient.dryRun` for an agent with a USD limit (SPEC section 11, v3): the dry run says why the module would
 * queue or deny a request for its dollar value (`above-usd-per-tx`, `above-usd-window`, `no-trustworthy-price`,
 * `AboveHardCap`) and what is left of the agent's USD budget, and the real request then does exactly that.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress } from "ethers";
import { writeDeployment } from "../../../core/deployment";
import { fixtureDeploymentRecord } from "../../fixtures";
import { runTaskCapturing } from "../../inProcessTask";
import { AgentClient, CallRequest, IntentPreview, IntentResult, PayRequest } from "../../../sdk";
import { FeedMode, USD, usdTreasuryFixture } from "../../usdFixtures";
import { agentClient } from "./helpers";

async function usdDryRunFixture() {
  const fx = await loadFixture(usdTreasuryFixture);
  const { client } = await agentClient(fx, {
    lens: await fx.lens.getAddress(),
    tokens: { USDC: fx.usdcAddress, DAI: fx.daiAddress },
  });
  return { fx, client };
}

async function dryThenReal(
  client: AgentClient,
  request: PayRequest | CallRequest,
): Promise<{ dry: IntentPreview; real: IntentResult }> {
  const dry = await client.dryRun("pay", request);
  const real = await client.pay(request as PayRequest);
  expect(real.status, "the real request does what the dry run said").to.equal(dry.status);
  expect(real.reason).to.equal(dry.reason);
  expect(dry.explained, "the model agrees with the module").to.equal(true);
  return { dry, real };
}

describe("AgentClient.dryRun under a USD limit", function () {
  it("test_dryRun_withinBothLimits_executed_withTheDollarValueAndWhatIsLeft", async function () {
    const { fx, client } = await usdDryRunFixture();
    const { dry } = await dryThenReal(client, {
      asset: "ETH",
      to: fx.alice.address,
      amount: "0.5",
      rationale: "gas money",
    });
    expect(dry.status).to.equal("Executed");
    expect(dry.usd).to.deep.equal({
      value: { amount: 1_000n * USD, formatted: "1000" },
      left: { amount: 3_000n * USD, formatted: "3000" },
    });
    expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(2_000n * USD);
    client.close();
  });

  it("test_dryRun_aboveUsdPerTx_queuedForItsDollarValue", async function () {
    const { fx, client } = await usdDryRunFixture();
    const { dry } = await dryThenReal(client, {
      asset: "ETH",
      to: fx.alice.address,
      amount: "0.8",
      rationale: "a bit more",
    });
    expect(dry.queuedBecause).to.deep.equal(["above-usd-per-tx"]);
    client.close();
  });

  it("test_dryRun_usdBudgetSpentAcrossAssets_queuedForTheUsdWindow", async function () {
    const { fx, client } = await usdDryRunFixture();
    await client.pay({ asset: "USDC", to: fx.alice.address, amount: "1000", rationale: "one" });
    await client.pay({ asset: "ETH", to: fx.alice.address, amount: "0.5", rationale: "two" });
    await client.pay({ asset: "DAI", to: fx.alice.address, amount: "900", rationale: "three" });
    const { dry } = await dryThenReal(client, {
      asset: "USDC",
      to: fx.alice.address,
      amount: "200",
      rationale: "four",
    });
    expect(dry.queuedBecause).to.deep.equal(["above-usd-window"]);
    expect(dry.usd!.left.formatted).to.equal("100");
    expect(dry.allowanceLeft!.formatted, "the USDC window alone has room").to.equal("4000");
    client.close();
  });

  it("test_dryRun_noTrustworthyPrice_queuedNamingTheAssetAndFault", async function () {
    const { fx, client } = await usdDryRunFixture();
    await (await fx.ethFeed.setPrice(0n)).wait();
    const { dry } = await dryThenReal(client, { asset: "ETH", to: fx.alice.address, amount: "0.1", rationale: "tiny" });
    expect(dry.queuedBecause).to.deep.equal(["no-trustworthy-price"]);
    expect(dry.usd!.unpriced).to.deep.equal({ asset: ZeroAddress, fault: "NonPositivePrice" });
    await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
    const usdc = await dryThenReal(client, { asset: "USDC", to: fx.alice.address, amount: "10", rationale: "small" });
    expect(usdc.dry.usd!.unpriced).to.deep.equal({ asset: fx.usdcAddress, fault: "FeedReverted" });
    client.close();
  });

  it("test_dryRun_aboveUsdHardCap_deniedAboveHardCap", async function () {
    const { fx, client } = await usdDryRunFixture();
    const { dry } = await dryThenReal(client, {
      asset: "USDC",
      to: fx.alice.address,
      amount: "25000",
      rationale: "too much",
    });
    expect(dry).to.deep.include({ status: "Denied", reason: "AboveHardCap" });
    client.close();
  });

  describe("agent:pay --dry-run (the CLI)", function () {
    const saved = process.env.DEPLOYMENTS_DIR;
    after(function () {
      if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
      else process.env.DEPLOYMENTS_DIR = saved;
    });

    it("prints the request's value in USD and the USD allowance left, and gives them in --json [test_cliDryRun_usdValueAndAllowance_textAndJson]", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      process.env.DEPLOYMENTS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "atg-usd-cli-"));
      writeDeployment(await fixtureDeploymentRecord(fx));
      const args = { agent: "payroll", asset: "ETH", to: fx.alice.address, amount: "0.8", dryRun: true };
      const blockBefore = await ethers.provider.getBlockNumber();
      const text = await runTaskCapturing("agent:pay", { ...args, json: false });
      expect(text.stdout).to.match(/^status: +Queued$/m);
      expect(text.stdout).to.match(
        /^queued because: +its value in dollars is above what you may pay alone in one payment across all assets \(USD autoPerTx\)$/m,
      );
      expect(text.stdout).to.match(/^value in USD: +\$1600$/m);
      expect(text.stdout).to.match(/^USD allowance now: +\$3000 across all assets$/m);
      const json = JSON.parse((await runTaskCapturing("agent:pay", { ...args, json: true })).stdout.trim()) as Record<
        string,
        unknown
      >;
      expect(json.queuedBecause).to.deep.equal(["above-usd-per-tx"]);
      expect(json.usd).to.deep.equal({
        value: { amount: (1_600n * USD).toString(), formatted: "1600" },
        left: { amount: (3_000n * USD).toString(), formatted: "3000" },
      });
      expect(await ethers.provider.getBlockNumber(), "a dry run sends nothing").to.equal(blockBefore);
    });
  });
});
