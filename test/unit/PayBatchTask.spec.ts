/**
 * agent:pay-batch (tasks/payBatch.ts) and its CSV reader (tasks/lib/paymentsCsv.ts): a payroll run from a file, a dry
 * run of every row first, errors that name the file's row, line, field and value, and retries that pay nothing twice.
 * The task runs in-process against the fixture's treasury, whose deployment record names the agent "payroll".
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseUnits } from "ethers";
import { writeDeployment } from "../../core/deployment";
import { Treasury, fixtureDeploymentRecord, treasuryFixture } from "../fixtures";
import { runTaskCapturing } from "../inProcessTask";
import { parseCsv, readPaymentsCsv } from "../../tasks/lib/paymentsCsv";
import { TaskInputError } from "../../tasks/lib/context";

type Json = Record<string, unknown>;
const usdc = (n: string) => parseUnits(n, 6);
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "atg-pay-batch-"));

function csvFile(text: string): string {
  const file = path.join(tmp(), "payments.csv");
  fs.writeFileSync(file, text);
  return file;
}

/** The reader with USDC as the only token symbol. */
function read(text: string) {
  return readPaymentsCsv(csvFile(text), (a) => /^(eth|usdc)$/i.test(a) || /^0x[0-9a-fA-F]{40}$/.test(a), [
    "ETH",
    "USDC",
  ]);
}

function readError(text: string): string {
  try {
    read(text);
  } catch (err) {
    expect(err).to.be.instanceOf(TaskInputError);
    return (err as Error).message;
  }
  throw new Error("the reader accepted the file");
}

const ALICE = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const BOB = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

