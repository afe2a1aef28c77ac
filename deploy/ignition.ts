/**
 * Running an Ignition module for the pipeline (deploy/contracts.ts): the `create2` strategy with the project's one
 * salt, the deployer's key signing locally, progress lines per step, a retry of steps that failed in an earlier run,
 * and the recovery of a transaction an interrupted run broadcast without recording it (IGN411). The journal lives
 * next to the deployment records, so an interrupted run resumes where it stopped.
 */
import fs from "fs";
import path from "path";
import { BaseWallet, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type {
  ArtifactResolver,
  BuildInfo,
  DeploymentResult,
  EIP1193Provider,
  ExecutionEventListener,
  Future,
  IgnitionModule,
  IgnitionModuleResult,
  SuccessfulDeploymentResult,
} from "@nomicfoundation/ignition-core";
import { CREATE2_SALT } from "./create2";
import { DeploymentFailedError } from "./errors";

/** What an Ignition journal says about its steps. */
export interface JournalState {
  successful: Set<string>;
  inFlight: Set<string>;
  failed: Set<string>;
}

/** The state of the journal in `dir` (empty when there is none). */
export async function journalState(hre: HardhatRuntimeEnvironment, dir: string): Promise<JournalState> {
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
export function signingProvider(hre: HardhatRuntimeEnvironment, wallet: BaseWallet): EIP1193Provider {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { applyProviderWrappers } = require("hardhat/internal/core/providers/construction") as {
    applyProviderWrappers: (
      provider: unknown,
      config: Record<string, unknown>,
      extenders: unknown[],
    ) => EIP1193Provider;
  };
  return applyProviderWrappers(
    hre.network.provider,
    {
      url: "signing-wrapper",
      accounts: [wallet.privateKey],
      gas: "auto",
      gasPrice: "auto",
      gasMultiplier: 1,
      httpHeaders: {},
      timeout: 60_000,
    },
    [],
  );
}

export interface IgnitionRun {
  /** Future id -> address of every contract in the module. */
  addresses: Record<string, string>;
  /** Future ids this run executed (in order). */
  executed: string[];
}

type ExecutionEvent = { type: string; futureId?: string; result?: { type: string; result?: string; error?: string } };

/** An execution listener that logs each step and collects the ones that succeeded into `executed`. */
function progressListener(log: (line: string) => void, executed: string[]): ExecutionEventListener {
  const handler = (event: ExecutionEvent) => {
    if (event.type === "TRANSACTION_SEND" && event.futureId) log(`ignition: ${event.futureId} transaction sent`);
    if (
      event.type.endsWith("_EXECUTION_STATE_COMPLETE") &&
      event.futureId &&
      event.type !== "STATIC_CALL_EXECUTION_STATE_COMPLETE"
    ) {
      if (event.result?.type === "SUCCESS") {
        executed.push(event.futureId);
        log(`ignition: ${event.futureId} done${event.result.result ? ` (${event.result.result})` : ""}`);
      } else if (event.result?.type === "ERROR") {
        log(`ignition: ${event.futureId} failed: ${event.result.error}`);
      }
    }
  };
  return new Proxy({}, { get: () => handler }) as unknown as ExecutionEventListener;
}

/**
 * Deploys `module` with the `create2` strategy, journal in `dir`, sent from `sender` through `provider` (see
 * {@link signingProvider}). Throws {@link DeploymentFailedError} naming every failed step and the journal.
 */
export async function runIgnition<
  ModuleIdT extends string,
  ContractNameT extends string,
  R extends IgnitionModuleResult<ContractNameT>,
>(
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
  const buildInfos = new BuildInfoOnce(hre, artifactResolver);
  for (const futureId of (await journalState(hre, dir)).failed) {
    // A failed step from an earlier run (e.g. out of gas) is retried rather than blocking the deployment.
    log(`ignition: retrying ${futureId}, which failed in an earlier run`);
    await wipe(dir, artifactResolver, futureId);
  }
  const executed: string[] = [];
  log(`ignition: ${module.id}: ${module.futures.size} step(s) to check or run`);
  fs.mkdirSync(dir, { recursive: true });
  const run = () =>
    deploy({
      config: hre.config.ignition,
      artifactResolver: buildInfos,
      provider,
      executionEventListener: progressListener(log, executed),
      deploymentDir: dir,
      ignitionModule: module,
      deploymentParameters: {},
      accounts: [sender],
      defaultSender: sender,
      strategy: "create2",
      strategyConfig: { salt: CREATE2_SALT },
    });
  let result: Awaited<ReturnType<typeof run>>;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        result = await run();
        break;
      } catch (error) {
        if (attempt >= 3 || !(await recoverLostTransaction(hre, error as Error, dir, provider, log))) throw error;
      }
    }
  } finally {
    await buildInfos.link(module, dir);
  }
  if (result.type !== "SUCCESSFUL_DEPLOYMENT") throw ignitionFailure(module.id, result, dir);
  const addresses: Record<string, string> = {};
  for (const [futureId, contract] of Object.entries(result.contracts))
    addresses[futureId] = getAddress(contract.address);
  return { addresses, executed };
}

