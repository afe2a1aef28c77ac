/**
 * Chain identity (sdk/chainIdentity.ts) and the journal's binding to it (sdk/journal.ts): which chain instance a
 * file was written on, how two instances are told apart, where a file of another instance is set aside, and that it
 * is kept byte for byte.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as path from "path";
import { ethers } from "hardhat";
import type { Provider } from "ethers";
import {
  ChainIdentity,
  Journal,
  JournalError,
  JOURNAL_VERSION,
  SignedEntry,
  describeIdentity,
  identityMismatch,
  readChainIdentity,
  setAside,
  staleFileName,
} from "../../../sdk";
import { chainLines, readJournal, tmpJournal } from "./helpers";

const GENESIS_A = "0x6aa8ee1cb8b03c9267c17a6bf73cd9fcff928397efeb12602cc5a8c38b6ec217";
const GENESIS_B = "0x6f4a7293a4f7fdf52a365139402ca0f66f593bb52d85b4147678651daab6e563";
const INSTANCE_A = "0x5aac609b43792df86f95a3543099d8c36b54d6c670ea40324aec40f4dc1e8c1c";
const INSTANCE_B = "0xb916186f9ced3b4cb79c776b6996ae3feec4f711b299c822b3ab9605fc052f71";
const A: ChainIdentity = { chainId: "31337", genesisHash: GENESIS_A, instanceId: INSTANCE_A };
const B: ChainIdentity = { chainId: "31337", genesisHash: GENESIS_B, instanceId: INSTANCE_B };
const ID_1 = "0x" + "11".repeat(32);
const ID_2 = "0x" + "22".repeat(32);

function signed(intentId: string, chainId = "31337"): SignedEntry {
  return {
    t: "signed",
    v: JOURNAL_VERSION,
    at: "2025-01-01T00:00:00.000Z",
    intentId,
    kind: "submit",
    chainId,
    module: "0x" + "33".repeat(20),
    intent: {
      agent: "0x" + "44".repeat(20),
      target: "0x" + "55".repeat(20),
      value: "1",
      data: "0x",
      nonce: "0",
      idempotencyKey: "0x" + "66".repeat(32),
      validAfter: "0",
      validUntil: "9999999999",
      rationale: "0x" + "77".repeat(32),
    },
    signature: "0x",
    rationaleText: "r",
    keySource: "caller",
    signedAtBlock: 1,
  };
}

function lines(): { out: string[]; log: (line: string) => void } {
  const out: string[] = [];
  return { out, log: (line) => out.push(line) };
}

describe("Chain identity", function () {
  describe("readChainIdentity", function () {
    it("test_read_hardhatNetwork_chainIdGenesisAndInstance", async function () {
      const id = await readChainIdentity(ethers.provider);
      const genesis = await ethers.provider.getBlock(0);
      const metadata = (await ethers.provider.send("hardhat_metadata", [])) as { instanceId: string };
      expect(id).to.deep.equal({
        chainId: "31337",
        genesisHash: genesis!.hash!.toLowerCase(),
        instanceId: metadata.instanceId.toLowerCase(),
      });
    });

    it("test_read_providerWithoutRawRpc_noInstance", async function () {
      const plain = {
        getNetwork: () => ethers.provider.getNetwork(),
        getBlock: (n: number) => ethers.provider.getBlock(n),
      } as unknown as Provider;
      const id = await readChainIdentity(plain);
      expect(id).to.deep.equal({
        chainId: "31337",
        genesisHash: (await ethers.provider.getBlock(0))!.hash!.toLowerCase(),
      });
    });
  });

  describe("identityMismatch", function () {
    it("test_mismatch_sameInstance_none", function () {
      expect(identityMismatch(A, { ...A, genesisHash: A.genesisHash.toUpperCase().replace("0X", "0x") })).to.equal(
        undefined,
      );
    });

    it("test_mismatch_restartedNode_namesBothGenesisBlocks", function () {
      expect(identityMismatch(A, B)).to.equal("its genesis block is 0x6aa8ee1c…, this chain's is 0x6f4a7293…");
    });

    it("test_mismatch_forkedNodeSameGenesisNewInstance_namesInstances", function () {
      expect(identityMismatch(A, { ...A, instanceId: INSTANCE_B })).to.equal(
        "it was written on node instance 0x5aac609b…, this node is instance 0xb916186f…",
      );
    });

    it("test_mismatch_otherChainId_saysSo", function () {
      expect(identityMismatch({ ...A, chainId: "1" }, A)).to.equal("it is for chain 1, this is chain 31337");
    });

    it("test_mismatch_fieldsTheRecordLacks_notCompared", function () {
      expect(identityMismatch({ chainId: "31337" }, B)).to.equal(undefined);
      expect(identityMismatch({ chainId: "31337", genesisHash: GENESIS_B }, B)).to.equal(undefined);
      expect(identityMismatch(A, { chainId: "31337", genesisHash: GENESIS_A })).to.equal(undefined); // not a Hardhat node now
    });

    it("test_describe_namesChainGenesisAndInstance", function () {
      expect(describeIdentity(A)).to.equal("chain 31337 (genesis 0x6aa8ee1c…, node instance 0x5aac609b…)");
      expect(describeIdentity({ chainId: "1" })).to.equal("chain 1");
    });
  });

  describe("setting a file aside", function () {
    it("test_staleName_genesisPrefixBeforeExtension", function () {
      expect(staleFileName("/d/31337.json", A)).to.equal("/d/31337.6aa8ee1c.stale.json");
      expect(staleFileName("/d/0xab.jsonl", A)).to.equal("/d/0xab.6aa8ee1c.stale.jsonl");
      expect(staleFileName("/d/noext", { instanceId: INSTANCE_B })).to.equal("/d/noext.b916186f.stale");
      expect(staleFileName("/d/31337.json", { chainId: "31337" })).to.equal("/d/31337.unbound.stale.json");
    });

    it("test_setAside_nameTaken_countsUpAndKeepsBoth", function () {
      const dir = path.dirname(tmpJournal());
      const file = path.join(dir, "31337.json");
      fs.writeFileSync(file, "first");
      const logged = lines();
      const first = setAside(file, A, "restarted", "deployment record", logged.log);
      fs.writeFileSync(file, "second");
      const second = setAside(file, A, "restarted", "deployment record", logged.log);
      expect([path.basename(first), path.basename(second)]).to.deep.equal([
        "31337.6aa8ee1c.stale.json",
        "31337.6aa8ee1c-2.stale.json",
      ]);
      expect([fs.readFileSync(first, "utf8"), fs.readFileSync(second, "utf8"), fs.existsSync(file)]).to.deep.equal([
        "first",
        "second",
        false,
      ]);
      expect(logged.out).to.deep.equal([
        `deployment record ${file} belongs to chain 31337 (genesis 0x6aa8ee1c…, node instance 0x5aac609b…), not to the chain this node serves (restarted): set aside as ${first}`,
        `deployment record ${file} belongs to chain 31337 (genesis 0x6aa8ee1c…, node instance 0x5aac609b…), not to the chain this node serves (restarted): set aside as ${second}`,
      ]);
    });
  });

  describe("the journal's binding", function () {
    it("test_bind_newJournal_writesChainLineOnce", function () {
      const file = tmpJournal();
      const j = Journal.open(file);
      const logged = lines();
      expect(j.bind(A, logged.log)).to.equal(undefined);
      expect(j.bind(A, logged.log)).to.equal(undefined);
      j.close();
      expect(
        chainLines(file).map(({ chainId, genesisHash, instanceId, t }) => ({ t, chainId, genesisHash, instanceId })),
      ).to.deep.equal([{ t: "chain", ...A }]);
      expect(Journal.open(file, { readOnly: true }).binding(31337n)).to.deep.equal(A);
      expect(logged.out).to.deep.equal([]);
    });

    it("test_bind_journalOfRestartedNode_setAsideKeptByteForByteAndStartsAfresh", function () {
      const file = tmpJournal("agent.jsonl");
      const j = Journal.open(file);
      j.bind(A, () => undefined);
      j.append(signed(ID_1));
      j.append({
        t: "outcome",
        v: JOURNAL_VERSION,
        at: "t",
        intentId: ID_1,
        status: "Executed",
        txHash: "0x" + "aa".repeat(32),
      });
      const before = fs.readFileSync(file, "utf8");
      const logged = lines();
      const kept = j.bind(B, logged.log);
      expect(kept).to.equal(path.join(path.dirname(file), "agent.6aa8ee1c.stale.jsonl"));
      expect(fs.readFileSync(kept!, "utf8")).to.equal(before);
      expect(logged.out).to.have.length(1);
      expect(logged.out[0])
        .to.contain(`journal ${file} belongs to chain 31337 (genesis 0x6aa8ee1c…`)
        .and.contain(`set aside as ${kept}`);
      // The same object writes on at the same path, bound to the new instance, and knows nothing of the old intents.
      expect(j.record(ID_1)).to.equal(undefined);
      j.append(signed(ID_2));
      j.close();
      const again = Journal.open(file);
      expect(again.binding("31337")).to.deep.equal(B);
      expect(again.entries().map((e) => e.intentId)).to.deep.equal([ID_2]);
      again.close();
    });

    it("test_bind_setAside_keepsEntriesOfOtherChainIds", function () {
      const file = tmpJournal();
      const j = Journal.open(file);
      j.bind(A, () => undefined);
      j.bind({ chainId: "11155111", genesisHash: "0x" + "99".repeat(32) }, () => undefined);
      j.append(signed(ID_1));
      j.append(signed(ID_2, "11155111"));
      j.append({ t: "sent", v: JOURNAL_VERSION, at: "t", intentId: ID_2, txHash: "0x" + "bb".repeat(32) });
      j.bind(B, () => undefined);
      j.close();
      const again = Journal.open(file, { readOnly: true });
      expect(again.entries().map((e) => [e.t, e.intentId])).to.deep.equal([
        ["signed", ID_2],
        ["sent", ID_2],
      ]);
      expect(again.binding("11155111")?.genesisHash).to.equal("0x" + "99".repeat(32));
      expect(again.binding("31337")).to.deep.equal(B);
    });

    it("test_bind_journalWithoutBinding_boundInPlaceEntriesKept", function () {
      const file = tmpJournal();
      fs.writeFileSync(file, JSON.stringify({ ...signed(ID_1), v: 1 }) + "\n");
      const j = Journal.open(file);
      expect(j.bind(B, () => undefined)).to.equal(undefined);
      j.close();
      expect(readJournal(file).map((e) => e.intentId)).to.deep.equal([ID_1]);
      expect(chainLines(file).map((c) => c.genesisHash)).to.deep.equal([GENESIS_B]);
    });

    it("test_reopened_outcomeTheChainLost_recordUnfinishedAgainAfterReload", function () {
      const file = tmpJournal();
      const j = Journal.open(file);
      j.append(signed(ID_1));
      j.append({ t: "sent", v: JOURNAL_VERSION, at: "t", intentId: ID_1, txHash: "0x" + "aa".repeat(32) });
      j.append({ t: "outcome", v: JOURNAL_VERSION, at: "t", intentId: ID_1, status: "Executed" });
      j.append({ t: "reopened", v: JOURNAL_VERSION, at: "t", intentId: ID_1, why: "key not bound on chain 31337" });
      const module = signed(ID_1).module;
      const agent = signed(ID_1).intent.agent;
      expect(j.unfinished(31337n, module, agent).map((r) => r.signed.intentId)).to.deep.equal([ID_1]);
      j.close();
      const again = Journal.open(file, { readOnly: true });
      expect(again.record(ID_1)).to.deep.equal({ signed: signed(ID_1) });
    });

    it("test_open_chainLineOfNewerFormat_throwsUpgrade", function () {
      const file = tmpJournal();
      fs.writeFileSync(file, JSON.stringify({ t: "chain", v: JOURNAL_VERSION + 1, at: "t", ...A }) + "\n");
      expect(() => Journal.open(file)).to.throw(JournalError, /newer client \(format 3\)/);
    });
  });
});
