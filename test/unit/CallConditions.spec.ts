/**
 * CallConditions (SPEC section 11, v3): conditions on the argument words of an allowed call. `setCallConditions`
 * replaces a call's conditions (an empty list clears them); a call whose arguments fail one, or that is too short to
 * hold a word one names, is denied `TargetNotAllowed`; `ChargeAs` charges an argument to the agent's limits of an
 * asset like a payment (auto tier, queue, hard cap, `AssetNotAllowed`), and after the call the Safe's balance of that
 * asset may have fallen by at most the charge. The story against a real Uniswap v3 is
 * test/scenarios/UniswapSwap.spec.ts.
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, ZeroHash, parseEther, parseUnits, zeroPadValue, toBeHex } from "ethers";
import {
  DenyReason,
  ETH,
  Status,
  assetLimit,
  buildIntent,
  cosignerSignatures,
  intentId,
  mocksFixture,
  moduleAsSafe,
  sign,
  submitSigned,
  tokenPayment,
  treasuryState,
} from "../fixtures";
import type { Treasury } from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { AGENT_USD_LIMIT, PriceFault, USD, usdTreasuryFixture } from "../usdFixtures";
import type { MaliciousRouter, MockERC20 } from "../../typechain-types";
import type { IAgentTreasuryTypes } from "../../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { execSafeCall } from "../../sdk/safe";
import { expectDenied, intentTuple } from "./helpers";

type ConditionStruct = IAgentTreasuryTypes.ConditionStruct;

/** `enum Op` of IAgentTreasuryTypes. */
const Op = { EqualTo: 0n, EqualToAvatar: 1n, LessOrEqual: 2n, GreaterOrEqual: 3n, ChargeAs: 4n } as const;

/** A condition as the ABI takes it. */
function cond(word: number, op: bigint, value: bigint | string = 0n): ConditionStruct {
  const v = typeof value === "string" ? zeroPadValue(value, 32) : zeroPadValue(toBeHex(value), 32);
  return { word: BigInt(word), op, value: v };
}

/** Conditions as views and events return them: (word, op, value) tuples. */
function tuples(list: ConditionStruct[]): unknown[][] {
  return list.map((c) => [c.word, c.op, c.value]);
}

const ROUTER = new Interface([
  "function exactInputSingle((address tokenIn,address tokenOut,uint24 fee,address recipient,uint256 amountIn,uint256 amountOutMinimum,uint160 sqrtPriceLimitX96) params) payable returns (uint256 amountOut)",
]);
const SWAP = ROUTER.getFunction("exactInputSingle")!.selector;
/** Words of `exactInputSingle`'s static tuple. */
const W = { tokenIn: 0, tokenOut: 1, fee: 2, recipient: 3, amountIn: 4, amountOutMinimum: 5, sqrtPriceLimitX96: 6 };
const USDC = (n: string) => parseUnits(n, 6);
/** The router's standing allowance from the Safe (an owners' transaction): 20,000 USDC. */
const ALLOWANCE = USDC("20000");

/**
 * Routers with SwapRouter02's `exactInputSingle` on `fx`'s treasury, one per `overdraws` entry (0: honest; above 0:
 * pulls that much more than `amountIn`), each stocked with 1,000,000 of a WETH-like token (6 decimals, paid 1:1) and
 * given a 20,000 USDC allowance by the Safe's owners. The agent may call `exactInputSingle` on each, with the swap's
 * conditions: tokenIn USDC, tokenOut the output token, recipient the Safe, amountIn charged as USDC.
 */
