/**
 * The policy-file tooling without a node: human units, the zod schema and its error messages, resolution
 * against a chain (the in-process Hardhat network), Transaction Builder batch files, and where keys come from.
 */
import path from "path";
import fs from "fs";
import os from "os";
import { expect } from "chai";
import fc from "fast-check";
import { ethers } from "hardhat";
import hre from "hardhat";
import {
  AbiCoder,
  Interface,
  Wallet,
  ZeroAddress,
  dataSlice,
  encryptKeystoreJson,
  getBytes,
  id,
  parseEther,
  parseUnits,
  toUtf8Bytes,
} from "ethers";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { UnitError, formatAmount, formatDuration, parseAmount, parseDuration, parseTimestamp } from "../../core/units";
import { Policy, PolicyError, loadPolicy, parsePolicy } from "../../core/policy";
import { policySalt, resolvePolicy } from "../../core/policyResolve";
import {
  BatchError,
  buildBatch,
  encodeMultiSend,
  readBatch,
  transactionCalldata,
  writeBatch,
} from "../../deploy/batch";
import { IAgentTreasuryModule__factory } from "../../typechain-types";
import { PlanError, checkPolicyMatchesTarget } from "../../core/policyDiff";
import { KeyError, hardhatDevWallets, isHardhatDevKey } from "../../core/keys";
import { resolveWallet } from "../../tasks/lib/keys";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

const EXAMPLE = path.join(__dirname, "../../deploy/examples/dao.json");

/**
 * The example policy as raw JSON, to be broken on purpose: the cases below write values of the wrong type into any
 * field, which only `any` lets a test write without a cast per line.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- raw JSON, mutated into invalid shapes on purpose
type RawPolicy = Record<string, any>;

function example(): RawPolicy {
  return JSON.parse(fs.readFileSync(EXAMPLE, "utf8"));
}

/** Runs `fn` expecting a PolicyError; returns its issues. */
function policyIssues(fn: () => unknown) {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(PolicyError);
    expect((error as PolicyError).code).to.equal("POLICY_INVALID");
    return (error as PolicyError).issues;
  }
  throw new Error("expected a PolicyError");
}

async function policyIssuesAsync(fn: () => Promise<unknown>) {
  try {
    await fn();
  } catch (error) {
    expect(error).to.be.instanceOf(PolicyError);
    return (error as PolicyError).issues;
  }
  throw new Error("expected a PolicyError");
}

