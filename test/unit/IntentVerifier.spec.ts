/**
 * IntentVerifier (SPEC section 4): the intentId is the EIP-712 digest of the intent (the module agrees with
 * sdk/eip712.ts); a signature is the agent's ECDSA signature (low-s, never address(0)), an ERC-1271 contract agent's
 * approval, or empty when the agent sends the intent itself; an intent is valid from `validAfter` to `validUntil`;
 * and its nonce is exactly the current nonce of its lane, ERC-4337 style (`(uint192 lane << 64) | uint64 sequence`),
 * lanes being independent. A rejection reverts and consumes nothing.
 *
 * Promise 2: a nonce is consumed at most once. Promise 7: a signature for one chain, module or Safe is worthless on
 * any other.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  Signature,
  TypedDataEncoder,
  ZeroAddress,
  concat,
  id,
  parseEther,
  parseUnits,
  toBeHex,
  zeroPadValue,
} from "ethers";
import {
  DenyReason,
  ETH,
  HOUR,
  Status,
  agentConfig,
  buildIntent,
  contractAgentFixture,
  intentId,
  moduleAsSafe,
  secondTreasuryFixture,
  sign,
  submitSigned,
  tokenPayment,
  treasuryFixture,
  treasuryState,
} from "../fixtures";
import { hashCosignerApproval, hashIntent, moduleDomain, packNonce, signIntent, splitNonce } from "../../sdk/eip712";
import { mappedStructField, writeField } from "../layout";

/** secp256k1 group order. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const MAX_LANE = 2n ** 192n - 1n;

/** What the ecrecover precompile returns for (digest, v, r, s): the signer, or address(0) when there is none. */
async function ecrecover(digest: string, v: number, r: string, s: string): Promise<string> {
  const input = concat([digest, zeroPadValue(toBeHex(v), 32), r, s]);
  const out = await ethers.provider.call({ to: "0x0000000000000000000000000000000000000001", data: input });
  return out === "0x" ? ZeroAddress : ethers.getAddress("0x" + out.slice(26));
}