describe("agent:pay-batch", function () {
  describe("the payments file", function () {
    it("test_parseCsv_quotedFieldsAndCrlf_keepCommasQuotesAndLineNumbers", function () {
      const records = parseCsv(
        'to,amount,reason\r\n0x1,5,"Salary, January"\r\n\r\n0x2,6,"say ""hi""\nsecond line"\n0x3,7,x',
        "p.csv",
      );
      expect(records.map((r) => [r.line, r.fields])).to.deep.equal([
        [1, ["to", "amount", "reason"]],
        [2, ["0x1", "5", "Salary, January"]],
        [3, [""]],
        [4, ["0x2", "6", 'say "hi"\nsecond line']],
        [6, ["0x3", "7", "x"]],
      ]);
    });

    it("test_readPaymentsCsv_anyColumnOrderAndOptionalColumns_readsEveryRow", function () {
      const rows = read(
        `Amount,Idempotency Key,to,asset,reason\n400,payroll-01/alice,${ALICE.toLowerCase()},USDC,January salary\n0.5,,${BOB},ETH,\n`,
      );
      expect(rows).to.deep.equal([
        {
          row: 1,
          line: 2,
          to: ALICE,
          amount: "400",
          asset: "USDC",
          reason: "January salary",
          idempotencyKey: "payroll-01/alice",
        },
        { row: 2, line: 3, to: BOB, amount: "0.5", asset: "ETH" },
      ]);
    });

    it("test_readPaymentsCsv_badValues_namesRowLineFieldAndValue", function () {
      const header = "to,amount,asset\n";
      expect(readError(`${header}${ALICE},1,USDC\n${BOB},"12,5",USDC\n`)).to.equal(
        'payments.csv row 2 (line 3), field amount: "12,5" is not a decimal amount in the asset\'s units (write e.g. 1250 or 12.5, with a dot and no thousands separators).',
      );
      expect(readError(`${header}0x1234,1,USDC\n`)).to.equal(
        'payments.csv row 1 (line 2), field to: "0x1234" is not an address (0x followed by 40 hex digits).',
      );
      expect(readError(`${header}${ALICE.replace("c", "C")},1,USDC\n`)).to.match(
        /^payments\.csv row 1 \(line 2\), field to: ".*" has an invalid checksum/,
      );
      expect(readError(`${header}${ALICE},1,EURC\n`)).to.equal(
        'payments.csv row 1 (line 2), field asset: "EURC" is not ETH, USDC or a token address.',
      );
      expect(readError(`${header}${ALICE},0.00,USDC\n`)).to.equal(
        'payments.csv row 1 (line 2), field amount: "0.00" is zero: there is nothing to pay.',
      );
      expect(readError(`${header}${ALICE},,USDC\n`)).to.equal(
        "payments.csv row 1 (line 2), field amount: empty. Every payment needs to, amount and asset.",
      );
      expect(readError(`${header}${ALICE},1,USDC,extra\n`)).to.match(
        /^payments\.csv row 1 \(line 2\): 4 fields, but the header names 3/,
      );
    });

    it("test_readPaymentsCsv_badHeader_namesTheColumn", function () {
      expect(readError(`to,amount,asset,memo\n${ALICE},1,USDC,x\n`)).to.equal(
        'payments.csv line 1, column 4: unknown column "memo". The columns are to, amount, asset, reason, idempotency key.',
      );
      expect(readError(`to,asset\n${ALICE},USDC\n`)).to.match(/^payments\.csv has no "amount" column/);
      expect(readError("to,amount,asset\n")).to.equal("payments.csv has a header but no payments.");
      expect(() => readPaymentsCsv("/nonexistent/payments.csv", () => true, [])).to.throw(
        TaskInputError,
        /--file \/nonexistent\/payments\.csv: no such file/,
      );
    });
  });

  describe("the task", function () {
    const saved = process.env.DEPLOYMENTS_DIR;
    after(function () {
      if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
      else process.env.DEPLOYMENTS_DIR = saved;
    });

    async function taskFixture(): Promise<Treasury> {
      const fx = await loadFixture(treasuryFixture);
      process.env.DEPLOYMENTS_DIR = tmp();
      writeDeployment(await fixtureDeploymentRecord(fx));
      return fx;
    }

    async function runJson(args: Record<string, unknown>): Promise<{ out: Json; exitCode: number }> {
      const { stdout, exitCode } = await runTaskCapturing("agent:pay-batch", { json: true, agent: "payroll", ...args });
      const lines = stdout.trim().split("\n");
      expect(lines, stdout).to.have.length(1);
      return { out: JSON.parse(lines[0]) as Json, exitCode };
    }

    it("test_payBatch_dryRun_json_showsEachRowAndSendsNothing", async function () {
      const fx = await taskFixture();
      const dai = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
      const file = csvFile(
        `to,amount,asset,reason\n${fx.alice.address},400,USDC,January\n${fx.bob.address},400,${await dai.getAddress()},January\n${fx.bob.address},2,ETH,\n`,
      );
      const blockBefore = await ethers.provider.getBlockNumber();
      const { out, exitCode } = await runJson({ file, dryRun: true, reason: "payroll 2025-01" });
      expect(exitCode).to.equal(0);
      const preview = out.preview as { rows: Json[]; totals: Json[] };
      expect(preview.rows.map((r) => [r.row, r.line, r.status, r.reason ?? null])).to.deep.equal([
        [1, 2, "Executed", null],
        [2, 3, "Denied", "AssetNotAllowed"],
        [3, 4, "Queued", null],
      ]);
      expect(preview.totals).to.deep.equal([{ asset: "USDC", amount: "400" }]);
      expect(out).to.not.have.property("result");
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore);
    });

    it("test_payBatch_deniedRowWithoutAllowDenied_refusesNamingTheRowAndSendsNothing", async function () {
      const fx = await taskFixture();
      const dai = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
      const file = csvFile(
        `to,amount,asset\n${fx.alice.address},400,USDC\n${fx.bob.address},1,${await dai.getAddress()}\n`,
      );
      const { out, exitCode } = await runJson({ file });
      expect(exitCode).to.equal(1);
      expect(out.error).to.deep.include({
        code: "INVALID_REQUEST",
        message:
          "payments.csv: row 2 (line 3, AssetNotAllowed) would be denied, and each denial costs the agent a strike. Fix or remove those rows, or pass --allow-denied to send anyway. Nothing was sent.",
      });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
    });

    it("test_payBatch_sendThenRunAgain_oneTransactionThenOnlyReplays", async function () {
      const fx = await taskFixture();
      const file = csvFile(
        `to,amount,asset,idempotency key\n${fx.alice.address},400,USDC,2025-01/alice\n${fx.bob.address},350.5,USDC,2025-01/bob\n${fx.bob.address},0.25,ETH,\n`,
      );
      const bobEth = await ethers.provider.getBalance(fx.bob.address);
      const first = await runJson({ file, relayed: true });
      expect(first.exitCode).to.equal(0);
      const result = first.out.result as { txHash: string; sent: number; rows: Json[] };
      expect(result.sent).to.equal(3);
      expect(result.txHash).to.match(/^0x[0-9a-f]{64}$/);
      expect(result.rows.map((r) => [r.row, r.status, r.replay])).to.deep.equal([
        [1, "Executed", false],
        [2, "Executed", false],
        [3, "Executed", false],
      ]);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("350.5"));
      expect(await ethers.provider.getBalance(fx.bob.address)).to.equal(bobEth + parseUnits("0.25", 18));

      const again = await runJson({ file, relayed: true });
      const replayed = again.out.result as { sent: number; rows: Json[] };
      expect(replayed.sent).to.equal(0);
      expect(again.out.result).to.not.have.property("txHash");
      expect(replayed.rows.map((r) => [r.status, r.replay, r.intentId])).to.deep.equal(
        result.rows.map((r) => ["Executed", true, r.intentId]),
      );
      expect((again.out.preview as { rows: Json[] }).rows.every((r) => r.replay === true)).to.equal(true);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("400"));
    });

    it("test_payBatch_text_printsThePreviewBeforeTheResult", async function () {
      const fx = await taskFixture();
      const file = csvFile(`to,amount,asset\n${fx.alice.address},7,USDC\n`);
      const { stdout } = await runTaskCapturing("agent:pay-batch", { json: false, agent: "payroll", file });
      const preview = stdout.indexOf("Dry run of payments.csv (1 payments)");
      const sent = stdout.indexOf("Sent 1 payment(s) in one transaction 0x");
      expect(preview).to.be.greaterThan(-1);
      expect(sent).to.be.greaterThan(preview);
      expect(stdout).to.contain("Would leave the Safe now: 7 USDC.");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("7"));
    });

    it("test_payBatch_amountWithTooManyDecimals_clientErrorNamesRowLineAndField", async function () {
      const fx = await taskFixture();
      const file = csvFile(`to,amount,asset\n${fx.alice.address},1,USDC\n${fx.bob.address},1.1234567,USDC\n`);
      const { out, exitCode } = await runJson({ file, dryRun: true });
      expect(exitCode).to.equal(1);
      const error = out.error as { code: string; message: string };
      expect(error.code).to.equal("INVALID_REQUEST");
      expect(error.message).to.match(
        /^payments\.csv row 2 \(line 3\), field amount: amount "?1\.1234567"? has 7 decimal places but USDC has only 6/,
      );
    });
  });
});
