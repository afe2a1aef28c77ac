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
import { AbiCoder, Interface, Provider, Signer, ZeroHash, getAddress, isHexString, keccak256, toUtf8Bytes } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import { IAgentTreasuryModule__factory } from "../typechain-types/factories/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule__factory";
import { AgentTreasuryLens__factory } from "../typechain-types/factories/contracts/AgentTreasuryLens__factory";
import { explainAgainst, explainRoute } from "./route";
import { Intent, hashIntent, payloadCommitment, signIntent, splitNonce } from "./eip712";
import {
  IdempotencyConflictError,
  InvalidRequestError,
  NonceMismatchError,
  TreasuryError,
  UnknownRevertError,
  WaitTimeoutError,
  decodeError,
} from "./errors";
import { AssetBook, formatAmount, outcomeFromReceipt, outcomeOf, parseAmount, requireAddress, serialBroadcast, waitForReceipt } from "./chain";
import { IntentKind, Journal, JournalRecord, SignedEntry, JOURNAL_VERSION, deserializeIntent, serializeIntent } from "./journal";
import { ChainIdentity, readChainIdentity } from "./chainIdentity";
import { DEFAULT_RETRY, RetryOptions, sleep, withRetry } from "./retry";
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
  statusName,
} from "./types";

import type { Stage } from "./types";
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

interface Payload {
  target: string;
  value: bigint;
  data: string;
}

/** A workflow name or number as a 192-bit nonce lane. Names hash to a lane so they never collide with small numbers. */
export function laneOf(lane: LaneRef | undefined): bigint {
  if (lane === undefined) return 0n;
  if (typeof lane === "string") {
    if (/^\d+$/.test(lane)) return laneOf(BigInt(lane));
    return BigInt(keccak256(toUtf8Bytes(`atg.lane:${lane}`))) >> 64n;
  }
  const n = BigInt(lane);
  if (n < 0n || n >= 1n << 192n) throw new InvalidRequestError(`lane ${lane} is outside 0 .. 2^192-1.`);
  return n;
}

/** An idempotency key from caller text: 32-byte hex is used as is, other text is hashed. */
export function keyFromText(text: string): string {
  if (isHexString(text, 32)) {
    if (BigInt(text) === 0n) throw new InvalidRequestError("idempotencyKey 0x00…00 means 'no key'; give a real key.");
    return text.toLowerCase();
  }
  if (text.length === 0) throw new InvalidRequestError("idempotencyKey must not be empty; omit it to derive one from the request.");
  return keccak256(toUtf8Bytes(text));
}

/**
 * The key of a request without one: a hash of what it does (agent, kind, target, value, calldata) and why
 * (the rationale text) on this chain and module. The same request retried, even by a restarted process, gets the
 * same key and therefore pays once; a deliberately repeated payment needs its own rationale (e.g. the invoice
 * number) or an explicit key.
 */
export function deriveKey(chainId: bigint, module: string, agent: string, kind: IntentKind, p: Payload, rationaleText: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "uint256", "address", "address", "string", "address", "uint256", "bytes32", "bytes32"],
      ["atg.derived-key.v1", chainId, module, agent, kind, p.target, p.value, keccak256(p.data), keccak256(toUtf8Bytes(rationaleText))],
    ),
  );
}

/** Serialises async work per lane: nonces of one lane are used strictly in order, other lanes run in parallel. */
class LaneLocks {
  private readonly tails = new Map<bigint, Promise<unknown>>();
  run<T>(lane: bigint, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(lane) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(fn);
    this.tails.set(lane, next);
    return next;
  }
}

/** Seconds before `validUntil` after which the client re-signs instead of sending (block times drift). */
const DEADLINE_MARGIN = 30n;
/** Nonce races (another process on the same lane) tolerated per request before giving up. */
const MAX_RESIGNS = 3;

export class AgentClient {
  readonly module: IAgentTreasuryModule;
  readonly agent: string;
  readonly journal: Journal;
  readonly assets: AssetBook;
  /** Filled by `connect` (reconciliation on start). */
  recovery: RecoveryReport = { checked: 0, landed: [], resumed: [], pending: [] };
  /** Where `connect` set the journal aside because it belonged to another instance of this chain (a restarted node). */
  journalSetAside?: string;

  private readonly provider: Provider;
  private readonly relayer: Signer;
  private readonly retry: Partial<RetryOptions>;
  private readonly validFor: bigint;
  private readonly fromBlock: number;
  private readonly pollIntervalMs: number;
  private readonly lanes = new LaneLocks();
  private readonly ownsJournal: boolean;
  private readonly log: (line: string) => void;

