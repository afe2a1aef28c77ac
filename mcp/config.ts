/**
 * Configuration of the MCP server: command-line flags, the chain (by RPC URL, never through Hardhat), the
 * deployment record of that chain, the policy file and the agent chosen from it by name, and the agent's key.
 *
 * The key lives only in this process. It comes, in this order, from an encrypted JSON keystore (`--keystore` or
 * `AGENT_KEYSTORE`, password from `KEYSTORE_PASSWORD`: stdin carries the protocol, so there is no prompt), the
 * environment variable `AGENT_KEY`, or the Hardhat configuration variable `AGENT_KEY` (`npx hardhat vars set
 * AGENT_KEY`, read from Hardhat's vars file without loading Hardhat). On the local chain 31337 only, a missing key
 * defaults to the Hardhat development account whose address the policy names; Hardhat's public development keys
 * are refused on every other chain. The key must belong to the policy's agent address. It is never printed,
 * logged or returned by a tool, and the variables that carried it are removed from the environment once read.
 * The loader is the CLI's (core/keys.ts); this file gives it the server's sources.
 *
 * Nothing in this file imports "hardhat": the server runs as a plain ts-node script (ethers + typechain + sdk).
 */
import fs from "fs";
import os from "os";
import path from "path";
import { BaseWallet, FetchRequest, JsonRpcProvider, Network, getAddress } from "ethers";
import {
  KeyError,
  KeyRequest,
  KeyResolution,
  KeySources,
  VariableReader,
  environmentVariables,
  findKey,
  firstVariable,
  keystorePassword,
  resolveKey as resolveSharedKey,
} from "../core/keys";
import { DeploymentRecord, deploymentFile, deploymentsDir, readDeployment } from "../core/deployment";
import { Policy, PolicyAgent, loadPolicy } from "../core/policy";

/** The server cannot start. The message says what to change; it never contains key material. */
export class ConfigError extends Error {
  constructor(
    readonly code:
      | "USAGE"
      | "RPC_UNREACHABLE"
      | "POLICY_MISSING"
      | "AGENT_UNKNOWN"
      | "DEPLOYMENT_MISMATCH"
      | "KEY_MISSING"
      | "KEY_INVALID"
      | "KEY_DEV_REFUSED"
      | "KEY_MISMATCH"
      | "KEYSTORE_UNREADABLE",
    message: string,
  ) {
    super(message);
    this.name = "ConfigError";
  }
}

export const USAGE = `Usage: node mcp/start.js --agent <name> [--network <name>] [--policy <file>] [--rpc-url <url>]
                          [--keystore <file>] [--journal <file>] [--deployments <dir>]
   or: npm run -s mcp -- --agent <name> ...   (in a terminal at the repository)

  --agent <name>       the agent, by its name in the policy file (required)
  --network <name>     localhost (default: RPC_URL or http://127.0.0.1:8545) or a live network whose RPC URL is
                       in --rpc-url, RPC_URL or <NETWORK>_RPC_URL (e.g. SEPOLIA_RPC_URL)
  --policy <file>      the policy file (default: the one recorded by treasury:deploy for this chain)
  --rpc-url <url>      JSON-RPC endpoint (overrides RPC_URL and the network's default)
  --keystore <file>    encrypted JSON keystore of the agent key (or AGENT_KEYSTORE); password in KEYSTORE_PASSWORD
  --journal <file>     the client's write-ahead journal (default, as the CLI's: <deployments>/journals/<chainId>-<module>/
                       <agent address>.jsonl; or AGENT_JOURNAL). One process per journal.
  --deployments <dir>  deployment records (default DEPLOYMENTS_DIR, else the repository's deployments/)

The agent key comes from the keystore, AGENT_KEY (environment) or the Hardhat configuration variable AGENT_KEY.
On chain 31337 a missing key defaults to the Hardhat development account the policy names.
stdout carries only MCP protocol messages; logs go to stderr.`;

