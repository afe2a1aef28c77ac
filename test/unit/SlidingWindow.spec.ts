/**
 * The exact sliding window, through the module. Promise 1 (bounded loss): for every agent, asset and interval of
 * `window` seconds, auto-executed spend is at most `autoPerWindow`. A spend at time s counts at every t with
 * s <= t < s + window; there is no period that resets. When the ring of entries is full the oldest entries merge
 * toward the later timestamp: the cap still holds and `availableAllowance` may under-report, never over-report.
 * One order of calls the module never makes (a spend recorded before the window has a length) is checked on the
 * library itself, through contracts/test/SlidingWindowHarness.sol.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ContractTransactionReceipt, parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  Status,
  Treasury,
  agentConfig,
  assetLimit,
  buildIntent,
  cosignerSignatures,
  intentId,
  moduleAsSafe,
  sign,
  tokenPayment,
  treasuryFixture,
} from "../fixtures";

const W = BigInt(DAY);
const CAP = parseUnits("5000", 6);

interface Spend {
  t: bigint;
  amount: bigint;
}

/** The outcome a submission's receipt reports. */
function outcome(fx: Treasury, receipt: ContractTransactionReceipt | null): bigint {
  for (const log of receipt?.logs ?? []) {
    const parsed = fx.module.interface.parseLog(log);
    if (parsed?.name === "IntentExecuted") return Status.Executed;
    if (parsed?.name === "IntentQueued") return Status.Queued;
    if (parsed?.name === "IntentDenied") return Status.Denied;
  }
  throw new Error("no outcome event in the receipt: the submission did not route");
}

/** Submits a USDC payment of `amount` to alice in a block at exactly `t`; returns its outcome. */
async function payAt(fx: Treasury, t: bigint, amount: bigint, asset = fx.usdcAddress): Promise<bigint> {
  const intent =
    asset === ETH
      ? await buildIntent(fx, { value: amount, validUntil: t + BigInt(HOUR) })
      : await tokenPayment(fx, asset, fx.alice.address, amount, { validUntil: t + BigInt(HOUR) });
  const signature = await sign(fx.agent, fx, intent);
  await time.setNextBlockTimestamp(t);
  return outcome(fx, await (await fx.module.connect(fx.relayer).submit(intent, signature)).wait());
}

/** Mines an empty block at `t` (if the chain is not there yet) so that views read the state at `t`. */
async function at(t: bigint): Promise<void> {
  if (BigInt(await time.latest()) < t) await time.increaseTo(t);
}

/** Exact model: the spend that counts at `t`. */
function spentAt(history: Spend[], t: bigint, window = W): bigint {
  return history.filter((s) => s.t <= t && t < s.t + window).reduce((sum, s) => sum + s.amount, 0n);
}

/** Promise 1 over a history: every interval [s, s + window) starting at a spend holds at most `cap`. */
function maxWindowSpend(history: Spend[], window = W): bigint {
  let max = 0n;
  for (const start of history) {
    const inWindow = history.filter((s) => s.t >= start.t && s.t < start.t + window);
    const sum = inWindow.reduce((acc, s) => acc + s.amount, 0n);
    if (sum > max) max = sum;
  }
  return max;
}

/** A deterministic pseudo-random generator (LCG), so every run replays the same sequence. */
function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

/** The first UTC midnight at least two days after the latest block. */
async function nextMidnight(): Promise<bigint> {
  const now = BigInt(await time.latest());
  return (now / W + 2n) * W;
}

/** Sets the agent's USDC limit: autoPerTx, autoPerWindow, window. */
async function setUsdcLimit(fx: Treasury, autoPerTx: bigint, perWindow: bigint, window = W): Promise<void> {
  await (
    await moduleAsSafe(fx)
  ).setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(autoPerTx, perWindow, window, parseUnits("50000", 6)));
}

async function entries(fx: Treasury, asset = "usdc"): Promise<Array<[bigint, bigint]>> {
  const [releaseAt, amounts] = await fx.lens.spendEntries(
    fx.moduleAddress,
    fx.agent.address,
    asset === "usdc" ? fx.usdcAddress : asset,
  );
  return releaseAt.map((r, i) => [r, amounts[i]]);
}

