/**
 * The MCP tools in-process (the fixture's treasury on the in-process chain, no stdio): what the model is told when
 * an intent is queued (the real reason, from the module's decision), what a call that spends ETH reports, what the
 * dry-run tool says compared with what the real request then does, and one error prefix per kind of mistake.
 * The stdio server itself is exercised by test/e2e/mcp.spec.ts.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import { z } from "zod";
import { AgentClient, InvalidRequestError, Journal } from "../../../sdk";
import { OutcomeOutput, ToolArgumentError, TreasuryTools, toolError } from "../../../mcp/tools";
import type { PolicyAgent } from "../../../core/policy";
import { DAY, RecipientMode, agentConfig, conditionedRouterFixture, treasuryFixture } from "../../fixtures";
import { EXACT_INPUT_SINGLE } from "../../../core/localUniswap";

async function toolsFixture() {
  const fx = await loadFixture(treasuryFixture);
  const target = await ethers.deployContract("MockCallTarget");
  const targetAddress = await target.getAddress();
  const ping = target.interface.getFunction("ping")!.selector;
  await fx.asOwners(
    fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, targetAddress, ping, true]),
  );
  const client = await AgentClient.connect({
    module: fx.moduleAddress,
    signer: fx.agent,
    relayer: fx.relayer,
    journal: Journal.inMemory(),
    tokens: { USDC: fx.usdcAddress },
    lens: await fx.lens.getAddress(),
    pollIntervalMs: 20,
  });
  const policyAgent = {
    name: "payroll",
    address: fx.agent.address,
    escalationDelay: "1h",
    gracePeriod: "1d",
    recipientMode: "any",
    allowedCalls: [{ target: targetAddress, signature: "ping(uint256)" }],
  } as unknown as PolicyAgent;
  const tools = new TreasuryTools({
    client,
    provider: ethers.provider,
    module: fx.module,
    lens: fx.lens,
    safe: fx.safeAddress,
    agentName: "payroll",
    network: "hardhat",
    tokens: { USDC: fx.usdcAddress },
    policyAgent,
  });
  await tools.init();
  return { fx, tools, client, targetAddress };
}

type Data = OutcomeOutput & Record<string, unknown>;
const pay = (
  tools: TreasuryTools,
  args: Record<string, unknown>,
  tool: "treasury_pay" | "treasury_propose" = "treasury_pay",
) =>
  tools
    .submit(tool, tool === "treasury_pay" ? "submit" : "propose", { reason: "a reason", ...args } as never)
    .then((r) => r.data as Data);

describe("MCP tools (in-process)", function () {
  describe("when an intent is queued, the model is told the real reason", function () {
    it("test_queued_aboveAutoPerTx_saysTheAmountIsAboveWhatItMayPayAlone", async function () {
      const { fx, tools, client } = await toolsFixture();
      const r = await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "2500" });
      expect(r.status).to.equal("Queued");
      expect(r.queuedBecause).to.deep.equal(["above-auto-per-tx"]);
      expect(r.message).to.include("because the amount is above what you may pay alone in one payment (autoPerTx)");
      client.close();
    });

    it("test_queued_unknownRecipient_saysTheRecipientIsUnknown_notTheAmount", async function () {
      const { fx, tools, client } = await toolsFixture();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAgent", [
          fx.agent.address,
          agentConfig({ recipientMode: RecipientMode.EscalateUnknown }),
        ]),
      );
      const r = await pay(tools, { asset: "USDC", to: fx.bob.address, amount: "10" });
      expect(r.queuedBecause).to.deep.equal(["unknown-recipient"]);
      expect(r.message).to.include("because the recipient is not on your allowlist");
      expect(r.message).to.not.include("above what you may");
      client.close();
    });

    it("test_queued_treasuryWideLimit_saysItIsTheTreasuryLimit", async function () {
      const { fx, tools, client } = await toolsFixture();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setTreasuryLimit", [fx.usdcAddress, parseUnits("50", 6), DAY]),
      );
      const r = await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "60" });
      expect(r.queuedBecause).to.deep.equal(["treasury-limit"]);
      expect(r.message).to.include("because the treasury-wide limit for this asset");
      client.close();
    });

    it("test_queued_reviewRequested_saysTheAgentAskedForReview", async function () {
      const { fx, tools, client } = await toolsFixture();
      const r = await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "10" }, "treasury_propose");
      expect(r.queuedBecause).to.deep.equal(["review-requested"]);
      expect(r.message).to.include("because you asked for human review");
      client.close();
    });
  });

  describe("when a call spends ETH", function () {
    it("test_call_withEthValue_reportsTheEthAllowanceLeft", async function () {
      const { fx, tools, client, targetAddress } = await toolsFixture();
      const r = (
        await tools.submit("treasury_call", "submit", {
          target: targetAddress,
          function: "ping(uint256)",
          args: ["7"],
          value: "0.25",
          reason: "ping it",
        } as never)
      ).data as Data;
      expect(r.status).to.equal("Executed");
      expect(r.allowanceLeft).to.deep.equal({ asset: "ETH", amount: "2.75" });
      expect(await fx.module.availableAllowance(fx.agent.address, ethers.ZeroAddress)).to.equal(parseEther("2.75"));
      client.close();
    });
  });

  describe("treasury_dry_run", function () {
    const cases: [string, Record<string, unknown>, string, RegExp][] = [
      [
        "within limits",
        { asset: "USDC", to: "alice", amount: "100" },
        "Executed",
        /EXECUTES at once: pay 100 USDC .* You may spend 5000 USDC automatically/,
      ],
      [
        "above autoPerTx",
        { asset: "USDC", to: "alice", amount: "1500" },
        "Queued",
        /QUEUED for the human co-signers: .* because the amount is above what you may pay alone/,
      ],
      [
        "above the hard cap",
        { asset: "ETH", to: "alice", amount: "11" },
        "Denied",
        /DENIED \(AboveHardCap\).* It would be strike 1 of 3\./,
      ],
      [
        "a review",
        { asset: "USDC", to: "alice", amount: "1", review: true },
        "Queued",
        /because you asked for human review/,
      ],
    ];
    for (const [name, args, status, message] of cases) {
      it(`test_dryRun_${name.replace(/ /g, "_")}_${status}_thenTheRealRequestIs${status}`, async function () {
        const { fx, tools, client } = await toolsFixture();
        const { review, ...request } = { ...args, to: fx.alice.address, reason: "check first" } as Record<
          string,
          unknown
        >;
        const nonce = await fx.module.getNonce(fx.agent.address, 0);
        const dry = (await tools.dryRun({ ...request, ...(review ? { review: true } : {}) } as never)).data;
        expect(dry).to.deep.include({ dryRun: true, status, replay: false, explained: true });
        expect(dry.message).to.match(message);
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(nonce);
        const real = await pay(tools, request, review ? "treasury_propose" : "treasury_pay");
        expect(real.status).to.equal(status);
        expect(real.intentId).to.equal(dry.intentId);
        client.close();
      });
    }

    it("test_dryRun_assetWithoutLimit_warnsOfTheStrikeThatWouldFreeze", async function () {
      const { fx, tools, client } = await toolsFixture();
      const dai = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
      for (let i = 0; i < 2; i++)
        await pay(tools, { asset: "ETH", to: fx.alice.address, amount: "20", idempotencyKey: `too-much-${i}` });
      const dry = (
        await tools.dryRun({ asset: await dai.getAddress(), to: fx.alice.address, amount: "1", reason: "dai" } as never)
      ).data;
      expect(dry).to.deep.include({ status: "Denied", reason: "AssetNotAllowed" });
      expect(dry.strikes).to.deep.equal({ now: 2, max: 3, wouldFreeze: true });
      expect(dry.message).to.include("It would be strike 3 of 3, which FREEZES you.");
      expect(dry.next).to.match(/^Do not submit it\./);
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
      client.close();
    });

    it("test_dryRun_sameRequestAgain_saysReplay", async function () {
      const { fx, tools, client } = await toolsFixture();
      const real = await pay(tools, { asset: "USDC", to: fx.alice.address, amount: "3" });
      const dry = (
        await tools.dryRun({ asset: "USDC", to: fx.alice.address, amount: "3", reason: "again, other words" } as never)
      ).data;
      expect(dry).to.deep.include({ replay: true, intentId: real.intentId, status: "Executed" });
      client.close();
    });
  });

  describe("errors", function () {
    const rows: [string, unknown, RegExp][] = [
      [
        "schema",
        new z.ZodError([
          { code: "custom", path: ["reason"], message: "reason is required: say why you make this request" },
        ]),
        /^INVALID_REQUEST: reason is required.*Nothing was signed\.$/,
      ],
      [
        "tool argument",
        new ToolArgumentError("to is the zero address: anything sent there is lost."),
        /^INVALID_REQUEST: to is the zero address.*Nothing was signed\.$/,
      ],
      [
        "client library",
        new InvalidRequestError('amount "ten" is not a decimal number'),
        /^INVALID_REQUEST: amount "ten" is not a decimal number Nothing was signed\.$/,
      ],
      [
        "node down",
        Object.assign(new Error("could not detect network"), { code: "NETWORK_ERROR" }),
        /^RPC_UNAVAILABLE: .*Retry the same request/,
      ],
      [
        // A DNS failure wrapped by fetch and again by ethers: the code sits two levels down.
        "node unreachable wrapped",
        Object.assign(new Error("request failed"), {
          code: "UNKNOWN_ERROR",
          error: Object.assign(new Error("fetch failed"), {
            cause: Object.assign(new Error("dns"), { code: "ENOTFOUND" }),
          }),
        }),
        /^RPC_UNAVAILABLE: request failed\. Retry the same request/,
      ],
      [
        "anything else",
        Object.assign(new Error("value out-of-bounds"), { code: "INVALID_ARGUMENT" }),
        /^INTERNAL_ERROR: value out-of-bounds\. .*repeating the request will not change it/,
      ],
    ];
    for (const [name, error, text] of rows) {
      it(`test_toolError_${name.replace(/ /g, "_")}_onePrefixPerKind`, function () {
        const r = toolError(error);
        expect(r.isError).to.equal(true);
        expect((r.content[0] as { text: string }).text).to.match(text);
        if (!name.startsWith("node ")) expect((r.content[0] as { text: string }).text).to.not.match(/Retry/i);
      });
    }

    it("test_pay_amountOf1Followed80Zeros_clearErrorWithoutRetryAdvice", async function () {
      const { fx, tools, client } = await toolsFixture();
      const r = await tools.run(() =>
        tools.submit("treasury_pay", "submit", {
          asset: "USDC",
          to: fx.alice.address,
          amount: `1${"0".repeat(80)}`,
          reason: "huge",
        } as never),
      );
      const text = (r.content[0] as { text: string }).text;
      expect(r.isError).to.equal(true);
      expect(text).to.match(/^INVALID_REQUEST: amount "10+" is above the largest amount a uint256 can hold/);
      expect(text).to.not.match(/retry/i);
      client.close();
    });
  });

  describe("a call with argument conditions (v3)", function () {
    const USDC = (n: string) => parseUnits(n, 6);
    const SWAP_SIGNATURE = EXACT_INPUT_SINGLE;

    /** The fixture's agent may swap USDC for WETH on a router double, under the example policy's four conditions. */
    async function swapToolsFixture() {
      const fx = await loadFixture(conditionedRouterFixture);
      const tokens = { USDC: fx.usdcAddress, WETH: fx.wethAddress };
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
        name: "trading",
        address: fx.agent.address,
        escalationDelay: "1h",
        gracePeriod: "1d",
        recipientMode: "any",
        allowedCalls: [
          {
            target: "SwapRouter02",
            signature: SWAP_SIGNATURE,
            conditions: [
              { arg: "tokenIn", is: "USDC" },
              { arg: "tokenOut", is: "WETH" },
              { arg: "recipient", is: "safe" },
              { arg: "amountIn", chargeAs: "USDC" },
            ],
          },
        ],
      } as unknown as PolicyAgent;
      const tools = new TreasuryTools({
        client,
        provider: ethers.provider,
        module: fx.module,
        lens: fx.lens,
        safe: fx.safeAddress,
        agentName: "trading",
        network: "hardhat",
        tokens,
        contracts: { SwapRouter02: fx.routerAddress },
        policyAgent,
      });
      await tools.init();
      const swapArgs = (recipient: string, amountIn: string) => fx.swapArgs(recipient, USDC(amountIn));
      return { fx, tools, client, routerAddress: fx.routerAddress, wethAddress: fx.wethAddress, swapArgs };
    }

    it("the rules and treasury_limits say each allowed call's conditions in words, the router by name and address [test_mcp_rulesAndLimits_conditionsInWords]", async function () {
      const { tools, client, routerAddress } = await swapToolsFixture();
      expect(tools.instructions).to.include(
        `exactInputSingle on SwapRouter02 (${routerAddress}) only when tokenIn is USDC, tokenOut is WETH, recipient is the Safe, ` +
          "amountIn is charged to the agent's USDC limits, like a payment",
      );
      const { data } = await tools.limits();
      expect((data as unknown as { allowedCalls: unknown[] }).allowedCalls).to.deep.equal([
        {
          target: routerAddress,
          function: SWAP_SIGNATURE,
          conditions: [
            "tokenIn is USDC",
            "tokenOut is WETH",
            "recipient is the Safe",
            "amountIn is charged to the agent's USDC limits, like a payment",
          ],
        },
      ]);
      client.close();
    });

    it("treasury_call of a swap to another recipient is denied, and the model is told which condition failed and why [test_mcp_call_swapToAnotherRecipient_deniedFailedConditionNamed]", async function () {
      const { fx, tools, client, swapArgs } = await swapToolsFixture();
      const r = (
        await tools.submit("treasury_call", "submit", {
          target: "SwapRouter02",
          function: SWAP_SIGNATURE,
          args: swapArgs(fx.bob.address, "500"),
          reason: "rebalance",
        } as never)
      ).data as Data & {
        callConditions: { met: boolean; conditions: { text: string; met: boolean; actual?: string }[] };
      };
      expect(r.status).to.equal("Denied");
      expect(r.denial?.reason).to.equal("TargetNotAllowed");
      expect(r.callConditions.met).to.equal(false);
      expect(r.callConditions.conditions.filter((c) => !c.met)).to.deep.equal([
        { text: "recipient is the Safe", met: false, actual: fx.bob.address },
      ]);
      expect(r.message).to.include(`recipient is the Safe (FAILS: the call has ${fx.bob.address})`);
      client.close();
    });

    it("treasury_dry_run of a swap within the conditions says it executes and what it charges, then the swap executes [test_mcp_dryRun_swapWithinConditions_executesAndCharges]", async function () {
      const { fx, tools, client, swapArgs, wethAddress } = await swapToolsFixture();
      const request = {
        target: "SwapRouter02",
        function: SWAP_SIGNATURE,
        args: swapArgs(fx.safeAddress, "500"),
        reason: "rebalance",
      };
      const dry = (await tools.dryRun(request as never)).data as Record<string, unknown> & {
        message: string;
        callConditions: { met: boolean; charges: string };
      };
      expect(dry.status).to.equal("Executed");
      expect(dry.callConditions).to.include({ met: true, charges: "500 USDC" });
      expect(dry.message).to.include("It is charged to your limits like a payment of 500 USDC.");
      const r = (await tools.submit("treasury_call", "submit", request as never)).data as Data;
      expect(r.status).to.equal("Executed");
      const weth = await ethers.getContractAt("MockERC20", wethAddress);
      expect(await weth.balanceOf(fx.safeAddress)).to.equal(USDC("500"));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(USDC("4500"));
      client.close();
    });
  });
});
