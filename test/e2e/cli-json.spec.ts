/**
 * Every agent, intent and guardian task with `--json` prints one parseable JSON object with the fields documented
 * in README-CLI.md. The tasks run in-process (hre.run, the in-process chain) for all of them, and as real CLI child
 * processes against a `hardhat node` for the flag parsing and the process exit code.
 */
import { expect } from "chai";
import hre from "hardhat";
import fs from "fs";
import path from "path";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { keccak256, parseUnits, toUtf8Bytes } from "ethers";
import { writeDeployment } from "../../core/deployment";
import { keyFromText } from "../../sdk";
import { HOUR, Treasury, fixtureDeploymentRecord, treasuryFixture } from "../fixtures";
import { inParallel, tempDir } from "./helpers";
import { CliOptions, CliResult, LocalNode, freePort, runCli, startNode } from "../../testkit/localNode";
import { CLI_ERROR_CODES } from "../../tasks/lib/output";
import { deployNodeTreasury } from "./nodeTreasury";
import { runTaskCapturing } from "../inProcessTask";
import { STATUS_NAMES } from "../../sdk/shapes";

const HEX32 = /^0x[0-9a-f]{64}$/i;

type Json = Record<string, unknown>;

/** Runs a task in-process and returns the one JSON object it printed, and the exit code it set. */
async function runJson(task: string, args: Record<string, unknown>): Promise<{ out: Json; exitCode: number }> {
  const { stdout, exitCode } = await runTaskCapturing(task, { json: true, ...args });
  const lines = stdout.trim().split("\n");
  expect(lines, `${task} printed more than one line:\n${stdout}`).to.have.length(1);
  return { out: JSON.parse(lines[0]) as Json, exitCode };
}

/** Runs a task in-process without --json and returns what it printed (the human-readable form). */
async function runText(task: string, args: Record<string, unknown>): Promise<string> {
  return (await runTaskCapturing(task, { json: false, ...args })).stdout;
}

/** The fields every intent outcome carries (agent:pay, agent:call, agent:propose, intent:execute). */
function expectIntentOutcome(out: Json, status: string) {
  expect(out.intentId).to.match(HEX32);
  expect(out.status).to.equal(status);
  expect(STATUS_NAMES).to.include(out.status);
  expect(out.replay).to.be.a("boolean");
  expect(out.idempotencyKey).to.match(HEX32);
  expect(out.nonce).to.match(/^\d+$/);
  expect(out.agent).to.match(/^0x[0-9a-fA-F]{40}$/);
  if (status === "Denied") expect(out.reason).to.be.a("string");
  else expect(out).to.not.have.property("reason");
  if (status === "Queued") expect(out.eta).to.be.a("number");
}

