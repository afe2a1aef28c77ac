/**
 * `treasury:deploy`: one command from a policy file to a configured treasury.
 *
 * 1. Load and validate the file, resolve it against the chain (token decimals, contracts behind addresses) and
 *    compute every address up front (CREATE2 everywhere), so a bad file fails before the first transaction.
 * 2. Hardhat Ignition deploys what is missing, with the `create2` strategy: Safe 1.5.0 where no canonical Safe
 *    exists (local chains), the module implementation, factory and lens (same addresses on every chain), then the
 *    DAO's instance: the Safe (for a new one), the module clone (same address for the same Safe and salt on every
 *    chain) and, on chain 31337 only, mock tokens and ETH for the Safe. Ignition's journal (next to the
 *    deployment records) makes an interrupted run resume where it stopped; what already exists on-chain is
 *    referenced, not redeployed.
 * 3. The configuration is the plan (deploy/plan.ts): enableModule plus every call that makes the module match the
 *    file. On chain 31337, for a Safe the pipeline created, the Safe owners' development keys sign it as one
 *    MultiSendCallOnly batch. Anywhere else the pipeline never signs as an owner: it writes a Safe Transaction
 *    Builder batch file for the owners and prints the next steps.
 * 4. A deployment record (deploy/deployment.ts) lets every other task find the Safe, module and lens.
 *
 * Running it again with the same file changes nothing and says so (`changed: []`).
 */
import fs from "fs";
import path from "path";
import {
  AbiCoder,
  BaseWallet,
  Contract,
  Interface,
  ZeroAddress,
  concat,
  getAddress,
  getCreate2Address,
  keccak256,
  solidityPackedKeccak256,
} from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import {
  getCompatibilityFallbackHandlerDeployment,
  getCreateCallDeployment,
  getMultiSendCallOnlyDeployment,
  getMultiSendDeployment,
  getProxyFactoryDeployment,
  getSafeL2SingletonDeployment,
  getSafeSingletonDeployment,
  getSignMessageLibDeployment,
  getSimulateTxAccessorDeployment,
} from "@safe-global/safe-deployments";
import type { EIP1193Provider, ExecutionEventListener, IgnitionModule, IgnitionModuleResult } from "@nomicfoundation/ignition-core";
import { LOCAL_CHAIN_ID, Policy, PolicyError, PolicyIssue, ResolvedPolicy, formatPath, loadPolicy, resolvePolicy, targetIssues } from "./policy";
import { DeploymentRecord, deploymentsDir, previousDeployment, writeDeployment } from "./deployment";
import { readChainIdentity, setAside } from "../sdk/chainIdentity";
import { CREATE2_SALT, DevNode, detectDevNode, ensureCreateX, initCodeOf, predictCreate2Address } from "./create2";
import { PlanItem, planPolicy } from "./plan";
import { buildBatch, encodeMultiSend, readBatch, writeBatch } from "./batch";
import { SAFE_INFRA, SafeInfraAddresses, SafeInfraName, safeInfraFutureIds, safeInfraModule } from "./modules/SafeInfra";
import { agentTreasuryInfraFutureIds, agentTreasuryInfraModule } from "./modules/AgentTreasuryInfra";
import { InstanceSpec, agentTreasuryInstanceModule, instanceFutureIds } from "./modules/AgentTreasuryInstance";
import { KeyError, devWalletFor, resolveWallet } from "../tasks/lib/keys";
import { EXECUTION_FAILURE_TOPIC, SAFE_ABI, buildSafeTx, execSafeCall, signSafeTx } from "../sdk/safe";
import { formatAmount } from "./units";
import { deployLocalUniswap } from "./uniswap";

export interface DeployOptions {
  json?: boolean;
  /** Progress lines (the task prints them on stderr). */
  log?: (line: string) => void;
  deploymentsDir?: string;
  /** Encrypted JSON keystore of the deployer (else DEPLOYER_KEY, else the dev account on 31337). */
  keystore?: string;
  /** Verify the implementation, factory and lens on the block explorer (live networks). */
  verify?: boolean;
}

export interface PendingItem {
  kind: PlanItem["kind"];
  description: string;
  loosens: boolean;
  to: string;
  data: string;
}

export interface DeployResult {
  chainId: string;
  network: string;
  /** `local`: configured with the owners' development keys; `live`: configuration left to the owners (batch). */
  mode: "local" | "live";
  safe: string;
  module: string;
  implementation: string;
  factory: string;
  lens: string;
  /** What this run did, in order; empty when there was nothing to do. */
  changed: string[];
  /** Configuration the owners still have to sign (live mode). */
  pending: PendingItem[];
  batchFile?: string;
  nextSteps: string[];
  deploymentFile: string;
}

/** Ignition could not complete (validation, reconciliation with an earlier run, or a failed transaction). */
export class DeploymentFailedError extends Error {
  readonly code = "DEPLOYMENT_FAILED";
  constructor(message: string) {
    super(message);
    this.name = "DeploymentFailedError";
  }
}

const SAFE_SETUP_ABI = [
  "function setup(address[] _owners,uint256 _threshold,address to,bytes data,address fallbackHandler,address paymentToken,uint256 payment,address paymentReceiver)",
];
const PROXY_FACTORY_ABI = ["function proxyCreationCode() pure returns (bytes)"];
const ERC20_ABI = ["function balanceOf(address) view returns (uint256)"];
const MAX_CALLS_PER_SAFE_TX = 25;

// ---------------------------------------------------------------------------------------------- addresses

