/**
 * Ignition module: one DAO's instance. Creates the Safe (for a new Safe), the module clone through the factory
 * (`createModule(safe, salt)`, CREATE2: same address for the same Safe and salt on every chain) and, on the local
 * chain only, mock tokens minted to the Safe, mock price feeds (v3) and ETH sent to it. The pipeline (deploy/pipeline.ts) builds it from
 * the policy file; steps whose result already exists on-chain are left out, so a fresh journal never repeats them.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export interface InstanceSpec {
  /** Create a new Safe through the proxy factory. */
  createSafe?: { proxyFactory: string; singleton: string; initializer: string; saltNonce: bigint };
  /** Create (and initialise) the module clone. */
  createModule?: { factory: string; safe: string; salt: string };
  /** Local mock tokens (chain 31337 only): deployed unless `existing`, minted to the Safe when `mint` is set. */
  localTokens?: {
    symbol: string;
    name: string;
    decimals: number;
    /** Short hash of the token's init code: part of its step ids. */
    tag: string;
    existing?: string;
    mint?: { to: string; amount: bigint };
  }[];
  /** ETH sent from the deployer to the Safe (chain 31337 only). */
  fundEth?: { to: string; amount: bigint };
  /** v3: local mock price feeds (chain 31337 only), `MockAggregator(decimals, price, mode)`. */
  localFeeds?: { key: string; tag: string; args: [number, bigint, number] }[];
}

/** First 4 bytes of an address, lower case: tells steps that refer to different contracts apart. */
function short(address: string): string {
  return address.slice(2, 10).toLowerCase();
}

/** Step ids (Ignition future ids, without the module prefix). */
export const instanceFutureIds = {
  createSafe: "CreateSafe",
  createModule: (factory: string) => `CreateModule_${short(factory)}`,
  token: (symbol: string, tag: string) => `Token_${symbol.replace(/[^A-Za-z0-9_]/g, "_")}_${tag}`,
  mint: (symbol: string, tag: string) => `Mint_${symbol.replace(/[^A-Za-z0-9_]/g, "_")}_${tag}`,
  fundSafe: "FundSafe",
  feed: (key: string, tag: string) => `Feed_${key.replace(/[^A-Za-z0-9_]/g, "_")}_${tag}`,
};

export function agentTreasuryInstanceModule(spec: InstanceSpec) {
  return buildModule("AgentTreasuryInstance", (m) => {
    let safeCreated: ReturnType<typeof m.call> | undefined;
    if (spec.createSafe) {
      const proxyFactory = m.contractAt("SafeProxyFactory", spec.createSafe.proxyFactory, {
        id: `ProxyFactory_${short(spec.createSafe.proxyFactory)}`,
      });
      safeCreated = m.call(
        proxyFactory,
        "createProxyWithNonce",
        [spec.createSafe.singleton, spec.createSafe.initializer, spec.createSafe.saltNonce],
        { id: instanceFutureIds.createSafe },
      );
    }
    const afterSafe = safeCreated ? [safeCreated] : [];
    if (spec.createModule) {
      const factory = m.contractAt("AgentTreasuryModuleFactory", spec.createModule.factory, {
        id: `ModuleFactory_${short(spec.createModule.factory)}`,
      });
      m.call(factory, "createModule", [spec.createModule.safe, spec.createModule.salt], {
        id: instanceFutureIds.createModule(spec.createModule.factory),
        after: afterSafe,
      });
    }
    for (const token of spec.localTokens ?? []) {
      const id = instanceFutureIds.token(token.symbol, token.tag);
      const contract = token.existing
        ? m.contractAt("MockERC20", token.existing, { id: `${id}_At` })
        : m.contract("MockERC20", [token.name, token.symbol, token.decimals], { id });
      if (token.mint) {
        m.call(contract, "mint", [token.mint.to, token.mint.amount], {
          id: instanceFutureIds.mint(token.symbol, token.tag),
          after: afterSafe,
        });
      }
    }
    for (const feed of spec.localFeeds ?? []) {
      m.contract("MockAggregator", feed.args, { id: instanceFutureIds.feed(feed.key, feed.tag) });
    }
    if (spec.fundEth) {
      m.send(instanceFutureIds.fundSafe, spec.fundEth.to, spec.fundEth.amount, undefined, { after: afterSafe });
    }
    return {};
  });
}
