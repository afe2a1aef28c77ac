/**
 * Behaviours that no other spec reached, found by `npm run coverage`: each test asserts what the branch does
 * (outcomes, balances, events, custom errors with their arguments), not merely that it runs.
 *
 * Two counters can only reach their limits after tens of thousands of transactions (the rate counter at 65,535
 * intents in one bucket, the co-signer era at 65,535 membership changes); those tests start from a state written with
 * `hardhat_setStorageAt` at the slots and offsets the compiler's storage layout gives, then drive the module through
 * its public functions. The SlidingWindow test uses a harness (contracts/test/SlidingWindowHarness.sol) for an order
 * of calls that the module never makes.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setStorageAt, time } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, keccak256, parseEther, parseUnits, toBeHex } from "ethers";
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
  mocksFixture,
  moduleAsSafe,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import { moduleLayout, type StorageEntry, type StorageLayout } from "../layout";
import type { Intent } from "../../sdk/eip712";

// ------------------------------------------------------------------ storage layout (from the build info)

/** Where a value lives: its slot, its first bit within the slot and its width in bits. */
interface Field {
  slot: bigint;
  shift: bigint;
  bits: bigint;
}

function entryOf(layout: StorageLayout, label: string): StorageEntry {
  const entry = layout.storage.find((e) => e.label === label);
  if (!entry) throw new Error(`no state variable ${label} in AgentTreasuryModule's storage layout`);
  return entry;
}

function fieldOf(layout: StorageLayout, entry: StorageEntry, base: bigint): Field {
  return {
    slot: base + BigInt(entry.slot),
    shift: BigInt(entry.offset) * 8n,
    bits: BigInt(layout.types[entry.type].numberOfBytes) * 8n,
  };
}

/** A state variable of value type. */
async function stateField(label: string): Promise<Field> {
  const layout = await moduleLayout();
  return fieldOf(layout, entryOf(layout, label), 0n);
}

/** A member of the struct `mapping[key]` (an address-keyed mapping of structs). */
async function mappedStructField(mapping: string, key: string, member: string): Promise<Field> {
  const layout = await moduleLayout();
  const entry = entryOf(layout, mapping);
  const struct = layout.types[layout.types[entry.type].value!];
  const m = struct.members?.find((x) => x.label === member);
  if (!m) throw new Error(`no member ${member} in the values of ${mapping}`);
  const base = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [key, BigInt(entry.slot)])));
  return fieldOf(layout, m, base);
}

async function readField(fx: Treasury, f: Field): Promise<bigint> {
  const [word] = await fx.module.extsload([toBeHex(f.slot, 32)]);
  return (BigInt(word) >> f.shift) & ((1n << f.bits) - 1n);
}

/** Overwrites one field of the module's storage, keeping the rest of its slot. */
async function writeField(fx: Treasury, f: Field, value: bigint): Promise<void> {
  const [word] = await fx.module.extsload([toBeHex(f.slot, 32)]);
  const mask = ((1n << f.bits) - 1n) << f.shift;
  await setStorageAt(fx.moduleAddress, f.slot, toBeHex((BigInt(word) & ~mask) | (value << f.shift), 32));
}

// ------------------------------------------------------------------ helpers

async function expectOutcome(fx: Treasury, intent: Intent, event: "IntentExecuted" | "IntentQueued" | "IntentDenied") {
  const tx = submitSigned(fx, intent);
  for (const other of ["IntentExecuted", "IntentQueued", "IntentDenied"].filter((e) => e !== event)) {
    await expect(tx).to.not.emit(fx.module, other);
  }
  await expect(tx).to.emit(fx.module, event);
}

async function expectDenied(fx: Treasury, intent: Intent, reason: bigint) {
  const id_ = intentId(fx, intent);
  const tx = submitSigned(fx, intent);
  await expect(tx).to.emit(fx.module, "IntentDenied").withArgs(id_, intent.agent, reason, intent.rationale);
  await expect(tx).to.not.emit(fx.module, "IntentExecuted");
  expect(await fx.module.intentStatus(id_)).to.equal(Status.Denied);
}