/** OpenZeppelin Clones.predictDeterministicAddress, as the factory computes it (salt binds the Safe). */
export function predictModuleAddress(factory: string, implementation: string, safe: string, salt: string): string {
  const cloneSalt = keccak256(AbiCoder.defaultAbiCoder().encode(["address", "bytes32"], [safe, salt]));
  const initCode = concat([
    "0x3d602d80600a3d3981f3363d3d373d3d3d363d73",
    implementation,
    "0x5af43d82803e903d91602b57fd5bf3",
  ]);
  return getCreate2Address(factory, cloneSalt, keccak256(initCode));
}

/** SafeProxyFactory.createProxyWithNonce's address. */
export function predictSafeAddress(proxyFactory: string, proxyCreationCode: string, singleton: string, initializer: string, saltNonce: bigint): string {
  const salt = solidityPackedKeccak256(["bytes32", "uint256"], [keccak256(initializer), saltNonce]);
  const deploymentData = concat([proxyCreationCode, AbiCoder.defaultAbiCoder().encode(["uint256"], [BigInt(singleton)])]);
  return getCreate2Address(proxyFactory, salt, keccak256(deploymentData));
}

/** The Safe `setup` call for a new Safe with the compatibility fallback handler. */
export function safeInitializer(owners: string[], threshold: number, fallbackHandler: string): string {
  return new Interface(SAFE_SETUP_ABI).encodeFunctionData("setup", [owners, threshold, ZeroAddress, "0x", fallbackHandler, ZeroAddress, 0, ZeroAddress]);
}

