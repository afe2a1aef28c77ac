/**
 * Chain reads shared by the clients: assets and their on-chain decimals, an intent's outcome from the module's
 * events, a submission's outcome from its receipt, and sending a transaction once. What calldata does is decoded in
 * ./calldata.
 */
import { Provider, TransactionReceipt, ZeroAddress, formatUnits, getAddress, isAddress } from "ethers";
import type { IAgentTreasuryModule } from "../typechain-types/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule";
import type { Intent } from "./eip712";
import { InvalidRequestError, UnknownRevertError, WaitTimeoutError, decodeError } from "./errors";
import { withRetry, RetryOptions, sleep } from "./retry";
import { readAmount } from "./units";
import { AssetInfo, DenyReasonName, IntentStatusName, denyReasonName, statusName } from "./types";
import { erc20Token } from "./bindings";

export const ETH_ASSET: AssetInfo = { address: ZeroAddress, symbol: "ETH", decimals: 18 };

/** `formatUnits` without a trailing ".0": "1000" rather than "1000.0". */
export function formatAmount(amount: bigint, decimals: number): string {
  const s = formatUnits(amount, decimals);
  return s.endsWith(".0") ? s.slice(0, -2) : s;
}

/**
 * Parses a human-units decimal string with the asset's decimals, or passes base units (bigint) through, bounded by
 * what the chain can carry (`uint256`). One parser for every surface: see `./units`.
 */
export function parseAmount(amount: string | bigint, asset: AssetInfo, field = "amount"): bigint {
  return readAmount(amount, asset.decimals, { field, symbol: asset.symbol });
}

/**
 * An address; mixed case must be a valid EIP-55 checksum (a wrong one often means a mistyped address).
 * @throws InvalidRequestError naming the field and the value
 */
export function requireAddress(value: string, field: string): string {
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value) && !isAddress(value)) {
    throw new InvalidRequestError(
      `${field} ${value} has an invalid checksum (its mixed case does not match EIP-55): the address may be mistyped. ` +
        "Copy it again from a trusted source, or write it in all lower case to skip the check.",
      { args: { field, value } },
    );
  }
  if (typeof value !== "string" || !isAddress(value)) {
    throw new InvalidRequestError(`${field} "${value}" is not an address (0x followed by 40 hex digits).`, {
      args: { field, value: String(value) },
    });
  }
  return getAddress(value);
}

/** Resolves "ETH", token symbols (from a symbol -> address map) and addresses to assets with on-chain decimals. */
export class AssetBook {
  private readonly cache = new Map<string, AssetInfo>();
  private readonly symbols = new Map<string, string>();

  constructor(
    private readonly provider: Provider,
    tokens: Record<string, string> = {},
    private readonly retry: Partial<RetryOptions> = {},
  ) {
    for (const [symbol, address] of Object.entries(tokens)) this.symbols.set(symbol.toUpperCase(), getAddress(address));
  }

  /** Known symbols, for messages. */
  knownSymbols(): string[] {
    return ["ETH", ...this.symbols.keys()];
  }

  async resolve(ref: string): Promise<AssetInfo> {
    const trimmed = ref.trim();
    if (/^eth$/i.test(trimmed) || trimmed === ZeroAddress) return ETH_ASSET;
    const address = isAddress(trimmed) ? getAddress(trimmed) : this.symbols.get(ref.trim().toUpperCase());
    if (!address) {
      throw new InvalidRequestError(
        `Unknown asset "${ref}". Use ETH, a token address, or one of the known symbols: ${this.knownSymbols().join(", ")}.`,
      );
    }
    return this.info(address);
  }

  /** Reads a token's symbol and decimals (cached). */
  async info(address: string): Promise<AssetInfo> {
    if (address === ZeroAddress) return ETH_ASSET;
    const cached = this.cache.get(address);
    if (cached) return cached;
    const token = erc20Token(address, this.provider);
    let decimals: number;
    try {
      decimals = Number(await withRetry(`read decimals() of ${address}`, () => token.decimals(), this.retry));
    } catch (err) {
      if (err instanceof InvalidRequestError) throw err;
      if ((err as { code?: string }).code === "RPC_UNAVAILABLE") throw err;
      throw new InvalidRequestError(
        `${address} does not answer decimals(): it is not an ERC-20 token. Check the asset address.`,
        { cause: err },
      );
    }
    let symbol = address;
    try {
      symbol = await withRetry(`read symbol() of ${address}`, () => token.symbol(), this.retry);
    } catch {
      // symbol() is optional in ERC-20; the address names it then.
    }
    const info = { address, symbol, decimals };
    this.cache.set(address, info);
    return info;
  }
}

