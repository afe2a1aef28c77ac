/**
 * What the agent, intent and guardian tasks share: where the treasury is (the chain's deployment record, or
 * `--module`), agent names from the policy, token symbols, journal files, and which key plays a role.
 *
 * Journals live next to the deployment records by default:
 * `<deployments dir>/journals/<chainId>-<module>/<agent address>.jsonl` (one file per agent key, so co-signers
 * can read every agent's rationale texts from one directory).
 */
import fs from "fs";
import path from "path";
import type { ConfigurableTaskDefinition, HardhatRuntimeEnvironment } from "hardhat/types";
import { Signer, getAddress, isAddress } from "ethers";
import type { DeploymentRecord } from "../../core/deployment";
import type { KeyRole } from "../../core/keys";

/** Flags every client task accepts. */
export interface ClientTaskArgs {
  json: boolean;
  module?: string;
  deploymentsDir?: string;
  keystore?: string;
}

export interface ClientContext {
  chainId: bigint;
  /** The chain's deployment record, when it describes this module. */
  record?: DeploymentRecord;
  module: string;
  /** symbol -> address */
  tokens: Record<string, string>;
  /** agent name -> address */
  agents: Record<string, string>;
  /** Event scans start here (the module's creation block when known). */
  fromBlock: number;
  journalDir: string;
}

/** A task failed because of its arguments; the message says which and what to pass. */
export class TaskInputError extends Error {
  readonly code = "INVALID_REQUEST";
  constructor(message: string) {
    super(message);
    this.name = "TaskInputError";
  }
}

export async function clientContext(hre: HardhatRuntimeEnvironment, args: ClientTaskArgs): Promise<ClientContext> {
  const { readLiveDeployment, tryReadLiveDeployment, deploymentsDir } = await import("../../core/deployment");
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  let record: DeploymentRecord | undefined;
  let module: string;
  if (args.module) {
    if (!isAddress(args.module)) throw new TaskInputError(`--module "${args.module}" is not an address.`);
    module = getAddress(args.module);
    const candidate = await tryReadLiveDeployment(hre.ethers.provider, args.deploymentsDir);
    record = candidate && candidate.module.toLowerCase() === module.toLowerCase() ? candidate : undefined;
  } else {
    // A record of another instance of this chain (a restarted node) stops here with DEPLOYMENT_STALE.
    ({ record } = await readLiveDeployment(hre.ethers.provider, args.deploymentsDir));
    module = getAddress(record.module);
  }
  if ((await hre.ethers.provider.getCode(module)) === "0x") {
    throw Object.assign(
      new Error(
        `No module contract at ${module} on chain ${chainId} (network ${hre.network.name}). Check --network, --module or the deployment record.`,
      ),
      { code: "MODULE_NOT_FOUND" },
    );
  }
  return {
    chainId,
    record,
    module,
    tokens: record?.tokens ?? {},
    agents: record?.agents ?? {},
    fromBlock: record?.moduleBlock ?? 0,
    journalDir: journalDirOf(deploymentsDir(args.deploymentsDir), chainId, module),
  };
}

/** An agent by its policy name or address. */
export function resolveAgent(ctx: ClientContext, nameOrAddress: string): { name?: string; address: string } {
  const byName = Object.entries(ctx.agents).find(([name]) => name.toLowerCase() === nameOrAddress.toLowerCase());
  if (byName) return { name: byName[0], address: getAddress(byName[1]) };
  if (isAddress(nameOrAddress)) {
    const address = getAddress(nameOrAddress);
    const name = Object.entries(ctx.agents).find(([, a]) => a.toLowerCase() === address.toLowerCase())?.[0];
    return name ? { name, address } : { address };
  }
  const known = Object.keys(ctx.agents);
  throw new TaskInputError(
    `Unknown agent "${nameOrAddress}". Use a name from the policy${known.length ? ` (${known.join(", ")})` : ""} or an agent address.`,
  );
}

