/**
 * The watchtower end to end: `hardhat node` on a free loopback port, a treasury deployed on it (Safe 1.5.0, module,
 * 1,000,000 USDC, one agent "payroll" with USDC limits 1000 per tx and 5000 per day), a deployment record and a
 * policy file with a `monitor` section, and `treasury:monitor` running as its own process with `--json` and a
 * webhook on loopback. The story:
 *
 * 1. A week of normal life: payroll pays 100 USDC a day. The watchtower starts and learns it silently.
 * 2. The agent key is stolen. The attacker pays 1000 USDC to a new address: the alert arrives once the block has
 *    its 2 confirmations, not before.
 * 3. The attacker keeps draining, one payment per block (a block every second). The spend-rate rule fires at
 *    2000 USDC within the hour (above 30% of the 5000 window cap, far above the 4 USDC/hour baseline) and its
 *    `action: "freeze"` freezes the agent with the guardian key: the attacker is stopped before the 5000 cap.
 * 4. The owners unfreeze; the watchtower is killed (SIGKILL) mid-stream while the owners loosen a limit, the agent
 *    is denied and the guardian pauses; restarted from its checkpoint it reports exactly what it missed. Every alert
 *    reached the webhook exactly once, and the set equals a one-pass `--once` run over the same blocks.
 */
import { expect } from "chai";
import { ChildProcess, spawn } from "child_process";
import fs from "fs";
import http from "http";
import net from "net";
import os from "os";
import path from "path";
import hre from "hardhat";
import {
  Contract,
  ContractFactory,
  HDNodeWallet,
  JsonRpcProvider,
  JsonRpcSigner,
  ZeroAddress,
  ZeroHash,
  id,
  parseUnits,
} from "ethers";
import type { IAgentTreasuryModule, MockERC20 } from "../../typechain-types";
import { IAgentTreasuryModule__factory } from "../../typechain-types/factories/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule__factory";
import { MockERC20__factory } from "../../typechain-types/factories/contracts/test/MockERC20__factory";
import { Intent, signIntent } from "../../sdk/eip712";
import { SAFE_ABI, execSafeCall } from "../../sdk/safe";
import { writeDeployment } from "../../core/deployment";
import { hardhatDevWallets } from "../../core/keys";
import type { Alert } from "../../monitor/alerts";

const ROOT = path.resolve(__dirname, "..", "..");
const HARDHAT_CLI = path.join(ROOT, "node_modules", "hardhat", "internal", "cli", "bootstrap.js");
const DAY = 86_400;
const CONFIRMATIONS = 2;
const usdc = (n: string) => parseUnits(n, 6);

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value as T;
    if (Date.now() > end) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** A child process in its own process group, killed by its pid. Output is kept for diagnostics. */
class Child {
  readonly proc: ChildProcess;
  stdout = "";
  stderr = "";
  constructor(args: string[], env: NodeJS.ProcessEnv) {
    this.proc = spawn(process.execPath, [HARDHAT_CLI, ...args], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.proc.stdout!.on("data", (c: Buffer) => (this.stdout += c.toString()));
    this.proc.stderr!.on("data", (c: Buffer) => (this.stderr += c.toString()));
  }
  get exited(): boolean {
    return this.proc.exitCode !== null || this.proc.signalCode !== null;
  }
  async waitFor(pattern: RegExp, stream: "stdout" | "stderr", timeoutMs: number): Promise<void> {
    await until(`${pattern} on ${stream}`, timeoutMs, () => {
      if (this.exited)
        throw new Error(
          `process exited (${this.proc.exitCode ?? this.proc.signalCode}):\n${this.stderr.slice(-3000)}\n${this.stdout.slice(-1000)}`,
        );
      return pattern.test(this[stream]) || undefined;
    });
  }
  async exit(timeoutMs: number): Promise<number | null> {
    if (!this.exited) await new Promise((r) => this.proc.once("exit", r)).then(undefined, undefined);
    await until("exit", timeoutMs, () => this.exited || undefined);
    return this.proc.exitCode;
  }
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.exited || this.proc.pid === undefined) return;
    try {
      process.kill(-this.proc.pid, signal);
    } catch {
      // already gone
    }
  }
  /** JSON lines printed on stdout. */
  jsonLines<T>(): T[] {
    return this.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as T);
  }
}

