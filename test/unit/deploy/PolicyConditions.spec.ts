/**
 * Conditions on call arguments in the policy file (SPEC section 11, v3), its local Uniswap and its allowances: the
 * words a file uses and the errors that name the field, their compilation into the module's conditions, and the round
 * trip through the pipeline on the in-process chain: deploy the example, plan nothing, change a condition, plan one
 * loosening change, apply it, plan nothing, and back.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { Contract, FunctionFragment, ZeroHash, getAddress, parseUnits, zeroPadValue } from "ethers";
import { PolicyError, loadPolicy, parsePolicy } from "../../../core/policy";
import { compileConditions } from "../../../core/conditions";
import { deployFromPolicy } from "../../../deploy/pipeline";
import { planPolicy } from "../../../deploy/plan";
import { hardhatChain } from "../../../deploy/hardhatChain";
import { cliWallets } from "../../../tasks/lib/keys";
import { EXACT_INPUT_SINGLE, predictUniswapAddresses } from "../../../deploy/uniswap";
import { OP, argumentWords, checkConditions, signatureProblem } from "../../../sdk/conditions";
import type { AgentTreasuryLens } from "../../../typechain-types";

const EXAMPLE = path.join(__dirname, "../../../deploy/examples/dao.json");
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const example = (): Json => JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as Json;
/** The trading agent's swap in the example: agents[1].allowedCalls[1]. */
const SWAP_AT = "agents[1].allowedCalls[1]";

function issuesOf(p: Json): { path: string; message: string }[] {
  try {
    parsePolicy(p);
  } catch (error) {
    expect(error).to.be.instanceOf(PolicyError);
    return (error as PolicyError).issues.map((i: { path: string; message: string }) => ({
      path: i.path,
      message: i.message,
    }));
  }
  throw new Error("expected a PolicyError");
}

/** The example with the swap's conditions replaced by `conditions`. */
function withSwapConditions(conditions: unknown[], signature?: string): Json {
  const p = example();
  p.agents[1].allowedCalls[1].conditions = conditions;
  if (signature) p.agents[1].allowedCalls[1].signature = signature;
  return p;
}

