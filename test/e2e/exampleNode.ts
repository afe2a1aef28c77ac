/**
 * One `hardhat node` (chain 31337) with deploy/examples/dao.json deployed by `treasury:deploy`, shared by the e2e
 * files that start from the example DAO rather than test its deployment (Recovery, console, MCP). A fresh deployment
 * would cost each of them about 9 s of CPU (the CLI's start, Ignition, the node's work); the deployment itself is
 * tested by Deploy.spec.ts and Resume.spec.ts, on nodes of their own.
 *
 * The deployment starts with the test run (a root `before` hook) and runs beside the files before its first user.
 * Each {@link exampleNode} call hands out the chain exactly as `treasury:deploy` left it: the node is reverted to a
 * snapshot taken right after the deployment (state, mempool and clock: `evm_increaseTime` is undone too), and the
 * caller gets its own copy of the deployments directory (record and Ignition journals). The node is the same
 * instance throughout, so the record's genesis hash and node instance stay true. Callers must not stop the node:
 * it is stopped after the last spec file (a root `after` hook), or killed when the test process exits.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import type { DeployResult } from "../../deploy/pipeline";
import { tempDir } from "./helpers";
import { LocalNode, runCli, startNode } from "../../testkit/localNode";

export const EXAMPLE = path.join("deploy", "examples", "dao.json");

export interface ExampleNode {
  /** The shared node: do not stop it. */
  node: LocalNode;
  /** This caller's copy of the deployments directory (a {@link tempDir}, removed by removeTempDirs). */
  dir: string;
  /** `treasury:deploy --json` of the example, as printed. */
  deployed: DeployResult;
  /** Wall time of that `treasury:deploy` (paid once per test run). */
  deployMs: number;
}

interface Shared {
  node: LocalNode;
  master: string;
  deployed: DeployResult;
  deployMs: number;
}

let shared: Promise<Shared> | undefined;
let snapshot: string | undefined;

async function deployOnce(): Promise<Shared> {
  const node = await startNode(31337);
  process.once("exit", () => {
    if (node.process.exitCode === null) node.process.kill("SIGKILL");
  });
  const master = fs.mkdtempSync(path.join(os.tmpdir(), "atg-example-node-"));
  const r = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE, "--json", "--quiet"], {
    env: { DEPLOYMENTS_DIR: master },
  });
  expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
  expect(r.json, r.stdout).to.not.equal(undefined);
  return { node, master, deployed: r.json as unknown as DeployResult, deployMs: r.ms };
}

function sharedNode(): Promise<Shared> {
  if (!shared) {
    shared = deployOnce();
    shared.catch(() => undefined); // reported by the caller that awaits it
  }
  return shared;
}

// Deploy as soon as the run starts (a root hook, registered only when a spec file that uses this one is loaded): the
// deployment then runs while the e2e files before its first user run their CLI processes one at a time.
before(function () {
  void sharedNode();
});

/** The example DAO on the shared node, as deployed; `label` names this caller's copy of the deployments directory. */
export async function exampleNode(label: string): Promise<ExampleNode> {
  const s = await sharedNode();
  const provider = s.node.provider;
  if (snapshot !== undefined)
    expect(await provider.send("evm_revert", [snapshot]), "evm_revert to the example's snapshot").to.equal(true);
  snapshot = (await provider.send("evm_snapshot", [])) as string;
  const dir = tempDir(label);
  fs.cpSync(s.master, dir, { recursive: true });
  return { node: s.node, dir, deployed: s.deployed, deployMs: s.deployMs };
}

// After the last spec file: stop the shared node and remove its deployments directory.
after(async function () {
  if (!shared) return;
  const s = await shared.catch(() => undefined);
  shared = undefined;
  snapshot = undefined;
  if (!s) return;
  await s.node.stop();
  fs.rmSync(s.master, { recursive: true, force: true });
});