/** The canonical Safe deployments on a chain (safe-deployments), if every contract of the record is there. */
export async function canonicalSafeInfra(hre: HardhatRuntimeEnvironment, chainId: bigint): Promise<SafeInfraAddresses | undefined> {
  const network = chainId.toString();
  for (const version of ["1.5.0", "1.4.1"]) {
    const filter = { version, network };
    const deployments: Record<SafeInfraName, ReturnType<typeof getProxyFactoryDeployment>> = {
      singleton: chainId === 1n ? getSafeSingletonDeployment(filter) : getSafeL2SingletonDeployment(filter),
      proxyFactory: getProxyFactoryDeployment(filter),
      fallbackHandler: getCompatibilityFallbackHandlerDeployment(filter),
      multiSendCallOnly: getMultiSendCallOnlyDeployment(filter),
      multiSend: getMultiSendDeployment(filter),
      signMessageLib: getSignMessageLibDeployment(filter),
      createCall: getCreateCallDeployment(filter),
      simulateTxAccessor: getSimulateTxAccessorDeployment(filter),
    };
    const parts = SAFE_INFRA.map((c) => {
      const at = deployments[c.name]?.networkAddresses[network];
      return Array.isArray(at) ? at[0] : at;
    });
    if (parts.some((p) => typeof p !== "string")) continue;
    const addresses = parts.map((p) => getAddress(p as string));
    const codes = await Promise.all(addresses.map((a) => hre.ethers.provider.getCode(a)));
    if (codes.some((c) => c === "0x")) continue;
    return Object.fromEntries(SAFE_INFRA.map((c, i) => [c.name, addresses[i]])) as unknown as SafeInfraAddresses;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------- Ignition

interface JournalState {
  successful: Set<string>;
  inFlight: Set<string>;
  failed: Set<string>;
}

async function journalState(hre: HardhatRuntimeEnvironment, dir: string): Promise<JournalState> {
  const empty = { successful: new Set<string>(), inFlight: new Set<string>(), failed: new Set<string>() };
  if (!fs.existsSync(path.join(dir, "journal.jsonl"))) return empty;
  const { status } = await import("@nomicfoundation/ignition-core");
  const { HardhatArtifactResolver } = await import("@nomicfoundation/hardhat-ignition/helpers");
  const s = await status(dir, new HardhatArtifactResolver(hre));
  const ids = (list: { futureId: string }[]) => list.map((f) => f.futureId);
  return {
    successful: new Set(s.successful),
    inFlight: new Set([...s.started, ...ids(s.timedOut), ...ids(s.held)]),
    failed: new Set(ids(s.failed)),
  };
}

/** An EIP-1193 provider that signs the deployer's transactions locally (Ignition sends `eth_sendTransaction`). */
function signingProvider(hre: HardhatRuntimeEnvironment, wallet: BaseWallet): EIP1193Provider {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { applyProviderWrappers } = require("hardhat/internal/core/providers/construction") as {
    applyProviderWrappers: (provider: unknown, config: Record<string, unknown>, extenders: unknown[]) => EIP1193Provider;
  };
  return applyProviderWrappers(
    hre.network.provider,
    { url: "signing-wrapper", accounts: [wallet.privateKey], gas: "auto", gasPrice: "auto", gasMultiplier: 1, httpHeaders: {}, timeout: 60_000 },
    [],
  );
}

interface IgnitionRun {
  addresses: Record<string, string>;
  executed: string[];
}

async function runIgnition<ModuleIdT extends string, ContractNameT extends string, R extends IgnitionModuleResult<ContractNameT>>(
  hre: HardhatRuntimeEnvironment,
  module: IgnitionModule<ModuleIdT, ContractNameT, R>,
  dir: string,
  provider: EIP1193Provider,
  sender: string,
  log: (line: string) => void,
): Promise<IgnitionRun> {
  const { deploy, wipe } = await import("@nomicfoundation/ignition-core");
  const { HardhatArtifactResolver } = await import("@nomicfoundation/hardhat-ignition/helpers");
  const artifactResolver = new HardhatArtifactResolver(hre);
  const journal = await journalState(hre, dir);
  for (const futureId of journal.failed) {
    // A failed step from an earlier run (e.g. out of gas) is retried rather than blocking the deployment.
    log(`ignition: retrying ${futureId}, which failed in an earlier run`);
    await wipe(dir, artifactResolver, futureId);
  }
  const executed: string[] = [];
  log(`ignition: ${module.id}: ${module.futures.size} step(s) to check or run`);
  const handler = (event: { type: string; futureId?: string; result?: { type: string; result?: string; error?: string } }) => {
    if (event.type === "TRANSACTION_SEND" && event.futureId) log(`ignition: ${event.futureId} transaction sent`);
    if (event.type.endsWith("_EXECUTION_STATE_COMPLETE") && event.futureId && event.type !== "STATIC_CALL_EXECUTION_STATE_COMPLETE") {
      if (event.result?.type === "SUCCESS") {
        executed.push(event.futureId);
        log(`ignition: ${event.futureId} done${event.result.result ? ` (${event.result.result})` : ""}`);
      } else if (event.result?.type === "ERROR") {
        log(`ignition: ${event.futureId} failed: ${event.result.error}`);
      }
    }
  };
  const listener = new Proxy({}, { get: () => handler }) as unknown as ExecutionEventListener;
  fs.mkdirSync(dir, { recursive: true });
  const run = () =>
    deploy({
      config: hre.config.ignition,
      artifactResolver,
      provider,
      executionEventListener: listener,
      deploymentDir: dir,
      ignitionModule: module,
      deploymentParameters: {},
      accounts: [sender],
      defaultSender: sender,
      strategy: "create2",
      strategyConfig: { salt: CREATE2_SALT },
    });
  let result: Awaited<ReturnType<typeof run>>;
  for (let attempt = 0; ; attempt++) {
    try {
      result = await run();
      break;
    } catch (error) {
      // An earlier run was interrupted after broadcasting a transaction but before its journal recorded the hash
      // (IGN411). Find the transaction by sender and nonce, add it to the journal, and resume.
      const lost = /future (\S+?)\.\s[\s\S]*nonce (\d+) sent from account (0x[0-9a-fA-F]{40})/.exec((error as Error).message);
      if (!lost || attempt >= 3) throw error;
      const [, futureId, nonce, from] = lost;
      const hash = await findTransaction(hre, from, Number(nonce));
      if (!hash) {
        throw new DeploymentFailedError(
          `${(error as Error).message.split("\n")[0]} The transaction with nonce ${nonce} from ${from} was not found in the ` +
            `last ${LOST_TX_SEARCH_BLOCKS} blocks; wait for it to be mined and run again (journal: ${dir}).`,
        );
      }
      const { trackTransaction } = await import("@nomicfoundation/ignition-core");
      await trackTransaction(dir, hash, provider, hre.config.ignition.requiredConfirmations ?? 1);
      log(`ignition: ${futureId}: found its transaction ${hash} from the interrupted run; resuming`);
    }
  }
  if (result.type !== "SUCCESSFUL_DEPLOYMENT") {
    const details =
      "errors" in result
        ? Object.entries(result.errors).map(([id, errs]) => `${id}: ${errs.join("; ")}`)
        : [
            ...result.failed.map((f) => `${f.futureId}: ${f.error}`),
            ...result.timedOut.map((f) => `${f.futureId}: timed out`),
            ...result.held.map((f) => `${f.futureId}: held (${f.reason})`),
          ];
    throw new DeploymentFailedError(
      `Ignition deployment ${module.id} failed (${result.type}):\n  ${details.join("\n  ")}\n` +
        `The journal is in ${dir}; fix the cause and run again to resume (delete that directory to start over).`,
    );
  }
  const addresses: Record<string, string> = {};
  for (const [futureId, contract] of Object.entries(result.contracts)) addresses[futureId] = getAddress(contract.address);
  return { addresses, executed };
}

const LOST_TX_SEARCH_BLOCKS = 2_000;

/** The hash of the mined transaction from `from` with `nonce`, searching the latest blocks. */
async function findTransaction(hre: HardhatRuntimeEnvironment, from: string, nonce: number): Promise<string | undefined> {
  const provider = hre.ethers.provider;
  const latest = await provider.getBlockNumber();
  for (let n = latest; n >= Math.max(0, latest - LOST_TX_SEARCH_BLOCKS); n--) {
    const block = await provider.getBlock(n, true);
    const tx = block?.prefetchedTransactions.find((t) => t.from.toLowerCase() === from.toLowerCase() && t.nonce === nonce);
    if (tx) return tx.hash;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------- local execution

/**
 * Executes plan items from the Safe, signed by `owners`, as MultiSendCallOnly batches (one Safe tx per batch; a
 * single call goes straight to its target). Returns the hashes of the Safe transactions.
 */
export async function executeAsOwners(
  safeAddress: string,
  multiSendCallOnly: string,
  owners: BaseWallet[],
  submitter: BaseWallet,
  items: { description: string; call: { to: string; data: string } }[],
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const safe = new Contract(safeAddress, SAFE_ABI, submitter);
  if (!submitter.provider) throw new Error("executeAsOwners: the submitter must be connected to a provider");
  const chainId = (await submitter.provider.getNetwork()).chainId;
  const hashes: string[] = [];
  for (let start = 0; start < items.length; start += MAX_CALLS_PER_SAFE_TX) {
    const chunk = items.slice(start, start + MAX_CALLS_PER_SAFE_TX);
    if (chunk.length === 1) {
      hashes.push((await execSafeCall(safe, owners, submitter, chunk[0].call.to, chunk[0].call.data)).hash);
    } else {
      const data = encodeMultiSend(chunk.map((i) => i.call));
      const tx = await buildSafeTx(safe, multiSendCallOnly, data, 0n, 1);
      const signatures = await signSafeTx(owners, tx, chainId, safeAddress);
      let receipt;
      try {
        const sent = await safe.execTransaction(tx.to, tx.value, tx.data, tx.operation, tx.safeTxGas, tx.baseGas, tx.gasPrice, tx.gasToken, tx.refundReceiver, signatures);
        receipt = await sent.wait();
      } catch (error) {
        throw new DeploymentFailedError(
          `The Safe batch of ${chunk.length} configuration calls failed (${(error as Error).message.split("\n")[0]}). ` +
            `Calls:\n  ${chunk.map((i) => i.description).join("\n  ")}\nRun treasury:plan to see what is still to apply.`,
        );
      }
      if (!receipt || receipt.status !== 1 || receipt.logs.some((l: { topics: readonly string[] }) => l.topics[0] === EXECUTION_FAILURE_TOPIC)) {
        throw new DeploymentFailedError(`The Safe batch of ${chunk.length} configuration calls reverted inside the Safe.`);
      }
      hashes.push(receipt.hash);
    }
    for (const item of chunk) log(`applied: ${item.description}`);
  }
  return hashes;
}

// ---------------------------------------------------------------------------------------------- pipeline

function defaultLog(json: boolean | undefined) {
  return json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
}

/**
 * Sets aside (renames to `chain-<id>.<instance prefix>.stale`, with one line to `log`) the Ignition journals left by
 * an earlier instance of a local node: their transactions are not on this chain.
 */
function checkNodeInstance(journalRoot: string, chainId: bigint, devNode: DevNode | undefined, log: (line: string) => void): void {
  if (!devNode?.instanceId) return;
  const marker = path.join(journalRoot, "node-instance.json");
  if (fs.existsSync(marker)) {
    const previous = JSON.parse(fs.readFileSync(marker, "utf8")) as { instanceId?: string };
    if (previous.instanceId !== devNode.instanceId) {
      const recorded = { chainId: chainId.toString(), ...(previous.instanceId ? { instanceId: previous.instanceId } : {}) };
      setAside(journalRoot, recorded, "the local node was restarted", "Ignition journal directory", log);
    }
  }
  fs.mkdirSync(journalRoot, { recursive: true });
  fs.writeFileSync(marker, JSON.stringify({ instanceId: devNode.instanceId }));
}

/** Short hash of an init code: part of the step id, so that changed code is a new step, never a "changed" one. */
function tagOf(initCode: string): string {
  return keccak256(initCode).slice(2, 10);
}

function describeFuture(futureId: string, ctx: { addresses: Record<string, string>; resolved: ResolvedPolicy; safe: string; module: string }): string {
  const [, fullName] = futureId.split("#");
  const name = fullName.replace(/_[0-9a-f]{8}$/, "");
  const at = ctx.addresses[futureId] ? ` at ${ctx.addresses[futureId]}` : "";
  switch (name) {
    case "SafeSingleton":
      return `deployed Safe 1.5.0 singleton${at}`;
    case "SafeProxyFactory":
      return `deployed SafeProxyFactory${at}`;
    case "FallbackHandler":
      return `deployed CompatibilityFallbackHandler${at}`;
    case "MultiSendCallOnly":
    case "MultiSend":
    case "SignMessageLib":
    case "CreateCall":
    case "SimulateTxAccessor":
      return `deployed ${name}${at}`;
    case "Admin":
      return `deployed AgentTreasuryAdmin implementation${at}`;
    case "Implementation":
      return `deployed AgentTreasuryModule implementation${at}`;
    case "Factory":
      return `deployed AgentTreasuryModuleFactory${at}`;
    case "Lens":
      return `deployed AgentTreasuryLens${at}`;
    case "CreateSafe": {
      const s = ctx.resolved.safe;
      return s.kind === "new" ? `created Safe ${ctx.safe} (${s.threshold} of ${s.owners.length} owners)` : `created Safe ${ctx.safe}`;
    }
    case "CreateModule":
      return `created module clone ${ctx.module} for Safe ${ctx.safe}`;
    case "FundSafe":
      return `sent ${formatAmount(ctx.resolved.localEth, 18)} ETH to the Safe`;
    default: {
      const token = /^Token_(.+)$/.exec(name);
      if (token) return `deployed local token ${token[1]}${at}`;
      const mint = /^Mint_(.+)$/.exec(name);
      if (mint) {
        const t = ctx.resolved.localTokens.find((x) => x.symbol.replace(/[^A-Za-z0-9_]/g, "_") === mint[1]);
        return t ? `minted ${formatAmount(t.mint, t.decimals)} ${t.symbol} to the Safe` : `minted ${mint[1]} to the Safe`;
      }
      return `ignition: ${futureId}`;
    }
  }
}

/**
 * The body of `treasury:deploy` (see the file header). Returns what was deployed and what this run changed.
 * Throws {@link PolicyError} (bad file; nothing deployed), `KeyError`, {@link DeploymentFailedError}.
 */
export async function deployFromPolicy(hre: HardhatRuntimeEnvironment, policyFile: string, opts: DeployOptions = {}): Promise<DeployResult> {
  const log = opts.log ?? defaultLog(opts.json);
  const policy: Policy = loadPolicy(policyFile);
  const provider = hre.ethers.provider;
  const chainId = (await provider.getNetwork()).chainId;
  const network = hre.network.name;
  const devNode = await detectDevNode(provider);
  const dir = deploymentsDir(opts.deploymentsDir);
  const journalRoot = path.join(dir, "ignition", `chain-${chainId}`);

  // ---- Everything up to the first transaction can fail without side effects.
  const deployer = await resolveWallet(hre, "DEPLOYER", { keystore: opts.keystore });
  const localMode = chainId === LOCAL_CHAIN_ID && typeof policy.safe === "object";
  let ownerWallets: BaseWallet[] = [];
  if (localMode && typeof policy.safe === "object") {
    ownerWallets = policy.safe.owners.map((o) => devWalletFor(o)).filter((w): w is NonNullable<typeof w> => w !== undefined);
    if (ownerWallets.length < policy.safe.threshold) {
      throw new KeyError(
        "KEY_MISSING",
        `On the local chain the pipeline signs as the new Safe's owners with Hardhat development keys, but only ` +
          `${ownerWallets.length} of the owners are development accounts (threshold ${policy.safe.threshold}). ` +
          `Use development accounts as owners, or point "safe" at an existing Safe to get a batch file instead.`,
      );
    }
    ownerWallets = ownerWallets.slice(0, policy.safe.threshold).map((w) => w.connect(provider) as BaseWallet);
  }

  const tokenInit: Record<string, string> = {};
  const tokenTag: Record<string, string> = {};
  const localTokenAddresses: Record<string, string> = {};
  if (chainId === LOCAL_CHAIN_ID) {
    for (const [symbol, spec] of Object.entries(policy.localTokens ?? {})) {
      tokenInit[symbol] = await initCodeOf(hre, "MockERC20", [spec.name ?? `${symbol} (local mock)`, symbol, spec.decimals]);
      localTokenAddresses[symbol] = predictCreate2Address(tokenInit[symbol]);
      tokenTag[symbol] = tagOf(tokenInit[symbol]);
    }
  }
  const resolved = await resolvePolicy(policy, provider, { localTokenAddresses, file: policyFile });

  // Safe contracts: canonical where they exist, else compiled Safe 1.5.0 through CREATE2 on development nodes.
  const needSafeInfra = resolved.safe.kind === "new";
  // Looked up for an existing Safe too: the record lists every Safe contract protocol-kit's contractNetworks needs.
  let safeInfra = await canonicalSafeInfra(hre, chainId);
  const compiledSafeInfra = needSafeInfra && !safeInfra;
  if (compiledSafeInfra && !devNode && chainId !== LOCAL_CHAIN_ID) {
    throw new PolicyError(
      [{ path: "safe", message: `no canonical Safe deployment found on chain ${chainId}: point "safe" at an existing Safe`, value: policy.safe }],
      policyFile,
    );
  }
  const safeInit = {} as SafeInfraAddresses;
  const predictedSafeInfra = {} as SafeInfraAddresses;
  const safeTags = {} as SafeInfraAddresses;
  for (const c of SAFE_INFRA) {
    safeInit[c.name] = await initCodeOf(hre, c.artifact);
    predictedSafeInfra[c.name] = predictCreate2Address(safeInit[c.name]);
    safeTags[c.name] = tagOf(safeInit[c.name]);
  }
  if (compiledSafeInfra) safeInfra = predictedSafeInfra;
  else if (!safeInfra && (devNode || chainId === LOCAL_CHAIN_ID)) {
    // An existing Safe on a development chain: the compiled contracts, if an earlier run deployed them all.
    const codes = await Promise.all(SAFE_INFRA.map((c) => provider.getCode(predictedSafeInfra[c.name])));
    if (codes.every((c) => c !== "0x")) safeInfra = predictedSafeInfra;
  }

  const adminInit = await initCodeOf(hre, "AgentTreasuryAdmin");
  const admin = predictCreate2Address(adminInit);
  const atgInit = { implementation: await initCodeOf(hre, "AgentTreasuryModule", [admin]), lens: await initCodeOf(hre, "AgentTreasuryLens") };
  const implementation = predictCreate2Address(atgInit.implementation);
  const factoryInit = await initCodeOf(hre, "AgentTreasuryModuleFactory", [implementation]);
  const factory = predictCreate2Address(factoryInit);
  const lens = predictCreate2Address(atgInit.lens);
  const atgTags = { admin: tagOf(adminInit), implementation: tagOf(atgInit.implementation), factory: tagOf(factoryInit), lens: tagOf(atgInit.lens) };

  let safeAddress: string;
  let initializer = "0x";
  if (resolved.safe.kind === "new") {
    const infra = safeInfra!;
    initializer = safeInitializer(resolved.safe.owners, resolved.safe.threshold, infra.fallbackHandler);
    const creationCode = compiledSafeInfra
      ? (await hre.artifacts.readArtifact("SafeProxy")).bytecode
      : ((await new Contract(infra.proxyFactory, PROXY_FACTORY_ABI, provider).proxyCreationCode()) as string);
    safeAddress = predictSafeAddress(infra.proxyFactory, creationCode, infra.singleton, initializer, resolved.safe.saltNonce);
  } else {
    safeAddress = resolved.safe.address;
    try {
      await new Contract(safeAddress, SAFE_ABI, provider).getThreshold();
    } catch {
      throw new PolicyError([{ path: "safe", message: `${safeAddress} is not a Safe (getThreshold() failed)`, value: policy.safe }], policyFile);
    }
  }
  const moduleAddress = predictModuleAddress(factory, implementation, safeAddress, resolved.salt);
  preflight(policy, resolved, safeAddress, moduleAddress, policyFile);

  // ---- Deployment (Ignition).
  const changed: string[] = [];
  // A record of another instance of this chain (a restarted node) is set aside, kept as <chainId>.<genesis>.stale.json.
  const identity = await readChainIdentity(provider);
  const previous = await previousDeployment(provider, identity, log, dir);
  checkNodeInstance(journalRoot, chainId, devNode, log);
  if (await ensureCreateX(provider, chainId, devNode)) changed.push("deployed the CreateX factory (local development node)");
  const ignitionProvider = signingProvider(hre, deployer);
  const infraDir = path.join(journalRoot, "infra");
  const addresses: Record<string, string> = {};
  const ignitionExecuted: string[] = [];

  const hasCode = async (address: string) => (await provider.getCode(address)) !== "0x";
  /**
   * How a deterministic contract enters its Ignition module. A step the journal knows (done or in flight) stays a
   * deployment step, so Ignition resumes or skips it and its dependants keep their dependency; a contract that
   * exists without being in this journal (deployed by anyone, anywhere) is referenced with `contractAt`.
   * `done` says whether the contract is there and nothing about it is pending.
   */
  const step = async (futureId: string, address: string, journal: JournalState) => {
    const known = journal.successful.has(futureId) || journal.inFlight.has(futureId);
    const exists = await hasCode(address);
    return { existing: !known && exists ? address : undefined, done: exists && !journal.inFlight.has(futureId) };
  };

  if (compiledSafeInfra) {
    const journal = await journalState(hre, infraDir);
    const ids = safeInfraFutureIds(safeTags);
    const names = SAFE_INFRA.map((c) => c.name);
    const steps = await Promise.all(names.map((n) => step(`SafeInfra#${ids[n]}`, predictedSafeInfra[n], journal)));
    const existing: Partial<SafeInfraAddresses> = Object.fromEntries(names.map((n, i) => [n, steps[i].existing]));
    // Ignition runs only when something is missing (a run with nothing to deploy still parses build infos).
    if (steps.some((x) => !x.done)) {
      const run = await runIgnition(hre, safeInfraModule(existing, safeTags), infraDir, ignitionProvider, deployer.address, log);
      Object.assign(addresses, run.addresses);
      ignitionExecuted.push(...run.executed);
    }
  }
  {
    const journal = await journalState(hre, infraDir);
    const ids = agentTreasuryInfraFutureIds(atgTags);
    const predicted = { admin, implementation, factory, lens };
    const names = ["admin", "implementation", "factory", "lens"] as const;
    const steps = await Promise.all(names.map((n) => step(`AgentTreasuryInfra#${ids[n]}`, predicted[n], journal)));
    const existing = { admin: steps[0].existing, implementation: steps[1].existing, factory: steps[2].existing, lens: steps[3].existing };
    let got = (name: (typeof names)[number]) => predicted[name];
    if (steps.some((x) => !x.done)) {
      const run = await runIgnition(hre, agentTreasuryInfraModule(existing, atgTags), infraDir, ignitionProvider, deployer.address, log);
      Object.assign(addresses, run.addresses);
      ignitionExecuted.push(...run.executed);
      got = (name) => existing[name] ?? run.addresses[`AgentTreasuryInfra#${ids[name]}`];
    }
    if (got("admin") !== admin || got("implementation") !== implementation || got("factory") !== factory || got("lens") !== lens) {
      throw new DeploymentFailedError(
        `Deterministic addresses differ from the prediction (implementation ${got("implementation")} vs ${implementation}); ` +
          `the compiled contracts may have changed since the journal in ${infraDir} was written.`,
      );
    }
  }

  const instanceDir = path.join(journalRoot, `instance-${safeAddress.toLowerCase()}-${resolved.salt.slice(2, 14)}`);
  const journal = await journalState(hre, instanceDir);
  // Resuming an interrupted run: its steps are replayed with the same arguments (Ignition skips the done ones and
  // keeps their dependencies). Otherwise done steps are left out, so a changed file never conflicts with them.
  const resuming = journal.inFlight.size > 0;
  const full = (futureId: string) => `AgentTreasuryInstance#${futureId}`;
  const wants = (futureId: string, needed: boolean) =>
    journal.inFlight.has(full(futureId)) ||
    (resuming && journal.successful.has(full(futureId))) ||
    (!journal.successful.has(full(futureId)) && needed);
  const spec: InstanceSpec = {};
  if (resolved.safe.kind === "new" && wants(instanceFutureIds.createSafe, (await provider.getCode(safeAddress)) === "0x")) {
    spec.createSafe = { proxyFactory: safeInfra!.proxyFactory, singleton: safeInfra!.singleton, initializer, saltNonce: resolved.safe.saltNonce };
  }
  if (wants(instanceFutureIds.createModule(factory), (await provider.getCode(moduleAddress)) === "0x")) {
    spec.createModule = { factory, safe: safeAddress, salt: resolved.salt };
  }
  for (const token of resolved.localTokens) {
    const tag = tokenTag[token.symbol];
    const tokenStep = instanceFutureIds.token(token.symbol, tag);
    const exists = await hasCode(token.address);
    const deployStep = !exists || wants(tokenStep, false);
    const existing = deployStep ? undefined : token.address;
    const balance = exists ? ((await new Contract(token.address, ERC20_ABI, provider).balanceOf(safeAddress)) as bigint) : 0n;
    const mint = token.mint > 0n && wants(instanceFutureIds.mint(token.symbol, tag), balance === 0n);
    if (deployStep || mint) {
      (spec.localTokens ??= []).push({
        symbol: token.symbol,
        name: token.name,
        decimals: token.decimals,
        tag,
        existing,
        mint: mint ? { to: safeAddress, amount: token.mint } : undefined,
      });
    }
  }
  if (resolved.localEth > 0n && wants(instanceFutureIds.fundSafe, (await provider.getBalance(safeAddress)) === 0n)) {
    spec.fundEth = { to: safeAddress, amount: resolved.localEth };
  }
  const samePreviousChain = previous?.nodeInstance === devNode?.instanceId;
  let moduleBlock = samePreviousChain && previous?.module && getAddress(previous.module) === moduleAddress ? previous.moduleBlock : undefined;
  if (Object.keys(spec).length > 0) {
    const run = await runIgnition(hre, agentTreasuryInstanceModule(spec), instanceDir, ignitionProvider, deployer.address, log);
    Object.assign(addresses, run.addresses);
    ignitionExecuted.push(...run.executed);
  }
  if (moduleBlock === undefined) moduleBlock = await findModuleBlock(hre, factory, safeAddress, moduleAddress);
  for (const futureId of ignitionExecuted) {
    changed.push(describeFuture(futureId, { addresses, resolved, safe: safeAddress, module: moduleAddress }));
  }

  // v3, local chain only: Uniswap v3 from the npm artifacts, before configuration (calls and allowances name it).
  if (resolved.localUniswap) changed.push(...(await deployLocalUniswap(deployer.connect(provider), resolved.localUniswap.pools, log)));

  // The chain now has the contracts where they were predicted.
  for (const [what, address] of [["Safe", safeAddress], ["module", moduleAddress]] as const) {
    if ((await provider.getCode(address)) === "0x") throw new DeploymentFailedError(`No ${what} at the predicted address ${address} after deployment.`);
  }
  if (resolved.safe.kind === "new") await checkSafeOwners(hre, safeAddress, resolved.safe.owners, resolved.safe.threshold);

  // ---- Configuration.
  const target = { safe: safeAddress, module: moduleAddress, lens, moduleBlock, tokens: resolved.tokens };
  const superseded = await supersededModuleItem(hre, previous, safeAddress, resolved.salt, moduleAddress);
  const fullPlan = async () => [...(superseded && (await stillEnabled(hre, safeAddress, superseded.module)) ? [superseded.item] : []), ...(await planPolicy(hre, resolved, target))];
  let items = await fullPlan();
  let batchFile: string | undefined;
  const nextSteps: string[] = [];
  if (localMode && items.length > 0) {
    log(`configuring: ${items.length} Safe call(s), signed by ${ownerWallets.length} owner key(s) on the local chain`);
    await executeAsOwners(safeAddress, safeInfra!.multiSendCallOnly, ownerWallets, deployer, items, log);
    changed.push(...items.map((i) => `configured: ${i.description}`));
    items = await fullPlan();
    if (items.length > 0) {
      throw new DeploymentFailedError(`After applying the policy, ${items.length} change(s) remain: ${items.map((i) => i.description).join("; ")}`);
    }
  } else if (items.length > 0) {
    const safe = new Contract(safeAddress, SAFE_ABI, provider);
    const nonce = (await safe.nonce()) as bigint;
    batchFile = path.join(dir, "batches", `${chainId}-${safeAddress}-nonce${nonce}.json`);
    const batch = buildBatch({
      chainId,
      safe: safeAddress,
      name: `Agent Treasury Guard: ${path.basename(policyFile)}`,
      description: items.map((i, n) => `${n + 1}. ${i.loosens ? "[loosens] " : ""}${i.description}`).join("\n"),
      transactions: items.map((i) => i.call),
    });
    // An unchanged pending batch is not rewritten (its checksum and the owners' review stay valid).
    if (!sameBatchOnDisk(batchFile, batch)) writeBatch(batchFile, batch);
    nextSteps.push(
      `Open the Safe ${safeAddress} in the Safe app (chain ${chainId}) -> Apps -> Transaction Builder.`,
      `Drag in ${batchFile} and check the ${items.length} call(s) against the list above (loosening changes are marked).`,
      `Create the batch, collect the owners' signatures and execute it.`,
      `Then run: npx hardhat treasury:plan --policy ${policyFile} --network ${network}  (it should show nothing to do).`,
    );
    for (const step of nextSteps) log(`next: ${step}`);
  }

  // ---- Record.
  const sameAsBefore =
    previous !== undefined &&
    previous.module?.toLowerCase() === moduleAddress.toLowerCase() &&
    previous.nodeInstance === devNode?.instanceId &&
    changed.length === 0;
  const record: DeploymentRecord = {
    chainId: chainId.toString(),
    network,
    safe: safeAddress,
    module: moduleAddress,
    implementation,
    factory,
    lens,
    agents: Object.fromEntries(resolved.agents.map((a) => [a.name, a.address])),
    tokens: resolved.tokens,
    policyFile: path.resolve(policyFile),
    deployedAt: sameAsBefore ? previous!.deployedAt : new Date().toISOString(),
    salt: resolved.salt,
    moduleBlock,
    safeInfra,
    nodeInstance: devNode?.instanceId,
    genesisHash: identity.genesisHash,
  };
  const deploymentFile = writeDeployment(record, dir);

  if (opts.verify) await verifyContracts(hre, devNode, { admin, implementation, factory, lens }, log);
  log(changed.length === 0 && !batchFile ? "nothing to do: the chain already matches the policy" : `done: ${changed.length} change(s)`);
  return {
    chainId: chainId.toString(),
    network,
    mode: localMode ? "local" : "live",
    safe: safeAddress,
    module: moduleAddress,
    implementation,
    factory,
    lens,
    changed,
    pending: items.map((i) => ({ kind: i.kind, description: i.description, loosens: i.loosens, to: i.call.to, data: i.call.data })),
    batchFile,
    nextSteps,
    deploymentFile,
  };
}

function sameBatchOnDisk(file: string, batch: ReturnType<typeof buildBatch>): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    const existing = readBatch(file);
    return existing.chainId === batch.chainId && JSON.stringify(existing.transactions) === JSON.stringify(batch.transactions);
  } catch {
    return false;
  }
}

const SENTINEL_MODULES = "0x0000000000000000000000000000000000000001";
const MODULE_LIST_ABI = [
  "function getModulesPaginated(address start, uint256 pageSize) view returns (address[] array, address next)",
  "function disableModule(address prevModule, address module)",
  "function isModuleEnabled(address module) view returns (bool)",
];

async function stillEnabled(hre: HardhatRuntimeEnvironment, safe: string, module: string): Promise<boolean> {
  return Boolean(await new Contract(safe, MODULE_LIST_ABI, hre.ethers.provider).isModuleEnabled(module));
}

/**
 * When the contracts changed since the last deployment (new implementation, so a new clone for the same Safe and
 * salt), the old module must not stay enabled beside the new one with its old agents: the plan disables it.
 */
async function supersededModuleItem(
  hre: HardhatRuntimeEnvironment,
  previous: DeploymentRecord | undefined,
  safe: string,
  salt: string,
  module: string,
): Promise<{ module: string; item: PlanItem } | undefined> {
  if (!previous || previous.salt !== salt || getAddress(previous.safe) !== safe || getAddress(previous.module) === module) return undefined;
  const old = getAddress(previous.module);
  const contract = new Contract(safe, MODULE_LIST_ABI, hre.ethers.provider);
  if (!(await contract.isModuleEnabled(old))) return undefined;
  const [modules] = (await contract.getModulesPaginated(SENTINEL_MODULES, 50)) as [string[], string];
  const index = modules.map((m) => m.toLowerCase()).indexOf(old.toLowerCase());
  if (index < 0) return undefined;
  const prev = index === 0 ? SENTINEL_MODULES : modules[index - 1];
  return {
    module: old,
    item: {
      kind: "disableModule",
      description: `disable the superseded module ${old} (same Safe and salt, earlier contract code) before the new one takes over`,
      loosens: false,
      call: { to: safe, data: contract.interface.encodeFunctionData("disableModule", [prev, old]) },
    },
  };
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
    if (self) issues.push({ path: formatPath(["agents", a, "address"]), message: `an agent cannot be ${self}`, value: policy.agents[a].address });
    agent.allowedCalls.forEach((c, i) => {
      const bad = forbidden.get(c.target.toLowerCase());
      if (bad) issues.push({ path: formatPath(["agents", a, "allowedCalls", i, "target"]), message: `a call target cannot be ${bad}`, value: c.targetLabel });
    });
  });
  issues.push(...targetIssues(resolved, module));
  if (issues.length > 0) throw new PolicyError(issues, file);
}