describe("Coverage gaps", function () {
  describe("AgentTreasuryLens", function () {
    it("test_rateCount_agentWithoutRateLimit_isZero", async function () {
      const fx = await loadFixture(treasuryFixture);
      // The fixture's agent has no rate limit: intents are accepted but nothing is counted.
      await expectOutcome(fx, await buildIntent(fx, { value: parseEther("0.1") }), "IntentExecuted");
      await expectOutcome(fx, await buildIntent(fx, { value: parseEther("2") }), "IntentQueued");
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.attacker.address), "an unknown key").to.equal(0n);
    });

    it("test_rateCount_nextBucket_countsOnlyThePreviousBucketAsTheModuleDoes", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Window of two hours: buckets of one hour, the count covers the current and the previous bucket.
      await (
        await moduleAsSafe(fx)
      ).setAgent(
        fx.agent.address,
        agentConfig({ maxIntentsPerWindow: 3n, rateWindow: BigInt(2 * HOUR), maxStrikes: 0n }),
      );
      const width = BigInt(HOUR);
      const start = (BigInt(await time.latest()) / width + 1n) * width; // the first second of bucket b
      for (let i = 0n; i < 2n; i++) {
        const intent = await buildIntent(fx, { value: parseEther("0.1"), validUntil: start + width * 3n });
        await time.setNextBlockTimestamp(start + 10n + i);
        await expectOutcome(fx, intent, "IntentExecuted");
      }
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      // In bucket b + 1 the two intents of bucket b still count (they are the "previous" bucket).
      await time.increaseTo(start + width + 5n);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      // The module agrees: one more fits (2 + 1 = 3), the next is rate limited.
      await expectOutcome(fx, await buildIntent(fx, { value: parseEther("0.1") }), "IntentExecuted");
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(3n);
      await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.RateLimited);
      // Two buckets later nothing counts any more.
      await time.increaseTo(start + 3n * width + 5n);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(0n);
    });
  });

  describe("rate limit counter", function () {
    it("test_submit_rateCounterAtUint16Max_saturatesAndKeepsDenying", async function () {
      const fx = await loadFixture(treasuryFixture);
      const window = 30n * BigInt(DAY);
      await (
        await moduleAsSafe(fx)
      ).setAgent(fx.agent.address, agentConfig({ maxIntentsPerWindow: 65_535n, rateWindow: window, maxStrikes: 0n }));
      const width = (window + 1n) / 2n;
      const start = (BigInt(await time.latest()) / width + 1n) * width;
      await time.increaseTo(start + 10n);
      // 65,534 intents already counted in this bucket (a state that takes 65,534 transactions to reach).
      const bucket = await mappedStructField("_agents", fx.agent.address, "rateBucket");
      const cur = await mappedStructField("_agents", fx.agent.address, "rateCur");
      await writeField(fx, bucket, start / width);
      await writeField(fx, cur, 65_534n);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(65_534n);

      // The 65,535th intent fits the limit exactly and executes.
      await expectOutcome(fx, await buildIntent(fx, { value: parseEther("0.1") }), "IntentExecuted");
      expect(await readField(fx, cur)).to.equal(65_535n);
      // Past the limit the counter saturates instead of wrapping to 0, so the agent stays rate limited.
      for (let i = 0; i < 2; i++) {
        await expectDenied(fx, await buildIntent(fx, { value: parseEther("0.1") }), DenyReason.RateLimited);
        expect(await readField(fx, cur)).to.equal(65_535n);
        expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(65_535n);
      }
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2.9"));
    });
  });

  describe("co-signer era", function () {
    it("test_setCosigners_eraExhausted_revertsForNewMembersButThresholdStillChanges", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const members = fx.cosigners.map((c) => c.address);
      // The era after 65,535 membership changes.
      const era = await stateField("_cosignerEra");
      await writeField(fx, era, 65_535n);

      await expect(owner.setCosigners([members[0], members[1]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerEraExhausted")
        .withArgs(65_535n);
      await expect(owner.setCosigners([members[1], members[0], members[2]], 2))
        .to.be.revertedWithCustomError(fx.module, "CosignerEraExhausted")
        .withArgs(65_535n);
      expect(await fx.module.cosigners()).to.deep.equal(members);

      // The same members in the same order need no new era: only the threshold changes.
      await expect(owner.setCosigners(members, 3)).to.emit(fx.module, "CosignersSet").withArgs(members, 3n);
      expect(await fx.module.threshold()).to.equal(3n);
      expect(await readField(fx, era)).to.equal(65_535n);
    });
  });

  describe("treasury-wide limits", function () {
    it("test_setTreasuryLimit_updateAndRemoveUnset_keepTheLimitedAssetCount", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const count = await stateField("_treasuryLimitedAssets");
      expect(await readField(fx, count)).to.equal(0n);
      // Removing a limit that was never set changes nothing (no underflow).
      await expect(owner.setTreasuryLimit(ETH, 0, 0))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(ETH, 0n, 0n);
      expect(await readField(fx, count)).to.equal(0n);

      await (await owner.setTreasuryLimit(fx.usdcAddress, parseUnits("2000", 6), DAY)).wait();
      expect(await readField(fx, count)).to.equal(1n);
      // Changing an existing limit keeps the count at one and the new limit applies.
      await expect(owner.setTreasuryLimit(fx.usdcAddress, parseUnits("1500", 6), DAY))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(fx.usdcAddress, parseUnits("1500", 6), DAY);
      expect(await readField(fx, count)).to.equal(1n);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([
        parseUnits("1500", 6),
        BigInt(DAY),
        0n,
      ]);
      const amount = parseUnits("1000", 6);
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount), "IntentExecuted");
      // 1,000 + 1,000 is within the agent's 5,000 but above the treasury's 1,500: co-signers decide.
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount), "IntentQueued");

      await (await owner.setTreasuryLimit(fx.usdcAddress, 0, 0)).wait();
      expect(await readField(fx, count)).to.equal(0n);
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount), "IntentExecuted");
    });

    it("test_submit_treasuryLimitOnAnotherAssetOnly_ethPaymentExecutes", async function () {
      const fx = await loadFixture(treasuryFixture);
      // A treasury-wide limit on USDC, far below the ETH amounts: it must not gate ETH.
      await (await (await moduleAsSafe(fx)).setTreasuryLimit(fx.usdcAddress, 1, DAY)).wait();
      const value = parseEther("1");
      const intent = await buildIntent(fx, { value });
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, value, false, intent.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, fx.alice.address], [-value, value]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("2"));
      // USDC is still gated by its treasury limit.
      await expectOutcome(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, 2n), "IntentQueued");
    });
  });

  describe("zero-amount payments of an asset without an auto tier", function () {
    it("test_submit_zeroTokenTransferUnderEscalationOnlyLimit_queued", async function () {
      const fx = await loadFixture(treasuryFixture);
      // USDC may only move with co-signers: no auto tier, escalatedPerTx 50,000.
      await (
        await (
          await moduleAsSafe(fx)
        ).setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(0n, 0n, DAY, parseUnits("50000", 6)))
      ).wait();
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, 0n);
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentQueued");
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Queued);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
    });

    it("test_submit_zeroEthPaymentWithoutEthLimit_deniedAssetNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, ETH, assetLimit(0n, 0n, 0n, 0n))).wait();
      await expectDenied(fx, await buildIntent(fx, { value: 0n }), DenyReason.AssetNotAllowed);
    });
  });

  describe("token balance checks", function () {
    it("test_submit_tokenAddressWithoutCode_revertsTokenBalanceUnreadable", async function () {
      const fx = await loadFixture(treasuryFixture);
      // An address with no code answers `balanceOf` with success and no data: its balance is unreadable.
      const noCode = fx.bob.address;
      await (await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, noCode, fx.usdcLimit)).wait();
      const intent = await tokenPayment(fx, noCode, fx.alice.address, parseUnits("100", 6));
      // (The probe leaves out the code-less "token": its balances are what cannot be read.)
      const probe = { assets: [ETH, fx.usdcAddress] };
      const before = await treasuryState(fx, probe);
      const allowanceBefore = await fx.module.availableAllowance(fx.agent.address, noCode);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "TokenBalanceUnreadable")
        .withArgs(noCode);
      // Nothing is recorded, charged or consumed.
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
      expect(await fx.module.availableAllowance(fx.agent.address, noCode)).to.equal(allowanceBefore);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.None);
    });
  });

  describe("queued token transfer carrying ETH", function () {
    it("test_executeQueued_ethValueOnTokenTransfer_chargedAsEscalatedToBoth", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.payable;
      const tokenAddress = await token.getAddress();
      const amount = parseUnits("100", 6);
      const value = parseEther("0.5");
      const intent = await tokenPayment(fx, tokenAddress, fx.alice.address, amount, {
        value,
        validUntil: BigInt(await time.latest()) + BigInt(DAY),
        review: true,
      });
      const id_ = intentId(fx, intent);
      // Proposed for review: queued although both amounts fit the auto tier.
      await expect(fx.module.connect(fx.agent).propose(intent, "0x")).to.emit(fx.module, "IntentQueued");
      await time.increase(HOUR);
      const allowances = [
        await fx.module.availableAllowance(fx.agent.address, tokenAddress),
        await fx.module.availableAllowance(fx.agent.address, ETH),
      ];
      const signatures = await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2));
      const tx = fx.module.connect(fx.relayer).executeQueued(intent, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, tokenAddress, fx.alice.address, amount, true, intent.rationale);
      await expect(tx).to.changeEtherBalances([fx.safeAddress, tokenAddress], [-value, value]);
      expect(await token.balanceOf(fx.alice.address)).to.equal(amount);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Executed);
      // Both the token amount and the ETH riding along are recorded as escalated spend ...
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, tokenAddress)).to.equal(amount);
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(value);
      // ... and neither consumes the auto windows.
      expect(await fx.module.availableAllowance(fx.agent.address, tokenAddress)).to.equal(allowances[0]);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(allowances[1]);
    });
  });

  describe("SlidingWindow (library)", function () {
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
  });
});