describe("Policy files", function () {
  let scratch: string;
  before(function () {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), "atg-policy-spec-"));
  });
  after(function () {
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  describe("durations", function () {
    it("test_parseDuration_humanForms_wholeSeconds", function () {
      const cases: [string | number, number][] = [
        ["90s", 90],
        ["30m", 1800],
        ["24h", 86400],
        ["7d", 604800],
        ["2w", 1209600],
        ["1h30m", 5400],
        ["1 day", 86400],
        ["1.5h", 5400],
        ["0", 0],
        [3600, 3600],
      ];
      for (const [input, seconds] of cases) expect(parseDuration(input), String(input)).to.equal(seconds);
    });

    it("test_parseDuration_unknownUnit_errorNamesUnit", function () {
      expect(() => parseDuration("5 parsecs")).to.throw(UnitError, /unknown unit "parsecs"/);
      expect(() => parseDuration("3 fortnights")).to.throw(UnitError, /unknown unit "fortnights"/);
    });

    it("test_parseDuration_negativeFractionalOrTooLong_rejected", function () {
      expect(() => parseDuration("-5h")).to.throw(UnitError, /negative/);
      expect(() => parseDuration(-1)).to.throw(UnitError, /non-negative/);
      expect(() => parseDuration("1.5s")).to.throw(UnitError, /whole number of seconds/);
      expect(() => parseDuration(2 ** 32)).to.throw(UnitError, /uint32/);
      expect(() => parseDuration("")).to.throw(UnitError, /empty/);
      expect(() => parseDuration("h")).to.throw(UnitError, /not a duration/);
    });

    it("test_formatDuration_anySeconds_parsesBackToSame", function () {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (s) => parseDuration(formatDuration(s)) === s),
        { numRuns: 500 },
      );
      expect(formatDuration(86400n)).to.equal("1d");
      expect(formatDuration(604800)).to.equal("1w");
      expect(formatDuration(5400)).to.equal("1h30m");
    });
  });

  describe("amounts", function () {
    it("test_parseAmount_humanForms_baseUnits", function () {
      expect(parseAmount("2.5", 18)).to.equal(parseEther("2.5"));
      expect(parseAmount("1_000_000", 6)).to.equal(10n ** 12n);
      expect(parseAmount("0.000001", 6)).to.equal(1n);
      expect(parseAmount("1000.000", 6)).to.equal(1000n * 10n ** 6n);
      expect(parseAmount(1000, 6)).to.equal(1000n * 10n ** 6n);
      expect(parseAmount("0", 0)).to.equal(0n);
    });

    it("test_parseAmount_negativeOrMalformed_rejectedWithValue", function () {
      expect(() => parseAmount("-5", 6)).to.throw(UnitError, /"-5" is negative/);
      expect(() => parseAmount("0.0000001", 6)).to.throw(UnitError, /7 decimal places but the token has only 6/);
      for (const bad of ["1e6", "1,000", "", "abc", "1._5", "_1", "0x10", " 1 2"]) {
        expect(() => parseAmount(bad, 6), bad).to.throw(UnitError, /not a decimal number/);
      }
      expect(() => parseAmount(1.5, 6)).to.throw(UnitError, /must be written as a string/);
    });

    it("test_formatAmount_anyAmount_parsesBackToSame", function () {
      fc.assert(
        fc.property(
          fc.bigInt({ min: 0n, max: 2n ** 128n - 1n }),
          fc.integer({ min: 0, max: 36 }),
          (v, d) => parseAmount(formatAmount(v, d), d) === v,
        ),
        { numRuns: 500 },
      );
      expect(formatAmount(2_500_000n, 6)).to.equal("2.5");
      expect(formatAmount(10n ** 18n, 18)).to.equal("1");
    });

    it("test_parseTimestamp_neverIsoAndUnix", function () {
      expect(parseTimestamp("never")).to.equal(0);
      expect(parseTimestamp(0)).to.equal(0);
      expect(parseTimestamp("2030-01-01T00:00:00Z")).to.equal(1893456000);
      expect(parseTimestamp("2030-01-01")).to.equal(1893456000);
      expect(parseTimestamp("2030-01-01T01:00:00+01:00")).to.equal(1893456000);
      expect(parseTimestamp("1893456000")).to.equal(1893456000);
      expect(() => parseTimestamp("next tuesday")).to.throw(UnitError, /not a date/);
      expect(() => parseTimestamp("2030-01-01T00:00:00")).to.throw(UnitError, /not a date/); // no time zone
    });
  });

  describe("schema", function () {
    it("test_loadPolicy_example_valid", function () {
      const policy = loadPolicy(EXAMPLE);
      expect(policy.agents.map((a) => a.name)).to.deep.equal(["payroll", "trading"]);
      expect(policy.cosigners.threshold).to.equal(2);
      expect(policy.guardians).to.have.length(1);
    });

    const cases: { name: string; mutate: (p: RawPolicy) => void; path: string; message: RegExp; value?: unknown }[] = [
      {
        name: "unknown field",
        mutate: (p) => (p.agents[0].maxStrike = 3),
        path: "agents[0].maxStrike",
        message: /unknown field "maxStrike" \(did you mean "maxStrikes"\?\)/,
        value: 3,
      },
      {
        name: "unknown top-level field",
        mutate: (p) => (p.cosigner = {}),
        path: "cosigner",
        message: /did you mean "cosigners"/,
      },
      {
        name: "negative amount",
        mutate: (p) => (p.agents[0].limits[1].escalatedPerTx = "-1"),
        path: "agents[0].limits[1].escalatedPerTx",
        message: /negative/,
        value: "-1",
      },
      {
        name: "bad checksum",
        mutate: (p) => (p.guardians[0] = "0xA0Ee7A142d267C1f36714E4a8F75612F20a79720"),
        path: "guardians[0]",
        message: /bad checksum/,
      },
      {
        name: "not an address",
        mutate: (p) => (p.agents[1].address = "0x1234"),
        path: "agents[1].address",
        message: /not an address/,
      },
      {
        name: "threshold above members",
        mutate: (p) => (p.cosigners.threshold = 4),
        path: "cosigners.threshold",
        message: /above the 3 members/,
        value: 4,
      },
      {
        name: "Safe threshold above owners",
        mutate: (p) => (p.safe.threshold = 5),
        path: "safe.threshold",
        message: /above the 3 owners/,
        value: 5,
      },
      {
        name: "zero threshold",
        mutate: (p) => (p.cosigners.threshold = 0),
        path: "cosigners.threshold",
        message: /at least 1/,
      },
      {
        name: "5 parsecs",
        mutate: (p) => (p.agents[0].gracePeriod = "5 parsecs"),
        path: "agents[0].gracePeriod",
        message: /unknown unit "parsecs"/,
      },
      {
        name: "zero grace period",
        mutate: (p) => (p.agents[0].gracePeriod = "0s"),
        path: "agents[0].gracePeriod",
        message: /longer than 0/,
      },
      {
        name: "duplicate agent name",
        mutate: (p) => (p.agents[1].name = "payroll"),
        path: "agents[1].name",
        message: /duplicate agent name/,
      },
      {
        name: "duplicate co-signer",
        mutate: (p) => (p.cosigners.members[2] = p.cosigners.members[0].toLowerCase()),
        path: "cosigners.members[2]",
        message: /duplicate co-signer/,
      },
      {
        name: "autoPerTx above autoPerWindow",
        mutate: (p) => (p.agents[0].limits[0].autoPerTx = "25000"),
        path: "agents[0].limits[0].autoPerTx",
        message: /above autoPerWindow 20000/,
      },
      {
        name: "strikes without a window",
        mutate: (p) => delete p.agents[0].strikeWindow,
        path: "agents[0].strikeWindow",
        message: /required .* when maxStrikes is set/,
      },
      {
        name: "unknown token symbol",
        mutate: (p) => (p.agents[1].limits[0].asset = "DAI"),
        path: "agents[1].limits[0].asset",
        message: /unknown token symbol "DAI"/,
      },
      {
        name: "bad function signature",
        mutate: (p) => (p.agents[1].allowedCalls[0].signature = "approve(address"),
        path: "agents[1].allowedCalls[0].signature",
        message: /not a function signature/,
      },
      {
        name: "ETH as call target",
        mutate: (p) => (p.agents[1].allowedCalls[0].target = "ETH"),
        path: "agents[1].allowedCalls[0].target",
        message: /"ETH" is not a contract/,
      },
      {
        name: "unknown recipient mode",
        mutate: (p) => (p.agents[0].recipientMode = "whitelist"),
        path: "agents[0].recipientMode",
        message: /must be one of "any", "allowlist", "escalate-unknown"/,
      },
      {
        name: "missing required field",
        mutate: (p) => delete p.agents[0].escalationDelay,
        path: "agents[0].escalationDelay",
        message: /required field is missing/,
      },
      {
        name: "safe of the wrong type",
        mutate: (p) => (p.safe = 42),
        path: "safe",
        message: /existing Safe's address or/,
      },
      { name: "short hex salt", mutate: (p) => (p.salt = "0x1234"), path: "salt", message: /exactly 32 bytes/ },
    ];
    for (const c of cases) {
      it(`test_parsePolicy_${c.name.replace(/\W+(\w)/g, (_, x: string) => x.toUpperCase()).replace(/\W/g, "")}_namedError`, function () {
        const input = example();
        c.mutate(input);
        const issues = policyIssues(() => parsePolicy(input, "dao.json"));
        expect(issues.map((i) => i.path)).to.deep.equal([c.path]);
        expect(issues[0].message).to.match(c.message);
        if ("value" in c) expect(issues[0].value).to.deep.equal(c.value);
      });
    }

    it("test_parsePolicy_severalProblems_allReportedInOneError", function () {
      const input = example();
      input.agents[0].limits[0].autoPerTx = "-5";
      input.agents[1].escalationDelay = "5 parsecs";
      input.cosigners.threshold = 9;
      let message = "";
      const issues = policyIssues(() => {
        try {
          parsePolicy(input, "dao.json");
        } catch (error) {
          message = (error as Error).message;
          throw error;
        }
      });
      expect(issues.map((i) => i.path).sort()).to.deep.equal([
        "agents[0].limits[0].autoPerTx",
        "agents[1].escalationDelay",
        "cosigners.threshold",
      ]);
      expect(message).to.match(/^Policy dao.json is invalid \(3 problems\)/);
      expect(message).to.contain('agents[1].escalationDelay: duration "5 parsecs" has unknown unit "parsecs"');
      expect(message).to.contain('(value: "5 parsecs")');
    });

    it("test_loadPolicy_notJsonOrMissing_namedError", function () {
      const dir = fs.mkdtempSync(path.join(scratch, "policy-"));
      const bad = path.join(dir, "bad.json");
      fs.writeFileSync(bad, '{ "safe": ');
      expect(policyIssues(() => loadPolicy(bad))[0].message).to.match(/not valid JSON/);
      expect(policyIssues(() => loadPolicy(path.join(dir, "missing.json")))[0].message).to.match(
        /cannot read the file/,
      );
    });

    it("test_parsePolicy_lowerCaseAddresses_accepted", function () {
      const input = example();
      input.guardians[0] = input.guardians[0].toLowerCase();
      expect(parsePolicy(input).guardians[0]).to.equal(input.guardians[0]);
    });

    it("test_checkPolicyMatchesTarget_otherSafeOrSalt_refused", function () {
      const input = example();
      input.safe = "0x2e60ade51443e7Ab79ce40c5D5FCe6aDc349B114";
      const policy = parsePolicy(input);
      const target = {
        safe: input.safe,
        module: "0x5B1bbD342B003FDa2ACDBaa4483479Adb10e5Ef7",
        lens: ZeroAddress,
        salt: id(input.salt),
      };
      expect(() => checkPolicyMatchesTarget(policy, target)).to.not.throw();
      expect(() =>
        checkPolicyMatchesTarget(policy, { ...target, safe: "0x000000000000000000000000000000000000dEaD" }),
      ).to.throw(
        PlanError,
        /is for Safe 0x2e60ade51443e7Ab79ce40c5D5FCe6aDc349B114, but the module .* belongs to Safe 0x000000000000000000000000000000000000dEaD/,
      );
      expect(() => checkPolicyMatchesTarget(policy, { ...target, salt: id("another") })).to.throw(
        PlanError,
        /salt "example-dao\/treasury\/v1" is not the one/,
      );
    });

    it("test_policySalt_textHashedHexKept", function () {
      expect(policySalt("example-dao/treasury/v1")).to.equal(id("example-dao/treasury/v1"));
      const hex = `0x${"ab".repeat(32)}`;
      expect(policySalt(hex)).to.equal(hex);
    });
  });

  describe("resolution against a chain", function () {
    async function tokensFixture() {
      const usdc = await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6]);
      const lens = await ethers.deployContract("AgentTreasuryLens"); // a contract without decimals()
      return { usdc: await usdc.getAddress(), lens: await lens.getAddress() };
    }

    function onChainPolicy(usdc: string): RawPolicy {
      const p = example();
      delete p.localTokens;
      delete p.localEth;
      delete p.localUniswap; // v3: local only, and its pools need the local tokens
      delete p.allowances;
      // USD caps are resolved in test/unit/deploy/UsdPolicy.spec.ts; the example's local feeds price local tokens.
      delete p.localPriceFeeds;
      for (const a of p.agents) delete a.usdLimit;
      p.tokens = { USDC: usdc };
      p.treasuryLimits = p.treasuryLimits.filter((t: { asset: string }) => t.asset !== "USDC");
      p.agents[1].limits = p.agents[1].limits.filter((l: { asset: string }) => l.asset === "USDC");
      p.agents[1].allowedCalls = [{ target: "USDC", signature: "approve(address, uint256)" }];
      return p;
    }

    it("test_resolvePolicy_humanUnits_convertedWithOnChainDecimals", async function () {
      const { usdc } = await loadFixture(tokensFixture);
      const resolved = await resolvePolicy(parsePolicy(onChainPolicy(usdc)) as Policy, ethers.provider);
      const [payroll, trading] = resolved.agents;
      expect(resolved.chainId).to.equal(31337n);
      expect(resolved.salt).to.equal(id("example-dao/treasury/v1"));
      expect(payroll.config).to.deep.equal({
        validUntil: 1893456000n,
        escalationDelay: 3600n,
        gracePeriod: 172800n,
        maxIntentsPerWindow: 20n,
        rateWindow: 3600n,
        maxStrikes: 3n,
        strikeWindow: 86400n,
        recipientMode: 1,
      });
      expect(
        payroll.limits.map((l) => [l.asset.address, l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx]),
      ).to.deep.equal([
        [usdc, parseUnits("5000", 6), parseUnits("20000", 6), 604800, parseUnits("100000", 6)],
        [ZeroAddress, parseEther("0.5"), parseEther("2"), 86400, parseEther("10")],
      ]);
      expect(trading.config.recipientMode).to.equal(2);
      expect(trading.config.validUntil).to.equal(0n);
      expect(trading.allowedCalls).to.deep.equal([
        {
          target: usdc,
          targetLabel: "USDC",
          signature: "approve(address,uint256)",
          namedSignature: "approve(address, uint256)",
          selector: "0x095ea7b3",
          conditions: [],
        },
      ]);
      expect(resolved.treasuryLimits).to.deep.equal([
        { asset: { address: ZeroAddress, symbol: "ETH", decimals: 18 }, perWindow: parseEther("5"), window: 86400 },
      ]);
    });

    it("test_resolvePolicy_tokenWithoutContract_errorNamesField", async function () {
      await loadFixture(tokensFixture);
      const p = onChainPolicy("0x6B175474E89094C44Da98b954EedeAC495271d0F");
      const issues = await policyIssuesAsync(() => resolvePolicy(parsePolicy(p), ethers.provider));
      expect(issues).to.deep.equal([
        {
          path: "tokens.USDC",
          message:
            "0x6B175474E89094C44Da98b954EedeAC495271d0F has no contract on chain 31337: check the address and the network",
          value: "0x6B175474E89094C44Da98b954EedeAC495271d0F",
        },
      ]);
    });

    it("test_resolvePolicy_contractWithoutDecimals_errorNamesField", async function () {
      const { lens } = await loadFixture(tokensFixture);
      const issues = await policyIssuesAsync(() => resolvePolicy(parsePolicy(onChainPolicy(lens)), ethers.provider));
      expect(issues.map((i) => [i.path, i.message])).to.deep.equal([
        ["tokens.USDC", `${lens} does not answer decimals(): it is not an ERC-20 token`],
      ]);
    });

    it("test_resolvePolicy_moreDecimalsThanToken_errorNamesField", async function () {
      const { usdc } = await loadFixture(tokensFixture);
      const p = onChainPolicy(usdc);
      p.agents[0].limits[0].autoPerTx = "0.0000001";
      const issues = await policyIssuesAsync(() => resolvePolicy(parsePolicy(p), ethers.provider));
      expect(issues.map((i) => [i.path, i.value])).to.deep.equal([["agents[0].limits[0].autoPerTx", "0.0000001"]]);
      expect(issues[0].message).to.match(/7 decimal places but the token has only 6/);
    });

    it("test_resolvePolicy_pastValidUntilAndCallToEoa_errorsNameFields", async function () {
      const { usdc } = await loadFixture(tokensFixture);
      const p = onChainPolicy(usdc);
      p.agents[0].validUntil = "2001-01-01T00:00:00Z";
      p.agents[1].allowedCalls.push({
        target: "0x000000000000000000000000000000000000dEaD",
        signature: "swap(uint256)",
      });
      const issues = await policyIssuesAsync(() => resolvePolicy(parsePolicy(p), ethers.provider));
      expect(issues.map((i) => i.path)).to.deep.equal(["agents[0].validUntil", "agents[1].allowedCalls[1].target"]);
      expect(issues[0].message).to.match(/in the past/);
      expect(issues[1].message).to.match(/has no contract on chain 31337/);
    });

    it("test_resolvePolicy_localTokensWithoutAddresses_errorNamesSection", async function () {
      const issues = await policyIssuesAsync(() => resolvePolicy(loadPolicy(EXAMPLE), ethers.provider));
      // v3: the local Uniswap's addresses come from the deploy pipeline too (deploy/uniswap.ts localContractAddresses);
      // the local price feeds are unknown too, those of the local tokens following their tokens' issues.
      expect(issues.map((i) => i.path)).to.deep.equal([
        "localTokens.USDC",
        "localTokens.WETH",
        "localUniswap",
        "localPriceFeeds.ETH",
      ]);
      expect(issues[2].message).to.match(
        /addresses of the local Uniswap contracts are unknown here: resolve the policy through the deploy pipeline/,
      );
      expect(issues[3].message).to.equal(
        "the address of this local price feed is unknown: deploy the policy first (treasury:deploy)",
      );
    });
  });

  describe("Transaction Builder batch files", function () {
    const safe = "0x2e60ade51443e7Ab79ce40c5D5FCe6aDc349B114";
    const txs = [
      { to: safe, data: "0x610b5925" + "00".repeat(32) },
      { to: "0x5B1bbD342B003FDa2ACDBaa4483479Adb10e5Ef7", value: 1n, data: "0x1234" },
    ];

    it("test_readBatch_writtenBatch_checksumVerifies", function () {
      const file = path.join(fs.mkdtempSync(path.join(scratch, "batch-")), "b.json");
      const batch = buildBatch({
        chainId: 5n,
        safe,
        name: "test",
        description: "two calls",
        transactions: txs,
        createdAt: 1,
      });
      writeBatch(file, batch);
      const read = readBatch(file);
      expect(read.transactions).to.deep.equal([
        // enableModule on the Safe: shown to the owners decoded, without raw data.
        {
          to: safe,
          value: "0",
          contractMethod: {
            name: "enableModule",
            payable: false,
            inputs: [{ name: "module", type: "address", internalType: "address" }],
          },
          contractInputsValues: { module: ZeroAddress },
        },
        // Not a known function: raw data, as before.
        { to: txs[1].to, value: "1", data: "0x1234" },
      ]);
      expect(read.transactions.map(transactionCalldata)).to.deep.equal(txs.map((t) => t.data));
      expect(read.meta.checksum).to.match(/^0x[0-9a-f]{64}$/);
      expect(read.meta.createdFromSafeAddress).to.equal(safe);
      // The Transaction Builder leaves the batch name out of the checksum: renaming keeps it valid.
      fs.writeFileSync(file, JSON.stringify({ ...read, meta: { ...read.meta, name: "renamed" } }));
      expect(readBatch(file).meta.name).to.equal("renamed");
    });

    it("test_buildBatch_moduleConfiguration_decodedForTheOwnersAndEncodesBack", function () {
      const m = IAgentTreasuryModule__factory.createInterface();
      const agent = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
      const calls = [
        m.encodeFunctionData("setAgent", [
          agent,
          {
            validUntil: 0,
            escalationDelay: 3600,
            gracePeriod: 172800,
            maxIntentsPerWindow: 20,
            rateWindow: 3600,
            maxStrikes: 3,
            strikeWindow: 86400,
            recipientMode: 1,
          },
        ]),
        m.encodeFunctionData("setAssetLimit", [
          agent,
          ZeroAddress,
          {
            autoPerTx: parseEther("1"),
            autoPerWindow: parseEther("3"),
            window: 86400,
            escalatedPerTx: 2n ** 128n - 1n,
          },
        ]),
        m.encodeFunctionData("setAllowedCall", [agent, safe, "0xd0e30db0", true]),
        m.encodeFunctionData("setCosigners", [[agent, safe], 2]),
      ];
      const batch = buildBatch({
        chainId: 5n,
        safe,
        name: "cfg",
        description: "",
        transactions: calls.map((data) => ({ to: safe, data })),
      });
      expect(batch.transactions.map((t) => t.contractMethod?.name)).to.deep.equal([
        "setAgent",
        "setAssetLimit",
        "setAllowedCall",
        "setCosigners",
      ]);
      expect(batch.transactions.every((t) => t.data === undefined)).to.equal(true);
      expect(batch.transactions[0].contractInputsValues).to.deep.equal({
        agent,
        config: '["0","3600","172800","20","3600","3","86400","1"]',
      });
      expect(batch.transactions[1].contractInputsValues!.limit).to.equal(
        `["1000000000000000000","3000000000000000000","86400","${2n ** 128n - 1n}"]`,
      );
      expect(batch.transactions[2].contractInputsValues).to.deep.equal({
        agent,
        target: safe,
        selector: "0xd0e30db0",
        allowed: "true",
      });
      expect(batch.transactions[3].contractInputsValues).to.deep.equal({
        members: JSON.stringify([agent, safe]),
        threshold: "2",
      });
      expect(batch.transactions[1].contractMethod!.inputs[2]).to.deep.include({
        name: "limit",
        type: "tuple",
        internalType: "struct IAgentTreasuryTypes.AssetLimit",
      });
      expect(batch.transactions.map(transactionCalldata)).to.deep.equal(calls);
    });

    it("test_buildBatch_callConditionsAndApprove_decodedForTheOwnersAndEncodesBack", function () {
      // v3: setCallConditions takes a tuple array (Condition[]), and the Safe's allowance is an ERC-20 approve.
      const m = IAgentTreasuryModule__factory.createInterface();
      const agent = "0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65";
      const word = (v: string) => `0x${v.replace(/^0x/, "").toLowerCase().padStart(64, "0")}`;
      const conditions = [
        { word: 3, op: 1, value: word("0") },
        { word: 4, op: 4, value: word(safe) },
      ];
      const approve = new Interface(["function approve(address spender, uint256 amount)"]).encodeFunctionData(
        "approve",
        [agent, 60_000_000_000n],
      );
      const calls = [
        { to: safe, data: m.encodeFunctionData("setCallConditions", [agent, safe, "0x04e45aaf", conditions]) },
        { to: agent, data: approve },
      ];
      const batch = buildBatch({ chainId: 5n, safe, name: "cfg", description: "", transactions: calls });
      expect(batch.transactions.map((t) => [t.contractMethod?.name, t.data])).to.deep.equal([
        ["setCallConditions", undefined],
        ["approve", undefined],
      ]);
      expect(batch.transactions[0].contractMethod!.inputs[3]).to.deep.equal({
        name: "conditions",
        type: "tuple[]",
        internalType: "struct IAgentTreasuryTypes.Condition[]",
        components: [
          { name: "word", type: "uint16", internalType: "uint16" },
          { name: "op", type: "uint8", internalType: "enum IAgentTreasuryTypes.Op" },
          { name: "value", type: "bytes32", internalType: "bytes32" },
        ],
      });
      expect(batch.transactions[0].contractInputsValues!.conditions).to.equal(
        JSON.stringify([
          ["3", "1", word("0")],
          ["4", "4", word(safe)],
        ]),
      );
      expect(batch.transactions[1].contractInputsValues).to.deep.equal({ spender: agent, amount: "60000000000" });
      expect(batch.transactions.map(transactionCalldata)).to.deep.equal(calls.map((c) => c.data));
    });

    it("test_readBatch_tamperedArgumentValue_rejected", function () {
      const file = path.join(fs.mkdtempSync(path.join(scratch, "batch-")), "b.json");
      const batch = buildBatch({ chainId: 5n, safe, name: "test", description: "", transactions: txs });
      batch.transactions[0].contractInputsValues!.module = "0x000000000000000000000000000000000000dEaD";
      writeBatch(file, batch);
      expect(() => readBatch(file)).to.throw(BatchError, /does not match its checksum/);
    });

    it("test_readBatch_tamperedTransaction_rejected", function () {
      const file = path.join(fs.mkdtempSync(path.join(scratch, "batch-")), "b.json");
      const batch = buildBatch({ chainId: 5n, safe, name: "test", description: "", transactions: txs });
      batch.transactions[1].to = "0x000000000000000000000000000000000000dEaD";
      writeBatch(file, batch);
      expect(() => readBatch(file)).to.throw(BatchError, /does not match its checksum/);
    });

    it("test_encodeMultiSend_packsOperationToValueLengthData", function () {
      const encoded = encodeMultiSend(txs);
      expect(dataSlice(encoded, 0, 4)).to.equal(id("multiSend(bytes)").slice(0, 10));
      const [packed] = AbiCoder.defaultAbiCoder().decode(["bytes"], dataSlice(encoded, 4));
      const bytes = getBytes(packed);
      // first call: 1 + 20 + 32 + 32 + 36 bytes
      expect(bytes[0]).to.equal(0);
      expect(ethers.hexlify(bytes.slice(1, 21)).toLowerCase()).to.equal(safe.toLowerCase());
      expect(BigInt(ethers.hexlify(bytes.slice(53, 85)))).to.equal(36n);
      const second = bytes.slice(1 + 20 + 32 + 32 + 36);
      expect(BigInt(ethers.hexlify(second.slice(21, 53)))).to.equal(1n);
      expect(ethers.hexlify(second.slice(85))).to.equal("0x1234");
    });
  });

  describe("keys", function () {
    const saved = { ...process.env };
    afterEach(function () {
      for (const k of ["DEPLOYER_KEY", "AGENT_KEY", "KEYSTORE_PASSWORD"]) {
        if (saved[k] === undefined) delete process.env[k];
        else process.env[k] = saved[k];
      }
    });
    const otherChain = (chainId: bigint) =>
      ({ ethers: { provider: { getNetwork: async () => ({ chainId }) } } }) as unknown as HardhatRuntimeEnvironment;

    async function keyError(fn: () => Promise<unknown>): Promise<KeyError> {
      try {
        await fn();
      } catch (error) {
        expect(error).to.be.instanceOf(KeyError);
        return error as KeyError;
      }
      throw new Error("expected a KeyError");
    }

    it("test_isHardhatDevKey_publicKeysAndAddresses_recognised", function () {
      const dev = hardhatDevWallets();
      expect(dev[0].address).to.equal("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
      expect(isHardhatDevKey(dev[19].privateKey)).to.equal(true);
      expect(isHardhatDevKey(dev[7].address)).to.equal(true);
      expect(isHardhatDevKey(Wallet.createRandom().privateKey)).to.equal(false);
    });

    it("test_resolveWallet_devKeyOnOtherChain_refusedWithoutPrintingIt", async function () {
      process.env.DEPLOYER_KEY = hardhatDevWallets()[0].privateKey;
      const error = await keyError(() => resolveWallet(otherChain(1n), "DEPLOYER"));
      expect(error.code).to.equal("KEY_DEV_REFUSED");
      expect(error.message).to.contain("chain 1").and.not.contain(process.env.DEPLOYER_KEY.slice(2));
    });

    it("test_resolveWallet_missingKeyOffLocalChain_saysWhereKeysComeFrom", async function () {
      delete process.env.DEPLOYER_KEY;
      const error = await keyError(() => resolveWallet(otherChain(11155111n), "DEPLOYER"));
      expect(error.code).to.equal("KEY_MISSING");
      expect(error.message).to.contain("DEPLOYER_KEY").and.contain("--keystore");
    });

    it("test_resolveWallet_localChain_defaultsToNamedDevAccount", async function () {
      const dev = hardhatDevWallets();
      const agent = await resolveWallet(hre, "AGENT", { expectedAddress: dev[4].address });
      expect(agent.address).to.equal(dev[4].address);
      const deployer = await resolveWallet(hre, "DEPLOYER");
      expect(deployer.address).to.equal(dev[0].address);
      const unknown = await keyError(() =>
        resolveWallet(hre, "AGENT", { expectedAddress: Wallet.createRandom().address }),
      );
      expect(unknown.code).to.equal("KEY_MISSING");
    });

    it("test_resolveWallet_keyForAnotherAddress_mismatch", async function () {
      const dev = hardhatDevWallets();
      process.env.AGENT_KEY = dev[5].privateKey;
      const error = await keyError(() => resolveWallet(hre, "AGENT", { expectedAddress: dev[4].address }));
      expect(error.code).to.equal("KEY_MISMATCH");
      expect(error.message).to.contain(dev[5].address).and.contain(dev[4].address);
      process.env.AGENT_KEY = "not a key";
      expect((await keyError(() => resolveWallet(hre, "AGENT"))).code).to.equal("KEY_INVALID");
    });

    it("test_resolveWallet_keystore_decryptsWithPassword", async function () {
      const wallet = Wallet.createRandom();
      const json = await encryptKeystoreJson(
        { address: wallet.address, privateKey: wallet.privateKey },
        toUtf8Bytes("correct horse"),
        {
          scrypt: { N: 1024 },
        },
      );
      const file = path.join(fs.mkdtempSync(path.join(scratch, "ks-")), "deployer.json");
      fs.writeFileSync(file, json);
      process.env.KEYSTORE_PASSWORD = "correct horse";
      expect(
        (await resolveWallet(hre, "DEPLOYER", { keystore: file, expectedAddress: wallet.address })).address,
      ).to.equal(wallet.address);
      process.env.KEYSTORE_PASSWORD = "wrong";
      expect((await keyError(() => resolveWallet(hre, "DEPLOYER", { keystore: file }))).code).to.equal(
        "KEYSTORE_UNREADABLE",
      );
    });
  });
});
