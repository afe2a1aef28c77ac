/**
 * USD caps in policy files (SPEC section 11, v3; deploy/usd.ts): `priceFeeds`, `localPriceFeeds` and each agent's
 * `usdLimit` in dollars. The schema names every bad field; resolution converts dollars to the module's 8 decimals;
 * the plan sets feeds and USD limits, says which changes loosen the fence, and is empty once applied; the status
 * shows USD allowances beside the per-asset ones and every feed with its price or why it is not trusted.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, parseUnits } from "ethers";
import { Policy, PolicyError, parsePolicy } from "../../../core/policy";
import { resolvePolicy } from "../../../core/policyResolve";
import { PlanItem, PlanTarget } from "../../../core/policyDiff";
import { planPolicy } from "../../../deploy/plan";
import { readStatus } from "../../../deploy/status";
import { hardhatChain } from "../../../deploy/hardhatChain";
import os from "os";
import { writeDeployment } from "../../../core/deployment";
import { fixtureDeploymentRecord } from "../../fixtures";
import { runTaskCapturing } from "../../inProcessTask";
import { agentConfig } from "../../fixtures";
import { FeedMode, MAX_AGE, USD, UsdTreasury, deployFeed, usdTreasuryFixture } from "../../usdFixtures";

const EXAMPLE = path.join(__dirname, "../../../deploy/examples/dao.json");

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a policy file as plain JSON, mutated per case
type Json = Record<string, any>;

function example(): Json {
  return JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as Json;
}

/** The issues of a policy that must fail (schema or resolution), as `path: message`. */
async function issuesOf(fn: () => unknown): Promise<{ path: string; message: string; value?: unknown }[]> {
  try {
    await fn();
  } catch (error) {
    expect(error).to.be.instanceOf(PolicyError);
    return (error as PolicyError).issues;
  }
  throw new Error("expected a PolicyError");
}

/**
 * The policy file of the USD fixture's treasury: its Safe, co-signers, guardian, agent (with its ETH, USDC and DAI
 * limits: WETH has no feed) and feeds as they are on-chain, with `usd` as the agent's USD limit (dollars) and `feeds` as
 * `priceFeeds`.
 */
async function fixturePolicy(fx: UsdTreasury, usd: Json | undefined, feeds: Json): Promise<Policy> {
  const limits = [
    { asset: "ETH", autoPerTx: "1", autoPerWindow: "3", window: "1d", escalatedPerTx: "10" },
    { asset: "USDC", autoPerTx: "1000", autoPerWindow: "5000", window: "1d", escalatedPerTx: "50000" },
    { asset: "DAI", autoPerTx: "1000", autoPerWindow: "5000", window: "1d", escalatedPerTx: "50000" },
  ];
  return parsePolicy({
    safe: fx.safeAddress,
    salt: "agent-treasury-guard",
    guardians: [fx.guardian.address],
    cosigners: { members: fx.cosigners.map((c) => c.address), threshold: 2 },
    tokens: { USDC: fx.usdcAddress, DAI: fx.daiAddress, WETH: fx.wethAddress },
    priceFeeds: feeds,
    agents: [
      {
        name: "payroll",
        address: fx.agent.address,
        escalationDelay: "1h",
        gracePeriod: "1d",
        maxStrikes: 3,
        strikeWindow: "1d",
        recipientMode: "any",
        limits,
        ...(usd ? { usdLimit: usd } : {}),
      },
    ],
  });
}

/** The fixture's feeds as `priceFeeds` (maxAge 25h), plus a WETH feed when given. */
async function fixtureFeeds(fx: UsdTreasury, weth?: string): Promise<Json> {
  const feeds: Json = {
    USDC: { feed: await fx.usdcFeed.getAddress(), maxAge: "25h" },
    ETH: { feed: await fx.ethFeed.getAddress(), maxAge: "25h" },
    DAI: { feed: await fx.daiFeed.getAddress(), maxAge: "25h" },
  };
  if (weth) feeds.WETH = { feed: weth, maxAge: "25h" };
  return feeds;
}

const FIXTURE_USD = { autoPerTx: "1500", autoPerWindow: "3000", window: "1d", escalatedPerTx: "20000" };

async function target(fx: UsdTreasury): Promise<PlanTarget> {
  return {
    safe: fx.safeAddress,
    module: fx.moduleAddress,
    lens: await fx.lens.getAddress(),
    tokens: { USDC: fx.usdcAddress, DAI: fx.daiAddress, WETH: fx.wethAddress },
  };
}

async function usdPlan(fx: UsdTreasury, policy: Policy): Promise<PlanItem[]> {
  const items = await planPolicy(hardhatChain(hre), policy, await target(fx));
  return items.filter((i) => i.kind === "setPriceFeed" || i.kind === "setUsdLimit");
}

