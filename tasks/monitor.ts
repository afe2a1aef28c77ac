/**
 * The watchtower and the audit trail on the command line:
 *
 *   npx hardhat treasury:monitor [--network <n>] [--from-block N] [--json] [--webhook <url>] [--checkpoint <file>]
 *                                [--confirmations N] [--policy <file>] [--once] [--journal <file>] [--metrics-port N]
 *                                [--no-respond] [--keystore <guardian keystore>] [--module <address>]
 *   npx hardhat treasury:audit   [--from-block N] [--to-block N] [--journal <file|folder>[,<file|folder>…]] [--json | --html <out.html>]
 *
 * The module, its Safe, agent names and tokens come from the deployment record (core/deployment.ts) unless
 * `--module` is given. Rules come from the policy file's `monitor` section (`--policy`, else the record's policy
 * file, else the defaults in core/monitorSchema.ts). The audit reads every agent journal of the deployment
 * (`<deployments dir>/journals/<chainId>-<module>/`) unless `--journal` names files or folders (comma-separated:
 * Hardhat 2 refuses a repeated flag). Heavy modules are imported inside the actions so that this file loads before
 * the contracts are compiled.
 */
import fs from "fs";
import path from "path";
import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

interface MonitorArgs {
  fromBlock?: number;
  json: boolean;
  webhook?: string;
  checkpoint?: string;
  confirmations?: number;
  policy?: string;
  once: boolean;
  journal?: string;
  metricsPort?: number;
  pollInterval?: number;
  noRespond: boolean;
  keystore?: string;
  module?: string;
}

interface AuditArgs {
  fromBlock?: number;
  toBlock?: number;
  journal?: string;
  json: boolean;
  html?: string;
  module?: string;
}

/** The task could not start: the message says what to pass. */
export class MonitorTaskError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "MonitorTaskError";
  }
}

interface Target {
  chainId: bigint;
  module: string;
  safe?: string;
  names: Record<string, string>;
  tokens: Record<string, string>;
  moduleBlock?: number;
  policyFile?: string;
}

async function target(hre: HardhatRuntimeEnvironment, moduleFlag?: string): Promise<Target> {
  const { getAddress, isAddress } = await import("ethers");
  const { readLiveDeployment, tryReadLiveDeployment, DeploymentNotFoundError, deploymentFile } =
    await import("../core/deployment");
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  // Without --module the record must describe this chain instance (DEPLOYMENT_STALE after a node restart).
  const record =
    moduleFlag !== undefined
      ? await tryReadLiveDeployment(hre.ethers.provider)
      : fs.existsSync(deploymentFile(chainId))
        ? (await readLiveDeployment(hre.ethers.provider)).record
        : undefined;
  if (moduleFlag !== undefined && !isAddress(moduleFlag)) {
    throw new MonitorTaskError(
      "INVALID_REQUEST",
      `--module "${moduleFlag}" is not an address (0x followed by 40 hex digits).`,
    );
  }
  const module = moduleFlag ? getAddress(moduleFlag) : record?.module;
  if (!module) throw new DeploymentNotFoundError(chainId.toString(), deploymentFile(chainId));
  if ((await hre.ethers.provider.getCode(module)) === "0x") {
    throw new MonitorTaskError(
      "MODULE_NOT_FOUND",
      `No contract at module address ${module} on chain ${chainId}: check --module or the deployment record.`,
    );
  }
  const sameModule = record !== undefined && record.module.toLowerCase() === module.toLowerCase();
  const names: Record<string, string> = {};
  if (sameModule)
    for (const [name, address] of Object.entries(record.agents ?? {})) names[address.toLowerCase()] = name;
  let safe = sameModule ? record.safe : undefined;
  if (!safe) {
    const m = await hre.ethers.getContractAt("IAgentTreasuryModule", module);
    safe = getAddress(await m.avatar());
  }
  return {
    chainId,
    module,
    safe,
    names,
    tokens: sameModule ? (record.tokens ?? {}) : {},
    moduleBlock: sameModule ? record.moduleBlock : undefined,
    policyFile: sameModule ? record.policyFile : undefined,
  };
}

