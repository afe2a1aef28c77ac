/**
 * `npm run console [-- --port 8600 --network localhost]`: the operator console (SPEC section 10) for co-signers,
 * guardians and the Safe owners, a web page on http://127.0.0.1:<port>/ that acts through the browser's wallet.
 *
 *   --port <n>              port to serve on (default 8600; 0 = any free port)
 *   --network <name>        Hardhat network whose node the console reads (default localhost; RPC_URL moves it)
 *   --host <address>        bind address (default 127.0.0.1; bind elsewhere only when you mean it: the page
 *                           shows the treasury to anyone who can reach it)
 *   --deployments-dir <d>   deployment records, journals and batches (default DEPLOYMENTS_DIR or ./deployments)
 *   --poll-interval <ms>    how often the chain is polled for new blocks (default 1000)
 *
 * It finds the module in the deployment record of the node's chain (`treasury:deploy` writes it), builds the page
 * when console/dist is stale, and prints the URL on stdout once the first state is read.
 */
import { ConsoleStartError } from "./errors";

export interface ConsoleArgs {
  port: number;
  network: string;
  host: string;
  deploymentsDir?: string;
  pollIntervalMs: number;
}

export const USAGE =
  "Usage: npm run console -- [--port 8600] [--network localhost] [--host 127.0.0.1] [--deployments-dir <dir>] [--poll-interval <ms>]";

/** Reads the flags; errors name the flag and the value. */
export function parseConsoleArgs(argv: readonly string[]): ConsoleArgs {
  const out: ConsoleArgs = { port: 8600, network: "localhost", host: "127.0.0.1", pollIntervalMs: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = () => {
      const v = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (v === undefined || v === "" || (eq < 0 && v.startsWith("--")))
        throw new ConsoleStartError("USAGE", `${flag} needs a value.\n${USAGE}`);
      return v;
    };
    const integer = (v: string, min: number, max: number) => {
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max)
        throw new ConsoleStartError("USAGE", `${flag} "${v}" must be a whole number from ${min} to ${max}.`);
      return n;
    };
    if (flag === "--port") out.port = integer(value(), 0, 65_535);
    else if (flag === "--network") out.network = value();
    else if (flag === "--host") out.host = value();
    else if (flag === "--deployments-dir") out.deploymentsDir = value();
    else if (flag === "--poll-interval") out.pollIntervalMs = integer(value(), 50, 600_000);
    else if (flag === "--help" || flag === "-h") throw new ConsoleStartError("HELP", USAGE);
    else throw new ConsoleStartError("USAGE", `Unknown flag ${arg}.\n${USAGE}`);
  }
  if (out.network === "hardhat") {
    throw new ConsoleStartError(
      "USAGE",
      'The in-process "hardhat" network lives only inside one command: start `npx hardhat node` and use --network localhost.',
    );
  }
  return out;
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1"]);

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const args = parseConsoleArgs(process.argv.slice(2));
  if (!LOOPBACK.has(args.host))
    log(
      `console: WARNING: binding to ${args.host}: anyone who can reach it sees the treasury's state and can store signatures.`,
    );
  // Hardhat reads the network from the environment when loaded as a library.
  process.env.HARDHAT_NETWORK = args.network;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const hre = require("hardhat") as import("hardhat/types").HardhatRuntimeEnvironment;
  const { readDeployment } = await import("../core/deployment");
  const { ensureBuilt } = await import("./build");
  const { startConsoleServer } = await import("./server");

  let chainId: bigint;
  const url = "url" in hre.network.config ? hre.network.config.url : hre.network.name;
  try {
    chainId = (await hre.ethers.provider.getNetwork()).chainId;
  } catch (error) {
    throw new ConsoleStartError(
      "RPC_UNAVAILABLE",
      `Cannot reach the node of network ${args.network} at ${url} (${(error as Error).message.split("\n")[0]}). Start it (npx hardhat node) or set RPC_URL.`,
    );
  }
  const record = readDeployment(chainId, args.deploymentsDir);
  if ((await hre.ethers.provider.getCode(record.module)) === "0x") {
    throw new ConsoleStartError(
      "MODULE_NOT_FOUND",
      `No module contract at ${record.module} on chain ${chainId} (${url}): the deployment record is from another chain or an earlier node. Deploy again with treasury:deploy.`,
    );
  }
  await ensureBuilt(log);
  const running = await startConsoleServer({
    hre,
    network: args.network,
    record,
    deploymentsDir: args.deploymentsDir,
    host: args.host,
    port: args.port,
    pollIntervalMs: args.pollIntervalMs,
    log,
  });
  process.stdout.write(
    `Console: ${running.url} (network ${args.network}, chain ${chainId}, module ${record.module})\n`,
  );
  const stop = () => {
    log("console: stopping");
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    const e = error as { code?: string; message?: string };
    process.stderr.write(`${e.code === "HELP" ? "" : "console: "}${e.message ?? String(error)}\n`);
    process.exit(e.code === "HELP" ? 0 : 1);
  });
}