/** The future types whose contract Ignition takes from Hardhat's artifacts, storing its build info with it. */
const NAMED_ARTIFACT_FUTURES: ReadonlySet<string> = new Set([
  "NAMED_ARTIFACT_CONTRACT_DEPLOYMENT",
  "NAMED_ARTIFACT_LIBRARY_DEPLOYMENT",
  "NAMED_ARTIFACT_CONTRACT_AT",
]);

/**
 * Hardhat's artifact resolver, handing each build info to Ignition once per run.
 *
 * For every contract it deploys or references, Ignition stores the contract's artifact and its build info (solc's
 * whole input and output for the compilation job that built it, 19 MB for this project's main job, 44 MB as
 * Ignition writes it) beside the journal, reading and parsing the build info again and rewriting the same file each
 * time, since all contracts of a job share it. For the example's 18 contracts that was about 30 s of CPU, most of
 * a deployment's cost. Here the first contract of a job gets its build info (Ignition writes the file once), the
 * others get none (Ignition stores only their artifact), and {@link link} then writes their `<futureId>.dbg.json`
 * link to the build info file as Ignition does: the deployment directory ends as plain Ignition leaves it.
 * Where the build info file cannot be found this way, the plain resolver answers as before.
 */
export class BuildInfoOnce implements ArtifactResolver {
  /** Build info files handed to Ignition in this run (absolute paths in Hardhat's artifacts). */
  private readonly handedOut = new Set<string>();

  constructor(
    private readonly hre: HardhatRuntimeEnvironment,
    private readonly plain: ArtifactResolver,
  ) {}

  loadArtifact(contractName: string) {
    return this.plain.loadArtifact(contractName);
  }

  async getBuildInfo(contractName: string): Promise<BuildInfo | undefined> {
    const file = await this.buildInfoFile(contractName);
    if (file === undefined) return this.plain.getBuildInfo(contractName);
    if (this.handedOut.has(file)) return undefined;
    this.handedOut.add(file);
    return JSON.parse(await fs.promises.readFile(file, "utf8")) as BuildInfo;
  }

  /**
   * Writes the `<futureId>.dbg.json` link of every contract of `module` whose artifact is in the deployment
   * directory `dir` without one (those {@link getBuildInfo} gave no build info, in this run or in one that was
   * killed), and the build info file it points to when that is missing, both as Ignition writes them.
   */
  async link(module: IgnitionModule, dir: string): Promise<void> {
    for (const future of futuresOf(module)) {
      if (!NAMED_ARTIFACT_FUTURES.has(future.type) || !("contractName" in future)) continue;
      const artifact = path.join(dir, "artifacts", `${future.id}.json`);
      const debug = path.join(dir, "artifacts", `${future.id}.dbg.json`);
      if (!fs.existsSync(artifact) || fs.existsSync(debug)) continue;
      const source = await this.buildInfoFile(future.contractName);
      if (source === undefined) continue;
      const stored = path.join(dir, "build-info", path.basename(source));
      if (!fs.existsSync(stored)) {
        fs.mkdirSync(path.dirname(stored), { recursive: true });
        fs.writeFileSync(stored, JSON.stringify(JSON.parse(fs.readFileSync(source, "utf8")), undefined, 2));
      }
      const link = { _format: "hh-sol-dbg-1", buildInfo: path.relative(path.dirname(debug), stored) };
      fs.writeFileSync(debug, JSON.stringify(link, undefined, 2));
    }
  }

