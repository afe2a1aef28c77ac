/**
 * The MCP tools for an agent with a USD limit (v3, in-process on usdTreasuryFixture: USDC and DAI at $1, ETH at
 * $2,000, WETH without a feed; the agent's USD limit $1,500 per payment, $3,000 per day, hard cap $20,000): the
 * rules the model is told, `treasury_limits` with the USD budget beside the per-asset ones, and what a payment queued
 * by the USD window or for want of a price tells the model.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AgentClient, Journal } from "../../../sdk";
import { TreasuryTools } from "../../../mcp/tools";
import type { PolicyAgent } from "../../../core/policy";
import { FeedMode, usdTreasuryFixture } from "../../usdFixtures";

async function usdToolsFixture() {
  const fx = await loadFixture(usdTreasuryFixture);
  const tokens = { USDC: fx.usdcAddress, DAI: fx.daiAddress, WETH: fx.wethAddress };
  const client = await AgentClient.connect({
    module: fx.moduleAddress,
    signer: fx.agent,
    relayer: fx.relayer,
    journal: Journal.inMemory(),
    tokens,
    lens: await fx.lens.getAddress(),
    pollIntervalMs: 20,
  });
  const policyAgent = {
    name: "payroll",
    address: fx.agent.address,
    escalationDelay: "1h",
    gracePeriod: "1d",
    recipientMode: "any",
  } as unknown as PolicyAgent;
  const tools = new TreasuryTools({
    client,
    provider: ethers.provider,
    module: fx.module,
    lens: fx.lens,
    safe: fx.safeAddress,
    agentName: "payroll",
    network: "hardhat",
    tokens,
    policyAgent,
  });
  await tools.init();
  return { fx, tools, client };
}

const pay = (tools: TreasuryTools, args: Record<string, unknown>) =>
  tools
    .submit("treasury_pay", "submit", { reason: "a reason", ...args } as never)
    .then((r) => r.data as Record<string, unknown>);

describe("MCP tools under a USD limit", function () {
  it("tells the model its dollar budget across all assets among the rules [test_rules_usdLimit_describedInDollars]", async function () {
    const { tools, client } = await usdToolsFixture();
    expect(tools.instructions).to.contain(
      "- In dollars, across all assets together: up to $1500 per payment and $3000 in any 1d executes at once, on top of the limits above",
    );
    expect(tools.instructions).to.contain(
      "When an asset's price cannot be trusted (a stale or broken feed), its payments are QUEUED for the co-signers, without a strike.",
    );
    client.close();
  });

  it("treasury_limits shows the USD budget beside the per-asset ones, with what frees up and the prices [test_limits_usdBudget_leftFreesAndPrices]", async function () {
    const { fx, tools, client } = await usdToolsFixture();
    const before = (await tools.limits()).data;
    expect(before.usd).to.deep.equal({
      autoPerTx: "1500",
      autoPerWindow: "3000",
      window: "1d",
      escalatedPerTx: "20000",
      availableNow: "3000",
      largestAutoPaymentNow: "1500",
      frees: [],
      prices: [
        { asset: "ETH", price: "2000" },
        { asset: "USDC", price: "1" },
        { asset: "DAI", price: "1" },
        { asset: "WETH", fault: "NoFeed" },
      ],
    });
    await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "1000" });
    await pay(tools, { asset: "ETH", to: fx.alice.address, amount: "0.6" }); // $1,200
    const after = await tools.limits();
    expect(after.data.usd).to.deep.include({ availableNow: "800", largestAutoPaymentNow: "800" });
    expect(after.data.usd!.frees.map((f) => f.amount)).to.deep.equal(["1000", "1200"]);
    // The USDC window alone has 4,000 left: the dollar budget is what binds.
    expect(after.data.assets.find((a) => a.asset === "USDC")!.availableNow).to.equal("4000");
    expect(after.text).to.contain(
      "USD, all assets together: $800 left of $3000 per 1d; largest payment that executes now: $800; queued for co-signers up to $20000 per payment. Prices now: ETH $2000, USDC $1, DAI $1. No trustworthy price for WETH (NoFeed): payments in it wait for co-signers.",
    );
    client.close();
  });

  it("tells the model a payment waits for the USD window or for a price, not for its amount in the asset [test_queued_byUsdWindowOrNoPrice_saysWhy]", async function () {
    const { fx, tools, client } = await usdToolsFixture();
    expect((await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "1000" })).status).to.equal("Executed");
    expect((await pay(tools, { asset: "ETH", to: fx.alice.address, amount: "0.75" })).status).to.equal("Executed"); // $1,500
    // $500 left in dollars; the USDC window has 4,000 left and 600 is within its autoPerTx of 1,000.
    const overBudget = await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "600" });
    expect(overBudget.status).to.equal("Queued");
    expect(overBudget.queuedBecause).to.deep.equal(["above-usd-window"]);
    expect(String(overBudget.message)).to.contain("your dollar budget across all assets has less left than its value");

    await (await fx.ethFeed.setMode(FeedMode.Revert)).wait();
    const unpriced = await pay(tools, { asset: "ETH", to: fx.alice.address, amount: "0.01" });
    expect(unpriced.status).to.equal("Queued");
    expect(unpriced.queuedBecause).to.deep.equal(["no-trustworthy-price"]);
    expect(String(unpriced.message)).to.contain("there is no trustworthy price for the asset right now");
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
    client.close();
  });
});
