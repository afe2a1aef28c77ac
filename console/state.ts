/**
 * The console's picture of a treasury at the chain's latest block, read by the server for the page (console/api.ts
 * `ConsoleState`). Nothing here is new logic about the module: the overview is `treasury:status`
 * (deploy/status.ts readStatus), the queue, the history and the spend charts are the audit trail (audit/collect.ts
 * collectAudit: every intent from the logs, actions decoded from calldata with the tokens' decimals, statuses from
 * the module), to which this file adds what only the console knows (collected signatures, pasted reasons, alerts,
 * batch files) and a few raw reads the page draws with (bars, rate limit, co-signer era, Safe owners). v3: each
 * agent's USD limit and the module's price feeds come from the status too.
 */
import { Contract, Provider, formatUnits, getAddress, id as keccakText, parseUnits } from "ethers";
import type { ChainContext } from "../core/chainContext";
import type { DeploymentRecord } from "../core/deployment";
import { readStatus } from "../deploy/status";
import type { UsdLimitStatus } from "../core/priceFeeds";
import { USD_DECIMALS } from "../sdk/usd";
import { collectAudit } from "../audit/collect";
import type { AuditAction, AuditIntent } from "../audit/collect";
import type { CapSeries } from "../audit/caps";
import { Journal, journalFiles } from "../sdk/journal";
import { deploymentCallConditions } from "../core/callConditions";
import { formatAmount } from "../sdk/chain";
import { SAFE_ABI } from "../sdk/safe";
import type {
  ActionView,
  AgentView,
  AlertView,
  BatchView,
  ConsoleState,
  HistoryItem,
  LimitView,
  QueueItem,
  ReasonView,
  UsdLimitView,
} from "./api";
import { STATE_VERSION } from "./api";
import type { ConsoleStore } from "./store";
import { treasuryModule } from "../sdk/bindings";

export interface StateSources {
  chain: ChainContext;
  network: string;
  record: DeploymentRecord;
  /** Folders or files of agent journals (the deployment's journal folder). */
  journals: string[];
  store: ConsoleStore;
  alerts: AlertView[];
  batches: BatchView[];
}

const lower = (a: string) => a.toLowerCase();

/** Seconds as the policy file writes durations: "7d", "1h", "30m", "45s", or "0s". */
function durationText(seconds: bigint | number): string {
  const s = Number(seconds);
  if (s === 0) return "0s";
  for (const [unit, n] of [
    ["d", 86_400],
    ["h", 3600],
    ["m", 60],
  ] as const)
    if (s % n === 0) return `${s / n}${unit}`;
  return `${s}s`;
}

function actionView(a: AuditAction): ActionView {
  return {
    kind: a.kind,
    summary: a.summary,
    ...(a.asset ? { symbol: a.asset.symbol } : {}),
    ...(a.asset && a.amount !== undefined ? { amount: formatAmount(BigInt(a.amount), a.asset.decimals) } : {}),
    ...(a.to ? { to: a.to } : {}),
  };
}

/** The status's USD limit (dollars) with the share left, for the bar. */
function usdLimitView(u: UsdLimitStatus): UsdLimitView {
  const [available, perWindow] = [parseUnits(u.available, USD_DECIMALS), parseUnits(u.autoPerWindow, USD_DECIMALS)];
  return { ...u, availableShare: perWindow === 0n ? 0 : Number((available * 10_000n) / perWindow) / 10_000 };
}

function chartOf(series: CapSeries | undefined): LimitView["chart"] {
  if (!series) return [];
  const n = (raw: string) => Number(formatUnits(BigInt(raw), series.asset.decimals));
  return series.points.map((p) => ({ time: p.time, spent: n(p.spent), cap: n(p.cap) }));
}

/** Reason texts: the agents' journals first (by intentId, else by hash), then the console's store. */
class Reasons {
  private readonly journals: Journal[];
  private readonly stored: Map<string, string>;

  constructor(files: string[], store: ConsoleStore) {
    this.journals = journalFiles(files).map((f) => Journal.open(f, { readOnly: true }));
    this.stored = new Map(store.reasons.read().map((r) => [lower(r.intentId), r.text]));
  }

