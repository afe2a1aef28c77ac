/**
 * End-to-end: the treasury CLI against real `hardhat node` processes. One node (chain 31337) carries the story:
 * malformed files are refused before anything is sent, the example DAO is deployed and re-deployed (nothing to
 * do), a changed limit shows in the plan and apply clears it, the status shows a queued intent, and a policy for
 * an existing Safe produces a Transaction Builder batch whose execution by the owners gives the same state as the
 * local mode. A second node with chain id 31338 shows that the same Safe and salt give the same module address.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import { Contract, HDNodeWallet, Wallet, getAddress, id, parseEther, parseUnits, toBeHex } from "ethers";
import { IAgentTreasuryModule__factory, MockCallTarget__factory, MockERC20__factory } from "../../typechain-types";
import { SAFE_ABI } from "../../sdk/safe";
import { Intent, hashIntent, signIntent } from "../../sdk/eip712";
import { readBatch } from "../../deploy/batch";
import { protocolKitContractNetworks, readDeployment } from "../../core/deployment";
import { predictSafeAddress, safeInitializer } from "../../deploy/addresses";
import { executeAsOwners } from "../../deploy/configure";
import { predictUniswapAddresses } from "../../deploy/uniswap";
import type { DeployResult } from "../../deploy/pipeline";
import { hardhatDevWallets } from "../../core/keys";
import {
  PolicyJson,
  configSnapshot,
  expectChainMatchesPolicy,
  readExample,
  removeTempDirs,
  tempDir,
  writeJson,
  txBuilderCalldata,
} from "./helpers";
import { CliResult, LocalNode, runCli, startNode } from "../../testkit/localNode";

const EXAMPLE = path.join("deploy", "examples", "dao.json");
const dev = hardhatDevWallets();
// Roles in deploy/examples/dao.json (see deploy/examples/README.md).
const OWNERS = [dev[1], dev[2], dev[3]];
const PAYROLL = dev[4];
const COSIGNER = dev[6];
const EMPLOYEE = dev[10];
const RELAYER = dev[13];

/** Chain 31338's part of the story, as run by {@link runChainB}. */
interface ChainB {
  node: LocalNode;
  policy: PolicyJson;
  deployer: HDNodeWallet | Wallet;
  /** treasury:deploy with a development key: refused. */
  refused: CliResult;
  /** The node's block number before and after the refused run. */
  blocks: [number, number];
  /** treasury:deploy of the same Safe and salt with the deployer's own key. */
  deployed: CliResult;
}

/**
 * Chain 31338's part: a second node, the policy without local-only sections, a `treasury:deploy` refused for its
 * development key, then the real one. It needs nothing from chain 31337 until its checks, so it runs while that
 * story runs (one CLI process at a time), on the machine's other core; the tests below check its results.
 */
async function runChainB(work: string, started: (node: LocalNode) => void): Promise<ChainB> {
  const node = await startNode(31338);
  started(node);
  // The same Safe (owners, threshold) and salt.
  const policy = readExample();
  // No local-only sections (mock tokens and feeds are for 31337 only), so no USD limits either: they need a price
  // feed for every asset.
  delete policy.localTokens;
  delete policy.localEth;
  delete policy.localPriceFeeds;
  for (const agent of policy.agents) delete agent.usdLimit;
  // v3: the local Uniswap and the router's allowance name the local tokens too.
  delete policy.localUniswap;
  delete policy.allowances;
  policy.treasuryLimits = policy.treasuryLimits!.filter((t) => t.asset === "ETH");
  for (const agent of policy.agents) {
    agent.limits = agent.limits!.filter((l) => l.asset === "ETH");
    agent.allowedCalls = [];
  }
  const file = writeJson(path.join(work, "second-chain.json"), policy);
  const deployer = Wallet.createRandom();
  await node.provider.send("hardhat_setBalance", [deployer.address, toBeHex(parseEther("100"))]);
  const before = await node.provider.getBlockNumber();
  const refused = await runCli(node, ["treasury:deploy", "--policy", file, "--json"], {
    env: { DEPLOYMENTS_DIR: tempDir("e2e-b-refused"), DEPLOYER_KEY: dev[0].privateKey },
  });
  const blocks: [number, number] = [before, await node.provider.getBlockNumber()];
  const deployed = await runCli(node, ["treasury:deploy", "--policy", file, "--json"], {
    env: { DEPLOYMENTS_DIR: tempDir("e2e-b"), DEPLOYER_KEY: deployer.privateKey },
  });
  return { node, policy, deployer, refused, blocks, deployed };
}

function deployResult(r: CliResult): DeployResult {
  expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
  expect(r.json, r.stdout).to.not.equal(undefined);
  return r.json as unknown as DeployResult;
}

