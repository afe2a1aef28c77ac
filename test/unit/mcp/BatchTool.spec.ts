/**
 * The MCP batch tool, treasury_pay_many (mcp/tools/batch-tools.ts), in-process against the fixture's treasury: a dry run that
 * says what each payment would do, the batch in one transaction, a retry that pays nothing twice (also across
 * treasury_pay), a denial explained, and a malformed entry named by its index.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import { AgentClient, Journal } from "../../../sdk";
import { BATCH_TOOL, TreasuryTools, toolError } from "../../../mcp/tools";
import type { PolicyAgent } from "../../../core/policy";
import { treasuryFixture } from "../../fixtures";

const usdc = (n: string) => parseUnits(n, 6);

/** The fixture's treasury (a snapshot) with a fresh client, journal and tools for each test. */
async function batchTools() {
  const fx = await loadFixture(treasuryFixture);
  const client = await AgentClient.connect({
    module: fx.moduleAddress,
    signer: fx.agent,
    relayer: fx.relayer,
    journal: Journal.inMemory(),
    tokens: { USDC: fx.usdcAddress },
    lens: await fx.lens.getAddress(),
    pollIntervalMs: 20,
  });
  const tools = new TreasuryTools({
    client,
    provider: ethers.provider,
    module: fx.module,
    lens: fx.lens,
    safe: fx.safeAddress,
    agentName: "payroll",
    network: "hardhat",
    tokens: { USDC: fx.usdcAddress },
    policyAgent: {
      name: "payroll",
      address: fx.agent.address,
      recipientMode: "any",
      allowedCalls: [],
    } as unknown as PolicyAgent,
  });
  await tools.init();
  return { fx, tools, client };
}

describe(`MCP ${BATCH_TOOL}`, function () {
  it("test_payMany_dryRunThenSend_oneTransactionAndTheSameStatuses", async function () {
    const { fx, tools, client } = await batchTools();
    const payments = [
      { asset: "USDC", to: fx.alice.address, amount: "400", reason: "January salary, Alice" },
      { asset: "USDC", to: fx.bob.address, amount: "4000", reason: "January bonus, Bob" },
      { asset: "ETH", to: fx.bob.address, amount: "0.5", reason: "January expenses, Bob" },
    ];
    const dry = await tools.payMany({ payments, dryRun: true });
    expect(dry.data.payments.map((p) => p.status)).to.deep.equal(["Executed", "Queued", "Executed"]);
    expect(dry.data.payments[1].queuedBecause).to.deep.equal(["above-auto-per-tx"]);
    expect(dry.data.message).to.equal(
      "Dry run of 3 payments: 2 would execute, 1 would be queued for the co-signers. Nothing was signed or sent.",
    );
    expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);

    const sent = await tools.payMany({ payments });
    expect(sent.data.payments.map((p) => [p.status, p.replay])).to.deep.equal([
      ["Executed", false],
      ["Queued", false],
      ["Executed", false],
    ]);
    expect(sent.data.sent).to.equal(3);
    expect(sent.data.txHash).to.match(/^0x[0-9a-f]{64}$/);
    expect(sent.data.next).to.match(/co-signers must approve the queued payments/);
    expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("400"));
    client.close();
  });

  it("test_payMany_retryAndAPaymentMadeWithTreasuryPay_areReplaysNothingPaidTwice", async function () {
    const { fx, tools, client } = await batchTools();
    const alice = { asset: "USDC", to: fx.alice.address, amount: "10", reason: "refund order 1" };
    const bob = { asset: "USDC", to: fx.bob.address, amount: "20", reason: "refund order 2" };
    const single = await tools.submit("treasury_pay", "submit", alice);
    const first = await tools.payMany({ payments: [alice, bob] });
    expect(first.data.payments.map((p) => p.replay)).to.deep.equal([true, false]);
    expect(first.data.payments[0].intentId).to.equal(single.data.intentId);
    expect(first.data.sent).to.equal(1);

    const again = await tools.payMany({ payments: [alice, bob] });
    expect(again.data.sent).to.equal(0);
    expect(again.data).to.not.have.property("txHash");
    expect(again.data.message).to.equal(
      "Every one of the 2 payments had been made before: nothing was sent. 0 executed, 2 made before (nothing new).",
    );
    expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("10"));
    expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("20"));
    client.close();
  });

  it("test_payMany_deniedPayment_isExplainedAndTheNextStepSaysDoNotResend", async function () {
    const { fx, tools, client } = await batchTools();
    const payments = [
      { asset: "USDC", to: fx.alice.address, amount: "1", reason: "tip" },
      { asset: "USDC", to: fx.bob.address, amount: "60000", reason: "a huge invoice" },
    ];
    const r = await tools.payMany({ payments });
    expect(r.data.payments[1]).to.deep.include({ status: "Denied", reason: "AboveHardCap" });
    expect(r.data.payments[1].explanation).to.match(/^The amount is above your hard cap per request/);
    expect(r.data.next).to.match(/^Do not resend the DENIED payments/);
    client.close();
  });

  it("test_payMany_frozenAgent_refusedNamingTheFirstPaymentAsItsArgument", async function () {
    const { fx, tools, client } = await batchTools();
    await (await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address)).wait();
    const payments = [{ asset: "USDC", to: fx.alice.address, amount: "1", reason: "tip" }];
    const err = await tools.payMany({ payments }).catch((e: unknown) => e);
    const text = (toolError(err).content[0] as { text: string }).text;
    expect(text).to.match(/^AGENT_FROZEN: payments\[0\]: /);
    expect(text).to.match(/Nothing of the batch was sent or recorded\./);
    client.close();
  });

  it("test_payMany_malformedEntry_namesItsIndexAndSignsNothing", async function () {
    const { fx, tools, client } = await batchTools();
    const payments = [
      { asset: "USDC", to: fx.alice.address, amount: "1", reason: "tip" },
      { asset: "USDC", to: fx.bob.address, amount: "0", reason: "nothing" },
    ];
    const err = await tools.payMany({ payments }).catch((e: unknown) => e);
    const text = (toolError(err).content[0] as { text: string }).text;
    expect(text).to.equal("INVALID_REQUEST: payments[1]: amount is 0: there is nothing to pay. Nothing was signed.");
    expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
    client.close();
  });
});
