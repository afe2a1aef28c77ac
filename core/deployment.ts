/**
 * Deployment records: what `treasury:deploy` put on a chain, so that every other task finds the Safe, the module
 * and the lens without addresses typed by hand. One JSON file per chain, `deployments/<chainId>.json`
 * (git-ignored). `DEPLOYMENTS_DIR` overrides the directory; tests use temporary directories.
 *
 * A record names the chain instance it was written on (`genesisHash`, and `nodeInstance` on a Hardhat node; see
 * sdk/chainIdentity.ts). Against another instance of the same chain id (a restarted `hardhat node`), the tasks that
 * read it stop with {@link DeploymentStaleError} (never a raw decoding error, never a plan for a Safe that is not
 * there), and `treasury:deploy` sets it aside as `<chainId>.<genesis prefix>.stale.json` before writing a new one.
 */
import fs from "fs";
import path from "path";
import type { Provider } from "ethers";
import {
  ChainIdentity,
  describeIdentity,
  identityMismatch,
  readChainIdentity,
  setAside,
  staleFileName,
} from "../sdk/chainIdentity";

export interface DeploymentRecord {
  chainId: string;
  network: string;
  safe: string;
  module: string;
  implementation: string;
  factory: string;
  lens: string;
  /** agent name -> address, from the policy. */
  agents: Record<string, string>;
  /** token symbol -> address, from the policy (and local mock tokens). */
  tokens: Record<string, string>;
  /**
   * v3: local contract names the policy uses as call targets and spenders -> address (the local Uniswap's, with
   * `localUniswap`), so that tools can name them. Absent when there are none.
   */
  contracts?: Record<string, string>;
  /** v3: `localPriceFeeds` key -> the mock feed deployed for it (chain 31337). */
  localPriceFeeds?: Record<string, string>;
  policyFile?: string;
  deployedAt: string;
  /** bytes32 salt of the module clone. */
  salt?: string;
  /** Block of the module's creation: log scans (plan, status) start here. */
  moduleBlock?: number;
  /**
   * The Safe contracts of this chain (canonical, or Safe 1.5.0 compiled for a local chain): everything Safe's
   * protocol-kit needs in `contractNetworks` (see {@link protocolKitContractNetworks}).
   */
  safeInfra?: SafeInfraRecord;
  /** A local node's instance id: a record from an earlier node instance is stale. */
  nodeInstance?: string;
  /** Hash of block 0 of the chain the record was written on. Absent in records written before it was recorded. */
  genesisHash?: string;
}

/** The Safe contracts a record lists (deploy/modules/SafeInfra.ts deploys them on development chains). */
export interface SafeInfraRecord {
  singleton: string;
  proxyFactory: string;
  fallbackHandler: string;
  multiSendCallOnly: string;
  /** Absent in records written before these were recorded: run treasury:deploy again to add them. */
  multiSend?: string;
  signMessageLib?: string;
  createCall?: string;
  simulateTxAccessor?: string;
}

/** protocol-kit's `ContractNetworkConfig` (the fields a Safe 1.x deployment has), without depending on protocol-kit. */
export interface ProtocolKitContractNetwork {
  safeSingletonAddress: string;
  safeProxyFactoryAddress: string;
  fallbackHandlerAddress: string;
  multiSendCallOnlyAddress: string;
  multiSendAddress: string;
  signMessageLibAddress: string;
  createCallAddress: string;
  simulateTxAccessorAddress: string;
}

/**
 * The `contractNetworks` option of Safe's protocol-kit for a deployment record:
 * `Safe.init({ provider, signer, safeAddress: record.safe, contractNetworks: protocolKitContractNetworks(record) })`.
 * @throws Error naming what is missing when the record predates the full list (run treasury:deploy again).
 */
export function protocolKitContractNetworks(record: DeploymentRecord): Record<string, ProtocolKitContractNetwork> {
  const i = record.safeInfra;
  const missing = (["multiSend", "signMessageLib", "createCall", "simulateTxAccessor"] as const).filter((k) => !i?.[k]);
  if (!i || missing.length > 0) {
    throw new Error(
      `The deployment record of chain ${record.chainId} does not list ${i ? missing.join(", ") : "the Safe contracts"}: ` +
        "run treasury:deploy with the same policy again to record them (nothing else changes).",
    );
  }
  return {
    [record.chainId]: {
      safeSingletonAddress: i.singleton,
      safeProxyFactoryAddress: i.proxyFactory,
      fallbackHandlerAddress: i.fallbackHandler,
      multiSendCallOnlyAddress: i.multiSendCallOnly,
      multiSendAddress: i.multiSend!,
      signMessageLibAddress: i.signMessageLib!,
      createCallAddress: i.createCall!,
      simulateTxAccessorAddress: i.simulateTxAccessor!,
    },
  };
}

/** No record for the chain: deploy first, or pass `--module`. */
export class DeploymentNotFoundError extends Error {
  readonly code = "DEPLOYMENT_NOT_FOUND";
  constructor(
    readonly chainId: string,
    readonly file: string,
  ) {
    super(
      `No deployment record for chain ${chainId} (${file}): run treasury:deploy --policy <file> on this network first, ` +
        `or pass --module <address> (and set DEPLOYMENTS_DIR if the records live elsewhere).`,
    );
    this.name = "DeploymentNotFoundError";
  }
}

/** The directory of deployment records: `dir`, else `DEPLOYMENTS_DIR`, else `./deployments`. */
export function deploymentsDir(dir?: string): string {
  return path.resolve(dir ?? (process.env.DEPLOYMENTS_DIR || "deployments"));
}

