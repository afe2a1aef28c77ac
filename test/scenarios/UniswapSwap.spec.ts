/**
 * A trading agent on a real DEX: Uniswap v3 (factory, a USDC/WETH pool with 2,000,000 USDC and 1,000 WETH of
 * full-range liquidity, SwapRouter02), deployed from the npm packages' compiled artifacts (deploy/uniswap.ts). The
 * Safe's owners give the router a bounded allowance of 20,000 USDC (an owners' transaction, never the agent's) and
 * allow the agent `exactInputSingle` with conditions (SPEC section 11, v3): tokenIn USDC, tokenOut WETH, recipient the
 * Safe, amountIn charged to the agent's USDC limits (1,000 per swap and 5,000 per day without co-signers, 50,000
 * hard cap). A prompt-injected agent then tries to send the output elsewhere, to swap more than its window, and a
 * router that turned malicious tries to pull more than the swap names.
 * Threat: a stolen or prompt-injected agent key (docs/THREAT-MODEL.md, T-BYPASS).
 */
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Contract, FunctionFragment, Interface, formatEther, parseEther, parseUnits, zeroPadValue } from "ethers";
import {
  DAY,
  DenyReason,
  HOUR,
  Status,
  buildIntent,
  cosignerSignatures,
  intentId,
  submitSigned,
  treasuryFixture,
} from "../fixtures";
import type { MockERC20 } from "../../typechain-types";
import { execSafeCall } from "../../sdk/safe";
import { EXACT_INPUT_SINGLE, SWAP_ROUTER_ABI, deployUniswap, ensurePool } from "../../deploy/uniswap";

const USDC = (n: string) => parseUnits(n, 6);
const ROUTER = new Interface(SWAP_ROUTER_ABI);
const SWAP = FunctionFragment.from(EXACT_INPUT_SINGLE).selector;
const Op = { EqualTo: 0n, EqualToAvatar: 1n, ChargeAs: 4n } as const;
/** Words of exactInputSingle's static tuple: tokenIn 0, tokenOut 1, fee 2, recipient 3, amountIn 4, ... */
const WORD = { tokenIn: 0n, tokenOut: 1n, recipient: 3n, amountIn: 4n };
const ALLOWANCE = USDC("20000");

async function uniswapFixture() {
  const fx = await treasuryFixture();
  const weth = (await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 18])) as unknown as MockERC20;
  const wethAddress = await weth.getAddress();
  const uniswap = await deployUniswap(fx.deployer, "plain");
  // The liquidity provider (the deployer) brings 2,000,000 USDC and 1,000 WETH: 2,000 USDC per WETH.
  await (await fx.usdc.mint(fx.deployer.address, USDC("2000000"))).wait();
  await (await weth.mint(fx.deployer.address, parseEther("1000"))).wait();
  const { pool } = await ensurePool(fx.deployer, uniswap, {
    tokenA: fx.usdcAddress,
    tokenB: wethAddress,
    fee: 3000,
    amountA: USDC("2000000"),
    amountB: parseEther("1000"),
  });
  const router = uniswap.SwapRouter02;
  const word = (v: string) => zeroPadValue(v, 32);
  const conditions = [
    { word: WORD.tokenIn, op: Op.EqualTo, value: word(fx.usdcAddress) },
    { word: WORD.tokenOut, op: Op.EqualTo, value: word(wethAddress) },
    { word: WORD.recipient, op: Op.EqualToAvatar, value: word("0x") },
    { word: WORD.amountIn, op: Op.ChargeAs, value: word(fx.usdcAddress) },
  ];
  // The owners' transactions: the router's bounded allowance, then the conditions, then the call itself.
  await execSafeCall(
    fx.safe,
    fx.ownerSigners,
    fx.deployer,
    fx.usdcAddress,
    fx.usdc.interface.encodeFunctionData("approve", [router, ALLOWANCE]),
  );
  const m = fx.module.interface;
  await fx.asOwners(m.encodeFunctionData("setCallConditions", [fx.agent.address, router, SWAP, conditions]));
  await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, router, SWAP, true]));
  return { ...fx, weth, wethAddress, uniswap, router, pool, conditions };
}

