/**
 * Step 1 of `treasury:deploy` (deploy/pipeline.ts): everything decided before the first transaction. The policy
 * file is loaded, validated and resolved against the chain (token decimals, contracts behind addresses), the keys
 * are found, and every address is computed up front (CREATE2 everywhere), so a bad file or a missing key fails
 * with nothing sent.
 *
 * Reads through a {@link ChainContext} (provider and compiled artifacts): no Hardhat.
 */
import { BaseWallet, Contract, keccak256 } from "ethers";
import type { ChainContext } from "../core/chainContext";
import { KeyError, LOCAL_CHAIN_ID, WalletResolver, devWalletFor } from "../core/keys";
import { Policy, PolicyError, PolicyIssue, formatPath, loadPolicy } from "../core/policy";
import { ResolvedPolicy, resolvePolicy, targetIssues } from "../core/policyResolve";
import { MockAggregatorArgs, localFeedArgs } from "../core/usdPolicy";
import { SAFE_ABI } from "../sdk/safe";
import {
  SAFE_INFRA,
  SafeInfraAddresses,
  SafeInfraName,
  canonicalSafeInfra,
  predictModuleAddress,
  predictSafeAddress,
  safeInitializer,
} from "./addresses";
import { DevNode, detectDevNode, initCodeOf, predictCreate2Address } from "./create2";
import { localContractAddresses } from "./uniswap";

const PROXY_FACTORY_ABI = ["function proxyCreationCode() pure returns (bytes)"];

/** Short hash of an init code: part of the step id, so that changed code is a new step, never a "changed" one. */
export function tagOf(initCode: string): string {
  return keccak256(initCode).slice(2, 10);
}

/** What a deployment will do, decided before anything is sent. */
export interface DeploymentSpec {
  policyFile: string;
  policy: Policy;
  resolved: ResolvedPolicy;
  chainId: bigint;
  devNode?: DevNode;
  deployer: BaseWallet;
  /** Chain 31337 and a Safe the pipeline creates: the owners' development keys sign the configuration. */
  localMode: boolean;
  /** The owners' development keys (local mode), connected. */
  ownerWallets: BaseWallet[];
  /** Local mock tokens: symbol -> init-code tag. */
  tokenTag: Record<string, string>;
  /**
   * v3, chain 31337: the `localPriceFeeds` mocks to deploy (one per distinct decimals and price: ETH and WETH at the
   * same price share one, as they would share Chainlink's ETH/USD feed), and each key's mock address.
   */
  localFeeds: LocalFeedStep[];
  localFeedAddresses: Record<string, string>;
  /** Where the Safe contracts are (canonical, or the compiled ones' CREATE2 addresses); undefined when unknown. */
  safeInfra?: SafeInfraAddresses;
  /** The compiled Safe contracts must be deployed (no canonical ones on this development chain). */
  compiledSafeInfra: boolean;
  predictedSafeInfra: SafeInfraAddresses;
  safeTags: Record<SafeInfraName, string>;
  /** The admin half's predicted address (AgentTreasuryAdmin); the hot half names it. */
  admin: string;
  implementation: string;
  factory: string;
  lens: string;
  atgTags: { admin: string; implementation: string; factory: string; lens: string };
  safe: string;
  /** The new Safe's `setup` call ("0x" for an existing Safe). */
  initializer: string;
  module: string;
}

/**
 * Loads and resolves `policyFile` and computes every address (see the file header). Throws {@link PolicyError}
 * (bad file), `KeyError` (no usable deployer key, or owners that are not development accounts in local mode).
 */
