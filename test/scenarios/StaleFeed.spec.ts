/**
 * A price feed's keeper stops over a weekend (docs/THREAT-MODEL.md, A11). The payroll agent has a USD limit, and its
 * payments keep coming. Once the answers are older than the feeds' `maxAge`, no price can be trusted: every payment
 * waits for the co-signers with `NoTrustworthyPrice(intentId, asset, StalePrice)`, and none of them is a strike,
 * however many there are (the agent did nothing wrong: an outage must not freeze it). The co-signers pay what must
 * be paid; escalated spend is not charged to the USD window. When the keeper updates the price again, payments in
 * that asset run in the auto tier again, while the asset whose feed is still stale keeps waiting.
 */
import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import { ETH, HOUR, Status, cosignerSignatures, intentId, transferData } from "../fixtures";
import { AGENT_USD_LIMIT, MAX_AGE, PriceFault, USD, usdTreasuryFixture } from "../usdFixtures";
import { TreasuryBook } from "./model";

const HUNDRED = parseUnits("100", 6);

describe("Scenario: a price feed goes stale over a weekend", function () {
  it("sends every payment to the co-signers without a strike while the feeds are stale, and returns an asset to the auto tier once its price is fresh [test_staleFeedOverAWeekend_paymentsQueueWithoutStrikes_cosignersPay_freshPriceRestoresAutoTier]", async function () {
    const fx = await loadFixture(usdTreasuryFixture);
    const book = await TreasuryBook.open(fx);
    const usdcPayment = () => book.intent({ target: fx.usdcAddress, data: transferData(fx.alice.address, HUNDRED) });
    const send = async (intent: Awaited<ReturnType<typeof usdcPayment>>) =>
      fx.module.connect(fx.relayer).submit(intent, await book.signature(intent));

    // Friday evening: the last answers. Monday morning: older than maxAge (25 hours), all three feeds.
    await time.increase(MAX_AGE + 2 * HOUR);

    // Five payments, more than the agent's maxStrikes of 3: each queued for want of a price, none a strike.
    const waiting = [];
    for (let i = 0; i < 5; i++) {
      const intent = await usdcPayment();
      await expect(send(intent))
        .to.emit(fx.module, "NoTrustworthyPrice")
        .withArgs(intentId(fx, intent), fx.usdcAddress, PriceFault.StalePrice);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Queued);
      waiting.push(intent);
    }
    const eth = await book.intent({ target: fx.bob.address, value: parseEther("0.1") });
    await expect(fx.module.connect(fx.relayer).submit(eth, await book.signature(eth)))
      .to.emit(fx.module, "NoTrustworthyPrice")
      .withArgs(intentId(fx, eth), ETH, PriceFault.StalePrice);
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address), "an outage is not the agent's fault").to.equal(
      0n,
    );
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    expect(await fx.usdc.balanceOf(fx.alice.address), "nothing paid alone").to.equal(0n);

    // The co-signers pay the first invoice after its delay; escalated spend leaves the USD window alone.
    await time.increase(HOUR);
    const first = waiting[0];
    const sigs = await cosignerSignatures(fx, intentId(fx, first), [fx.cosigners[0], fx.cosigners[1]]);
    await expect(fx.module.connect(fx.relayer).executeQueued(first, sigs)).to.changeTokenBalance(
      fx.usdc,
      fx.alice,
      HUNDRED,
    );
    book.pay(fx.usdcAddress, fx.alice.address, HUNDRED);
    expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(AGENT_USD_LIMIT.autoPerWindow);

    // The USDC keeper wakes up: USDC payments run alone again and are charged to the USD window ($100).
    await (await fx.usdcFeed.setPrice(USD)).wait();
    const fresh = await usdcPayment();
    await expect(send(fresh)).to.emit(fx.module, "IntentExecuted");
    book.pay(fx.usdcAddress, fx.alice.address, HUNDRED);
    expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(
      AGENT_USD_LIMIT.autoPerWindow - 100n * USD,
    );
    // ETH's feed is still stale: its payments keep waiting.
    const stillStale = await book.intent({ target: fx.bob.address, value: parseEther("0.1") });
    await expect(fx.module.connect(fx.relayer).submit(stillStale, await book.signature(stillStale)))
      .to.emit(fx.module, "NoTrustworthyPrice")
      .withArgs(intentId(fx, stillStale), ETH, PriceFault.StalePrice);
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);

    await book.assertNothingLost();
  });
});