describe("CLI --json output", function () {
  describe("in-process, every task", function () {
    let dir: string;
    const saved = process.env.DEPLOYMENTS_DIR;

    /** The fixture's treasury with a deployment record naming its agent "payroll" and its token "USDC". */
    async function cliFixture(): Promise<Treasury> {
      const fx = await loadFixture(treasuryFixture);
      dir = tempDir("cli-json");
      process.env.DEPLOYMENTS_DIR = dir;
      writeDeployment(await fixtureDeploymentRecord(fx));
      return fx;
    }

    after(function () {
      if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
      else process.env.DEPLOYMENTS_DIR = saved;
    });

    it("test_agentPay_json_executedWithDocumentedFields", async function () {
      const fx = await cliFixture();
      const { out, exitCode } = await runJson("agent:pay", {
        agent: "payroll",
        asset: "USDC",
        to: fx.alice.address,
        amount: "125.5",
        reason: "Invoice 77",
        idempotencyKey: "inv-77",
      });
      expect(exitCode).to.equal(0);
      expectIntentOutcome(out, "Executed");
      expect(out).to.deep.include({ agentName: "payroll", idempotencyKey: keyFromText("inv-77"), replay: false });
      expect(out.txHash).to.match(HEX32);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(parseUnits("125.5", 6));
      // The journal went next to the deployment record, with the reason's text.
      const journals = fs.readdirSync(path.join(dir, "journals"));
      expect(journals).to.have.length(1);
    });

    it("test_agentPay_json_queuedHasEtaAndDeniedHasReason", async function () {
      const fx = await cliFixture();
      const queued = await runJson("agent:pay", {
        agent: "payroll",
        asset: "ETH",
        to: fx.alice.address,
        amount: "5",
        relayed: true,
      });
      expectIntentOutcome(queued.out, "Queued");
      const denied = await runJson("agent:pay", {
        agent: fx.agent.address,
        asset: "ETH",
        to: fx.alice.address,
        amount: "50",
      });
      expectIntentOutcome(denied.out, "Denied");
      expect(denied.out.reason).to.equal("AboveHardCap");
      expect(denied.exitCode).to.equal(0); // a denial is an answer, not a failure
    });

    it("test_agentPay_json_retrySameCommandIsReplay", async function () {
      const fx = await cliFixture();
      const args = { agent: "payroll", asset: "USDC", to: fx.alice.address, amount: "10" };
      const first = await runJson("agent:pay", args);
      const again = await runJson("agent:pay", args);
      expect(again.out).to.deep.include({ intentId: first.out.intentId, status: "Executed", replay: true });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(parseUnits("10", 6));
    });

    it("test_agentPay_dryRun_json_saysDeniedAndTheStrike_thenTheRealPayIsDenied", async function () {
      const fx = await cliFixture();
      const dai = await hre.ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
      const args = {
        agent: "payroll",
        asset: await dai.getAddress(),
        to: fx.alice.address,
        amount: "1",
        reason: "dai invoice",
      };
      const nonce = await fx.module.getNonce(fx.agent.address, 0);
      const dry = await runJson("agent:pay", { ...args, dryRun: true });
      expect(dry.exitCode).to.equal(0);
      expect(dry.out).to.deep.include({
        dryRun: true,
        status: "Denied",
        reason: "AssetNotAllowed",
        replay: false,
        explained: true,
        agentName: "payroll",
      });
      expect(dry.out.strikes).to.deep.equal({ now: 0, max: 3, wouldFreeze: false });
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(nonce); // nothing was sent
      expect(fs.existsSync(path.join(dir, "journals"))).to.equal(false); // nor journaled

      const real = await runJson("agent:pay", args);
      expectIntentOutcome(real.out, "Denied");
      expect(real.out).to.deep.include({ intentId: dry.out.intentId, reason: "AssetNotAllowed" });
      expect(real.out.strikes).to.deep.equal({ now: 1, max: 3 });

      const queued = await runJson("agent:propose", {
        agent: "payroll",
        asset: "USDC",
        to: fx.bob.address,
        amount: "20",
        reason: "check me",
        dryRun: true,
      });
      expect(queued.out).to.deep.include({ status: "Queued", queuedBecause: ["review-requested"] });
    });

    it("test_agentCall_json_deniedApprovalHasReason", async function () {
      const fx = await cliFixture();
      const { out } = await runJson("agent:call", {
        agent: "payroll",
        target: "USDC",
        function: "approve(address,uint256)",
        args: JSON.stringify([fx.attacker.address, "1000000"]),
        reason: "injected",
      });
      expectIntentOutcome(out, "Denied");
      expect(out.reason).to.equal("ApprovalNotAllowed");
    });

    it("test_agentPropose_json_queuedWithEta", async function () {
      const fx = await cliFixture();
      const { out } = await runJson("agent:propose", {
        agent: "payroll",
        asset: "USDC",
        to: fx.bob.address,
        amount: "20",
        reason: "new vendor",
      });
      expectIntentOutcome(out, "Queued");
      const block = await hre.ethers.provider.getBlock("latest");
      expect(out.eta).to.equal(block!.timestamp + HOUR);
    });

    it("test_intentLifecycle_json_showApproveExecuteCancel", async function () {
      const fx = await cliFixture();
      const queued = (
        await runJson("agent:pay", {
          agent: "payroll",
          asset: "USDC",
          to: fx.bob.address,
          amount: "2500",
          reason: "audit invoice",
        })
      ).out;
      const intentId = queued.intentId as string;

      const shown = (await runJson("intent:show", { intentId })).out;
      expect(shown).to.deep.include({
        intentId,
        status: "Queued",
        agent: fx.agent.address,
        agentName: "payroll",
        approvals: 0,
        threshold: 2,
        executable: false,
        eta: queued.eta,
        rationaleText: "audit invoice",
      });
      expect(shown.rationaleHash).to.equal(keccak256(toUtf8Bytes("audit invoice")));
      expect(shown.action).to.deep.include({
        kind: "token-payment",
        amount: "2500000000",
        amountFormatted: "2500",
        summary: `Pay 2500 USDC to ${fx.bob.address}`,
      });
      expect(shown.approvedBy).to.deep.equal([]);

      const onChain = (await runJson("intent:approve", { intentId, signatureOnly: false })).out;
      expect(onChain).to.deep.include({
        intentId,
        status: "Queued",
        signer: fx.cosigners[0].address,
        approvals: 1,
        threshold: 2,
      });
      expect(onChain.txHash).to.match(HEX32);
      const offChain = (
        await runJson("intent:approve", { intentId, signatureOnly: true, cosigner: fx.cosigners[2].address })
      ).out;
      expect(offChain).to.deep.include({ status: "Queued", signer: fx.cosigners[2].address, approvals: 1 });
      expect(offChain).to.not.have.property("txHash");
      const signature = offChain.signature as { signer: string; signature: string };
      expect(signature.signer).to.equal(fx.cosigners[2].address);

      const early = await runJson("intent:execute", {
        intentId,
        signatures: `${signature.signer}:${signature.signature}`,
      });
      expect(early.exitCode).to.equal(1);
      expect((early.out.error as Json).code).to.equal("INTENT_NOT_READY");

      await time.increase(HOUR);
      const file = path.join(dir, "approval.json");
      fs.writeFileSync(file, JSON.stringify(offChain)); // the approve output itself is accepted as a signatures file
      const executed = await runJson("intent:execute", { intentId, signatures: file });
      expect(executed.exitCode).to.equal(0);
      expectIntentOutcome(executed.out, "Executed");
      expect(executed.out.txHash).to.match(HEX32);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(parseUnits("2500", 6));

      const other = (
        await runJson("agent:propose", {
          agent: "payroll",
          asset: "USDC",
          to: fx.bob.address,
          amount: "1",
          reason: "cancel me",
        })
      ).out;
      const cancelled = (await runJson("intent:cancel", { intentId: other.intentId, role: "GUARDIAN" })).out;
      expect(cancelled).to.deep.include({ intentId: other.intentId, status: "Cancelled", by: fx.guardian.address });
      expect(cancelled.txHash).to.match(HEX32);
    });

    it("test_agentPropose_json_withinLimitsQueuedWithReviewWhilePayExecutes", async function () {
      const fx = await cliFixture();
      const proposed = (
        await runJson("agent:propose", {
          agent: "payroll",
          asset: "USDC",
          to: fx.bob.address,
          amount: "20",
          reason: "new vendor, check bank details",
        })
      ).out;
      const paid = (
        await runJson("agent:pay", {
          agent: "payroll",
          asset: "USDC",
          to: fx.bob.address,
          amount: "20",
          reason: "known vendor, invoice 12",
        })
      ).out;
      expectIntentOutcome(proposed, "Queued");
      expectIntentOutcome(paid, "Executed");
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(parseUnits("20", 6)); // the payment only

      const shown = (await runJson("intent:show", { intentId: proposed.intentId })).out;
      expect(shown).to.deep.include({ status: "Queued", review: true });
      expect((shown.intent as Json).review).to.equal(true);
      const text = await runText("intent:show", { intentId: proposed.intentId });
      expect(text).to.match(/^review requested: +yes \(the agent signed a request for human review\)$/m);
      expect(await runText("intent:show", { intentId: paid.intentId })).to.match(/^review requested: +no$/m);
    });

    it("test_agentCall_json_nonCanonicalTransferDeniedMalformedCallWithExplanation", async function () {
      const fx = await cliFixture();
      const data = fx.usdc.interface.encodeFunctionData("transfer", [fx.attacker.address, parseUnits("10", 6)]) + "00";
      const { out, exitCode } = await runJson("agent:call", {
        agent: "payroll",
        target: "USDC",
        data,
        reason: "padded transfer",
      });
      expect(exitCode).to.equal(0);
      expectIntentOutcome(out, "Denied");
      expect(out.reason).to.equal("MalformedCall");
      expect(out.explanation).to.match(
        /^MalformedCall: the calldata is not a canonical ERC-20 transfer\(address,uint256\): it must be exactly 68 bytes .* counted a strike against the agent\.$/,
      );
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
    });

    it("test_intentExecute_json_signatureFromBeforeMembersChanged_staleNamingSignerAndEras_thenFreshOnesExecute", async function () {
      const fx = await cliFixture();
      const queued = (
        await runJson("agent:pay", {
          agent: "payroll",
          asset: "USDC",
          to: fx.bob.address,
          amount: "2500",
          reason: "audit invoice",
        })
      ).out;
      const intentId = queued.intentId as string;
      const era = Number(await fx.module.cosignerEra());
      const signed = (
        await runJson("intent:approve", { intentId, signatureOnly: true, cosigner: fx.cosigners[2].address })
      ).out;
      expect(signed.signature).to.deep.include({ signer: fx.cosigners[2].address, era });
      const first = (
        await runJson("intent:approve", { intentId, signatureOnly: true, cosigner: fx.cosigners[0].address })
      ).out;
      const staleFile = path.join(dir, "stale.json");
      fs.writeFileSync(staleFile, JSON.stringify([signed, first]));

      // The owners replace co-signer 2 by bob: a change of members, so a new co-signer era.
      const members = [fx.cosigners[0].address, fx.bob.address, fx.cosigners[2].address];
      await fx.asOwners(fx.module.interface.encodeFunctionData("setCosigners", [members, 2]));
      await time.increase(HOUR);
      const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);

      const stale = await runJson("intent:execute", { intentId, signatures: staleFile });
      expect(stale.exitCode).to.equal(1);
      const error = stale.out.error as Json;
      expect(error.code).to.equal("COSIGNER_SIGNATURE_STALE");
      expect(error.message).to.include(`${fx.cosigners[2].address} was made in co-signer era ${era}`);
      expect(error.message).to.include(`the current co-signer era is ${era + 1}`);
      expect(error.message).to.include(`to sign again (npx hardhat intent:approve ${intentId} --signature-only)`);
      expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(safeBefore);

      // The same signature typed by hand with its era (signer:signature@era) is stale too.
      const sig = signed.signature as { signer: string; signature: string };
      const typed = await runJson("intent:execute", { intentId, signatures: `${sig.signer}:${sig.signature}@${era}` });
      expect((typed.out.error as Json).code).to.equal("COSIGNER_SIGNATURE_STALE");
      const badEra = await runJson("intent:execute", { intentId, signatures: `${sig.signer}:${sig.signature}@soon` });
      expect(badEra.out.error).to.deep.include({ code: "INVALID_REQUEST" });
      expect((badEra.out.error as Json).message).to.match(/era must be a whole number from 0 to 65535 \(got "soon"\)/);

      // Current co-signers sign again in the new era: it executes.
      const again = [fx.cosigners[2].address, fx.bob.address];
      const fresh = [];
      for (const cosigner of again)
        fresh.push((await runJson("intent:approve", { intentId, signatureOnly: true, cosigner })).out);
      expect(fresh.map((f) => (f.signature as Json).era)).to.deep.equal([era + 1, era + 1]);
      const freshFile = path.join(dir, "fresh.json");
      fs.writeFileSync(freshFile, JSON.stringify(fresh));
      const executed = await runJson("intent:execute", { intentId, signatures: freshFile });
      expect(executed.exitCode).to.equal(0);
      expectIntentOutcome(executed.out, "Executed");
      expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(parseUnits("2500", 6));
    });

    it("test_intentApprove_json_errorObjectAndExitCode", async function () {
      const fx = await cliFixture();
      const paid = (await runJson("agent:pay", { agent: "payroll", asset: "USDC", to: fx.bob.address, amount: "1" }))
        .out;
      const { out, exitCode } = await runJson("intent:approve", {
        intentId: paid.intentId,
        signatureOnly: false,
        cosigner: fx.cosigners[1].address,
      });
      expect(exitCode).to.equal(1);
      expect(out).to.have.keys("error");
      expect(out.error).to.deep.include({ code: "INTENT_WRONG_STATUS" });
      expect((out.error as Json).message).to.match(/is Executed, but this needs it to be Queued/);
    });

    it("test_guardianTasks_json_pauseAndFreeze", async function () {
      const fx = await cliFixture();
      const frozen = (await runJson("guardian:freeze", { agent: "payroll" })).out;
      expect(frozen).to.deep.include({
        module: fx.moduleAddress,
        agent: fx.agent.address,
        agentName: "payroll",
        frozen: true,
        by: fx.guardian.address,
      });
      expect(frozen.txHash).to.match(HEX32);
      const paused = (await runJson("guardian:pause", {})).out;
      expect(paused).to.deep.include({ module: fx.moduleAddress, paused: true, by: fx.guardian.address });
      expect(paused.txHash).to.match(HEX32);
      expect(await fx.module.paused()).to.equal(true);
      // Pausing a paused module (or freezing a frozen agent) is the guardian's goal already met, not an error.
      const block = await hre.ethers.provider.getBlockNumber();
      const again = await runJson("guardian:pause", {});
      expect(again.exitCode).to.equal(0);
      expect(again.out).to.deep.equal({
        module: fx.moduleAddress,
        paused: true,
        by: fx.guardian.address,
        alreadyPaused: true,
        recovery: "npx hardhat treasury:unpause --network hardhat",
      });
      const refrozen = await runJson("guardian:freeze", { agent: "payroll" });
      expect(refrozen.out).to.deep.include({ frozen: true, alreadyFrozen: true });
      expect(refrozen.out).to.not.have.property("txHash");
      expect(await hre.ethers.provider.getBlockNumber()).to.equal(block);
      const refused = await runJson("agent:pay", {
        agent: "payroll",
        asset: "USDC",
        to: fx.alice.address,
        amount: "1",
      });
      expect(refused.exitCode).to.equal(1);
      expect(refused.out.error).to.deep.include({ code: "MODULE_PAUSED" });
    });
  });

  describe("as child processes against a hardhat node", function () {
    this.timeout(240_000);
    let node: LocalNode;
    let dir: string;

    before(async function () {
      node = await startNode(31337);
      dir = tempDir("cli-node");
      await deployNodeTreasury(node.provider, dir);
    });

    after(async function () {
      await node?.stop();
    });

    it("test_cli_agentPayThenIntentShow_printOneJsonObjectEach", async function () {
      const to = "0x000000000000000000000000000000000000bEEF";
      const pay = await runCli(
        node,
        [
          "agent:pay",
          "--agent",
          "payroll",
          "--asset",
          "USDC",
          "--to",
          to,
          "--amount",
          "2500",
          "--idempotency-key",
          "cli-1",
          "--reason",
          "CLI test",
          "--json",
        ],
        {
          env: { DEPLOYMENTS_DIR: dir },
        },
      );
      expect(pay.code).to.equal(0, pay.stderr);
      expect(pay.stdout.trim().split("\n")).to.have.length(1);
      expectIntentOutcome(pay.json!, "Queued");
      expect(pay.json!.idempotencyKey).to.equal(keyFromText("cli-1"));

      const show = await runCli(node, ["intent:show", String(pay.json!.intentId), "--json"], {
        env: { DEPLOYMENTS_DIR: dir },
      });
      expect(show.code).to.equal(0, show.stderr);
      expect(show.json).to.deep.include({
        intentId: pay.json!.intentId,
        status: "Queued",
        eta: pay.json!.eta,
        rationaleText: "CLI test",
      });

      const bad = await runCli(node, ["intent:show", "0x1234", "--json"], { env: { DEPLOYMENTS_DIR: dir } });
      expect(bad.code).to.equal(1);
      expect(bad.json!.error).to.deep.include({ code: "INVALID_REQUEST" });
    });

    describe("when a command fails, under --json it prints one JSON error with a documented code", function () {
      const ID = `0x${"ab".repeat(32)}`;
      const TO = "0x000000000000000000000000000000000000bEEF";
      /** Hardhat development account #17: no role in the treasury. */
      const STRANGER_KEY = "0x689af8efa8c651a91ad287602527f3af2fe9f6501a7ac4b061667b5a93e037fd";
      const pay = (...extra: string[]) => [
        "agent:pay",
        "--agent",
        "payroll",
        "--asset",
        "USDC",
        "--to",
        TO,
        "--amount",
        "1",
        "--json",
        ...extra,
      ];
      interface Row {
        name: string;
        args: () => string[];
        opts?: () => Promise<CliOptions> | CliOptions;
        code: string;
        message: RegExp | (() => RegExp);
        hardhatCode?: string;
      }
      const rows: Row[] = [
        {
          name: "a missing flag (Hardhat HH306)",
          args: () => ["agent:pay", "--agent", "payroll", "--to", TO, "--amount", "1", "--json"],
          code: "INVALID_REQUEST",
          hardhatCode: "HH306",
          message:
            /The '--asset' parameter of task 'agent:pay' expects a value, but none was passed\. Run npx hardhat help <task>/,
        },
        {
          name: "an unknown flag (Hardhat HH305)",
          args: () => ["intent:show", ID, "--colour", "red", "--json"],
          code: "INVALID_REQUEST",
          hardhatCode: "HH305",
          message: /Unrecognized param --colour/,
        },
        {
          name: "an unknown network (Hardhat HH100)",
          args: () => ["intent:show", ID, "--json", "--network", "nowhere"],
          opts: () => ({ network: null }),
          code: "INVALID_REQUEST",
          hardhatCode: "HH100",
          message: /--network nowhere is not configured\. Use hardhat .*localhost .*RPC_URL/,
        },
        {
          name: "an unreachable node (Hardhat HH108)",
          args: () => ["intent:show", ID, "--json"],
          opts: async () => ({ env: { RPC_URL: `http://127.0.0.1:${deadPort}`, DEPLOYMENTS_DIR: dir } }),
          code: "RPC_UNAVAILABLE",
          hardhatCode: "HH108",
          message: () => new RegExp(`network localhost at http://127\\.0\\.0\\.1:${deadPort} .*set RPC_URL=<url>`),
        },
        {
          name: "--valid-for -100",
          args: () => pay("--valid-for", "-100"),
          code: "INVALID_REQUEST",
          message: /--valid-for -100 is not a whole number of seconds of at least 60/,
        },
        {
          name: "an amount of 1 followed by 80 zeros",
          args: () => [
            "agent:pay",
            "--agent",
            "payroll",
            "--asset",
            "USDC",
            "--to",
            TO,
            "--amount",
            `1${"0".repeat(80)}`,
            "--json",
          ],
          code: "INVALID_REQUEST",
          message: /above the largest amount a uint256 can hold/,
        },
        {
          name: "a bad checksum in --to",
          args: () => [
            "agent:pay",
            "--agent",
            "payroll",
            "--asset",
            "USDC",
            "--to",
            "0x000000000000000000000000000000000000BeeF",
            "--amount",
            "1",
            "--json",
          ],
          code: "INVALID_REQUEST",
          message: /to 0x000000000000000000000000000000000000BeeF has an invalid checksum/,
        },
        {
          name: "--signatures naming a missing file",
          args: () => ["intent:execute", ID, "--signatures", "missing.json", "--json"],
          code: "INVALID_REQUEST",
          message: /--signatures missing\.json: file not found/,
        },
        {
          name: "an unknown agent",
          args: () => ["agent:pay", "--agent", "nobody", "--asset", "USDC", "--to", TO, "--amount", "1", "--json"],
          code: "INVALID_REQUEST",
          message: /Unknown agent "nobody"\. Use a name from the policy \(payroll\)/,
        },
        {
          name: "no deployment record for the chain",
          args: () => ["intent:show", ID, "--json"],
          opts: () => ({ env: { DEPLOYMENTS_DIR: tempDir("cli-empty") } }),
          code: "DEPLOYMENT_NOT_FOUND",
          message: /No deployment record for chain 31337/,
        },
        {
          name: "a key in .env that is not the agent's (it is read, not ignored)",
          args: () => pay(),
          opts: () => {
            const envFile = path.join(tempDir("cli-dotenv"), ".env");
            fs.writeFileSync(envFile, `AGENT_KEY=${STRANGER_KEY}\n`);
            return { env: { DOTENV_CONFIG_PATH: envFile, AGENT_KEY: undefined, HARDHAT_VAR_AGENT_KEY: undefined } };
          },
          code: "KEY_MISMATCH",
          message: /0xbDA5747bFD65F08deb54cb465eB87D40e51B197E/,
        },
        {
          name: "a policy file that does not exist",
          args: () => ["treasury:plan", "--policy", "no-such-policy.json", "--json"],
          code: "POLICY_INVALID",
          message: /no-such-policy\.json/,
        },
      ];
      let deadPort: number;
      const results = new Map<string, CliResult>();

      // The commands are independent and fail before sending anything: run them three at a time, check each below.
      before(async function () {
        this.timeout(rows.length * 60_000); // one hook for all of them: a minute each on a loaded machine
        deadPort = await freePort();
        const runs = await inParallel(
          rows.map((row) => async () => {
            const opts = (await row.opts?.()) ?? {};
            return runCli(node, row.args(), { ...opts, env: { DEPLOYMENTS_DIR: dir, ...opts.env } });
          }),
        );
        rows.forEach((row, i) => results.set(row.name, runs[i]));
      });

      for (const row of rows) {
        it(`test_cli_json_${row.name.replace(/[^A-Za-z0-9]+/g, "_")}_${row.code}`, async function () {
          const r = results.get(row.name)!;
          expect(r.code, r.stderr).to.equal(1);
          const lines = r.stdout.trim().split("\n");
          expect(lines, `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`).to.have.length(1);
          const out = JSON.parse(lines[0]) as { error: { code: string; message: string; hardhatCode?: string } };
          expect(out).to.have.keys("error");
          expect(CLI_ERROR_CODES).to.include(out.error.code);
          expect(out.error.code, out.error.message).to.equal(row.code);
          expect(out.error.message).to.match(typeof row.message === "function" ? row.message() : row.message);
          if (row.hardhatCode) expect(out.error.hardhatCode).to.equal(row.hardhatCode);
          expect(r.stderr).to.not.match(/^\s+at /m); // no stack trace for a mistyped command
        });
      }

      it("test_cli_rpcUrlFromDotenv_reachesTheNode", async function () {
        const envFile = path.join(tempDir("cli-dotenv-rpc"), ".env");
        fs.writeFileSync(envFile, `RPC_URL=${node.url}\n`);
        const r = await runCli(node, ["treasury:status", "--json"], {
          env: { DEPLOYMENTS_DIR: dir, DOTENV_CONFIG_PATH: envFile, RPC_URL: undefined },
        });
        expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
        expect(r.json).to.deep.include({ chainId: "31337", paused: false });
      });
    });
  });
});
