/**
 * Delivering one alert, the same way for a block's alerts, the journal's and the notices (restart, reorganisation,
 * price feeds): first the automatic response its rule asks for (made once: a response already recorded is reused),
 * then every sink that has not accepted it yet, in order. Each step is reported to the caller as it happens, so the
 * checkpoint records it before the next one (monitor/checkpoint.ts); a sink that refuses stops the delivery with
 * {@link DeliveryPendingError}, and the next poll goes on from there.
 */
import type { Alert, AlertResponse } from "./alerts";
import type { MonitorMetrics } from "./metrics";
import type { AutoResponder } from "./response";
import type { AlertSink } from "./sinks";

/** A sink refused an alert: the watchtower stays on that block and retries at the next poll. */
export class DeliveryPendingError extends Error {
  readonly code = "ALERT_DELIVERY_PENDING";
  constructor(
    readonly sink: string,
    readonly alertId: string,
    cause: unknown,
  ) {
    super(
      `Sink ${sink} did not accept alert ${alertId} (${(cause as Error).message}); it is retried at the next poll.`,
      { cause },
    );
    this.name = "DeliveryPendingError";
  }
}

/** Where an alert goes, and how each step is recorded. */
export interface Delivery {
  sinks: readonly AlertSink[];
  responder?: AutoResponder;
  metrics?: MonitorMetrics;
  /** Responses already made: alert id -> response (a new one is added). */
  responses: Record<string, AlertResponse>;
  /** Called when a new response has been added to `responses` (absent: nothing to record). */
  responded?: () => void;
  /** Called when a sink has accepted the alert (its name added to the accepted list). */
  accepted: () => void;
}

/** Responds (once) and delivers to every sink not in `done` (the sinks that accepted the alert), adding each. */
export async function deliverAlert(alert: Alert, done: string[], to: Delivery): Promise<void> {
  if (to.sinks.every((s) => done.includes(s.name))) return;
  if (alert.action !== "alert" && to.responder) {
    if (!to.responses[alert.id]) {
      const response = await to.responder.respond(alert);
      if (response) {
        to.responses[alert.id] = response;
        to.responded?.();
      }
    }
    alert.response = to.responses[alert.id];
  } else if (alert.action !== "alert") {
    alert.response = { action: alert.action, status: "disabled", error: "the watchtower runs without a responder" };
  }
  for (const sink of to.sinks) {
    if (done.includes(sink.name)) continue;
    try {
      await sink.deliver(alert);
    } catch (error) {
      to.metrics?.sinkFailed(sink.name);
      throw new DeliveryPendingError(sink.name, alert.id, error);
    }
    done.push(sink.name);
    to.accepted();
  }
  to.metrics?.alert(alert);
}
