/**
 * What only the Safe's owners can do, done the way `treasury:apply` does it (SPEC section 10): on the local chain
 * 31337, when the Safe's owners are Hardhat development accounts (a Safe the pipeline created from a policy file),
 * their keys sign one Safe transaction; anywhere else nothing is signed as an owner: the calls are written as a
 * Safe Transaction Builder batch file for the owners to review, sign and execute in the Safe app.
 *
 * Used by `treasury:apply` (the plan), `treasury:unpause` and `treasury:unfreeze` (undoing a guardian's pause or
 * freeze, or an automatic freeze by strikes; what stops the treasury is read by deploy/emergency.ts), and by the
 * console's owners' batches.
 *
 * Takes a {@link ChainContext} (provider, artifacts, network name) and, for the submitter's key, a
 * {@link WalletResolver}: no Hardhat.
 */
import path from "path";
import { BaseWallet, Contract, getAddress } from "ethers";
import type { ChainContext } from "../core/chainContext";
import { DeploymentRecord, deploymentsDir } from "../core/deployment";
import { LOCAL_CHAIN_ID, WalletResolver, devWalletFor } from "../core/keys";
import { SAFE_ABI } from "../sdk/safe";
import { canonicalSafeInfra } from "./addresses";
import { buildBatch, writeBatch } from "./batch";
import { predictContract } from "./create2";
import { executeAsOwners } from "./configure";

/** One call the Safe makes. */
export interface OwnerItem {
  kind: string;
  /** What it changes, in words. */
  description: string;
  /** True when it lets more money move or removes a check (unpausing and unfreezing do). */
  loosens: boolean;
  call: { to: string; data: string };
}

/** An {@link OwnerItem} as printed (the call flattened). */
export interface OwnerCallView {
  kind: string;
  description: string;
  loosens: boolean;
  to: string;
  data: string;
}

/** The owners' development keys on the local chain, and the account that submits their signed transaction. */
export interface LocalOwnerKeys {
  owners: BaseWallet[];
  submitter: BaseWallet;
}

export interface OwnersRun {
  /** `local`: signed with the owners' development keys and executed; `live`: written as a batch file. */
  mode: "local" | "live";
  /** Descriptions of what was executed (local). */
  applied: string[];
  /** Transactions sent (local). */
  txHashes: string[];
  /** The calls waiting for the owners (live). */
  pending: OwnerCallView[];
  batchFile?: string;
  nextSteps: string[];
}

export function callView(item: OwnerItem): OwnerCallView {
  return {
    kind: item.kind,
    description: item.description,
    loosens: item.loosens,
    to: item.call.to,
    data: item.call.data,
  };
}

/**
 * The Safe owners' keys when this process may sign as them: chain 31337 only, and only when at least the Safe's
 * threshold of its owners are Hardhat development accounts (public keys). Undefined otherwise (live mode).
 * The submitter is the deployer key (`--keystore`, `DEPLOYER_KEY`, else the first development account).
 */
export async function localOwnerKeys(
  chain: ChainContext,
  safeAddress: string,
  keys: WalletResolver,
  opts: { keystore?: string } = {},
): Promise<LocalOwnerKeys | undefined> {
  const provider = chain.provider;
  if ((await provider.getNetwork()).chainId !== LOCAL_CHAIN_ID) return undefined;
  const safe = new Contract(safeAddress, SAFE_ABI, provider);
  const owners = ((await safe.getOwners()) as string[]).map((o) => devWalletFor(o)).filter((w) => w !== undefined);
  const threshold = Number(await safe.getThreshold());
  if (owners.length < threshold) return undefined;
  const submitter = await keys("DEPLOYER", { keystore: opts.keystore });
  return { owners: owners.slice(0, threshold).map((w) => w.connect(provider) as BaseWallet), submitter };
}

/** MultiSendCallOnly on this chain: the record's, else the canonical deployment, else the deterministic one. */
async function multiSendFor(chain: ChainContext, record?: DeploymentRecord): Promise<string> {
  if (record?.safeInfra?.multiSendCallOnly) return record.safeInfra.multiSendCallOnly;
  const chainId = (await chain.provider.getNetwork()).chainId;
  return (
    (await canonicalSafeInfra(chain.provider, chainId))?.multiSendCallOnly ??
    (await predictContract(chain.artifacts, "MultiSendCallOnly"))
  );
}

/**
 * Makes the Safe execute `items`: signed by `keys` (see {@link localOwnerKeys}) when given, else written as a
 * Transaction Builder batch in `<deployments dir>/batches/<chainId>-<safe>-nonce<n>[-<label>].json`. `then` is the
 * last of the next steps printed with a batch (how to check the result).
 */
export async function runAsOwners(
  chain: ChainContext,
  opts: {
    safe: string;
    items: OwnerItem[];
    keys?: LocalOwnerKeys;
    record?: DeploymentRecord;
    deploymentsDir?: string;
    batchName: string;
    batchLabel?: string;
    then: string;
    log?: (line: string) => void;
  },
): Promise<OwnersRun> {
  const { safe, items, keys } = opts;
  if (keys) {
    const multiSend = items.length > 1 ? await multiSendFor(chain, opts.record) : "";
    const txHashes = await executeAsOwners(safe, multiSend, keys.owners, keys.submitter, items, opts.log);
    return { mode: "local", applied: items.map((i) => i.description), txHashes, pending: [], nextSteps: [] };
  }
  const provider = chain.provider;
  const chainId = (await provider.getNetwork()).chainId;
  const nonce = (await new Contract(safe, SAFE_ABI, provider).nonce()) as bigint;
  const label = opts.batchLabel ? `-${opts.batchLabel}` : "";
  const batchFile = path.join(
    deploymentsDir(opts.deploymentsDir),
    "batches",
    `${chainId}-${getAddress(safe)}-nonce${nonce}${label}.json`,
  );
  writeBatch(
    batchFile,
    buildBatch({
      chainId,
      safe,
      name: opts.batchName,
      description: items.map((i, n) => `${n + 1}. ${i.loosens ? "[loosens] " : ""}${i.description}`).join("\n"),
      transactions: items.map((i) => i.call),
    }),
  );
  return {
    mode: "live",
    applied: [],
    txHashes: [],
    pending: items.map(callView),
    batchFile,
    nextSteps: [
      `Open the Safe ${getAddress(safe)} in the Safe app -> Apps -> Transaction Builder and drag in ${batchFile}.`,
      `Check the ${items.length} call(s) against the list, create the batch, collect the owners' signatures and execute.`,
      opts.then,
    ],
  };
}
