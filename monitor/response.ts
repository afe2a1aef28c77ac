/**
 * Automatic response: a rule with `action: "freeze"` freezes the agent that triggered it, `action: "pause"` pauses
 * the module, with a guardian key (SPEC section 7: guardians can only restrict, so the worst a bug here can do is
 * stop the treasury, never move or loosen anything). The response happens before the alert is delivered, so the
 * alert says what was done. Only the Safe's owners can undo it (unfreeze, unpause).
 */
import {
  AbstractSigner,
  Provider,
  Signer,
  TransactionRequest,
  TransactionResponse,
  TypedDataDomain,
  TypedDataField,
} from "ethers";
import type { GuardianClient } from "../sdk/guardian";
import type { Alert, AlertResponse } from "./alerts";

/**
 * A signer that sends every transaction with a raised priority fee: a freeze competes with the attacker's next
 * payment for the same block, and block builders order by tip. Everything else is the wrapped signer's.
 */
export class UrgentSigner extends AbstractSigner {
  constructor(
    private readonly inner: Signer,
    /** Multiplies the node's suggested tip (default 3). */
    private readonly tipMultiplier = 3n,
    /** The tip is at least this (default 2 gwei). */
    private readonly minTip = 2_000_000_000n,
  ) {
    super(inner.provider);
  }

  getAddress(): Promise<string> {
    return this.inner.getAddress();
  }

  connect(provider: Provider | null): UrgentSigner {
    return new UrgentSigner(this.inner.connect(provider), this.tipMultiplier, this.minTip);
  }

  signTransaction(tx: TransactionRequest): Promise<string> {
    return this.inner.signTransaction(tx);
  }

  signMessage(message: string | Uint8Array): Promise<string> {
    return this.inner.signMessage(message);
  }

  signTypedData(
    domain: TypedDataDomain,
    types: Record<string, TypedDataField[]>,
    value: Record<string, unknown>,
  ): Promise<string> {
    return this.inner.signTypedData(domain, types, value);
  }

  async sendTransaction(tx: TransactionRequest): Promise<TransactionResponse> {
    const fee = await this.inner.provider!.getFeeData();
    if (fee.maxFeePerGas !== null && fee.maxPriorityFeePerGas !== null) {
      let tip = fee.maxPriorityFeePerGas * this.tipMultiplier;
      if (tip < this.minTip) tip = this.minTip;
      return this.inner.sendTransaction({
        ...tx,
        type: 2,
        gasPrice: undefined,
        maxPriorityFeePerGas: tip,
        maxFeePerGas: fee.maxFeePerGas + tip,
      });
    }
    if (fee.gasPrice !== null)
      return this.inner.sendTransaction({ ...tx, gasPrice: fee.gasPrice * this.tipMultiplier });
    return this.inner.sendTransaction(tx);
  }
}

export interface ResponderOptions {
  /** The guardian's client; undefined when the watchtower runs without a key. */
  guardian?: GuardianClient;
  /** False with --no-respond: report what would have been done. */
  enabled: boolean;
  /** Why responses are off, for the alert. */
  disabledReason?: string;
}

export class AutoResponder {
  constructor(private readonly options: ResponderOptions) {}

  get guardianAddress(): string | undefined {
    return this.options.guardian?.address;
  }

  /** Acts on the alert's `action`; undefined for "alert". Never throws: a failure is reported in the alert. */
  async respond(alert: Alert): Promise<AlertResponse | undefined> {
    if (alert.action === "alert") return undefined;
    const action = alert.action;
    const guardian = this.options.guardian;
    if (!this.options.enabled || !guardian) {
      return { action, status: "disabled", error: this.options.disabledReason ?? "the watchtower has no guardian key" };
    }
    try {
      if (action === "pause") {
        if (await guardian.module.paused()) return { action, status: "already", by: guardian.address };
        const r = await guardian.pause();
        return {
          action,
          status: r.txHash ? "done" : "already",
          by: guardian.address,
          ...(r.txHash ? { txHash: r.txHash } : {}),
        };
      }
      const agent = alert.agent?.address;
      if (!agent) return { action, status: "skipped", error: "the alert names no agent to freeze" };
      const [active, frozen] = await Promise.all([guardian.module.isAgent(agent), guardian.module.isFrozen(agent)]);
      if (frozen) return { action, status: "already", by: guardian.address };
      if (!active)
        return { action, status: "skipped", error: `${agent} is no longer an active agent key (removed or rotated)` };
      const r = await guardian.freeze(agent);
      return {
        action,
        status: r.txHash ? "done" : "already",
        by: guardian.address,
        ...(r.txHash ? { txHash: r.txHash } : {}),
      };
    } catch (error) {
      const e = error as Error & { code?: string };
      return { action, status: "failed", by: guardian.address, error: `${e.code ? `${e.code}: ` : ""}${e.message}` };
    }
  }
}
