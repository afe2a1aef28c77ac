/**
 * The console's server (node:http, no framework): serves the built page with a strict Content-Security-Policy,
 * follows the chain and pushes the state to the page (Server-Sent Events), stores co-signers' signatures and
 * reviewers' reason texts after checking them, and writes the Safe owners' batch files.
 *
 * The page reads the chain through this server, never directly: the server reads the node of the network it was
 * started for (Hardhat's `--network`), with the same code as `treasury:status` and `treasury:audit`, and the page's
 * CSP allows connections to its own origin only. Writes go the other way, through the browser's wallet. The server
 * holds no key and sends no transaction.
 *
 * Requests are accepted only with this server's own Host (a DNS-rebinding page cannot reach it) and, for POST, from
 * its own origin with a JSON body.
 */
import fs from "fs";
import http from "http";
import path from "path";
import type { AddressInfo } from "net";
import { getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { DeploymentRecord } from "../core/deployment";
import { deploymentsDir as resolveDeploymentsDir } from "../core/deployment";
import { hardhatChain } from "../deploy/hardhatChain";
import { journalDirOf } from "../tasks/lib/context";
import type { AlertView, BatchView, ConsoleState, ErrorBody, OwnersRequest } from "./api";
import { startConsoleWatchtower } from "./alerts";
import { DIST_DIR } from "./build";
import { checkReason, checkSignature } from "./checks";
import { RequestError } from "./errors";
import { batchesDir, writeOwnersBatch } from "./owners";
import type { OwnersAction } from "./owners";
import { readConsoleState } from "./state";
import { ConsoleStore, JsonLinesFile, storeDir } from "./store";

export interface ConsoleServerOptions {
  hre: HardhatRuntimeEnvironment;
  network: string;
  record: DeploymentRecord;
  /** Deployment records, journals, batches and the console's store live here (default: DEPLOYMENTS_DIR or ./deployments). */
  deploymentsDir?: string;
  host: string;
  port: number;
  /** How often the chain is polled for a new block, ms. */
  pollIntervalMs: number;
  log: (line: string) => void;
}

export interface RunningConsole {
  url: string;
  port: number;
  /** The latest state (after the first refresh). */
  state: () => ConsoleState | undefined;
  close: () => Promise<void>;
}

/** Every response carries these. The page loads, and connects to, nothing but this origin. */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
};

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

const MAX_BODY = 1 << 20;

type BatchRecord = BatchView & { t: "batch" };

function send(
  res: http.ServerResponse,
  status: number,
  body: string | Buffer,
  type: string,
  extra: Record<string, string> = {},
): void {
  res.writeHead(status, { ...SECURITY_HEADERS, "content-type": type, "cache-control": "no-store", ...extra });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  send(res, status, JSON.stringify(value), "application/json; charset=utf-8");
}

function sendError(res: http.ServerResponse, error: unknown, log: (line: string) => void): void {
  if (error instanceof RequestError) {
    sendJson(res, error.status, { error: { code: error.code, message: error.message } } satisfies ErrorBody);
    return;
  }
  log(`console: ${(error as Error).stack ?? String(error)}`);
  sendJson(res, 500, { error: { code: "INTERNAL", message: (error as Error).message } } satisfies ErrorBody);
}

async function readJsonBody(req: http.IncomingMessage): Promise<unknown> {
  if (!(req.headers["content-type"] ?? "").startsWith("application/json")) {
    throw new RequestError(415, "INVALID_REQUEST", "Send the request body as application/json.");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY)
      throw new RequestError(413, "INVALID_REQUEST", `The request body is larger than ${MAX_BODY} bytes.`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new RequestError(400, "INVALID_REQUEST", "The request body is not JSON.");
  }
}