export function deploymentFile(chainId: bigint | string, dir?: string): string {
  return path.join(deploymentsDir(dir), `${chainId.toString()}.json`);
}

/** Reads the record of a chain, or undefined when there is none. */
export function tryReadDeployment(chainId: bigint | string, dir?: string): DeploymentRecord | undefined {
  const file = deploymentFile(chainId, dir);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, "utf8")) as DeploymentRecord;
}

/** Reads the record of a chain. Throws {@link DeploymentNotFoundError} when there is none. */
export function readDeployment(chainId: bigint | string, dir?: string): DeploymentRecord {
  const record = tryReadDeployment(chainId, dir);
  if (!record) throw new DeploymentNotFoundError(chainId.toString(), deploymentFile(chainId, dir));
  return record;
}

/** Writes (replaces) the record of `record.chainId` atomically. Returns the file path. */
export function writeDeployment(record: DeploymentRecord, dir?: string): string {
  const file = deploymentFile(record.chainId, dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(tmp, file);
  return file;
}

/** The chain instance a record names (the fields it lacks are left out). */
export function recordIdentity(record: DeploymentRecord): Partial<ChainIdentity> {
  return {
    chainId: record.chainId,
    ...(record.genesisHash ? { genesisHash: record.genesisHash } : {}),
    ...(record.nodeInstance ? { instanceId: record.nodeInstance } : {}),
  };
}

/** The record belongs to another instance of this chain (a restarted node), or its contracts are not on this chain. */
export class DeploymentStaleError extends Error {
  readonly code = "DEPLOYMENT_STALE";
  constructor(
    readonly file: string,
    readonly record: DeploymentRecord,
    readonly reason: string,
    readonly current: ChainIdentity,
  ) {
    const policy = record.policyFile ? `--policy ${record.policyFile}` : "--policy <your policy file>";
    super(
      `Deployment record ${file} was written on ${describeIdentity(recordIdentity(record))} at ${record.deployedAt}, but the node ` +
        `answering now is ${describeIdentity(current)}: ${reason}. The treasury it describes (Safe ${record.safe}, module ` +
        `${record.module}) belongs to a chain that is gone (the node was restarted or replaced) or --network points elsewhere. Deploy again: ` +
        `npx hardhat treasury:deploy ${policy} --network ${record.network} (the old record is then kept as ` +
        `${path.basename(staleFileName(file, recordIdentity(record)))}).`,
    );
    this.name = "DeploymentStaleError";
  }
}

/**
 * Why `record` does not describe the chain behind `provider`, or undefined when it does: another chain instance
 * (genesis block or Hardhat node instance differ), or, for records that name no instance, no code at its Safe or
 * module.
 */
export async function staleReason(
  provider: Provider,
  record: DeploymentRecord,
  current: ChainIdentity,
): Promise<string | undefined> {
  const mismatch = identityMismatch(recordIdentity(record), current);
  if (mismatch) return mismatch;
  const [safeCode, moduleCode] = await Promise.all([provider.getCode(record.safe), provider.getCode(record.module)]);
  const missing = [
    safeCode === "0x" ? `Safe ${record.safe}` : undefined,
    moduleCode === "0x" ? `module ${record.module}` : undefined,
  ].filter(Boolean);
  return missing.length ? `there is no code at its ${missing.join(" nor at its ")}` : undefined;
}

/**
 * The record of the chain behind `provider`, checked against the chain. Throws {@link DeploymentNotFoundError}
 * when there is none and {@link DeploymentStaleError} when it describes another chain instance or contracts that
 * are not there.
 */
export async function readLiveDeployment(
  provider: Provider,
  dir?: string,
): Promise<{ record: DeploymentRecord; file: string; identity: ChainIdentity }> {
  const identity = await readChainIdentity(provider);
  const file = deploymentFile(identity.chainId, dir);
  const record = readDeployment(identity.chainId, dir);
  const reason = await staleReason(provider, record, identity);
  if (reason) throw new DeploymentStaleError(file, record, reason, identity);
  return { record, file, identity };
}

/**
 * The record of this chain when it describes this chain instance and its contracts are here; undefined when there
 * is none or it is stale (for callers that were given `--module` and use a record only for names and tokens).
 */
export async function tryReadLiveDeployment(provider: Provider, dir?: string): Promise<DeploymentRecord | undefined> {
  const identity = await readChainIdentity(provider);
  const record = tryReadDeployment(identity.chainId, dir);
  if (!record) return undefined;
  return (await staleReason(provider, record, identity)) ? undefined : record;
}

/**
 * For `treasury:deploy`: the previous record of this chain, or undefined after setting aside (renaming, with one
 * line to `log`) a record of another instance of this chain. A record without an instance is set aside when its
 * module has no code here.
 */
export async function previousDeployment(
  provider: Provider,
  identity: ChainIdentity,
  log: (line: string) => void,
  dir?: string,
): Promise<DeploymentRecord | undefined> {
  const file = deploymentFile(identity.chainId, dir);
  const record = tryReadDeployment(identity.chainId, dir);
  if (!record) return undefined;
  let reason = identityMismatch(recordIdentity(record), identity);
  if (!reason && !record.genesisHash && (await provider.getCode(record.module)) === "0x")
    reason = `it names no chain instance and its module ${record.module} has no code here`;
  if (!reason) return record;
  setAside(file, recordIdentity(record), reason, "deployment record", log);
  return undefined;
}
