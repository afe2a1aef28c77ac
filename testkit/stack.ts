/**
 * The real stack on the in-process Hardhat chain, for the test suites (test/fixtures.ts builds its named fixtures on
 * it), the gas benchmark (scripts/bench/) and the invariant campaign (testkit/invariants/): Safe 1.5.0 (compiled
 * from @safe-global/safe-smart-account), the module implementation, the factory and a clone enabled on the Safe
 * through a real owners-signed Safe transaction.
 */
import { ethers, network } from "hardhat";
import { Contract, ZeroAddress, id, parseEther, parseUnits } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import type {
  AgentTreasuryLens,
  IAgentTreasuryModule,
  AgentTreasuryModuleFactory,
  MockERC20,
} from "../typechain-types";
import { SAFE_ABI, execSafeCall } from "../sdk/safe";
import { RECIPIENT_MODE_NAMES, enumValues } from "../sdk/shapes";
import type { AgentConfigValue, AssetLimitWith } from "../sdk/shapes";

export const DAY = 24 * 60 * 60;
export const HOUR = 60 * 60;
export const ETH = ZeroAddress;

/** The module's `RecipientMode` by name (`RecipientMode.Allowlist === 1`), from its one table (sdk/shapes.ts). */
export const RecipientMode = enumValues(RECIPIENT_MODE_NAMES);

/** `AgentConfig` as the tests pass it to `setAgent`. */
export type AgentConfig = AgentConfigValue;
/** `AssetLimit` as the tests pass it to `setAssetLimit`: every field a bigint. */
export type AssetLimit = AssetLimitWith<bigint>;

export function agentConfig(overrides: Partial<AgentConfig> = {}): AgentConfig {
  return {
    validUntil: 0n,
    escalationDelay: BigInt(HOUR),
    gracePeriod: BigInt(DAY),
    maxIntentsPerWindow: 0n,
    rateWindow: 0n,
    maxStrikes: 3n,
    strikeWindow: BigInt(DAY),
    recipientMode: RecipientMode.Any,
    ...overrides,
  };
}

/** Deploys Safe 1.5.0's singleton, proxy factory and fallback handler. */
export async function deploySafeInfra() {
  const singleton = await ethers.deployContract("Safe");
  const proxyFactory = await ethers.deployContract("SafeProxyFactory");
  const fallbackHandler = await ethers.deployContract("CompatibilityFallbackHandler");
  return { singleton, proxyFactory, fallbackHandler };
}

/** Creates a Safe proxy with `owners` and `threshold`. */
export async function createSafe(
  infra: Awaited<ReturnType<typeof deploySafeInfra>>,
  owners: string[],
  threshold: number,
  saltNonce = 0n,
): Promise<Contract> {
  const setup = infra.singleton.interface.encodeFunctionData("setup", [
    owners,
    threshold,
    ZeroAddress,
    "0x",
    await infra.fallbackHandler.getAddress(),
    ZeroAddress,
    0,
    ZeroAddress,
  ]);
  const singleton = await infra.singleton.getAddress();
  const proxyAddress = await infra.proxyFactory.createProxyWithNonce.staticCall(singleton, setup, saltNonce);
  await (await infra.proxyFactory.createProxyWithNonce(singleton, setup, saltNonce)).wait();
  return new Contract(proxyAddress, SAFE_ABI, (await ethers.getSigners())[0]);
}

/** Deploys the module's two implementations (admin first: the hot half names it) and the factory. */
export async function deployModuleInfra() {
  const admin = await ethers.deployContract("AgentTreasuryAdmin");
  const implementation = await ethers.deployContract("AgentTreasuryModule", [await admin.getAddress()]);
  const factory = (await ethers.deployContract("AgentTreasuryModuleFactory", [
    await implementation.getAddress(),
  ])) as unknown as AgentTreasuryModuleFactory;
  // Typed by the module's whole interface: calls the hot half does not handle reach the admin half, as on a clone.
  const whole = (await ethers.getContractAt(
    "IAgentTreasuryModule",
    await implementation.getAddress(),
  )) as unknown as IAgentTreasuryModule;
  return { implementation: whole, admin, factory };
}

