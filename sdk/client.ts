/**
 * AgentClient: what an AI agent uses to spend from the treasury, safely under retries and crashes.
 *
 * Every request becomes an EIP-712 intent with an idempotency key (the caller's, or one derived from the request),
 * signed at the lane's current on-chain nonce, journaled durably before it is sent, and settled from the receipt.
 * On start the client reconciles its journal with the chain, so a crash anywhere between signing and the receipt
 * neither pays twice (the key binds one payload forever, on chain) nor loses an intent (unfinished entries are
 * finished or resumed). The journal is bound to the chain instance it was written on (sdk/chainIdentity.ts): after a
 * node restart it is set aside, and a replay is reported only when the chain confirms the key's binding; an outcome
 * the chain has lost (a reorganisation) is reopened and the intent sent again under the same key.
 *
 * Depends on ethers and the generated contract types only (no Hardhat), so it runs inside a production agent.
 */
import { Signer, getAddress } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { splitNonce } from "./eip712";
import { InvalidRequestError, TreasuryError, WaitTimeoutError, decodeError } from "./errors";
import { AssetBook, formatAmount, outcomeOf, requireAddress } from "./chain";
import { IntentKind, Journal, SignedEntry } from "./journal";
import { ChainIdentity, readChainIdentity } from "./chainIdentity";
import { DEFAULT_RETRY, RetryOptions, sleep, withRetry } from "./retry";
import { LaneLocks, Payload, callPayload, checkRequest, laneOf, payPayload, requestKey } from "./request";
import { ClientCore, chainTime, landedOutcome } from "./settle";
import { drive, knownAnswer, sign } from "./drive";
import { BatchHost, BatchPreview, BatchResult, PayManyOptions, dryRunMany, payMany } from "./batch";
import {
  AssetInfo,
  CallRequest,
  DenyReasonName,
  FINAL_STATUSES,
  IntentPreview,
  IntentResult,
  IntentStatusName,
  LaneRef,
  PayRequest,
  ProposeRequest,
  Stage,
} from "./types";
import { treasuryModule } from "./bindings";
import { dryRun } from "./dryRun";

export { laneOf, keyFromText, deriveKey } from "./request";
export type { Stage } from "./types";

export interface AgentClientOptions {
  /** The module (AgentTreasuryModule clone) address. */
  module: string;
  /** Signs intents: the agent's key (or, for an ERC-1271 agent, a key the agent contract accepts). Needs a provider. */
  signer: Signer;
  /** The agent address, when it differs from the signer's (ERC-1271 contract agents). */
  agent?: string;
  /** Sends the transactions and pays gas. Default: the signer. Give a relayer so the agent key holds no ETH. */
  relayer?: Signer;
  /** The journal file (or an open Journal). One process per file. */
  journal: string | Journal;
  /** Token symbols the caller may use as `asset`: symbol -> address. */
  tokens?: Record<string, string>;
  /** Seconds each signature stays valid for submission (default 3600). */
  validFor?: number;
  /** Backoff for transient RPC failures. */
  retry?: Partial<RetryOptions>;
  /** Finish unfinished journal entries on start (default true). When false they are only reported. */
  resume?: boolean;
  /** Events of intents are searched from this block (default 0; set the module's deployment block on long chains). */
  fromBlock?: number;
  /** Polling interval of `waitFor` and receipts, ms (default 1000). */
  pollIntervalMs?: number;
  /** How long to wait for a transaction's receipt before giving up with WaitTimeoutError (default 5 minutes). */
  receiptTimeoutMs?: number;
  /** Called after each durable step of a submission. A thrown error aborts the submission (it stays journaled). */
  onStage?: (stage: Stage, intentId: string) => void | Promise<void>;
  /** The AgentTreasuryLens address: lets `dryRun` say why (the deployment record has it). */
  lens?: string;
  /** One-line notes: a journal set aside after a node restart, an outcome the chain no longer has. Default: stderr. */
  log?: (line: string) => void;
}

/** What the start-up reconciliation found. */
export interface RecoveryReport {
  /** Unfinished journal entries found: always landed + resumed + pending (a refused intent is finished, not counted). */
  checked: number;
  /** Intents that had reached the chain before the crash; their outcomes are now journaled. */
  landed: IntentResult[];
  /** Intents that had not reached the chain and were sent now (under the same idempotency key). */
  resumed: IntentResult[];
  /** Unfinished intents left as they are (`resume: false`) or that failed to resume. */
  pending: { intentId: string; error?: TreasuryError }[];
}