  private constructor(
    private readonly options: AgentClientOptions,
    readonly chainId: bigint,
    readonly moduleAddress: string,
    agent: string,
    /** The chain instance this client talks to. */
    readonly identity: ChainIdentity,
  ) {
    this.provider = options.signer.provider!;
    this.relayer = options.relayer ?? options.signer;
    this.module = IAgentTreasuryModule__factory.connect(moduleAddress, this.relayer);
    this.agent = agent;
    this.ownsJournal = typeof options.journal === "string";
    this.journal = typeof options.journal === "string" ? Journal.open(options.journal) : options.journal;
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.assets = new AssetBook(this.provider, options.tokens, this.retry);
    this.validFor = BigInt(options.validFor ?? 3600);
    this.fromBlock = options.fromBlock ?? 0;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
  }

  /**
   * Connects to the module, opens the journal and reconciles it with the chain before anything new is signed.
   * The report is in `client.recovery`.
   */
  static async connect(options: AgentClientOptions): Promise<AgentClient> {
    if (!options.signer.provider) throw new InvalidRequestError("The agent signer has no provider; connect it to an RPC provider first.");
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
    if (code === "0x") throw new InvalidRequestError(`No contract at module address ${moduleAddress} on chain ${network.chainId}. Check the deployment record.`);
    const identity = await withRetry("identify the chain (genesis block, node instance)", () => readChainIdentity(provider), retry);
    const agent = options.agent ? requireAddress(options.agent, "agent") : getAddress(signerAddress);
    const client = new AgentClient(options, BigInt(identity.chainId), moduleAddress, agent, identity);
    try {
      // A journal of another instance of this chain (a restarted node) is set aside before anything is read from it.
      client.journalSetAside = client.journal.bind(identity, client.log);
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
    return this.request("submit", () => this.payPayload(request), request);
  }

  /** Calls an allowed (target, function) of the policy. */
  call(request: CallRequest): Promise<IntentResult> {
    return this.request("submit", async () => this.callPayload(request), request);
  }

  /**
   * Pays many at once: one `submitBatch` transaction, each payment journaled and keyed as `pay` would, at
   * consecutive nonces of one lane. Requests already submitted are answered without being sent again. See
   * `./batch.ts`.
   */
  payMany(requests: readonly PayRequest[], options: PayManyOptions = {}): Promise<BatchResult> {
    return payMany(this.batchHost(), requests, options);
  }

  /** What `payMany` would do now, row by row, from the module's own answer; signs, journals and sends nothing. */
  dryRunMany(requests: readonly PayRequest[], options: PayManyOptions = {}): Promise<BatchPreview> {
    return dryRunMany(this.batchHost(), requests, options);
  }

  /** Asks for human review: the intent is queued for co-signers even within the auto limits. */
  propose(request: ProposeRequest): Promise<IntentResult> {
    return this.request("propose", async () => ("asset" in request ? this.payPayload(request) : this.callPayload(request)), request);
  }

  /**
   * What `pay`, `call` or `propose` would do now, read from the chain without signing, journaling or sending
   * anything: Executed, Queued or Denied, and why. The status is the module's own answer (the same intent, as
   * `submit` would receive it, run as a static call from the agent's address, where an empty signature is valid);
   * the reasons come from a model of the policy (`./route`) and are given only when it agrees with that answer and
   * the client knows the lens (`lens` option). A request the module would reject (paused, frozen, wrong key ...)
   * throws the same typed error the real request would. The state can change before the real request lands.
   */
  async dryRun(action: "pay" | "call" | "propose", request: PayRequest | CallRequest): Promise<IntentPreview> {
    this.checkRequest(request);
    const kind: IntentKind = action === "propose" ? "propose" : "submit";
    const isPayment = action === "pay" || (action === "propose" && "asset" in request);
    const payload = isPayment ? await this.payPayload(request as PayRequest) : this.callPayload(request as CallRequest);
    const key = this.keyOf(kind, payload, request);
    const lane = laneOf(request.lane);
    const block = await withRetry("read the latest block", () => this.provider.getBlock("latest"), this.retry);
    if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
    const blockTag = block.number;
    const reader = this.module.connect(this.provider);
    const nonce = await withRetry("read the lane nonce", () => reader.getNonce(this.agent, lane, { blockTag }), this.retry);
    const validUntil = BigInt(block.timestamp) + (request.validFor === undefined ? this.validFor : BigInt(request.validFor));
    const intent = this.buildIntent(kind, payload, key, nonce, validUntil, request.rationale);
    const intentId = hashIntent(intent, this.chainId, this.moduleAddress);
    let answer: [string, bigint];
    try {
      answer = await withRetry(`simulate intent ${intentId}`, () => reader.submit.staticCall(intent, "0x", { from: this.agent, blockTag }), this.retry);
    } catch (err) {
      throw decodeError(err) ?? err;
    }
    const replay = answer[0].toLowerCase() !== intentId.toLowerCase();
    let status = statusName(answer[1]);
    // `submit` stands in for `propose`: the same checks, and a review request queues whatever is not denied.
    if (kind === "propose" && !replay && status === "Executed") status = "Queued";
    const preview: IntentPreview = {
      dryRun: true,
      status,
      intentId: replay ? answer[0] : intentId,
      replay,
      agent: this.agent,
      idempotencyKey: key,
      nonce,
      blockNumber: blockTag,
      explained: false,
    };
    if (replay || !this.options.lens) return preview;
    const lens = AgentTreasuryLens__factory.connect(this.options.lens, this.provider);
    const model = await withRetry("read the policy", () => explainRoute(reader, lens, this.agent, payload, kind === "propose", blockTag), this.retry);
    const agreed = explainAgainst(model, status);
    if (!agreed) return preview;
    preview.explained = true;
    if (agreed.denyReason) preview.reason = agreed.denyReason;
    if (agreed.queuedBecause.length > 0) preview.queuedBecause = agreed.queuedBecause;
    if (agreed.strikes) preview.strikes = agreed.strikes;
    if (agreed.conditions) preview.conditions = agreed.conditions;
    if (agreed.spends) {
      const asset = await this.assets.info(agreed.spends.asset);
      preview.spends = { asset, amount: agreed.spends.amount, formatted: formatAmount(agreed.spends.amount, asset.decimals) };
      if (agreed.availableAllowance !== undefined) {
        preview.allowanceLeft = { asset, amount: agreed.availableAllowance, formatted: formatAmount(agreed.availableAllowance, asset.decimals) };
      }
    }
    return preview;
  }

  /** The current status of an intent (journal and chain). */
  async status(intentId: string): Promise<IntentStatusInfo> {
    const record = this.journal.record(intentId);
    const from = record?.signed.signedAtBlock ?? this.fromBlock;
    const chain = await outcomeOf(this.module, intentId, from, this.retry);
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
    const amount = await withRetry("read the available allowance", () => this.module.availableAllowance(this.agent, info.address), this.retry);
    return { asset: info, amount, formatted: formatAmount(amount, info.decimals) };
  }

  /** The next nonce of a lane, as the module counts it. */
  async nonce(lane?: LaneRef): Promise<bigint> {
    const l = laneOf(lane);
    return withRetry("read the lane nonce", () => this.module.getNonce(this.agent, l), this.retry);
  }

  /** Polls until the intent reaches one of `until` (default: a final status). */
  async waitFor(intentId: string, options: WaitOptions = {}): Promise<IntentStatusInfo> {
    const until = options.until ?? [...FINAL_STATUSES];
    const deadline = Date.now() + (options.timeoutMs ?? 600_000);
    const poll = options.pollIntervalMs ?? this.pollIntervalMs;
    for (;;) {
      const info = await this.status(intentId);
      if (until.includes(info.status)) return info;
      if (Date.now() + poll > deadline) {
        throw new WaitTimeoutError(
          `Intent ${intentId} is still ${info.status} after ${options.timeoutMs ?? 600_000} ms (waiting for ${until.join(" or ")}). ` +
            (info.status === "Queued" ? "It needs co-signer approvals and its eta; ask the co-signers, then wait again." : "Wait again or check the chain."),
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
    const now = await this.chainTime();
    const candidates = this.journal
      .allRecords()
      .filter((r) => this.mine(r.signed) && !r.outcome && (!r.closed || (r.closed.why === "rejected" && BigInt(r.signed.intent.validUntil) >= now)));
    for (const record of candidates) {
      // Under the lane's lock, so a request running on the same lane never drives the same intent at once.
      const lane = splitNonce(BigInt(record.signed.intent.nonce)).lane;
      await this.lanes.run(lane, async () => {
        if (this.journal.record(record.signed.intentId)?.outcome) return; // settled meanwhile
        const landed = await this.landedOutcome(record);
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
          report.resumed.push(await this.drive(record.signed, false));
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

  /** What `./batch.ts` uses of this client: the same validation, keys, journal, signing and settling as `pay`. */
  private batchHost(): BatchHost {
    return {
      agent: this.agent,
      chainId: this.chainId,
      moduleAddress: this.moduleAddress,
      module: this.module,
      provider: this.provider,
      relayer: this.relayer,
      journal: this.journal,
      assets: this.assets,
      retry: this.retry,
      pollIntervalMs: this.pollIntervalMs,
      receiptTimeoutMs: this.options.receiptTimeoutMs,
      lens: this.options.lens,
      validFor: this.validFor,
      laneOf,
      onLane: (lane, fn) => this.lanes.run(lane, fn),
      checkRequest: (request) => this.checkRequest(request),
      payload: (request) => this.payPayload(request),
      keyOf: (payload, request) => this.keyOf("submit", payload, request),
      buildIntent: (payload, key, nonce, validUntil, rationaleText) => this.buildIntent("submit", payload, key, nonce, validUntil, rationaleText),
      knownAnswer: (payload, key) => this.knownAnswer(payload, key, "supersede"),
      sign: (payload, key, request, lane, at) =>
        this.sign("submit", payload, key, request.idempotencyKey === undefined ? "derived" : "caller", request.rationale, lane, request.validFor, undefined, at),
      closeRejected: (s, error) => this.close_(s, "rejected", error),
      stage: async (stage, intentId) => {
        await this.options.onStage?.(stage, intentId);
      },
      settleFromChain: (s, decidedBy, txHash) => this.settleFromChain(s, decidedBy, txHash),
      result: (s, status, extra) => this.result(s.intentId, s, status, { ...extra, replay: false }),
    };
  }

  private mine(s: SignedEntry): boolean {
    return (
      s.chainId === this.chainId.toString() &&
      s.module.toLowerCase() === this.moduleAddress.toLowerCase() &&
      s.intent.agent.toLowerCase() === this.agent.toLowerCase()
    );
  }

  private async payPayload(request: PayRequest): Promise<Payload> {
    if (typeof request.to !== "string") throw new InvalidRequestError("pay needs `to`, the recipient address.");
    const to = requireAddress(request.to, "to");
    if (BigInt(to) === 0n) throw new InvalidRequestError("to is the zero address; tokens sent there are lost.");
    const asset = await this.assets.resolve(request.asset);
    const amount = parseAmount(request.amount, asset);
    if (amount === 0n) throw new InvalidRequestError("amount is 0: there is nothing to pay.");
    if (asset.address === "0x0000000000000000000000000000000000000000") return { target: to, value: amount, data: "0x" };
    const data = new Interface(["function transfer(address,uint256)"]).encodeFunctionData("transfer", [to, amount]);
    return { target: asset.address, value: 0n, data };
  }

  /** The target, ETH value and calldata a call request signs (public so tools can explain the call's conditions). */
  callPayload(request: CallRequest): Payload {
    const target = requireAddress(request.target, "target");
    let data: string;
    if (request.data !== undefined) {
      if (request.function !== undefined) throw new InvalidRequestError("Give either `data` or `function` with `args`, not both.");
      if (!isHexString(request.data) || request.data.length < 10) throw new InvalidRequestError("data must be hex calldata with at least a 4-byte selector.");
      data = request.data.toLowerCase();
    } else if (request.function !== undefined) {
      try {
        const iface = new Interface([`function ${request.function}`]);
        data = iface.encodeFunctionData(request.function.split("(")[0].trim(), [...(request.args ?? [])]);
      } catch (err) {
        throw new InvalidRequestError(`Cannot encode ${request.function} with args ${JSON.stringify(request.args ?? [], (_k, v) => (typeof v === "bigint" ? v.toString() : v))}: ${(err as Error).message.split("\n")[0]}`, { cause: err });
      }
    } else {
      throw new InvalidRequestError("call needs `data`, or `function` (e.g. \"deposit(uint256)\") with `args`.");
    }
    const value = request.value === undefined ? 0n : parseAmount(request.value, { address: "0x0000000000000000000000000000000000000000", symbol: "ETH", decimals: 18 }, "value");
    return { target, value, data };
  }

  /**
   * Takes the lane's slot before anything asynchronous, so requests on one lane keep their call order, then builds
   * the payload and submits it.
   */
  private request(kind: IntentKind, build: () => Promise<Payload>, request: PayRequest | CallRequest): Promise<IntentResult> {
    let lane: bigint;
    try {
      lane = laneOf(request.lane);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.lanes.run(lane, () => this.submitRequest(kind, build, request, lane));
  }

  /** The checks every request passes before anything is built or signed. */
  private checkRequest(request: PayRequest | CallRequest): void {
    if (typeof request.rationale !== "string" || request.rationale.trim().length === 0) {
      throw new InvalidRequestError("rationale is required: say why (it is journaled and its hash goes on chain with the intent).");
    }
    if (request.validFor !== undefined && (!Number.isInteger(request.validFor) || request.validFor < 60)) {
      throw new InvalidRequestError(`validFor must be a whole number of seconds >= 60 (got ${request.validFor}).`);
    }
  }

  /** The request's idempotency key: the caller's, or derived from what it does and why. */
  private keyOf(kind: IntentKind, payload: Payload, request: PayRequest | CallRequest): string {
    return request.idempotencyKey === undefined
      ? deriveKey(this.chainId, this.moduleAddress, this.agent, kind, payload, request.rationale)
      : keyFromText(request.idempotencyKey);
  }

  /** The intent the client signs for a payload (one place, for `sign` and `dryRun`). */
  private buildIntent(kind: IntentKind, payload: Payload, key: string, nonce: bigint, validUntil: bigint, rationaleText: string): Intent {
    return {
      agent: this.agent,
      target: payload.target,
      value: payload.value,
      data: payload.data,
      nonce,
      idempotencyKey: key,
      validAfter: 0n,
      validUntil,
      rationale: keccak256(toUtf8Bytes(rationaleText)),
      // v3: a request for review is part of what the agent signs; `propose` accepts nothing else.
      review: kind === "propose",
    };
  }

  private async submitRequest(kind: IntentKind, build: () => Promise<Payload>, request: PayRequest | CallRequest, lane: bigint): Promise<IntentResult> {
    this.checkRequest(request);
    const payload = await build();
    const keySource = request.idempotencyKey === undefined ? "derived" : "caller";
    const key = this.keyOf(kind, payload, request);
    const known = await this.knownAnswer(payload, key, "drive");
    if (known) return known;

    // 3. A new intent, signed at the lane's current nonce and journaled before it leaves the process.
    const signed = await this.sign(kind, payload, key, keySource, request.rationale, lane, request.validFor);
    return this.drive(signed, false);
  }

  /**
   * The answer to a request this client or the chain has seen before under `key`, or undefined for a new one.
   * 1. The journal first: a retry of a request this client already handled is answered without a new intent; an
   *    unfinished one is driven to its outcome (`drive`) or, when a batch will send it again, closed as superseded
   *    unless it landed (`supersede`).
   * 2. Then the chain: the key may have been used by a lost journal or another process.
   */
  private async knownAnswer(payload: Payload, key: string, unfinishedAs: "drive" | "supersede"): Promise<IntentResult | undefined> {
    const previous = this.journal.byKey(this.chainId, this.moduleAddress, this.agent, key);
    for (const r of previous) this.requireSamePayload(r.signed, payload, key);
    const settled = previous.find((r) => r.outcome);
    if (settled) return this.replayResult(settled);
    const unfinished = previous.find((r) => !r.outcome && !r.closed);
    if (unfinished && unfinishedAs === "drive") return this.drive(unfinished.signed, true);
    if (unfinished) {
      const landed = await this.landedOutcome({ signed: unfinished.signed });
      if (landed) return landed;
      this.journal.append({ t: "closed", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: unfinished.signed.intentId, why: "superseded" });
    }
    const bound = await withRetry("read the idempotency record", () => this.module.idempotencyRecord(this.agent, key), this.retry);
    if (bound.intentId === ZeroHash) return undefined;
    if (bound.payloadHash !== payloadCommitment(payload.target, payload.value, payload.data)) {
      throw this.conflict(key, bound.intentId);
    }
    // One of our own closed attempts may have landed by another hand: journal it so journal and chain agree.
    const ours = previous.find((r) => r.signed.intentId.toLowerCase() === bound.intentId.toLowerCase());
    if (ours) return { ...(await this.settleFromChain(ours.signed, bound.intentId, undefined)), replay: true };
    return this.chainReplay(bound.intentId, key);
  }

  private requireSamePayload(s: SignedEntry, p: Payload, key: string): void {
    const i = s.intent;
    if (payloadCommitment(i.target, BigInt(i.value), i.data) !== payloadCommitment(p.target, p.value, p.data)) {
      throw this.conflict(key, s.intentId);
    }
  }

  private conflict(key: string, original: string): IdempotencyConflictError {
    return new IdempotencyConflictError(
      `Idempotency key ${key} of agent ${this.agent} is already bound to a different payload (intent ${original}). A key ` +
        "names one payment forever: use a new key for a new payment, or repeat the original payload exactly to read its result.",
      { errorName: "IdempotencyKeyConflict", args: { agent: this.agent, key, originalIntentId: original } },
    );
  }

  private async sign(
    kind: IntentKind,
    payload: Payload,
    key: string,
    keySource: "caller" | "derived",
    rationaleText: string,
    lane: bigint,
    validFor: number | undefined,
    supersedes?: string,
    at?: { nonce: bigint; block: { number: number; timestamp: number } },
  ): Promise<SignedEntry> {
    // A batch signs consecutive nonces at one block (`at`); a single request reads the lane's nonce now.
    const [nonce, block] = at
      ? [at.nonce, at.block]
      : await Promise.all([
          withRetry("read the lane nonce", () => this.module.getNonce(this.agent, lane), this.retry),
          withRetry("read the latest block", () => this.provider.getBlock("latest"), this.retry),
        ]);
    if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
    const intent = this.buildIntent(kind, payload, key, nonce, BigInt(block.timestamp) + (validFor === undefined ? this.validFor : BigInt(validFor)), rationaleText);
    const signature = await signIntent(this.options.signer, intent, this.chainId, this.moduleAddress);
    const entry: SignedEntry = {
      t: "signed",
      v: JOURNAL_VERSION,
      at: new Date().toISOString(),
      intentId: hashIntent(intent, this.chainId, this.moduleAddress),
      kind,
      chainId: this.chainId.toString(),
      module: this.moduleAddress,
      intent: serializeIntent(intent),
      signature,
      rationaleText,
      keySource,
      signedAtBlock: block.number,
    };
    if (supersedes) entry.supersedes = supersedes;
    this.journal.append(entry); // write-ahead: on disk before it can reach the chain
    await this.options.onStage?.("signed", entry.intentId);
    return entry;
  }

  /** Replaces an intent that can no longer land (nonce used, deadline near) by one with the same key. */
  private async resign(old: SignedEntry): Promise<SignedEntry> {
    const i = deserializeIntent(old.intent);
    const entry = await this.sign(
      old.kind,
      { target: i.target, value: i.value, data: i.data },
      i.idempotencyKey,
      old.keySource,
      old.rationaleText,
      splitNonce(i.nonce).lane,
      undefined,
      old.intentId,
    );
    this.journal.append({ t: "closed", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: old.intentId, why: "superseded" });
    return entry;
  }

  /** Whether an unfinished intent (or another with its key) reached the chain; if so journals and returns it. */
  private async landedOutcome(record: JournalRecord): Promise<IntentResult | undefined> {
    const s = record.signed;
    const bound = await withRetry("read the idempotency record", () => this.module.idempotencyRecord(this.agent, s.intent.idempotencyKey), this.retry);
    if (bound.intentId === ZeroHash) return undefined;
    return this.settleFromChain(s, bound.intentId, undefined);
  }

  /** Journals the outcome of `s` as decided on chain by `decidedBy` (s itself, or the original of its key). */
  private async settleFromChain(s: SignedEntry, decidedBy: string, txHash: string | undefined): Promise<IntentResult> {
    const replay = decidedBy.toLowerCase() !== s.intentId.toLowerCase();
    // The original of a replay may be older than this entry; our own intent's events cannot be.
    const chain = await outcomeOf(this.module, decidedBy, replay ? this.fromBlock : s.signedAtBlock, this.retry);
    const entryTx = replay ? txHash : (chain.txHash ?? txHash);
    this.journal.append({
      t: "outcome",
      v: JOURNAL_VERSION,
      at: new Date().toISOString(),
      intentId: s.intentId,
      status: chain.status,
      ...(chain.reason ? { reason: chain.reason } : {}),
      ...(entryTx ? { txHash: entryTx } : {}),
      ...(chain.eta !== undefined ? { eta: chain.eta } : {}),
      ...(chain.blockNumber !== undefined ? { blockNumber: chain.blockNumber } : {}),
      ...(replay ? { replayOf: decidedBy } : {}),
    });
    await this.options.onStage?.("settled", s.intentId);
    return this.result(decidedBy, s, chain.status, {
      reason: chain.reason,
      eta: chain.eta,
      txHash: chain.txHash ?? txHash,
      blockNumber: chain.blockNumber,
      replay,
    });
  }

  private result(
    intentId: string,
    s: SignedEntry,
    status: IntentStatusName,
    extra: { reason?: DenyReasonName; eta?: number; txHash?: string; blockNumber?: number; replay: boolean; frozen?: boolean },
  ): IntentResult {
    const r: IntentResult = {
      intentId,
      status,
      replay: extra.replay,
      agent: this.agent,
      idempotencyKey: s.intent.idempotencyKey,
      nonce: BigInt(s.intent.nonce),
    };
    if (status === "Denied" && extra.reason) r.reason = extra.reason;
    if (extra.eta !== undefined && (status === "Queued" || status === "Executed" || status === "Expired" || status === "Cancelled")) r.eta = extra.eta;
    if (extra.txHash) r.txHash = extra.txHash;
    if (extra.blockNumber !== undefined) r.blockNumber = extra.blockNumber;
    if (extra.frozen) r.frozen = true;
    return r;
  }

  /**
   * A request already settled in the journal: its current state on chain, marked as a replay, but only when the
   * chain confirms it. When the key is not bound on this chain, the journal's outcome happened on a chain that is
   * gone (a reorganisation dropped it, or the journal outlived a restarted node): the intent is reopened and driven
   * again under the same key (the same signed intent while its nonce and deadline hold, else re-signed).
   */
  private async replayResult(record: JournalRecord): Promise<IntentResult> {
    const o = record.outcome!;
    const s = record.signed;
    const decidedBy = o.replayOf ?? s.intentId;
    const bound = await withRetry("read the idempotency record", () => this.module.idempotencyRecord(this.agent, s.intent.idempotencyKey), this.retry);
    if (bound.intentId === ZeroHash) {
      const why =
        `chain ${this.chainId} has no record of idempotency key ${s.intent.idempotencyKey}, which the journal settled as ` +
        `${o.status}${o.txHash ? ` in tx ${o.txHash}` : ""}${o.blockNumber !== undefined ? ` at block ${o.blockNumber}` : ""}`;
      this.journal.append({ t: "reopened", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: s.intentId, why });
      this.log(`agent client: ${why}: that outcome is not on this chain (reorganisation or node restart); sending intent ${s.intentId} again under the same key`);
      return this.drive(s, false);
    }
    if (bound.intentId.toLowerCase() !== decidedBy.toLowerCase()) {
      // The chain bound the key to another intent than the journal says: the chain decides, and the journal follows.
      return { ...(await this.settleFromChain(s, bound.intentId, undefined)), replay: true };
    }
    const chain = await outcomeOf(this.module, decidedBy, record.signed.signedAtBlock, this.retry);
    return this.result(decidedBy, record.signed, chain.status, {
      reason: chain.reason ?? o.reason,
      eta: chain.eta ?? o.eta,
      txHash: chain.txHash ?? o.txHash,
      blockNumber: chain.blockNumber ?? o.blockNumber,
      replay: true,
    });
  }

  /** The key is bound on chain but not in this journal (lost journal, other process): report the original. */
  private async chainReplay(original: string, key: string): Promise<IntentResult> {
    const chain = await outcomeOf(this.module, original, this.fromBlock, this.retry);
    const r: IntentResult = { intentId: original, status: chain.status, replay: true, agent: this.agent, idempotencyKey: key, nonce: 0n };
    if (chain.queuedIntent) r.nonce = chain.queuedIntent.nonce;
    if (chain.reason && chain.status === "Denied") r.reason = chain.reason;
    if (chain.eta !== undefined) r.eta = chain.eta;
    if (chain.txHash) r.txHash = chain.txHash;
    if (chain.blockNumber !== undefined) r.blockNumber = chain.blockNumber;
    return r;
  }

  private async chainTime(): Promise<bigint> {
    const block = await withRetry("read the latest block", () => this.provider.getBlock("latest"), this.retry);
    if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
    return BigInt(block.timestamp);
  }

  /**
   * Takes a journaled intent to its outcome: re-signs it if it can no longer land, checks it with a static call
   * (reverts become typed errors before any gas is spent), sends it, and settles it from the receipt.
   */
  private async drive(initial: SignedEntry, checkLanded: boolean): Promise<IntentResult> {
    if (checkLanded) {
      // Sent before (the receipt was lost, or the process restarted): the chain may already have it.
      const landed = await this.landedOutcome({ signed: initial });
      if (landed) return landed;
    }
    let s = initial;
    for (let resigns = 0; ; resigns++) {
      const intent = deserializeIntent(s.intent);
      const lane = splitNonce(intent.nonce).lane;
      const [current, now] = await Promise.all([
        withRetry("read the lane nonce", () => this.module.getNonce(this.agent, lane), this.retry),
        this.chainTime(),
      ]);
      // The idempotency key was checked unbound before we got here, so an intent whose nonce moved on (used by
      // another intent) or whose deadline passed can never land: replace it under the same key.
      if (current !== intent.nonce || now + DEADLINE_MARGIN >= intent.validUntil) {
        if (resigns >= MAX_RESIGNS) throw this.nonceRace(intent, current);
        s = await this.resign(s);
        continue;
      }
      let returnedId: string;
      try {
        returnedId = await withRetry(`check intent ${s.intentId}`, () => this.staticSubmit(s, intent), this.retry);
      } catch (err) {
        const error = decodeError(err);
        if (!error) throw err;
        if (error instanceof NonceMismatchError && resigns < MAX_RESIGNS) continue; // raced: re-read the nonce
        this.close_(s, "rejected", error);
        throw error;
      }
      if (returnedId.toLowerCase() !== s.intentId.toLowerCase()) {
        // The key was bound meanwhile (another process, or our own earlier send): nothing new will happen.
        return this.settleFromChain(s, returnedId, undefined);
      }
      return this.send(s, intent);
    }
  }

  private nonceRace(intent: Intent, current: bigint): NonceMismatchError {
    return new NonceMismatchError(
      `Lane ${splitNonce(intent.nonce).lane} of agent ${this.agent} keeps moving (now at nonce ${current}): another process ` +
        "submits on the same lane. Give each workflow or process its own lane (the `lane` option), then retry with the same idempotency key.",
      { errorName: "IntentNonceMismatch", args: { agent: this.agent, expected: current, got: intent.nonce } },
    );
  }

  private close_(s: SignedEntry, why: "rejected", error: TreasuryError): void {
    this.journal.append({
      t: "closed",
      v: JOURNAL_VERSION,
      at: new Date().toISOString(),
      intentId: s.intentId,
      why,
      code: error.code,
      message: error.message,
    });
  }

  /** `submit` or `propose` as a static call: the intentId it would return, or the revert. */
  private async staticSubmit(s: SignedEntry, intent: Intent): Promise<string> {
    if (s.kind === "propose") return this.module.propose.staticCall(intent, s.signature);
    const [intentId] = await this.module.submit.staticCall(intent, s.signature);
    return intentId;
  }

  private async send(s: SignedEntry, intent: Intent): Promise<IntentResult> {
    let txHash: string | undefined;
    await withRetry(
      `send intent ${s.intentId}`,
      async (attempt) => {
        if (attempt > 0) {
          // The last attempt may have reached the node before the connection dropped: look before sending again.
          const bound = await this.module.idempotencyRecord(this.agent, intent.idempotencyKey);
          if (bound.intentId !== ZeroHash) return;
        }
        const tx = await serialBroadcast(this.relayer, () =>
          s.kind === "propose" ? this.module.propose(intent, s.signature) : this.module.submit(intent, s.signature),
        );
        txHash = tx.hash;
      },
      this.retry,
    );
    if (!txHash) {
      // Landed through an earlier attempt whose hash we never saw.
      const bound = await this.module.idempotencyRecord(this.agent, intent.idempotencyKey);
      return this.settleFromChain(s, bound.intentId, undefined);
    }
    this.journal.append({ t: "sent", v: JOURNAL_VERSION, at: new Date().toISOString(), intentId: s.intentId, txHash });
    await this.options.onStage?.("sent", s.intentId);

    const hash = txHash;
    // On timeout the entry stays "sent": the next reconciliation (or a retry of the request) settles it from chain.
    const receipt = await waitForReceipt(this.provider, hash, this.retry, this.pollIntervalMs, this.options.receiptTimeoutMs);
    if (receipt.status !== 1) {
      // Reverted on chain although the static call passed (state changed in between, e.g. a pause): decode now.
      let error: TreasuryError = new UnknownRevertError(`Transaction ${hash} reverted; the intent was not recorded. Retry the request.`);
      try {
        await this.staticSubmit(s, intent);
      } catch (err) {
        error = decodeError(err) ?? error;
      }
      this.close_(s, "rejected", error);
      throw error;
    }
    const out = outcomeFromReceipt(this.module, this.moduleAddress, receipt, s.intentId, this.agent);
    if (!out || out.replay) {
      // Replay (another process bound the key first) or no event for us: the chain decides.
      const bound = await this.module.idempotencyRecord(this.agent, intent.idempotencyKey);
      return this.settleFromChain(s, bound.intentId === ZeroHash ? s.intentId : bound.intentId, hash);
    }
    this.journal.append({
      t: "outcome",
      v: JOURNAL_VERSION,
      at: new Date().toISOString(),
      intentId: s.intentId,
      status: out.status,
      ...(out.reason ? { reason: out.reason } : {}),
      txHash: hash,
      ...(out.eta !== undefined ? { eta: out.eta } : {}),
      blockNumber: receipt.blockNumber,
    });
    await this.options.onStage?.("settled", s.intentId);
    return this.result(s.intentId, s, out.status, {
      reason: out.reason,
      eta: out.eta,
      txHash: hash,
      blockNumber: receipt.blockNumber,
      replay: false,
      frozen: out.frozen,
    });
  }
}
