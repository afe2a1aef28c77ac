/**
 * Renders an {@link AuditReport} as one self-contained HTML page: inline CSS and inline SVG only, no script, no
 * font, no image or stylesheet from anywhere (a Content-Security-Policy forbids every external load), so the page
 * can be mailed, archived and opened offline. Every text from the chain or a journal is escaped: rationale texts
 * are written by agents, which may be prompt-injected.
 *
 * Sections: totals; per agent a card with its counts, its spend, and per asset a chart of its auto-tier spend in the
 * sliding window against its cap over time; a timeline strip of every intent; the timeline table (approvals as the
 * module counted them, against the threshold then in force); and every pause, freeze and configuration change.
 */
import { formatAmount } from "../sdk/chain";
import type { IntentStatusName } from "../sdk/types";
import type { AgentAudit, AuditIntent, AuditReport } from "./collect";
import type { CapSeries } from "./caps";
import type { AuditEvent } from "./events";
import { duration } from "./events";

const STATUS_COLORS: Record<IntentStatusName, string> = {
  None: "#6b7280",
  Executed: "#15803d",
  Queued: "#b45309",
  Denied: "#b91c1c",
  Cancelled: "#4b5563",
  Expired: "#7c3aed",
};

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

const e = escapeHtml;

function utc(time: number): string {
  return new Date(time * 1000).toISOString().replace("T", " ").replace(".000Z", " UTC");
}

function short(hex: string, head = 10, tail = 6): string {
  return hex.length > head + tail + 1 ? `${hex.slice(0, head)}…${hex.slice(-tail)}` : hex;
}

function agentLabel(name: string | undefined, address: string): string {
  return name
    ? `${e(name)} <span class="addr">${e(short(address, 8, 4))}</span>`
    : `<span class="addr">${e(address)}</span>`;
}

/** The chart of one agent's auto-tier spend in its sliding window against its cap, as inline SVG. */
export function capChart(series: CapSeries, agentName: string): string {
  const W = 640;
  const H = 210;
  const pad = { left: 70, right: 16, top: 24, bottom: 34 };
  const pts = series.points;
  const { decimals, symbol } = series.asset;
  if (pts.length === 0) return "";
  const t0 = pts[0].time;
  const t1 = Math.max(pts[pts.length - 1].time, t0 + 1);
  const maxValue = pts.reduce((m, p) => {
    const s = BigInt(p.spent);
    const c = BigInt(p.cap);
    return s > m ? s : c > m ? c : m;
  }, 1n);
  const top = (maxValue * 11n) / 10n;
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0)) * (W - pad.left - pad.right);
  const y = (v: bigint) => H - pad.bottom - (Number((v * 10_000n) / top) / 10_000) * (H - pad.top - pad.bottom);
  // Both series are step functions: a value holds until the next point.
  const step = (value: (i: number) => bigint) => {
    let d = `M ${x(pts[0].time).toFixed(1)} ${y(value(0)).toFixed(1)}`;
    for (let i = 1; i < pts.length; i++) {
      d += ` H ${x(pts[i].time).toFixed(1)} V ${y(value(i)).toFixed(1)}`;
    }
    return d + ` H ${x(t1).toFixed(1)}`;
  };
  const spendPath = step((i) => BigInt(pts[i].spent));
  const capPath = step((i) => BigInt(pts[i].cap));
  const area = `${spendPath} V ${y(0n).toFixed(1)} H ${x(t0).toFixed(1)} Z`;
  const fmt = (v: bigint) => `${formatAmount(v, decimals)} ${symbol}`;
  const peak = pts.reduce((m, p) => (BigInt(p.spent) > m ? BigInt(p.spent) : m), 0n);
  const cap = BigInt(series.capNow);
  const dots = pts
    .map(
      (p) =>
        `<circle cx="${x(p.time).toFixed(1)}" cy="${y(BigInt(p.spent)).toFixed(1)}" r="2.5" class="dot"><title>${e(utc(p.time))}: ${e(fmt(BigInt(p.spent)))} of ${e(fmt(BigInt(p.cap)))}</title></circle>`,
    )
    .join("");
  const label = `${agentName}: auto-tier ${symbol} spend in its ${duration(series.window)} sliding window against its cap`;
  return `<figure class="chart" data-asset="${e(symbol)}">
<svg class="cap-chart" data-asset="${e(symbol)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${e(label)}" xmlns="http://www.w3.org/2000/svg">
<title>${e(label)}</title>
<line x1="${pad.left}" y1="${y(0n)}" x2="${W - pad.right}" y2="${y(0n)}" class="axis"/>
<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${y(0n)}" class="axis"/>
<path d="${area}" class="spend-area"/>
<path d="${spendPath}" class="spend-line"/>
<path d="${capPath}" class="cap-line"/>
${dots}
<text x="${pad.left - 6}" y="${y(0n) + 4}" class="tick" text-anchor="end">0</text>
<text x="${pad.left - 6}" y="${y(cap) + 4}" class="tick cap-label" text-anchor="end">${e(formatAmount(cap, decimals))}</text>
<text x="${pad.left}" y="${H - 10}" class="tick">${e(utc(t0))}</text>
<text x="${W - pad.right}" y="${H - 10}" class="tick" text-anchor="end">${e(utc(t1))}</text>
<text x="${W - pad.right}" y="${pad.top - 8}" class="legend" text-anchor="end"><tspan class="legend-spend">■ spent in window</tspan>  <tspan class="legend-cap">- - cap (autoPerWindow)</tspan></text>
</svg>
<figcaption>${e(symbol)}: peak <strong class="peak">${e(fmt(peak))}</strong> of cap <strong class="cap">${e(fmt(cap))}</strong> (${(series.peakShare * 100).toFixed(1)}%), window ${e(duration(series.window))}</figcaption>
</figure>`;
}

