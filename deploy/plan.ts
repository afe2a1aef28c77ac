/**
 * `treasury:plan`: the Safe calls that make the chain match a policy file. The policy is resolved against the chain
 * (core/policy.ts), the module's configuration read (deploy/chainState.ts) and the two compared (core/policyDiff.ts).
 *
 * Takes a {@link ChainContext} (a provider and the compiled artifacts), not Hardhat's runtime environment: the
 * tasks pass `hardhatChain(hre)` (deploy/hardhatChain.ts).
 */
import { Interface, Provider } from "ethers";
import type { ChainContext } from "../core/chainContext";
import { Policy } from "../core/policy";
import { ResolvedAsset, ResolvedPolicy, resolvePolicy } from "../core/policyResolve";
import { PlanItem, PlanTarget, diffPolicy, stateHints } from "../core/policyDiff";
import { assetInfo, readChainState } from "./chainState";
import { localContractAddresses } from "./uniswap";

function isResolved(policy: Policy | ResolvedPolicy): policy is ResolvedPolicy {
  return typeof (policy as ResolvedPolicy).chainId === "bigint";
}

/**
 * `policy` resolved against a deployed instance: its local tokens and (v3) local price feeds from the deployment
 * record, and the local Uniswap's contracts at their fixed addresses. `treasury:plan`, `treasury:apply` and the
 * console's owners' batches resolve the same way.
 */
export function resolveForDeployment(
  provider: Provider,
  policy: Policy,
  deployment: PlanTarget,
  file?: string,
): Promise<ResolvedPolicy> {
  return resolvePolicy(policy, provider, {
    localTokenAddresses: deployment.tokens,
    localContractAddresses: localContractAddresses(policy),
    localFeedAddresses: deployment.localPriceFeeds,
    ...(file !== undefined ? { file } : {}),
  });
}

/**
 * The Safe calls that make the chain match `policy`, in an order that applies cleanly (enableModule first; an
 * agent before its limits, calls and recipients). Empty when the chain already matches. `policy` may be a loaded
 * file (it is resolved against the chain, local tokens taken from `deployment.tokens`) or already resolved.
 */
export async function planPolicy(
  chain: ChainContext,
  policy: Policy | ResolvedPolicy,
  deployment: PlanTarget,
): Promise<PlanItem[]> {
  const { provider } = chain;
  const resolved = isResolved(policy) ? policy : await resolveForDeployment(provider, policy, deployment);
  const state = await readChainState(provider, deployment, stateHints(resolved));
  const moduleInterface = new Interface((await chain.artifacts.readArtifact("IAgentTreasuryModule")).abi);
  const known: Record<string, ResolvedAsset> = {};
  return diffPolicy(resolved, state, {
    moduleInterface,
    target: deployment,
    assetOf: (address) => assetInfo(provider, known, address),
  });
}
