/**
 * Agent tasks: what an agent (or its operator) runs to spend from the treasury. Thin wrappers over AgentClient.
 *
 *   npx hardhat agent:pay --agent payroll --asset USDC --to 0x… --amount 1250 --reason "Invoice 42" [--json]
 *   npx hardhat agent:call --agent trading --target USDC --function "approve(address,uint256)" --args '["0x…","100"]'
 *   npx hardhat agent:propose --agent payroll --asset ETH --to 0x… --amount 2 --reason "new supplier, please check"
 *
 * Without --idempotency-key the key is derived from the request (and its reason), so running the same command
 * again pays once. To pay the same amount to the same recipient again on purpose, give another --reason or key.
 * See README-CLI.md for the --json fields.
 */
import { task } from "hardhat/config";
import type { ConfigurableTaskDefinition, HardhatRuntimeEnvironment } from "hardhat/types";
import { printFields, runTask } from "./lib/output";
import { clientFlags, ClientContext, ClientTaskArgs, TaskInputError, resolveTarget } from "./lib/context";
import { describeQueueReasons } from "../sdk/route";
import { CallConditionsReport, callConditionsReportFor } from "./lib/conditions";
import { reportLines } from "../sdk/callReport";
import type { AgentClient, IntentPreview, IntentResult, RecoveryReport } from "../sdk";

interface AgentArgs extends ClientTaskArgs {
  agent: string;
  reason?: string;
  idempotencyKey?: string;
  lane?: string;
  validFor?: string;
  relayed: boolean;
  journal?: string;
  dryRun: boolean;
}

interface PayArgs extends AgentArgs {
  asset?: string;
  to?: string;
  amount?: string;
}

interface CallArgs extends AgentArgs {
  target?: string;
  data?: string;
  function?: string;
  args?: string;
  value?: string;
}

/** Fields the tasks add to the client's answer (README-CLI.md). */
interface AgentExtras {
  agentName?: string;
  /** For a denial: the reason in words (sdk `denialText`), e.g. why a non-canonical transfer is `MalformedCall`. */
  explanation?: string;
  /** Start-up reconciliation, when the journal had unfinished intents. */
  recovered?: { checked: number; landed: number; resumed: number; pending: number };
  /** v3: a call with argument conditions: the call and each condition in words, met or not (README-CLI.md). */
  callConditions?: CallConditionsReport;
}

/** What `--json` prints for agent:pay, agent:call and agent:propose (README-CLI.md). */
export interface AgentTaskOutput extends IntentResult, AgentExtras {
  /** Denied: the agent's strikes in its strike window after this denial, and the limit that freezes it. */
  strikes?: { now: number; max: number };
}

/** What `--json` prints with `--dry-run`. */
export type AgentDryRunOutput = IntentPreview & AgentExtras;

/** The flags that say which agent acts and how (also used by agent:pay-batch, tasks/payBatch.ts). */
export type AgentConnectArgs = ClientTaskArgs & Pick<AgentArgs, "agent" | "relayed" | "dryRun" | "journal">;

/** Connects the AgentClient of `--agent` (its key, the relayer with `--relayed`, its journal). Close it after use. */
export async function connectAgent(
  hre: HardhatRuntimeEnvironment,
  args: AgentConnectArgs,
): Promise<{ client: AgentClient; ctx: ClientContext; agent: { name?: string; address: string } }> {
  const { clientContext, resolveAgent, journalFile, roleSigner } = await import("./lib/context");
  const { AgentClient, Journal } = await import("../sdk");
  const ctx = await clientContext(hre, args);
  const agent = resolveAgent(ctx, args.agent);
  const signer = await roleSigner(hre, "AGENT", { keystore: args.keystore, expectedAddress: agent.address });
  const relayer = args.relayed && !args.dryRun ? await roleSigner(hre, "RELAYER", {}) : undefined;
  const client = await AgentClient.connect({
    module: ctx.module,
    signer,
    relayer,
    // A dry run signs, journals and sends nothing, so it neither needs nor locks the agent's journal.
    journal: args.dryRun ? Journal.inMemory() : journalFile(ctx, agent.address, args.journal),
    tokens: ctx.tokens,
    fromBlock: ctx.fromBlock,
    pollIntervalMs: 200,
    lens: ctx.record?.lens,
  });
  return { client, ctx, agent };
}

