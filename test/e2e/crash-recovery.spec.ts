/**
 * Crash recovery of the agent client, end to end: a real agent process (test/e2e/crash-child.ts) is killed with
 * SIGKILL between signing and sending, and between sending and the receipt, on a `hardhat node` that outlives
 * it; then restarted. Checks: no double payment, no lost intent, and the journal agrees with the chain.
 */
import { expect } from "chai";
import { spawn } from "child_process";
import path from "path";
import { keccak256, parseUnits, toUtf8Bytes } from "ethers";
import { IAgentTreasuryModule__factory, MockERC20__factory } from "../../typechain-types";
import type { IAgentTreasuryModule } from "../../typechain-types";
import { Journal, JournalEntry, keyFromText, statusName } from "../../sdk";
import { tempDir } from "./helpers";
import { LocalNode, ROOT, startNode } from "../../testkit/localNode";
import { NodeTreasury, deployNodeTreasury } from "./nodeTreasury";
import type { CrashChildConfig } from "./crash-child";

const CHILD = path.join(__dirname, "crash-child.ts");

interface ChildEvent {
  event: "crash-point" | "connected" | "result" | "error";
  [key: string]: unknown;
}

interface ChildRun {
  code: number | null;
  killed: boolean;
  events: ChildEvent[];
  stderr: string;
}

