/**
 * Where the CLI's keys come from (SPEC section 10): an encrypted JSON keystore (`--keystore`, password from
 * `KEYSTORE_PASSWORD` or a hidden prompt), the environment variable `<ROLE>_KEY`, or the Hardhat configuration
 * variable `<ROLE>_KEY` (`npx hardhat vars set DEPLOYER_KEY`). On the local chain 31337 only, a missing key
 * defaults to the Hardhat development account whose address the policy names (the deployer and the relayer: the
 * first development account). Hardhat's development keys are public: they are refused on every other chain.
 *
 * The resolution itself is core/keys.ts (shared with the MCP server); this file supplies the CLI's sources: the
 * environment, Hardhat's `vars`, and the terminal prompt.
 */
import type { BaseWallet, Signer } from "ethers";
import { vars } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import {
  KeyError,
  KeyRole,
  KeySources,
  VariableReader,
  WalletResolver,
  environmentVariables,
  firstVariable,
  keystorePassword,
  resolveKey,
} from "../../core/keys";

export interface KeyOptions {
  /** Path of an encrypted JSON keystore (ethers / geth format). */
  keystore?: string;
  /** The address this role must have (from the policy or the command line). */
  expectedAddress?: string;
}

/** A Hardhat configuration variable (`npx hardhat vars set NAME`, or `HARDHAT_VAR_NAME`), through Hardhat. */
const hardhatVariables: VariableReader = (name) => {
  try {
    return vars.has(name) ? { value: vars.get(name), source: `Hardhat configuration variable ${name}` } : undefined;
  } catch {
    return undefined;
  }
};

/** Variables as the CLI reads them: the environment first, then Hardhat's configuration variables. */
export function cliVariables(): VariableReader {
  return firstVariable(environmentVariables(process.env), hardhatVariables);
}

async function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    let input = "";
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n" || ch === "\u0004") {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off("data", onData);
          process.stderr.write("\n");
          resolve(input);
          return;
        }
        if (ch === "\u0003") {
          stdin.setRawMode(false);
          stdin.off("data", onData);
          reject(new KeyError("KEYSTORE_UNREADABLE", "Cancelled at the password prompt."));
          return;
        }
        if (ch === "\u007f" || ch === "\b") input = input.slice(0, -1);
        else input += ch;
      }
    };
    stdin.on("data", onData);
  });
}

/** The CLI's key sources: the environment and Hardhat's variables; a keystore password from KEYSTORE_PASSWORD or the terminal. */
export function cliKeySources(): KeySources {
  return {
    variables: cliVariables(),
    password: keystorePassword(process.env.KEYSTORE_PASSWORD, {
      prompt: process.stdin.isTTY ? promptHidden : undefined,
      noPrompt: "no terminal to ask in: set it, or run the command in a terminal",
    }),
  };
}

/**
 * Resolves the key of `role` as a wallet connected to `hre`'s network (see the file header for the sources and
 * their order). Throws {@link KeyError}: no key, an unusable key, a public development key off chain 31337, or a
 * key whose address differs from `expectedAddress`.
 */
export async function resolveWallet(
  hre: HardhatRuntimeEnvironment,
  role: KeyRole,
  opts: KeyOptions = {},
): Promise<BaseWallet> {
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  const request = { role, chainId, ...opts, firstDevAccount: role === "DEPLOYER" || role === "RELAYER" };
  const { wallet } = await resolveKey(request, cliKeySources());
  return wallet.connect(hre.ethers.provider);
}

/** {@link resolveWallet} as a plain ethers `Signer`. */
export async function resolveSigner(
  hre: HardhatRuntimeEnvironment,
  role: KeyRole,
  opts: KeyOptions = {},
): Promise<Signer> {
  return resolveWallet(hre, role, opts);
}

/** {@link resolveWallet} bound to `hre`: how deploy/ gets the CLI's keys without knowing where they come from. */
export function cliWallets(hre: HardhatRuntimeEnvironment): WalletResolver {
  return (role, opts) => resolveWallet(hre, role, opts);
}

/** True when a key for `role` is configured (`<ROLE>_KEY` in the environment or Hardhat's variables). */
export function hasConfiguredKey(role: KeyRole): boolean {
  return cliVariables()(`${role}_KEY`) !== undefined;
}