/** The current state of an intent. */
export interface IntentStatusInfo {
  intentId: string;
  status: IntentStatusName;
  reason?: DenyReasonName;
  eta?: number;
  txHash?: string;
  /** On-chain co-signer approvals (queued intents). */
  approvals: number;
  /** The agent's stated reason, when this client journaled the intent. */
  rationaleText?: string;
  /** True when the client's journal knows the intent. */
  journaled: boolean;
}

export interface Allowance {
  asset: AssetInfo;
  /** Base units the agent can still spend in the auto tier now. */
  amount: bigint;
  /** The same in human units. */
  formatted: string;
}

export interface WaitOptions {
  /** Resolve when the status is one of these (default: a final status: Executed, Denied, Cancelled, Expired). */
  until?: IntentStatusName[];
  /** Give up after this many ms (default 10 minutes). */
  timeoutMs?: number;
  pollIntervalMs?: number;
}

export class AgentClient {
  readonly module: IAgentTreasuryModule;
  readonly agent: string;
  readonly journal: Journal;
  readonly assets: AssetBook;
  /** Filled by `connect` (reconciliation on start). */
  recovery: RecoveryReport = { checked: 0, landed: [], resumed: [], pending: [] };
  /** Where `connect` set the journal aside because it belonged to another instance of this chain (a restarted node). */
  journalSetAside?: string;

  /** What the client's parts (sdk/settle.ts, sdk/drive.ts) share. */
  private readonly core: ClientCore;
  /**
   * What `payMany`, `dryRunMany` (sdk/batch.ts) and `dryRun` (sdk/dryRun.ts) use: the same parts, the asset book, the
   * lens and the lanes.
   */
  private readonly batch: BatchHost;
  private readonly lanes = new LaneLocks();
  private readonly ownsJournal: boolean;

  private constructor(
    private readonly options: AgentClientOptions,
    readonly chainId: bigint,
    readonly moduleAddress: string,
    agent: string,
    /** The chain instance this client talks to. */
    readonly identity: ChainIdentity,
  ) {
    const provider = options.signer.provider!;
    const relayer: Signer = options.relayer ?? options.signer;
    this.module = treasuryModule(moduleAddress, relayer);
    this.agent = agent;
    this.ownsJournal = typeof options.journal === "string";
    this.journal = typeof options.journal === "string" ? Journal.open(options.journal) : options.journal;
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    this.assets = new AssetBook(provider, options.tokens, retry);
    this.core = {
      module: this.module,
      agent,
      chainId,
      moduleAddress,
      journal: this.journal,
      provider,
      signer: options.signer,
      relayer,
      retry,
      validFor: BigInt(options.validFor ?? 3600),
      fromBlock: options.fromBlock ?? 0,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      receiptTimeoutMs: options.receiptTimeoutMs,
      onStage: options.onStage,
      log: options.log ?? ((line) => process.stderr.write(`${line}\n`)),
    };
    this.batch = { ...this.core, assets: this.assets, lens: options.lens, lanes: this.lanes };
  }

  /**
   * Connects to the module, opens the journal and reconciles it with the chain before anything new is signed.
   * The report is in `client.recovery`.
   */
  static async connect(options: AgentClientOptions): Promise<AgentClient> {
    if (!options.signer.provider)
      throw new InvalidRequestError("The agent signer has no provider; connect it to an RPC provider first.");
    if (options.validFor !== undefined && (!Number.isInteger(options.validFor) || options.validFor < 60)) {
      throw new InvalidRequestError(`validFor must be a whole number of seconds >= 60 (got ${options.validFor}).`);
    }
    const retry = { ...DEFAULT_RETRY, ...options.retry };
    const moduleAddress = requireAddress(options.module, "module");
    const provider = options.signer.provider;
    const [network, code, signerAddress] = await Promise.all([
      withRetry("read the chain id", () => provider.getNetwork(), retry),
      withRetry("read the module's code", () => provider.getCode(moduleAddress), retry),
      options.signer.getAddress(),
    ]);
    if (code === "0x")
      throw new InvalidRequestError(
        `No contract at module address ${moduleAddress} on chain ${network.chainId}. Check the deployment record.`,
      );
    const identity = await withRetry(
      "identify the chain (genesis block, node instance)",
      () => readChainIdentity(provider),
      retry,
    );
    const agent = options.agent ? requireAddress(options.agent, "agent") : getAddress(signerAddress);
    const client = new AgentClient(options, BigInt(identity.chainId), moduleAddress, agent, identity);
    try {
      // A journal of another instance of this chain (a restarted node) is set aside before anything is read from it.
      client.journalSetAside = client.journal.bind(identity, client.core.log);
      client.recovery = await client.reconcile();
    } catch (err) {
      client.close();
      throw err;
    }
    return client;
  }

