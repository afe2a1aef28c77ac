/**
 * AgentTreasuryLens reads the module's storage through `extsload`, so its slot constants must match the compiler's
 * storage layout of AgentTreasuryModule (read from the build info), and its answers must agree with behaviour.
 */
import { expect } from "chai";
import hre, { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import {
  DAY,
  DenyReason,
  ETH,
  HOUR,
  agentConfig,
  buildIntent,
  cosignerSignatures,
  intentId,
  moduleAsSafe,
  submitSigned,
  tokenPayment,
  treasuryFixture,
} from "../fixtures";
import { moduleLayout } from "../layout";
import { expectDenied, expectOutcome } from "./helpers";

interface AstNode {
  nodeType: string;
  name?: string;
  constant?: boolean;
  value?: { nodeType: string; value?: string };
  [key: string]: unknown;
}

/**
 * The lens's slot constants the views need, and how each names its state variable: `SLOT_ALLOWED_CALLS` points at
 * `_allowedCalls`, and so on. Any further `SLOT_*` constant the lens declares is checked the same way.
 */
const REQUIRED_SLOTS = [
  "SLOT_AGENTS",
  "SLOT_ALLOWED_CALLS",
  "SLOT_RECIPIENTS",
  "SLOT_WINDOWS",
  "SLOT_ESCALATED",
  "SLOT_TREASURY_PER_WINDOW",
  "SLOT_TREASURY_WINDOWS",
];

/** `SLOT_TREASURY_PER_WINDOW` -> `_treasuryPerWindow`. */
function stateVariableOf(constant: string): string {
  const words = constant
    .replace(/^SLOT_/, "")
    .toLowerCase()
    .split("_");
  return (
    "_" +
    words[0] +
    words
      .slice(1)
      .map((w) => w[0].toUpperCase() + w.slice(1))
      .join("")
  );
}

/** The integer constants declared in `source`, from the AST in the build info that compiled `fqn`. */
async function constantsOf(fqn: string, source = fqn.split(":")[0]): Promise<Record<string, bigint>> {
  const info = await hre.artifacts.getBuildInfo(fqn);
  if (!info) throw new Error(`no build info for ${fqn}: run npx hardhat compile`);
  const found: Record<string, bigint> = {};
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== "object") return;
    const n = node as AstNode;
    if (n.nodeType === "VariableDeclaration" && n.constant && n.name && n.value?.nodeType === "Literal") {
      found[n.name] = BigInt(n.value.value as string);
    }
    for (const child of Object.values(n)) visit(child);
  };
  visit(info.output.sources[source].ast);
  return found;
}

