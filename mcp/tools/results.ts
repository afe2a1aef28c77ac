/**
 * What the model receives: a tool's result as text plus structured JSON, and every failure as one line that says
 * what went wrong and what to do next (one code per kind of mistake).
 */
import { z } from "zod";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import { TreasuryError, decodeError, transportCode } from "../../sdk";
import { ToolArgumentError, ToolBody } from "./context";

export interface ToolResult extends CallToolResult {
  structuredContent?: Record<string, unknown>;
}

/** `McpServer.registerTool` without its generics (see `register`). */
export interface LooseToolServer {
  registerTool(
    name: string,
    config: {
      title: string;
      description: string;
      inputSchema: z.ZodTypeAny;
      outputSchema: z.ZodTypeAny;
      annotations: ToolAnnotations;
    },
    callback: (args: unknown) => Promise<ToolResult>,
  ): unknown;
}

/**
 * The MCP SDK checks tool arguments against the schema before a handler runs and reports a failure as
 * "MCP error -32602: Input validation error: ...". This makes those refusals read like every other malformed
 * request (`INVALID_REQUEST: <what is wrong>. Nothing was signed.`), with the schema's own messages.
 * It wraps the SDK's (private) `validateToolInput`; test/e2e/mcp.spec.ts checks the text the model receives.
 */
export function sameErrorForSchemaRefusals(mcp: McpServer): void {
  const server = mcp as unknown as {
    validateToolInput?: (tool: unknown, args: unknown, name: string) => Promise<unknown>;
  };
  const original = server.validateToolInput?.bind(mcp);
  if (!original) return;
  server.validateToolInput = async (tool, args, name) => {
    try {
      return await original(tool, args, name);
    } catch (err) {
      const schema = (tool as { inputSchema?: z.ZodTypeAny }).inputSchema;
      const parsed = schema?.safeParse(args ?? {});
      const detail =
        parsed && !parsed.success
          ? zodIssuesText(parsed.error)
          : String((err as Error)?.message ?? err).replace(/^MCP error -?\d+: /, "");
      throw new Error(`INVALID_REQUEST: ${detail}. Nothing was signed.`);
    }
  };
}

/** JSON with bigints as decimal strings. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}

/** Runs a tool body; SDK and argument errors become tool errors whose text says what to do next. */
export async function runTool(body: () => Promise<ToolBody>): Promise<ToolResult> {
  try {
    const { text, data } = await body();
    return {
      content: [
        { type: "text", text },
        { type: "text", text: toJson(data) },
      ],
      structuredContent: JSON.parse(toJson(data)) as Record<string, unknown>,
    };
  } catch (err) {
    return toolError(err);
  }
}

/** The argument problems of a zod error, as one sentence. */
export function zodIssuesText(err: z.ZodError): string {
  return err.issues.map((i) => i.message).join("; ");
}

/**
 * A tool error. One code per kind of mistake: every malformed request, whether the MCP SDK's schema check, this
 * file or the client library refused it, reads `INVALID_REQUEST: <what is wrong>. Nothing was signed.` The SDK's
 * typed errors keep their code and their what-to-do-next message. Only a transport failure says to retry.
 */
export function toolError(err: unknown): ToolResult {
  const decoded = decodeError(err);
  let text: string;
  if (decoded instanceof TreasuryError)
    text = `${decoded.code}: ${decoded.message}${decoded.code === "INVALID_REQUEST" ? " Nothing was signed." : ""}`;
  else if (err instanceof ToolArgumentError) text = `${err.code}: ${err.message} Nothing was signed.`;
  else if (err instanceof z.ZodError) text = `INVALID_REQUEST: ${zodIssuesText(err)}. Nothing was signed.`;
  else {
    const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
    // The node did not answer (sdk's TRANSPORT_CODES, on the error or one it wraps).
    text =
      transportCode(err) !== undefined
        ? // The node did not answer: the request's idempotency key makes one retry safe.
          `RPC_UNAVAILABLE: ${message}. Retry the same request (same arguments and idempotencyKey) once: it never pays twice. ` +
          "If it fails again, tell your operator."
        : `INTERNAL_ERROR: ${message}. This is not a decision of the treasury, and repeating the request will not change it: ` +
          "stop and tell your operator.";
  }
  return { content: [{ type: "text", text }], isError: true };
}
