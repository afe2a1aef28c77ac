/**
 * Where the pipeline's contracts land, computed before anything is sent: the module clone (the factory's CREATE2),
 * a new Safe (SafeProxyFactory's CREATE2), and the Safe contracts themselves (the canonical safe-deployments where
 * they exist, else the compiled Safe 1.5.0 through CreateX: deploy/create2.ts, deploy/modules/SafeInfra.ts).
 */
import {
  AbiCoder,
  Interface,
  Provider,
  ZeroAddress,
  concat,
  getAddress,
  getCreate2Address,
  keccak256,
  solidityPackedKeccak256,
} from "ethers";
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

/** The Safe contracts a deployment record lists (protocol-kit's `contractNetworks` needs all eight). */
export interface SafeInfraAddresses {
  singleton: string;
  proxyFactory: string;
  fallbackHandler: string;
  multiSendCallOnly: string;
  multiSend: string;
  signMessageLib: string;
  createCall: string;
  simulateTxAccessor: string;
}

export type SafeInfraName = keyof SafeInfraAddresses;

/** Every Safe contract of the record, with its artifact name and its Ignition future id (without the tag). */
export const SAFE_INFRA: readonly { name: SafeInfraName; artifact: string; futureId: string }[] = [
  { name: "singleton", artifact: "Safe", futureId: "SafeSingleton" },
  { name: "proxyFactory", artifact: "SafeProxyFactory", futureId: "SafeProxyFactory" },
  { name: "fallbackHandler", artifact: "CompatibilityFallbackHandler", futureId: "FallbackHandler" },
  { name: "multiSendCallOnly", artifact: "MultiSendCallOnly", futureId: "MultiSendCallOnly" },
  { name: "multiSend", artifact: "MultiSend", futureId: "MultiSend" },
  { name: "signMessageLib", artifact: "SignMessageLib", futureId: "SignMessageLib" },
  { name: "createCall", artifact: "CreateCall", futureId: "CreateCall" },
  { name: "simulateTxAccessor", artifact: "SimulateTxAccessor", futureId: "SimulateTxAccessor" },
];

const SAFE_SETUP_ABI = [
  "function setup(address[] _owners,uint256 _threshold,address to,bytes data,address fallbackHandler,address paymentToken,uint256 payment,address paymentReceiver)",
];

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
export function predictSafeAddress(
  proxyFactory: string,
  proxyCreationCode: string,
  singleton: string,
  initializer: string,
  saltNonce: bigint,
): string {
  const salt = solidityPackedKeccak256(["bytes32", "uint256"], [keccak256(initializer), saltNonce]);
  const deploymentData = concat([
    proxyCreationCode,
    AbiCoder.defaultAbiCoder().encode(["uint256"], [BigInt(singleton)]),
  ]);
  return getCreate2Address(proxyFactory, salt, keccak256(deploymentData));
}

/** The Safe `setup` call for a new Safe with the compatibility fallback handler. */
export function safeInitializer(owners: string[], threshold: number, fallbackHandler: string): string {
  return new Interface(SAFE_SETUP_ABI).encodeFunctionData("setup", [
    owners,
    threshold,
    ZeroAddress,
    "0x",
    fallbackHandler,
    ZeroAddress,
    0,
    ZeroAddress,
  ]);
}

/** The canonical Safe deployments on a chain (safe-deployments), if every contract of the record is there. */
export async function canonicalSafeInfra(provider: Provider, chainId: bigint): Promise<SafeInfraAddresses | undefined> {
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
    const codes = await Promise.all(addresses.map((a) => provider.getCode(a)));
    if (codes.some((c) => c === "0x")) continue;
    return Object.fromEntries(SAFE_INFRA.map((c, i) => [c.name, addresses[i]])) as unknown as SafeInfraAddresses;
  }
  return undefined;
}
