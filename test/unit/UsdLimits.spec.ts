/**
 * USD caps from price feeds (SPEC section 11, v3; contracts/modules/UsdLimits.sol): one budget across every asset.
 * An agent with a USD limit has every spend valued in USD (rounded up) and charged to its own exact sliding USD
 * window on top of its per-asset limits; a price that cannot be trusted never lets a payment through the auto tier
 * and never strikes the agent: the intent is queued and `NoTrustworthyPrice` says why.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { encodeBytes32String, parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  Status,
  agentConfig,
  assetLimit,
  buildIntent,
  cosignerSignatures,
  intentId,
  sign,
  submitSigned,
  tokenPayment,
} from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import {
  AGENT_USD_LIMIT,
  FeedMode,
  MAX_AGE,
  PriceFault,
  USD,
  UsdTreasury,
  deployFeed,
  usdLimit,
  usdTreasuryFixture,
} from "../usdFixtures";

const fixture = usdTreasuryFixture;

async function usdc(fx: UsdTreasury, amount: string): Promise<Intent> {
  return tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits(amount, 6));
}

async function ethPayment(fx: UsdTreasury, ether: string): Promise<Intent> {
  return buildIntent(fx, { target: fx.alice.address, value: parseEther(ether) });
}

/** Submits and expects the status the static call reports, then sends it. */
async function submitExpect(fx: UsdTreasury, intent: Intent, status: bigint) {
  const signature = await sign(fx.agent, fx, intent);
  const [, got] = await fx.module.connect(fx.relayer).submit.staticCall(intent, signature);
  expect(got, "status").to.equal(status);
  return fx.module.connect(fx.relayer).submit(intent, signature);
}

/** Expects `intent` to be queued for want of a trustworthy price of `asset` (`fault`), with no strike and nothing moved. */
async function expectQueuedWithoutPrice(fx: UsdTreasury, intent: Intent, asset: string, fault: bigint): Promise<void> {
  const safeUsdc = await fx.usdc.balanceOf(fx.safeAddress);
  const safeEth = await ethers.provider.getBalance(fx.safeAddress);
  const available = await fx.module.availableUsdAllowance(fx.agent.address);
  const id_ = intentId(fx, intent);
  const tx = submitExpect(fx, intent, Status.Queued);
  await expect(tx).to.emit(fx.module, "IntentQueued");
  await expect(tx).to.emit(fx.module, "NoTrustworthyPrice").withArgs(id_, asset, fault);
  await expect(tx).to.not.emit(fx.module, "IntentDenied");
  await expect(tx).to.not.emit(fx.module, "IntentExecuted");
  expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued);
  expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address), "no strike").to.equal(0n);
  expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(safeUsdc);
  expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(safeEth);
  expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(available);
}

/**
 * A token that also accepts ETH with its transfer, `minted` whole tokens in the Safe, with the agent's USDC limit and
 * the USDC feed: a transfer sending ETH along is valued as both.
 */
async function payableTokenPricedAsUsdc(fx: UsdTreasury, minted: string) {
  const target = await ethers.deployContract("PayableToken");
  const address = await target.getAddress();
  await (await target.mint(fx.safeAddress, parseUnits(minted, 6))).wait();
  await (await fx.owner.setAssetLimit(fx.agent.address, address, fx.usdcLimit)).wait();
  await (await fx.owner.setPriceFeed(address, await fx.usdcFeed.getAddress(), MAX_AGE)).wait();
  return { address };
}

