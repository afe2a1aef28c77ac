/**
 * The audit trail: every intent ever submitted to a module, read from its logs alone, so anyone with an RPC node
 * can rebuild it. `IntentQueued` carries the whole intent; for `IntentExecuted` / `IntentDenied` the whole intent
 * is decoded from the transaction's `submit` / `propose` calldata. Statuses come from `intentStatus` (exact for
 * keyed, queued and denied intents; a keyless auto-executed intent has no record and is Executed by its event).
 * Actions are decoded from calldata in human units with the tokens' on-chain decimals (sdk/calldata.ts), and the
 * agents' rationale texts are joined from their journals (only when a text's keccak256 matches the on-chain hash).
 * Per agent and asset, the auto-tier spend in the sliding window is computed at every change, against the cap in
 * force at that moment, for the page's chart.
 *
 * Approvals are counted as the module counted them: for an executed queued intent, its on-chain approvals of the
 * co-signer era in force at execution plus the EIP-712 signatures passed to `executeQueued` (read from the call
 * data), each co-signer once, against the threshold in force at execution. The co-signer set's history comes from
 * `CosignersSet` events (those before `fromBlock` are read too), so a later change of the threshold or the members
 * never rewrites what happened. Pauses, freezes and every configuration change are in `events` (audit/events.ts).
 */
import { Provider, ZeroAddress, getAddress, id as idHash } from "ethers";
import { AssetBook, formatAmount } from "../sdk/chain";
import { decodeAction } from "../sdk/calldata";
import { Intent, splitNonce } from "../sdk/eip712";
import { Journal, JournalRecord, SerializedIntent, journalFiles, serializeIntent } from "../sdk/journal";
import { AssetInfo, DecodedAction, DenyReasonName, IntentStatusName, STATUS_NAMES, statusName } from "../sdk/types";
import { EventFollower } from "../monitor/follower";
import type { ChainEvent } from "../monitor/events";
import { CosignerState, cosignersBefore, nextCosignerState } from "./cosigners";
import { CapSeries, LimitAt, capSeries } from "./caps";
import { AuditEvent, describeEvent } from "./events";
import { treasuryModule } from "../sdk/bindings";

export interface AuditOptions {
  provider: Provider;
  chainId: bigint;
  module: string;
  /** First block to read (default 0; give the module's deployment block on long chains). */
  fromBlock?: number;
  /** Last block to read (default: the head when the audit starts). */
  toBlock?: number;
  /**
   * Agent journals (JSON lines written by the client library) to join the rationale texts from: files, or folders
   * whose `*.jsonl` files are all read (e.g. `<deployments dir>/journals/<chainId>-<module>/`).
   */
  journals?: string[];
  /** One journal file or folder: the same as `journals: [journal]`. */
  journal?: string;
  /** token symbol -> address */
  tokens?: Record<string, string>;
  /** agent address -> name */
  names?: Record<string, string>;
  /** Extra function signatures to decode calls with, e.g. "deposit(uint256,address)". */
  knownFunctions?: string[];
  /** Blocks per getLogs call. */
  chunkSize?: number;
}

export interface AuditEventRef {
  block: number;
  /** Block time, unix seconds. */
  time: number;
  txHash: string;
}

export interface AuditAction {
  kind: DecodedAction["kind"] | "unknown";
  summary: string;
  asset?: AssetInfo;
  /** Base units. */
  amount?: string;
  /** Human units with the symbol, e.g. "1000 USDC". */
  amountFormatted?: string;
  to?: string;
}

export interface AuditIntent {
  intentId: string;
  /** The agent key that signed it. */
  agent: string;
  /** The agent's identity (its first key; survives rotation). */
  identity: string;
  agentName?: string;
  status: IntentStatusName;
  /** How it was routed when submitted. */
  route: "auto" | "queued" | "denied" | "unknown";
  /** Submitted with `propose` (the agent asked for review). */
  proposed: boolean;
  action: AuditAction;
  intent?: SerializedIntent;
  lane?: string;
  sequence?: string;
  idempotencyKey?: string;
  rationaleHash: string;
  rationaleText?: string;
  denyReason?: DenyReasonName;
  submitted: AuditEventRef;
  eta?: number;
  /** eta + the agent's grace period at queueing. */
  expiresAt?: number;
  /** On-chain approvals (`IntentApproved`), in order. */
  approvals: (AuditEventRef & { cosigner: string })[];
  /** EIP-712 co-signer signatures passed to `executeQueued`, read from its call data (the execution's transaction). */
  signatures: (AuditEventRef & { cosigner: string })[];
  /** On-chain approvals that count now (current co-signers). */
  approvalsNow?: number;
  /**
   * Approvals that counted: for an executed queued intent, those that counted at execution (on-chain approvals of
   * the co-signer era then in force, plus the signatures, each co-signer once); otherwise `approvalsNow`.
   */
  approvalsCounted?: number;
  /**
   * The co-signer threshold that applied to this intent: the one in force at execution (executed), at cancellation
   * (cancelled), at expiry (expired), else at `toBlock`.
   */
  threshold?: number;
  executed?: AuditEventRef & { escalated: boolean };
  cancelled?: AuditEventRef & { by: string };
  replays: AuditEventRef[];
  /** Seconds from submission to execution (queued intents). */
  waitedSeconds?: number;
}

