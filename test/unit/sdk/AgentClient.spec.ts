import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  AbstractSigner,
  JsonRpcProvider,
  Network,
  Signer,
  TransactionRequest,
  TransactionResponse,
  Wallet,
  id,
  keccak256,
  parseEther,
  parseUnits,
  toUtf8Bytes,
} from "ethers";
import {
  AgentClient,
  AgentFrozenError,
  AgentInactiveError,
  CosignerClient,
  ExecutionFailedError,
  GuardianClient,
  IdempotencyConflictError,
  InvalidRequestError,
  JournalError,
  ModulePausedError,
  NonceMismatchError,
  RpcUnavailableError,
  SignatureRejectedError,
  WaitTimeoutError,
  keyFromText,
  laneOf,
} from "../../../sdk";
import { DAY, ETH, HOUR, Status, treasuryFixture } from "../../fixtures";
import { agentClient, readJournal, tmpJournal } from "./helpers";

const usdc = (n: string) => parseUnits(n, 6);

/**
 * A relayer whose first `failures` sends fail like a dropped connection: with `lostResponse` the transaction did
 * reach the node (only the answer was lost), otherwise it never left.
 */
class FlakyRelayer extends AbstractSigner {
  sends = 0;
  constructor(
    private readonly inner: Signer,
    private failures: number,
    private readonly lostResponse: boolean,
  ) {
    super(inner.provider);
  }
  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }
  connect(): Signer {
    return this;
  }
  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }
  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }
  signTypedData(...args: Parameters<Signer["signTypedData"]>): Promise<string> {
    return this.inner.signTypedData(...args);
  }
  async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    if (this.failures > 0) {
      this.failures--;
      if (this.lostResponse) {
        this.sends++;
        await this.inner.sendTransaction(tx);
      }
      throw Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    }
    this.sends++;
    return this.inner.sendTransaction(tx);
  }
}

