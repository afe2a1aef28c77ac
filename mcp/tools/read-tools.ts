/**
 * The read-only tools: treasury_balance (what the Safe holds), treasury_limits (what the agent may still spend,
 * when allowance frees up, v3 its USD budget across all assets, strikes, rate, the rules) and intent_status (where an
 * intent stands). They sign nothing.
 */
import { ZeroAddress, getAddress } from "ethers";
import { AssetInfo, InvalidRequestError, formatAmount } from "../../sdk";
import { assetLimitValue } from "../../sdk/shapes";
import { priceFaultName } from "../../sdk/usd";
import { readUsdLimit } from "../../core/priceFeeds";
import { formatUsd, showUsd } from "../../core/usdPolicy";
import { AssetRule, READ_ONLY_ANNOTATIONS, Rules, ToolDefinition, ToolEnv, fmt, formatDuration, iso } from "./context";
import { explainDenial, humans } from "./messages";
import { policyConditionWords } from "./conditions";
import {
  AssetLimitOutput,
  BalanceOutput,
  LimitsOutput,
  StatusOutput,
  balanceInput,
  balanceOutput,
  limitsInput,
  limitsOutput,
  UsdLimitOutput,
  statusInput,
  statusOutput,
} from "./schemas";
import { erc20Token } from "../../sdk/bindings";

type Result<T> = Promise<{ text: string; data: T }>;

// ---------------------------------------------------------------------------------------------- treasury_balance

/** What the treasury Safe holds now: ETH, the deployment's tokens and every asset the agent has a limit for. */
export async function balance({ ctx, rules }: ToolEnv): Result<BalanceOutput> {
  const assets = new Map<string, AssetInfo>();
  assets.set(ZeroAddress, await ctx.client.assets.info(ZeroAddress));
  for (const address of Object.values(ctx.tokens)) {
    const info = await ctx.client.assets.info(getAddress(address));
    assets.set(info.address, info);
  }
  for (const r of rules.assets) assets.set(r.asset.address, r.asset);
  const balances: BalanceOutput["balances"] = [];
  for (const asset of assets.values()) {
    const amount =
      asset.address === ZeroAddress
        ? await ctx.provider.getBalance(ctx.safe)
        : await erc20Token(asset.address, ctx.provider).balanceOf(ctx.safe);
    balances.push({
      asset: asset.symbol,
      address: asset.address,
      decimals: asset.decimals,
      amount: formatAmount(amount, asset.decimals),
    });
  }
  const summary = `The treasury Safe ${ctx.safe} holds ${balances.map((b) => `${b.amount} ${b.asset}`).join(", ")}.`;
  return { text: summary, data: { safe: ctx.safe, balances, summary } };
}

// ---------------------------------------------------------------------------------------------- treasury_limits

function assetList(rules: Rules): string {
  return rules.assets.map((r) => r.asset.symbol).join(", ") || "none";
}

/** The assets to report: every asset of the rules, or the one asked for (refused when the agent has no limit). */
async function selectAssets({ ctx, rules }: ToolEnv, assetRef: string | undefined): Promise<AssetRule[]> {
  if (assetRef === undefined) return rules.assets;
  const info = await ctx.client.assets.resolve(assetRef);
  const selected = rules.assets.filter((r) => r.asset.address === info.address);
  if (selected.length > 0) return selected;
  const limit = await ctx.module.assetLimit(ctx.client.agent, info.address);
  if (limit.window === 0n) {
    throw new InvalidRequestError(
      `You have no limit for ${info.symbol}: any payment in it is Denied. Assets you may use: ${assetList(rules)}.`,
    );
  }
  return [{ asset: info, ...assetLimitValue(limit) }];
}