export interface AgentAudit {
  identity: string;
  /** Current key. */
  agent: string;
  keys: string[];
  name?: string;
  counts: Record<IntentStatusName, number>;
  spent: { asset: AssetInfo; auto: string; escalated: string; autoFormatted: string; escalatedFormatted: string }[];
  caps: CapSeries[];
}

export interface AuditReport {
  chainId: string;
  module: string;
  safe?: string;
  generatedAt: string;
  fromBlock: number;
  toBlock: number;
  /** Block time of `toBlock`. */
  toTime: number;
  /** The journal files read for rationale texts. */
  journals: string[];
  /** The co-signer threshold at `toBlock`. */
  threshold: number;
  intents: AuditIntent[];
  agents: AgentAudit[];
  /** Pauses, unpauses, freezes, unfreezes and every configuration change, in chain order. */
  events: AuditEvent[];
  totals: {
    intents: number;
    byStatus: Record<IntentStatusName, number>;
    spent: { asset: AssetInfo; amount: string; formatted: string }[];
    /** On-chain approvals. */
    approvals: number;
    /** Co-signer signatures passed to `executeQueued`. */
    signatures: number;
    replays: number;
    /** Pauses, unpauses, freezes and unfreezes. */
    emergencyEvents: number;
    configurationEvents: number;
  };
}

const lower = (a: string) => a.toLowerCase();

function zeroCounts(): Record<IntentStatusName, number> {
  return Object.fromEntries(STATUS_NAMES.map((s) => [s, 0])) as Record<IntentStatusName, number>;
}

function ref(e: ChainEvent): AuditEventRef {
  return { block: e.block, time: e.timestamp, txHash: e.txHash };
}

