/**
 * The Safe owners' emergency commands (SPEC section 10, v3): undo a guardian's pause or freeze, or an automatic
 * freeze by strikes. Only the Safe (its owners' multisig) may unpause and unfreeze.
 *
 *   npx hardhat treasury:unpause [--module <address>] [--keystore <file>] --network <n> [--json]
 *   npx hardhat treasury:unfreeze --agent <name or address> [--module <address>] [--keystore <file>] --network <n> [--json]
 *
 * As `treasury:apply` does it (deploy/owners.ts): on the local chain 31337, when the Safe's owners are Hardhat
 * development accounts, their keys sign the Safe transaction and `--keystore` / `DEPLOYER_KEY` (else the first
 * development account) submits it; on a live network nothing is signed: a Safe Transaction Builder batch file is
 * written for the owners, with the next steps. Nothing to do (not paused, not frozen) changes nothing and says so.
 */
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { printFields, printOwnersRun, runTask } from "./lib/output";
import { clientFlags, ClientTaskArgs } from "./lib/context";

interface OwnersArgs extends ClientTaskArgs {
  agent?: string;
}

interface OwnersResult {
  chainId: string;
  safe: string;
  module: string;
  action: "unpause" | "unfreeze";
  /** `local`: signed with the owners' development keys; `live`: a batch file for the owners. */
  mode: "local" | "live";
  /** The module's state after this command (on a live network: unchanged until the owners execute the batch). */
  paused?: boolean;
  agent?: string;
  agentName?: string;
  frozen?: boolean;
  /** True when the module was not paused (the agent not frozen): nothing was sent or written. */
  nothingToDo: boolean;
  applied: string[];
  txHash?: string;
  pending: import("../deploy/owners").OwnerCallView[];
  batchFile?: string;
  nextSteps: string[];
}

/** The module, its Safe and the owners' keys when this process may use them. */
async function ownersContext(hre: HardhatRuntimeEnvironment, args: OwnersArgs) {
  const { clientContext } = await import("./lib/context");
  const { localOwnerKeys } = await import("../deploy/owners");
  const { hardhatChain } = await import("../deploy/hardhatChain");
  const { cliWallets } = await import("./lib/keys");
  const { getAddress } = await import("ethers");
  const ctx = await clientContext(hre, args);
  const module = await hre.ethers.getContractAt("IAgentTreasuryModule", ctx.module);
  const safe = getAddress(await module.avatar());
  const keys = await localOwnerKeys(hardhatChain(hre), safe, cliWallets(hre), { keystore: args.keystore });
  return {
    ctx,
    module,
    safe,
    keys,
    base: {
      chainId: ctx.chainId.toString(),
      safe,
      module: ctx.module,
      mode: keys ? ("local" as const) : ("live" as const),
    },
  };
}

function stderrLog(line: string) {
  process.stderr.write(`${line}\n`);
}

function render(r: OwnersResult, what: string) {
  printFields({
    module: r.module,
    safe: r.safe,
    ...(r.agent ? { agent: r.agentName ? `${r.agentName} (${r.agent})` : r.agent } : {}),
    mode:
      r.mode === "local"
        ? "local (signed with the Safe owners' development keys)"
        : "live (a batch for the Safe owners)",
    ...(r.paused !== undefined ? { paused: r.paused } : {}),
    ...(r.frozen !== undefined ? { frozen: r.frozen } : {}),
    ...(r.txHash ? { txHash: r.txHash } : {}),
  });
  if (r.nothingToDo) {
    process.stdout.write(`\nNothing to do: ${what}.\n`);
    return;
  }
  printOwnersRun(r);
}

