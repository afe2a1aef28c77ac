/**
 * An MCP session for the e2e specs: spawns the server exactly as an MCP client configuration would
 * (`node <repository>/mcp/start.js --agent <name> --network localhost`, from a working directory outside the
 * repository, as Claude Desktop does) and talks to it through the MCP client SDK over stdio.
 * Collects the server's stderr (its log) and every tool result, so a spec can check what the model saw and what the
 * server logged. No tests here.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import os from "os";
import path from "path";
import { ROOT } from "../../testkit/localNode";

/** A tool result as the MCP client receives it. */
export interface ToolCallResult {
  isError: boolean;
  /** The text blocks, joined with newlines. */
  text: string;
  structured?: Record<string, unknown>;
}

/** One JSON line of the server's stderr log. */
export interface ServerLogLine {
  event: string;
  [field: string]: unknown;
}

export interface McpSessionOptions {
  agent: string;
  rpcUrl: string;
  deploymentsDir: string;
  /** Extra server arguments (e.g. --policy). */
  args?: string[];
  /** Extra environment for the server (keys, journal). */
  env?: Record<string, string>;
}

export class McpSession {
  /** Everything the server wrote to stderr. */
  stderr = "";
  /** Every tool result the session received, in order. */
  readonly results: ToolCallResult[] = [];
  /** Transport and protocol errors, e.g. a line on the server's stdout that is not a protocol message. */
  readonly errors: Error[] = [];

  private constructor(
    readonly client: Client,
    readonly transport: StdioClientTransport,
  ) {}

  static async start(o: McpSessionOptions): Promise<McpSession> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [path.join(ROOT, "mcp", "start.js"), "--agent", o.agent, "--network", "localhost", ...(o.args ?? [])],
      cwd: os.tmpdir(),
      env: { RPC_URL: o.rpcUrl, DEPLOYMENTS_DIR: o.deploymentsDir, ...(o.env ?? {}) },
      stderr: "pipe",
    });
    const client = new Client({ name: "atg-e2e", version: "1.0.0" });
    const session = new McpSession(client, transport);
    transport.stderr?.on("data", (d: Buffer) => (session.stderr += d.toString()));
    client.onerror = (error) => session.errors.push(error);
    try {
      await client.connect(transport);
    } catch (error) {
      await transport.close().catch(() => undefined);
      throw new Error(
        `the MCP server did not start: ${(error as Error).message}\n--- server stderr ---\n${session.stderr}`,
      );
    }
    return session;
  }

  /** Calls a tool; `arguments` is sent as is (malformed on purpose in some specs). */
  async call(name: string, args: Record<string, unknown>): Promise<ToolCallResult> {
    const raw = await this.client.callTool({ name, arguments: args });
    const content = (raw.content ?? []) as { type: string; text?: string }[];
    const result: ToolCallResult = {
      isError: raw.isError === true,
      text: content
        .filter((c) => c.type === "text")
        .map((c) => c.text ?? "")
        .join("\n"),
      ...(raw.structuredContent ? { structured: raw.structuredContent as Record<string, unknown> } : {}),
    };
    this.results.push(result);
    return result;
  }

  /** The server's log lines (JSON objects on stderr). */
  log(): ServerLogLine[] {
    return this.stderr
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => {
        try {
          return JSON.parse(l) as ServerLogLine;
        } catch {
          return { event: "unparseable", line: l };
        }
      });
  }

  /** The server process's own pid, from its "ready" log line. */
  serverPid(): number | undefined {
    const ready = this.log().find((l) => l.event === "ready");
    return typeof ready?.pid === "number" ? ready.pid : undefined;
  }

  /** Closes the session (stdin end, then SIGTERM, then SIGKILL) and makes sure the server process is gone. */
  async close(): Promise<void> {
    const pid = this.serverPid();
    await this.client.close().catch(() => undefined);
    if (pid === undefined) return;
    for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