export async function resolveDeployment(
  chain: ChainContext,
  policyFile: string,
  opts: { keys: WalletResolver; keystore?: string },
): Promise<DeploymentSpec> {
  const policy: Policy = loadPolicy(policyFile);
  const { provider, artifacts } = chain;
  const chainId = (await provider.getNetwork()).chainId;
  const devNode = await detectDevNode(provider);
  const deployer = await opts.keys("DEPLOYER", { keystore: opts.keystore });
  const localMode = chainId === LOCAL_CHAIN_ID && typeof policy.safe === "object";
  const ownerWallets = localMode ? localOwnerWallets(chain, policy) : [];
  const tokens = chainId === LOCAL_CHAIN_ID ? await localTokenInits(chain, policy) : { addresses: {}, tags: {} };
  const feeds = chainId === LOCAL_CHAIN_ID ? await localFeedInits(chain, policy) : { addresses: {}, steps: [] };
  const resolved = await resolvePolicy(policy, provider, {
    localTokenAddresses: tokens.addresses,
    localContractAddresses: localContractAddresses(policy),
    localFeedAddresses: feeds.addresses,
    file: policyFile,
  });
  const safes = await resolveSafeInfra(chain, { chainId, devNode, resolved, policy, policyFile });
  // The admin half first: the hot half names it in its constructor (docs/SPEC.md section 2).
  const adminInit = await initCodeOf(artifacts, "AgentTreasuryAdmin");
  const admin = predictCreate2Address(adminInit);
  const implementationInit = await initCodeOf(artifacts, "AgentTreasuryModule", [admin]);
  const lensInit = await initCodeOf(artifacts, "AgentTreasuryLens");
  const implementation = predictCreate2Address(implementationInit);
  const factoryInit = await initCodeOf(artifacts, "AgentTreasuryModuleFactory", [implementation]);
  const factory = predictCreate2Address(factoryInit);
  const { safe, initializer } = await resolveSafeAddress(chain, {
    resolved,
    safeInfra: safes.safeInfra,
    compiled: safes.compiledSafeInfra,
    policy,
    policyFile,
  });
  const module = predictModuleAddress(factory, implementation, safe, resolved.salt);
  preflight(policy, resolved, safe, module, policyFile);
  return {
    policyFile,
    policy,
    resolved,
    chainId,
    devNode,
    deployer,
    localMode,
    ownerWallets,
    tokenTag: tokens.tags,
    localFeeds: feeds.steps,
    localFeedAddresses: feeds.addresses,
    ...safes,
    admin,
    implementation,
    factory,
    lens: predictCreate2Address(lensInit),
    atgTags: {
      admin: tagOf(adminInit),
      implementation: tagOf(implementationInit),
      factory: tagOf(factoryInit),
      lens: tagOf(lensInit),
    },
    safe,
    initializer,
    module,
  };
}

/** On the local chain the pipeline signs as the new Safe's owners with their development keys: a threshold of them. */
function localOwnerWallets(chain: ChainContext, policy: Policy): BaseWallet[] {
  if (typeof policy.safe !== "object") return [];
  const owners = policy.safe.owners
    .map((o) => devWalletFor(o))
    .filter((w): w is NonNullable<typeof w> => w !== undefined);
  if (owners.length < policy.safe.threshold) {
    throw new KeyError(
      "KEY_MISSING",
      `On the local chain the pipeline signs as the new Safe's owners with Hardhat development keys, but only ` +
        `${owners.length} of the owners are development accounts (threshold ${policy.safe.threshold}). ` +
        `Use development accounts as owners, or point "safe" at an existing Safe to get a batch file instead.`,
    );
  }
  return owners.slice(0, policy.safe.threshold).map((w) => w.connect(chain.provider) as BaseWallet);
}

/** The policy's local mock tokens (chain 31337): their CREATE2 addresses and init-code tags, by symbol. */
async function localTokenInits(
  chain: ChainContext,
  policy: Policy,
): Promise<{ addresses: Record<string, string>; tags: Record<string, string> }> {
  const addresses: Record<string, string> = {};
  const tags: Record<string, string> = {};
  for (const [symbol, spec] of Object.entries(policy.localTokens ?? {})) {
    const init = await initCodeOf(chain.artifacts, "MockERC20", [
      spec.name ?? `${symbol} (local mock)`,
      symbol,
      spec.decimals,
    ]);
    addresses[symbol] = predictCreate2Address(init);
    tags[symbol] = tagOf(init);
  }
  return { addresses, tags };
}

/** A local mock price feed to deploy: the first `localPriceFeeds` key at its price, its init-code tag, its arguments. */
export interface LocalFeedStep {
  key: string;
  tag: string;
  args: MockAggregatorArgs;
}

/**
 * The policy's local mock price feeds (chain 31337; deploy them with CREATE2 like the tokens): each key's address, and
 * one step per distinct mock. A price that cannot be read is left out here; resolvePolicy names its field.
 */
async function localFeedInits(
  chain: ChainContext,
  policy: Policy,
): Promise<{ addresses: Record<string, string>; steps: LocalFeedStep[] }> {
  const addresses: Record<string, string> = {};
  const steps: LocalFeedStep[] = [];
  for (const [key, feed] of Object.entries(policy.localPriceFeeds ?? {})) {
    const args = localFeedArgs(feed);
    if (!args) continue;
    const init = await initCodeOf(chain.artifacts, "MockAggregator", args);
    addresses[key] = predictCreate2Address(init);
    const tag = tagOf(init);
    if (!steps.some((s) => s.tag === tag)) steps.push({ key, tag, args });
  }
  return { addresses, steps };
}

