/**
 * Slot 0 of AgentTreasuryModule travels the submission path as one word (`live`, AvatarOwned._requireLive) and is
 * decoded with fixed bit shifts, not with the compiler's `.offset`: the avatar in the low 160 bits, `_paused` at bit
 * 160 (`_PAUSED_SHIFT`), `_treasuryLimitedAssets` at bit 176 (`_TREASURY_LIMITED_SHIFT`) and `_targetSet` at bit 224
 * (`_TARGET_SET_SHIFT`). If a state variable is added, removed or reordered in AvatarOwned or AgentRegistry, the
 * compiler moves these fields and the shifts would read the wrong bits. This spec checks the shifts against the
 * compiler's storage layout (test/layout.ts), shows that the check reports a moved field, and reads the raw slot on
 * chain while the state it packs changes.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { ETH, moduleAsSafe, treasuryFixture } from "../fixtures";
import { StorageLayout, moduleLayout } from "../layout";

interface Placement {
  slot: string;
  offset: number; // bytes from the low end of the slot
  bytes: number;
}

/** Where AvatarOwned's bit shifts (and its layout comment) say each field of slot 0 lives, and `_target` after it. */
const EXPECTED: Record<string, Placement> = {
  _avatar: { slot: "0", offset: 0, bytes: 20 }, // address(uint160(live))
  _paused: { slot: "0", offset: 20, bytes: 1 }, // _PAUSED_SHIFT = 160
  _initialized: { slot: "0", offset: 21, bytes: 1 },
  _treasuryLimitedAssets: { slot: "0", offset: 22, bytes: 2 }, // _TREASURY_LIMITED_SHIFT = 176
  _lastAgentId: { slot: "0", offset: 24, bytes: 4 },
  _targetSet: { slot: "0", offset: 28, bytes: 1 }, // _TARGET_SET_SHIFT = 224
  _target: { slot: "1", offset: 0, bytes: 20 }, // read only when _targetSet
};

/** AvatarOwned's private shift constants, copied here: the layout must put each field at exactly these bits. */
const SHIFTS = { _paused: 160, _treasuryLimitedAssets: 176, _targetSet: 224 } as const;

/** Every difference between `layout` and {EXPECTED}, one line per field; empty when slot 0 is where the shifts read. */
function slotZeroProblems(layout: StorageLayout): string[] {
  const problems: string[] = [];
  for (const [label, want] of Object.entries(EXPECTED)) {
    const entry = layout.storage.find((e) => e.label === label);
    if (!entry) {
      problems.push(`${label}: not in the storage layout`);
      continue;
    }
    const bytes = Number(layout.types[entry.type]?.numberOfBytes);
    if (entry.slot !== want.slot || entry.offset !== want.offset || bytes !== want.bytes) {
      problems.push(
        `${label}: slot ${entry.slot} offset ${entry.offset} (${bytes} bytes), expected slot ${want.slot} offset ${want.offset} (${want.bytes} bytes)`,
      );
    }
  }
  return problems;
}

function bits(word: bigint, shift: number, width: number): bigint {
  return (word >> BigInt(shift)) & ((1n << BigInt(width)) - 1n);
}

async function slotWord(address: string, slot: number): Promise<bigint> {
  return BigInt(await ethers.provider.getStorage(address, slot));
}

describe("SlotZero", function () {
  describe("the compiler's layout", function () {
    it("test_slotZero_compilerLayout_matchesAvatarOwnedShifts", async function () {
      const layout = await moduleLayout();
      expect(slotZeroProblems(layout)).to.deep.equal([]);
      for (const [label, shift] of Object.entries(SHIFTS)) {
        expect(EXPECTED[label].offset * 8, `${label}'s shift`).to.equal(shift);
      }
      // Nothing else shares slot 0 or slot 1.
      const shared = layout.storage.filter((e) => e.slot === "0" || e.slot === "1").map((e) => e.label);
      expect(shared).to.deep.equal([
        "_avatar",
        "_paused",
        "_initialized",
        "_treasuryLimitedAssets",
        "_lastAgentId",
        "_targetSet",
        "_target",
      ]);
    });

    it("test_slotZeroCheck_movedField_isReported", async function () {
      // The check above must fail if a field moves: feed it the real layout with one field moved at a time.
      const layout = await moduleLayout();
      const moved = (label: string, change: Partial<{ slot: string; offset: number }>): StorageLayout => ({
        ...layout,
        storage: layout.storage.map((e) => (e.label === label ? { ...e, ...change } : e)),
      });
      expect(slotZeroProblems(moved("_targetSet", { offset: 29 }))).to.deep.equal([
        "_targetSet: slot 0 offset 29 (1 bytes), expected slot 0 offset 28 (1 bytes)",
      ]);
      expect(slotZeroProblems(moved("_paused", { offset: 21 }))).to.deep.equal([
        "_paused: slot 0 offset 21 (1 bytes), expected slot 0 offset 20 (1 bytes)",
      ]);
      expect(slotZeroProblems(moved("_treasuryLimitedAssets", { slot: "1" }))).to.deep.equal([
        "_treasuryLimitedAssets: slot 1 offset 22 (2 bytes), expected slot 0 offset 22 (2 bytes)",
      ]);
      expect(slotZeroProblems(moved("_avatar", { offset: 1 }))).to.have.length(1);
      const renamed = { ...layout, storage: layout.storage.filter((e) => e.label !== "_targetSet") };
      expect(slotZeroProblems(renamed)).to.deep.equal(["_targetSet: not in the storage layout"]);
    });
  });

  describe("the raw slot on chain", function () {
    it("test_slotZero_rawWord_followsPauseTreasuryLimitsAndTarget", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const read = async () => {
        const word = await slotWord(fx.moduleAddress, 0);
        return {
          avatar: ethers.getAddress(ethers.toBeHex(bits(word, 0, 160), 20)),
          paused: bits(word, SHIFTS._paused, 8),
          initialized: bits(word, 168, 8),
          treasuryLimited: bits(word, SHIFTS._treasuryLimitedAssets, 16),
          lastAgentId: bits(word, 192, 32),
          targetSet: bits(word, SHIFTS._targetSet, 8),
          rest: bits(word, 232, 24),
        };
      };
      const base = {
        avatar: fx.safeAddress,
        paused: 0n,
        initialized: 1n,
        treasuryLimited: 0n,
        lastAgentId: 1n,
        targetSet: 0n,
        rest: 0n,
      };
      expect(await read()).to.deep.equal(base);

      await fx.module.connect(fx.guardian).pause();
      expect(await read()).to.deep.equal({ ...base, paused: 1n });
      await owner.unpause();

      await owner.setTreasuryLimit(ETH, 5n, 60);
      await owner.setTreasuryLimit(fx.usdcAddress, 5n, 60);
      expect(await read()).to.deep.equal({ ...base, treasuryLimited: 2n });
      await owner.setTreasuryLimit(ETH, 0n, 0);
      expect(await read()).to.deep.equal({ ...base, treasuryLimited: 1n });

      await owner.setTarget(fx.bob.address);
      expect(await read()).to.deep.equal({ ...base, treasuryLimited: 1n, targetSet: 1n });
      expect(await slotWord(fx.moduleAddress, 1)).to.equal(BigInt(fx.bob.address));
      await owner.setTarget(fx.safeAddress);
      expect(await read()).to.deep.equal({ ...base, treasuryLimited: 1n });
      expect(await slotWord(fx.moduleAddress, 1)).to.equal(0n);
    });
  });
});
