/**
 * The operator console (SPEC section 10, v3) in a real browser: headless Chromium from npm (testkit/browser.ts)
 * with an injected EIP-1193 wallet backed by a `hardhat node`'s unlocked accounts (test/e2e/consoleWallet.ts), the
 * console's server as a child process (`npm run console`'s entry point) against the example DAO deployed from its
 * policy file.
 *
 * The story, on one chain: the payroll agent asks for 7,500 USDC (above its 5,000 auto-tier cap) with a reason, and
 * the open page shows it in the queue without a reload; co-signer 1 approves on-chain, co-signer 2 signs a
 * CosignerApproval that the console checks and stores; the clock moves past the eta and an account with no role
 * executes with that signature; the recipient is paid. A guardian pauses and the overview shows it; an owner's
 * unpause becomes a Transaction Builder batch file, downloaded from the page, that nothing signed. Every step is
 * checked on-chain and on the page (found by role and name, as a screen reader would), the page loads nothing from
 * anywhere but the console, and a screenshot of each view goes to reports/console-*.png.
 */
import { ChildProcess, spawn } from "child_process";
import fs from "fs";
import http from "http";
import path from "path";
import { expect } from "chai";
import { Contract, Interface, JsonRpcProvider, Wallet, getAddress, parseUnits, recoverAddress } from "ethers";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { IAgentTreasuryModule__factory } from "../../typechain-types";
import type { IAgentTreasuryModule } from "../../typechain-types";
import { AgentClient } from "../../sdk/client";
import { hashCosignerApproval, signCosignerApproval } from "../../sdk/eip712";
import { readBatch, transactionCalldata } from "../../deploy/batch";
import type { DeployResult } from "../../deploy/pipeline";
import type { DeploymentRecord } from "../../core/deployment";
import { hardhatDevWallets } from "../../core/keys";
import { journalDirOf } from "../../tasks/lib/context";
import { ensureBuilt } from "../../console/build";
import { storeDir } from "../../console/store";
import type { StoredSignature } from "../../console/store";
import { SECURITY_HEADERS } from "../../console/server";
import { removeTempDirs, tempDir } from "./helpers";
import { LocalNode, ROOT } from "../../testkit/localNode";
import { EXAMPLE, exampleNode } from "./exampleNode";
import { parseConsoleArgs } from "../../console/main";
import { ConsoleStartError } from "../../console/errors";
import { launchChromium } from "../../testkit/browser";
import { InjectedWallet, injectWallet } from "./consoleWallet";

const REPORTS = path.join(ROOT, "reports");
const dev = hardhatDevWallets();
// Roles in deploy/examples/dao.json (deploy/examples/README.md).
const OWNER = dev[1];
const PAYROLL = dev[4];
const [COSIGNER_1, COSIGNER_2] = [dev[6], dev[7]];
const GUARDIAN = dev[9];
const EMPLOYEE = dev[10]; // on payroll's recipient allowlist
const TRADING = dev[11];
const RELAYER = dev[13]; // no role at all
const STRANGER = dev[17]; // not on the allowlist
const REASON = "Invoice 2024-117 from Acme Audits: quarterly security review, due on receipt";
const ERC20 = ["function balanceOf(address) view returns (uint256)"];

interface RunningConsole {
  child: ChildProcess;
  url: string;
  output: () => string;
}

