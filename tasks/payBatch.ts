/**
 * agent:pay-batch: a payroll run from a CSV file in one transaction (`submitBatch`, SPEC section 4).
 *
 *   npx hardhat agent:pay-batch --agent payroll --file payments.csv --reason "payroll 2025-01" [--dry-run] [--json]
 *
 * The file has a header row and one payment per row: to, amount, asset, reason, idempotency key (the last two may
 * be empty; see tasks/lib/paymentsCsv.ts). First, always, a dry run of the whole batch: the module's own answer for
 * every row (Executed, Queued or Denied, and why when the client can tell), printed before anything is signed. With
 * --dry-run the command stops there. Otherwise it refuses to send a batch with denied rows (each would cost the agent
 * a strike) unless --allow-denied, then signs, journals and sends every row that was not paid before in one
 * transaction (AgentClient.payMany). Running the same file again pays nothing twice: a row without an idempotency key
 * gets the key `agent:pay` would derive from it and its reason (`--reason` goes into every row without its own, so a
 * new payroll run with the same amounts needs a new `--reason`, e.g. the month).
 */
import path from "path";
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { isAddress } from "ethers";
import { printTable, runTask } from "./lib/output";
import { clientFlags, ClientTaskArgs, TaskInputError } from "./lib/context";
import { PaymentRow, readPaymentsCsv } from "./lib/paymentsCsv";
import { connectAgent, validFor } from "./agent";
import type { BatchPreview, BatchResult, PayRequest } from "../sdk";

interface PayBatchArgs extends ClientTaskArgs {
  agent: string;
  file: string;
  reason?: string;
  lane?: string;
  validFor?: string;
  relayed: boolean;
  dryRun: boolean;
  allowDenied: boolean;
  journal?: string;
}

/** One row of the preview or the result in `--json` (README-CLI.md). */
export interface PayBatchRowOutput {
  row: number;
  line: number;
  to: string;
  amount: string;
  asset: string;
  status: string;
  intentId: string;
  replay: boolean;
  reason?: string;
  queuedBecause?: string[];
  nonce?: bigint;
  eta?: number;
}

/** What `--json` prints (README-CLI.md). */
export interface PayBatchOutput {
  file: string;
  agent: string;
  agentName?: string;
  /** The dry run of the whole batch, made before anything was signed. */
  preview: { blockNumber: number; rows: PayBatchRowOutput[]; totals: { asset: string; amount: string }[] };
  /** Absent with --dry-run. */
  result?: { txHash?: string; blockNumber?: number; gasUsed?: bigint; sent: number; rows: PayBatchRowOutput[] };
}

function requestOf(row: PaymentRow, defaultReason: string | undefined, lane: string | undefined): PayRequest {
  const what = `pay ${row.amount} ${row.asset} to ${row.to}`;
  return {
    asset: row.asset,
    to: row.to,
    amount: row.amount,
    rationale: row.reason ?? (defaultReason ? `${defaultReason}: ${what}` : what),
    ...(row.idempotencyKey !== undefined ? { idempotencyKey: row.idempotencyKey } : {}),
    ...(lane !== undefined ? { lane } : {}),
  };
}

/** An error of the client about payment `args.index` of the batch, reworded to name the file's row and line. */
function atRow(err: unknown, rows: PaymentRow[], file: string): unknown {
  if (!(err instanceof Error)) return err;
  const args = (err as { args?: Record<string, unknown> }).args;
  const index = typeof args?.index === "number" ? args.index : undefined;
  if (index === undefined || !rows[index]) return err;
  const r = rows[index];
  const field =
    typeof args?.field === "string"
      ? `, field ${args.field === "idempotencyKey" ? "idempotency key" : args.field}`
      : "";
  err.message = `${path.basename(file)} row ${r.row} (line ${r.line})${field}: ${err.message.replace(/^Payment \d+ of the batch: /, "")}`;
  return err;
}

/** The CSV row's own fields, which both outputs repeat, with what the module says (or would say) of it. */
function rowOutput(
  r: PaymentRow,
  outcome: { status: string; intentId: string; replay: boolean; reason?: string; nonce?: bigint },
): PayBatchRowOutput {
  const out: PayBatchRowOutput = {
    row: r.row,
    line: r.line,
    to: r.to,
    amount: r.amount,
    asset: r.asset,
    status: outcome.status,
    intentId: outcome.intentId,
    replay: outcome.replay,
  };
  if (outcome.reason) out.reason = outcome.reason;
  if (outcome.nonce !== undefined) out.nonce = outcome.nonce;
  return out;
}

function previewRows(preview: BatchPreview, rows: PaymentRow[]): PayBatchRowOutput[] {
  return preview.rows.map((p) => {
    const out = rowOutput(rows[p.index], p);
    if (p.queuedBecause) out.queuedBecause = p.queuedBecause;
    return out;
  });
}

function resultRows(result: BatchResult, rows: PaymentRow[]): PayBatchRowOutput[] {
  return result.results.map((x, i) => {
    const out = rowOutput(rows[i], x);
    if (x.eta !== undefined) out.eta = x.eta;
    return out;
  });
}

function note(r: PayBatchRowOutput): string {
  if (r.replay) return "paid before under its key: nothing new";
  if (r.status === "Denied") return `denied${r.reason ? `: ${r.reason}` : ""} (a strike)`;
  if (r.status === "Queued") return `waits for co-signers${r.queuedBecause ? `: ${r.queuedBecause.join(", ")}` : ""}`;
  return "";
}

