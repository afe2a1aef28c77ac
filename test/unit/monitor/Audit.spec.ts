/**
 * The audit trail's data (audit/collect.ts) on the shared scenarios: every intent, its status from the chain, its
 * action in human units, its rationale joined from the journals only when the hash matches, approvals as the module
 * counted them (on-chain plus signatures, against the threshold in force at execution), timings, every pause,
 * freeze and configuration change, and the sliding-window series for the chart. Also `treasury:audit`'s journals:
 * several files, a folder, and by default every journal of the deployment.
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, parseEther, parseUnits } from "ethers";
import { AuditReport, capSeries, collectAudit, renderAuditHtml } from "../../../audit";
import { writeDeployment } from "../../../core/deployment";
import { RATIONALES, auditOwnersFixture, auditScenarioFixture } from "./scenario";
import { conditionedRouterFixture, fixtureDeploymentRecord } from "../../fixtures";
import { runTaskCapturing } from "../../inProcessTask";

/** The scenario's journal split in two files (intents 1-3 and 4-6) in a fresh folder. */
function splitJournal(journal: string): { dir: string; a: string; b: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-journals-"));
  const lines = fs.readFileSync(journal, "utf8").split("\n").filter(Boolean);
  // Lines without an intentId (the journal's `chain` binding) go to both files; intents split 3 and the rest.
  const idOf = (line: string) => (JSON.parse(line) as { intentId?: string }).intentId;
  const order: string[] = [];
  for (const line of lines) {
    const id = idOf(line);
    if (id !== undefined && !order.includes(id)) order.push(id);
  }
  const a = path.join(dir, "agent-a.jsonl");
  const b = path.join(dir, "agent-b.jsonl");
  const pick = (first: boolean) =>
    lines.filter((l) => {
      const id = idOf(l);
      return id === undefined || order.indexOf(id) < 3 === first;
    });
  fs.writeFileSync(a, pick(true).join("\n") + "\n");
  fs.writeFileSync(b, pick(false).join("\n") + "\n");
  return { dir, a, b };
}

/** Runs `treasury:audit --json` in-process; returns the one JSON object it printed and the exit code it set. */
async function auditTask(
  args: Record<string, unknown>,
): Promise<{ out: AuditReport & { error?: { code: string; message: string } }; exitCode: number }> {
  const { stdout, exitCode } = await runTaskCapturing("treasury:audit", { json: true, ...args });
  return { out: JSON.parse(stdout.trim()) as AuditReport & { error?: { code: string; message: string } }, exitCode };
}

const ALL_RATIONALES = [
  RATIONALES.alice,
  RATIONALES.bob,
  RATIONALES.big,
  RATIONALES.denied,
  RATIONALES.proposal,
  RATIONALES.expired,
];

