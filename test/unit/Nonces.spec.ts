/**
 * Nonces: ERC-4337-style 2D nonces, `(uint192 lane << 64) | uint64 sequence`. An intent must carry exactly the current
 * nonce of its lane; lanes are independent. Promise 2: a nonce is consumed at most once.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, parseUnits } from "ethers";
import {
  DenyReason,
  ETH,
  Status,
  agentConfig,
  buildIntent,
  intentId,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import { packNonce, splitNonce } from "../../sdk/eip712";

const MAX_LANE = 2n ** 192n - 1n;

describe("Nonces", function () {
  describe("getNonce", function () {
    it("test_getNonce_packsLaneAndSequence", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (const lane of [0n, 1n, 42n, 2n ** 64n, MAX_LANE]) {
        const nonce = await fx.module.getNonce(fx.agent.address, lane);
        expect(nonce).to.equal(packNonce(lane, 0n));
        expect(splitNonce(nonce)).to.deep.equal({ lane, sequence: 0n });
      }
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1"), lane: MAX_LANE }));
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1"), lane: MAX_LANE }));
      expect(await fx.module.getNonce(fx.agent.address, MAX_LANE)).to.equal(packNonce(MAX_LANE, 2n));
      expect(splitNonce(await fx.module.getNonce(fx.agent.address, MAX_LANE))).to.deep.equal({
        lane: MAX_LANE,
        sequence: 2n,
      });
    });

    it("test_getNonce_unknownAgent_isSequenceZero", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.module.getNonce(fx.attacker.address, 0)).to.equal(0n);
      expect(await fx.module.getNonce(fx.attacker.address, 9)).to.equal(packNonce(9n, 0n));
    });
  });

  describe("in one lane", function () {
    it("test_submit_consecutiveNonces_eachAcceptedOnceInOrder", async function () {
      const fx = await loadFixture(treasuryFixture);
      for (let i = 0n; i < 3n; i++) {
        const intent = await buildIntent(fx, { value: parseEther("0.1") });
        expect(intent.nonce).to.equal(i);
        await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentExecuted");
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(i + 1n);
      }
    });

    it("test_submit_reusedNonce_revertsIntentNonceMismatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5") });
      const signature = await sign(fx.agent, fx, intent);
      await fx.module.connect(fx.relayer).submit(intent, signature);
      const before = await treasuryState(fx);
      // The very same signed intent, replayed.
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      // A different intent signed for the used nonce.
      const other = await buildIntent(fx, { value: parseEther("0.2"), nonce: 0n, rationale: intent.rationale });
      await expect(submitSigned(fx, other))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("test_submit_skippedNonce_revertsIntentNonceMismatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      const ahead = await buildIntent(fx, { value: parseEther("0.5"), nonce: 2n });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, ahead))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 0n, 2n);
      expect(await treasuryState(fx)).to.deep.equal(before);
      // Once the gap is filled the skipped-ahead intent becomes the current one.
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }));
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }));
      await expect(submitSigned(fx, ahead)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(3n);
    });

    it("test_submit_deniedAndQueuedOutcomes_consumeTheNonce", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Denied: an unknown token has no limit.
      const denied = await tokenPayment(fx, fx.attacker.address, fx.alice.address, 1n);
      await expect(submitSigned(fx, denied))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(intentId(fx, denied), fx.agent.address, DenyReason.AssetNotAllowed, denied.rationale);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      // Queued: above autoPerTx.
      const queued = await buildIntent(fx, { value: parseEther("2") });
      await expect(submitSigned(fx, queued)).to.emit(fx.module, "IntentQueued");
      expect(await fx.module.intentStatus(intentId(fx, queued))).to.equal(Status.Queued);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(2n);
      for (const used of [denied, queued]) {
        await expect(submitSigned(fx, used))
          .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
          .withArgs(fx.agent.address, 2n, used.nonce);
      }
    });
  });

  describe("in independent lanes", function () {
    it("test_submit_otherLane_doesNotTouchLaneZero", async function () {
      const fx = await loadFixture(treasuryFixture);
      const lane = 5n;
      const inLane = await buildIntent(fx, { value: parseEther("0.1"), lane });
      expect(inLane.nonce).to.equal(packNonce(lane, 0n));
      await expect(submitSigned(fx, inLane)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, lane)).to.equal(packNonce(lane, 1n));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      expect(await fx.module.getNonce(fx.agent.address, 6)).to.equal(packNonce(6n, 0n));
      const laneZero = await buildIntent(fx, { value: parseEther("0.1") });
      expect(laneZero.nonce).to.equal(0n);
      await expect(submitSigned(fx, laneZero)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, lane)).to.equal(packNonce(lane, 1n));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });

    it("test_submit_stuckIntentInOneLane_doesNotBlockAnother", async function () {
      const fx = await loadFixture(treasuryFixture);
      // Lane 1 holds a signed intent nobody submits (e.g. a relayer withholds it).
      const stuck = await buildIntent(fx, { value: parseEther("0.1"), lane: 1n });
      const stuckSig = await sign(fx.agent, fx, stuck);
      for (let i = 0; i < 2; i++) {
        await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1"), lane: 2n }))).to.emit(
          fx.module,
          "IntentExecuted",
        );
      }
      expect(await fx.module.getNonce(fx.agent.address, 2)).to.equal(packNonce(2n, 2n));
      expect(await fx.module.getNonce(fx.agent.address, 1)).to.equal(packNonce(1n, 0n));
      await expect(fx.module.connect(fx.relayer).submit(stuck, stuckSig)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, 1)).to.equal(packNonce(1n, 1n));
    });

    it("test_submit_wrongSequenceInOtherLane_revertsWithThatLanesExpectedNonce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const lane = 77n;
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1"), lane }));
      const reused = await buildIntent(fx, { value: parseEther("0.1"), nonce: packNonce(lane, 0n) });
      const skipped = await buildIntent(fx, { value: parseEther("0.1"), nonce: packNonce(lane, 5n) });
      const before = await treasuryState(fx, { lanes: [0n, lane] });
      await expect(submitSigned(fx, reused))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, packNonce(lane, 1n), packNonce(lane, 0n));
      await expect(submitSigned(fx, skipped))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, packNonce(lane, 1n), packNonce(lane, 5n));
      expect(await treasuryState(fx, { lanes: [0n, lane] })).to.deep.equal(before);
    });

    it("test_submit_sameSequenceInTwoLanes_areDifferentNonces", async function () {
      const fx = await loadFixture(treasuryFixture);
      const a = await buildIntent(fx, { value: parseEther("0.1"), lane: 3n });
      const b = await buildIntent(fx, { value: parseEther("0.1"), lane: 4n });
      expect(intentId(fx, a)).to.not.equal(intentId(fx, b));
      await expect(submitSigned(fx, a)).to.emit(fx.module, "IntentExecuted");
      await expect(submitSigned(fx, b)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, 3)).to.equal(packNonce(3n, 1n));
      expect(await fx.module.getNonce(fx.agent.address, 4)).to.equal(packNonce(4n, 1n));
    });
  });

  describe("when a submission reverts", function () {
    it("test_submit_revertedSubmissions_leaveEveryNonceUnchanged", async function () {
      const fx = await loadFixture(treasuryFixture);
      // A token the agent may pay in but the Safe does not hold: its transfer reverts inside the Safe.
      const empty = await ethers.deployContract("MockERC20", ["Empty", "EMPTY", 6]);
      const emptyAddress = await empty.getAddress();
      await (await moduleAsSafe(fx)).setAssetLimit(fx.agent.address, emptyAddress, fx.usdcLimit);
      const lanes = [0n, 9n];
      const probe = { lanes, assets: [ETH, fx.usdcAddress, emptyAddress] };
      const before = await treasuryState(fx, probe);
      for (const lane of lanes) {
        const intent = await buildIntent(fx, { value: parseEther("0.5"), lane });
        // Bad signature.
        await expect(submitSigned(fx, intent, fx.attacker))
          .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
          .withArgs(fx.agent.address, intentId(fx, intent));
        // Validity window.
        const expired = { ...intent, validUntil: 1n };
        await expect(submitSigned(fx, expired)).to.be.revertedWithCustomError(fx.module, "IntentExpired");
        // Failing inner call: the transfer reverts, and so does the whole submission.
        const amount = parseUnits("1000", 6);
        const failing = await tokenPayment(fx, emptyAddress, fx.alice.address, amount, {
          nonce: await fx.module.getNonce(fx.agent.address, lane),
        });
        await expect(submitSigned(fx, failing))
          .to.be.revertedWithCustomError(empty, "ERC20InsufficientBalance")
          .withArgs(fx.safeAddress, 0n, amount);
      }
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
    });

    it("test_submit_afterRemovalAndReAdd_noncesAreKept", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const used = await buildIntent(fx, { value: parseEther("0.1") });
      const usedSig = await sign(fx.agent, fx, used);
      await fx.module.connect(fx.relayer).submit(used, usedSig);
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1"), lane: 8n }));
      await owner.removeAgent(fx.agent.address);
      await owner.setAgent(fx.agent.address, agentConfig());
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      expect(await fx.module.getNonce(fx.agent.address, 8)).to.equal(packNonce(8n, 1n));
      await expect(fx.module.connect(fx.relayer).submit(used, usedSig))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
    });

    it("test_rotateAgent_newKeyInheritsNonces", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }));
      await submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1"), lane: 3n }));
      const newKey = fx.signers[15];
      await expect(owner.rotateAgent(fx.agent.address, newKey.address))
        .to.emit(fx.module, "AgentRotated")
        .withArgs(fx.agent.address, newKey.address);
      expect(await fx.module.getNonce(newKey.address, 0)).to.equal(1n);
      expect(await fx.module.getNonce(newKey.address, 3)).to.equal(packNonce(3n, 1n));
      const stale = await buildIntent(fx, { agent: newKey.address, value: parseEther("0.1"), nonce: 0n });
      await expect(submitSigned(fx, stale, newKey))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(newKey.address, 1n, 0n);
    });
  });
});