export interface ServerArgs {
  agent: string;
  network: string;
  policy?: string;
  rpcUrl?: string;
  keystore?: string;
  journal?: string;
  deployments?: string;
}

const FLAGS: Record<string, keyof ServerArgs> = {
  "--agent": "agent",
  "--network": "network",
  "--policy": "policy",
  "--rpc-url": "rpcUrl",
  "--keystore": "keystore",
  "--journal": "journal",
  "--deployments": "deployments",
};

/** Parses `--flag value` and `--flag=value`. Throws {@link ConfigError} `USAGE` for anything else. */
export function parseArgs(argv: readonly string[]): ServerArgs {
  const out: Partial<ServerArgs> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--help" || arg === "-h") throw new ConfigError("USAGE", USAGE);
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const field = FLAGS[flag];
    if (!field) throw new ConfigError("USAGE", `Unknown argument "${arg}".\n\n${USAGE}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("--"))) {
      throw new ConfigError("USAGE", `${flag} needs a value.\n\n${USAGE}`);
    }
    out[field] = value;
  }
  if (!out.agent)
    throw new ConfigError("USAGE", `--agent <name> is required: the agent's name in the policy file.\n\n${USAGE}`);
  return { network: "localhost", ...out, agent: out.agent };
}

// ---------------------------------------------------------------------------------------------- chain

const DEFAULT_LOCAL_RPC = "http://127.0.0.1:8545";

/** The RPC URL for a network name: --rpc-url, RPC_URL, `<NETWORK>_RPC_URL` (env or Hardhat variable), localhost's default. */
export function rpcUrlFor(args: ServerArgs, env: NodeJS.ProcessEnv = process.env): string {
  if (args.rpcUrl) return args.rpcUrl;
  if (env.RPC_URL) return env.RPC_URL;
  if (args.network === "localhost") return DEFAULT_LOCAL_RPC;
  if (args.network === "hardhat") {
    throw new ConfigError(
      "USAGE",
      'The in-process "hardhat" network exists only inside one Hardhat command. Start `npx hardhat node` and use ' +
        "--network localhost (or pass --rpc-url).",
    );
  }
  const variable = `${args.network.toUpperCase().replace(/[^A-Z0-9]/g, "_")}_RPC_URL`;
  const url = env[variable] || hardhatVar(variable, env);
  if (!url) {
    throw new ConfigError(
      "USAGE",
      `No RPC URL for network "${args.network}": pass --rpc-url <url>, or set RPC_URL or ${variable}.`,
    );
  }
  return url;
}

/**
 * Connects to `url` and returns a provider pinned to the chain it reports. The chain id is probed once with a
 * timeout, so a wrong URL fails at start with a clear message instead of ethers' endless retry loop.
 */
export async function connectRpc(
  url: string,
  timeoutMs = 10_000,
): Promise<{ provider: JsonRpcProvider; chainId: bigint }> {
  const request = new FetchRequest(url);
  request.timeout = timeoutMs;
  request.body = { jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] };
  request.setHeader("content-type", "application/json");
  let chainId: bigint;
  try {
    const response = await request.send();
    response.assertOk();
    const body = response.bodyJson as { result?: string; error?: { message?: string } };
    if (typeof body.result !== "string") throw new Error(body.error?.message ?? "no chain id in the answer");
    chainId = BigInt(body.result);
  } catch (error) {
    throw new ConfigError(
      "RPC_UNREACHABLE",
      `Cannot reach the JSON-RPC node at ${redactUrl(url)} (${(error as Error).message.split("\n")[0]}). Start the node ` +
        "(`npx hardhat node` for localhost) or pass the right --rpc-url.",
    );
  }
  const network = Network.from(chainId);
  // No response cache: ethers' default (250 ms) answers a second `eth_getTransactionCount(pending)` from cache, so
  // back-to-back payments would reuse the key's account nonce.
  const provider = new JsonRpcProvider(url, network, {
    staticNetwork: network,
    pollingInterval: 1000,
    cacheTimeout: -1,
  });
  return { provider, chainId };
}