function agentCard(a: AgentAudit): string {
  const name = a.name ?? a.agent;
  const counts = (Object.entries(a.counts) as [IntentStatusName, number][])
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `<span class="badge" style="background:${STATUS_COLORS[s]}">${e(s)} ${n}</span>`)
    .join(" ");
  const spent = a.spent
    .map(
      (s) =>
        `<li data-asset="${e(s.asset.symbol)}">${e(s.asset.symbol)}: auto tier <strong>${e(s.autoFormatted)}</strong>, escalated <strong>${e(s.escalatedFormatted)}</strong></li>`,
    )
    .join("");
  const keys =
    a.keys.length > 1
      ? `<p class="keys">Keys (rotation order): ${a.keys.map((k) => `<span class="addr">${e(k)}</span>`).join(" → ")}</p>`
      : "";
  return `<section class="agent" data-agent="${e(a.agent)}" data-name="${e(a.name ?? "")}">
<h3>${agentLabel(a.name, a.agent)}</h3>
${keys}
<p>${counts || "no intents"}</p>
${spent ? `<ul class="spent">${spent}</ul>` : ""}
${a.caps.map((c) => capChart(c, name)).join("\n")}
</section>`;
}

function timelineStrip(report: AuditReport): string {
  const intents = report.intents;
  if (intents.length === 0) return "";
  const agents = [...new Set(intents.map((i) => i.identity))];
  const W = 960;
  const rowH = 26;
  const pad = { left: 150, right: 20, top: 16, bottom: 28 };
  const H = pad.top + pad.bottom + rowH * agents.length;
  const t0 = Math.min(...intents.map((i) => i.submitted.time));
  const t1 = Math.max(
    report.toTime,
    t0 + 1,
    ...intents.map((i) => i.executed?.time ?? i.cancelled?.time ?? i.submitted.time),
  );
  const x = (t: number) => pad.left + ((t - t0) / (t1 - t0)) * (W - pad.left - pad.right);
  const rowY = (identity: string) => pad.top + rowH * agents.indexOf(identity) + rowH / 2;
  const rows = agents
    .map((id) => {
      const a = report.agents.find((ag) => ag.identity.toLowerCase() === id.toLowerCase());
      const label = a?.name ?? short(a?.agent ?? id, 8, 4);
      return `<text x="${pad.left - 8}" y="${rowY(id) + 4}" text-anchor="end" class="tick">${e(label)}</text><line x1="${pad.left}" x2="${W - pad.right}" y1="${rowY(id)}" y2="${rowY(id)}" class="grid"/>`;
    })
    .join("");
  const marks = intents
    .map((i) => {
      const y = rowY(i.identity);
      const end = i.executed?.time ?? i.cancelled?.time;
      const span =
        end !== undefined && end > i.submitted.time
          ? `<line x1="${x(i.submitted.time).toFixed(1)}" x2="${x(end).toFixed(1)}" y1="${y}" y2="${y}" stroke="${STATUS_COLORS[i.status]}" stroke-width="3"/>`
          : "";
      return `${span}<circle cx="${x(i.submitted.time).toFixed(1)}" cy="${y}" r="5" fill="${STATUS_COLORS[i.status]}" class="mark" data-status="${e(i.status)}"><title>${e(utc(i.submitted.time))} ${e(i.status)}: ${e(i.action.summary)}</title></circle>`;
    })
    .join("");
  return `<svg class="timeline-strip" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="Intents over time, one row per agent" xmlns="http://www.w3.org/2000/svg">
${rows}${marks}
<text x="${pad.left}" y="${H - 8}" class="tick">${e(utc(t0))}</text>
<text x="${W - pad.right}" y="${H - 8}" class="tick" text-anchor="end">${e(utc(t1))}</text>
</svg>`;
}

