/**
 * The one key loader (SPEC section 10), shared by the CLI (tasks/lib/keys.ts) and the MCP server (mcp/config.ts).
 * A role's key comes, in this order, from an encrypted JSON keystore, or the variable `<ROLE>_KEY` as the caller's
 * {@link VariableReader} finds it (the CLI: the environment, then Hardhat's configuration variables through Hardhat;
 * the MCP server: its environment, then Hardhat's vars file read without Hardhat). On the local chain 31337 only, a
 * missing key defaults to the Hardhat development account the caller expects. Hardhat's development keys are public:
 * they are refused on every other chain. Keys are never printed, logged or written; messages name the source only.
 *
 * Nothing here imports Hardhat: where variables and passwords come from is injected ({@link KeySources}).
 */
import fs from "fs";
import { BaseWallet, HDNodeWallet, Wallet, getAddress } from "ethers";

export type KeyRole = "DEPLOYER" | "AGENT" | "COSIGNER" | "GUARDIAN" | "RELAYER";

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
/** The chain id of Hardhat's local network, the only chain where development keys are accepted. */
export const LOCAL_CHAIN_ID = 31337n;
const DEV_ACCOUNT_COUNT = 20;
const DEV_SOURCE = "the Hardhat development accounts (chain 31337)";

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

// ---------------------------------------------------------------------------------------------- sources

/** A variable's value and where it was found ("environment variable AGENT_KEY"), for messages. */
export interface FoundVariable {
  value: string;
  source: string;
}

/** Looks a variable up by name; undefined when it is not set. */
export type VariableReader = (name: string) => FoundVariable | undefined;

/** Reads `env`; an empty value counts as unset. */
export function environmentVariables(env: Readonly<Record<string, string | undefined>>): VariableReader {
  return (name) => {
    const value = env[name];
    return value === undefined || value === "" ? undefined : { value, source: `environment variable ${name}` };
  };
}

/** The first of `readers` that finds the variable. */
export function firstVariable(...readers: VariableReader[]): VariableReader {
  return (name) => {
    for (const read of readers) {
      const found = read(name);
      if (found) return found;
    }
    return undefined;
  };
}

/** Gives a keystore's password, or throws {@link KeyError} `KEYSTORE_UNREADABLE` saying how to provide it. */
export type PasswordReader = (file: string, role: KeyRole) => Promise<string>;

/**
 * The password in `value` (KEYSTORE_PASSWORD), else `prompt`'s answer; with neither, a `KEYSTORE_UNREADABLE` error
 * whose message ends with `noPrompt` (why nothing can be asked, and what to do).
 */
export function keystorePassword(
  value: string | undefined,
  opts: { prompt?: (question: string) => Promise<string>; noPrompt: string },
): PasswordReader {
  return async (file, role) => {
    if (value !== undefined) return value;
    if (opts.prompt) return opts.prompt(`Password for the ${role.toLowerCase()} keystore ${file}: `);
    throw new KeyError(
      "KEYSTORE_UNREADABLE",
      `Keystore ${file} needs its password in KEYSTORE_PASSWORD (${opts.noPrompt}).`,
    );
  };
}

/** Where a caller's keys come from. */
export interface KeySources {
  /** Looks up `<ROLE>_KEY`. */
  variables: VariableReader;
  /** The password of a keystore. */
  password: PasswordReader;
}

// ---------------------------------------------------------------------------------------------- resolution

export interface KeyRequest {
  role: KeyRole;
  chainId: bigint;
  /** Path of an encrypted JSON keystore (ethers / geth format); when given, `<ROLE>_KEY` is not read. */
  keystore?: string;
  /** The address the key must have; on chain 31337 also picks the development account when no key is given. */
  expectedAddress?: string;
  /** Who expects that address, for the mismatch message (e.g. "the policy names"). */
  expectedBy?: string;
  /** On chain 31337, with no key and no expected address: Hardhat's first development account. */
  firstDevAccount?: boolean;
}

export interface KeyResolution {
  /** Not connected to a provider. */
  wallet: BaseWallet;
  /** Where the key came from (never the key). */
  source: string;
}

/** Resolves a role's key for a chain the caller is connected to; the wallet comes back connected. */
export type WalletResolver = (
  role: KeyRole,
  opts?: { keystore?: string; expectedAddress?: string },
) => Promise<BaseWallet>;

