/**
 * Named fixtures shared by every test suite (use with `loadFixture`). They build on the real stack of
 * testkit/stack.ts (Safe 1.5.0, the module implementation, the factory and a clone enabled on the Safe through a
 * real owners-signed Safe transaction), whose base fixture and building blocks are re-exported here so that a spec
 * imports its fixtures from one place.
 */
import { ethers } from "hardhat";
import {
  Contract,
  FunctionFragment,
  Interface,
  Signer,
  ZeroAddress,
  ZeroHash,
  id,
  parseEther,
  parseUnits,
  zeroPadValue,
} from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import type { IAgentTreasuryModule, MockCallTarget, MockERC1271Agent, ReentrantRecipient } from "../typechain-types";
import { Intent, signIntent, signCosignerApproval, hashIntent } from "../sdk/eip712";
import { execSafeCall } from "../sdk/safe";
import type { DeploymentRecord } from "../core/deployment";
import {
  ETH,
  HOUR,
  Treasury,
  agentConfig,
  createSafe,
  impersonate,
  transferData,
  treasuryFixture,
} from "../testkit/stack";
import type { AssetLimit } from "../testkit/stack";
import { CONDITION_OP_NAMES, DENY_REASON_NAMES, STATUS_NAMES, enumValues } from "../sdk/shapes";
import { EXACT_INPUT_SINGLE } from "../core/localUniswap";

export {
  DAY,
  ETH,
  HOUR,
  RecipientMode,
  agentConfig,
  createSafe,
  deployModuleInfra,
  deploySafeInfra,
  impersonate,
  transferData,
  treasuryFixture,
} from "../testkit/stack";
export type { AgentConfig, AssetLimit, Treasury } from "../testkit/stack";

/** An enum table (sdk/shapes.ts) as name -> on-chain value, as bigint like the module's views return it. */
function bigintValues<N extends string>(names: readonly N[]): { readonly [K in N]: bigint } {
  return Object.fromEntries(names.map((name, value) => [name, BigInt(value)])) as { [K in N]: bigint };
}

/** The module's enums by name (`Status.Executed === 1n`), from the one table each (sdk/shapes.ts). */
export const Status = bigintValues(STATUS_NAMES);
export const DenyReason = bigintValues(DENY_REASON_NAMES);

/** Builds an intent for `agent` at its current nonce of `lane`, valid for an hour from the latest block. */
export async function buildIntent(fx: Treasury, fields: Partial<Intent> & { lane?: bigint } = {}): Promise<Intent> {
  const agent = fields.agent ?? fx.agent.address;
  const lane = fields.lane ?? 0n;
  const now = BigInt(await time.latest());
  return {
    agent,
    target: fields.target ?? fx.alice.address,
    value: fields.value ?? 0n,
    data: fields.data ?? "0x",
    nonce: fields.nonce ?? (await fx.module.getNonce(agent, lane)),
    idempotencyKey: fields.idempotencyKey ?? ZeroHash,
    validAfter: fields.validAfter ?? 0n,
    validUntil: fields.validUntil ?? now + BigInt(HOUR),
    rationale: fields.rationale ?? id("pay an invoice"),
    review: fields.review ?? false,
  };
}

/** A token payment intent. */
export async function tokenPayment(
  fx: Treasury,
  token: string,
  to: string,
  amount: bigint,
  fields: Partial<Intent> = {},
) {
  return buildIntent(fx, { target: token, data: transferData(to, amount), ...fields });
}

export async function sign(signer: Signer, fx: Treasury, intent: Intent): Promise<string> {
  return signIntent(signer, intent, fx.chainId, fx.moduleAddress);
}

export function intentId(fx: Treasury, intent: Intent): string {
  return hashIntent(intent, fx.chainId, fx.moduleAddress);
}

/** Signs with the fixture's agent and submits through the relayer. */
export async function submitSigned(fx: Treasury, intent: Intent, signer: Signer = fx.agent) {
  const signature = await sign(signer, fx, intent);
  return fx.module.connect(fx.relayer).submit(intent, signature);
}

/** A co-signer's `CosignerApproval` signature in the current co-signer era (or in `era` when given). */
export async function approvalSignature(signer: Signer, fx: Treasury, id_: string, era?: bigint): Promise<string> {
  return signCosignerApproval(signer, id_, era ?? (await fx.module.cosignerEra()), fx.chainId, fx.moduleAddress);
}

/** Co-signer signatures sorted by signer address, as `executeQueued` requires. */
export async function cosignerSignatures(fx: Treasury, id_: string, signers: HardhatEthersSigner[]) {
  const sigs = await Promise.all(
    signers.map(async (s) => ({ signer: s.address, signature: await approvalSignature(s, fx, id_) })),
  );
  return sigs.sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
}

