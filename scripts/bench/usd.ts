/**
 * USD caps in the gas benchmark (SPEC section 11, v3): the auto ERC-20 payment of an agent with a USD limit, the same
 * payment of an agent without one on the same treasury (feeds set), and the price read on its own.
 *
 * The feed is contracts/test/MockAggregator.sol, which answers from two storage slots as a Chainlink aggregator
 * reads about as many; a real feed is a proxy in front of an aggregator, so it adds one more cold account (2,600).
 */
import { ethers } from "hardhat";
import { parseEther } from "ethers";
import type { PriceReadProbe } from "../../typechain-types";
import { DAY, ETH, agentConfig } from "../../testkit/stack";
import { FeedMode, USD, deployFeed, usdLimit } from "../../testkit/priceFeeds";
import {
  BenchSetupError,
  ETH_LIMIT,
  Stack,
  USDC_LIMIT,
  agentCalls,
  agentKey,
  configure,
  createTreasury,
  usdc,
} from "./setup";
import { newAgent, submitPayment } from "./payments";
import type { Budget, Rows } from "./report";

export const USD_ROW = "auto ERC-20 payment under a USD cap";
export const USD_REFERENCE_ROW = "auto ERC-20 payment, same treasury, agent without a USD limit";
export const PRICE_READ_ROW = "price read on its own (latestRoundData + decimals, cold feed)";

export const USD_BUDGETS: Budget[] = [{ name: USD_ROW, max: 130_000n, aim: 120_000n }];

const PAY = usdc("100");
const HOUR = 3600;

/** Measures the USD rows on a treasury of their own; `recipient` already holds USDC. */
export async function measureUsdCaps(stack: Stack, rows: Rows, recipient: string): Promise<void> {
  const treasury = await createTreasury(stack, "usd-cap", 3, 2);
  // A keeper that never sleeps: the benchmark's clock runs far ahead of the feed's last update.
  const feed = await deployFeed(8, 1n * USD, FeedMode.AlwaysFresh);
  const ethFeed = await deployFeed(8, 2_000n * USD, FeedMode.AlwaysFresh);
  const m = treasury.module.interface;
  const capped = newAgent("usd-capped", agentKey("usd-capped"), treasury);
  const plain = newAgent("usd-plain", agentKey("usd-plain"), treasury);
  const limits = [
    { asset: stack.usdcAddress, limit: USDC_LIMIT },
    { asset: ETH, limit: ETH_LIMIT },
  ];
  await configure(stack, treasury, [
    {
      to: treasury.moduleAddress,
      data: m.encodeFunctionData("setPriceFeed", [stack.usdcAddress, await feed.getAddress(), 25 * HOUR]),
    },
    {
      to: treasury.moduleAddress,
      data: m.encodeFunctionData("setPriceFeed", [ETH, await ethFeed.getAddress(), 25 * HOUR]),
    },
    ...agentCalls(treasury, capped.key.address, agentConfig(), limits),
    {
      to: treasury.moduleAddress,
      data: m.encodeFunctionData("setUsdLimit", [capped.key.address, usdLimit(1_000n, 5_000n, DAY, 50_000n)]),
    },
    ...agentCalls(treasury, plain.key.address, agentConfig(), limits),
  ]);

  // Steady state, as the other payment rows: one earlier payment in each window (USDC and USD), nothing expires.
  for (const agent of [capped, plain]) {
    await submitPayment(stack, agent, { asset: stack.usdcAddress, to: recipient, amount: PAY }, 60);
    await submitPayment(stack, agent, { asset: ETH, to: recipient, amount: parseEther("0.1") }, 60);
  }
  const before = await treasury.module.availableUsdAllowance(capped.key.address);
  const cappedPaid = await submitPayment(stack, capped, { asset: stack.usdcAddress, to: recipient, amount: PAY }, HOUR);
  if (before - (await treasury.module.availableUsdAllowance(capped.key.address)) !== 100n * USD) {
    throw new BenchSetupError("the USD-capped payment did not charge $100 to the agent's USD window");
  }
  const cappedGas = rows.add({
    name: USD_ROW,
    gas: cappedPaid.receipt.gasUsed,
    txHash: cappedPaid.receipt.hash,
    note: "keyless, relayed; USDC and USD windows in use; mock feed at $1 (8 decimals)",
  }).gas;
  const plainPaid = await submitPayment(stack, plain, { asset: stack.usdcAddress, to: recipient, amount: PAY }, HOUR);
  const plainGas = rows.add({
    name: USD_REFERENCE_ROW,
    gas: plainPaid.receipt.gasUsed,
    txHash: plainPaid.receipt.hash,
    note: "the same payment on the same treasury: feeds set, no USD limit, so no feed is read",
  }).gas;
  rows.add({ name: "USD check, all in", gas: cappedGas - plainGas, note: `difference of the two rows above` });

  const probe = (await ethers.deployContract("PriceReadProbe")) as unknown as PriceReadProbe;
  const fresh = await deployFeed(8, 1n * USD);
  const receipt = await (await probe.measure(await fresh.getAddress())).wait();
  const event = receipt?.logs.map((l) => probe.interface.parseLog(l)).find((e) => e?.name === "PriceReadMeasured");
  if (!receipt || !event) throw new BenchSetupError("PriceReadProbe did not report a measurement");
  rows.add({
    name: PRICE_READ_ROW,
    // No txHash: the row is the probe's inner measure, not the transaction's gas (BENCH_PROFILE=all profiles rows
    // that are one transaction's gas).
    gas: event.args.gasUsed as bigint,
    note: "inside the EVM (gasleft) by contracts/test/PriceReadProbe.sol: a cold mock feed, two static calls; a Chainlink proxy adds a cold account",
  });
}
