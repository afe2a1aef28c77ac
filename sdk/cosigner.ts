/**
 * CosignerClient: what a human co-signer uses to review, approve, execute and cancel queued intents.
 *
 * Defence against blind signing: what an intent does is decoded from its calldata (the `IntentQueued` event
 * carries the whole intent), never taken from the agent's description. The agent's stated reason is shown beside
 * it, from a journal, and only when its keccak256 equals the on-chain `rationale`; it is a claim to weigh, not a
 * description of the effect. An approval covers the intentId, which commits to every field of the intent.
 */
import { Provider, Signer, ZeroAddress, getAddress, keccak256, toUtf8Bytes } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { ApprovalContext, SignatureCheck, checkSignatures, refuseStaleSignatures } from "./approvals";
import { Intent, signCosignerApproval } from "./eip712";
import { CosignerRejectedError, IntentStateError, InvalidRequestError } from "./errors";
import { decodeAction } from "./calldata";
import { AssetBook, ETH_ASSET, formatAmount, outcomeOf, requireAddress, transact, TransactVia } from "./chain";
import { Journal, deserializeIntent } from "./journal";
import { DEFAULT_RETRY, RetryOptions, withRetry } from "./retry";
import {
  CosignerSignatureInfo,
  DecodedAction,
  DenyReasonName,
  IntentResult,
  IntentStatusName,
  QueuedIntent,
  statusName,
} from "./types";
import { CancelResult, cancelIntent, roleConnection } from "./roles";

export interface CosignerClientOptions {
  module: string;
  /** The co-signer's key (a guardian's or the agent's key can also cancel). Needs a provider. */
  signer: Signer;
  /** Token symbols for display: symbol -> address (decimals are read on chain anyway). */
  tokens?: Record<string, string>;
  /** Agents' journals to read rationale texts from (read-only; never locked). */
  journals?: (string | Journal)[];
  /** Extra function signatures to decode calls with, e.g. "deposit(uint256,address)". */
  knownFunctions?: string[];
  /** Events are searched from this block (default 0). */
  fromBlock?: number;
  retry?: Partial<RetryOptions>;
  pollIntervalMs?: number;
}

/** Any intent as a reviewer sees it. Fields beyond `status` are present when the chain or a journal knows them. */
export interface IntentView {
  intentId: string;
  status: IntentStatusName;
  reason?: DenyReasonName;
  agent?: string;
  eta?: number;
  expiresAt?: number;
  txHash?: string;
  approvals: number;
  threshold: number;
  approvedBy: string[];
  executable: boolean;
  action?: DecodedAction;
  intent?: Intent;
  /**
   * v3: whether the agent signed a request for human review (the intent's `review` flag). Known when the intent is
   * (queued, or in a journal), and false for an intent executed in the auto tier; absent otherwise.
   */
  review?: boolean;
  rationaleHash?: string;
  rationaleText?: string;
}

export interface ApprovalResult {
  intentId: string;
  status: IntentStatusName;
  signer: string;
  /** On-chain approvals after this one (an off-chain signature is not counted until `execute`). */
  approvals: number;
  threshold: number;
  txHash?: string;
  /** Set for `signatureOnly`: pass it to `execute`. */
  signature?: CosignerSignatureInfo;
}

export class CosignerClient {
  readonly module: IAgentTreasuryModule;
  readonly assets: AssetBook;
  private readonly provider: Provider;
  private readonly retry: Partial<RetryOptions>;
  private readonly via: TransactVia;
  private readonly journals: Journal[];

  private constructor(
    private readonly options: CosignerClientOptions,
    readonly chainId: bigint,
    readonly moduleAddress: string,
    readonly address: string,
  ) {
    ({
      provider: this.provider,
      module: this.module,
      retry: this.retry,
      via: this.via,
    } = roleConnection(moduleAddress, options));
    this.assets = new AssetBook(this.provider, options.tokens, this.retry);
    this.journals = (options.journals ?? []).map((j) =>
      typeof j === "string" ? Journal.open(j, { readOnly: true }) : j,
    );
  }

