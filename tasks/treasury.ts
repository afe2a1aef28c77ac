/**
 * Treasury tasks: deploy a policy file, plan and apply later changes, show the status.
 *
 *   npx hardhat treasury:deploy --policy deploy/examples/dao.json --network localhost [--json]
 *   npx hardhat treasury:plan   --policy deploy/examples/dao.json --network localhost [--json]
 *   npx hardhat treasury:apply  --policy deploy/examples/dao.json --network localhost [--json]
 *   npx hardhat treasury:status [--policy <file>] [--module <address>] --network localhost [--json]
 *
 * Tasks are thin: they parse flags, call deploy/*, and print a table or one JSON object. Heavy modules are
 * imported inside the actions so that loading Hardhat stays fast for every other command.
 */
import { task, types } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { printFields, printOwnersRun, printTable, runTask } from "./lib/output";

interface CommonArgs {
  json: boolean;
  module?: string;
  deploymentsDir?: string;
}

interface PolicyArgs extends CommonArgs {
  policy: string;
  keystore?: string;
}

/**
 * Where the treasury is: the deployment record of this chain, or `--module` (Safe read from the module). A record
 * of another instance of this chain (a restarted node), or whose contracts are not here, stops the task with
 * DEPLOYMENT_STALE: deploy again.
 */
async function resolveTarget(hre: HardhatRuntimeEnvironment, args: CommonArgs) {
  const { readLiveDeployment, tryReadLiveDeployment } = await import("../core/deployment");
  const { predictContract } = await import("../deploy/create2");
  const { getAddress } = await import("ethers");
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  if (!args.module) {
    const { record } = await readLiveDeployment(hre.ethers.provider, args.deploymentsDir);
    return {
      record,
      target: {
        safe: record.safe,
        module: record.module,
        lens: record.lens,
        moduleBlock: record.moduleBlock,
        tokens: record.tokens,
        salt: record.salt,
        localPriceFeeds: record.localPriceFeeds,
      },
    };
  }
  const module = getAddress(args.module);
  if ((await hre.ethers.provider.getCode(module)) === "0x") {
    throw Object.assign(
      new Error(`No contract at --module ${module} on chain ${chainId}: check the address and --network.`),
      {
        code: "MODULE_NOT_FOUND",
      },
    );
  }
  const contract = await hre.ethers.getContractAt("IAgentTreasuryModule", module);
  const safe = getAddress(await contract.avatar());
  const record = await tryReadLiveDeployment(hre.ethers.provider, args.deploymentsDir);
  const sameModule = record && record.module.toLowerCase() === module.toLowerCase();
  const lens = record?.lens ?? (await predictContract(hre.artifacts, "AgentTreasuryLens"));
  return {
    record: sameModule ? record : undefined,
    target: {
      safe,
      module,
      lens,
      moduleBlock: sameModule ? record?.moduleBlock : undefined,
      tokens: record?.tokens,
      salt: sameModule ? record?.salt : undefined,
      localPriceFeeds: sameModule ? record?.localPriceFeeds : undefined,
    },
  };
}

function stderrLog(line: string) {
  process.stderr.write(`${line}\n`);
}

/** Agent names by lower-case address: the deployment record's, then the policy file's. */
function agentNames(
  record: { agents?: Record<string, string> } | undefined,
  policy?: { agents: { name: string; address: string }[] },
): Record<string, string> {
  const names: Record<string, string> = {};
  for (const [name, address] of Object.entries(record?.agents ?? {})) names[address.toLowerCase()] = name;
  for (const agent of policy?.agents ?? []) names[agent.address.toLowerCase()] = agent.name;
  return names;
}

/** A pause or frozen agents, each with the owners' command that undoes it (see deploy/emergency.ts emergencyLines). */
function printEmergency(lines: string[]) {
  if (lines.length > 0)
    process.stdout.write(
      `\nStopped (treasury:apply does not change this):\n${lines.map((l) => `- ${l}`).join("\n")}\n`,
    );
}

