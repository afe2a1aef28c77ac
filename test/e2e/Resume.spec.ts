/**
 * End-to-end: a deployment killed half-way (SIGKILL right after Ignition broadcast the factory's deployment
 * transaction, with the journal cut back to before it recorded that transaction's hash: the worst moment to
 * crash) resumes from Ignition's journal: the same addresses, the broadcast transaction found and adopted rather
 * than sent again, no contract deployed twice, no Safe or module created twice, tokens minted and ETH sent once,
 * and the configuration applied once.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import { SAFE_INFRA } from "../../deploy/addresses";
import { Interface, parseEther, parseUnits, ZeroAddress, zeroPadValue } from "ethers";
import { MockERC20__factory } from "../../typechain-types";
import type { DeployResult } from "../../deploy/pipeline";
import { CREATEX_ADDRESS } from "../../deploy/create2";
import { predictUniswapAddresses } from "../../deploy/uniswap";
import { expectChainMatchesPolicy, readExample, removeTempDirs, tempDir } from "./helpers";
import { LocalNode, runCli, startNode } from "../../testkit/localNode";

const EXAMPLE = path.join("deploy", "examples", "dao.json");
const events = new Interface([
  "event ContractCreation(address indexed newContract, bytes32 indexed salt)",
  "event ProxyCreation(address indexed proxy, address singleton)",
  "event ModuleCreated(address indexed avatar, address indexed module, bytes32 salt)",
  "event EnabledModule(address indexed module)",
  "event Transfer(address indexed from, address indexed to, uint256 value)",
  "event CosignersSet(address[] members, uint256 threshold)",
]);
const topic = (name: string) => events.getEvent(name)!.topicHash;

describe("treasury:deploy interrupted mid-way (e2e)", function () {
  this.timeout(300_000);
  let node: LocalNode;
  let dir: string;
  let killedStderr: string;
  let resumed: DeployResult;
  let resumedStderr: string;

  before(async function () {
    node = await startNode(31337);
    dir = tempDir("e2e-resume");
    const killed = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE], {
      env: { DEPLOYMENTS_DIR: dir },
      killOn: /AgentTreasuryInfra#Factory_[0-9a-f]{8} transaction sent/,
    });
    expect(killed.killed, killed.stderr).to.equal(true);
    expect(killed.code).to.equal(null); // killed by the signal, not exited
    killedStderr = killed.stderr;
    // Cut the journal back to just before the factory's TRANSACTION_SEND record, as if the process had died
    // between broadcasting and writing it (the kill races with that write; this makes the case deterministic).
    const journal = path.join(dir, "ignition", "chain-31337", "infra", "journal.jsonl");
    const lines = fs.readFileSync(journal, "utf8").trim().split("\n");
    const sent = lines.findIndex((l) => {
      const record = JSON.parse(l) as { type: string; futureId?: string };
      return record.type === "TRANSACTION_SEND" && /^AgentTreasuryInfra#Factory_/.test(record.futureId ?? "");
    });
    if (sent >= 0) fs.writeFileSync(journal, `${lines.slice(0, sent).join("\n")}\n`);
    const r = await runCli(node, ["treasury:deploy", "--policy", EXAMPLE, "--json"], { env: { DEPLOYMENTS_DIR: dir } });
    expect(r.code, `${r.stdout}\n${r.stderr}`).to.equal(0);
    resumed = r.json as unknown as DeployResult;
    resumedStderr = r.stderr;
  });

  after(async function () {
    await node?.stop();
    removeTempDirs();
  });

  it("test_deploy_killedAfterFactoryTxSent_resumesWithSameAddresses", async function () {
    // What the first run had finished before it was killed is reused, at the same address, not redeployed.
    const done = /AgentTreasuryInfra#Implementation_[0-9a-f]{8} done \((0x[0-9a-fA-F]{40})\)/.exec(killedStderr);
    expect(done, killedStderr).to.not.equal(null);
    expect(resumed.implementation).to.equal(done![1]);
    // The factory's transaction, broadcast before the kill but missing from the journal, was found and adopted.
    expect(resumedStderr).to.match(
      /AgentTreasuryInfra#Factory_[0-9a-f]{8}: found its transaction 0x[0-9a-f]{64} from the interrupted run/,
    );
    expect(resumed.changed.join("\n")).to.not.contain("deployed AgentTreasuryModule implementation");
    expect(resumed.changed.join("\n")).to.not.contain("deployed Safe 1.5.0 singleton");
    expect(fs.existsSync(path.join(dir, "ignition", "chain-31337", "infra", "journal.jsonl"))).to.equal(true);
    const record = JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8"));
    expect([record.safe, record.module, record.factory]).to.deep.equal([resumed.safe, resumed.module, resumed.factory]);
    await expectChainMatchesPolicy(node.provider, resumed, readExample(), record.tokens);
  });

  it("test_deploy_killedAndResumed_noDuplicateContractsOrSteps", async function () {
    const logs = await node.provider.getLogs({ fromBlock: 0, toBlock: "latest" });
    const count = (name: string, address?: string) =>
      logs.filter(
        (l) =>
          l.topics[0] === topic(name) && (address === undefined || l.address.toLowerCase() === address.toLowerCase()),
      );
    // 8 Safe contracts (SAFE_INFRA) + the admin half, the implementation, factory, lens + 2 local tokens + 2 local
    // price feeds (one per distinct mock: ETH and WETH share the $2,500 one) + (v3) the local Uniswap's factory,
    // position manager and SwapRouter02, each created once through CreateX.
    const created = count("ContractCreation", CREATEX_ADDRESS).map((l) => l.topics[1]);
    expect(SAFE_INFRA).to.have.length(8);
    expect(created).to.have.length(19);
    expect(new Set(created).size).to.equal(19);
    for (const address of Object.values(predictUniswapAddresses()))
      expect(created).to.include(zeroPadValue(address, 32).toLowerCase());
    expect(created).to.include(zeroPadValue(resumed.factory, 32).toLowerCase());
    expect(count("ProxyCreation")).to.have.length(1);
    expect(count("ModuleCreated", resumed.factory)).to.have.length(1);
    expect(count("EnabledModule", resumed.safe)).to.have.length(1);
    expect(count("CosignersSet", resumed.module)).to.have.length(1);
    const record = JSON.parse(fs.readFileSync(path.join(dir, "31337.json"), "utf8"));
    const mints = count("Transfer").filter((l) => l.topics[1] === zeroPadValue(ZeroAddress, 32));
    // The local tokens' mints to the Safe, once each; the pool's liquidity (its USDC and WETH minted to the deployer,
    // and the position's NFT) once.
    expect(mints.filter((l) => l.topics[2] === zeroPadValue(resumed.safe, 32).toLowerCase())).to.have.length(2);
    expect(mints).to.have.length(5);
    expect(await MockERC20__factory.connect(record.tokens.USDC, node.provider).balanceOf(resumed.safe)).to.equal(
      parseUnits("1000000", 6),
    );
    expect(await node.provider.getBalance(resumed.safe)).to.equal(parseEther("100"));
  });
});
