/**
 * The audit page in a real browser: `treasury:audit --html` on the shared scenario (test/unit/monitor/scenario.ts),
 * opened in headless Chromium through playwright-core. Checks what a reader sees (one row per intent, the totals,
 * the agent's charts, the rationale texts, escaped markup), that the page loads nothing from anywhere and runs no
 * script, and keeps a screenshot in test-output/.
 *
 * The browser comes from npm (`@sparticuz/chromium`, see testkit/browser.ts): `npm ci` is the whole set-up, and
 * the suite checks that the binary it drives is the package's, not a system Chromium.
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import type { Browser, BrowserContext } from "playwright-core";
import { RATIONALES, auditOwnersFixture, auditScenarioFixture } from "../unit/monitor/scenario";
import { collectAudit, renderAuditHtml } from "../../audit";
import { launchChromium } from "../../testkit/browser";

const OUTPUT = path.resolve(__dirname, "..", "..", "test-output");

describe("audit page in headless Chromium", function () {
  this.timeout(120_000);
  let browser: Browser;
  let context: BrowserContext;
  let executablePath: string;
  let packageVersion: string;

  before(async function () {
    ({ browser, executablePath, packageVersion } = await launchChromium());
    context = await browser.newContext();
  });

  after(async function () {
    await context?.close();
    await browser?.close();
  });

  it("test_browser_isTheNpmPackagesChromium_notASystemOne", async function () {
    // @sparticuz/chromium unpacks its binary into the temporary folder; its major version is Chromium's.
    expect(executablePath).to.equal(path.join(os.tmpdir(), "chromium"));
    expect(executablePath).to.not.match(/^\/usr\//);
    expect(browser.version().split(".")[0]).to.equal(packageVersion.split(".")[0]);
  });

  it("test_auditPage_rendersRowsTotalsChartsAndRationales", async function () {
    const { fx, journal, startBlock } = await loadFixture(auditScenarioFixture);
    fs.mkdirSync(OUTPUT, { recursive: true });
    const htmlFile = path.join(OUTPUT, "audit.html");
    const out = process.stdout.write;
    let printed = "";
    process.stdout.write = ((chunk: string, encodingOrCallback?: unknown, callback?: unknown) => {
      printed += chunk;
      const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
      if (typeof done === "function") (done as () => void)();
      return true;
    }) as typeof process.stdout.write;
    try {
      await hre.run("treasury:audit", { module: fx.moduleAddress, fromBlock: startBlock, journal, html: htmlFile });
    } finally {
      process.stdout.write = out;
    }
    expect(printed).to.contain(`HTML page written to ${htmlFile}`);
    expect(printed).to.contain("6 intents: 3 Executed, 1 Denied, 1 Cancelled, 1 Expired");

    const page = await context.newPage();
    const requests: string[] = [];
    const dialogs: string[] = [];
    const consoleErrors: string[] = [];
    page.on("request", (r) => requests.push(r.url()));
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    await page.goto(`file://${htmlFile}`);

    // One row per intent, in submission order, with its status.
    const rows = page.locator("#timeline tr.intent");
    expect(await rows.count()).to.equal(6);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-status")))).to.deep.equal([
      "Executed",
      "Executed",
      "Executed",
      "Denied",
      "Cancelled",
      "Expired",
    ]);
    expect(await rows.nth(2).locator("td.action").innerText()).to.equal(`Pay 20000 USDC to ${fx.bob.address}`);
    expect(await rows.nth(2).locator(".approvals").innerText()).to.equal("2 of 2 at execution");
    expect(await rows.nth(2).innerText()).to.contain("2 on-chain");
    expect(await rows.nth(3).innerText()).to.contain("AboveHardCap");

    // The rationale texts from the journal, the agent's markup shown as text and never run.
    const rationales = await page.locator("#timeline .rationale-text").allInnerTexts();
    expect(rationales).to.deep.equal([
      RATIONALES.alice,
      RATIONALES.bob,
      RATIONALES.big,
      RATIONALES.denied,
      RATIONALES.proposal,
      RATIONALES.expired,
    ]);
    expect(dialogs).to.deep.equal([]);
    expect(await page.locator("script").count()).to.equal(0);

    // Totals as shown.
    const total = (key: string) => page.locator(`#totals td[data-total="${key}"]`).innerText();
    expect(await total("intents")).to.equal("6");
    expect(await total("executed")).to.equal("3");
    expect(await total("denied")).to.equal("1");
    expect(await total("cancelled")).to.equal("1");
    expect(await total("expired")).to.equal("1");
    expect(await total("spent-USDC")).to.equal("20100 USDC");
    expect(await total("spent-ETH")).to.equal("0.5 ETH");
    expect(await total("approvals")).to.equal("2");
    expect(await total("replays")).to.equal("1");
    expect(await total("signatures")).to.equal("0");
    expect(await total("configuration")).to.equal("1");
    // The one configuration call in range (the fixture's last block: the guardian added) is listed.
    expect(await page.locator("#events tr.event").allInnerTexts()).to.have.length(1);
    expect(await page.locator('#events tr.event[data-kind="GuardianSet"] td.summary').innerText()).to.equal(
      `Guardian ${fx.guardian.address} added`,
    );

    // Per agent, a chart of auto-tier spend against the cap for each asset, drawn with a real size.
    const charts = page.locator("section.agent svg.cap-chart");
    expect(await charts.count()).to.equal(2);
    for (let i = 0; i < 2; i++) {
      const box = await charts.nth(i).boundingBox();
      expect(box!.width).to.be.greaterThan(300);
      expect(box!.height).to.be.greaterThan(100);
      expect(await charts.nth(i).locator("path.cap-line").count()).to.equal(1);
      expect(await charts.nth(i).locator("path.spend-line").count()).to.equal(1);
    }
    const captions = await page.locator("section.agent figcaption").allInnerTexts();
    expect(captions).to.deep.equal([
      "ETH: peak 0.5 ETH of cap 3 ETH (16.7%), window 1d",
      "USDC: peak 100 USDC of cap 5000 USDC (2.0%), window 1d",
    ]);
    expect(await page.locator("svg.timeline-strip circle.mark").count()).to.equal(6);

    // Self-contained: the file itself is the only request; nothing was blocked or failed.
    expect(requests).to.deep.equal([`file://${htmlFile}`]);
    expect(consoleErrors).to.deep.equal([]);

    const screenshot = path.join(OUTPUT, "audit-page.png");
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(fs.statSync(screenshot).size).to.be.greaterThan(20_000);
    await page.close();
  });

  it("test_auditPage_approvalsAtExecutionAndEmergencyEvents", async function () {
    const { fx, startBlock, ids } = await loadFixture(auditOwnersFixture);
    const report = await collectAudit({
      provider: hre.ethers.provider,
      chainId: fx.chainId,
      module: fx.moduleAddress,
      fromBlock: startBlock,
      tokens: { USDC: fx.usdcAddress },
    });
    fs.mkdirSync(OUTPUT, { recursive: true });
    const htmlFile = path.join(OUTPUT, "audit-owners.html");
    fs.writeFileSync(htmlFile, renderAuditHtml(report));
    const page = await context.newPage();
    await page.goto(`file://${htmlFile}`);
    // One on-chain approval and one signature, 2 of the 2 required at execution (the threshold is 1 today).
    const first = page.locator(`#timeline tr.intent[data-intent-id="${ids.first.toLowerCase()}"]`);
    expect(await first.locator(".approvals").innerText()).to.equal("2 of 2 at execution");
    expect(await first.innerText()).to.contain("1 on-chain, 1 signature");
    const kinds = await page
      .locator("#events tr.event")
      .evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-kind")));
    expect(kinds).to.deep.equal(["CosignersSet", "Paused", "Unpaused", "AgentFrozen", "AgentUnfrozen", "CosignersSet"]);
    expect(await page.locator('#events tr.event[data-kind="Paused"] td.summary').innerText()).to.contain(
      `Module paused by guardian ${fx.guardian.address}`,
    );
    expect(await page.locator('#totals td[data-total="emergency"]').innerText()).to.equal("4");
    await page.close();
  });
});
