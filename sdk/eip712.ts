/**
 * The one place that builds the module's EIP-712 types. The client, the CLI, the deploy pipeline and the tests
 * all sign through these functions, so the tests exercise production signing code.
 */
import { AbiCoder, Signer, TypedDataDomain, TypedDataEncoder, keccak256 } from "ethers";

export const DOMAIN_NAME = "AgentTreasuryModule";
export const DOMAIN_VERSION = "1";

/** An intent exactly as the module's `Intent` struct (field order is part of the signature). */
export interface Intent {
  agent: string;
  target: string;
  value: bigint;
  data: string;
  nonce: bigint;
  idempotencyKey: string;
  validAfter: bigint;
  validUntil: bigint;
  rationale: string;
  /** v3: the agent asks for human review; the module queues it even within limits. `propose` requires it. */
  review: boolean;
}

export const INTENT_TYPES = {
  Intent: [
    { name: "agent", type: "address" },
    { name: "target", type: "address" },
    { name: "value", type: "uint256" },
    { name: "data", type: "bytes" },
    { name: "nonce", type: "uint256" },
    { name: "idempotencyKey", type: "bytes32" },
    { name: "validAfter", type: "uint48" },
    { name: "validUntil", type: "uint48" },
    { name: "rationale", type: "bytes32" },
    { name: "review", type: "bool" },
  ],
};

/** v3: a co-signer's approval names the co-signer era (`cosignerEra()`) it was made in; it is void in any other. */
export const COSIGNER_APPROVAL_TYPES = {
  CosignerApproval: [
    { name: "intentId", type: "bytes32" },
    { name: "cosignerEra", type: "uint16" },
  ],
};

/** The module's EIP-712 domain on a chain. */
export function moduleDomain(chainId: bigint, module: string): TypedDataDomain {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract: module };
}

/** The intentId: the EIP-712 digest of the intent under the module's domain. */
export function hashIntent(intent: Intent, chainId: bigint, module: string): string {
  return TypedDataEncoder.hash(moduleDomain(chainId, module), INTENT_TYPES, intent);
}

/** The digest a co-signer signs to approve `intentId` off-chain in co-signer era `cosignerEra`. */
export function hashCosignerApproval(intentId: string, cosignerEra: bigint, chainId: bigint, module: string): string {
  return TypedDataEncoder.hash(moduleDomain(chainId, module), COSIGNER_APPROVAL_TYPES, { intentId, cosignerEra });
}

/** Signs an intent (EIP-712 typed data; the signer must be the intent's agent or an ERC-1271 agent's owner). */
export async function signIntent(signer: Signer, intent: Intent, chainId: bigint, module: string): Promise<string> {
  return signer.signTypedData(moduleDomain(chainId, module), INTENT_TYPES, intent);
}

/** Signs a co-signer approval of `intentId` in co-signer era `cosignerEra` (read it with `module.cosignerEra()`). */
export async function signCosignerApproval(
  signer: Signer,
  intentId: string,
  cosignerEra: bigint,
  chainId: bigint,
  module: string,
): Promise<string> {
  return signer.signTypedData(moduleDomain(chainId, module), COSIGNER_APPROVAL_TYPES, { intentId, cosignerEra });
}

/** `keccak256(abi.encode(target, value, keccak256(data)))`: what an idempotency key binds to. */
export function payloadHash(target: string, value: bigint, data: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(["address", "uint256", "bytes32"], [target, value, keccak256(data)]),
  );
}

/** The 80-bit payload commitment `idempotencyRecord` returns (first 10 bytes of the payload hash, rest zero). */
export function payloadCommitment(target: string, value: bigint, data: string): string {
  const full = BigInt(payloadHash(target, value, data));
  return "0x" + ((full >> 176n) << 176n).toString(16).padStart(64, "0");
}

/** A nonce from its lane and sequence: `(lane << 64) | sequence`. */
export function packNonce(lane: bigint, sequence: bigint): bigint {
  return (lane << 64n) | sequence;
}

export function splitNonce(nonce: bigint): { lane: bigint; sequence: bigint } {
  return { lane: nonce >> 64n, sequence: nonce & ((1n << 64n) - 1n) };
}
