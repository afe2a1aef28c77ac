/**
 * What only the Safe's owners can do, done the way `treasury:apply` does it (SPEC section 10): on the local chain
 * 31337, when the Safe's owners are Hardhat development accounts (a Safe the pipeline created from a policy file),
 * their keys sign one Safe transaction; anywhere else nothing is signed as an owner: the calls are written as a
 * Safe Transaction Builder batch file for the owners to review, sign and execute in the Safe app.
 *
 * Used by `treasury:apply` (the plan), `treasury:unpause` and `treasury:unfreeze` (undoing a guardian's pause or
 * freeze, or an automatic freeze by strikes). Also reads the emergency state that `treasury:plan` and
 * `treasury:status` show: whether the module is paused and which agents are frozen, by whom, and the owners'
 * command that undoes each.
 */
import path from "path";
import { BaseWallet, Contract, Interface, decodeBytes32String, getAddress } from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { LOCAL_CHAIN_ID } from "./policy";
import { DeploymentRecord, deploymentsDir } from "./deployment";
import { buildBatch, writeBatch } from "./batch";
import { scanLogs } from "./plan";
import { formatTimestamp } from "./units";
import { SAFE_ABI } from "../sdk/safe";
import { devWalletFor, resolveWallet } from "../tasks/lib/keys";

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
  return { kind: item.kind, description: item.description, loosens: item.loosens, to: item.call.to, data: item.call.data };
}

/**
 * The Safe owners' keys when this process may sign as them: chain 31337 only, and only when at least the Safe's
 * threshold of its owners are Hardhat development accounts (public keys). Undefined otherwise (live mode).
 * The submitter is the deployer key (`--keystore`, `DEPLOYER_KEY`, else the first development account).
 */
export async function localOwnerKeys(hre: HardhatRuntimeEnvironment, safeAddress: string, opts: { keystore?: string } = {}): Promise<LocalOwnerKeys | undefined> {
  const provider = hre.ethers.provider;
  if ((await provider.getNetwork()).chainId !== LOCAL_CHAIN_ID) return undefined;
  const safe = new Contract(safeAddress, SAFE_ABI, provider);
  const owners = ((await safe.getOwners()) as string[]).map((o) => devWalletFor(o)).filter((w) => w !== undefined);
  const threshold = Number(await safe.getThreshold());
  if (owners.length < threshold) return undefined;
  const submitter = await resolveWallet(hre, "DEPLOYER", { keystore: opts.keystore });
  return { owners: owners.slice(0, threshold).map((w) => w.connect(provider) as BaseWallet), submitter };
}

/** MultiSendCallOnly on this chain: the record's, else the canonical deployment, else the deterministic one. */
async function multiSendFor(hre: HardhatRuntimeEnvironment, record?: DeploymentRecord): Promise<string> {
  if (record?.safeInfra?.multiSendCallOnly) return record.safeInfra.multiSendCallOnly;
  const { canonicalSafeInfra } = await import("./pipeline");
  const { predictContract } = await import("./create2");
  const chainId = (await hre.ethers.provider.getNetwork()).chainId;
  return (await canonicalSafeInfra(hre, chainId))?.multiSendCallOnly ?? (await predictContract(hre, "MultiSendCallOnly"));
}

/**
 * Makes the Safe execute `items`: signed by `keys` (see {@link localOwnerKeys}) when given, else written as a
 * Transaction Builder batch in `<deployments dir>/batches/<chainId>-<safe>-nonce<n>[-<label>].json`. `then` is the
 * last of the next steps printed with a batch (how to check the result).
 */
export async function runAsOwners(
  hre: HardhatRuntimeEnvironment,
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
    const { executeAsOwners } = await import("./pipeline");
    const multiSend = items.length > 1 ? await multiSendFor(hre, opts.record) : "";
    const txHashes = await executeAsOwners(safe, multiSend, keys.owners, keys.submitter, items, opts.log);
    return { mode: "local", applied: items.map((i) => i.description), txHashes, pending: [], nextSteps: [] };
  }
  const provider = hre.ethers.provider;
  const chainId = (await provider.getNetwork()).chainId;
  const nonce = (await new Contract(safe, SAFE_ABI, provider).nonce()) as bigint;
  const label = opts.batchLabel ? `-${opts.batchLabel}` : "";
  const batchFile = path.join(deploymentsDir(opts.deploymentsDir), "batches", `${chainId}-${getAddress(safe)}-nonce${nonce}${label}.json`);
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

// ---------------------------------------------------------------------------------------------- emergency state

const EMERGENCY_EVENTS = new Interface([
  "event Paused(address indexed by)",
  "event AgentFrozen(address indexed agent, address indexed by, bytes32 reason)",
  "event AgentRotated(address indexed oldKey, address indexed newKey)",
]);
const EMERGENCY_ABI = ["function paused() view returns (bool)", "function isFrozen(address agent) view returns (bool)"];

/** Where and by whom a pause or a freeze happened. */
export interface EmergencyEvent {
  /** The guardian, the Safe, or the module itself (an automatic freeze by strikes). */
  by: string;
  block: number;
  time: string;
  txHash: string;
}

