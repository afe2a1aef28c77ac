/**
 * A treasury on a `hardhat node`, built directly with the generated contract factories (seconds, where the policy
 * pipeline takes tens of seconds): Safe 1.5.0 2-of-3 with 100 ETH and 1,000,000 USDC, the module enabled and
 * configured by owner-signed Safe transactions, like `treasuryFixture`. Used by the e2e specs of the client and the
 * CLI, which run child processes against the node. Writes a deployment record so the CLI finds it by name, bound to
 * the node's instance (genesis hash and Hardhat instance id) like `treasury:deploy` writes it, and like it sets aside
 * a record of an earlier instance of the node. No tests here.
 */
import {
  Contract,
  JsonRpcProvider,
  NonceManager,
  Signer,
  Wallet,
  ZeroAddress,
  id,
  parseEther,
  parseUnits,
} from "ethers";
import {
  AgentTreasuryLens__factory,
  AgentTreasuryModuleFactory__factory,
  AgentTreasuryAdmin__factory,
  AgentTreasuryModule__factory,
  IAgentTreasuryModule__factory,
  CompatibilityFallbackHandler__factory,
  MockERC20__factory,
  SafeProxyFactory__factory,
  Safe__factory,
} from "../../typechain-types";
import { SAFE_ABI, execSafeCall } from "../../sdk/safe";
import { previousDeployment, writeDeployment } from "../../core/deployment";
import { readChainIdentity } from "../../sdk/chainIdentity";
import { hardhatDevWallets } from "../../core/keys";

export interface NodeTreasury {
  safe: string;
  module: string;
  lens: string;
  usdc: string;
  /** Hardhat development wallets by role (chain 31337 only). */
  wallets: {
    deployer: Wallet;
    owners: Wallet[];
    agent: Wallet;
    relayer: Wallet;
    cosigners: Wallet[];
    guardian: Wallet;
    alice: Wallet;
    bob: Wallet;
    attacker: Wallet;
  };
}

/**
 * Deploys the treasury. Agent "payroll" has ETH limits 1/3/1d/10 and USDC 1,000/5,000/1d/50,000; co-signers 2 of
 * 3; one guardian. With `deploymentsDir`, writes `<dir>/<chainId>.json` (31337, or the node's chain id) naming the
 * agent "payroll" and the token "USDC" (a record of an earlier node instance there is set aside first, with one line
 * to `log`).
 */
export async function deployNodeTreasury(
  provider: JsonRpcProvider,
  deploymentsDir?: string,
  log: (line: string) => void = () => {},
): Promise<NodeTreasury> {
  const dev = hardhatDevWallets().map((w) => new Wallet(w.privateKey, provider));
  const [deployerKey, o1, o2, o3, agent, relayer, c1, c2, c3, guardian, attacker, alice, bob] = dev;
  const deployer: Signer = new NonceManager(deployerKey);
  const singleton = await new Safe__factory(deployer).deploy();
  const proxyFactory = await new SafeProxyFactory__factory(deployer).deploy();
  const handler = await new CompatibilityFallbackHandler__factory(deployer).deploy();
  const admin = await new AgentTreasuryAdmin__factory(deployer).deploy();
  const implementation = await new AgentTreasuryModule__factory(deployer).deploy(await admin.getAddress());
  const usdc = await new MockERC20__factory(deployer).deploy("USD Coin", "USDC", 6);
  const lens = await new AgentTreasuryLens__factory(deployer).deploy();
  const factory = await new AgentTreasuryModuleFactory__factory(deployer).deploy(await implementation.getAddress());

  const setup = singleton.interface.encodeFunctionData("setup", [
    [o1.address, o2.address, o3.address],
    2,
    ZeroAddress,
    "0x",
    await handler.getAddress(),
    ZeroAddress,
    0,
    ZeroAddress,
  ]);
  const safeAddress = await proxyFactory.createProxyWithNonce.staticCall(await singleton.getAddress(), setup, 0);
  await (await proxyFactory.createProxyWithNonce(await singleton.getAddress(), setup, 0)).wait();
  const salt = id("agent-treasury-guard/e2e");
  const moduleAddress = await factory.predictModuleAddress(safeAddress, salt);
  await (await factory.createModule(safeAddress, salt)).wait();
  await (await deployer.sendTransaction({ to: safeAddress, value: parseEther("100") })).wait();
  await (await usdc.mint(safeAddress, parseUnits("1000000", 6))).wait();

  const safe = new Contract(safeAddress, SAFE_ABI, provider);
  const m = IAgentTreasuryModule__factory.createInterface();
  const asOwners = (to: string, data: string) => execSafeCall(safe, [o1, o2], deployer, to, data);
  await asOwners(safeAddress, safe.interface.encodeFunctionData("enableModule", [moduleAddress]));
  const day = 24 * 3600;
  await asOwners(
    moduleAddress,
    m.encodeFunctionData("setAgent", [
      agent.address,
      {
        validUntil: 0,
        escalationDelay: 3600,
        gracePeriod: day,
        maxIntentsPerWindow: 0,
        rateWindow: 0,
        maxStrikes: 3,
        strikeWindow: day,
        recipientMode: 0,
      },
    ]),
  );
  await asOwners(
    moduleAddress,
    m.encodeFunctionData("setAssetLimit", [
      agent.address,
      ZeroAddress,
      { autoPerTx: parseEther("1"), autoPerWindow: parseEther("3"), window: day, escalatedPerTx: parseEther("10") },
    ]),
  );
  await asOwners(
    moduleAddress,
    m.encodeFunctionData("setAssetLimit", [
      agent.address,
      await usdc.getAddress(),
      {
        autoPerTx: parseUnits("1000", 6),
        autoPerWindow: parseUnits("5000", 6),
        window: day,
        escalatedPerTx: parseUnits("50000", 6),
      },
    ]),
  );
  await asOwners(moduleAddress, m.encodeFunctionData("setCosigners", [[c1.address, c2.address, c3.address], 2]));
  await asOwners(moduleAddress, m.encodeFunctionData("setGuardian", [guardian.address, true]));

  const out: NodeTreasury = {
    safe: safeAddress,
    module: moduleAddress,
    lens: await lens.getAddress(),
    usdc: await usdc.getAddress(),
    wallets: {
      deployer: deployerKey,
      owners: [o1, o2, o3],
      agent,
      relayer,
      cosigners: [c1, c2, c3],
      guardian,
      alice,
      bob,
      attacker,
    },
  };
  if (deploymentsDir) {
    const identity = await readChainIdentity(provider);
    await previousDeployment(provider, identity, log, deploymentsDir);
    writeDeployment(
      {
        chainId: (await provider.getNetwork()).chainId.toString(),
        network: "localhost",
        safe: out.safe,
        module: out.module,
        implementation: await implementation.getAddress(),
        factory: await factory.getAddress(),
        lens: out.lens,
        agents: { payroll: agent.address },
        tokens: { USDC: out.usdc },
        deployedAt: new Date().toISOString(),
        moduleBlock: 0,
        genesisHash: identity.genesisHash,
        nodeInstance: identity.instanceId,
      },
      deploymentsDir,
    );
  }
  return out;
}