task(
  "treasury:deploy",
  "Deploys a policy file: Safe (local chain), module, configuration (or a Safe batch file on live networks)",
)
  .addParam("policy", "Policy file (JSON), see deploy/examples/README.md")
  .addOptionalParam("keystore", "Encrypted JSON keystore of the deployer (password: KEYSTORE_PASSWORD or prompt)")
  .addOptionalParam("deploymentsDir", "Directory of deployment records (default: DEPLOYMENTS_DIR or ./deployments)")
  .addFlag("verify", "Verify the implementation, factory and lens on the block explorer (live networks)")
  .addFlag("quiet", "No progress lines on stderr")
  .addFlag("json", "Print one JSON object")
  .setAction(async (args: PolicyArgs & { verify: boolean; quiet: boolean }, hre) => {
    await runTask(
      args.json,
      async () => {
        const { deployFromPolicy } = await import("../deploy/pipeline");
        const { cliWallets } = await import("./lib/keys");
        return deployFromPolicy(hre, args.policy, {
          keys: cliWallets(hre),
          json: args.json,
          log: args.quiet ? () => {} : stderrLog,
          deploymentsDir: args.deploymentsDir,
          keystore: args.keystore,
          verify: args.verify,
        });
      },
      (r) => {
        printFields({
          chainId: r.chainId,
          network: r.network,
          mode: r.mode,
          safe: r.safe,
          module: r.module,
          implementation: r.implementation,
          factory: r.factory,
          lens: r.lens,
          record: r.deploymentFile,
        });
        if (r.changed.length > 0)
          printTable(
            "Changed by this run",
            ["#", "change"],
            r.changed.map((c, i) => [i + 1, c]),
          );
        // Without --quiet the progress log (stderr) has already said so.
        else if (args.quiet && !r.batchFile)
          process.stdout.write("\nNothing to do: the chain already matches the policy.\n");
        if (r.batchFile) {
          printTable(
            "Waiting for the Safe owners",
            ["#", "loosens", "change"],
            r.pending.map((p, i) => [i + 1, p.loosens ? "yes" : "", p.description]),
          );
          process.stdout.write(
            `\nBatch file: ${r.batchFile}\nNext steps:\n${r.nextSteps.map((s, i) => `  ${i + 1}. ${s}`).join("\n")}\n`,
          );
        }
      },
    );
  });

task("treasury:plan", "Shows the difference between a policy file and the chain (loosening and tightening apart)")
  .addParam("policy", "Policy file (JSON)")
  .addOptionalParam("module", "Module address (default: the deployment record of this network)")
  .addOptionalParam("deploymentsDir", "Directory of deployment records")
  .addFlag("json", "Print one JSON object")
  .setAction(async (args: PolicyArgs, hre) => {
    let stopped: string[] = [];
    await runTask(
      args.json,
      async () => {
        const { loadPolicy } = await import("../core/policy");
        const { checkPolicyMatchesTarget } = await import("../core/policyDiff");
        const { planPolicy } = await import("../deploy/plan");
        const { readEmergency, emergencyLines } = await import("../deploy/emergency");
        const { hardhatChain } = await import("../deploy/hardhatChain");
        const chain = hardhatChain(hre);
        const policy = loadPolicy(args.policy);
        const { record, target } = await resolveTarget(hre, args);
        checkPolicyMatchesTarget(policy, target);
        const items = await planPolicy(chain, policy, target);
        const view = items.map((i) => ({
          kind: i.kind,
          description: i.description,
          loosens: i.loosens,
          agent: i.agent,
          to: i.call.to,
          data: i.call.data,
        }));
        // A pause or a freeze is not configuration (treasury:apply leaves it alone) but the treasury is not as the file
        // describes it: shown apart, with the owners' command that undoes it.
        const emergency = await readEmergency(chain, target, { names: agentNames(record, policy) });
        stopped = emergencyLines(emergency);
        return {
          chainId: (await hre.ethers.provider.getNetwork()).chainId.toString(),
          safe: target.safe,
          module: target.module,
          items: view,
          loosening: view.filter((i) => i.loosens).map((i) => i.description),
          tightening: view.filter((i) => !i.loosens).map((i) => i.description),
          emergency,
          configurationUpToDate: items.length === 0,
          upToDate: items.length === 0 && !emergency.paused && emergency.frozen.length === 0,
        };
      },
      (r) => {
        printFields({ safe: r.safe, module: r.module });
        printEmergency(stopped);
        if (r.upToDate) {
          process.stdout.write("\nUp to date: the chain matches the policy file.\n");
          return;
        }
        if (r.configurationUpToDate) {
          process.stdout.write(
            "\nThe configuration matches the policy file, but the treasury is not up to date: it is stopped as shown above.\n",
          );
          return;
        }
        printTable(
          "Loosening (more can move, or with fewer checks): review carefully",
          ["#", "change"],
          r.loosening.map((d, i) => [i + 1, d]),
        );
        printTable(
          "Tightening",
          ["#", "change"],
          r.tightening.map((d, i) => [i + 1, d]),
        );
        process.stdout.write(`\n${r.items.length} change(s). Apply with treasury:apply --policy <file>.\n`);
      },
    );
  });