// ------------------------------------------------------------------ escalation and emergency controls (issue 3)

/**
 * The base treasury plus a protocol the agent may call: a MockCallTarget with `ping(uint256)`, `fail(uint256)` and
 * `failEmpty()` allowed for the agent (its ETH `value` is spent like a payment under the ETH limit).
 */
export async function callTargetFixture() {
  const fx = await treasuryFixture();
  const target = await ethers.deployContract("MockCallTarget");
  const targetAddress = await target.getAddress();
  for (const fn of ["ping", "fail", "failEmpty"] as const) {
    const selector = target.interface.getFunction(fn).selector;
    await fx.asOwners(
      fx.module.interface.encodeFunctionData("setAllowedCall", [fx.agent.address, targetAddress, selector, true]),
    );
  }
  return { ...fx, target, targetAddress };
}

/**
 * The base treasury with co-signers {cos1, cosignerSafe} (threshold 2), where `cosignerSafe` is itself a 1-of-1
 * Safe 1.5.0 owned by `cosignerSafeOwner` (signers[13]): an ERC-1271 co-signer answering through the Safe's
 * CompatibilityFallbackHandler.
 */
export async function safeCosignerFixture() {
  const fx = await treasuryFixture();
  const cosignerSafeOwner = fx.signers[13];
  const cosignerSafe = await createSafe(fx.infra, [cosignerSafeOwner.address], 1, 13n);
  const cosignerSafeAddress = await cosignerSafe.getAddress();
  await fx.asOwners(
    fx.module.interface.encodeFunctionData("setCosigners", [[fx.cosigners[0].address, cosignerSafeAddress], 2]),
  );
  return { ...fx, cosignerSafe, cosignerSafeAddress, cosignerSafeOwner };
}

/**
 * A second module clone on the base treasury's Safe, configured (agent and ETH limit as in the base treasury) but
 * with no co-signers yet: nothing queued on it can execute. Not enabled on the Safe.
 */
export async function moduleWithoutCosignersFixture() {
  const fx = await treasuryFixture();
  const bareSalt = id("agent-treasury-guard/no-cosigners");
  const bareAddress = await fx.factory.predictModuleAddress(fx.safeAddress, bareSalt);
  await (await fx.factory.createModule(fx.safeAddress, bareSalt)).wait();
  const bare = (await ethers.getContractAt("IAgentTreasuryModule", bareAddress)) as unknown as IAgentTreasuryModule;
  const safeSigner = await impersonate(fx.safeAddress);
  await (await bare.connect(safeSigner).setAgent(fx.agent.address, agentConfig())).wait();
  await (await bare.connect(safeSigner).setAssetLimit(fx.agent.address, ETH, fx.ethLimit)).wait();
  return { ...fx, bare, bareAddress };
}

/**
 * The base treasury with a second agent (`agent2`, signers[14]) under the same ETH limit as the first, and a spare
 * never-used key (`freshKey`, signers[15]) for rotations.
 */
export async function twoAgentsFixture() {
  const fx = await treasuryFixture();
  const agent2 = fx.signers[14];
  const freshKey = fx.signers[15];
  await fx.asOwners(fx.module.interface.encodeFunctionData("setAgent", [agent2.address, agentConfig()]));
  await fx.asOwners(fx.module.interface.encodeFunctionData("setAssetLimit", [agent2.address, ETH, fx.ethLimit]));
  return { ...fx, agent2, freshKey };
}

// ---------------------------------------------------------------------------------------------------------------
// Unit-suite fixtures and helpers (test/unit). Added as new exports; nothing above changes.
// ---------------------------------------------------------------------------------------------------------------

/** An `AssetLimit` from its four numbers (autoPerTx, autoPerWindow, window seconds, escalatedPerTx). */
export function assetLimit(
  autoPerTx: bigint,
  autoPerWindow: bigint,
  window: number | bigint,
  escalatedPerTx: bigint,
): AssetLimit {
  return { autoPerTx, autoPerWindow, window: BigInt(window), escalatedPerTx };
}

/** The module connected to the impersonated Safe, for fast owner-only calls in unit tests. */
export async function moduleAsSafe(fx: Treasury): Promise<IAgentTreasuryModule> {
  return fx.module.connect(await impersonate(fx.safeAddress));
}

const BALANCE_OF_ABI = ["function balanceOf(address) view returns (uint256)"];

/** The balance of `account` in `asset` (address(0) = ETH). */
export async function balanceIn(asset: string, account: string): Promise<bigint> {
  if (asset === ZeroAddress) return ethers.provider.getBalance(account);
  return (await new Contract(asset, BALANCE_OF_ABI, ethers.provider).balanceOf(account)) as bigint;
}

