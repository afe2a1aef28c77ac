/**
 * Issue 4's rows: the gas of a full local deployment of the example policy (Safe + module + policy) and the wall
 * time of `treasury:deploy` against a `hardhat node`. Gas is summed over every transaction the pipeline mined;
 * the wall time is one cold run of the CLI as a deployer would type it (a measurement, not a test).
 */
import fs from "fs";
import os from "os";
import path from "path";
import hre from "hardhat";
import { deployFromPolicy } from "../../deploy/pipeline";
import { cliWallets } from "../../tasks/lib/keys";
import { runCli, startNode } from "../../testkit/localNode";
import { Rows } from "./report";

export const EXAMPLE_POLICY = "deploy/examples/dao.json";

/** Deploys the example policy on the in-process chain and adds `full local deployment` (total gas, tx count). */
export async function measureFullDeployment(rows: Rows): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-bench-deploy-"));
  try {
    // A fresh chain at today's time: the benchmark's fixed clock lies years ahead, past the example's key expiry.
    // Run this section last: it discards everything the other sections deployed.
    await hre.network.provider.send("hardhat_reset", []);
    const provider = hre.ethers.provider;
    const first = (await provider.getBlockNumber()) + 1;
    const result = await deployFromPolicy(hre, EXAMPLE_POLICY, {
      keys: cliWallets(hre),
      log: () => undefined,
      deploymentsDir: dir,
    });
    const last = await provider.getBlockNumber();
    let gas = 0n;
    let txs = 0;
    for (let n = first; n <= last; n++) {
      const block = await provider.getBlock(n, false);
      if (!block) continue;
      gas += block.gasUsed;
      txs += block.transactions.length;
    }
    if (txs === 0) throw new Error(`deployFromPolicy mined nothing (changed: ${result.changed.join(", ")})`);
    rows.add({
      name: "full local deployment",
      gas,
      note: `${txs} transactions: Safe 1.5.0, module, lens, example policy`,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface DeployTiming {
  name: string;
  ms: number;
  changed: number;
}

/** Runs `npx hardhat treasury:deploy --policy <example> --json` against a fresh `hardhat node`, then again. */
export async function timeDeployTask(): Promise<DeployTiming[]> {
  const node = await startNode();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-bench-cli-"));
  try {
    const args = ["treasury:deploy", "--policy", EXAMPLE_POLICY, "--json"];
    const timings: DeployTiming[] = [];
    for (const name of ["treasury:deploy wall time (fresh node)", "treasury:deploy wall time (nothing to do)"]) {
      const run = await runCli(node, args, { env: { DEPLOYMENTS_DIR: dir } });
      if (run.code !== 0 || !run.json) throw new Error(`${name}: exit ${run.code}\n${run.stderr.slice(-2000)}`);
      const changed = Array.isArray(run.json.changed) ? run.json.changed.length : -1;
      timings.push({ name, ms: run.ms, changed });
    }
    return timings;
  } finally {
    await node.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
