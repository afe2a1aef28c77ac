/**
 * The tools that make a request of the treasury: treasury_pay, treasury_call and treasury_propose sign and submit
 * an intent through the client (journaled, idempotent), and treasury_dry_run says what submitting one would do now,
 * signing and sending nothing. Every result tells the model what happened and what it may do next.
 */
import { keccak256, toUtf8Bytes } from "ethers";
import type { z } from "zod";
import {
  IntentPreview,
  IntentResult,
  QueueReason,
  describeQueueReasons,
  explainAgainst,
  explainRoute,
  formatAmount,
} from "../../sdk";
import { READ_ONLY_ANNOTATIONS, SPENDING_ANNOTATIONS, ToolDefinition, ToolEnv, fmt, formatDuration } from "./context";
import { explainDenial, humans } from "./messages";
import { PreparedRequest, prepareRequest, requestKey } from "./requests";
import { callConditionsOf, conditionsSentence } from "./conditions";
import type { CallConditionsReport } from "../../sdk/callReport";
import {
  DryRunInput,
  DryRunOutput,
  OutcomeOutput,
  RequestInput,
  callInput,
  dryRunInput,
  dryRunOutput,
  outcomeOutput,
  payInput,
  proposeInput,
} from "./schemas";

export type SpendingTool = "treasury_pay" | "treasury_call" | "treasury_propose";
type Result<T> = Promise<{ text: string; data: T }>;

/** Signs and submits (or proposes) the request through the client, and says what happened. */
export async function submit(
  env: ToolEnv,
  tool: SpendingTool,
  kind: "submit" | "propose",
  args: RequestInput,
): Result<OutcomeOutput> {
  const { client } = env.ctx;
  const prepared = await prepareRequest(client, tool, args, env.ctx.contracts);
  const keySource = args.idempotencyKey === undefined ? "derived" : "caller";
  const idempotencyKey =
    args.idempotencyKey ?? requestKey(client.chainId, client.moduleAddress, client.agent, kind, prepared.payload);
  const common = { rationale: args.reason, idempotencyKey };
  let result: IntentResult;
  if (prepared.kind === "payment") {
    const pay = { ...prepared.pay!, ...common };
    result = kind === "propose" ? await client.propose(pay) : await client.pay(pay);
  } else {
    const call = { target: prepared.call!.target, data: prepared.call!.data, value: prepared.call!.value, ...common };
    result = kind === "propose" ? await client.propose(call) : await client.call(call);
  }
  const data = await outcome(env, prepared, result, keySource, args.reason);
  return withConditions(env, prepared, args.function, data);
}

/**
 * v3: a call with argument conditions: the report in the structured result (`callConditions`) and, in words, after
 * the message (the text the model reads first says what happened; this says which condition decided it).
 */
async function withConditions<T extends { message: string; callConditions?: CallConditionsReport }>(
  env: ToolEnv,
  prepared: PreparedRequest,
  signature: string | undefined,
  result: { text: string; data: T },
): Promise<{ text: string; data: T }> {
  const report = await callConditionsOf(env.ctx, prepared, signature);
  if (!report) return result;
  const data = {
    ...result.data,
    callConditions: report,
    message: `${result.data.message} ${conditionsSentence(report)}`,
  };
  return { text: result.text.replace(result.data.message, data.message), data };
}

// ---------------------------------------------------------------------------------------------- treasury_dry_run

