/**
 * Ignition module: Safe 1.5.0 compiled from @safe-global/safe-smart-account (contracts/safe/SafeImports.sol): the
 * singleton, proxy factory, compatibility fallback handler and MultiSendCallOnly this project uses, and MultiSend,
 * SignMessageLib, CreateCall and SimulateTxAccessor, which Safe's SDK (protocol-kit) expects too: with all eight in
 * the deployment record, `Safe.init({ contractNetworks })` connects to the deployed Safe. The pipeline deploys it
 * with the `create2` strategy only where the canonical Safe deployments are absent: the local chain and other
 * development nodes. Contracts that already exist at their deterministic address are referenced instead of
 * redeployed.
 *
 *   npx hardhat ignition deploy deploy/modules/SafeInfra.ts --strategy create2 --network localhost
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type {
  NamedArtifactContractAtFuture,
  NamedArtifactContractDeploymentFuture,
} from "@nomicfoundation/ignition-core";
import { SAFE_INFRA, SafeInfraAddresses, SafeInfraName } from "../addresses";

/** Future ids of each contract's deployment. `tag` (a short hash of the init code) makes a changed contract a new step. */
export function safeInfraFutureIds(tags: Partial<Record<SafeInfraName, string>> = {}): Record<SafeInfraName, string> {
  return Object.fromEntries(
    SAFE_INFRA.map((c) => [c.name, tags[c.name] ? `${c.futureId}_${tags[c.name]}` : c.futureId]),
  ) as Record<SafeInfraName, string>;
}

/** The module; each contract given in `existing` is a `contractAt` future instead of a deployment. */
export function safeInfraModule(
  existing: Partial<SafeInfraAddresses> = {},
  tags: Partial<Record<SafeInfraName, string>> = {},
) {
  const ids = safeInfraFutureIds(tags);
  return buildModule("SafeInfra", (m) => {
    const futures: Record<
      string,
      NamedArtifactContractDeploymentFuture<string> | NamedArtifactContractAtFuture<string>
    > = {};
    for (const c of SAFE_INFRA) {
      const at = existing[c.name];
      futures[c.name] = at
        ? m.contractAt(c.artifact, at, { id: `${c.futureId}At_${at.slice(2, 10).toLowerCase()}` })
        : m.contract(c.artifact, [], { id: ids[c.name] });
    }
    return futures;
  });
}

export default safeInfraModule();
