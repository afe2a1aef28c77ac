/**
 * Ignition module: the module's two implementations (AgentTreasuryAdmin, then AgentTreasuryModule, which names it),
 * the clone factory and the lens. Deployed with the
 * `create2` strategy (CreateX, one fixed salt: see deploy/create2.ts), so they land at the same addresses on every
 * chain and every module clone for a given Safe and salt does too. Contracts that already exist at their
 * deterministic address (deployed by anyone, e.g. another DAO on the same chain) are referenced, not redeployed.
 *
 *   npx hardhat ignition deploy deploy/modules/AgentTreasuryInfra.ts --strategy create2 --network <name>
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";

export interface AgentTreasuryInfraAddresses {
  admin: string;
  implementation: string;
  factory: string;
  lens: string;
}

type Tags = Partial<Record<keyof AgentTreasuryInfraAddresses, string>>;

/** Future ids of each contract's deployment. `tag` (a short hash of the init code) makes a changed contract a new step. */
export function agentTreasuryInfraFutureIds(tags: Tags = {}): Record<keyof AgentTreasuryInfraAddresses, string> {
  const id = (name: string, tag?: string) => (tag ? `${name}_${tag}` : name);
  return {
    admin: id("Admin", tags.admin),
    implementation: id("Implementation", tags.implementation),
    factory: id("Factory", tags.factory),
    lens: id("Lens", tags.lens),
  };
}

/** The module; each contract given in `existing` is a `contractAt` future instead of a deployment. */
export function agentTreasuryInfraModule(existing: Partial<AgentTreasuryInfraAddresses> = {}, tags: Tags = {}) {
  const ids = agentTreasuryInfraFutureIds(tags);
  return buildModule("AgentTreasuryInfra", (m) => {
    const admin = existing.admin
      ? m.contractAt("AgentTreasuryAdmin", existing.admin, {
          id: `AdminAt_${existing.admin.slice(2, 10).toLowerCase()}`,
        })
      : m.contract("AgentTreasuryAdmin", [], { id: ids.admin });
    const implementation = existing.implementation
      ? m.contractAt("AgentTreasuryModule", existing.implementation, {
          id: `ImplementationAt_${existing.implementation.slice(2, 10).toLowerCase()}`,
        })
      : m.contract("AgentTreasuryModule", [admin], { id: ids.implementation });
    const factory = existing.factory
      ? m.contractAt("AgentTreasuryModuleFactory", existing.factory, {
          id: `FactoryAt_${existing.factory.slice(2, 10).toLowerCase()}`,
        })
      : m.contract("AgentTreasuryModuleFactory", [implementation], { id: ids.factory });
    const lens = existing.lens
      ? m.contractAt("AgentTreasuryLens", existing.lens, { id: `LensAt_${existing.lens.slice(2, 10).toLowerCase()}` })
      : m.contract("AgentTreasuryLens", [], { id: ids.lens });
    return { admin, implementation, factory, lens };
  });
}

export default agentTreasuryInfraModule();