  static async connect(options: CosignerClientOptions): Promise<CosignerClient> {
    if (!options.signer.provider)
      throw new InvalidRequestError("The co-signer's signer has no provider; connect it to an RPC provider first.");
    const moduleAddress = requireAddress(options.module, "module");
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    const provider = options.signer.provider;
    const [network, code, address] = await Promise.all([
      withRetry("read the chain id", () => provider.getNetwork(), retry),
      withRetry("read the module's code", () => provider.getCode(moduleAddress), retry),
      options.signer.getAddress(),
    ]);
    if (code === "0x")
      throw new InvalidRequestError(`No contract at module address ${moduleAddress} on chain ${network.chainId}.`);
    return new CosignerClient(options, network.chainId, moduleAddress, getAddress(address));
  }

  /** Intents queued for co-signers (by default only those still `Queued`; `all` adds executed, cancelled, expired). */
  async listQueued(options: { all?: boolean } = {}): Promise<QueuedIntent[]> {
    const event = this.module.getEvent("IntentQueued");
    const logs = await withRetry(
      "read IntentQueued events",
      () => this.module.queryFilter(event, this.options.fromBlock ?? 0, "latest"),
      this.retry,
    );
    const out: QueuedIntent[] = [];
    for (const log of logs) {
      const view = await this.queuedView(
        log.args.intentId,
        log.transactionHash,
        log.blockNumber,
        log.args.intent,
        Number(log.args.eta),
      );
      if (options.all || view.status === "Queued") out.push(view);
    }
    return out;
  }

  /** Everything known about one intent: queued or not, decoded from chain data and verified journal text. */
  async show(intentId: string): Promise<IntentView> {
    const id = normaliseId(intentId);
    const [chain, threshold] = await Promise.all([
      outcomeOf(this.module, id, this.options.fromBlock ?? 0, this.retry),
      withRetry("read the threshold", () => this.module.threshold(), this.retry),
    ]);
    const view: IntentView = {
      intentId: id,
      status: chain.status,
      approvals: chain.approvals,
      threshold: Number(threshold),
      approvedBy: [],
      executable: false,
    };
    if (chain.reason) view.reason = chain.reason;
    if (chain.txHash) view.txHash = chain.txHash;
    if (chain.agent !== ZeroAddress) view.agent = chain.agent;
    if (chain.queuedIntent) {
      const q = await this.queuedView(
        id,
        chain.txHash ?? "",
        chain.blockNumber ?? 0,
        chain.queuedIntent,
        chain.eta ?? 0,
      );
      return { ...q, txHash: chain.txHash, ...(chain.reason ? { reason: chain.reason } : {}) };
    }
    // Not queued: the journal may hold the whole intent; otherwise the executed event says what moved.
    const journaled = this.journals.map((j) => j.record(id)).find((r) => r !== undefined);
    if (journaled) {
      const intent = deserializeIntent(journaled.signed.intent);
      view.intent = intent;
      view.review = intent.review;
      view.agent = intent.agent;
      view.action = await decodeAction(intent, this.assets, this.options.knownFunctions);
      view.rationaleHash = intent.rationale;
      view.rationaleText = this.rationaleText(intent.rationale);
    } else if (chain.status === "Executed" || chain.txHash) {
      const executed = await this.executedEvent(id);
      if (executed) {
        // Executed without ever being queued: the agent cannot have asked for review (review always queues).
        if (!executed.escalated) view.review = false;
        view.agent = executed.agent;
        view.action = executed.action;
        view.rationaleHash = executed.rationale;
        view.rationaleText = this.rationaleText(executed.rationale);
      }
    }
    if (chain.status === "None" && !view.intent && !view.action) {
      throw new InvalidRequestError(
        `Intent ${id} is unknown on this module (no record, no event since block ${this.options.fromBlock ?? 0}). Check the intentId, the network and the module.`,
      );
    }
    return view;
  }