function intentRow(i: AuditIntent, index: number): string {
  const atExecution = i.executed?.escalated === true;
  const approvals =
    i.threshold !== undefined && (i.route === "queued" || i.approvals.length > 0)
      ? `<span class="approvals">${i.approvalsCounted ?? i.approvals.length} of ${i.threshold} ${atExecution ? "at execution" : i.cancelled ? "at cancellation" : i.status === "Expired" ? "at expiry" : "now"}</span>` +
        `<div class="small">${i.approvals.length} on-chain${i.signatures.length ? `, ${i.signatures.length} signature${i.signatures.length > 1 ? "s" : ""}` : ""}</div>` +
        (i.approvals.length || i.signatures.length
          ? `<div class="small">${[
              ...i.approvals.map((a) => `${e(short(a.cosigner, 8, 4))} on-chain at ${e(utc(a.time))}`),
              ...i.signatures.map((a) => `${e(short(a.cosigner, 8, 4))} signature, used at ${e(utc(a.time))}`),
            ].join("<br>")}</div>`
          : "")
      : "—";
  const timings: string[] = [];
  if (i.eta !== undefined) timings.push(`eta ${e(utc(i.eta))}`);
  if (i.expiresAt !== undefined && i.route === "queued") timings.push(`expires ${e(utc(i.expiresAt))}`);
  if (i.executed)
    timings.push(
      `executed ${e(utc(i.executed.time))}${i.waitedSeconds !== undefined ? ` (after ${e(duration(i.waitedSeconds))})` : ""}`,
    );
  if (i.cancelled) timings.push(`cancelled ${e(utc(i.cancelled.time))} by ${e(short(i.cancelled.by, 8, 4))}`);
  if (i.replays.length) timings.push(`${i.replays.length} replay(s)`);
  const txs = [
    `<span title="${e(i.submitted.txHash)}">submit ${e(short(i.submitted.txHash))}</span>`,
    ...(i.executed && i.executed.txHash !== i.submitted.txHash
      ? [`<span title="${e(i.executed.txHash)}">execute ${e(short(i.executed.txHash))}</span>`]
      : []),
    ...(i.cancelled ? [`<span title="${e(i.cancelled.txHash)}">cancel ${e(short(i.cancelled.txHash))}</span>`] : []),
  ].join("<br>");
  const rationale =
    i.rationaleText !== undefined
      ? `<span class="rationale-text">${e(i.rationaleText)}</span><div class="small addr">${e(short(i.rationaleHash))}</div>`
      : `<span class="addr" title="text not in the journal">${e(short(i.rationaleHash))}</span>`;
  const route = `${e(i.route)}${i.proposed ? " (proposed)" : ""}${i.denyReason ? `<div class="small">${e(i.denyReason)}</div>` : ""}`;
  const lane =
    i.lane !== undefined ? `<div class="small">lane ${e(short(i.lane, 6, 4))} #${e(i.sequence ?? "")}</div>` : "";
  return `<tr class="intent" data-intent-id="${e(i.intentId)}" data-status="${e(i.status)}" data-agent="${e(i.agent)}" data-amount="${e(i.action.amount ?? "")}">
<td class="num">${index + 1}</td>
<td>${e(utc(i.submitted.time))}<div class="small">block ${i.submitted.block}</div></td>
<td>${i.agentName ? e(i.agentName) : ""} <span class="addr" title="${e(i.agent)}">${e(short(i.agent, 8, 4))}</span>${lane}</td>
<td><span class="badge status" style="background:${STATUS_COLORS[i.status]}">${e(i.status)}</span></td>
<td>${route}</td>
<td class="action">${e(i.action.summary)}</td>
<td class="rationale">${rationale}</td>
<td>${approvals}</td>
<td class="small">${timings.join("<br>") || "—"}</td>
<td class="small addr">${txs}<div title="${e(i.intentId)}">id ${e(short(i.intentId))}</div></td>
</tr>`;
}

