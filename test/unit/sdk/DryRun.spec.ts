/**
 * `AgentClient.dryRun`: before an agent signs, it learns what the module would do with the request now, and why,
 * without signing, journaling or sending anything. Every case is checked against reality: the dry run says X,
 * then the real request does X (and the reasons the dry run gave are the ones the state shows).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, ZeroAddress, parseEther, parseUnits } from "ethers";
import {
  AgentClient,
  IntentPreview,
  IntentResult,
  ModulePausedError,
  PayRequest,
  CallRequest,
  Journal,
} from "../../../sdk";
import { DAY, RecipientMode, agentConfig, treasuryFixture } from "../../fixtures";
import { agentClient, readJournal } from "./helpers";

/** The fixture with a client that knows the lens. */
async function dryRunFixture() {
  const fx = await loadFixture(treasuryFixture);
  const { client, journal } = await agentClient(fx, { lens: await fx.lens.getAddress() });
  return { fx, client, journal };
}

type Action = "pay" | "call" | "propose";

/** Dry run, then the same request for real; both answers. */
async function dryThenReal(
  client: AgentClient,
  action: Action,
  request: PayRequest | CallRequest,
): Promise<{ dry: IntentPreview; real: IntentResult }> {
  const nonce = await client.nonce(request.lane);
  const dry = await client.dryRun(action, request);
  expect(await client.nonce(request.lane), "a dry run consumes no nonce").to.equal(nonce);
  const real =
    action === "pay"
      ? await client.pay(request as PayRequest)
      : action === "call"
        ? await client.call(request as CallRequest)
        : await client.propose(request);
  expect(real.status, "the real request does what the dry run said").to.equal(dry.status);
  if (!dry.replay) expect(real.intentId, "the dry run names the intent the client then signs").to.equal(dry.intentId);
  expect(real.reason).to.equal(dry.reason);
  return { dry, real };
}

const approve = new Interface(["function approve(address,uint256)"]);