function walletFromPrivateKey(value: string, source: string): Wallet {
  const hex = value.trim().startsWith("0x") ? value.trim() : `0x${value.trim()}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(hex)) {
    throw new KeyError("KEY_INVALID", `${source} is not a private key (32 bytes of hex). Its value is not shown.`);
  }
  return new Wallet(hex);
}

async function walletFromKeystore(file: string, role: KeyRole, password: PasswordReader): Promise<BaseWallet> {
  let json: string;
  try {
    json = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new KeyError("KEYSTORE_UNREADABLE", `Cannot read keystore ${file}: ${(error as Error).message}`);
  }
  const secret = await password(file, role);
  try {
    return await Wallet.fromEncryptedJson(json, secret);
  } catch (error) {
    throw new KeyError(
      "KEYSTORE_UNREADABLE",
      `Cannot decrypt keystore ${file} (${(error as Error).message.split("(")[0].trim()}): check the file and KEYSTORE_PASSWORD.`,
    );
  }
}

/** The key the caller configured (keystore or `<ROLE>_KEY`), unchecked; undefined when there is none. */
async function configuredKey(req: KeyRequest, sources: KeySources): Promise<KeyResolution | undefined> {
  if (req.keystore)
    return {
      wallet: await walletFromKeystore(req.keystore, req.role, sources.password),
      source: `keystore ${req.keystore}`,
    };
  const found = sources.variables(`${req.role}_KEY`);
  return found ? { wallet: walletFromPrivateKey(found.value, found.source), source: found.source } : undefined;
}

/** The development account that stands in for a missing key on chain 31337, if any. */
function localDefault(req: KeyRequest): HDNodeWallet | undefined {
  if (req.chainId !== LOCAL_CHAIN_ID) return undefined;
  if (req.expectedAddress) return devWalletFor(req.expectedAddress);
  return req.firstDevAccount ? hardhatDevWallets()[0] : undefined;
}

function checkExpected(req: KeyRequest, key: KeyResolution): void {
  if (!req.expectedAddress) return;
  const expected = getAddress(req.expectedAddress);
  if (expected === key.wallet.address) return;
  throw new KeyError(
    "KEY_MISMATCH",
    `The ${req.role.toLowerCase()} key from ${key.source} is for ${key.wallet.address}, but ` +
      `${req.expectedBy ? `${req.expectedBy} ${expected}` : `${expected} is expected here`}: use that account's key.`,
  );
}

/**
 * The role's key (see the file header for the sources and their order), or undefined when none is configured and
 * no development account stands in for it. Throws {@link KeyError}: an unusable key or keystore, a public
 * development key off chain 31337, or a key whose address differs from `expectedAddress`.
 */
export async function findKey(req: KeyRequest, sources: KeySources): Promise<KeyResolution | undefined> {
  const configured = await configuredKey(req, sources);
  if (configured) {
    if (isHardhatDevKey(configured.wallet.privateKey) && req.chainId !== LOCAL_CHAIN_ID) {
      throw new KeyError(
        "KEY_DEV_REFUSED",
        `The ${req.role.toLowerCase()} key from ${configured.source} is one of Hardhat's public development keys; they are ` +
          `refused on chain ${req.chainId} (allowed only on 31337). Use your own key.`,
      );
    }
    checkExpected(req, configured);
    return configured;
  }
  const dev = localDefault(req);
  return dev ? { wallet: new Wallet(dev.privateKey), source: DEV_SOURCE } : undefined;
}

/** {@link findKey}, with no key at all a {@link KeyError} `KEY_MISSING` that says where keys come from. */
export async function resolveKey(req: KeyRequest, sources: KeySources): Promise<KeyResolution> {
  const key = await findKey(req, sources);
  if (key) return key;
  const variable = `${req.role}_KEY`;
  const how = `set ${variable} (environment, or \`npx hardhat vars set ${variable}\`) or pass --keystore <file>.`;
  const role = req.role.toLowerCase();
  if (req.chainId !== LOCAL_CHAIN_ID) {
    const address = req.expectedAddress ? ` (address ${getAddress(req.expectedAddress)})` : "";
    throw new KeyError("KEY_MISSING", `No ${role} key for chain ${req.chainId}${address}: ${how}`);
  }
  throw new KeyError(
    "KEY_MISSING",
    req.expectedAddress
      ? `No ${role} key for ${getAddress(req.expectedAddress)}: it is not a Hardhat development account; ${how}`
      : `No ${role} key: ${how}`,
  );
}
