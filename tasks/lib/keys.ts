/**
 * Where the CLI's keys come from (SPEC section 10): an encrypted JSON keystore (`--keystore`, password from
 * `KEYSTORE_PASSWORD` or a hidden prompt), the environment variable `<ROLE>_KEY`, or the Hardhat configuration
 * variable `<ROLE>_KEY` (`npx hardhat vars set DEPLOYER_KEY`). On the local chain 31337 only, a missing key
 * defaults to the Hardhat development account whose address the policy names. Hardhat's development keys are
 * public: they are refused on every other chain. Keys are never printed, logged or written.
 */
import fs from "fs";
import { BaseWallet, HDNodeWallet, Signer, Wallet, getAddress } from "ethers";
import { vars } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";

export type KeyRole = "DEPLOYER" | "AGENT" | "COSIGNER" | "GUARDIAN" | "RELAYER";

export interface KeyOptions {
  /** Path of an encrypted JSON keystore (ethers / geth format). */
  keystore?: string;
  /** The address this role must have (from the policy or the command line). */
  expectedAddress?: string;
}

export type KeyErrorCode = "KEY_MISSING" | "KEY_INVALID" | "KEY_DEV_REFUSED" | "KEY_MISMATCH" | "KEYSTORE_UNREADABLE";

/** A key could not be used. The message says where keys come from and what to do. Never contains key material. */
export class KeyError extends Error {
  constructor(
    readonly code: KeyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "KeyError";
  }
}

/** Hardhat's well-known development mnemonic: every key derived from it is public. */
export const HARDHAT_DEV_MNEMONIC = "test test test test test test test test test test test junk";
export const LOCAL_CHAIN_ID = 31337n;
const DEV_ACCOUNT_COUNT = 20;

let devWallets: HDNodeWallet[] | undefined;

/** Hardhat's 20 default development accounts (public keys: local chain only). */
export function hardhatDevWallets(): HDNodeWallet[] {
  if (!devWallets) {
    const root = HDNodeWallet.fromPhrase(HARDHAT_DEV_MNEMONIC, "", "m/44'/60'/0'/0");
    devWallets = Array.from({ length: DEV_ACCOUNT_COUNT }, (_, i) => root.deriveChild(i));
  }
  return devWallets;
}

/** True when `privateKeyOrAddress` is one of Hardhat's public development keys or their addresses. */
export function isHardhatDevKey(privateKeyOrAddress: string): boolean {
  const needle = privateKeyOrAddress.toLowerCase();
  return hardhatDevWallets().some((w) => w.privateKey.toLowerCase() === needle || w.address.toLowerCase() === needle);
}

/** The development wallet for `address`, if it is one of Hardhat's default accounts. */
export function devWalletFor(address: string): HDNodeWallet | undefined {
  const wanted = address.toLowerCase();
  return hardhatDevWallets().find((w) => w.address.toLowerCase() === wanted);
}

function readVar(name: string): string | undefined {
  const fromEnv = process.env[name];
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  try {
    return vars.has(name) ? vars.get(name) : undefined;
  } catch {
    return undefined;
  }
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

async function fromKeystore(file: string, role: KeyRole): Promise<BaseWallet> {
  let json: string;
  try {
    json = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new KeyError("KEYSTORE_UNREADABLE", `Cannot read keystore ${file}: ${(error as Error).message}`);
  }
  let password = process.env.KEYSTORE_PASSWORD;
  if (password === undefined) {
    if (!process.stdin.isTTY) {
      throw new KeyError(
        "KEYSTORE_UNREADABLE",
        `Keystore ${file} needs a password: set KEYSTORE_PASSWORD or run the command in a terminal to be asked.`,
      );
    }
    password = await promptHidden(`Password for the ${role.toLowerCase()} keystore ${file}: `);
  }
  try {
    const wallet = await Wallet.fromEncryptedJson(json, password);
    return wallet;
  } catch (error) {
    throw new KeyError(
      "KEYSTORE_UNREADABLE",
      `Cannot decrypt keystore ${file} (${(error as Error).message.split("(")[0].trim()}): check the file and KEYSTORE_PASSWORD.`,
    );
  }
}

function fromPrivateKey(value: string, source: string): BaseWallet {
  const hex = value.trim().startsWith("0x") ? value.trim() : `0x${value.trim()}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    throw new KeyError("KEY_INVALID", `${source} is not a private key (32 bytes of hex). Its value is not shown.`);
  }
  return new Wallet(hex);
}

/**
 * Resolves the key of `role` as a wallet connected to `hre`'s network (see the file header for the sources and
 * their order). Throws {@link KeyError}: no key, an unusable key, a public development key off chain 31337, or a
 * key whose address differs from `expectedAddress`.
 */
export async function resolveWallet(hre: HardhatRuntimeEnvironment, role: KeyRole, opts: KeyOptions = {}): Promise<BaseWallet> {
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  const variable = `${role}_KEY`;
  let wallet: BaseWallet | undefined;
  let source: string;
  if (opts.keystore) {
    wallet = await fromKeystore(opts.keystore, role);
    source = `keystore ${opts.keystore}`;
  } else {
    const value = readVar(variable);
    source = process.env[variable] ? `environment variable ${variable}` : `configuration variable ${variable}`;
    if (value !== undefined) wallet = fromPrivateKey(value, source);
  }

  if (wallet && isHardhatDevKey(wallet.privateKey) && chainId !== LOCAL_CHAIN_ID) {
    throw new KeyError(
      "KEY_DEV_REFUSED",
      `The ${role.toLowerCase()} key from ${source} is one of Hardhat's public development keys; they are refused on ` +
        `chain ${chainId} (allowed only on 31337). Use your own key.`,
    );
  }

  if (!wallet) {
    if (chainId !== LOCAL_CHAIN_ID) {
      throw new KeyError(
        "KEY_MISSING",
        `No ${role.toLowerCase()} key for chain ${chainId}: set ${variable} (environment or \`npx hardhat vars set ${variable}\`) ` +
          `or pass --keystore <file>.`,
      );
    }
    const dev = opts.expectedAddress
      ? devWalletFor(opts.expectedAddress)
      : role === "DEPLOYER" || role === "RELAYER"
        ? hardhatDevWallets()[0]
        : undefined;
    if (!dev) {
      throw new KeyError(
        "KEY_MISSING",
        opts.expectedAddress
          ? `No ${role.toLowerCase()} key for ${getAddress(opts.expectedAddress)}: it is not a Hardhat development account; ` +
              `set ${variable} or pass --keystore <file>.`
          : `No ${role.toLowerCase()} key: set ${variable} or pass --keystore <file>.`,
      );
    }
    wallet = dev;
    source = "the Hardhat development accounts (chain 31337)";
  }

  if (opts.expectedAddress && getAddress(opts.expectedAddress) !== wallet.address) {
    throw new KeyError(
      "KEY_MISMATCH",
      `The ${role.toLowerCase()} key from ${source} is for ${wallet.address}, but ${getAddress(opts.expectedAddress)} is ` +
        `expected here: use that account's key.`,
    );
  }
  return wallet.connect(hre.ethers.provider) as BaseWallet;
}

/** {@link resolveWallet} as a plain ethers `Signer`. */
export async function resolveSigner(hre: HardhatRuntimeEnvironment, role: KeyRole, opts: KeyOptions = {}): Promise<Signer> {
  return resolveWallet(hre, role, opts);
}
