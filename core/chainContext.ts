/**
 * What the plan, the status and the owners' runs (deploy/) read the chain with, instead of Hardhat's runtime
 * environment: an ethers provider, a reader of the compiled contracts, and the network's name. The Hardhat tasks
 * pass `hre`-backed ones (deploy/hardhatChain.ts); anything else (a script on a JSON-RPC URL, a test) can build
 * its own without loading Hardhat.
 */
import type { InterfaceAbi, Provider } from "ethers";

/** A compiled contract: its ABI and creation bytecode. */
export interface ContractArtifact {
  abi: InterfaceAbi;
  bytecode: string;
}

/** Reads compiled contracts by name (`"AgentTreasuryModule"`). Hardhat's `hre.artifacts` is one. */
export interface ArtifactReader {
  readArtifact(contractName: string): Promise<ContractArtifact>;
}

export interface ChainContext {
  provider: Provider;
  artifacts: ArtifactReader;
  /** The network's name as the operator passes it (`--network`), for the commands printed to them. */
  network: string;
}