  /** Releases the journal (when the client opened it). */
  close(): void {
    if (this.ownsJournal) this.journal.close();
  }

  // ---------------------------------------------------------------- requests

  /**
   * Pays `amount` (human units) of `asset` to `to`. Requests on one lane are signed and sent in call order;
   * requests on different lanes run in parallel.
   */
  pay(request: PayRequest): Promise<IntentResult> {
    return this.request("submit", () => payPayload(this.assets, request), request);
  }

  /** Calls an allowed (target, function) of the policy. */
  call(request: CallRequest): Promise<IntentResult> {
    return this.request("submit", async () => callPayload(request), request);
  }

  /**
   * Pays many at once: one `submitBatch` transaction, each payment journaled and keyed as `pay` would, at
   * consecutive nonces of one lane. Requests already submitted are answered without being sent again. See
   * `./batch.ts`.
   */
  payMany(requests: readonly PayRequest[], options: PayManyOptions = {}): Promise<BatchResult> {
    return payMany(this.batch, requests, options);
  }

  /** What `payMany` would do now, row by row, from the module's own answer; signs, journals and sends nothing. */
  dryRunMany(requests: readonly PayRequest[], options: PayManyOptions = {}): Promise<BatchPreview> {
    return dryRunMany(this.batch, requests, options);
  }

  /** Asks for human review: the intent is queued for co-signers even within the auto limits. */
  propose(request: ProposeRequest): Promise<IntentResult> {
    return this.request(
      "propose",
      async () => ("asset" in request ? payPayload(this.assets, request) : callPayload(request)),
      request,
    );
  }

  /**
   * What `pay`, `call` or `propose` would do now, read from the chain without signing, journaling or sending
   * anything: Executed, Queued or Denied, and why. The status is the module's own answer (the same intent, as
   * `submit` would receive it, run as a static call from the agent's address, where an empty signature is valid);
   * the reasons come from a model of the policy (`./route`) and are given only when it agrees with that answer and
   * the client knows the lens (`lens` option). A request the module would reject (paused, frozen, wrong key ...)
   * throws the same typed error the real request would. The state can change before the real request lands.
   */
  dryRun(action: "pay" | "call" | "propose", request: PayRequest | CallRequest): Promise<IntentPreview> {
    return dryRun(this.batch, action, request);
  }

  /** The current status of an intent (journal and chain). */
  async status(intentId: string): Promise<IntentStatusInfo> {
    const record = this.journal.record(intentId);
    const from = record?.signed.signedAtBlock ?? this.core.fromBlock;
    const chain = await outcomeOf(this.module, intentId, from, this.core.retry);
    const info: IntentStatusInfo = {
      intentId,
      status: chain.status,
      approvals: chain.approvals,
      journaled: record !== undefined,
    };
    if (chain.reason) info.reason = chain.reason;
    if (chain.eta !== undefined) info.eta = chain.eta;
    if (chain.txHash) info.txHash = chain.txHash;
    if (record) info.rationaleText = record.signed.rationaleText;
    return info;
  }

  /** What the agent can still spend of `asset` in the auto tier now. */
  async available(asset: string): Promise<Allowance> {
    const info = await this.assets.resolve(asset);
    const read = () => this.module.availableAllowance(this.agent, info.address);
    const amount = await withRetry("read the available allowance", read, this.core.retry);
    return { asset: info, amount, formatted: formatAmount(amount, info.decimals) };
  }

