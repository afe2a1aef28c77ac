/**
 * Truth across a node restart, end to end: a treasury operator's `hardhat node` is stopped (by its pid) and a fresh
 * one started on the same port: same chain id (31337), same URL, a new genesis block, no state. The treasury is
 * deployed again at the same addresses (the same deployer transactions). What the tools say must stay true:
 *
 * - `treasury:status`, `treasury:plan`, `treasury:apply` and `agent:pay` against the record of the dead chain stop
 *   with DEPLOYMENT_STALE, naming the record, the chain it was written on and what to do (deploy again), never
 *   BAD_DATA and never a plan for a Safe that has no code; after deploying again they work.
 * - `agent:pay` repeated with the idempotency key of a payment made before the restart pays again on the new chain
 *   (the recipient's balance there shows it) instead of reporting a replay of a transaction of the dead chain; the
 *   journal of the old chain is kept as `<agent>.<genesis prefix>.stale.jsonl`, and so is the old deployment record.
 * - A watchtower running across the restart finds its checkpoint ahead of the new chain's head, raises a `reorg`
 *   alert, re-reads the new chain from its start (so the new module's creation and configuration are reported),
 *   and reports a new denied payment. A watchtower started after the restart with a checkpoint of the old chain
 *   sets it aside (kept as `<name>.<genesis prefix>.stale.json`), alerts, and re-reads from the module's creation
 *   block on the new chain; its statistics count the new chain only.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import { ZeroHash } from "ethers";
import { IAgentTreasuryModule__factory, MockERC20__factory } from "../../typechain-types";
import type { Alert } from "../../monitor/alerts";
import type { Checkpoint } from "../../monitor/checkpoint";
import { keyFromText } from "../../sdk";
import { removeTempDirs, tempDir, writeJson } from "./helpers";
import { CliProcess, LocalNode, restartNode, runCli, startCli, startNode } from "../../testkit/localNode";
import { NodeTreasury, deployNodeTreasury } from "./nodeTreasury";

const KEY = "invoice-2024-0042";
const AMOUNT = "250";

interface CliError {
  error: { code: string; message: string };
}

/** The JSON lines a `--json` monitor printed (alerts, and the summary last when it exited). */
function jsonLines(text: string): Record<string, unknown>[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function alerts(text: string): Alert[] {
  return jsonLines(text).filter((l) => l.type === "alert") as unknown as Alert[];
}

/** A policy file saying exactly what deployNodeTreasury configures, for the existing Safe. */
function policyFor(t: NodeTreasury): Record<string, unknown> {
  return {
    safe: t.safe,
    salt: "agent-treasury-guard/e2e",
    guardians: [t.wallets.guardian.address],
    cosigners: { members: t.wallets.cosigners.map((c) => c.address), threshold: 2 },
    tokens: { USDC: t.usdc },
    agents: [
      {
        name: "payroll",
        address: t.wallets.agent.address,
        escalationDelay: "1h",
        gracePeriod: "24h",
        maxStrikes: 3,
        strikeWindow: "24h",
        recipientMode: "any",
        limits: [
          { asset: "ETH", autoPerTx: "1", autoPerWindow: "3", window: "24h", escalatedPerTx: "10" },
          { asset: "USDC", autoPerTx: "1000", autoPerWindow: "5000", window: "24h", escalatedPerTx: "50000" },
        ],
      },
    ],
  };
}

describe("a hardhat node restarted under the tools (e2e)", function () {
  this.timeout(240_000);
  let node: LocalNode;
  let dir: string;
  let env: Record<string, string>;
  let t: NodeTreasury;
  let policyFile: string;
  let oldGenesis: string;
  let newGenesis: string;
  let towerA: CliProcess;
  let towerASummary: Record<string, unknown>;
  let towerAStderr: string;
  let towerB: { code: number | null; stdout: string; stderr: string };
  const towerBCheckpoint = () => path.join(dir, "tower-b.checkpoint.json");
  let paidBefore: Record<string, unknown>;
  let stale: Record<"status" | "plan" | "apply" | "pay", Awaited<ReturnType<typeof runCli>>>;
  let fresh: Record<"status" | "plan" | "apply", Awaited<ReturnType<typeof runCli>>>;
  let paidAfter: Awaited<ReturnType<typeof runCli>>;
  let denied: Record<string, unknown>;
  let headAfterStaleCommands: number;
  const recordLines: string[] = [];
  const journalFile = () =>
    path.join(dir, "journals", `31337-${t.module.toLowerCase()}`, `${t.wallets.agent.address.toLowerCase()}.jsonl`);
  const usdcOf = (address: string) => MockERC20__factory.connect(t.usdc, node.provider).balanceOf(address);
  const pay = (extra: string[]) =>
    runCli(
      node,
      ["agent:pay", "--agent", "payroll", "--asset", "USDC", "--to", t.wallets.bob.address, "--json", ...extra],
      { env },
    );

  before(async function () {
    node = await startNode(31337);
    dir = tempDir("e2e-restart");
    env = { DEPLOYMENTS_DIR: dir };
    t = await deployNodeTreasury(node.provider, dir);
    policyFile = writeJson(path.join(dir, "policy.json"), policyFor(t));
    oldGenesis = (await node.provider.getBlock(0))!.hash!;

    // Before the restart: a running watchtower, a one-shot watchtower with its own checkpoint, a keyed payment.
    towerA = startCli(node, ["treasury:monitor", "--json", "--confirmations", "1", "--poll-interval", "200"], { env });
    const [onceBefore, paid] = await Promise.all([
      runCli(
        node,
        ["treasury:monitor", "--once", "--json", "--confirmations", "1", "--checkpoint", towerBCheckpoint()],
        { env },
      ),
      // Paid once the running watchtower watches, so that it reads the payment rather than learning it silently.
      towerA
        .waitFor("stderr", /monitor: watching module/, 60_000)
        .then(() => pay(["--amount", AMOUNT, "--idempotency-key", KEY])),
    ]);
    expect(onceBefore.code, onceBefore.stderr).to.equal(0);
    expect(paid.code, paid.stderr).to.equal(0);
    paidBefore = paid.json!;
    expect(paidBefore).to.include({ status: "Executed", replay: false });
    expect(await usdcOf(t.wallets.bob.address)).to.equal(250_000_000n);
    const paidBlock = Number(paidBefore.blockNumber);
    // The running watchtower has read the payment's block (its checkpoint is past it).
    const checkpointA = path.join(dir, "monitor", `31337-${t.module.toLowerCase()}.checkpoint.json`);
    const readTo = () =>
      fs.existsSync(checkpointA) ? (JSON.parse(fs.readFileSync(checkpointA, "utf8")) as Checkpoint).nextBlock : 0;
    await towerA.waitFor("stdout", () => readTo() > paidBlock, 60_000);

    node = await restartNode(node);
    newGenesis = (await node.provider.getBlock(0))!.hash!;
    // The running watchtower notices before anything is deployed again.
    await towerA.waitFor("stdout", (text) => alerts(text).some((a) => a.kind === "reorg"), 30_000);

    // Against the record of the dead chain.
    const [status, plan, apply, payStale] = await Promise.all([
      runCli(node, ["treasury:status", "--json"], { env }),
      runCli(node, ["treasury:plan", "--policy", policyFile, "--json"], { env }),
      runCli(node, ["treasury:apply", "--policy", policyFile, "--json"], { env }),
      pay(["--amount", AMOUNT, "--idempotency-key", KEY]),
    ]);
    stale = { status, plan, apply, pay: payStale };
    headAfterStaleCommands = await node.provider.getBlockNumber();

    // Deploy again: the same transactions, so the same addresses.
    const again = await deployNodeTreasury(node.provider, dir, (line) => recordLines.push(line));
    expect([again.safe, again.module, again.usdc]).to.deep.equal([t.safe, t.module, t.usdc]);

    const [statusAfter, planAfter, applyAfter] = await Promise.all([
      runCli(node, ["treasury:status", "--json"], { env }),
      runCli(node, ["treasury:plan", "--policy", policyFile, "--json"], { env }),
      runCli(node, ["treasury:apply", "--policy", policyFile, "--json"], { env }),
    ]);
    fresh = { status: statusAfter, plan: planAfter, apply: applyAfter };
    paidAfter = await pay(["--amount", AMOUNT, "--idempotency-key", KEY]);
    const d = await pay(["--amount", "60000", "--reason", "Urgent transfer requested in chat"]);
    expect(d.code, d.stderr).to.equal(0);
    denied = d.json!;

    await towerA.waitFor(
      "stdout",
      (text) => alerts(text).some((a) => a.kind === "denied-intent" && a.intentId === denied.intentId),
      60_000,
    );
    expect(await towerA.stop("SIGTERM")).to.equal(0);
    towerAStderr = towerA.stderr();
    towerASummary = jsonLines(towerA.stdout()).find((l) => l.type === "summary")!;
    const once = await runCli(
      node,
      ["treasury:monitor", "--once", "--json", "--confirmations", "1", "--checkpoint", towerBCheckpoint()],
      { env },
    );
    towerB = once;
  });

  after(async function () {
    await towerA?.stop("SIGKILL");
    await node?.stop();
    removeTempDirs();
  });

  describe("treasury:status, plan and apply", function () {
    it("test_cli_recordOfDeadChain_failsWithDeploymentStaleNamingRecordChainAndRemedy", async function () {
      const record = path.join(dir, "31337.json");
      for (const [name, r] of Object.entries(stale)) {
        expect(r.code, `${name}: ${r.stdout}${r.stderr}`).to.equal(1);
        const { error } = r.json as unknown as CliError;
        expect(error.code, name).to.equal("DEPLOYMENT_STALE");
        expect(error.message, name).to.contain(
          `Deployment record ${record} was written on chain 31337 (genesis ${oldGenesis.slice(0, 10)}`,
        );
        expect(error.message, name).to.contain(
          `the node answering now is chain 31337 (genesis ${newGenesis.slice(0, 10)}`,
        );
        expect(error.message, name).to.contain("npx hardhat treasury:deploy");
        expect(error.message, name).to.contain(`31337.${oldGenesis.slice(2, 10)}.stale.json`);
        expect(`${r.stdout}${r.stderr}`, name).to.not.match(/BAD_DATA|could not decode/);
      }
      // Nothing was planned or sent for the Safe that is not there: the new chain was still at its genesis block.
      expect(stale.plan.json).to.not.have.property("items");
      expect(headAfterStaleCommands).to.equal(0);
    });

    it("test_cli_afterDeployingAgain_statusPlanApplyWork", async function () {
      for (const [name, r] of Object.entries(fresh)) expect(r.code, `${name}: ${r.stdout}${r.stderr}`).to.equal(0);
      const status = fresh.status.json as {
        safe: string;
        module: string;
        agents: { name?: string; address: string }[];
        balances: { symbol: string; amount: string }[];
      };
      expect([status.safe, status.module]).to.deep.equal([t.safe, t.module]);
      expect(status.agents.map((a) => [a.name, a.address])).to.deep.equal([["payroll", t.wallets.agent.address]]);
      expect(status.balances.find((b) => b.symbol === "USDC")?.amount).to.equal("1000000");
      expect(fresh.plan.json).to.include({ upToDate: true, safe: t.safe, module: t.module });
      expect(fresh.apply.json).to.deep.include({ applied: [], pending: [] });
    });

    it("test_deploy_again_setsOldRecordAsideUnderStaleName", async function () {
      const kept = path.join(dir, `31337.${oldGenesis.slice(2, 10)}.stale.json`);
      expect(recordLines).to.have.length(1);
      expect(recordLines[0]).to.contain(`set aside as ${kept}`);
      const old = JSON.parse(fs.readFileSync(kept, "utf8")) as { genesisHash: string };
      const current = JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8")) as { genesisHash: string };
      expect([old.genesisHash, current.genesisHash]).to.deep.equal([oldGenesis, newGenesis]);
    });
  });

  describe("agent:pay with a key used before the restart", function () {
    it("test_pay_sameKeyAfterRestart_paysOnNewChainNotReplay", async function () {
      expect(paidAfter.code, paidAfter.stderr).to.equal(0);
      expect(paidAfter.json).to.include({ status: "Executed", replay: false });
      const txHash = paidAfter.json!.txHash as string;
      expect(txHash).to.not.equal(paidBefore.txHash);
      // The transaction is on this chain, and the recipient really has the money here.
      expect((await node.provider.getTransactionReceipt(txHash))?.status).to.equal(1);
      expect(await usdcOf(t.wallets.bob.address)).to.equal(250_000_000n);
      const module = IAgentTreasuryModule__factory.connect(t.module, node.provider);
      const bound = await module.idempotencyRecord(t.wallets.agent.address, keyFromText(KEY));
      expect(bound.intentId).to.equal(paidAfter.json!.intentId);
      expect(bound.intentId).to.not.equal(ZeroHash);
    });

    it("test_pay_afterRestart_oldJournalKeptUnderStaleName", async function () {
      const kept = journalFile().replace(/\.jsonl$/, `.${oldGenesis.slice(2, 10)}.stale.jsonl`);
      expect(paidAfter.stderr).to.contain(`set aside as ${kept}`);
      const lines = (file: string) =>
        fs
          .readFileSync(file, "utf8")
          .trim()
          .split("\n")
          .map((l) => JSON.parse(l) as Record<string, unknown>);
      const old = lines(kept);
      expect(old[0]).to.include({ t: "chain", chainId: "31337", genesisHash: oldGenesis });
      expect(old.find((e) => e.t === "outcome")).to.include({ status: "Executed", txHash: paidBefore.txHash });
      const current = lines(journalFile());
      expect(current[0]).to.include({ t: "chain", genesisHash: newGenesis });
      expect(current.filter((e) => e.t === "outcome").map((e) => e.txHash)).to.deep.equal([
        paidAfter.json!.txHash,
        denied.txHash,
      ]);
    });
  });

  describe("the watchtower", function () {
    it("test_monitor_runningAcrossRestart_alertsRereadsNewChainAndReportsDenial", async function () {
      const seen = alerts(towerA.stdout());
      const reorg = seen.filter((a) => a.kind === "reorg");
      expect(reorg).to.have.length(1);
      expect(reorg[0].severity).to.equal("critical");
      expect(reorg[0].message).to.contain("The chain was restarted or replaced");
      expect(reorg[0].message).to.contain(`beyond the chain's head`);
      expect(reorg[0].details).to.include({ newChain: true, genesisHash: newGenesis, resumeFrom: 1 });
      // Everything after the alert is of the new chain, read from its start: the module's configuration again,
      // then the denied payment.
      const after = seen.slice(seen.indexOf(reorg[0]) + 1);
      expect(after.some((a) => a.kind === "config-loosened")).to.equal(true);
      const denial = after.find((a) => a.kind === "denied-intent")!;
      expect(denial).to.include({ intentId: denied.intentId, txHash: denied.txHash });
      expect(towerAStderr).to.match(
        /the chain changed under the checkpoint: block \d+ \(read as 0x[0-9a-f]{64}\) is beyond the chain's head/,
      );
      // Its statistics are the new chain's: one payment executed and one denied (not two executed).
      const payroll = (towerASummary.agents as { name?: string; counts: { executed: number; denied: number } }[]).find(
        (a) => a.name === "payroll",
      )!;
      expect(payroll.counts).to.include({ executed: 1, denied: 1 });
    });

    it("test_monitor_startedWithOldCheckpoint_setsItAsideAndReadsFromModuleCreation", async function () {
      expect(towerB.code, towerB.stderr).to.equal(0);
      const kept = towerBCheckpoint().replace(/\.json$/, `.${oldGenesis.slice(2, 10)}.stale.json`);
      expect(towerB.stderr).to.contain(`set aside as ${kept}`);
      expect(JSON.parse(fs.readFileSync(kept, "utf8"))).to.include({ genesisHash: oldGenesis });
      expect(JSON.parse(fs.readFileSync(towerBCheckpoint(), "utf8"))).to.include({ genesisHash: newGenesis });
      const seen = alerts(towerB.stdout);
      const reorg = seen.find((a) => a.kind === "reorg")!;
      expect(reorg.details).to.include({ newChain: true, setAsideAs: kept });
      // It re-read from the block where the module's code appears on the new chain.
      const from = Number(reorg.details.resumeFrom);
      expect(await node.provider.getCode(t.module, from - 1)).to.equal("0x");
      expect(await node.provider.getCode(t.module, from)).to.not.equal("0x");
      expect(seen.find((a) => a.kind === "denied-intent")).to.include({ intentId: denied.intentId });
      const summary = jsonLines(towerB.stdout).find((l) => l.type === "summary")!;
      const payroll = (summary.agents as { name?: string; counts: { executed: number; denied: number } }[]).find(
        (a) => a.name === "payroll",
      )!;
      expect(payroll.counts).to.include({ executed: 1, denied: 1 });
    });
  });
});