task(
  "treasury:monitor",
  "Watchtower: follows the module's events, raises alerts, freezes or pauses on rules that say so",
)
  .addOptionalParam(
    "fromBlock",
    "First block to report on when there is no checkpoint (default: the next confirmed block)",
    undefined,
    types.int,
  )
  .addFlag("json", "One JSON object per alert per line on stdout")
  .addOptionalParam("webhook", "POST each alert as JSON to this URL")
  .addOptionalParam("checkpoint", "Checkpoint file (default deployments/monitor/<chainId>-<module>.checkpoint.json)")
  .addOptionalParam(
    "confirmations",
    "Blocks a block needs, itself included, before it is read (1 = the head)",
    undefined,
    types.int,
  )
  .addOptionalParam(
    "policy",
    "Policy file whose `monitor` section holds the rules (default: the deployment's policy file)",
  )
  .addFlag("once", "Read up to the confirmed head, print a summary and exit")
  .addOptionalParam("journal", "An agent journal to watch for idempotency conflicts (they never reach the chain)")
  .addOptionalParam("metricsPort", "Serve Prometheus metrics on 127.0.0.1:<port>/metrics", undefined, types.int)
  .addOptionalParam(
    "pollInterval",
    "Milliseconds between polls (default from the policy, else 4000)",
    undefined,
    types.int,
  )
  .addFlag("noRespond", "Never freeze or pause: report what the rules ask for instead")
  .addOptionalParam("keystore", "Encrypted JSON keystore of the guardian key (else GUARDIAN_KEY)")
  .addOptionalParam("module", "Module address (default: from the deployment record)")
  .setAction(async (args: MonitorArgs, hre) => {
    const { runTask, formatTable } = await import("./lib/output");
    await runTask(
      args.json,
      () => runMonitor(args, hre),
      (summary) => {
        const rows = summary.agents.map((a) => [
          a.name ?? a.agent,
          a.frozen ? "frozen" : a.removed ? "removed" : "active",
          a.counts.executed,
          a.counts.queued,
          a.counts.denied,
          a.counts.replays,
          a.recipients,
          a.lanes,
        ]);
        process.stdout.write(`\nRead to block ${summary.processedBlock}; checkpoint ${summary.checkpoint}\n`);
        if (rows.length)
          process.stdout.write(
            `${formatTable(["agent", "state", "executed", "queued", "denied", "replays", "recipients", "lanes"], rows)}\n`,
          );
      },
    );
  });

