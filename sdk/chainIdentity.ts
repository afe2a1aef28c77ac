/**
 * Which chain a file was written on, so that a journal, a watchtower checkpoint or a deployment record is never
 * read against another chain that happens to share its chain id.
 *
 * A chain instance is named by its chain id, the hash of its genesis block and, on a Hardhat node, the node's
 * `instanceId` (from `hardhat_metadata`, new at every start). A restarted `hardhat node` keeps chain id 31337 and,
 * with a deterministic deployment, the same addresses, but it has a new genesis block (its timestamp is the start
 * time) and a new instance id: a file from before the restart describes a chain that no longer exists. The instance
 * id also tells apart two starts of a forking node, whose block 0 is the forked chain's.
 *
 * A file bound to another instance is set aside, never deleted: it is renamed to
 * `<name>.<first 8 hex digits of its genesis hash>.stale<ext>` beside the original (e.g. `31337.json` becomes
 * `31337.6aa8ee1c.stale.json`, `0xab….jsonl` becomes `0xab….6aa8ee1c.stale.jsonl`), with `-2`, `-3`, … before
 * `.stale` when that name is taken, and one line saying so is logged.
 *
 * Depends on ethers and Node's fs only (no Hardhat): the agent client, the watchtower and the deploy pipeline
 * share it.
 */
import fs from "fs";
import path from "path";
import type { Provider } from "ethers";

export interface ChainIdentity {
  /** Decimal chain id. */
  chainId: string;
  /** Hash of block 0. */
  genesisHash: string;
  /** `hardhat_metadata().instanceId` on a Hardhat node; absent elsewhere. */
  instanceId?: string;
}

/** A provider that may speak raw JSON-RPC (JsonRpcProvider, Hardhat's provider); `send` is optional. */
type RpcProvider = Provider & { send?: (method: string, params: unknown[]) => Promise<unknown> };

/** Reads the identity of the chain behind `provider`: three calls (chain id, block 0, `hardhat_metadata`). */
export async function readChainIdentity(provider: RpcProvider): Promise<ChainIdentity> {
  const [network, genesis, instanceId] = await Promise.all([
    provider.getNetwork(),
    provider.getBlock(0),
    hardhatInstanceId(provider),
  ]);
  if (!genesis?.hash)
    throw new Error(
      `The RPC node of chain ${network.chainId} did not return block 0; it cannot be identified. Use another node.`,
    );
  const identity: ChainIdentity = { chainId: network.chainId.toString(), genesisHash: genesis.hash.toLowerCase() };
  if (instanceId) identity.instanceId = instanceId.toLowerCase();
  return identity;
}

async function hardhatInstanceId(provider: RpcProvider): Promise<string | undefined> {
  if (typeof provider.send !== "function") return undefined;
  try {
    const metadata = (await provider.send("hardhat_metadata", [])) as { instanceId?: unknown } | null;
    return typeof metadata?.instanceId === "string" ? metadata.instanceId : undefined;
  } catch {
    return undefined; // not a Hardhat node
  }
}

/**
 * Why a file written on `recorded` does not belong to the chain `current`, or undefined when it does. Fields the
 * record lacks (files written before identities were recorded) are not compared: such a file is accepted here and
 * its other checks (code at its addresses, block hashes) decide.
 */
export function identityMismatch(recorded: Partial<ChainIdentity>, current: ChainIdentity): string | undefined {
  if (recorded.chainId !== undefined && recorded.chainId !== current.chainId)
    return `it is for chain ${recorded.chainId}, this is chain ${current.chainId}`;
  if (recorded.genesisHash && recorded.genesisHash.toLowerCase() !== current.genesisHash.toLowerCase()) {
    return `its genesis block is ${short(recorded.genesisHash)}, this chain's is ${short(current.genesisHash)}`;
  }
  if (
    recorded.instanceId &&
    current.instanceId &&
    recorded.instanceId.toLowerCase() !== current.instanceId.toLowerCase()
  ) {
    return `it was written on node instance ${short(recorded.instanceId)}, this node is instance ${short(current.instanceId)}`;
  }
  return undefined;
}

/** "chain 31337 (genesis 0x6aa8ee1c…, node instance 0x5aac609b…)"; parts a record lacks are left out. */
export function describeIdentity(id: Partial<ChainIdentity>): string {
  const parts = [
    id.genesisHash ? `genesis ${short(id.genesisHash)}` : undefined,
    id.instanceId ? `node instance ${short(id.instanceId)}` : undefined,
  ].filter((p): p is string => p !== undefined);
  return `chain ${id.chainId ?? "?"}${parts.length ? ` (${parts.join(", ")})` : ""}`;
}

/** The name a file of `recorded` is set aside under (see the file header); the first free one. */
export function staleFileName(file: string, recorded: Partial<ChainIdentity>): string {
  const ext = path.extname(file);
  const base = ext ? file.slice(0, -ext.length) : file;
  const tag = (recorded.genesisHash ?? recorded.instanceId)?.replace(/^0x/i, "").slice(0, 8).toLowerCase() || "unbound";
  for (let n = 1; ; n++) {
    const candidate = `${base}.${tag}${n > 1 ? `-${n}` : ""}.stale${ext}`;
    if (!fs.existsSync(candidate)) return candidate;
  }
}

/**
 * Renames `file` (written on `recorded`, which is not this chain for `reason`) to its stale name and logs one
 * line. Returns the new path. `what` names the file for the reader ("journal", "checkpoint", "deployment record").
 */
export function setAside(
  file: string,
  recorded: Partial<ChainIdentity>,
  reason: string,
  what: string,
  log: (line: string) => void,
): string {
  const to = staleFileName(file, recorded);
  fs.renameSync(file, to);
  log(
    `${what} ${file} belongs to ${describeIdentity(recorded)}, not to the chain this node serves (${reason}): set aside as ${to}`,
  );
  return to;
}

function short(hex: string): string {
  return `${hex.slice(0, 10).toLowerCase()}…`;
}
