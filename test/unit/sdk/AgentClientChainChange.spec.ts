/**
 * The agent client when the chain under its journal changes. A reorganisation is played on the in-process chain
 * with `evm_snapshot` / `evm_revert` (the same chain instance loses blocks the client had seen); a restarted node is
 * played by a journal bound to another genesis block. In both cases the client must never answer "replay" for a
 * payment the chain does not have: it pays (once) on the chain it talks to.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import { JOURNAL_VERSION, keyFromText } from "../../../sdk";
import { HOUR, treasuryFixture } from "../../fixtures";
import { agentClient, chainLines, readJournal, tmpJournal } from "./helpers";

const usdc = (n: string) => parseUnits(n, 6);
const OTHER_GENESIS = "0x" + "ab".repeat(32);

describe("AgentClient when the chain changes under its journal", function () {
  describe("when a reorganisation drops a settled payment", function () {
    it("test_pay_outcomeNotOnChain_sendsTheSameSignedIntentAgainAndPaysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const notes: string[] = [];
      const { client, journal } = await agentClient(fx, { log: (l) => notes.push(l) });
      const request = {
        asset: "USDC",
        to: fx.alice.address,
        amount: "300",
        idempotencyKey: "invoice-77",
        rationale: "Invoice 77",
      };
      const snapshot = await ethers.provider.send("evm_snapshot", []);
      const first = await client.pay(request);
      expect(first).to.include({ status: "Executed", replay: false });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("300"));

      await ethers.provider.send("evm_revert", [snapshot]); // the block with the payment is gone
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);

      const again = await client.pay(request);
      expect(again).to.include({ status: "Executed", replay: false, intentId: first.intentId }); // the same signed intent
      expect(again.txHash).to.not.equal(undefined);
      expect((await ethers.provider.getTransactionReceipt(again.txHash!))?.status).to.equal(1);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("300"));
      expect((await fx.module.idempotencyRecord(fx.agent.address, keyFromText("invoice-77"))).intentId).to.equal(
        first.intentId,
      );
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal([
        "signed",
        "sent",
        "outcome",
        "reopened",
        "sent",
        "outcome",
      ]);
      expect(notes).to.have.length(1);
      expect(notes[0])
        .to.contain(`has no record of idempotency key ${keyFromText("invoice-77")}`)
        .and.contain(`sending intent ${first.intentId} again`);

      // Now the chain has it: a third call is a replay, and pays nothing more.
      const third = await client.pay(request);
      expect(third).to.include({ status: "Executed", replay: true, intentId: first.intentId });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("300"));
      client.close();
    });

    it("test_pay_outcomeNotOnChainAndSignatureExpired_resignsUnderSameKey", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx, { log: () => undefined });
      const request = {
        asset: "USDC",
        to: fx.bob.address,
        amount: "40",
        idempotencyKey: "invoice-78",
        rationale: "Invoice 78",
      };
      const snapshot = await ethers.provider.send("evm_snapshot", []);
      const first = await client.pay(request);
      await ethers.provider.send("evm_revert", [snapshot]);
      await time.increase(2 * HOUR); // past the signature's one-hour validity

      const again = await client.pay(request);
      expect(again).to.include({ status: "Executed", replay: false });
      expect(again.intentId).to.not.equal(first.intentId);
      expect(again.idempotencyKey).to.equal(keyFromText("invoice-78"));
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("40"));
      const entries = readJournal(journal);
      const resigned = entries.find((e) => e.t === "signed" && e.intentId === again.intentId);
      expect(resigned).to.include({ supersedes: first.intentId });
      expect(entries.find((e) => e.t === "closed" && e.intentId === first.intentId)).to.include({ why: "superseded" });
      client.close();
    });
  });

  describe("when the journal was written on another instance of this chain (a restarted node)", function () {
    it("test_connect_journalOfOtherInstance_setAsideAndTheKeyPaysAgain", async function () {
      const fx = await loadFixture(treasuryFixture);
      // A journal from before a restart: bound to another genesis block, with this key settled there.
      const journal = tmpJournal("agent.jsonl");
      const { client: before, journal: file } = await agentClient(fx, { journal, log: () => undefined });
      const request = {
        asset: "USDC",
        to: fx.alice.address,
        amount: "125",
        idempotencyKey: "invoice-79",
        rationale: "Invoice 79",
      };
      const snapshot = await ethers.provider.send("evm_snapshot", []);
      const old = await before.pay(request);
      before.close();
      await ethers.provider.send("evm_revert", [snapshot]);
      const text = fs
        .readFileSync(file, "utf8")
        .replace(/"genesisHash":"0x[0-9a-f]{64}"/, `"genesisHash":"${OTHER_GENESIS}"`);
      fs.writeFileSync(file, text);

      const notes: string[] = [];
      const { client } = await agentClient(fx, { journal, log: (l) => notes.push(l) });
      const kept = path.join(path.dirname(journal), "agent.abababab.stale.jsonl");
      expect(client.journalSetAside).to.equal(kept);
      expect(fs.readFileSync(kept, "utf8")).to.equal(text);
      expect(notes).to.have.length(1);
      expect(notes[0]).to.match(
        /^journal .* belongs to chain 31337 \(genesis 0xabababab…, node instance 0x[0-9a-f]{8}…\), not to the chain this node serves/,
      );
      expect(notes[0]).to.contain(
        `(its genesis block is 0xabababab…, this chain's is ${client.identity.genesisHash.slice(0, 10)}…): set aside as ${kept}`,
      );
      const r = await client.pay(request);
      expect(r).to.include({ status: "Executed", replay: false, intentId: old.intentId });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("125"));
      expect(chainLines(journal).map((c) => c.genesisHash)).to.deep.equal([client.identity.genesisHash]);
      expect(readJournal(journal).map((e) => [e.t, e.v])).to.deep.equal([
        ["signed", JOURNAL_VERSION],
        ["sent", JOURNAL_VERSION],
        ["outcome", JOURNAL_VERSION],
      ]);
      client.close();
    });
  });
});
