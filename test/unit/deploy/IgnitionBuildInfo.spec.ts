/**
 * Ignition's build infos in a deployment directory (deploy/ignition.ts, BuildInfoOnce): each build info is handed to
 * Ignition once per run, so it parses and writes the compiler's whole output once instead of once per contract, and
 * the directory still ends exactly as plain Ignition leaves it (artifacts, `.dbg.json` links, build infos).
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import hre from "hardhat";
import type { EIP1193Provider } from "@nomicfoundation/ignition-core";
import { BuildInfoOnce, runIgnition } from "../../../deploy/ignition";
import { CREATE2_SALT } from "../../../deploy/create2";

/**
 * Two contracts of this project that one compilation job built (their `.dbg.json` links name the same build info),
 * other than the module's hot half. Which contracts share a job depends on what the last compile rebuilt.
 */
async function twoOfOneJob(): Promise<[string, string]> {
  const byJob = new Map<string, string[]>();
  for (const fullName of await hre.artifacts.getAllFullyQualifiedNames()) {
    if (!fullName.startsWith("contracts/")) continue;
    const artifact = await hre.artifacts.readArtifact(fullName);
    if (artifact.contractName === "AgentTreasuryModule") continue;
    const dbg = path.join(hre.config.paths.artifacts, artifact.sourceName, `${artifact.contractName}.dbg.json`);
    const job = (JSON.parse(fs.readFileSync(dbg, "utf8")) as { buildInfo: string }).buildInfo;
    byJob.set(job, [...(byJob.get(job) ?? []), fullName]);
  }
  const names = [...byJob.values()].find((group) => group.length >= 2);
  if (!names)
    throw new Error("No compilation job built two of this project's contracts: run `npx hardhat compile --force`.");
  return [names[0], names[1]];
}

/** Every file under `dir`, relative, sorted. */
function filesUnder(dir: string): string[] {
  return (fs.readdirSync(dir, { recursive: true }) as string[])
    .filter((f) => fs.statSync(path.join(dir, f)).isFile())
    .sort();
}

describe("Ignition build infos (deploy/ignition.ts)", function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const tempDir = () => {
    dirs.push(fs.mkdtempSync(path.join(os.tmpdir(), "atg-ignition-")));
    return dirs[dirs.length - 1];
  };
  after(function () {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("test_buildInfoOnce_firstContractOfAJobGetsIt_othersNone_unknownAsPlain", async function () {
    const { HardhatArtifactResolver } = await import("@nomicfoundation/hardhat-ignition/helpers");
    const resolver = new BuildInfoOnce(hre, new HardhatArtifactResolver(hre));
    // Two contracts of one compilation job: the first asked gets the build info, the second and a repeat nothing.
    // The module's hot half has a job of its own, so it gets one too.
    const [first, second] = await twoOfOneJob();
    const [firstSource, firstName] = first.split(":");
    const token = await resolver.getBuildInfo(first);
    expect(token?.output.contracts[firstSource]).to.have.property(firstName);
    expect(await resolver.getBuildInfo(second)).to.equal(undefined);
    expect(await resolver.getBuildInfo(first)).to.equal(undefined);
    const hot = await resolver.getBuildInfo("AgentTreasuryModule");
    expect(hot?.id).to.not.equal(token?.id);
    expect(hot?.output.contracts["contracts/AgentTreasuryModule.sol"]).to.have.property("AgentTreasuryModule");
    // A name Hardhat's artifacts do not resolve is answered as the plain resolver answers it.
    await expect(resolver.getBuildInfo("NoSuchContract")).to.be.rejectedWith(/NoSuchContract/);
  });

  it("test_runIgnition_deploymentDirectoryAsPlainIgnitionWritesIt", async function () {
    const { buildModule, deploy } = await import("@nomicfoundation/ignition-core");
    const { HardhatArtifactResolver } = await import("@nomicfoundation/hardhat-ignition/helpers");
    const [signer] = await hre.ethers.getSigners();
    const provider = hre.network.provider as unknown as EIP1193Provider;
    const snapshot = (await hre.network.provider.send("evm_snapshot")) as string;
    const plain = tempDir();
    const ours = tempDir();
    /** A module deploying the hot half once and referencing it twice: three contracts, one compilation job. */
    const probe = async () => {
      const admin = await (await hre.ethers.deployContract("MockCallTarget")).getAddress(); // any code will do
      return buildModule("BuildInfoProbe", (m) => {
        const hot = m.contract("AgentTreasuryModule", [admin], { id: "Hot" });
        const hotAt = m.contractAt("AgentTreasuryModule", hot, { id: "HotAt" });
        const elsewhere = m.contractAt("AgentTreasuryModule", signer.address, { id: "HotElsewhere" });
        return { hot, hotAt, elsewhere };
      });
    };
    try {
      const result = await deploy({
        config: hre.config.ignition,
        artifactResolver: new HardhatArtifactResolver(hre),
        provider,
        deploymentDir: plain,
        ignitionModule: await probe(),
        deploymentParameters: {},
        accounts: [signer.address],
        defaultSender: signer.address,
        strategy: "create2",
        strategyConfig: { salt: CREATE2_SALT },
      });
      expect(result.type).to.equal("SUCCESSFUL_DEPLOYMENT");
      // The same chain state again, so the same transactions and addresses.
      expect(await hre.network.provider.send("evm_revert", [snapshot])).to.equal(true);
      const run = await runIgnition(hre, await probe(), ours, provider, signer.address, () => undefined);
      expect(run.executed).to.include("BuildInfoProbe#Hot");
    } finally {
      await hre.network.provider.send("evm_revert", [snapshot]).catch(() => undefined);
    }

    const files = filesUnder(plain);
    expect(filesUnder(ours)).to.deep.equal(files);
    // One build info, one link per contract.
    expect(files.filter((f) => f.startsWith("build-info"))).to.have.length(1);
    expect(files.filter((f) => f.endsWith(".dbg.json"))).to.have.length(3);
    // Byte for byte, except the journal, whose receipts carry block hashes (the blocks' timestamps differ).
    for (const file of files.filter((f) => f !== "journal.jsonl")) {
      expect(fs.readFileSync(path.join(ours, file), "utf8"), file).to.equal(
        fs.readFileSync(path.join(plain, file), "utf8"),
      );
    }
    const steps = (dir: string) =>
      fs
        .readFileSync(path.join(dir, "journal.jsonl"), "utf8")
        .trim()
        .split("\n")
        .map((line) => {
          const record = JSON.parse(line) as { type: string; futureId?: string };
          return `${record.type} ${record.futureId ?? ""}`;
        });
    expect(steps(ours)).to.deep.equal(steps(plain));
  });
});