/** What the chain says about an intent: its status and the event that decided it. */
export interface ChainOutcome {
  status: IntentStatusName;
  reason?: DenyReasonName;
  eta?: number;
  txHash?: string;
  blockNumber?: number;
  /** Approvals counted on-chain now (queued intents). */
  approvals: number;
  /** The agent key of the record (zero address when the intent has no record). */
  agent: string;
  /** The whole intent, from its `IntentQueued` event (queued intents only). */
  queuedIntent?: Intent;
}

/** An intent as decoded from an event or calldata, with checksummed addresses and bigint numbers. */
export function toIntent(o: Intent): Intent {
  return {
    agent: getAddress(o.agent),
    target: getAddress(o.target),
    value: BigInt(o.value),
    data: o.data,
    nonce: BigInt(o.nonce),
    idempotencyKey: o.idempotencyKey,
    validAfter: BigInt(o.validAfter),
    validUntil: BigInt(o.validUntil),
    rationale: o.rationale,
    review: Boolean(o.review),
  };
}

/**
 * Reads an intent's status and the events that carry its outcome (`IntentExecuted`, `IntentQueued`,
 * `IntentDenied`, `IntentCancelled`) from `fromBlock` on. Keyless auto-executed intents have no record; their
 * `IntentExecuted` event makes them Executed here.
 */
export async function outcomeOf(
  module: IAgentTreasuryModule,
  intentId: string,
  fromBlock: number,
  retry: Partial<RetryOptions> = {},
): Promise<ChainOutcome> {
  const [record, logs] = await Promise.all([
    withRetry("read the intent record", () => module.intent(intentId), retry),
    withRetry("read the intent's events", () => outcomeLogs(module, intentId, fromBlock), retry),
  ]);
  const out: ChainOutcome = {
    status: statusName(record.status),
    approvals: Number(record.approvals),
    agent: record.agent,
  };
  if (record.eta !== 0n) out.eta = Number(record.eta);
  for (const log of logs) {
    const parsed = module.interface.parseLog(log);
    if (!parsed) continue;
    if (parsed.name === "IntentQueued") {
      out.eta = Number(parsed.args.eta);
      out.queuedIntent = toIntent(parsed.args.intent);
      out.txHash ??= log.transactionHash;
      out.blockNumber ??= log.blockNumber;
    } else if (parsed.name === "IntentDenied") {
      out.reason = denyReasonName(parsed.args.reason);
      out.txHash = log.transactionHash;
      out.blockNumber = log.blockNumber;
    } else {
      // Executed (auto or after the queue) or Cancelled: the latest event decides.
      out.txHash = log.transactionHash;
      out.blockNumber = log.blockNumber;
      if (parsed.name === "IntentExecuted" && out.status === "None") out.status = "Executed";
    }
  }
  return out;
}

async function outcomeLogs(module: IAgentTreasuryModule, intentId: string, fromBlock: number) {
  const i = module.interface;
  const topics = ["IntentExecuted", "IntentQueued", "IntentDenied", "IntentCancelled"].map(
    (name) => i.getEvent(name as "IntentExecuted").topicHash,
  );
  const logs = await module.runner!.provider!.getLogs({
    address: await module.getAddress(),
    topics: [topics, intentId],
    fromBlock,
    toBlock: "latest",
  });
  return logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
}

/** The outcome of a submission transaction, from its receipt. */
export interface ReceiptOutcome {
  intentId: string;
  status: IntentStatusName;
  reason?: DenyReasonName;
  eta?: number;
  replay: boolean;
  frozen: boolean;
}

/**
 * Reads what `submit`/`propose` of `intentId` did from the receipt: executed, queued or denied, or an idempotent
 * replay of an original intent (then `intentId` is the original's and `status` must be read from chain).
 */
export function outcomeFromReceipt(
  module: IAgentTreasuryModule,
  moduleAddress: string,
  receipt: TransactionReceipt,
  intentId: string,
  agent: string,
): ReceiptOutcome | undefined {
  let out: ReceiptOutcome | undefined;
  let frozen = false;
  const id = intentId.toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== moduleAddress.toLowerCase()) continue;
    const parsed = module.interface.parseLog(log);
    if (!parsed) continue;
    const logId = String(parsed.args[0]).toLowerCase();
    if (parsed.name === "IntentExecuted" && logId === id)
      out = { intentId, status: "Executed", replay: false, frozen: false };
    else if (parsed.name === "IntentQueued" && logId === id)
      out = { intentId, status: "Queued", eta: Number(parsed.args.eta), replay: false, frozen: false };
    else if (parsed.name === "IntentDenied" && logId === id)
      out = { intentId, status: "Denied", reason: denyReasonName(parsed.args.reason), replay: false, frozen: false };
    else if (parsed.name === "IdempotentReplay" && String(parsed.args.agent).toLowerCase() === agent.toLowerCase())
      out = { intentId: String(parsed.args.intentId), status: "None", replay: true, frozen: false };
    else if (parsed.name === "AgentFrozen" && String(parsed.args.agent).toLowerCase() === agent.toLowerCase())
      frozen = true;
  }
  if (out) out.frozen = frozen;
  return out;
}