function printPreview(out: PayBatchOutput): void {
  const p = out.preview;
  process.stdout.write(
    `Dry run of ${path.basename(out.file)} (${p.rows.length} payments) for agent ${out.agentName ? `${out.agentName} (${out.agent})` : out.agent} ` +
      `at block ${p.blockNumber}: what each row would do now. Nothing is signed or sent yet.\n`,
  );
  printTable(
    "Preview",
    ["row", "to", "amount", "would be", "note"],
    p.rows.map((r) => [r.row, r.to, `${r.amount} ${r.asset}`, r.status, note(r)]),
  );
  const totals = p.totals.map((t) => `${t.amount} ${t.asset}`).join(", ");
  process.stdout.write(`\nWould leave the Safe now: ${totals || "nothing"}.\n`);
}

function render(out: PayBatchOutput): void {
  if (!out.result) {
    process.stdout.write("\nDry run only (--dry-run): run the command again without it to send.\n");
    return;
  }
  const r = out.result;
  if (!r.txHash) {
    process.stdout.write("\nEvery row had been paid before under its idempotency key: nothing was sent.\n");
  } else {
    process.stdout.write(
      `\nSent ${r.sent} payment(s) in one transaction ${r.txHash} (block ${r.blockNumber}, ${r.gasUsed?.toLocaleString("en-US")} gas).\n`,
    );
  }
  printTable(
    "Result",
    ["row", "to", "amount", "status", "note", "intentId"],
    r.rows.map((x) => [x.row, x.to, `${x.amount} ${x.asset}`, x.status, note(x), x.intentId]),
  );
  if (r.rows.some((x) => x.status === "Queued" && !x.replay))
    process.stdout.write(
      "\nQueued rows wait for co-signers: they review them with intent:show and approve with intent:approve.\n",
    );
}

async function payBatch(hre: HardhatRuntimeEnvironment, args: PayBatchArgs): Promise<PayBatchOutput> {
  const seconds = validFor(args);
  const { client, ctx, agent } = await connectAgent(hre, args);
  try {
    const symbols = Object.keys(ctx.tokens);
    const known = ["ETH", ...symbols];
    const assetOk = (a: string) =>
      /^eth$/i.test(a) || symbols.some((s) => s.toLowerCase() === a.toLowerCase()) || isAddress(a);
    const rows = readPaymentsCsv(args.file, assetOk, known);
    const requests = rows.map((r) => requestOf(r, args.reason, args.lane));
    const options = { lane: args.lane, validFor: seconds };
    const preview = await client.dryRunMany(requests, options).catch((err: unknown) => {
      throw atRow(err, rows, args.file);
    });
    const out: PayBatchOutput = {
      file: args.file,
      agent: agent.address,
      ...(agent.name ? { agentName: agent.name } : {}),
      preview: {
        blockNumber: preview.blockNumber,
        rows: previewRows(preview, rows),
        totals: preview.totals.map((t) => ({ asset: t.asset.symbol, amount: t.formatted })),
      },
    };
    if (!args.json) printPreview(out);
    if (args.dryRun) return out;
    const denied = out.preview.rows.filter((r) => r.status === "Denied" && !r.replay);
    if (denied.length > 0 && !args.allowDenied) {
      throw new TaskInputError(
        `${path.basename(args.file)}: row${denied.length > 1 ? "s" : ""} ${denied.map((r) => `${r.row} (line ${r.line}${r.reason ? `, ${r.reason}` : ""})`).join(", ")} ` +
          "would be denied, and each denial costs the agent a strike. Fix or remove those rows, or pass --allow-denied to send anyway. Nothing was sent.",
      );
    }
    const result = await client.payMany(requests, options).catch((err: unknown) => {
      throw atRow(err, rows, args.file);
    });
    out.result = { sent: result.sent, rows: resultRows(result, rows) };
    if (result.txHash)
      Object.assign(out.result, { txHash: result.txHash, blockNumber: result.blockNumber, gasUsed: result.gasUsed });
    return out;
  } finally {
    client.close();
  }
}

clientFlags(
  task(
    "agent:pay-batch",
    "Pays every row of a CSV file (to, amount, asset, reason, idempotency key) in one transaction, after a dry run of each row",
  )
    .addParam("agent", "Agent name from the policy, or the agent's address")
    .addParam(
      "file",
      "CSV file: a header row, then one payment per row (columns: to, amount, asset, reason, idempotency key)",
    )
    .addOptionalParam(
      "reason",
      'Reason for rows without one, e.g. "payroll 2025-01" (it also makes their derived keys differ from another run\'s)',
    )
    .addOptionalParam("lane", "Nonce lane of the batch: a workflow name or number (default 0)")
    .addOptionalParam("validFor", "Seconds the signatures stay valid, at least 60 (default 3600)")
    .addFlag("relayed", "Send through the RELAYER key, so the agent key pays no gas")
    .addFlag("dryRun", "Show what each row would do now (Executed, Queued or Denied, and why), and stop")
    .addFlag("allowDenied", "Send even when the dry run shows denied rows (each costs the agent a strike)")
    .addOptionalParam("journal", "Journal file (default: <deployments>/journals/<chain>-<module>/<agent>.jsonl)"),
).setAction(async (args: PayBatchArgs, hre) => {
  await runTask(args.json, () => payBatch(hre, args), render);
});
