/**
 * The compiler's storage layout of AgentTreasuryModule, read from Hardhat's build info (hardhat.config.ts keeps
 * `storageLayout` in the output selection). Shared by the specs that check or use slot positions: the lens's
 * constants (Lens.spec.ts) and counters set directly in storage (CoverageGaps.spec.ts).
 */
import hre from "hardhat";

export interface StorageEntry {
  label: string;
  slot: string;
  offset: number;
  type: string;
}

export interface StorageType {
  encoding: string;
  label: string;
  numberOfBytes: string;
  key?: string;
  value?: string;
  members?: StorageEntry[];
}

export interface StorageLayout {
  storage: StorageEntry[];
  types: Record<string, StorageType>;
}

/** AgentTreasuryModule's storage layout; throws with what to do when the build info lacks it. */
export async function moduleLayout(): Promise<StorageLayout> {
  const fqn = "contracts/AgentTreasuryModule.sol:AgentTreasuryModule";
  const info = await hre.artifacts.getBuildInfo(fqn);
  if (!info) throw new Error(`no build info for ${fqn}: run npx hardhat compile`);
  const output = info.output.contracts["contracts/AgentTreasuryModule.sol"].AgentTreasuryModule as unknown as {
    storageLayout?: StorageLayout;
  };
  if (!output.storageLayout) {
    throw new Error("storageLayout missing: keep outputSelection storageLayout in hardhat.config.ts");
  }
  return output.storageLayout;
}
