/**
 * What the CLI says about a call with argument conditions (SPEC section 11, v3): the call decoded in words and each
 * of its conditions, met or not, read at the latest block (core/callConditions.ts). Argument names come from the
 * `--function` given, else from the signature the deployment's policy file names for that call.
 */
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { AgentClient, CallRequest } from "../../sdk";
import { callPayload } from "../../sdk/request";
import type { CallConditionsReport } from "../../core/callConditions";
import type { ClientContext } from "./context";

export type { CallConditionsReport };

/**
 * The report for a call of `agent` (its target and calldata), or undefined when the module holds no conditions for it
 * (or the deployment record names no lens). `signature`: a signature with parameter names the caller gave.
 */
export async function conditionsReportFor(
  hre: HardhatRuntimeEnvironment,
  ctx: ClientContext,
  call: { agent: string; target: string; data: string; signature?: string },
): Promise<CallConditionsReport | undefined> {
  if (!ctx.record?.lens) return undefined;
  const { deploymentCallConditions } = await import("../../core/callConditions");
  return deploymentCallConditions(
    hre.ethers.provider,
    { ...ctx.record, module: ctx.module, tokens: { ...ctx.record.tokens, ...ctx.tokens } },
    call,
  );
}

/** The report for an `agent:call` request (see {@link conditionsReportFor}). */
export async function callConditionsReportFor(
  hre: HardhatRuntimeEnvironment,
  ctx: ClientContext,
  client: AgentClient,
  request: CallRequest,
): Promise<CallConditionsReport | undefined> {
  const payload = callPayload(request);
  return conditionsReportFor(hre, ctx, {
    agent: client.agent,
    target: payload.target,
    data: payload.data,
    signature: request.function,
  });
}