/** One asset's live limits, allowance and the spends that free up, as data and as a line for the model. */
async function assetReport(
  { ctx }: ToolEnv,
  a: AssetInfo,
  now: number,
): Promise<{ data: AssetLimitOutput; line: string }> {
  const { module, lens, client } = ctx;
  const [agent, moduleAddress] = [client.agent, client.moduleAddress];
  // Live limits: the owners may have changed them since the server started.
  const [limit, available, entries, treasury] = await Promise.all([
    module.assetLimit(agent, a.address),
    module.availableAllowance(agent, a.address),
    lens.spendEntries(moduleAddress, agent, a.address),
    lens.treasuryLimit(moduleAddress, a.address),
  ]);
  const [releaseAt, amounts] = [entries[0], entries[1]];
  const spent = amounts.reduce((s, x) => s + x, 0n);
  const show = (v: bigint) => formatAmount(v, a.decimals);
  let largest = available < limit.autoPerTx ? available : limit.autoPerTx;
  let treasuryWide: AssetLimitOutput["treasuryWide"];
  if (treasury.perWindow > 0n) {
    const left = treasury.perWindow > treasury.spent ? treasury.perWindow - treasury.spent : 0n;
    if (left < largest) largest = left;
    treasuryWide = {
      perWindow: show(treasury.perWindow),
      window: formatDuration(Number(treasury.window)),
      available: show(left),
    };
  }
  const frees = releaseAt.map((t, i) => ({
    amount: show(amounts[i]),
    at: Number(t),
    atIso: iso(Number(t)),
    inSeconds: Math.max(0, Number(t) - now),
  }));
  const window = formatDuration(Number(limit.window));
  const data: AssetLimitOutput = {
    asset: a.symbol,
    address: a.address,
    decimals: a.decimals,
    autoPerTx: show(limit.autoPerTx),
    autoPerWindow: show(limit.autoPerWindow),
    window,
    windowSeconds: Number(limit.window),
    escalatedPerTx: show(limit.escalatedPerTx),
    availableNow: show(available),
    largestAutoPaymentNow: show(largest),
    spentInWindow: show(spent),
    frees,
    ...(treasuryWide ? { treasuryWide } : {}),
  };
  const next =
    frees.length > 0
      ? ` Next ${frees[0].amount} ${a.symbol} frees up at ${frees[0].atIso} (in ${formatDuration(frees[0].inSeconds)}).`
      : "";
  const line =
    `${a.symbol}: ${fmt(available, a)} left of ${fmt(limit.autoPerWindow, a)} per ${window}; ` +
    `largest payment that executes now: ${fmt(largest, a)}; queued for co-signers up to ${fmt(limit.escalatedPerTx, a)} per payment.${next}`;
  return { data, line };
}

/**
 * v3: the agent's USD budget across every asset (read live: the owners may have changed it), what is left now, when
 * spent dollars free up, and what one unit of each of its assets is worth to the module now (or why no price).
 */
async function usdReport(
  { ctx, rules }: ToolEnv,
  now: number,
): Promise<{ data: UsdLimitOutput; line: string } | undefined> {
  const { module, lens, client } = ctx;
  const limit = await readUsdLimit(lens, client.moduleAddress, client.agent);
  if (!limit) return undefined;
  const [available, entries] = await Promise.all([
    module.availableUsdAllowance(client.agent),
    lens.usdSpendEntries(client.moduleAddress, client.agent),
  ]);
  const largest = available < limit.autoPerTx ? available : limit.autoPerTx;
  const frees = entries[0].map((t, i) => ({
    amount: formatUsd(entries[1][i]),
    at: Number(t),
    atIso: iso(Number(t)),
    inSeconds: Math.max(0, Number(t) - now),
  }));
  const prices: UsdLimitOutput["prices"] = [];
  for (const r of rules.assets) {
    const [usd, fault] = await module.usdValue(r.asset.address, 10n ** BigInt(r.asset.decimals));
    prices.push(
      fault === 0n
        ? { asset: r.asset.symbol, price: formatUsd(usd) }
        : { asset: r.asset.symbol, fault: priceFaultName(fault) },
    );
  }
  const window = formatDuration(Number(limit.window));
  const data: UsdLimitOutput = {
    autoPerTx: formatUsd(limit.autoPerTx),
    autoPerWindow: formatUsd(limit.autoPerWindow),
    window,
    escalatedPerTx: formatUsd(limit.escalatedPerTx),
    availableNow: formatUsd(available),
    largestAutoPaymentNow: formatUsd(largest),
    frees,
    prices,
  };
  const priced = prices.filter((p) => p.price !== undefined).map((p) => `${p.asset} $${p.price}`);
  const unpriced = prices.filter((p) => p.fault !== undefined).map((p) => `${p.asset} (${p.fault})`);
  const line =
    `USD, all assets together: ${showUsd(available)} left of ${showUsd(limit.autoPerWindow)} per ${window}; largest payment that ` +
    `executes now: ${showUsd(largest)}; queued for co-signers up to ${showUsd(limit.escalatedPerTx)} per payment.` +
    (priced.length > 0 ? ` Prices now: ${priced.join(", ")}.` : "") +
    (unpriced.length > 0
      ? ` No trustworthy price for ${unpriced.join(", ")}: payments in it wait for co-signers.`
      : "");
  return { data, line };
}

