/**
 * The watchtower when the chain under its checkpoint changes, on the in-process chain: a reorganisation deeper
 * than the confirmations (played with `evm_snapshot` / `evm_revert`: the same chain instance loses blocks the
 * watchtower had read), and a checkpoint of another instance of the chain (a restarted node, played by a checkpoint
 * bound to another genesis block). The checkpoint store's binding is checked on its own first.
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { Treasury, buildIntent, submitSigned, treasuryFixture } from "../../fixtures";
import { readChainIdentity } from "../../../sdk/chainIdentity";
import {
  Alert,
  Checkpoint,
  CheckpointMismatchError,
  CheckpointStore,
  MemorySink,
  Watchtower,
  emptyState,
  parseMonitorConfig,
} from "../../../monitor";

const OTHER_GENESIS = "0x" + "cd".repeat(32);
const RULES = [{ rule: "denied-intent" }, { rule: "config-loosened" }, { rule: "new-recipient" }];

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-chainchange-")), name);
}

function tower(fx: Treasury, sink: MemorySink, checkpointFile: string, log: string[] = []) {
  return new Watchtower({
    provider: ethers.provider,
    chainId: fx.chainId,
    module: fx.moduleAddress,
    safe: fx.safeAddress,
    config: parseMonitorConfig({ confirmations: 1, pollIntervalMs: 10, rules: RULES }),
    sinks: [sink],
    checkpointFile,
    historyFrom: 0,
    names: { [fx.agent.address]: "payroll" },
    log: (line) => log.push(line),
  });
}

async function pay(fx: Treasury, to: string, value: bigint) {
  const intent = await buildIntent(fx, { target: to, value });
  const receipt = await (await submitSigned(fx, intent)).wait();
  return receipt!;
}

const readCheckpoint = (file: string) => JSON.parse(fs.readFileSync(file, "utf8")) as Checkpoint;
const kinds = (alerts: Alert[]) => alerts.map((a) => a.kind);

describe("Watchtower when the chain changes under its checkpoint", function () {
  describe("the checkpoint store", function () {
    const base = (genesisHash?: string): Checkpoint => ({
      v: 1,
      chainId: "31337",
      module: "0x" + "12".repeat(20),
      nextBlock: 5,
      state: emptyState(),
      delivered: {},
      responses: {},
      updatedAt: "",
      ...(genesisHash ? { genesisHash } : {}),
    });

    it("test_load_sameInstance_returnsCheckpoint_otherInstance_setsAside", async function () {
      const identity = await readChainIdentity(ethers.provider);
      const file = tmpFile("31337-m.checkpoint.json");
      const store = new CheckpointStore(file);
      store.save(base(identity.genesisHash));
      const log: string[] = [];
      expect(store.load(identity, base().module, (l) => log.push(l)).checkpoint?.nextBlock).to.equal(5);

      store.save(base(OTHER_GENESIS));
      const loaded = store.load(identity, base().module, (l) => log.push(l));
      const kept = file.replace(/\.json$/, ".cdcdcdcd.stale.json");
      expect(loaded.checkpoint).to.equal(undefined);
      expect(loaded.setAside).to.deep.include({
        file: kept,
        reason: `its genesis block is 0xcdcdcdcd…, this chain's is ${identity.genesisHash.slice(0, 10)}…`,
      });
      expect(fs.existsSync(file)).to.equal(false);
      expect(readCheckpoint(kept).genesisHash).to.equal(OTHER_GENESIS);
      expect(log).to.have.length(1);
      expect(log[0])
        .to.contain(`watchtower checkpoint ${file} belongs to chain 31337 (genesis 0xcdcdcdcd…)`)
        .and.contain(`set aside as ${kept}`);
    });

    it("test_load_checkpointWithoutInstance_acceptedAndOtherChainIdRefused", async function () {
      const identity = await readChainIdentity(ethers.provider);
      const store = new CheckpointStore(tmpFile("cp.json"));
      store.save(base());
      expect(store.load(identity, base().module, () => undefined).checkpoint?.nextBlock).to.equal(5);
      store.save({ ...base(), chainId: "1" });
      expect(() => store.load(identity, base().module, () => undefined)).to.throw(
        CheckpointMismatchError,
        /belongs to module .* on chain 1/,
      );
    });
  });

  describe("when a reorganisation removes blocks it has read", function () {
    it("test_poll_reorg_alertsRebuildsStatsFromForkAndReportsNewBlocks", async function () {
      const fx = await loadFixture(treasuryFixture);
      const sink = new MemorySink();
      const file = tmpFile("cp.json");
      const log: string[] = [];
      const t = tower(fx, sink, file, log);
      await t.start();
      await t.poll(); // the fork point: read before the snapshot
      const forkPoint = await ethers.provider.getBlockNumber();
      const snapshot = await ethers.provider.send("evm_snapshot", []);
      const lost = await pay(fx, fx.alice.address, parseEther("0.5"));
      await t.poll();
      expect(t.stats()[0].counts.executed).to.equal(1);
      expect(kinds(sink.alerts)).to.deep.equal(["new-recipient"]);

      await ethers.provider.send("evm_revert", [snapshot]); // the payment's block is gone; the head is below it
      const r1 = await t.poll();
      const reorg = r1.alerts.find((a) => a.kind === "reorg")!;
      expect(reorg.severity).to.equal("critical");
      expect(reorg.message).to.contain(
        `Reorganisation deeper than the confirmations: block ${lost.blockNumber}, read as ${lost.blockHash}, is beyond the chain's head, block ${forkPoint}`,
      );
      expect(reorg.details).to.include({
        newChain: false,
        resumeFrom: forkPoint + 1,
        checkpointBlock: lost.blockNumber,
      });
      expect(t.stats()[0]?.counts.executed ?? 0).to.equal(0); // the lost payment no longer counts
      expect(
        log.some((l) => l.startsWith(`monitor: the chain changed under the checkpoint: block ${lost.blockNumber}`)),
      ).to.equal(true);

      // The new branch: a payment denied at the same height, reported.
      const denied = await pay(fx, fx.attacker.address, parseEther("20"));
      expect(denied.blockNumber).to.equal(lost.blockNumber);
      const r2 = await t.poll();
      expect(kinds(r2.alerts)).to.deep.equal(["denied-intent"]);
      expect(r2.alerts[0].txHash).to.equal(denied.hash);
      expect(t.stats()[0].counts).to.include({ executed: 0, denied: 1 });
      expect(kinds(sink.alerts)).to.deep.equal(["new-recipient", "reorg", "denied-intent"]);
    });

    it("test_poll_reorgWithOtherBlockAtSameHeight_hashMismatchDetected", async function () {
      const fx = await loadFixture(treasuryFixture);
      const sink = new MemorySink();
      const file = tmpFile("cp.json");
      const t = tower(fx, sink, file);
      await t.start();
      await t.poll();
      const snapshot = await ethers.provider.send("evm_snapshot", []);
      const lost = await pay(fx, fx.alice.address, parseEther("0.5"));
      await t.poll();
      await ethers.provider.send("evm_revert", [snapshot]);
      await ethers.provider.send("evm_mine", []); // another block at the same height
      const r = await t.poll();
      const reorg = r.alerts.find((a) => a.kind === "reorg")!;
      const now = (await ethers.provider.getBlock(lost.blockNumber))!.hash!;
      expect(reorg.message).to.contain(`block ${lost.blockNumber}, read as ${lost.blockHash}, is now ${now}`);
      expect(reorg.details).to.include({ newChain: false, resumeFrom: lost.blockNumber });
      expect(readCheckpoint(file).nextBlock).to.equal(lost.blockNumber + 1);
    });
  });

  describe("when its checkpoint was written on another instance of the chain (a restarted node)", function () {
    it("test_start_checkpointOfOtherInstance_setAsideAlertsAndReadsFromModuleCreation", async function () {
      const fx = await loadFixture(treasuryFixture);
      const file = tmpFile("31337-m.checkpoint.json");
      const first = tower(fx, new MemorySink(), file);
      await first.start();
      await first.poll();
      // Played restart: the checkpoint says it was written on another genesis block, further than this chain's head.
      const old = readCheckpoint(file);
      fs.writeFileSync(file, JSON.stringify({ ...old, genesisHash: OTHER_GENESIS, nextBlock: old.nextBlock + 100 }));
      await pay(fx, fx.attacker.address, parseEther("20")); // denied, after the restart

      const sink = new MemorySink();
      const log: string[] = [];
      const t = tower(fx, sink, file, log);
      const start = await t.start();
      const kept = file.replace(/\.json$/, ".cdcdcdcd.stale.json");
      expect(log[0]).to.contain(`set aside as ${kept}`);
      expect(readCheckpoint(kept).nextBlock).to.equal(old.nextBlock + 100);
      // Re-read from the block where the module's code appears.
      const [created] = await fx.factory.queryFilter(fx.factory.filters.ModuleCreated(fx.safeAddress));
      expect(start).to.deep.equal({ resumed: false, fromBlock: created.blockNumber });

      await t.poll();
      const reorg = sink.alerts[0];
      expect(reorg.kind).to.equal("reorg");
      expect(reorg.message).to.contain(
        "The chain was restarted or replaced: its checkpoint was written on another instance of chain 31337",
      );
      expect(reorg.details).to.include({
        newChain: true,
        setAsideAs: kept,
        resumeFrom: created.blockNumber,
        checkpointBlock: old.nextBlock + 99,
      });
      // The module's configuration is reported again (the whole history of this chain is new to the watchtower),
      // then the denied payment; the statistics are this chain's.
      expect(kinds(sink.alerts)).to.include("config-loosened");
      expect(kinds(sink.alerts).at(-1)).to.equal("denied-intent");
      expect(t.stats()[0].counts).to.include({ executed: 0, denied: 1 });
      expect(readCheckpoint(file).genesisHash).to.equal((await readChainIdentity(ethers.provider)).genesisHash);
      expect(readCheckpoint(file).notices).to.deep.equal([]);
    });
  });
});