  of(intentId: string, rationaleHash: string): ReasonView | undefined {
    const matches = (text: string) => lower(keccakText(text)) === lower(rationaleHash);
    for (const j of this.journals) {
      const text = j.record(intentId)?.signed.rationaleText ?? j.rationaleText(rationaleHash);
      if (text !== undefined) return { text, source: "journal", matches: matches(text) };
    }
    const text = this.stored.get(lower(intentId));
    return text === undefined ? undefined : { text, source: "console", matches: matches(text) };
  }

  close(): void {
    for (const j of this.journals) j.close();
  }
}

function historyItem(i: AuditIntent, reasons: Reasons): HistoryItem {
  const endedAt = i.executed?.time ?? i.cancelled?.time ?? (i.status === "Expired" ? i.expiresAt : undefined);
  const reason = reasons.of(i.intentId, i.rationaleHash);
  return {
    intentId: i.intentId,
    agent: i.agent,
    ...(i.agentName ? { agentName: i.agentName } : {}),
    status: i.status,
    route: i.route,
    action: actionView(i.action),
    ...(i.denyReason ? { denyReason: i.denyReason } : {}),
    ...(reason ? { reason } : {}),
    rationaleHash: i.rationaleHash,
    submittedAt: i.submitted.time,
    ...(endedAt !== undefined ? { endedAt } : {}),
    ...(i.cancelled ? { cancelledBy: i.cancelled.by } : {}),
    ...(i.route === "queued" && i.threshold !== undefined
      ? { approvals: `${i.approvalsCounted ?? 0} of ${i.threshold}` }
      : {}),
    txHash: i.executed?.txHash ?? i.cancelled?.txHash ?? i.submitted.txHash,
  };
}

