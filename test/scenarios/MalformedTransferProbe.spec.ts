/**
 * Finding R3 (low) of the v3 review: a `transfer` whose recipient word had dirty high bits made the module's decoder
 * revert. A revert records nothing, consumes no nonce and counts no strike, so a probing agent could try encodings
 * for free, looking for one that a token would read differently from the module. (Wrong lengths were already
 * denied, but as `TargetNotAllowed`, which hid what happened.) In v3 every non-canonical `transfer` (the selector
 * with other than 68 bytes, or a recipient word above 2^160) is Denied `MalformedCall`: recorded, nonce consumed,
 * one strike. This story has a compromised agent probe with five such encodings, each asking for 100,000 USDC (twice
 * its hard cap) to the attacker. Its policy: `maxStrikes` 3 within a day.
 * Threat: a prompt-injected or stolen agent key probing its fence (docs/THREAT-MODEL.md, T-MALFORMED).
 */
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { encodeBytes32String, id, parseUnits } from "ethers";
import { DenyReason, Status, intentId, transferData, treasuryFixture } from "../fixtures";
import { TreasuryBook } from "./model";

const TRANSFER = "0xa9059cbb";
const SAFE_USDC = parseUnits("1000000", 6);

describe("Scenario: an agent probes the transfer decoder (finding R3)", function () {
  it("test_malformedProbe_dirtyBitsAndWrongLengths_deniedStrikesThenFrozen_nothingMoved", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const a = fx.attacker.address;
    const amount = parseUnits("100000", 6);
    const canonical = transferData(a, amount); // 68 bytes
    const recipientWord = canonical.slice(10, 74);
    const amountWord = canonical.slice(74);
    // The encodings a probing agent tries, in order.
    const probes: [string, string][] = [
      [
        "dirty recipient word (0xff.. above the address)",
        TRANSFER + "ff".repeat(12) + recipientWord.slice(24) + amountWord,
      ],
      ["69 bytes: one trailing zero byte", canonical + "00"],
      ["36 bytes: no amount word", TRANSFER + recipientWord],
      ["67 bytes: amount word cut short", canonical.slice(0, -2)],
    ];
    expect(probes.map(([, data]) => (data.length - 2) / 2)).to.deep.equal([68, 69, 36, 67]);

    // Probes 1 to 3: each Denied MalformedCall, each a strike and a consumed nonce; the third freezes the agent.
    for (let i = 0; i < 3; i++) {
      const [what, data] = probes[i];
      const intent = await book.intent({ target: fx.usdcAddress, data, rationale: id(`probe ${i + 1}: ${what}`) });
      const tx = fx.module.connect(fx.relayer).submit(intent, await book.signature(intent));
      await expect(tx, what)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.MalformedCall, intent.rationale);
      if (i < 2) await expect(tx, what).to.not.emit(fx.module, "AgentFrozen");
      else
        await expect(tx, what)
          .to.emit(fx.module, "AgentFrozen")
          .withArgs(fx.agent.address, fx.moduleAddress, encodeBytes32String("strikes"));
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.Denied);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address), what).to.equal(BigInt(i + 1));
      expect(await fx.module.getNonce(fx.agent.address, 0), what).to.equal(BigInt(i + 1));
    }
    expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);

    // Probe 4 is no longer free or recorded: the frozen agent is rejected outright.
    const fourth = await book.intent({ target: fx.usdcAddress, data: probes[3][1] });
    await expect(fx.module.connect(fx.relayer).submit(fourth, await book.signature(fourth)))
      .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
      .withArgs(fx.agent.address);
    // Even a canonical payment within limits now waits for the owners.
    const honest = await book.intent({
      target: fx.usdcAddress,
      data: transferData(fx.alice.address, parseUnits("10", 6)),
    });
    await expect(fx.module.connect(fx.relayer).submit(honest, await book.signature(honest)))
      .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
      .withArgs(fx.agent.address);

    // Nothing moved: the treasury still holds 1,000,000 USDC, the attacker none; the window is untouched.
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(SAFE_USDC);
    expect(await fx.usdc.balanceOf(a)).to.equal(0n);
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(parseUnits("5000", 6));
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(3n);

    // The owners review and unfreeze: the strikes are cleared, and the canonical payment goes through.
    await book.asOwners(fx.module.interface.encodeFunctionData("unfreezeAgent", [fx.agent.address]));
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
    const paid = await book.intent({
      target: fx.usdcAddress,
      data: transferData(fx.alice.address, parseUnits("10", 6)),
    });
    await expect(fx.module.connect(fx.relayer).submit(paid, await book.signature(paid))).to.emit(
      fx.module,
      "IntentExecuted",
    );
    book.pay(fx.usdcAddress, fx.alice.address, parseUnits("10", 6));
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(SAFE_USDC - parseUnits("10", 6));
    await book.assertNothingLost();
  });
});