describe("IntentVerifier", function () {
  describe("the intentId (EIP-712)", function () {
    it("hashes an intent as the sdk does, every field changing the digest [test_hashIntent_equalsSdkHash_forVariedIntents]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intents = [
        await buildIntent(fx),
        await tokenPayment(fx, fx.usdcAddress, fx.bob.address, parseUnits("12.5", 6), {
          idempotencyKey: id("invoice-42"),
          validAfter: 1n,
          rationale: id("payroll"),
        }),
        await buildIntent(fx, {
          value: parseEther("0.25"),
          nonce: packNonce(7n, 3n),
          validUntil: 2n ** 48n - 1n,
          data: "0xdeadbeef",
        }),
      ];
      for (const intent of intents) {
        const expected = hashIntent(intent, fx.chainId, fx.moduleAddress);
        expect(await fx.module.hashIntent(intent)).to.equal(expected);
        expect(intentId(fx, intent)).to.equal(expected);
      }
      // Every field is part of the digest: changing any one changes the intentId.
      const base = intents[1];
      const variants = [
        { ...base, agent: fx.bob.address },
        { ...base, target: fx.bob.address },
        { ...base, value: 1n },
        { ...base, data: base.data + "00" },
        { ...base, nonce: base.nonce + 1n },
        { ...base, idempotencyKey: id("invoice-43") },
        { ...base, validAfter: 2n },
        { ...base, validUntil: base.validUntil + 1n },
        { ...base, rationale: id("payroll!") },
        { ...base, review: true },
      ];
      const seen = new Set([await fx.module.hashIntent(base)]);
      for (const v of variants) seen.add(await fx.module.hashIntent(v));
      expect(seen.size).to.equal(variants.length + 1);
    });

    it("makes the review flag part of the intentId, so that no signature verifies with the flag flipped (v3) [test_hashIntent_reviewFlag_equalsSdkHashAndChangesTheId]", async function () {
      // v3: `review` is the last field of the EIP-712 type, so the request for review is part of what is signed.
      const fx = await loadFixture(treasuryFixture);
      const payment = await buildIntent(fx, { value: parseEther("0.5"), review: false });
      const review = { ...payment, review: true };
      const paymentId = hashIntent(payment, fx.chainId, fx.moduleAddress);
      const reviewId = hashIntent(review, fx.chainId, fx.moduleAddress);
      expect(await fx.module.hashIntent(payment)).to.equal(paymentId);
      expect(await fx.module.hashIntent(review)).to.equal(reviewId);
      expect(reviewId).to.not.equal(paymentId);
      // So a signature of one never verifies for the other: nobody can flip the flag of a signed intent.
      await expect(fx.module.connect(fx.relayer).submit(review, await sign(fx.agent, fx, payment)))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, reviewId);
      await expect(fx.module.connect(fx.relayer).propose(review, await sign(fx.agent, fx, payment)))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, reviewId);
      await expect(fx.module.connect(fx.relayer).submit(payment, await sign(fx.agent, fx, review)))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, paymentId);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(payment.nonce);
    });

    it("reports its EIP-712 domain (ERC-5267) with the clone's own address, which gives the sdk's domain and the module's separator [test_eip712Domain_returnsTheErc5267Fields]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const [fields, name, version, chainId, verifyingContract, salt, extensions] = await fx.module.eip712Domain();
      // 0x0f: name, version, chainId and verifyingContract are set; no salt, no extensions.
      expect(fields).to.equal("0x0f");
      expect(name).to.equal("AgentTreasuryModule");
      expect(version).to.equal("1");
      expect(chainId).to.equal(fx.chainId);
      expect(verifyingContract).to.equal(fx.moduleAddress);
      expect(salt).to.equal(ethers.ZeroHash);
      expect(extensions).to.deep.equal([]);
      // A wallet that builds the domain from these fields gets the module's separator and the sdk's domain.
      const domain = { name, version, chainId, verifyingContract };
      expect(TypedDataEncoder.hashDomain(domain)).to.equal(await fx.module.domainSeparator());
      expect(domain).to.deep.equal(moduleDomain(fx.chainId, fx.moduleAddress));
      // Each clone names itself, not the implementation it delegates to.
      const [, , , , implementationContract] = await fx.implementation.eip712Domain();
      expect(implementationContract).to.equal(await fx.implementation.getAddress());
    });

    it("hashes a co-signer approval in the current era as the sdk does, and with the new era after a member change [test_hashCosignerApproval_afterMemberChange_equalsSdkHashWithTheNewEra]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const someId = id("some intent");
      const era = await fx.module.cosignerEra();
      const before = await fx.module.hashCosignerApproval(someId);
      expect(before).to.equal(hashCosignerApproval(someId, era, fx.chainId, fx.moduleAddress));
      const [cos1, cos2] = fx.cosigners;
      await (await moduleAsSafe(fx)).setCosigners([cos1.address, cos2.address], 2);
      expect(await fx.module.cosignerEra()).to.equal(era + 1n);
      const after = await fx.module.hashCosignerApproval(someId);
      expect(after).to.equal(hashCosignerApproval(someId, era + 1n, fx.chainId, fx.moduleAddress));
      expect(after).to.not.equal(before);
    });

    it("returns the EIP-712 digest as the intentId [test_submit_returnsTheEip712DigestAsIntentId]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.1") });
      const signature = await sign(fx.agent, fx, intent);
      const [returnedId, status] = await fx.module.connect(fx.relayer).submit.staticCall(intent, signature);
      expect(returnedId).to.equal(intentId(fx, intent));
      expect(status).to.equal(Status.Executed);
    });
  });

  describe("ECDSA signatures", function () {
    it("executes an intent signed by the agent and sent by a relayer [test_submit_validAgentSignature_executesThroughRelayer]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseEther("0.5");
      const intent = await buildIntent(fx, { value: amount });
      const before = await ethers.provider.getBalance(fx.alice.address);
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, amount, false, intent.rationale);
      expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(before + amount);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });

    it("rejects an intent signed by another key with IntentSignatureInvalid [test_submit_wrongSigner_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5") });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent, fx.attacker))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, intent));
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects an intent changed after it was signed [test_submit_signatureOfAnotherIntent_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const signed = await buildIntent(fx, { value: parseEther("0.1") });
      const signature = await sign(fx.agent, fx, signed);
      const tampered = { ...signed, value: parseEther("1") };
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submit(tampered, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, tampered));
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects the high-s twin of a valid signature and accepts the canonical one [test_submit_malleableHighS_revertsAndTheCanonicalSignatureStillWorks]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5") });
      const digest = intentId(fx, intent);
      const sig = Signature.from(await sign(fx.agent, fx, intent));
      const highS = zeroPadValue(toBeHex(SECP256K1_N - BigInt(sig.s)), 32);
      const flippedV = sig.v === 27 ? 28 : 27;
      // The twin is a mathematically valid signature of the same digest by the same key ...
      expect(await ecrecover(digest, flippedV, sig.r, highS)).to.equal(fx.agent.address);
      const malleable = concat([sig.r, highS, toBeHex(flippedV, 1)]);
      const before = await treasuryState(fx);
      // ... and the module refuses it: only low-s signatures are accepted.
      await expect(fx.module.connect(fx.relayer).submit(intent, malleable))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, digest);
      expect(await treasuryState(fx)).to.deep.equal(before);
      await expect(fx.module.connect(fx.relayer).submit(intent, sig.serialized))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(digest, fx.agent.address, ETH, fx.alice.address, intent.value, false, intent.rationale);
    });

    it("rejects a signature that recovers to address(0) or to no one, and one of the wrong length [test_submit_signatureRecoveringToZeroAddress_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5") });
      const digest = intentId(fx, intent);
      const r = zeroPadValue("0x00", 32);
      const s = zeroPadValue("0x01", 32);
      expect(await ecrecover(digest, 27, r, s)).to.equal(ZeroAddress);
      const before = await treasuryState(fx);
      for (const bad of [
        concat([r, s, "0x1b"]), // r = 0: ecrecover yields address(0)
        concat([zeroPadValue("0x01", 32), zeroPadValue("0x01", 32), "0x1d"]), // v = 29: no signer
        "0x" + "00".repeat(65), // all zeros
        "0x1234", // wrong length
      ]) {
        await expect(fx.module.connect(fx.relayer).submit(intent, bad))
          .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
          .withArgs(fx.agent.address, digest);
      }
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("never takes address(0) for an agent, whatever a signature recovers to [test_submit_zeroAddressAgentWithZeroRecoveringSignature_revertsAgentUnknown]", async function () {
      const fx = await loadFixture(treasuryFixture);
      // address(0) can never be an agent, so a signature that recovers to it authorises nothing.
      await expect((await moduleAsSafe(fx)).setAgent(ZeroAddress, agentConfig()))
        .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
        .withArgs(ZeroAddress);
      const intent = await buildIntent(fx, { agent: ZeroAddress, value: parseEther("0.5") });
      const zeroSig = concat([zeroPadValue("0x00", 32), zeroPadValue("0x01", 32), "0x1b"]);
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submit(intent, zeroSig))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(ZeroAddress);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects a signature made for another chain (Promise 7) [test_submit_signatureForAnotherChainId_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5") });
      const otherChain = fx.chainId === 1n ? 10n : 1n;
      const signature = await signIntent(fx.agent, intent, otherChain, fx.moduleAddress);
      expect(hashIntent(intent, otherChain, fx.moduleAddress)).to.not.equal(intentId(fx, intent));
      const before = await treasuryState(fx);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, intent));
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    describe("when the same agent serves two Safes (two module clones)", function () {
      it("rejects on each module the signature made for the other, and accepts each where it was meant (Promise 7) [test_submit_signatureForAnotherModule_revertsOnBoth]", async function () {
        const fx = await loadFixture(secondTreasuryFixture);
        const amount = parseEther("0.5");
        const intent = await buildIntent(fx, { value: amount });
        expect(await fx.module2.getNonce(fx.agent.address, 0)).to.equal(intent.nonce);
        const forModule1 = await signIntent(fx.agent, intent, fx.chainId, fx.moduleAddress);
        const forModule2 = await signIntent(fx.agent, intent, fx.chainId, fx.module2Address);
        const id2 = hashIntent(intent, fx.chainId, fx.module2Address);
        expect(await fx.module2.hashIntent(intent)).to.equal(id2);
        expect(id2).to.not.equal(intentId(fx, intent));

        const safe2Before = await ethers.provider.getBalance(fx.safe2Address);
        const aliceBefore = await ethers.provider.getBalance(fx.alice.address);
        // Module 1's signature replayed on module 2 (Safe 2).
        await expect(fx.module2.connect(fx.relayer).submit(intent, forModule1))
          .to.be.revertedWithCustomError(fx.module2, "IntentSignatureInvalid")
          .withArgs(fx.agent.address, id2);
        // Module 2's signature replayed on module 1 (Safe 1).
        const before1 = await treasuryState(fx);
        await expect(fx.module.connect(fx.relayer).submit(intent, forModule2))
          .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
          .withArgs(fx.agent.address, intentId(fx, intent));
        expect(await treasuryState(fx)).to.deep.equal(before1);
        expect(await ethers.provider.getBalance(fx.safe2Address)).to.equal(safe2Before);
        expect(await fx.module2.getNonce(fx.agent.address, 0)).to.equal(0n);
        expect(await fx.module2.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);

        // Each signature works where it was meant to, and only there.
        await expect(fx.module2.connect(fx.relayer).submit(intent, forModule2))
          .to.emit(fx.module2, "IntentExecuted")
          .withArgs(id2, fx.agent.address, ETH, fx.alice.address, amount, false, intent.rationale);
        expect(await ethers.provider.getBalance(fx.safe2Address)).to.equal(safe2Before - amount);
        expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(aliceBefore + amount);
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      });
    });
  });

  describe("an empty signature", function () {
    it("is accepted from the agent itself [test_submit_emptySignatureFromAgentItself_executes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const amount = parseEther("0.3");
      const intent = await buildIntent(fx, { value: amount });
      const before = await ethers.provider.getBalance(fx.alice.address);
      await expect(fx.module.connect(fx.agent).submit(intent, "0x"))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, amount, false, intent.rationale);
      expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(before + amount);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });

    it("is rejected from anyone else with IntentSenderNotAgent [test_submit_emptySignatureFromRelayer_revertsIntentSenderNotAgent]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.3") });
      const before = await treasuryState(fx);
      for (const caller of [fx.relayer, fx.attacker]) {
        await expect(fx.module.connect(caller).submit(intent, "0x"))
          .to.be.revertedWithCustomError(fx.module, "IntentSenderNotAgent")
          .withArgs(caller.address, fx.agent.address);
      }
      expect(await treasuryState(fx)).to.deep.equal(before);
    });
  });

  describe("ERC-1271 contract agents", function () {
    it("executes an intent the contract agent's isValidSignature approves [test_submit_contractAgentApproves_executes]", async function () {
      const fx = await loadFixture(contractAgentFixture);
      const amount = parseUnits("400", 6);
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, amount, {
        agent: fx.contractAgentAddress,
      });
      const signature = await sign(fx.bob, fx, intent); // the contract's signing key
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.contractAgentAddress,
          fx.usdcAddress,
          fx.alice.address,
          amount,
          false,
          intent.rationale,
        );
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(amount);
      expect(await fx.module.getNonce(fx.contractAgentAddress, 0)).to.equal(1n);
      expect(await fx.module.availableAllowance(fx.contractAgentAddress, fx.usdcAddress)).to.equal(
        fx.usdcLimit.autoPerWindow - amount,
      );
    });

    it("rejects an intent when the contract answers another value or reverts [test_submit_contractAgentRefuses_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(contractAgentFixture);
      const intent = await tokenPayment(fx, fx.usdcAddress, fx.alice.address, parseUnits("400", 6), {
        agent: fx.contractAgentAddress,
      });
      const signature = await sign(fx.bob, fx, intent);
      const probe = { agents: [fx.contractAgentAddress] };
      const before = await treasuryState(fx, probe);
      for (const mode of [1, 2]) {
        // 1: answers a non-magic value; 2: reverts inside isValidSignature.
        await fx.contractAgent.setMode(mode);
        await expect(fx.module.connect(fx.relayer).submit(intent, signature))
          .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
          .withArgs(fx.contractAgentAddress, intentId(fx, intent));
      }
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
    });

    it("rejects a signature by a key the contract does not accept [test_submit_contractAgentWithSignatureOfAnotherKey_revertsIntentSignatureInvalid]", async function () {
      const fx = await loadFixture(contractAgentFixture);
      const intent = await buildIntent(fx, { agent: fx.contractAgentAddress, value: parseEther("0.2") });
      const probe = { agents: [fx.contractAgentAddress] };
      const before = await treasuryState(fx, probe);
      await expect(submitSigned(fx, intent, fx.attacker))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.contractAgentAddress, intentId(fx, intent));
      expect(await treasuryState(fx, probe)).to.deep.equal(before);
    });

    it("accepts the contract agent's own call with an empty signature without asking it [test_submit_contractAgentCallingItselfWithEmptySignature_executes]", async function () {
      const fx = await loadFixture(contractAgentFixture);
      const amount = parseEther("0.2");
      const intent = await buildIntent(fx, { agent: fx.contractAgentAddress, value: amount });
      await fx.contractAgent.setMode(1); // refuses every signature: the empty-signature path does not ask
      const before = await ethers.provider.getBalance(fx.alice.address);
      await expect(fx.contractAgent.submitDirect(fx.moduleAddress, intent))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.contractAgentAddress,
          ETH,
          fx.alice.address,
          amount,
          false,
          intent.rationale,
        );
      expect(await ethers.provider.getBalance(fx.alice.address)).to.equal(before + amount);
    });

    it("does not take the contract's signing key for an agent [test_submit_signingKeyOfContractAgentIsNotAnAgent_revertsAgentUnknown]", async function () {
      const fx = await loadFixture(contractAgentFixture);
      const intent = await buildIntent(fx, { agent: fx.bob.address, value: parseEther("0.2") });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent, fx.bob))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });
  });

  describe("the validity window", function () {
    it("rejects validUntil 0 with IntentValidUntilZero [test_submit_validUntilZero_revertsIntentValidUntilZero]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const intent = await buildIntent(fx, { value: parseEther("0.5"), validUntil: 0n });
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "IntentValidUntilZero")
        .withArgs(fx.agent.address);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("rejects an intent before its validAfter with IntentNotYetValid and executes it from validAfter on [test_submit_beforeValidAfter_revertsIntentNotYetValid_thenExecutesAtValidAfter]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const now = BigInt(await time.latest());
      const validAfter = now + 100n;
      const intent = await buildIntent(fx, { value: parseEther("0.5"), validAfter, validUntil: now + BigInt(HOUR) });
      const signature = await sign(fx.agent, fx, intent);
      const before = await treasuryState(fx);
      await time.setNextBlockTimestamp(validAfter - 1n);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentNotYetValid")
        .withArgs(validAfter, validAfter - 1n);
      expect(await treasuryState(fx)).to.deep.equal(before);
      await time.setNextBlockTimestamp(validAfter);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
    });

    it("rejects an intent after its validUntil with IntentExpired [test_submit_afterValidUntil_revertsIntentExpired]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const validUntil = BigInt(await time.latest()) + 100n;
      const intent = await buildIntent(fx, { value: parseEther("0.5"), validUntil });
      const signature = await sign(fx.agent, fx, intent);
      const before = await treasuryState(fx);
      await time.setNextBlockTimestamp(validUntil + 1n);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentExpired")
        .withArgs(validUntil, validUntil + 1n);
      expect(await treasuryState(fx)).to.deep.equal(before);
    });

    it("executes an intent at exactly its validUntil [test_submit_exactlyAtValidUntil_executes]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const validUntil = BigInt(await time.latest()) + 100n;
      const intent = await buildIntent(fx, { value: parseEther("0.5"), validUntil });
      const signature = await sign(fx.agent, fx, intent);
      await time.setNextBlockTimestamp(validUntil);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, intent.value, false, intent.rationale);
    });

    it("reports an expired intent's expiry before its bad signature [test_submit_expiredAndBadlySigned_reportsTheExpiryFirst]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const validUntil = BigInt(await time.latest()) + 10n;
      const intent = await buildIntent(fx, { value: parseEther("0.5"), validUntil });
      const signature = await sign(fx.attacker, fx, intent);
      await time.setNextBlockTimestamp(validUntil + 5n);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentExpired")
        .withArgs(validUntil, validUntil + 5n);
    });
  });

  describe("nonces (Promise 2)", function () {
    describe("getNonce", function () {
      it("packs the lane and the sequence as (lane << 64) | sequence, up to the largest lane [test_getNonce_packsLaneAndSequence]", async function () {
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

      it("reads sequence 0 for an unknown agent [test_getNonce_unknownAgent_isSequenceZero]", async function () {
        const fx = await loadFixture(treasuryFixture);
        expect(await fx.module.getNonce(fx.attacker.address, 0)).to.equal(0n);
        expect(await fx.module.getNonce(fx.attacker.address, 9)).to.equal(packNonce(9n, 0n));
      });
    });

    describe("in one lane", function () {
      it("accepts consecutive nonces once each, in order [test_submit_consecutiveNonces_eachAcceptedOnceInOrder]", async function () {
        const fx = await loadFixture(treasuryFixture);
        for (let i = 0n; i < 3n; i++) {
          const intent = await buildIntent(fx, { value: parseEther("0.1") });
          expect(intent.nonce).to.equal(i);
          await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentExecuted");
          expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(i + 1n);
        }
      });

      it("rejects a used nonce with IntentNonceMismatch, replayed or signed again [test_submit_reusedNonce_revertsIntentNonceMismatch]", async function () {
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

      it("refuses the last lane-0 nonce rather than wrap back to a used one [test_submit_lastLaneZeroNonce_revertsAndNeverWraps]", async function () {
        // Lane 0 lives in the agent's record word, 56 bits. Its last sequence can never be consumed: the next would
        // not fit, and wrapping to 0 would make every old signature valid again.
        const fx = await loadFixture(treasuryFixture);
        const last = (1n << 56n) - 1n;
        await writeField(fx, await mappedStructField("_agents", fx.agent.address, "laneZeroNonce"), last);
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(last);
        const intent = await buildIntent(fx, { value: parseEther("0.1"), nonce: last });
        const before = await treasuryState(fx);
        await expect(submitSigned(fx, intent))
          .to.be.revertedWithCustomError(fx.module, "SafeCastOverflowedUintDowncast")
          .withArgs(56, last + 1n);
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(last);
        expect(await treasuryState(fx)).to.deep.equal(before);
      });

      it("rejects a nonce ahead of the current one until the gap is filled [test_submit_skippedNonce_revertsIntentNonceMismatch]", async function () {
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

      it("consumes the nonce of a denied and of a queued intent [test_submit_deniedAndQueuedOutcomes_consumeTheNonce]", async function () {
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
      it("keeps each lane's sequence to itself [test_submit_otherLane_doesNotTouchLaneZero]", async function () {
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

      it("lets other lanes go on while an intent waits in one [test_submit_stuckIntentInOneLane_doesNotBlockAnother]", async function () {
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

      it("names that lane's expected nonce when a sequence is wrong [test_submit_wrongSequenceInOtherLane_revertsWithThatLanesExpectedNonce]", async function () {
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

      it("treats the same sequence in two lanes as two nonces [test_submit_sameSequenceInTwoLanes_areDifferentNonces]", async function () {
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

    describe("when a submission reverts, or the agent is removed or rotated", function () {
      it("leaves every nonce as it was when a submission reverts: bad signature, expiry or failing call [test_submit_revertedSubmissions_leaveEveryNonceUnchanged]", async function () {
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

      it("keeps the nonces of an agent removed and added again [test_submit_afterRemovalAndReAdd_noncesAreKept]", async function () {
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

      it("gives a rotated agent's new key its nonces [test_rotateAgent_newKeyInheritsNonces]", async function () {
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
});
