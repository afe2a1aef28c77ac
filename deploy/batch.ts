/**
 * Safe Transaction Builder batch files: what a live deployment hands to the Safe's owners instead of signing as
 * them. Import the file in the Safe app (Apps -> Transaction Builder -> drag and drop), review each call, create
 * the batch, collect the owners' signatures and execute. The format and checksum follow the Transaction Builder
 * (safe-global/safe-react-apps, apps/tx-builder: `meta.checksum` = keccak256 of the canonical serialisation with
 * `meta.name` set to null).
 *
 * Each call the Transaction Builder can decode is written as `contractMethod` plus `contractInputsValues` (and no
 * `data`), so the owners see the function and its arguments instead of raw hex: the Builder encodes the calldata
 * from them when it imports the file (a transaction that carries `data` is shown as raw hex). `buildBatch` checks
 * that the Builder's way of reading the values gives back exactly the planned calldata, and keeps the raw `data` for
 * any call it cannot describe that way.
 *
 * Also the MultiSendCallOnly encoding that the local pipeline uses to apply a batch in one Safe transaction.
 */
import fs from "fs";
import path from "path";
import {
  getAddress,
  keccak256,
  solidityPacked,
  toUtf8Bytes,
  Interface,
  dataLength,
  FunctionFragment,
  ParamType,
  Result,
} from "ethers";
import { moduleAbi } from "../sdk/bindings";

/** A function as the Transaction Builder describes it (its ABI entry). */
export interface ContractMethod {
  name: string;
  payable: boolean;
  inputs: ContractMethodInput[];
}

export interface ContractMethodInput {
  name: string;
  type: string;
  internalType: string;
  components?: ContractMethodInput[];
}

export interface BatchTransaction {
  to: string;
  /** wei, decimal string */
  value: string;
  /** Raw calldata: only for calls the Transaction Builder cannot show decoded. */
  data?: string;
  contractMethod?: ContractMethod;
  /** Argument name -> value as the Builder's form holds it: numbers as decimal strings, tuples and arrays as JSON. */
  contractInputsValues?: Record<string, string>;
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

/**
 * The functions batch files describe by name: the module's configuration calls, the Safe's module management, and
 * (v3) an ERC-20 `approve` for the Safe's allowances (`allowances` in the policy). Built on first use, with the
 * bindings (sdk/bindings.ts).
 */
let knownFunctions: FunctionFragment[] | undefined;
const knownFunctionsOf = (): FunctionFragment[] =>
  (knownFunctions ??= [
    ...new Interface(moduleAbi()).fragments,
    ...new Interface([
      "function enableModule(address module)",
      "function disableModule(address prevModule, address module)",
      "function approve(address spender, uint256 amount)",
    ]).fragments,
  ].filter((f): f is FunctionFragment => f.type === "function"));

/** internalType of an ABI parameter from the compiled ABI (JSON), e.g. "struct IAgentTreasuryTypes.AgentConfig". */
function internalTypes(): Map<string, ContractMethodInput[]> {
  const map = new Map<string, ContractMethodInput[]>();
  for (const entry of moduleAbi() as readonly {
    type: string;
    name?: string;
    inputs?: readonly ContractMethodInput[];
  }[]) {
    if (entry.type !== "function" || !entry.name || !entry.inputs) continue;
    map.set(FunctionFragment.from(entry as never).selector, entry.inputs as ContractMethodInput[]);
  }
  return map;
}
let internalTypesBySelector: Map<string, ContractMethodInput[]> | undefined;

function describeParam(p: ParamType, compiled?: ContractMethodInput): ContractMethodInput {
  const out: ContractMethodInput = { name: p.name, type: p.type, internalType: compiled?.internalType ?? p.type };
  // As in the ABI's JSON, an array of tuples (v3: setCallConditions' Condition[]) carries its tuple's components.
  let element = p;
  while (element.isArray()) element = element.arrayChildren;
  if (element.components)
    out.components = element.components.map((c, i) => describeParam(c, compiled?.components?.[i]));
  return out;
}

/** A decoded argument as JSON: numbers as decimal strings, booleans as booleans, tuples and arrays as arrays. */
function jsonValue(value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Result || Array.isArray(value)) return Array.from(value as unknown[], jsonValue);
  return value;
}

/** An argument as the Builder's form holds it (a string). */
function formValue(p: ParamType, value: unknown): string {
  if (p.baseType === "tuple" || p.baseType === "array") return JSON.stringify(jsonValue(value));
  if (typeof value === "boolean") return value ? "true" : "false";
  return String(jsonValue(value));
}

/** How the Transaction Builder reads a form value back (its parseInputValue): JSON for "[", booleans, numbers. */
export function readFormValue(input: ContractMethodInput, raw: string): unknown {
  if (raw.startsWith("[")) return JSON.parse(raw) as unknown;
  if (input.type === "bool") return raw.toLowerCase() === "true";
  if (/^u?int\d*$/.test(input.type)) return BigInt(raw);
  return raw;
}

/** The calldata the Transaction Builder produces for a transaction of the file. */
export function transactionCalldata(t: BatchTransaction): string {
  if (t.data !== undefined) return t.data;
  if (!t.contractMethod || !t.contractInputsValues)
    throw new BatchError(`A transaction to ${t.to} has neither data nor contractMethod.`);
  const m = t.contractMethod;
  const fragment = FunctionFragment.from({
    type: "function",
    name: m.name,
    inputs: m.inputs,
    stateMutability: m.payable ? "payable" : "nonpayable",
  });
  const args = m.inputs.map((input) => readFormValue(input, t.contractInputsValues![input.name] ?? ""));
  return new Interface([fragment]).encodeFunctionData(fragment, args);
}

/**
 * A call as the Transaction Builder shows it: its function and arguments, when the function is known, every
 * argument is named, and reading the values back gives exactly `data`; otherwise the raw `data`.
 */
export function describeTransaction(t: { to: string; value?: bigint; data: string }): BatchTransaction {
  const base = { to: getAddress(t.to), value: (t.value ?? 0n).toString() };
  const selector = dataLength(t.data) >= 4 ? t.data.slice(0, 10).toLowerCase() : "";
  const fragment = knownFunctionsOf().find((f) => f.selector === selector);
  if (!fragment || fragment.inputs.some((p) => p.name === "")) return { ...base, data: t.data };
  try {
    const args = new Interface([fragment]).decodeFunctionData(fragment, t.data);
    const compiled = (internalTypesBySelector ??= internalTypes()).get(selector);
    const described: BatchTransaction = {
      ...base,
      contractMethod: {
        name: fragment.name,
        payable: fragment.payable,
        inputs: fragment.inputs.map((p, i) => describeParam(p, compiled?.[i])),
      },
      contractInputsValues: Object.fromEntries(fragment.inputs.map((p, i) => [p.name, formValue(p, args[i])])),
    };
    return transactionCalldata(described).toLowerCase() === t.data.toLowerCase()
      ? described
      : { ...base, data: t.data };
  } catch {
    return { ...base, data: t.data };
  }
}

/** Builds a checksummed batch file; each call decoded for the Builder where it can be (`describeTransaction`). */
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
    transactions: input.transactions.map(describeTransaction),
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
    solidityPacked(
      ["uint8", "address", "uint256", "uint256", "bytes"],
      [0, t.to, t.value ?? 0n, dataLength(t.data), t.data],
    ),
  );
  const body = packed.length === 0 ? "0x" : `0x${packed.map((p) => p.slice(2)).join("")}`;
  return new Interface(MULTI_SEND_ABI).encodeFunctionData("multiSend", [body]);
}
