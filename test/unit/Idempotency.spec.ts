/**
 * Idempotency (SPEC section 4): `(agent, idempotencyKey)` binds forever to one payload `keccak256(abi.encode(target,
 * value, keccak256(data)))`. A retry with the same payload returns the original intentId and its current status and
 * emits `IdempotentReplay`; its nonce is neither checked nor consumed; pause, agent, validity-window and signature
 * checks still apply. The key belongs to the agent identity: it survives removal and key rotation. A submission that
 * reverts binds no key. Promise 2: exactly once.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, setStorageAt, time } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroHash, id, parseEther, parseUnits } from "ethers";
import {
  DenyReason,
  ETH,
  HOUR,
  Status,
  Treasury,
  agentConfig,
  buildIntent,
  intentId,
  mocksFixture,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  transferData,
  treasuryFixture,
  treasuryState,
  twoAgentsFixture,
} from "../fixtures";
import { Intent, payloadCommitment } from "../../sdk/eip712";
import { moduleLayout } from "../layout";
import { TENTH, ethBalance, spendBeforeRotation } from "./helpers";

const KEY = id("invoice-2024-001");

/** A keyed USDC payment of `amount` to alice, at the agent's current nonce unless overridden. */
async function keyedPayment(fx: Treasury, amount = parseUnits("250", 6), fields: Partial<Intent> = {}) {
  return tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount, { idempotencyKey: KEY, ...fields });
}