async function runMonitor(args: MonitorArgs, hre: HardhatRuntimeEnvironment) {
  const m = await import("../monitor");
  const { resolveSigner } = await import("./lib/keys");
  const { KeyError } = await import("../core/keys");
  const { GuardianClient } = await import("../sdk/guardian");
  const log = (line: string) => process.stderr.write(`${line}\n`);

  const t = await target(hre, args.module);
  const policyFile = args.policy ?? (t.policyFile && fs.existsSync(t.policyFile) ? t.policyFile : undefined);
  const loaded = policyFile
    ? m.loadMonitorConfig(policyFile)
    : { monitor: m.parseMonitorConfig(undefined), guardians: [] as string[] };
  const config = loaded.monitor;
  if (args.confirmations !== undefined) {
    if (args.confirmations < 1)
      throw new MonitorTaskError("INVALID_REQUEST", "--confirmations must be at least 1 (1 = read the head block).");
    config.confirmations = args.confirmations;
  }
  if (args.pollInterval !== undefined) config.pollIntervalMs = Math.max(10, args.pollInterval);
  const webhook = args.webhook ?? config.webhook;
  const checkpointFile = path.resolve(
    args.checkpoint ?? config.checkpoint ?? m.defaultCheckpointFile(t.chainId, t.module),
  );

  // The guardian key, when a rule asks for a response.
  const acting = config.rules.filter((r) => r.enabled && r.action !== "alert");
  let responder: InstanceType<typeof m.AutoResponder> | undefined;
  if (acting.length > 0 && args.noRespond) {
    responder = new m.AutoResponder({ enabled: false, disabledReason: "the watchtower runs with --no-respond" });
  } else if (acting.length > 0) {
    const expected = config.guardian ?? (loaded.guardians.length === 1 ? loaded.guardians[0] : undefined);
    let signer;
    try {
      signer = await resolveSigner(hre, "GUARDIAN", { keystore: args.keystore, expectedAddress: expected });
    } catch (error) {
      if (error instanceof KeyError) {
        throw new MonitorTaskError(
          error.code,
          `${error.message} Rules ${acting.map((r) => r.id).join(", ")} ask to ${[...new Set(acting.map((r) => r.action))].join("/")}: ` +
            "give the watchtower a guardian key, or run with --no-respond to only report.",
        );
      }
      throw error;
    }
    // Urgent: the freeze should be ordered before the attacker's next payment in the same block.
    const guardian = await GuardianClient.connect({
      module: t.module,
      signer: new m.UrgentSigner(signer),
      pollIntervalMs: Math.min(1000, config.pollIntervalMs),
    });
    const state = await guardian.state();
    if (!state.isGuardian) {
      throw new MonitorTaskError(
        "NOT_A_GUARDIAN",
        `The guardian key ${guardian.address} is not a guardian of module ${t.module}: the Safe must call setGuardian(${guardian.address}, true), or run with --no-respond.`,
      );
    }
    responder = new m.AutoResponder({ guardian, enabled: true });
  }

  const sinks: InstanceType<typeof m.JsonLinesSink | typeof m.TextSink | typeof m.WebhookSink>[] = [
    args.json ? new m.JsonLinesSink(process.stdout) : new m.TextSink(process.stdout),
  ];
  if (webhook) sinks.push(new m.WebhookSink(webhook));

  const metrics = args.metricsPort !== undefined || config.metrics ? new m.MonitorMetrics(true) : undefined;
  const tower = new m.Watchtower({
    provider: hre.ethers.provider,
    chainId: t.chainId,
    module: t.module,
    safe: t.safe,
    config,
    sinks,
    responder,
    checkpointFile,
    fromBlock: args.fromBlock,
    historyFrom: t.moduleBlock ?? 0,
    names: t.names,
    tokens: t.tokens,
    journal: args.journal,
    metrics,
    log,
  });

  const stop = () => tower.stop();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  try {
    const start = await tower.start();
    let metricsPort: number | undefined;
    if (metrics)
      metricsPort = await metrics.listen(args.metricsPort ?? config.metrics!.port, config.metrics?.host ?? "127.0.0.1");
    log(
      `monitor: watching module ${t.module} on chain ${t.chainId} from block ${start.fromBlock}` +
        `${start.resumed ? ` (resumed from ${checkpointFile})` : ""}; confirmations ${config.confirmations}; ` +
        `rules ${config.rules
          .filter((r) => r.enabled)
          .map((r) => `${r.id}${r.action !== "alert" ? `:${r.action}` : ""}`)
          .join(", ")}; ` +
        `responses ${responder?.guardianAddress && !args.noRespond ? `as guardian ${responder.guardianAddress}` : "off"}` +
        `${webhook ? `; webhook on` : ""}${metricsPort !== undefined ? `; metrics on 127.0.0.1:${metricsPort}/metrics` : ""}`,
    );
    await tower.run({ once: args.once });
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await metrics?.close();
  }

  return {
    type: "summary" as const,
    chainId: t.chainId.toString(),
    module: t.module,
    processedBlock: tower.position - 1,
    checkpoint: checkpointFile,
    agents: tower.stats(),
  };
}