describe("AgentClient.dryRun", function () {
  describe("when the request would execute", function () {
    it("test_dryRun_withinLimits_executedWithAllowance_thenExecuted", async function () {
      const { fx, client, journal } = await dryRunFixture();
      const before = readJournal(journal).length;
      const { dry, real } = await dryThenReal(client, "pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "250",
        rationale: "invoice 1",
      });
      expect(dry).to.deep.include({ dryRun: true, status: "Executed", replay: false, explained: true });
      expect(dry.spends!.formatted).to.equal("250");
      expect(dry.allowanceLeft!.amount).to.equal(fx.usdcLimit.autoPerWindow);
      expect(real.status).to.equal("Executed");
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(parseUnits("250", 6));
      // The dry run itself wrote nothing: only the real request's entries are in the journal.
      expect(
        readJournal(journal)
          .slice(before)
          .every((e) => e.intentId === real.intentId),
      ).to.equal(true);
      client.close();
    });
  });

  describe("when the request would be queued", function () {
    it("test_dryRun_aboveAutoPerTx_queuedBecauseOfTheAmount", async function () {
      const { fx, client } = await dryRunFixture();
      const { dry } = await dryThenReal(client, "pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "2500",
        rationale: "big invoice",
      });
      expect(dry.status).to.equal("Queued");
      expect(dry.queuedBecause).to.deep.equal(["above-auto-per-tx"]);
      client.close();
    });

    it("test_dryRun_windowSpent_queuedBecauseOfTheWindow", async function () {
      const { fx, client } = await dryRunFixture();
      for (let i = 0; i < 5; i++)
        await client.pay({ asset: "USDC", to: fx.alice.address, amount: "1000", rationale: `run ${i}` });
      const { dry } = await dryThenReal(client, "pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "1",
        rationale: "one more",
      });
      expect(dry.queuedBecause).to.deep.equal(["above-window"]);
      expect(dry.allowanceLeft!.amount).to.equal(0n);
      client.close();
    });

    it("test_dryRun_treasuryWideLimit_queuedBecauseOfTheTreasury", async function () {
      const { fx, client } = await dryRunFixture();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setTreasuryLimit", [fx.usdcAddress, parseUnits("100", 6), DAY]),
      );
      const { dry } = await dryThenReal(client, "pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "150",
        rationale: "over the treasury cap",
      });
      expect(dry.queuedBecause).to.deep.equal(["treasury-limit"]);
      client.close();
    });

    it("test_dryRun_unknownRecipientEscalated_queuedBecauseOfTheRecipient", async function () {
      const { fx, client } = await dryRunFixture();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAgent", [
          fx.agent.address,
          agentConfig({ recipientMode: RecipientMode.EscalateUnknown }),
        ]),
      );
      const { dry } = await dryThenReal(client, "pay", {
        asset: "ETH",
        to: fx.bob.address,
        amount: "0.1",
        rationale: "new vendor",
      });
      expect(dry.queuedBecause).to.deep.equal(["unknown-recipient"]);
      client.close();
    });

    it("test_dryRun_propose_queuedBecauseReviewWasAsked", async function () {
      const { fx, client } = await dryRunFixture();
      const { dry } = await dryThenReal(client, "propose", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "10",
        rationale: "please check",
      });
      expect(dry.queuedBecause).to.deep.equal(["review-requested"]);
      client.close();
    });
  });

  describe("when the request would be denied", function () {
    it("test_dryRun_assetWithoutLimit_deniedWithTheStrikeItWouldCost", async function () {
      const { fx, client } = await dryRunFixture();
      const dai = await ethers.deployContract("MockERC20", ["Dai", "DAI", 18]);
      await (await dai.mint(fx.safeAddress, parseEther("100"))).wait();
      const { dry, real } = await dryThenReal(client, "pay", {
        asset: await dai.getAddress(),
        to: fx.alice.address,
        amount: "1",
        rationale: "dai invoice",
      });
      expect(dry).to.deep.include({ status: "Denied", reason: "AssetNotAllowed", explained: true });
      expect(dry.strikes).to.deep.equal({ now: 0, max: 3, wouldFreeze: false });
      expect(real.frozen ?? false).to.equal(false);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      client.close();
    });

    it("test_dryRun_thirdDenial_saysItWouldFreeze_andItDoes", async function () {
      const { fx, client } = await dryRunFixture();
      for (let i = 0; i < 2; i++)
        await client.pay({ asset: "ETH", to: fx.alice.address, amount: "20", rationale: `too much ${i}` });
      const { dry, real } = await dryThenReal(client, "pay", {
        asset: "ETH",
        to: fx.alice.address,
        amount: "20",
        rationale: "too much 2",
      });
      expect(dry).to.deep.include({ reason: "AboveHardCap" });
      expect(dry.strikes).to.deep.equal({ now: 2, max: 3, wouldFreeze: true });
      expect(real.frozen).to.equal(true);
      client.close();
    });

    it("test_dryRun_approvalCall_deniedAsApproval", async function () {
      const { fx, client } = await dryRunFixture();
      const data = approve.encodeFunctionData("approve", [fx.attacker.address, 1n]);
      const { dry } = await dryThenReal(client, "call", { target: fx.usdcAddress, data, rationale: "vendor portal" });
      expect(dry.reason).to.equal("ApprovalNotAllowed");
      client.close();
    });

    it("test_dryRun_recipientOffTheAllowlist_deniedAsRecipient", async function () {
      const { fx, client } = await dryRunFixture();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAgent", [
          fx.agent.address,
          agentConfig({ recipientMode: RecipientMode.Allowlist }),
        ]),
      );
      const { dry } = await dryThenReal(client, "pay", {
        asset: "USDC",
        to: fx.attacker.address,
        amount: "1",
        rationale: "attacker",
      });
      expect(dry.reason).to.equal("RecipientNotAllowed");
      client.close();
    });

    it("test_dryRun_rateLimitReached_deniedAsRateLimited", async function () {
      const { fx, client } = await dryRunFixture();
      await fx.asOwners(
        fx.module.interface.encodeFunctionData("setAgent", [
          fx.agent.address,
          agentConfig({ maxIntentsPerWindow: 2n, rateWindow: BigInt(DAY) }),
        ]),
      );
      for (let i = 0; i < 2; i++)
        await client.pay({ asset: "USDC", to: fx.alice.address, amount: "1", rationale: `small ${i}` });
      const { dry } = await dryThenReal(client, "pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "1",
        rationale: "small 2",
      });
      expect(dry.reason).to.equal("RateLimited");
      client.close();
    });
  });

  describe("when nothing new would happen, or the module would refuse", function () {
    it("test_dryRun_sameRequestAgain_replayOfTheOriginal", async function () {
      const { fx, client } = await dryRunFixture();
      const first = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "5", rationale: "invoice 9" });
      const dry = await client.dryRun("pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "5",
        rationale: "invoice 9",
      });
      expect(dry).to.deep.include({ replay: true, intentId: first.intentId, status: "Executed" });
      client.close();
    });

    it("test_dryRun_modulePaused_throwsTheErrorTheRealRequestWould", async function () {
      const { fx, client } = await dryRunFixture();
      await (await fx.module.connect(fx.guardian).pause()).wait();
      const err = await client
        .dryRun("pay", { asset: "USDC", to: fx.alice.address, amount: "5", rationale: "while paused" })
        .catch((e: unknown) => e);
      expect(err).to.be.instanceOf(ModulePausedError);
      client.close();
    });

    it("test_dryRun_withoutLens_statusOnly", async function () {
      const fx = await loadFixture(treasuryFixture);
      const client = await AgentClient.connect({
        module: fx.moduleAddress,
        signer: fx.agent,
        journal: Journal.inMemory(),
        tokens: { USDC: fx.usdcAddress },
      });
      const dry = await client.dryRun("pay", {
        asset: "USDC",
        to: fx.alice.address,
        amount: "2500",
        rationale: "no lens",
      });
      expect(dry).to.deep.include({ status: "Queued", explained: false });
      expect(dry).to.not.have.property("queuedBecause");
      client.close();
    });
  });

  describe("on start, the journal", function () {
    it("test_recovery_refusedIntentInTheJournal_isNotCountedAsUnfinished", async function () {
      const { fx, client, journal } = await dryRunFixture();
      await (await fx.module.connect(fx.guardian).pause()).wait();
      await client
        .pay({ asset: "USDC", to: fx.alice.address, amount: "5", rationale: "refused" })
        .catch(() => undefined);
      client.close();
      expect(readJournal(journal).map((e) => e.t)).to.deep.equal(["signed", "closed"]);
      const again = await agentClient(fx, { journal });
      expect(again.client.recovery).to.deep.include({ checked: 0, landed: [], resumed: [], pending: [] });
      again.client.close();
    });
  });

  it("test_dryRun_ethPaymentIsNotMistakenForAToken", async function () {
    const { fx, client } = await dryRunFixture();
    const dry = await client.dryRun("pay", { asset: "ETH", to: fx.alice.address, amount: "0.5", rationale: "eth" });
    expect(dry.spends!.asset.address).to.equal(ZeroAddress);
    expect(dry.allowanceLeft!.amount).to.equal(fx.ethLimit.autoPerWindow);
    client.close();
  });
});