describe("SlidingWindow (through the module)", function () {
  describe("when the cap is spent just before a window's end", function () {
    it("test_submit_justAfterDayBoundary_isQueuedNotExecuted", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const midnight = await nextMidnight();
      const s = midnight - 1n; // 23:59:59: where a daily reset would hand out a fresh cap one second later
      expect(await payAt(fx, s, CAP)).to.equal(Status.Executed);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      expect(await entries(fx)).to.deep.equal([[s + W, CAP]]);
      for (const t of [midnight, midnight + 1n, midnight + BigInt(HOUR)]) {
        expect(await payAt(fx, t, 1n)).to.equal(Status.Queued);
        expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      }
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(CAP);
    });

    it("test_submit_exactlyAtSpendPlusWindow_freesTheSpend", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const s = (await nextMidnight()) - 1n;
      expect(await payAt(fx, s, CAP)).to.equal(Status.Executed);
      // One second before s + window the spend still counts.
      expect(await payAt(fx, s + W - 1n, 1n)).to.equal(Status.Queued);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      expect(await entries(fx)).to.deep.equal([[s + W, CAP]]);
      // At exactly s + window it is gone: the whole cap can be spent in that very block.
      expect(await payAt(fx, s + W, CAP)).to.equal(Status.Executed);
      expect(await entries(fx)).to.deep.equal([[s + 2n * W, CAP]]);
      expect(await payAt(fx, s + W + 1n, 1n)).to.equal(Status.Queued);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(2n * CAP);
    });

    it("test_availableAllowance_exactlyAtSpendPlusWindow_isTheWholeCap", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const s = (await nextMidnight()) - 1n;
      expect(await payAt(fx, s, CAP)).to.equal(Status.Executed);
      await at(s + W - 1n);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      expect(await entries(fx)).to.deep.equal([[s + W, CAP]]);
      await at(s + W);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(CAP);
      expect(await entries(fx)).to.deep.equal([]);
    });

    it("test_submit_partialSpendsFreeOneByOne_atTheirOwnReleaseTimes", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const t0 = (await nextMidnight()) + 5n * BigInt(HOUR);
      const plan: Spend[] = [
        { t: t0, amount: parseUnits("1000", 6) },
        { t: t0 + 600n, amount: parseUnits("1500", 6) },
        { t: t0 + 7200n, amount: parseUnits("2500", 6) },
      ];
      for (const p of plan) expect(await payAt(fx, p.t, p.amount)).to.equal(Status.Executed);
      expect(await entries(fx)).to.deep.equal(plan.map((p) => [p.t + W, p.amount]));
      let expected = 0n;
      for (const p of plan) {
        await at(p.t + W - 1n);
        expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(expected);
        expected += p.amount;
        await at(p.t + W);
        expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(expected);
      }
    });
  });

  describe("at every instant", function () {
    it("test_submit_pseudoRandomSequence_matchesExactModelAndNeverExceedsCap", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const rand = lcg(20240611);
      const gaps = [1n, 59n, 600n, 3599n, BigInt(HOUR) * 5n, W - 1n, W, W + 1n];
      const unit = parseUnits("1", 6);
      const history: Spend[] = [];
      let t = (await nextMidnight()) + 17n;
      let queued = 0;
      for (let step = 0; step < 36; step++) {
        // Amounts of at least 700 keep at most 7 spends in any window: the ring never merges, so the module must
        // match the exact model to the unit.
        const amount = BigInt(700 + Math.floor(rand() * 1800)) * unit;
        const before = spentAt(history, t);
        const status = await payAt(fx, t, amount);
        const fits = before + amount <= CAP;
        expect(status, `step ${step} at ${t}: spent ${before}, amount ${amount}`).to.equal(
          fits ? Status.Executed : Status.Queued,
        );
        if (fits) history.push({ t, amount });
        else queued++;
        expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(
          CAP - spentAt(history, t),
        );
        const live = history.filter((s) => s.t <= t && t < s.t + W).map((s) => [s.t + W, s.amount]);
        expect(await entries(fx)).to.deep.equal(live);
        // Probe the instants where the answer changes before the next attempt: each live entry's release.
        const next = t + gaps[Math.floor(rand() * gaps.length)];
        const releases = [...new Set(history.map((s) => s.t + W).filter((r) => r > t && r < next))].sort((a, b) =>
          a < b ? -1 : 1,
        );
        for (const r of releases.slice(0, 2)) {
          for (const probe of [r - 1n, r]) {
            if (probe <= t) continue;
            await at(probe);
            const available = await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress);
            expect(available, `probe at ${probe}`).to.equal(CAP - spentAt(history, probe));
          }
        }
        t = next > BigInt(await time.latest()) ? next : BigInt(await time.latest()) + 1n;
      }
      // The sequence exercises both outcomes many times.
      expect(history.length).to.be.greaterThan(10);
      expect(queued).to.be.greaterThan(5);
      expect(maxWindowSpend(history)).to.be.at.most(CAP);
      const paid = history.reduce((sum, s) => sum + s.amount, 0n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(paid);
    });
  });

  describe("time-of-day independence", function () {
    it("test_submit_sameSequenceShiftedByAnyOffset_givesIdenticalOutcomes", async function () {
      const H = BigInt(HOUR);
      const u = (n: number) => parseUnits(String(n), 6);
      // (time after start, amount) and the outcome an exact window gives.
      const sequence: Array<[bigint, bigint, bigint]> = [
        [0n, u(3000), Status.Executed],
        [H, u(2000), Status.Executed],
        [2n * H, u(1), Status.Queued],
        [W - 1n, u(1), Status.Queued],
        [W, u(3000), Status.Executed], // the first spend freed exactly now
        [W + H - 1n, u(1), Status.Queued], // the second still counts for one more second
        [W + H, u(2000), Status.Executed],
        [W + 2n * H, u(1), Status.Queued],
        [3n * W, u(5000), Status.Executed],
        [4n * W - 1n, u(1), Status.Queued],
      ];
      const offsets = [0n, 1n, 3599n, 12n * H, W - 1n, 3n * W + 12345n];
      const runs: unknown[] = [];
      for (const offset of offsets) {
        const fx = await loadFixture(treasuryFixture);
        await setUsdcLimit(fx, CAP, CAP);
        const start = (await nextMidnight()) + offset;
        const observed: unknown[] = [];
        for (const [dt, amount, expected] of sequence) {
          const status = await payAt(fx, start + dt, amount);
          expect(status, `offset ${offset}, step at +${dt}`).to.equal(expected);
          const released = (await entries(fx)).map(([r, a]) => [r - start, a]);
          observed.push([status, await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress), released]);
        }
        observed.push(await fx.usdc.balanceOf(fx.alice.address));
        runs.push(observed);
      }
      for (const run of runs.slice(1)) expect(run).to.deep.equal(runs[0]);
    });
  });

  describe("when more than 8 spends fall in one window (the ring is full)", function () {
    it("test_submit_ninthSpend_mergesOldestTowardLaterTimestamp", async function () {
      const fx = await loadFixture(treasuryFixture);
      const unit = parseUnits("1000", 6);
      const cap = 9n * unit;
      await setUsdcLimit(fx, unit, cap);
      const t0 = (await nextMidnight()) + 100n;
      for (let i = 0n; i < 9n; i++) expect(await payAt(fx, t0 + 10n * i, unit)).to.equal(Status.Executed);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      // The two oldest (t0 and t0+10) merged into one entry carrying t0+10.
      const merged = await entries(fx);
      expect(merged.length).to.equal(8);
      expect(merged[0]).to.deep.equal([t0 + 10n + W, 2n * unit]);
      expect(merged.slice(1)).to.deep.equal([...Array(7).keys()].map((i) => [t0 + 20n + 10n * BigInt(i) + W, unit]));

      // At t0 + W the exact model frees the first 1,000; the merged entry still holds it: under-report only.
      await at(t0 + W);
      const history = [...Array(9).keys()].map((i) => ({ t: t0 + 10n * BigInt(i), amount: unit }));
      expect(cap - spentAt(history, t0 + W)).to.equal(unit);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      expect(await payAt(fx, t0 + W + 1n, unit)).to.equal(Status.Queued);
      // Once the later timestamp's window ends, both amounts free together and the module agrees with the model.
      await at(t0 + 10n + W);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(2n * unit);
      expect(cap - spentAt(history, t0 + 10n + W)).to.equal(2n * unit);
      expect(await payAt(fx, t0 + 11n + W, unit)).to.equal(Status.Executed);
      history.push({ t: t0 + 11n + W, amount: unit });
      expect(maxWindowSpend(history)).to.be.at.most(cap);
    });

    it("test_submit_manySmallSpends_capHoldsAndAllowanceNeverOverReports", async function () {
      const fx = await loadFixture(treasuryFixture);
      const unit = parseUnits("1", 6);
      const cap = 3000n * unit;
      await setUsdcLimit(fx, 1000n * unit, cap, 6n * BigInt(HOUR));
      const window = 6n * BigInt(HOUR);
      const rand = lcg(7);
      const history: Spend[] = [];
      let t = (await nextMidnight()) + 1n;
      let underReported = 0;
      for (let step = 0; step < 45; step++) {
        const available = await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress);
        // Never over-report: the view reads the latest block, compare with the exact model at that time.
        const exact = cap - spentAt(history, BigInt(await time.latest()), window);
        expect(available, `step ${step}`).to.be.at.most(exact);
        if (available < exact) underReported++;
        const amount = BigInt(50 + Math.floor(rand() * 500)) * unit;
        const status = await payAt(fx, t, amount);
        if (status === Status.Executed) history.push({ t, amount });
        else expect(status).to.equal(Status.Queued);
        // The module never executes what the exact model would refuse.
        if (status === Status.Executed) expect(spentAt(history, t, window)).to.be.at.most(cap);
        t += BigInt(1 + Math.floor(rand() * 3600));
      }
      expect(maxWindowSpend(history, window)).to.be.at.most(cap);
      expect(underReported).to.be.greaterThan(0); // the ring did merge during this run
      const paid = history.reduce((sum, s) => sum + s.amount, 0n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(paid);
    });

    it("test_availableAllowance_whenReported_canBeSpentExactly", async function () {
      const fx = await loadFixture(treasuryFixture);
      const unit = parseUnits("1", 6);
      const cap = 1000n * unit;
      await setUsdcLimit(fx, cap, cap);
      let t = (await nextMidnight()) + 3n;
      for (let i = 0; i < 12; i++) {
        expect(await payAt(fx, t, 37n * unit)).to.equal(Status.Executed);
        t += 61n;
      }
      const available = await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress);
      expect(available).to.equal(cap - 12n * 37n * unit);
      expect(await payAt(fx, t, available + 1n)).to.equal(Status.Queued);
      expect(await payAt(fx, t + 1n, available)).to.equal(Status.Executed);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    });
  });

  describe("when spends fall in the same second (a batch)", function () {
    it("test_submitBatch_spendsOfOneSecond_shareOneEntryExactly", async function () {
      const fx = await loadFixture(treasuryFixture);
      const unit = parseUnits("100", 6);
      await setUsdcLimit(fx, unit, 20n * unit);
      const t0 = (await nextMidnight()) + 100n;
      expect(await payAt(fx, t0, unit)).to.equal(Status.Executed);
      // Twelve payments in one transaction at t0 + 60: one entry of 1,200, not a full ring that merges.
      const start = await fx.module.getNonce(fx.agent.address, 0);
      const intents = await Promise.all(
        [...Array(12).keys()].map((i) =>
          tokenPayment(fx, fx.usdcAddress, fx.alice.address, unit, {
            nonce: start + BigInt(i),
            validUntil: t0 + BigInt(HOUR),
          }),
        ),
      );
      const signatures = await Promise.all(intents.map((intent) => sign(fx.agent, fx, intent)));
      await time.setNextBlockTimestamp(t0 + 60n);
      await (await fx.module.connect(fx.relayer).submitBatch(intents, signatures)).wait();
      expect(await entries(fx)).to.deep.equal([
        [t0 + W, unit],
        [t0 + 60n + W, 12n * unit],
      ]);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(7n * unit);
      // Exact: the first payment frees at t0 + W, the twelve together at t0 + 60 + W.
      await at(t0 + W);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(8n * unit);
      await at(t0 + 60n + W);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(20n * unit);
    });

    it("test_record_sameLowBitsAnotherSecond_isANewEntryNotAnAddition", async function () {
      // The header keeps the low 24 bits of the newest entry's time; 2^24 seconds later they match again, and the
      // entry's full time tells the two apart.
      const harness = await ethers.deployContract("SlidingWindowHarness");
      const span = 1n << 24n;
      await (await harness.setLength(Number(4n * span))).wait();
      const t0 = BigInt(await time.latest()) + 10n;
      await time.setNextBlockTimestamp(t0);
      await (await harness.recordMany([5n, 7n])).wait();
      expect((await harness.header()) >> 232n).to.equal(t0 & (span - 1n));
      await time.setNextBlockTimestamp(t0 + span);
      await (await harness.recordMany([11n])).wait();
      const timeOf = (e: bigint) => (e >> 128n) & ((1n << 48n) - 1n);
      const amountOf = (e: bigint) => e & ((1n << 128n) - 1n);
      const [e0, e1] = [await harness.entry(0), await harness.entry(1)];
      expect([timeOf(e0), amountOf(e0)]).to.deep.equal([t0, 12n]);
      expect([timeOf(e1), amountOf(e1)]).to.deep.equal([t0 + span, 11n]);
      expect(await harness.spent()).to.equal(23n);
    });
  });

  describe("when limits change", function () {
    it("test_setAssetLimit_changedCaps_keepSpendHistory", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const t0 = (await nextMidnight()) + 10n;
      expect(await payAt(fx, t0, parseUnits("3000", 6))).to.equal(Status.Executed);
      await setUsdcLimit(fx, parseUnits("4000", 6), parseUnits("4000", 6));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("1000", 6));
      await setUsdcLimit(fx, parseUnits("2000", 6), parseUnits("2000", 6));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      expect(await payAt(fx, t0 + 100n, 1n)).to.equal(Status.Queued);
      await setUsdcLimit(fx, parseUnits("5000", 6), parseUnits("10000", 6));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("7000", 6));
      expect(await entries(fx)).to.deep.equal([[t0 + W, parseUnits("3000", 6)]]);
    });

    it("test_setAssetLimit_shorterWindow_expiresHistoryAsIfAlwaysThatLong", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const t0 = (await nextMidnight()) + 10n;
      expect(await payAt(fx, t0, CAP)).to.equal(Status.Executed);
      await setUsdcLimit(fx, CAP, CAP, BigInt(HOUR));
      expect((await fx.module.assetLimit(fx.agent.address, fx.usdcAddress)).window).to.equal(BigInt(HOUR));
      expect(await payAt(fx, t0 + BigInt(HOUR) - 1n, 1n)).to.equal(Status.Queued);
      await at(t0 + BigInt(HOUR));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(CAP);
    });

    it("test_setAssetLimit_removedThenSetAgain_keepsSpendHistory", async function () {
      const fx = await loadFixture(treasuryFixture);
      await setUsdcLimit(fx, CAP, CAP);
      const t0 = (await nextMidnight()) + 10n;
      expect(await payAt(fx, t0, parseUnits("3000", 6))).to.equal(Status.Executed);
      const owner = await moduleAsSafe(fx);
      await expect(owner.setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(0n, 0n, 0n, 0n)))
        .to.emit(fx.module, "AssetLimitSet")
        .withArgs(fx.agent.address, fx.usdcAddress, [0n, 0n, 0n, 0n]);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      const probe = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, 1n, { validUntil: t0 + W });
      await time.setNextBlockTimestamp(t0 + 50n);
      await expect(fx.module.connect(fx.relayer).submit(probe, await sign(fx.agent, fx, probe)))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, probe), fx.agent.address, DenyReason.AssetNotAllowed, probe.rationale);
      await setUsdcLimit(fx, CAP, CAP);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("2000", 6));
      expect(await payAt(fx, t0 + 100n, parseUnits("2000", 6) + 1n)).to.equal(Status.Queued);
      expect(await payAt(fx, t0 + 101n, parseUnits("2000", 6))).to.equal(Status.Executed);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    });

    it("test_removeAgentThenReAdd_keepsSpendHistory", async function () {
      const fx = await loadFixture(treasuryFixture);
      const t0 = (await nextMidnight()) + 10n;
      expect(await payAt(fx, t0, parseEther("1"), ETH)).to.equal(Status.Executed);
      expect(await payAt(fx, t0 + 1n, parseEther("1"), ETH)).to.equal(Status.Executed);
      const owner = await moduleAsSafe(fx);
      await owner.removeAgent(fx.agent.address);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(0n);
      await owner.setAgent(fx.agent.address, agentConfig());
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("1"));
      await owner.setAssetLimit(fx.agent.address, ETH, fx.ethLimit);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("1"));
      expect(await payAt(fx, t0 + 100n, parseEther("1") + 1n, ETH)).to.equal(Status.Queued);
    });

    it("test_rotateAgent_neverRestoresSpentAllowance", async function () {
      // Promise 8.
      const fx = await loadFixture(treasuryFixture);
      const t0 = (await nextMidnight()) + 10n;
      expect(await payAt(fx, t0, parseUnits("1000", 6))).to.equal(Status.Executed);
      const newKey = fx.signers[15];
      await (await moduleAsSafe(fx)).rotateAgent(fx.agent.address, newKey.address);
      expect(await fx.module.availableAllowance(newKey.address, fx.usdcAddress)).to.equal(parseUnits("4000", 6));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      const [releaseAt, amounts] = await fx.lens.spendEntries(fx.moduleAddress, newKey.address, fx.usdcAddress);
      expect([releaseAt, amounts]).to.deep.equal([[t0 + W], [parseUnits("1000", 6)]]);
    });
  });

  describe("escalated spend", function () {
    it("test_executeQueued_doesNotConsumeTheAutoWindow", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseUnits("2000", 6); // above autoPerTx: queued
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount);
      await expect(fx.module.connect(fx.relayer).submit(intent, await sign(fx.agent, fx, intent))).to.emit(
        fx.module,
        "IntentQueued",
      );
      await time.increase(HOUR);
      const id_ = intentId(fx, intent);
      await expect(
        fx.module
          .connect(fx.relayer)
          .executeQueued(intent, await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2))),
      )
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, fx.usdcAddress, fx.alice.address, amount, true, intent.rationale);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(amount);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
      expect(await entries(fx)).to.deep.equal([]);
    });
  });

  describe("SlidingWindow itself (harness, contracts/test/SlidingWindowHarness.sol)", function () {
    it("test_setLength_afterASpendRecordedUnconfigured_keepsTheSpendAndWarmsTheRest", async function () {
      const harness = await ethers.deployContract("SlidingWindowHarness");
      const SENTINEL = 1n << 255n;
      // A spend recorded before the window has a length (the module never does this).
      await (await harness.record(100n)).wait();
      const recordedAt = BigInt(await time.latest());
      const entry = await harness.entry(0);
      expect(entry).to.equal(SENTINEL | (recordedAt << 128n) | 100n);
      for (let i = 1; i < 8; i++) expect(await harness.entry(i)).to.equal(0n);

      await (await harness.setLength(DAY)).wait();
      expect(await harness.length()).to.equal(BigInt(DAY));
      // Warming fills only the empty entries: the recorded spend survives and counts for the new length.
      expect(await harness.entry(0)).to.equal(entry);
      for (let i = 1; i < 8; i++) expect(await harness.entry(i)).to.equal(SENTINEL);
      expect(await harness.spent()).to.equal(100n);
      await time.increaseTo(recordedAt + BigInt(DAY) - 1n);
      expect(await harness.spent()).to.equal(100n);
      await time.increaseTo(recordedAt + BigInt(DAY));
      expect(await harness.spent()).to.equal(0n);
    });

    it("test_header_keepsItsLayoutThroughSpendsAndExpiries", async function () {
      // The header's fields sit where the lens and the payment path read them: length at bit 192 (an odd length
      // keeps its low bit through an expiry), the warmed flag at bit 224, the newest spend's low 24 time bits at
      // 232 (a spend of an even second after an odd one leaves no bit of the older time behind).
      const harness = await ethers.deployContract("SlidingWindowHarness");
      const length = 2n * BigInt(HOUR) + 1n;
      await (await harness.setLength(Number(length))).wait();
      const warmed = (header: bigint) => (header >> 224n) & 1n;
      expect(warmed(await harness.header())).to.equal(1n);

      let t = BigInt(await time.latest()) + 10n;
      if (t % 2n === 0n) t += 1n;
      await time.setNextBlockTimestamp(t);
      await (await harness.record(5n)).wait();
      expect((await harness.header()) >> 232n).to.equal(t & 0xffffffn);
      await time.setNextBlockTimestamp(t + 1n);
      await (await harness.record(7n)).wait();
      expect((await harness.header()) >> 232n).to.equal((t + 1n) & 0xffffffn);

      // Both spends expire, a third is recorded: the header went through an eviction.
      await time.setNextBlockTimestamp(t + 1n + length);
      await (await harness.record(11n)).wait();
      const header = await harness.header();
      expect(await harness.length()).to.equal(length);
      expect(warmed(header)).to.equal(1n);
      expect(header & ((1n << 128n) - 1n)).to.equal(11n);
      expect(header >> 232n).to.equal((t + 1n + length) & 0xffffffn);
    });

    it("test_recordAt_intoTheEvictedHeader_writesWhatRecordWrites", async function () {
      // The payment path drops the expired entries once, for the check, and records into that header
      // (SlidingWindow.evicted, then recordAt). Whatever the history (expiries of one or several entries, a full ring
      // that merges, spends of one second), the window it leaves must be word for word the one `record` leaves.
      let now = BigInt(await time.latest());
      let steps = 0;
      let expiries = 0;
      await network.provider.send("evm_setAutomine", [false]);
      try {
        await fc.assert(
          fc.asyncProperty(
            fc.integer({ min: 1, max: 4 * HOUR }),
            fc.array(
              fc.record({
                gap: fc.integer({ min: 1, max: 3 * HOUR }),
                // Zero (which records nothing) as often as any other amount.
                amounts: fc.array(fc.oneof(fc.constant(0n), fc.bigInt({ min: 1n, max: 10n ** 30n })), {
                  minLength: 1,
                  maxLength: 3,
                }),
              }),
              { minLength: 6, maxLength: 20 },
            ),
            async (length, spends) => {
              // Two fresh windows a run, so a counterexample is a whole history.
              const plain = await ethers.deployContract("SlidingWindowHarness");
              const checked = await ethers.deployContract("SlidingWindowHarness");
              now += 1n;
              await network.provider.send("evm_mine", [Number(now)]);
              for (const h of [plain, checked]) await h.setLength(length);
              now += 1n;
              await network.provider.send("evm_mine", [Number(now)]);
              for (const { gap, amounts } of spends) {
                const before = await plain.words();
                // Every spend of one step lands in one block: one second, as in a batch.
                for (const amount of amounts) {
                  await plain.record(amount);
                  await checked.checkThenRecord(amount);
                }
                now += BigInt(gap);
                await network.provider.send("evm_mine", [Number(now)]);
                const [a, b] = [await plain.words(), await checked.words()];
                expect(b).to.deep.equal(a);
                expect(await checked.spent()).to.equal(await plain.spent());
                // The header's spend (its low 128 bits) fell short of before + this step's spends: entries expired.
                const spendOf = (header: bigint) => header & ((1n << 128n) - 1n);
                const added = amounts.reduce((x, y) => x + y, 0n);
                if (spendOf(a[0]) < spendOf(before[0]) + added) expiries += 1;
                steps += 1;
              }
            },
          ),
          { numRuns: 15, seed: 20261205 },
        );
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      // The campaign reached the paths that matter: windows shorter than the gaps, so entries expired.
      expect(steps).to.be.greaterThan(100);
      expect(expiries).to.be.greaterThan(20);
    });
  });
});
