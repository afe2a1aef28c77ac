/**
 * Fixtures for USD caps (SPEC section 11, v3): the base treasury plus mock price feeds (contracts/test/MockAggregator.sol)
 * and an agent with a USD limit, for the specs (what the bench and the campaign share is testkit/priceFeeds.ts).
 */
import { ethers } from "hardhat";
import { parseEther, parseUnits } from "ethers";
import type { MockERC20 } from "../typechain-types";
import { USD, deployFeed, usdLimit } from "../testkit/priceFeeds";
import { DAY, ETH, HOUR, assetLimit, moduleAsSafe, treasuryFixture } from "./fixtures";

export { USD, FeedMode, PriceFault, usdLimit, deployFeed } from "../testkit/priceFeeds";
export type { UsdLimit } from "../testkit/priceFeeds";

/** The agent's USD limit in the fixture: $1,500 per payment, $3,000 per day, hard cap $20,000. */
export const AGENT_USD_LIMIT = usdLimit(1_500n, 3_000n, DAY, 20_000n);

/** Feeds' maxAge in the fixture. */
export const MAX_AGE = 25 * HOUR;

/**
 * The base treasury (ETH and USDC limits for the agent) plus:
 * - feeds: USDC at $1 (8 decimals), ETH at $2,000 (18 decimals: a feed's decimals are read, never assumed);
 * - DAI (18 decimals, 1,000,000 in the Safe) with a feed at $1 (8 decimals) and the agent's limit
 *   1,000 / 5,000 per day / 50,000;
 * - WETH (18 decimals, 100 in the Safe) with the agent's limit 1 / 3 per day / 10 and no feed;
 * - the agent's USD limit {AGENT_USD_LIMIT}.
 */
export async function usdTreasuryFixture() {
  const fx = await treasuryFixture();
  const owner = await moduleAsSafe(fx);
  const dai = (await ethers.deployContract("MockERC20", ["Dai", "DAI", 18])) as unknown as MockERC20;
  const weth = (await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 18])) as unknown as MockERC20;
  const daiAddress = await dai.getAddress();
  const wethAddress = await weth.getAddress();
  await (await dai.mint(fx.safeAddress, parseUnits("1000000", 18))).wait();
  await (await weth.mint(fx.safeAddress, parseEther("100"))).wait();
  await (
    await owner.setAssetLimit(
      fx.agent.address,
      daiAddress,
      assetLimit(parseUnits("1000", 18), parseUnits("5000", 18), DAY, parseUnits("50000", 18)),
    )
  ).wait();
  await (
    await owner.setAssetLimit(
      fx.agent.address,
      wethAddress,
      assetLimit(parseEther("1"), parseEther("3"), DAY, parseEther("10")),
    )
  ).wait();

  const usdcFeed = await deployFeed(8, 1n * USD);
  const ethFeed = await deployFeed(18, parseUnits("2000", 18));
  const daiFeed = await deployFeed(8, 1n * USD);
  await (await owner.setPriceFeed(fx.usdcAddress, await usdcFeed.getAddress(), MAX_AGE)).wait();
  await (await owner.setPriceFeed(ETH, await ethFeed.getAddress(), MAX_AGE)).wait();
  await (await owner.setPriceFeed(daiAddress, await daiFeed.getAddress(), MAX_AGE)).wait();
  await (await owner.setUsdLimit(fx.agent.address, AGENT_USD_LIMIT)).wait();
  return { ...fx, owner, dai, daiAddress, weth, wethAddress, usdcFeed, ethFeed, daiFeed };
}

export type UsdTreasury = Awaited<ReturnType<typeof usdTreasuryFixture>>;
