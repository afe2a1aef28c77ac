/**
 * IntentHash (contracts/libraries/IntentHash.sol) reads an intent's agent, target, data and review flag raw, with its
 * own checks instead of the compiler's. The module only calls it after the compiler's checked reads of the same
 * words, so a malformed encoding never reaches it there; this spec crafts such encodings word by word and calls it
 * through a harness (contracts/test/IntentHashHarness.sol) to show that it refuses each one as the ABI decoder does
 * (a revert without data) and reads a canonical encoding exactly.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, Interface, concat, dataSlice, hexlify, toBeHex, zeroPadValue } from "ethers";

const AGENT = "0x00000000000000000000000000000000000a6e17";
const TARGET = "0x000000000000000000000000000000000000c0de";
const DATA = "0xa9059cbb" + "11".repeat(64);

async function harnessFixture() {
  const harness = await (await ethers.getContractFactory("IntentHashHarness")).deploy();
  return { harness };
}

/** Calldata of `fn(intent)` for a canonical intent, as 32-byte words after the selector (word 0: the intent's offset). */
function words(iface: Interface, fn: string): string[] {
  const intent = [AGENT, TARGET, 5n, DATA, 7n, ethers.id("key"), 1n, 2n, ethers.id("why"), true];
  const encoded = iface.encodeFunctionData(fn, [intent]);
  const body = dataSlice(encoded, 4);
  const out: string[] = [];
  for (let i = 0; i < (body.length - 2) / 64; i++) out.push(dataSlice(body, i * 32, i * 32 + 32));
  return [dataSlice(encoded, 0, 4), ...out];
}

/** The calldata with word `index` of the intent (0 = agent, 1 = target, 3 = data offset, 9 = review) replaced. */
function withWord(all: string[], index: number, value: string): string {
  const copy = [...all];
  copy[2 + index] = zeroPadValue(value, 32); // [selector, intent offset, intent words...]
  return hexlify(concat(copy));
}

describe("IntentHash", function () {
  it("reads a canonical intent's agent, target and data exactly [test_checkedFields_canonical_readsEachField]", async function () {
    const { harness } = await loadFixture(harnessFixture);
    const [agent, callee, data] = await harness.fields.staticCall({
      agent: AGENT,
      target: TARGET,
      value: 5n,
      data: DATA,
      nonce: 7n,
      idempotencyKey: ethers.id("key"),
      validAfter: 1n,
      validUntil: 2n,
      rationale: ethers.id("why"),
      review: true,
    });
    expect([agent.toLowerCase(), callee.toLowerCase(), data]).to.deep.equal([AGENT, TARGET, DATA]);
  });

  it("refuses an agent or target word with dirty high bits, as the ABI decoder does [test_checkedFields_dirtyAddress_revertsWithoutData]", async function () {
    const { harness } = await loadFixture(harnessFixture);
    const all = words(harness.interface, "fields");
    const to = await harness.getAddress();
    for (const index of [0, 1]) {
      const dirty = toBeHex((1n << 160n) | BigInt(all[2 + index]), 32);
      const call = ethers.provider.call({ to, data: withWord(all, index, dirty) });
      await expect(call, `word ${index}`).to.be.rejected;
      await call.catch((e: { data?: string }) => expect(e.data ?? "0x", `word ${index}`).to.equal("0x"));
    }
  });

  it("refuses data whose offset or length points outside the calldata [test_checkedFields_dataOutOfBounds_revertsWithoutData]", async function () {
    const { harness } = await loadFixture(harnessFixture);
    const all = words(harness.interface, "fields");
    const to = await harness.getAddress();
    const size = BigInt((hexlify(concat(all)).length - 2) / 2);
    // An offset past the end, an offset near 2^64 (whose sum must not wrap), and a length longer than what follows.
    const lengthWordIndex = Number(BigInt(all[2 + 3]) / 32n); // the data head, in intent words
    const cases: [number, string][] = [
      [3, toBeHex(size, 32)],
      [3, toBeHex((1n << 64n) - 1n, 32)],
      [lengthWordIndex, toBeHex(size, 32)],
    ];
    for (const [index, value] of cases) {
      await expect(ethers.provider.call({ to, data: withWord(all, index, value) }), `word ${index} = ${value}`).to.be
        .rejected;
    }
    // Control: the unmodified encoding is read.
    const ok = await ethers.provider.call({ to, data: hexlify(concat(all)) });
    const [, , data] = AbiCoder.defaultAbiCoder().decode(["address", "address", "bytes"], ok);
    expect(data).to.equal(DATA);
  });

  it("reads review as 0 or 1 and refuses any other word [test_reviewFlag_notZeroOrOne_revertsWithoutData]", async function () {
    const { harness } = await loadFixture(harnessFixture);
    const all = words(harness.interface, "reviewFlag");
    const to = await harness.getAddress();
    for (const [value, expected] of [
      ["0x00", false],
      ["0x01", true],
    ] as const) {
      const out = await ethers.provider.call({ to, data: withWord(all, 9, value) });
      expect(AbiCoder.defaultAbiCoder().decode(["bool"], out)[0]).to.equal(expected);
    }
    await expect(ethers.provider.call({ to, data: withWord(all, 9, "0x02") })).to.be.rejected;
  });
});
