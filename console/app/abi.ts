/**
 * The module's ABI, from the compiled interface `IAgentTreasuryModule` (only the `abi` field goes into the bundle):
 * the whole module, both of its halves, with every error. The page encodes every call it asks the wallet to send
 * with it, and decodes the module's custom errors from a failed simulation. (The artifact `AgentTreasuryModule` is
 * only the hot half: it has no `pause`, `cancel` or views.)
 */
import type { Abi } from "viem";
import { abi } from "../../artifacts/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule.json";

export const moduleAbi = abi as unknown as Abi;
