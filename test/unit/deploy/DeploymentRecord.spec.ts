/**
 * Deployment records bound to their chain instance (core/deployment.ts): a record of another instance of this
 * chain id (a restarted node) or whose contracts are not here is refused with DEPLOYMENT_STALE, naming the record,
 * both chains and the remedy; `treasury:deploy` sets it aside under its stale name before writing a new one.
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import {
  DeploymentNotFoundError,
  DeploymentRecord,
  DeploymentStaleError,
  previousDeployment,
  readLiveDeployment,
  tryReadLiveDeployment,
  writeDeployment,
} from "../../../core/deployment";
import { ChainIdentity, readChainIdentity } from "../../../sdk/chainIdentity";
import { Treasury, treasuryFixture } from "../../fixtures";

const OTHER_GENESIS = "0x" + "5e".repeat(32);

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "atg-record-"));
}

function recordOf(fx: Treasury, identity: Partial<ChainIdentity>): DeploymentRecord {
  return {
    chainId: "31337",
    network: "localhost",
    safe: fx.safeAddress,
    module: fx.moduleAddress,
    implementation: fx.safeAddress,
    factory: fx.safeAddress,
    lens: fx.safeAddress,
    agents: { payroll: fx.agent.address },
    tokens: { USDC: fx.usdcAddress },
    policyFile: "/policies/dao.json",
    deployedAt: "2025-06-01T12:00:00.000Z",
    ...(identity.genesisHash ? { genesisHash: identity.genesisHash } : {}),
    ...(identity.instanceId ? { nodeInstance: identity.instanceId } : {}),
  };
}

describe("Deployment records and chain instances", function () {
  describe("reading the record for a task", function () {
    it("test_readLive_recordOfThisInstance_returnsIt", async function () {
      const fx = await loadFixture(treasuryFixture);
      const identity = await readChainIdentity(ethers.provider);
      const dir = tmpDir();
      writeDeployment(recordOf(fx, identity), dir);
      const live = await readLiveDeployment(ethers.provider, dir);
      expect(live.record.module).to.equal(fx.moduleAddress);
      expect(live.identity).to.deep.equal(identity);
    });

    it("test_readLive_recordOfRestartedNode_throwsStaleNamingRecordChainsAndRemedy", async function () {
      const fx = await loadFixture(treasuryFixture);
      const identity = await readChainIdentity(ethers.provider);
      const dir = tmpDir();
      const file = writeDeployment(recordOf(fx, { genesisHash: OTHER_GENESIS, instanceId: identity.instanceId }), dir);
      const error = await readLiveDeployment(ethers.provider, dir).catch((e: unknown) => e);
      expect(error).to.be.instanceOf(DeploymentStaleError);
      const stale = error as DeploymentStaleError;
      expect(stale.code).to.equal("DEPLOYMENT_STALE");
      expect(stale.message).to.equal(
        `Deployment record ${file} was written on chain 31337 (genesis 0x5e5e5e5e…, node instance ${identity.instanceId!.slice(0, 10)}…) at ` +
          `2025-06-01T12:00:00.000Z, but the node answering now is chain 31337 (genesis ${identity.genesisHash.slice(0, 10)}…, node instance ` +
          `${identity.instanceId!.slice(0, 10)}…): its genesis block is 0x5e5e5e5e…, this chain's is ${identity.genesisHash.slice(0, 10)}…. The ` +
          `treasury it describes (Safe ${fx.safeAddress}, module ${fx.moduleAddress}) belongs to a chain that is gone (the node was restarted ` +
          `or replaced) or --network points elsewhere. Deploy again: npx hardhat treasury:deploy --policy /policies/dao.json --network ` +
          `localhost (the old record is then kept as 31337.5e5e5e5e.stale.json).`,
      );
      expect(await tryReadLiveDeployment(ethers.provider, dir)).to.equal(undefined);
      expect(fs.existsSync(file)).to.equal(true); // reading never moves the record
    });

    it("test_readLive_recordWithoutInstanceAndNoCode_throwsStaleNamingMissingContracts", async function () {
      const fx = await loadFixture(treasuryFixture);
      const dir = tmpDir();
      const ghost = { ...recordOf(fx, {}), safe: "0x" + "01".repeat(20), module: "0x" + "02".repeat(20) };
      writeDeployment(ghost, dir);
      const error = (await readLiveDeployment(ethers.provider, dir).catch((e: unknown) => e)) as DeploymentStaleError;
      expect(error).to.be.instanceOf(DeploymentStaleError);
      expect(error.reason).to.equal(`there is no code at its Safe ${ghost.safe} nor at its module ${ghost.module}`);
      expect(error.message)
        .to.contain("was written on chain 31337 at 2025-06-01T12:00:00.000Z")
        .and.contain("(the old record is then kept as 31337.unbound.stale.json)");
      // Without an instance but with its contracts here, a record is accepted as it is.
      writeDeployment(recordOf(fx, {}), dir);
      expect((await readLiveDeployment(ethers.provider, dir)).record.safe).to.equal(fx.safeAddress);
    });

    it("test_readLive_noRecord_throwsNotFound", async function () {
      await expect(readLiveDeployment(ethers.provider, tmpDir())).to.be.rejectedWith(
        DeploymentNotFoundError,
        /No deployment record for chain 31337/,
      );
    });
  });

  describe("treasury:deploy and the previous record", function () {
    it("test_previous_recordOfRestartedNode_setAsideWithOneLine", async function () {
      const fx = await loadFixture(treasuryFixture);
      const identity = await readChainIdentity(ethers.provider);
      const dir = tmpDir();
      const file = writeDeployment(recordOf(fx, { genesisHash: OTHER_GENESIS }), dir);
      const before = fs.readFileSync(file, "utf8");
      const log: string[] = [];
      expect(await previousDeployment(ethers.provider, identity, (l) => log.push(l), dir)).to.equal(undefined);
      const kept = path.join(dir, "31337.5e5e5e5e.stale.json");
      expect(fs.readFileSync(kept, "utf8")).to.equal(before);
      expect(fs.existsSync(file)).to.equal(false);
      expect(log).to.deep.equal([
        `deployment record ${file} belongs to chain 31337 (genesis 0x5e5e5e5e…), not to the chain this node serves (its genesis block is ` +
          `0x5e5e5e5e…, this chain's is ${identity.genesisHash.slice(0, 10)}…): set aside as ${kept}`,
      ]);
    });

    it("test_previous_recordOfThisInstance_orLegacyWithCode_kept", async function () {
      const fx = await loadFixture(treasuryFixture);
      const identity = await readChainIdentity(ethers.provider);
      const dir = tmpDir();
      const log: string[] = [];
      writeDeployment(recordOf(fx, identity), dir);
      expect((await previousDeployment(ethers.provider, identity, (l) => log.push(l), dir))?.genesisHash).to.equal(
        identity.genesisHash,
      );
      writeDeployment(recordOf(fx, {}), dir);
      expect((await previousDeployment(ethers.provider, identity, (l) => log.push(l), dir))?.module).to.equal(
        fx.moduleAddress,
      );
      expect(log).to.deep.equal([]);
      // Legacy, and its module is not here: set aside.
      writeDeployment({ ...recordOf(fx, {}), module: "0x" + "02".repeat(20) }, dir);
      expect(await previousDeployment(ethers.provider, identity, (l) => log.push(l), dir)).to.equal(undefined);
      expect(log[0])
        .to.contain(`it names no chain instance and its module 0x${"02".repeat(20)} has no code here`)
        .and.contain("31337.unbound.stale.json");
    });
  });
});