function eventRow(ev: AuditEvent): string {
  return `<tr class="event ${e(ev.category)}" data-kind="${e(ev.kind)}" data-category="${e(ev.category)}">
<td>${e(utc(ev.time))}<div class="small">block ${ev.block}</div></td>
<td><span class="badge" style="background:${ev.category === "emergency" ? "#b91c1c" : "#4b5563"}">${e(ev.kind)}</span></td>
<td class="summary">${e(ev.summary)}</td>
<td class="small addr"><span title="${e(ev.txHash)}">${e(short(ev.txHash))}</span></td>
</tr>`;
}

const CSS = `
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; margin: 24px; color: #111827; background: #f9fafb; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px; } h3 { font-size: 16px; margin: 0 0 6px; }
.meta { color: #4b5563; font-size: 13px; }
.meta td { padding: 1px 12px 1px 0; }
.addr { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px; color: #374151; }
.small { font-size: 11px; color: #4b5563; }
table { border-collapse: collapse; background: #fff; }
#totals td, #totals th { border: 1px solid #e5e7eb; padding: 6px 12px; text-align: left; }
#totals td.value { text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
#timeline { width: 100%; font-size: 13px; }
#timeline th { position: sticky; top: 0; background: #f3f4f6; text-align: left; padding: 6px; border-bottom: 2px solid #d1d5db; }
#timeline td { padding: 6px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
#timeline td.action { max-width: 320px; word-break: break-word; }
#timeline td .addr { white-space: nowrap; }
#timeline td.rationale { max-width: 260px; word-break: break-word; }
#events { width: 100%; font-size: 13px; }
#events th { text-align: left; padding: 6px; background: #f3f4f6; border-bottom: 2px solid #d1d5db; }
#events td { padding: 6px; border-bottom: 1px solid #e5e7eb; vertical-align: top; }
#events td.summary { word-break: break-word; }
.num { color: #6b7280; text-align: right; }
.badge { display: inline-block; color: #fff; border-radius: 10px; padding: 1px 8px; font-size: 12px; }
.agents { display: flex; flex-wrap: wrap; gap: 16px; }
.agent { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; padding: 12px 16px; }
.agent ul { margin: 4px 0 8px; padding-left: 18px; font-size: 13px; }
figure { margin: 8px 0; } figcaption { font-size: 12px; color: #374151; }
svg .axis { stroke: #9ca3af; stroke-width: 1; }
svg .grid { stroke: #e5e7eb; stroke-width: 1; }
svg .tick { font-size: 10px; fill: #4b5563; }
svg .legend { font-size: 11px; fill: #374151; }
svg .legend-spend { fill: #2563eb; } svg .legend-cap { fill: #dc2626; }
svg .spend-line { fill: none; stroke: #2563eb; stroke-width: 2; }
svg .spend-area { fill: #2563eb; opacity: 0.12; }
svg .cap-line { fill: none; stroke: #dc2626; stroke-width: 1.5; stroke-dasharray: 6 4; }
svg .cap-label { fill: #dc2626; }
svg .dot { fill: #2563eb; }
.timeline-strip { background: #fff; border: 1px solid #e5e7eb; border-radius: 8px; }
footer { margin-top: 24px; font-size: 12px; color: #6b7280; }
`;

