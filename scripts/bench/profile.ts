/**
 * A small gas profiler for one transaction (BENCH_PROFILE=1): replays it with `debug_traceTransaction` and the
 * struct logger, then attributes every opcode's own cost to its call frame, grouped as storage reads, storage
 * writes, calls and account access, logs, hashing and the rest (compute, memory, calldata copies).
 *
 * A call opcode's own cost is its inclusive cost (gas before it minus gas at the next step of the same frame)
 * minus what the callee consumed, so the frames add up to the transaction's execution gas exactly; the
 * intrinsic gas (21,000 plus calldata) and the refund are shown apart and the total is checked against the
 * receipt.
 */
import { network } from "hardhat";
import { getBytes } from "ethers";

interface StructLog {
  pc: number;
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  stack?: string[];
}

const CATEGORIES = ["SLOAD", "SSTORE", "CALL", "LOG", "KECCAK", "other"] as const;
type Category = (typeof CATEGORIES)[number];

interface Cell {
  count: number;
  gas: number;
}

export interface Frame {
  depth: number;
  label: string;
  cells: Record<Category, Cell>;
  /** Sum of the frame's own costs (callees excluded). */
  self: number;
}

export interface Profile {
  gasUsed: number;
  intrinsic: number;
  execution: number;
  refund: number;
  frames: Frame[];
}

/** The profiler could not account for the receipt's gas: its output would mislead. */
export class ProfileMismatchError extends Error {
  readonly code = "BENCH_PROFILE_MISMATCH";
  constructor(what: string) {
    super(
      `${what}. The struct logger output changed shape: check scripts/bench/profile.ts against this Hardhat version.`,
    );
    this.name = "ProfileMismatchError";
  }
}

const CALL_OPS = new Set(["CALL", "CALLCODE", "DELEGATECALL", "STATICCALL", "CREATE", "CREATE2"]);
const ACCOUNT_OPS = new Set(["BALANCE", "EXTCODESIZE", "EXTCODEHASH", "EXTCODECOPY", "SELFBALANCE"]);

function category(op: string): Category {
  if (op === "SLOAD" || op === "TLOAD") return "SLOAD";
  if (op === "SSTORE" || op === "TSTORE") return "SSTORE";
  if (CALL_OPS.has(op) || ACCOUNT_OPS.has(op)) return "CALL";
  if (op.startsWith("LOG")) return "LOG";
  if (op === "KECCAK256" || op === "SHA3") return "KECCAK";
  return "other";
}

function emptyFrame(depth: number, label: string): Frame {
  const cells = Object.fromEntries(CATEGORIES.map((c) => [c, { count: 0, gas: 0 }])) as Record<Category, Cell>;
  return { depth, label, cells, self: 0 };
}

/** Gas of the transaction's calldata: 16 per non-zero byte, 4 per zero byte. */
function calldataGas(data: string): number {
  return getBytes(data).reduce((sum, b) => sum + (b === 0 ? 4 : 16), 0);
}

/**
 * Profiles a mined transaction. `labels` names known addresses (lower case); call targets not in it are shown by
 * address, precompiles by their number.
 */