describe("UsdLimits", function () {
  describe("setPriceFeed", function () {
    it("stores the feed, its maxAge and the asset's decimals, and emits PriceFeedSet [test_setPriceFeed_storesFeedMaxAgeAndTheAssetsDecimals_emitsPriceFeedSet]", async function () {
      const fx = await loadFixture(fixture);
      const feed = await deployFeed(8, 3n * USD);
      const address = await feed.getAddress();
      await expect(fx.owner.setPriceFeed(fx.wethAddress, address, 3600))
        .to.emit(fx.module, "PriceFeedSet")
        .withArgs(fx.wethAddress, address, 3600);
      expect(await fx.lens.priceFeed(fx.moduleAddress, fx.wethAddress)).to.deep.equal([address, 3600n, 18n]);
      expect(await fx.lens.priceFeed(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([
        await fx.usdcFeed.getAddress(),
        BigInt(MAX_AGE),
        6n,
      ]);
      expect(await fx.lens.priceFeed(fx.moduleAddress, ETH)).to.deep.equal([
        await fx.ethFeed.getAddress(),
        BigInt(MAX_AGE),
        18n,
      ]);
    });

    it("removes an asset's feed when given address(0) [test_setPriceFeed_addressZero_removesTheFeed]", async function () {
      const fx = await loadFixture(fixture);
      await expect(fx.owner.setPriceFeed(fx.usdcAddress, ethers.ZeroAddress, 0))
        .to.emit(fx.module, "PriceFeedSet")
        .withArgs(fx.usdcAddress, ethers.ZeroAddress, 0);
      expect(await fx.lens.priceFeed(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([ethers.ZeroAddress, 0n, 0n]);
      expect(await fx.module.usdValue(fx.usdcAddress, 1n)).to.deep.equal([0n, PriceFault.NoFeed]);
    });

    it("refuses a zero maxAge, a feed without code or without usable decimals(), and an asset without decimals() or with more than 36, with PriceFeedInvalid naming the rule [test_setPriceFeed_unusableFeedOrAsset_revertsPriceFeedInvalidNamingTheRule]", async function () {
      const fx = await loadFixture(fixture);
      const feed = await deployFeed(8, USD);
      const address = await feed.getAddress();
      const invalid = (asset: string, f: string, rule: string) => [asset, f, encodeBytes32String(rule)];
      await expect(fx.owner.setPriceFeed(fx.wethAddress, address, 0))
        .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
        .withArgs(...invalid(fx.wethAddress, address, "maxAge == 0"));
      await expect(fx.owner.setPriceFeed(fx.wethAddress, fx.bob.address, 60))
        .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
        .withArgs(...invalid(fx.wethAddress, fx.bob.address, "feed has no code"));
      for (const mode of [FeedMode.RevertDecimals, FeedMode.BadDecimals]) {
        await (await feed.setMode(mode)).wait();
        await expect(fx.owner.setPriceFeed(fx.wethAddress, address, 60))
          .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
          .withArgs(...invalid(fx.wethAddress, address, "feed decimals"));
      }
      await (await feed.setMode(FeedMode.Normal)).wait();
      // An asset without decimals() (ERC-20 makes them optional) cannot be valued.
      const noDecimals = await (await ethers.deployContract("MockCallTarget")).getAddress();
      await expect(fx.owner.setPriceFeed(noDecimals, address, 60))
        .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
        .withArgs(...invalid(noDecimals, address, "asset decimals"));
      const huge = await ethers.deployContract("MockERC20", ["Huge", "HUGE", 37]);
      await expect(fx.owner.setPriceFeed(await huge.getAddress(), address, 60))
        .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
        .withArgs(...invalid(await huge.getAddress(), address, "asset decimals"));
      // The bound is inclusive: an asset of 36 decimals is accepted, and one whole token is worth the feed's price.
      const most = await ethers.deployContract("MockERC20", ["Most", "MOST", 36]);
      const mostAddress = await most.getAddress();
      await expect(fx.owner.setPriceFeed(mostAddress, address, 60))
        .to.emit(fx.module, "PriceFeedSet")
        .withArgs(mostAddress, address, 60);
      const [, answer] = await feed.latestRoundData();
      const feedDecimals = BigInt(await feed.decimals());
      const oneTokenUsd =
        feedDecimals <= 8n ? answer * 10n ** (8n - feedDecimals) : answer / 10n ** (feedDecimals - 8n);
      expect(await fx.module.usdValue(mostAddress, 10n ** 36n)).to.deep.equal([oneTokenUsd, PriceFault.None]);
    });

    it("refuses anyone but the Safe with ModuleCallerNotOwner [test_setPriceFeed_notOwner_revertsModuleCallerNotOwner]", async function () {
      const fx = await loadFixture(fixture);
      await expect(fx.module.connect(fx.attacker).setPriceFeed(fx.usdcAddress, await fx.usdcFeed.getAddress(), 60))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.attacker.address, fx.safeAddress);
    });
  });

  describe("setUsdLimit", function () {
    it("stores the USD limit, emits UsdLimitSet, and leaves the whole autoPerWindow available [test_setUsdLimit_storesTheLimit_emitsUsdLimitSet_fullAllowance]", async function () {
      const fx = await loadFixture(fixture);
      const limit = usdLimit(100n, 400n, HOUR, 1_000n);
      await expect(fx.owner.setUsdLimit(fx.agent.address, limit))
        .to.emit(fx.module, "UsdLimitSet")
        .withArgs(fx.agent.address, Object.values(limit));
      expect(await fx.lens.usdLimit(fx.moduleAddress, fx.agent.address)).to.deep.equal(Object.values(limit));
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(400n * USD);
      expect(await fx.lens.usdSpendEntries(fx.moduleAddress, fx.agent.address)).to.deep.equal([[], []]);
    });

    it("refuses inconsistent USD limits as setAssetLimit does, with UsdLimitInvalid naming the rule [test_setUsdLimit_inconsistent_revertsUsdLimitInvalidNamingTheRule]", async function () {
      const fx = await loadFixture(fixture);
      const cases: [ReturnType<typeof usdLimit>, string][] = [
        [usdLimit(1n, 2n, 0, 3n), "window == 0"],
        [usdLimit(3n, 2n, DAY, 3n), "autoPerTx > autoPerWindow"],
        [usdLimit(3n, 5n, DAY, 2n), "autoPerTx > escalatedPerTx"],
      ];
      for (const [limit, rule] of cases) {
        await expect(fx.owner.setUsdLimit(fx.agent.address, limit))
          .to.be.revertedWithCustomError(fx.module, "UsdLimitInvalid")
          .withArgs(fx.agent.address, encodeBytes32String(rule));
      }
      await expect(fx.owner.setUsdLimit(fx.bob.address, AGENT_USD_LIMIT))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
      await expect(fx.module.connect(fx.agent).setUsdLimit(fx.agent.address, AGENT_USD_LIMIT))
        .to.be.revertedWithCustomError(fx.module, "ModuleCallerNotOwner")
        .withArgs(fx.agent.address, fx.safeAddress);
    });

    it("removes the USD limit when given all zeros, after which payments read no feed [test_setUsdLimit_allZeros_removesIt_andPaymentsNoLongerReadFeeds]", async function () {
      const fx = await loadFixture(fixture);
      await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
      await expect(fx.owner.setUsdLimit(fx.agent.address, usdLimit(0n, 0n, 0, 0n))).to.emit(fx.module, "UsdLimitSet");
      expect(await fx.lens.usdLimit(fx.moduleAddress, fx.agent.address)).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n);
      // Without a USD limit a broken feed is irrelevant: the per-asset limits alone decide.
      await expect(submitExpect(fx, await usdc(fx, "100"), Status.Executed)).to.changeTokenBalance(
        fx.usdc,
        fx.alice,
        parseUnits("100", 6),
      );
    });

    it("keeps the USD limit and its window with the agent identity through key rotation and removal [test_usdLimit_followsTheIdentity_throughRotationAndRemoval_historyKept]", async function () {
      const fx = await loadFixture(fixture);
      await (await submitExpect(fx, await usdc(fx, "1000"), Status.Executed)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(2_000n * USD);
      const newKey = fx.signers[15];
      await (await fx.owner.rotateAgent(fx.agent.address, newKey.address)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n); // retired key
      expect(await fx.lens.usdLimit(fx.moduleAddress, newKey.address)).to.deep.equal(Object.values(AGENT_USD_LIMIT));
      expect(await fx.module.availableUsdAllowance(newKey.address)).to.equal(2_000n * USD);
      await (await fx.owner.removeAgent(newKey.address)).wait();
      expect(await fx.module.availableUsdAllowance(newKey.address)).to.equal(0n);
      await (await fx.owner.setAgent(newKey.address, agentConfig())).wait();
      expect(await fx.module.availableUsdAllowance(newKey.address), "re-adding refreshes nothing").to.equal(
        2_000n * USD,
      );
      // The rotated key's payments are still valued: $1,600 of ETH is above its USD autoPerTx of $1,500.
      const intent = await buildIntent(fx, {
        agent: newKey.address,
        target: fx.alice.address,
        value: parseEther("0.8"),
      });
      await expect(submitSigned(fx, intent, newKey)).to.emit(fx.module, "IntentQueued");
    });
  });

  describe("one budget across every asset", function () {
    it("charges spends of different assets to one USD window, and queues the next spend beyond it though each asset window has room [test_spendsOfDifferentAssets_chargeOneUsdWindow_thenTheNextIsQueued]", async function () {
      const fx = await loadFixture(fixture);
      await (await submitExpect(fx, await usdc(fx, "1000"), Status.Executed)).wait(); // $1,000
      await (await submitExpect(fx, await ethPayment(fx, "0.5"), Status.Executed)).wait(); // $1,000 at $2,000/ETH
      const dai = await tokenPayment(fx, fx.daiAddress, fx.alice.address, parseUnits("999", 18));
      await (await submitExpect(fx, dai, Status.Executed)).wait(); // $999
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(1n * USD);
      const [releaseAt, amounts] = await fx.lens.usdSpendEntries(fx.moduleAddress, fx.agent.address);
      expect(amounts).to.deep.equal([1_000n * USD, 1_000n * USD, 999n * USD]);
      expect(releaseAt.length).to.equal(3);
      // Each asset's own window has room (USDC 4,000 left), but the USD window has $1 left.
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("4000", 6));
      const over = await usdc(fx, "2");
      const tx = submitExpect(fx, over, Status.Queued);
      await expect(tx).to.emit(fx.module, "IntentQueued");
      await expect(tx).to.not.emit(fx.module, "NoTrustworthyPrice");
      await (await submitExpect(fx, await usdc(fx, "1"), Status.Executed)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n);
    });

    it("charges each intent of a submitBatch to the USD window as it is decided, so the batch's later payments see what the earlier ones spent across assets [test_submitBatch_usdLimitedAgent_eachIntentChargedToTheUsdWindowInOrder]", async function () {
      const fx = await loadFixture(fixture);
      const start = await fx.module.getNonce(fx.agent.address, 0);
      const at = (i: number) => ({ nonce: start + BigInt(i) });
      const intents = [
        await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("1000", 6), at(0)), // $1,000
        await buildIntent(fx, { target: fx.bob.address, value: parseEther("0.5"), ...at(1) }), // $1,000 at $2,000/ETH
        await tokenPayment(fx, fx.daiAddress, fx.alice.address, parseUnits("900", 18), at(2)), // $900
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("200", 6), at(3)), // $200: $100 is left
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("100", 6), at(4)), // exactly the $100 left
      ];
      const signatures = await Promise.all(intents.map((i) => sign(fx.agent, fx, i)));
      const ids = intents.map((i) => intentId(fx, i));
      const [, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
      expect(statuses).to.deep.equal([
        Status.Executed,
        Status.Executed,
        Status.Executed,
        Status.Queued,
        Status.Executed,
      ]);
      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx).to.emit(fx.module, "IntentQueued").withArgs(ids[3], fx.agent.address, anyValue, anyValue);
      await expect(tx).to.not.emit(fx.module, "NoTrustworthyPrice");
      // Each asset's window has room for the queued payment (USDC: 5,000 per day, 1,100 spent); the USD window had not.
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("3900", 6));
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n);
      // One transaction, one second: the four auto payments share one entry of the USD ring, with their exact sum.
      const [releaseAt, amounts] = await fx.lens.usdSpendEntries(fx.moduleAddress, fx.agent.address);
      expect(amounts).to.deep.equal([3_000n * USD]);
      const block = await ethers.provider.getBlock((await (await tx).wait())!.blockNumber);
      expect(releaseAt).to.deep.equal([BigInt(block!.timestamp) + BigInt(DAY)]);
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(parseUnits("100", 6));
    });

    it("keeps an exact sliding USD window: a spend counts until exactly window seconds after it [test_usdWindow_isExactAndSliding]", async function () {
      const fx = await loadFixture(fixture);
      const paid = await (await submitExpect(fx, await ethPayment(fx, "0.75"), Status.Executed)).wait(); // $1,500
      const first = BigInt((await paid!.getBlock()).timestamp);
      await time.increase(HOUR);
      await (await submitExpect(fx, await ethPayment(fx, "0.75"), Status.Executed)).wait();
      // One second before the first spend leaves the window, nothing is left; at that second $1,500 is.
      await time.setNextBlockTimestamp(first + BigInt(DAY) - 1n);
      await (await fx.usdcFeed.setPrice(USD)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n);
      await time.setNextBlockTimestamp(first + BigInt(DAY));
      await (await fx.ethFeed.setPrice(parseUnits("2000", 18))).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(1_500n * USD);
    });

    it("queues a payment above the USD autoPerTx though it is within the asset's auto tier [test_aboveUsdAutoPerTx_butWithinTheAssetsAutoTier_isQueued]", async function () {
      const fx = await loadFixture(fixture);
      // 0.8 ETH is within the ETH autoPerTx of 1, but $1,600 is above the USD autoPerTx of $1,500.
      const tx = submitExpect(fx, await ethPayment(fx, "0.8"), Status.Queued);
      await expect(tx).to.emit(fx.module, "IntentQueued");
      await expect(tx).to.not.emit(fx.module, "NoTrustworthyPrice");
    });

    it("denies a payment above the USD hard cap (trusted price) with AboveHardCap and a strike, though it is within the asset's hard cap [test_aboveUsdHardCap_withinTheAssetsHardCap_isDeniedAboveHardCap_withAStrike]", async function () {
      const fx = await loadFixture(fixture);
      // 25,000 USDC is within its escalatedPerTx of 50,000 but $25,000 is above the USD hard cap of $20,000.
      const intent = await usdc(fx, "25000");
      await expect(submitExpect(fx, intent, Status.Denied))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      await expect(submitExpect(fx, await usdc(fx, "20000"), Status.Queued)).to.emit(fx.module, "IntentQueued");
    });

    it("values a token transfer and the ETH sent along it together [test_tokenTransferWithEth_valuesBothTogether]", async function () {
      const fx = await loadFixture(fixture);
      const { address } = await payableTokenPricedAsUsdc(fx, "10000");
      // 1,000 tokens ($1,000) plus 0.2 ETH ($400) = $1,400, within $1,500 per payment.
      const both = await tokenPayment(fx, address, fx.alice.address, parseUnits("1000", 6), {
        value: parseEther("0.2"),
      });
      await (await submitExpect(fx, both, Status.Executed)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(1_600n * USD);
      // 1,000 tokens plus 0.3 ETH = $1,600: above the USD autoPerTx.
      const over = await tokenPayment(fx, address, fx.alice.address, parseUnits("1000", 6), {
        value: parseEther("0.3"),
      });
      await expect(submitExpect(fx, over, Status.Queued)).to.emit(fx.module, "IntentQueued");
    });

    it("values only the ETH sent along a transfer of zero tokens, reading no price for the token [test_zeroTokenTransferWithEth_valuesOnlyTheEth]", async function () {
      const fx = await loadFixture(fixture);
      const { address } = await payableTokenPricedAsUsdc(fx, "10000");
      // The token's feed is down: a transfer of zero tokens needs no price for them, only for the ETH.
      await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
      const zeroTokens = await tokenPayment(fx, address, fx.alice.address, 0n, { value: parseEther("0.2") });
      const tx = submitExpect(fx, zeroTokens, Status.Executed);
      await expect(tx).to.changeEtherBalance(address, parseEther("0.2"));
      await expect(tx).to.not.emit(fx.module, "NoTrustworthyPrice");
      // 0.2 ETH at $2,000 is $400, charged to the USD window.
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(2_600n * USD);
      const [, amounts] = await fx.lens.usdSpendEntries(fx.moduleAddress, fx.agent.address);
      expect(amounts).to.deep.equal([400n * USD]);
    });

    it("denies AboveHardCap with a strike, instead of overflowing, when a token's saturated USD value and the ETH sent along it are summed [test_saturatedTokenValuePlusEthAlong_sumSaturates_deniedAboveHardCap]", async function () {
      const fx = await loadFixture(fixture);
      const target = await ethers.deployContract("PayableToken"); // 6 decimals
      const address = await target.getAddress();
      const amount = 1n << 127n;
      await (await target.mint(fx.safeAddress, amount)).wait();
      await (
        await fx.owner.setAssetLimit(fx.agent.address, address, assetLimit(1n, 1n, DAY, (1n << 128n) - 1n))
      ).wait();
      // A feed with 0 decimals: 6 + 0 decimals scale up by 10^2, and 2^127 tokens at 2^127 are beyond 256 bits.
      const feed = await deployFeed(0, 1n << 127n);
      await (await fx.owner.setPriceFeed(address, await feed.getAddress(), MAX_AGE)).wait();
      expect(await fx.module.usdValue(address, amount)).to.deep.equal([ethers.MaxUint256, PriceFault.None]);
      // One wei of ETH along is worth one USD unit (rounded up): the sum saturates too.
      expect(await fx.module.usdValue(ETH, 1n)).to.deep.equal([1n, PriceFault.None]);
      const intent = await tokenPayment(fx, address, fx.alice.address, amount, { value: 1n });
      await expect(submitExpect(fx, intent, Status.Denied))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      expect(await target.balanceOf(fx.safeAddress)).to.equal(amount);
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(AGENT_USD_LIMIT.autoPerWindow);
    });

    it("needs no price for a call that spends nothing [test_callWithoutValue_needsNoPrice]", async function () {
      const fx = await loadFixture(fixture);
      const target = await ethers.deployContract("MockCallTarget");
      const address = await target.getAddress();
      const ping = target.interface.encodeFunctionData("ping", [7n]);
      await (await fx.owner.setAllowedCall(fx.agent.address, address, ping.slice(0, 10), true)).wait();
      await (await fx.ethFeed.setMode(FeedMode.Revert)).wait();
      const call = await buildIntent(fx, { target: address, data: ping });
      await expect(submitExpect(fx, call, Status.Executed)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(AGENT_USD_LIMIT.autoPerWindow);
      // Even a USD limit without an auto tier has nothing to say about a call that spends nothing.
      await (await fx.owner.setUsdLimit(fx.agent.address, usdLimit(0n, 0n, DAY, 20_000n))).wait();
      await expect(submitExpect(fx, await buildIntent(fx, { target: address, data: ping }), Status.Executed)).to.emit(
        fx.module,
        "IntentExecuted",
      );
      // While any spend of it waits for co-signers.
      await expect(submitExpect(fx, await usdc(fx, "1"), Status.Queued)).to.emit(fx.module, "IntentQueued");
    });
  });

  describe("rounding and decimals", function () {
    it("rounds values up: exactly the cap executes, one base unit more queues, and one wei is worth at least one USD unit [test_valuation_roundsUp_atTheCapsEdge]", async function () {
      const fx = await loadFixture(fixture);
      // DAI has 18 decimals and a $1 feed with 8: 1,500 DAI is exactly $1,500.00000000, the USD autoPerTx.
      const edge = parseUnits("1500", 18);
      expect(await fx.module.usdValue(fx.daiAddress, edge)).to.deep.equal([1_500n * USD, PriceFault.None]);
      expect(await fx.module.usdValue(fx.daiAddress, edge + 1n)).to.deep.equal([1_500n * USD + 1n, PriceFault.None]);
      expect(await fx.module.usdValue(fx.daiAddress, 1n), "one wei is worth at least one unit").to.deep.equal([
        1n,
        PriceFault.None,
      ]);
      await (
        await fx.owner.setAssetLimit(fx.agent.address, fx.daiAddress, {
          autoPerTx: parseUnits("5000", 18),
          autoPerWindow: parseUnits("5000", 18),
          window: DAY,
          escalatedPerTx: parseUnits("50000", 18),
        })
      ).wait();
      const over = await tokenPayment(fx, fx.daiAddress, fx.alice.address, edge + 1n);
      await expect(submitExpect(fx, over, Status.Queued)).to.emit(fx.module, "IntentQueued");
      const exact = await tokenPayment(fx, fx.daiAddress, fx.alice.address, edge);
      await (await submitExpect(fx, exact, Status.Executed)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(1_500n * USD);
      // The window's edge: what is left, exactly, executes; one wei more is queued.
      const tooMuch = await tokenPayment(fx, fx.daiAddress, fx.alice.address, edge + 1n);
      await (await fx.owner.setUsdLimit(fx.agent.address, usdLimit(3_000n, 3_000n, DAY, 20_000n))).wait();
      await expect(submitExpect(fx, tooMuch, Status.Queued)).to.emit(fx.module, "IntentQueued");
      await (
        await submitExpect(fx, await tokenPayment(fx, fx.daiAddress, fx.alice.address, 1n), Status.Executed)
      ).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address), "1 wei charged as 1 unit").to.equal(
        1_500n * USD - 1n,
      );
      const rest = await tokenPayment(fx, fx.daiAddress, fx.alice.address, edge - parseUnits("1", 10));
      await (await submitExpect(fx, rest, Status.Executed)).wait();
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n);
    });

    it("values alike with 8- and 18-decimal feeds: the feed's decimals are read, never assumed [test_valuation_8And18DecimalFeeds_agree]", async function () {
      const fx = await loadFixture(fixture);
      const feed8 = await deployFeed(8, 2_000n * USD);
      await (await fx.owner.setPriceFeed(fx.wethAddress, await feed8.getAddress(), MAX_AGE)).wait();
      for (const amount of [1n, parseEther("0.5"), parseEther("1") + 1n, 123456789012345678n]) {
        const [viaEighteen] = await fx.module.usdValue(ETH, amount);
        const [viaEight] = await fx.module.usdValue(fx.wethAddress, amount);
        expect(viaEight, `amount ${amount}`).to.equal(viaEighteen);
        // ceil(amount * 2000 * 1e8 / 1e18)
        const expected = (amount * 2_000n * USD + 10n ** 18n - 1n) / 10n ** 18n;
        expect(viaEight, `amount ${amount}`).to.equal(expected);
      }
      // A 6-decimal token with a 6-decimal feed scales up to 8 decimals: 2.5 units at $3.25 = $8.125.
      const feed6 = await deployFeed(6, 3_250_000n);
      await (await fx.owner.setPriceFeed(fx.usdcAddress, await feed6.getAddress(), MAX_AGE)).wait();
      expect(await fx.module.usdValue(fx.usdcAddress, 2_500_000n)).to.deep.equal([812_500_000n, PriceFault.None]);
      // And both 18-decimal asset and feed: 1 wei at $1 is 1e-26 dollars, rounded up to one unit.
      const feed18 = await deployFeed(18, 10n ** 18n);
      await (await fx.owner.setPriceFeed(fx.daiAddress, await feed18.getAddress(), MAX_AGE)).wait();
      expect(await fx.module.usdValue(fx.daiAddress, 1n)).to.deep.equal([1n, PriceFault.None]);
      expect(await fx.module.usdValue(fx.daiAddress, parseUnits("1500", 18))).to.deep.equal([
        1_500n * USD,
        PriceFault.None,
      ]);
    });

    it("scales up, exactly, when the asset's and the feed's decimals together are below 8 [test_valuation_decimalsBelowEight_scalesUpExactly]", async function () {
      const fx = await loadFixture(fixture);
      // A 2-decimal token with a 4-decimal feed: 1.50 units at $2.5000 = $3.75, multiplied by 10^(8 - 6).
      const cents = await ethers.deployContract("MockERC20", ["Cents", "CTS", 2]);
      const feed4 = await deployFeed(4, 25_000n);
      await (await fx.owner.setPriceFeed(await cents.getAddress(), await feed4.getAddress(), MAX_AGE)).wait();
      expect(await fx.module.usdValue(await cents.getAddress(), 150n)).to.deep.equal([
        375n * 1_000_000n,
        PriceFault.None,
      ]);
      expect(await fx.module.usdValue(await cents.getAddress(), 1n)).to.deep.equal([2_500_000n, PriceFault.None]);
      // No decimals on either side: 3 whole units at $7 = $21.
      const whole = await ethers.deployContract("MockERC20", ["Whole", "WHL", 0]);
      const feed0 = await deployFeed(0, 7n);
      await (await fx.owner.setPriceFeed(await whole.getAddress(), await feed0.getAddress(), MAX_AGE)).wait();
      expect(await fx.module.usdValue(await whole.getAddress(), 3n)).to.deep.equal([21n * USD, PriceFault.None]);
    });

    it("values a scaled-up amount beyond 256 bits as above every cap, and the largest one that fits exactly [test_valuation_decimalsBelowEight_beyond256Bits_saturates]", async function () {
      const fx = await loadFixture(fixture);
      const whole = await ethers.deployContract("MockERC20", ["Whole", "WHL", 0]);
      const wholeAddress = await whole.getAddress();
      const amount = (1n << 128n) - 1n; // the largest amount valued at all
      // The largest price at which amount * price * 10^8 still fits in 256 bits.
      const price = ethers.MaxUint256 / USD / amount;
      const feed = await deployFeed(0, price);
      await (await fx.owner.setPriceFeed(wholeAddress, await feed.getAddress(), MAX_AGE)).wait();
      const [fits] = await fx.module.usdValue(wholeAddress, amount);
      expect(fits).to.equal(amount * price * USD);
      expect(fits < ethers.MaxUint256).to.equal(true);
      await (await feed.setPrice(price + 1n)).wait();
      expect(await fx.module.usdValue(wholeAddress, amount)).to.deep.equal([ethers.MaxUint256, PriceFault.None]);
    });

    it("values an amount too large to price as above every cap [test_valuation_hugeAmount_saturatesAboveEveryCap]", async function () {
      const fx = await loadFixture(fixture);
      expect(await fx.module.usdValue(fx.daiAddress, 1n << 128n)).to.deep.equal([ethers.MaxUint256, PriceFault.None]);
    });
  });

  describe("a price that cannot be trusted", function () {
    it("queues a payment in an asset without a feed with NoTrustworthyPrice(NoFeed), no strike, nothing moved [test_noFeed_queuesWithoutStrike_NoFeed]", async function () {
      const fx = await loadFixture(fixture);
      // WETH has an asset limit but no feed.
      const intent = await tokenPayment(fx, fx.wethAddress, fx.alice.address, parseEther("0.1"));
      await expectQueuedWithoutPrice(fx, intent, fx.wethAddress, PriceFault.NoFeed);
    });

    it("queues on an answer of zero or below with NonPositivePrice, without a strike [test_answerZeroOrNegative_queuesWithoutStrike_NonPositivePrice]", async function () {
      const fx = await loadFixture(fixture);
      for (const answer of [0n, -1n]) {
        await (await fx.usdcFeed.setPrice(answer)).wait();
        await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.NonPositivePrice);
        expect(await fx.module.usdValue(fx.usdcAddress, 1n)).to.deep.equal([0n, PriceFault.NonPositivePrice]);
      }
    });

    it("queues on an answer older than maxAge with StalePrice, without a strike; an answer exactly maxAge old is fresh [test_olderThanMaxAge_queuesWithoutStrike_StalePrice_butExactlyMaxAgeIsFresh]", async function () {
      const fx = await loadFixture(fixture);
      const updatedAt = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(updatedAt);
      await (await fx.usdcFeed.setPrice(USD)).wait();
      const fresh = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("10", 6), {
        validUntil: updatedAt + BigInt(MAX_AGE) + BigInt(HOUR),
      });
      const freshSig = await sign(fx.agent, fx, fresh);
      await time.setNextBlockTimestamp(updatedAt + BigInt(MAX_AGE));
      await expect(fx.module.connect(fx.relayer).submit(fresh, freshSig)).to.emit(fx.module, "IntentExecuted");
      await time.setNextBlockTimestamp(updatedAt + BigInt(MAX_AGE) + 1n);
      await ethers.provider.send("evm_mine", []);
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.StalePrice);
    });

    it("queues on an incomplete round (updatedAt 0, or answeredInRound below roundId) with IncompleteRound, without a strike [test_incompleteRound_queuesWithoutStrike_IncompleteRound]", async function () {
      const fx = await loadFixture(fixture);
      const now = BigInt(await time.latest());
      await (await fx.usdcFeed.setRound(7n, USD, now, 0n, 7n)).wait(); // updatedAt == 0
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.IncompleteRound);
      await (await fx.usdcFeed.setRound(8n, USD, now, now, 7n)).wait(); // answeredInRound < roundId
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.IncompleteRound);
    });

    it("queues with FeedReverted, without a strike, when the feed reverts, its decimals() reverts or it burns its gas [test_feedReverts_queuesWithoutStrike_FeedReverted]", async function () {
      const fx = await loadFixture(fixture);
      await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.FeedReverted);
      await (await fx.usdcFeed.setMode(FeedMode.RevertDecimals)).wait();
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.FeedReverted);
      await (await fx.usdcFeed.setMode(FeedMode.BurnGas)).wait();
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.FeedReverted);
    });

    it("queues with MalformedAnswer, without a strike, on a short answer, decimals out of range, an answer of 2^128 or more, or an update in the future [test_malformedAnswers_queueWithoutStrike_MalformedAnswer]", async function () {
      const fx = await loadFixture(fixture);
      await (await fx.usdcFeed.setMode(FeedMode.ShortAnswer)).wait(); // four words instead of five
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.MalformedAnswer);
      await (await fx.usdcFeed.setMode(FeedMode.BadDecimals)).wait(); // decimals() answers 300
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.MalformedAnswer);
      await (await fx.usdcFeed.setMode(FeedMode.Normal)).wait();
      await (await fx.usdcFeed.setPrice(1n << 128n)).wait(); // beyond any real price
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.MalformedAnswer);
      const now = BigInt(await time.latest());
      await (await fx.usdcFeed.setRound(9n, USD, now, now + 3600n, 9n)).wait(); // updated in the future
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.MalformedAnswer);
    });

    it("names ETH in NoTrustworthyPrice when the price of the ETH sent along a token transfer cannot be trusted [test_untrustedEthPrice_alongATokenTransfer_namesEth]", async function () {
      const fx = await loadFixture(fixture);
      const { address } = await payableTokenPricedAsUsdc(fx, "10000");
      await (await fx.ethFeed.setPrice(0n)).wait();
      const both = await tokenPayment(fx, address, fx.alice.address, parseUnits("10", 6), {
        value: parseEther("0.01"),
      });
      await expectQueuedWithoutPrice(fx, both, ETH, PriceFault.NonPositivePrice);
    });

    it("names the token in NoTrustworthyPrice when the token's price cannot be trusted, whether or not the ETH's sent along can [test_untrustedTokenPrice_withEthAlong_namesTheToken]", async function () {
      const fx = await loadFixture(fixture);
      const { address } = await payableTokenPricedAsUsdc(fx, "10000");
      await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
      const both = async () =>
        tokenPayment(fx, address, fx.alice.address, parseUnits("10", 6), { value: parseEther("0.01") });
      await expectQueuedWithoutPrice(fx, await both(), address, PriceFault.FeedReverted);
      // With both prices untrusted, the first unpriced asset (the token) and its fault are reported.
      await (await fx.ethFeed.setPrice(0n)).wait();
      await expectQueuedWithoutPrice(fx, await both(), address, PriceFault.FeedReverted);
    });

    it("queues with MalformedAnswer, without a strike, when the feed's decimals() answers less than a word, and setPriceFeed refuses such a feed and an asset without code [test_shortDecimalsAnswer_queuesWithoutStrike_MalformedAnswer]", async function () {
      const fx = await loadFixture(fixture);
      await (await fx.usdcFeed.setMode(FeedMode.ShortDecimals)).wait();
      expect(await fx.module.usdValue(fx.usdcAddress, 1n)).to.deep.equal([0n, PriceFault.MalformedAnswer]);
      await expectQueuedWithoutPrice(fx, await usdc(fx, "10"), fx.usdcAddress, PriceFault.MalformedAnswer);
      const feedAddress = await fx.usdcFeed.getAddress();
      await expect(fx.owner.setPriceFeed(fx.wethAddress, feedAddress, 60))
        .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
        .withArgs(fx.wethAddress, feedAddress, encodeBytes32String("feed decimals"));
      // An address without code answers every call with nothing: no decimals, so no asset to price.
      const healthy = await (await deployFeed(8, USD)).getAddress();
      await expect(fx.owner.setPriceFeed(fx.bob.address, healthy, 60))
        .to.be.revertedWithCustomError(fx.module, "PriceFeedInvalid")
        .withArgs(fx.bob.address, healthy, encodeBytes32String("asset decimals"));
    });

    it("denies AboveHardCap when the part of a spend with a trusted price is alone above the USD hard cap [test_untrustedPrice_butTheTrustedPartAboveTheHardCap_isDenied]", async function () {
      const fx = await loadFixture(fixture);
      const { address } = await payableTokenPricedAsUsdc(fx, "100000");
      await (await fx.ethFeed.setMode(FeedMode.Revert)).wait();
      // $21,000 of tokens is above the $20,000 hard cap whatever the ETH sent along is worth.
      const intent = await tokenPayment(fx, address, fx.alice.address, parseUnits("21000", 6), { value: 1n });
      await expect(submitExpect(fx, intent, Status.Denied))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
    });

    it("lets no gas limit turn a payment with a healthy feed into a queued intent [test_aShortGasLimit_cannotForceAQueue_healthyFeed]", async function () {
      const fx = await loadFixture(fixture);
      const intent = await usdc(fx, "10");
      const signature = await sign(fx.agent, fx, intent);
      const submit = fx.module.connect(fx.relayer).submit;
      const needed = await submit.estimateGas(intent, signature);
      const outcomes = new Set<string>();
      for (let gas = needed - 40_000n; gas <= needed + 2_000n; gas += 500n) {
        try {
          const [, status] = await submit.staticCall(intent, signature, { gasLimit: gas });
          outcomes.add(`status ${status}`);
          expect(status, `gas ${gas}`).to.equal(Status.Executed);
        } catch (e) {
          if ((e as Error).message.includes("status")) throw e;
          outcomes.add("reverted");
        }
      }
      expect([...outcomes].sort()).to.deep.equal(["reverted", `status ${Status.Executed}`]);
    });

    it("reverts PriceReadOutOfGas when a read fails with too little gas left to tell the feed from the caller's gas limit [test_aShortGasLimit_onAGasBurningFeed_revertsPriceReadOutOfGas]", async function () {
      const fx = await loadFixture(fixture);
      await (await fx.usdcFeed.setMode(FeedMode.BurnGas)).wait();
      const intent = await usdc(fx, "10");
      const signature = await sign(fx.agent, fx, intent);
      const submit = fx.module.connect(fx.relayer).submit;
      let outOfGas = 0;
      for (let gas = 120_000n; gas <= 200_000n; gas += 2_000n) {
        try {
          const [, status] = await submit.staticCall(intent, signature, { gasLimit: gas });
          expect(status, `gas ${gas}`).to.equal(Status.Queued);
        } catch (e) {
          const data = (e as { data?: string }).data;
          if (data !== undefined && data.startsWith(fx.module.interface.getError("PriceReadOutOfGas")!.selector)) {
            expect(fx.module.interface.parseError(data)!.args[0]).to.equal(await fx.usdcFeed.getAddress());
            outOfGas++;
          }
        }
      }
      expect(outOfGas, "some short gas limit meets the guard").to.be.greaterThan(0);
      // With gas to spare, the burning feed is simply untrusted.
      await expectQueuedWithoutPrice(fx, intent, fx.usdcAddress, PriceFault.FeedReverted);
    });

    it("never reads a feed for an agent without a USD limit, whatever the feeds do [test_agentWithoutUsdLimit_isNeverAffectedByFeeds]", async function () {
      const fx = await loadFixture(fixture);
      const other = fx.signers[14];
      await (await fx.owner.setAgent(other.address, agentConfig())).wait();
      await (await fx.owner.setAssetLimit(other.address, fx.usdcAddress, fx.usdcLimit)).wait();
      await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("10", 6), {
        agent: other.address,
      });
      await expect(submitSigned(fx, intent, other)).to.emit(fx.module, "IntentExecuted");
    });
  });

  describe("escalated path", function () {
    it("executes an intent queued for want of a price once the co-signers approve, even while the price is still untrusted [test_queuedForNoPrice_executesWithCosigners_evenWhileThePriceIsStillUntrusted]", async function () {
      const fx = await loadFixture(fixture);
      await (await fx.usdcFeed.setMode(FeedMode.Revert)).wait();
      const intent = await usdc(fx, "100");
      await (await submitExpect(fx, intent, Status.Queued)).wait();
      await time.increase(HOUR);
      const sigs = await cosignerSignatures(fx, intentId(fx, intent), [fx.cosigners[0], fx.cosigners[1]]);
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, sigs)).to.changeTokenBalance(
        fx.usdc,
        fx.alice,
        parseUnits("100", 6),
      );
      // Escalated spend never consumes the auto window, in USD as in the asset.
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(AGENT_USD_LIMIT.autoPerWindow);
    });

    it("refuses to execute a queued intent whose value is above the USD hard cap at execution, with IntentPolicyViolation(AboveHardCap) [test_executeQueued_aboveTheUsdHardCapAtExecution_revertsIntentPolicyViolation]", async function () {
      const fx = await loadFixture(fixture);
      const intent = await usdc(fx, "5000");
      await (await submitExpect(fx, intent, Status.Queued)).wait();
      await time.increase(HOUR);
      await (await fx.usdcFeed.setPrice(USD)).wait();
      await (await fx.owner.setUsdLimit(fx.agent.address, usdLimit(1_000n, 3_000n, DAY, 4_000n))).wait();
      const id_ = intentId(fx, intent);
      const sigs = await cosignerSignatures(fx, id_, [fx.cosigners[0], fx.cosigners[1]]);
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, sigs))
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(id_, DenyReason.AboveHardCap);
    });
  });
});