  /**
   * Approves a queued intent: on-chain (a transaction), or with `signatureOnly` an EIP-712 signature to hand to
   * whoever executes (no gas, nothing on chain until `execute`).
   */
  async approve(intentId: string, options: { signatureOnly?: boolean } = {}): Promise<ApprovalResult> {
    const id = normaliseId(intentId);
    if (options.signatureOnly) {
      const [members, record, threshold, era] = await Promise.all([
        withRetry("read the co-signers", () => this.module.cosigners(), this.retry),
        withRetry("read the intent", () => this.module.intent(id), this.retry),
        withRetry("read the threshold", () => this.module.threshold(), this.retry),
        withRetry("read the co-signer era", () => this.module.cosignerEra(), this.retry),
      ]);
      if (!members.map((m) => m.toLowerCase()).includes(this.address.toLowerCase())) {
        throw new CosignerRejectedError(
          `${this.address} is not a current co-signer. Use a co-signer's key, or ask the Safe owners to update the co-signer set.`,
          { errorName: "CosignerUnknown", args: { signer: this.address } },
        );
      }
      const status = statusName(record.status);
      if (status !== "Queued") {
        // Same answer the chain would give at execution; saves the co-signer a useless signature.
        throw new IntentStateError(
          `Intent ${id} is ${status}, not Queued: there is nothing to approve. Read it with intent:show.`,
          {
            errorName: "IntentUnexpectedStatus",
            args: { intentId: id, current: record.status, expectedStates: 4n },
          },
        );
      }
      const signature = await signCosignerApproval(this.options.signer, id, era, this.chainId, this.moduleAddress);
      return {
        intentId: id,
        status,
        signer: this.address,
        approvals: Number(record.approvals),
        threshold: Number(threshold),
        // v3: the era travels with the signature, so an executor can tell a stale one from a bad one.
        signature: { signer: this.address, signature, era: Number(era) },
      };
    }
    const receipt = await transact({
      ...this.via,
      what: `approve intent ${id}`,
      check: () => this.module.approve.staticCall(id),
      send: () => this.module.approve(id),
      done: () => this.module.hasApproved(id, this.address),
    });
    const [record, threshold] = await Promise.all([this.module.intent(id), this.module.threshold()]);
    return {
      intentId: id,
      status: statusName(record.status),
      signer: this.address,
      approvals: Number(record.approvals),
      threshold: Number(threshold),
      ...(receipt ? { txHash: receipt.hash } : {}),
    };
  }

  /**
   * Executes a queued intent with on-chain approvals plus `signatures` (sorted and de-duplicated here). Anyone may
   * execute; the signer pays gas.
   */
  async execute(intentId: string, options: { signatures?: CosignerSignatureInfo[] } = {}): Promise<IntentResult> {
    const id = normaliseId(intentId);
    const chain = await outcomeOf(this.module, id, this.options.fromBlock ?? 0, this.retry);
    if (!chain.queuedIntent) {
      throw new InvalidRequestError(
        `Intent ${id} was never queued on this module (no IntentQueued event since block ${this.options.fromBlock ?? 0}); there is nothing to execute.`,
      );
    }
    const intent = chain.queuedIntent;
    const sorted = sortSignatures(options.signatures ?? []);
    await refuseStaleSignatures(this.approvalContext(), id, sorted);
    const signatures = sorted.map(({ signer, signature }) => ({ signer, signature }));
    const receipt = await transact({
      ...this.via,
      what: `execute intent ${id}`,
      check: () => this.module.executeQueued.staticCall(intent, signatures),
      send: () => this.module.executeQueued(intent, signatures),
      done: async () => statusName(await this.module.intentStatus(id)) === "Executed",
    });
    const after = await outcomeOf(this.module, id, chain.blockNumber ?? 0, this.retry);
    const result: IntentResult = {
      intentId: id,
      status: after.status,
      replay: receipt === undefined,
      agent: intent.agent,
      idempotencyKey: intent.idempotencyKey,
      nonce: intent.nonce,
    };
    if (after.eta !== undefined) result.eta = after.eta;
    if (receipt) {
      result.txHash = receipt.hash;
      result.blockNumber = receipt.blockNumber;
    } else if (after.txHash) result.txHash = after.txHash;
    return result;
  }

  /**
   * Checks collected approval signatures against the co-signer set's current era (v3): which ones the module would
   * count now, and the era each stale one was made in. Sends nothing.
   */
  async checkSignatures(intentId: string, signatures: readonly CosignerSignatureInfo[]): Promise<SignatureCheck[]> {
    return checkSignatures(this.approvalContext(), normaliseId(intentId), signatures);
  }

  /** Cancels a queued intent (co-signers, guardians, the Safe and the intent's agent may). */
  async cancel(intentId: string): Promise<CancelResult> {
    return cancelIntent(
      this.module,
      this.provider,
      this.retry,
      this.address,
      normaliseId(intentId),
      this.options.pollIntervalMs,
    );
  }

  // ---------------------------------------------------------------- internals

  private approvalContext(): ApprovalContext {
    return {
      module: this.module,
      provider: this.provider,
      chainId: this.chainId,
      moduleAddress: this.moduleAddress,
      retry: this.retry,
    };
  }