// ---------------------------------------------------------------- transactions

const broadcasts = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `fn` (a broadcast) after every earlier broadcast by the same `sender` object in this process has returned.
 * A key held in-process (an ethers Wallet) reads its account nonce from the node before signing: two concurrent
 * sends would read the same nonce and one would fail. Only the broadcast is serialised, not the receipt wait.
 */
export function serialBroadcast<T>(sender: object, fn: () => Promise<T>): Promise<T> {
  const previous = broadcasts.get(sender) ?? Promise.resolve();
  const next = previous.catch(() => undefined).then(fn);
  broadcasts.set(sender, next);
  return next;
}

export interface TransactOptions {
  /** Names the action in error messages. */
  what: string;
  provider: Provider;
  retry: Partial<RetryOptions>;
  /** The same call as a static call: a revert becomes a typed error before any gas is spent. */
  check: () => Promise<unknown>;
  send: () => Promise<{ hash: string }>;
  /** True when the action already took effect (a retried send whose first attempt went through). */
  done: () => Promise<boolean>;
  /** The sending signer: broadcasts by the same signer are serialised (see `serialBroadcast`). */
  sender?: object;
  pollIntervalMs?: number;
  receiptTimeoutMs?: number;
}

/** Who sends a client's transactions: its signer, on its provider, with the client's retry and polling settings. */
export type TransactVia = Pick<TransactOptions, "provider" | "retry" | "sender" | "pollIntervalMs">;

/** Default bound on waiting for a receipt: 5 minutes. */
export const RECEIPT_TIMEOUT_MS = 300_000;

/**
 * Polls for a transaction's receipt, retrying transient RPC failures, until `timeoutMs`.
 * @throws WaitTimeoutError when the transaction is not mined in time (it may still be pending, or was dropped).
 */
export async function waitForReceipt(
  provider: Provider,
  hash: string,
  retry: Partial<RetryOptions>,
  pollIntervalMs: number,
  timeoutMs = RECEIPT_TIMEOUT_MS,
): Promise<TransactionReceipt> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await withRetry(`read the receipt of ${hash}`, () => provider.getTransactionReceipt(hash), retry);
    if (r) return r;
    if (Date.now() + pollIntervalMs > deadline) {
      throw new WaitTimeoutError(
        `Transaction ${hash} was not mined within ${Math.round(timeoutMs / 1000)} s: it may still be pending, or the ` +
          "node dropped it (gas price too low?). Retry the same request later: the intent is journaled and its " +
          "idempotency key makes it pay at most once.",
        { args: { txHash: hash, timeoutMs } },
      );
    }
    await sleep(pollIntervalMs);
  }
}

/**
 * Checks, sends and waits for a transaction, retrying transient RPC failures without doing the action twice.
 * Returns the receipt, or undefined when an earlier attempt had already done it.
 * @throws a typed {TreasuryError} for a revert.
 */
export async function transact(o: TransactOptions): Promise<TransactionReceipt | undefined> {
  try {
    await withRetry(`check ${o.what}`, o.check, o.retry);
  } catch (err) {
    throw decodeError(err) ?? err;
  }
  let hash: string | undefined;
  await withRetry(
    o.what,
    async (attempt) => {
      if (attempt > 0 && (await o.done())) return;
      hash = (o.sender ? await serialBroadcast(o.sender, o.send) : await o.send()).hash;
    },
    o.retry,
  );
  if (!hash) return undefined;
  const sent = hash;
  const receipt = await waitForReceipt(o.provider, sent, o.retry, o.pollIntervalMs ?? 1000, o.receiptTimeoutMs);
  if (receipt.status !== 1) {
    try {
      await o.check();
    } catch (err) {
      throw decodeError(err) ?? err;
    }
    throw new UnknownRevertError(
      `Transaction ${sent} (${o.what}) reverted without a reason. Read the state and retry.`,
    );
  }
  return receipt;
}