/** A signer that is the Safe itself (impersonated), for unit tests of owner-only calls. */
export async function impersonate(address: string): Promise<HardhatEthersSigner> {
  await network.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
  await network.provider.request({ method: "hardhat_setBalance", params: [address, "0x56BC75E2D63100000"] });
  return ethers.getSigner(address);
}

/**
 * The base treasury: a 2-of-3 Safe holding 100 ETH and 1,000,000 USDC (6 decimals), a module clone enabled on it,
 * 3 co-signers (threshold 2), 1 guardian, and one agent with limits:
 * - ETH:  autoPerTx 1, autoPerWindow 3, window 1 day, escalatedPerTx 10
 * - USDC: autoPerTx 1,000, autoPerWindow 5,000, window 1 day, escalatedPerTx 50,000
 * Configuration goes through real owner-signed Safe transactions.
 */
export async function treasuryFixture() {
  const signers = await ethers.getSigners();
  const [deployer, owner1, owner2, owner3, agentSigner, relayer, cos1, cos2, cos3, guardian, attacker, alice, bob] =
    signers;
  const owners = [owner1, owner2, owner3];
  const infra = await deploySafeInfra();
  const safe = await createSafe(
    infra,
    owners.map((o) => o.address),
    2,
  );
  const safeAddress = await safe.getAddress();
  const { implementation, factory } = await deployModuleInfra();
  const salt = id("agent-treasury-guard");
  const moduleAddress = await factory.predictModuleAddress(safeAddress, salt);
  await (await factory.createModule(safeAddress, salt)).wait();
  const module = (await ethers.getContractAt("IAgentTreasuryModule", moduleAddress)) as unknown as IAgentTreasuryModule;
  const usdc = (await ethers.deployContract("MockERC20", ["USD Coin", "USDC", 6])) as unknown as MockERC20;
  const lens = (await ethers.deployContract("AgentTreasuryLens")) as unknown as AgentTreasuryLens;

  // Fund the Safe.
  await (await deployer.sendTransaction({ to: safeAddress, value: parseEther("100") })).wait();
  await (await usdc.mint(safeAddress, parseUnits("1000000", 6))).wait();

  const ownerSigners = [owner1, owner2];
  const asOwners = async (data: string) => execSafeCall(safe, ownerSigners, deployer, moduleAddress, data);
  const m = module.interface;
  await execSafeCall(
    safe,
    ownerSigners,
    deployer,
    safeAddress,
    safe.interface.encodeFunctionData("enableModule", [moduleAddress]),
  );
  await asOwners(m.encodeFunctionData("setAgent", [agentSigner.address, agentConfig()]));
  const ethLimit: AssetLimit = {
    autoPerTx: parseEther("1"),
    autoPerWindow: parseEther("3"),
    window: BigInt(DAY),
    escalatedPerTx: parseEther("10"),
  };
  const usdcLimit: AssetLimit = {
    autoPerTx: parseUnits("1000", 6),
    autoPerWindow: parseUnits("5000", 6),
    window: BigInt(DAY),
    escalatedPerTx: parseUnits("50000", 6),
  };
  await asOwners(m.encodeFunctionData("setAssetLimit", [agentSigner.address, ETH, ethLimit]));
  await asOwners(m.encodeFunctionData("setAssetLimit", [agentSigner.address, await usdc.getAddress(), usdcLimit]));
  await asOwners(m.encodeFunctionData("setCosigners", [[cos1.address, cos2.address, cos3.address], 2]));
  await asOwners(m.encodeFunctionData("setGuardian", [guardian.address, true]));

  const chainId = (await ethers.provider.getNetwork()).chainId;
  return {
    signers,
    deployer,
    owners,
    ownerSigners,
    agent: agentSigner,
    relayer,
    cosigners: [cos1, cos2, cos3],
    guardian,
    attacker,
    alice,
    bob,
    infra,
    safe,
    safeAddress,
    implementation,
    factory,
    module,
    moduleAddress,
    usdc,
    lens,
    usdcAddress: await usdc.getAddress(),
    ethLimit,
    usdcLimit,
    salt,
    chainId,
    asOwners,
  };
}

export type Treasury = Awaited<ReturnType<typeof treasuryFixture>>;

/** Calldata of `transfer(to, amount)`. */
export function transferData(to: string, amount: bigint): string {
  return new ethers.Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [to, amount]);
}
