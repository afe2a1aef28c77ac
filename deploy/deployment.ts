/**
 * Deployment records: what `treasury:deploy` put on a chain, so that every other task finds the Safe, the module
 * and the lens without addresses typed by hand. One JSON file per chain, `deployments/<chainId>.json`
 * (git-ignored). `DEPLOYMENTS_DIR` overrides the directory; tests use temporary directories.
 */
import fs from "fs";
import path from "path";

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