/** Safe contracts: canonical where they exist, else compiled Safe 1.5.0 through CREATE2 on development nodes. */
async function resolveSafeInfra(
  chain: ChainContext,
  ctx: { chainId: bigint; devNode?: DevNode; resolved: ResolvedPolicy; policy: Policy; policyFile: string },
): Promise<Pick<DeploymentSpec, "safeInfra" | "compiledSafeInfra" | "predictedSafeInfra" | "safeTags">> {
  const { chainId, devNode } = ctx;
  // Looked up for an existing Safe too: the record lists every Safe contract protocol-kit's contractNetworks needs.
  let safeInfra = await canonicalSafeInfra(chain.provider, chainId);
  const compiledSafeInfra = ctx.resolved.safe.kind === "new" && !safeInfra;
  if (compiledSafeInfra && !devNode && chainId !== LOCAL_CHAIN_ID) {
    throw new PolicyError(
      [
        {
          path: "safe",
          message: `no canonical Safe deployment found on chain ${chainId}: point "safe" at an existing Safe`,
          value: ctx.policy.safe,
        },
      ],
      ctx.policyFile,
    );
  }
  const predictedSafeInfra = {} as SafeInfraAddresses;
  const safeTags = {} as Record<SafeInfraName, string>;
  for (const c of SAFE_INFRA) {
    const init = await initCodeOf(chain.artifacts, c.artifact);
    predictedSafeInfra[c.name] = predictCreate2Address(init);
    safeTags[c.name] = tagOf(init);
  }
  if (compiledSafeInfra) safeInfra = predictedSafeInfra;
  else if (!safeInfra && (devNode || chainId === LOCAL_CHAIN_ID)) {
    // An existing Safe on a development chain: the compiled contracts, if an earlier run deployed them all.
    const codes = await Promise.all(SAFE_INFRA.map((c) => chain.provider.getCode(predictedSafeInfra[c.name])));
    if (codes.every((c) => c !== "0x")) safeInfra = predictedSafeInfra;
  }
  return { safeInfra, compiledSafeInfra, predictedSafeInfra, safeTags };
}

/** The Safe: a new one's CREATE2 address (and its `setup` call), or the existing one, checked to be a Safe. */
async function resolveSafeAddress(
  chain: ChainContext,
  ctx: {
    resolved: ResolvedPolicy;
    safeInfra?: SafeInfraAddresses;
    compiled: boolean;
    policy: Policy;
    policyFile: string;
  },
): Promise<{ safe: string; initializer: string }> {
  const spec = ctx.resolved.safe;
  if (spec.kind === "new") {
    const infra = ctx.safeInfra!;
    const initializer = safeInitializer(spec.owners, spec.threshold, infra.fallbackHandler);
    const creationCode = ctx.compiled
      ? (await chain.artifacts.readArtifact("SafeProxy")).bytecode
      : ((await new Contract(infra.proxyFactory, PROXY_FACTORY_ABI, chain.provider).proxyCreationCode()) as string);
    return {
      safe: predictSafeAddress(infra.proxyFactory, creationCode, infra.singleton, initializer, spec.saltNonce),
      initializer,
    };
  }
  try {
    await new Contract(spec.address, SAFE_ABI, chain.provider).getThreshold();
  } catch {
    throw new PolicyError(
      [{ path: "safe", message: `${spec.address} is not a Safe (getThreshold() failed)`, value: ctx.policy.safe }],
      ctx.policyFile,
    );
  }
  return { safe: spec.address, initializer: "0x" };
}

/** Checks that the policy cannot make the Safe or the module an agent or a call target (the module refuses both). */
function preflight(policy: Policy, resolved: ResolvedPolicy, safe: string, module: string, file: string) {
  const issues: PolicyIssue[] = [];
  const forbidden = new Map([
    [safe.toLowerCase(), `the Safe itself (${safe})`],
    [module.toLowerCase(), `the module itself (${module})`],
  ]);
  resolved.agents.forEach((agent, a) => {
    const self = forbidden.get(agent.address.toLowerCase());
    if (self)
      issues.push({
        path: formatPath(["agents", a, "address"]),
        message: `an agent cannot be ${self}`,
        value: policy.agents[a].address,
      });
    agent.allowedCalls.forEach((c, i) => {
      const bad = forbidden.get(c.target.toLowerCase());
      if (bad)
        issues.push({
          path: formatPath(["agents", a, "allowedCalls", i, "target"]),
          message: `a call target cannot be ${bad}`,
          value: c.targetLabel,
        });
    });
  });
  issues.push(...targetIssues(resolved, module));
  if (issues.length > 0) throw new PolicyError(issues, file);
}