/** Spawns `console/main.ts` (what `npm run console` runs) against `node` with the records in `dir`. */
function spawnConsole(
  node: LocalNode,
  dir: string,
  args: string[] = [],
): { child: ChildProcess; output: () => string } {
  const tsNode = require.resolve("ts-node/dist/bin.js", { paths: [ROOT] });
  const child = spawn(process.execPath, [tsNode, "--transpile-only", "console/main.ts", ...args], {
    cwd: ROOT,
    env: { ...process.env, RPC_URL: node.url, DEPLOYMENTS_DIR: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { child, output: () => out };
}

/** Starts the console on a free loopback port and waits for the URL it prints. */
async function startConsole(node: LocalNode, dir: string): Promise<RunningConsole> {
  const { child, output } = spawnConsole(node, dir, ["--port", "0", "--poll-interval", "200"]);
  const deadline = Date.now() + 120_000;
  for (;;) {
    const m = /Console: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output());
    if (m) return { child, url: m[1], output };
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`The console did not start:\n${output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Runs the console until it exits by itself (it should refuse to start). */
async function consoleExit(
  node: LocalNode,
  dir: string,
  args: string[],
): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnConsole(node, dir, args);
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  return { code, output: output() };
}

async function stopConsole(c: RunningConsole | undefined): Promise<void> {
  if (!c || c.child.exitCode !== null || c.child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => c.child.once("exit", () => resolve()));
  process.kill(c.child.pid, "SIGTERM");
  const timer = setTimeout(
    () => c.child.exitCode === null && c.child.pid && process.kill(c.child.pid, "SIGKILL"),
    10_000,
  );
  await exited;
  clearTimeout(timer);
}

describe("npm run console: flags", function () {
  const refused = (argv: string[]) => {
    try {
      parseConsoleArgs(argv);
    } catch (error) {
      expect(error).to.be.instanceOf(ConsoleStartError);
      return { code: (error as ConsoleStartError).code, message: (error as Error).message.split("\n")[0] };
    }
    throw new Error(`${argv.join(" ")} was accepted`);
  };

  it("test_consoleArgs_defaults_port8600OnLoopbackLocalhost", function () {
    expect(parseConsoleArgs([])).to.deep.equal({
      port: 8600,
      network: "localhost",
      host: "127.0.0.1",
      pollIntervalMs: 1000,
    });
    expect(parseConsoleArgs(["--port", "8700", "--network=sepolia", "--deployments-dir", "d"])).to.deep.include({
      port: 8700,
      network: "sepolia",
      deploymentsDir: "d",
    });
  });

  it("test_consoleArgs_badValues_nameTheFlagAndTheValue", function () {
    expect(refused(["--port", "http"])).to.deep.equal({
      code: "USAGE",
      message: '--port "http" must be a whole number from 0 to 65535.',
    });
    expect(refused(["--port", "70000"])).to.deep.equal({
      code: "USAGE",
      message: '--port "70000" must be a whole number from 0 to 65535.',
    });
    expect(refused(["--network"])).to.deep.equal({ code: "USAGE", message: "--network needs a value." });
    expect(refused(["--prot", "1"])).to.deep.equal({ code: "USAGE", message: "Unknown flag --prot." });
    expect(refused(["--network", "hardhat"]).message).to.contain(
      "start `npx hardhat node` and use --network localhost",
    );
  });
});

describe("operator console in headless Chromium (e2e)", function () {
  this.timeout(300_000);
  let node: LocalNode;
  let dir: string;
  let deployed: DeployResult;
  let module: IAgentTreasuryModule;
  let usdc: Contract;
  let running: RunningConsole | undefined;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let wallet: InjectedWallet;
  let intentId: string;
  let record: DeploymentRecord;
  let noRecord: Promise<{ code: number | null; output: string }>;
  const pageRequests: string[] = [];
  const pageProblems: string[] = [];

  const continueInWallet = async (expected: RegExp) => {
    const dialog = page.getByRole("dialog");
    await dialog.getByRole("button", { name: "Continue in wallet" }).click();
    await page.getByText(expected).waitFor({ timeout: 30_000 });
  };
  const tab = (name: string) => page.getByRole("tab", { name: new RegExp(`^${name}`) }).click();
  const card = () => page.getByRole("article", { name: /Pay 7,500 USDC/ });
  const screenshot = async (name: string) => {
    fs.mkdirSync(REPORTS, { recursive: true });
    // The page as tall as its content (a short view is not padded to the window's height).
    const height = Math.ceil(
      await page.evaluate(() => document.getElementById("root")!.getBoundingClientRect().bottom),
    );
    await page.screenshot({
      path: path.join(REPORTS, `console-${name}.png`),
      fullPage: true,
      clip: { x: 0, y: 0, width: 1280, height },
    });
  };

  before(async function () {
    // Independent and slow: the example's deployment (on the node the e2e files share, ./exampleNode.ts), the
    // browser, and the page's build.
    const [example, launched] = await Promise.all([exampleNode("console"), launchChromium(), ensureBuilt()]);
    ({ node, dir, deployed } = example);
    browser = launched.browser;
    module = IAgentTreasuryModule__factory.connect(deployed.module, node.provider);
    record = JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8")) as DeploymentRecord;
    usdc = new Contract(record.tokens.USDC, ERC20, node.provider);
    // Without a deployment record the console refuses to start, saying what to do (checked below).
    noRecord = consoleExit(node, tempDir("console-empty"), ["--port", "0"]);
    running = await startConsole(node, dir);

    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    page = await context.newPage();
    page.on("request", (r) => pageRequests.push(r.url()));
    page.on("console", (m) => m.type() === "error" && pageProblems.push(m.text()));
    page.on("pageerror", (e) => pageProblems.push(e.message));
    wallet = await injectWallet(page, node.url, COSIGNER_1.address);
    await page.goto(running.url);
    await page.getByRole("button", { name: "Connect wallet" }).click();
    await page.getByText(/Wallet .*: co-signer/).waitFor();
  });

  afterEach(function () {
    // A failure is easier to read with what the console's server said.
    if (this.currentTest?.state === "failed" && running)
      process.stderr.write(`--- console output ---\n${running.output()}\n`);
  });

  after(async function () {
    if (process.env.CONSOLE_E2E_LOG) process.stderr.write(`--- console output ---\n${running?.output() ?? ""}\n`);
    await context?.close();
    await browser?.close();
    await stopConsole(running);
    removeTempDirs();
  });

  it("test_console_loopbackWithCsp_loadsNothingFromElsewhere", async function () {
    expect(new URL(running!.url).hostname).to.equal("127.0.0.1");
    const response = await fetch(running!.url);
    expect(response.headers.get("content-security-policy")).to.equal(SECURITY_HEADERS["content-security-policy"]);
    expect(response.headers.get("content-security-policy")).to.match(
      /default-src 'none'; script-src 'self';.*connect-src 'self'/,
    );
    const html = await response.text();
    expect(html).to.not.match(/<script(?![^>]*\bsrc=)/); // no inline script
    expect(html).to.not.match(/https?:\/\//); // nothing from another host
    // A page that rebinds its own host name to 127.0.0.1 is refused.
    const rebound = await new Promise<number>((resolve, reject) => {
      const u = new URL(running!.url);
      const req = http.request(
        { host: u.hostname, port: u.port, path: "/api/state", headers: { host: "evil.example" } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(rebound).to.equal(421);
    const origin = new URL(running!.url).origin;
    expect(pageRequests.length).to.be.greaterThan(2);
    expect(pageRequests.filter((u) => !u.startsWith(origin))).to.deep.equal([]);
  });

  it("test_console_noDeploymentRecord_refusesToStartAndSaysWhatToDo", async function () {
    const { code, output } = await noRecord;
    expect(code).to.equal(1);
    expect(output).to.contain("console: No deployment record for chain 31337");
    expect(output).to.contain("run treasury:deploy --policy <file> on this network first");
  });

  it("test_overCapPayment_appearsInQueueWithItsReason_withoutReload", async function () {
    const journal = path.join(journalDirOf(dir, 31337n, deployed.module), `${PAYROLL.address.toLowerCase()}.jsonl`);
    const relayer = new Wallet(RELAYER.privateKey, node.provider);
    const agent = await AgentClient.connect({
      module: deployed.module,
      signer: new Wallet(PAYROLL.privateKey, node.provider),
      relayer,
      journal,
      tokens: { USDC: await usdc.getAddress() },
      pollIntervalMs: 50,
    });
    // Within its limits first: paid at once, and charged to its 20,000 USDC per 7 days.
    const salary = await agent.pay({
      asset: "USDC",
      to: EMPLOYEE.address,
      amount: "4000",
      rationale: "November salary, second half",
    });
    expect(salary.status).to.equal("Executed");
    const paid = await agent.pay({ asset: "USDC", to: EMPLOYEE.address, amount: "7500", rationale: REASON });
    expect(paid.status).to.equal("Queued");
    intentId = paid.intentId;
    // And one the policy forbids: a recipient outside payroll's allowlist (History shows why, in words).
    const denied = await agent.pay({
      asset: "USDC",
      to: STRANGER.address,
      amount: "100",
      rationale: "Refund to a customer",
    });
    expect(denied).to.include({ status: "Denied", reason: "RecipientNotAllowed" });

    await tab("Queue");
    await card().waitFor({ timeout: 30_000 });
    const text = (await card().textContent()) ?? "";
    expect(await card().getByRole("heading").textContent()).to.equal(`Pay 7,500 USDC to ${EMPLOYEE.address}`);
    expect(text).to.contain(intentId); // the full intentId, with its copy button
    expect(await card().getByRole("button", { name: "Copy intent ID" }).count()).to.equal(1);
    expect(text).to.contain(`payroll (${PAYROLL.address})`);
    expect(text).to.contain(REASON);
    expect(text).to.contain("Matches the on-chain rationale hash (from the agent's journal).");
    expect(text).to.match(/Can execute\s*in (59m \d+s|1h 0m)/);
    expect(text).to.match(/Expires\s*in 2d 1h|Expires\s*in 2d 0h/);
    expect(text).to.contain("0 of 2: 0 on-chain, 0 signed");
    expect(await card().getByRole("button", { name: "Execute" }).isDisabled()).to.equal(true);
    expect(text).to.contain("It needs 2 more approval(s).");
  });

  it("test_cosigner1_approvesOnChain_afterReadingWhatItDoes", async function () {
    await card().getByRole("button", { name: "Approve", exact: true }).click();
    const dialog = page.getByRole("dialog", { name: "Approve on-chain" });
    const words = (await dialog.textContent()) ?? "";
    expect(words).to.contain(
      `you approve intent ${intentId} of agent payroll (${PAYROLL.address}): Pay 7,500 USDC to ${EMPLOYEE.address}.`,
    );
    expect(words).to.contain(`“${REASON}” (it matches the on-chain rationale hash)`);
    expect(words).to.contain(`to the module ${deployed.module} calling approve(intentId)`);
    expect(wallet.requests.filter((r) => r.method === "eth_sendTransaction")).to.have.length(0); // nothing asked yet
    await continueInWallet(/Approved on-chain in transaction/);

    expect(await module.hasApproved(intentId, COSIGNER_1.address)).to.equal(true);
    expect((await module.intent(intentId)).approvals).to.equal(1n);
    const sent = wallet.requests.filter((r) => r.method === "eth_sendTransaction");
    expect(sent).to.have.length(1);
    const tx = sent[0].params[0] as { from: string; to: string; data: string };
    expect([getAddress(tx.from), getAddress(tx.to)]).to.deep.equal([COSIGNER_1.address, deployed.module]);
    expect(tx.data).to.equal(module.interface.encodeFunctionData("approve", [intentId]));
    await card()
      .getByText(/1 of 2: 1 on-chain \(0x976E…0aa9\), 0 signed/)
      .waitFor();
  });

  it("test_cosigner2_signsCosignerApproval_consoleChecksAndStoresIt", async function () {
    await wallet.use(COSIGNER_2.address);
    await card().getByRole("button", { name: "Sign", exact: true }).click();
    const words = (await page.getByRole("dialog", { name: "Sign an approval" }).textContent()) ?? "";
    expect(words).to.contain(
      "CosignerApproval(intentId, cosignerEra 1) for AgentTreasuryModule version 1 on chain 31337",
    );
    await continueInWallet(/Signed: the console stored your signature/);

    const signed = wallet.requests.filter((r) => r.method === "eth_signTypedData_v4");
    expect(signed).to.have.length(1);
    expect(getAddress(signed[0].params[0] as string)).to.equal(COSIGNER_2.address);
    const typed = JSON.parse(signed[0].params[1] as string) as {
      primaryType: string;
      message: { intentId: string; cosignerEra: number | string };
    };
    expect(typed.primaryType).to.equal("CosignerApproval");
    expect(typed.message.intentId).to.equal(intentId);
    expect(Number(typed.message.cosignerEra)).to.equal(Number(await module.cosignerEra()));

    const file = path.join(storeDir(dir, record), "signatures.jsonl");
    const lines = fs
      .readFileSync(file, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as StoredSignature);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ t: "signature", intentId, signer: COSIGNER_2.address, cosignerEra: 1 });
    const digest = hashCosignerApproval(intentId, 1n, 31337n, deployed.module);
    expect(digest).to.equal(await module.hashCosignerApproval(intentId));
    expect(recoverAddress(digest, lines[0].signature)).to.equal(COSIGNER_2.address);
    expect((await module.intent(intentId)).approvals).to.equal(1n); // a signature is not on chain until Execute

    await card()
      .getByText(/2 of 2: 1 on-chain \(0x976E…0aa9\), 1 signed \(0x14dC…9955\)/)
      .waitFor();
    expect(await card().getByRole("button", { name: "Execute" }).isDisabled()).to.equal(true);
    expect(await card().textContent()).to.contain("Its delay has not passed yet.");
    // Co-signer 2 has approved by signature: nothing more to approve or sign, but it may still cancel.
    expect(
      await card()
        .getByRole("button", { name: /^(Approve|Sign)$/ })
        .count(),
    ).to.equal(0);
    expect(await card().getByRole("button", { name: "Cancel" }).count()).to.equal(1);
    await screenshot("queue");
  });

  it("test_postedSignaturesAndReasons_checkedBeforeStored", async function () {
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(new URL("/api/signatures", running!.url), {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(body),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { error?: { code: string; message: string } },
      }));
    const stranger = new Wallet(STRANGER.privateKey);
    const byStranger = await signCosignerApproval(stranger, intentId, 1n, 31337n, deployed.module);
    const notCosigner = await post({ intentId, signer: STRANGER.address, cosignerEra: 1, signature: byStranger });
    expect(notCosigner.status).to.equal(403);
    expect(notCosigner.body.error).to.deep.equal({
      code: "NOT_A_COSIGNER",
      message: `signer ${STRANGER.address} is not a current co-signer of module ${deployed.module}: connect a co-signer's wallet.`,
    });
    const forged = await post({ intentId, signer: dev[8].address, cosignerEra: 1, signature: byStranger });
    expect(forged.status).to.equal(400);
    expect(forged.body.error?.code).to.equal("INVALID_SIGNATURE");
    const oldEra = await post({
      intentId,
      signer: dev[8].address,
      cosignerEra: 0,
      signature: await signCosignerApproval(new Wallet(dev[8].privateKey), intentId, 0n, 31337n, deployed.module),
    });
    expect(oldEra.body.error?.code).to.equal("WRONG_ERA");
    const elsewhere = await post(
      { intentId, signer: STRANGER.address, cosignerEra: 1, signature: byStranger },
      { origin: "http://evil.example" },
    );
    expect(elsewhere.status).to.equal(403);
    expect(elsewhere.body.error?.code).to.equal("WRONG_ORIGIN");
    const badId = await post({ intentId: "0x1234", signer: STRANGER.address, cosignerEra: 1, signature: byStranger });
    expect(badId.body.error?.message).to.equal('intentId "0x1234" is not an intentId (0x followed by 64 hex digits).');
    const file = path.join(storeDir(dir, record), "signatures.jsonl");
    expect(fs.readFileSync(file, "utf8").trim().split("\n")).to.have.length(1);

    // A reason text is kept only when it is what the agent signed.
    const reasons = (body: unknown) =>
      fetch(new URL("/api/reasons", running!.url), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { stored?: boolean; error?: { code: string; message: string } },
      }));
    const wrong = await reasons({ intentId, text: "Invoice 2024-117 from Acme Audits" });
    expect(wrong.status).to.equal(400);
    expect(wrong.body.error?.code).to.equal("REASON_MISMATCH");
    expect(wrong.body.error?.message).to.contain("it is not what the agent signed");
    expect(await reasons({ intentId, text: REASON })).to.deep.equal({ status: 201, body: { stored: true } });
    const stored = fs
      .readFileSync(path.join(storeDir(dir, record), "reasons.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(stored.map((l) => JSON.parse(l) as { intentId: string; text: string })).to.deep.equal([
      { ...JSON.parse(stored[0]), intentId, text: REASON },
    ]);
  });

  it("test_afterEta_anyoneExecutesWithTheSignature_recipientPaid", async function () {
    const [employeeBefore, safeBefore] = [
      (await usdc.balanceOf(EMPLOYEE.address)) as bigint,
      (await usdc.balanceOf(deployed.safe)) as bigint,
    ];
    await (node.provider as JsonRpcProvider).send("evm_increaseTime", [3601]);
    await node.provider.send("evm_mine", []);
    await wallet.use(RELAYER.address);
    await page.getByText(/Wallet .*: no role/).waitFor();
    const execute = card().getByRole("button", { name: "Execute" });
    await card().getByText("Ready: anyone may execute it now.").waitFor({ timeout: 30_000 });
    await execute.click();
    expect(await page.getByRole("dialog", { name: "Execute" }).textContent()).to.contain(
      "1 on-chain approval(s) and 1 collected signature(s): 2 of 2 needed",
    );
    await continueInWallet(/Executed in transaction/);

    expect(await module.intentStatus(intentId)).to.equal(1n); // Executed
    expect(await usdc.balanceOf(EMPLOYEE.address)).to.equal(employeeBefore + parseUnits("7500", 6));
    expect(await usdc.balanceOf(deployed.safe)).to.equal(safeBefore - parseUnits("7500", 6));
    const sent = wallet.requests.filter((r) => r.method === "eth_sendTransaction").pop()!;
    const tx = sent.params[0] as { from: string; data: string };
    expect(getAddress(tx.from)).to.equal(RELAYER.address);
    const call = new Interface(IAgentTreasuryModule__factory.abi).parseTransaction({ data: tx.data })!;
    expect(call.name).to.equal("executeQueued");
    expect(call.args[1].map((s: { signer: string }) => s.signer)).to.deep.equal([COSIGNER_2.address]);

    await page.getByText("Nothing is waiting for co-signers.").waitFor({ timeout: 30_000 });
    await tab("History");
    const executed = page.getByRole("row", { name: new RegExp(`Executed .*Pay 7,500 USDC to ${EMPLOYEE.address}`) });
    await executed.waitFor();
    expect(await executed.textContent()).to.contain(REASON);
    expect(await executed.textContent()).to.contain("(co-signed, 2 of 2)");
    const salaryRow = page.getByRole("row", { name: /Pay 4,000 USDC/ });
    expect(await salaryRow.textContent()).to.contain("Executed (within limits)");
    const deniedRow = page.getByRole("row", { name: /Denied/ });
    expect(await deniedRow.textContent()).to.contain("Denied: the recipient is not on the agent's allowlist");
    expect(await deniedRow.textContent()).to.contain(`Pay 100 USDC to ${STRANGER.address}`);
    await screenshot("history");
  });

  it("test_guardian_pauses_overviewShowsItAndTheAlertArrives", async function () {
    await wallet.use(GUARDIAN.address);
    await tab("Overview");
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    expect(await page.getByRole("dialog", { name: "Pause the module" }).textContent()).to.contain(
      "until the Safe owners unpause",
    );
    await continueInWallet(/Paused in transaction/);
    expect(await module.paused()).to.equal(true);
    const safe = page.getByRole("region", { name: "Safe", exact: true });
    await safe.getByText(new RegExp(`^PAUSED by ${GUARDIAN.address}`)).waitFor({ timeout: 30_000 });
    // The guardian may freeze, not unpause or unfreeze.
    expect(await page.getByRole("button", { name: "Unpause" }).count()).to.equal(0);
    expect(
      await page.getByRole("region", { name: "Agent payroll" }).getByRole("button", { name: "Freeze" }).count(),
    ).to.equal(1);
    const payroll = (await page.getByRole("region", { name: "Agent payroll" }).textContent()) ?? "";
    expect(payroll).to.contain("Strikes1 of 3 in 1d");
    // 4,000 paid within limits; the co-signed 7,500 does not use the auto-tier window.
    expect(payroll).to.contain("16,000 of 20,000 USDC left per 1w");
    const bar = page.getByRole("meter", { name: "payroll may still spend in USDC" });
    expect(await bar.getAttribute("aria-valuenow")).to.equal("80");
    expect(
      await page.getByRole("img", { name: /^payroll, USDC: 4,000 of 20,000 USDC spent in the window now/ }).count(),
    ).to.equal(1);
    // v3: the USD budget across all assets beside the per-asset ones ($4,000 of USDC at $1), and the price feeds.
    expect(payroll).to.contain("$11,000 of $15,000 left per 1w");
    const usdBar = page.getByRole("meter", { name: "payroll may still spend in USD across all assets" });
    expect(await usdBar.getAttribute("aria-valuenow")).to.equal("73");
    const feeds = (await safe.getByRole("table", { name: /^Price feeds/ }).textContent()) ?? "";
    expect(feeds).to.contain("USDC$1trusted, updated");
    expect(feeds).to.contain("ETH$2,500trusted, updated");

    const trading = page.getByRole("region", { name: "Agent trading" });
    await trading.getByRole("button", { name: "Freeze" }).click();
    expect(await page.getByRole("dialog", { name: "Freeze agent trading" }).textContent()).to.contain(
      `freezeAgent(${TRADING.address})`,
    );
    await continueInWallet(/Froze trading in transaction/);
    expect(await module.isFrozen(TRADING.address)).to.equal(true);
    await trading.getByText("FROZEN", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await trading.getByRole("button", { name: "Freeze" }).count()).to.equal(0);
    await screenshot("overview");

    await tab("Alerts");
    await page
      .getByText(`module paused by guardian ${GUARDIAN.address}`, { exact: false })
      .waitFor({ timeout: 30_000 });
    expect(await page.getByText(/payroll intent denied \(RecipientNotAllowed\)/).count()).to.equal(1);
    await screenshot("alerts");
  });

  it("test_ownerUnpause_producesABatchFile_nothingSigned", async function () {
    await wallet.use(OWNER.address);
    await page.getByText(/Wallet .*: Safe owner/).waitFor();
    await tab("Overview");
    await page.getByRole("button", { name: "Unpause", exact: true }).click();
    const words = (await page.getByRole("dialog", { name: "Unpause (Safe owners)" }).textContent()) ?? "";
    expect(words).to.contain(`The batch has one call: unpause().`);
    expect(words).to.contain("Nothing is signed here.");
    const sentBefore = wallet.requests.filter((r) => r.method === "eth_sendTransaction").length;
    await page.getByRole("dialog").getByRole("button", { name: "Write the batch" }).click();
    await page.getByText(/Batch .* written/).waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download batch file", exact: true }).click(),
    ]);
    const file = path.join(dir, "downloaded-batch.json");
    await download.saveAs(file);

    const batch = readBatch(file); // checks the Transaction Builder checksum
    expect(batch.chainId).to.equal("31337");
    expect(batch.meta.createdFromSafeAddress).to.equal(deployed.safe);
    // Each call is shown by name in the Transaction Builder and encodes back to exactly the module's calldata.
    expect(
      batch.transactions.map((t) => [t.to, t.value, t.contractMethod?.name, transactionCalldata(t)]),
    ).to.deep.equal([[deployed.module, "0", "unpause", module.interface.encodeFunctionData("unpause")]]);
    expect(download.suggestedFilename()).to.match(/^31337-0x[0-9a-fA-F]{40}-nonce\d+-unpause\.json$/);
    expect(fs.readFileSync(path.join(dir, "batches", download.suggestedFilename()), "utf8")).to.equal(
      fs.readFileSync(file, "utf8"),
    );
    // The console signed nothing and sent nothing: the owners still have to execute it.
    expect(wallet.requests.filter((r) => r.method === "eth_sendTransaction").length).to.equal(sentBefore);
    expect(await module.paused()).to.equal(true);
    expect(await page.getByRole("region", { name: "Safe owners" }).textContent()).to.contain(
      `unpause module ${deployed.module}`,
    );
  });

  /** Writes the batch the open dialog offers, downloads it from the page and reads it (checksum checked). */
  const writeAndDownload = async (name: string) => {
    await page.getByRole("dialog").getByRole("button", { name: "Write the batch" }).click();
    await page.getByText(new RegExp(`Batch .*-${name}\\.json written`)).waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([
      page.waitForEvent("download"),
      page.getByRole("link", { name: "Download batch file", exact: true }).click(),
    ]);
    const file = path.join(dir, `downloaded-${name}.json`);
    await download.saveAs(file);
    return readBatch(file);
  };

  it("test_ownerUnfreeze_producesABatchFile", async function () {
    await page.getByRole("region", { name: "Agent trading" }).getByRole("button", { name: "Unfreeze" }).click();
    expect(await page.getByRole("dialog").textContent()).to.contain(
      `unfreezeAgent(${TRADING.address}), which also clears its strikes`,
    );
    const batch = await writeAndDownload(`unfreeze-${TRADING.address}`);
    expect(
      batch.transactions.map((t) => [t.to, t.value, t.contractMethod?.name, transactionCalldata(t)]),
    ).to.deep.equal([
      [deployed.module, "0", "unfreezeAgent", module.interface.encodeFunctionData("unfreezeAgent", [TRADING.address])],
    ]);
    expect(batch.meta.description).to.equal(
      `1. [loosens] unfreeze agent trading (${TRADING.address}) and clear its strikes`,
    );
    expect(await module.isFrozen(TRADING.address)).to.equal(true);
  });

  it("test_ownerPolicyChange_becomesABatchOfThePlannedCalls", async function () {
    const policy = JSON.parse(fs.readFileSync(path.join(ROOT, EXAMPLE), "utf8")) as {
      agents: { limits: { asset: string; autoPerTx: string }[] }[];
    };
    policy.agents[0].limits[0].autoPerTx = "6000"; // payroll, USDC: 5,000 -> 6,000 per payment
    const edited = path.join(dir, "dao-raise.json");
    fs.writeFileSync(edited, JSON.stringify(policy, null, 2));
    await page.getByLabel(/Change the policy/).setInputFiles(edited);
    expect(await page.getByRole("dialog", { name: "Change the policy (Safe owners)" }).textContent()).to.contain(
      "compares dao-raise.json with the chain",
    );
    const batch = await writeAndDownload("policy");
    const limit = {
      autoPerTx: parseUnits("6000", 6),
      autoPerWindow: parseUnits("20000", 6),
      window: 7 * 86_400,
      escalatedPerTx: parseUnits("100000", 6),
    };
    expect(
      batch.transactions.map((t) => [t.to, t.value, t.contractMethod?.name, transactionCalldata(t)]),
    ).to.deep.equal([
      [
        deployed.module,
        "0",
        "setAssetLimit",
        module.interface.encodeFunctionData("setAssetLimit", [PAYROLL.address, await usdc.getAddress(), limit]),
      ],
    ]);
    expect(batch.meta.description).to.match(/^1\. \[loosens\] payroll: USDC autoPerTx 5000 -> 6000/);
    expect((await module.assetLimit(PAYROLL.address, await usdc.getAddress())).autoPerTx).to.equal(
      parseUnits("5000", 6),
    ); // nothing applied
    expect(pageProblems).to.deep.equal([]);
  });
});
