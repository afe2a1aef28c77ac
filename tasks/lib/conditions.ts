/**
 * What the CLI says about a call with argument conditions (SPEC section 11, v3): the call decoded in words and each
 * of its conditions, met or not, read from the lens at the latest block and checked against the call's own calldata
 * (sdk/callReport.ts). Argument names come from the `--function` given, else from the signature the deployment's
 * policy file names for that call; addresses are named by the deployment record's tokens and local contracts.
 */
import { Contract } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { AgentClient, CallRequest } from "../../sdk";
import { CallConditionsReport, callConditionsReport } from "../../sdk/callReport";
import { callPayload } from "../../sdk/request";
import type { ClientContext } from "./context";

export type { CallConditionsReport };

/** Signatures (with their parameter names) of the deployment's policy file's allowed calls; none when it cannot be read. */
async function policySignatures(ctx: ClientContext): Promise<string[]> {
  if (!ctx.record?.policyFile) return [];
  try {
    const { loadPolicy } = await import("../../core/policy");
    return loadPolicy(ctx.record.policyFile).agents.flatMap((a) => (a.allowedCalls ?? []).map((c) => c.signature));
  } catch {
    // A policy file that moved or no longer parses only costs the argument names.
    return [];
  }
}

/** Names for addresses: the deployment's tokens and its local contracts (the local Uniswap's). */
function addressNames(ctx: ClientContext): Map<string, string> {
  const named = { ...(ctx.record?.contracts ?? {}), ...ctx.tokens };
  return new Map<string, string>(Object.entries(named).map(([name, address]) => [address.toLowerCase(), name]));
}

/**
 * The report for a call of `agent` (its target and calldata), or undefined when the module holds no conditions for it
 * (or the deployment names no lens). `signature`: a signature with parameter names the caller gave (`--function`).
 */
export async function conditionsReportFor(
  hre: HardhatRuntimeEnvironment,
  ctx: ClientContext,
  call: { agent: string; target: string; data: string; signature?: string },
): Promise<CallConditionsReport | undefined> {
  if (!ctx.record?.lens) return undefined;
  const provider = hre.ethers.provider;
  const module = await hre.ethers.getContractAt("IAgentTreasuryModule", ctx.module);
  const names = addressNames(ctx);
  return callConditionsReport({
    lens: await hre.ethers.getContractAt("AgentTreasuryLens", ctx.record.lens),
    module: ctx.module,
    agent: call.agent,
    safe: await module.avatar(),
    target: call.target,
    data: call.data,
    signatures: [...(call.signature ? [call.signature] : []), ...(await policySignatures(ctx))],
    label: (a) => names.get(a.toLowerCase()),
    decimals: async (asset) => {
      try {
        return Number(await new Contract(asset, ["function decimals() view returns (uint8)"], provider).decimals());
      } catch {
        return undefined; // shown in base units
      }
    },
  });
}

/** The report for an `agent:call` request (see {@link conditionsReportFor}). */
export async function callConditionsReportFor(
  hre: HardhatRuntimeEnvironment,
  ctx: ClientContext,
  client: AgentClient,
  request: CallRequest,
): Promise<CallConditionsReport | undefined> {
  const payload = callPayload(request);
  return conditionsReportFor(hre, ctx, { agent: client.agent, target: payload.target, data: payload.data, signature: request.function });
}
