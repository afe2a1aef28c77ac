/**
 * Ignition module: Safe 1.5.0 (singleton, proxy factory, compatibility fallback handler, MultiSendCallOnly),
 * compiled from @safe-global/safe-smart-account (contracts/safe/SafeImports.sol). The pipeline deploys it with the
 * `create2` strategy only where the canonical Safe deployments are absent: the local chain and other development
 * nodes. Contracts that already exist at their deterministic address are referenced instead of redeployed.
 *
 *   npx hardhat ignition deploy deploy/modules/SafeInfra.ts --strategy create2 --network localhost
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export interface SafeInfraAddresses {
  singleton: string;
  proxyFactory: string;
  fallbackHandler: string;
  multiSendCallOnly: string;
}

/** Future ids of each contract's deployment. `tag` (a short hash of the init code) makes a changed contract a new step. */
export function safeInfraFutureIds(tags: Partial<Record<keyof SafeInfraAddresses, string>> = {}): Record<keyof SafeInfraAddresses, string> {
  const id = (name: string, tag?: string) => (tag ? `${name}_${tag}` : name);
  return {
    singleton: id("SafeSingleton", tags.singleton),
    proxyFactory: id("SafeProxyFactory", tags.proxyFactory),
    fallbackHandler: id("FallbackHandler", tags.fallbackHandler),
    multiSendCallOnly: id("MultiSendCallOnly", tags.multiSendCallOnly),
  };
}

/** The module; each contract given in `existing` is a `contractAt` future instead of a deployment. */
export function safeInfraModule(
  existing: Partial<SafeInfraAddresses> = {},
  tags: Partial<Record<keyof SafeInfraAddresses, string>> = {},
) {
  const ids = safeInfraFutureIds(tags);
  return buildModule("SafeInfra", (m) => {
    const singleton = existing.singleton
      ? m.contractAt("Safe", existing.singleton, { id: `SafeSingletonAt_${existing.singleton.slice(2, 10).toLowerCase()}` })
      : m.contract("Safe", [], { id: ids.singleton });
    const proxyFactory = existing.proxyFactory
      ? m.contractAt("SafeProxyFactory", existing.proxyFactory, { id: `SafeProxyFactoryAt_${existing.proxyFactory.slice(2, 10).toLowerCase()}` })
      : m.contract("SafeProxyFactory", [], { id: ids.proxyFactory });
    const fallbackHandler = existing.fallbackHandler
      ? m.contractAt("CompatibilityFallbackHandler", existing.fallbackHandler, { id: `FallbackHandlerAt_${existing.fallbackHandler.slice(2, 10).toLowerCase()}` })
      : m.contract("CompatibilityFallbackHandler", [], { id: ids.fallbackHandler });
    const multiSendCallOnly = existing.multiSendCallOnly
      ? m.contractAt("MultiSendCallOnly", existing.multiSendCallOnly, { id: `MultiSendCallOnlyAt_${existing.multiSendCallOnly.slice(2, 10).toLowerCase()}` })
      : m.contract("MultiSendCallOnly", [], { id: ids.multiSendCallOnly });
    return { singleton, proxyFactory, fallbackHandler, multiSendCallOnly };
  });
}

export default safeInfraModule();
