/**
 * The module's ABI, from its compiled artifact (only the `abi` field goes into the bundle): the page encodes every
 * call it asks the wallet to send with it, and decodes the module's custom errors from a failed simulation.
 */
import type { Abi } from "viem";
import { abi } from "../../artifacts/contracts/AgentTreasuryModule.sol/AgentTreasuryModule.json";

export const moduleAbi = abi as unknown as Abi;
