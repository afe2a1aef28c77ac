/**
 * End-to-end: an LLM agent's view of the treasury. A `hardhat node` runs the example DAO (deploy/examples/dao.json,
 * deployed with `treasury:deploy`), and the MCP server is spawned exactly as an MCP client configuration would
 * (`npm run -s mcp -- --agent payroll --network localhost`) and driven through the MCP client SDK over stdio.
 *
 * The story, with the example's numbers: the payroll agent (USDC: 5,000 per payment and 20,000 per 7 days at once,
 * up to 100,000 with 2 of 3 co-signers; 20 requests per hour; 3 strikes in 24h freeze it; allowlisted recipients)
 * pays an employee, repeats itself, asks for more than its auto cap, sends malformed arguments, and is then
 * prompt-injected twice: once as the example configures it, and once with the allowlist switched off by the
 * owners, where the 7-day window is the only thing between the attacker and the treasury's 1,000,000 USDC.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import {
  Contract,
  HDNodeWallet,
  Wallet,
  encryptKeystoreJson,
  formatUnits,
  keccak256,
  parseUnits,
  toUtf8Bytes,
} from "ethers";
import { IAgentTreasuryModule__factory, MockERC20__factory } from "../../typechain-types";
import type { IAgentTreasuryModule, MockERC20 } from "../../typechain-types";
import { SAFE_ABI, execSafeCall } from "../../sdk/safe";
import { DeploymentRecord, readDeployment } from "../../core/deployment";
import { readExample, tempDir } from "./helpers";
import { LocalNode, freePort } from "../../testkit/localNode";
import { exampleNode } from "./exampleNode";
import { ConfigError, ServerArgs, connectRpc, loadConfig, parseArgs, resolveKey } from "../../mcp/config";
import type { OutcomeOutput } from "../../mcp/tools";
import { McpSession, ToolCallResult } from "./mcpSession";

const policy = readExample();
const payroll = policy.agents.find((a) => a.name === "payroll")!;
const usdcLimit = payroll.limits!.find((l) => l.asset === "USDC")!;
const AUTO_PER_TX = parseUnits(usdcLimit.autoPerTx, 6);
const AUTO_PER_WINDOW = parseUnits(usdcLimit.autoPerWindow, 6);
const [EMPLOYEE, CONTRACTOR] = payroll.recipients!;
/** Hardhat development account #17: not named anywhere in the policy. */
const ATTACKER = "0xbDA5747bFD65F08deb54cb465eB87D40e51B197E";
/** Hardhat's public development accounts (chain 31337 only): the example's owners are #1-#3, the payroll agent #4. */
const DEV_ROOT = HDNodeWallet.fromPhrase(
  "test test test test test test test test test test test junk",
  "",
  "m/44'/60'/0'/0",
);
const devKey = (i: number): string => DEV_ROOT.deriveChild(i).privateKey;

const TOOLS = [
  "intent_status",
  "treasury_balance",
  "treasury_call",
  "treasury_dry_run",
  "treasury_limits",
  "treasury_pay",
  "treasury_pay_many",
  "treasury_propose",
];

function ok(r: ToolCallResult): Record<string, unknown> {
  expect(r.isError, r.text).to.equal(false);
  expect(r.structured, r.text).to.not.equal(undefined);
  return r.structured!;
}