task("treasury:audit", "Audit trail: every intent with its decoded action, status, approvals, timings and rationale")
  .addOptionalParam("fromBlock", "First block (default: the module's deployment block)", undefined, types.int)
  .addOptionalParam("toBlock", "Last block (default: the head)", undefined, types.int)
  .addOptionalParam(
    "journal",
    "Agent journals for the rationale texts: a file or a folder of *.jsonl, several separated by commas (default: every journal of the deployment)",
  )
  .addFlag("json", "Print the audit as one JSON object")
  .addOptionalParam("html", "Write a self-contained HTML page to this file")
  .addOptionalParam("module", "Module address (default: from the deployment record)")
  .setAction(async (args: AuditArgs, hre) => {
    const { runTask, printTable, toJson } = await import("./lib/output");
    await runTask(
      args.json,
      async () => {
        if (args.json && args.html)
          throw new MonitorTaskError("INVALID_REQUEST", "Pass either --json or --html <file>, not both.");
        const { collectAudit, renderAuditHtml } = await import("../audit");
        const { deploymentsDir } = await import("../core/deployment");
        const { journalDirOf } = await import("./lib/context");
        const t = await target(hre, args.module);
        let journals: string[];
        if (args.journal !== undefined) {
          journals = args.journal
            .split(",")
            .map((j) => j.trim())
            .filter((j) => j !== "");
          if (journals.length === 0)
            throw new MonitorTaskError("INVALID_REQUEST", `--journal "${args.journal}" names no file or folder.`);
          const missing = journals.find((j) => !fs.existsSync(j));
          if (missing !== undefined)
            throw new MonitorTaskError(
              "INVALID_REQUEST",
              `--journal: ${missing} does not exist; give journal files (.jsonl) or folders of them, separated by commas.`,
            );
        } else {
          // Every journal of the deployment: the client library writes one per agent key there.
          const dir = journalDirOf(deploymentsDir(), t.chainId, t.module);
          journals = fs.existsSync(dir) ? [dir] : [];
        }
        const report = await collectAudit({
          provider: hre.ethers.provider,
          chainId: t.chainId,
          module: t.module,
          fromBlock: args.fromBlock ?? t.moduleBlock ?? 0,
          toBlock: args.toBlock,
          journals,
          tokens: t.tokens,
          names: t.names,
        });
        if (args.html) {
          const out = path.resolve(args.html);
          fs.mkdirSync(path.dirname(out), { recursive: true });
          fs.writeFileSync(out, renderAuditHtml(report));
          return { report, html: out };
        }
        return JSON.parse(toJson(report)) as unknown;
      },
      (result) => {
        const r = result as { report: import("../audit").AuditReport; html?: string } | import("../audit").AuditReport;
        const report = "report" in r ? r.report : r;
        printTable(
          `Intents of module ${report.module} (blocks ${report.fromBlock}-${report.toBlock})`,
          ["submitted (UTC)", "agent", "status", "route", "action", "rationale", "approvals"],
          report.intents.map((i) => [
            new Date(i.submitted.time * 1000).toISOString().slice(0, 19),
            i.agentName ?? i.agent,
            i.status + (i.denyReason ? ` (${i.denyReason})` : ""),
            i.route,
            i.action.summary,
            i.rationaleText ?? i.rationaleHash.slice(0, 12) + "…",
            i.threshold !== undefined && i.route === "queued"
              ? `${i.approvalsCounted ?? i.approvals.length}/${i.threshold}${i.signatures.length ? ` (${i.approvals.length} on-chain + ${i.signatures.length} signed)` : ""}`
              : "",
          ]),
        );
        printTable(
          "Pauses, freezes and configuration",
          ["time (UTC)", "block", "event", "what"],
          report.events.map((ev) => [
            new Date(ev.time * 1000).toISOString().slice(0, 19),
            ev.block,
            ev.kind,
            ev.summary,
          ]),
        );
        const t = report.totals;
        process.stdout.write(
          `\n${t.intents} intents: ${Object.entries(t.byStatus)
            .filter(([, n]) => n > 0)
            .map(([s, n]) => `${n} ${s}`)
            .join(", ")}; spent ${t.spent.map((s) => s.formatted).join(", ") || "nothing"}\n`,
        );
        if ("html" in r && r.html) process.stdout.write(`HTML page written to ${r.html}\n`);
      },
    );
  });
