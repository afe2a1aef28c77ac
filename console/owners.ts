/**
 * What only the Safe's owners may do, prepared by the console as a Safe Transaction Builder batch to download:
 * unpause, unfreeze an agent, or change the policy. The batch is written exactly as `treasury:unpause`,
 * `treasury:unfreeze` and `treasury:apply` write theirs on a live network (deploy/owners.ts runAsOwners, with no
 * keys: the console never signs as an owner, not even with the development keys of chain 31337), into
 * `<deployments dir>/batches/`. The owners import it in the Safe app, check each call against the list, sign and
 * execute.
 */
import fs from "fs";
import path from "path";
import { getAddress, isAddress } from "ethers";
import type { ChainContext } from "../core/chainContext";
import type { DeploymentRecord } from "../core/deployment";
import { deploymentsDir as resolveDeploymentsDir } from "../core/deployment";
import { OwnerItem, runAsOwners } from "../deploy/owners";
import { checkPolicyMatchesTarget } from "../core/policyDiff";
import { planPolicy, resolveForDeployment } from "../deploy/plan";
import { parsePolicy } from "../core/policy";
import type { BatchView } from "./api";
import { RequestError } from "./errors";
import { treasuryModule } from "../sdk/bindings";

export type OwnersAction =
  { kind: "unpause" } | { kind: "unfreeze"; agent: string } | { kind: "policy"; policy: string; policyName?: string };

export interface OwnersContext {
  chain: ChainContext;
  record: DeploymentRecord;
  deploymentsDir?: string;
  network: string;
}

/** The folder batch files are written to (and the only one `/api/batches/` serves from). */
export function batchesDir(deploymentsDir?: string): string {
  return path.join(resolveDeploymentsDir(deploymentsDir), "batches");
}

/** Builds the calls for `action`, writes the batch, and describes it. Throws {@link RequestError} when there is nothing to do. */
export async function writeOwnersBatch(ctx: OwnersContext, action: OwnersAction): Promise<BatchView> {
  const { chain, record } = ctx;
  const module = treasuryModule(record.module, chain.provider);
  const moduleAddress = getAddress(record.module);
  let items: OwnerItem[];
  let title: string;
  let label: string;
  let then: string;
  if (action.kind === "unpause") {
    if (!(await module.paused()))
      throw new RequestError(409, "NOTHING_TO_DO", "The module is not paused: there is nothing to unpause.");
    items = [
      {
        kind: "unpause",
        description: `unpause module ${moduleAddress}`,
        loosens: true,
        call: { to: moduleAddress, data: module.interface.encodeFunctionData("unpause") },
      },
    ];
    title = "Agent Treasury Guard: unpause";
    label = "unpause";
    then = "Then the console's overview shows the module running.";
  } else if (action.kind === "unfreeze") {
    const named = Object.entries(record.agents ?? {}).find(([name]) => name === action.agent);
    const address = named ? getAddress(named[1]) : isAddress(action.agent) ? getAddress(action.agent) : undefined;
    if (!address)
      throw new RequestError(
        400,
        "INVALID_REQUEST",
        `agent "${action.agent}" is neither an agent name of this deployment nor an address.`,
      );
    if (!(await module.isFrozen(address)))
      throw new RequestError(
        409,
        "NOTHING_TO_DO",
        `Agent ${action.agent} is not frozen: there is nothing to unfreeze.`,
      );
    const who = named ? `${named[0]} (${address})` : address;
    items = [
      {
        kind: "unfreezeAgent",
        description: `unfreeze agent ${who} and clear its strikes`,
        loosens: true,
        call: { to: moduleAddress, data: module.interface.encodeFunctionData("unfreezeAgent", [address]) },
      },
    ];
    title = `Agent Treasury Guard: unfreeze ${named ? named[0] : address}`;
    label = `unfreeze-${address}`;
    then = `Then the console's overview shows ${named ? named[0] : address} active.`;
  } else {
    let input: unknown;
    try {
      input = JSON.parse(action.policy);
    } catch (error) {
      throw new RequestError(400, "INVALID_POLICY", `policy: the file is not JSON (${(error as Error).message}).`);
    }
    const name = action.policyName?.replace(/[^\w.-]/g, "_") || "policy.json";
    let policy;
    try {
      policy = parsePolicy(input, name);
      checkPolicyMatchesTarget(policy, record);
    } catch (error) {
      throw new RequestError(400, "INVALID_POLICY", (error as Error).message);
    }
    const resolved = await resolveForDeployment(chain.provider, policy, record, name);
    items = await planPolicy(chain, resolved, record);
    if (items.length === 0)
      throw new RequestError(409, "NOTHING_TO_DO", `The chain already matches ${name}: there is nothing to change.`);
    title = `Agent Treasury Guard: ${name}`;
    label = "policy";
    then = `Then run treasury:plan --policy ${name} --network ${ctx.network}: it should show nothing to do.`;
  }
  const run = await runAsOwners(chain, {
    safe: record.safe,
    items,
    record,
    deploymentsDir: ctx.deploymentsDir,
    batchName: title,
    batchLabel: label,
    then,
  });
  if (!run.batchFile)
    throw new Error("runAsOwners wrote no batch file without owner keys: deploy/owners.ts changed its contract.");
  return {
    file: path.basename(run.batchFile),
    title,
    items: items.map((i) => ({ description: i.description, loosens: i.loosens })),
    nextSteps: run.nextSteps,
    createdAt: Math.floor(fs.statSync(run.batchFile).mtimeMs / 1000),
  };
}
