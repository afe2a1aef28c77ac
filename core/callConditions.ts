/**
 * A call's argument conditions in words for a deployment (SPEC section 11, v3): what the CLI (`agent:call`,
 * `intent:show`) and the console's queue show. The conditions are read from the deployment's lens at the latest block
 * and checked against the call's calldata (sdk/callReport.ts); argument names come from a signature the caller gives
 * or from the deployment's policy file; addresses are named by the record's tokens and local contracts.
 */
import { Contract, Provider } from "ethers";
import { CallConditionsReport, callConditionsReport } from "../sdk/callReport";
import { treasuryLens, treasuryModule } from "../sdk/bindings";
import type { DeploymentRecord } from "./deployment";
import { loadPolicy } from "./policy";

export type { CallConditionsReport };

/** What of a deployment the report reads: the module (which may differ from the record's), its lens, names. */
export type ConditionsDeployment = Pick<DeploymentRecord, "module" | "lens" | "tokens" | "contracts" | "policyFile">;

/** Signatures (with their parameter names) of the policy file's allowed calls; none when it cannot be read. */
export function policySignatures(policyFile: string | undefined): string[] {
  if (!policyFile) return [];
  try {
    return loadPolicy(policyFile).agents.flatMap((a) => (a.allowedCalls ?? []).map((c) => c.signature));
  } catch {
    // A policy file that moved or no longer parses only costs the argument names.
    return [];
  }
}

/** Names for addresses: the deployment's tokens and its local contracts (the local Uniswap's). */
export function addressNames(
  deployment: Pick<DeploymentRecord, "tokens" | "contracts">,
): (address: string) => string | undefined {
  const named = { ...(deployment.contracts ?? {}), ...deployment.tokens };
  const names = new Map(Object.entries(named).map(([name, address]) => [address.toLowerCase(), name]));
  return (address) => names.get(address.toLowerCase());
}

/**
 * The report for a call of `agent` (its target and calldata), or undefined when the module holds no conditions for it.
 * `signature`: a signature with parameter names the caller gave (it names the arguments before the policy's do).
 */
export async function deploymentCallConditions(
  provider: Provider,
  deployment: ConditionsDeployment,
  call: { agent: string; target: string; data: string; signature?: string },
): Promise<CallConditionsReport | undefined> {
  const module = treasuryModule(deployment.module, provider);
  return callConditionsReport({
    lens: treasuryLens(deployment.lens, provider),
    module: deployment.module,
    agent: call.agent,
    safe: await module.avatar(),
    target: call.target,
    data: call.data,
    signatures: [...(call.signature ? [call.signature] : []), ...policySignatures(deployment.policyFile)],
    label: addressNames(deployment),
    decimals: async (asset) => {
      try {
        return Number(await new Contract(asset, ["function decimals() view returns (uint8)"], provider).decimals());
      } catch {
        return undefined; // shown in base units
      }
    },
  });
}
