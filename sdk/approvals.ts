/**
 * Co-signer approval signatures and the co-signer era (SPEC v3). A `CosignerApproval(bytes32 intentId,uint16
 * cosignerEra)` signature counts only in the era it names, and `cosignerEra()` moves on at every change of the
 * co-signer members. A signature collected before such a change is stale: the module would refuse it at
 * `executeQueued` as merely "invalid". These helpers tell stale from invalid before anything is sent, so the
 * executor can ask the right co-signer to sign again.
 */
import { Contract, Provider, getAddress, recoverAddress } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { requireAddress } from "./chain";
import { hashCosignerApproval } from "./eip712";
import { CosignerSignatureStaleError, InvalidRequestError } from "./errors";
import { RetryOptions, withRetry } from "./retry";
import type { CosignerSignatureInfo } from "./types";

/** How one collected approval signature stands against the co-signer set's current era. */
export interface SignatureCheck {
  signer: string;
  /** The era the signature was made in: as recorded with it, or found by the client; absent when unknown. */
  signedEra?: number;
  /** `cosignerEra()` now. */
  currentEra: number;
  /** True when it is a valid approval of the intent in the current era (what `executeQueued` counts). */
  current: boolean;
  /** True when the signer is a co-signer now. */
  member: boolean;
}

/** What the checks read: the module (with a provider) and its EIP-712 domain. */
export interface ApprovalContext {
  module: IAgentTreasuryModule;
  provider: Provider;
  chainId: bigint;
  moduleAddress: string;
  retry: Partial<RetryOptions>;
}

/** ERC-1271 magic value: `isValidSignature(bytes32,bytes)`'s selector. */
const ERC1271_MAGIC = "0x1626ba7e";
const ERC1271_ABI = ["function isValidSignature(bytes32 hash, bytes signature) view returns (bytes4)"];
/** How many earlier eras are tried for a signature that does not say which era it was made in (EOA signers). */
export const ERA_SEARCH_DEPTH = 256;

/**
 * Checks each signature against the current era's digest. One that does not verify now but verifies for the era
 * recorded with it (or, without a record, for one of the last {@link ERA_SEARCH_DEPTH} eras; EOA signers only)
 * gets that era as `signedEra`: it is stale. One that verifies for no era is left without `signedEra` (invalid).
 */
export async function checkSignatures(
  ctx: ApprovalContext,
  intentId: string,
  signatures: readonly CosignerSignatureInfo[],
): Promise<SignatureCheck[]> {
  const [eraNow, members] = await Promise.all([
    withRetry("read the co-signer era", () => ctx.module.cosignerEra(), ctx.retry),
    withRetry("read the co-signers", () => ctx.module.cosigners(), ctx.retry),
  ]);
  const currentEra = Number(eraNow);
  const memberSet = new Set(members.map((m) => m.toLowerCase()));
  const digestOf = (era: number) => hashCosignerApproval(intentId, BigInt(era), ctx.chainId, ctx.moduleAddress);
  const checks: SignatureCheck[] = [];
  for (const s of signatures) {
    const signer = requireAddress(s.signer, "signature signer");
    if (s.era !== undefined && (!Number.isInteger(s.era) || s.era < 0 || s.era > 0xffff)) {
      throw new InvalidRequestError(
        `The era of ${signer}'s signature must be a whole number from 0 to 65535 (got ${s.era}).`,
      );
    }
    const check: SignatureCheck = { signer, currentEra, current: false, member: memberSet.has(signer.toLowerCase()) };
    if (await signs(ctx, signer, digestOf(currentEra), s.signature)) {
      check.current = true;
      check.signedEra = currentEra;
    } else if (s.era !== undefined) {
      if (s.era !== currentEra && (await signs(ctx, signer, digestOf(s.era), s.signature))) check.signedEra = s.era;
    } else if ((await withRetry("read the signer's code", () => ctx.provider.getCode(signer), ctx.retry)) === "0x") {
      for (let era = currentEra - 1; era >= Math.max(0, currentEra - ERA_SEARCH_DEPTH); era--) {
        if (await signs(ctx, signer, digestOf(era), s.signature)) {
          check.signedEra = era;
          break;
        }
      }
    }
    checks.push(check);
  }
  return checks;
}

/**
 * Throws {@link CosignerSignatureStaleError} naming every signature made in another co-signer era, with the era it
 * was signed in and the current one, and whom to ask to sign again. Sends nothing. A signature that is simply
 * invalid is left to the module, whose `CosignerSignatureInvalid` the client decodes as usual.
 */
export async function refuseStaleSignatures(
  ctx: ApprovalContext,
  intentId: string,
  signatures: readonly CosignerSignatureInfo[],
): Promise<void> {
  if (signatures.length === 0) return;
  const checks = await checkSignatures(ctx, intentId, signatures);
  const stale = checks.filter((c) => !c.current && c.signedEra !== undefined && c.signedEra !== c.currentEra);
  if (stale.length === 0) return;
  const first = stale[0];
  const who = stale
    .map(
      (c) =>
        `${c.signer} was made in co-signer era ${c.signedEra}${c.member ? "" : " (and it is no longer a co-signer)"}`,
    )
    .join("; ");
  const resign = stale.filter((c) => c.member).map((c) => c.signer);
  throw new CosignerSignatureStaleError(
    `Stale co-signer approval for intent ${intentId}: the signature of ${who}, but the current co-signer era is ` +
      `${first.currentEra}. The co-signer members changed since, and the module counts only signatures of the ` +
      "current era. " +
      (resign.length > 0
        ? `Ask ${resign.join(", ")} to sign again (npx hardhat intent:approve ${intentId} --signature-only) and execute with the new signature`
        : "Collect approvals from current co-signers instead") +
      ", or leave the stale signature out if the others reach the threshold. Nothing was sent.",
    {
      errorName: "CosignerSignatureStale",
      args: {
        intentId,
        signer: first.signer,
        signedEra: first.signedEra,
        currentEra: first.currentEra,
        staleSigners: stale.map((c) => c.signer).join(","),
      },
    },
  );
}

/** True when `signature` is `signer`'s over `digest`: ECDSA, or ERC-1271 for a signer with code, as the module checks. */
async function signs(ctx: ApprovalContext, signer: string, digest: string, signature: string): Promise<boolean> {
  try {
    if (getAddress(recoverAddress(digest, signature)) === signer) return true;
  } catch {
    // Not a usable 65-byte ECDSA signature: maybe an ERC-1271 one.
  }
  if ((await withRetry("read the signer's code", () => ctx.provider.getCode(signer), ctx.retry)) === "0x") return false;
  try {
    const answer = (await new Contract(signer, ERC1271_ABI, ctx.provider).isValidSignature(
      digest,
      signature,
    )) as string;
    return answer.toLowerCase() === ERC1271_MAGIC;
  } catch {
    return false;
  }
}
