/**
 * Step 3 of `treasury:deploy` (deploy/pipeline.ts): the configuration is the plan (deploy/plan.ts), enableModule
 * plus every call that makes the module match the file, and the disabling of a module the new one supersedes. On
 * chain 31337, for a Safe the pipeline created, the Safe owners' development keys sign it as MultiSendCallOnly
 * batches ({@link executeAsOwners}, also what `treasury:apply` and the owners' commands use locally). Anywhere else
 * the pipeline never signs as an owner: it writes a Safe Transaction Builder batch file and says what to do next.
 *
 * Reads and writes through a {@link ChainContext} and ethers wallets: no Hardhat.
 */
import fs from "fs";
import path from "path";
import { BaseWallet, Contract, Provider, getAddress } from "ethers";
import type { ChainContext } from "../core/chainContext";
import type { DeploymentRecord } from "../core/deployment";
import type { PlanItem } from "../core/policyDiff";
import {
  EXECUTION_FAILURE_TOPIC,
  SAFE_ABI,
  buildSafeTx,
  execSafeCall,
  execTransactionArgs,
  signSafeTx,
} from "../sdk/safe";
import { buildBatch, encodeMultiSend, readBatch, writeBatch } from "./batch";
import { DeploymentFailedError } from "./errors";
import { planPolicy } from "./plan";
import type { DeploymentSpec } from "./resolve";

const MAX_CALLS_PER_SAFE_TX = 25;

/**
 * Executes plan items from the Safe, signed by `owners`, as MultiSendCallOnly batches (one Safe tx per batch; a
 * single call goes straight to its target). Returns the hashes of the Safe transactions.
 */
export async function executeAsOwners(
  safeAddress: string,
  multiSendCallOnly: string,
  owners: BaseWallet[],
  submitter: BaseWallet,
  items: { description: string; call: { to: string; data: string } }[],
  log: (line: string) => void = () => {},
): Promise<string[]> {
  const safe = new Contract(safeAddress, SAFE_ABI, submitter);
  if (!submitter.provider) throw new Error("executeAsOwners: the submitter must be connected to a provider");
  const chainId = (await submitter.provider.getNetwork()).chainId;
  const hashes: string[] = [];
  for (let start = 0; start < items.length; start += MAX_CALLS_PER_SAFE_TX) {
    const chunk = items.slice(start, start + MAX_CALLS_PER_SAFE_TX);
    if (chunk.length === 1) {
      hashes.push((await execSafeCall(safe, owners, submitter, chunk[0].call.to, chunk[0].call.data)).hash);
    } else {
      const data = encodeMultiSend(chunk.map((i) => i.call));
      const tx = await buildSafeTx(safe, multiSendCallOnly, data, 0n, 1);
      const signatures = await signSafeTx(owners, tx, chainId, safeAddress);
      let receipt;
      try {
        const sent = await safe.execTransaction(...execTransactionArgs(tx, signatures));
        receipt = await sent.wait();
      } catch (error) {
        throw new DeploymentFailedError(
          `The Safe batch of ${chunk.length} configuration calls failed (${(error as Error).message.split("\n")[0]}). ` +
            `Calls:\n  ${chunk.map((i) => i.description).join("\n  ")}\nRun treasury:plan to see what is still to apply.`,
        );
      }
      if (
        !receipt ||
        receipt.status !== 1 ||
        receipt.logs.some((l: { topics: readonly string[] }) => l.topics[0] === EXECUTION_FAILURE_TOPIC)
      ) {
        throw new DeploymentFailedError(
          `The Safe batch of ${chunk.length} configuration calls reverted inside the Safe.`,
        );
      }
      hashes.push(receipt.hash);
    }
    for (const item of chunk) log(`applied: ${item.description}`);
  }
  return hashes;
}

/** What the configuration step did, or left to the owners. */
export interface Configuration {
  /** `configured: …` for each call executed (local mode). */
  changed: string[];
  /** The calls still to sign (live mode; empty once the chain matches). */
  pending: PlanItem[];
  batchFile?: string;
  nextSteps: string[];
}