async function withAgent<R extends IntentResult | IntentPreview>(
  hre: HardhatRuntimeEnvironment,
  args: AgentArgs,
  run: (client: AgentClient, ctx: ClientContext) => Promise<R>,
): Promise<R & AgentExtras> {
  const { denialText } = await import("../sdk");
  const { client, ctx, agent } = await connectAgent(hre, args);
  try {
    const result = await run(client, ctx);
    const out: R & AgentExtras = { ...result };
    if (agent.name) out.agentName = agent.name;
    if (result.status === "Denied" && result.reason) out.explanation = denialText(result.reason);
    const rec: RecoveryReport = client.recovery;
    if (rec.checked > 0)
      out.recovered = {
        checked: rec.checked,
        landed: rec.landed.length,
        resumed: rec.resumed.length,
        pending: rec.pending.length,
      };
    if (!("dryRun" in result) && result.status === "Denied" && !result.replay && ctx.record?.lens) {
      // The strike this denial cost, so an operator sees how close the agent is to freezing itself.
      const lens = await hre.ethers.getContractAt("AgentTreasuryLens", ctx.record.lens);
      const config = await client.module.agentConfig(client.agent);
      if (config.maxStrikes > 0n)
        (out as AgentTaskOutput).strikes = {
          now: Number(await lens.strikes(ctx.module, client.agent)),
          max: Number(config.maxStrikes),
        };
    }
    return out;
  } finally {
    client.close();
  }
}

function render(r: AgentTaskOutput): void {
  printFields({
    intentId: r.intentId,
    status: r.status,
    reason: r.reason,
    eta: r.eta !== undefined ? `${new Date(r.eta * 1000).toISOString()} (unix ${r.eta})` : undefined,
    replay: r.replay ? "yes: this request was already submitted; nothing new happened" : undefined,
    frozen: r.frozen ? "yes: this denial froze the agent" : undefined,
    strikes: r.strikes ? `${r.strikes.now} of ${r.strikes.max}` : undefined,
    agent: r.agentName ? `${r.agentName} (${r.agent})` : r.agent,
    idempotencyKey: r.idempotencyKey,
    nonce: r.nonce,
    txHash: r.txHash,
  });
  if (r.recovered) {
    process.stdout.write(
      `\nRecovered on start: ${r.recovered.checked} unfinished intent(s) in the journal: ${r.recovered.landed} had landed, ` +
        `${r.recovered.resumed} were sent now, ${r.recovered.pending} still pending.\n`,
    );
  }
  if (r.callConditions)
    process.stdout.write(`\nThe call's conditions (v3):\n${reportLines(r.callConditions).join("\n")}\n`);
  if (r.status === "Queued")
    process.stdout.write("\nQueued for co-signers: they review it with intent:show and approve with intent:approve.\n");
  if (r.status === "Denied") {
    const left =
      r.strikes && !r.frozen ? ` ${r.strikes.max - r.strikes.now} more denial(s) in the strike window freeze it.` : "";
    process.stdout.write(
      `\nDenied by policy: ${r.explanation ?? "the agent took a strike."}${left} Check a request first with --dry-run.\n`,
    );
  }
}

