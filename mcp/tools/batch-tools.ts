/**
 * The batch tool, treasury_pay_many: a list of payments (a payroll, a grants round) in one transaction through the
 * client library's `payMany` (sdk/batch.ts, the module's `submitBatch`), or, with `dryRun: true`, what each payment
 * would do now without signing anything.
 *
 * Each payment is what treasury_pay would make of it: the same checks (./requests.ts) and the same idempotency key
 * (the caller's, or derived from what it pays, leaving out the reason), so a payment already made with treasury_pay,
 * or by an earlier call of this tool, is answered as a replay and never paid twice. The limits are the module's: its
 * windows count every earlier payment of the batch, so a batch cannot spend more than single payments could.
 */
import { MAX_BATCH_PAYMENTS, PayRequest, describeQueueReasons } from "../../sdk";
import type { DenyReasonName, IntentStatusName, QueueReason } from "../../sdk";
import { Rules, SPENDING_ANNOTATIONS, ToolArgumentError, ToolDefinition, ToolEnv } from "./context";
import { explainDenial } from "./messages";
import { prepareRequest, requestKey } from "./requests";
import { PayManyInput, PayManyOutput, payManyInput, payManyOutput } from "./schemas";

export const BATCH_TOOL = "treasury_pay_many";

interface Row {
  summary: string;
  request: PayRequest;
}

/** One payment of the tool's result. */
type PaymentOutput = PayManyOutput["payments"][number];

/** treasury_pay_many: the batch, or its dry run. */
export async function payMany(env: ToolEnv, args: PayManyInput): Promise<{ text: string; data: PayManyOutput }> {
  const { client, module } = env.ctx;
  const rows = await batchRows(env, args);
  const requests = rows.map((r) => r.request);
  const payments: PayManyOutput["payments"] = [];
  const data: PayManyOutput = { dryRun: args.dryRun === true, message: "", next: "", payments, frozen: false };
  const entry = (
    index: number,
    status: IntentStatusName,
    intentId: string,
    replay: boolean,
    reason?: DenyReasonName,
    queuedBecause?: QueueReason[],
  ) =>
    paymentOutput(env.rules, { index, summary: rows[index].summary, status, intentId, replay }, reason, queuedBecause);
  if (args.dryRun) {
    const preview = await client.dryRunMany(requests).catch(renumber);
    for (const p of preview.rows)
      payments.push(entry(p.index, p.status, p.intentId, p.replay, p.reason, p.queuedBecause));
  } else {
    const batch = await client.payMany(requests).catch(renumber);
    batch.results.forEach((r, i) => payments.push(entry(i, r.status, r.intentId, r.replay, r.reason)));
    if (batch.txHash) Object.assign(data, { txHash: batch.txHash, blockNumber: batch.blockNumber });
    data.sent = batch.sent;
  }
  data.frozen = await module.isFrozen(client.agent);
  summarise(data);
  const lines = payments.map(
    (p) =>
      `${p.index + 1}. ${p.status}${p.replay ? " (made before: nothing new)" : ""}: ${p.summary}${p.explanation ? `. ${p.explanation}` : ""}`,
  );
  return { text: `${data.message}\n${lines.join("\n")}\nNext: ${data.next}`, data };
}

/** Each payment as the client's request, checked as treasury_pay checks it and keyed as treasury_pay keys it. */
async function batchRows({ ctx }: ToolEnv, args: PayManyInput): Promise<Row[]> {
  const { client } = ctx;
  const rows: Row[] = [];
  for (const [i, payment] of args.payments.entries()) {
    const prepared = await prepareRequest(client, BATCH_TOOL, payment).catch((err: unknown) => {
      if (err instanceof Error) err.message = `payments[${i}]: ${err.message}`;
      throw err;
    });
    if (prepared.kind !== "payment" || !prepared.pay)
      throw new ToolArgumentError(`payments[${i}]: each entry is a payment (asset, to, amount).`);
    // The same key treasury_pay derives, so a payment made there (or earlier here) is a replay, never a second payment.
    const idempotencyKey =
      payment.idempotencyKey ??
      requestKey(client.chainId, client.moduleAddress, client.agent, "submit", prepared.payload);
    rows.push({
      summary: prepared.summary.summary,
      request: { ...prepared.pay, rationale: payment.reason, idempotencyKey },
    });
  }
  return rows;
}

