/**
 * What the clients of the module's roles share: a co-signer's and a guardian's connection to the module (the module
 * on the role's signer, and how it sends), and cancelling a queued intent, which co-signers, guardians, the Safe and
 * the intent's agent may all do.
 */
import type { Provider, Signer } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { transact, TransactVia } from "./chain";
import { DEFAULT_RETRY, RetryOptions, withRetry } from "./retry";
import { IntentStatusName, statusName } from "./types";
import { treasuryModule } from "./bindings";

/** What `cancel` did: the intent's status after it, who asked, and the transaction (absent when none was sent). */
export interface CancelResult {
  intentId: string;
  status: IntentStatusName;
  by: string;
  txHash?: string;
}

/** What a role's client (co-signer, guardian) keeps of its options: the module on its signer, and how it sends. */
export function roleConnection(
  moduleAddress: string,
  options: { signer: Signer; retry?: Partial<RetryOptions>; pollIntervalMs?: number },
): { provider: Provider; module: IAgentTreasuryModule; retry: Partial<RetryOptions>; via: TransactVia } {
  const provider = options.signer.provider!;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const module = treasuryModule(moduleAddress, options.signer);
  return {
    provider,
    module,
    retry,
    via: { provider, retry, sender: options.signer, pollIntervalMs: options.pollIntervalMs },
  };
}

/** Cancels a queued intent with `module`'s runner; shared by co-signers, guardians and agents. */
export async function cancelIntent(
  module: IAgentTreasuryModule,
  provider: Provider,
  retry: Partial<RetryOptions>,
  by: string,
  intentId: string,
  pollIntervalMs?: number,
): Promise<CancelResult> {
  const receipt = await transact({
    what: `cancel intent ${intentId}`,
    provider,
    retry,
    sender: module.runner ?? undefined,
    pollIntervalMs,
    check: () => module.cancel.staticCall(intentId),
    send: () => module.cancel(intentId),
    done: async () => statusName(await module.intentStatus(intentId)) === "Cancelled",
  });
  const status = statusName(await withRetry("read the intent status", () => module.intentStatus(intentId), retry));
  return { intentId, status, by, ...(receipt ? { txHash: receipt.hash } : {}) };
}