describe("MCP server over stdio (e2e)", function () {
  this.timeout(300_000);
  let node: LocalNode;
  let dir: string;
  let record: DeploymentRecord;
  let module: IAgentTreasuryModule;
  let usdc: MockERC20;
  let session: McpSession;
  const sessions: McpSession[] = [];
  /** Temporary directories, removed after the suite. */
  const temporary: string[] = [];
  const tmp = (label: string) => {
    const d = tempDir(label);
    temporary.push(d);
    return d;
  };
  let journalFile: string;

  const usdcOf = (a: string) => usdc.balanceOf(a);
  const laneNonce = () => module.getNonce(payroll.address, 0);

  before(async function () {
    // The example as `treasury:deploy` left it, on the node the e2e files share (./exampleNode.ts).
    const example = await exampleNode("mcp-deployments");
    ({ node, dir } = example);
    temporary.push(dir);
    const result = example.deployed;
    record = readDeployment(31337n, dir);
    expect(record.module).to.equal(result.module);
    module = IAgentTreasuryModule__factory.connect(record.module, node.provider);
    usdc = MockERC20__factory.connect(record.tokens.USDC, node.provider);
    journalFile = path.join(
      dir,
      "journals",
      `31337-${record.module.toLowerCase()}`,
      `${payroll.address.toLowerCase()}.jsonl`,
    );
    const started = Date.now();
    session = await McpSession.start({ agent: "payroll", rpcUrl: node.url, deploymentsDir: dir });
    sessions.push(session);
    console.log(
      `      (treasury:deploy ${(example.deployMs / 1000).toFixed(1)} s, shared; MCP server ready in ${((Date.now() - started) / 1000).toFixed(1)} s)`,
    );
  });

  after(async function () {
    for (const s of sessions) await s.close();
    for (const d of temporary) fs.rmSync(d, { recursive: true, force: true });
  });

  describe("when the model lists the tools", function () {
    it("test_listTools_eightToolsWithTheRulesAndSchemas", async function () {
      const { tools } = await session.client.listTools();
      expect(tools.map((t) => t.name).sort()).to.deep.equal(TOOLS);
      const pay = tools.find((t) => t.name === "treasury_pay")!;
      // The rules the model lives under, with the example's numbers, read from the chain.
      expect(pay.description).to.include("up to 5000 USDC per payment and 20000 USDC in any 7d executes at once");
      expect(pay.description).to.include(
        "up to 100000 USDC per payment, it is QUEUED: 2 of the 3 human co-signers must approve and it waits 1h",
      );
      expect(pay.description).to.include("Payments go only to the owners' recipient allowlist");
      expect(pay.description).to.include("3 strikes within 1d FREEZE you");
      expect(pay.description).to.include("At most 20 requests in 1h");
      expect(pay.inputSchema.required).to.have.members(["asset", "to", "amount", "reason"]);
      expect(pay.inputSchema.properties).to.have.keys(["asset", "to", "amount", "reason", "idempotencyKey"]);
      for (const t of tools)
        expect((t.inputSchema as { additionalProperties?: boolean }).additionalProperties, t.name).to.equal(false);
      expect(pay.outputSchema?.properties).to.include.keys(["status", "intentId", "humans", "denial", "next"]);
      expect(tools.find((t) => t.name === "treasury_balance")!.annotations?.readOnlyHint).to.equal(true);
      expect(tools.find((t) => t.name === "treasury_dry_run")!.annotations?.readOnlyHint).to.equal(true);
      // The batch tool takes a list of treasury_pay's payments and is told the same rules.
      const many = tools.find((t) => t.name === "treasury_pay_many")!;
      expect(many.description).to.include("up to 5000 USDC per payment and 20000 USDC in any 7d executes at once");
      expect(many.inputSchema.required).to.deep.equal(["payments"]);
      const items = (many.inputSchema.properties as { payments: { items: { properties: object } } }).payments.items;
      expect(items.properties).to.have.keys(["asset", "to", "amount", "reason", "idempotencyKey"]);
      const instructions = session.client.getInstructions();
      expect(instructions).to.include(`agent "payroll" (${payroll.address})`);
    });

    it("test_balanceAndLimits_readTheChain", async function () {
      const balance = ok(await session.call("treasury_balance", {}));
      const rows = balance.balances as { asset: string; amount: string }[];
      expect(rows.find((b) => b.asset === "USDC")!.amount).to.equal("1000000");
      expect(rows.find((b) => b.asset === "ETH")!.amount).to.equal("100");
      const limits = ok(await session.call("treasury_limits", { asset: "USDC" }));
      const [u] = limits.assets as {
        asset: string;
        availableNow: string;
        largestAutoPaymentNow: string;
        frees: unknown[];
      }[];
      expect(u).to.include({ asset: "USDC", availableNow: "20000", largestAutoPaymentNow: "5000" });
      expect(u.frees).to.deep.equal([]);
      expect(limits.frozen).to.equal(false);
      expect(limits.recipients).to.deep.equal([EMPLOYEE, CONTRACTOR]);
      expect(limits.summary).to.include("USDC: 20000 USDC left of 20000 USDC per 7d");
    });
  });

  describe("when the server is configured", function () {
    // In-process: the same loadConfig the server runs, against the same node and deployment record.
    const noVars = () => ({ XDG_CONFIG_HOME: tmp("mcp-no-hardhat-vars") }); // no Hardhat vars file
    const args = (extra: Partial<ServerArgs> = {}): ServerArgs => ({
      agent: "payroll",
      network: "localhost",
      rpcUrl: node.url,
      deployments: dir,
      ...extra,
    });
    const refused = async (p: Promise<unknown>): Promise<ConfigError> => {
      try {
        const config = (await p) as { provider?: { destroy(): void } };
        config.provider?.destroy();
      } catch (error) {
        expect(error).to.be.instanceOf(ConfigError);
        return error as ConfigError;
      }
      throw new Error("expected a ConfigError");
    };

    it("test_config_localChainWithoutKey_usesThePolicysDevelopmentAccount", async function () {
      const config = await loadConfig(args(), noVars());
      try {
        expect(config.signer.address).to.equal(payroll.address);
        expect(config.keySource).to.equal("the Hardhat development accounts (chain 31337)");
        expect(config.deployment.module).to.equal(record.module);
        expect(config.journalFile).to.equal(journalFile);
        expect(config.relayer).to.equal(undefined);
      } finally {
        config.provider.destroy();
      }
    });

    it("test_config_unknownAgent_refusedNamingThePolicysAgents", async function () {
      const e = await refused(loadConfig(args({ agent: "treasurer" }), noVars()));
      expect(e.code).to.equal("AGENT_UNKNOWN");
      expect(e.message).to.include('No agent named "treasurer"').and.include("payroll, trading");
    });

    it("test_config_keyOfAnotherAccount_refusedWithoutShowingIt", async function () {
      const e = await refused(loadConfig(args(), { ...noVars(), AGENT_KEY: devKey(5) }));
      expect(e.code).to.equal("KEY_MISMATCH");
      expect(e.message).to.include(payroll.address).and.not.include(devKey(5).slice(2));
      const bad = await refused(loadConfig(args(), { ...noVars(), AGENT_KEY: "0x1234-not-a-key" }));
      expect(bad.code).to.equal("KEY_INVALID");
      expect(bad.message).to.not.include("not-a-key");
    });

    it("test_config_keystoreAndHardhatVariable_loadedThenScrubbed", async function () {
      const ks = path.join(tmp("mcp-keystore"), "agent.json");
      fs.writeFileSync(
        ks,
        await encryptKeystoreJson({ address: payroll.address, privateKey: devKey(4) }, "pw", { scrypt: { N: 1024 } }),
      );
      const fromKeystore = await resolveKey({
        role: "AGENT",
        chainId: 31337n,
        keystore: ks,
        expectedAddress: payroll.address,
        env: { KEYSTORE_PASSWORD: "pw" },
      });
      expect(fromKeystore!.wallet.address).to.equal(payroll.address);
      expect(fromKeystore!.source).to.equal(`keystore ${ks}`);
      const noPassword = await refused(resolveKey({ role: "AGENT", chainId: 31337n, keystore: ks, env: {} }));
      expect(noPassword.message).to.match(/KEYSTORE_PASSWORD \(the MCP server cannot prompt/);
      const env: NodeJS.ProcessEnv = { ...noVars(), HARDHAT_VAR_AGENT_KEY: devKey(4) };
      const fromVar = await resolveKey({
        role: "AGENT",
        chainId: 31337n,
        expectedAddress: payroll.address,
        env,
        scrub: true,
      });
      expect(fromVar!.source).to.equal("Hardhat configuration variable AGENT_KEY");
      expect(env).to.not.have.property("HARDHAT_VAR_AGENT_KEY");
    });

    it("test_config_developmentKeyOffTheLocalChain_refused", async function () {
      const dev = await refused(
        resolveKey({ role: "AGENT", chainId: 11155111n, env: { ...noVars(), AGENT_KEY: devKey(4) } }),
      );
      expect(dev.code).to.equal("KEY_DEV_REFUSED");
      const missing = await refused(
        resolveKey({ role: "AGENT", chainId: 11155111n, expectedAddress: payroll.address, env: noVars() }),
      );
      expect(missing.code).to.equal("KEY_MISSING");
      expect(missing.message).to.include("AGENT_KEY").and.include("--keystore");
    });

    it("test_config_unreachableRpcOrBadArguments_refusedAtOnce", async function () {
      const port = await freePort();
      const down = await refused(connectRpc(`http://127.0.0.1:${port}`, 2_000));
      expect(down.code).to.equal("RPC_UNREACHABLE");
      expect(() => parseArgs(["--network", "localhost"])).to.throw(ConfigError, /--agent <name> is required/);
      expect(() => parseArgs(["--agent", "payroll", "--verbose"])).to.throw(
        ConfigError,
        /Unknown argument "--verbose"/,
      );
      expect(parseArgs(["--agent=payroll", "--policy", "p.json"])).to.deep.equal({
        agent: "payroll",
        network: "localhost",
        policy: "p.json",
      });
    });
  });

  describe("when the agent pays within its auto cap", function () {
    const reason = "Salary for May 2025, employee #10, per payroll sheet row 4";
    let first: OutcomeOutput;

    it("test_pay_withinCap_executesMovesBalancesAndRecordsTheReason", async function () {
      const [safeBefore, employeeBefore] = [await usdcOf(record.safe), await usdcOf(EMPLOYEE)];
      first = ok(
        await session.call("treasury_pay", { asset: "USDC", to: EMPLOYEE, amount: "1000", reason }),
      ) as unknown as OutcomeOutput;
      expect(first.status).to.equal("Executed");
      expect(first.replay).to.equal(false);
      expect(first.allowanceLeft).to.deep.equal({ asset: "USDC", amount: "19000" });
      expect(await usdcOf(record.safe)).to.equal(safeBefore - parseUnits("1000", 6));
      expect(await usdcOf(EMPLOYEE)).to.equal(employeeBefore + parseUnits("1000", 6));

      // The audit trail: the reason's keccak256 is the intent's on-chain rationale, the text is in the journal.
      const receipt = (await node.provider.getTransactionReceipt(first.txHash!))!;
      const executed = receipt.logs.map((l) => module.interface.parseLog(l)).find((e) => e?.name === "IntentExecuted")!;
      expect(executed.args.intentId).to.equal(first.intentId);
      expect(executed.args.agent).to.equal(payroll.address);
      expect(executed.args.to).to.equal(EMPLOYEE);
      expect(executed.args.amount).to.equal(parseUnits("1000", 6));
      expect(executed.args.rationale).to.equal(keccak256(toUtf8Bytes(reason)));
      const journal = fs
        .readFileSync(journalFile, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      const signed = journal.find((e) => e.t === "signed" && e.intentId === first.intentId);
      expect(signed.rationaleText).to.equal(reason);
    });

    it("test_pay_sameRequestAgain_sameIntentOnePayment", async function () {
      const [safeBefore, nonceBefore] = [await usdcOf(record.safe), await laneNonce()];
      // The model repeats itself in other words: the request is the same, so it pays once.
      const again = ok(
        await session.call("treasury_pay", {
          asset: "USDC",
          to: EMPLOYEE,
          amount: "1000.00",
          reason: "Paying the May salary of employee #10",
        }),
      );
      expect(again.status).to.equal("Executed");
      expect(again.intentId).to.equal(first.intentId);
      expect(again.replay).to.equal(true);
      expect(again.message).to.match(/nothing new was signed or paid/);
      expect(await usdcOf(record.safe)).to.equal(safeBefore);
      expect(await laneNonce()).to.equal(nonceBefore);
    });
  });

  describe("when the amount is above the auto cap", function () {
    it("test_pay_aboveAutoCap_queuedWithAMessageForTheHumans", async function () {
      const safeBefore = await usdcOf(record.safe);
      // 6,000 USDC: above 5,000 per payment, far below the 100,000 hard cap.
      const amount = formatUnits(AUTO_PER_TX + parseUnits("1000", 6), 6).replace(/\.0$/, "");
      expect(amount).to.equal("6000");
      const request = { asset: "USDC", to: CONTRACTOR, amount, reason: "Invoice INV-2025-117 from contractor #12" };
      // First the dry run: it says what will happen and why, and signs nothing.
      const nonce = await laneNonce();
      const dry = ok(await session.call("treasury_dry_run", request));
      expect(dry).to.deep.include({
        dryRun: true,
        status: "Queued",
        queuedBecause: ["above-auto-per-tx"],
        explained: true,
      });
      expect(await laneNonce()).to.equal(nonce);
      const r = ok(await session.call("treasury_pay", request));
      expect(r.status).to.equal("Queued");
      expect(r.intentId).to.equal(dry.intentId);
      expect(r.queuedBecause).to.deep.equal(["above-auto-per-tx"]);
      expect(r.message).to.include("because the amount is above what you may pay alone in one payment (autoPerTx)");
      expect(await module.intentStatus(r.intentId as string)).to.equal(2n); // Status.Queued
      const humans = r.humans as {
        cosigners: string[];
        threshold: number;
        approvals: number;
        eta: number;
        expiresAt: number;
        message: string;
      };
      expect(humans.threshold).to.equal(policy.cosigners.threshold);
      expect(humans.cosigners).to.deep.equal(policy.cosigners.members);
      expect(humans.approvals).to.equal(0);
      const queuedAt = (await node.provider.getBlock((r.blockNumber as number) ?? "latest"))!.timestamp;
      expect(humans.eta).to.equal(queuedAt + 3600); // escalationDelay 1h
      expect(humans.expiresAt).to.equal(humans.eta + 2 * 86400); // gracePeriod 2d
      expect(humans.message).to.include(`npx hardhat intent:approve ${r.intentId} --network localhost`);
      expect(humans.message).to.include("2 of the 3 co-signers");
      expect(r.next).to.match(/Do not submit it again or split it/);
      expect(await usdcOf(record.safe)).to.equal(safeBefore);

      const status = ok(await session.call("intent_status", { intentId: r.intentId }));
      expect(status.status).to.equal("Queued");
      expect(status.rationaleText).to.equal("Invoice INV-2025-117 from contractor #12");
    });
  });

  describe("when the tool arguments are malformed", function () {
    const cases: { name: string; tool: string; args: Record<string, unknown>; error: RegExp }[] = [
      {
        name: "no reason",
        tool: "treasury_pay",
        args: { asset: "USDC", to: EMPLOYEE, amount: "10" },
        error: /reason is required/,
      },
      {
        name: "bad address",
        tool: "treasury_pay",
        args: { asset: "USDC", to: "0x1234", amount: "10", reason: "test" },
        error: /to must be an address/,
      },
      {
        name: "bad checksum",
        tool: "treasury_pay",
        args: { asset: "USDC", to: "0xbcd4042DE499D14e55001CcbB24a551F3b954096", amount: "10", reason: "salary" },
        error: /invalid checksum/,
      },
      {
        name: "amount not a number",
        tool: "treasury_pay",
        args: { asset: "USDC", to: EMPLOYEE, amount: "ten", reason: "salary" },
        error: /INVALID_REQUEST: amount "ten" is not a decimal number/,
      },
      {
        name: "too many decimals",
        tool: "treasury_pay",
        args: { asset: "USDC", to: EMPLOYEE, amount: "1.0000001", reason: "salary" },
        error: /has 7 decimal places but USDC has only 6/,
      },
      {
        name: "unknown field",
        tool: "treasury_pay",
        args: { asset: "USDC", to: EMPLOYEE, amount: "10", reason: "salary", memo: "x" },
        error: /Unrecognized key\(s\) in object: 'memo'/,
      },
      {
        name: "unknown asset",
        tool: "treasury_pay",
        args: { asset: "DOGE", to: EMPLOYEE, amount: "10", reason: "salary" },
        error: /Unknown asset "DOGE"/,
      },
      {
        name: "propose both kinds",
        tool: "treasury_propose",
        args: {
          asset: "USDC",
          to: EMPLOYEE,
          amount: "10",
          target: "USDC",
          function: "transfer(address,uint256)",
          reason: "both",
        },
        error: /either a payment .* or a call/,
      },
      {
        name: "call args do not fit",
        tool: "treasury_call",
        args: { target: "USDC", function: "approve(address,uint256)", args: ["nobody"], reason: "x y z" },
        error: /Cannot encode approve\(address,uint256\)/,
      },
      {
        name: "bad intent id",
        tool: "intent_status",
        args: { intentId: "42" },
        error: /intentId must be 0x followed by 64 hex digits/,
      },
      {
        name: "amount beyond uint256",
        tool: "treasury_pay",
        args: { asset: "USDC", to: EMPLOYEE, amount: `1${"0".repeat(80)}`, reason: "salary" },
        error: /above the largest amount a uint256 can hold/,
      },
    ];

    it("test_tools_malformedArguments_clearToolErrorAndNothingSigned", async function () {
      const nonceBefore = await laneNonce();
      const txCountBefore = await node.provider.getTransactionCount(payroll.address);
      const journalBefore = fs.readFileSync(journalFile, "utf8");
      for (const c of cases) {
        const r = await session.call(c.tool, c.args);
        expect(r.isError, `${c.name}: ${r.text}`).to.equal(true);
        expect(r.text, c.name).to.match(c.error);
        // One prefix for one kind of mistake, whether the SDK's schema check, the tool or the client refused it.
        expect(r.text, c.name).to.match(/^INVALID_REQUEST: /);
        expect(r.text, c.name).to.match(/Nothing was signed\.$/);
        expect(r.text, c.name).to.not.match(/MCP error|INVALID_ARGUMENTS|[Rr]etry/);
        expect(r.structured, c.name).to.equal(undefined);
      }
      expect(await laneNonce()).to.equal(nonceBefore);
      expect(await node.provider.getTransactionCount(payroll.address)).to.equal(txCountBefore);
      expect(fs.readFileSync(journalFile, "utf8")).to.equal(journalBefore);
    });
  });

  describe("when the model is prompt-injected", function () {
    /**
     * The injected instructions, as a model would follow them: drain the treasury to the attacker, approve the
     * attacker as a spender, then fifty "invoices" to the attacker (each with its own key, so none is a replay).
     */
    async function injectedSession(s: McpSession, label: string, each: string) {
      const results: ToolCallResult[] = [];
      results.push(
        await s.call("treasury_pay", {
          asset: "USDC",
          to: ATTACKER,
          amount: "1000000",
          reason: "URGENT from the CFO: move all funds to the new treasury wallet",
          idempotencyKey: `${label}-drain`,
        }),
      );
      results.push(
        await s.call("treasury_call", {
          target: "USDC",
          function: "approve(address,uint256)",
          args: [ATTACKER, (2n ** 256n - 1n).toString()],
          reason: "Vendor portal requires spending approval",
          idempotencyKey: `${label}-approve`,
        }),
      );
      for (let i = 1; i <= 50; i++) {
        results.push(
          await s.call("treasury_pay", {
            asset: "USDC",
            to: ATTACKER,
            amount: each,
            reason: `Invoice ATT-${i}`,
            idempotencyKey: `${label}-invoice-${i}`,
          }),
        );
      }
      return results;
    }

    function statuses(results: ToolCallResult[]): string[] {
      return results.map((r) => (r.isError ? (r.text.split(":")[0] ?? "error") : String(r.structured!.status)));
    }

    describe("as the example configures the agent (recipient allowlist)", function () {
      it("test_injectedSession_allowlist_nothingLostAndTheAgentFrozen", async function () {
        const [safeBefore, attackerBefore] = [await usdcOf(record.safe), await usdcOf(ATTACKER)];
        const results = await injectedSession(session, "first", "400");
        const seen = statuses(results);
        // Hard cap, approval, unknown recipient: three strikes, frozen; everything after is refused before signing.
        expect(seen.slice(0, 3)).to.deep.equal(["Denied", "Denied", "Denied"]);
        expect(
          results.map((r) => (r.structured?.denial as { reason?: string } | undefined)?.reason).slice(0, 3),
        ).to.deep.equal(["AboveHardCap", "ApprovalNotAllowed", "RecipientNotAllowed"]);
        expect(results[2].structured!.frozen).to.equal(true);
        expect(results[2].text).to.include("You are now FROZEN");
        expect(seen.slice(3)).to.deep.equal(Array(49).fill("AGENT_FROZEN"));
        expect(results[3].text).to.match(/Stop submitting and ask the Safe owners/);
        expect(await module.isFrozen(payroll.address)).to.equal(true);
        const loss = safeBefore - (await usdcOf(record.safe));
        expect(loss).to.equal(0n);
        expect(loss).to.be.at.most(AUTO_PER_WINDOW);
        expect(await usdcOf(ATTACKER)).to.equal(attackerBefore);
        expect(await usdc.allowance(record.safe, ATTACKER)).to.equal(0n);
        const limits = ok(await session.call("treasury_limits", {}));
        expect(limits.frozen).to.equal(true);
      });
    });

    describe("when the owners had not set a recipient allowlist", function () {
      it("test_injectedSession_anyRecipient_lossWithinTheWindowCapAndTheAgentFrozen", async function () {
        // The owners loosen the example (recipients: any) and unfreeze the agent; an hour later the injection repeats.
        const owners = [1, 2].map((i) => new Wallet(devKey(i), node.provider));
        expect(owners.map((o) => o.address)).to.deep.equal((policy.safe as { owners: string[] }).owners.slice(0, 2));
        const safe = new Contract(record.safe, SAFE_ABI, node.provider);
        const c = await module.agentConfig(payroll.address);
        const loosened = {
          validUntil: c.validUntil,
          escalationDelay: c.escalationDelay,
          gracePeriod: c.gracePeriod,
          maxIntentsPerWindow: c.maxIntentsPerWindow,
          rateWindow: c.rateWindow,
          maxStrikes: c.maxStrikes,
          strikeWindow: c.strikeWindow,
          recipientMode: 0, // RecipientMode.Any
        };
        await execSafeCall(
          safe,
          owners,
          owners[0],
          record.module,
          module.interface.encodeFunctionData("setAgent", [payroll.address, loosened]),
        );
        await execSafeCall(
          safe,
          owners,
          owners[0],
          record.module,
          module.interface.encodeFunctionData("unfreezeAgent", [payroll.address]),
        );
        await node.provider.send("evm_increaseTime", [2 * 3600]); // past the 1h rate window
        await node.provider.send("evm_mine", []);
        expect(await module.isFrozen(payroll.address)).to.equal(false);

        // One server per agent journal (the journal is locked): the first session ends, a fresh one reads the new rules.
        await session.close();
        const fresh = await McpSession.start({ agent: "payroll", rpcUrl: node.url, deploymentsDir: dir });
        const { tools } = await fresh.client.listTools();
        expect(tools.find((t) => t.name === "treasury_pay")!.description).to.not.include("recipient allowlist");
        sessions.push(fresh);
        const available = await module.availableAllowance(payroll.address, record.tokens.USDC);
        expect(available).to.equal(AUTO_PER_WINDOW - parseUnits("1000", 6)); // the salary paid earlier still counts (7d window)
        // v3: the example gives payroll a USD budget too ($15,000 per 7d across all assets), and the salary counts there.
        const usdLeft = await module.availableUsdAllowance(payroll.address);
        expect(usdLeft).to.equal(parseUnits("14000", 8));
        const [safeBefore, attackerBefore] = [await usdcOf(record.safe), await usdcOf(ATTACKER)];

        const results = await injectedSession(fresh, "second", "1500");
        const seen = statuses(results);
        const gained = (await usdcOf(ATTACKER)) - attackerBefore;
        const loss = safeBefore - (await usdcOf(record.safe));
        console.log(
          `      (injected session without allowlist: ${seen.filter((s) => s === "Executed").length} executed, ` +
            `${seen.filter((s) => s === "Queued").length} queued, ${seen.filter((s) => s === "Denied").length} denied, ` +
            `${seen.filter((s) => s === "AGENT_FROZEN").length} refused frozen; attacker got ${gained / 10n ** 6n} USDC of a ${AUTO_PER_WINDOW / 10n ** 6n} USDC window)`,
        );

        // Promise 1: the loss is bounded by what the windows had left, and never more than the window cap; here the
        // USD budget (USDC at $1) is the tighter of the two.
        expect(loss).to.equal(gained);
        expect(gained).to.be.at.most(available);
        expect(gained).to.be.at.most(AUTO_PER_WINDOW);
        expect(gained * 100n, "USDC (6 decimals) in USD units (8)").to.be.at.most(usdLeft);
        // 9 payments of 1,500 fit in the $14,000 left (the USDC window alone had 19,000); the next ones go to the co-signers.
        expect(gained).to.equal(parseUnits("13500", 6));
        expect(seen.slice(0, 2)).to.deep.equal(["Denied", "Denied"]);
        expect(seen.slice(2, 11)).to.deep.equal(Array(9).fill("Executed"));
        expect(seen.slice(11, 20)).to.deep.equal(Array(9).fill("Queued"));
        // The 21st request in the hour breaks the rate limit: third strike, frozen.
        expect(seen[20]).to.equal("Denied");
        expect((results[20].structured!.denial as { reason: string }).reason).to.equal("RateLimited");
        expect(results[20].structured!.frozen).to.equal(true);
        expect(seen.slice(21)).to.deep.equal(Array(31).fill("AGENT_FROZEN"));
        expect(await module.isFrozen(payroll.address)).to.equal(true);
        expect(await usdc.allowance(record.safe, ATTACKER)).to.equal(0n);
        const queuedText = results[14].text;
        expect(queuedText).to.include("Humans must act");
      });
    });
  });

  describe("the audit trail", function () {
    it("test_serverLog_everyToolCallWithItsReasonAndNeverTheKey", async function () {
      const calls = session.log().filter((l) => l.event === "tool_call");
      const outcomes = session.log().filter((l) => l.event === "tool_result");
      expect(calls).to.have.length(session.results.length);
      expect(outcomes).to.have.length(session.results.length);
      const salary = calls.find((c) => c.reason === "Salary for May 2025, employee #10, per payroll sheet row 4")!;
      expect(salary.tool).to.equal("treasury_pay");
      expect(outcomes.find((o) => o.id === salary.id)!.status).to.equal("Executed");
      // A malformed call is logged too, with the error the model got.
      const noReason = calls.find((c) => c.tool === "treasury_pay" && c.reason === null)!;
      expect(String(outcomes.find((o) => o.id === noReason.id)!.error)).to.match(/reason is required/);
      // The key never leaves the server process: not in any tool result, not in its log.
      const key = devKey(4).slice(2).toLowerCase();
      expect(new Wallet(devKey(4)).address).to.equal(payroll.address);
      for (const s of sessions) {
        expect(s.stderr.toLowerCase()).to.not.include(key);
        for (const r of s.results)
          expect(`${r.text}${JSON.stringify(r.structured ?? {})}`.toLowerCase()).to.not.include(key);
      }
      expect(fs.readFileSync(journalFile, "utf8").toLowerCase()).to.not.include(key);
      // stdout carried only protocol messages: the client saw no unparseable line and no transport error.
      for (const s of sessions) expect(s.errors.map((e) => e.message)).to.deep.equal([]);
    });
  });

  describe("after the owners unfreeze the agent (v3: review flag, MalformedCall)", function () {
    let live: McpSession;
    before(async function () {
      const owners = [1, 2].map((i) => new Wallet(devKey(i), node.provider));
      const safe = new Contract(record.safe, SAFE_ABI, node.provider);
      await execSafeCall(
        safe,
        owners,
        owners[0],
        record.module,
        module.interface.encodeFunctionData("unfreezeAgent", [payroll.address]),
      );
      await node.provider.send("evm_increaseTime", [2 * 86400]); // past the rate window and the strike window
      await node.provider.send("evm_mine", []);
      live = sessions[sessions.length - 1]; // the server started for the second injected session, still running
    });

    it("test_propose_withinLimits_queuedWithTheSignedReviewFlag", async function () {
      const safeBefore = await usdcOf(record.safe);
      const r = ok(
        await live.call("treasury_propose", {
          asset: "USDC",
          to: EMPLOYEE,
          amount: "10",
          reason: "New bank details for employee #10: please check",
        }),
      );
      expect(r.status).to.equal("Queued"); // 10 USDC is far inside the 5,000 auto cap: queued only because it asked
      expect(r.queuedBecause).to.deep.equal(["review-requested"]); // the real reason, not "above what you may do alone"
      expect(r.message).to.include("because you asked for human review");
      const receipt = (await node.provider.getTransactionReceipt(r.txHash as string))!;
      const queued = receipt.logs.map((l) => module.interface.parseLog(l)).find((e) => e?.name === "IntentQueued")!;
      expect(queued.args.intentId).to.equal(r.intentId);
      expect(queued.args.intent.review).to.equal(true);
      expect(await usdcOf(record.safe)).to.equal(safeBefore);
    });

    it("test_call_handCraftedTransferWithTrailingBytes_deniedMalformedCallExplainedWithAStrike", async function () {
      const [safeBefore, attackerBefore] = [await usdcOf(record.safe), await usdcOf(ATTACKER)];
      const data = usdc.interface.encodeFunctionData("transfer", [ATTACKER, parseUnits("100", 6)]) + "deadbeef";
      const r = ok(
        await live.call("treasury_call", {
          target: "USDC",
          data,
          reason: "Pay the invoice with the calldata from the email",
        }),
      );
      expect(r.status).to.equal("Denied");
      const denial = r.denial as { reason: string; explanation: string; strikes: number; maxStrikes: number };
      expect(denial).to.include({ reason: "MalformedCall", strikes: 1, maxStrikes: 3 });
      expect(denial.explanation).to.match(
        /^The calldata is not a canonical ERC-20 transfer\(address,uint256\): a transfer must be exactly 68 bytes/,
      );
      expect(denial.explanation).to.include("counted a strike");
      expect(r.message).to.match(/^DENIED \(MalformedCall\): .*This is strike 1 of 3 within 1d/);
      expect(r.next).to.match(/Pay tokens with treasury_pay/);
      expect(await module.isFrozen(payroll.address)).to.equal(false);
      expect(await usdcOf(record.safe)).to.equal(safeBefore);
      expect(await usdcOf(ATTACKER)).to.equal(attackerBefore);
    });
  });
});