export interface FrozenAgent extends Partial<EmergencyEvent> {
  agent: string;
  name?: string;
  /** "manual" (a guardian or the Safe) or "strikes" (automatic), when the freeze event was found. */
  reason?: string;
  /** The owners' command that unfreezes it. */
  recovery: string;
}

export interface EmergencyState {
  paused: boolean;
  /** The pause in force (its latest `Paused` event), when paused. */
  pausedBy?: EmergencyEvent;
  /** The owners' command that unpauses, when paused. */
  recovery?: string;
  /** Active agents that are frozen. */
  frozen: FrozenAgent[];
}

/** The owners' commands, as the operator types them on this network. */
export function recoveryCommand(action: "unpause" | "unfreeze", network: string, agent?: string): string {
  return `npx hardhat treasury:${action}${agent ? ` --agent ${agent}` : ""} --network ${network}`;
}

/**
 * Whether the module is paused and which agents are frozen, with the event that did it. Candidates for frozen
 * agents are the keys of `AgentFrozen` events (and the keys they were rotated to) plus `names`' addresses; each
 * is confirmed with `isFrozen` (true only for an active agent).
 */
export async function readEmergency(
  hre: HardhatRuntimeEnvironment,
  target: { module: string; moduleBlock?: number },
  opts: { names?: Record<string, string>; network?: string } = {},
): Promise<EmergencyState> {
  const provider = hre.ethers.provider;
  const network = opts.network ?? hre.network.name;
  const module = new Contract(target.module, EMERGENCY_ABI, provider);
  const topics = ["Paused", "AgentFrozen", "AgentRotated"].map((name) => EMERGENCY_EVENTS.getEvent(name)!.topicHash);
  const logs = await scanLogs(provider, target.module, topics, target.moduleBlock ?? 0);
  const nameOf = (address: string) => opts.names?.[address.toLowerCase()];
  const times = new Map<number, string>();
  const at = async (log: { blockNumber: number; transactionHash: string }, by: string): Promise<EmergencyEvent> => {
    if (!times.has(log.blockNumber)) times.set(log.blockNumber, formatTimestamp((await provider.getBlock(log.blockNumber))?.timestamp ?? 0));
    return { by: getAddress(by), block: log.blockNumber, time: times.get(log.blockNumber)!, txHash: log.transactionHash };
  };

  let lastPause: (typeof logs)[number] | undefined;
  const lastFreeze = new Map<string, { log: (typeof logs)[number]; by: string; reason: string }>();
  const candidates = new Set<string>(Object.keys(opts.names ?? {}).map((a) => a.toLowerCase()));
  for (const log of logs) {
    const parsed = EMERGENCY_EVENTS.parseLog(log);
    if (!parsed) continue;
    if (parsed.name === "Paused") lastPause = log;
    else if (parsed.name === "AgentFrozen") {
      const key = (parsed.args.agent as string).toLowerCase();
      candidates.add(key);
      lastFreeze.set(key, { log, by: parsed.args.by as string, reason: decodeReason(parsed.args.reason as string) });
    } else if (parsed.name === "AgentRotated" && candidates.has((parsed.args.oldKey as string).toLowerCase())) {
      candidates.add((parsed.args.newKey as string).toLowerCase());
    }
  }

  const paused = Boolean(await module.paused());
  const state: EmergencyState = { paused, frozen: [] };
  if (paused) {
    state.recovery = recoveryCommand("unpause", network);
    if (lastPause) state.pausedBy = await at(lastPause, EMERGENCY_EVENTS.parseLog(lastPause)!.args.by as string);
  }
  for (const key of candidates) {
    if (!(await module.isFrozen(key))) continue;
    const agent = getAddress(key);
    const name = nameOf(agent);
    const freeze = lastFreeze.get(key);
    state.frozen.push({
      agent,
      ...(name ? { name } : {}),
      ...(freeze ? { ...(await at(freeze.log, freeze.by)), reason: freeze.reason } : {}),
      recovery: recoveryCommand("unfreeze", network, name ?? agent),
    });
  }
  state.frozen.sort((a, b) => (a.block ?? 0) - (b.block ?? 0) || a.agent.localeCompare(b.agent));
  return state;
}

function decodeReason(reason: string): string {
  try {
    return decodeBytes32String(reason);
  } catch {
    return reason;
  }
}

/** The lines that tell an operator what stops the treasury and the owners' command that undoes it. */
export function emergencyLines(state: EmergencyState): string[] {
  const lines: string[] = [];
  if (state.paused) {
    const by = state.pausedBy ? ` by ${state.pausedBy.by} at ${state.pausedBy.time} (block ${state.pausedBy.block})` : "";
    lines.push(`PAUSED${by}: nothing moves until the Safe owners unpause.\n  Owners: ${state.recovery}`);
  }
  for (const f of state.frozen) {
    const who = f.name ? `${f.name} (${f.agent})` : f.agent;
    const how = f.by ? ` ${f.reason === "strikes" ? "automatically after repeated denials" : `by ${f.by}`} at ${f.time} (block ${f.block})` : "";
    lines.push(`FROZEN agent ${who}${how}: nothing it signed moves.\n  Owners: ${f.recovery}`);
  }
  return lines;
}