describe("treasury CLI on hardhat nodes (e2e)", function () {
  this.timeout(300_000);
  let node: LocalNode;
  let dir: string;
  let first: DeployResult;
  let firstRecord: {
    safeInfra: { proxyFactory: string; singleton: string; fallbackHandler: string; multiSendCallOnly: string };
    tokens: Record<string, string>;
    moduleBlock?: number;
  };
  const work = tempDir("e2e-files");
  let chainB: Promise<ChainB>;
  let nodeB: LocalNode | undefined;

  before(async function () {
    chainB = runChainB(work, (n) => (nodeB = n));
    chainB.catch(() => undefined); // awaited, and reported, by the chain 31338 tests
    node = await startNode(31337);
    dir = tempDir("e2e-deployments");
  });

  after(async function () {
    await chainB?.catch(() => undefined);
    await nodeB?.stop();
    await node?.stop();
    removeTempDirs();
  });

  describe("when the policy file is malformed", function () {
    const cases: { name: string; mutate: (p: PolicyJson) => void; path: string; message: RegExp; value: unknown }[] = [
      {
        name: "unknown field",
        mutate: (p) => ((p.agents[0] as Record<string, unknown>).maxStrike = 3),
        path: "agents[0].maxStrike",
        message: /unknown field "maxStrike" \(did you mean "maxStrikes"\?\)/,
        value: 3,
      },
      {
        name: "negative amount",
        mutate: (p) => (p.agents[0].limits![0].autoPerTx = "-5"),
        path: "agents[0].limits[0].autoPerTx",
        message: /negative/,
        value: "-5",
      },
      {
        name: "bad checksum address",
        mutate: (p) => (p.cosigners.members[1] = "0x14Dc79964da2C08b23698B3D3cc7Ca32193d9955"),
        path: "cosigners.members[1]",
        message: /bad checksum/,
        value: "0x14Dc79964da2C08b23698B3D3cc7Ca32193d9955",
      },
      {
        name: "threshold above members",
        mutate: (p) => (p.cosigners.threshold = 4),
        path: "cosigners.threshold",
        message: /threshold 4 is above the 3 members/,
        value: 4,
      },
      {
        name: 'duration "5 parsecs"',
        mutate: (p) => (p.agents[1].escalationDelay = "5 parsecs"),
        path: "agents[1].escalationDelay",
        message: /unknown unit "parsecs"/,
        value: "5 parsecs",
      },
      {
        name: "target with no contract",
        mutate: (p) => (p.target = EMPLOYEE.address),
        path: "target",
        message: /has no contract on chain 31337: the target must be a Zodiac modifier/,
        value: EMPLOYEE.address,
      },
      {
        name: "token address with no contract",
        mutate: (p) => {
          p.tokens = { DAI: "0x6B175474E89094C44Da98b954EedeAC495271d0F" };
          p.agents[0].limits!.push({
            asset: "DAI",
            autoPerTx: "1",
            autoPerWindow: "2",
            window: "1d",
            escalatedPerTx: "3",
          });
          // Without its USD limit the agent needs no price feed for DAI (the schema would refuse that first).
          delete (p.agents[0] as Record<string, unknown>).usdLimit;
        },
        path: "tokens.DAI",
        message: /has no contract on chain 31337/,
        value: "0x6B175474E89094C44Da98b954EedeAC495271d0F",
      },
    ];
    const results = new Map<string, CliResult>();
    let blockBefore: number;
    let badDir: string;

    before(async function () {
      blockBefore = await node.provider.getBlockNumber();
      badDir = tempDir("e2e-bad");
      // Three at a time: each is a separate Hardhat process.
      for (let i = 0; i < cases.length; i += 3) {
        await Promise.all(
          cases.slice(i, i + 3).map(async (c) => {
            const policy = readExample();
            c.mutate(policy);
            const file = writeJson(path.join(work, `bad-${i}-${c.name.replace(/\W+/g, "-")}.json`), policy);
            results.set(
              c.name,
              await runCli(node, ["treasury:deploy", "--policy", file, "--json"], { env: { DEPLOYMENTS_DIR: badDir } }),
            );
          }),
        );
      }
    });

    for (const c of cases) {
      it(`test_deploy_${c.name.replace(/\W+(\w)/g, (_, x: string) => x.toUpperCase()).replace(/\W/g, "")}_namedErrorNonZeroExitNothingDeployed`, async function () {
        const r = results.get(c.name)!;
        expect(r.code).to.equal(1);
        const error = (
          r.json as {
            error: { code: string; message: string; issues: { path: string; message: string; value: unknown }[] };
          }
        ).error;
        expect(error.code).to.equal("POLICY_INVALID");
        expect(error.issues).to.have.length(1);
        expect(error.issues[0].path).to.equal(c.path);
        expect(error.issues[0].message).to.match(c.message);
        expect(error.issues[0].value).to.deep.equal(c.value);
        expect(error.message).to.contain(c.path).and.to.contain("nothing was deployed");
        // Nothing was sent and nothing was recorded.
        expect(await node.provider.getBlockNumber()).to.equal(blockBefore);
        expect(fs.existsSync(path.join(badDir, "31337.json"))).to.equal(false);
      });
    }
  });

  describe("after deploying the example DAO", function () {
    before(async function () {
      // Chain 31338's deployment and the shared example's (./exampleNode.ts) may run beside this one.
      this.timeout(600_000);
      const r = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE, "--json"], {
        env: { DEPLOYMENTS_DIR: dir },
      });
      first = deployResult(r);
      console.log(`      (treasury:deploy of ${EXAMPLE} on a fresh node: ${(r.ms / 1000).toFixed(1)} s wall time)`);
      firstRecord = JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8"));
    });

    it("test_deploy_examplePolicy_chainMatchesFile", async function () {
      expect(first.chainId).to.equal("31337");
      expect(first.mode).to.equal("local");
      expect(first.changed).to.include(`created module clone ${first.module} for Safe ${first.safe}`);
      for (const a of [first.safe, first.module, first.implementation, first.factory, first.lens]) {
        expect(await node.provider.getCode(a)).to.not.equal("0x");
      }
      const record = JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8"));
      expect({ safe: record.safe, module: record.module, lens: record.lens, agents: record.agents }).to.deep.equal({
        safe: first.safe,
        module: first.module,
        lens: first.lens,
        agents: { payroll: PAYROLL.address, trading: dev[11].address },
      });
      const policy = readExample();
      await expectChainMatchesPolicy(node.provider, first, policy, record.tokens);
      // The local chain funds the Safe as the file says: 100 ETH, 1,000,000 USDC, 100 WETH.
      expect(await node.provider.getBalance(first.safe)).to.equal(parseEther("100"));
      const usdc = MockERC20__factory.connect(record.tokens.USDC, node.provider);
      const weth = MockERC20__factory.connect(record.tokens.WETH, node.provider);
      expect(await usdc.balanceOf(first.safe)).to.equal(parseUnits("1000000", 6));
      expect(await weth.balanceOf(first.safe)).to.equal(parseEther("100"));
      expect(await usdc.decimals()).to.equal(6n);
    });

    it("test_protocolKit_connectsWithTheRecord_ownersThresholdAndModule", async function () {
      const { default: Safe } = await import("@safe-global/protocol-kit");
      const record = readDeployment(31337n, dir);
      const contractNetworks = protocolKitContractNetworks(record);
      const kit = await Safe.init({ provider: node.url, safeAddress: record.safe, contractNetworks });
      const policy = readExample();
      const owners = (policy.safe as { owners: string[]; threshold: number }).owners;
      expect((await kit.getOwners()).map(getAddress).sort()).to.deep.equal(owners.map(getAddress).sort());
      expect(await kit.getThreshold()).to.equal((policy.safe as { threshold: number }).threshold);
      expect(await kit.isModuleEnabled(record.module)).to.equal(true);
      expect(kit.getContractVersion()).to.equal("1.5.0");
      expect(kit.getMultiSendAddress()).to.equal(record.safeInfra!.multiSend);
      expect(kit.getMultiSendCallOnlyAddress()).to.equal(record.safeInfra!.multiSendCallOnly);
      // Every recorded contract is deployed, and protocol-kit batches plain calls through the recorded MultiSendCallOnly.
      for (const address of Object.values(record.safeInfra!))
        expect(await node.provider.getCode(address), address).to.not.equal("0x");
      const tx = await kit.createTransaction({
        transactions: [
          { to: EMPLOYEE.address, value: "1", data: "0x" },
          { to: EMPLOYEE.address, value: "2", data: "0x" },
        ],
      });
      expect(tx.data.to).to.equal(record.safeInfra!.multiSendCallOnly);
      // The record as it was before (four Safe contracts) is what protocol-kit could not connect with.
      const { singleton, proxyFactory, fallbackHandler, multiSendCallOnly } = record.safeInfra!;
      const old = {
        "31337": {
          safeSingletonAddress: singleton,
          safeProxyFactoryAddress: proxyFactory,
          fallbackHandlerAddress: fallbackHandler,
          multiSendCallOnlyAddress: multiSendCallOnly,
        },
      };
      await expect(
        Safe.init({ provider: node.url, safeAddress: record.safe, contractNetworks: old }),
      ).to.be.rejectedWith(/Invalid multiSend contract address/);
    });

    it("test_deploy_secondRun_changesNothing", async function () {
      const blockBefore = await node.provider.getBlockNumber();
      const r = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE, "--json"], {
        env: { DEPLOYMENTS_DIR: dir },
      });
      const again = deployResult(r);
      expect(again.changed).to.deep.equal([]);
      expect(again.pending).to.deep.equal([]);
      expect([again.safe, again.module, again.implementation, again.factory, again.lens]).to.deep.equal([
        first.safe,
        first.module,
        first.implementation,
        first.factory,
        first.lens,
      ]);
      expect(r.stderr).to.contain("nothing to do");
      expect(await node.provider.getBlockNumber()).to.equal(blockBefore);
      // In text mode the terminal says it once (the progress log), without an empty "changed" table.
      const text = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE], { env: { DEPLOYMENTS_DIR: dir } });
      expect(text.code, text.stderr).to.equal(0);
      expect(`${text.stdout}\n${text.stderr}`.match(/nothing to do/gi)).to.have.length(1);
      expect(text.stdout).to.not.contain("Changed by this run");
    });

    it("test_deploy_recordAndIgnitionJournalsOfAnotherNodeInstance_setAsideAndWrittenAfresh", async function () {
      // The record names the node instance it was written on.
      const file = path.join(dir, "31337.json");
      const genesis = (await node.provider.getBlock(0))!.hash!;
      const { instanceId } = (await node.provider.send("hardhat_metadata", [])) as { instanceId: string };
      expect(firstRecord).to.include({ genesisHash: genesis, nodeInstance: instanceId });
      // A record from before a node restart (another genesis block) is kept under its stale name, not overwritten.
      const stale = { ...firstRecord, genesisHash: "0x" + "ee".repeat(32), deployedAt: "2020-01-01T00:00:00.000Z" };
      fs.writeFileSync(file, JSON.stringify(stale));
      // So are Ignition's journals of that instance.
      const ignition = path.join(dir, "ignition", "chain-31337");
      fs.writeFileSync(
        path.join(ignition, "node-instance.json"),
        JSON.stringify({ instanceId: "0x" + "dd".repeat(32) }),
      );
      const r = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE, "--json"], {
        env: { DEPLOYMENTS_DIR: dir },
      });
      expect(deployResult(r).changed).to.deep.equal([]);
      const kept = path.join(dir, "31337.eeeeeeee.stale.json");
      expect(r.stderr)
        .to.contain(`deployment record ${file} belongs to chain 31337 (genesis 0xeeeeeeee…`)
        .and.contain(`set aside as ${kept}`);
      expect(JSON.parse(fs.readFileSync(kept, "utf8"))).to.deep.equal(stale);
      const keptIgnition = path.join(dir, "ignition", "chain-31337.dddddddd.stale");
      expect(r.stderr)
        .to.contain(`Ignition journal directory ${ignition} belongs to chain 31337 (node instance 0xdddddddd…)`)
        .and.contain(`set aside as ${keptIgnition}`);
      expect(fs.existsSync(path.join(keptIgnition, "infra", "journal.jsonl"))).to.equal(true);
      expect(JSON.parse(fs.readFileSync(path.join(ignition, "node-instance.json"), "utf8"))).to.deep.equal({
        instanceId,
      });
      const rewritten = JSON.parse(fs.readFileSync(file, "utf8"));
      expect(rewritten).to.include({
        genesisHash: genesis,
        nodeInstance: instanceId,
        module: first.module,
        moduleBlock: firstRecord.moduleBlock,
      });
      expect(rewritten.deployedAt).to.not.equal(stale.deployedAt);
    });

    describe("when a limit changes in the file", function () {
      let changedFile: string;
      before(function () {
        const policy = readExample();
        policy.agents[0].limits![0].autoPerWindow = "30000"; // payroll USDC: 20000 -> 30000 (loosens)
        policy.agents[1].maxStrikes = 3; // trading: 5 -> 3 (tightens)
        changedFile = writeJson(path.join(work, "dao-changed.json"), policy);
      });

      it("test_plan_changedLimit_listsLooseningAndTighteningApart", async function () {
        const r = await runCli(node, ["treasury:plan", "--policy", changedFile, "--json"], {
          env: { DEPLOYMENTS_DIR: dir },
        });
        expect(r.code, r.stderr).to.equal(0);
        const plan = r.json as {
          items: { kind: string; loosens: boolean }[];
          loosening: string[];
          tightening: string[];
          upToDate: boolean;
        };
        expect(plan.upToDate).to.equal(false);
        expect(plan.loosening).to.deep.equal(["payroll: USDC autoPerWindow 20000 -> 30000"]);
        expect(plan.tightening).to.deep.equal(["trading: maxStrikes 5 -> 3"]);
        expect(plan.items.map((i) => i.kind)).to.deep.equal(["setAssetLimit", "setAgent"]);
        // Planning changes nothing on-chain.
        const module = IAgentTreasuryModule__factory.connect(first.module, node.provider);
        expect((await module.assetLimit(PAYROLL.address, firstRecord.tokens.USDC)).autoPerWindow).to.equal(
          parseUnits("20000", 6),
        );
      });

      it("test_apply_changedLimit_planBecomesEmpty", async function () {
        const r = await runCli(node, ["treasury:apply", "--policy", changedFile, "--json"], {
          env: { DEPLOYMENTS_DIR: dir },
        });
        expect(r.code, r.stderr).to.equal(0);
        const applied = r.json as { mode: string; applied: string[]; pending: unknown[]; recordedPolicy?: string };
        expect(applied.mode).to.equal("local");
        expect(applied.applied).to.deep.equal([
          "payroll: USDC autoPerWindow 20000 -> 30000",
          "trading: maxStrikes 5 -> 3",
        ]);
        expect(applied.pending).to.deep.equal([]);
        const module = IAgentTreasuryModule__factory.connect(first.module, node.provider);
        expect((await module.assetLimit(PAYROLL.address, firstRecord.tokens.USDC)).autoPerWindow).to.equal(
          parseUnits("30000", 6),
        );
        expect((await module.agentConfig(dev[11].address)).maxStrikes).to.equal(3n);

        const plan = await runCli(node, ["treasury:plan", "--policy", changedFile, "--json"], {
          env: { DEPLOYMENTS_DIR: dir },
        });
        expect(plan.code, plan.stderr).to.equal(0);
        expect(plan.json).to.include({ upToDate: true });
        // The record now names the applied file, so the watchtower and the MCP server read the new policy.
        expect(JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8")).policyFile).to.equal(
          path.resolve(changedFile),
        );
        expect(applied).to.include({ recordedPolicy: path.resolve(changedFile) });
        // Nothing left to do: still "local" on chain 31337, as treasury:deploy says.
        const again = await runCli(node, ["treasury:apply", "--policy", changedFile, "--json"], {
          env: { DEPLOYMENTS_DIR: dir },
        });
        expect(again.code, again.stderr).to.equal(0);
        expect(again.json).to.deep.include({
          mode: "local",
          applied: [],
          pending: [],
          recordedPolicy: path.resolve(changedFile),
        });
        expect((plan.json as { items: unknown[] }).items).to.deep.equal([]);
      });
    });

    describe("when the payroll agent has a queued intent", function () {
      let intentId: string;
      let eta: number;
      before(async function () {
        const relayer = RELAYER.connect(node.provider);
        const module = IAgentTreasuryModule__factory.connect(first.module, relayer);
        const latest = (await node.provider.getBlock("latest"))!.timestamp;
        const intent: Intent = {
          agent: PAYROLL.address,
          target: EMPLOYEE.address,
          value: parseEther("8"), // above autoPerTx 0.5 ETH, within the 10 ETH hard cap: queued
          data: "0x",
          nonce: await module.getNonce(PAYROLL.address, 0),
          idempotencyKey: id("e2e/status/1"),
          validAfter: 0n,
          validUntil: BigInt(latest + 3600),
          rationale: id("bonus, approved by the board"),
          review: false,
        };
        const signature = await signIntent(PAYROLL, intent, node.chainId, first.module);
        intentId = hashIntent(intent, node.chainId, first.module);
        const receipt = await (await module.submit(intent, signature)).wait();
        eta = (await node.provider.getBlock(receipt!.blockNumber))!.timestamp + 3600; // payroll escalationDelay 1h
        await (
          await IAgentTreasuryModule__factory.connect(first.module, COSIGNER.connect(node.provider)).approve(intentId)
        ).wait();
      });

      it("test_status_queuedIntent_showsEtaApprovalsAndAllowance", async function () {
        const r = await runCli(node, ["treasury:status", "--json"], { env: { DEPLOYMENTS_DIR: dir } });
        expect(r.code, r.stderr).to.equal(0);
        const status = r.json as unknown as import("../../deploy/status").TreasuryStatus;
        expect(status.paused).to.equal(false);
        expect(status.moduleEnabled).to.equal(true);
        expect(status.balances.find((b) => b.symbol === "ETH")).to.include({ amount: "100" });
        expect(status.balances.find((b) => b.symbol === "USDC")).to.include({ amount: "1000000" });
        expect(status.queued).to.have.length(1);
        expect(status.queued[0]).to.deep.include({
          intentId,
          agent: PAYROLL.address,
          agentName: "payroll",
          action: `pay 8 ETH to ${EMPLOYEE.address}`,
          eta: new Date(eta * 1000).toISOString().replace(".000Z", "Z"),
          expiresAt: new Date((eta + 2 * 86400) * 1000).toISOString().replace(".000Z", "Z"),
          approvals: 1,
          threshold: 2,
          ready: false,
          review: false,
        });
        expect(status).to.not.have.property("target"); // the module's calls go to the Safe itself
        const payroll = status.agents.find((a) => a.name === "payroll")!;
        expect(payroll).to.include({ frozen: false, strikes: 0, maxStrikes: 3, recipientMode: "allowlist" });
        expect(payroll.limits.find((l) => l.symbol === "USDC")).to.include({
          autoPerWindow: "30000",
          available: "30000",
          window: "1w",
        });
        expect(payroll.limits.find((l) => l.symbol === "ETH")).to.include({
          autoPerTx: "0.5",
          available: "2",
          escalatedPerTx: "10",
        });
      });
    });

    describe("when the policy names an exec target (v3, a Zodiac modifier in front of the Safe)", function () {
      let withTarget: string;
      let withoutTarget: string;
      let modifier: string;
      const plan = async (file: string) => {
        const r = await runCli(node, ["treasury:plan", "--policy", file, "--json"], { env: { DEPLOYMENTS_DIR: dir } });
        expect(r.code, r.stderr).to.equal(0);
        return r.json as {
          items: { kind: string; description: string; loosens: boolean; to: string }[];
          upToDate: boolean;
        };
      };
      const apply = async (file: string) => {
        const r = await runCli(node, ["treasury:apply", "--policy", file, "--json"], { env: { DEPLOYMENTS_DIR: dir } });
        expect(r.code, r.stderr).to.equal(0);
        return r.json as { mode: string; applied: string[]; pending: unknown[] };
      };
      const chainTarget = async () =>
        getAddress(await IAgentTreasuryModule__factory.connect(first.module, node.provider).getFunction("target")());

      before(async function () {
        // Any contract stands in for the modifier: plan and apply only set where the module's calls go.
        const deployed = await new MockCallTarget__factory(dev[0].connect(node.provider)).deploy();
        await deployed.waitForDeployment();
        modifier = await deployed.getAddress();
        // The configuration applied above, plus (or without) the target.
        const policy = readExample();
        policy.agents[0].limits![0].autoPerWindow = "30000";
        policy.agents[1].maxStrikes = 3;
        withoutTarget = writeJson(path.join(work, "dao-no-target.json"), policy);
        withTarget = writeJson(path.join(work, "dao-target.json"), { ...policy, target: modifier });
      });

      it("test_plan_targetDiffersFromChain_plansSetTargetOnly", async function () {
        expect(await chainTarget()).to.equal(first.safe);
        const p = await plan(withTarget);
        expect(p.upToDate).to.equal(false);
        expect(p.items).to.have.length(1);
        expect(p.items[0]).to.deep.include({ kind: "setTarget", loosens: true, to: first.module });
        expect(p.items[0].description).to.match(
          new RegExp(
            `^exec target the Safe ${first.safe} -> ${modifier} \\(module calls reach the Safe through this contract`,
          ),
        );
        expect(await chainTarget()).to.equal(first.safe); // planning changes nothing
      });

      it("test_apply_target_setsItAndPlanIsUpToDateAndStatusShowsIt", async function () {
        const blockBefore = await node.provider.getBlockNumber();
        const applied = await apply(withTarget);
        expect(applied.mode).to.equal("local");
        expect(applied.applied).to.have.length(1);
        expect(applied.applied[0]).to.match(/^exec target the Safe .* -> /);
        expect(applied.pending).to.deep.equal([]);
        expect(await chainTarget()).to.equal(modifier);
        const module = IAgentTreasuryModule__factory.connect(first.module, node.provider);
        const events = await module.queryFilter(module.filters.TargetSet(), blockBefore + 1);
        expect(events.map((e) => [e.args.previousTarget, e.args.newTarget])).to.deep.equal([[first.safe, modifier]]);
        expect(getAddress(await module.avatar())).to.equal(first.safe); // balances are still read from the Safe

        // Read-only, side by side (each is a Hardhat process): the plan, the status in JSON and as text.
        const [planned, status, text] = await Promise.all([
          plan(withTarget),
          runCli(node, ["treasury:status", "--json"], { env: { DEPLOYMENTS_DIR: dir } }),
          runCli(node, ["treasury:status"], { env: { DEPLOYMENTS_DIR: dir } }),
        ]);
        expect(planned).to.deep.include({ upToDate: true, items: [] });
        expect(status.code, status.stderr).to.equal(0);
        expect(status.json).to.include({ safe: first.safe, module: first.module, target: modifier });
        expect(text.stdout).to.match(
          new RegExp(`^target: +${modifier} \\(a modifier: the module's calls reach the Safe through it\\)$`, "m"),
        );
      });

      it("test_plan_targetIsTheModuleOrAnAllowedCallTarget_refusedNamingTheField", async function () {
        const policy = JSON.parse(fs.readFileSync(withoutTarget, "utf8")) as PolicyJson;
        const files = [
          writeJson(path.join(work, "dao-target-module.json"), { ...policy, target: first.module }),
          writeJson(path.join(work, "dao-target-weth.json"), { ...policy, target: firstRecord.tokens.WETH }),
        ];
        const [self, called] = await Promise.all(
          files.map((f) => runCli(node, ["treasury:plan", "--policy", f, "--json"], { env: { DEPLOYMENTS_DIR: dir } })),
        );
        type Refusal = { error: { code: string; issues: { path: string; message: string; value: unknown }[] } };
        for (const r of [self, called]) {
          expect(r.code).to.equal(1);
          expect((r.json as Refusal).error.code).to.equal("POLICY_INVALID");
        }
        expect((self.json as Refusal).error.issues).to.deep.equal([
          {
            path: "target",
            message: `the target cannot be the module itself (${first.module}): name the Zodiac modifier in front of the Safe, or omit it`,
            value: first.module,
          },
        ]);
        const [issue] = (called.json as Refusal).error.issues;
        expect(issue).to.deep.include({ path: "agents[1].allowedCalls[0].target", value: "WETH" });
        expect(issue.message).to.match(/a call target cannot be the module's exec target/);
        expect(await chainTarget()).to.equal(modifier); // nothing changed
      });

      it("test_apply_targetRemovedFromFile_setsTheSafeBack", async function () {
        const p = await plan(withoutTarget);
        expect(p.items.map((i) => i.kind)).to.deep.equal(["setTarget"]);
        expect(p.items[0].description).to.equal(
          `exec target ${modifier} -> the Safe ${first.safe} (module calls go straight to the Safe, without the modifier's checks)`,
        );
        await apply(withoutTarget);
        expect(await chainTarget()).to.equal(first.safe);
        expect(await plan(withoutTarget)).to.deep.include({ upToDate: true });
      });
    });

    describe("live mode: a policy for an existing Safe", function () {
      let livePolicy: PolicyJson;
      let live: DeployResult;
      let liveDir: string;
      before(async function () {
        // An existing 2-of-3 Safe, made by someone else with the same Safe contracts.
        const infra = firstRecord.safeInfra;
        const owners = OWNERS.map((o) => o.address);
        const initializer = safeInitializer(owners, 2, infra.fallbackHandler);
        const factory = new Contract(
          infra.proxyFactory,
          [
            "function createProxyWithNonce(address,bytes,uint256) returns (address)",
            "function proxyCreationCode() view returns (bytes)",
          ],
          RELAYER.connect(node.provider),
        );
        await (await factory.createProxyWithNonce(infra.singleton, initializer, 777n)).wait();
        const safe = predictSafeAddress(
          infra.proxyFactory,
          await factory.proxyCreationCode(),
          infra.singleton,
          initializer,
          777n,
        );
        expect(await node.provider.getCode(safe)).to.not.equal("0x");

        // The same configuration as the local DAO now has (after the apply above), for the existing Safe.
        livePolicy = readExample();
        livePolicy.agents[0].limits![0].autoPerWindow = "30000";
        livePolicy.agents[1].maxStrikes = 3;
        livePolicy.safe = safe;
        livePolicy.salt = "existing-safe/v1";
        livePolicy.tokens = { USDC: firstRecord.tokens.USDC, WETH: firstRecord.tokens.WETH };
        delete livePolicy.localTokens;
        delete livePolicy.localEth;
        // v3: the local Uniswap the first deployment made is an existing router here, named by its address.
        delete livePolicy.localUniswap;
        const router = predictUniswapAddresses().SwapRouter02;
        livePolicy.agents[1].allowedCalls![1].target = router;
        livePolicy.allowances![0].spender = router;
        const file = writeJson(path.join(work, "live.json"), livePolicy);
        liveDir = tempDir("e2e-live");
        live = deployResult(
          await runCli(node, ["treasury:deploy", "--policy", file, "--json"], { env: { DEPLOYMENTS_DIR: liveDir } }),
        );
      });

      it("test_deploy_existingSafe_writesBatchAndSignsNothing", async function () {
        expect(live.mode).to.equal("live");
        expect(live.safe).to.equal(getAddress(livePolicy.safe as string));
        expect([live.implementation, live.factory, live.lens]).to.deep.equal([
          first.implementation,
          first.factory,
          first.lens,
        ]);
        expect(await node.provider.getCode(live.module)).to.not.equal("0x");
        const safe = new Contract(live.safe, SAFE_ABI, node.provider);
        expect(await safe.isModuleEnabled(live.module)).to.equal(false);
        expect(await safe.nonce()).to.equal(0n); // no owner signed anything
        const batch = readBatch(live.batchFile!); // checks the Transaction Builder checksum
        expect(batch.chainId).to.equal("31337");
        expect(batch.meta.createdFromSafeAddress).to.equal(live.safe);
        // The Transaction Builder encodes exactly the planned calls from what the file shows the owners.
        expect(batch.transactions.map((t) => [t.to, txBuilderCalldata(t)])).to.deep.equal(
          live.pending.map((p) => [p.to, p.data]),
        );
        expect(batch.transactions.every((t) => t.data === undefined && t.contractMethod !== undefined)).to.equal(true);
        expect(batch.transactions[0]).to.deep.include({
          contractMethod: {
            name: "enableModule",
            payable: false,
            inputs: [{ name: "module", type: "address", internalType: "address" }],
          },
          contractInputsValues: { module: live.module },
        });
        const setAgent = batch.transactions.find((t) => t.contractMethod?.name === "setAgent")!;
        expect(setAgent.contractMethod!.inputs[1]).to.deep.include({
          name: "config",
          type: "tuple",
          internalType: "struct IAgentTreasuryTypes.AgentConfig",
        });
        expect(JSON.parse(setAgent.contractInputsValues!.config)).to.have.length(8);
        expect(live.pending[0]).to.include({ kind: "enableModule", to: live.safe });
        // 15 calls before v3; v3's swap adds its conditions, the call itself and the router's allowance (a USDC
        // approve, last), and USD caps three price feeds (USDC, WETH, ETH) and two USD limits (payroll, trading).
        expect(live.pending.length).to.equal(23);
        expect(live.pending.map((p) => p.kind).slice(-1)).to.deep.equal(["approve"]);
        expect(
          live.pending.filter((p) => p.kind === "setPriceFeed" || p.kind === "setUsdLimit").map((p) => p.kind),
        ).to.deep.equal(["setPriceFeed", "setPriceFeed", "setPriceFeed", "setUsdLimit", "setUsdLimit"]);
      });

      it("test_batch_executedByOwners_sameStateAsLocalMode", async function () {
        const batch = readBatch(live.batchFile!);
        const items = batch.transactions.map((t, i) => ({
          description: `batch #${i}`,
          call: { to: t.to, data: txBuilderCalldata(t) },
        }));
        await executeAsOwners(
          live.safe,
          firstRecord.safeInfra.multiSendCallOnly,
          [OWNERS[0], OWNERS[2]].map((o) => o.connect(node.provider)),
          RELAYER.connect(node.provider),
          items,
        );

        await expectChainMatchesPolicy(node.provider, live, livePolicy, livePolicy.tokens!);
        const tokens = livePolicy.tokens!;
        expect(await configSnapshot(node.provider, live, livePolicy, tokens)).to.deep.equal(
          await configSnapshot(node.provider, first, livePolicy, tokens),
        );

        const plan = await runCli(node, ["treasury:plan", "--policy", path.join(work, "live.json"), "--json"], {
          env: { DEPLOYMENTS_DIR: liveDir },
        });
        expect(plan.code, plan.stderr).to.equal(0);
        expect(plan.json).to.include({ upToDate: true, module: live.module });
      });
    });

    describe("on a second local chain with chain id 31338", function () {
      // Started with the file (runChainB): here its results are checked.
      let b: ChainB;
      before(async function () {
        b = await chainB;
      });

      it("test_deploy_devKeyOffLocalChain_refusedNothingSent", async function () {
        const r = b.refused;
        expect(r.code).to.equal(1);
        expect((r.json as { error: { code: string; message: string } }).error).to.include({ code: "KEY_DEV_REFUSED" });
        expect(r.stdout + r.stderr).to.not.contain(dev[0].privateKey.slice(2));
        expect(b.blocks[1]).to.equal(b.blocks[0]);
      });

      it("test_deploy_sameSafeAndSalt_sameModuleAddressOnBothChains", async function () {
        const { node: nodeB, policy, deployer } = b;
        const second = deployResult(b.deployed);
        expect(second.chainId).to.equal("31338");
        expect(second.mode).to.equal("live"); // off 31337 the pipeline never signs as an owner
        expect([second.safe, second.module, second.implementation, second.factory, second.lens]).to.deep.equal([
          first.safe,
          first.module,
          first.implementation,
          first.factory,
          first.lens,
        ]);
        // The owners execute the batch on chain B: the module holds the file's configuration there too.
        const batch = readBatch(second.batchFile!);
        const record = JSON.parse(fs.readFileSync(second.deploymentFile, "utf8"));
        await executeAsOwners(
          second.safe,
          record.safeInfra.multiSendCallOnly,
          [OWNERS[1], OWNERS[2]].map((o) => o.connect(nodeB.provider)),
          deployer.connect(nodeB.provider),
          batch.transactions.map((t, i) => ({ description: `#${i}`, call: { to: t.to, data: txBuilderCalldata(t) } })),
        );
        await expectChainMatchesPolicy(nodeB.provider, second, policy, {});
      });
    });
  });
});
