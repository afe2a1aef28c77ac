/**
 * Deterministic addresses. The implementation, factory and lens (and, on local chains, the Safe 1.5.0 contracts)
 * are deployed through the CreateX factory (`0xba5Ed099633D3B313e4D5F7bdc1305d3c28ba5Ed`, the same address on every
 * chain) by Hardhat Ignition's `create2` strategy, with one fixed salt. The salt is "random" in CreateX's terms
 * (its first 20 bytes are neither zero nor the sender, byte 21 is neither 0x00 nor 0x01), so the address depends
 * on the init code alone: same contracts, same addresses on every chain, whoever deploys them.
 */
import { AbiCoder, Interface, Provider, getCreate2Address, keccak256, toUtf8Bytes, concat } from "ethers";
import path from "path";
import type { ArtifactReader } from "../core/chainContext";

export const CREATEX_ADDRESS = "0xba5Ed099633D3B313e4D5F7bdc1305d3c28ba5Ed";
export const CREATEX_PRESIGNED_DEPLOYER = "0xeD456e05CaAb11d66C4c797dD6c1D6f9A7F352b5";
/** keccak256 of CreateX's runtime code, as Ignition checks it. */
export const CREATEX_CODE_HASH = "0xbd8a7ea8cfca7b4e5f5041d7d4b17bc317c5ce42cfbc42066a00cf26b43eb53f";

/** The one CREATE2 salt of this project's deterministic deployments (see the file header). */
export const CREATE2_SALT = deriveSalt("agent-treasury-guard/create2/v1");

function deriveSalt(label: string): string {
  for (let i = 0; ; i++) {
    const salt = keccak256(toUtf8Bytes(i === 0 ? label : `${label}/${i}`));
    const byte21 = parseInt(salt.slice(2 + 40, 2 + 42), 16);
    const prefixZero = /^0x0{40}/.test(salt);
    if (byte21 !== 0 && byte21 !== 1 && !prefixZero) return salt;
  }
}

/** CreateX's guarded salt for a "random" salt: keccak256(abi.encode(salt)). */
export function guardedSalt(salt: string = CREATE2_SALT): string {
  return keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32"], [salt]));
}

/** The address CreateX `deployCreate2(CREATE2_SALT, initCode)` gives. */
export function predictCreate2Address(initCode: string, salt: string = CREATE2_SALT): string {
  return getCreate2Address(CREATEX_ADDRESS, guardedSalt(salt), keccak256(initCode));
}

/** Init code (creation bytecode plus ABI-encoded constructor arguments) of a compiled contract. */
export async function initCodeOf(
  artifacts: ArtifactReader,
  contractName: string,
  args: unknown[] = [],
): Promise<string> {
  const artifact = await artifacts.readArtifact(contractName);
  const iface = new Interface(artifact.abi);
  const encodedArgs = iface.encodeDeploy(args);
  return concat([artifact.bytecode, encodedArgs]);
}

/** The deterministic address of `contractName` deployed with `args` through CreateX. */
export async function predictContract(
  artifacts: ArtifactReader,
  contractName: string,
  args: unknown[] = [],
): Promise<string> {
  return predictCreate2Address(await initCodeOf(artifacts, contractName, args));
}

/** A local development node (Hardhat or anvil), where test-only RPC methods are available. */
export interface DevNode {
  kind: "hardhat" | "anvil";
  /** Changes every time the node starts: a record or journal from another instance is stale. */
  instanceId?: string;
}

type RpcProvider = Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };

/** Detects a local development node; undefined for anything else (a live network). */
export async function detectDevNode(provider: RpcProvider): Promise<DevNode | undefined> {
  if (!provider.send) return undefined;
  let version = "";
  try {
    version = String(await provider.send("web3_clientVersion", []));
  } catch {
    return undefined;
  }
  if (/hardhat/i.test(version)) {
    let instanceId: string | undefined;
    try {
      const metadata = (await provider.send("hardhat_metadata", [])) as { instanceId?: string };
      instanceId = metadata.instanceId;
    } catch {
      instanceId = undefined;
    }
    return { kind: "hardhat", instanceId };
  }
  if (/anvil/i.test(version)) return { kind: "anvil" };
  return undefined;
}

/** CreateX is missing on a live network: it must be deployed there first (it is on most public chains). */
export class CreateXMissingError extends Error {
  readonly code = "CREATEX_MISSING";
  constructor(chainId: bigint) {
    super(
      `The CreateX factory (${CREATEX_ADDRESS}) is not deployed on chain ${chainId}; the deterministic deployment ` +
        `needs it. Deploy it first with its pre-signed transaction (see https://github.com/pcaversaccio/createx#new-deployments) and run again.`,
    );
    this.name = "CreateXMissingError";
  }
}

/**
 * Makes sure CreateX exists. On chain 31337 Ignition deploys it itself. On another local development node this
 * broadcasts CreateX's keyless pre-signed deployment (after topping up its one-time deployer with the node's
 * `*_setBalance`), so local chains with other ids get the same addresses. On a live network it only checks.
 * Returns true when CreateX was deployed by this call.
 */
export async function ensureCreateX(
  provider: RpcProvider,
  chainId: bigint,
  devNode: DevNode | undefined,
): Promise<boolean> {
  const code = await provider.getCode(CREATEX_ADDRESS);
  if (code !== "0x") {
    if (keccak256(code) !== CREATEX_CODE_HASH) {
      throw new Error(
        `The code at ${CREATEX_ADDRESS} on chain ${chainId} is not CreateX: refusing to deploy through it.`,
      );
    }
    return false;
  }
  if (chainId === 31337n) return false; // Ignition's create2 strategy deploys it on 31337.
  if (!devNode || !provider.send) throw new CreateXMissingError(chainId);
  // Ignition ships CreateX's pre-signed deployment but does not export it: load the file by path.
  const artifactFile = path.join(
    path.dirname(require.resolve("@nomicfoundation/ignition-core")),
    "internal/execution/strategy/createx-artifact.js",
  );
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { presignedTx } = require(artifactFile) as { presignedTx: string };
  await provider.send(`${devNode.kind}_setBalance`, [CREATEX_PRESIGNED_DEPLOYER, "0x58D15E176280000"]); // 0.4 ETH
  const hash = (await provider.send("eth_sendRawTransaction", [presignedTx])) as string;
  let receipt = await provider.getTransactionReceipt(hash);
  for (let i = 0; !receipt && i < 600; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    receipt = await provider.getTransactionReceipt(hash);
  }
  if (!receipt || receipt.status !== 1 || (await provider.getCode(CREATEX_ADDRESS)) === "0x") {
    throw new Error(`Deploying CreateX on the local chain ${chainId} failed (tx ${hash}).`);
  }
  return true;
}