/** A token symbol from the record, or an address (for `--target`). */
export function resolveTarget(ctx: ClientContext, symbolOrAddress: string): string {
  // v3: a local contract of the deployment (the local Uniswap's SwapRouter02, ...) is named like a token.
  const named = { ...(ctx.record?.contracts ?? {}), ...ctx.tokens };
  const bySymbol = Object.entries(named).find(([s]) => s.toLowerCase() === symbolOrAddress.toLowerCase());
  if (bySymbol) return getAddress(bySymbol[1]);
  if (isAddress(symbolOrAddress)) return getAddress(symbolOrAddress);
  throw new TaskInputError(
    `"${symbolOrAddress}" is neither an address nor a token or contract name of this deployment (${Object.keys(named).join(", ") || "none"}).`,
  );
}

/** The journal file of an agent key. */
export function journalFile(ctx: ClientContext, agent: string, override?: string): string {
  return override ?? path.join(ctx.journalDir, `${agent.toLowerCase()}.jsonl`);
}

/** Every agent journal of this module (read-only use: rationale texts for reviewers). */
export function allJournals(ctx: ClientContext): string[] {
  if (!fs.existsSync(ctx.journalDir)) return [];
  return fs
    .readdirSync(ctx.journalDir)
    .filter((f) => f.endsWith(".jsonl"))
    .map((f) => path.join(ctx.journalDir, f));
}

/** Where the agent journals of `module` on `chainId` live: `<deployments dir>/journals/<chainId>-<module>/`. */
export function journalDirOf(deploymentsDir: string, chainId: bigint | string, module: string): string {
  return path.join(deploymentsDir, "journals", `${chainId.toString()}-${module.toLowerCase()}`);
}

/** A `pick` for {@link roleSigner}: the first development account for which `holds` is true. */
export function firstAccount(
  holds: (address: string) => Promise<boolean>,
): (candidates: string[]) => Promise<string | undefined> {
  return async (candidates) => {
    for (const address of candidates) if (await holds(address)) return address;
    return undefined;
  };
}

/**
 * The key for `role`: `--keystore`, `<ROLE>_KEY`, or (local chain only) the development account at
 * `expectedAddress`. When no address is given on the local chain and no key is configured, `pick` may name the
 * development account that holds the role (e.g. the first co-signer that has not approved yet).
 */
export async function roleSigner(
  hre: HardhatRuntimeEnvironment,
  role: KeyRole,
  opts: { keystore?: string; expectedAddress?: string; pick?: (candidates: string[]) => Promise<string | undefined> },
): Promise<Signer> {
  const { resolveSigner, hasConfiguredKey } = await import("./keys");
  const { hardhatDevWallets, LOCAL_CHAIN_ID } = await import("../../core/keys");
  let expectedAddress = opts.expectedAddress;
  if (!expectedAddress && !opts.keystore && !hasConfiguredKey(role) && opts.pick) {
    const chainId = (await hre.ethers.provider.getNetwork()).chainId;
    if (chainId === LOCAL_CHAIN_ID) expectedAddress = await opts.pick(hardhatDevWallets().map((w) => w.address));
  }
  return resolveSigner(hre, role, { keystore: opts.keystore, expectedAddress });
}

/** Common flags, added to every client task. */
export const COMMON_FLAGS = {
  module: "Module address (default: the chain's deployment record)",
  deploymentsDir: "Directory of deployment records (default: DEPLOYMENTS_DIR or ./deployments)",
  keystore: "Encrypted JSON keystore of the key to use (password: KEYSTORE_PASSWORD or prompt)",
} as const;

/** Ends a signing client task's flags: --module, --deployments-dir, --keystore (described by `keystore`) and --json. */
export function clientFlags(
  t: ConfigurableTaskDefinition,
  keystore: string = COMMON_FLAGS.keystore,
): ConfigurableTaskDefinition {
  return t
    .addOptionalParam("module", COMMON_FLAGS.module)
    .addOptionalParam("deploymentsDir", COMMON_FLAGS.deploymentsDir)
    .addOptionalParam("keystore", keystore)
    .addFlag("json", "Print one JSON object (fields: README-CLI.md)");
}
