/**
 * agent:call with a call that has argument conditions (SPEC section 11, v3; tasks/lib/conditions.ts and
 * sdk/callReport.ts): the call decoded in words and each condition met or not, in `--json` (`callConditions`) and on
 * the terminal, with argument names from `--function` or, for bare `--data`, from the deployment's policy file. The
 * task runs in-process against the fixture's treasury (agent "payroll") with a router double that has
 * SwapRouter02's `exactInputSingle` and the swap's four conditions.
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import { writeDeployment } from "../../core/deployment";
import { EXACT_INPUT_SINGLE } from "../../core/localUniswap";
import { conditionedRouterFixture, fixtureDeploymentRecord } from "../fixtures";
import { runTaskCapturing } from "../inProcessTask";

type Json = Record<string, unknown>;
const USDC = (n: string) => parseUnits(n, 6);
const EXAMPLE = path.join(__dirname, "../../deploy/examples/dao.json");

type Fx = Awaited<ReturnType<typeof conditionedRouterFixture>>;

describe("agent:call with argument conditions", function () {
  const saved = process.env.DEPLOYMENTS_DIR;
  after(function () {
    if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
    else process.env.DEPLOYMENTS_DIR = saved;
  });

  async function taskFixture(): Promise<Fx> {
    const fx = await loadFixture(conditionedRouterFixture);
    process.env.DEPLOYMENTS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "atg-call-conditions-"));
    // The example policy names exactInputSingle's parameters: the task takes argument names from it for --data.
    // The record names the router as the pipeline names the local Uniswap's (contracts), so --target may name it.
    const record = await fixtureDeploymentRecord(fx);
    writeDeployment({
      ...record,
      tokens: { USDC: fx.usdcAddress, WETH: fx.wethAddress },
      contracts: { SwapRouter02: fx.routerAddress },
      policyFile: EXAMPLE,
    });
    return fx;
  }

  async function runJson(args: Json): Promise<Json> {
    const { stdout, exitCode } = await runTaskCapturing("agent:call", { json: true, agent: "payroll", ...args });
    expect(exitCode, stdout).to.equal(0);
    const lines = stdout.trim().split("\n");
    expect(lines, stdout).to.have.length(1);
    return JSON.parse(lines[0]) as Json;
  }

  it("a dry run of a swap on the router named by the record decodes it by the --function names and shows each condition met, with the charge [test_agentCall_dryRunSwap_conditionsInWordsAllMet]", async function () {
    const fx = await taskFixture();
    const blockBefore = await ethers.provider.getBlockNumber();
    const out = await runJson({
      target: "SwapRouter02",
      function: EXACT_INPUT_SINGLE,
      args: JSON.stringify(fx.swapArgs(fx.safeAddress, USDC("500"))),
      dryRun: true,
      reason: "rebalance",
    });
    expect(out).to.include({ dryRun: true, status: "Executed" });
    expect(out.callConditions).to.deep.equal({
      call: `exactInputSingle(tokenIn USDC, tokenOut WETH, fee 3000, recipient the Safe, amountIn 500000000, amountOutMinimum 0, sqrtPriceLimitX96 0)`,
      conditions: [
        { text: `tokenIn is USDC (${fx.usdcAddress})`, met: true, actual: `USDC (${fx.usdcAddress})` },
        { text: `tokenOut is WETH (${fx.wethAddress})`, met: true, actual: `WETH (${fx.wethAddress})` },
        { text: "recipient is the Safe", met: true, actual: `the Safe (${fx.safeAddress})` },
        {
          text: `amountIn charged as USDC (${fx.usdcAddress}) (to the agent's limits, like a payment)`,
          met: true,
          actual: "500000000",
        },
      ],
      met: true,
      charges: "500 USDC",
    });
    // The preview's raw checks are not printed a second time.
    expect(out).to.not.have.property("conditions");
    expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
  });

  it("a swap to another recipient is denied TargetNotAllowed, and the report names the failed condition and the value, from the policy file's names for --data [test_agentCall_swapToAnotherRecipient_deniedFailedConditionNamed]", async function () {
    const fx = await taskFixture();
    const data = fx.swapData(fx.bob.address, USDC("500"));
    const out = await runJson({ target: fx.routerAddress, data, reason: "rebalance" });
    expect(out).to.include({ status: "Denied", reason: "TargetNotAllowed" });
    const report = out.callConditions as { call: string; conditions: Json[]; met: boolean; charges?: string };
    expect(report.call).to.equal(
      `exactInputSingle(tokenIn USDC, tokenOut WETH, fee 3000, recipient ${fx.bob.address}, amountIn 500000000, amountOutMinimum 0, sqrtPriceLimitX96 0)`,
    );
    expect(report.met).to.equal(false);
    expect(report.conditions.filter((c) => !c.met)).to.deep.equal([
      { text: "recipient is the Safe", met: false, actual: fx.bob.address },
    ]);
    expect(report).to.not.have.property("charges");
    expect(await fx.weth.getFunction("balanceOf")(fx.bob.address)).to.equal(0n);
  });

  it("intent:show gives the co-signers a queued swap's conditions in words, as the module will check them at execution [test_intentShow_queuedSwap_conditionsInWords]", async function () {
    const fx = await taskFixture();
    // 2,000 USDC is above the agent's 1,000 autoPerTx: the charged swap is queued like a payment.
    const queued = await runJson({
      target: fx.routerAddress,
      function: EXACT_INPUT_SINGLE,
      args: JSON.stringify(fx.swapArgs(fx.safeAddress, USDC("2000"))),
    });
    expect(queued).to.include({ status: "Queued" });
    expect((queued.callConditions as Json).charges).to.equal("2000 USDC");
    const { stdout, exitCode } = await runTaskCapturing("intent:show", { json: true, intentId: queued.intentId });
    expect(exitCode, stdout).to.equal(0);
    const shown = JSON.parse(stdout.trim()) as Json;
    expect(shown).to.include({ status: "Queued", agentName: "payroll" });
    const report = shown.callConditions as { call: string; conditions: Json[]; met: boolean; charges: string };
    expect(report.call).to.equal(
      "exactInputSingle(tokenIn USDC, tokenOut WETH, fee 3000, recipient the Safe, amountIn 2000000000, amountOutMinimum 0, sqrtPriceLimitX96 0)",
    );
    expect(report.conditions.map((c) => [c.text, c.met])).to.deep.equal([
      [`tokenIn is USDC (${fx.usdcAddress})`, true],
      [`tokenOut is WETH (${fx.wethAddress})`, true],
      ["recipient is the Safe", true],
      [`amountIn charged as USDC (${fx.usdcAddress}) (to the agent's limits, like a payment)`, true],
    ]);
    expect(report).to.include({ met: true, charges: "2000 USDC" });
  });

  it("on the terminal, a swap prints the call and its conditions in words, the failed one marked [test_agentCall_terminal_conditionsLines]", async function () {
    const fx = await taskFixture();
    const { stdout } = await runTaskCapturing("agent:call", {
      json: false,
      agent: "payroll",
      target: fx.routerAddress,
      function: EXACT_INPUT_SINGLE,
      args: JSON.stringify(fx.swapArgs(fx.bob.address, USDC("500"))),
      dryRun: true,
    });
    expect(stdout).to.contain("The call's conditions (v3):");
    expect(stdout).to.contain(
      `  call: exactInputSingle(tokenIn USDC, tokenOut WETH, fee 3000, recipient ${fx.bob.address}, amountIn 500000000,`,
    );
    expect(stdout).to.contain("  met    tokenIn is USDC");
    expect(stdout).to.contain(`  FAILS  recipient is the Safe (the call has ${fx.bob.address})`);
  });
});
