/**
 * The watchtower's price-feed rules (v3, monitor/priceFeeds.ts; README-MONITOR.md): `price-feed-untrusted` when the
 * module stops trusting a feed, `price-feed-moved` when a trusted price moves more than `maxMove` between two reads.
 * Against the in-process chain (usdTreasuryFixture: USDC and DAI feeds at $1 with 8 decimals, ETH at $2,000 with 18),
 * with the checkpoint across a restart.
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroAddress, parseUnits } from "ethers";
import { Alert, MemorySink, Watchtower, parseMonitorConfig } from "../../../monitor";
import { checkFeeds, emptyFeedWatchState } from "../../../monitor/priceFeeds";
import { FeedMode, USD, UsdTreasury, deployFeed, usdTreasuryFixture } from "../../usdFixtures";

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-feeds-")), name);
}

const RULES = [{ rule: "price-feed-untrusted" }, { rule: "price-feed-moved", maxMove: 0.1 }];

function tower(fx: UsdTreasury, sink: MemorySink, checkpointFile: string, rules: unknown[] = RULES) {
  return new Watchtower({
    provider: ethers.provider,
    chainId: fx.chainId,
    module: fx.moduleAddress,
    safe: fx.safeAddress,
    config: parseMonitorConfig({ confirmations: 1, pollIntervalMs: 10, rules }),
    sinks: [sink],
    checkpointFile,
    tokens: { USDC: fx.usdcAddress, DAI: fx.daiAddress },
  });
}

/** Polls after one more block (the feeds are read once per block read). */
async function pollNext(w: Watchtower): Promise<Alert[]> {
  await mine(1);
  return (await w.poll()).alerts.filter((a) => a.kind === "price-feed-untrusted" || a.kind === "price-feed-moved");
}

