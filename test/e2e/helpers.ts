/**
 * End-to-end helpers: a `hardhat node` child process on a free loopback port, the CLI (`hardhat <task>`) as a
 * child process, and independent checks of on-chain state against a policy file. Both children are started as
 * `node <hardhat cli>` rather than through `npx`, so that the pid we hold is the process itself and killing it
 * leaves nothing behind.
 */
import { ChildProcess, spawn } from "child_process";
import fs from "fs";
import net from "net";
import os from "os";
import path from "path";
import { expect } from "chai";
import { Contract, FunctionFragment, JsonRpcProvider, ZeroAddress, getAddress, id, parseUnits } from "ethers";
import { AgentTreasuryLens__factory, IAgentTreasuryModule__factory } from "../../typechain-types";
import { SAFE_ABI } from "../../sdk/safe";
import { encodeFunctionData, type Abi } from "viem";
import type { BatchTransaction } from "../../deploy/batch";
import { predictUniswapAddresses, type UniswapContractName } from "../../deploy/uniswap";

export const ROOT = path.resolve(__dirname, "../..");
const HARDHAT_CLI = require.resolve("hardhat/internal/cli/cli.js", { paths: [ROOT] });

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface LocalNode {
  url: string;
  port: number;
  chainId: bigint;
  provider: JsonRpcProvider;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `hardhat node` on a free loopback port (or on `port`) and waits until its JSON-RPC answers. */
export async function startNode(chainId = 31337, port?: number): Promise<LocalNode> {
  port ??= await freePort();
  const child = spawn(process.execPath, [HARDHAT_CLI, "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    env: { ...process.env, HARDHAT_NODE_CHAIN_ID: String(chainId) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (d: Buffer) => {
    if (output.length < 20_000) output += d.toString();
  });
  child.stderr?.on("data", (d: Buffer) => {
    if (output.length < 20_000) output += d.toString();
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  let answered: bigint | undefined;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      });
      const body = (await response.json()) as { result?: string };
      if (body.result) {
        answered = BigInt(body.result);
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  if (answered === undefined) {
    child.kill("SIGKILL");
    throw new Error(`hardhat node did not answer on ${url}:\n${output}`);
  }
  expect(answered).to.equal(BigInt(chainId));
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 50;
  return {
    url,
    port,
    chainId: answered,
    provider,
    process: child,
    stop: async () => {
      provider.destroy();
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => child.exitCode === null && child.pid && process.kill(child.pid, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Restarts the node as an operator would: stops it by its pid (SIGTERM, waiting for the exit) and starts a fresh
 * `hardhat node` on the same port with the same chain id. The new node has the same chain id and URL but a new
 * genesis block, a new instance id and no state. Returns the new node (its provider is new too).
 */
export async function restartNode(node: LocalNode): Promise<LocalNode> {
  await node.stop();
  return startNode(Number(node.chainId), node.port);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (undefined when it is not JSON). */
  json?: Record<string, unknown>;
  ms: number;
}

export interface CliOptions {
  /** Extra environment; a variable set to undefined is removed. */
  env?: Record<string, string | undefined>;
  /** Kill the process (SIGKILL) as soon as stderr shows a line matching this. */
  killOn?: RegExp;
  /** `--network` to append (default "localhost"); null appends none (the arguments carry their own). */
  network?: string | null;
  /** Replace the environment instead of extending the test process's (RPC_URL still comes from `node`). */
  cleanEnv?: boolean;
}

/** Runs `hardhat <args>` as a child process against `node` and collects its output. */
export async function runCli(node: LocalNode, args: string[], opts: CliOptions = {}): Promise<CliResult & { killed: boolean }> {
  const started = Date.now();
  const network = opts.network === undefined ? ["--network", "localhost"] : opts.network === null ? [] : ["--network", opts.network];
  const base = opts.cleanEnv ? { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "" } : process.env;
  const env: Record<string, string | undefined> = { ...base, RPC_URL: node.url, ...opts.env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [HARDHAT_CLI, ...args, ...network], {
    cwd: ROOT,
    env: env as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  let killed = false;
  child.stdout?.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (opts.killOn && !killed && opts.killOn.test(stderr) && child.pid) {
      killed = true;
      process.kill(child.pid, "SIGKILL");
    }
  });
  const code = await new Promise<number | null>((resolve) => child.on("exit", (c) => resolve(c)));
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(stdout.trim()) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json, killed, ms: Date.now() - started };
}

/** A long-running CLI task (e.g. `treasury:monitor`) as a child process, stopped by its pid. */
export interface CliProcess {
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves when `stream` matches `pattern`; rejects with the output when the process exits first or time runs out. */
  waitFor(stream: "stdout" | "stderr", pattern: RegExp | ((text: string) => boolean), timeoutMs: number): Promise<void>;
  /** Sends `signal` (default SIGTERM) to the process by its pid and waits for its exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `hardhat <args>` against `node` and returns at once (see {@link runCli} for one-shot commands). */
export function startCli(node: LocalNode, args: string[], opts: { env?: Record<string, string> } = {}): CliProcess {
  const child = spawn(process.execPath, [HARDHAT_CLI, ...args, "--network", "localhost"], {
    cwd: ROOT,
    env: { ...process.env, RPC_URL: node.url, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out = { stdout: "", stderr: "" };
  child.stdout?.on("data", (d: Buffer) => (out.stdout += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out.stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    pid: child.pid!,
    stdout: () => out.stdout,
    stderr: () => out.stderr,
    async waitFor(stream, pattern, timeoutMs) {
      const test = typeof pattern === "function" ? pattern : (text: string) => pattern.test(text);
      const deadline = Date.now() + timeoutMs;
      while (!test(out[stream])) {
        if (!running() || Date.now() > deadline) {
          throw new Error(`${running() ? `timed out after ${timeoutMs} ms` : `exited (${child.exitCode ?? child.signalCode})`} waiting for ${pattern} on ${stream}:\n${out.stderr.slice(-3000)}\n${out.stdout.slice(-2000)}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop(signal = "SIGTERM") {
      if (running() && child.pid !== undefined) process.kill(child.pid, signal);
      return exited;
    },
  };
}

const tempDirs: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `atg-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

export function readExample(name = "dao.json"): PolicyJson {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "deploy/examples", name), "utf8")) as PolicyJson;
}

// ---------------------------------------------------------------------------------------------- policy checks

/** The example file's shape, as far as these checks read it. */
export interface PolicyJson {
  safe: { owners: string[]; threshold: number } | string;
  salt: string;
  guardians: string[];
  cosigners: { members: string[]; threshold: number };
  tokens?: Record<string, string>;
  localTokens?: Record<string, { decimals: number; mint?: string; name?: string }>;
  localEth?: string;
  treasuryLimits?: { asset: string; perWindow: string; window: string }[];
  agents: {
    name: string;
    address: string;
    validUntil?: string;
    escalationDelay: string;
    gracePeriod: string;
    maxIntentsPerWindow?: number;
    rateWindow?: string;
    maxStrikes?: number;
    strikeWindow?: string;
    recipientMode: "any" | "allowlist" | "escalate-unknown";
    recipients?: string[];
    limits?: { asset: string; autoPerTx: string; autoPerWindow: string; window: string; escalatedPerTx: string }[];
    allowedCalls?: { target: string; signature: string; conditions?: Record<string, unknown>[] }[];
  }[];
  /** v3: the Safe's allowances and the local Uniswap (deploy/examples/README.md). */
  allowances?: { token: string; spender: string; amount: string }[];
  localUniswap?: { pools: { tokens: string[]; fee: number; liquidity: Record<string, string> }[] };
  [key: string]: unknown;
}

/** Seconds of the simple durations the examples use ("30m", "24h", "7d"): an implementation independent of deploy/units.ts. */
export function seconds(text: string): bigint {
  const m = /^(\d+)([smhdw])$/.exec(text);
  if (!m) throw new Error(`test helper cannot read duration ${text}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return BigInt(Number(m[1]) * unit);
}

const MODES = { any: 0n, allowlist: 1n, "escalate-unknown": 2n };

/**
 * Checks, with plain views, that the module at `module` (on `provider`) holds exactly what `policy` says.
 * `tokens` maps the file's symbols to addresses (from the deployment output).
 */
export async function expectChainMatchesPolicy(
  provider: JsonRpcProvider,
  addresses: { safe: string; module: string; lens: string },
  policy: PolicyJson,
  tokens: Record<string, string>,
) {
  const module = IAgentTreasuryModule__factory.connect(addresses.module, provider);
  const lens = AgentTreasuryLens__factory.connect(addresses.lens, provider);
  const safe = new Contract(addresses.safe, SAFE_ABI, provider);
  const tokenDecimals: Record<string, number> = { ETH: 18 };
  for (const [symbol, address] of Object.entries(tokens)) {
    tokenDecimals[symbol] = Number(await new Contract(address, ["function decimals() view returns (uint8)"], provider).decimals());
  }
  const decimals = (symbol: string) => {
    if (tokenDecimals[symbol] === undefined) throw new Error(`no decimals for ${symbol}`);
    return tokenDecimals[symbol];
  };
  const assetAddress = (symbol: string) => (symbol === "ETH" ? ZeroAddress : getAddress(tokens[symbol]));

  expect(await safe.isModuleEnabled(addresses.module)).to.equal(true);
  expect(getAddress(await module.avatar())).to.equal(getAddress(addresses.safe));
  if (typeof policy.safe === "object") {
    expect(((await safe.getOwners()) as string[]).map(getAddress).sort()).to.deep.equal(policy.safe.owners.map(getAddress).sort());
    expect(await safe.getThreshold()).to.equal(BigInt(policy.safe.threshold));
  }
  expect((await module.cosigners()).map(getAddress).sort()).to.deep.equal(policy.cosigners.members.map(getAddress).sort());
  expect(await module.threshold()).to.equal(BigInt(policy.cosigners.threshold));
  for (const g of policy.guardians) expect(await module.isGuardian(g)).to.equal(true);

  for (const agent of policy.agents) {
    expect(await module.isAgent(agent.address)).to.equal(true, agent.name);
    const c = await module.agentConfig(agent.address);
    const validUntil = !agent.validUntil || agent.validUntil === "never" ? 0n : BigInt(Date.parse(agent.validUntil) / 1000);
    expect(c.validUntil).to.equal(validUntil);
    expect(c.escalationDelay).to.equal(seconds(agent.escalationDelay));
    expect(c.gracePeriod).to.equal(seconds(agent.gracePeriod));
    expect(c.maxIntentsPerWindow).to.equal(BigInt(agent.maxIntentsPerWindow ?? 0));
    expect(c.rateWindow).to.equal(agent.rateWindow ? seconds(agent.rateWindow) : 0n);
    expect(c.maxStrikes).to.equal(BigInt(agent.maxStrikes ?? 0));
    expect(c.strikeWindow).to.equal(agent.strikeWindow ? seconds(agent.strikeWindow) : 0n);
    expect(c.recipientMode).to.equal(MODES[agent.recipientMode]);
    for (const limit of agent.limits ?? []) {
      const d = decimals(limit.asset);
      const l = await module.assetLimit(agent.address, assetAddress(limit.asset));
      expect([l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx]).to.deep.equal([
        parseUnits(limit.autoPerTx, d),
        parseUnits(limit.autoPerWindow, d),
        seconds(limit.window),
        parseUnits(limit.escalatedPerTx, d),
      ]);
    }
    for (const call of agent.allowedCalls ?? []) {
      // v3: a signature may carry parameter names, and a target may be a local Uniswap contract by name.
      const selector = FunctionFragment.from(call.signature).selector;
      const target = call.target.startsWith("0x") || call.target in tokens ? assetAddress(call.target) : predictUniswapAddresses()[call.target as UniswapContractName];
      expect(await lens.isAllowedCall(addresses.module, agent.address, target, selector)).to.equal(true);
      expect(await lens.callConditions(addresses.module, agent.address, target, selector)).to.have.length((call.conditions ?? []).length);
    }
    for (const r of agent.recipients ?? []) expect(await lens.isRecipient(addresses.module, agent.address, r)).to.equal(true);
    // Something the file does not list is not allowed either.
    expect(await lens.isRecipient(addresses.module, agent.address, addresses.lens)).to.equal(false);
  }
  for (const t of policy.treasuryLimits ?? []) {
    const [perWindow, window] = await lens.treasuryLimit(addresses.module, assetAddress(t.asset));
    expect([perWindow, window]).to.deep.equal([parseUnits(t.perWindow, decimals(t.asset)), seconds(t.window)]);
  }
}

/** A comparable picture of a module's configuration (for "live equals local" checks across two modules). */
export async function configSnapshot(
  provider: JsonRpcProvider,
  addresses: { module: string; lens: string },
  policy: PolicyJson,
  tokens: Record<string, string>,
) {
  const module = IAgentTreasuryModule__factory.connect(addresses.module, provider);
  const lens = AgentTreasuryLens__factory.connect(addresses.lens, provider);
  const asset = (symbol: string) => (symbol === "ETH" ? ZeroAddress : getAddress(tokens[symbol]));
  const agents = [];
  for (const agent of policy.agents) {
    const c = await module.agentConfig(agent.address);
    const config = [c.validUntil, c.escalationDelay, c.gracePeriod, c.maxIntentsPerWindow, c.rateWindow, c.maxStrikes, c.strikeWindow, c.recipientMode];
    const limits = [];
    for (const symbol of ["ETH", ...Object.keys(tokens)]) {
      const l = await module.assetLimit(agent.address, asset(symbol));
      limits.push([symbol, l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx]);
    }
    const calls = [];
    for (const c of agent.allowedCalls ?? []) {
      calls.push([c.target, c.signature, await lens.isAllowedCall(addresses.module, agent.address, asset(c.target), id(c.signature).slice(0, 10))]);
    }
    const recipients = [];
    for (const r of agent.recipients ?? []) recipients.push([r, await lens.isRecipient(addresses.module, agent.address, r)]);
    agents.push({ name: agent.name, active: await module.isAgent(agent.address), config, limits, calls, recipients });
  }
  const treasury = [];
  for (const symbol of ["ETH", ...Object.keys(tokens)]) {
    const [perWindow, window] = await lens.treasuryLimit(addresses.module, asset(symbol));
    treasury.push([symbol, perWindow, window]);
  }
  return {
    cosigners: (await module.cosigners()).map(getAddress).sort(),
    threshold: await module.threshold(),
    guardians: await Promise.all(policy.guardians.map((g) => module.isGuardian(g))),
    agents,
    treasury,
  };
}

/** Total transactions in all blocks of the node. */
export async function transactionCount(provider: JsonRpcProvider): Promise<number> {
  const latest = await provider.getBlockNumber();
  let total = 0;
  for (let n = 0; n <= latest; n++) total += (await provider.getBlock(n))!.transactions.length;
  return total;
}

// ---------------------------------------------------------------------------------------------- Transaction Builder

/**
 * The calldata the Safe Transaction Builder encodes for a batch file transaction, done as the app does it and with
 * the library it uses (viem), independently of deploy/batch.ts: raw `data` when present, else `contractMethod` with
 * `contractInputsValues` read by its parseInputValue (JSON for values starting with "[", "true"/"false" for bool,
 * integers from decimal strings).
 */
export function txBuilderCalldata(t: BatchTransaction): string {
  if (t.data) return t.data;
  const m = t.contractMethod!;
  const args = m.inputs.map((input) => {
    const raw = t.contractInputsValues![input.name] ?? "";
    if (raw.charAt(0) === "[") return JSON.parse(raw) as unknown;
    if (input.type === "bool") return raw.toLowerCase() === "true";
    if (/^u?int\d*$/.test(input.type)) return BigInt(raw);
    return raw;
  });
  const abi = [{ ...m, type: "function", stateMutability: m.payable ? "payable" : "nonpayable", outputs: [] }] as unknown as Abi;
  return encodeFunctionData({ abi, functionName: m.name, args });
}