/** Starts the server and the chain follower; resolves once it listens and the first state is read. */
export async function startConsoleServer(o: ConsoleServerOptions): Promise<RunningConsole> {
  const { hre, record, log } = o;
  const chain = hardhatChain(hre);
  const provider = hre.ethers.provider;
  const chainId = (await provider.getNetwork()).chainId;
  const deployments = resolveDeploymentsDir(o.deploymentsDir);
  const dir = storeDir(deployments, record);
  const store = new ConsoleStore(dir);
  const batchLog = new JsonLinesFile<BatchRecord>(path.join(dir, "batches.jsonl"), "batch");
  const batches: BatchView[] = batchLog.read().map(({ t: _t, ...b }) => b);

  let state: ConsoleState | undefined;
  const clients = new Set<http.ServerResponse>();
  const broadcast = () => {
    if (!state) return;
    const frame = `event: state\ndata: ${JSON.stringify(state)}\n\n`;
    for (const c of clients) c.write(frame);
  };

  // One refresh at a time; a request for another while one runs makes it run once more afterwards.
  let refreshing: Promise<void> | undefined;
  let again = false;
  let alerts: AlertView[] = [];
  const refresh = (): Promise<void> => {
    if (refreshing) {
      again = true;
      return refreshing;
    }
    refreshing = (async () => {
      do {
        again = false;
        try {
          // The agents' journals, once the first agent has written one.
          const journals = [journalDirOf(deployments, chainId, record.module)].filter((d) => fs.existsSync(d));
          state = await readConsoleState({ chain, network: o.network, record, journals, store, alerts, batches });
        } catch (error) {
          log(`console: reading the chain failed: ${(error as Error).message}`);
          if (state) state = { ...state, error: (error as Error).message.split("\n")[0] };
        }
        broadcast();
      } while (again);
    })().finally(() => (refreshing = undefined));
    return refreshing;
  };

  const tower = await startConsoleWatchtower({
    provider,
    chainId,
    record,
    dir,
    pollIntervalMs: o.pollIntervalMs,
    onAlert: () => void refresh(),
    log,
  });
  alerts = tower.alerts;
  const started = Date.now();
  await refresh();
  if (state) log(`console: read the treasury at block ${state.block} in ${Date.now() - started} ms`);

  // Follow new blocks.
  let lastBlock = state?.block ?? -1;
  let following = true;
  const follow = async () => {
    while (following) {
      await new Promise((r) => setTimeout(r, o.pollIntervalMs));
      if (!following) break;
      try {
        const block = await provider.getBlockNumber();
        if (block !== lastBlock) {
          lastBlock = block;
          await refresh();
        }
      } catch (error) {
        log(`console: cannot read the block number: ${(error as Error).message.split("\n")[0]}`);
      }
    }
  };
  const followed = follow();

  const owners = async (action: OwnersAction): Promise<BatchView> => {
    const batch = await writeOwnersBatch(
      { chain, record, deploymentsDir: o.deploymentsDir, network: o.network },
      action,
    );
    const i = batches.findIndex((b) => b.file === batch.file);
    if (i >= 0) batches.splice(i, 1);
    batches.push(batch);
    batchLog.append({ t: "batch", ...batch });
    await refresh();
    return batch;
  };

  let origin = "";
  const allowedHosts = new Set<string>();
  const server = http.createServer((req, res) => {
    void (async () => {
      try {
        if (!allowedHosts.has(req.headers.host ?? "")) {
          throw new RequestError(421, "WRONG_HOST", `This console answers for ${[...allowedHosts].join(", ")} only.`);
        }
        const url = new URL(req.url ?? "/", origin);
        if (req.method === "POST") {
          const from = req.headers.origin;
          if (from !== undefined && !allowedHosts.has(from.replace(/^https?:\/\//, ""))) {
            throw new RequestError(
              403,
              "WRONG_ORIGIN",
              `Requests from ${from} are refused: use the console's own page.`,
            );
          }
          const body = await readJsonBody(req);
          if (url.pathname === "/api/signatures") {
            const s = await checkSignature(provider, chainId, getAddress(record.module), body);
            const stored = store.addSignature(s);
            if (stored) log(`console: stored ${s.signer}'s signature of ${s.intentId} (era ${s.cosignerEra})`);
            await refresh();
            return sendJson(res, stored ? 201 : 200, { stored });
          }
          if (url.pathname === "/api/reasons") {
            const rationaleOf = (id: string) =>
              state?.queue.find((q) => q.intentId.toLowerCase() === id)?.rationaleHash;
            const r = await checkReason(provider, getAddress(record.module), rationaleOf, body);
            const stored = store.addReason(r);
            await refresh();
            return sendJson(res, stored ? 201 : 200, { stored });
          }
          const ownersMatch = /^\/api\/owners\/(unpause|unfreeze|policy)$/.exec(url.pathname);
          if (ownersMatch) {
            const b = (body ?? {}) as OwnersRequest;
            const kind = ownersMatch[1];
            if (kind === "unfreeze" && typeof b.agent !== "string")
              throw new RequestError(400, "INVALID_REQUEST", "agent: give the agent's name or address.");
            if (kind === "policy" && typeof b.policy !== "string")
              throw new RequestError(400, "INVALID_REQUEST", "policy: give the policy file's JSON text.");
            const action: OwnersAction =
              kind === "unpause"
                ? { kind }
                : kind === "unfreeze"
                  ? { kind, agent: b.agent! }
                  : { kind: "policy", policy: b.policy!, ...(b.policyName ? { policyName: b.policyName } : {}) };
            const batch = await owners(action);
            log(`console: wrote batch ${batch.file} (${batch.title})`);
            return sendJson(res, 201, batch);
          }
          throw new RequestError(404, "NOT_FOUND", `No POST ${url.pathname}.`);
        }
        if (req.method !== "GET" && req.method !== "HEAD")
          throw new RequestError(405, "METHOD_NOT_ALLOWED", `${req.method} is not served.`);
        if (url.pathname === "/api/state") {
          if (!state)
            throw new RequestError(503, "NOT_READY", "The console has not read the chain yet; retry in a moment.");
          return sendJson(res, 200, state);
        }
        if (url.pathname === "/api/events") {
          res.writeHead(200, {
            ...SECURITY_HEADERS,
            "content-type": "text/event-stream; charset=utf-8",
            "cache-control": "no-store",
            connection: "keep-alive",
          });
          res.write("retry: 2000\n\n");
          clients.add(res);
          if (state) res.write(`event: state\ndata: ${JSON.stringify(state)}\n\n`);
          req.on("close", () => clients.delete(res));
          return;
        }
        const batchMatch = /^\/api\/batches\/([\w.-]+\.json)$/.exec(url.pathname);
        if (batchMatch) {
          const file = decodeURIComponent(batchMatch[1]);
          if (!batches.some((b) => b.file === file))
            throw new RequestError(404, "NOT_FOUND", `No batch ${file} was written by this console.`);
          const full = path.join(batchesDir(o.deploymentsDir), file);
          return send(res, 200, fs.readFileSync(full), "application/json; charset=utf-8", {
            "content-disposition": `attachment; filename="${file}"`,
          });
        }
        // The built page: index.html and its assets, nothing outside console/dist.
        const rel = url.pathname === "/" ? "index.html" : url.pathname.slice(1);
        const full = path.resolve(DIST_DIR, rel);
        if (!full.startsWith(DIST_DIR + path.sep) || !fs.existsSync(full) || !fs.statSync(full).isFile()) {
          throw new RequestError(404, "NOT_FOUND", `No ${url.pathname} here.`);
        }
        const type = CONTENT_TYPES[path.extname(full)] ?? "application/octet-stream";
        const cache: Record<string, string> = rel.startsWith("assets/")
          ? { "cache-control": "public, max-age=31536000, immutable" }
          : {};
        return send(res, 200, fs.readFileSync(full), type, cache);
      } catch (error) {
        sendError(res, error, log);
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const hostPart = o.host.includes(":") ? `[${o.host}]` : o.host;
  origin = `http://${hostPart}:${port}`;
  for (const h of [hostPart, "127.0.0.1", "localhost", "[::1]"]) allowedHosts.add(`${h}:${port}`);

  return {
    url: `${origin}/`,
    port,
    state: () => state,
    close: async () => {
      following = false;
      for (const c of clients) c.end();
      clients.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await followed;
      await tower.stop();
      await refreshing;
    },
  };
}
