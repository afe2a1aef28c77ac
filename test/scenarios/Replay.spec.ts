/**
 * Adversarial stories: replay, forged signatures, nonces, relayer griefing and front-running.
 * Threats: a stolen signed intent, a malicious relayer, a front-runner (docs/THREAT-MODEL.md, T-REPLAY, T-RELAYER).
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Signature, ZeroAddress, concat, id, parseEther, toBeHex, zeroPadValue } from "ethers";
import { ETH, Status, agentConfig, createSafe, intentId, treasuryFixture } from "../fixtures";
import { packNonce, signIntent } from "../../sdk/eip712";
import { execSafeCall } from "../../sdk/safe";
import { TreasuryBook, atTimestamp } from "./model";
import type { IAgentTreasuryModule } from "../../typechain-types";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** The base treasury plus a second Safe with its own module clone, where the same agent key is registered. */
async function twoSafesFixture() {
  const fx = await treasuryFixture();
  const safe2 = await createSafe(
    fx.infra,
    fx.owners.map((o) => o.address),
    2,
    1n,
  );
  const safe2Address = await safe2.getAddress();
  await (await fx.factory.createModule(safe2Address, fx.salt)).wait();
  const module2Address = await fx.factory.predictModuleAddress(safe2Address, fx.salt);
  const module2 = (await ethers.getContractAt(
    "IAgentTreasuryModule",
    module2Address,
  )) as unknown as IAgentTreasuryModule;
  await (await fx.deployer.sendTransaction({ to: safe2Address, value: parseEther("50") })).wait();
  await execSafeCall(
    safe2,
    fx.ownerSigners,
    fx.deployer,
    safe2Address,
    safe2.interface.encodeFunctionData("enableModule", [module2Address]),
  );
  const asOwners2 = (data: string) => execSafeCall(safe2, fx.ownerSigners, fx.deployer, module2Address, data);
  await asOwners2(module2.interface.encodeFunctionData("setAgent", [fx.agent.address, agentConfig()]));
  await asOwners2(module2.interface.encodeFunctionData("setAssetLimit", [fx.agent.address, ETH, fx.ethLimit]));
  return { ...fx, safe2, safe2Address, module2, module2Address };
}

/** A recipient contract whose `receive` needs a known amount of gas (20 fresh storage writes). */
async function costlyRecipientFixture() {
  const fx = await treasuryFixture();
  const costly = await ethers.deployContract("CostlyRecipient", [20]);
  return { ...fx, costly, costlyAddress: await costly.getAddress() };
}

