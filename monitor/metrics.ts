/**
 * Prometheus metrics of the watchtower (prom-client), served on a loopback address only: the chain position and
 * lag, alerts by rule and severity, automatic responses, and per-agent statistics. Scrape `/metrics`.
 */
import http from "http";
import type { AddressInfo } from "net";
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import type { Alert } from "./alerts";
import { isLoopbackHost } from "../core/monitorSchema";
import type { MonitorState } from "./stats";

export class MetricsConfigError extends Error {
  readonly code = "METRICS_NOT_LOOPBACK";
  constructor(host: string) {
    super(
      `Metrics host "${host}" is not a loopback address: metrics name agents and amounts, so they are served on 127.0.0.1 or ::1 only. Put a reverse proxy in front if a scraper elsewhere needs them.`,
    );
    this.name = "MetricsConfigError";
  }
}

export class MonitorMetrics {
  readonly registry = new Registry();
  private readonly processed: Gauge;
  private readonly head: Gauge;
  private readonly lag: Gauge;
  private readonly alerts: Counter;
  private readonly responses: Counter;
  private readonly sinkFailures: Counter;
  private readonly intents: Gauge;
  private readonly spent: Gauge;
  private readonly frozen: Gauge;
  private readonly paused: Gauge;
  private readonly queued: Gauge;
  private server?: http.Server;

  constructor(defaultMetrics = false) {
    const registers = [this.registry];
    this.processed = new Gauge({
      name: "atg_monitor_processed_block",
      help: "Newest block the watchtower has read",
      registers,
    });
    this.head = new Gauge({ name: "atg_monitor_head_block", help: "Chain head seen at the last poll", registers });
    this.lag = new Gauge({ name: "atg_monitor_lag_blocks", help: "Head minus the newest block read", registers });
    this.alerts = new Counter({
      name: "atg_monitor_alerts_total",
      help: "Alerts delivered",
      labelNames: ["rule", "severity"],
      registers,
    });
    this.responses = new Counter({
      name: "atg_monitor_responses_total",
      help: "Automatic responses",
      labelNames: ["action", "status"],
      registers,
    });
    this.sinkFailures = new Counter({
      name: "atg_monitor_sink_failures_total",
      help: "Failed deliveries (retried)",
      labelNames: ["sink"],
      registers,
    });
    this.intents = new Gauge({
      name: "atg_agent_intents",
      help: "Intents per agent and outcome",
      labelNames: ["agent", "outcome"],
      registers,
    });
    this.spent = new Gauge({
      name: "atg_agent_spent_base_units",
      help: "Executed spend per agent and asset, base units",
      labelNames: ["agent", "asset"],
      registers,
    });
    this.frozen = new Gauge({
      name: "atg_agent_frozen",
      help: "1 when the agent is frozen",
      labelNames: ["agent"],
      registers,
    });
    this.paused = new Gauge({ name: "atg_module_paused", help: "1 when the module is paused", registers });
    this.queued = new Gauge({ name: "atg_queued_intents", help: "Queued intents waiting", registers });
    if (defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  position(head: number, processed: number): void {
    this.head.set(head);
    this.processed.set(processed);
    this.lag.set(Math.max(0, head - processed));
  }

  alert(alert: Alert): void {
    this.alerts.inc({ rule: alert.rule, severity: alert.severity });
    if (alert.response) this.responses.inc({ action: alert.response.action, status: alert.response.status });
  }

  sinkFailed(sink: string): void {
    this.sinkFailures.inc({ sink });
  }

  /** Refreshes the per-agent gauges from the statistics. */
  stats(state: MonitorState, names: Record<string, string>): void {
    this.intents.reset();
    this.spent.reset();
    this.frozen.reset();
    for (const a of Object.values(state.agents)) {
      const label = a.keys.map((k) => names[k.toLowerCase()]).find((n) => n !== undefined) ?? a.key;
      for (const [outcome, n] of Object.entries(a.counts)) this.intents.set({ agent: label, outcome }, n);
      for (const [asset, amount] of Object.entries(a.spent)) this.spent.set({ agent: label, asset }, Number(amount));
      this.frozen.set({ agent: label }, a.frozen ? 1 : 0);
    }
    this.paused.set(state.paused ? 1 : 0);
    this.queued.set(Object.keys(state.queued).length);
  }

  /** Serves `/metrics` on a loopback host. Resolves with the bound port (0 picks a free one). */
  async listen(port: number, host = "127.0.0.1"): Promise<number> {
    if (!isLoopbackHost(host)) throw new MetricsConfigError(host);
    this.server = http.createServer((req, res) => {
      if (req.method !== "GET" || (req.url ?? "").split("?")[0] !== "/metrics") {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found: GET /metrics\n");
        return;
      }
      this.registry
        .metrics()
        .then((body) => res.writeHead(200, { "content-type": this.registry.contentType }).end(body))
        .catch((error: Error) => res.writeHead(500, { "content-type": "text/plain" }).end(error.message));
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(port, host === "localhost" ? "127.0.0.1" : host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }
}