async function withRouters(fx: Treasury, overdraws: bigint[]) {
  const out = (await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 6])) as unknown as MockERC20;
  const outAddress = await out.getAddress();
  const owner = await moduleAsSafe(fx);
  const conditions = [
    cond(W.tokenIn, Op.EqualTo, fx.usdcAddress),
    cond(W.tokenOut, Op.EqualTo, outAddress),
    cond(W.recipient, Op.EqualToAvatar),
    cond(W.amountIn, Op.ChargeAs, fx.usdcAddress),
  ];
  const routers: MaliciousRouter[] = [];
  for (const overdraw of overdraws) {
    const router = (await ethers.deployContract("MaliciousRouter", [overdraw])) as unknown as MaliciousRouter;
    const address = await router.getAddress();
    await (await out.mint(address, USDC("1000000"))).wait();
    const approve = fx.usdc.interface.encodeFunctionData("approve", [address, ALLOWANCE]);
    await execSafeCall(fx.safe, fx.ownerSigners, fx.deployer, fx.usdcAddress, approve);
    await (await owner.setCallConditions(fx.agent.address, address, SWAP, conditions)).wait();
    await (await owner.setAllowedCall(fx.agent.address, address, SWAP, true)).wait();
    routers.push(router);
  }
  return { owner, out, outAddress, conditions, routers, routerAddress: await routers[0].getAddress() };
}

/** The unit suite's mocks plus an honest router and one that pulls one unit more than `amountIn` ({@link withRouters}). */
async function routerFixture() {
  const fx = await mocksFixture();
  const { routers, ...r } = await withRouters(fx, [0n, 1n]);
  const [router, malicious] = routers;
  return { ...fx, ...r, router, malicious };
}

/**
 * v3, USD caps: the USD fixture (the agent's USD limit $1,500 per payment, $3,000 per day, hard cap $20,000; USDC at
 * $1, ETH at $2,000) plus an honest router ({@link withRouters}).
 */
async function usdRouterFixture() {
  const fx = await usdTreasuryFixture();
  const { routers, ...r } = await withRouters(fx, [0n]);
  return { ...fx, ...r, router: routers[0] };
}

/** A treasury with a conditioned router ({@link withRouters}). */
type Fx = Treasury & { outAddress: string; routerAddress: string };

interface SwapArgs {
  tokenIn?: string;
  tokenOut?: string;
  recipient?: string;
  amountIn?: bigint;
  amountOutMinimum?: bigint;
}

/** `exactInputSingle` calldata: USDC -> out, recipient the Safe, 500 USDC, unless overridden. */
function swapData(fx: Fx, a: SwapArgs = {}): string {
  return ROUTER.encodeFunctionData("exactInputSingle", [
    {
      tokenIn: a.tokenIn ?? fx.usdcAddress,
      tokenOut: a.tokenOut ?? fx.outAddress,
      fee: 3000,
      recipient: a.recipient ?? fx.safeAddress,
      amountIn: a.amountIn ?? USDC("500"),
      amountOutMinimum: a.amountOutMinimum ?? 0n,
      sqrtPriceLimitX96: 0n,
    },
  ]);
}

async function swapIntent(fx: Fx, a: SwapArgs = {}, router = fx.routerAddress, value = 0n) {
  return buildIntent(fx, { target: router, data: swapData(fx, a), value });
}

/** Signs `intents` with the fixture's agent at consecutive lane-0 nonces from the current one. */
async function signedBatch(fx: Treasury, intents: Intent[]): Promise<[Intent[], string[]]> {
  const start = await fx.module.getNonce(fx.agent.address, 0n);
  const numbered = intents.map((intent, i) => ({ ...intent, nonce: start + BigInt(i) }));
  return [numbered, await Promise.all(numbered.map((intent) => sign(fx.agent, fx, intent)))];
}

