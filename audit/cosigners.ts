/**
 * The co-signer set over the audit's range, as the module holds it: members, threshold and era. The era changes
 * whenever the ordered member list does (SPEC section 6: a change of members voids pending on-chain approvals; a
 * change of the threshold alone keeps them). Replayed from `CosignersSet` logs, so no archive node is needed.
 */
import { Provider } from "ethers";
import { decodeModuleLog, moduleInterface } from "../monitor/events";

const lower = (a: string) => a.toLowerCase();

/** The co-signer set as the module holds it: `era` changes whenever the ordered member list does (SPEC section 6). */
export interface CosignerState {
  members: string[];
  threshold: number;
  era: number;
  /** Block time from which it holds. */
  since: number;
}

export function nextCosignerState(
  state: CosignerState,
  members: string[],
  threshold: number,
  time: number,
): CosignerState {
  const changed =
    members.length !== state.members.length || members.some((m, i) => lower(m) !== lower(state.members[i]));
  return { members, threshold, era: changed ? state.era + 1 : state.era, since: time };
}

/** The co-signer set in force just before `fromBlock`, replayed from its `CosignersSet` events (logs only, no archive). */
export async function cosignersBefore(
  provider: Provider,
  module: string,
  fromBlock: number,
  chunkSize: number,
): Promise<CosignerState> {
  let state: CosignerState = { members: [], threshold: 0, era: 0, since: 0 };
  if (fromBlock <= 0) return state;
  const topic = moduleInterface().getEvent("CosignersSet")!.topicHash;
  const filter = { address: module, topics: [topic] };
  let logs;
  try {
    logs = await provider.getLogs({ ...filter, fromBlock: 0, toBlock: fromBlock - 1 });
  } catch {
    logs = [];
    for (let start = 0; start < fromBlock; start += chunkSize) {
      logs.push(
        ...(await provider.getLogs({
          ...filter,
          fromBlock: start,
          toBlock: Math.min(fromBlock - 1, start + chunkSize - 1),
        })),
      );
    }
  }
  for (const log of logs.sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index)) {
    const e = decodeModuleLog(log);
    if (e?.kind === "CosignersSet") state = nextCosignerState(state, e.members, e.threshold, 0);
  }
  return state;
}