/** A URL without credentials or API-key-looking path segments, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    const segments = u.pathname.split("/").map((s) => (s.length >= 20 ? "…" : s));
    u.pathname = segments.join("/");
    u.search = "";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

// ---------------------------------------------------------------------------------------------- keys

/** Hardhat's vars file (`npx hardhat vars path`), located as Hardhat's env-paths does, without loading Hardhat. */
export function hardhatVarsFile(env: NodeJS.ProcessEnv = process.env): string {
  const home = os.homedir();
  if (process.platform === "darwin") return path.join(home, "Library", "Preferences", "hardhat-nodejs", "vars.json");
  if (process.platform === "win32") {
    return path.join(env.APPDATA || path.join(home, "AppData", "Roaming"), "hardhat-nodejs", "Config", "vars.json");
  }
  return path.join(env.XDG_CONFIG_HOME || path.join(home, ".config"), "hardhat-nodejs", "vars.json");
}

/** A Hardhat configuration variable: `HARDHAT_VAR_<NAME>` in the environment, else the vars file. */
export function hardhatVar(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env[`HARDHAT_VAR_${name}`];
  if (fromEnv) return fromEnv;
  try {
    const parsed = JSON.parse(fs.readFileSync(hardhatVarsFile(env), "utf8")) as {
      vars?: Record<string, { value?: string }>;
    };
    const value = parsed.vars?.[name]?.value;
    return value === undefined || value === "" ? undefined : value;
  } catch {
    return undefined; // no vars file: no variable
  }
}

export type { KeyResolution };

export interface KeyOptions {
  role: "AGENT" | "RELAYER";
  chainId: bigint;
  keystore?: string;
  /** The address the key must have; on chain 31337 also selects the development account when no key is given. */
  expectedAddress?: string;
  env?: NodeJS.ProcessEnv;
  /** Remove the variables that carried the key from `env` once read (default true for process.env). */
  scrub?: boolean;
}

/** The server's key sources: `env`, then Hardhat's variables (read without Hardhat); the password only from `env`. */
function serverKeySources(env: NodeJS.ProcessEnv): KeySources {
  const hardhatVariables: VariableReader = (name) => {
    const value = hardhatVar(name, env);
    return value === undefined ? undefined : { value, source: `Hardhat configuration variable ${name}` };
  };
  return {
    variables: firstVariable(environmentVariables(env), hardhatVariables),
    password: keystorePassword(env.KEYSTORE_PASSWORD, {
      noPrompt: "the MCP server cannot prompt: stdin carries the protocol",
    }),
  };
}

/**
 * Resolves a role's key with the shared loader (core/keys.ts; sources and order in the file header, the keystore
 * also from `<ROLE>_KEYSTORE`). Returns undefined only for an optional role (RELAYER) with no key; throws
 * {@link ConfigError} with the loader's code otherwise.
 */
export async function resolveKey(opts: KeyOptions): Promise<KeyResolution | undefined> {
  const env = opts.env ?? process.env;
  const variable = `${opts.role}_KEY`;
  const request: KeyRequest = {
    role: opts.role,
    chainId: opts.chainId,
    keystore: opts.keystore ?? env[`${opts.role}_KEYSTORE`],
    expectedAddress: opts.expectedAddress,
    expectedBy: "the policy names",
  };
  try {
    const sources = serverKeySources(env);
    return opts.role === "RELAYER" ? await findKey(request, sources) : await resolveSharedKey(request, sources);
  } catch (error) {
    if (error instanceof KeyError) throw new ConfigError(error.code, error.message);
    throw error;
  } finally {
    if (opts.scrub ?? env === process.env) {
      // The key stays in the wallet object only: nothing spawned later, and no crash dump of the environment, sees it.
      delete env[variable];
      delete env[`HARDHAT_VAR_${variable}`];
    }
  }
}

// ---------------------------------------------------------------------------------------------- the whole configuration