  private rationaleText(rationaleHash: string): string | undefined {
    for (const j of this.journals) {
      const text = j.rationaleText(rationaleHash);
      // Never trust a journal's text for a hash it does not produce.
      if (text !== undefined && keccak256(toUtf8Bytes(text)).toLowerCase() === rationaleHash.toLowerCase()) return text;
    }
    return undefined;
  }

  private async queuedView(
    intentId: string,
    txHash: string,
    blockNumber: number,
    raw: Intent,
    eta: number,
  ): Promise<QueuedIntent> {
    const intent: Intent = {
      agent: raw.agent,
      target: raw.target,
      value: raw.value,
      data: raw.data,
      nonce: raw.nonce,
      idempotencyKey: raw.idempotencyKey,
      validAfter: raw.validAfter,
      validUntil: raw.validUntil,
      rationale: raw.rationale,
      review: raw.review,
    };
    const [record, threshold, members, config, paused, block] = await withRetry(
      "read the intent's state",
      () =>
        Promise.all([
          this.module.intent(intentId),
          this.module.threshold(),
          this.module.cosigners(),
          this.module.agentConfig(intent.agent),
          this.module.paused(),
          this.provider.getBlock("latest"),
        ]),
      this.retry,
    );
    const approvedBy: string[] = [];
    for (const m of members) if (await this.module.hasApproved(intentId, m)) approvedBy.push(m);
    const status = statusName(record.status);
    const now = block?.timestamp ?? 0;
    const view: QueuedIntent = {
      intentId,
      status,
      agent: intent.agent,
      eta,
      expiresAt: eta + Number(config.gracePeriod),
      approvals: Number(record.approvals),
      threshold: Number(threshold),
      approvedBy,
      executable: status === "Queued" && !paused && now >= eta && Number(record.approvals) >= Number(threshold),
      action: await decodeAction(intent, this.assets, this.options.knownFunctions),
      intent,
      review: intent.review,
      rationaleHash: intent.rationale,
      queuedTxHash: txHash,
      queuedBlock: blockNumber,
    };
    const text = this.rationaleText(intent.rationale);
    if (text !== undefined) view.rationaleText = text;
    return view;
  }

  private async executedEvent(
    intentId: string,
  ): Promise<{ agent: string; action: DecodedAction; rationale: string; escalated: boolean } | undefined> {
    const logs = await withRetry(
      "read IntentExecuted",
      () =>
        this.module.queryFilter(this.module.filters.IntentExecuted(intentId), this.options.fromBlock ?? 0, "latest"),
      this.retry,
    );
    const log = logs[logs.length - 1];
    if (!log) return undefined;
    const { agent, asset, to, amount, escalated, rationale } = log.args;
    const info = asset === ZeroAddress ? ETH_ASSET : await this.assets.info(asset);
    const amountFormatted = formatAmount(amount, info.decimals);
    const action: DecodedAction =
      asset === ZeroAddress
        ? {
            kind: "eth-payment",
            to,
            asset: info,
            amount,
            amountFormatted,
            summary: `Paid ${amountFormatted} ETH to ${to}`,
          }
        : {
            kind: "token-payment",
            token: asset,
            to,
            asset: info,
            amount,
            amountFormatted,
            ethValue: 0n,
            summary: `Paid ${amountFormatted} ${info.symbol} to ${to}`,
          };
    return { agent, action, rationale, escalated };
  }
}

/** Co-signer signatures sorted by signer address, without duplicates, as `executeQueued` requires. */
export function sortSignatures(signatures: readonly CosignerSignatureInfo[]): CosignerSignatureInfo[] {
  const bySigner = new Map<string, CosignerSignatureInfo>();
  for (const s of signatures) {
    bySigner.set(getAddress(s.signer).toLowerCase(), {
      signer: getAddress(s.signer),
      signature: s.signature,
      ...(s.era !== undefined ? { era: s.era } : {}),
    });
  }
  return [...bySigner.values()].sort((a, b) => (BigInt(a.signer) < BigInt(b.signer) ? -1 : 1));
}

function normaliseId(intentId: string): string {
  if (!/^0x[0-9a-fA-F]{64}$/.test(intentId))
    throw new InvalidRequestError(`"${intentId}" is not an intentId (0x followed by 64 hex digits).`);
  return intentId.toLowerCase();
}