/** treasury_dry_run: what submitting the request would do now, from the chain's state; signs and sends nothing. */
export async function dryRun(env: ToolEnv, args: DryRunInput): Result<DryRunOutput> {
  const { review, ...request } = args;
  const isCall = request.target !== undefined || request.function !== undefined || request.data !== undefined;
  const tool = review ? "treasury_propose" : isCall ? "treasury_call" : "treasury_pay";
  const { client } = env.ctx;
  const prepared = await prepareRequest(client, tool, request, env.ctx.contracts);
  const kind = review ? "propose" : "submit";
  // The same key a real submission would use, so a request already made shows as a replay.
  const idempotencyKey =
    request.idempotencyKey ?? requestKey(client.chainId, client.moduleAddress, client.agent, kind, prepared.payload);
  const common = { rationale: request.reason, idempotencyKey };
  const p =
    prepared.kind === "payment"
      ? await client.dryRun(review ? "propose" : "pay", { ...prepared.pay!, ...common })
      : await client.dryRun(review ? "propose" : "call", {
          target: prepared.call!.target,
          data: prepared.call!.data,
          value: prepared.call!.value,
          ...common,
        });
  const data: DryRunOutput = {
    dryRun: true,
    status: p.status,
    message: "",
    next: "",
    intentId: p.intentId,
    replay: p.replay,
    request: prepared.summary,
    explained: p.explained,
  };
  if (p.reason) data.reason = p.reason;
  if (p.queuedBecause) data.queuedBecause = p.queuedBecause;
  if (p.strikes) data.strikes = p.strikes;
  if (p.allowanceLeft) data.allowanceLeft = { asset: p.allowanceLeft.asset.symbol, amount: p.allowanceLeft.formatted };
  Object.assign(data, dryRunMessage(env, p, prepared.summary.summary, tool));
  return withConditions(env, prepared, request.function, { text: `${data.message}\nNext: ${data.next}`, data });
}

/** The dry run's answer in words: what would happen, and what to do. */
function dryRunMessage(
  env: ToolEnv,
  p: IntentPreview,
  what: string,
  submitWith: SpendingTool,
): { message: string; next: string } {
  const unknown = p.explained ? "" : " (why could not be determined)";
  if (p.replay) {
    return {
      message: `This exact request was already submitted (intent ${p.intentId}, now ${p.status}): submitting it again changes nothing and pays nothing.`,
      next: "Check it with intent_status. To make the same payment again on purpose, give a new idempotencyKey naming the new obligation.",
    };
  }
  if (p.status === "Executed") {
    const left = p.allowanceLeft
      ? ` You may spend ${p.allowanceLeft.formatted} ${p.allowanceLeft.asset.symbol} automatically in the current window.`
      : "";
    return {
      message: `If you submit it now, it EXECUTES at once: ${what}.${left}`,
      next: `Submit it with ${submitWith} and the same arguments.`,
    };
  }
  if (p.status === "Queued") {
    const because = p.queuedBecause ? describeQueueReasons(p.queuedBecause) : `the module routes it to them${unknown}`;
    return {
      message: `If you submit it now, it is QUEUED for the human co-signers: ${what}, because ${because}. It runs only after they approve.`,
      next: "Submit it only if it should wait for the humans; do not split it into smaller payments to get under a limit.",
    };
  }
  const why = explainDenial(p.reason, env.rules);
  const strike = p.strikes
    ? ` It would be strike ${p.strikes.now + 1} of ${p.strikes.max}${p.strikes.wouldFreeze ? ", which FREEZES you" : ""}.`
    : " It would be recorded on chain as a denial.";
  return {
    message: `If you submit it now, it is DENIED (${p.reason ?? `policy${unknown}`}): ${what}. ${why.explanation}${strike}`,
    next: `Do not submit it. ${why.instead}`,
  };
}

// ---------------------------------------------------------------------------------------------- outcomes

/**
 * Why the module queued a fresh submission: the policy model of `sdk/route.ts` on the state just before its block,
 * used only when it agrees that the intent is queued (otherwise undefined: no reason rather than a wrong one).
 */
async function queueReasons(
  { ctx }: ToolEnv,
  prepared: PreparedRequest,
  r: IntentResult,
): Promise<QueueReason[] | undefined> {
  if (r.blockNumber === undefined || r.blockNumber < 1) return undefined;
  const review = prepared.summary.tool === "treasury_propose";
  try {
    const model = await explainRoute(
      ctx.module,
      ctx.lens,
      ctx.client.agent,
      prepared.payload,
      review,
      r.blockNumber - 1,
    );
    return explainAgainst(model, "Queued")?.queuedBecause;
  } catch {
    return undefined;
  }
}