/** The first line of the limits: frozen, paused, or the strikes so far. */
function standing(rules: Rules, frozen: boolean, paused: boolean, strikes: bigint): string {
  if (frozen) return "You are FROZEN: nothing you submit will work until the Safe owners unfreeze you.";
  if (paused) return "The treasury module is PAUSED: nothing can be submitted until the owners unpause it.";
  return `Strikes: ${strikes} of ${rules.maxStrikes || "unlimited"}${rules.maxStrikes ? ` in ${formatDuration(rules.strikeWindow)}` : ""}.`;
}

/** The policy's recipients that the module has on this agent's allowlist. */
async function allowlisted({ ctx }: ToolEnv): Promise<string[]> {
  const recipients: string[] = [];
  for (const r of ctx.policyAgent.recipients ?? []) {
    if (await ctx.lens.isRecipient(ctx.client.moduleAddress, ctx.client.agent, r)) recipients.push(getAddress(r));
  }
  return recipients;
}

/** What the agent may still spend per asset now, when allowance frees up, its strikes and rate, and the rules. */
export async function limits(env: ToolEnv, assetRef?: string): Result<LimitsOutput> {
  const { ctx, rules } = env;
  const { module, lens, client } = ctx;
  const agent = client.agent;
  const selected = await selectAssets(env, assetRef);
  const block = await ctx.provider.getBlock("latest");
  const now = block ? block.timestamp : Math.floor(Date.now() / 1000);
  const [frozen, paused, strikes, rate] = await Promise.all([
    module.isFrozen(agent),
    module.paused(),
    lens.strikes(client.moduleAddress, agent),
    lens.rateCount(client.moduleAddress, agent),
  ]);
  const reports: { data: AssetLimitOutput; line: string }[] = [];
  for (const rule of selected) reports.push(await assetReport(env, rule.asset, now));
  const usd = await usdReport(env, now);
  const lines = [...reports.map((r) => r.line), ...(usd ? [usd.line] : [])];
  const recipients = await allowlisted(env);
  if (rules.recipientMode !== "any") {
    const which = rules.recipientMode === "allowlist" ? " you may pay" : " paid without co-signers";
    lines.push(`Recipients${which}: ${recipients.join(", ") || "none"}.`);
  }
  const summary = [standing(rules, frozen, paused, strikes), ...lines].join("\n");
  const data: LimitsOutput = {
    agent,
    agentName: ctx.agentName,
    frozen,
    paused,
    now,
    assets: reports.map((r) => r.data),
    ...(usd ? { usd: usd.data } : {}),
    strikes: { count: Number(strikes), max: rules.maxStrikes, window: formatDuration(rules.strikeWindow) },
    rate: { count: Number(rate), max: rules.maxIntentsPerWindow, window: formatDuration(rules.rateWindow) },
    escalation: {
      cosigners: rules.cosigners,
      threshold: rules.threshold,
      delay: formatDuration(rules.escalationDelay),
      gracePeriod: formatDuration(rules.gracePeriod),
    },
    recipientMode: rules.recipientMode,
    recipients,
    allowedCalls: (ctx.policyAgent.allowedCalls ?? []).map((c) => {
      const address = ctx.tokens[c.target] ?? ctx.contracts?.[c.target];
      return { target: address ?? c.target, function: c.signature, conditions: policyConditionWords(c) };
    }),
    summary,
  };
  return { text: summary, data };
}