async function checkSafeOwners(hre: HardhatRuntimeEnvironment, safeAddress: string, owners: string[], threshold: number) {
  const safe = new Contract(safeAddress, SAFE_ABI, hre.ethers.provider);
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
async function findModuleBlock(hre: HardhatRuntimeEnvironment, factory: string, safe: string, module: string): Promise<number | undefined> {
  const iface = new Interface(["event ModuleCreated(address indexed avatar, address indexed module, bytes32 salt)"]);
  const topic = iface.getEvent("ModuleCreated")!.topicHash;
  const pad = (a: string) => AbiCoder.defaultAbiCoder().encode(["address"], [a]);
  try {
    const logs = await hre.ethers.provider.getLogs({ address: factory, topics: [topic, pad(safe), pad(module)], fromBlock: 0, toBlock: "latest" });
    return logs.length > 0 ? logs[0].blockNumber : undefined;
  } catch {
    return undefined;
  }
}

/** Source verification on the block explorer (hardhat-verify); skipped on development nodes. */
async function verifyContracts(
  hre: HardhatRuntimeEnvironment,
  devNode: DevNode | undefined,
  c: { admin: string; implementation: string; factory: string; lens: string },
  log: (line: string) => void,
) {
  if (devNode) {
    log("verify: skipped on a local development node");
    return;
  }
  for (const [address, args] of [
    [c.admin, []],
    [c.implementation, [c.admin]],
    [c.factory, [c.implementation]],
    [c.lens, []],
  ] as [string, unknown[]][]) {
    try {
      await hre.run("verify:verify", { address, constructorArguments: args });
      log(`verify: ${address} verified`);
    } catch (error) {
      const message = (error as Error).message;
      if (/already verified/i.test(message)) log(`verify: ${address} already verified`);
      else log(`verify: ${address} failed: ${message.split("\n")[0]}`);
    }
  }
}