task(
  "treasury:apply",
  "Applies a policy file: executes the plan on the local chain, or writes a Safe batch file on live networks",
)
  .addParam("policy", "Policy file (JSON)")
  .addOptionalParam("module", "Module address (default: the deployment record of this network)")
  .addOptionalParam("keystore", "Encrypted JSON keystore of the submitter (local chain)")
  .addOptionalParam("deploymentsDir", "Directory of deployment records")
  .addFlag("json", "Print one JSON object")
  .setAction(async (args: PolicyArgs, hre) => {
    await runTask(
      args.json,
      async () => {
        const path = await import("path");
        const { loadPolicy } = await import("../core/policy");
        const { checkPolicyMatchesTarget } = await import("../core/policyDiff");
        const { planPolicy, resolveForDeployment } = await import("../deploy/plan");
        const { localOwnerKeys, runAsOwners } = await import("../deploy/owners");
        const { writeDeployment } = await import("../core/deployment");
        const { hardhatChain } = await import("../deploy/hardhatChain");
        const { cliWallets } = await import("./lib/keys");
        const chain = hardhatChain(hre);
        const provider = chain.provider;
        const chainId = (await provider.getNetwork()).chainId;
        const policy = loadPolicy(args.policy);
        const { record, target } = await resolveTarget(hre, args);
        checkPolicyMatchesTarget(policy, target);
        const resolved = await resolveForDeployment(provider, policy, target, args.policy);
        const items = await planPolicy(chain, resolved, target);
        const view = (list: typeof items) =>
          list.map((i) => ({
            kind: i.kind,
            description: i.description,
            loosens: i.loosens,
            to: i.call.to,
            data: i.call.data,
          }));
        // As treasury:deploy decides it: the owners' development keys sign ("local") only for a Safe the pipeline
        // created on the local chain (deploy/owners.ts); anywhere else the owners get a Transaction Builder file ("live").
        const keys =
          typeof policy.safe === "object"
            ? await localOwnerKeys(chain, target.safe, cliWallets(hre), { keystore: args.keystore })
            : undefined;
        const local = keys !== undefined;
        const result = {
          chainId: chainId.toString(),
          safe: target.safe,
          module: target.module,
          mode: (local ? "local" : "live") as "local" | "live",
          applied: [] as string[],
          pending: view(items),
          batchFile: undefined as string | undefined,
          nextSteps: [] as string[],
          /** The deployment record, when it now names this policy file (the watchtower and the MCP server read it). */
          recordedPolicy: undefined as string | undefined,
        };
        // The chain matches this file (now, or after applying it locally): the record names it from now on.
        const recordPolicy = () => {
          if (!record) return undefined;
          const file = path.resolve(args.policy);
          if (record.policyFile !== file) writeDeployment({ ...record, policyFile: file }, args.deploymentsDir);
          return file;
        };
        if (items.length === 0) return { ...result, pending: [], recordedPolicy: recordPolicy() };
        const run = await runAsOwners(chain, {
          safe: target.safe,
          items,
          keys,
          record,
          deploymentsDir: args.deploymentsDir,
          batchName: `Agent Treasury Guard: ${path.basename(args.policy)}`,
          then: `Then run treasury:apply --policy ${args.policy} again: it should find nothing to do, and records the file in the deployment record.`,
          log: stderrLog,
        });
        if (run.mode === "local") {
          const after = await planPolicy(chain, resolved, target);
          return {
            ...result,
            mode: "local" as const,
            applied: run.applied,
            pending: view(after),
            recordedPolicy: after.length === 0 ? recordPolicy() : undefined,
          };
        }
        return { ...result, batchFile: run.batchFile, nextSteps: run.nextSteps };
      },
      (r) => {
        printFields({ safe: r.safe, module: r.module, mode: r.mode, "recorded policy": r.recordedPolicy });
        if (r.applied.length === 0 && r.pending.length === 0) {
          process.stdout.write("\nNothing to do: the chain already matches the policy.\n");
          return;
        }
        printOwnersRun(r);
      },
    );
  });