clientFlags(
  task(
    "treasury:unpause",
    "The Safe owners lift a pause: signed with their keys on the local chain, a Safe batch file on live networks",
  ),
  "Encrypted JSON keystore of the account that submits the owners' signed transaction (local chain)",
).setAction(async (args: OwnersArgs, hre) => {
  await runTask(
    args.json,
    async (): Promise<OwnersResult> => {
      const { runAsOwners } = await import("../deploy/owners");
      const { hardhatChain } = await import("../deploy/hardhatChain");
      const { ctx, module, safe, keys, base } = await ownersContext(hre, args);
      if (!(await module.paused()))
        return {
          ...base,
          action: "unpause",
          paused: false,
          nothingToDo: true,
          applied: [],
          pending: [],
          nextSteps: [],
        };
      const run = await runAsOwners(hardhatChain(hre), {
        safe,
        keys,
        record: ctx.record,
        deploymentsDir: args.deploymentsDir,
        items: [
          {
            kind: "unpause",
            description: `unpause module ${ctx.module}`,
            loosens: true,
            call: { to: ctx.module, data: module.interface.encodeFunctionData("unpause") },
          },
        ],
        batchName: "Agent Treasury Guard: unpause",
        batchLabel: "unpause",
        then: `Then run npx hardhat treasury:status --network ${hre.network.name}: it should show paused: false.`,
        log: stderrLog,
      });
      const { mode, applied, pending, batchFile, nextSteps, txHashes } = run;
      return {
        ...base,
        action: "unpause",
        mode,
        paused: await module.paused(),
        nothingToDo: false,
        applied,
        pending,
        nextSteps,
        ...(batchFile ? { batchFile } : {}),
        ...(txHashes[0] ? { txHash: txHashes[0] } : {}),
      };
    },
    (r) => render(r, "the module is not paused"),
  );
});

clientFlags(
  task(
    "treasury:unfreeze",
    "The Safe owners unfreeze an agent (and clear its strikes): signed locally, a Safe batch file on live networks",
  ).addParam("agent", "Agent name from the policy, or the agent's address"),
  "Encrypted JSON keystore of the account that submits the owners' signed transaction (local chain)",
).setAction(async (args: OwnersArgs & { agent: string }, hre) => {
  await runTask(
    args.json,
    async (): Promise<OwnersResult> => {
      const { runAsOwners } = await import("../deploy/owners");
      const { hardhatChain } = await import("../deploy/hardhatChain");
      const { resolveAgent, TaskInputError } = await import("./lib/context");
      const { ctx, module, safe, keys, base } = await ownersContext(hre, args);
      const agent = resolveAgent(ctx, args.agent);
      const who = agent.name ? `${agent.name} (${agent.address})` : agent.address;
      if (!(await module.isAgent(agent.address))) {
        throw new TaskInputError(
          `--agent ${args.agent}: ${who} is not an active agent of module ${ctx.module} (removed, rotated out or never added), ` +
            "so there is nothing to unfreeze; an agent is added back with treasury:apply.",
        );
      }
      const named = { agent: agent.address, ...(agent.name ? { agentName: agent.name } : {}) };
      if (!(await module.isFrozen(agent.address))) {
        return {
          ...base,
          action: "unfreeze",
          ...named,
          frozen: false,
          nothingToDo: true,
          applied: [],
          pending: [],
          nextSteps: [],
        };
      }
      const run = await runAsOwners(hardhatChain(hre), {
        safe,
        keys,
        record: ctx.record,
        deploymentsDir: args.deploymentsDir,
        items: [
          {
            kind: "unfreezeAgent",
            description: `unfreeze agent ${who} and clear its strikes`,
            loosens: true,
            call: { to: ctx.module, data: module.interface.encodeFunctionData("unfreezeAgent", [agent.address]) },
          },
        ],
        batchName: `Agent Treasury Guard: unfreeze ${agent.name ?? agent.address}`,
        batchLabel: `unfreeze-${agent.address}`,
        then: `Then run npx hardhat treasury:status --network ${hre.network.name}: ${agent.name ?? agent.address} should show frozen: no.`,
        log: stderrLog,
      });
      const { mode, applied, pending, batchFile, nextSteps, txHashes } = run;
      return {
        ...base,
        action: "unfreeze",
        ...named,
        mode,
        frozen: await module.isFrozen(agent.address),
        nothingToDo: false,
        applied,
        pending,
        nextSteps,
        ...(batchFile ? { batchFile } : {}),
        ...(txHashes[0] ? { txHash: txHashes[0] } : {}),
      };
    },
    (r) => render(r, `agent ${r.agentName ?? r.agent} is not frozen`),
  );
});