function renderPreview(r: AgentDryRunOutput): void {
  const why = r.queuedBecause ? describeQueueReasons(r.queuedBecause) : undefined;
  printFields({
    "dry run": "nothing was signed, journaled or sent",
    status: `${r.status}${r.replay ? " (a replay: this request was already submitted)" : ""}`,
    reason: r.reason,
    "queued because": why,
    strike:
      r.status === "Denied" && r.strikes
        ? `${r.strikes.now + 1} of ${r.strikes.max}${r.strikes.wouldFreeze ? ": it would FREEZE the agent" : ""}`
        : r.status === "Denied" && !r.replay
          ? "yes"
          : undefined,
    spends: r.spends ? `${r.spends.formatted} ${r.spends.asset.symbol}` : undefined,
    "auto allowance now": r.allowanceLeft ? `${r.allowanceLeft.formatted} ${r.allowanceLeft.asset.symbol}` : undefined,
    // v3: an agent with a USD limit.
    "value in USD": r.usd
      ? r.usd.unpriced
        ? `no trustworthy price for ${r.usd.unpriced.asset} (${r.usd.unpriced.fault})`
        : `$${r.usd.value.formatted}`
      : undefined,
    "USD allowance now": r.usd ? `$${r.usd.left.formatted} across all assets` : undefined,
    agent: r.agentName ? `${r.agentName} (${r.agent})` : r.agent,
    intentId: r.intentId,
    block: r.blockNumber,
  });
  if (r.callConditions)
    process.stdout.write(`\nThe call's conditions (v3):\n${reportLines(r.callConditions).join("\n")}\n`);
  if (!r.explained && !r.replay)
    process.stdout.write(
      "\n(Why is not known: the deployment record names no lens, or the client's model of the policy disagreed.)\n",
    );
}

function output(r: AgentTaskOutput | AgentDryRunOutput): void {
  if ("dryRun" in r) renderPreview(r);
  else render(r);
}

/** `--valid-for`: whole seconds, at least 60 (the client's bound), as a clear error rather than Hardhat's type error. */
export function validFor(args: { validFor?: string }): number | undefined {
  if (args.validFor === undefined) return undefined;
  const text = args.validFor.trim();
  if (!/^\d+$/.test(text) || Number(text) < 60 || !Number.isSafeInteger(Number(text))) {
    throw new TaskInputError(
      `--valid-for ${args.validFor} is not a whole number of seconds of at least 60 (e.g. --valid-for 3600).`,
    );
  }
  return Number(text);
}

function payRequest(args: PayArgs) {
  if (!args.asset || !args.to || args.amount === undefined)
    throw new TaskInputError("A payment needs --asset, --to and --amount.");
  return {
    asset: args.asset,
    to: args.to,
    amount: args.amount,
    rationale: args.reason ?? `pay ${args.amount} ${args.asset} to ${args.to}`,
    idempotencyKey: args.idempotencyKey,
    lane: args.lane,
    validFor: validFor(args),
  };
}

function callRequest(args: CallArgs, ctx: ClientContext) {
  if (!args.target) throw new TaskInputError("A call needs --target (an address or a token symbol).");
  if ((args.data === undefined) === (args.function === undefined))
    throw new TaskInputError("A call needs exactly one of --data <hex> or --function <signature> (with --args).");
  let parsedArgs: unknown[] = [];
  if (args.args !== undefined) {
    try {
      parsedArgs = JSON.parse(args.args) as unknown[];
    } catch {
      throw new TaskInputError(`--args must be a JSON array, e.g. '["0xabc…", "1000"]' (got ${args.args}).`);
    }
    if (!Array.isArray(parsedArgs)) throw new TaskInputError("--args must be a JSON array.");
  }
  const target = resolveTarget(ctx, args.target);
  return {
    target,
    data: args.data,
    function: args.function,
    args: args.function ? parsedArgs : undefined,
    value: args.value,
    rationale: args.reason ?? `call ${args.function ?? (args.data ?? "").slice(0, 10)} on ${target}`,
    idempotencyKey: args.idempotencyKey,
    lane: args.lane,
    validFor: validFor(args),
  };
}

