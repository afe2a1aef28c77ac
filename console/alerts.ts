/**
 * The watchtower inside the console: the same `Watchtower` as `npm run monitor` (monitor/watchtower.ts), with the
 * rules of the deployment's policy file (its `monitor` section, else the defaults), reporting to the page as alerts
 * happen. It never responds: the console holds no key, so an alert whose rule asks to freeze or pause says so and a
 * guardian acts from the page (or a watchtower run with a guardian key does). Its checkpoint and every alert it
 * raised live in the console's store directory (`watchtower.checkpoint.json`, `alerts.jsonl`), so a restarted
 * console shows the earlier alerts and raises none twice. On a first start it learns the history silently and
 * reports from the next block, as the watchtower does.
 */
import fs from "fs";
import path from "path";
import type { Provider } from "ethers";
import { JsonLinesSink, Watchtower, loadMonitorConfig, parseMonitorConfig } from "../monitor";
import type { Alert, AlertSink } from "../monitor";
import type { DeploymentRecord } from "../core/deployment";
import type { AlertView } from "./api";

export interface ConsoleWatchtowerOptions {
  provider: Provider;
  chainId: bigint;
  record: DeploymentRecord;
  dir: string;
  pollIntervalMs: number;
  /** Called with each new alert. */
  onAlert: (alert: AlertView) => void;
  log: (line: string) => void;
}

export function alertView(a: Alert): AlertView {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    message: a.message,
    ...(a.advice ? { advice: a.advice } : {}),
    ...(a.agent ? { agent: a.agent.address, ...(a.agent.name ? { agentName: a.agent.name } : {}) } : {}),
    ...(a.intentId ? { intentId: a.intentId } : {}),
    block: a.block,
    blockTime: a.blockTime,
    action: a.action,
    ...(a.txHash ? { txHash: a.txHash } : {}),
  };
}

/** Reads the alerts a console raised before (one JSON object per line; a torn last line is skipped). */
export function readAlerts(file: string): AlertView[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").split("\n");
  lines.pop();
  return lines.filter((l) => l.trim() !== "").map((l) => alertView(JSON.parse(l) as Alert));
}

/** Starts the watchtower in the background; `stop` ends it after the block it is reading. */
export async function startConsoleWatchtower(
  o: ConsoleWatchtowerOptions,
): Promise<{ alerts: AlertView[]; stop: () => Promise<void> }> {
  const alertsFile = path.join(o.dir, "alerts.jsonl");
  fs.mkdirSync(o.dir, { recursive: true });
  const alerts = readAlerts(alertsFile);
  const policyFile = o.record.policyFile && fs.existsSync(o.record.policyFile) ? o.record.policyFile : undefined;
  const config = policyFile ? loadMonitorConfig(policyFile).monitor : parseMonitorConfig(undefined);
  // A development node has no reorganisations: show alerts at the head there.
  if (o.chainId === 31337n) config.confirmations = 1;
  config.pollIntervalMs = o.pollIntervalMs;
  const file = fs.createWriteStream(alertsFile, { flags: "a" });
  const page: AlertSink = {
    name: "console",
    deliver: async (alert: Alert) => {
      const view = alertView(alert);
      alerts.push(view);
      o.onAlert(view);
    },
  };
  const names: Record<string, string> = {};
  for (const [name, address] of Object.entries(o.record.agents ?? {})) names[address.toLowerCase()] = name;
  const tower = new Watchtower({
    provider: o.provider,
    chainId: o.chainId,
    module: o.record.module,
    safe: o.record.safe,
    config,
    // The file first: an alert is on disk before the page hears of it.
    sinks: [new JsonLinesSink(file, "console-file"), page],
    checkpointFile: path.join(o.dir, "watchtower.checkpoint.json"),
    historyFrom: o.record.moduleBlock ?? 0,
    names,
    tokens: o.record.tokens,
    log: o.log,
  });
  await tower.start();
  const running = tower.run();
  return {
    alerts,
    stop: async () => {
      tower.stop();
      await running;
      await new Promise<void>((resolve) => file.end(() => resolve()));
    },
  };
}
