/**
 * IntentRecordWord (contracts/libraries/IntentRecordWord.sol) writes a new intent record as one word, while
 * approvals, execution, cancellation and every view read and update the same slot through the struct. Its bit
 * positions must be the compiler's storage layout of IntentRecord (the value type of `_intents`): this spec takes
 * each field's offset and width from the build info (test/layout.ts) and checks `pack` and `store` against them
 * through a harness (contracts/test/IntentRecordWordHarness.sol).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { moduleLayout } from "../layout";

const FIELD_NAMES = [
  "status",
  "eta",
  "gracePeriod",
  "agentId",
  "epoch",
  "approvals",
  "approvalEra",
  "payloadTag",
] as const;
type FieldName = (typeof FIELD_NAMES)[number];
type Fields = Record<FieldName, { shift: bigint; bits: bigint }>;

/** IntentRecord's members with their bit offset and width in the slot, from the compiler's layout. */
async function recordFields(): Promise<Fields> {
  const layout = await moduleLayout();
  const intents = layout.storage.find((e) => e.label === "_intents");
  if (!intents) throw new Error("no state variable _intents in AgentTreasuryModule's storage layout");
  const struct = layout.types[layout.types[intents.type].value!];
  expect(struct.numberOfBytes, "IntentRecord must stay one slot").to.equal("32");
  const fields: Partial<Fields> = {};
  for (const m of struct.members ?? []) {
    expect(m.slot, `${m.label} must be in the record's first slot`).to.equal("0");
    fields[m.label as FieldName] = {
      shift: BigInt(m.offset) * 8n,
      bits: BigInt(layout.types[m.type].numberOfBytes) * 8n,
    };
  }
  expect(Object.keys(fields)).to.deep.equal([...FIELD_NAMES]);
  return fields as Fields;
}

/** The value of field `f` in `word`. */
const field = (word: bigint, f: { shift: bigint; bits: bigint }) => (word >> f.shift) & ((1n << f.bits) - 1n);

// Every field distinct and at its top bits, so a shift or width off by one shows. Status 5 is Expired, the last.
const SAMPLE = {
  status: 5n,
  eta: 0xfedcba987654n,
  gracePeriod: 0xdeadbeefn,
  agentId: 0x89abcdefn,
  epoch: 0xabcdn,
  payloadTag: 0xf1e2d3c4b5a697887766n,
};

async function harnessFixture() {
  const harness = await (await ethers.getContractFactory("IntentRecordWordHarness")).deploy();
  return { harness, fields: await recordFields() };
}

describe("IntentRecordWord", function () {
  it("puts each field of a new record where the compiler's layout has it [test_pack_everyField_matchesTheCompilersLayout]", async function () {
    const { harness, fields } = await loadFixture(harnessFixture);
    const word = await harness.pack(
      SAMPLE.status,
      SAMPLE.eta,
      SAMPLE.gracePeriod,
      SAMPLE.agentId,
      SAMPLE.epoch,
      SAMPLE.payloadTag,
    );
    for (const name of ["status", "eta", "gracePeriod", "agentId", "epoch", "payloadTag"] as const) {
      expect(field(word, fields[name]), name).to.equal(SAMPLE[name]);
    }
    expect(field(word, fields.approvals), "approvals start at zero").to.equal(0n);
    expect(field(word, fields.approvalEra), "approvalEra starts at zero").to.equal(0n);
  });

  it("sets no bit outside its own field when one field alone is set [test_pack_eachFieldAlone_leaksIntoNoOther]", async function () {
    const { harness, fields } = await loadFixture(harnessFixture);
    const args = ["status", "eta", "gracePeriod", "agentId", "epoch", "payloadTag"] as const;
    for (const name of args) {
      const values = args.map((a) => (a === name ? SAMPLE[a] : 0n)) as [bigint, bigint, bigint, bigint, bigint, bigint];
      const word = await harness.pack(...values);
      const f = fields[name];
      expect(word, `only ${name} set`).to.equal(SAMPLE[name] << f.shift);
    }
  });

  it("writes a word that the struct reads back field by field [test_store_thenStructRead_returnsEveryField]", async function () {
    const { harness } = await loadFixture(harnessFixture);
    const word = await harness.pack(
      SAMPLE.status,
      SAMPLE.eta,
      SAMPLE.gracePeriod,
      SAMPLE.agentId,
      SAMPLE.epoch,
      SAMPLE.payloadTag,
    );
    const r = await harness.storeAndRead.staticCall(ethers.id("record"), word);
    expect([
      r.status,
      r.eta,
      r.gracePeriod,
      r.agentId,
      r.epoch,
      r.approvals,
      r.approvalEra,
      r.payloadTag,
    ]).to.deep.equal([
      SAMPLE.status,
      SAMPLE.eta,
      SAMPLE.gracePeriod,
      SAMPLE.agentId,
      SAMPLE.epoch,
      0n,
      0n,
      SAMPLE.payloadTag,
    ]);
  });
});