describe("Scenario: replay and forged signatures", function () {
  describe("when a relayer replays a payment on the same chain", function () {
    it("test_replay_sameIntentTwice_paysOnceAndRevertsWithNonceMismatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const amount = parseEther("0.5");
      const intent = await book.intent({ target: fx.alice.address, value: amount });
      const signature = await book.signature(intent);
      await expect(fx.module.connect(fx.relayer).submit(intent, signature))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.alice.address, amount, false, intent.rationale);
      book.pay(ETH, fx.alice.address, amount);
      // The attacker copies the calldata from the chain and sends it again: the nonce is spent.
      await expect(fx.module.connect(fx.attacker).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      await book.assertNothingLost();
    });

    it("test_replay_keyedRetry_returnsOriginalAndPaysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const amount = parseEther("0.25");
      const key = id("invoice-2024-117");
      const intent = await book.intent({ target: fx.bob.address, value: amount, idempotencyKey: key });
      const signature = await book.signature(intent);
      const first = intentId(fx, intent);
      await (await fx.module.connect(fx.relayer).submit(intent, signature)).wait();
      book.pay(ETH, fx.bob.address, amount);
      // A nervous client retries three times: nothing new happens, each retry names the original.
      for (let i = 0; i < 3; i++) {
        await expect(fx.module.connect(fx.relayer).submit(intent, signature))
          .to.emit(fx.module, "IdempotentReplay")
          .withArgs(first, fx.agent.address, key)
          .and.not.to.emit(fx.module, "IntentExecuted");
      }
      expect(await fx.module.intentStatus(first)).to.equal(Status.Executed);
      // The same key for another payload is a conflict, not a second payment.
      const conflicting = await book.intent({ target: fx.attacker.address, value: amount, idempotencyKey: key });
      await expect(fx.module.connect(fx.relayer).submit(conflicting, await book.signature(conflicting)))
        .to.be.revertedWithCustomError(fx.module, "IdempotencyKeyConflict")
        .withArgs(fx.agent.address, key, first);
      await book.assertNothingLost();
    });
  });

  describe("when a signature made for another chain is replayed here", function () {
    it("test_replay_otherChainIdSignature_rejectedAsInvalid", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const intent = await book.intent({ target: fx.attacker.address, value: parseEther("1") });
      // Signed for Ethereum mainnet (chain 1) with the same module address: worthless on chain 31337.
      const foreign = await signIntent(fx.agent, intent, 1n, fx.moduleAddress);
      await expect(fx.module.connect(fx.attacker).submit(intent, foreign))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, intent));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      await book.assertNothingLost();
    });
  });

  describe("when the same agent key serves two Safes", function () {
    it("test_replay_otherModuleOrSafe_signatureWorthlessAcrossModules", async function () {
      const fx = await loadFixture(twoSafesFixture);
      const book = await TreasuryBook.open(fx);
      const safe2Before = await ethers.provider.getBalance(fx.safe2Address);
      const amount = parseEther("1");
      // Same agent, same nonce 0 at both modules: the only difference is the verifying contract.
      const intent = await book.intent({ target: fx.alice.address, value: amount });
      const forModule1 = await book.signature(intent);
      const forModule2 = await signIntent(fx.agent, intent, fx.chainId, fx.module2Address);
      await expect(fx.module2.connect(fx.attacker).submit(intent, forModule1))
        .to.be.revertedWithCustomError(fx.module2, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, await fx.module2.hashIntent(intent));
      await expect(fx.module.connect(fx.attacker).submit(intent, forModule2))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, intentId(fx, intent));
      // The genuine payment from Safe 1 still runs, once; Safe 2 loses nothing.
      await (await fx.module.connect(fx.relayer).submit(intent, forModule1)).wait();
      book.pay(ETH, fx.alice.address, amount);
      await expect(fx.module2.connect(fx.attacker).submit(intent, forModule1)).to.be.revertedWithCustomError(
        fx.module2,
        "IntentSignatureInvalid",
      );
      expect(await ethers.provider.getBalance(fx.safe2Address)).to.equal(safe2Before);
      expect(await fx.module2.getNonce(fx.agent.address, 0)).to.equal(0n);
      expect(await fx.module.domainSeparator()).to.not.equal(await fx.module2.domainSeparator());
      await book.assertNothingLost();
    });
  });

  describe("when the owners remove and re-add an agent", function () {
    it("test_replay_afterRemoveAndReadd_oldSignatureStaysSpent", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const amount = parseEther("0.3");
      const intent = await book.intent({ target: fx.alice.address, value: amount });
      const signature = await book.signature(intent);
      await (await fx.module.connect(fx.relayer).submit(intent, signature)).wait();
      book.pay(ETH, fx.alice.address, amount);
      const m = fx.module.interface;
      await book.asOwners(m.encodeFunctionData("removeAgent", [fx.agent.address]));
      await expect(fx.module.connect(fx.attacker).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.agent.address);
      await book.asOwners(m.encodeFunctionData("setAgent", [fx.agent.address, agentConfig()]));
      // Re-adding resets nothing: the old signature is still spent.
      await expect(fx.module.connect(fx.attacker).submit(intent, signature))
        .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
        .withArgs(fx.agent.address, 1n, 0n);
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow - amount);
      await book.assertNothingLost();
    });
  });
});