/** The whole page. */
export function renderAuditHtml(report: AuditReport): string {
  const t = report.totals;
  const statusRows = (Object.entries(t.byStatus) as [IntentStatusName, number][])
    .filter(([s, n]) => s !== "None" || n > 0)
    .map(([s, n]) => `<tr><th>${e(s)}</th><td class="value" data-total="${e(s.toLowerCase())}">${n}</td></tr>`)
    .join("");
  const spentRows = t.spent
    .map(
      (s) =>
        `<tr><th>Spent ${e(s.asset.symbol)} (auto + escalated)</th><td class="value" data-total="spent-${e(s.asset.symbol)}">${e(s.formatted)}</td></tr>`,
    )
    .join("");
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Audit trail: module ${e(report.module)} on chain ${e(report.chainId)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1>Agent Treasury Guard: audit trail</h1>
<table class="meta">
<tr><td>Chain</td><td>${e(report.chainId)}</td></tr>
<tr><td>Module</td><td class="addr">${e(report.module)}</td></tr>
${report.safe ? `<tr><td>Safe</td><td class="addr">${e(report.safe)}</td></tr>` : ""}
<tr><td>Blocks</td><td>${report.fromBlock} to ${report.toBlock} (chain time ${e(utc(report.toTime))})</td></tr>
<tr><td>Co-signer threshold</td><td>${report.threshold} at block ${report.toBlock} (each intent shows the threshold that applied to it)</td></tr>
<tr><td>Rationale texts</td><td>${report.journals.length ? `from ${report.journals.length === 1 ? "journal" : `${report.journals.length} journals:`} ${report.journals.map((j) => `<span class="addr">${e(j)}</span>`).join(", ")} (shown only when their hash matches the chain)` : "no journal: hashes only"}</td></tr>
<tr><td>Generated</td><td>${e(report.generatedAt)}</td></tr>
</table>
</header>
<h2>Totals</h2>
<table id="totals">
<tr><th>Intents</th><td class="value" data-total="intents">${t.intents}</td></tr>
${statusRows}
${spentRows}
<tr><th>On-chain approvals</th><td class="value" data-total="approvals">${t.approvals}</td></tr>
<tr><th>Co-signer signatures (with executeQueued)</th><td class="value" data-total="signatures">${t.signatures}</td></tr>
<tr><th>Idempotent replays</th><td class="value" data-total="replays">${t.replays}</td></tr>
<tr><th>Pauses and freezes (and their undoing)</th><td class="value" data-total="emergency">${t.emergencyEvents}</td></tr>
<tr><th>Configuration changes</th><td class="value" data-total="configuration">${t.configurationEvents}</td></tr>
</table>
<h2>Agents</h2>
<div class="agents">
${report.agents.map(agentCard).join("\n")}
</div>
<h2>Timeline</h2>
${timelineStrip(report)}
<table id="timeline">
<thead><tr><th>#</th><th>Submitted</th><th>Agent</th><th>Status</th><th>Route</th><th>Action</th><th>Rationale</th><th>Approvals</th><th>Timings</th><th>Transactions</th></tr></thead>
<tbody>
${report.intents.map(intentRow).join("\n")}
</tbody>
</table>
<h2>Pauses, freezes and configuration</h2>
${
  report.events.length
    ? `<table id="events">
<thead><tr><th>When</th><th>Event</th><th>What</th><th>Transaction</th></tr></thead>
<tbody>
${report.events.map(eventRow).join("\n")}
</tbody>
</table>`
    : `<p id="events-none">None in blocks ${report.fromBlock} to ${report.toBlock}.</p>`
}
<footer>Rebuilt from the module's events and views alone; anyone with an RPC node can regenerate it with <code>npx hardhat treasury:audit --html &lt;file&gt;</code>.</footer>
</body>
</html>
`;
}
