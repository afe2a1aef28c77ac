/**
 * `treasury:deploy`: one command from a policy file to a configured treasury, in four steps, one file each.
 *
 * 1. Resolve (deploy/resolve.ts): load and validate the file, resolve it against the chain and compute every address
 *    up front (CREATE2 everywhere), so a bad file or a missing key fails before the first transaction.
 * 2. Deploy (deploy/contracts.ts): Hardhat Ignition deploys what is missing with the `create2` strategy; its journal
 *    (next to the deployment records) makes an interrupted run resume where it stopped.
 * 3. Configure (deploy/configure.ts): the plan (deploy/plan.ts), signed by the new Safe's development owners on
 *    chain 31337, else written as a Safe Transaction Builder batch file for the owners.
 * 4. Record (core/deployment.ts): a deployment record lets every other task find the Safe, module and lens.
 *
 * Running it again with the same file changes nothing and says so (`changed: []`).
 */
import path from "path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { DeploymentRecord, deploymentsDir, previousDeployment, writeDeployment } from "../core/deployment";
import type { WalletResolver } from "../core/keys";
import type { PlanItem } from "../core/policyDiff";
import { ChainIdentity, readChainIdentity } from "../sdk/chainIdentity";
import { Configuration, configureTreasury } from "./configure";
import { deployContracts } from "./contracts";
import type { DevNode } from "./create2";
import { hardhatChain } from "./hardhatChain";
import { DeploymentSpec, resolveDeployment } from "./resolve";

export interface DeployOptions {
  json?: boolean;
  /** Progress lines (the task prints them on stderr). */
  log?: (line: string) => void;
  deploymentsDir?: string;
  /** Where keys come from (the CLI's: tasks/lib/keys.ts `cliWallets`). Only the deployer's is asked for. */
  keys: WalletResolver;
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

function defaultLog(json: boolean | undefined) {
  return json ? () => {} : (line: string) => process.stderr.write(`${line}\n`);
}

/**
 * The body of `treasury:deploy` (see the file header). Returns what was deployed and what this run changed.
 * Throws `PolicyError` (bad file; nothing deployed), `KeyError`, `DeploymentFailedError` (deploy/errors.ts).
 */
export async function deployFromPolicy(
  hre: HardhatRuntimeEnvironment,
  policyFile: string,
  opts: DeployOptions,
): Promise<DeployResult> {
  const log = opts.log ?? defaultLog(opts.json);
  const chain = hardhatChain(hre);
  const spec = await resolveDeployment(chain, policyFile, { keys: opts.keys, keystore: opts.keystore });
  const dir = deploymentsDir(opts.deploymentsDir);
  // A record of another instance of this chain (a restarted node) is set aside, kept as <chainId>.<genesis>.stale.json.
  const identity = await readChainIdentity(chain.provider);
  const previous = await previousDeployment(chain.provider, identity, log, dir);
  const journalRoot = path.join(dir, "ignition", `chain-${spec.chainId}`);
  const deployed = await deployContracts(hre, spec, { journalRoot, previous, log });
  const configured = await configureTreasury(chain, spec, { moduleBlock: deployed.moduleBlock, previous, dir, log });
  const changed = [...deployed.changed, ...configured.changed];
  const deploymentFile = writeDeployment(
    deploymentRecord(spec, { network: chain.network, identity, previous, changed, moduleBlock: deployed.moduleBlock }),
    dir,
  );
  if (opts.verify) await verifyContracts(hre, spec.devNode, spec, log);
  log(
    changed.length === 0 && !configured.batchFile
      ? "nothing to do: the chain already matches the policy"
      : `done: ${changed.length} change(s)`,
  );
  return deployResult(spec, chain.network, changed, configured, deploymentFile);
}

/** Step 4: the record every other task reads (its `deployedAt` kept when this run changed nothing). */
function deploymentRecord(
  spec: DeploymentSpec,
  ctx: {
    network: string;
    identity: ChainIdentity;
    previous?: DeploymentRecord;
    changed: string[];
    moduleBlock?: number;
  },
): DeploymentRecord {
  const { previous } = ctx;
  const sameAsBefore =
    previous !== undefined &&
    previous.module?.toLowerCase() === spec.module.toLowerCase() &&
    previous.nodeInstance === spec.devNode?.instanceId &&
    ctx.changed.length === 0;
  return {
    chainId: spec.chainId.toString(),
    network: ctx.network,
    safe: spec.safe,
    module: spec.module,
    implementation: spec.implementation,
    factory: spec.factory,
    lens: spec.lens,
    agents: Object.fromEntries(spec.resolved.agents.map((a) => [a.name, a.address])),
    tokens: spec.resolved.tokens,
    ...(Object.keys(spec.resolved.contracts).length > 0 ? { contracts: spec.resolved.contracts } : {}),
    ...(Object.keys(spec.localFeedAddresses).length > 0 ? { localPriceFeeds: spec.localFeedAddresses } : {}),
    policyFile: path.resolve(spec.policyFile),
    deployedAt: sameAsBefore ? previous.deployedAt : new Date().toISOString(),
    salt: spec.resolved.salt,
    moduleBlock: ctx.moduleBlock,
    safeInfra: spec.safeInfra,
    nodeInstance: spec.devNode?.instanceId,
    genesisHash: ctx.identity.genesisHash,
  };
}

function deployResult(
  spec: DeploymentSpec,
  network: string,
  changed: string[],
  configured: Configuration,
  deploymentFile: string,
): DeployResult {
  return {
    chainId: spec.chainId.toString(),
    network,
    mode: spec.localMode ? "local" : "live",
    safe: spec.safe,
    module: spec.module,
    implementation: spec.implementation,
    factory: spec.factory,
    lens: spec.lens,
    changed,
    pending: configured.pending.map((i) => ({
      kind: i.kind,
      description: i.description,
      loosens: i.loosens,
      to: i.call.to,
      data: i.call.data,
    })),
    batchFile: configured.batchFile,
    nextSteps: configured.nextSteps,
    deploymentFile,
  };
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