export interface StateProbe {
  agents?: string[];
  assets?: string[];
  lanes?: bigint[];
  accounts?: string[];
}

/**
 * Everything a rejected submission must leave unchanged: each agent's available allowance per asset, its nonces
 * in the given lanes, and each account's balance per asset. Compare two reads with `deep.equal`.
 * Defaults: the fixture's agent, ETH and USDC, lane 0, and the Safe, alice and bob.
 */
export async function treasuryState(fx: Treasury, probe: StateProbe = {}): Promise<Record<string, bigint>> {
  const agents = probe.agents ?? [fx.agent.address];
  const assets = probe.assets ?? [ETH, fx.usdcAddress];
  const lanes = probe.lanes ?? [0n];
  const accounts = probe.accounts ?? [fx.safeAddress, fx.alice.address, fx.bob.address];
  const out: Record<string, bigint> = {};
  for (const agent of agents) {
    for (const asset of assets) out[`allowance:${agent}:${asset}`] = await fx.module.availableAllowance(agent, asset);
    for (const lane of lanes) out[`nonce:${agent}:${lane}`] = await fx.module.getNonce(agent, lane);
  }
  for (const account of accounts) {
    for (const asset of assets) out[`balance:${account}:${asset}`] = await balanceIn(asset, account);
  }
  return out;
}

/**
 * The base treasury plus a second Safe (1-of-1, owner1) with its own module clone from the same factory and salt,
 * enabled, holding 10 ETH, with the same agent registered under the same ETH limit. For cross-module replay tests.
 */
export async function secondTreasuryFixture() {
  const fx = await treasuryFixture();
  const owner = fx.owners[0];
  const safe2 = await createSafe(fx.infra, [owner.address], 1, 1n);
  const safe2Address = await safe2.getAddress();
  const module2Address = await fx.factory.predictModuleAddress(safe2Address, fx.salt);
  await (await fx.factory.createModule(safe2Address, fx.salt)).wait();
  const module2 = (await ethers.getContractAt(
    "IAgentTreasuryModule",
    module2Address,
  )) as unknown as IAgentTreasuryModule;
  await (await fx.deployer.sendTransaction({ to: safe2Address, value: parseEther("10") })).wait();
  const m = module2.interface;
  const as2 = async (to: string, data: string) => execSafeCall(safe2, [owner], fx.deployer, to, data);
  await as2(safe2Address, safe2.interface.encodeFunctionData("enableModule", [module2Address]));
  await as2(module2Address, m.encodeFunctionData("setAgent", [fx.agent.address, agentConfig()]));
  await as2(module2Address, m.encodeFunctionData("setAssetLimit", [fx.agent.address, ETH, fx.ethLimit]));
  return { ...fx, safe2, safe2Address, module2, module2Address };
}

/**
 * The base treasury plus a contract agent (ERC-1271, `MockERC1271Agent`) whose signing key is `bob`, registered
 * with the same ETH and USDC limits as the fixture's EOA agent.
 */
export async function contractAgentFixture() {
  const fx = await treasuryFixture();
  const contractAgent = (await ethers.deployContract("MockERC1271Agent", [
    fx.bob.address,
  ])) as unknown as MockERC1271Agent;
  const contractAgentAddress = await contractAgent.getAddress();
  const m = fx.module.interface;
  await fx.asOwners(m.encodeFunctionData("setAgent", [contractAgentAddress, agentConfig()]));
  await fx.asOwners(m.encodeFunctionData("setAssetLimit", [contractAgentAddress, ETH, fx.ethLimit]));
  await fx.asOwners(m.encodeFunctionData("setAssetLimit", [contractAgentAddress, fx.usdcAddress, fx.usdcLimit]));
  return { ...fx, contractAgent, contractAgentAddress };
}

/**
 * The base treasury plus the test doubles of the unit suite: a call target, a reentrant recipient, and one of each
 * non-standard token, each holding 1,000,000 units (6 decimals) in the Safe with the USDC limits for the agent
 * (1,000 / 5,000 per day / 50,000). The fee token takes 1%; the overdrawing token moves 1 unit more than asked.
 */
