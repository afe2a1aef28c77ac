/**
 * Where alerts go: JSON lines or readable lines on a stream (stdout), and a webhook that receives each alert as a
 * JSON POST. A sink either accepts an alert or throws; the watchtower retries a refusing sink on its next poll
 * without moving past the block, so an alert is never dropped because a receiver was down.
 */
import type { Writable } from "stream";
import { Alert, formatAlertJson, formatAlertLine } from "./alerts";

export interface AlertSink {
  /** Names the sink in the checkpoint (which sinks accepted which alert). */
  readonly name: string;
  deliver(alert: Alert): Promise<void>;
}

/** One line per alert on a stream, formatted by `format`. */
class LineSink implements AlertSink {
  constructor(
    private readonly out: Writable,
    readonly name: string,
    private readonly format: (alert: Alert) => string,
  ) {}
  async deliver(alert: Alert): Promise<void> {
    await write(this.out, `${this.format(alert)}\n`);
  }
}

/** One JSON object per line. */
export class JsonLinesSink extends LineSink {
  constructor(out: Writable, name = "jsonl") {
    super(out, name, formatAlertJson);
  }
}

/** One readable line per alert. */
export class TextSink extends LineSink {
  constructor(out: Writable, name = "text") {
    super(out, name, formatAlertLine);
  }
}

/** Collects alerts in memory (tests, and callers that consume alerts programmatically). */
export class MemorySink implements AlertSink {
  readonly alerts: Alert[] = [];
  constructor(readonly name = "memory") {}
  async deliver(alert: Alert): Promise<void> {
    this.alerts.push(alert);
  }
}

/** The webhook refused or did not answer. */
export class WebhookError extends Error {
  readonly code = "WEBHOOK_FAILED";
  constructor(
    readonly url: string,
    message: string,
  ) {
    super(
      `Webhook ${redact(url)} failed: ${message}. The alert stays pending and is retried on the next poll; check the receiver.`,
    );
    this.name = "WebhookError";
  }
}

export interface WebhookOptions {
  /** Attempts per delivery before giving up until the next poll (default 3). */
  attempts?: number;
  /** Milliseconds per attempt (default 5000). */
  timeoutMs?: number;
  /** First backoff in ms, doubled each attempt (default 250). */
  backoffMs?: number;
  /** Extra headers (e.g. an authorization token for the receiver). */
  headers?: Record<string, string>;
}

/** POSTs each alert as JSON. The `X-Alert-Id` header (and the body's `id`) lets the receiver drop duplicates. */
export class WebhookSink implements AlertSink {
  readonly name = "webhook";
  constructor(
    readonly url: string,
    private readonly options: WebhookOptions = {},
  ) {
    if (!/^https?:\/\//i.test(url)) throw new WebhookError(url, "the URL must start with http:// or https://");
  }

  async deliver(alert: Alert): Promise<void> {
    const attempts = this.options.attempts ?? 3;
    let last = "";
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) await sleep((this.options.backoffMs ?? 250) * 2 ** (attempt - 1));
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), this.options.timeoutMs ?? 5000);
      try {
        const response = await fetch(this.url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-alert-id": alert.id, ...(this.options.headers ?? {}) },
          body: formatAlertJson(alert),
          signal: controller.signal,
        });
        // Drain the body so the connection can be reused.
        await response.arrayBuffer().catch(() => undefined);
        if (response.ok) return;
        last = `HTTP ${response.status}`;
      } catch (error) {
        last = (error as Error).name === "AbortError" ? "timed out" : (error as Error).message;
      } finally {
        clearTimeout(timer);
      }
    }
    throw new WebhookError(this.url, last);
  }
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    if (u.username) u.username = "***";
    return u.toString();
  } catch {
    return "(invalid URL)";
  }
}

function write(out: Writable, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
