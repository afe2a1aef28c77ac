/**
 * The benchmark's world: the real stack (Safe 1.5.0 compiled from SafeImports.sol, the module implementation, the
 * factory and CREATE2 clones enabled on their Safes by owner-signed Safe transactions), built with the shared test
 * fixtures' helpers. Configuration goes through real Safe transactions; many calls are batched through Safe's
 * MultiSendCallOnly (one delegatecall Safe transaction), as a deployer would do it.
 */
import { ethers } from "hardhat";
import { Contract, Signer, Wallet, concat, dataLength, id, parseEther, parseUnits, solidityPacked } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type { IAgentTreasuryModule, AgentTreasuryModuleFactory, MockERC20 } from "../../typechain-types";
import { AgentConfig, AssetLimit, DAY, createSafe, deployModuleInfra, deploySafeInfra } from "../../testkit/stack";
import { execSafeCall } from "../../sdk/safe";

/** A benchmark setup step failed: the numbers would be meaningless, so the run stops. */
export class BenchSetupError extends Error {
  readonly code = "BENCH_SETUP_FAILED";
  constructor(what: string) {
    super(`${what}. Fix the setup in scripts/bench/setup.ts (or the contract it calls) and rerun npm run bench.`);
    this.name = "BenchSetupError";
  }
}

export const USDC_DECIMALS = 6;
export const usdc = (amount: string): bigint => parseUnits(amount, USDC_DECIMALS);

/** The USDC limits of the shared test fixture: 1,000 per payment, 5,000 per sliding day, 50,000 escalated. */
export const USDC_LIMIT: AssetLimit = {
  autoPerTx: usdc("1000"),
  autoPerWindow: usdc("5000"),
  window: BigInt(DAY),
  escalatedPerTx: usdc("50000"),
};

/** The ETH limits of the shared test fixture: 1 per payment, 3 per sliding day, 10 escalated. */
export const ETH_LIMIT: AssetLimit = {
  autoPerTx: parseEther("1"),
  autoPerWindow: parseEther("3"),
  window: BigInt(DAY),
  escalatedPerTx: parseEther("10"),
};

export interface Stack {
  deployer: HardhatEthersSigner;
  relayer: HardhatEthersSigner;
  /** Safe owners, in a fixed order; a treasury with n owners uses the first n. */
  ownerPool: HardhatEthersSigner[];
  cosigners: HardhatEthersSigner[];
  guardian: HardhatEthersSigner;
  chainId: bigint;
  safeInfra: Awaited<ReturnType<typeof deploySafeInfra>>;
  factory: AgentTreasuryModuleFactory;
  multiSend: Contract;
  usdc: MockERC20;
  usdcAddress: string;
  /** Every treasury made by {createTreasury}, for labelling addresses in profiles. */
  treasuries: Treasury[];
}

export interface Treasury {
  label: string;
  safe: Contract;
  safeAddress: string;
  /** The owners that sign configuration (exactly the Safe's threshold). */
  signers: Signer[];
  module: IAgentTreasuryModule;
  moduleAddress: string;
  /** Gas and hash of the `factory.createModule` transaction that made this module. */
  creationGas: bigint;
  creationTxHash: string;
}

export interface Call {
  to: string;
  data: string;
}

/** Deploys what every treasury shares: Safe infrastructure, module implementation, factory, MultiSend, USDC. */
export async function deployStack(): Promise<Stack> {
  const signers = await ethers.getSigners();
  const [deployer, relayer, o1, o2, o3, c1, c2, c3, guardian] = signers;
  const safeInfra = await deploySafeInfra();
  const { factory } = await deployModuleInfra();
  const multiSend = (await ethers.deployContract("MultiSendCallOnly")) as unknown as Contract;
  const token = (await ethers.deployContract("MockERC20", ["USD Coin", "USDC", USDC_DECIMALS])) as unknown as MockERC20;
  return {
    deployer,
    relayer,
    ownerPool: [o1, o2, o3],
    cosigners: [c1, c2, c3],
    guardian,
    chainId: (await ethers.provider.getNetwork()).chainId,
    safeInfra,
    factory,
    multiSend,
    usdc: token,
    usdcAddress: await token.getAddress(),
    treasuries: [],
  };
}

let safeSaltNonce = 0n;

/** A new Safe of the first `owners` accounts of the owner pool, at the next salt nonce. */
async function newSafe(
  stack: Stack,
  owners: number,
  threshold: number,
): Promise<{ safe: Contract; ownerSigners: Signer[] }> {
  const ownerSigners = stack.ownerPool.slice(0, owners);
  const safe = await createSafe(
    stack.safeInfra,
    ownerSigners.map((o) => o.address),
    threshold,
    safeSaltNonce++,
  );
  return { safe, ownerSigners };
}