describe("Policy files: call conditions, the local Uniswap and the Safe's allowances (v3)", function () {
  describe("the words", function () {
    it("accepts the example: a swap with its recipient pinned and amountIn charged, a pool and an allowance [test_policy_exampleConditions_valid]", function () {
      const policy = loadPolicy(EXAMPLE);
      const swap = policy.agents[1].allowedCalls?.[1];
      expect(swap?.target).to.equal("SwapRouter02");
      expect(swap?.conditions).to.deep.equal([
        { arg: "tokenIn", is: "USDC" },
        { arg: "tokenOut", is: "WETH" },
        { arg: "recipient", is: "safe" },
        { arg: "amountIn", chargeAs: "USDC" },
      ]);
      expect(policy.allowances).to.deep.equal([{ token: "USDC", spender: "SwapRouter02", amount: "60000" }]);
      expect(policy.localUniswap?.pools[0].fee).to.equal(3000);
    });

    it("accepts a signature with parameter names only in canonical form [test_signatureProblem_namedCanonical_acceptedElseSaysHow]", function () {
      expect(signatureProblem(EXACT_INPUT_SINGLE)).to.equal(undefined);
      expect(signatureProblem("transfer(address to, uint256 amount)")).to.equal(undefined);
      expect(signatureProblem("transfer(address to, uint amount)")).to.match(
        /write it as transfer\(uint256|transfer\(address,uint256\), or with parameter names as transfer\(address to,uint256 amount\)/,
      );
    });

    const rows: [string, unknown[], string | undefined, string, RegExp][] = [
      [
        "an unknown argument",
        [{ arg: "recipent", is: "safe" }],
        undefined,
        "conditions[0].arg",
        /"recipent" is not an argument of exactInputSingle: its arguments are tokenIn, tokenOut, fee, recipient, amountIn/,
      ],
      [
        "two tests at once",
        [{ arg: "amountIn", atMost: "5", atLeast: "1" }],
        undefined,
        "conditions[0]",
        /has atMost and atLeast: one test per condition/,
      ],
      ["no test", [{ arg: "amountIn" }], undefined, "conditions[0]", /needs one test/],
      [
        "atMost on an address",
        [{ arg: "recipient", atMost: 5 }],
        undefined,
        "conditions[0].atMost",
        /recipient \(address\): atMost compares unsigned numbers/,
      ],
      [
        "chargeAs of ETH",
        [{ arg: "amountIn", chargeAs: "ETH" }],
        undefined,
        "conditions[0].chargeAs",
        /"ETH" cannot be charged/,
      ],
      [
        "chargeAs of a contract",
        [{ arg: "amountIn", chargeAs: "SwapRouter02" }],
        undefined,
        "conditions[0].chargeAs",
        /is not a token/,
      ],
      [
        "chargeAs of an address argument",
        [{ arg: "recipient", chargeAs: "USDC" }],
        undefined,
        "conditions[0].chargeAs",
        /chargeAs needs an amount argument \(uint\), not address/,
      ],
      [
        "two charges",
        [
          { arg: "amountIn", chargeAs: "USDC" },
          { arg: "amountOutMinimum", chargeAs: "WETH" },
        ],
        undefined,
        "conditions[1].chargeAs",
        /a call charges one argument; condition 0 charges already/,
      ],
      [
        "an unknown token",
        [{ arg: "tokenIn", is: "DAI" }],
        undefined,
        "conditions[0].is",
        /"DAI" is not "safe", a token or contract name/,
      ],
      [
        "a number too large for its type",
        [{ arg: "fee", is: 16777216 }],
        undefined,
        "conditions[0].is",
        /16777216 does not fit uint24/,
      ],
      [
        "an amount in units of an unknown token",
        [{ arg: "amountIn", atMost: "5 DAI" }],
        undefined,
        "conditions[0].atMost",
        /"DAI" in "5 DAI" is not a token symbol/,
      ],
      [
        "a signature without names",
        [{ arg: "recipient", is: "safe" }],
        "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
        "conditions[0].arg",
        /names no arguments: write the signature with parameter names/,
      ],
      [
        "a dynamic argument",
        [{ arg: "path", is: "0x00" }],
        "exactInput((bytes path,address recipient,uint256 amountIn,uint256 amountOutMinimum))",
        "conditions[0].arg",
        /path is inside \(bytes,address,uint256,uint256\), a dynamic tuple: its word holds an offset/,
      ],
      [
        "a bytes argument",
        [{ arg: "data", is: "0x00" }],
        "multicall(uint256 deadline,bytes data)",
        "conditions[0].arg",
        /data is bytes, a dynamic argument/,
      ],
    ];
    for (const [what, conditions, signature, at, message] of rows) {
      it(`refuses ${what}, naming the field [test_policy_conditions_${what.replace(/\W+(\w)/g, (_, c: string) => c.toUpperCase()).replace(/\W/g, "")}_namedError]`, function () {
        const issues = issuesOf(withSwapConditions(conditions, signature));
        expect(issues.map((i) => i.path)).to.deep.equal([`${SWAP_AT}.${at}`]);
        expect(issues[0].message).to.match(message);
      });
    }

    it("refuses a bad pool and a bad allowance, naming the fields [test_policy_localUniswapAndAllowances_namedErrors]", function () {
      const p = example();
      p.localUniswap.pools[0].fee = 100;
      p.localUniswap.pools[0].tokens = ["USDC", "USDC"];
      p.allowances.push(
        { token: "ETH", spender: "SwapRouter02", amount: "1" },
        { token: "USDC", spender: "WETH", amount: "1" },
      );
      expect(issuesOf(p)).to.deep.equal([
        { path: "allowances[1].token", message: "ETH has no allowance: name a token" },
        {
          path: "allowances[2].spender",
          message: "WETH is a token: the spender is the contract that may pull the tokens (a router)",
        },
        { path: "localUniswap.pools[0].tokens", message: "a pool needs two different tokens" },
        {
          path: "localUniswap.pools[0].fee",
          message: "100 is not a Uniswap v3 fee tier: use 500, 3000 or 10000 (hundredths of a basis point)",
        },
        {
          path: "localUniswap.pools[0].liquidity",
          message:
            "must give an amount for each of the pool's tokens (USDC, USDC), and nothing else; their ratio is the price",
        },
      ]);
    });
  });

  describe("compilation", function () {
    it("compiles the example's words to the module's conditions, and they judge calls as the module does [test_compileConditions_example_wordsOpsAndValues]", function () {
      const [usdc, weth, safe] = [
        "0x00000000000000000000000000000000000000a1",
        "0x00000000000000000000000000000000000000b2",
        getAddress("0x00000000000000000000000000000000000000c3"),
      ].map((a) => getAddress(a));
      const lookup = (ref: string) =>
        ref === "USDC"
          ? { kind: "token" as const, symbol: "USDC", address: usdc, decimals: 6 }
          : ref === "WETH"
            ? { kind: "token" as const, symbol: "WETH", address: weth, decimals: 18 }
            : undefined;
      const label = (a: string) => (a === usdc ? "USDC" : a === weth ? "WETH" : undefined);
      const { conditions, issues } = compileConditions(
        EXACT_INPUT_SINGLE,
        [
          ...example().agents[1].allowedCalls[1].conditions,
          { arg: "amountIn", atMost: "5000 USDC" },
          { arg: "fee", is: 3000 },
        ],
        { lookup, label },
      );
      expect(issues).to.deep.equal([]);
      expect(conditions.map((c) => [c.word, c.op, c.value])).to.deep.equal([
        [0, OP.EqualTo, zeroPadValue(usdc, 32)],
        [1, OP.EqualTo, zeroPadValue(weth, 32)],
        [3, OP.EqualToAvatar, ZeroHash],
        [4, OP.ChargeAs, zeroPadValue(usdc, 32)],
        [4, OP.LessOrEqual, zeroPadValue("0x012a05f200", 32)], // 5,000 USDC = 5e9 base units
        [2, OP.EqualTo, zeroPadValue("0x0bb8", 32)],
      ]);
      expect(conditions.map((c) => c.text)).to.deep.equal([
        `tokenIn is USDC (${usdc})`,
        `tokenOut is WETH (${weth})`,
        "recipient is the Safe",
        `amountIn charged as USDC (${usdc}) (to the agent's limits, like a payment)`,
        "amountIn at most 5000000000",
        "fee is 3000",
      ]);
      const swap = (recipient: string, amountIn: bigint) =>
        new Contract(usdc, [`function ${EXACT_INPUT_SINGLE}`]).interface.encodeFunctionData("exactInputSingle", [
          {
            tokenIn: usdc,
            tokenOut: weth,
            fee: 3000,
            recipient,
            amountIn,
            amountOutMinimum: 0n,
            sqrtPriceLimitX96: 0n,
          },
        ]);
      const args = argumentWords(FunctionFragment.from(EXACT_INPUT_SINGLE));
      const ok = checkConditions(swap(safe, parseUnits("1000", 6)), conditions, safe, {
        args,
        label,
        decimals: (a) => (a === usdc ? 6 : undefined),
      });
      expect(ok.met).to.equal(true);
      expect(ok.charge).to.deep.equal({ asset: usdc, amount: parseUnits("1000", 6), amountFormatted: "1000 USDC" });
      const stolen = checkConditions(swap(weth, parseUnits("6000", 6)), conditions, safe, { args, label });
      expect(stolen.met).to.equal(false);
      expect(stolen.checks.filter((c) => !c.met).map((c) => [c.text, c.actual])).to.deep.equal([
        ["recipient is the Safe", `WETH (${weth})`],
        ["amountIn at most 5000000000", "6000000000"],
      ]);
      // A call too short to hold a word a condition names fails it, as on chain.
      expect(checkConditions("0x04e45aaf", conditions, safe).met).to.equal(false);
    });
  });

  describe("plan and apply on the in-process chain", function () {
    let work: string;
    before(function () {
      work = fs.mkdtempSync(path.join(os.tmpdir(), "atg-conditions-spec-"));
    });
    after(function () {
      fs.rmSync(work, { recursive: true, force: true });
    });

    it("deploys the example with Uniswap, the swap's conditions and the router's allowance, and keeps them through plan/apply round trips [test_planApply_conditions_roundTrip]", async function () {
      this.timeout(600_000);
      const quiet = () => undefined;
      const deployed = await deployFromPolicy(hre, EXAMPLE, {
        keys: cliWallets(hre),
        deploymentsDir: work,
        log: quiet,
      });
      const record = JSON.parse(fs.readFileSync(deployed.deploymentFile, "utf8")) as {
        tokens: Record<string, string>;
        agents: Record<string, string>;
        contracts?: Record<string, string>;
        localPriceFeeds?: Record<string, string>;
      };
      const router = predictUniswapAddresses().SwapRouter02;
      // The record names the local Uniswap's contracts, so that the CLI and the MCP server can name them too.
      expect(record.contracts).to.deep.equal(predictUniswapAddresses());
      expect(await ethers.provider.getCode(router)).to.not.equal("0x");
      expect(deployed.changed.some((c) => c.startsWith("deployed SwapRouter02"))).to.equal(true);
      expect(deployed.changed.some((c) => /created the Uniswap pool USDC\/WETH \(fee 3000\)/.test(c))).to.equal(true);
      const lens = (await ethers.getContractAt("AgentTreasuryLens", deployed.lens)) as unknown as AgentTreasuryLens;
      const selector = FunctionFragment.from(EXACT_INPUT_SINGLE).selector;
      const trading = record.agents.trading;
      const read = async () =>
        (await lens.callConditions(deployed.module, trading, router, selector)).map((c) => [
          Number(c.word),
          Number(c.op),
          c.value,
        ]);
      const full = [
        [0, OP.EqualTo, zeroPadValue(record.tokens.USDC, 32).toLowerCase()],
        [1, OP.EqualTo, zeroPadValue(record.tokens.WETH, 32).toLowerCase()],
        [3, OP.EqualToAvatar, ZeroHash],
        [4, OP.ChargeAs, zeroPadValue(record.tokens.USDC, 32).toLowerCase()],
      ];
      expect(await read()).to.deep.equal(full);
      expect(await lens.isAllowedCall(deployed.module, trading, router, selector)).to.equal(true);
      const usdc = new Contract(
        record.tokens.USDC,
        ["function allowance(address,address) view returns (uint256)"],
        ethers.provider,
      );
      expect(await usdc.allowance(deployed.safe, router)).to.equal(parseUnits("60000", 6));
      // The record's local tokens and (v3, USD caps) local price feeds, as treasury:plan takes them.
      const target = {
        safe: deployed.safe,
        module: deployed.module,
        lens: deployed.lens,
        tokens: record.tokens,
        localPriceFeeds: record.localPriceFeeds,
      };
      expect(await planPolicy(hardhatChain(hre), loadPolicy(EXAMPLE), target)).to.deep.equal([]);

      // The owners drop the recipient condition: one change, shown as loosening, with what it was.
      const loose = example();
      loose.agents[1].allowedCalls[1].conditions = loose.agents[1].allowedCalls[1].conditions.filter(
        (c: Json) => c.arg !== "recipient",
      );
      const looseFile = path.join(work, "loose.json");
      fs.writeFileSync(looseFile, JSON.stringify(loose, null, 2));
      const items = await planPolicy(hardhatChain(hre), loadPolicy(looseFile), target);
      expect(items.map((i) => [i.kind, i.loosens])).to.deep.equal([["setCallConditions", true]]);
      expect(items[0].description).to.match(
        /^trading: exactInputSingle on SwapRouter02 \(0x[0-9a-fA-F]{40}\): only when tokenIn is USDC .*; amountIn charged as USDC .* \(was: .*recipient is the Safe.*\)$/,
      );
      const applied = await deployFromPolicy(hre, looseFile, {
        keys: cliWallets(hre),
        deploymentsDir: work,
        log: quiet,
      });
      expect(applied.changed).to.deep.equal([`configured: ${items[0].description}`]);
      expect(await read()).to.deep.equal([full[0], full[1], full[3]]);
      expect(await planPolicy(hardhatChain(hre), loadPolicy(looseFile), target)).to.deep.equal([]);

      // And back: pinning the recipient again only narrows the call.
      const back = await planPolicy(hardhatChain(hre), loadPolicy(EXAMPLE), target);
      expect(back.map((i) => [i.kind, i.loosens])).to.deep.equal([["setCallConditions", false]]);
      await deployFromPolicy(hre, EXAMPLE, { keys: cliWallets(hre), deploymentsDir: work, log: quiet });
      expect(await read()).to.deep.equal(full);
      expect(await planPolicy(hardhatChain(hre), loadPolicy(EXAMPLE), target)).to.deep.equal([]);
    });
  });
});