task("treasury:status", "Shows the Safe's balances, each agent's limits and allowance, pause state and queued intents")
  .addOptionalParam("policy", "Policy file (for agent names and token symbols)", undefined, types.string)
  .addOptionalParam("module", "Module address (default: the deployment record of this network)")
  .addOptionalParam("deploymentsDir", "Directory of deployment records")
  .addFlag("json", "Print one JSON object")
  .setAction(async (args: CommonArgs & { policy?: string }, hre) => {
    let stopped: string[] = [];
    await runTask(
      args.json,
      async () => {
        const { readStatus } = await import("../deploy/status");
        const { emergencyLines } = await import("../deploy/emergency");
        const { hardhatChain } = await import("../deploy/hardhatChain");
        const { loadPolicy } = await import("../core/policy");
        const { record, target } = await resolveTarget(hre, args);
        const names = agentNames(record, args.policy ? loadPolicy(args.policy) : undefined);
        const tokens = { ...(target.tokens ?? {}) };
        const assets: Record<string, { address: string; symbol: string; decimals: number }> = {};
        for (const [symbol, address] of Object.entries(tokens)) {
          const token = await hre.ethers.getContractAt(["function decimals() view returns (uint8)"], address);
          try {
            assets[address.toLowerCase()] = { address, symbol, decimals: Number(await token.decimals()) };
          } catch {
            // Not readable: the status shows base units for it.
          }
        }
        const status = await readStatus(hardhatChain(hre), target, { names, assets });
        stopped = emergencyLines(status.emergency);
        return status;
      },
      (s) => {
        printFields({
          chainId: s.chainId,
          safe: s.safe,
          module: s.module,
          target:
            s.target !== undefined
              ? `${s.target} (a modifier: the module's calls reach the Safe through it)`
              : undefined,
          "module enabled": s.moduleEnabled,
          paused: s.paused,
          "chain time": s.at,
        });
        printEmergency(stopped);
        printTable(
          "Safe balances",
          ["asset", "amount"],
          s.balances.map((b) => [b.symbol, b.amount]),
        );
        process.stdout.write(
          `\nCo-signers: ${s.cosigners.threshold} of ${s.cosigners.members.length}: ${s.cosigners.members.join(", ") || "(none)"}\n`,
        );
        process.stdout.write(`Guardians: ${s.guardians.join(", ") || "(none)"}\n`);
        printTable(
          "Agents",
          ["agent", "address", "frozen", "strikes", "recipients", "delay", "grace", "valid until"],
          s.agents.map((a) => [
            a.name ?? "",
            a.address,
            a.frozen ? "FROZEN" : "no",
            `${a.strikes}/${a.maxStrikes || "-"}`,
            a.recipientMode,
            a.escalationDelay,
            a.gracePeriod,
            a.validUntil,
          ]),
        );
        printTable(
          "Limits (auto tier: per tx / per window; available now; hard cap with co-signers)",
          ["agent", "asset", "per tx", "per window", "window", "available", "hard cap"],
          s.agents.flatMap((a) => [
            ...a.limits.map((l) => [
              a.name ?? a.address,
              l.symbol,
              l.autoPerTx,
              l.autoPerWindow,
              l.window,
              l.available,
              l.escalatedPerTx,
            ]),
            // v3: the USD limit across every asset, beside the per-asset ones.
            ...(a.usdLimit
              ? [
                  [
                    a.name ?? a.address,
                    "USD (all assets)",
                    `$${a.usdLimit.autoPerTx}`,
                    `$${a.usdLimit.autoPerWindow}`,
                    a.usdLimit.window,
                    `$${a.usdLimit.available}`,
                    `$${a.usdLimit.escalatedPerTx}`,
                  ],
                ]
              : []),
          ]),
        );
        printTable(
          "Price feeds (USD limits value every spend with them)",
          ["asset", "feed", "max age", "price", "updated", "trusted"],
          s.priceFeeds.map((f) => [
            f.symbol,
            f.feed,
            f.maxAge,
            f.price !== undefined ? `$${f.price}` : "-",
            f.age !== undefined ? `${f.age} ago` : "-",
            f.trusted ? "yes" : `NO: ${f.fault} (USD-limited payments wait for co-signers)`,
          ]),
        );
        printTable(
          "Treasury-wide limits",
          ["asset", "per window", "window", "spent in window"],
          s.treasuryLimits.map((t) => [t.symbol, t.perWindow, t.window, t.spentInWindow]),
        );
        printTable(
          "Queued intents",
          ["intent", "agent", "action", "review", "eta", "expires", "approvals", "ready"],
          s.queued.map((q) => [
            `${q.intentId.slice(0, 10)}…`,
            q.agentName ?? q.agent,
            q.action,
            q.review ? "requested" : "",
            q.eta,
            q.expiresAt,
            `${q.approvals}/${q.threshold}`,
            q.ready ? "yes" : "no",
          ]),
        );
      },
    );
  });
