/**
 * The console's queue (console/state.ts readConsoleState) gives the co-signers a queued call's argument conditions in
 * words (SPEC section 11, v3): the call decoded by the policy file's parameter names, each condition met or not by
 * its calldata under the conditions the module holds now, and what it charges; a conditions change the queued call no
 * longer meets shows as failing before anyone executes it (the module would revert it).
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import hre, { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits, toBeHex, zeroPadValue } from "ethers";
import { readConsoleState } from "../../console/state";
import { ConsoleStore } from "../../console/store";
import {
  Status,
  buildIntent,
  conditionedRouterFixture,
  fixtureDeploymentRecord,
  intentId,
  submitSigned,
} from "../fixtures";

const USDC = (n: string) => parseUnits(n, 6);
const EXAMPLE = path.join(__dirname, "../../deploy/examples/dao.json");

describe("Console: a queued call's conditions", function () {
  async function queuedSwap() {
    const fx = await loadFixture(conditionedRouterFixture);
    // 2,000 USDC is above the agent's 1,000 autoPerTx: the charged swap waits for the co-signers.
    const intent = await buildIntent(fx, { target: fx.routerAddress, data: fx.swapData(fx.safeAddress, USDC("2000")) });
    await (await submitSigned(fx, intent)).wait();
    expect((await fx.module.intent(intentId(fx, intent))).status).to.equal(Status.Queued);
    const record = {
      ...(await fixtureDeploymentRecord(fx)),
      tokens: { USDC: fx.usdcAddress, WETH: fx.wethAddress },
      contracts: { SwapRouter02: fx.routerAddress },
      policyFile: EXAMPLE,
    };
    const read = () =>
      readConsoleState({
        chain: { provider: ethers.provider, artifacts: hre.artifacts, network: "hardhat" },
        network: "hardhat",
        record,
        journals: [],
        store: new ConsoleStore(fs.mkdtempSync(path.join(os.tmpdir(), "atg-console-conditions-"))),
        alerts: [],
        batches: [],
      });
    return { fx, read };
  }

  it("shows the queued swap's conditions in words, all met, with the charge [test_consoleState_queuedSwap_conditionsInWords]", async function () {
    const { fx, read } = await queuedSwap();
    const state = await read();
    expect(state.queue).to.have.length(1);
    expect(state.queue[0].conditions).to.deep.equal({
      call: "exactInputSingle(tokenIn USDC, tokenOut WETH, fee 3000, recipient the Safe, amountIn 2000000000, amountOutMinimum 0, sqrtPriceLimitX96 0)",
      conditions: [
        { text: `tokenIn is USDC (${fx.usdcAddress})`, met: true, actual: `USDC (${fx.usdcAddress})` },
        { text: `tokenOut is WETH (${fx.wethAddress})`, met: true, actual: `WETH (${fx.wethAddress})` },
        { text: "recipient is the Safe", met: true, actual: `the Safe (${fx.safeAddress})` },
        {
          text: `amountIn charged as USDC (${fx.usdcAddress}) (to the agent's limits, like a payment)`,
          met: true,
          actual: "2000000000",
        },
      ],
      met: true,
      charges: "2000 USDC",
    });
  });

  it("shows a condition the owners added after queueing as failing, before anyone executes [test_consoleState_conditionsChangedAfterQueueing_showsTheFailingOne]", async function () {
    const { fx, read } = await queuedSwap();
    // The owners cap amountIn at 1,000 USDC (word 4 LessOrEqual) while the 2,000 USDC swap waits.
    const capped = [
      { word: 0n, op: 0n, value: zeroPadValue(fx.usdcAddress, 32) },
      { word: 1n, op: 0n, value: zeroPadValue(fx.wethAddress, 32) },
      { word: 3n, op: 1n, value: zeroPadValue("0x", 32) },
      { word: 4n, op: 4n, value: zeroPadValue(fx.usdcAddress, 32) },
      { word: 4n, op: 2n, value: zeroPadValue(toBeHex(USDC("1000")), 32) },
    ];
    await fx.asOwners(
      fx.module.interface.encodeFunctionData("setCallConditions", [
        fx.agent.address,
        fx.routerAddress,
        fx.swapSelector,
        capped,
      ]),
    );
    const report = (await read()).queue[0].conditions!;
    expect(report.met).to.equal(false);
    expect(report.conditions.filter((c) => !c.met)).to.deep.equal([
      { text: "amountIn at most 1000000000", met: false, actual: "2000000000" },
    ]);
    expect(report).to.not.have.property("charges");
  });
});