/** A client error about one payment (`args.index`) names it as the tool's argument does: `payments[<index>]`. */
function renumber(err: unknown): never {
  const index = (err as { args?: { index?: unknown } })?.args?.index;
  if (err instanceof Error && typeof index === "number")
    err.message = `payments[${index}]: ${err.message.replace(/^Payment \d+ of the batch: /, "")}`;
  throw err;
}

/** One payment's line of the result, with why it was denied or why it waits. */
function paymentOutput(
  rules: Rules,
  out: PaymentOutput,
  reason?: DenyReasonName,
  queuedBecause?: QueueReason[],
): PaymentOutput {
  if (out.status === "Denied") {
    out.reason = reason ?? "Unknown";
    out.explanation = explainDenial(reason, rules).explanation;
  }
  if (out.status === "Queued" && !out.replay) {
    if (queuedBecause) out.queuedBecause = queuedBecause;
    out.explanation = `It waits for the human co-signers${queuedBecause ? `: ${describeQueueReasons(queuedBecause)}` : ""}.`;
  }
  return out;
}

/** The overall message and what to do next. */
function summarise(data: PayManyOutput): void {
  const count = (s: IntentStatusName) => data.payments.filter((p) => p.status === s && !p.replay).length;
  const replays = data.payments.filter((p) => p.replay).length;
  const [executed, queued, denied] = [count("Executed"), count("Queued"), count("Denied")];
  const parts = [`${executed} ${data.dryRun ? "would execute" : "executed"}`];
  if (queued) parts.push(`${queued} ${data.dryRun ? "would be" : ""} queued for the co-signers`.replace("  ", " "));
  if (denied) parts.push(`${denied} ${data.dryRun ? "would be" : ""} DENIED`.replace("  ", " "));
  if (replays) parts.push(`${replays} made before (nothing new)`);
  const total = `${data.payments.length} payment${data.payments.length === 1 ? "" : "s"}`;
  if (data.dryRun) {
    data.message = `Dry run of ${total}: ${parts.join(", ")}. Nothing was signed or sent.`;
    data.next = denied
      ? "Remove or fix the payments that would be DENIED before you submit (each denial is a strike), then call treasury_pay_many without dryRun."
      : "Submit the same list with treasury_pay_many without dryRun.";
    return;
  }
  data.message = data.txHash
    ? `${total} in one transaction ${data.txHash}: ${parts.join(", ")}.`
    : `Every one of the ${total} had been made before: nothing was sent. ${parts.join(", ")}.`;
  if (data.frozen)
    data.next = "You are FROZEN: stop and tell your operator; the Safe owners must review and unfreeze you.";
  else if (denied)
    data.next = "Do not resend the DENIED payments as they are: read each explanation, and tell your operator.";
  else if (queued)
    data.next =
      "Tell your operator that the co-signers must approve the queued payments (their intentIds are listed). Do not resend them.";
  else data.next = "Done. Report the transaction to your operator if asked.";
}

/** The batch tool, registered after the request tools (its rules text ends the description). */
export const BATCH_TOOLS: readonly ToolDefinition[] = [
  {
    name: BATCH_TOOL,
    title: "Pay a list of payments at once",
    description: (rules) =>
      `Pay up to ${MAX_BATCH_PAYMENTS} payments (each { asset, to, amount, reason }) in one transaction: a payroll or a ` +
      "grants round your operator gave you. Each payment is checked exactly like treasury_pay (Executed, Queued for " +
      "the co-signers, or Denied with a strike) and your spending window counts the earlier payments of the list. If " +
      "any payment is refused outright (for example you are frozen), nothing at all is paid. Payments already made " +
      "(same idempotencyKey, or the same asset, recipient and amount) are not paid again. Pass dryRun: true first to " +
      "see what each payment would do.\n\n" +
      rules,
    inputSchema: payManyInput,
    outputSchema: payManyOutput,
    annotations: SPENDING_ANNOTATIONS,
    handler: (env, raw) => payMany(env, payManyInput.parse(raw)),
  },
];
