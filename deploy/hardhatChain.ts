/**
 * The Hardhat-backed {@link ChainContext}: `hre`'s provider, its compiled artifacts and its network name. What the
 * tasks, the console and the pipeline pass to the Hardhat-free plan, status and owners' code.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { ChainContext } from "../core/chainContext";

export function hardhatChain(hre: HardhatRuntimeEnvironment): ChainContext {
  return { provider: hre.ethers.provider, artifacts: hre.artifacts, network: hre.network.name };
}