function agentFlags(t: ConfigurableTaskDefinition): ConfigurableTaskDefinition {
  return clientFlags(
    t
      .addParam("agent", "Agent name from the policy, or the agent's address")
      .addOptionalParam("reason", "Why (journaled; its keccak256 goes on chain). Default: a description of the request")
      .addOptionalParam("idempotencyKey", "Idempotency key text (default: derived from the request and reason)")
      .addOptionalParam("lane", "Nonce lane: a workflow name or number (default 0)")
      .addOptionalParam("validFor", "Seconds the signature stays valid, at least 60 (default 3600)")
      .addFlag("relayed", "Send through the RELAYER key, so the agent key pays no gas")
      .addFlag(
        "dryRun",
        "Say what would happen now (Executed, Queued or Denied, and why) without signing or sending anything",
      )
      .addOptionalParam("journal", "Journal file (default: <deployments>/journals/<chain>-<module>/<agent>.jsonl)"),
  );
}

agentFlags(
  task("agent:pay", "Pays ETH or a token from the treasury as an agent (auto tier, or queued for co-signers)")
    .addParam("asset", "ETH, a token symbol of the deployment, or a token address")
    .addParam("to", "Recipient address")
    .addParam("amount", "Amount in human units, e.g. 2.5 (read with the token's decimals)"),
).setAction(async (args: PayArgs, hre) => {
  await runTask(
    args.json,
    () =>
      args.dryRun
        ? withAgent(hre, args, (client) => client.dryRun("pay", payRequest(args)))
        : withAgent(hre, args, (client) => client.pay(payRequest(args))),
    output,
  );
});

agentFlags(
  task("agent:call", "Calls a contract function the policy allows, as an agent")
    .addParam("target", "Contract address or token symbol")
    .addOptionalParam("data", "Calldata (hex)")
    .addOptionalParam("function", 'Function signature, e.g. "approve(address,uint256)" (with --args)')
    .addOptionalParam("args", "Arguments as a JSON array")
    .addOptionalParam("value", "ETH sent with the call, in ETH (e.g. 0.1)"),
).setAction(async (args: CallArgs, hre) => {
  await runTask(
    args.json,
    () =>
      withAgent(hre, args, async (client, ctx) => {
        const request = callRequest(args, ctx);
        const result = args.dryRun ? await client.dryRun("call", request) : await client.call(request);
        // v3: the call's argument conditions in words, met or not.
        const callConditions = await callConditionsReportFor(hre, ctx, client, request);
        if (!callConditions) return result;
        // The report says what the preview's raw checks say, in words: print it once.
        const out: (IntentResult | IntentPreview) & AgentExtras = { ...result, callConditions };
        if ("conditions" in out) delete out.conditions;
        return out;
      }),
    output,
  );
});

agentFlags(
  task("agent:propose", "Asks co-signers to review a payment or call (always queued, even within limits)")
    .addOptionalParam("asset", "Payment: ETH, a token symbol or a token address")
    .addOptionalParam("to", "Payment: recipient address")
    .addOptionalParam("amount", "Payment: amount in human units")
    .addOptionalParam("target", "Call: contract address or token symbol")
    .addOptionalParam("data", "Call: calldata (hex)")
    .addOptionalParam("function", "Call: function signature (with --args)")
    .addOptionalParam("args", "Call: arguments as a JSON array")
    .addOptionalParam("value", "Call: ETH sent with the call"),
).setAction(async (args: PayArgs & CallArgs, hre) => {
  await runTask(
    args.json,
    () =>
      args.dryRun
        ? withAgent(hre, args, (client, ctx) =>
            client.dryRun("propose", args.target ? callRequest(args, ctx) : payRequest(args)),
          )
        : withAgent(hre, args, (client, ctx) =>
            client.propose(args.target ? callRequest(args, ctx) : payRequest(args)),
          ),
    output,
  );
});
