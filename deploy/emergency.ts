/**
 * What stops the treasury, as `treasury:plan` and `treasury:status` show it: whether the module is paused and which
 * agents are frozen, by whom, and the owners' command that undoes each (deploy/owners.ts runs those commands).
 *
 * Takes a {@link ChainContext}: no Hardhat.
 */
import { Contract, Interface, decodeBytes32String, getAddress } from "ethers";
import type { ChainContext } from "../core/chainContext";
import { formatTimestamp } from "../core/units";
import { scanLogs } from "./chainState";

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
  chain: ChainContext,
  target: { module: string; moduleBlock?: number },
  opts: { names?: Record<string, string>; network?: string } = {},
): Promise<EmergencyState> {
  const provider = chain.provider;
  const network = opts.network ?? chain.network;
  const module = new Contract(target.module, EMERGENCY_ABI, provider);
  const topics = ["Paused", "AgentFrozen", "AgentRotated"].map((name) => EMERGENCY_EVENTS.getEvent(name)!.topicHash);
  const logs = await scanLogs(provider, target.module, topics, target.moduleBlock ?? 0);
  const nameOf = (address: string) => opts.names?.[address.toLowerCase()];
  const times = new Map<number, string>();
  const at = async (log: { blockNumber: number; transactionHash: string }, by: string): Promise<EmergencyEvent> => {
    if (!times.has(log.blockNumber))
      times.set(log.blockNumber, formatTimestamp((await provider.getBlock(log.blockNumber))?.timestamp ?? 0));
    return {
      by: getAddress(by),
      block: log.blockNumber,
      time: times.get(log.blockNumber)!,
      txHash: log.transactionHash,
    };
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
    const by = state.pausedBy
      ? ` by ${state.pausedBy.by} at ${state.pausedBy.time} (block ${state.pausedBy.block})`
      : "";
    lines.push(`PAUSED${by}: nothing moves until the Safe owners unpause.\n  Owners: ${state.recovery}`);
  }
  for (const f of state.frozen) {
    const who = f.name ? `${f.name} (${f.agent})` : f.agent;
    const how = f.by
      ? ` ${f.reason === "strikes" ? "automatically after repeated denials" : `by ${f.by}`} at ${f.time} (block ${f.block})`
      : "";
    lines.push(`FROZEN agent ${who}${how}: nothing it signed moves.\n  Owners: ${f.recovery}`);
  }
  return lines;
}