export interface ServerConfig {
  agentName: string;
  /** The agent as the policy describes it (human units). */
  policyAgent: PolicyAgent;
  policy: Policy;
  policyFile: string;
  agentAddress: string;
  network: string;
  rpcUrl: string;
  chainId: bigint;
  provider: JsonRpcProvider;
  deployment: DeploymentRecord;
  journalFile: string;
  /** Signs intents; connected to `provider`. */
  signer: BaseWallet;
  keySource: string;
  /** Pays gas instead of the agent key, when RELAYER_KEY (or RELAYER_KEYSTORE) is set. */
  relayer?: BaseWallet;
  relayerSource?: string;
}

/** Finds an agent by name: exact match, else case-insensitive. */
export function selectAgent(policy: Policy, name: string, file: string): PolicyAgent {
  const agent =
    policy.agents.find((a) => a.name === name) ??
    policy.agents.find((a) => a.name.toLowerCase() === name.toLowerCase());
  if (!agent) {
    const names = policy.agents.map((a) => a.name);
    throw new ConfigError(
      "AGENT_UNKNOWN",
      `No agent named "${name}" in ${file}. ${names.length ? `Its agents: ${names.join(", ")}.` : "It lists no agents."}`,
    );
  }
  return agent;
}

/**
 * Builds the whole configuration: the chain from the RPC URL, the deployment record of its chain id, the policy
 * (flag, else the record's), the agent by name, and its key. Throws {@link ConfigError} (or the policy's
 * PolicyError / the record's DeploymentNotFoundError, whose messages name the fix).
 */
export async function loadConfig(args: ServerArgs, env: NodeJS.ProcessEnv = process.env): Promise<ServerConfig> {
  const rpcUrl = rpcUrlFor(args, env);
  const { provider, chainId } = await connectRpc(rpcUrl);
  try {
    const deployments = args.deployments ?? env.DEPLOYMENTS_DIR;
    const deployment = readDeployment(chainId, deployments);
    const policyFile = args.policy ?? deployment.policyFile;
    if (!policyFile) {
      throw new ConfigError(
        "POLICY_MISSING",
        `The deployment record ${deploymentFile(chainId, deployments)} names no policy file: pass --policy <file>.`,
      );
    }
    const policy = loadPolicy(policyFile);
    const policyAgent = selectAgent(policy, args.agent, policyFile);
    const agentAddress = getAddress(policyAgent.address);
    const recorded = deployment.agents?.[policyAgent.name];
    if (recorded && getAddress(recorded) !== agentAddress) {
      throw new ConfigError(
        "DEPLOYMENT_MISMATCH",
        `Agent "${policyAgent.name}" is ${agentAddress} in ${policyFile} but ${getAddress(recorded)} in the deployment record of ` +
          `chain ${chainId}: apply the policy (treasury:apply) or pass the policy file that was deployed.`,
      );
    }
    const key = (await resolveKey({
      role: "AGENT",
      chainId,
      keystore: args.keystore,
      expectedAddress: agentAddress,
      env,
    }))!;
    const relayerKey = await resolveKey({ role: "RELAYER", chainId, env });
    if (env === process.env) delete env.KEYSTORE_PASSWORD;
    // The CLI's layout (tasks/lib/context.ts), so co-signers' `intent:show` finds the model's reasons too.
    const journalFile =
      args.journal ??
      env.AGENT_JOURNAL ??
      path.join(
        deploymentsDir(deployments),
        "journals",
        `${chainId}-${deployment.module.toLowerCase()}`,
        `${agentAddress.toLowerCase()}.jsonl`,
      );
    return {
      agentName: policyAgent.name,
      policyAgent,
      policy,
      policyFile,
      agentAddress,
      network: args.network,
      rpcUrl,
      chainId,
      provider,
      deployment,
      journalFile,
      signer: key.wallet.connect(provider),
      keySource: key.source,
      ...(relayerKey ? { relayer: relayerKey.wallet.connect(provider), relayerSource: relayerKey.source } : {}),
    };
  } catch (error) {
    provider.destroy();
    throw error;
  }
}