describe("Scenario: malleable and zero-address signatures", function () {
  it("test_submit_malleableTwinSignature_rejected", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const intent = await book.intent({ target: fx.alice.address, value: parseEther("0.1") });
    const sig = Signature.from(await book.signature(intent));
    // The twin (r, n - s, flipped v) recovers the same signer under plain ecrecover; it must not pass.
    const twin = concat([sig.r, toBeHex(SECP256K1_N - BigInt(sig.s), 32), toBeHex(sig.v === 27 ? 28 : 27, 1)]);
    await expect(fx.module.connect(fx.attacker).submit(intent, twin))
      .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
      .withArgs(fx.agent.address, intentId(fx, intent));
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
    await book.assertNothingLost();
  });

  it("test_submit_signatureRecoveringToZero_rejected", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const intent = await book.intent({ target: fx.attacker.address, value: parseEther("1") });
    const id_ = intentId(fx, intent);
    // r = 0 makes ecrecover return address(0); v = 0 and a short signature are malformed.
    const zeroR = concat([zeroPadValue("0x", 32), toBeHex(1n, 32), "0x1b"]);
    const badV = concat([toBeHex(1n, 32), toBeHex(1n, 32), "0x00"]);
    const short = concat([toBeHex(1n, 32), toBeHex(1n, 32)]);
    for (const forged of [zeroR, badV, short, "0x00"]) {
      await expect(fx.module.connect(fx.attacker).submit(intent, forged))
        .to.be.revertedWithCustomError(fx.module, "IntentSignatureInvalid")
        .withArgs(fx.agent.address, id_);
    }
    // An intent "from" address(0) never reaches signature recovery: no agent can have that key.
    const fromZero = { ...intent, agent: ZeroAddress };
    await expect(fx.module.connect(fx.attacker).submit(fromZero, zeroR))
      .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
      .withArgs(ZeroAddress);
    // An empty signature is only the agent's own submission.
    await expect(fx.module.connect(fx.attacker).submit(intent, "0x"))
      .to.be.revertedWithCustomError(fx.module, "IntentSenderNotAgent")
      .withArgs(fx.attacker.address, fx.agent.address);
    // The owners cannot register address(0) as an agent either.
    const asReader = fx.module.connect(ethers.provider);
    await expect(asReader.setAgent.staticCall(ZeroAddress, agentConfig(), { from: fx.safeAddress }))
      .to.be.revertedWithCustomError(fx.module, "AgentKeyInvalid")
      .withArgs(ZeroAddress);
    await book.assertNothingLost();
  });
});

describe("Scenario: nonce reuse and skip", function () {
  it("test_submit_skippedNonce_rejectedUntilGapFilled", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const amount = parseEther("0.2");
    const second = await book.intent({ target: fx.alice.address, value: amount, nonce: 1n });
    const secondSig = await book.signature(second);
    await expect(fx.module.connect(fx.relayer).submit(second, secondSig))
      .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
      .withArgs(fx.agent.address, 0n, 1n);
    const first = await book.intent({ target: fx.bob.address, value: amount, nonce: 0n });
    await (await fx.module.connect(fx.relayer).submit(first, await book.signature(first))).wait();
    await (await fx.module.connect(fx.relayer).submit(second, secondSig)).wait();
    book.pay(ETH, fx.bob.address, amount);
    book.pay(ETH, fx.alice.address, amount);
    expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(2n);
    await book.assertNothingLost();
  });

  it("test_submit_deniedIntentConsumesNonce_replayRejected", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    // 11 ETH is above the 10 ETH hard cap: denied, nonce consumed, one strike.
    const greedy = await book.intent({ target: fx.attacker.address, value: parseEther("11") });
    const sig = await book.signature(greedy);
    await expect(fx.module.connect(fx.relayer).submit(greedy, sig))
      .to.emit(fx.module, "IntentDenied")
      .withArgs(intentId(fx, greedy), fx.agent.address, 4n, greedy.rationale);
    await expect(fx.module.connect(fx.relayer).submit(greedy, sig))
      .to.be.revertedWithCustomError(fx.module, "IntentNonceMismatch")
      .withArgs(fx.agent.address, 1n, 0n);
    expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
    await book.assertNothingLost();
  });

  it("test_submit_stuckLane_otherLanesProceed", async function () {
    const fx = await loadFixture(treasuryFixture);
    const book = await TreasuryBook.open(fx);
    const amount = parseEther("0.1");
    // Lane 7 holds an intent the relayer sits on; lanes 0 and 2^192-1 keep working.
    const stuck = await book.intent({ target: fx.alice.address, value: amount, lane: 7n });
    expect(stuck.nonce).to.equal(packNonce(7n, 0n));
    const maxLane = (1n << 192n) - 1n;
    const a = await book.intent({ target: fx.bob.address, value: amount });
    await (await fx.module.connect(fx.relayer).submit(a, await book.signature(a))).wait();
    const b = await book.intent({ target: fx.bob.address, value: amount, lane: maxLane });
    await (await fx.module.connect(fx.relayer).submit(b, await book.signature(b))).wait();
    book.pay(ETH, fx.bob.address, amount * 2n);
    expect(await fx.module.getNonce(fx.agent.address, 7n)).to.equal(packNonce(7n, 0n));
    expect(await fx.module.getNonce(fx.agent.address, maxLane)).to.equal(packNonce(maxLane, 1n));
    await (await fx.module.connect(fx.relayer).submit(stuck, await book.signature(stuck))).wait();
    book.pay(ETH, fx.alice.address, amount);
    await book.assertNothingLost();
  });
});

