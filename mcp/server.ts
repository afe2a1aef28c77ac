/**
 * Agent Treasury Guard as a Model Context Protocol server over stdio, for any LLM agent (Claude Desktop, an
 * OpenAI-compatible agent, LangChain's MCP adapters ...):
 *
 *   node mcp/start.js --agent <name from the policy> [--network localhost] [--policy <file>]   (MCP clients)
 *   npm run -s mcp -- --agent <name from the policy> [...]                                   (a terminal)
 *
 * stdout carries only MCP protocol messages; every log line goes to stderr as one JSON object, among them every
 * tool call with the model's stated reason and its outcome. The agent key is loaded into this process (mcp/config.ts)
 * and never leaves it: no tool returns it and no log line contains it.
 *
 * A plain ts-node script: it reaches the chain by RPC URL with ethers and never loads Hardhat.
 */
// Before anything else: stdout belongs to the protocol. Libraries that print with console.log/info/debug (ethers
// does while it looks for a network) must not corrupt it, so those go to stderr too.
console.log = console.error;
console.info = console.error;
console.debug = console.error;

import path from "path";
import { config as loadDotenv } from "dotenv";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { Transport, TransportSendOptions } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { JSONRPCMessage, MessageExtraInfo } from "@modelcontextprotocol/sdk/types.js";
import { AgentClient } from "../sdk";
import { ConfigError, ServerConfig, loadConfig, parseArgs, redactUrl } from "./config";
import { TreasuryTools } from "./tools";
import { treasuryLens, treasuryModule } from "../sdk/bindings";

export const SERVER_NAME = "agent-treasury-guard";
export const SERVER_VERSION = "0.1.0";

export type LogFields = Record<string, unknown>;
export type Logger = (event: string, fields?: LogFields) => void;

/** One JSON object per line on stderr (bigints as strings). */
export function stderrLogger(stream: NodeJS.WritableStream = process.stderr): Logger {
  return (event, fields = {}) => {
    const line = JSON.stringify({ ts: new Date().toISOString(), event, ...fields }, (_k, v: unknown) =>
      typeof v === "bigint" ? v.toString() : v,
    );
    stream.write(`${line}\n`);
  };
}

interface PendingCall {
  tool: string;
  startedAt: number;
}

/**
 * Wraps a transport to log every `tools/call` request (tool, arguments, the model's stated reason) and its result
 * (status, intent, or the error text), including calls whose arguments the SDK refuses before any handler runs.
 */
export class AuditedTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: <T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void;
  private readonly pending = new Map<string | number, PendingCall>();

  constructor(
    private readonly inner: Transport,
    private readonly log: Logger,
  ) {
    inner.onmessage = (message, extra) => {
      this.audit(message);
      this.onmessage?.(message, extra);
    };
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
  }

  get sessionId(): string | undefined {
    return this.inner.sessionId;
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  async send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    this.auditResult(message);
    return this.inner.send(message, options);
  }

  private audit(message: JSONRPCMessage): void {
    if (!("method" in message) || message.method !== "tools/call" || !("id" in message)) return;
    const params = (message.params ?? {}) as { name?: unknown; arguments?: unknown };
    const tool = typeof params.name === "string" ? params.name : String(params.name);
    const args =
      params.arguments && typeof params.arguments === "object" ? (params.arguments as Record<string, unknown>) : {};
    this.pending.set(message.id, { tool, startedAt: Date.now() });
    this.log("tool_call", {
      id: message.id,
      tool,
      reason: typeof args.reason === "string" ? args.reason : null,
      arguments: params.arguments ?? null,
    });
  }

  private auditResult(message: JSONRPCMessage): void {
    if (!("id" in message) || message.id === undefined || "method" in message) return;
    const call = this.pending.get(message.id as string | number);
    if (!call) return;
    this.pending.delete(message.id as string | number);
    const fields: LogFields = { id: message.id, tool: call.tool, ms: Date.now() - call.startedAt };
    if ("error" in message) {
      this.log("tool_result", { ...fields, isError: true, error: message.error.message });
      return;
    }
    const result = (
      message as {
        result?: {
          isError?: boolean;
          content?: { type: string; text?: string }[];
          structuredContent?: Record<string, unknown>;
        };
      }
    ).result;
    if (result?.isError) {
      this.log("tool_result", {
        ...fields,
        isError: true,
        error: result.content?.find((c) => c.type === "text")?.text ?? "",
      });
      return;
    }
    const s = result?.structuredContent ?? {};
    this.log("tool_result", {
      ...fields,
      isError: false,
      ...(s.status !== undefined ? { status: s.status } : {}),
      ...(s.intentId !== undefined ? { intentId: s.intentId } : {}),
      ...(s.replay !== undefined ? { replay: s.replay } : {}),
      ...(s.txHash !== undefined ? { txHash: s.txHash } : {}),
      ...(s.frozen !== undefined ? { frozen: s.frozen } : {}),
    });
  }
}