/** Runs the agent process; kills it (SIGKILL, by pid) the moment it reports its crash point. */
function runChild(config: CrashChildConfig): { done: Promise<ChildRun> } {
  const child = spawn(process.execPath, ["-r", "ts-node/register", CHILD, JSON.stringify(config)], {
    cwd: ROOT,
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "true" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: ChildEvent[] = [];
  let buffer = "";
  let stderr = "";
  let killed = false;
  child.stdout.on("data", (d: Buffer) => {
    buffer += d.toString();
    let nl: number;
    while ((nl = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      if (!line.trim()) continue;
      const event = JSON.parse(line) as ChildEvent;
      events.push(event);
      if (event.event === "crash-point" && child.pid && !killed) {
        killed = true;
        process.kill(child.pid, "SIGKILL");
      }
    }
  });
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<ChildRun>((resolve) =>
    child.on("exit", (code) => resolve({ code, killed, events, stderr })),
  );
  return { done };
}

function eventOf(run: ChildRun, name: ChildEvent["event"]): ChildEvent {
  const e = run.events.find((x) => x.event === name);
  if (!e)
    throw new Error(
      `the agent process did not report "${name}"; events ${JSON.stringify(run.events)}; stderr:\n${run.stderr}`,
    );
  return e;
}

function entries(journal: string): JournalEntry[] {
  return Journal.open(journal, { readOnly: true }).entries() as JournalEntry[];
}

/** Every settled journal record matches the chain's record; nothing is left unfinished. */
async function expectJournalAgreesWithChain(journal: string, module: IAgentTreasuryModule, agent: string) {
  const j = Journal.open(journal, { readOnly: true });
  for (const r of j.allRecords()) {
    expect(r.outcome ?? r.closed, `journal record ${r.signed.intentId} is unfinished`).to.not.equal(undefined);
    if (!r.outcome) continue;
    const decidedBy = r.outcome.replayOf ?? r.signed.intentId;
    expect(statusName(await module.intentStatus(decidedBy))).to.equal(r.outcome.status);
    expect((await module.idempotencyRecord(agent, r.signed.intent.idempotencyKey)).intentId).to.equal(decidedBy);
  }
}

describe("agent client crash recovery (e2e, hardhat node)", function () {
  this.timeout(240_000);
  let node: LocalNode;
  let t: NodeTreasury;
  let module: IAgentTreasuryModule;

  before(async function () {
    node = await startNode(31337);
    t = await deployNodeTreasury(node.provider);
    module = IAgentTreasuryModule__factory.connect(t.module, node.provider);
  });

  after(async function () {
    await node?.stop();
  });

  const usdcBalance = (address: string) => MockERC20__factory.connect(t.usdc, node.provider).balanceOf(address);
  const config = (
    journal: string,
    request: CrashChildConfig["request"],
    crashAt?: CrashChildConfig["crashAt"],
  ): CrashChildConfig => ({
    url: node.url,
    module: t.module,
    agentKey: t.wallets.agent.privateKey,
    relayerKey: t.wallets.relayer.privateKey,
    journal,
    tokens: { USDC: t.usdc },
    request,
    crashAt,
  });

  describe("when the agent is killed between signing and sending", function () {
    it("test_restart_signedNotSent_resumesUnderSameKeyAndPaysOnce", async function () {
      const journal = path.join(tempDir("crash-a"), "agent.jsonl");
      const to = t.wallets.alice.address;
      const request = { asset: "USDC", to, amount: "750", rationale: "Invoice 9001 (crash before send)" };
      const paidBefore = await usdcBalance(to);
      const nonceBefore = await module.getNonce(t.wallets.agent.address, 0);

      const first = await runChild(config(journal, request, "signed")).done;

      expect(first.killed).to.equal(true);
      const signedId = eventOf(first, "crash-point").intentId as string;
      expect(entries(journal).map((e) => e.t)).to.deep.equal(["signed"]);
      expect(await usdcBalance(to)).to.equal(paidBefore); // nothing left the process
      expect(await module.getNonce(t.wallets.agent.address, 0)).to.equal(nonceBefore);

      const second = await runChild(config(journal, request)).done;

      expect(second.code).to.equal(0, second.stderr);
      const recovery = eventOf(second, "connected").recovery as {
        checked: number;
        resumed: { intentId: string; status: string }[];
      };
      expect(recovery.checked).to.equal(1);
      expect(recovery.resumed.map((r) => [r.intentId, r.status])).to.deep.equal([[signedId, "Executed"]]);
      const result = eventOf(second, "result").result as { intentId: string; status: string; replay: boolean };
      expect(result).to.deep.include({ intentId: signedId, status: "Executed", replay: true });
      expect((await usdcBalance(to)) - paidBefore).to.equal(parseUnits("750", 6)); // once
      expect(await module.getNonce(t.wallets.agent.address, 0)).to.equal(nonceBefore + 1n);
      expect(entries(journal).map((e) => e.t)).to.deep.equal(["signed", "sent", "outcome"]);
      await expectJournalAgreesWithChain(journal, module, t.wallets.agent.address);
    });
  });

  describe("when the agent is killed between sending and the receipt", function () {
    it("test_restart_sentAndMined_recordsOutcomeWithoutResending", async function () {
      const journal = path.join(tempDir("crash-b"), "agent.jsonl");
      const to = t.wallets.bob.address;
      const request = {
        asset: "USDC",
        to,
        amount: "820",
        rationale: "Invoice 9002 (crash after send)",
        idempotencyKey: "invoice-9002",
      };
      const paidBefore = await usdcBalance(to);

      const first = await runChild(config(journal, request, "sent")).done;

      expect(first.killed).to.equal(true);
      const id = eventOf(first, "crash-point").intentId as string;
      expect(entries(journal).map((e) => e.t)).to.deep.equal(["signed", "sent"]);
      expect((await usdcBalance(to)) - paidBefore).to.equal(parseUnits("820", 6)); // mined before the kill
      const relayerTxs = await node.provider.getTransactionCount(t.wallets.relayer.address);

      const second = await runChild(config(journal, request)).done;

      expect(second.code).to.equal(0, second.stderr);
      const recovery = eventOf(second, "connected").recovery as {
        landed: { intentId: string; status: string }[];
        resumed: unknown[];
      };
      expect(recovery.landed.map((r) => [r.intentId, r.status])).to.deep.equal([[id, "Executed"]]);
      expect(recovery.resumed).to.deep.equal([]);
      expect(eventOf(second, "result").result).to.deep.include({ intentId: id, status: "Executed", replay: true });
      expect(await node.provider.getTransactionCount(t.wallets.relayer.address)).to.equal(relayerTxs); // nothing sent again
      expect((await usdcBalance(to)) - paidBefore).to.equal(parseUnits("820", 6));
      expect(entries(journal).map((e) => e.t)).to.deep.equal(["signed", "sent", "outcome"]);
      expect((await module.idempotencyRecord(t.wallets.agent.address, keyFromText("invoice-9002"))).intentId).to.equal(
        id,
      );
      await expectJournalAgreesWithChain(journal, module, t.wallets.agent.address);
    });

    it("test_restart_whileFirstTxStillPending_secondSendReplaysAndPaysOnce", async function () {
      const journal = path.join(tempDir("crash-c"), "agent.jsonl");
      const to = t.wallets.attacker.address; // any fresh recipient
      const rationale = "Invoice 9003 (crash while pending)";
      const request = { asset: "USDC", to, amount: "333", rationale };
      const paidBefore = await usdcBalance(to);
      await node.provider.send("evm_setAutomine", [false]);
      try {
        const first = await runChild(config(journal, request, "sent")).done;
        expect(first.killed).to.equal(true);
        const id = eventOf(first, "crash-point").intentId as string;
        const pending = async () =>
          ((await node.provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] })
            .transactions;
        expect(await pending()).to.have.length(1); // the first send waits in the mempool

        // Restart while it is still pending: the client cannot see it on chain yet and sends the same intent again.
        const second = runChild(config(journal, request)).done;
        const deadline = Date.now() + 60_000;
        while ((await pending()).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
        const both = await pending();
        expect(both).to.have.length(2);
        await node.provider.send("evm_mine", []);
        await node.provider.send("evm_setAutomine", [true]);
        const run = await second;

        expect(run.code).to.equal(0, run.stderr);
        expect(eventOf(run, "result").result).to.deep.include({ intentId: id, status: "Executed", replay: true });
        expect((await usdcBalance(to)) - paidBefore).to.equal(parseUnits("333", 6)); // two transactions, one payment
        const receipts = await Promise.all(both.map((h) => node.provider.getTransactionReceipt(h)));
        const names = receipts.map((rc) => rc!.logs.map((l) => module.interface.parseLog(l)?.name).filter(Boolean));
        expect(names).to.deep.equal([["IntentExecuted"], ["IdempotentReplay"]]);
        const executedLog = module.interface.parseLog(
          receipts[0]!.logs.find((l) => module.interface.parseLog(l)?.name === "IntentExecuted")!,
        );
        expect(executedLog!.args.rationale).to.equal(keccak256(toUtf8Bytes(rationale)));
        const kinds = entries(journal).map((e) => e.t);
        expect(kinds).to.deep.equal(["signed", "sent", "sent", "outcome"]);
        const outcome = entries(journal).at(-1) as { status: string; txHash: string };
        expect(outcome).to.deep.include({ status: "Executed", txHash: both[0] }); // the transaction that paid
        await expectJournalAgreesWithChain(journal, module, t.wallets.agent.address);
      } finally {
        await node.provider.send("evm_setAutomine", [true]);
      }
    });
  });
});
