/**
 * Review item 6 (R5): a relayer holding several pre-signed intents of one agent releases them in a burst, past the
 * agent's rate limit. SPEC section 5 counts every accepted intent against the rate limit (executed, queued or
 * denied) and makes a burst past it a strike too, by design: an agent that floods its fence is treated like one that
 * probes it. So a relayer that withholds intents and releases them at once can get the agent frozen. This story
 * shows exactly what happens and what bounds it. The agent: `maxIntentsPerWindow` 3 per 600 s (two buckets of
 * 300 s), `maxStrikes` 3 per day, ETH auto tier 1 per payment and 3 per day. It pre-signs seven payments of 0.1 ETH
 * to alice (a payroll queue) and hands them to a relayer, which sends the first six within six seconds.
 * Threat: a malicious relayer (docs/THREAT-MODEL.md, T-BURST).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, id, parseEther } from "ethers";
import { DenyReason, ETH, HOUR, Status, agentConfig, intentId, treasuryFixture } from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { TreasuryBook } from "./model";

const RATE_WINDOW = 600n;
const BUCKET = 300n; // ceil(RATE_WINDOW / 2)
const TENTH = parseEther("0.1");
const SAFE_ETH = parseEther("100");

describe("Scenario: a relayer releases pre-signed intents in a burst (review item 6)", function () {
  it("test_relayerBurst_pastRateLimit_rateLimitedStrikesFreeze_ownersUnfreeze", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const m = fx.module.interface;
    await book.asOwners(
      m.encodeFunctionData("setAgent", [
        fx.agent.address,
        agentConfig({ maxIntentsPerWindow: 3n, rateWindow: RATE_WINDOW, maxStrikes: 3n }),
      ]),
    );

    // The agent pre-signs seven payments, nonces 0 to 6, valid for two hours.
    const validUntil = BigInt(await time.latest()) + 2n * BigInt(HOUR);
    const signed: { intent: Intent; signature: string }[] = [];
    for (let n = 0n; n < 7n; n++) {
      const intent = await book.intent({ value: TENTH, nonce: n, validUntil, rationale: id(`payroll line ${n}`) });
      signed.push({ intent, signature: await book.signature(intent) });
    }
    const send = (i: number) => fx.module.connect(fx.relayer).submit(signed[i].intent, signed[i].signature);

    // The burst: six submissions at t0 .. t0+5, all in one 300-second bucket of the rate counter.
    const t0 = (BigInt(await time.latest()) / BUCKET + 2n) * BUCKET;
    for (let i = 0; i < 6; i++) {
      await time.setNextBlockTimestamp(t0 + BigInt(i));
      const { intent } = signed[i];
      const tx = send(i);
      if (i < 3) {
        // 1 to 3: within the rate limit, executed in the auto tier.
        await expect(tx)
          .to.emit(fx.module, "IntentExecuted")
          .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, TENTH, false, intent.rationale);
        book.pay(ETH, fx.alice.address, TENTH);
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      } else {
        // 4 to 6: past the limit. Denied RateLimited, nonce consumed, one strike each; the third strike freezes.
        await expect(tx)
          .to.emit(fx.module, "IntentDenied")
          .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.RateLimited, intent.rationale);
        expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Denied);
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(BigInt(i - 2));
        if (i === 5)
          await expect(tx)
            .to.emit(fx.module, "AgentFrozen")
            .withArgs(fx.agent.address, fx.moduleAddress, encodeBytes32String("strikes"));
      }
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(BigInt(i + 1));
    }
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(6n);
    // The damage: 0.3 ETH paid, exactly what the agent signed and its policy allowed; the denials moved nothing.
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - 3n * TENTH);
    expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3") - 3n * TENTH);

    // The seventh is rejected while the agent is frozen: not recorded, nonce 6 still free.
    await time.setNextBlockTimestamp(t0 + 6n);
    await expect(send(6)).to.be.revertedWithCustomError(fx.module, "AgentIsFrozen").withArgs(fx.agent.address);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(6n);

    // The owners see a relayer problem, not a compromised agent, and unfreeze: strikes cleared.
    await time.setNextBlockTimestamp(t0 + 60n);
    await book.asOwners(m.encodeFunctionData("unfreezeAgent", [fx.agent.address]));
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
    // Once the rate window has passed (two buckets on), the seventh pays.
    await time.setNextBlockTimestamp(t0 + RATE_WINDOW);
    await expect(send(6))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(
        intentId(fx, signed[6].intent),
        fx.agent.address,
        ETH,
        fx.alice.address,
        TENTH,
        false,
        signed[6].intent.rationale,
      );
    book.pay(ETH, fx.alice.address, TENTH);
    expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(1n);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - 4n * TENTH);
    // Four of the seven payroll lines were paid; lines 4 to 6 were denied and must be signed again by the agent.
    await book.assertNothingLost();
  });

  it("test_relayerBurst_unfrozenTooEarly_nextIntentInTheSameWindowStrikesAgain", async function () {
    // What the owners should know before they unfreeze: the rate counter is not cleared by unfreezing, so an intent
    // released in the same window is rate limited again (one strike, not a freeze).
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const m = fx.module.interface;
    await book.asOwners(
      m.encodeFunctionData("setAgent", [
        fx.agent.address,
        agentConfig({ maxIntentsPerWindow: 3n, rateWindow: RATE_WINDOW, maxStrikes: 3n }),
      ]),
    );
    const t0 = (BigInt(await time.latest()) / BUCKET + 2n) * BUCKET;
    for (let i = 0; i < 6; i++) {
      await time.setNextBlockTimestamp(t0 + BigInt(i));
      const intent = await book.intent({ value: TENTH, validUntil: t0 + BigInt(HOUR) });
      await (await fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).wait();
      if (i < 3) book.pay(ETH, fx.alice.address, TENTH);
    }
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
    await time.setNextBlockTimestamp(t0 + 10n);
    await book.asOwners(m.encodeFunctionData("unfreezeAgent", [fx.agent.address]));
    await time.setNextBlockTimestamp(t0 + 20n);
    const early = await book.intent({ value: TENTH, validUntil: t0 + BigInt(HOUR) });
    const tx = fx.module.connect(fx.relayer).submit(early, await book.signature(early));
    await expect(tx)
      .to.emit(fx.module, "IntentDenied")
      .withArgs(intentId(fx, early), fx.agent.address, DenyReason.RateLimited, early.rationale);
    await expect(tx).to.not.emit(fx.module, "AgentFrozen");
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
    expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(7n);
    expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(SAFE_ETH - 3n * TENTH);
    // The owners' own checks (a probe proposal among them) wait for the rate window to pass.
    await time.increase(RATE_WINDOW);
    await book.assertNothingLost();
  });
});