  /** The next nonce of a lane, as the module counts it. */
  async nonce(lane?: LaneRef): Promise<bigint> {
    const l = laneOf(lane);
    return withRetry("read the lane nonce", () => this.module.getNonce(this.agent, l), this.core.retry);
  }

  /** Polls until the intent reaches one of `until` (default: a final status). */
  async waitFor(intentId: string, options: WaitOptions = {}): Promise<IntentStatusInfo> {
    const until = options.until ?? [...FINAL_STATUSES];
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    const poll = options.pollIntervalMs ?? this.core.pollIntervalMs;
    for (;;) {
      const info = await this.status(intentId);
      if (until.includes(info.status)) return info;
      if (Date.now() + poll > deadline) {
        throw new WaitTimeoutError(
          `Intent ${intentId} is still ${info.status} after ${options.timeoutMs ?? 600_000} ms (waiting for ${until.join(" or ")}). ` +
            (info.status === "Queued"
              ? "It needs co-signer approvals and its eta; ask the co-signers, then wait again."
              : "Wait again or check the chain."),
          { args: { intentId, status: info.status } },
        );
      }
      await sleep(poll);
    }
  }

  // ---------------------------------------------------------------- reconciliation

  /**
   * Compares every unfinished journal entry with the chain: records the outcome of intents that landed, and
   * (unless `resume` is false) finishes those that did not, under the same idempotency key.
   */
  async reconcile(): Promise<RecoveryReport> {
    const report: RecoveryReport = { checked: 0, landed: [], resumed: [], pending: [] };
    const now = await chainTime(this.core);
    const candidates = this.journal
      .allRecords()
      .filter(
        (r) =>
          this.mine(r.signed) &&
          !r.outcome &&
          (!r.closed || (r.closed.why === "rejected" && BigInt(r.signed.intent.validUntil) >= now)),
      );
    for (const record of candidates) {
      // Under the lane's lock, so a request running on the same lane never drives the same intent at once.
      const lane = splitNonce(BigInt(record.signed.intent.nonce)).lane;
      await this.lanes.run(lane, async () => {
        if (this.journal.record(record.signed.intentId)?.outcome) return; // settled meanwhile
        const landed = await landedOutcome(this.core, record);
        if (landed) {
          report.checked++;
          report.landed.push(landed);
          return;
        }
        // A rejected intent stays rejected unless it lands by someone else's hand (checked above); it was finished
        // (refused), not unfinished, so it is not counted.
        if (record.closed) return;
        report.checked++;
        if (this.options.resume === false) {
          report.pending.push({ intentId: record.signed.intentId });
          return;
        }
        try {
          report.resumed.push(await drive(this.core, record.signed, false));
        } catch (err) {
          const error = decodeError(err);
          if (!error) throw err;
          report.pending.push({ intentId: record.signed.intentId, error });
        }
      });
    }
    return report;
  }

  // ---------------------------------------------------------------- internals

  private mine(s: SignedEntry): boolean {
    return (
      s.chainId === this.chainId.toString() &&
      s.module.toLowerCase() === this.moduleAddress.toLowerCase() &&
      s.intent.agent.toLowerCase() === this.agent.toLowerCase()
    );
  }

  /**
   * Takes the lane's slot before anything asynchronous, so requests on one lane keep their call order, then builds
   * the payload and submits it.
   */
  private request(
    kind: IntentKind,
    build: () => Promise<Payload>,
    request: PayRequest | CallRequest,
  ): Promise<IntentResult> {
    let lane: bigint;
    try {
      lane = laneOf(request.lane);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.lanes.run(lane, () => this.submitRequest(kind, build, request, lane));
  }

  private async submitRequest(
    kind: IntentKind,
    build: () => Promise<Payload>,
    request: PayRequest | CallRequest,
    lane: bigint,
  ): Promise<IntentResult> {
    checkRequest(request);
    const payload = await build();
    const keySource = request.idempotencyKey === undefined ? "derived" : "caller";
    const key = requestKey(this.core, kind, payload, request);
    const known = await knownAnswer(this.core, payload, key, "drive");
    if (known) return known;

    // A new intent, signed at the lane's current nonce and journaled before it leaves the process.
    const signed = await sign(this.core, {
      kind,
      payload,
      key,
      keySource,
      rationaleText: request.rationale,
      lane,
      validFor: request.validFor,
    });
    return drive(this.core, signed, false);
  }
}