describe("CallConditions", function () {
  describe("setCallConditions", function () {
    it("stores a call's conditions, emits them, and reads them back through the lens [test_setCallConditions_storesEmitsAndReadsBack]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      const conditions = [cond(0, Op.LessOrEqual, 10n), cond(0, Op.GreaterOrEqual, 3n), cond(1, Op.EqualToAvatar)];
      await expect(owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", conditions))
        .to.emit(fx.module, "CallConditionsSet")
        .withArgs(fx.agent.address, fx.callTargetAddress, "0x12345678", tuples(conditions));
      expect(
        await fx.lens.callConditions(fx.moduleAddress, fx.agent.address, fx.callTargetAddress, "0x12345678"),
      ).to.deep.equal(tuples(conditions));
      // Conditions never allow a call by themselves.
      expect(
        await fx.lens.isAllowedCall(fx.moduleAddress, fx.agent.address, fx.callTargetAddress, "0x12345678"),
      ).to.equal(false);
    });

    it("replaces the earlier conditions, and an empty list clears them [test_setCallConditions_replacesAndEmptyClears]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      const read = () => fx.lens.callConditions(fx.moduleAddress, fx.agent.address, fx.callTargetAddress, "0x12345678");
      const three = [cond(0, Op.EqualTo, 1n), cond(1, Op.EqualTo, 2n), cond(2, Op.EqualTo, 3n)];
      await (await owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", three)).wait();
      await (
        await owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", [
          cond(5, Op.LessOrEqual, 9n),
        ])
      ).wait();
      expect(await read()).to.deep.equal(tuples([cond(5, Op.LessOrEqual, 9n)]));
      await expect(owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", []))
        .to.emit(fx.module, "CallConditionsSet")
        .withArgs(fx.agent.address, fx.callTargetAddress, "0x12345678", []);
      expect(await read()).to.deep.equal([]);
    });

    it("takes at most 16 conditions: 17 revert CallConditionsTooMany(17, 16) [test_setCallConditions_seventeen_revertsCallConditionsTooMany]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      const many = Array.from({ length: 17 }, (_, i) => cond(i, Op.EqualTo, 0n));
      await expect(owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", many))
        .to.be.revertedWithCustomError(fx.module, "CallConditionsTooMany")
        .withArgs(17n, 16n);
      await (
        await owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", many.slice(0, 16))
      ).wait();
      expect(
        await fx.lens.callConditions(fx.moduleAddress, fx.agent.address, fx.callTargetAddress, "0x12345678"),
      ).to.have.length(16);
    });

    it("refuses a value its op cannot use: EqualToAvatar with a value, ChargeAs of ETH or of a word wider than an address [test_setCallConditions_badValue_revertsCallConditionInvalid]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      const set = (list: ConditionStruct[]) =>
        owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", list);
      await expect(set([cond(0, Op.EqualTo, 1n), cond(1, Op.EqualToAvatar, fx.safeAddress)]))
        .to.be.revertedWithCustomError(fx.module, "CallConditionInvalid")
        .withArgs(1n, Op.EqualToAvatar, zeroPadValue(fx.safeAddress, 32));
      await expect(set([cond(0, Op.ChargeAs, 0n)]))
        .to.be.revertedWithCustomError(fx.module, "CallConditionInvalid")
        .withArgs(0n, Op.ChargeAs, ZeroHash);
      const dirty = toBeHex((1n << 160n) | BigInt(fx.usdcAddress), 32);
      await expect(set([cond(0, Op.ChargeAs, dirty)]))
        .to.be.revertedWithCustomError(fx.module, "CallConditionInvalid")
        .withArgs(0n, Op.ChargeAs, dirty);
    });

    it("refuses a second ChargeAs: a call charges one argument [test_setCallConditions_twoCharges_revertsCallConditionChargedTwice]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      const list = [
        cond(0, Op.ChargeAs, fx.usdcAddress),
        cond(1, Op.EqualTo, 1n),
        cond(2, Op.ChargeAs, fx.usdcAddress),
      ];
      await expect(owner.setCallConditions(fx.agent.address, fx.callTargetAddress, "0x12345678", list))
        .to.be.revertedWithCustomError(fx.module, "CallConditionChargedTwice")
        .withArgs(0n, 2n);
    });

    it("refuses the transfer selector, which is always a payment, with CallConditionsOnPayment [test_setCallConditions_transfer_revertsCallConditionsOnPayment]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      await expect(owner.setCallConditions(fx.agent.address, fx.usdcAddress, "0xa9059cbb", [cond(0, Op.EqualTo, 1n)]))
        .to.be.revertedWithCustomError(fx.module, "CallConditionsOnPayment")
        .withArgs(fx.usdcAddress, "0xa9059cbb");
    });

    it("refuses the Safe and the module as targets, and an unknown agent [test_setCallConditions_reservedTargetOrUnknownAgent_reverts]", async function () {
      const fx = await loadFixture(mocksFixture);
      const owner = await moduleAsSafe(fx);
      for (const target of [fx.safeAddress, fx.moduleAddress]) {
        await expect(owner.setCallConditions(fx.agent.address, target, "0x12345678", []))
          .to.be.revertedWithCustomError(fx.module, "TargetForbidden")
          .withArgs(target);
      }
      await expect(owner.setCallConditions(fx.bob.address, fx.callTargetAddress, "0x12345678", []))
        .to.be.revertedWithCustomError(fx.module, "AgentUnknown")
        .withArgs(fx.bob.address);
    });
  });

  describe("comparisons", function () {
    /** The unit mocks with `ping(uint256)` allowed for the agent when 3 <= arg <= 10. */
    async function pingFixture() {
      const fx = await mocksFixture();
      const owner = await moduleAsSafe(fx);
      const ping = fx.callTarget.interface.getFunction("ping").selector;
      await (await owner.setAllowedCall(fx.agent.address, fx.callTargetAddress, ping, true)).wait();
      await (
        await owner.setCallConditions(fx.agent.address, fx.callTargetAddress, ping, [
          cond(0, Op.GreaterOrEqual, 3n),
          cond(0, Op.LessOrEqual, 10n),
        ])
      ).wait();
      return { ...fx, owner, ping };
    }
    const pingIntent = async (fx: Awaited<ReturnType<typeof pingFixture>>, arg: bigint) =>
      buildIntent(fx, {
        target: fx.callTargetAddress,
        data: fx.callTarget.interface.encodeFunctionData("ping", [arg]),
      });

    it("runs a call whose argument is within inclusive bounds, at either bound [test_submit_argumentWithinBounds_executes]", async function () {
      const fx = await loadFixture(pingFixture);
      for (const arg of [3n, 10n]) {
        const intent = await pingIntent(fx, arg);
        await expect(submitSigned(fx, intent))
          .to.emit(fx.callTarget, "Pinged")
          .withArgs(fx.safeAddress, 0n, arg)
          .and.to.emit(fx.module, "IntentExecuted")
          .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.callTargetAddress, 0n, false, intent.rationale);
      }
      expect(await fx.callTarget.pings()).to.equal(2n);
    });

    it("denies a call whose argument is outside the bounds with TargetNotAllowed, recorded with a strike [test_submit_argumentOutsideBounds_deniedTargetNotAllowed]", async function () {
      const fx = await loadFixture(pingFixture);
      await expectDenied(fx, await pingIntent(fx, 2n), DenyReason.TargetNotAllowed);
      await expectDenied(fx, await pingIntent(fx, 11n), DenyReason.TargetNotAllowed);
      await expectDenied(fx, await pingIntent(fx, 2n ** 255n), DenyReason.TargetNotAllowed);
      expect(await fx.callTarget.pings()).to.equal(0n);
    });

    it("denies a call too short to hold a word a condition names, never reading past its end [test_submit_callTooShortForACondition_deniedTargetNotAllowed]", async function () {
      const fx = await loadFixture(pingFixture);
      const full = fx.callTarget.interface.encodeFunctionData("ping", [5n]);
      // 35 bytes: the selector and 31 of the word's 32 bytes.
      const short = full.slice(0, 2 + 2 * 35);
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data: short }),
        DenyReason.TargetNotAllowed,
      );
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.callTargetAddress, data: fx.ping }),
        DenyReason.TargetNotAllowed,
      );
    });

    it("compares EqualTo on the whole word and EqualToAvatar with the Safe [test_submit_equalToAndEqualToAvatar_compareWholeWords]", async function () {
      const fx = await loadFixture(routerFixture);
      // The swap's tokenIn is pinned to USDC: any other token is denied, even with the same low bits elsewhere.
      await expectDenied(fx, await swapIntent(fx, { tokenIn: fx.outAddress }), DenyReason.TargetNotAllowed);
      await expectDenied(fx, await swapIntent(fx, { tokenOut: fx.usdcAddress }), DenyReason.TargetNotAllowed);
      // A dirty high byte in the recipient word is not the Safe.
      const data = swapData(fx);
      const at = 2 + 2 * (4 + 32 * W.recipient);
      const dirty = data.slice(0, at) + "01" + data.slice(at + 2);
      await expectDenied(
        fx,
        await buildIntent(fx, { target: fx.routerAddress, data: dirty }),
        DenyReason.TargetNotAllowed,
      );
    });
  });

  describe("a swap with the recipient pinned to the Safe and amountIn charged as USDC", function () {
    it("executes within the auto tier: the output reaches the Safe and amountIn is charged to the USDC window [test_submit_swapWithinCap_executesAndCharges]", async function () {
      const fx = await loadFixture(routerFixture);
      const intent = await swapIntent(fx, { amountIn: USDC("500") });
      const safeUsdc = await fx.usdc.balanceOf(fx.safeAddress);
      const tx = submitSigned(fx, intent);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.agent.address,
          fx.usdcAddress,
          fx.routerAddress,
          USDC("500"),
          false,
          intent.rationale,
        );
      expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(safeUsdc - USDC("500"));
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(USDC("500"));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(
        fx.usdcLimit.autoPerWindow - USDC("500"),
      );
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(fx.ethLimit.autoPerWindow);
    });

    it("denies a swap that names another recipient, and moves nothing [test_submit_swapToAnotherRecipient_deniedTargetNotAllowed]", async function () {
      const fx = await loadFixture(routerFixture);
      await expectDenied(fx, await swapIntent(fx, { recipient: fx.attacker.address }), DenyReason.TargetNotAllowed);
      expect(await fx.out.balanceOf(fx.attacker.address)).to.equal(0n);
    });

    it("queues a swap above autoPerTx like a payment, and co-signers run it with the escalated spend recorded [test_submit_swapAboveAutoPerTx_queuedThenExecutedEscalated]", async function () {
      const fx = await loadFixture(routerFixture);
      const intent = await swapIntent(fx, { amountIn: USDC("1500") });
      const id_ = intentId(fx, intent);
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentQueued")
        .withArgs(id_, fx.agent.address, (v: bigint) => v > 0n, intentTuple(intent));
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued);
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(0n);
      await time.increase(3600);
      const sigs = await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2));
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, sigs))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(id_, fx.agent.address, fx.usdcAddress, fx.routerAddress, USDC("1500"), true, intent.rationale);
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(USDC("1500"));
      expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, fx.usdcAddress)).to.equal(USDC("1500"));
      // Escalated spend leaves the auto window alone.
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });

    it("queues a swap that would overflow the sliding window, after swaps that filled it [test_submit_swapOverWindow_queued]", async function () {
      const fx = await loadFixture(routerFixture);
      const owner = fx.owner;
      // 1,000 per swap and 5,000 per day: five swaps fill the window, the sixth waits for co-signers.
      for (let i = 0; i < 5; i++)
        await expect(submitSigned(fx, await swapIntent(fx, { amountIn: USDC("1000") }))).to.emit(
          fx.module,
          "IntentExecuted",
        );
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
      await expect(submitSigned(fx, await swapIntent(fx, { amountIn: USDC("1") }))).to.emit(fx.module, "IntentQueued");
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(USDC("5000"));
      // A treasury-wide limit applies to charged calls too.
      await (await owner.setTreasuryLimit(fx.usdcAddress, USDC("100"), 3600)).wait();
      await time.increase(2 * 86400);
      await expect(submitSigned(fx, await swapIntent(fx, { amountIn: USDC("101") }))).to.emit(
        fx.module,
        "IntentQueued",
      );
      await expect(submitSigned(fx, await swapIntent(fx, { amountIn: USDC("100") }))).to.emit(
        fx.module,
        "IntentExecuted",
      );
    });

    it("denies a swap above the USDC hard cap with AboveHardCap [test_submit_swapAboveHardCap_deniedAboveHardCap]", async function () {
      const fx = await loadFixture(routerFixture);
      await expectDenied(
        fx,
        await swapIntent(fx, { amountIn: fx.usdcLimit.escalatedPerTx + 1n }),
        DenyReason.AboveHardCap,
      );
      await expectDenied(fx, await swapIntent(fx, { amountIn: 2n ** 256n - 1n }), DenyReason.AboveHardCap);
    });

    it("denies a swap charged to an asset the agent has no limit for with AssetNotAllowed, even for amount 0 [test_submit_chargeAsWithoutLimit_deniedAssetNotAllowed]", async function () {
      const fx = await loadFixture(routerFixture);
      await (await fx.owner.setAssetLimit(fx.agent.address, fx.usdcAddress, assetLimit(0n, 0n, 0, 0n))).wait();
      await expectDenied(fx, await swapIntent(fx, { amountIn: USDC("500") }), DenyReason.AssetNotAllowed);
      await expectDenied(fx, await swapIntent(fx, { amountIn: 0n }), DenyReason.AssetNotAllowed);
    });

    it("charges ETH sent along a charged call to the ETH limits too [test_submit_chargedCallWithValue_chargesBoth]", async function () {
      const fx = await loadFixture(routerFixture);
      const intent = await swapIntent(fx, { amountIn: USDC("200") }, fx.routerAddress, parseEther("0.5"));
      await expect(submitSigned(fx, intent)).to.emit(fx.module, "IntentExecuted");
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(
        fx.usdcLimit.autoPerWindow - USDC("200"),
      );
      expect(await fx.module.availableAllowance(fx.agent.address, ETH)).to.equal(
        fx.ethLimit.autoPerWindow - parseEther("0.5"),
      );
      // Above the ETH hard cap, the ETH decides the denial.
      await expectDenied(
        fx,
        await swapIntent(fx, { amountIn: USDC("1") }, fx.routerAddress, parseEther("11")),
        DenyReason.AboveHardCap,
      );
    });

    it("reverts a router that pulls more than amountIn with BalanceChangeExceedsCharge; nothing charged, nonce kept [test_submit_routerPullsMoreThanAmountIn_revertsBalanceChangeExceedsCharge]", async function () {
      const fx = await loadFixture(routerFixture);
      const malicious = await fx.malicious.getAddress();
      const intent = await swapIntent(fx, { amountIn: USDC("500") }, malicious);
      const before = await treasuryState(fx);
      await expect(submitSigned(fx, intent))
        .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
        .withArgs(fx.usdcAddress, USDC("500"), USDC("500") + 1n);
      expect(await treasuryState(fx)).to.deep.equal(before);
      expect(await fx.usdc.allowance(fx.safeAddress, malicious)).to.equal(ALLOWANCE);
    });
  });

  describe("in a batch (submitBatch)", function () {
    it("checks each call's conditions as submit does: a swap to another recipient is denied TargetNotAllowed and the batch goes on [test_submitBatch_conditionedSwaps_failingOneDeniedBatchGoesOn]", async function () {
      const fx = await loadFixture(routerFixture);
      const [intents, signatures] = await signedBatch(fx, [
        await swapIntent(fx, { amountIn: USDC("400") }),
        await swapIntent(fx, { recipient: fx.attacker.address, amountIn: USDC("400") }),
        await tokenPayment(fx, fx.usdcAddress, fx.alice.address, USDC("100")),
        await swapIntent(fx, { amountIn: USDC("300") }),
      ]);
      const ids = intents.map((i) => intentId(fx, i));
      const [, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
      expect(statuses).to.deep.equal([Status.Executed, Status.Denied, Status.Executed, Status.Executed]);

      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(ids[1], fx.agent.address, DenyReason.TargetNotAllowed, intents[1].rationale);
      await expect(tx)
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(ids[3], fx.agent.address, fx.usdcAddress, fx.routerAddress, USDC("300"), false, intents[3].rationale);
      expect(await fx.module.intentStatus(ids[1])).to.equal(Status.Denied);
      // The two swaps within their conditions reached the Safe; the attacker got nothing; one strike.
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(USDC("700"));
      expect(await fx.out.balanceOf(fx.attacker.address)).to.equal(0n);
      expect(await fx.usdc.balanceOf(fx.alice.address)).to.equal(USDC("100"));
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
      // Both swaps' amountIn and the payment were charged to the one USDC window; the denied swap was not.
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(
        fx.usdcLimit.autoPerWindow - USDC("800"),
      );
      expect(await fx.module.getNonce(fx.agent.address, 0n)).to.equal(intents[3].nonce + 1n);
    });
  });

  describe("under a USD limit (v3 USD caps): a charged argument is a payment of its asset, valued like one", function () {
    it("values a swap's amountIn and the ETH it sends with their feeds and charges both to the USD window [test_submit_chargedSwapWithUsdLimit_chargesItsUsdValue]", async function () {
      const fx = await loadFixture(usdRouterFixture);
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(AGENT_USD_LIMIT.autoPerWindow);
      // 500 USDC at $1 and 0.1 ETH at $2,000: $700.
      const intent = await swapIntent(fx, { amountIn: USDC("500") }, fx.routerAddress, parseEther("0.1"));
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(
          intentId(fx, intent),
          fx.agent.address,
          fx.usdcAddress,
          fx.routerAddress,
          USDC("500"),
          false,
          intent.rationale,
        );
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(
        AGENT_USD_LIMIT.autoPerWindow - 700n * USD,
      );
      const [, amounts] = await fx.lens.usdSpendEntries(fx.moduleAddress, fx.agent.address);
      expect(amounts).to.deep.equal([700n * USD]);
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(USDC("500"));
    });

    it("shares the USD window with payments in a batch: the swap that would pass it is queued though its USDC window has room [test_submitBatch_chargedSwapsAndPayments_shareTheUsdWindow]", async function () {
      const fx = await loadFixture(usdRouterFixture);
      const [intents, signatures] = await signedBatch(fx, [
        await buildIntent(fx, { target: fx.alice.address, value: parseEther("0.5") }), // $1,000
        await swapIntent(fx, { amountIn: USDC("1000") }), // $1,000
        await swapIntent(fx, { recipient: fx.attacker.address, amountIn: USDC("1000") }), // its conditions fail
        await swapIntent(fx, { amountIn: USDC("1000") }), // $1,000: the USD window ($3,000) is full
        await swapIntent(fx, { amountIn: USDC("100") }), // $100 more than the USD window holds
      ]);
      const ids = intents.map((i) => intentId(fx, i));
      const [, statuses] = await fx.module.connect(fx.relayer).submitBatch.staticCall(intents, signatures);
      expect(statuses).to.deep.equal([Status.Executed, Status.Executed, Status.Denied, Status.Executed, Status.Queued]);
      const tx = fx.module.connect(fx.relayer).submitBatch(intents, signatures);
      await expect(tx)
        .to.emit(fx.module, "IntentDenied")
        .withArgs(ids[2], fx.agent.address, DenyReason.TargetNotAllowed, intents[2].rationale);
      await expect(tx)
        .to.emit(fx.module, "IntentQueued")
        .withArgs(ids[4], fx.agent.address, (v: bigint) => v > 0n, intentTuple(intents[4]));
      expect(await fx.module.availableUsdAllowance(fx.agent.address)).to.equal(0n);
      // The USDC window alone would have let the last swap through: 5,000 - 2,000 left.
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(
        fx.usdcLimit.autoPerWindow - USDC("2000"),
      );
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(USDC("2000"));
      expect(await fx.out.balanceOf(fx.attacker.address)).to.equal(0n);
    });

    it("denies a swap above the USD hard cap with AboveHardCap, though the USDC hard cap allows it [test_submit_chargedSwapAboveUsdHardCap_deniedAboveHardCap]", async function () {
      const fx = await loadFixture(usdRouterFixture);
      // $20,001 of USDC: within the USDC hard cap (50,000), above the USD one ($20,000).
      await expectDenied(fx, await swapIntent(fx, { amountIn: USDC("20001") }), DenyReason.AboveHardCap);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(1n);
    });

    it("queues a swap whose charged asset has no trustworthy price, without a strike [test_submit_chargedSwapWithoutPrice_queuedNoTrustworthyPrice]", async function () {
      const fx = await loadFixture(usdRouterFixture);
      await (await fx.owner.setPriceFeed(fx.usdcAddress, ethers.ZeroAddress, 0)).wait();
      const intent = await swapIntent(fx, { amountIn: USDC("100") });
      const id_ = intentId(fx, intent);
      const tx = submitSigned(fx, intent);
      await expect(tx).to.emit(fx.module, "IntentQueued");
      await expect(tx).to.emit(fx.module, "NoTrustworthyPrice").withArgs(id_, fx.usdcAddress, PriceFault.NoFeed);
      await expect(tx).to.not.emit(fx.module, "IntentExecuted");
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued);
      expect(await fx.lens.strikes(fx.moduleAddress, fx.agent.address)).to.equal(0n);
      expect(await fx.out.balanceOf(fx.safeAddress)).to.equal(0n);
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });
  });

  describe("lifecycle", function () {
    it("re-checks a queued swap's conditions at execution: changed conditions stop it with IntentPolicyViolation [test_executeQueued_conditionsChanged_revertsIntentPolicyViolation]", async function () {
      const fx = await loadFixture(routerFixture);
      const intent = await swapIntent(fx, { amountIn: USDC("1500") });
      const id_ = intentId(fx, intent);
      await (await submitSigned(fx, intent)).wait();
      // The owners now demand a minimum output the queued swap does not name.
      await (
        await fx.owner.setCallConditions(fx.agent.address, fx.routerAddress, SWAP, [
          ...fx.conditions,
          cond(W.amountOutMinimum, Op.GreaterOrEqual, 1n),
        ])
      ).wait();
      await time.increase(3600);
      const sigs = await cosignerSignatures(fx, id_, fx.cosigners.slice(0, 2));
      await expect(fx.module.connect(fx.relayer).executeQueued(intent, sigs))
        .to.be.revertedWithCustomError(fx.module, "IntentPolicyViolation")
        .withArgs(id_, DenyReason.TargetNotAllowed);
      expect(await fx.module.intentStatus(id_)).to.equal(Status.Queued);
    });

    it("keeps conditions while a call is forbidden and allowed again, and across key rotation [test_conditions_surviveRevokeAndRotation]", async function () {
      const fx = await loadFixture(routerFixture);
      await (await fx.owner.setAllowedCall(fx.agent.address, fx.routerAddress, SWAP, false)).wait();
      await expectDenied(fx, await swapIntent(fx), DenyReason.TargetNotAllowed);
      await (await fx.owner.setAllowedCall(fx.agent.address, fx.routerAddress, SWAP, true)).wait();
      await expectDenied(fx, await swapIntent(fx, { recipient: fx.bob.address }), DenyReason.TargetNotAllowed);
      const newKey = fx.signers[15];
      await (await fx.owner.rotateAgent(fx.agent.address, newKey.address)).wait();
      expect(await fx.lens.callConditions(fx.moduleAddress, newKey.address, fx.routerAddress, SWAP)).to.deep.equal(
        tuples(fx.conditions),
      );
      const rotated = {
        ...(await swapIntent(fx, { recipient: fx.bob.address })),
        agent: newKey.address,
        nonce: await fx.module.getNonce(newKey.address, 0n),
      };
      await expectDenied(fx, rotated, DenyReason.TargetNotAllowed, newKey);
    });

    it("runs the call unconditioned once its conditions are cleared, as before conditions existed [test_conditionsCleared_callUnconditioned]", async function () {
      const fx = await loadFixture(routerFixture);
      await (await fx.owner.setCallConditions(fx.agent.address, fx.routerAddress, SWAP, [])).wait();
      const intent = await swapIntent(fx, { recipient: fx.bob.address, amountIn: USDC("300") });
      // An unconditioned call charges nothing but its ETH value: exactly why conditions exist.
      await expect(submitSigned(fx, intent))
        .to.emit(fx.module, "IntentExecuted")
        .withArgs(intentId(fx, intent), fx.agent.address, ETH, fx.routerAddress, 0n, false, intent.rationale);
      expect(await fx.out.balanceOf(fx.bob.address)).to.equal(USDC("300"));
      expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });
  });
});
