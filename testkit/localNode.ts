/**
 * A `hardhat node` child process on a free loopback port, and the CLI (`hardhat <task>`) as a child process, for
 * the end-to-end tests (test/e2e/) and the deployment benchmark (scripts/bench/). Both children are started as
 * `node <hardhat cli>` rather than through `npx`, so that the pid we hold is the process itself and killing it
 * leaves nothing behind.
 */
import { ChildProcess, spawn } from "child_process";
import net from "net";
import path from "path";
import { JsonRpcProvider } from "ethers";

/** The repository root. */
export const ROOT = path.resolve(__dirname, "..");
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
  if (answered !== BigInt(chainId)) {
    child.kill("SIGKILL");
    throw new Error(
      `hardhat node on ${url} reports chain ${answered}, not ${chainId}: is HARDHAT_NODE_CHAIN_ID read by hardhat.config.ts?`,
    );
  }
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
export async function runCli(
  node: LocalNode,
  args: string[],
  opts: CliOptions = {},
): Promise<CliResult & { killed: boolean }> {
  const started = Date.now();
  const network =
    opts.network === undefined ? ["--network", "localhost"] : opts.network === null ? [] : ["--network", opts.network];
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
          throw new Error(
            `${running() ? `timed out after ${timeoutMs} ms` : `exited (${child.exitCode ?? child.signalCode})`} waiting for ${pattern} on ${stream}:\n${out.stderr.slice(-3000)}\n${out.stdout.slice(-2000)}`,
          );
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
