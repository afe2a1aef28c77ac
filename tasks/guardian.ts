/**
 * Guardian tasks: the emergency brake. Thin wrappers over GuardianClient.
 *
 *   npx hardhat guardian:pause [--guardian <address>] [--json]
 *   npx hardhat guardian:freeze --agent <name or address> [--guardian <address>] [--json]
 *
 * A guardian can only restrict: unpausing and unfreezing are the Safe owners', with `treasury:unpause` and
 * `treasury:unfreeze --agent <name>` (tasks/owners.ts). Both commands name them, in text and as `recovery` in JSON.
 */
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { printFields, runTask } from "./lib/output";
import { clientFlags, ClientContext, ClientTaskArgs } from "./lib/context";

/** How the owners' commands act, printed under them. */
const OWNERS_HOW =
  "(On the local chain it signs with the Safe owners' development keys; on a live network it writes a Safe Transaction Builder batch for the owners.)";

interface GuardianArgs extends ClientTaskArgs {
  guardian?: string;
}

async function guardianClient(
  hre: HardhatRuntimeEnvironment,
  args: GuardianArgs,
): Promise<{ ctx: ClientContext; client: import("../sdk").GuardianClient }> {
  const { clientContext, firstAccount, roleSigner } = await import("./lib/context");
  const { GuardianClient } = await import("../sdk");
  const ctx = await clientContext(hre, args);
  const module = await hre.ethers.getContractAt("IAgentTreasuryModule", ctx.module);
  const signer = await roleSigner(hre, "GUARDIAN", {
    keystore: args.keystore,
    expectedAddress: args.guardian,
    // Local chain without a key: the first development account that is a guardian.
    pick: firstAccount((address) => module.isGuardian(address)),
  });
  return { ctx, client: await GuardianClient.connect({ module: ctx.module, signer, pollIntervalMs: 200 }) };
}

clientFlags(
  task(
    "guardian:pause",
    "Pauses the module: no submit, propose or execution until the Safe owners unpause",
  ).addOptionalParam("guardian", "Guardian address (selects the key; on the local chain the development account)"),
).setAction(async (args: GuardianArgs, hre) => {
  await runTask(
    args.json,
    async () => {
      const { recoveryCommand } = await import("../deploy/emergency");
      const { ctx, client } = await guardianClient(hre, args);
      return { module: ctx.module, ...(await client.pause()), recovery: recoveryCommand("unpause", hre.network.name) };
    },
    (r) => {
      printFields({
        module: r.module,
        paused: r.alreadyPaused ? "yes (it already was: nothing was sent)" : r.paused,
        by: r.by,
        txHash: r.txHash,
      });
      process.stdout.write(`\nOnly the Safe owners can unpause: ${r.recovery}\n${OWNERS_HOW}\n`);
    },
  );
});

clientFlags(
  task("guardian:freeze", "Freezes one agent: nothing it signed moves until the Safe owners unfreeze it")
    .addParam("agent", "Agent name from the policy, or the agent's address")
    .addOptionalParam("guardian", "Guardian address (selects the key; on the local chain the development account)"),
).setAction(async (args: GuardianArgs & { agent: string }, hre) => {
  await runTask(
    args.json,
    async () => {
      const { resolveAgent } = await import("./lib/context");
      const { ctx, client } = await guardianClient(hre, args);
      const agent = resolveAgent(ctx, args.agent);
      const { recoveryCommand } = await import("../deploy/emergency");
      const r = await client.freeze(agent.address);
      return {
        module: ctx.module,
        ...(agent.name ? { agentName: agent.name } : {}),
        ...r,
        recovery: recoveryCommand("unfreeze", hre.network.name, agent.name ?? agent.address),
      };
    },
    (r) => {
      printFields({
        agent: "agentName" in r && r.agentName ? `${r.agentName} (${r.agent})` : r.agent,
        frozen: r.alreadyFrozen ? "yes (it already was: nothing was sent)" : r.frozen,
        by: r.by,
        txHash: r.txHash,
      });
      process.stdout.write(`\nOnly the Safe owners can unfreeze: ${r.recovery}\n${OWNERS_HOW}\n`);
    },
  );
});
