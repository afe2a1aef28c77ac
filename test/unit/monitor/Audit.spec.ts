/**
 * The audit trail's data (audit/collect.ts) on the shared scenario: every intent, its status from the chain, its
 * action in human units, its rationale joined from the journal only when the hash matches, approvals and timings,
 * and the sliding-window series for the chart.
 */
import { expect } from "chai";
import fs from "fs";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, parseEther, parseUnits } from "ethers";
import { capSeries, collectAudit, renderAuditHtml } from "../../../audit";
import { RATIONALES, auditScenarioFixture } from "./scenario";

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
      expect(paid.action).to.deep.include({ kind: "token-payment", amount: parseUnits("100", 6).toString(), amountFormatted: "100 USDC" });
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
      expect(report.totals).to.deep.include({ intents: 6, approvals: 2, replays: 1 });

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
      const lines = fs.readFileSync(journal, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as { t: string; rationaleText?: string });
      for (const l of lines) if (l.t === "signed") l.rationaleText = "Totally legitimate, trust me";
      fs.writeFileSync(tampered, lines.map((l) => JSON.stringify(l)).join("\n") + "\n");
      const report = await collectAudit({ provider: ethers.provider, chainId: fx.chainId, module: fx.moduleAddress, fromBlock: startBlock, journal: tampered });
      expect(report.intents.map((i) => i.rationaleText)).to.deep.equal([undefined, undefined, undefined, undefined, undefined, undefined]);
      const html = renderAuditHtml(report);
      expect(html).to.not.contain("Totally legitimate");
    });
  });

  describe("the page", function () {
    it("test_render_escapesAgentTextAndLoadsNothingExternal", async function () {
      const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
      const report = await collectAudit({ provider: ethers.provider, chainId: fx.chainId, module: fx.moduleAddress, fromBlock: startBlock, journal, tokens: { USDC: fx.usdcAddress } });
      const html = renderAuditHtml(report);
      expect(html).to.not.contain("<script");
      expect(html).to.contain("Gas top-up for Bob &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co");
      expect(html).to.contain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
      expect(html).to.not.match(/(src|href)="(https?:)?\/\//);
      expect((html.match(/<tr class="intent"/g) ?? []).length).to.equal(6);
    });
  });

  describe("the window series", function () {
    it("test_capSeries_spendCountsForExactlyOneWindow", function () {
      const asset = { address: ZeroAddress, symbol: "ETH", decimals: 18 };
      const series = capSeries(asset, [{ time: 0, autoPerWindow: 3n, window: 100 }], [{ time: 10, amount: 1n }, { time: 50, amount: 2n }], 200);
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
});