/** Reads the whole state. Throws on RPC failures (the server then keeps serving the previous state). */
export async function readConsoleState(src: StateSources): Promise<ConsoleState> {
  const { chain, record } = src;
  const provider: Provider = chain.provider;
  const chainId = (await provider.getNetwork()).chainId;
  const module = treasuryModule(record.module, provider);
  const safe = new Contract(record.safe, SAFE_ABI, provider);
  const names: Record<string, string> = {};
  for (const [name, address] of Object.entries(record.agents ?? {})) names[lower(address)] = name;
  const head = await provider.getBlock("latest");
  if (!head) throw new Error("The node returned no latest block.");
  const blockTag = head.number;

  const [status, audit, eraRaw, owners, safeThreshold] = await Promise.all([
    readStatus(chain, record, { names }),
    collectAudit({
      provider,
      chainId,
      module: record.module,
      fromBlock: record.moduleBlock ?? 0,
      toBlock: blockTag,
      journals: src.journals,
      tokens: record.tokens,
      names,
    }),
    module.cosignerEra({ blockTag }),
    safe.getOwners({ blockTag }) as Promise<string[]>,
    safe.getThreshold({ blockTag }) as Promise<bigint>,
  ]);
  const members = status.cosigners.members.map(getAddress);
  const reasons = new Reasons(src.journals, src.store);
  try {
    // Overview: readStatus per agent, plus the raw numbers the bars and the rate meter need.
    const agents: AgentView[] = [];
    for (const a of status.agents) {
      const config = await module.agentConfig(a.address, { blockTag });
      const validUntil = Number(config.validUntil);
      const audited = audit.agents.find((x) => x.keys.some((k) => lower(k) === lower(a.address)));
      const limits: LimitView[] = [];
      for (const l of a.limits) {
        const [limit, available] = await Promise.all([
          module.assetLimit(a.address, l.asset, { blockTag }),
          module.availableAllowance(a.address, l.asset, { blockTag }),
        ]);
        const share = limit.autoPerWindow === 0n ? 0 : Number((available * 10_000n) / limit.autoPerWindow) / 10_000;
        const series = audited?.caps.find((c) => lower(c.asset.address) === lower(l.asset));
        limits.push({ ...l, availableShare: share, chart: chartOf(series) });
      }
      agents.push({
        ...(a.name ? { name: a.name } : {}),
        address: a.address,
        state: a.frozen ? "frozen" : validUntil !== 0 && validUntil <= head.timestamp ? "expired" : "active",
        validUntil,
        strikes: a.strikes,
        maxStrikes: a.maxStrikes,
        strikeWindow: durationText(config.strikeWindow),
        rateUsed: a.intentsInRateWindow,
        rateMax: Number(config.maxIntentsPerWindow),
        rateWindow: durationText(config.rateWindow),
        escalationDelay: durationText(config.escalationDelay),
        gracePeriod: durationText(config.gracePeriod),
        recipientMode: a.recipientMode,
        limits,
        ...(a.usdLimit ? { usdLimit: usdLimitView(a.usdLimit) } : {}),
      });
    }

    // The queue: intents the module still holds as Queued, with every approval that would count now.
    const era = Number(eraRaw);
    const stored = src.store.signatures.read();
    const queue: QueueItem[] = [];
    for (const i of audit.intents.filter((x) => x.status === "Queued" && x.intent !== undefined)) {
      const approvedOnChain: string[] = [];
      for (const m of members) if (await module.hasApproved(i.intentId, m, { blockTag })) approvedOnChain.push(m);
      const bySigner = new Map<string, { signer: string; signature: string }>();
      for (const s of stored) {
        if (lower(s.intentId) !== lower(i.intentId) || s.cosignerEra !== era) continue;
        if (!members.some((m) => lower(m) === lower(s.signer))) continue;
        bySigner.set(lower(s.signer), { signer: getAddress(s.signer), signature: s.signature });
      }
      const signatures = [...bySigner.values()].sort((x, y) => (BigInt(x.signer) < BigInt(y.signer) ? -1 : 1));
      const counted = new Set([...approvedOnChain.map(lower), ...signatures.map((s) => lower(s.signer))]).size;
      const reason = reasons.of(i.intentId, i.rationaleHash);
      // v3: a queued call's argument conditions in words, as the module will check them when it executes.
      const conditions =
        i.action.kind === "call"
          ? await deploymentCallConditions(provider, record, {
              agent: i.agent,
              target: i.intent!.target,
              data: i.intent!.data,
            })
          : undefined;
      queue.push({
        intentId: i.intentId,
        agent: i.agent,
        ...(i.agentName ? { agentName: i.agentName } : {}),
        action: actionView(i.action),
        ...(conditions ? { conditions } : {}),
        intent: i.intent!,
        rationaleHash: i.rationaleHash,
        ...(reason ? { reason } : {}),
        queuedAt: i.submitted.time,
        eta: i.eta ?? 0,
        expiresAt: i.expiresAt ?? 0,
        approvedOnChain,
        signatures,
        counted,
        threshold: status.cosigners.threshold,
        txHash: i.submitted.txHash,
      });
    }

    const history = audit.intents
      .filter((i) => i.status !== "Queued")
      .map((i) => historyItem(i, reasons))
      .sort((a, b) => (b.endedAt ?? b.submittedAt) - (a.endedAt ?? a.submittedAt));

    const paused = status.paused;
    return {
      version: STATE_VERSION,
      network: src.network,
      chainId: chainId.toString(),
      block: head.number,
      time: head.timestamp,
      safe: getAddress(record.safe),
      module: getAddress(record.module),
      safeOwners: owners.map(getAddress),
      safeThreshold: Number(safeThreshold),
      paused,
      ...(paused && status.emergency.pausedBy
        ? {
            pausedBy: {
              by: status.emergency.pausedBy.by,
              time: status.emergency.pausedBy.time,
              block: status.emergency.pausedBy.block,
            },
          }
        : {}),
      balances: status.balances.map((b) => ({ asset: b.asset, symbol: b.symbol, amount: b.amount })),
      priceFeeds: status.priceFeeds.map((f) => ({ ...f })),
      cosigners: { members, threshold: status.cosigners.threshold, era },
      guardians: status.guardians.map(getAddress),
      agents,
      queue,
      history,
      emergencyEvents: audit.events
        .filter((e) => e.category === "emergency")
        .map((e) => ({
          kind: e.kind,
          time: e.time,
          block: e.block,
          ...(e.by ? { by: e.by } : {}),
          summary: e.summary,
          txHash: e.txHash,
        }))
        .reverse(),
      alerts: [...src.alerts].reverse(),
      batches: [...src.batches].reverse(),
    };
  } finally {
    reasons.close();
  }
}
