/**
 * Checks on what the page posts before the console stores it. A co-signer's signature is stored only when it would
 * count in `executeQueued` now: the intent is Queued, the signer is a current co-signer, the signature names the
 * current co-signer era, and it verifies (ECDSA, or ERC-1271 for a contract co-signer) against the module's own
 * `hashCosignerApproval(intentId)`, which must equal the digest the sdk builds (sdk/eip712.ts, the one place that
 * builds the EIP-712 types). A reason text is stored only when keccak256 of it is the intent's rationale.
 */
import { Contract, Provider, getAddress, id as keccakText, isAddress, isHexString, recoverAddress } from "ethers";
import { hashCosignerApproval } from "../sdk/eip712";
import { statusName } from "../sdk/types";
import type { ReasonRequest, SignatureRequest } from "./api";
import { RequestError } from "./errors";
import { treasuryModule } from "../sdk/bindings";

const ERC1271_MAGIC = "0x1626ba7e";

function field(body: unknown, name: string): unknown {
  return body && typeof body === "object" ? (body as Record<string, unknown>)[name] : undefined;
}

function intentIdOf(body: unknown): string {
  const intentId = field(body, "intentId");
  if (typeof intentId !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(intentId)) {
    throw new RequestError(
      400,
      "INVALID_REQUEST",
      `intentId ${JSON.stringify(intentId)} is not an intentId (0x followed by 64 hex digits).`,
    );
  }
  return intentId.toLowerCase();
}

async function queuedIntent(provider: Provider, module: string, intentId: string) {
  const m = treasuryModule(module, provider);
  const status = statusName((await m.intent(intentId)).status);
  if (status !== "Queued")
    throw new RequestError(
      409,
      "INTENT_NOT_QUEUED",
      `Intent ${intentId} is ${status}, not Queued: there is nothing to approve.`,
    );
  return m;
}

/** Validates a posted co-signer signature; returns it normalised for the store. */
export async function checkSignature(
  provider: Provider,
  chainId: bigint,
  module: string,
  body: unknown,
): Promise<SignatureRequest> {
  const intentId = intentIdOf(body);
  const signer = field(body, "signer");
  const era = field(body, "cosignerEra");
  const signature = field(body, "signature");
  if (typeof signer !== "string" || !isAddress(signer))
    throw new RequestError(400, "INVALID_REQUEST", `signer ${JSON.stringify(signer)} is not an address.`);
  if (typeof era !== "number" || !Number.isInteger(era) || era < 0 || era > 65_535) {
    throw new RequestError(
      400,
      "INVALID_REQUEST",
      `cosignerEra ${JSON.stringify(era)} is not a co-signer era (a whole number 0 to 65535).`,
    );
  }
  if (typeof signature !== "string" || !isHexString(signature) || signature.length < 4) {
    throw new RequestError(400, "INVALID_REQUEST", `signature ${JSON.stringify(signature)} is not a hex string.`);
  }
  const m = await queuedIntent(provider, module, intentId);
  const [members, currentEra, onChainDigest] = await Promise.all([
    m.cosigners(),
    m.cosignerEra(),
    m.hashCosignerApproval(intentId),
  ]);
  const who = getAddress(signer);
  if (!members.some((x) => x.toLowerCase() === who.toLowerCase())) {
    throw new RequestError(
      403,
      "NOT_A_COSIGNER",
      `signer ${who} is not a current co-signer of module ${module}: connect a co-signer's wallet.`,
    );
  }
  if (BigInt(era) !== currentEra) {
    throw new RequestError(
      409,
      "WRONG_ERA",
      `cosignerEra ${era} is not the current co-signer era ${currentEra}: the co-signers changed; sign again.`,
    );
  }
  const digest = hashCosignerApproval(intentId, currentEra, chainId, module);
  if (digest !== onChainDigest) {
    throw new Error(
      `The sdk's CosignerApproval digest ${digest} differs from the module's ${onChainDigest}: sdk/eip712.ts and the contract disagree.`,
    );
  }
  let valid = false;
  if ((await provider.getCode(who)) === "0x") {
    try {
      valid = recoverAddress(digest, signature) === who;
    } catch {
      valid = false;
    }
  } else {
    const wallet = new Contract(
      who,
      ["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"],
      provider,
    );
    valid = await wallet.isValidSignature(digest, signature).then(
      (r: string) => r === ERC1271_MAGIC,
      () => false,
    );
  }
  if (!valid) {
    throw new RequestError(
      400,
      "INVALID_SIGNATURE",
      `signature does not verify as ${who}'s CosignerApproval of intent ${intentId} in era ${era}.`,
    );
  }
  return { intentId, signer: who, cosignerEra: era, signature };
}

/** Validates a posted reason text: it must hash to the queued intent's rationale. */
export async function checkReason(
  provider: Provider,
  module: string,
  rationaleOf: (intentId: string) => string | undefined,
  body: unknown,
): Promise<ReasonRequest> {
  const intentId = intentIdOf(body);
  const text = field(body, "text");
  if (typeof text !== "string" || text.trim() === "")
    throw new RequestError(400, "INVALID_REQUEST", "text: give the agent's reason, exactly as the agent stated it.");
  await queuedIntent(provider, module, intentId);
  const rationale = rationaleOf(intentId);
  if (!rationale) throw new RequestError(404, "INTENT_UNKNOWN", `Intent ${intentId} is not in the console's queue.`);
  if (keccakText(text).toLowerCase() !== rationale.toLowerCase()) {
    throw new RequestError(
      400,
      "REASON_MISMATCH",
      `text: keccak256 of this text is ${keccakText(text)}, not the intent's rationale ${rationale}: it is not what the agent signed (check spaces and line breaks).`,
    );
  }
  return { intentId, text };
}