describe("audit trail", function () {
  describe("when the journal is given", function () {
    it("test_collect_everyIntent_statusActionRationaleApprovals", async function () {
      const { fx, journal, startBlock, ids } = await loadFixture(auditScenarioFixture);
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: startBlock,
        journal,
        tokens: { USDC: fx.usdcAddress },
        names: { [fx.agent.address]: "payroll" },
      });
      expect(report.intents.map((i) => [i.status, i.route, i.action.summary])).to.deep.equal([
        ["Executed", "auto", `Pay 100 USDC to ${fx.alice.address}`],
        ["Executed", "auto", `Pay 0.5 ETH to ${fx.bob.address}`],
        ["Executed", "queued", `Pay 20000 USDC to ${fx.bob.address}`],
        ["Denied", "denied", `Pay 60000 USDC to ${fx.attacker.address}`],
        ["Cancelled", "queued", `Pay 10 USDC to ${fx.alice.address}`],
        ["Expired", "queued", `Pay 2000 USDC to ${fx.alice.address}`],
      ]);
      expect(report.intents.map((i) => i.rationaleText)).to.deep.equal([
        RATIONALES.alice,
        RATIONALES.bob,
        RATIONALES.big,
        RATIONALES.denied,
        RATIONALES.proposal,
        RATIONALES.expired,
      ]);
      const [paid, , big, denied, proposal, expired] = report.intents;
      expect(paid.intentId).to.equal(ids.paid.toLowerCase());
      expect(paid.replays).to.have.length(1);
      expect(paid.agentName).to.equal("payroll");
      expect(paid.action).to.deep.include({
        kind: "token-payment",
        amount: parseUnits("100", 6).toString(),
        amountFormatted: "100 USDC",
      });
      expect(big.approvals.map((a) => a.cosigner)).to.deep.equal([fx.cosigners[0].address, fx.cosigners[1].address]);
      expect(big.threshold).to.equal(2);
      expect(big.executed).to.deep.include({ escalated: true });
      expect(big.waitedSeconds).to.be.at.least(3600);
      expect(big.eta! - big.submitted.time).to.equal(3600);
      expect(denied.denyReason).to.equal("AboveHardCap");
      expect(proposal).to.deep.include({ proposed: true });
      expect(proposal.cancelled!.by).to.equal(fx.guardian.address);
      expect(expired).to.deep.include({ lane: "3", sequence: "0" });
      expect(expired.expiresAt).to.equal(expired.eta! + 86400);

      expect(report.totals.byStatus).to.deep.include({ Executed: 3, Denied: 1, Cancelled: 1, Expired: 1, Queued: 0 });
      expect(report.totals.spent.map((s) => s.formatted).sort()).to.deep.equal(["0.5 ETH", "20100 USDC"]);
      expect(report.totals).to.deep.include({
        intents: 6,
        approvals: 2,
        signatures: 0,
        replays: 1,
        emergencyEvents: 0,
        configurationEvents: 1,
      });
      // startBlock is the fixture's last block: the owners' setGuardian.
      expect(report.events.map((e) => [e.kind, e.summary])).to.deep.equal([
        ["GuardianSet", `Guardian ${fx.guardian.address} added`],
      ]);
      expect(big).to.deep.include({ approvalsCounted: 2, threshold: 2 });
      expect(report.journals).to.deep.equal([journal]);

      const [agent] = report.agents;
      const usdcCap = agent.caps.find((c) => c.asset.symbol === "USDC")!;
      expect(usdcCap.capNow).to.equal(parseUnits("5000", 6).toString());
      expect(usdcCap.peakShare).to.equal(0.02); // 100 of 5000: the 20,000 escalated payment is outside the auto window
      const ethCap = agent.caps.find((c) => c.asset.address === ZeroAddress)!;
      expect(ethCap.points.map((p) => p.spent)).to.include(parseEther("0.5").toString());
      // The 0.5 ETH leaves the window one day after it was spent.
      expect(ethCap.points[ethCap.points.length - 1].spent).to.equal("0");
    });
  });

  describe("when the journal does not match", function () {
    it("test_collect_foreignRationaleText_notShown", async function () {
      const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
      // A tampered copy of the journal: every rationale text replaced, hashes kept.
      const tampered = `${journal}.tampered.jsonl`;
      const lines = fs
        .readFileSync(journal, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { t: string; rationaleText?: string });
      for (const l of lines) if (l.t === "signed") l.rationaleText = "Totally legitimate, trust me";
      fs.writeFileSync(tampered, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: startBlock,
        journal: tampered,
      });
      expect(report.intents.map((i) => i.rationaleText)).to.deep.equal([
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
        undefined,
      ]);
      const html = renderAuditHtml(report);
      expect(html).to.not.contain("Totally legitimate");
    });
  });

  describe("the page", function () {
    it("test_render_escapesAgentTextAndLoadsNothingExternal", async function () {
      const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: startBlock,
        journal,
        tokens: { USDC: fx.usdcAddress },
      });
      const html = renderAuditHtml(report);
      expect(html).to.not.contain("<script");
      expect(html).to.contain("Gas top-up for Bob &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co");
      expect(html).to.contain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
      expect(html).to.not.match(/(src|href)="(https?:)?\/\//);
      expect((html.match(/<tr class="intent"/g) ?? []).length).to.equal(6);
    });
  });

  describe("when escalated intents ran with on-chain approvals and signatures, and the co-signers changed after", function () {
    it("test_collect_oneOnChainOneSignature_twoOfTwoAtExecution_notTodaysThreshold", async function () {
      const { fx, startBlock, ids } = await loadFixture(auditOwnersFixture);
      expect(await fx.module.threshold()).to.equal(1n); // lowered after both executions
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: startBlock,
        tokens: { USDC: fx.usdcAddress },
      });
      expect(report.threshold).to.equal(1);
      const first = report.intents.find((i) => i.intentId === ids.first.toLowerCase())!;
      expect(first).to.deep.include({ status: "Executed", route: "queued", approvalsCounted: 2, threshold: 2 });
      expect(first.approvals.map((a) => a.cosigner)).to.deep.equal([fx.cosigners[0].address]);
      expect(first.signatures.map((a) => a.cosigner)).to.deep.equal([fx.cosigners[1].address]);
      expect(first.signatures[0].txHash).to.equal(first.executed!.txHash);
      expect(report.totals).to.deep.include({ approvals: 4, signatures: 2 });

      // The page and the CLI table say 2 of 2, as the module counted at execution.
      const html = renderAuditHtml(report);
      const row = html.slice(html.indexOf(`data-intent-id="${first.intentId}"`));
      expect(row.slice(0, row.indexOf("</tr>"))).to.contain(
        '<span class="approvals">2 of 2 at execution</span><div class="small">1 on-chain, 1 signature</div>',
      );
    });

    it("test_collect_memberChangeVoidsEarlierApprovals_countedAsTheModuleDid", async function () {
      const { fx, startBlock, ids } = await loadFixture(auditOwnersFixture);
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: startBlock,
      });
      const second = report.intents.find((i) => i.intentId === ids.second.toLowerCase())!;
      // Three on-chain approvals in the log, but the two before the new co-signer set were void at execution.
      expect(second.approvals.map((a) => a.cosigner)).to.deep.equal([
        fx.cosigners[0].address,
        fx.cosigners[1].address,
        fx.cosigners[0].address,
      ]);
      expect(second.signatures.map((a) => a.cosigner)).to.deep.equal([fx.cosigners[1].address]);
      expect(second).to.deep.include({ status: "Executed", approvalsCounted: 2, threshold: 2 });
    });
  });

  describe("pauses, freezes and configuration", function () {
    it("test_collect_everyEmergencyAndConfigurationEvent_inOrderWithWho", async function () {
      const { fx, startBlock, removedCosigner } = await loadFixture(auditOwnersFixture);
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: startBlock,
        names: { [fx.agent.address]: "payroll" },
      });
      const [c0, c1] = fx.cosigners.map((c) => c.address);
      expect(report.events.map((e) => [e.kind, e.category, e.by])).to.deep.equal([
        ["CosignersSet", "configuration", fx.safeAddress],
        ["Paused", "emergency", fx.guardian.address],
        ["Unpaused", "emergency", fx.safeAddress],
        ["AgentFrozen", "emergency", fx.guardian.address],
        ["AgentUnfrozen", "emergency", fx.safeAddress],
        ["CosignersSet", "configuration", fx.safeAddress],
      ]);
      expect(report.events.map((e) => e.summary)).to.deep.equal([
        `Co-signers set: 2 of 3 (${c0}, ${c1}, ${fx.alice.address})`,
        `Module paused by guardian ${fx.guardian.address}: no submission or execution until the owners unpause`,
        "Module unpaused by the Safe's owners",
        `Agent payroll (${fx.agent.address}) frozen by guardian ${fx.guardian.address} (reason "manual")`,
        `Agent payroll (${fx.agent.address}) unfrozen by the Safe's owners; its strikes cleared`,
        `Co-signers set: 1 of 3 (${c0}, ${c1}, ${fx.alice.address})`,
      ]);
      expect(report.events[3]).to.deep.include({ agent: fx.agent.address, agentName: "payroll" });
      expect(report.events.map((e) => e.summary).join()).to.not.contain(removedCosigner.address);
      expect(report.totals).to.deep.include({ emergencyEvents: 4, configurationEvents: 2 });

      const html = renderAuditHtml(report);
      expect((html.match(/<tr class="event /g) ?? []).length).to.equal(6);
      expect(html).to.contain('<tr class="event emergency" data-kind="Paused" data-category="emergency">');
    });

    it("test_collect_fromModuleCreation_listsEveryConfigurationCall", async function () {
      const { fx } = await loadFixture(auditOwnersFixture);
      const created = (await fx.factory.queryFilter(fx.factory.filters.ModuleCreated()))[0].blockNumber;
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: created,
        tokens: { USDC: fx.usdcAddress },
      });
      const config = report.events.filter((e) => e.category === "configuration");
      expect(config.map((e) => e.kind)).to.deep.equal([
        "ModuleInitialized",
        "AgentSet",
        "AssetLimitSet",
        "AssetLimitSet",
        "CosignersSet",
        "GuardianSet",
        "CosignersSet",
        "CosignersSet",
      ]);
      expect(config[3].summary).to.equal(
        `Agent ${fx.agent.address}: USDC limit: auto 1000 USDC per tx, 5000 USDC per 1d, hard cap 50000 USDC`,
      );
      expect(config[5].summary).to.equal(`Guardian ${fx.guardian.address} added`);
    });
  });

  describe("when the journals are several", function () {
    it("test_collect_severalJournalsOrAFolder_everyRationaleJoined", async function () {
      const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
      const { dir, a, b } = splitJournal(journal);
      const base = { provider: ethers.provider, chainId: fx.chainId, module: fx.moduleAddress, fromBlock: startBlock };
      const one = await collectAudit({ ...base, journals: [a] });
      expect(one.intents.map((i) => i.rationaleText)).to.deep.equal([
        RATIONALES.alice,
        RATIONALES.bob,
        RATIONALES.big,
        undefined,
        undefined,
        undefined,
      ]);
      const both = await collectAudit({ ...base, journals: [a, b] });
      expect(both.intents.map((i) => i.rationaleText)).to.deep.equal(ALL_RATIONALES);
      expect(both.journals).to.deep.equal([a, b]);
      const folder = await collectAudit({ ...base, journals: [dir] });
      expect(folder.intents.map((i) => i.rationaleText)).to.deep.equal(ALL_RATIONALES);
      expect(folder.journals).to.deep.equal([a, b]);
      expect(renderAuditHtml(folder)).to.contain("from 2 journals:");
    });

    it("test_auditTask_journalFolderOrCommaList_readsThemAll", async function () {
      const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
      const { dir, a, b } = splitJournal(journal);
      const byFolder = await auditTask({ module: fx.moduleAddress, fromBlock: startBlock, journal: dir });
      expect(byFolder.exitCode).to.equal(0);
      expect(byFolder.out.intents.map((i) => i.rationaleText)).to.deep.equal(ALL_RATIONALES);
      const byList = await auditTask({ module: fx.moduleAddress, fromBlock: startBlock, journal: `${a},${b}` });
      expect(byList.out.intents.map((i) => i.rationaleText)).to.deep.equal(ALL_RATIONALES);
      expect(byList.out.journals).to.deep.equal([a, b]);

      const missing = await auditTask({
        module: fx.moduleAddress,
        fromBlock: startBlock,
        journal: `${a},${path.join(dir, "nope.jsonl")}`,
      });
      expect(missing.exitCode).to.equal(1);
      expect(missing.out.error).to.deep.include({ code: "INVALID_REQUEST" });
      expect(missing.out.error!.message).to.contain(`${path.join(dir, "nope.jsonl")} does not exist`);
    });

    it("test_auditTask_byDefault_readsEveryJournalOfTheDeployment", async function () {
      const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
      const { a, b } = splitJournal(journal);
      const deployments = fs.mkdtempSync(path.join(os.tmpdir(), "atg-audit-deployments-"));
      const saved = process.env.DEPLOYMENTS_DIR;
      process.env.DEPLOYMENTS_DIR = deployments;
      try {
        writeDeployment(await fixtureDeploymentRecord(fx));
        const none = await auditTask({ fromBlock: startBlock });
        expect(none.out.journals).to.deep.equal([]);
        expect(none.out.intents.map((i) => i.rationaleText)).to.deep.equal([
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
          undefined,
        ]);

        // Where the client library writes them: one file per agent key.
        const journals = path.join(deployments, "journals", `${fx.chainId}-${fx.moduleAddress.toLowerCase()}`);
        fs.mkdirSync(journals, { recursive: true });
        fs.copyFileSync(a, path.join(journals, "a.jsonl"));
        fs.copyFileSync(b, path.join(journals, "b.jsonl"));
        const all = await auditTask({ fromBlock: startBlock });
        expect(all.exitCode).to.equal(0);
        expect(all.out.journals).to.deep.equal([path.join(journals, "a.jsonl"), path.join(journals, "b.jsonl")]);
        expect(all.out.intents.map((i) => i.rationaleText)).to.deep.equal(ALL_RATIONALES);
        expect(all.out.intents[0].agentName).to.equal("payroll");
      } finally {
        if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
        else process.env.DEPLOYMENTS_DIR = saved;
      }
    });
  });

  describe("the window series", function () {
    it("test_capSeries_spendCountsForExactlyOneWindow", function () {
      const asset = { address: ZeroAddress, symbol: "ETH", decimals: 18 };
      const series = capSeries(
        asset,
        [{ time: 0, autoPerWindow: 3n, window: 100 }],
        [
          { time: 10, amount: 1n },
          { time: 50, amount: 2n },
        ],
        200,
      );
      expect(series.points.map((p) => [p.time, p.spent, p.cap])).to.deep.equal([
        [0, "0", "3"],
        [10, "1", "3"],
        [50, "3", "3"],
        [110, "2", "3"],
        [150, "0", "3"],
        [200, "0", "3"],
      ]);
      expect(series.peakShare).to.equal(1);
    });
  });

  describe("v3: conditions on call arguments", function () {
    it("test_collect_callConditionsSet_inWordsWithTokenNames", async function () {
      const fx = await loadFixture(conditionedRouterFixture);
      const report = await collectAudit({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        fromBlock: 0,
        tokens: { USDC: fx.usdcAddress, WETH: fx.wethAddress },
      });
      const set = report.events.filter((e) => e.kind === "CallConditionsSet");
      expect(set.map((e) => [e.category, e.summary])).to.deep.equal([
        [
          "configuration",
          `Agent ${fx.agent.address}: call ${fx.swapSelector} on ${fx.routerAddress}: only when word 0 is USDC (${fx.usdcAddress}); ` +
            `word 1 is WETH (${fx.wethAddress}); word 3 is the Safe; word 4 charged as USDC (${fx.usdcAddress}) (to the agent's limits, like a payment)`,
        ],
      ]);
    });
  });
});