/** Runs plan items as the Safe (impersonated). */
async function applyAsSafe(fx: UsdTreasury, items: PlanItem[]): Promise<void> {
  const safe = await ethers.getSigner(fx.safeAddress);
  for (const item of items) await (await safe.sendTransaction({ to: item.call.to, data: item.call.data })).wait();
}

describe("USD caps in policy files", function () {
  describe("schema", function () {
    it("test_example_usesLocalPriceFeedsAndUsdLimits_andParses", function () {
      const policy = parsePolicy(example());
      expect(Object.keys(policy.localPriceFeeds ?? {})).to.deep.equal(["USDC", "WETH", "ETH"]);
      expect(policy.agents.map((a) => a.usdLimit?.autoPerWindow)).to.deep.equal(["15000", "60000"]);
    });

    it("test_usdLimit_inconsistentOrEmpty_errorsNameTheField", async function () {
      const p = example();
      p.agents[0].usdLimit = { autoPerTx: "30000", autoPerWindow: "25000", window: "0", escalatedPerTx: "20000" };
      p.agents[1].usdLimit = { autoPerTx: "0", autoPerWindow: "0", window: "1d", escalatedPerTx: "0" };
      const issues = await issuesOf(() => parsePolicy(p));
      expect(issues.map((i) => `${i.path}: ${i.message}`)).to.include.members([
        "agents[0].usdLimit.window: window must be longer than 0 seconds",
        "agents[0].usdLimit.autoPerTx: autoPerTx 30000 is above autoPerWindow 25000",
        "agents[0].usdLimit.autoPerTx: autoPerTx 30000 is above escalatedPerTx 20000",
        "agents[1].usdLimit: an all-zero USD limit means none: remove usdLimit instead",
      ]);
    });

    it("test_usdLimit_assetWithoutFeed_refusedNamingTheLimit", async function () {
      const p = example();
      delete p.localPriceFeeds.WETH;
      const issues = await issuesOf(() => parsePolicy(p));
      expect(issues).to.have.length(1);
      expect(issues[0].path).to.equal("agents[1].limits[1].asset");
      expect(issues[0].message).to.match(
        /^WETH has no price feed, but the agent has a usdLimit: add it under "priceFeeds"/,
      );
    });

    it("test_priceFeeds_twoFeedsForOneAssetZeroPriceOrMaxAge_refused", async function () {
      const p = example();
      p.priceFeeds = { usdc: { feed: "0x8ffffffd4afb6115b954bd326cbe7b4ba576818f6", maxAge: "0" } };
      p.localPriceFeeds.ETH.price = "0";
      p.localPriceFeeds.NOPE = { price: "1" };
      const issues = await issuesOf(() => parsePolicy(p));
      expect(issues.map((i) => `${i.path}: ${i.message}`)).to.include.members([
        "priceFeeds.usdc.maxAge: maxAge must be longer than 0 seconds",
        "localPriceFeeds.USDC: USDC already has a price feed under priceFeeds.usdc: give each asset one feed",
        "localPriceFeeds.ETH.price: a price must be above 0",
      ]);
      expect(issues.find((i) => i.path === "localPriceFeeds.NOPE")?.message).to.match(/unknown token symbol "NOPE"/);
    });
  });

  describe("resolution", function () {
    it("test_resolve_dollarsToEightDecimals_andFeeds", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const resolved = await resolvePolicy(
        await fixturePolicy(fx, { ...FIXTURE_USD, autoPerTx: "1500.5" }, await fixtureFeeds(fx)),
        ethers.provider,
      );
      expect(resolved.agents[0].usdLimit).to.deep.equal({
        autoPerTx: 150_050_000_000n,
        autoPerWindow: 3_000n * USD,
        window: 86_400n,
        escalatedPerTx: 20_000n * USD,
      });
      expect(resolved.priceFeeds.map((f) => [f.asset.symbol, f.feed, f.maxAge])).to.deep.equal([
        ["USDC", await fx.usdcFeed.getAddress(), 25 * 3600],
        ["ETH", await fx.ethFeed.getAddress(), 25 * 3600],
        ["DAI", await fx.daiFeed.getAddress(), 25 * 3600],
      ]);
    });

    it("test_resolve_feedWithoutContract_tooManyDecimals_localFeedBeforeDeploy_errorsNameTheField", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const feeds = await fixtureFeeds(fx);
      feeds.USDC.feed = fx.bob.address;
      const policy = await fixturePolicy(fx, { ...FIXTURE_USD, autoPerTx: "0.000000001" }, feeds);
      policy.localPriceFeeds = { WETH: { price: "2500" } };
      const issues = await issuesOf(() => resolvePolicy(policy, ethers.provider));
      expect(issues.map((i) => i.path)).to.deep.equal([
        "priceFeeds.USDC.feed",
        "localPriceFeeds.WETH",
        "agents[0].usdLimit.autoPerTx",
      ]);
      expect(issues[0].message).to.match(/has no contract on chain 31337: give the address of a Chainlink price feed/);
      expect(issues[1].message).to.equal(
        "the address of this local price feed is unknown: deploy the policy first (treasury:deploy)",
      );
      expect(issues[2].value).to.equal("0.000000001");
    });
  });

  describe("plan and apply", function () {
    it("test_plan_chainMatchesFile_noUsdItems", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      expect(await usdPlan(fx, await fixturePolicy(fx, FIXTURE_USD, await fixtureFeeds(fx)))).to.deep.equal([]);
    });

    it("test_plan_raisedAndLoweredUsdLimit_loosensOnlyWhenRaised", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const raised = await usdPlan(
        fx,
        await fixturePolicy(fx, { ...FIXTURE_USD, autoPerWindow: "4000" }, await fixtureFeeds(fx)),
      );
      expect(raised.map((i) => [i.kind, i.description, i.loosens])).to.deep.equal([
        ["setUsdLimit", "payroll: USD autoPerWindow $3000 -> $4000", true],
      ]);
      const lowered = await usdPlan(
        fx,
        await fixturePolicy(fx, { ...FIXTURE_USD, autoPerWindow: "2000", window: "2d" }, await fixtureFeeds(fx)),
      );
      expect(lowered.map((i) => [i.description, i.loosens])).to.deep.equal([
        ["payroll: USD autoPerWindow $3000 -> $2000, window 1d -> 2d", false],
      ]);
      const removed = await usdPlan(fx, await fixturePolicy(fx, undefined, await fixtureFeeds(fx)));
      expect(removed.map((i) => [i.description, i.loosens])).to.deep.equal([
        ["payroll: remove the USD limit (only the per-asset limits remain)", true],
      ]);
    });

    it("test_plan_feeds_newAnotherLongerLoosen_removedOrShorterTighten", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const weth = await (await deployFeed(8, 2_500n * USD)).getAddress();
      const other = await (await deployFeed(8, USD)).getAddress();
      const feeds = await fixtureFeeds(fx, weth);
      feeds.USDC.feed = other;
      feeds.ETH.maxAge = "1h";
      feeds.DAI.maxAge = "2d";
      const items = await usdPlan(fx, await fixturePolicy(fx, FIXTURE_USD, feeds));
      expect(items.map((i) => [i.kind, i.loosens, i.description])).to.deep.equal([
        [
          "setPriceFeed",
          true,
          `USDC/USD price feed: ${await fx.usdcFeed.getAddress()} -> ${other}, maxAge 1d1h -> 1d1h (a new oracle to trust)`,
        ],
        ["setPriceFeed", false, "ETH/USD price feed: maxAge 1d1h -> 1h"],
        ["setPriceFeed", true, "DAI/USD price feed: maxAge 1d1h -> 2d"],
        ["setPriceFeed", true, `WETH/USD price feed: ${weth}, maxAge 1d1h`],
      ]);
      // Without a USD limit the agent needs no feed for DAI, and the file may drop it.
      delete feeds.DAI;
      const withoutDai = await usdPlan(fx, await fixturePolicy(fx, undefined, feeds));
      const removal = withoutDai.find((i) => i.description.startsWith("remove the DAI"))!;
      expect(removal.description).to.equal(
        `remove the DAI/USD price feed ${await fx.daiFeed.getAddress()} (USD-limited agents' DAI payments will wait for co-signers)`,
      );
      expect(removal.loosens).to.equal(false);
      expect(removal.call.data).to.equal(
        fx.module.interface.encodeFunctionData("setPriceFeed", [fx.daiAddress, ethers.ZeroAddress, 0]),
      );
    });

    it("test_apply_usdItems_chainMatchesAndPlanIsEmpty", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const weth = await (await deployFeed(18, parseUnits("2500", 18))).getAddress();
      const feeds = await fixtureFeeds(fx, weth);
      feeds.ETH.maxAge = "1h";
      const policy = await fixturePolicy(fx, { ...FIXTURE_USD, autoPerTx: "2000", autoPerWindow: "8000" }, feeds);
      await hre.network.provider.request({ method: "hardhat_impersonateAccount", params: [fx.safeAddress] });
      await applyAsSafe(fx, await usdPlan(fx, policy));
      expect(await usdPlan(fx, policy)).to.deep.equal([]);
      expect(await fx.lens.priceFeed(fx.moduleAddress, fx.wethAddress)).to.deep.equal([weth, 25n * 3600n, 18n]);
      expect(await fx.lens.priceFeed(fx.moduleAddress, ethers.ZeroAddress)).to.deep.equal([
        await fx.ethFeed.getAddress(),
        3600n,
        18n,
      ]);
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(8_000n * USD);
    });

    it("test_plan_newAgentWithUsdLimit_setAgentBeforeItsUsdLimit", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const policy = await fixturePolicy(fx, FIXTURE_USD, await fixtureFeeds(fx));
      policy.agents.push({
        ...policy.agents[0],
        name: "trader",
        address: fx.bob.address,
        usdLimit: { ...FIXTURE_USD },
      });
      const items = await planPolicy(hardhatChain(hre), policy, await target(fx));
      const kinds = items.filter((i) => i.agent === fx.bob.address).map((i) => i.kind);
      expect(kinds[0]).to.equal("setAgent");
      expect(kinds.at(-1)).to.equal("setUsdLimit");
      expect(items.find((i) => i.kind === "setUsdLimit")!.loosens, "a new USD limit only adds a budget").to.equal(
        false,
      );
    });
  });

  describe("status", function () {
    it("test_status_usdAllowanceBesideAssetLimits_andFeedsWithPriceOrFault", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      await (await fx.owner.setAgent(fx.bob.address, agentConfig())).wait(); // an agent without a USD limit
      await (await fx.ethFeed.setMode(FeedMode.Revert)).wait();
      const status = await readStatus(hardhatChain(hre), await target(fx), {
        names: { [fx.agent.address.toLowerCase()]: "payroll" },
      });
      const payroll = status.agents.find((a) => a.name === "payroll")!;
      expect(payroll.usdLimit).to.deep.equal({
        autoPerTx: "1500",
        autoPerWindow: "3000",
        window: "1d",
        escalatedPerTx: "20000",
        available: "3000",
      });
      expect(status.agents.find((a) => getAddress(a.address) === fx.bob.address)!.usdLimit).to.equal(undefined);
      const feeds = Object.fromEntries(status.priceFeeds.map((f) => [f.symbol, f]));
      expect(Object.keys(feeds).sort()).to.deep.equal(["DAI", "ETH", "USDC"]);
      expect(feeds.USDC).to.deep.include({
        feed: await fx.usdcFeed.getAddress(),
        maxAge: "1d1h",
        price: "1",
        trusted: true,
      });
      expect(feeds.DAI.price).to.equal("1");
      expect(feeds.ETH).to.deep.include({ trusted: false, fault: "FeedReverted" });
      expect(feeds.ETH.price).to.equal(undefined);
      const [, , , updatedAt] = await fx.usdcFeed.latestRoundData();
      await time.increaseTo(updatedAt + BigInt(MAX_AGE) + 1n);
      const later = await readStatus(hardhatChain(hre), await target(fx));
      expect(later.priceFeeds.find((f) => f.symbol === "USDC")).to.deep.include({
        trusted: false,
        fault: "StalePrice",
        age: "1d1h1s",
      });
    });
    it("treasury:status prints the USD limit in the limits table beside the asset limits, and the feeds with their price or fault [test_statusTask_usdRowAndFeedTable]", async function () {
      const fx = await loadFixture(usdTreasuryFixture);
      const saved = process.env.DEPLOYMENTS_DIR;
      process.env.DEPLOYMENTS_DIR = fs.mkdtempSync(path.join(os.tmpdir(), "atg-usd-status-"));
      try {
        writeDeployment({
          ...(await fixtureDeploymentRecord(fx)),
          tokens: { USDC: fx.usdcAddress, DAI: fx.daiAddress, WETH: fx.wethAddress },
        });
        await (await fx.daiFeed.setPrice(0n)).wait();
        const { stdout, exitCode } = await runTaskCapturing("treasury:status", {});
        expect(exitCode).to.equal(0);
        const row = (start: string, after = "") =>
          stdout
            .slice(stdout.indexOf(after))
            .split("\n")
            .find((l) => l.startsWith(start))
            ?.split(/ {2,}/);
        expect(row("payroll  USD (all assets)")).to.deep.equal([
          "payroll",
          "USD (all assets)",
          "$1500",
          "$3000",
          "1d",
          "$3000",
          "$20000",
        ]);
        expect(row("payroll  USDC")).to.deep.equal(["payroll", "USDC", "1000", "5000", "1d", "5000", "50000"]);
        const feeds = "Price feeds (USD limits value every spend with them)";
        expect(stdout).to.contain(feeds);
        expect(row("USDC  ", feeds)!.slice(0, 4)).to.deep.equal(["USDC", await fx.usdcFeed.getAddress(), "1d1h", "$1"]);
        expect(row("DAI  ", feeds)!.at(-1)).to.equal("NO: NonPositivePrice (USD-limited payments wait for co-signers)");
      } finally {
        if (saved === undefined) delete process.env.DEPLOYMENTS_DIR;
        else process.env.DEPLOYMENTS_DIR = saved;
      }
    });
  });
});