describe("Watchtower price-feed rules", function () {
  it("reports a feed the module stops trusting once, with its fault and asset, and again only after it recovered and failed anew [test_priceFeedUntrusted_onceWhenTrustEnds_withFaultAndAsset]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const sink = new MemorySink("memory");
    const w = tower(fx, sink, tmpFile("checkpoint.json"));
    expect(await pollNext(w), "every feed trusted: nothing to say").to.deep.equal([]);

    await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
    const [alert, ...rest] = await pollNext(w);
    expect(rest).to.deep.equal([]);
    expect(alert).to.deep.include({
      kind: "price-feed-untrusted",
      rule: "price-feed-untrusted",
      severity: "warning",
      action: "alert",
      module: fx.moduleAddress,
    });
    expect(alert.details).to.deep.include({
      asset: fx.usdcAddress,
      symbol: "USDC",
      feed: await fx.usdcFeed.getAddress(),
      fault: "FeedReverted",
    });
    expect(alert.message).to.equal(
      "the module does not trust the USDC/USD price now (FeedReverted): every USDC payment of an agent with a USD limit waits for co-signers",
    );
    expect(await pollNext(w), "still broken: no repeat").to.deep.equal([]);

    // The feed answers again; later it answers 0: a new alert, with the new fault.
    await (await fx.usdcFeed.setMode(FeedMode.Normal)).wait();
    expect(await pollNext(w)).to.deep.equal([]);
    await (await fx.usdcFeed.setPrice(0n)).wait();
    const again = await pollNext(w);
    expect(again.map((a) => [a.kind, a.details.symbol, a.details.fault])).to.deep.equal([
      ["price-feed-untrusted", "USDC", "NonPositivePrice"],
    ]);
    expect(again[0].id).to.not.equal(alert.id);
    expect(sink.alerts.filter((a) => a.kind === "price-feed-untrusted")).to.have.length(2);
  });

  it("reports a stale feed with StalePrice and what to check [test_priceFeedUntrusted_staleFeed_StalePrice]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const sink = new MemorySink("memory");
    const w = tower(fx, sink, tmpFile("checkpoint.json"));
    await pollNext(w);
    await ethers.provider.send("evm_increaseTime", [25 * 3600 + 1]);
    // USDC and DAI go stale; ETH's keeper is awake.
    await (await fx.ethFeed.setPrice(parseUnits("2000", 18))).wait();
    const alerts = await pollNext(w);
    expect(alerts.map((a) => [a.details.symbol, a.details.fault]).sort()).to.deep.equal([
      ["DAI", "StalePrice"],
      ["USDC", "StalePrice"],
    ]);
    expect(alerts[0].advice).to.match(/has not updated within its maxAge of 90000s/);
  });

  it("reports a trusted price that moves more than maxMove between two reads, and not a smaller move [test_priceFeedMoved_aboveMaxMoveOnly_fromAndToInDollars]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const sink = new MemorySink("memory");
    const w = tower(fx, sink, tmpFile("checkpoint.json"));
    await pollNext(w);
    await (await fx.ethFeed.setPrice(parseUnits("2150", 18))).wait(); // +7.5%: within 10%
    expect(await pollNext(w)).to.deep.equal([]);
    await (await fx.ethFeed.setPrice(parseUnits("2580", 18))).wait(); // +20% from the last read
    const [moved, ...rest] = await pollNext(w);
    expect(rest).to.deep.equal([]);
    expect(moved).to.deep.include({ kind: "price-feed-moved", severity: "critical" });
    expect(moved.details).to.deep.include({
      asset: ZeroAddress,
      symbol: "ETH",
      from: "2150",
      to: "2580",
      movedPercent: 20,
    });
    expect(moved.message).to.match(
      /^the ETH\/USD price moved 20% between two reads: \$2150 at block \d+ -> \$2580 at block \d+ \(rule: more than 10%\)$/,
    );
  });

  it("takes a replaced feed as a new baseline, not as a move [test_priceFeedMoved_feedReplaced_newBaseline]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const sink = new MemorySink("memory");
    const w = tower(fx, sink, tmpFile("checkpoint.json"));
    await pollNext(w);
    const other = await deployFeed(8, 3n * USD);
    await (await fx.owner.setPriceFeed(fx.usdcAddress, await other.getAddress(), 3600)).wait();
    expect(await pollNext(w), "$1 -> $3 through another feed").to.deep.equal([]);
    await (await other.setPrice(4n * USD)).wait();
    const alerts = await pollNext(w);
    expect(alerts.map((a) => [a.kind, a.details.feed, a.details.from, a.details.to])).to.deep.equal([
      ["price-feed-moved", await other.getAddress(), "3", "4"],
    ]);
  });

  it("neither repeats an alert nor loses the baseline across a restart from the checkpoint [test_priceFeeds_restartFromCheckpoint_noRepeatBaselineKept]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const checkpoint = tmpFile("checkpoint.json");
    const first = new MemorySink("memory");
    await pollNext(tower(fx, first, checkpoint));
    await (await fx.daiFeed.setMode(FeedMode.ShortAnswer)).wait();
    expect((await pollNext(tower(fx, first, checkpoint))).map((a) => a.details.fault)).to.deep.equal([
      "MalformedAnswer",
    ]);

    const second = new MemorySink("memory");
    const restarted = tower(fx, second, checkpoint);
    expect(await pollNext(restarted), "the DAI alert was delivered before the restart").to.deep.equal([]);
    await (await fx.ethFeed.setPrice(parseUnits("1500", 18))).wait(); // -25% from the read before the restart
    expect((await pollNext(restarted)).map((a) => [a.kind, a.details.from, a.details.to])).to.deep.equal([
      ["price-feed-moved", "2000", "1500"],
    ]);
  });

  it("reads no feed when neither rule is on [test_priceFeeds_rulesOff_noReads]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const sink = new MemorySink("memory");
    const w = tower(fx, sink, tmpFile("checkpoint.json"), [{ rule: "emergency" }]);
    await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
    expect(await pollNext(w)).to.deep.equal([]);
    expect(sink.alerts).to.deep.equal([]);
  });

  it("checks readings without a chain: the same readings and state give the same alert ids [test_checkFeeds_pure_deterministicIds]", function () {
    const rules = parseMonitorConfig({ rules: RULES }).rules;
    const ctx = { chainId: "31337", module: ZeroAddress, block: 10, blockTime: 1000, detectedAtBlock: 11 };
    const reading = {
      asset: ZeroAddress,
      symbol: "ETH",
      feed: "0x0000000000000000000000000000000000000001",
      maxAge: 3600,
      trusted: false,
      fault: "StalePrice",
    };
    const a = checkFeeds(rules, [reading], emptyFeedWatchState(), ctx);
    const b = checkFeeds(rules, [reading], emptyFeedWatchState(), ctx);
    expect(a.alerts.map((x) => x.id)).to.deep.equal(b.alerts.map((x) => x.id));
    expect(a.alerts).to.have.length(1);
    expect(a.readings[ZeroAddress]).to.deep.equal({
      feed: reading.feed,
      trusted: false,
      fault: "StalePrice",
      block: 10,
      time: 1000,
    });
  });
});