  /** The build info file of `contractName` in Hardhat's artifacts (from its `.dbg.json`), or undefined. */
  private async buildInfoFile(contractName: string): Promise<string | undefined> {
    try {
      const artifact = await this.hre.artifacts.readArtifact(contractName);
      const artifactPath = this.hre.artifacts.formArtifactPathFromFullyQualifiedName(
        `${artifact.sourceName}:${artifact.contractName}`,
      );
      const debug = JSON.parse(await fs.promises.readFile(artifactPath.replace(/\.json$/, ".dbg.json"), "utf8")) as {
        buildInfo?: unknown;
      };
      if (typeof debug.buildInfo !== "string") return undefined;
      const file = path.resolve(path.dirname(artifactPath), debug.buildInfo);
      return fs.existsSync(file) ? file : undefined;
    } catch {
      return undefined;
    }
  }
}

/** Every future of `module` and of its submodules. */
function futuresOf(module: IgnitionModule): Future[] {
  return [...module.futures, ...[...module.submodules].flatMap(futuresOf)];
}

type FailedResult = Exclude<DeploymentResult, SuccessfulDeploymentResult>;

function ignitionFailure(moduleId: string, result: FailedResult, dir: string): DeploymentFailedError {
  const details =
    "errors" in result
      ? Object.entries(result.errors).map(([id, errs]) => `${id}: ${errs.join("; ")}`)
      : [
          ...result.failed.map((f) => `${f.futureId}: ${f.error}`),
          ...result.timedOut.map((f) => `${f.futureId}: timed out`),
          ...result.held.map((f) => `${f.futureId}: held (${f.reason})`),
        ];
  return new DeploymentFailedError(
    `Ignition deployment ${moduleId} failed (${result.type}):\n  ${details.join("\n  ")}\n` +
      `The journal is in ${dir}; fix the cause and run again to resume (delete that directory to start over).`,
  );
}

const LOST_TX_SEARCH_BLOCKS = 2_000;

/**
 * An earlier run was interrupted after broadcasting a transaction but before its journal recorded the hash
 * (IGN411): finds the transaction by sender and nonce and adds it to the journal, so the next attempt resumes.
 * False when `error` is something else.
 */
async function recoverLostTransaction(
  hre: HardhatRuntimeEnvironment,
  error: Error,
  dir: string,
  provider: EIP1193Provider,
  log: (line: string) => void,
): Promise<boolean> {
  const lost = /future (\S+?)\.\s[\s\S]*nonce (\d+) sent from account (0x[0-9a-fA-F]{40})/.exec(error.message);
  if (!lost) return false;
  const [, futureId, nonce, from] = lost;
  const hash = await findTransaction(hre, from, Number(nonce));
  if (!hash) {
    throw new DeploymentFailedError(
      `${error.message.split("\n")[0]} The transaction with nonce ${nonce} from ${from} was not found in the ` +
        `last ${LOST_TX_SEARCH_BLOCKS} blocks; wait for it to be mined and run again (journal: ${dir}).`,
    );
  }
  const { trackTransaction } = await import("@nomicfoundation/ignition-core");
  await trackTransaction(dir, hash, provider, hre.config.ignition.requiredConfirmations ?? 1);
  log(`ignition: ${futureId}: found its transaction ${hash} from the interrupted run; resuming`);
  return true;
}

/** The hash of the mined transaction from `from` with `nonce`, searching the latest blocks. */
async function findTransaction(
  hre: HardhatRuntimeEnvironment,
  from: string,
  nonce: number,
): Promise<string | undefined> {
  const provider = hre.ethers.provider;
  const latest = await provider.getBlockNumber();
  for (let n = latest; n >= Math.max(0, latest - LOST_TX_SEARCH_BLOCKS); n--) {
    const block = await provider.getBlock(n, true);
    const tx = block?.prefetchedTransactions.find(
      (t) => t.from.toLowerCase() === from.toLowerCase() && t.nonce === nonce,
    );
    if (tx) return tx.hash;
  }
  return undefined;
}
