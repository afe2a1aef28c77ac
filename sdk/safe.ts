/**
 * Minimal Safe transaction signing and execution (Safe 1.4.1 / 1.5.0 `execTransaction`), shared by the deploy
 * pipeline, the demo and the tests. Owners sign the SafeTx EIP-712 digest; signatures are sorted by owner address.
 */
import { Contract, Signer, TypedDataDomain, ZeroAddress, getBytes, concat } from "ethers";

export const SAFE_TX_TYPES = {
  SafeTx: [
    { name: "to", type: "address" },
    { name: "value", type: "uint256" },
    { name: "data", type: "bytes" },
    { name: "operation", type: "uint8" },
    { name: "safeTxGas", type: "uint256" },
    { name: "baseGas", type: "uint256" },
    { name: "gasPrice", type: "uint256" },
    { name: "gasToken", type: "address" },
    { name: "refundReceiver", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
};

export interface SafeTx {
  to: string;
  value: bigint;
  data: string;
  operation: 0 | 1;
  safeTxGas: bigint;
  baseGas: bigint;
  gasPrice: bigint;
  gasToken: string;
  refundReceiver: string;
  nonce: bigint;
}

export const SAFE_ABI = [
  "function nonce() view returns (uint256)",
  "function getThreshold() view returns (uint256)",
  "function getOwners() view returns (address[])",
  "function isModuleEnabled(address module) view returns (bool)",
  "function enableModule(address module)",
  "function execTransaction(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,bytes signatures) payable returns (bool)",
  "function getTransactionHash(address to,uint256 value,bytes data,uint8 operation,uint256 safeTxGas,uint256 baseGas,uint256 gasPrice,address gasToken,address refundReceiver,uint256 _nonce) view returns (bytes32)",
];

export function safeDomain(chainId: bigint, safe: string): TypedDataDomain {
  return { chainId, verifyingContract: safe };
}

/** The arguments of the Safe's `execTransaction` for `tx` with its owners' `signatures`, in the Safe's order. */
export function execTransactionArgs(tx: SafeTx, signatures: string) {
  return [
    tx.to,
    tx.value,
    tx.data,
    tx.operation,
    tx.safeTxGas,
    tx.baseGas,
    tx.gasPrice,
    tx.gasToken,
    tx.refundReceiver,
    signatures,
  ] as const;
}

/** Builds a SafeTx for a plain call at the Safe's current nonce. */
export async function buildSafeTx(
  safe: Contract,
  to: string,
  data: string,
  value = 0n,
  operation: 0 | 1 = 0,
): Promise<SafeTx> {
  const nonce: bigint = await safe.nonce();
  return {
    to,
    value,
    data,
    operation,
    safeTxGas: 0n,
    baseGas: 0n,
    gasPrice: 0n,
    gasToken: ZeroAddress,
    refundReceiver: ZeroAddress,
    nonce,
  };
}

/** Signs `tx` with each owner and returns the concatenated signatures, sorted by owner address as Safe requires. */
export async function signSafeTx(owners: Signer[], tx: SafeTx, chainId: bigint, safe: string): Promise<string> {
  const signed = await Promise.all(
    owners.map(async (owner) => ({
      owner: (await owner.getAddress()).toLowerCase(),
      signature: await owner.signTypedData(safeDomain(chainId, safe), SAFE_TX_TYPES, tx),
    })),
  );
  signed.sort((a, b) => (BigInt(a.owner) < BigInt(b.owner) ? -1 : 1));
  return concat(signed.map((s) => getBytes(s.signature)));
}

/**
 * Executes a call from the Safe, signed by `owners` (at least the Safe's threshold), submitted by `submitter`.
 * `operation` 1 (delegatecall) is for owners' batches through MultiSendCallOnly only. Throws with the Safe's revert
 * when execution fails.
 */
export async function execSafeCall(
  safe: Contract,
  owners: Signer[],
  submitter: Signer,
  to: string,
  data: string,
  value = 0n,
  operation: 0 | 1 = 0,
) {
  const safeAddress = await safe.getAddress();
  const chainId = (await submitter.provider!.getNetwork()).chainId;
  const tx = await buildSafeTx(safe, to, data, value, operation);
  const signatures = await signSafeTx(owners, tx, chainId, safeAddress);
  const sent = await (safe.connect(submitter) as Contract).execTransaction(...execTransactionArgs(tx, signatures));
  const receipt = await sent.wait();
  if (!receipt || receipt.status !== 1) throw new Error(`Safe transaction to ${to} failed`);
  const failed = receipt.logs.some((log: { topics: readonly string[] }) => log.topics[0] === EXECUTION_FAILURE_TOPIC);
  if (failed) throw new Error(`Safe transaction to ${to} reverted inside the Safe (ExecutionFailure)`);
  return receipt;
}

/** keccak256("ExecutionFailure(bytes32,uint256)") */
export const EXECUTION_FAILURE_TOPIC = "0x23428b18acfb3ea64b08dc0c1d296ea9c09702c09083ca5272e64d115b687d23";