describe("watchtower against hardhat node", function () {
  this.timeout(240_000);

  let node: Child | undefined;
  let monitor: Child | undefined;
  let provider: JsonRpcProvider;
  let rpcUrl: string;
  let workDir: string;
  let policyFile: string;
  let webhook: http.Server;
  let webhookUrl: string;
  const received: { alert: Alert; at: number; head: number }[] = [];

  let module: IAgentTreasuryModule;
  let token: MockERC20;
  let safe: Contract;
  let owners: JsonRpcSigner[];
  let deployer: JsonRpcSigner;
  let relayer: JsonRpcSigner;
  let guardianAddress: string;
  let agentKey: HDNodeWallet;
  let chainId: bigint;
  let startBlock: number;
  const attacker = "0x000000000000000000000000000000000000dEaD";
  const carol = "0x00000000000000000000000000000000000CA201";

  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = {
      ...process.env,
      RPC_URL: rpcUrl,
      DEPLOYMENTS_DIR: path.join(workDir, "deployments"),
      HARDHAT_DISABLE_TELEMETRY_PROMPT: "true",
    };
    delete e.GUARDIAN_KEY;
    return e;
  };

  const startMonitor = async (extra: string[] = []): Promise<Child> => {
    const child = new Child(
      [
        "treasury:monitor",
        "--network",
        "localhost",
        "--policy",
        policyFile,
        "--json",
        "--webhook",
        webhookUrl,
        "--checkpoint",
        path.join(workDir, "checkpoint.json"),
        "--from-block",
        String(startBlock),
        ...extra,
      ],
      env(),
    );
    await child.waitFor(/monitor: watching module/, "stderr", 90_000);
    return child;
  };

  /** Pays `amount` USDC from the treasury as the agent (whoever holds its key), relayed. */
  const pay = async (to: string, amount: bigint): Promise<void> => {
    const latest = await provider.getBlock("latest");
    const intent: Intent = {
      agent: agentKey.address,
      target: await token.getAddress(),
      value: 0n,
      data: token.interface.encodeFunctionData("transfer", [to, amount]),
      nonce: await module.getNonce(agentKey.address, 0),
      idempotencyKey: ZeroHash,
      validAfter: 0n,
      validUntil: BigInt(latest!.timestamp + 3600),
      rationale: id(`pay ${to} ${amount}`),
      review: false,
    };
    const signature = await signIntent(agentKey, intent, chainId, await module.getAddress());
    const tx = await module.connect(relayer).submit(intent, signature);
    const receipt = await tx.wait();
    if (!receipt || receipt.status !== 1) throw new Error("payment reverted");
  };

  const asOwners = async (data: string) =>
    execSafeCall(safe, owners.slice(0, 2), deployer, await module.getAddress(), data);
  const mine = () => provider.send("evm_mine", []);

  /** Mines the confirmations and waits until the webhook has been quiet for a while. */
  const settle = async () => {
    for (let i = 0; i < CONFIRMATIONS; i++) await mine();
    let count = -1;
    while (count !== received.length) {
      count = received.length;
      await sleep(1000);
    }
  };

  before(async function () {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-monitor-e2e-"));
    const port = await freePort();
    rpcUrl = `http://127.0.0.1:${port}`;
    node = new Child(["node", "--hostname", "127.0.0.1", "--port", String(port)], env());
    await node.waitFor(/Started HTTP and WebSocket JSON-RPC server/, "stdout", 120_000);
    node.stdout = ""; // the node logs every call: keep only recent output
    node.proc.stdout!.removeAllListeners("data");
    node.proc.stdout!.on("data", () => undefined);

    webhook = http.createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        const entry = { alert: JSON.parse(body) as Alert, at: Date.now(), head: -1 };
        received.push(entry);
        // The chain's head when the alert arrived (blocks are mined only by the test in the latency check).
        void provider.getBlockNumber().then((head) => (entry.head = head));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => webhook.listen(0, "127.0.0.1", r));
    webhookUrl = `http://127.0.0.1:${(webhook.address() as net.AddressInfo).port}/alerts`;

    // ---- the treasury, deployed on the node
    provider = new JsonRpcProvider(rpcUrl, undefined, { pollingInterval: 50, cacheTimeout: -1 });
    chainId = (await provider.getNetwork()).chainId;
    const signers = await Promise.all([0, 1, 2, 3, 5, 9].map((i) => provider.getSigner(i)));
    [deployer, owners, relayer] = [signers[0], signers.slice(1, 4), signers[4]];
    guardianAddress = signers[5].address;
    agentKey = hardhatDevWallets()[4].connect(provider) as HDNodeWallet;
    const deploy = async (name: string, args: unknown[] = []) => {
      const artifact = await hre.artifacts.readArtifact(name);
      const c = await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy(...args);
      await c.waitForDeployment();
      return c;
    };
    const singleton = await deploy("Safe");
    const proxyFactory = await deploy("SafeProxyFactory");
    const handler = await deploy("CompatibilityFallbackHandler");
    const setup = singleton.interface.encodeFunctionData("setup", [
      owners.map((o) => o.address),
      2,
      ZeroAddress,
      "0x",
      await handler.getAddress(),
      ZeroAddress,
      0,
      ZeroAddress,
    ]);
    const safeAddress = await proxyFactory
      .getFunction("createProxyWithNonce")
      .staticCall(await singleton.getAddress(), setup, 0);
    await (await proxyFactory.getFunction("createProxyWithNonce")(await singleton.getAddress(), setup, 0)).wait();
    safe = new Contract(safeAddress, SAFE_ABI, deployer);
    const admin = await deploy("AgentTreasuryAdmin");
    const implementation = await deploy("AgentTreasuryModule", [await admin.getAddress()]);
    const factory = await deploy("AgentTreasuryModuleFactory", [await implementation.getAddress()]);
    const salt = id("watchtower-e2e");
    const moduleAddress = await factory.getFunction("predictModuleAddress")(safeAddress, salt);
    const created = await (await factory.getFunction("createModule")(safeAddress, salt)).wait();
    module = IAgentTreasuryModule__factory.connect(moduleAddress, deployer);
    token = MockERC20__factory.connect(
      await (await deploy("MockERC20", ["USD Coin", "USDC", 6])).getAddress(),
      deployer,
    );
    const lens = await deploy("AgentTreasuryLens");
    await (await token.mint(safeAddress, usdc("1000000"))).wait();
    await execSafeCall(
      safe,
      owners.slice(0, 2),
      deployer,
      safeAddress,
      safe.interface.encodeFunctionData("enableModule", [moduleAddress]),
    );
    const m = module.interface;
    await asOwners(
      m.encodeFunctionData("setAgent", [
        agentKey.address,
        {
          validUntil: 0,
          escalationDelay: 3600,
          gracePeriod: DAY,
          maxIntentsPerWindow: 0,
          rateWindow: 0,
          maxStrikes: 5,
          strikeWindow: DAY,
          recipientMode: 0,
        },
      ]),
    );
    await asOwners(
      m.encodeFunctionData("setAssetLimit", [
        agentKey.address,
        await token.getAddress(),
        { autoPerTx: usdc("1000"), autoPerWindow: usdc("5000"), window: DAY, escalatedPerTx: usdc("50000") },
      ]),
    );
    await asOwners(m.encodeFunctionData("setCosigners", [[signers[1].address, signers[2].address], 1]));
    await asOwners(m.encodeFunctionData("setGuardian", [guardianAddress, true]));

    // ---- a week of normal life: 100 USDC a day to the payroll provider
    const payrollProvider = signers[3].address;
    for (let d = 0; d < 7; d++) {
      await pay(payrollProvider, usdc("100"));
      await provider.send("evm_increaseTime", [DAY]);
      await mine();
    }
    startBlock = (await provider.getBlockNumber()) + 1;

    // ---- what the CLI reads: the deployment record and the policy file
    writeDeployment(
      {
        chainId: chainId.toString(),
        network: "localhost",
        safe: safeAddress,
        module: moduleAddress,
        implementation: await implementation.getAddress(),
        factory: await factory.getAddress(),
        lens: await lens.getAddress(),
        agents: { payroll: agentKey.address },
        tokens: { USDC: await token.getAddress() },
        deployedAt: new Date().toISOString(),
        moduleBlock: created!.blockNumber,
      },
      path.join(workDir, "deployments"),
    );
    policyFile = path.join(workDir, "policy.json");
    fs.writeFileSync(
      policyFile,
      JSON.stringify(
        {
          safe: safeAddress,
          salt: "watchtower-e2e",
          guardians: [guardianAddress],
          cosigners: { members: [signers[1].address, signers[2].address], threshold: 1 },
          tokens: { USDC: await token.getAddress() },
          agents: [
            {
              name: "payroll",
              address: agentKey.address,
              escalationDelay: "1h",
              gracePeriod: "1d",
              maxStrikes: 5,
              strikeWindow: "1d",
              recipientMode: "any",
              limits: [
                { asset: "USDC", autoPerTx: "1000", autoPerWindow: "5000", window: "1d", escalatedPerTx: "50000" },
              ],
            },
          ],
          monitor: {
            confirmations: CONFIRMATIONS,
            pollIntervalMs: 100,
            rules: [
              { rule: "spend-rate", period: "1h", baseline: "7d", multiple: 5, minShareOfCap: 0.3, action: "freeze" },
              { rule: "new-recipient" },
              { rule: "denied-intent" },
              { rule: "emergency" },
              { rule: "config-loosened" },
            ],
          },
        },
        null,
        2,
      ),
    );
  });

  after(async function () {
    monitor?.kill();
    node?.kill();
    await Promise.all([monitor?.exit(10_000).catch(() => undefined), node?.exit(10_000).catch(() => undefined)]);
    if (webhook) await new Promise<void>((r) => webhook.close(() => r()));
  });

  it("test_alert_newRecipient_arrivesAtTheConfiguredConfirmations", async function () {
    monitor = await startMonitor();
    expect(monitor.stderr).to.contain(`responses as guardian ${guardianAddress}`);
    expect(monitor.stderr).to.contain("spend-rate:freeze");
    // Blocks only when the test mines them, so "how many blocks later" is exact.
    await provider.send("evm_setAutomine", [false]);
    const sent = pay(attacker, usdc("1000"));
    await until(
      "the payment in the mempool",
      10_000,
      async () =>
        ((await provider.send("eth_getBlockByNumber", ["pending", false])) as { transactions: string[] }).transactions
          .length > 0 || undefined,
    );
    await mine();
    await sent;
    const block = await provider.getBlockNumber();
    // One confirmation (the block itself) is not enough for CONFIRMATIONS = 2: nothing may arrive.
    await sleep(1500);
    expect(received.map((r) => r.alert.kind)).to.deep.equal([]);
    await mine();
    const got = await until("the new-recipient alert", 15_000, () =>
      received.find((r) => r.alert.kind === "new-recipient"),
    );
    expect(got.alert.block).to.equal(block);
    expect(got.alert.detectedAtBlock).to.equal(block + CONFIRMATIONS - 1);
    await until("the head at arrival", 5000, () => got.head >= 0 || undefined);
    expect(got.head).to.equal(block + CONFIRMATIONS - 1);
    expect(got.alert.agent).to.deep.equal({ address: agentKey.address, name: "payroll" });
    expect(got.alert.message).to.equal(`new recipient ${attacker}: paid 1000 USDC`);
    expect(received).to.have.length(1);
    // The same alert on stdout as a JSON line.
    await until("the JSON line", 5000, () => monitor!.jsonLines<Alert>().find((a) => a.id === got.alert.id));
  });

  it("test_autoFreeze_attackerDraining_stoppedBeforeTheWindowCap", async function () {
    const safeAddress = await safe.getAddress();
    const before = await token.balanceOf(safeAddress);
    const cap = usdc("5000");
    const stolenBefore = usdc("1000"); // the first payment, above
    // The attacker pays once per block, as fast as the chain lets it. The test mines each block only once the
    // watchtower has kept up with the chain: it has read every block it may read (those with CONFIRMATIONS), or a
    // freeze is already in flight (the guardian client waits for its receipt, which needs the next block). So the
    // race is counted in blocks, as it is on a live chain, and not in this machine's seconds: when these two cores
    // were shared with other suites, a wall-clock version lost it by a block with nothing wrong in the watchtower.
    const checkpointFile = path.join(workDir, "checkpoint.json");
    const pendingFrom = async (address: string): Promise<boolean> => {
      const pending = (await provider.send("eth_getBlockByNumber", ["pending", true])) as {
        transactions: { from: string }[];
      };
      return pending.transactions.some((t) => t.from.toLowerCase() === address.toLowerCase());
    };
    const keptUp = async (): Promise<true | undefined> => {
      const head = await provider.getBlockNumber();
      let nextBlock = 0;
      try {
        nextBlock = (JSON.parse(fs.readFileSync(checkpointFile, "utf8")) as { nextBlock: number }).nextBlock;
      } catch {
        return undefined; // not written yet
      }
      if (nextBlock >= head - CONFIRMATIONS + 2) return true;
      return (await pendingFrom(guardianAddress)) || undefined;
    };
    await provider.send("evm_setAutomine", [false]);
    let payments = 0;
    let stoppedBy = "";
    for (let k = 0; k < 8; k++) {
      await until("the watchtower to keep up with the chain", 60_000, keptUp);
      // With a freeze already pending, the relayer's gas estimate (against the pending block) reverts and the
      // payment is refused before it is sent.
      let refused = false;
      const sent = pay(attacker, usdc("1000")).then(
        () => undefined,
        (error: Error) => {
          refused = true;
          return error;
        },
      );
      await until(
        "the payment in the mempool, or its refusal",
        10_000,
        async () => refused || (await pendingFrom(relayer.address)) || undefined,
      );
      if (!refused) await mine();
      const failure = await sent;
      if (failure) {
        stoppedBy = failure.message;
        break;
      }
      payments++;
    }
    // A freeze still waiting for its block (the attacker was refused before sending) lands now.
    if (await pendingFrom(guardianAddress)) await mine();
    await provider.send("evm_setAutomine", [true]);

    expect(await module.isFrozen(agentKey.address)).to.equal(true);
    expect(stoppedBy).to.match(/AgentIsFrozen|payment reverted|reverted/);
    const stolen = stolenBefore + usdc("1000") * BigInt(payments);
    expect(stolen).to.be.lessThan(cap);
    expect(await token.balanceOf(safeAddress)).to.equal(before - usdc("1000") * BigInt(payments));
    expect(await token.balanceOf(attacker)).to.equal(stolen);
    expect(await module.availableAllowance(agentKey.address, await token.getAddress())).to.equal(cap - stolen);

    const alert = await until("the spend-rate alert", 15_000, () =>
      received.find((r) => r.alert.kind === "spend-rate"),
    )!;
    expect(alert.alert.action).to.equal("freeze");
    expect(alert.alert.response).to.deep.include({ action: "freeze", status: "done", by: guardianAddress });
    expect(alert.alert.details.spentInPeriod).to.equal(usdc("2000").toString());
    const freeze = await provider.getTransactionReceipt(alert.alert.response!.txHash!);
    const frozen = freeze!.logs.map((l) => module.interface.parseLog(l)).find((l) => l?.name === "AgentFrozen");
    expect(frozen!.args.agent).to.equal(agentKey.address);
    expect(frozen!.args.by).to.equal(guardianAddress);
    // Detected once the trigger block had its confirmations; the freeze landed in the next block (one more of slack).
    expect(alert.alert.detectedAtBlock - alert.alert.block).to.be.at.most(CONFIRMATIONS);
    expect(freeze!.blockNumber - alert.alert.block).to.be.at.most(CONFIRMATIONS + 1);
    // Its raised tip orders it before the attacker's payment of the same block: no payment executed from then on.
    const paidBlocks = (
      await module.queryFilter(module.filters.IntentExecuted(undefined, agentKey.address), alert.alert.block)
    ).map((l) => l.blockNumber);
    expect(paidBlocks.length).to.be.greaterThan(0);
    expect(Math.max(...paidBlocks)).to.be.lessThan(freeze!.blockNumber);
    await settle();
    expect(received.filter((r) => r.alert.kind === "emergency").map((r) => r.alert.message)).to.deep.equal([
      `agent frozen by this watchtower's guardian ${guardianAddress} (reason "manual")`,
    ]);
  });

  it("test_restart_killedMidStream_losesNoEventAndRepeatsNoAlert", async function () {
    // While the watchtower runs: the owners unfreeze the agent; it pays someone new.
    await asOwners(module.interface.encodeFunctionData("unfreezeAgent", [agentKey.address]));
    await pay(carol, usdc("10"));
    await settle();
    expect(received.slice(-2).map((r) => r.alert.kind)).to.deep.equal(["emergency", "new-recipient"]);
    const deliveredBeforeCrash = received.length;

    monitor!.kill("SIGKILL");
    await monitor!.exit(10_000);
    const firstRun = monitor!;

    // While it is down: a looser limit, a denied intent, a pause.
    await asOwners(
      module.interface.encodeFunctionData("setAssetLimit", [
        agentKey.address,
        await token.getAddress(),
        { autoPerTx: usdc("1000"), autoPerWindow: usdc("8000"), window: DAY, escalatedPerTx: usdc("50000") },
      ]),
    );
    await pay(attacker, usdc("60000")); // above the hard cap: denied (the transaction succeeds)
    await (await module.connect(await provider.getSigner(guardianAddress)).pause()).wait();

    monitor = await startMonitor();
    expect(monitor.stderr).to.contain("resumed from");
    await settle();
    const missed = received.slice(deliveredBeforeCrash).map((r) => r.alert.kind);
    expect(missed).to.deep.equal(["config-loosened", "denied-intent", "emergency"]);
    expect(received[received.length - 3].alert.message).to.contain("autoPerWindow 5000 USDC -> 8000 USDC");

    // Every alert reached the webhook once.
    const ids = received.map((r) => r.alert.id);
    expect(new Set(ids).size).to.equal(ids.length);
    // And on stdout, across both runs, the same alerts once each.
    const printed = [...firstRun.jsonLines<Alert>(), ...monitor.jsonLines<Alert>()]
      .filter((a) => a.type === "alert")
      .map((a) => a.id);
    expect(printed).to.deep.equal(ids);

    // One pass over the same blocks by a fresh watchtower finds exactly these alerts, in the same order.
    const reference = new Child(
      [
        "treasury:monitor",
        "--network",
        "localhost",
        "--policy",
        policyFile,
        "--json",
        "--once",
        "--no-respond",
        "--checkpoint",
        path.join(workDir, "reference.json"),
        "--from-block",
        String(startBlock),
      ],
      env(),
    );
    expect(await reference.exit(90_000)).to.equal(0);
    const lines = reference.jsonLines<
      Alert | { type: "summary"; agents: { counts: { executed: number; denied: number } }[] }
    >();
    const referenceAlerts = lines.filter((l): l is Alert => l.type === "alert");
    expect(referenceAlerts.map((a) => a.id)).to.deep.equal(ids);
    expect(referenceAlerts.map((a) => a.kind)).to.deep.equal([
      "new-recipient",
      "spend-rate",
      "emergency",
      "emergency",
      "new-recipient",
      "config-loosened",
      "denied-intent",
      "emergency",
    ]);
    const summary = lines.find((l) => l.type === "summary") as {
      agents: { counts: { executed: number; denied: number } }[];
    };
    // 7 days of payroll + the attacker's payments + carol; one denial.
    expect(summary.agents[0].counts.denied).to.equal(1);
  });
});
