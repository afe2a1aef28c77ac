/**
 * End-to-end: the Safe owners undo a pause or a freeze with `treasury:unpause` and `treasury:unfreeze` (SPEC
 * section 10, v3), as real CLI processes against `hardhat node`.
 *
 * On the local chain 31337 (the example DAO deployed from its policy file, owners = development accounts): a
 * guardian pauses and freezes with the CLI, whose messages name the owners' commands; `treasury:plan` and
 * `treasury:status` show the pause and the frozen agent with those commands instead of "Up to date"; the owners'
 * commands sign with the owners' keys and the module runs again. An agent frozen automatically by strikes is
 * unfrozen the same way, its strikes cleared.
 *
 * On a live network (a node with chain id 31338): nothing is signed as an owner; each command writes a Safe
 * Transaction Builder batch whose one call is checked, then executed by the owners, which restores the module.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import { Contract, Interface, Wallet, getAddress, id, parseEther } from "ethers";
import { AgentTreasuryLens__factory, IAgentTreasuryModule__factory } from "../../typechain-types";
import type { IAgentTreasuryModule } from "../../typechain-types";
import { SAFE_ABI } from "../../sdk/safe";
import { Intent, signIntent } from "../../sdk/eip712";
import { readBatch, transactionCalldata } from "../../deploy/batch";
import { executeAsOwners } from "../../deploy/configure";
import type { DeployResult } from "../../deploy/pipeline";
import type { EmergencyState } from "../../deploy/emergency";
import { hardhatDevWallets } from "../../core/keys";
import { removeTempDirs, tempDir } from "./helpers";
import { CliResult, LocalNode, runCli, startNode } from "../../testkit/localNode";
import { NodeTreasury, deployNodeTreasury } from "./nodeTreasury";
import { EXAMPLE, exampleNode } from "./exampleNode";
const dev = hardhatDevWallets();
// Roles in deploy/examples/dao.json (see deploy/examples/README.md).
const PAYROLL = dev[4];
const GUARDIAN = dev[9];
const RELAYER = dev[13];
const STRANGER = dev[17]; // not on payroll's recipient allowlist

type Json = Record<string, unknown>;

function ok(r: CliResult): Json {
  expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
  expect(r.json, r.stdout).to.not.equal(undefined);
  return r.json!;
}

interface PlanJson {
  items: unknown[];
  upToDate: boolean;
  configurationUpToDate: boolean;
  emergency: EmergencyState;
}

const moduleIface = new Interface(IAgentTreasuryModule__factory.abi);

describe("owners' recovery from a pause or a freeze (e2e)", function () {
  this.timeout(300_000);

  after(function () {
    removeTempDirs();
  });

  describe("on the local chain 31337: signed with the owners' development keys", function () {
    let node: LocalNode;
    let dir: string;
    let deployed: DeployResult;
    let module: IAgentTreasuryModule;
    let safe: Contract;
    const cli = (args: string[]) => runCli(node, args, { env: { DEPLOYMENTS_DIR: dir } });

    before(async function () {
      // The example as `treasury:deploy` left it, on the node the e2e files share (./exampleNode.ts).
      ({ node, dir, deployed } = await exampleNode("recovery-local"));
      expect(deployed.mode).to.equal("local");
      module = IAgentTreasuryModule__factory.connect(deployed.module, node.provider);
      safe = new Contract(deployed.safe, SAFE_ABI, node.provider);
    });

    describe("when a guardian pauses the module and freezes the payroll agent", function () {
      let pauseText: CliResult;
      let freeze: Json;
      before(async function () {
        pauseText = await cli(["guardian:pause"]);
        freeze = ok(await cli(["guardian:freeze", "--agent", "payroll", "--json"]));
      });

      it("test_guardianCommands_nameTheOwnersCommands", async function () {
        expect(pauseText.code, pauseText.stderr).to.equal(0);
        expect(pauseText.stdout).to.contain(
          "Only the Safe owners can unpause: npx hardhat treasury:unpause --network localhost",
        );
        expect(freeze).to.deep.include({
          agent: PAYROLL.address,
          agentName: "payroll",
          frozen: true,
          by: GUARDIAN.address,
        });
        expect(freeze.recovery).to.equal("npx hardhat treasury:unfreeze --agent payroll --network localhost");
        const freezeText = await cli(["guardian:freeze", "--agent", "trading"]);
        expect(freezeText.stdout).to.contain(
          "Only the Safe owners can unfreeze: npx hardhat treasury:unfreeze --agent trading --network localhost",
        );
        expect(await module.paused()).to.equal(true);
        expect(await module.isFrozen(PAYROLL.address)).to.equal(true);
        expect(await module.isFrozen(dev[11].address)).to.equal(true);
      });

      it("test_plan_pausedAndFrozen_notUpToDate", async function () {
        // Read-only commands, run side by side (each is a Hardhat process): the JSON and the text form.
        const [planJson, text] = await Promise.all([
          cli(["treasury:plan", "--policy", EXAMPLE, "--json"]),
          cli(["treasury:plan", "--policy", EXAMPLE]),
        ]);
        const plan = ok(planJson) as unknown as PlanJson;
        expect(plan.items).to.deep.equal([]);
        expect(plan.configurationUpToDate).to.equal(true);
        expect(plan.upToDate).to.equal(false);
        expect(plan.emergency.paused).to.equal(true);
        expect(plan.emergency.pausedBy).to.include({ by: GUARDIAN.address });
        expect(plan.emergency.recovery).to.equal("npx hardhat treasury:unpause --network localhost");
        expect(plan.emergency.frozen.map((f) => [f.name, f.agent, f.reason, f.by, f.recovery])).to.deep.equal([
          [
            "payroll",
            PAYROLL.address,
            "manual",
            GUARDIAN.address,
            "npx hardhat treasury:unfreeze --agent payroll --network localhost",
          ],
          [
            "trading",
            dev[11].address,
            "manual",
            GUARDIAN.address,
            "npx hardhat treasury:unfreeze --agent trading --network localhost",
          ],
        ]);

        expect(text.code, text.stderr).to.equal(0);
        expect(text.stdout).to.not.contain("Up to date");
        expect(text.stdout).to.contain(`PAUSED by ${GUARDIAN.address}`);
        expect(text.stdout).to.contain(`FROZEN agent payroll (${PAYROLL.address}) by ${GUARDIAN.address}`);
        expect(text.stdout).to.contain("Owners: npx hardhat treasury:unpause --network localhost");
        expect(text.stdout).to.contain("The configuration matches the policy file, but the treasury is not up to date");
      });

      it("test_status_pausedAndFrozen_showsWhoAndTheOwnersCommands", async function () {
        const [statusJson, text] = await Promise.all([cli(["treasury:status", "--json"]), cli(["treasury:status"])]);
        const status = ok(statusJson) as unknown as import("../../deploy/status").TreasuryStatus;
        expect(status.paused).to.equal(true);
        expect(status.emergency.paused).to.equal(true);
        expect(status.emergency.frozen.map((f) => f.name)).to.deep.equal(["payroll", "trading"]);
        expect(status.agents.find((a) => a.name === "payroll")).to.include({ frozen: true });
        expect(text.stdout).to.contain(`PAUSED by ${GUARDIAN.address}`);
        expect(text.stdout).to.contain("Owners: npx hardhat treasury:unfreeze --agent payroll --network localhost");
      });

      it("test_unpause_localChain_ownersSignAndModuleRuns", async function () {
        const nonce = (await safe.nonce()) as bigint;
        const out = ok(await cli(["treasury:unpause", "--json"]));
        expect(out).to.deep.include({
          chainId: "31337",
          safe: deployed.safe,
          module: deployed.module,
          action: "unpause",
          mode: "local",
          paused: false,
          nothingToDo: false,
          applied: [`unpause module ${deployed.module}`],
          pending: [],
        });
        expect(out).to.not.have.property("batchFile");
        expect(await module.paused()).to.equal(false);
        expect(await safe.nonce()).to.equal(nonce + 1n); // one Safe transaction, signed by the owners
        const receipt = await node.provider.getTransactionReceipt(out.txHash as string);
        const unpaused = receipt!.logs.map((l) => moduleIface.parseLog(l)).find((p) => p?.name === "Unpaused");
        expect(unpaused!.args.by).to.equal(deployed.safe);
      });

      it("test_unpause_notPaused_nothingToDoNothingSent", async function () {
        const block = await node.provider.getBlockNumber();
        const [outJson, text] = await Promise.all([cli(["treasury:unpause", "--json"]), cli(["treasury:unpause"])]);
        const out = ok(outJson);
        expect(out).to.deep.include({ action: "unpause", nothingToDo: true, paused: false, applied: [], pending: [] });
        expect(text.stdout).to.contain("Nothing to do: the module is not paused.");
        expect(await node.provider.getBlockNumber()).to.equal(block);
      });

      it("test_unfreeze_localChain_agentRunsAndPlanIsUpToDate", async function () {
        const out = ok(await cli(["treasury:unfreeze", "--agent", "payroll", "--json"]));
        expect(out).to.deep.include({
          action: "unfreeze",
          mode: "local",
          agent: PAYROLL.address,
          agentName: "payroll",
          frozen: false,
          nothingToDo: false,
          applied: [`unfreeze agent payroll (${PAYROLL.address}) and clear its strikes`],
        });
        expect(await module.isFrozen(PAYROLL.address)).to.equal(false);
        // By address too.
        const byAddress = ok(await cli(["treasury:unfreeze", "--agent", dev[11].address, "--json"]));
        expect(byAddress).to.deep.include({ agent: dev[11].address, agentName: "trading", frozen: false });
        expect(await module.isFrozen(dev[11].address)).to.equal(false);

        const [planJson, text] = await Promise.all([
          cli(["treasury:plan", "--policy", EXAMPLE, "--json"]),
          cli(["treasury:plan", "--policy", EXAMPLE]),
        ]);
        const plan = ok(planJson) as unknown as PlanJson;
        expect(plan).to.deep.include({ upToDate: true, configurationUpToDate: true });
        expect(plan.emergency).to.deep.equal({ paused: false, frozen: [] });
        expect(text.stdout).to.contain("Up to date: the chain matches the policy file.");
      });

      it("test_unfreeze_unknownAgent_namedErrorNothingSent", async function () {
        const block = await node.provider.getBlockNumber();
        const r = await cli(["treasury:unfreeze", "--agent", STRANGER.address, "--json"]);
        expect(r.code).to.equal(1);
        const error = (r.json as { error: { code: string; message: string } }).error;
        expect(error.code).to.equal("INVALID_REQUEST");
        expect(error.message).to.contain(`--agent ${STRANGER.address}`);
        expect(error.message).to.contain("is not an active agent");
        expect(await node.provider.getBlockNumber()).to.equal(block);
      });
    });

    describe("when the payroll agent is frozen automatically by strikes", function () {
      before(async function () {
        // Three payments to a recipient outside payroll's allowlist: three denials, maxStrikes 3 within 24 h.
        const relayed = IAgentTreasuryModule__factory.connect(deployed.module, RELAYER.connect(node.provider));
        const latest = (await node.provider.getBlock("latest"))!.timestamp;
        for (let i = 0; i < 3; i++) {
          const intent: Intent = {
            agent: PAYROLL.address,
            target: STRANGER.address,
            value: parseEther("0.1"),
            data: "0x",
            nonce: await module.getNonce(PAYROLL.address, 0),
            idempotencyKey: id(`recovery/strike/${i}`),
            validAfter: 0n,
            validUntil: BigInt(latest + 3600),
            rationale: id("pay the stranger"),
            review: false,
          };
          await (await relayed.submit(intent, await signIntent(PAYROLL, intent, node.chainId, deployed.module))).wait();
        }
      });

      it("test_unfreeze_afterStrikes_statusSaysAutomaticThenStrikesCleared", async function () {
        const lens = AgentTreasuryLens__factory.connect(deployed.lens, node.provider);
        expect(await module.isFrozen(PAYROLL.address)).to.equal(true);
        expect(await lens.strikes(deployed.module, PAYROLL.address)).to.equal(3n);
        const [statusJson, text] = await Promise.all([cli(["treasury:status", "--json"]), cli(["treasury:status"])]);
        const status = ok(statusJson) as unknown as import("../../deploy/status").TreasuryStatus;
        expect(status.emergency.paused).to.equal(false);
        expect(status.emergency.frozen).to.have.length(1);
        expect(status.emergency.frozen[0]).to.deep.include({ name: "payroll", reason: "strikes", by: deployed.module });
        expect(text.stdout).to.contain(
          `FROZEN agent payroll (${PAYROLL.address}) automatically after repeated denials`,
        );

        const out = ok(await cli(["treasury:unfreeze", "--agent", "payroll", "--json"]));
        expect(out).to.deep.include({ mode: "local", frozen: false });
        expect(await module.isFrozen(PAYROLL.address)).to.equal(false);
        expect(await lens.strikes(deployed.module, PAYROLL.address)).to.equal(0n);

        const again = ok(await cli(["treasury:unfreeze", "--agent", "payroll", "--json"]));
        expect(again).to.deep.include({ nothingToDo: true, frozen: false });
      });
    });
  });

  describe("on a live network (chain 31338): a Safe Transaction Builder batch for the owners", function () {
    let node: LocalNode;
    let dir: string;
    let t: NodeTreasury;
    let module: IAgentTreasuryModule;
    let safe: Contract;
    // No DEPLOYER_KEY: writing a batch needs no key at all.
    const cli = (args: string[]) => runCli(node, args, { env: { DEPLOYMENTS_DIR: dir, DEPLOYER_KEY: "" } });

    before(async function () {
      node = await startNode(31338);
      dir = tempDir("recovery-live");
      t = await deployNodeTreasury(node.provider, dir);
      expect(fs.existsSync(path.join(dir, "31338.json"))).to.equal(true);
      module = IAgentTreasuryModule__factory.connect(t.module, node.provider);
      safe = new Contract(t.safe, SAFE_ABI, node.provider);
      // The guardian acts with its own key (the CLI refuses development keys off chain 31337).
      const guardian = IAgentTreasuryModule__factory.connect(
        t.module,
        new Wallet(t.wallets.guardian.privateKey, node.provider),
      );
      await (await guardian.pause()).wait();
      await (await guardian.freezeAgent(t.wallets.agent.address)).wait();
    });

    after(async function () {
      await node?.stop();
    });

    /** Executes a batch file's calls as the Safe's owners (2 of 3), as they would in the Safe app. */
    async function ownersExecute(file: string) {
      const batch = readBatch(file);
      const owners = t.wallets.owners.slice(0, 2).map((o) => new Wallet(o.privateKey, node.provider));
      await executeAsOwners(
        t.safe,
        "",
        owners,
        new Wallet(t.wallets.relayer.privateKey, node.provider),
        batch.transactions.map((tx, i) => ({
          description: `#${i}`,
          call: { to: tx.to, data: transactionCalldata(tx) },
        })),
      );
    }

    it("test_unpause_liveNetwork_writesBatchSignsNothing_ownersExecuteIt", async function () {
      const nonce = (await safe.nonce()) as bigint;
      const block = await node.provider.getBlockNumber();
      const out = ok(await cli(["treasury:unpause", "--json"]));
      expect(out).to.deep.include({
        chainId: "31338",
        safe: getAddress(t.safe),
        module: getAddress(t.module),
        action: "unpause",
        mode: "live",
        paused: true,
        nothingToDo: false,
        applied: [],
      });
      const data = moduleIface.encodeFunctionData("unpause");
      expect(out.pending).to.deep.equal([
        {
          kind: "unpause",
          description: `unpause module ${getAddress(t.module)}`,
          loosens: true,
          to: getAddress(t.module),
          data,
        },
      ]);
      const file = out.batchFile as string;
      expect(path.basename(file)).to.equal(`31338-${getAddress(t.safe)}-nonce${nonce}-unpause.json`);
      expect(out.nextSteps as string[]).to.have.length(3);
      expect((out.nextSteps as string[])[0]).to.contain(file);

      // Nothing was signed or sent.
      expect(await node.provider.getBlockNumber()).to.equal(block);
      expect(await safe.nonce()).to.equal(nonce);
      expect(await module.paused()).to.equal(true);

      const batch = readBatch(file); // checks the Transaction Builder checksum
      expect(batch.chainId).to.equal("31338");
      expect(batch.meta.createdFromSafeAddress).to.equal(getAddress(t.safe));
      expect(batch.meta.name).to.equal("Agent Treasury Guard: unpause");
      expect(batch.meta.description).to.equal(`1. [loosens] unpause module ${getAddress(t.module)}`);
      // The Transaction Builder shows the call by name (contractMethod), and it encodes back to exactly this calldata.
      expect(batch.transactions).to.deep.equal([
        {
          to: getAddress(t.module),
          value: "0",
          contractMethod: { name: "unpause", payable: false, inputs: [] },
          contractInputsValues: {},
        },
      ]);
      expect(batch.transactions.map(transactionCalldata)).to.deep.equal([data]);

      await ownersExecute(file);
      expect(await module.paused()).to.equal(false);
    });

    it("test_unfreeze_liveNetwork_writesBatchSignsNothing_ownersExecuteIt", async function () {
      const agent = t.wallets.agent.address;
      const block = await node.provider.getBlockNumber();
      const out = ok(await cli(["treasury:unfreeze", "--agent", "payroll", "--json"]));
      expect(out).to.deep.include({ mode: "live", agent, agentName: "payroll", frozen: true, nothingToDo: false });
      expect(await node.provider.getBlockNumber()).to.equal(block);
      const batch = readBatch(out.batchFile as string);
      expect(path.basename(out.batchFile as string)).to.match(
        new RegExp(`^31338-${getAddress(t.safe)}-nonce\\d+-unfreeze-${agent}\\.json$`),
      );
      expect(batch.transactions.map((tx) => [tx.to, tx.contractMethod?.name, transactionCalldata(tx)])).to.deep.equal([
        [getAddress(t.module), "unfreezeAgent", moduleIface.encodeFunctionData("unfreezeAgent", [agent])],
      ]);
      expect(await module.isFrozen(agent)).to.equal(true);

      await ownersExecute(out.batchFile as string);
      expect(await module.isFrozen(agent)).to.equal(false);
      const status = ok(
        await cli(["treasury:status", "--json"]),
      ) as unknown as import("../../deploy/status").TreasuryStatus;
      expect(status.emergency).to.deep.equal({ paused: false, frozen: [] });
    });
  });
});
