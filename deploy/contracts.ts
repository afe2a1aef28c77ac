/**
 * Step 2 of `treasury:deploy` (deploy/pipeline.ts): Hardhat Ignition deploys what is missing, with the `create2`
 * strategy (deploy/ignition.ts): Safe 1.5.0 where no canonical Safe exists (local chains), the module
 * implementation, factory and lens (same addresses on every chain), then the DAO's instance: the Safe (for a new
 * one), the module clone (same address for the same Safe and salt on every chain) and, on chain 31337 only, mock
 * tokens, mock price feeds (v3) and ETH for the Safe. What already exists on-chain is referenced, not redeployed.
 */
import fs from "fs";
import path from "path";
import { AbiCoder, Contract, Interface, Provider, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { EIP1193Provider, IgnitionModule, IgnitionModuleResult } from "@nomicfoundation/ignition-core";
import type { DeploymentRecord } from "../core/deployment";
import { formatAmount } from "../core/units";
import { setAside } from "../sdk/chainIdentity";
import { SAFE_ABI } from "../sdk/safe";
import { SAFE_INFRA, SafeInfraAddresses } from "./addresses";
import { DevNode, ensureCreateX } from "./create2";
import { deployLocalUniswap } from "./uniswap";
import { DeploymentFailedError } from "./errors";
import { IgnitionRun, JournalState, journalState, runIgnition, signingProvider } from "./ignition";
import { agentTreasuryInfraFutureIds, agentTreasuryInfraModule } from "./modules/AgentTreasuryInfra";
import { InstanceSpec, agentTreasuryInstanceModule, instanceFutureIds } from "./modules/AgentTreasuryInstance";
import { safeInfraFutureIds, safeInfraModule } from "./modules/SafeInfra";
import type { DeploymentSpec } from "./resolve";

const ERC20_ABI = ["function balanceOf(address) view returns (uint256)"];

/** One deployment's Ignition runs: where they send from, and what they produced. */
interface Runner {
  hre: HardhatRuntimeEnvironment;
  provider: Provider;
  ignition: EIP1193Provider;
  sender: string;
  log: (line: string) => void;
  /** Future id -> address, over every run. */
  addresses: Record<string, string>;
  /** Future ids executed, over every run. */
  executed: string[];
}

/** Runs one Ignition module and adds what it produced to the runner's totals. */
async function run<
  ModuleIdT extends string,
  ContractNameT extends string,
  R extends IgnitionModuleResult<ContractNameT>,
>(r: Runner, module: IgnitionModule<ModuleIdT, ContractNameT, R>, dir: string): Promise<IgnitionRun> {
  const result = await runIgnition(r.hre, module, dir, r.ignition, r.sender, r.log);
  Object.assign(r.addresses, result.addresses);
  r.executed.push(...result.executed);
  return result;
}

/**
 * How a deterministic contract enters its Ignition module. A step the journal knows (done or in flight) stays a
 * deployment step, so Ignition resumes or skips it and its dependants keep their dependency; a contract that
 * exists without being in this journal (deployed by anyone, anywhere) is referenced with `contractAt`.
 * `done` says whether the contract is there and nothing about it is pending.
 */
async function stepOf(provider: Provider, futureId: string, address: string, journal: JournalState) {
  const known = journal.successful.has(futureId) || journal.inFlight.has(futureId);
  const exists = (await provider.getCode(address)) !== "0x";
  return { existing: !known && exists ? address : undefined, done: exists && !journal.inFlight.has(futureId) };
}

/**
 * Deploys what `spec` needs and is missing (see the file header). Returns what this run changed, in words, and the
 * module's creation block. Throws {@link DeploymentFailedError}.
 */
export async function deployContracts(
  hre: HardhatRuntimeEnvironment,
  spec: DeploymentSpec,
  ctx: { journalRoot: string; previous?: DeploymentRecord; log: (line: string) => void },
): Promise<{ changed: string[]; moduleBlock?: number }> {
  const provider = hre.ethers.provider;
  const changed: string[] = [];
  checkNodeInstance(ctx.journalRoot, spec.chainId, spec.devNode, ctx.log);
  if (await ensureCreateX(provider, spec.chainId, spec.devNode))
    changed.push("deployed the CreateX factory (local development node)");
  const r: Runner = {
    hre,
    provider,
    ignition: signingProvider(hre, spec.deployer),
    sender: spec.deployer.address,
    log: ctx.log,
    addresses: {},
    executed: [],
  };
  const infraDir = path.join(ctx.journalRoot, "infra");
  if (spec.compiledSafeInfra) await deploySafeContracts(r, spec, infraDir);
  await deployTreasuryInfra(r, spec, infraDir);
  await deployInstance(
    r,
    spec,
    path.join(ctx.journalRoot, `instance-${spec.safe.toLowerCase()}-${spec.resolved.salt.slice(2, 14)}`),
  );
  const samePreviousChain = ctx.previous?.nodeInstance === spec.devNode?.instanceId;
  const previousBlock =
    samePreviousChain && ctx.previous?.module && getAddress(ctx.previous.module) === spec.module
      ? ctx.previous.moduleBlock
      : undefined;
  const moduleBlock = previousBlock ?? (await findModuleBlock(provider, spec.factory, spec.safe, spec.module));
  for (const futureId of r.executed) changed.push(describeFuture(futureId, r.addresses, spec));
  // v3, local chain only: Uniswap v3 from the npm artifacts, before configuration (calls and allowances name it).
  if (spec.resolved.localUniswap)
    changed.push(
      ...(await deployLocalUniswap(spec.deployer.connect(provider), spec.resolved.localUniswap.pools, ctx.log)),
    );

  // The chain now has the contracts where they were predicted.
  for (const [what, address] of [
    ["Safe", spec.safe],
    ["module", spec.module],
  ] as const) {
    if ((await provider.getCode(address)) === "0x")
      throw new DeploymentFailedError(`No ${what} at the predicted address ${address} after deployment.`);
  }
  if (spec.resolved.safe.kind === "new")
    await checkSafeOwners(provider, spec.safe, spec.resolved.safe.owners, spec.resolved.safe.threshold);
  return { changed, moduleBlock };
}

/** The compiled Safe 1.5.0 contracts (development chains without the canonical ones). */
async function deploySafeContracts(r: Runner, spec: DeploymentSpec, infraDir: string): Promise<void> {
  const journal = await journalState(r.hre, infraDir);
  const ids = safeInfraFutureIds(spec.safeTags);
  const names = SAFE_INFRA.map((c) => c.name);
  const steps = await Promise.all(
    names.map((n) => stepOf(r.provider, `SafeInfra#${ids[n]}`, spec.predictedSafeInfra[n], journal)),
  );
  const existing: Partial<SafeInfraAddresses> = Object.fromEntries(names.map((n, i) => [n, steps[i].existing]));
  // Ignition runs only when something is missing (a run with nothing to deploy still parses build infos).
  if (steps.some((x) => !x.done)) await run(r, safeInfraModule(existing, spec.safeTags), infraDir);
}

/** The module's two implementations, the factory and the lens, checked against their predicted addresses. */
async function deployTreasuryInfra(r: Runner, spec: DeploymentSpec, infraDir: string): Promise<void> {
  const journal = await journalState(r.hre, infraDir);
  const ids = agentTreasuryInfraFutureIds(spec.atgTags);
  const predicted = { admin: spec.admin, implementation: spec.implementation, factory: spec.factory, lens: spec.lens };
  const names = ["admin", "implementation", "factory", "lens"] as const;
  const steps = await Promise.all(
    names.map((n) => stepOf(r.provider, `AgentTreasuryInfra#${ids[n]}`, predicted[n], journal)),
  );
  const existing = {
    admin: steps[0].existing,
    implementation: steps[1].existing,
    factory: steps[2].existing,
    lens: steps[3].existing,
  };
  let got = (name: (typeof names)[number]) => predicted[name];
  if (steps.some((x) => !x.done)) {
    const result = await run(r, agentTreasuryInfraModule(existing, spec.atgTags), infraDir);
    got = (name) => existing[name] ?? result.addresses[`AgentTreasuryInfra#${ids[name]}`];
  }
  if (names.some((n) => got(n) !== predicted[n])) {
    throw new DeploymentFailedError(
      `Deterministic addresses differ from the prediction (implementation ${got("implementation")} vs ${spec.implementation}); ` +
        `the compiled contracts may have changed since the journal in ${infraDir} was written.`,
    );
  }
}

/** The DAO's instance: the Safe (new), the module clone, and on chain 31337 the mock tokens, price feeds and the Safe's ETH. */
async function deployInstance(r: Runner, spec: DeploymentSpec, instanceDir: string): Promise<void> {
  const { provider } = r;
  const { resolved } = spec;
  const journal = await journalState(r.hre, instanceDir);
  // Resuming an interrupted run: its steps are replayed with the same arguments (Ignition skips the done ones and
  // keeps their dependencies). Otherwise done steps are left out, so a changed file never conflicts with them.
  const resuming = journal.inFlight.size > 0;
  const full = (futureId: string) => `AgentTreasuryInstance#${futureId}`;
  const wants = (futureId: string, needed: boolean) =>
    journal.inFlight.has(full(futureId)) ||
    (resuming && journal.successful.has(full(futureId))) ||
    (!journal.successful.has(full(futureId)) && needed);
  const missing = async (address: string) => (await provider.getCode(address)) === "0x";
  const instance: InstanceSpec = {};
  if (resolved.safe.kind === "new" && wants(instanceFutureIds.createSafe, await missing(spec.safe))) {
    instance.createSafe = {
      proxyFactory: spec.safeInfra!.proxyFactory,
      singleton: spec.safeInfra!.singleton,
      initializer: spec.initializer,
      saltNonce: resolved.safe.saltNonce,
    };
  }
  if (wants(instanceFutureIds.createModule(spec.factory), await missing(spec.module))) {
    instance.createModule = { factory: spec.factory, safe: spec.safe, salt: resolved.salt };
  }
  for (const token of resolved.localTokens) {
    const tag = spec.tokenTag[token.symbol];
    const exists = !(await missing(token.address));
    const deployStep = !exists || wants(instanceFutureIds.token(token.symbol, tag), false);
    const balance = exists
      ? ((await new Contract(token.address, ERC20_ABI, provider).balanceOf(spec.safe)) as bigint)
      : 0n;
    const mint = token.mint > 0n && wants(instanceFutureIds.mint(token.symbol, tag), balance === 0n);
    if (deployStep || mint) {
      (instance.localTokens ??= []).push({
        symbol: token.symbol,
        name: token.name,
        decimals: token.decimals,
        tag,
        existing: deployStep ? undefined : token.address,
        mint: mint ? { to: spec.safe, amount: token.mint } : undefined,
      });
    }
  }
  for (const feed of spec.localFeeds) {
    if (wants(instanceFutureIds.feed(feed.key, feed.tag), await missing(spec.localFeedAddresses[feed.key])))
      (instance.localFeeds ??= []).push(feed);
  }
  if (resolved.localEth > 0n && wants(instanceFutureIds.fundSafe, (await provider.getBalance(spec.safe)) === 0n)) {
    instance.fundEth = { to: spec.safe, amount: resolved.localEth };
  }
  if (Object.keys(instance).length > 0) await run(r, agentTreasuryInstanceModule(instance), instanceDir);
}

/**
 * Sets aside (renames to `chain-<id>.<instance prefix>.stale`, with one line to `log`) the Ignition journals left by
 * an earlier instance of a local node: their transactions are not on this chain.
 */
function checkNodeInstance(
  journalRoot: string,
  chainId: bigint,
  devNode: DevNode | undefined,
  log: (line: string) => void,
): void {
  if (!devNode?.instanceId) return;
  const marker = path.join(journalRoot, "node-instance.json");
  if (fs.existsSync(marker)) {
    const previous = JSON.parse(fs.readFileSync(marker, "utf8")) as { instanceId?: string };
    if (previous.instanceId !== devNode.instanceId) {
      const recorded = {
        chainId: chainId.toString(),
        ...(previous.instanceId ? { instanceId: previous.instanceId } : {}),
      };
      setAside(journalRoot, recorded, "the local node was restarted", "Ignition journal directory", log);
    }
  }
  fs.mkdirSync(journalRoot, { recursive: true });
  fs.writeFileSync(marker, JSON.stringify({ instanceId: devNode.instanceId }));
}

const FIXED_FUTURES: Record<string, string> = {
  SafeSingleton: "deployed Safe 1.5.0 singleton",
  SafeProxyFactory: "deployed SafeProxyFactory",
  FallbackHandler: "deployed CompatibilityFallbackHandler",
  MultiSendCallOnly: "deployed MultiSendCallOnly",
  MultiSend: "deployed MultiSend",
  SignMessageLib: "deployed SignMessageLib",
  CreateCall: "deployed CreateCall",
  SimulateTxAccessor: "deployed SimulateTxAccessor",
  Admin: "deployed AgentTreasuryAdmin implementation",
  Implementation: "deployed AgentTreasuryModule implementation",
  Factory: "deployed AgentTreasuryModuleFactory",
  Lens: "deployed AgentTreasuryLens",
};

/** One executed Ignition step, in words. */
function describeFuture(futureId: string, addresses: Record<string, string>, spec: DeploymentSpec): string {
  const [, fullName] = futureId.split("#");
  const name = fullName.replace(/_[0-9a-f]{8}$/, "");
  const at = addresses[futureId] ? ` at ${addresses[futureId]}` : "";
  if (FIXED_FUTURES[name]) return `${FIXED_FUTURES[name]}${at}`;
  const s = spec.resolved.safe;
  if (name === "CreateSafe")
    return s.kind === "new"
      ? `created Safe ${spec.safe} (${s.threshold} of ${s.owners.length} owners)`
      : `created Safe ${spec.safe}`;
  if (name === "CreateModule") return `created module clone ${spec.module} for Safe ${spec.safe}`;
  if (name === "FundSafe") return `sent ${formatAmount(spec.resolved.localEth, 18)} ETH to the Safe`;
  const token = /^Token_(.+)$/.exec(name);
  if (token) return `deployed local token ${token[1]}${at}`;
  const feed = /^Feed_(.+)$/.exec(name);
  if (feed) return `deployed local price feed ${feed[1]}/USD${at}`;
  const mint = /^Mint_(.+)$/.exec(name);
  if (mint) {
    const t = spec.resolved.localTokens.find((x) => x.symbol.replace(/[^A-Za-z0-9_]/g, "_") === mint[1]);
    return t ? `minted ${formatAmount(t.mint, t.decimals)} ${t.symbol} to the Safe` : `minted ${mint[1]} to the Safe`;
  }
  return `ignition: ${futureId}`;
}

async function checkSafeOwners(provider: Provider, safeAddress: string, owners: string[], threshold: number) {
  const safe = new Contract(safeAddress, SAFE_ABI, provider);
  const onChain = ((await safe.getOwners()) as string[]).map((o) => o.toLowerCase()).sort();
  const wanted = owners.map((o) => o.toLowerCase()).sort();
  const t = Number(await safe.getThreshold());
  if (onChain.join() !== wanted.join() || t !== threshold) {
    throw new DeploymentFailedError(
      `The Safe ${safeAddress} has owners ${onChain.join(", ")} (threshold ${t}), not the policy's: the policy's owners ` +
        `changed since it was created. Point "safe" at it as an existing Safe, or change the salt for a new one.`,
    );
  }
}

/** The block of the module's `ModuleCreated` event (log scans start there). */
async function findModuleBlock(
  provider: Provider,
  factory: string,
  safe: string,
  module: string,
): Promise<number | undefined> {
  const iface = new Interface(["event ModuleCreated(address indexed avatar, address indexed module, bytes32 salt)"]);
  const topic = iface.getEvent("ModuleCreated")!.topicHash;
  const pad = (a: string) => AbiCoder.defaultAbiCoder().encode(["address"], [a]);
  try {
    const logs = await provider.getLogs({
      address: factory,
      topics: [topic, pad(safe), pad(module)],
      fromBlock: 0,
      toBlock: "latest",
    });
    return logs.length > 0 ? logs[0].blockNumber : undefined;
  } catch {
    return undefined;
  }
}