/** Applies the plan (local mode) or writes it as a batch file for the owners (see the file header). */
export async function configureTreasury(
  chain: ChainContext,
  spec: DeploymentSpec,
  ctx: { moduleBlock?: number; previous?: DeploymentRecord; dir: string; log: (line: string) => void },
): Promise<Configuration> {
  const { provider } = chain;
  const target = {
    safe: spec.safe,
    module: spec.module,
    lens: spec.lens,
    moduleBlock: ctx.moduleBlock,
    tokens: spec.resolved.tokens,
    localPriceFeeds: spec.localFeedAddresses,
  };
  const superseded = await supersededModuleItem(provider, ctx.previous, spec.safe, spec.resolved.salt, spec.module);
  const fullPlan = async () => [
    ...(superseded && (await stillEnabled(provider, spec.safe, superseded.module)) ? [superseded.item] : []),
    ...(await planPolicy(chain, spec.resolved, target)),
  ];
  const items = await fullPlan();
  if (items.length === 0) return { changed: [], pending: [], nextSteps: [] };
  if (!spec.localMode) return writeOwnersBatch(chain, spec, items, ctx);
  ctx.log(
    `configuring: ${items.length} Safe call(s), signed by ${spec.ownerWallets.length} owner key(s) on the local chain`,
  );
  await executeAsOwners(spec.safe, spec.safeInfra!.multiSendCallOnly, spec.ownerWallets, spec.deployer, items, ctx.log);
  const remaining = await fullPlan();
  if (remaining.length > 0) {
    throw new DeploymentFailedError(
      `After applying the policy, ${remaining.length} change(s) remain: ${remaining.map((i) => i.description).join("; ")}`,
    );
  }
  return { changed: items.map((i) => `configured: ${i.description}`), pending: [], nextSteps: [] };
}

/** Live mode: the calls as a Transaction Builder batch in `<dir>/batches/`, and the owners' next steps. */
async function writeOwnersBatch(
  chain: ChainContext,
  spec: DeploymentSpec,
  items: PlanItem[],
  ctx: { dir: string; log: (line: string) => void },
): Promise<Configuration> {
  const nonce = (await new Contract(spec.safe, SAFE_ABI, chain.provider).nonce()) as bigint;
  const batchFile = path.join(ctx.dir, "batches", `${spec.chainId}-${spec.safe}-nonce${nonce}.json`);
  const batch = buildBatch({
    chainId: spec.chainId,
    safe: spec.safe,
    name: `Agent Treasury Guard: ${path.basename(spec.policyFile)}`,
    description: items.map((i, n) => `${n + 1}. ${i.loosens ? "[loosens] " : ""}${i.description}`).join("\n"),
    transactions: items.map((i) => i.call),
  });
  // An unchanged pending batch is not rewritten (its checksum and the owners' review stay valid).
  if (!sameBatchOnDisk(batchFile, batch)) writeBatch(batchFile, batch);
  const nextSteps = [
    `Open the Safe ${spec.safe} in the Safe app (chain ${spec.chainId}) -> Apps -> Transaction Builder.`,
    `Drag in ${batchFile} and check the ${items.length} call(s) against the list above (loosening changes are marked).`,
    `Create the batch, collect the owners' signatures and execute it.`,
    `Then run: npx hardhat treasury:plan --policy ${spec.policyFile} --network ${chain.network}  (it should show nothing to do).`,
  ];
  for (const step of nextSteps) ctx.log(`next: ${step}`);
  return { changed: [], pending: items, batchFile, nextSteps };
}

function sameBatchOnDisk(file: string, batch: ReturnType<typeof buildBatch>): boolean {
  if (!fs.existsSync(file)) return false;
  try {
    const existing = readBatch(file);
    return (
      existing.chainId === batch.chainId && JSON.stringify(existing.transactions) === JSON.stringify(batch.transactions)
    );
  } catch {
    return false;
  }
}

const SENTINEL_MODULES = "0x0000000000000000000000000000000000000001";
const MODULE_LIST_ABI = [
  "function getModulesPaginated(address start, uint256 pageSize) view returns (address[] array, address next)",
  "function disableModule(address prevModule, address module)",
  "function isModuleEnabled(address module) view returns (bool)",
];

async function stillEnabled(provider: Provider, safe: string, module: string): Promise<boolean> {
  return Boolean(await new Contract(safe, MODULE_LIST_ABI, provider).isModuleEnabled(module));
}

/**
 * When the contracts changed since the last deployment (new implementation, so a new clone for the same Safe and
 * salt), the old module must not stay enabled beside the new one with its old agents: the plan disables it.
 */
async function supersededModuleItem(
  provider: Provider,
  previous: DeploymentRecord | undefined,
  safe: string,
  salt: string,
  module: string,
): Promise<{ module: string; item: PlanItem } | undefined> {
  if (
    !previous ||
    previous.salt !== salt ||
    getAddress(previous.safe) !== safe ||
    getAddress(previous.module) === module
  )
    return undefined;
  const old = getAddress(previous.module);
  const contract = new Contract(safe, MODULE_LIST_ABI, provider);
  if (!(await contract.isModuleEnabled(old))) return undefined;
  const [modules] = (await contract.getModulesPaginated(SENTINEL_MODULES, 50)) as [string[], string];
  const index = modules.map((m) => m.toLowerCase()).indexOf(old.toLowerCase());
  if (index < 0) return undefined;
  const prev = index === 0 ? SENTINEL_MODULES : modules[index - 1];
  return {
    module: old,
    item: {
      kind: "disableModule",
      description: `disable the superseded module ${old} (same Safe and salt, earlier contract code) before the new one takes over`,
      loosens: false,
      call: { to: safe, data: contract.interface.encodeFunctionData("disableModule", [prev, old]) },
    },
  };
}