type Fx = Awaited<ReturnType<typeof uniswapFixture>>;

function swapData(fx: Fx, amountIn: bigint, recipient = fx.safeAddress, tokenOut = fx.wethAddress): string {
  return ROUTER.encodeFunctionData("exactInputSingle", [
    { tokenIn: fx.usdcAddress, tokenOut, fee: 3000, recipient, amountIn, amountOutMinimum: 0n, sqrtPriceLimitX96: 0n },
  ]);
}

/** What a swap of `amountIn` USDC gives now, as the router itself computes it (a static call from the Safe). */
async function quote(fx: Fx, amountIn: bigint): Promise<bigint> {
  const router = new Contract(fx.router, SWAP_ROUTER_ABI, ethers.provider);
  return (await router.exactInputSingle.staticCall(
    {
      tokenIn: fx.usdcAddress,
      tokenOut: fx.wethAddress,
      fee: 3000,
      recipient: fx.safeAddress,
      amountIn,
      amountOutMinimum: 0n,
      sqrtPriceLimitX96: 0n,
    },
    { from: fx.safeAddress },
  )) as bigint;
}

describe("Scenario: a trading agent swaps on a local Uniswap v3 with its output pinned to the Safe", function () {
  it("swaps 1,000 USDC for WETH within its cap: the WETH arrives in the Safe, the USDC window is charged [test_uniswap_swapWithinCap_wethArrivesInSafe]", async function () {
    const fx = await loadFixture(uniswapFixture);
    const usdcBefore = await fx.usdc.balanceOf(fx.safeAddress);
    const expected = await quote(fx, USDC("1000"));
    // About 0.498 WETH at 2,000 USDC per WETH, less the 0.3% fee and the price impact.
    expect(expected).to.be.within(parseEther("0.49"), parseEther("0.5"));
    const intent = await buildIntent(fx, { target: fx.router, data: swapData(fx, USDC("1000")) });
    await expect(submitSigned(fx, intent))
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(
        intentId(fx, intent),
        fx.agent.address,
        fx.usdcAddress,
        fx.router,
        USDC("1000"),
        false,
        intent.rationale,
      );
    expect(await fx.weth.balanceOf(fx.safeAddress)).to.equal(expected);
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(usdcBefore - USDC("1000"));
    expect(await fx.usdc.balanceOf(fx.pool)).to.equal(USDC("2001000"));
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(USDC("4000"));
    // The router took exactly amountIn through its allowance.
    expect(await fx.usdc.allowance(fx.safeAddress, fx.router)).to.equal(ALLOWANCE - USDC("1000"));
    console.log(`      Safe: -1,000 USDC, +${formatEther(expected)} WETH; USDC auto allowance left 4,000`);
  });

  it("denies the same swap naming the attacker as recipient: nothing leaves the Safe, the pool is untouched [test_uniswap_swapToAnotherRecipient_denied]", async function () {
    const fx = await loadFixture(uniswapFixture);
    const [usdcBefore, poolUsdc] = [await fx.usdc.balanceOf(fx.safeAddress), await fx.usdc.balanceOf(fx.pool)];
    const intent = await buildIntent(fx, { target: fx.router, data: swapData(fx, USDC("1000"), fx.attacker.address) });
    await expect(submitSigned(fx, intent))
      .to.emit(fx.module, "IntentDenied")
      .withArgs(intentId(fx, intent), fx.agent.address, DenyReason.TargetNotAllowed, intent.rationale);
    expect(await fx.weth.balanceOf(fx.attacker.address)).to.equal(0n);
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(usdcBefore);
    expect(await fx.usdc.balanceOf(fx.pool)).to.equal(poolUsdc);
    // Another output token is refused too: the swap's tokens are pinned as well as its recipient.
    const other = await buildIntent(fx, {
      target: fx.router,
      data: swapData(fx, USDC("1000"), fx.safeAddress, fx.attacker.address),
    });
    await expect(submitSigned(fx, other))
      .to.emit(fx.module, "IntentDenied")
      .withArgs(intentId(fx, other), fx.agent.address, DenyReason.TargetNotAllowed, other.rationale);
  });

  it("queues the swap that would cross its 5,000 USDC window, and the co-signers run it after the delay [test_uniswap_swapOverWindow_queuedLikeAPayment]", async function () {
    const fx = await loadFixture(uniswapFixture);
    for (let i = 0; i < 5; i++) {
      await expect(
        submitSigned(fx, await buildIntent(fx, { target: fx.router, data: swapData(fx, USDC("1000")) })),
      ).to.emit(fx.module, "IntentExecuted");
    }
    const wethAfterFive = await fx.weth.balanceOf(fx.safeAddress);
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(0n);
    const sixth = await buildIntent(fx, {
      target: fx.router,
      data: swapData(fx, USDC("1000")),
      validUntil: BigInt(await time.latest()) + BigInt(DAY),
    });
    const id6 = intentId(fx, sixth);
    await expect(submitSigned(fx, sixth)).to.emit(fx.module, "IntentQueued");
    expect(await fx.weth.balanceOf(fx.safeAddress)).to.equal(wethAfterFive);
    // Above the 50,000 USDC hard cap even co-signers cannot help: denied.
    const huge = await buildIntent(fx, { target: fx.router, data: swapData(fx, USDC("50001")) });
    await expect(submitSigned(fx, huge))
      .to.emit(fx.module, "IntentDenied")
      .withArgs(intentId(fx, huge), fx.agent.address, DenyReason.AboveHardCap, huge.rationale);
    await time.increase(HOUR);
    await expect(
      fx.module.connect(fx.relayer).executeQueued(sixth, await cosignerSignatures(fx, id6, fx.cosigners.slice(0, 2))),
    )
      .to.emit(fx.module, "IntentExecuted")
      .withArgs(id6, fx.agent.address, fx.usdcAddress, fx.router, USDC("1000"), true, sixth.rationale);
    expect(await fx.module.intentStatus(id6)).to.equal(Status.Executed);
    expect(await fx.weth.balanceOf(fx.safeAddress)).to.be.greaterThan(wethAfterFive);
    expect(await fx.lens.escalatedSpent(fx.moduleAddress, fx.agent.address, fx.usdcAddress)).to.equal(USDC("1000"));
    // The router's allowance bounded the whole story: 6,000 of 20,000 USDC used.
    expect(await fx.usdc.allowance(fx.safeAddress, fx.router)).to.equal(ALLOWANCE - USDC("6000"));
  });

  it("stops a router that pulls more than amountIn with BalanceChangeExceedsCharge, before anything is charged [test_uniswap_maliciousRouter_caughtByBalanceCheck]", async function () {
    const fx = await loadFixture(uniswapFixture);
    // The owners allowed a second router with the same conditions; it turns malicious and pulls 1 USDC extra.
    const malicious = await ethers.deployContract("MaliciousRouter", [USDC("1")]);
    const address = await malicious.getAddress();
    await (await fx.weth.mint(address, parseEther("10"))).wait();
    await execSafeCall(
      fx.safe,
      fx.ownerSigners,
      fx.deployer,
      fx.usdcAddress,
      fx.usdc.interface.encodeFunctionData("approve", [address, ALLOWANCE]),
    );
    const m = fx.module.interface;
    await fx.asOwners(m.encodeFunctionData("setCallConditions", [fx.agent.address, address, SWAP, fx.conditions]));
    await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, address, SWAP, true]));
    const usdcBefore = await fx.usdc.balanceOf(fx.safeAddress);
    const nonce = await fx.module.getNonce(fx.agent.address, 0n);
    const intent = await buildIntent(fx, { target: address, data: swapData(fx, USDC("1000")) });
    await expect(submitSigned(fx, intent))
      .to.be.revertedWithCustomError(fx.module, "BalanceChangeExceedsCharge")
      .withArgs(fx.usdcAddress, USDC("1000"), USDC("1001"));
    expect(await fx.usdc.balanceOf(fx.safeAddress)).to.equal(usdcBefore);
    expect(await fx.module.availableAllowance(fx.agent.address, fx.usdcAddress)).to.equal(USDC("5000"));
    expect(await fx.module.getNonce(fx.agent.address, 0n)).to.equal(nonce);
  });
});
