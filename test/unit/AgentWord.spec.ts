/**
 * AgentWord (contracts/libraries/AgentWord.sol) reads and updates a key's AgentRecord slot as one word on the
 * submission path, while configuration and views read and write the same slot through the struct. Its bit positions
 * must be the compiler's storage layout of AgentRecord: this spec takes every field's offset and width from the
 * build info (test/layout.ts) and checks each reader and writer against them through a harness
 * (contracts/test/AgentWordHarness.sol).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { moduleLayout } from "../layout";

interface BitField {
  shift: bigint;
  bits: bigint;
}

type RecordFields = Record<string, BitField>;

const FIELD_NAMES = [
  "validUntil",
  "id",
  "status",
  "recipientMode",
  "frozen",
  "rateLimited",
  "epoch",
  "laneZeroNonce",
  "rateBucket",
  "ratePrev",
  "rateCur",
  "usdLimited",
] as const;
type FieldName = (typeof FIELD_NAMES)[number];

/** AgentRecord's members (the value type of `_agents`) with their bit offset and width in the slot. */
async function recordFields(): Promise<RecordFields> {
  const layout = await moduleLayout();
  const agents = layout.storage.find((e) => e.label === "_agents");
  if (!agents) throw new Error("no state variable _agents in AgentTreasuryModule's storage layout");
  const struct = layout.types[layout.types[agents.type].value!];
  expect(struct.numberOfBytes, "AgentRecord must stay one slot").to.equal("32");
  const fields: RecordFields = {};
  for (const m of struct.members ?? []) {
    expect(m.slot, `${m.label} must be in the record's first slot`).to.equal("0");
    fields[m.label] = { shift: BigInt(m.offset) * 8n, bits: BigInt(layout.types[m.type].numberOfBytes) * 8n };
  }
  expect(Object.keys(fields)).to.deep.equal([...FIELD_NAMES]);
  return fields;
}

function put(word: bigint, f: BitField, value: bigint): bigint {
  const mask = ((1n << f.bits) - 1n) << f.shift;
  return (word & ~mask) | ((value << f.shift) & mask);
}

/** A word with the given value in each field (others zero). */
function wordOf(fields: RecordFields, values: Partial<Record<FieldName, bigint>>): bigint {
  let word = 0n;
  for (const [name, value] of Object.entries(values)) word = put(word, fields[name], value);
  return word;
}

async function harnessFixture() {
  const harness = await (await ethers.getContractFactory("AgentWordHarness")).deploy();
  return { harness, fields: await recordFields() };
}

// Values with every field distinct and near each field's top, so a shift or width off by one shows.
const SAMPLE: Record<FieldName, bigint> = {
  validUntil: 0xfedcba987654n,
  id: 0xdeadbeefn,
  status: 1n,
  recipientMode: 2n,
  frozen: 1n,
  rateLimited: 1n,
  epoch: 0xabcdn,
  laneZeroNonce: 0xf1e2d3c4b5a697n,
  rateBucket: 0x89abcdefn,
  ratePrev: 0x1357n,
  rateCur: 0x2468n,
  usdLimited: 1n,
};