export async function mocksFixture() {
  const fx = await treasuryFixture();
  const callTarget = (await ethers.deployContract("MockCallTarget")) as unknown as MockCallTarget;
  const reentrant = (await ethers.deployContract("ReentrantRecipient", [
    fx.moduleAddress,
  ])) as unknown as ReentrantRecipient;
  const deploy = async (name: string, args: unknown[] = []) =>
    (await ethers.deployContract(name, args)) as unknown as Contract;
  const tokens = {
    noReturn: await deploy("NoReturnToken"),
    returnsFalse: await deploy("FalseReturningToken", [false]),
    movesAndReturnsFalse: await deploy("FalseReturningToken", [true]),
    returnsTwo: await deploy("OddReturnToken", [2]),
    returnsOne: await deploy("OddReturnToken", [1]),
    feeOnTransfer: await deploy("FeeOnTransferToken", [100, false]),
    feeOnTop: await deploy("FeeOnTransferToken", [100, true]),
    overdrawing: await deploy("OverdrawingToken", [1]),
    payable: await deploy("PayableToken"),
    unreadable: await deploy("UnreadableBalanceToken"),
  };
  const m = fx.module.interface;
  for (const [name, token] of Object.entries(tokens)) {
    const address = await token.getAddress();
    if (name !== "unreadable") await (await token.mint(fx.safeAddress, parseUnits("1000000", 6))).wait();
    await fx.asOwners(m.encodeFunctionData("setAssetLimit", [fx.agent.address, address, fx.usdcLimit]));
  }
  return {
    ...fx,
    callTarget,
    callTargetAddress: await callTarget.getAddress(),
    reentrant,
    reentrantAddress: await reentrant.getAddress(),
    tokens,
  };
}

/**
 * The deployment record of the fixture's treasury on the in-process chain, as `treasury:deploy` would write it (agent
 * "payroll", token "USDC"): for specs that run the CLI's tasks in-process against the fixture.
 */
export async function fixtureDeploymentRecord(fx: Treasury): Promise<DeploymentRecord> {
  return {
    chainId: fx.chainId.toString(),
    network: "hardhat",
    safe: fx.safeAddress,
    module: fx.moduleAddress,
    implementation: await fx.implementation.getAddress(),
    factory: await fx.factory.getAddress(),
    lens: await fx.lens.getAddress(),
    agents: { payroll: fx.agent.address },
    tokens: { USDC: fx.usdcAddress },
    deployedAt: new Date().toISOString(),
  };
}

/**
 * v3 (conditions on call arguments): the base treasury plus a router double with SwapRouter02's `exactInputSingle`
 * (`MaliciousRouter` with no overdraw: it pulls `amountIn` of tokenIn and pays as much tokenOut, 1:1) stocked with
 * 1,000,000 of a 6-decimal WETH, a 20,000 USDC allowance from the Safe (an owners' transaction), and the example
 * policy's four conditions on the agent's swap: tokenIn USDC, tokenOut WETH, recipient the Safe, amountIn charged as
 * USDC. `swapArgs` gives `exactInputSingle`'s arguments as JSON-friendly values (for the CLI and the MCP tools).
 */
export async function conditionedRouterFixture() {
  const fx = await treasuryFixture();
  const usdc = (n: string) => parseUnits(n, 6);
  const weth = await ethers.deployContract("MockERC20", ["Wrapped Ether", "WETH", 6]);
  const wethAddress = await weth.getAddress();
  const router = await ethers.deployContract("MaliciousRouter", [0n]);
  const routerAddress = await router.getAddress();
  await (await weth.getFunction("mint")(routerAddress, usdc("1000000"))).wait();
  const selector = FunctionFragment.from(EXACT_INPUT_SINGLE).selector;
  const word = (v: string) => zeroPadValue(v, 32);
  const op = enumValues(CONDITION_OP_NAMES);
  const m = fx.module.interface;
  const conditions = [
    { word: 0n, op: op.EqualTo, value: word(fx.usdcAddress) },
    { word: 1n, op: op.EqualTo, value: word(wethAddress) },
    { word: 3n, op: op.EqualToAvatar, value: word("0x") },
    { word: 4n, op: op.ChargeAs, value: word(fx.usdcAddress) },
  ];
  await fx.asOwners(m.encodeFunctionData("setCallConditions", [fx.agent.address, routerAddress, selector, conditions]));
  await fx.asOwners(m.encodeFunctionData("setAllowedCall", [fx.agent.address, routerAddress, selector, true]));
  await execSafeCall(
    fx.safe,
    fx.ownerSigners,
    fx.deployer,
    fx.usdcAddress,
    fx.usdc.interface.encodeFunctionData("approve", [routerAddress, usdc("20000")]),
  );
  const swapArgs = (recipient: string, amountIn: bigint): unknown[] => [
    [fx.usdcAddress, wethAddress, 3000, recipient, amountIn.toString(), "0", "0"],
  ];
  const swapData = (recipient: string, amountIn: bigint) =>
    new Interface([`function ${EXACT_INPUT_SINGLE}`]).encodeFunctionData("exactInputSingle", [
      [fx.usdcAddress, wethAddress, 3000, recipient, amountIn, 0n, 0n],
    ]);
  return { ...fx, weth, wethAddress, routerAddress, swapSelector: selector, swapArgs, swapData };
}