// ---------------------------------------------------------------------------------------------- intent_status

/** The current status of an intent, what it means and what the agent should do next. */
export async function status(env: ToolEnv, intentId: string): Result<StatusOutput> {
  const info = await env.ctx.client.status(intentId);
  const data: StatusOutput = { intentId, status: info.status, journaled: info.journaled, message: "", next: "" };
  if (info.reason) data.reason = info.reason;
  if (info.txHash) data.txHash = info.txHash;
  if (info.rationaleText !== undefined) data.rationaleText = info.rationaleText;
  switch (info.status) {
    case "Executed":
      data.message = `Intent ${intentId} was executed${info.txHash ? ` in transaction ${info.txHash}` : ""}.`;
      data.next = "Nothing more to do for it.";
      break;
    case "Queued": {
      data.humans = await humans(env, intentId, info.eta ?? 0);
      data.message = `Intent ${intentId} is queued for the co-signers. ${data.humans.message}`;
      data.next = "Wait for the co-signers; do not submit it again. Check again later with intent_status.";
      break;
    }
    case "Denied": {
      const why = explainDenial(info.reason, env.rules);
      data.message = `Intent ${intentId} was denied (${info.reason ?? "policy"}). ${why.explanation}`;
      data.next = why.instead;
      break;
    }
    case "Cancelled":
      data.message = `Intent ${intentId} was cancelled by a co-signer, guardian, the owners or you (or your key was rotated out). It will never run.`;
      data.next = "Ask your operator why before trying anything similar.";
      break;
    case "Expired":
      data.message = `Intent ${intentId} expired: the co-signers did not execute it within its grace period. It will never run.`;
      data.next = "If it is still needed, ask your operator, then propose it again with a new idempotencyKey.";
      break;
    default:
      data.message = info.journaled
        ? `Intent ${intentId} was signed by this server but never reached the chain (it was refused or replaced).`
        : `No intent ${intentId} is known on chain or in this server's journal.`;
      data.next = "Check the intentId from the result of your earlier request.";
  }
  return { text: `${data.status}: ${data.message} ${data.next}`, data };
}

// ---------------------------------------------------------------------------------------------- the definitions

/** The read-only tools, in the order they are registered. */
export const READ_TOOLS: readonly ToolDefinition[] = [
  {
    name: "treasury_balance",
    title: "Treasury balances",
    description: () => "What the treasury Safe holds now, per asset (ETH and the known tokens). Read-only.",
    inputSchema: balanceInput,
    outputSchema: balanceOutput,
    annotations: READ_ONLY_ANNOTATIONS,
    handler: (env) => balance(env),
  },
  {
    name: "treasury_limits",
    title: "What I may spend",
    description: (rules) =>
      "What you may still spend per asset (and, with a USD limit, in dollars across all assets) right now without human " +
      "approval, when spent allowance frees up again, " +
      "your strikes and rate, whether you are frozen, and the rules. Read-only: check it before paying.\n\n" +
      rules,
    inputSchema: limitsInput,
    outputSchema: limitsOutput,
    annotations: READ_ONLY_ANNOTATIONS,
    handler: (env, raw) => limits(env, limitsInput.parse(raw ?? {}).asset),
  },
  {
    name: "intent_status",
    title: "Status of an intent",
    description: () =>
      "The current status of an intent you submitted (by its intentId): Executed, Queued (with approvals so far and " +
      "when it can run), Denied (and why), Cancelled or Expired. Read-only.",
    inputSchema: statusInput,
    outputSchema: statusOutput,
    annotations: READ_ONLY_ANNOTATIONS,
    handler: (env, raw) => status(env, statusInput.parse(raw).intentId),
  },
];