export interface RunningServer {
  server: McpServer;
  client: AgentClient;
  config: ServerConfig;
  close(): Promise<void>;
}

/** Connects the agent client (it reconciles its journal with the chain) and logs what the reconciliation found. */
async function connectClient(config: ServerConfig, log: Logger): Promise<AgentClient> {
  const { deployment, provider } = config;
  let client: AgentClient;
  try {
    client = await AgentClient.connect({
      module: deployment.module,
      signer: config.signer,
      ...(config.relayer ? { relayer: config.relayer } : {}),
      journal: config.journalFile,
      tokens: deployment.tokens ?? {},
      fromBlock: deployment.moduleBlock ?? 0,
      lens: deployment.lens,
      pollIntervalMs: config.chainId === 31337n ? 100 : 1000,
      retry: {
        onRetry: (err, attempt, delayMs) =>
          log("rpc_retry", { attempt, delayMs, error: String((err as Error)?.message ?? err).split("\n")[0] }),
      },
    });
  } catch (error) {
    provider.destroy();
    throw error;
  }
  const r = client.recovery;
  if (r.checked > 0) {
    log("journal_recovered", {
      checked: r.checked,
      landed: r.landed.map((x) => ({ intentId: x.intentId, status: x.status })),
      resumed: r.resumed.map((x) => ({ intentId: x.intentId, status: x.status })),
      pending: r.pending.map((x) => ({ intentId: x.intentId, error: x.error?.code })),
    });
  }
  return client;
}

/** Loads the configuration, connects the client (reconciling its journal) and serves the tools over stdio. */
export async function startServer(argv: readonly string[], log: Logger = stderrLogger()): Promise<RunningServer> {
  const args = parseArgs(argv);
  const config = await loadConfig(args);
  const { deployment, provider } = config;
  const client = await connectClient(config, log);
  const moduleContract = treasuryModule(deployment.module, provider);
  const lens = treasuryLens(deployment.lens, provider);
  if (!(await moduleContract.isAgent(client.agent))) {
    log("warning", {
      message: `${client.agent} is not an active agent of module ${deployment.module}: every request will be refused until the owners register it (treasury:apply).`,
    });
  }
  const tools = new TreasuryTools({
    client,
    provider,
    module: moduleContract,
    lens,
    safe: deployment.safe,
    agentName: config.agentName,
    network: config.network,
    tokens: deployment.tokens ?? {},
    contracts: deployment.contracts ?? {},
    policyAgent: config.policyAgent,
  });
  await tools.init();

  const server = new McpServer({ name: SERVER_NAME, version: SERVER_VERSION }, { instructions: tools.instructions });
  tools.register(server);
  await server.connect(new AuditedTransport(new StdioServerTransport(), log));
  log("ready", {
    agent: config.agentName,
    address: client.agent,
    chainId: config.chainId,
    network: config.network,
    rpc: redactUrl(config.rpcUrl),
    module: deployment.module,
    safe: deployment.safe,
    policy: config.policyFile,
    journal: client.journal.file,
    key: config.keySource,
    pid: process.pid,
    ...(config.relayerSource ? { relayer: config.relayerSource } : {}),
  });

  let closed = false;
  return {
    server,
    client,
    config,
    async close() {
      if (closed) return;
      closed = true;
      await server.close().catch(() => undefined);
      client.close();
      provider.destroy();
    },
  };
}

/** The server process: loads .env, starts the server, and stops it when stdin closes or on SIGINT/SIGTERM. */
export async function main(): Promise<void> {
  // .env in the project root, as the CLI reads it (variables already set win); quiet: stdout is the protocol's.
  loadDotenv({ path: process.env.DOTENV_CONFIG_PATH ?? path.join(__dirname, "..", ".env"), quiet: true });
  const log = stderrLogger();
  let running: RunningServer | undefined;
  const stop = async (why: string) => {
    log("stopping", { why });
    await running?.close();
    process.exit(0);
  };
  // The client closes stdin when it is done with us; a supervisor may signal instead.
  process.stdin.on("end", () => void stop("stdin closed"));
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));
  // A stray rejection (a dropped RPC connection in a background poll) is logged; tool calls report their own errors.
  process.on("unhandledRejection", (reason) =>
    log("unhandled_rejection", { message: String((reason as Error)?.message ?? reason).split("\n")[0] }),
  );
  try {
    running = await startServer(process.argv.slice(2), log);
  } catch (error) {
    const e = error as Error & { code?: string };
    if (e instanceof ConfigError && e.code === "USAGE") process.stderr.write(`${e.message}\n`);
    else log("startup_failed", { code: e.code ?? e.name, message: e.message });
    const help = process.argv.includes("--help") || process.argv.includes("-h");
    process.exit(e instanceof ConfigError && e.code === "USAGE" ? (help ? 0 : 2) : 1);
  }
}

if (require.main === module) void main();
