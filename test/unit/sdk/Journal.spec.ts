import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import { spawnSync } from "child_process";
import { ZeroAddress, ZeroHash } from "ethers";
import { Journal, JournalError, SignedEntry, JOURNAL_VERSION } from "../../../sdk";
import { tmpJournal } from "./helpers";

const ID_A = "0x" + "aa".repeat(32);
const ID_B = "0x" + "bb".repeat(32);

function signed(intentId: string, rationaleText = "pay invoice 7"): SignedEntry {
  return {
    t: "signed",
    v: JOURNAL_VERSION,
    at: new Date(0).toISOString(),
    intentId,
    kind: "submit",
    chainId: "31337",
    module: "0x00000000000000000000000000000000000000a1",
    intent: {
      agent: "0x00000000000000000000000000000000000000b2",
      target: ZeroAddress,
      value: "1",
      data: "0x",
      nonce: "0",
      idempotencyKey: "0x" + "11".repeat(32),
      validAfter: "0",
      validUntil: "100",
      rationale: ZeroHash,
    },
    signature: "0x",
    rationaleText,
    keySource: "caller",
    signedAtBlock: 1,
  };
}

/** A pid that is certainly dead: a child that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("Journal", function () {
  describe("when entries are appended", function () {
    it("test_append_reopen_restoresRecordsInOrder", function () {
      const file = tmpJournal();
      const j = Journal.open(file);
      j.append(signed(ID_A));
      j.append({ t: "sent", v: 1, at: "t", intentId: ID_A, txHash: "0x01" });
      j.append(signed(ID_B, "second"));
      j.append({ t: "outcome", v: 1, at: "t", intentId: ID_A, status: "Executed", txHash: "0x01" });
      j.close();

      const again = Journal.open(file);
      expect(again.entries().map((e) => e.t)).to.deep.equal(["signed", "sent", "signed", "outcome"]);
      expect(again.record(ID_A)?.outcome?.status).to.equal("Executed");
      expect(again.record(ID_A)?.sent?.txHash).to.equal("0x01");
      const unfinished = again.unfinished(
        31337n,
        "0x00000000000000000000000000000000000000A1",
        "0x00000000000000000000000000000000000000B2",
      );
      expect(unfinished.map((r) => r.signed.intentId)).to.deep.equal([ID_B]);
      expect(again.rationaleText(ZeroHash)).to.equal("pay invoice 7");
      again.close();
    });

    it("test_append_eachEntry_isOneCompleteLineOnDisk", function () {
      const file = tmpJournal();
      const j = Journal.open(file);
      j.append(signed(ID_A));
      // Durable before append returns: another reader sees the full line at once.
      const text = fs.readFileSync(file, "utf8");
      expect(text.endsWith("\n")).to.equal(true);
      expect(JSON.parse(text.trim()).intentId).to.equal(ID_A);
      j.close();
    });
  });

  describe("when the process died in the middle of an append", function () {
    it("test_open_tornLastLine_isDroppedAndFileRepaired", function () {
      const file = tmpJournal();
      const j = Journal.open(file);
      j.append(signed(ID_A));
      j.close();
      const whole = fs.readFileSync(file, "utf8");
      fs.appendFileSync(file, JSON.stringify(signed(ID_B)).slice(0, 40)); // torn: no newline, half a record

      const again = Journal.open(file);
      expect(again.entries()).to.have.length(1);
      expect(again.record(ID_B)).to.equal(undefined);
      expect(fs.readFileSync(file, "utf8")).to.equal(whole);
      again.append(signed(ID_B));
      again.close();
      expect(Journal.open(file, { readOnly: true }).record(ID_B)?.signed.intentId).to.equal(ID_B);
    });
  });

  describe("when the file is damaged", function () {
    it("test_open_corruptMiddleLine_throwsJournalError", function () {
      const file = tmpJournal();
      fs.writeFileSync(file, JSON.stringify(signed(ID_A)) + "\n{not json\n" + JSON.stringify(signed(ID_B)) + "\n");
      expect(() => Journal.open(file)).to.throw(JournalError, /line 2 is not valid JSON/);
    });

    it("test_open_entryWithoutSigned_throwsJournalError", function () {
      const file = tmpJournal();
      fs.writeFileSync(
        file,
        JSON.stringify({ t: "outcome", v: 1, at: "t", intentId: ID_A, status: "Executed" }) + "\n",
      );
      expect(() => Journal.open(file)).to.throw(JournalError, /without its "signed" entry/);
    });

    it("test_open_newerFormat_throwsJournalError", function () {
      const file = tmpJournal();
      fs.writeFileSync(file, JSON.stringify({ ...signed(ID_A), v: JOURNAL_VERSION + 1 }) + "\n");
      expect(() => Journal.open(file)).to.throw(JournalError, /newer client/);
    });
  });

  describe("when another process holds the journal", function () {
    it("test_open_lockHeldByLiveProcess_throwsJournalError", function () {
      const file = tmpJournal();
      const first = Journal.open(file);
      try {
        expect(() => Journal.open(file))
          .to.throw(JournalError, /is in use by process/)
          .with.property("code", "JOURNAL_ERROR");
      } finally {
        first.close();
      }
      // Released: it opens again.
      Journal.open(file).close();
    });

    it("test_open_lockLeftByDeadProcess_isTakenOver", function () {
      const file = tmpJournal();
      fs.writeFileSync(file + ".lock", `${deadPid()}@${os.hostname()}`);
      const j = Journal.open(file);
      expect(fs.readFileSync(file + ".lock", "utf8")).to.equal(`${process.pid}@${os.hostname()}`);
      j.close();
      expect(fs.existsSync(file + ".lock")).to.equal(false);
    });
  });

  describe("when opened read-only", function () {
    it("test_append_readOnly_throwsJournalError", function () {
      const file = tmpJournal();
      const writer = Journal.open(file);
      writer.append(signed(ID_A, "the reason"));
      const reader = Journal.open(file, { readOnly: true }); // no lock: the writer keeps its journal
      expect(reader.rationaleText(ZeroHash)).to.equal("the reason");
      expect(() => reader.append(signed(ID_B))).to.throw(JournalError, /read-only/);
      writer.close();
    });
  });
});
