/**
 * The treasury as MCP tools, for an LLM agent. Each tool wraps the client library (sdk/AgentClient), which signs
 * with the agent key held by this process, journals every intent with the model's stated reason (its keccak256 is
 * the intent's on-chain `rationale`), and settles it from the chain.
 *
 * The model never sees the key, and nothing here can loosen the fence: limits, allowlists, co-signing, strikes and
 * freezing are enforced by the module on chain. These tools only explain the rules to the model up front, submit
 * what it asks, and tell it plainly what happened and what it may do next.
 *
 * The tools are a table ({@link TOOLS}), one file per group: read-tools.ts (treasury_balance, treasury_limits,
 * intent_status), request-tools.ts (treasury_pay, treasury_call, treasury_propose, treasury_dry_run) and
 * batch-tools.ts (treasury_pay_many).
 */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { Rules, ToolBody, ToolContext, ToolDefinition, ToolEnv, describeRules, readRules } from "./context";
import { READ_TOOLS, balance, limits, status } from "./read-tools";
import { REQUEST_TOOLS, SpendingTool, dryRun, submit } from "./request-tools";
import { BATCH_TOOLS, payMany } from "./batch-tools";
import { PreparedRequest, prepareRequest } from "./requests";
import { LooseToolServer, ToolResult, runTool, sameErrorForSchemaRefusals } from "./results";
import type { DryRunInput, PayManyInput, RequestInput } from "./schemas";

export { ToolArgumentError, describeRules, formatDuration, readRules } from "./context";
export type { AssetRule, Rules, ToolBody, ToolContext, ToolDefinition, ToolEnv } from "./context";
export { explainDenial } from "./messages";
export { requestKey } from "./requests";
export { toolError, zodIssuesText } from "./results";
export type { ToolResult } from "./results";
export type { OutcomeOutput, PayManyOutput } from "./schemas";
export { BATCH_TOOL } from "./batch-tools";

/** Every tool the server offers, in the order it registers them. */
export const TOOLS: readonly ToolDefinition[] = [...READ_TOOLS, ...REQUEST_TOOLS, ...BATCH_TOOLS];

export class TreasuryTools {
  rules!: Rules;
  instructions = "";

  constructor(readonly ctx: ToolContext) {}

  /** Reads the rules from the chain. Call before `register`. */
  async init(): Promise<void> {
    this.rules = await readRules(this.ctx);
    this.instructions = describeRules(this.ctx, this.rules);
  }

  /** Registers every tool of {@link TOOLS}; their descriptions carry the rules read by `init`. */
  register(mcp: McpServer): void {
    sameErrorForSchemaRefusals(mcp);
    // Registered through a plain signature: the SDK's generic registerTool (zod 3 and 4 at once) makes the type
    // checker explode on these schemas. The SDK still validates arguments with them; handlers parse again for types.
    const server = mcp as unknown as LooseToolServer;
    for (const tool of TOOLS) {
      const { name, title, inputSchema, outputSchema, annotations } = tool;
      server.registerTool(
        name,
        { title, description: tool.description(this.instructions), inputSchema, outputSchema, annotations },
        (raw) => this.run(() => tool.handler(this.env, raw)),
      );
    }
  }

  /** Runs a tool body; SDK and argument errors become tool errors whose text says what to do next. */
  run(body: () => Promise<ToolBody>): Promise<ToolResult> {
    return runTool(body);
  }

  balance() {
    return balance(this.env);
  }

  limits(assetRef?: string) {
    return limits(this.env, assetRef);
  }

  status(intentId: string) {
    return status(this.env, intentId);
  }

  /** Turns tool arguments into the client's request, checking what the schema cannot. Signs nothing. */
  prepare(tool: string, args: RequestInput): Promise<PreparedRequest> {
    return prepareRequest(this.ctx.client, tool, args, this.ctx.contracts);
  }

  submit(tool: SpendingTool, kind: "submit" | "propose", args: RequestInput) {
    return submit(this.env, tool, kind, args);
  }

  /** treasury_dry_run: what submitting the request would do now, from the chain's state; signs and sends nothing. */
  dryRun(args: DryRunInput) {
    return dryRun(this.env, args);
  }

  /** treasury_pay_many: the payments in one transaction, or (dryRun) what each would do now. */
  payMany(args: PayManyInput) {
    return payMany(this.env, args);
  }

  private get env(): ToolEnv {
    return { ctx: this.ctx, rules: this.rules };
  }
}
