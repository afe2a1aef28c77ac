/**
 * Safe Transaction Builder batch files: what a live deployment hands to the Safe's owners instead of signing as
 * them. Import the file in the Safe app (Apps -> Transaction Builder -> drag and drop), review each call, create
 * the batch, collect the owners' signatures and execute. The format and checksum follow the Transaction Builder
 * (safe-global/safe-react-apps, apps/tx-builder: `meta.checksum` = keccak256 of the canonical serialisation with
 * `meta.name` set to null).
 *
 * Also the MultiSendCallOnly encoding that the local pipeline uses to apply a batch in one Safe transaction.
 */
import fs from "fs";
import path from "path";
import { getAddress, keccak256, solidityPacked, toUtf8Bytes, Interface, dataLength } from "ethers";

export interface BatchTransaction {
  to: string;
  /** wei, decimal string */
  value: string;
  data: string;
}

export interface BatchFile {
  version: "1.0";
  chainId: string;
  createdAt: number;
  meta: {
    name: string;
    description: string;
    txBuilderVersion: string;
    createdFromSafeAddress: string;
    createdFromOwnerAddress: string;
    checksum?: string;
  };
  transactions: BatchTransaction[];
}

/** A batch file is unreadable or was modified after it was written. */
export class BatchError extends Error {
  readonly code = "BATCH_INVALID";
  constructor(message: string) {
    super(message);
    this.name = "BatchError";
  }
}

const TX_BUILDER_VERSION = "1.18.0";

// The Transaction Builder's canonical serialisation: sorted keys, undefined as null.
function serialize(json: unknown): string {
  const replacer = (_: string, value: unknown) => (value === undefined ? null : value);
  if (Array.isArray(json)) return `[${json.map((el) => serialize(el)).join(",")}]`;
  if (typeof json === "object" && json !== null) {
    const record = json as Record<string, unknown>;
    const keys = Object.keys(record).sort();
    let acc = `{${JSON.stringify(keys, replacer)}`;
    for (const key of keys) acc += `${serialize(record[key])},`;
    return `${acc}}`;
  }
  return JSON.stringify(json, replacer);
}

/** The Transaction Builder checksum of a batch (computed without `meta.checksum`, with `meta.name` null). */
export function batchChecksum(batch: BatchFile): string {
  const meta: Record<string, unknown> = { ...batch.meta, name: null };
  delete meta.checksum;
  return keccak256(toUtf8Bytes(serialize({ ...batch, meta })));
}

export interface BatchInput {
  chainId: bigint | string;
  safe: string;
  name: string;
  description: string;
  transactions: { to: string; value?: bigint; data: string }[];
  createdAt?: number;
}

/** Builds a checksummed batch file. */
export function buildBatch(input: BatchInput): BatchFile {
  const batch: BatchFile = {
    version: "1.0",
    chainId: input.chainId.toString(),
    createdAt: input.createdAt ?? Date.now(),
    meta: {
      name: input.name,
      description: input.description,
      txBuilderVersion: TX_BUILDER_VERSION,
      createdFromSafeAddress: getAddress(input.safe),
      createdFromOwnerAddress: "",
    },
    transactions: input.transactions.map((t) => ({ to: getAddress(t.to), value: (t.value ?? 0n).toString(), data: t.data })),
  };
  batch.meta.checksum = batchChecksum(batch);
  return batch;
}

export function writeBatch(file: string, batch: BatchFile): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(batch, null, 2)}\n`);
  return file;
}

/** Reads a batch file and checks its checksum. Throws {@link BatchError}. */
export function readBatch(file: string): BatchFile {
  let batch: BatchFile;
  try {
    batch = JSON.parse(fs.readFileSync(file, "utf8")) as BatchFile;
  } catch (error) {
    throw new BatchError(`Cannot read batch file ${file}: ${(error as Error).message}`);
  }
  if (!batch.meta?.checksum || batchChecksum(batch) !== batch.meta.checksum) {
    throw new BatchError(`Batch file ${file} does not match its checksum: it was modified after it was written.`);
  }
  return batch;
}

export const MULTI_SEND_ABI = ["function multiSend(bytes transactions) payable"];

/** Packs calls for MultiSendCallOnly.multiSend: (uint8 operation=0, address to, uint256 value, uint256 len, bytes data)*. */
export function encodeMultiSend(transactions: { to: string; value?: bigint; data: string }[]): string {
  const packed = transactions.map((t) =>
    solidityPacked(["uint8", "address", "uint256", "uint256", "bytes"], [0, t.to, t.value ?? 0n, dataLength(t.data), t.data]),
  );
  const body = packed.length === 0 ? "0x" : `0x${packed.map((p) => p.slice(2)).join("")}`;
  return new Interface(MULTI_SEND_ABI).encodeFunctionData("multiSend", [body]);
}
