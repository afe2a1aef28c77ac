/**
 * GuardianClient: the emergency brake. A guardian can pause the whole module, freeze one agent, and cancel queued
 * intents. It can never move funds or loosen anything (SPEC Promise 5): unpausing and unfreezing are the Safe's.
 */
import { Provider, Signer, getAddress } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { AgentFrozenError, InvalidRequestError, ModulePausedError } from "./errors";
import { requireAddress, transact, TransactVia } from "./chain";
import { CancelResult, cancelIntent, roleConnection } from "./roles";
import { DEFAULT_RETRY, RetryOptions, withRetry } from "./retry";

export interface GuardianClientOptions {
  module: string;
  /** A guardian's key (the Safe's owners act through the Safe instead). Needs a provider. */
  signer: Signer;
  retry?: Partial<RetryOptions>;
  pollIntervalMs?: number;
}

export interface PauseResult {
  paused: boolean;
  by: string;
  /** Absent when the module was already paused (by anyone): nothing was sent. */
  txHash?: string;
  /** True when the module was already paused: the guardian's goal holds, nothing was sent. */
  alreadyPaused?: true;
}

export interface FreezeResult {
  agent: string;
  frozen: boolean;
  by: string;
  txHash?: string;
  /** True when the agent was already frozen: nothing was sent. */
  alreadyFrozen?: true;
}

export class GuardianClient {
  readonly module: IAgentTreasuryModule;
  private readonly provider: Provider;
  private readonly retry: Partial<RetryOptions>;
  private readonly via: TransactVia;

  private constructor(
    private readonly options: GuardianClientOptions,
    readonly moduleAddress: string,
    readonly address: string,
  ) {
    ({
      provider: this.provider,
      module: this.module,
      retry: this.retry,
      via: this.via,
    } = roleConnection(moduleAddress, options));
  }

  static async connect(options: GuardianClientOptions): Promise<GuardianClient> {
    if (!options.signer.provider)
      throw new InvalidRequestError("The guardian's signer has no provider; connect it to an RPC provider first.");
    const moduleAddress = requireAddress(options.module, "module");
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    const provider = options.signer.provider;
    const [code, address] = await Promise.all([
      withRetry("read the module's code", () => provider.getCode(moduleAddress), retry),
      options.signer.getAddress(),
    ]);
    if (code === "0x")
      throw new InvalidRequestError(`No contract at module address ${moduleAddress}. Check the deployment record.`);
    return new GuardianClient(options, moduleAddress, getAddress(address));
  }

  /**
   * Stops every submit, propose and executeQueued until the Safe unpauses. Pausing a paused module is not an error:
   * the result says `alreadyPaused` and nothing is sent (the module checks the caller's role first, so a key that
   * may not pause still gets NOT_AUTHORIZED).
   */
  async pause(): Promise<PauseResult> {
    const receipt = await transact({
      ...this.via,
      what: "pause the module",
      check: () => this.module.pause.staticCall(),
      send: () => this.module.pause(),
      done: () => this.module.paused(),
    }).catch((err: unknown) => {
      if (err instanceof ModulePausedError) return "already" as const;
      throw err;
    });
    if (receipt === "already") return { paused: true, by: this.address, alreadyPaused: true };
    return { paused: await this.module.paused(), by: this.address, ...(receipt ? { txHash: receipt.hash } : {}) };
  }

  /** Freezes one agent: nothing it signed moves until the Safe unfreezes it. Freezing a frozen agent sends nothing. */
  async freeze(agent: string): Promise<FreezeResult> {
    const a = requireAddress(agent, "agent");
    const receipt = await transact({
      ...this.via,
      what: `freeze agent ${a}`,
      check: () => this.module.freezeAgent.staticCall(a),
      send: () => this.module.freezeAgent(a),
      done: () => this.module.isFrozen(a),
    }).catch((err: unknown) => {
      if (err instanceof AgentFrozenError) return "already" as const;
      throw err;
    });
    if (receipt === "already") return { agent: a, frozen: true, by: this.address, alreadyFrozen: true };
    return {
      agent: a,
      frozen: await this.module.isFrozen(a),
      by: this.address,
      ...(receipt ? { txHash: receipt.hash } : {}),
    };
  }

  /** Cancels a queued intent. */
  async cancel(intentId: string): Promise<CancelResult> {
    if (!/^0x[0-9a-fA-F]{64}$/.test(intentId))
      throw new InvalidRequestError(`"${intentId}" is not an intentId (0x followed by 64 hex digits).`);
    return cancelIntent(
      this.module,
      this.provider,
      this.retry,
      this.address,
      intentId.toLowerCase(),
      this.options.pollIntervalMs,
    );
  }

  /** Whether the module is paused and whether this key is a guardian. */
  async state(): Promise<{ paused: boolean; isGuardian: boolean }> {
    const [paused, isGuardian] = await withRetry(
      "read the module state",
      () => Promise.all([this.module.paused(), this.module.isGuardian(this.address)]),
      this.retry,
    );
    return { paused, isGuardian };
  }
}