/** A bare Safe (no module) with the first `owners` owners of the pool and `threshold`, holding 1,000,000 USDC. */
export async function createPlainSafe(
  stack: Stack,
  owners: number,
  threshold: number,
): Promise<{ safe: Contract; signers: Signer[] }> {
  const { safe, ownerSigners } = await newSafe(stack, owners, threshold);
  await (await stack.usdc.mint(await safe.getAddress(), usdc("1000000"))).wait();
  return { safe, signers: ownerSigners.slice(0, threshold) };
}

/**
 * A Safe with `owners` owners and `threshold`, holding 100 ETH and 1,000,000 USDC, with a fresh module clone made by
 * the factory and enabled through an owner-signed Safe transaction, and the stack's co-signers (2-of-3) and guardian.
 */
export async function createTreasury(
  stack: Stack,
  label: string,
  owners: number,
  threshold: number,
): Promise<Treasury> {
  const { safe, ownerSigners } = await newSafe(stack, owners, threshold);
  const safeAddress = await safe.getAddress();
  const salt = id(`bench:${label}`);
  const moduleAddress = await stack.factory.predictModuleAddress(safeAddress, salt);
  const created = await (await stack.factory.createModule(safeAddress, salt)).wait();
  if (!created || created.status !== 1) throw new BenchSetupError(`createModule for ${label} failed`);
  const module = (await ethers.getContractAt("IAgentTreasuryModule", moduleAddress)) as unknown as IAgentTreasuryModule;
  const treasury: Treasury = {
    label,
    safe,
    safeAddress,
    signers: ownerSigners.slice(0, threshold),
    module,
    moduleAddress,
    creationGas: created.gasUsed,
    creationTxHash: created.hash,
  };
  stack.treasuries.push(treasury);
  await (await stack.deployer.sendTransaction({ to: safeAddress, value: parseEther("100") })).wait();
  await (await stack.usdc.mint(safeAddress, usdc("1000000"))).wait();
  await execSafeCall(
    safe,
    treasury.signers,
    stack.deployer,
    safeAddress,
    safe.interface.encodeFunctionData("enableModule", [moduleAddress]),
  );
  const m = module.interface;
  await configure(stack, treasury, [
    { to: moduleAddress, data: m.encodeFunctionData("setCosigners", [stack.cosigners.map((c) => c.address), 2]) },
    { to: moduleAddress, data: m.encodeFunctionData("setGuardian", [stack.guardian.address, true]) },
  ]);
  return treasury;
}

/**
 * Runs `calls` from the Safe: one owner-signed Safe transaction, a MultiSendCallOnly batch (delegatecall) when
 * there is more than one call. Throws when the Safe reports an inner failure.
 */
export async function configure(stack: Stack, treasury: Treasury, calls: Call[]): Promise<void> {
  if (calls.length === 1) {
    await execSafeCall(treasury.safe, treasury.signers, stack.deployer, calls[0].to, calls[0].data);
    return;
  }
  const packed = concat(
    calls.map((c) =>
      solidityPacked(["uint8", "address", "uint256", "uint256", "bytes"], [0, c.to, 0n, dataLength(c.data), c.data]),
    ),
  );
  const data = stack.multiSend.interface.encodeFunctionData("multiSend", [packed]);
  try {
    await execSafeCall(
      treasury.safe,
      treasury.signers,
      stack.deployer,
      await stack.multiSend.getAddress(),
      data,
      0n,
      1,
    );
  } catch (e) {
    throw new BenchSetupError(
      `MultiSend batch of ${calls.length} calls on ${treasury.label} failed: ${(e as Error).message}`,
    );
  }
}

/** The Safe calls that register `agent` with `config` and its asset limits. */
export function agentCalls(
  treasury: Treasury,
  agent: string,
  config: AgentConfig,
  limits: { asset: string; limit: AssetLimit }[],
): Call[] {
  const m = treasury.module.interface;
  return [
    { to: treasury.moduleAddress, data: m.encodeFunctionData("setAgent", [agent, config]) },
    ...limits.map((l) => ({
      to: treasury.moduleAddress,
      data: m.encodeFunctionData("setAssetLimit", [agent, l.asset, l.limit]),
    })),
  ];
}

/** A deterministic agent key (agents never send transactions: a relayer submits what they sign). */
export function agentKey(label: string): Wallet {
  return new Wallet(id(`agent-treasury-guard bench agent ${label}`));
}

/** A recipient that already holds USDC and ETH, so a payment rewrites a balance instead of creating one. */
export async function fundedRecipient(stack: Stack, label: string): Promise<string> {
  const address = new Wallet(id(`agent-treasury-guard bench recipient ${label}`)).address;
  await (await stack.usdc.mint(address, usdc("1"))).wait();
  await (await stack.deployer.sendTransaction({ to: address, value: parseEther("0.01") })).wait();
  return address;
}