describe("Idempotency", function () {
  describe("when a keyed payment executed and its receipt was lost", function () {
    it("answers an exact retry with the original intentId and status, and pays once [test_submit_exactRetry_paysOnceAndReturnsOriginalIntentId]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseUnits("250", 6);
      const intent = await keyedPayment(fx, amount);
      const signature = await sign(fx.agent, fx, intent);
      const original = intentId(fx, intent);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(original, fx.agent.address, fx.usdcAddress, fx.alice.address, amount, false, intent.rationale);
      expect(await fx.module.intentStatus(original)).to.equal(Status.Executed);

      const before = await treasuryState(fx);
      const [returnedId, status] = await fx.module.connect(fx.relayer).submit.staticCall(intent, signature);
      expect(returnedId).to.equal(original);
      expect(status).to.equal(Status.Executed);
      const retry = fx.module.connect(fx.relayer).submit(intent, signature);
      await expect(retry).to.emit(fx.module, "IdempotentReplay").withArgs(original, fx.agent.address, KEY);
      await expect(retry).to.not.emit(fx.module, "IntentExecuted");
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(amount);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });

    it("replays a rebuilt retry (another nonce or lane, deadline or rationale) without consuming its nonce [test_submit_retryWithNewNonceValidUntilAndRationale_replaysWithoutConsumingTheNonce]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseUnits("250", 6);
      const first = await keyedPayment(fx, amount);
      await submitSigned(fx, first);
      const original = intentId(fx, first);
      // The client rebuilt the intent: next nonce (in another lane too), a fresh deadline, a reworded rationale.
      const now = BigInt(await time.latest());
      for (const retry of [
        { ...first, nonce: 1n, validUntil: now + 2n * BigInt(HOUR), rationale: id("retry after timeout") },
        { ...first, nonce: (4n << 64n) | 0n, validAfter: now - 10n, rationale: id("retry in lane 4") },
      ]) {
        expect(intentId(fx, retry)).to.not.equal(original);
        const before = await treasuryState(fx, { lanes: [0n, 4n] });
        const [returnedId, status] = await fx.module
          .connect(fx.relayer)
          .submit.staticCall(retry, await sign(fx.agent, fx, retry));
        expect([returnedId, status]).to.deep.equal([original, Status.Executed]);
        await expect(submitSigned(fx, retry))
          .to.emit(fx.module, "IdempotentReplay")
          .withArgs(original, fx.agent.address, KEY);
        expect(await treasuryState(fx, { lanes: [0n, 4n] })).to.deep.equal(before);
        expect(await fx.module.intentStatus(intentId(fx, retry))).to.equal(Status.None);
      }
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(amount);
      // The nonce the retry carried is still free for real work.
      await expect(submitSigned(fx, await buildIntent(fx, { value: parseEther("0.1") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
    });

    it("replays a retry whatever nonce it carries [test_submit_retryWithStaleOrFutureNonce_stillReplays]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx);
      await submitSigned(fx, first);
      for (const nonce of [0n, 99n]) {
        await expect(submitSigned(fx, { ...first, nonce }))
          .to.emit(fx.module, "IdempotentReplay")
          .withArgs(intentId(fx, first), fx.agent.address, KEY);
      }
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });
  });

  describe("when the key is bound to another payload", function () {
    it("rejects another amount, recipient, value or target under the key with IdempotencyKeyConflict naming the original [test_submit_differentPayloadSameKey_revertsIdempotencyKeyConflict]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx, parseUnits("250", 6));
      await submitSigned(fx, first);
      const original = intentId(fx, first);
      const conflicting: Intent[] = [
        { ...first, nonce: 1n, data: transferData(fx.alice.address, parseUnits("251", 6)) }, // amount
        { ...first, nonce: 1n, data: transferData(fx.bob.address, parseUnits("250", 6)) }, // recipient
        { ...first, nonce: 1n, value: 1n }, // value
        { ...first, nonce: 1n, target: fx.alice.address, data: "0x" }, // target and data
      ];
      const before = await treasuryState(fx);
      for (const intent of conflicting) {
        await expect(submitSigned(fx, intent))
          .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
          .withArgs(fx.agent.address, KEY, original);
      }
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([
        original,
        payloadCommitment(first.target, first.value, first.data),
      ]);
    });

    it("at worst reads a payload whose 80-bit tag collides as a replay of the original, and never executes it [test_submit_payloadTagCollision_readsAsReplayOfTheOriginalNeverExecutes]", async function () {
      // A record keeps 80 bits of the payload hash. Finding two payloads whose tags collide takes about 2^40 hashes
      // of the agent's own payloads; here the collision is simulated by writing the second payload's tag into the
      // original's record. The worst it does: the second payload reads as a replay of the first. It never executes.
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx, parseUnits("250", 6));
      await submitSigned(fx, first);
      const original = intentId(fx, first);
      const second = await buildIntent(fx, { target: fx.bob.address, value: parseEther("0.7"), idempotencyKey: KEY });
      await expect(submitSigned(fx, second))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(fx.agent.address, KEY, original);

      // The original's record: `_intents[original]`, payloadTag in the top 80 bits of its one slot.
      const layout = await moduleLayout();
      const intents = layout.storage.find((e) => e.label === "_intents");
      expect(intents, "_intents in the storage layout").to.not.equal(undefined);
      const slot = ethers.keccak256(
        ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [original, intents!.slot]),
      );
      const word = BigInt(await ethers.provider.getStorage(fx.moduleAddress, slot));
      const tagOf = (i: Intent) => BigInt(payloadCommitment(i.target, i.value, i.data)) >> 176n;
      expect(word >> 176n, "the stored tag is the original's").to.equal(tagOf(first));
      await setStorageAt(
        fx.moduleAddress,
        slot,
        ethers.toBeHex((word & ((1n << 176n) - 1n)) | (tagOf(second) << 176n), 32),
      );

      const before = await treasuryState(fx);
      const signature = await sign(fx.agent, fx, second);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(second, signature)).to.deep.equal([
        original,
        Status.Executed,
      ]);
      const replay = fx.module.connect(fx.relayer).submit(second, signature);
      await expect(replay).to.emit(fx.module, "IdempotentReplay").withArgs(original, fx.agent.address, KEY);
      await expect(replay).to.not.emit(fx.module, "IntentExecuted");
      // Nothing paid to bob, nothing charged, the nonce not consumed, the second payload has no record of its own.
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.module.intentStatus(intentId(fx, second))).to.equal(Status.None);
    });

    it("keeps each agent's keys to itself [test_submit_sameKeyForAnotherAgent_isIndependent]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const other = fx.signers[15];
      const owner = await moduleAsSafe(fx);
      await owner.setAgent(other.address, agentConfig());
      await owner.setAssetLimit(other.address, ETH, fx.ethLimit);
      await submitSigned(fx, await keyedPayment(fx));
      const theirs = await buildIntent(fx, { agent: other.address, value: parseEther("0.1"), idempotencyKey: KEY });
      await expect(submitSigned(fx, theirs, other))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, theirs), other.address, ETH, fx.alice.address, theirs.value, false, theirs.rationale);
      const [theirId] = await fx.module.idempotencyRecord(other.address, KEY);
      expect(theirId).to.equal(intentId(fx, theirs));
    });
  });

  describe("when the first attempt was denied or queued", function () {
    it("binds the key to a denied intent: a retry replays the denial without a strike, another payload conflicts [test_submit_deniedFirstAttempt_bindsTheKey]", async function () {
      const fx = await loadFixture(treasuryFixture);
      // A token the agent has no limit for: denied, but the key binds.
      const first = await tokenPayment(fx, fx.attacker.address, fx.alice.address, 5n, { idempotencyKey: KEY });
      const original = intentId(fx, first);
      await expect(submitSigned(fx, first))
        .to.emit(fx.module, "IntentDenied")
        .withArgs(original, fx.agent.address, DenyReason.AssetNotAllowed, first.rationale);
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([
        original,
        payloadCommitment(first.target, first.value, first.data),
      ]);
      const retry = { ...first, nonce: 1n };
      const [returnedId, status] = await fx.module
        .connect(fx.relayer)
        .submit.staticCall(retry, await sign(fx.agent, fx, retry));
      expect([returnedId, status]).to.deep.equal([original, Status.Denied]);
      // A replay is not another denial: no strike, no nonce.
      await expect(submitSigned(fx, retry))
        .to.emit(fx.module, "IdempotentReplay")
        .withArgs(original, fx.agent.address, KEY);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      // The key cannot be reused for a payment that would pass.
      const allowed = await keyedPayment(fx, parseUnits("5", 6), { nonce: 1n });
      await expect(submitSigned(fx, allowed))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(fx.agent.address, KEY, original);
    });

    it("reports a queued original's current status on a replay, cancelled included [test_submit_queuedFirstAttempt_replayReportsCurrentStatus]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx, parseUnits("2000", 6)); // above autoPerTx: queued
      const original = intentId(fx, first);
      await expect(submitSigned(fx, first)).to.emit(fx.module, "IntentQueued");
      const retry = { ...first, nonce: 1n, rationale: id("again") };
      const signature = await sign(fx.agent, fx, retry);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(retry, signature)).to.deep.equal([
        original,
        Status.Queued,
      ]);
      await fx.module.connect(fx.guardian).cancel(original);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(retry, signature)).to.deep.equal([
        original,
        Status.Cancelled,
      ]);
      await expect(fx.module.connect(fx.relayer).submit(retry, signature))
        .to.emit(fx.module, "IdempotentReplay")
        .withArgs(original, fx.agent.address, KEY);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });
  });

  describe("when the first attempt reverted after its key was looked up", function () {
    // The module binds a new key before it checks the nonce and before the Safe is called (every outcome binds
    // it); a revert at either point must undo the binding with everything else.
    // The module binds a new key before it checks the nonce and before the Safe is called (every outcome binds
    // it); a revert at either point must undo the binding with everything else.
    it("leaves the key unbound when the nonce is wrong [test_submit_keyedWithWrongNonce_revertsAndLeavesTheKeyUnbound]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const stale = await keyedPayment(fx, parseUnits("250", 6), { nonce: 5n });
      await expect(submitSigned(fx, stale))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 0n, 5n);
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([ZeroHash, ZeroHash]);
      expect(await fx.module.intentStatus(intentId(fx, stale))).to.equal(Status.None);

      // Another payload under the same key is no conflict: nothing was bound.
      const amount = parseUnits("100", 6);
      const fresh = await keyedPayment(fx, amount);
      await expect(submitSigned(fx, fresh))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, fresh),
          fx.agent.address,
          fx.usdcAddress,
          fx.alice.address,
          amount,
          false,
          fresh.rationale,
        );
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([
        intentId(fx, fresh),
        payloadCommitment(fresh.target, fresh.value, fresh.data),
      ]);
    });

    it("leaves the key unbound when the recipient reverts [test_submit_keyedWithRevertingRecipient_revertsAndLeavesTheKeyUnbound]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const reverting = await (await ethers.getContractFactory("RevertingRecipient")).deploy();
      const value = parseEther("0.5");
      const refused = await buildIntent(fx, { target: await reverting.getAddress(), value, idempotencyKey: KEY });
      await expect(submitSigned(fx, refused))
        .to.be.revertedWithCustomError(reverting, "RecipientRefuses")
        .withArgs(value);
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([ZeroHash, ZeroHash]);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);

      const paid = await buildIntent(fx, { value, idempotencyKey: KEY });
      await expect(submitSigned(fx, paid))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, paid), fx.agent.address, ETH, fx.alice.address, value, false, paid.rationale);
      expect((await fx.module.idempotencyRecord(fx.agent.address, KEY))[0]).to.equal(intentId(fx, paid));
    });

    it("leaves the key unbound when the token's balance check fails after the transfer [test_submit_keyedPaymentThatReverts_bindsNoKey]", async function () {
      const fx = await loadFixture(mocksFixture);
      const token = fx.tokens.overdrawing;
      const address = await token.getAddress();
      const key = id("invoice-7");
      const intent = await tokenPayment(fx, address, fx.alice.address, parseUnits("250", 6), { idempotencyKey: key });
      await expect(submitSigned(fx, intent)).to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge");
      expect(await fx.module.idempotencyRecord(fx.agent.address, key)).to.deep.equal([
        ethers.ZeroHash,
        ethers.ZeroHash,
      ]);
      expect(await fx.module.intentStatus(intentId(fx, intent))).to.equal(Status.None);
    });
  });

  describe("idempotencyRecord", function () {
    it("reads zeros for an unused key [test_idempotencyRecord_unusedKey_isZeros]", async function () {
      const fx = await loadFixture(treasuryFixture);
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([ZeroHash, ZeroHash]);
      expect(await fx.module.idempotencyRecord(fx.attacker.address, KEY)).to.deep.equal([ZeroHash, ZeroHash]);
    });

    it("holds each keyed intent's intentId and payload commitment; a keyless intent writes none [test_idempotencyRecord_afterKeyedPayments_holdsIntentIdAndPayloadCommitment]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const token = await keyedPayment(fx, parseUnits("10", 6));
      const eth = await buildIntent(fx, { value: parseEther("0.2"), idempotencyKey: id("eth-key"), nonce: 1n });
      await submitSigned(fx, token);
      await submitSigned(fx, eth);
      expect(await fx.module.idempotencyRecord(fx.agent.address, KEY)).to.deep.equal([
        intentId(fx, token),
        payloadCommitment(token.target, token.value, token.data),
      ]);
      expect(await fx.module.idempotencyRecord(fx.agent.address, id("eth-key"))).to.deep.equal([
        intentId(fx, eth),
        payloadCommitment(eth.target, eth.value, eth.data),
      ]);
      // A keyless intent writes no record at all.
      const keyless = await buildIntent(fx, { value: parseEther("0.1") });
      await submitSigned(fx, keyless);
      expect(await fx.module.intentStatus(intentId(fx, keyless))).to.equal(Status.None);
      expect(await fx.module.idempotencyRecord(fx.agent.address, ZeroHash)).to.deep.equal([ZeroHash, ZeroHash]);
    });
  });

  describe("when a retry breaks a rejection rule", function () {
    it("rejects a retry while paused [test_submit_retryWhilePaused_revertsModuleIsPaused]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx);
      await submitSigned(fx, first);
      await fx.module.connect(fx.guardian).pause();
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, first)).to.be.revertedWithCustomError(fx.module, "ModuleIsPaused");
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects a retry with another key's signature, or with an empty signature from a stranger [test_submit_retryWithBadSignature_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx);
      await submitSigned(fx, first);
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, first, fx.attacker))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, first));
      await expect(fx.module.connect(fx.attacker).submit(first, "0x"))
        .to.be.revertedWithCustomError(fx.module, "IntentSenderNotAgent")
        .withArgs(fx.attacker.address, fx.agent.address);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects a retry past its validUntil [test_submit_expiredRetry_revertsIntentExpired]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx);
      const signature = await sign(fx.agent, fx, first);
      await fx.module.connect(fx.relayer).submit(first, signature);
      const before = await treasuryState(fx);
      await time.setNextBlockTimestamp(first.validUntil + 1n);
      await expect(fx.module.connect(fx.relayer).submit(first, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentExpired")
        .withArgs(first.validUntil, first.validUntil + 1n);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects a retry by a frozen or a removed agent [test_submit_retryByFrozenOrRemovedAgent_reverts]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const first = await keyedPayment(fx);
      await submitSigned(fx, first);
      await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address);
      await expect(submitSigned(fx, first))
        .to.be.revertedWithCustomError(fx.module, "AgentIsFrozen")
        .withArgs(fx.agent.address);
      await (await moduleAsSafe(fx)).removeAgent(fx.agent.address);
      await expect(submitSigned(fx, first))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.agent.address);
    });
  });

  describe("when the agent is removed and added again, or its key rotated", function () {
    it("keeps the key records of an agent removed and added again [test_submit_afterReAdd_keyRecordsSurvive]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const amount = parseUnits("250", 6);
      const first = await keyedPayment(fx, amount);
      await submitSigned(fx, first);
      await owner.removeAgent(fx.agent.address);
      await owner.setAgent(fx.agent.address, agentConfig());
      const original = intentId(fx, first);
      expect((await fx.module.idempotencyRecord(fx.agent.address, KEY))[0]).to.equal(original);
      await expect(submitSigned(fx, { ...first, nonce: 1n }))
        .to.emit(fx.module, "IdempotentReplay")
        .withArgs(original, fx.agent.address, KEY);
      await expect(submitSigned(fx, { ...first, nonce: 1n, value: 1n }))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(fx.agent.address, KEY, original);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(amount);
    });

    it("keeps the key records with the identity: under the new key a retry replays and another payload conflicts [test_rotateAgent_idempotencyKeysFollowTheIdentity]", async function () {
      const fx = await loadFixture(twoAgentsFixture);
      const keyed = await spendBeforeRotation(fx);
      const originalId = intentId(fx, keyed);
      await (await moduleAsSafe(fx)).rotateAgent(fx.agent.address, fx.freshKey.address);
      const k = fx.freshKey.address;

      // The same payment retried under the new key is a replay of the original: nothing moves twice.
      const retry = await buildIntent(fx, { ...keyed, agent: k, nonce: await fx.module.getNonce(k, 0) });
      const retrySignature = await sign(fx.freshKey, fx, retry);
      expect(await fx.module.connect(fx.relayer).submit.staticCall(retry, retrySignature)).to.deep.equal([
        originalId,
        Status.Executed,
      ]);
      const aliceBefore = await ethBalance(fx, fx.alice.address);
      await expect(fx.module.connect(fx.relayer).submit(retry, retrySignature))
        .to.emit(fx.module, "IdempotentReplay")
        .withArgs(originalId, k, keyed.idempotencyKey);
      expect(await ethBalance(fx, fx.alice.address)).to.equal(aliceBefore);

      const conflict = await buildIntent(fx, { agent: k, value: TENTH, idempotencyKey: keyed.idempotencyKey });
      await expect(submitSigned(fx, conflict, fx.freshKey))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(k, keyed.idempotencyKey, originalId);
    });
  });
});