/** Reads the whole audit trail of a module. */
export async function collectAudit(options: AuditOptions): Promise<AuditReport> {
  const { provider, chainId } = options;
  const module = getAddress(options.module);
  const contract = treasuryModule(module, provider);
  const head = await provider.getBlockNumber();
  const toBlock = options.toBlock ?? head;
  const fromBlock = options.fromBlock ?? 0;
  const names = Object.fromEntries(Object.entries(options.names ?? {}).map(([k, v]) => [lower(k), v]));
  const assets = new AssetBook(provider, options.tokens ?? {}, { retries: 2 });
  const files = journalFiles([
    ...(options.journals ?? []),
    ...(options.journal !== undefined ? [options.journal] : []),
  ]);
  const journals = files.map((f) => Journal.open(f, { readOnly: true }));
  const journalRecord = (intentId: string): JournalRecord | undefined =>
    journals.map((j) => j.record(intentId)).find((r) => r !== undefined);
  const journalText = (hash: string): string | undefined =>
    journals.map((j) => j.rationaleText(hash)).find((t) => t !== undefined);
  const chunkSize = options.chunkSize ?? 5000;

  const follower = new EventFollower(provider, { module, chainId, confirmations: 1, chunkSize });
  const batches = await follower.range(fromBlock, toBlock, { reverts: false, wholeRange: true });
  const toTime = batches[batches.length - 1]?.timestamp ?? Math.floor(Date.now() / 1000);
  const startTime = batches[0]?.timestamp ?? toTime;
  const blockTag = toBlock;
  const [safe, threshold] = await Promise.all([
    contract.avatar({ blockTag }).catch(() => undefined),
    contract
      .threshold({ blockTag })
      .then(Number)
      .catch(() => 0),
  ]);

  const identityOf = new Map<string, string>();
  const keysOf = new Map<string, string[]>();
  const identity = (key: string) => {
    const k = lower(key);
    if (!identityOf.has(k)) {
      identityOf.set(k, k);
      keysOf.set(k, [getAddress(key)]);
    }
    return identityOf.get(k)!;
  };
  const graceOf = new Map<string, number>();
  const limits = new Map<string, LimitAt[]>(); // identity|asset -> history
  const autoSpends = new Map<string, { time: number; amount: bigint }[]>(); // identity|asset
  const escalatedSpent = new Map<string, bigint>();
  const intents = new Map<string, AuditIntent>();
  const order: string[] = [];
  const events: AuditEvent[] = [];
  // The co-signer set over time, and the era of each on-chain approval (it counts only within its era).
  let cosigners = await cosignersBefore(provider, module, fromBlock, chunkSize);
  const cosignerHistory: CosignerState[] = [cosigners];
  const approvalEras = new Map<string, number[]>();
  const nameOf = (key: string) =>
    names[lower(key)] ??
    (keysOf.get(identityOf.get(lower(key)) ?? "") ?? []).map((k) => names[lower(k)]).find((n) => n !== undefined);

  const newIntent = (
    e: ChainEvent & { intentId: string; agent: string },
    route: AuditIntent["route"],
    rationale: string,
  ): AuditIntent => {
    const id = identity(e.agent);
    const record: AuditIntent = {
      intentId: e.intentId,
      agent: e.agent,
      identity: id,
      agentName:
        names[lower(e.agent)] ?? (keysOf.get(id) ?? []).map((k) => names[lower(k)]).find((n) => n !== undefined),
      status: "None",
      route,
      proposed: false,
      action: {
        kind: "unknown",
        summary: "calldata not available (the submission was relayed through a contract the audit cannot decode)",
      },
      rationaleHash: rationale,
      submitted: ref(e),
      approvals: [],
      signatures: [],
      replays: [],
    };
    intents.set(e.intentId, record);
    order.push(e.intentId);
    return record;
  };

  const setIntent = (record: AuditIntent, intent: Intent | undefined, via: string | undefined) => {
    if (!intent) return;
    record.intent = serializeIntent(intent);
    const { lane, sequence } = splitNonce(intent.nonce);
    record.lane = lane.toString();
    record.sequence = sequence.toString();
    record.idempotencyKey = intent.idempotencyKey;
    if (via === "propose") record.proposed = true;
  };

  for (const batch of batches) {
    for (const e of batch.events) {
      const described = await describeEvent(e, { assets, nameOf, module, safe });
      if (described) events.push(described);
      switch (e.kind) {
        case "CosignersSet":
          cosigners = nextCosignerState(cosigners, e.members, e.threshold, e.timestamp);
          cosignerHistory.push(cosigners);
          break;
        case "AgentSet":
          graceOf.set(identity(e.agent), e.config.gracePeriod);
          break;
        case "AgentRotated": {
          const id = identity(e.oldKey);
          identityOf.set(lower(e.newKey), id);
          keysOf.get(id)!.push(getAddress(e.newKey));
          break;
        }
        case "AssetLimitSet": {
          const key = `${identity(e.agent)}|${lower(e.asset)}`;
          const list = limits.get(key) ?? [];
          list.push({ time: e.timestamp, autoPerWindow: e.limit.autoPerWindow, window: e.limit.window });
          limits.set(key, list);
          break;
        }
        case "IntentQueued": {
          const r = intents.get(e.intentId) ?? newIntent(e, "queued", e.intent.rationale);
          setIntent(r, e.intent, e.via);
          r.eta = e.eta;
          const id = identity(e.agent);
          if (!graceOf.has(id)) {
            // Configured before `fromBlock`: read the policy in force at that block.
            const config = await contract.agentConfig(e.agent, { blockTag: e.block }).catch(() => undefined);
            graceOf.set(id, config ? Number(config.gracePeriod) : 0);
          }
          r.expiresAt = e.eta + graceOf.get(id)!;
          break;
        }
        case "IntentExecuted": {
          let r = intents.get(e.intentId);
          if (!r) {
            r = newIntent(e, e.escalated ? "queued" : "auto", e.rationale);
            setIntent(r, e.intent, e.via);
            if (!e.intent) {
              const asset = await assets.info(e.asset).catch(() => undefined);
              r.action = {
                kind: e.asset === ZeroAddress ? "eth-payment" : "token-payment",
                summary: `Pay ${asset ? `${formatAmount(e.amount, asset.decimals)} ${asset.symbol}` : `${e.amount} base units of ${e.asset}`} to ${e.to}`,
                ...(asset
                  ? { asset, amountFormatted: `${formatAmount(e.amount, asset.decimals)} ${asset.symbol}` }
                  : {}),
                amount: e.amount.toString(),
                to: e.to,
              };
            }
          }
          r.executed = { ...ref(e), escalated: e.escalated };
          if (r.route === "queued") r.waitedSeconds = e.timestamp - r.submitted.time;
          if (e.escalated) {
            // As executeQueued counted them: on-chain approvals of the era in force, plus the call's signatures.
            r.signatures = (e.signers ?? []).map((cosigner) => ({ ...ref(e), cosigner }));
            const eras = approvalEras.get(e.intentId) ?? [];
            const counted = new Set([
              ...r.approvals.filter((_, i) => eras[i] === cosigners.era).map((a) => lower(a.cosigner)),
              ...r.signatures.map((s) => lower(s.cosigner)),
            ]);
            r.approvalsCounted = counted.size;
            r.threshold = cosigners.threshold;
          }
          const key = `${identity(e.agent)}|${lower(e.asset)}`;
          if (e.escalated) escalatedSpent.set(key, (escalatedSpent.get(key) ?? 0n) + e.amount);
          else if (e.amount > 0n) {
            const list = autoSpends.get(key) ?? [];
            list.push({ time: e.timestamp, amount: e.amount });
            autoSpends.set(key, list);
          }
          break;
        }
        case "IntentDenied": {
          const r = intents.get(e.intentId) ?? newIntent(e, "denied", e.rationale);
          setIntent(r, e.intent, e.via);
          r.denyReason = e.reason;
          break;
        }
        case "IntentApproved": {
          const r = intents.get(e.intentId);
          if (r) {
            r.approvals.push({ ...ref(e), cosigner: e.cosigner });
            approvalEras.set(e.intentId, [...(approvalEras.get(e.intentId) ?? []), cosigners.era]);
          }
          break;
        }
        case "IntentCancelled": {
          const r = intents.get(e.intentId);
          if (r) {
            r.cancelled = { ...ref(e), by: e.by };
            r.threshold = cosigners.threshold;
          }
          break;
        }
        case "IdempotentReplay": {
          intents.get(e.intentId)?.replays.push(ref(e));
          break;
        }
        default:
          break;
      }
    }
  }

  // Statuses and approvals as the chain reports them at `toBlock`; actions decoded in human units.
  const records = order.map((id) => intents.get(id)!);
  await pool(records, 8, async (r) => {
    const onChain = await contract.intent(r.intentId, { blockTag });
    const status = statusName(onChain.status);
    r.status = status === "None" && r.executed ? "Executed" : status;
    if (r.route === "queued" || status !== "None") {
      r.approvalsNow = Number(onChain.approvals);
      r.approvalsCounted ??= r.approvalsNow;
      if (r.threshold === undefined && r.status === "Expired" && r.expiresAt !== undefined) {
        const at = r.expiresAt;
        r.threshold = cosignerHistory.filter((c) => c.since <= at).pop()?.threshold ?? threshold;
      }
      r.threshold ??= threshold;
    }
    if (!r.intent) {
      const signed = journalRecord(r.intentId)?.signed;
      if (signed)
        setIntent(
          r,
          {
            ...signed.intent,
            value: BigInt(signed.intent.value),
            nonce: BigInt(signed.intent.nonce),
            validAfter: BigInt(signed.intent.validAfter),
            validUntil: BigInt(signed.intent.validUntil),
            review: signed.intent.review === true,
          },
          signed.kind,
        );
    }
    if (r.intent) {
      const intent: Intent = {
        ...r.intent,
        value: BigInt(r.intent.value),
        nonce: BigInt(r.intent.nonce),
        validAfter: BigInt(r.intent.validAfter),
        validUntil: BigInt(r.intent.validUntil),
        review: r.intent.review === true,
      };
      const action = await decodeAction(intent, assets, options.knownFunctions ?? []);
      r.action = {
        kind: action.kind,
        summary: action.summary,
        ...("asset" in action ? { asset: action.asset } : {}),
        ...("amount" in action && action.amount !== undefined ? { amount: action.amount.toString() } : {}),
        ...("amountFormatted" in action && action.amountFormatted !== undefined
          ? {
              amountFormatted:
                "asset" in action ? `${action.amountFormatted} ${action.asset.symbol}` : action.amountFormatted,
            }
          : {}),
        ...("to" in action ? { to: action.to } : {}),
      };
    }
    const text = journalRecord(r.intentId)?.signed.rationaleText ?? journalText(r.rationaleHash);
    if (text !== undefined && lower(keccakText(text)) === lower(r.rationaleHash)) r.rationaleText = text;
  });

  // Per agent: counts, spend, and the auto-tier window against its cap.
  const agents: AgentAudit[] = [];
  const identities = [...new Set([...keysOf.keys()].map((k) => identityOf.get(k)!))];
  for (const id of identities) {
    const keys = keysOf.get(id) ?? [];
    const mine = records.filter((r) => r.identity === id);
    const counts = zeroCounts();
    for (const r of mine) counts[r.status]++;
    const assetKeys = new Set<string>();
    for (const key of [...limits.keys(), ...autoSpends.keys(), ...escalatedSpent.keys()])
      if (key.startsWith(`${id}|`)) assetKeys.add(key.split("|")[1]);
    const spent: AgentAudit["spent"] = [];
    const caps: CapSeries[] = [];
    for (const assetAddress of [...assetKeys].sort()) {
      const key = `${id}|${assetAddress}`;
      const asset = await assets
        .info(getAddress(assetAddress))
        .catch(() => ({ address: getAddress(assetAddress), symbol: assetAddress, decimals: 0 }));
      const auto = (autoSpends.get(key) ?? []).reduce((s, x) => s + x.amount, 0n);
      const escalated = escalatedSpent.get(key) ?? 0n;
      if (auto > 0n || escalated > 0n) {
        spent.push({
          asset,
          auto: auto.toString(),
          escalated: escalated.toString(),
          autoFormatted: `${formatAmount(auto, asset.decimals)} ${asset.symbol}`,
          escalatedFormatted: `${formatAmount(escalated, asset.decimals)} ${asset.symbol}`,
        });
      }
      const history = limits.get(key) ?? [];
      const firstSpend = (autoSpends.get(key) ?? [])[0];
      if (firstSpend && (history.length === 0 || history[0].time > firstSpend.time)) {
        // The limit was set before `fromBlock`: the one in force when the report starts.
        const key0 = keys[0];
        const l = await contract
          .assetLimit(key0, getAddress(assetAddress), { blockTag: fromBlock })
          .catch(() => undefined);
        if (l && l.autoPerWindow > 0n)
          history.unshift({
            time: Math.min(startTime, firstSpend.time),
            autoPerWindow: l.autoPerWindow,
            window: Number(l.window),
          });
      }
      if (history.length > 0 || auto > 0n) caps.push(capSeries(asset, history, autoSpends.get(key) ?? [], toTime));
    }
    agents.push({
      identity: getAddress(id),
      agent: keys[keys.length - 1] ?? getAddress(id),
      keys,
      name: keys.map((k) => names[lower(k)]).find((n) => n !== undefined),
      counts,
      spent,
      caps,
    });
  }

  const byStatus = zeroCounts();
  for (const r of records) byStatus[r.status]++;
  const totalSpent = new Map<string, { asset: AssetInfo; amount: bigint }>();
  for (const a of agents) {
    for (const s of a.spent) {
      const t = totalSpent.get(s.asset.address) ?? { asset: s.asset, amount: 0n };
      t.amount += BigInt(s.auto) + BigInt(s.escalated);
      totalSpent.set(s.asset.address, t);
    }
  }
  for (const j of journals) j.close();
  return {
    chainId: chainId.toString(),
    module,
    safe,
    generatedAt: new Date().toISOString(),
    fromBlock,
    toBlock,
    toTime,
    journals: files,
    threshold,
    intents: records,
    agents,
    events,
    totals: {
      intents: records.length,
      byStatus,
      spent: [...totalSpent.values()].map((t) => ({
        asset: t.asset,
        amount: t.amount.toString(),
        formatted: `${formatAmount(t.amount, t.asset.decimals)} ${t.asset.symbol}`,
      })),
      approvals: records.reduce((n, r) => n + r.approvals.length, 0),
      signatures: records.reduce((n, r) => n + r.signatures.length, 0),
      replays: records.reduce((n, r) => n + r.replays.length, 0),
      emergencyEvents: events.filter((x) => x.category === "emergency").length,
      configurationEvents: events.filter((x) => x.category === "configuration").length,
    },
  };
}

async function pool<T>(items: T[], size: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(size, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

/** The client hashes the UTF-8 text (sdk/client.ts): keccak256(toUtf8Bytes(text)). */
function keccakText(text: string): string {
  return idHash(text);
}