describe("AgentWord", function () {
  describe("readers", function () {
    it("test_read_everyField_matchesTheCompilersLayout", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      const r = await harness.read(wordOf(fields, SAMPLE));
      expect(r.validUntil).to.equal(SAMPLE.validUntil);
      expect(r.id).to.equal(SAMPLE.id);
      expect(r.active).to.equal(true);
      expect(r.recipientMode).to.equal(SAMPLE.recipientMode);
      expect(r.frozen).to.equal(true);
      expect(r.rateLimited).to.equal(true);
      expect(r.epoch).to.equal(SAMPLE.epoch);
      expect(r.laneZeroNonce).to.equal(SAMPLE.laneZeroNonce);
      expect(r.rateBucket).to.equal(SAMPLE.rateBucket);
      expect(r.ratePrev).to.equal(SAMPLE.ratePrev);
      expect(r.rateCur).to.equal(SAMPLE.rateCur);
      expect(await harness.usdLimited(wordOf(fields, SAMPLE))).to.equal(true);
    });

    it("test_read_eachFieldAlone_leaksIntoNoOther", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      const readable: FieldName[] = FIELD_NAMES.filter((n) => n !== "status" && n !== "recipientMode");
      for (const name of readable) {
        const r = await harness.read(wordOf(fields, { [name]: SAMPLE[name] }));
        const got: Record<string, bigint | boolean> = {
          validUntil: r.validUntil,
          id: r.id,
          frozen: r.frozen,
          rateLimited: r.rateLimited,
          epoch: r.epoch,
          laneZeroNonce: r.laneZeroNonce,
          rateBucket: r.rateBucket,
          ratePrev: r.ratePrev,
          rateCur: r.rateCur,
          usdLimited: await harness.usdLimited(wordOf(fields, { [name]: SAMPLE[name] })),
        };
        for (const other of readable) {
          const expected = other === name ? SAMPLE[other] : 0n;
          const value = got[other];
          expect(typeof value === "boolean" ? BigInt(value) : value, `${other} with only ${name} set`).to.equal(
            expected,
          );
        }
        expect(r.active, `active with only ${name} set`).to.equal(false);
        expect(r.recipientMode, `recipientMode with only ${name} set`).to.equal(0n);
      }
    });

    it("test_isActive_onlyForStatusActive", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      // AgentStatus: None, Active, Removed, Retired.
      const expected = [false, true, false, false];
      for (let status = 0n; status < 4n; status++) {
        const r = await harness.read(wordOf(fields, { ...SAMPLE, status }));
        expect(r.active, `status ${status}`).to.equal(expected[Number(status)]);
      }
    });

    it("test_recipientMode_outOfRange_panics", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      for (let mode = 0n; mode < 3n; mode++) {
        expect((await harness.read(wordOf(fields, { recipientMode: mode }))).recipientMode).to.equal(mode);
      }
      // Only setAgent writes the field, with a valid enum; a corrupt value must not pass as some mode.
      await expect(harness.read(wordOf(fields, { recipientMode: 3n }))).to.be.revertedWithPanic(0x21);
    });
  });

  describe("writers", function () {
    it("test_writers_keepUsdLimited", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      // usdLimited sits above the rate counters: rewriting them (every rate-limited submission) must keep it.
      for (const usdLimited of [0n, 1n]) {
        const word = wordOf(fields, { ...SAMPLE, frozen: 0n, usdLimited });
        for (const written of [
          await harness.withRate(word, 1n, 2n, 3n),
          await harness.withFrozen(word),
          await harness.withLaneZeroNonce(word, 5n),
        ]) {
          expect(await harness.usdLimited(written), `usdLimited ${usdLimited}`).to.equal(usdLimited === 1n);
        }
      }
    });

    it("test_withFrozen_setsOnlyFrozen", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      const word = wordOf(fields, { ...SAMPLE, frozen: 0n });
      expect(await harness.withFrozen(word)).to.equal(put(word, fields.frozen, 1n));
      const frozen = wordOf(fields, SAMPLE);
      expect(await harness.withFrozen(frozen)).to.equal(frozen);
    });

    it("test_withLaneZeroNonce_replacesOnlyTheNonce", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      const word = wordOf(fields, SAMPLE);
      for (const nonce of [0n, 1n, 0x00ff00ff00ff00n, (1n << 56n) - 1n]) {
        expect(await harness.withLaneZeroNonce(word, nonce), `nonce ${nonce}`).to.equal(
          put(word, fields.laneZeroNonce, nonce),
        );
      }
    });

    it("test_withRate_replacesOnlyTheRateCounters", async function () {
      const { harness, fields } = await loadFixture(harnessFixture);
      const word = wordOf(fields, SAMPLE);
      const cases: [bigint, bigint, bigint][] = [
        [0n, 0n, 0n],
        [1n, 2n, 3n],
        [(1n << 32n) - 1n, (1n << 16n) - 1n, (1n << 16n) - 1n],
      ];
      for (const [bucket, prev, cur] of cases) {
        const expected = put(put(put(word, fields.rateBucket, bucket), fields.ratePrev, prev), fields.rateCur, cur);
        expect(await harness.withRate(word, bucket, prev, cur), `rate ${bucket}/${prev}/${cur}`).to.equal(expected);
      }
    });
  });
});