/** What a submission's result means for the model, with what it may still spend, the humans' part or its strikes. */
async function outcome(
  env: ToolEnv,
  prepared: PreparedRequest,
  r: IntentResult,
  keySource: "caller" | "derived",
  reason: string,
): Result<OutcomeOutput> {
  const { module, client } = env.ctx;
  const frozen = await module.isFrozen(client.agent);
  const data: OutcomeOutput = {
    status: r.status,
    message: "",
    next: "",
    intentId: r.intentId,
    replay: r.replay,
    request: prepared.summary,
    idempotencyKey: r.idempotencyKey,
    idempotencyKeySource: keySource,
    rationaleHash: keccak256(toUtf8Bytes(reason)),
    frozen,
  };
  if (r.txHash) data.txHash = r.txHash;
  if (r.blockNumber !== undefined) data.blockNumber = r.blockNumber;
  const what = prepared.summary.summary;
  const again = r.replay
    ? "This exact request was submitted before (same idempotency key): nothing new was signed or paid; this is the original's current state. "
    : "";
  if (r.status === "Executed") await executed(env, data, prepared, r, `${again}EXECUTED: ${what}.`);
  else if (r.status === "Queued") await queued(env, data, prepared, r, `${again}QUEUED for human co-signers: ${what}`);
  else if (r.status === "Denied") await denied(env, data, r, `${again}DENIED (${r.reason ?? "policy"}): ${what}.`);
  else if (r.status === "Cancelled") {
    data.message = `${again}CANCELLED: ${what} was cancelled by a co-signer, guardian or the owners and will never run.`;
    data.next = "Ask your operator why before trying anything similar; a new attempt needs a new idempotencyKey.";
  } else if (r.status === "Expired") {
    data.message = `${again}EXPIRED: ${what} was queued but not executed within its grace period; it will never run.`;
    data.next = "If it is still needed, ask your operator, then propose it again with a new idempotencyKey.";
  } else {
    data.message = `${again}${what}: the chain reports status ${r.status}.`;
    data.next = "Check it with intent_status.";
  }
  return { text: `${data.message}\nNext: ${data.next}`, data };
}

async function executed(
  { ctx }: ToolEnv,
  data: OutcomeOutput,
  prepared: PreparedRequest,
  r: IntentResult,
  head: string,
): Promise<void> {
  data.message = `${head}${r.txHash ? ` Transaction ${r.txHash}.` : ""}`;
  if (prepared.asset) {
    const left = await ctx.module.availableAllowance(ctx.client.agent, prepared.asset.address);
    data.allowanceLeft = { asset: prepared.asset.symbol, amount: formatAmount(left, prepared.asset.decimals) };
    data.message += ` You may still spend ${fmt(left, prepared.asset)} automatically in the current window.`;
  }
  data.next = r.replay
    ? "It is already done. To make the same payment again on purpose, give a new idempotencyKey naming the new obligation."
    : "Done. Report the transaction to your operator if asked.";
}

async function queued(
  env: ToolEnv,
  data: OutcomeOutput,
  prepared: PreparedRequest,
  r: IntentResult,
  head: string,
): Promise<void> {
  data.humans = await humans(env, r.intentId, r.eta ?? 0);
  const why = r.replay ? undefined : await queueReasons(env, prepared, r);
  if (why) data.queuedBecause = why;
  const because = r.replay
    ? "that is how it was routed when first submitted"
    : why
      ? describeQueueReasons(why)
      : "the module routed it to them (the reason could not be read back from the chain)";
  data.message = `${head}, because ${because}. ${data.humans.message}`;
  data.next =
    "Tell your operator that the co-signers must approve intent " +
    `${r.intentId}. Do not submit it again or split it into smaller payments. Check progress with intent_status.`;
}