describe("Scenario: a griefing relayer", function () {
  describe("when the relayer gives the submission too little gas", function () {
    it("test_submit_tooLittleGas_revertsWholeAndKeepsNonce", async function () {
      const fx = await loadFixture(costlyRecipientFixture);
      const book = await TreasuryBook.open(fx, { accounts: { costly: fx.costlyAddress } });
      const amount = parseEther("0.4");
      const intent = await book.intent({ target: fx.costlyAddress, value: amount });
      const sig = await book.signature(intent);
      // Sweep the gas limit: every attempt either reverts entirely (nothing paid, nonce kept) or pays in full
      // with the recipient's work done. No gas limit leaves "nonce consumed but payment failed".
      let reverted = 0;
      let succeededAt = 0n;
      for (let gas = 60_000n; gas <= 1_200_000n && succeededAt === 0n; gas += 20_000n) {
        try {
          await (await fx.module.connect(fx.attacker).submit(intent, sig, { gasLimit: gas })).wait();
          succeededAt = gas;
        } catch {
          reverted++;
          expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
          expect(await fx.costly.received()).to.equal(0n);
          expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
        }
      }
      expect(reverted, "some starved attempts").to.be.greaterThan(5);
      expect(succeededAt, "an honest gas limit succeeds").to.be.greaterThan(0n);
      expect(await fx.costly.received()).to.equal(amount);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      book.pay(ETH, fx.costlyAddress, amount);
      await book.assertNothingLost();
    });
  });

  describe("when the relayer withholds an intent past its deadline", function () {
    it("test_submit_withheldPastValidUntil_expiresAndNonceIsReissued", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const amount = parseEther("0.7");
      const withheld = await book.intent({ target: fx.alice.address, value: amount });
      const sig = await book.signature(withheld);
      await atTimestamp(withheld.validUntil + 1n);
      await expect(fx.module.connect(fx.relayer).submit(withheld, sig))
        .to.be.revertedWithCustomError(fx.module, "IntentExpired")
        .withArgs(withheld.validUntil, withheld.validUntil + 1n);
      // The agent re-issues the payment with the same nonce through an honest relayer.
      const reissued = await book.intent({ target: fx.alice.address, value: amount, rationale: id("reissued") });
      expect(reissued.nonce).to.equal(withheld.nonce);
      await (await fx.module.connect(fx.alice).submit(reissued, await book.signature(reissued))).wait();
      book.pay(ETH, fx.alice.address, amount);
      // The withheld one is dead for good: expired, and its nonce is spent.
      await expect(fx.module.connect(fx.relayer).submit(withheld, sig)).to.be.revertedWithCustomError(
        fx.module,
        "IntentExpired",
      );
      await book.assertNothingLost();
    });

    it("test_submit_atValidUntilExactly_accepted", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const amount = parseEther("0.1");
      const intent = await book.intent({ target: fx.bob.address, value: amount });
      await atTimestamp(intent.validUntil);
      await expect(fx.module.connect(fx.relayer).submit(intent, await book.signature(intent))).to.emit(
        fx.module,
        "IntentExecuted",
      );
      book.pay(ETH, fx.bob.address, amount);
      await book.assertNothingLost();
    });
  });

  describe("when a front-runner copies a pending submission into the same block", function () {
    it("test_submit_frontRunInSameBlock_paysIntendedRecipientOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const book = await TreasuryBook.open(fx);
      const amount = parseEther("0.9");
      const intent = await book.intent({ target: fx.alice.address, value: amount });
      const sig = await book.signature(intent);
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const honest = await fx.module
          .connect(fx.relayer)
          .submit(intent, sig, { gasLimit: 500_000, maxPriorityFeePerGas: 1n });
        const copied = await fx.module
          .connect(fx.attacker)
          .submit(intent, sig, { gasLimit: 500_000, maxPriorityFeePerGas: parseEther("0.000001") });
        await network.provider.send("evm_mine");
        const [h, c] = await Promise.all([
          ethers.provider.getTransactionReceipt(honest.hash),
          ethers.provider.getTransactionReceipt(copied.hash),
        ]);
        expect(h!.blockNumber).to.equal(c!.blockNumber);
        // Exactly one of the two went through; either way alice is paid, once.
        expect([h!.status, c!.status].sort()).to.deep.equal([0, 1]);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      book.pay(ETH, fx.alice.address, amount);
      await book.assertNothingLost();
    });
  });
});