describe("AgentTreasuryLens", function () {
  describe("storage layout", function () {
    it("test_lensSlotConstants_matchCompilerStorageLayout", async function () {
      const layout = await moduleLayout();
      const lens = await constantsOf("contracts/AgentTreasuryLens.sol:AgentTreasuryLens");
      const declared = Object.keys(lens).filter((name) => name.startsWith("SLOT_"));
      for (const required of REQUIRED_SLOTS) {
        expect(declared, `lens constant ${required} is not declared`).to.include(required);
      }
      for (const constant of declared) {
        const label = stateVariableOf(constant);
        const entry = layout.storage.find((s) => s.label === label);
        expect(entry !== undefined, `${constant}: no state variable ${label} in AgentTreasuryModule's layout`).to.equal(
          true,
        );
        expect(lens[constant], `${constant} vs slot of ${label}`).to.equal(BigInt(entry!.slot));
      }
    });

    it("test_lensMappingShapes_matchCompilerStorageLayout", async function () {
      const layout = await moduleLayout();
      const keyChain = (label: string): string[] => {
        let type = layout.types[layout.storage.find((s) => s.label === label)!.type];
        const keys: string[] = [];
        while (type.encoding === "mapping") {
          keys.push(layout.types[type.key!].label);
          type = layout.types[type.value!];
        }
        keys.push(type.label);
        return keys;
      };
      // What the lens hashes, level by level, and what it finds at the end.
      expect(keyChain("_agents").slice(0, 1)).to.deep.equal(["address"]);
      // Per-identity state of the agent (whatever its name) is keyed by the uint32 id the record holds.
      const lens = await constantsOf("contracts/AgentTreasuryLens.sol:AgentTreasuryLens");
      for (const constant of Object.keys(lens).filter((n) => n.startsWith("SLOT_") && n !== "SLOT_AGENTS")) {
        const label = stateVariableOf(constant);
        const perAsset = label === "_treasuryPerWindow" || label === "_treasuryWindows" || label === "_priceFeeds";
        expect(keyChain(label)[0], `${label} key`).to.equal(perAsset ? "address" : "uint32");
      }
      expect(keyChain("_allowedCalls")).to.deep.equal(["uint32", "address", "bytes4", "struct AgentRegistry.CallRule"]);
      // The lens reads `allowed` from the low byte of the call's slot and the count of its conditions from the next.
      let rule = layout.types[layout.storage.find((s) => s.label === "_allowedCalls")!.type];
      while (rule.encoding === "mapping") rule = layout.types[rule.value!];
      expect(rule.members!.map((m) => [m.label, m.slot, m.offset])).to.deep.equal([
        ["allowed", "0", 0],
        ["conditions", "0", 1],
      ]);
      // v3: the conditions themselves, a fixed array of two-slot structs per call: | word (16) | op (8) | and value.
      expect(keyChain("_callConditions").slice(0, 3)).to.deep.equal(["uint32", "address", "bytes4"]);
      let conditions = layout.types[layout.storage.find((s) => s.label === "_callConditions")!.type];
      while (conditions.encoding === "mapping") conditions = layout.types[conditions.value!];
      expect(conditions.label).to.equal("struct IAgentTreasuryTypes.Condition[16]");
      const condition = layout.types[(conditions as { base?: string }).base!];
      expect(condition.numberOfBytes).to.equal("64");
      expect(condition.members!.map((m) => [m.label, m.slot, m.offset])).to.deep.equal([
        ["word", "0", 0],
        ["op", "0", 2],
        ["value", "1", 0],
      ]);
      expect(keyChain("_recipients")).to.deep.equal(["uint32", "address", "bool"]);
      expect(keyChain("_escalated")).to.deep.equal(["uint32", "address", "uint256"]);
      expect(keyChain("_treasuryPerWindow")).to.deep.equal(["address", "uint128"]);
      expect(keyChain("_windows").slice(0, 2)).to.deep.equal(["uint32", "address"]);
      expect(keyChain("_treasuryWindows").slice(0, 1)).to.deep.equal(["address"]);
      expect(keyChain("_priceFeeds")).to.deep.equal(["address", "struct UsdLimits.PriceFeed"]);
      expect(keyChain("_usdAuto")).to.deep.equal(["uint32", "struct UsdLimits.UsdAuto"]);
      expect(keyChain("_usdHardCaps")).to.deep.equal(["uint32", "uint128"]);
      expect(keyChain("_usdWindows")).to.deep.equal(["uint32", "struct SlidingWindow.Window"]);
    });

    it("test_lensWindowShape_matchesSlidingWindowLayout", async function () {
      const layout = await moduleLayout();
      let type = layout.types[layout.storage.find((s) => s.label === "_windows")!.type];
      while (type.encoding === "mapping") type = layout.types[type.value!];
      // The lens walks the ring with SlidingWindow.CAPACITY and decodes words with SlidingWindow's own readers.
      const library = await constantsOf(
        "contracts/AgentTreasuryModule.sol:AgentTreasuryModule",
        "contracts/libraries/SlidingWindow.sol",
      );
      // The header first, then CAPACITY entries in consecutive slots.
      expect(type.members!.map((m) => [m.label, m.slot])).to.deep.equal([
        ["header", "0"],
        ["entries", "1"],
      ]);
      expect(BigInt(type.numberOfBytes)).to.equal(32n * (1n + library.CAPACITY));
    });
  });

  describe("answers agree with behaviour", function () {
    it("test_strikes_countDenials", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      for (let i = 1n; i <= 2n; i++) {
        const intent = await buildIntent(fx, { value: parseEther("50") });
        await expect(submitSigned(fx, intent))
          .to.emit(fx.module, "IntentDenied")
          .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.AboveHardCap, intent.rationale);
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(i);
      }
      // Executed intents are not strikes.
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }));
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(2n);
      // Strikes fade: nothing older than the strike window counts.
      await time.increase(DAY);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.bob.address)).to.equal(0n);
    });

    it("test_rateCount_countsAcceptedIntents", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (
        await moduleAsSafe(fx)
      ).setAgent(fx.agent.address, agentConfig({ maxIntentsPerWindow: 10n, rateWindow: BigInt(HOUR) }));
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") })); // executed
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("2") })); // queued
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("20") })); // denied
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(3n);
      await time.increase(HOUR);
      expect(await fx.lens.rateCount(fx.moduleAddress, fx.agent.address)).to.equal(0n);
    });

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

    it("test_isAllowedCallAndIsRecipient_followTheSetters", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      const sel = "0x12345678";
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.bob.address, sel)).to.equal(false);
      await owner.setAllowedCall(a, fx.bob.address, sel, true);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.bob.address, sel)).to.equal(true);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.bob.address, "0x12345679")).to.equal(false);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.alice.address, sel)).to.equal(false);
      await owner.setAllowedCall(a, fx.bob.address, sel, false);
      expect(await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.bob.address, sel)).to.equal(false);
      expect(await fx.lens.isRecipient(fx.moduleAddress, a, fx.alice.address)).to.equal(false);
      await owner.setRecipient(a, fx.alice.address, true);
      expect(await fx.lens.isRecipient(fx.moduleAddress, a, fx.alice.address)).to.equal(true);
      expect(await fx.lens.isRecipient(fx.moduleAddress, a, fx.bob.address)).to.equal(false);
      // Rotation keeps them (they belong to the identity).
      await owner.rotateAgent(a, fx.signers[15].address);
      expect(await fx.lens.isRecipient(fx.moduleAddress, fx.signers[15].address, fx.alice.address)).to.equal(true);
    });

    it("test_spendEntries_listLiveSpendsWithReleaseTimes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const t0 = BigInt(await time.latest()) + 100n;
      const amounts = [parseUnits("100", 6), parseUnits("250", 6)];
      for (const [i, amount] of amounts.entries()) {
        const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount);
        await time.setNextBlockTimestamp(t0 + BigInt(i) * 60n);
        await submitSigned(fx, intent);
      }
      const [releaseAt, spent] = await fx.lens.spendEntries(fx.moduleAddress, fx.agent.address, fx.usdcAddress);
      expect(releaseAt).to.deep.equal([t0 + BigInt(DAY), t0 + 60n + BigInt(DAY)]);
      expect(spent).to.deep.equal(amounts);
      const total = amounts[0] + amounts[1];
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(
        fx.usdcLimit.autoPerWindow - total,
      );
      await time.increaseTo(t0 + BigInt(DAY));
      const [releaseLater, spentLater] = await fx.lens.spendEntries(fx.moduleAddress, fx.agent.address, fx.usdcAddress);
      expect([releaseLater, spentLater]).to.deep.equal([[t0 + 60n + BigInt(DAY)], [amounts[1]]]);
      expect(await fx.lens.spendEntries(fx.moduleAddress, fx.agent.address, ETH)).to.deep.equal([[], []]);
    });

    it("test_treasuryLimit_followsSetterAndPayments", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([0n, 0n, 0n]);
      const perWindow = parseUnits("3000", 6);
      await (await moduleAsSafe(fx)).setTreasuryLimit(fx.usdcAddress, perWindow, 2 * HOUR);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([
        perWindow,
        BigInt(2 * HOUR),
        0n,
      ]);
      await submitSigned(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("700", 6)));
      await submitSigned(fx, await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("800", 6)));
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([
        perWindow,
        BigInt(2 * HOUR),
        parseUnits("1500", 6),
      ]);
      await time.increase(2 * HOUR);
      expect((await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress))[2]).to.equal(0n);
      await (await moduleAsSafe(fx)).setTreasuryLimit(fx.usdcAddress, 0n, 0);
      expect(await fx.lens.treasuryLimit(fx.moduleAddress, fx.usdcAddress)).to.deep.equal([0n, 0n, 0n]);
    });

    it("test_escalatedSpent_addsExecutedQueuedIntents", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseEther("4");
      const intent = await buildIntent(fx, { value: amount });
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentQueued");
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(0n);
      await time.increase(HOUR);
      const id_ = intentId(fx, intent);
      await fx.module.executeQueued(intent, await cosignerSignatures(fx, id_, fx.cosigners.slice(1)));
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, ETH)).to.equal(amount);
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, fx.usdcAddress)).to.equal(0n);
      expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(parseEther("100") - amount);
    });
  });
});