describe("AgentClient", function () {
  describe("pay", function () {
    it("test_pay_tokenWithinAutoLimit_executesAndJournalsRationale", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx);
      const rationale = "Invoice #1 from Alice Design";

      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "250", rationale });

      expect(r.status).to.equal("Executed");
      expect(r.replay).to.equal(false);
      await expect(r.txHash!)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          r.intentId,
          fx.agent.address,
          fx.usdcAddress,
          fx.alice.address,
          usdc("250"),
          false,
          keccak256(toUtf8Bytes(rationale)),
        );
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("250"));
      expect(await fx.module.intentStatus(r.intentId)).to.equal(Status.Executed); // keyed: recorded
      const entries = readJournal(journal);
      expect(entries.map((e) => e.t)).to.deep.equal(["signed", "sent", "outcome"]);
      expect(entries[0]).to.deep.include({ intentId: r.intentId, rationaleText: rationale, keySource: "derived" });
      expect(entries[2]).to.deep.include({ status: "Executed", txHash: r.txHash });
      client.close();
    });

    it("test_pay_ethHumanUnits_convertsWithEighteenDecimals", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const before = await ethers.provider.getBalance(fx.bob.address);
      const r = await client.pay({ asset: "ETH", to: fx.bob.address, amount: "0.25", rationale: "gas money" });
      expect(r.status).to.equal("Executed");
      expect((await ethers.provider.getBalance(fx.bob.address)) - before).to.equal(parseEther("0.25"));
      client.close();
    });

    it("test_pay_tokenAddressAsAsset_readsDecimalsOnChain", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx, { tokens: {} });
      const r = await client.pay({
        asset: fx.usdcAddress,
        to: fx.bob.address,
        amount: "12.5",
        rationale: "by address",
      });
      expect(r.status).to.equal("Executed");
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(usdc("12.5"));
      client.close();
    });

    describe("when the same request is retried", function () {
      it("test_pay_sameIdempotencyKeyTwice_paysOnce", async function () {
        const fx = await loadFixture(treasuryFixture);
        const { client, journal } = await agentClient(fx);
        const req = {
          asset: "USDC",
          to: fx.alice.address,
          amount: "300",
          idempotencyKey: "invoice-42",
          rationale: "Invoice 42",
        };
        const first = await client.pay(req);
        const second = await client.pay(req);

        expect(second).to.deep.include({
          intentId: first.intentId,
          status: "Executed",
          replay: true,
          txHash: first.txHash,
        });
        expect(second.idempotencyKey).to.equal(keyFromText("invoice-42"));
        expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("300"));
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
        expect(readJournal(journal).filter((e) => e.t === "signed")).to.have.length(1);
        client.close();
      });

      it("test_pay_noKeySameRequest_derivedKeyPaysOnce", async function () {
        const fx = await loadFixture(treasuryFixture);
        const { client } = await agentClient(fx);
        const req = { asset: "USDC", to: fx.alice.address, amount: "100", rationale: "March salary, Alice" };
        const first = await client.pay(req);
        const second = await client.pay({ ...req });
        expect(second.replay).to.equal(true);
        expect(second.intentId).to.equal(first.intentId);
        // Another reason is another payment.
        const third = await client.pay({ ...req, rationale: "April salary, Alice" });
        expect(third.replay).to.equal(false);
        expect(third.intentId).to.not.equal(first.intentId);
        expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("200"));
        client.close();
      });

      it("test_pay_lostJournalSameKey_isRecognisedFromChain", async function () {
        const fx = await loadFixture(treasuryFixture);
        const a = await agentClient(fx);
        const req = { asset: "USDC", to: fx.alice.address, amount: "400", idempotencyKey: "inv-7", rationale: "inv 7" };
        const first = await a.client.pay(req);
        a.client.close();
        const b = await agentClient(fx); // a new, empty journal
        const again = await b.client.pay(req);
        expect(again).to.deep.include({
          intentId: first.intentId,
          status: "Executed",
          replay: true,
          txHash: first.txHash,
        });
        expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("400"));
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
        b.client.close();
      });

      it("test_pay_sameKeyOtherAmount_throwsIdempotencyConflictWithoutSending", async function () {
        const fx = await loadFixture(treasuryFixture);
        const { client } = await agentClient(fx);
        const first = await client.pay({
          asset: "USDC",
          to: fx.alice.address,
          amount: "10",
          idempotencyKey: "k",
          rationale: "r",
        });
        const err = await client
          .pay({ asset: "USDC", to: fx.alice.address, amount: "11", idempotencyKey: "k", rationale: "r" })
          .catch((e: unknown) => e);
        expect(err).to.be.instanceOf(IdempotencyConflictError);
        expect((err as IdempotencyConflictError).args.originalIntentId).to.equal(first.intentId);
        expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
        // A fresh client (no journal) gets the same answer from the chain.
        const other = await agentClient(fx);
        await expect(
          other.client.pay({ asset: "USDC", to: fx.alice.address, amount: "11", idempotencyKey: "k", rationale: "r" }),
        ).to.be.rejectedWith(IdempotencyConflictError);
        client.close();
        other.client.close();
      });
    });

    describe("when the amount is above the auto tier", function () {
      it("test_pay_aboveAutoPerTx_isQueuedWithEta", async function () {
        const fx = await loadFixture(treasuryFixture);
        const { client } = await agentClient(fx);
        const r = await client.pay({ asset: "ETH", to: fx.alice.address, amount: "5", rationale: "new laptop fleet" });
        const block = await ethers.provider.getBlock(r.blockNumber!);
        expect(r.status).to.equal("Queued");
        expect(r.eta).to.equal(block!.timestamp + HOUR);
        expect(await fx.module.intentStatus(r.intentId)).to.equal(Status.Queued);
        client.close();
      });

      it("test_pay_aboveHardCap_isDeniedWithReasonAndStrike", async function () {
        const fx = await loadFixture(treasuryFixture);
        const { client, journal } = await agentClient(fx);
        const before = await ethers.provider.getBalance(fx.safeAddress);
        const r = await client.pay({ asset: "ETH", to: fx.attacker.address, amount: "50", rationale: "urgent!!" });
        expect(r).to.deep.include({ status: "Denied", reason: "AboveHardCap" });
        await expect(r.txHash!)
          .to.emit(fx.module, "IntentDenied")
          .withArgs(r.intentId, fx.agent.address, 4n, keccak256(toUtf8Bytes("urgent!!")));
        expect(await ethers.provider.getBalance(fx.safeAddress)).to.equal(before);
        expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
        expect(readJournal(journal).at(-1)).to.deep.include({ t: "outcome", status: "Denied", reason: "AboveHardCap" });
        client.close();
      });

      it("test_pay_thirdDenial_reportsAgentFrozen", async function () {
        const fx = await loadFixture(treasuryFixture);
        const { client } = await agentClient(fx);
        const results = [];
        for (let i = 0; i < 3; i++) {
          results.push(
            await client.pay({ asset: "ETH", to: fx.attacker.address, amount: "20", rationale: `drain ${i}` }),
          );
        }
        expect(results.map((r) => r.frozen ?? false)).to.deep.equal([false, false, true]);
        await expect(results[2].txHash!)
          .to.emit(fx.module, "AgentFrozen")
          .withArgs(fx.agent.address, fx.moduleAddress, ethers.encodeBytes32String("strikes"));
        expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
        client.close();
      });
    });

    describe("when the request is malformed", function () {
      const bad: [string, Record<string, unknown>, RegExp][] = [
        ["notANumber", { amount: "1,000" }, /not a decimal number/],
        ["tooManyDecimals", { amount: "1.0000001" }, /has 7 decimal places but USDC has only 6/],
        ["zero", { amount: "0" }, /nothing to pay/],
        ["unknownAsset", { asset: "DOGE" }, /Unknown asset "DOGE".*ETH, USDC/],
        ["badRecipient", { to: "0x1234" }, /not an address/],
        ["noRationale", { rationale: " " }, /rationale is required/],
        ["shortValidity", { validFor: 5 }, /validFor must be/],
      ];
      for (const [name, change, message] of bad) {
        it(`test_pay_${name}_throwsInvalidRequestWithoutSigning`, async function () {
          const fx = await loadFixture(treasuryFixture);
          const { client, journal } = await agentClient(fx);
          const req = { asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r", ...change };
          const err = await client.pay(req as never).catch((e: unknown) => e);
          expect(err).to.be.instanceOf(InvalidRequestError);
          expect((err as Error).message).to.match(message);
          expect(readJournal(journal)).to.have.length(0);
          expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
          client.close();
        });
      }
    });
  });

  describe("who pays gas", function () {
    it("test_pay_viaRelayer_agentKeyPaysNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const [agentBefore, relayerBefore] = await Promise.all([
        ethers.provider.getBalance(fx.agent.address),
        ethers.provider.getBalance(fx.relayer.address),
      ]);
      await client.pay({ asset: "USDC", to: fx.alice.address, amount: "5", rationale: "relayed" });
      expect(await ethers.provider.getBalance(fx.agent.address)).to.equal(agentBefore);
      expect(await ethers.provider.getBalance(fx.relayer.address)).to.be.lessThan(relayerBefore);
      client.close();
    });

    it("test_pay_direct_agentPaysItsGas", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx, { relayer: undefined });
      const before = await ethers.provider.getBalance(fx.agent.address);
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "5", rationale: "direct" });
      const receipt = await ethers.provider.getTransactionReceipt(r.txHash!);
      expect(receipt!.from).to.equal(fx.agent.address);
      expect(before - (await ethers.provider.getBalance(fx.agent.address))).to.equal(receipt!.fee);
      client.close();
    });
  });

  describe("when the RPC connection drops while sending", function () {
    it("test_pay_sendFailsBeforeReachingNode_retriesAndPaysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const relayer = new FlakyRelayer(fx.relayer, 2, false);
      const retries: number[] = [];
      const { client } = await agentClient(fx, {
        relayer,
        retry: { retries: 3, minDelayMs: 5, onRetry: (_e, n) => retries.push(n) },
      });
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "60", rationale: "flaky network" });
      expect(r.status).to.equal("Executed");
      expect(retries).to.deep.equal([1, 2]);
      expect(relayer.sends).to.equal(1);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("60"));
      client.close();
    });

    it("test_pay_answerLostAfterNodeGotIt_doesNotSendAgainAndPaysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const relayer = new FlakyRelayer(fx.relayer, 1, true);
      const { client, journal } = await agentClient(fx, { relayer, retry: { retries: 3, minDelayMs: 5 } });
      // Other suites may have used this account before the fixture's snapshot: count from here.
      const sentBefore = await ethers.provider.getTransactionCount(fx.relayer.address);
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "61", rationale: "lost answer" });
      expect(r.status).to.equal("Executed");
      expect(relayer.sends).to.equal(1); // the retry saw the key bound on chain and did not resend
      expect(await ethers.provider.getTransactionCount(fx.relayer.address)).to.equal(sentBefore + 1);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("61"));
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal(["signed", "outcome"]);
      expect(await fx.module.intentStatus(r.intentId)).to.equal(Status.Executed);
      client.close();
    });

    it("test_pay_nodeDownThroughAllRetries_throwsRpcUnavailableAndResumesLater", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const first = await agentClient(fx, {
        journal,
        relayer: new FlakyRelayer(fx.relayer, 10, false),
        retry: { retries: 2, minDelayMs: 5 },
      });
      const req = { asset: "USDC", to: fx.alice.address, amount: "62", rationale: "node down" };
      await expect(first.client.pay(req)).to.be.rejectedWith(RpcUnavailableError, /send intent .* after 3 attempt/);
      first.client.close();
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal(["signed"]);
      const again = await agentClient(fx, { journal });
      expect(again.client.recovery.resumed.map((x) => x.status)).to.deep.equal(["Executed"]);
      expect((await again.client.pay(req)).replay).to.equal(true);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("62"));
      again.client.close();
    });
  });

  describe("lanes", function () {
    it("test_pay_parallelLanes_eachConsumesItsOwnNonce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const pay = (lane: string | undefined, n: number) =>
        client.pay({ asset: "USDC", to: fx.alice.address, amount: String(n), rationale: `item ${n}`, lane });
      const results = await Promise.all([
        pay("payroll", 1),
        pay("vendors", 2),
        pay(undefined, 3),
        pay(undefined, 4),
        pay("payroll", 5),
      ]);

      expect(results.map((r) => r.status)).to.deep.equal(Array(5).fill("Executed"));
      expect(results.map((r) => r.nonce)).to.deep.equal([
        laneOf("payroll") << 64n,
        laneOf("vendors") << 64n,
        0n,
        1n,
        (laneOf("payroll") << 64n) | 1n,
      ]);
      expect(await fx.module.getNonce(fx.agent.address, laneOf("payroll"))).to.equal((laneOf("payroll") << 64n) | 2n);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(2n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("15"));
      client.close();
    });

    it("test_pay_sameLaneConcurrently_keepsCallOrder", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx, { tokens: {} });
      // The first request needs an RPC read (the token's decimals), the second none: call order must still win.
      const [first, second] = await Promise.all([
        client.pay({ asset: fx.usdcAddress, to: fx.alice.address, amount: "1", rationale: "first", lane: "ops" }),
        client.pay({ asset: "ETH", to: fx.alice.address, amount: "0.01", rationale: "second", lane: "ops" }),
      ]);
      expect([first.nonce, second.nonce]).to.deep.equal([laneOf("ops") << 64n, (laneOf("ops") << 64n) | 1n]);
      client.close();
    });

    it("test_pay_parallelLanesWithLocalWalletRelayer_sendsWithoutAccountNonceClash", async function () {
      const fx = await loadFixture(treasuryFixture);
      // A relayer key held in-process (ethers Wallet) signs raw transactions itself: concurrent sends must not reuse
      // its account nonce.
      const relayer = new Wallet(Wallet.createRandom().privateKey, ethers.provider);
      await (await fx.deployer.sendTransaction({ to: relayer.address, value: parseEther("1") })).wait();
      const { client } = await agentClient(fx, { relayer });
      const results = await Promise.all(
        ["a", "b", "c", "d"].map((lane, i) =>
          client.pay({ asset: "USDC", to: fx.alice.address, amount: String(i + 1), rationale: `lane ${lane}`, lane }),
        ),
      );
      expect(results.map((r) => r.status)).to.deep.equal(["Executed", "Executed", "Executed", "Executed"]);
      expect(await ethers.provider.getTransactionCount(relayer.address)).to.equal(4);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("10"));
      client.close();
    });

    it("test_pay_anotherProcessTookTheNonce_resignsUnderSameKey", async function () {
      const fx = await loadFixture(treasuryFixture);
      const other = await agentClient(fx);
      let raced = false;
      const { client, journal } = await agentClient(fx, {
        onStage: async (stage) => {
          if (stage === "signed" && !raced) {
            raced = true; // another process on the same lane gets in first
            await other.client.pay({ asset: "USDC", to: fx.bob.address, amount: "1", rationale: "other process" });
          }
        },
      });
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "2", rationale: "mine" });

      expect(r.status).to.equal("Executed");
      expect(r.nonce).to.equal(1n);
      const entries = readJournal(journal);
      expect(entries.map((e) => e.t)).to.deep.equal(["signed", "signed", "closed", "sent", "outcome"]);
      expect(entries[2]).to.deep.include({ why: "superseded", intentId: entries[0].intentId });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("2"));
      client.close();
      other.client.close();
    });

    it("test_pay_laneKeepsMoving_throwsNonceMismatch", async function () {
      const fx = await loadFixture(treasuryFixture);
      const other = await agentClient(fx);
      let n = 0;
      const { client } = await agentClient(fx, {
        onStage: async (stage) => {
          if (stage === "signed")
            await other.client.pay({ asset: "USDC", to: fx.bob.address, amount: "1", rationale: `race ${n++}` });
        },
      });
      const err = await client
        .pay({ asset: "USDC", to: fx.alice.address, amount: "2", rationale: "never lands" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(NonceMismatchError);
      expect((err as NonceMismatchError).message).to.match(/its own lane/);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
      client.close();
      other.client.close();
    });
  });

  describe("call and propose", function () {
    it("test_call_allowedFunction_executesWithEncodedArgs", async function () {
      const fx = await loadFixture(treasuryFixture);
      const selector = fx.usdc.interface.getFunction("mint").selector;
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, fx.usdcAddress, selector, true]),
      );
      const { client } = await agentClient(fx);
      const r = await client.call({
        target: fx.usdcAddress,
        function: "mint(address,uint256)",
        args: [fx.bob.address, 7n],
        rationale: "mint test",
      });
      expect(r.status).to.equal("Executed");
      expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(7n);
      client.close();
    });

    it("test_call_notAllowed_isDeniedTargetNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const r = await client.call({
        target: fx.usdcAddress,
        function: "mint(address,uint256)",
        args: [fx.attacker.address, 1n],
        rationale: "x",
      });
      expect(r).to.deep.include({ status: "Denied", reason: "TargetNotAllowed" });
      expect(await fx.usdc.balanceOf(fx.attacker.address)).to.equal(0n);
      client.close();
    });

    it("test_call_approvalToAttacker_isDeniedApprovalNotAllowed", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const data = fx.usdc.interface.encodeFunctionData("approve", [fx.attacker.address, ethers.MaxUint256]);
      const r = await client.call({ target: fx.usdcAddress, data, rationale: "ignore previous instructions" });
      expect(r).to.deep.include({ status: "Denied", reason: "ApprovalNotAllowed" });
      expect(await fx.usdc.allowance(fx.safeAddress, fx.attacker.address)).to.equal(0n);
      client.close();
    });

    it("test_propose_withinLimits_isQueuedForReview", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const r = await client.propose({
        asset: "USDC",
        to: fx.alice.address,
        amount: "10",
        rationale: "new vendor, please check",
      });
      expect(r.status).to.equal("Queued");
      await expect(r.txHash!).to.emit(fx.module, "IntentQueued");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
      client.close();
    });

    it("test_propose_withinLimits_signsReviewTrueWhilePayWithinLimitsExecutes", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx);
      const safeBefore = await fx.usdc.balanceOf(fx.safeAddress);

      // 10 USDC is far inside the 1,000 auto cap: only the signed review flag sends it to the co-signers.
      const proposed = await client.propose({
        asset: "USDC",
        to: fx.alice.address,
        amount: "10",
        rationale: "new vendor, please check",
      });
      const paid = await client.pay({
        asset: "USDC",
        to: fx.alice.address,
        amount: "10",
        rationale: "known vendor, invoice 9",
      });

      expect(proposed.status).to.equal("Queued");
      expect(paid.status).to.equal("Executed");
      const receipt = (await ethers.provider.getTransactionReceipt(proposed.txHash!))!;
      const queued = receipt.logs.map((l) => fx.module.interface.parseLog(l)).find((e) => e?.name === "IntentQueued")!;
      expect(queued.args.intentId).to.equal(proposed.intentId);
      expect(queued.args.intent.review).to.equal(true);
      const signed = readJournal(journal).filter((e) => e.t === "signed") as {
        intentId: string;
        kind: string;
        intent: { review?: boolean };
      }[];
      expect(signed.map((e) => [e.intentId, e.kind, e.intent.review])).to.deep.equal([
        [proposed.intentId, "propose", true],
        [paid.intentId, "submit", false],
      ]);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("10")); // the payment only
      expect(safeBefore - (await fx.usdc.balanceOf(fx.safeAddress))).to.equal(usdc("10"));
      // The queued proposal carries the flag for the co-signers too.
      const view = await (
        await CosignerClient.connect({ module: fx.moduleAddress, signer: fx.cosigners[0] })
      ).show(proposed.intentId);
      expect(view).to.deep.include({ status: "Queued", review: true });
      expect(view.intent?.review).to.equal(true);
      client.close();
    });

    describe("when the calldata is a non-canonical transfer (v3)", function () {
      const transfer = new ethers.Interface(["function transfer(address,uint256)"]);
      const cases: [string, (to: string) => string][] = [
        ["trailingByte", (to) => transfer.encodeFunctionData("transfer", [to, usdc("10")]) + "00"],
        [
          "dirtyRecipientWord",
          (to) => {
            const d = transfer.encodeFunctionData("transfer", [to, usdc("10")]);
            return d.slice(0, 10) + "ff" + d.slice(12);
          },
        ],
      ];
      for (const [name, data] of cases) {
        it(`test_call_${name}_isDeniedMalformedCallWithAStrikeAndNothingMoves`, async function () {
          const fx = await loadFixture(treasuryFixture);
          const { client, journal } = await agentClient(fx);
          const [safeBefore, nonceBefore] = [await fx.usdc.balanceOf(fx.safeAddress), await client.nonce()];

          const r = await client.call({
            target: fx.usdcAddress,
            data: data(fx.bob.address),
            rationale: "hand-made transfer",
          });

          expect(r).to.deep.include({ status: "Denied", reason: "MalformedCall" });
          await expect(r.txHash!)
            .to.emit(fx.module, "IntentDenied")
            .withArgs(r.intentId, fx.agent.address, 7n, keccak256(toUtf8Bytes("hand-made transfer")));
          expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
          expect(await client.nonce()).to.equal(nonceBefore + 1n); // a denial consumes the nonce
          expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(safeBefore);
          expect(await fx.usdc.balanceOf(fx.bob.address)).to.equal(0n);
          expect(readJournal(journal).at(-1)).to.deep.include({
            t: "outcome",
            status: "Denied",
            reason: "MalformedCall",
          });
          // Reviewers see it for what it is, never as a payment.
          const view = await (
            await CosignerClient.connect({ module: fx.moduleAddress, signer: fx.cosigners[0], journals: [journal] })
          ).show(r.intentId);
          expect(view.action?.kind).to.equal("call");
          expect(view.action?.summary).to.match(
            /^Malformed transfer\(address,uint256\) on .*not a canonical ERC-20 transfer, so the module denies it \(MalformedCall\)$/,
          );
          client.close();
        });
      }
    });
  });

  describe("status, available and waitFor", function () {
    it("test_status_executedPayment_showsJournaledRationale", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "3", rationale: "coffee beans" });
      const s = await client.status(r.intentId);
      expect(s).to.deep.include({
        intentId: r.intentId,
        status: "Executed",
        txHash: r.txHash,
        rationaleText: "coffee beans",
        journaled: true,
      });
      client.close();
    });

    it("test_available_afterPayments_isWindowMinusSpend", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      await client.pay({ asset: "USDC", to: fx.alice.address, amount: "1000", rationale: "a" });
      await client.pay({ asset: "USDC", to: fx.alice.address, amount: "200.5", rationale: "b" });
      const a = await client.available("usdc");
      expect(a.amount).to.equal(usdc("3799.5"));
      expect(a.formatted).to.equal("3799.5");
      expect(a.asset).to.deep.equal({ address: fx.usdcAddress, symbol: "USDC", decimals: 6 });
      expect((await client.available("ETH")).amount).to.equal(parseEther("3"));
      await time.increase(DAY);
      expect((await client.available("USDC")).amount).to.equal(usdc("5000"));
      client.close();
    });

    it("test_waitFor_queuedIntent_resolvesWhenCosignersExecute", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "2500", rationale: "big invoice" });
      expect(r.status).to.equal("Queued");
      const waiting = client.waitFor(r.intentId, { pollIntervalMs: 10, timeoutMs: 60_000 });
      const [c1, c2] = await Promise.all(
        fx.cosigners
          .slice(0, 2)
          .map((s) => CosignerClient.connect({ module: fx.moduleAddress, signer: s, pollIntervalMs: 10 })),
      );
      await c1.approve(r.intentId);
      await c2.approve(r.intentId);
      await time.increase(HOUR);
      await c1.execute(r.intentId);
      const done = await waiting;
      expect(done.status).to.equal("Executed");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("2500"));
      client.close();
    });

    it("test_waitFor_stillQueued_throwsWaitTimeout", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      const r = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "2500", rationale: "big invoice" });
      const err = await client.waitFor(r.intentId, { timeoutMs: 50, pollIntervalMs: 10 }).catch((e: unknown) => e);
      expect(err).to.be.instanceOf(WaitTimeoutError);
      expect((err as WaitTimeoutError).args).to.deep.include({ intentId: r.intentId, status: "Queued" });
      expect((err as Error).message).to.match(/co-signer approvals/);
      client.close();
    });
  });

  describe("rejections", function () {
    it("test_pay_modulePaused_throwsModulePausedAndJournalsRejection", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.guardian })).pause();
      const { client, journal } = await agentClient(fx);
      const err = await client
        .pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ModulePausedError);
      expect(readJournal(journal).at(-1)).to.deep.include({ t: "closed", why: "rejected", code: "MODULE_PAUSED" });
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      client.close();
    });

    it("test_pay_agentFrozen_throwsAgentFrozen", async function () {
      const fx = await loadFixture(treasuryFixture);
      await (await GuardianClient.connect({ module: fx.moduleAddress, signer: fx.guardian })).freeze(fx.agent.address);
      const { client } = await agentClient(fx);
      const err = await client
        .pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AgentFrozenError);
      expect((err as AgentFrozenError).args).to.deep.equal({ agent: fx.agent.address });
      client.close();
    });

    it("test_pay_unregisteredKey_throwsAgentInactive", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx, { signer: fx.bob });
      const err = await client
        .pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(AgentInactiveError);
      expect((err as AgentInactiveError).errorName).to.equal("AgentUnknown");
      client.close();
    });

    it("test_pay_signerIsNotTheAgent_throwsSignatureRejected", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx, { signer: fx.bob, agent: fx.agent.address });
      const err = await client
        .pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(SignatureRejectedError);
      expect((err as SignatureRejectedError).errorName).to.equal("IntentSignatureInvalid");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);
      client.close();
    });

    it("test_pay_innerCallFails_throwsExecutionFailedAndChargesNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client } = await agentClient(fx);
      // The token contract has no receive(): the Safe's ETH transfer to it reverts.
      const err = await client
        .pay({ asset: "ETH", to: fx.usdcAddress, amount: "0.1", rationale: "r" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ExecutionFailedError);
      expect((err as ExecutionFailedError).args).to.deep.equal({ target: fx.usdcAddress });
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(parseEther("3"));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      client.close();
    });

    it("test_pay_notMinedInTime_throwsWaitTimeoutThenRetrySettlesOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx, { receiptTimeoutMs: 100 });
      const req = { asset: "USDC", to: fx.alice.address, amount: "9", rationale: "slow chain" };
      await ethers.provider.send("evm_setAutomine", [false]);
      let err: unknown;
      try {
        err = await client.pay(req).catch((e: unknown) => e);
      } finally {
        await ethers.provider.send("evm_setAutomine", [true]);
      }
      expect(err).to.be.instanceOf(WaitTimeoutError);
      expect((err as Error).message).to.match(/not mined within 0 s.*pay at most once/);
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal(["signed", "sent"]);
      await ethers.provider.send("evm_mine", []);

      const settled = await client.pay(req); // the retry finds it on chain, sends nothing
      expect(settled).to.deep.include({ status: "Executed", intentId: readJournal(journal)[0].intentId });
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal(["signed", "sent", "outcome"]);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("9"));
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(1n);
      client.close();
    });

    it("test_connect_rpcDown_throwsRpcUnavailableAfterRetries", async function () {
      const fx = await loadFixture(treasuryFixture);
      const dead = new JsonRpcProvider("http://127.0.0.1:9", undefined, { staticNetwork: Network.from(31337n) });
      const signer = new Wallet(Wallet.createRandom().privateKey, dead);
      const attempts: number[] = [];
      const err = await AgentClient.connect({
        module: fx.moduleAddress,
        signer,
        journal: tmpJournal(),
        retry: { retries: 2, minDelayMs: 5, onRetry: (_e, n) => attempts.push(n) },
      }).catch((e: unknown) => e);
      dead.destroy();
      expect(err).to.be.instanceOf(RpcUnavailableError);
      expect(attempts).to.deep.equal([1, 2]); // the module's code read, retried twice (the chain id is static)
      expect((err as Error).message).to.match(/read the module's code after 3 attempt\(s\) \(.*ECONNREFUSED/);
    });

    it("test_connect_journalInUse_throwsJournalError", async function () {
      const fx = await loadFixture(treasuryFixture);
      const { client, journal } = await agentClient(fx);
      await expect(agentClient(fx, { journal })).to.be.rejectedWith(JournalError, /in use by process/);
      client.close();
    });
  });

  describe("recovery on start", function () {
    const crash = (at: string) => async (stage: string) => {
      if (stage === at) throw new Error(`simulated crash after ${stage}`);
    };

    it("test_connect_signedButNeverSent_resumesAndPaysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const req = { asset: "USDC", to: fx.alice.address, amount: "700", rationale: "payroll Alice" };
      const first = await agentClient(fx, { journal, onStage: crash("signed") });
      await expect(first.client.pay(req)).to.be.rejectedWith(/simulated crash after signed/);
      first.client.close();
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(0n);

      const again = await agentClient(fx, { journal });
      expect(again.client.recovery.checked).to.equal(1);
      expect(again.client.recovery.resumed.map((r) => r.status)).to.deep.equal(["Executed"]);
      const retried = await again.client.pay(req);
      expect(retried.replay).to.equal(true);
      expect(retried.intentId).to.equal(again.client.recovery.resumed[0].intentId);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("700"));
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal(["signed", "sent", "outcome"]);
      again.client.close();
    });

    it("test_connect_sentButNoReceipt_recordsOutcomeWithoutResending", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const first = await agentClient(fx, { journal, onStage: crash("sent") });
      await expect(
        first.client.pay({ asset: "USDC", to: fx.alice.address, amount: "800", rationale: "r" }),
      ).to.be.rejectedWith(/crash after sent/);
      first.client.close();
      const blockBefore = await ethers.provider.getBlockNumber();

      const again = await agentClient(fx, { journal });
      expect(again.client.recovery.landed.map((r) => r.status)).to.deep.equal(["Executed"]);
      expect(again.client.recovery.resumed).to.deep.equal([]);
      expect(await ethers.provider.getBlockNumber()).to.equal(blockBefore); // nothing sent
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("800"));
      const entries = readJournal(journal);
      expect(entries.map((e) => e.t)).to.deep.equal(["signed", "sent", "outcome"]);
      expect(entries[2]).to.deep.include({ status: "Executed", txHash: (entries[1] as { txHash: string }).txHash });
      again.client.close();
    });

    it("test_connect_resumeFalse_reportsPendingWithoutSending", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const first = await agentClient(fx, { journal, onStage: crash("signed") });
      await expect(first.client.pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: "r" })).to.be
        .rejected;
      first.client.close();
      const again = await agentClient(fx, { journal, resume: false });
      const signed = readJournal(journal)[0];
      expect(again.client.recovery.pending).to.deep.equal([{ intentId: signed.intentId }]);
      expect(await fx.module.getNonce(fx.agent.address, 0)).to.equal(0n);
      again.client.close();
    });

    it("test_connect_signatureExpiredWhileDown_resignsUnderSameKeyAndPaysOnce", async function () {
      const fx = await loadFixture(treasuryFixture);
      const journal = tmpJournal();
      const first = await agentClient(fx, { journal, onStage: crash("signed"), validFor: 600 });
      await expect(
        first.client.pay({ asset: "USDC", to: fx.alice.address, amount: "5", rationale: "r", idempotencyKey: "k1" }),
      ).to.be.rejected;
      first.client.close();
      await time.increase(HOUR); // the agent was down longer than the signature lived

      const again = await agentClient(fx, { journal });
      const entries = readJournal(journal);
      expect(entries.map((e) => e.t)).to.deep.equal(["signed", "signed", "closed", "sent", "outcome"]);
      expect(entries[1]).to.deep.include({ supersedes: entries[0].intentId });
      expect(again.client.recovery.resumed[0]).to.deep.include({
        intentId: entries[1].intentId,
        status: "Executed",
        idempotencyKey: keyFromText("k1"),
      });
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(usdc("5"));
      again.client.close();
    });
  });

  it("test_keyFromText_hexAndText_areStable", function () {
    expect(keyFromText("invoice-42")).to.equal(id("invoice-42"));
    const hex = "0x" + "ab".repeat(32);
    expect(keyFromText(hex)).to.equal(hex);
    expect(() => keyFromText("0x" + "00".repeat(32))).to.throw(InvalidRequestError);
  });
});
