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
 *
 * Nothing in this file imports "hardhat": the server runs as a plain ts-node script (ethers + typechain + sdk).
 */
import fs from "fs";
import os from "os";
import path from "path";
import { BaseWallet, FetchRequest, HDNodeWallet, JsonRpcProvider, Network, Wallet, getAddress } from "ethers";
import { DeploymentRecord, deploymentFile, deploymentsDir, readDeployment } from "../deploy/deployment";
import { Policy, PolicyAgent, loadPolicy } from "../deploy/policy";

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
  if (!out.agent) throw new ConfigError("USAGE", `--agent <name> is required: the agent's name in the policy file.\n\n${USAGE}`);
  return { network: "localhost", ...out, agent: out.agent };
}

// ---------------------------------------------------------------------------------------------- chain

export const LOCAL_CHAIN_ID = 31337n;
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
    throw new ConfigError("USAGE", `No RPC URL for network "${args.network}": pass --rpc-url <url>, or set RPC_URL or ${variable}.`);
  }
  return url;
}

/**
 * Connects to `url` and returns a provider pinned to the chain it reports. The chain id is probed once with a
 * timeout, so a wrong URL fails at start with a clear message instead of ethers' endless retry loop.
 */
export async function connectRpc(url: string, timeoutMs = 10_000): Promise<{ provider: JsonRpcProvider; chainId: bigint }> {
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
  const provider = new JsonRpcProvider(url, network, { staticNetwork: network, pollingInterval: 1000, cacheTimeout: -1 });
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

/** Hardhat's well-known development mnemonic: every key derived from it is public. */
const HARDHAT_DEV_MNEMONIC = "test test test test test test test test test test test junk";
let devWallets: HDNodeWallet[] | undefined;

/** Hardhat's 20 default development accounts (public keys: chain 31337 only). */
export function hardhatDevWallets(): HDNodeWallet[] {
  if (!devWallets) {
    const root = HDNodeWallet.fromPhrase(HARDHAT_DEV_MNEMONIC, "", "m/44'/60'/0'/0");
    devWallets = Array.from({ length: 20 }, (_, i) => root.deriveChild(i));
  }
  return devWallets;
}

function isDevKey(privateKey: string): boolean {
  const k = privateKey.toLowerCase();
  return hardhatDevWallets().some((w) => w.privateKey.toLowerCase() === k);
}

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
    const parsed = JSON.parse(fs.readFileSync(hardhatVarsFile(env), "utf8")) as { vars?: Record<string, { value?: string }> };
    const value = parsed.vars?.[name]?.value;
    return value === undefined || value === "" ? undefined : value;
  } catch {
    return undefined; // no vars file: no variable
  }
}

function walletFromPrivateKey(value: string, source: string): Wallet {
  const hex = value.trim().startsWith("0x") ? value.trim() : `0x${value.trim()}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    throw new ConfigError("KEY_INVALID", `${source} is not a private key (32 bytes of hex). Its value is not shown.`);
  }
  return new Wallet(hex);
}

export interface KeyResolution {
  wallet: BaseWallet;
  /** Where the key came from (never the key). */
  source: string;
}

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

/**
 * Resolves a role's key (see the file header for the sources and their order). Returns undefined only for an
 * optional role (RELAYER) with no key; throws {@link ConfigError} otherwise.
 */
export async function resolveKey(opts: KeyOptions): Promise<KeyResolution | undefined> {
  const env = opts.env ?? process.env;
  const variable = `${opts.role}_KEY`;
  const keystore = opts.keystore ?? env[`${opts.role}_KEYSTORE`];
  let wallet: BaseWallet | undefined;
  let source = "";
  if (keystore) {
    source = `keystore ${keystore}`;
    let json: string;
    try {
      json = fs.readFileSync(keystore, "utf8");
    } catch (error) {
      throw new ConfigError("KEYSTORE_UNREADABLE", `Cannot read keystore ${keystore}: ${(error as Error).message}`);
    }
    const password = env.KEYSTORE_PASSWORD;
    if (password === undefined) {
      throw new ConfigError(
        "KEYSTORE_UNREADABLE",
        `Keystore ${keystore} needs its password in KEYSTORE_PASSWORD (the MCP server cannot prompt: stdin carries the protocol).`,
      );
    }
    try {
      wallet = await Wallet.fromEncryptedJson(json, password);
    } catch (error) {
      throw new ConfigError(
        "KEYSTORE_UNREADABLE",
        `Cannot decrypt keystore ${keystore} (${(error as Error).message.split("(")[0].trim()}): check the file and KEYSTORE_PASSWORD.`,
      );
    }
  } else if (env[variable]) {
    source = `environment variable ${variable}`;
    wallet = walletFromPrivateKey(env[variable]!, source);
  } else {
    const value = hardhatVar(variable, env);
    if (value !== undefined) {
      source = `Hardhat configuration variable ${variable}`;
      wallet = walletFromPrivateKey(value, source);
    }
  }
  if (opts.scrub ?? env === process.env) {
    // The key stays in the wallet object only: nothing spawned later, and no crash dump of the environment, sees it.
    delete env[variable];
    delete env[`HARDHAT_VAR_${variable}`];
  }

  if (wallet && isDevKey(wallet.privateKey) && opts.chainId !== LOCAL_CHAIN_ID) {
    throw new ConfigError(
      "KEY_DEV_REFUSED",
      `The ${opts.role.toLowerCase()} key from ${source} is one of Hardhat's public development keys; they are refused on ` +
        `chain ${opts.chainId} (allowed only on 31337). Use your own key.`,
    );
  }
  if (!wallet) {
    if (opts.role === "RELAYER") return undefined;
    const dev =
      opts.chainId === LOCAL_CHAIN_ID && opts.expectedAddress
        ? hardhatDevWallets().find((w) => w.address === getAddress(opts.expectedAddress!))
        : undefined;
    if (!dev) {
      throw new ConfigError(
        "KEY_MISSING",
        `No ${opts.role.toLowerCase()} key for chain ${opts.chainId}${opts.expectedAddress ? ` (address ${getAddress(opts.expectedAddress)})` : ""}: ` +
          `set ${variable} in the server's environment, \`npx hardhat vars set ${variable}\`, or pass --keystore <file> ` +
          "with KEYSTORE_PASSWORD.",
      );
    }
    wallet = new Wallet(dev.privateKey);
    source = "the Hardhat development accounts (chain 31337)";
  }
  if (opts.expectedAddress && getAddress(opts.expectedAddress) !== wallet.address) {
    throw new ConfigError(
      "KEY_MISMATCH",
      `The ${opts.role.toLowerCase()} key from ${source} is for ${wallet.address}, but the policy names ` +
        `${getAddress(opts.expectedAddress)}: use that account's key.`,
    );
  }
  return { wallet, source };
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
  const agent = policy.agents.find((a) => a.name === name) ?? policy.agents.find((a) => a.name.toLowerCase() === name.toLowerCase());
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
    const key = (await resolveKey({ role: "AGENT", chainId, keystore: args.keystore, expectedAddress: agentAddress, env }))!;
    const relayerKey = await resolveKey({ role: "RELAYER", chainId, env });
    if (env === process.env) delete env.KEYSTORE_PASSWORD;
    // The CLI's layout (tasks/lib/context.ts), so co-signers' `intent:show` finds the model's reasons too.
    const journalFile =
      args.journal ??
      env.AGENT_JOURNAL ??
      path.join(deploymentsDir(deployments), "journals", `${chainId}-${deployment.module.toLowerCase()}`, `${agentAddress.toLowerCase()}.jsonl`);
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