export async function profileTransaction(hash: string, labels: Map<string, string>, gasUsed: bigint): Promise<Profile> {
  const trace = (await network.provider.send("debug_traceTransaction", [
    hash,
    { disableMemory: true, disableStorage: true, disableStack: false },
  ])) as { structLogs: StructLog[] };
  const tx = (await network.provider.send("eth_getTransactionByHash", [hash])) as { input: string; to: string };
  const steps = trace.structLogs;
  const frames: Frame[] = [];
  const base = steps.length > 0 ? steps[0].depth : 1;

  // Stack words come as 32-byte hex, with or without 0x: the address is the low 20 bytes.
  const nameOf = (word: string): string => {
    const n = BigInt(word.startsWith("0x") ? word : `0x${word}`) & ((1n << 160n) - 1n);
    const a = `0x${n.toString(16).padStart(40, "0")}`;
    const known = labels.get(a);
    if (known) return known;
    return n > 0n && n < 0x100n ? `precompile 0x${n.toString(16)}` : a;
  };

  // Walks the steps of one frame starting at `i`; returns the index of the first step after it and the gas it
  // consumed (own costs plus callees).
  const walk = (start: number, depth: number, frame: Frame): [number, number] => {
    let i = start;
    let consumed = 0;
    while (i < steps.length && steps[i].depth === depth) {
      const s = steps[i];
      const next = steps[i + 1];
      const cat = category(s.op);
      if (CALL_OPS.has(s.op) && next !== undefined && next.depth === depth + 1) {
        const stack = s.stack ?? [];
        const target = s.op.startsWith("CREATE") ? "new contract" : nameOf(stack[stack.length - 2] ?? "0x0");
        const child = emptyFrame(depth + 1 - base + 1, `${s.op} ${target}`);
        frames.push(child);
        const [after, childConsumed] = walk(i + 1, depth + 1, child);
        const inclusive = after < steps.length ? s.gas - steps[after].gas : s.gasCost;
        add(frame, cat, inclusive - childConsumed);
        consumed += inclusive;
        i = after;
        continue;
      }
      const own = next !== undefined && next.depth === depth ? s.gas - next.gas : s.gasCost;
      // A call into an account without code (an ETH transfer) or a precompile has no frame of its own.
      if (CALL_OPS.has(s.op)) {
        const stack = s.stack ?? [];
        const target = nameOf(stack[stack.length - 2] ?? "0x0");
        if (target.startsWith("precompile")) {
          const pre = frameFor(frames, depth + 1 - base + 1, `${s.op} ${target}`);
          add(pre, "CALL", own);
          consumed += own;
          i += 1;
          continue;
        }
      }
      add(frame, cat, own);
      consumed += own;
      i += 1;
    }
    return [i, consumed];
  };

  const top = emptyFrame(1, nameOf(tx.to));
  frames.push(top);
  const [, execution] = walk(0, base, top);
  const intrinsic = 21_000 + calldataGas(tx.input);
  const used = Number(gasUsed);
  const refund = intrinsic + execution - used;
  if (refund < 0 || refund > Math.floor((intrinsic + execution) / 5)) {
    throw new ProfileMismatchError(
      `intrinsic ${intrinsic} + execution ${execution} vs gasUsed ${used} implies a refund of ${refund}`,
    );
  }
  return { gasUsed: used, intrinsic, execution, refund, frames };
}

function add(frame: Frame, cat: Category, gas: number): void {
  frame.cells[cat].count += 1;
  frame.cells[cat].gas += gas;
  frame.self += gas;
}

function frameFor(frames: Frame[], depth: number, label: string): Frame {
  const f = emptyFrame(depth, label);
  frames.push(f);
  return f;
}

const fmt = (n: number): string => n.toLocaleString("en-US");

/** The profile as text lines, one per call frame in call order, indented by depth. */
export function formatProfile(name: string, p: Profile): string[] {
  const cell = (c: Cell): string => (c.count === 0 ? "-" : `${c.count}x ${fmt(c.gas)}`);
  const header = [
    "frame (own costs)",
    "SLOAD/TLOAD",
    "SSTORE/TSTORE",
    "CALL+account",
    "LOG",
    "KECCAK",
    "other",
    "own total",
  ];
  const rows = p.frames.map((f) => [
    `${"  ".repeat(f.depth - 1)}${f.depth} ${f.label}`,
    ...CATEGORIES.map((c) => cell(f.cells[c])),
    fmt(f.self),
  ]);
  const totals = CATEGORIES.map((c) => {
    const sum = p.frames.reduce((s, f) => ({ count: s.count + f.cells[c].count, gas: s.gas + f.cells[c].gas }), {
      count: 0,
      gas: 0,
    });
    return cell(sum);
  });
  rows.push(["all frames", ...totals, fmt(p.execution)]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join("  ");
  return [
    `profile: ${name} (gasUsed ${fmt(p.gasUsed)} = intrinsic ${fmt(p.intrinsic)} [21,000 + calldata ${fmt(
      p.intrinsic - 21_000,
    )}] + execution ${fmt(p.execution)} - refund ${fmt(p.refund)})`,
    "  " + line(header),
    ...rows.map((r) => "  " + line(r)),
  ];
}
