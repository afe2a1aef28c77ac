/**
 * The compiler's storage layout of AgentTreasuryModule, read from Hardhat's build info (hardhat.config.ts keeps
 * `storageLayout` in the output selection). Shared by the specs that check or use slot positions: the lens's
 * constants (Lens.spec.ts) and counters that only tens of thousands of transactions could fill, set directly in
 * storage (`stateField`, `mappedStructField`, `writeField`: EmergencyControls, EscalationQueue and SpendingLimits).
 */
import hre from "hardhat";
import { setStorageAt } from "@nomicfoundation/hardhat-network-helpers";
import { AbiCoder, keccak256, toBeHex } from "ethers";
import type { Treasury } from "./fixtures";

export interface StorageEntry {
  label: string;
  slot: string;
  offset: number;
  type: string;
}

export interface StorageType {
  encoding: string;
  label: string;
  numberOfBytes: string;
  key?: string;
  value?: string;
  members?: StorageEntry[];
}

export interface StorageLayout {
  storage: StorageEntry[];
  types: Record<string, StorageType>;
}

/** AgentTreasuryModule's storage layout; throws with what to do when the build info lacks it. */
export async function moduleLayout(): Promise<StorageLayout> {
  const fqn = "contracts/AgentTreasuryModule.sol:AgentTreasuryModule";
  const info = await hre.artifacts.getBuildInfo(fqn);
  if (!info) throw new Error(`no build info for ${fqn}: run npx hardhat compile`);
  const output = info.output.contracts["contracts/AgentTreasuryModule.sol"].AgentTreasuryModule as unknown as {
    storageLayout?: StorageLayout;
  };
  if (!output.storageLayout) {
    throw new Error("storageLayout missing: keep outputSelection storageLayout in hardhat.config.ts");
  }
  return output.storageLayout;
}

// ------------------------------------------------------------------ single fields of the module's storage

/** Where a value lives: its slot, its first bit within the slot and its width in bits. */
export interface Field {
  slot: bigint;
  shift: bigint;
  bits: bigint;
}

function entryOf(layout: StorageLayout, label: string): StorageEntry {
  const entry = layout.storage.find((e) => e.label === label);
  if (!entry) throw new Error(`no state variable ${label} in AgentTreasuryModule's storage layout`);
  return entry;
}

function fieldOf(layout: StorageLayout, entry: StorageEntry, base: bigint): Field {
  return {
    slot: base + BigInt(entry.slot),
    shift: BigInt(entry.offset) * 8n,
    bits: BigInt(layout.types[entry.type].numberOfBytes) * 8n,
  };
}

/** A state variable of value type. */
export async function stateField(label: string): Promise<Field> {
  const layout = await moduleLayout();
  return fieldOf(layout, entryOf(layout, label), 0n);
}

/** A member of the struct `mapping[key]` (an address-keyed mapping of structs). */
export async function mappedStructField(mapping: string, key: string, member: string): Promise<Field> {
  const layout = await moduleLayout();
  const entry = entryOf(layout, mapping);
  const struct = layout.types[layout.types[entry.type].value!];
  const m = struct.members?.find((x) => x.label === member);
  if (!m) throw new Error(`no member ${member} in the values of ${mapping}`);
  const base = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(["address", "uint256"], [key, BigInt(entry.slot)])));
  return fieldOf(layout, m, base);
}

export async function readField(fx: Treasury, f: Field): Promise<bigint> {
  const [word] = await fx.module.extsload([toBeHex(f.slot, 32)]);
  return (BigInt(word) >> f.shift) & ((1n << f.bits) - 1n);
}

/** Overwrites one field of the module's storage, keeping the rest of its slot. */
export async function writeField(fx: Treasury, f: Field, value: bigint): Promise<void> {
  const [word] = await fx.module.extsload([toBeHex(f.slot, 32)]);
  const mask = ((1n << f.bits) - 1n) << f.shift;
  await setStorageAt(fx.moduleAddress, f.slot, toBeHex((BigInt(word) & ~mask) | (value << f.shift), 32));
}