async function denied({ ctx, rules }: ToolEnv, data: OutcomeOutput, r: IntentResult, head: string): Promise<void> {
  const why = explainDenial(r.reason, rules);
  const strikes = Number(await ctx.lens.strikes(ctx.client.moduleAddress, ctx.client.agent));
  data.denial = { reason: r.reason ?? "Unknown", explanation: why.explanation, strikes, maxStrikes: rules.maxStrikes };
  const strikeText = data.frozen
    ? "You are now FROZEN: nothing you submit will work until the Safe owners review your activity and unfreeze you."
    : rules.maxStrikes > 0
      ? `This is strike ${strikes} of ${rules.maxStrikes} within ${formatDuration(rules.strikeWindow)}; at ${rules.maxStrikes} you are frozen.`
      : "The denial is recorded on chain for the owners.";
  data.message = `${head} ${why.explanation} ${r.replay ? "" : strikeText}`.trim();
  data.next = data.frozen ? "Stop and tell your operator; the owners must unfreeze you." : why.instead;
}

// ---------------------------------------------------------------------------------------------- the definitions

/**
 * A tool that signs a request and submits it (or proposes it for review): `text`, then the rules; it may move funds,
 * and repeating it under the same key changes nothing.
 */
function spendingTool(
  name: SpendingTool,
  title: string,
  text: string,
  inputSchema: z.ZodType<RequestInput, z.ZodTypeDef, unknown>,
  kind: "submit" | "propose",
): ToolDefinition {
  return {
    name,
    title,
    description: (rules) => `${text}\n\n${rules}`,
    inputSchema,
    outputSchema: outcomeOutput,
    annotations: SPENDING_ANNOTATIONS,
    handler: (env, raw) => submit(env, name, kind, inputSchema.parse(raw)),
  };
}

/** The tools that make a request, in the order they are registered. */
export const REQUEST_TOOLS: readonly ToolDefinition[] = [
  spendingTool(
    "treasury_pay",
    "Pay from the treasury",
    "Pay an amount of ETH or a token from the treasury to a recipient. Returns status Executed (paid now), Queued " +
      "(waits for human co-signers: tell your operator) or Denied (refused by policy: a strike). Repeating the same " +
      "request returns the first result and never pays twice.",
    payInput,
    "submit",
  ),
  spendingTool(
    "treasury_call",
    "Call an allowed contract function",
    "Call a contract function the owners allowed for you (see treasury_limits), from the treasury Safe. A token " +
      "transfer is always charged as a payment. Anything not allowed, approvals included, is Denied and is a strike.",
    callInput,
    "submit",
  ),
  spendingTool(
    "treasury_propose",
    "Propose for human review",
    "Ask the human co-signers to review a payment (asset, to, amount) or a call (target, function, args): it is " +
      "always Queued, even within your limits, and runs only after they approve. Use it when a request is unusual " +
      "or you are unsure. The request for review is part of what you sign (review = true), so nobody who relays it " +
      "can turn it into a payment. It still must fit your hard caps and allowlists, or it is Denied.",
    proposeInput,
    "propose",
  ),
  {
    name: "treasury_dry_run",
    title: "What would happen if I submitted this?",
    description: () =>
      "Check a payment (asset, to, amount) or a call (target, function, args) before you submit it: says whether it " +
      "would be Executed now, Queued for the human co-signers (and why) or Denied (and why, and whether the strike " +
      "would freeze you), from the treasury's state now. Nothing is signed or sent, and it costs no strike. Pass " +
      "review: true to check it as treasury_propose would submit it. Read-only; use it whenever you are unsure.",
    inputSchema: dryRunInput,
    outputSchema: dryRunOutput,
    annotations: READ_ONLY_ANNOTATIONS,
    handler: (env, raw) => dryRun(env, dryRunInput.parse(raw)),
  },
];
