/**
 * The model-based invariant campaign: random sequences of operations (submits that are valid, over the cap,
 * forged, replayed, expired or conflicting; batches of them for any mix of agents (`submitBatch`); approvals, executions, cancels, time jumps, pauses, freezes,
 * configuration changes and key rotations, over three agents, three assets and three co-signers) run against the
 * real Safe + module on the in-process Hardhat chain and against the TypeScript model (./model.ts).
 *
 * After every step the campaign checks:
 * - the outcome: the module's custom error and arguments, or its events, equal the model's prediction;
 * - the state: balances, nonces, flags, allowances, limits, configuration, intent records, idempotency bindings,
 *   pause and co-signers, read in one call through InvariantProbe, equal the model's;
 * - SPEC section 9, independently of the model: 1 bounded loss (sliding sums of observed auto-tier executions,
 *   per asset, treasury-wide and, v3, in USD for the identities with a USD limit, valued at the prices the campaign
 *   set),
 *   2 exactly once (ids, nonces, key bindings), 3 escalation (threshold, eta, grace), 4 nothing moves while paused
 *   or for a frozen/expired/removed agent, 5 only the Safe configures, 6 one outcome per accepted intent,
 *   7 foreign signatures worthless, 8 rotation keeps the allowance.
 *
 * Each run starts from an EVM snapshot of the same world (evm_snapshot / evm_revert) and from a copy of the model.
 * Owner calls are sent by the Safe itself, impersonated; gas is priced at zero so that every ETH balance is exact.
 */
import fc from "fast-check";
import {
  Contract,
  Interface,
  Signature,
  ZeroAddress,
  ZeroHash,
  concat,
  id,
  parseEther,
  parseUnits,
  toBeHex,
} from "ethers";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { hashIntent, signCosignerApproval, signIntent } from "../../sdk/eip712";
import * as M from "./model";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const DAY = 86_400n;
const GAS = "0x7a1200"; // 8,000,000
const ERC20 = new Interface([
  "function transfer(address,uint256)",
  "function approve(address,uint256)",
  "function mint(address,uint256)",
]);
const PING = new Interface(["function ping(uint256)"]).getFunction("ping")!.selector;

/** Operations. Numbers are indices or choices resolved against the model at run time. */
export type Op =
  | (PaymentChoice & {
      k: "pay";
      timing: number;
      nonce: number;
      lane: number;
      /** 0 submit, 1 submit signed for review, 2 propose signed for review, 3 propose not signed for review. */
      route: number;
      oldKey: boolean;
    })
  | { k: "call"; who: number; variant: number; value: number }
  | { k: "batch"; items: BatchItem[]; self: boolean }
  | { k: "replay"; pick: number }
  | { k: "approve"; c: number; pick: number }
  | { k: "execute"; pick: number; mask: number; mode: number; wait: boolean }
  | { k: "cancel"; pick: number; by: number }
  | { k: "warp"; dt: number }
  | { k: "pause"; by: number }
  | { k: "unpause"; by: number }
  | { k: "freeze"; who: number; by: number }
  | { k: "unfreeze"; who: number; by: number }
  | { k: "limit"; who: number; asset: number; variant: number; a: number; b: number; c: number }
  | { k: "rotate"; who: number }
  | { k: "cosigners"; mask: number; reverse: boolean; threshold: number }
  | { k: "treasury"; asset: number; on: boolean; amount: number }
  | { k: "config"; who: number; variant: number }
  | { k: "remove"; who: number }
  | { k: "readd"; who: number }
  | { k: "intrude"; fn: number; by: number }
  /** v3: 0 a new price now (from PRICES), 1 the feed reverts, 2 it answers again. */
  | { k: "feed"; asset: number; variant: number; price: number };

/** Prices the campaign gives its feeds, in dollars per whole unit: [ETH, USDC, TKN][choice]. */
const PRICES = [
  [2000, 1500, 2500],
  [1, 1, 1],
  [5, 2, 8],
];
/** How old a feed's answer may be (s): the campaign's warps make the feeds stale now and then. */
const FEED_MAX_AGE = 90_000n;

/**
 * One intent of a `submitBatch`: like a payment, with the signature variants a batch can carry (0 the agent's, 2 the
 * attacker's, 5 empty from whoever sends the batch). Its nonce is the agent's next one after the earlier intents of
 * the batch on the same lane (`nonce` 1 or 2 puts it off by one).
 */
export interface BatchItem extends PaymentChoice {
  nonce: number;
  review: boolean;
}

/** What a payment (single or in a batch) chooses: agent, asset, recipient, amount, idempotency key, signature variant. */
export interface PaymentChoice {
  who: number;
  asset: number;
  to: number;
  amt: number;
  key: number;
  sig: number;
}

const WARPS = [
  1, 30, 599, 600, 601, 899, 900, 1799, 1800, 3599, 3600, 3601, 7199, 7200, 86_399, 86_400, 86_401, 172_800,
];

/** The arbitrary for one operation, weighted toward submissions. */
export function opArbitrary(): fc.Arbitrary<Op> {
  const who = fc.integer({ min: 0, max: 2 });
  const asset = fc.integer({ min: 0, max: 2 });
  const pick = fc.nat({ max: 1000 });
  return fc.oneof(
    {
      weight: 14,
      arbitrary: fc.record({
        k: fc.constant("pay" as const),
        who,
        asset,
        to: fc.integer({ min: 0, max: 2 }),
        amt: fc.integer({ min: 0, max: 6 }),
        key: fc.oneof(
          { weight: 3, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.constant(1) },
          { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) },
        ),
        sig: fc.oneof(
          { weight: 8, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.constant(1) },
          { weight: 3, arbitrary: fc.integer({ min: 2, max: 6 }) },
        ),
        timing: fc.oneof(
          { weight: 8, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.integer({ min: 1, max: 3 }) },
        ),
        nonce: fc.oneof(
          { weight: 8, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 }) },
        ),
        lane: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }),
        route: fc.oneof(
          { weight: 10, arbitrary: fc.constant(0) },
          { weight: 2, arbitrary: fc.constant(1) },
          { weight: 2, arbitrary: fc.constant(2) },
          { weight: 1, arbitrary: fc.constant(3) },
        ),
        oldKey: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("call" as const),
        who,
        variant: fc.integer({ min: 0, max: 6 }),
        value: fc.integer({ min: 0, max: 2 }),
      }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("batch" as const),
        items: fc.array(
          fc.record({
            who: fc.oneof(
              { weight: 3, arbitrary: fc.constant(0) },
              { weight: 2, arbitrary: fc.integer({ min: 1, max: 2 }) },
            ),
            asset,
            to: fc.integer({ min: 0, max: 2 }),
            amt: fc.integer({ min: 0, max: 6 }),
            key: fc.oneof(
              { weight: 3, arbitrary: fc.constant(0) },
              { weight: 2, arbitrary: fc.constant(1) },
              { weight: 1, arbitrary: fc.integer({ min: 2, max: 3 }) },
            ),
            sig: fc.oneof({ weight: 20, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(2, 5) }),
            nonce: fc.oneof(
              { weight: 20, arbitrary: fc.constant(0) },
              { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
            ),
            review: fc.oneof({ weight: 6, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        self: fc.oneof({ weight: 4, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      }),
    },
    { weight: 2, arbitrary: fc.record({ k: fc.constant("replay" as const), pick }) },
    {
      weight: 3,
      arbitrary: fc.record({ k: fc.constant("approve" as const), c: fc.integer({ min: 0, max: 3 }), pick }),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        k: fc.constant("execute" as const),
        pick,
        mask: fc.integer({ min: 0, max: 15 }),
        mode: fc.oneof(
          { weight: 5, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 4 }) },
        ),
        wait: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ k: fc.constant("cancel" as const), pick, by: fc.integer({ min: 0, max: 4 }) }),
    },
    { weight: 5, arbitrary: fc.record({ k: fc.constant("warp" as const), dt: fc.constantFrom(...WARPS) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("pause" as const), by: fc.integer({ min: 0, max: 2 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("unpause" as const), by: fc.integer({ min: 0, max: 1 }) }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("freeze" as const), who, by: fc.integer({ min: 0, max: 1 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({ k: fc.constant("unfreeze" as const), who, by: fc.integer({ min: 0, max: 1 }) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("limit" as const),
        who,
        asset,
        variant: fc.oneof(
          { weight: 4, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
        ),
        a: fc.integer({ min: 1, max: 100 }),
        b: fc.integer({ min: 1, max: 100 }),
        c: fc.integer({ min: 1, max: 100 }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("rotate" as const), who }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("cosigners" as const),
        mask: fc.integer({ min: 1, max: 7 }),
        reverse: fc.boolean(),
        threshold: fc.integer({ min: 1, max: 3 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("treasury" as const),
        asset,
        on: fc.boolean(),
        amount: fc.integer({ min: 1, max: 100 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ k: fc.constant("config" as const), who, variant: fc.integer({ min: 0, max: 5 }) }),
    },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("remove" as const), who }) },
    { weight: 1, arbitrary: fc.record({ k: fc.constant("readd" as const), who }) },
    {
      weight: 1,
      arbitrary: fc.record({
        k: fc.constant("intrude" as const),
        fn: fc.integer({ min: 0, max: 5 }),
        by: fc.integer({ min: 0, max: 1 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        k: fc.constant("feed" as const),
        asset,
        variant: fc.oneof(
          { weight: 4, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) },
        ),
        price: fc.integer({ min: 0, max: 2 }),
      }),
    },
  );
}

/** A failed check: which step, which promise, what differed. */
export class InvariantViolation extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.code = code;
    this.name = "InvariantViolation";
  }
}

export interface CampaignStats {
  runs: number;
  ops: number;
  byKind: Record<string, number>;
  outcomes: Record<string, number>;
  ms: number;
}

export function emptyStats(): CampaignStats {
  return { runs: 0, ops: 0, byKind: {}, outcomes: {}, ms: 0 };
}

/** What a submission sends: the agent key, the payload, its idempotency key, and the choices of the operation. */
interface Built {
  key: string;
  target: string;
  value: bigint;
  data: string;
  idempotencyKey: string;
  op: Extract<Op, { k: "pay" }>;
}

interface HistoryEntry {
  intent: M.IntentM;
  intentId: string;
  signature: string;
  sender: string;
  emptySignature: boolean;
  signatureValid: boolean;
  entry: "submit" | "propose";
}

/** Everything a run needs: contracts, signers, the EVM snapshot and the model at that snapshot. */
export interface World {
  hre: HardhatRuntimeEnvironment;
  module: Contract;
  moduleAddress: string;
  safeAddress: string;
  probe: Contract;
  chainId: bigint;
  assets: string[]; // [ETH, USDC, TKN]
  decimals: number[];
  holders: string[]; // [safe, alice, bob, attacker, target]
  recipients: string[]; // [alice, bob, attacker]
  target: string;
  signers: Map<string, HardhatEthersSigner>; // lower(address) -> signer (agents, pool, cosigners, guardian, relayer, attacker, safe)
  agents: string[]; // initial keys of identities 1..3
  pool: string[]; // fresh keys for rotations
  cosigners: string[];
  guardian: string;
  relayer: string;
  attacker: string;
  otherModule: string;
  windows: Map<string, bigint>; // `${identity}|${asset}` -> fixed window length
  treasuryWindows: bigint[];
  /** v3: the mock feed of each asset, and the USD limit (8 decimals) of each identity that has one. */
  feeds: Contract[];
  usdLimits: Map<number, { autoPerTx: bigint; autoPerWindow: bigint; window: bigint; escalatedPerTx: bigint }>;
  baseConfigs: M.ConfigM[];
  model: M.ModelState;
  baseNow: bigint;
  snapshot: string;
}

function cfg(partial: Partial<M.ConfigM>): M.ConfigM {
  return {
    validUntil: 0n,
    escalationDelay: 3600n,
    gracePeriod: DAY,
    maxIntentsPerWindow: 0n,
    rateWindow: 0n,
    maxStrikes: 3n,
    strikeWindow: DAY,
    recipientMode: M.Mode.Any,
    ...partial,
  };
}

function configTuple(c: M.ConfigM) {
  return [
    c.validUntil,
    c.escalationDelay,
    c.gracePeriod,
    c.maxIntentsPerWindow,
    c.rateWindow,
    c.maxStrikes,
    c.strikeWindow,
    c.recipientMode,
  ];
}

/**
 * Builds the campaign's world on the current Hardhat network: the fixture's Safe and module plus two more agents, a
 * second token, a call target and zero-priced gas, and the matching model. Takes the EVM snapshot runs start from.
 */
export async function setupWorld(hre: HardhatRuntimeEnvironment): Promise<World> {
  const { ethers, network } = hre;
  const { treasuryFixture } = await import("../stack");
  const fx = await treasuryFixture();
  const all = await ethers.getSigners();
  const signers = new Map<string, HardhatEthersSigner>();
  for (const s of all) signers.set(M.lower(s.address), s);
  // Zero base fee from now on: zero-priced transactions make every ETH balance exact.
  await network.provider.send("hardhat_setNextBlockBaseFeePerGas", ["0x0"]);
  await network.provider.send("evm_mine");
  const safeAddress = fx.safeAddress;
  await network.provider.request({ method: "hardhat_impersonateAccount", params: [safeAddress] });
  const safeSigner = await ethers.getSigner(safeAddress);
  signers.set(M.lower(safeAddress), safeSigner);
  await network.provider.send("hardhat_setBalance", [safeAddress, toBeHex(parseEther("100000"))]);

  const tkn = await ethers.deployContract("MockERC20", ["Test Token", "TKN", 18]);
  const tknAddress = await tkn.getAddress();
  await (await tkn.mint(safeAddress, parseUnits("1000000000", 18))).wait();
  const target = await ethers.deployContract("MockCallTarget");
  const targetAddress = await target.getAddress();
  const probe = await ethers.deployContract("InvariantProbe");

  const module = fx.module as unknown as Contract;
  const moduleAddress = fx.moduleAddress;
  const asSafe = module.connect(safeSigner) as Contract;
  const owner = async (fn: string, args: unknown[]) => {
    await (await asSafe.getFunction(fn)(...args, { gasPrice: 0 })).wait();
  };
  const [a0, a1, a2] = [all[4], all[13], all[14]].map((s) => s.address);
  const assets = [ZeroAddress, fx.usdcAddress, tknAddress];
  const decimals = [18, 6, 18];
  const u = (n: string, asset: number) => parseUnits(n, decimals[asset]);
  const baseConfigs = [
    cfg({}),
    cfg({
      escalationDelay: 600n,
      gracePeriod: 3600n,
      maxIntentsPerWindow: 4n,
      rateWindow: 600n,
      maxStrikes: 0n,
      strikeWindow: 0n,
      recipientMode: M.Mode.Allowlist,
    }),
    cfg({
      escalationDelay: 0n,
      gracePeriod: 1800n,
      maxStrikes: 2n,
      strikeWindow: 3600n,
      recipientMode: M.Mode.EscalateUnknown,
    }),
  ];
  // Limits: [identity][asset] = [autoPerTx, autoPerWindow, window, escalatedPerTx] (undefined = none).
  const limits: ([string, string, bigint, string] | undefined)[][] = [
    [
      ["1", "3", DAY, "10"],
      ["1000", "5000", DAY, "50000"],
      ["100", "250", 600n, "1000"],
    ],
    [["0.5", "1", 3600n, "5"], ["200", "600", 3600n, "2000"], undefined],
    [["2", "2", 900n, "4"], undefined, ["10", "50", 7200n, "100"]],
  ];
  const windows = new Map<string, bigint>();
  for (let i = 0; i < 3; i++) {
    for (let a = 0; a < 3; a++) windows.set(`${i + 1}|${a}`, limits[i][a]?.[2] ?? 1800n);
  }
  // The chain: the fixture already has agent 0 with ETH and USDC limits, co-signers and the guardian.
  const s: M.ModelState = {
    module: moduleAddress,
    safe: safeAddress,
    paused: false,
    guardians: new Set([M.lower(fx.guardian.address)]),
    cosigners: [],
    threshold: 0,
    era: 0,
    lastId: 0,
    identities: new Map(),
    keyStatus: new Map(),
    records: new Map(),
    treasury: new Map(),
    feeds: new Map(),
    balances: new Map(),
    escalated: new Map(),
    autoSpends: [],
    executed: new Set(),
    consumed: new Set(),
    bindings: new Map(),
  };
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  M.setAgent(s, safeAddress, a0, baseConfigs[0], now);
  M.setCosigners(
    s,
    safeAddress,
    fx.cosigners.map((c) => c.address),
    2,
  );
  await owner("setAgent", [a1, configTuple(baseConfigs[1])]);
  await owner("setAgent", [a2, configTuple(baseConfigs[2])]);
  M.setAgent(s, safeAddress, a1, baseConfigs[1], now);
  M.setAgent(s, safeAddress, a2, baseConfigs[2], now);
  const keys = [a0, a1, a2];
  for (let i = 0; i < 3; i++) {
    for (let a = 0; a < 3; a++) {
      const l = limits[i][a];
      if (!l) continue;
      const limit = { autoPerTx: u(l[0], a), autoPerWindow: u(l[1], a), window: l[2], escalatedPerTx: u(l[3], a) };
      if (!(i === 0 && a < 2))
        await owner("setAssetLimit", [
          keys[i],
          assets[a],
          [limit.autoPerTx, limit.autoPerWindow, limit.window, limit.escalatedPerTx],
        ]);
      M.setAssetLimit(s, safeAddress, keys[i], assets[a], limit);
    }
  }
  const [alice, bob, attacker] = [all[11], all[12], all[10]].map((x) => x.address);
  for (const [key, who] of [
    [a1, alice],
    [a1, bob],
    [a2, alice],
  ] as const) {
    await owner("setRecipient", [key, who, true]);
    M.setRecipient(s, key, who, true);
  }
  for (const key of [a0, a2]) {
    await owner("setAllowedCall", [key, targetAddress, PING, true]);
    M.setAllowedCall(s, key, targetAddress, PING, true);
  }
  // v3: a feed per asset (ETH and USDC with 8 decimals, TKN with 18: read, never assumed) and USD limits for
  // identities 1 and 3 (identity 2 has none, so both paths run).
  const feedDecimals = [8, 8, 18];
  const feeds: Contract[] = [];
  for (let a = 0; a < 3; a++) {
    const price = parseUnits(String(PRICES[a][0]), feedDecimals[a]);
    const feed = (await ethers.deployContract("MockAggregator", [feedDecimals[a], price, 0])) as unknown as Contract;
    await owner("setPriceFeed", [assets[a], await feed.getAddress(), FEED_MAX_AGE]);
    const updatedAt = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    const at = ((await feed.latestRoundData()) as bigint[])[3];
    s.feeds.set(M.lower(assets[a]), {
      price,
      feedDecimals: feedDecimals[a],
      assetDecimals: decimals[a],
      updatedAt: at ?? updatedAt,
      maxAge: FEED_MAX_AGE,
      mode: "ok",
    });
    feeds.push(feed);
  }
  const usd = (n: number) => BigInt(n) * 100_000_000n;
  const usdLimits = new Map([
    [1, { autoPerTx: usd(1500), autoPerWindow: usd(4000), window: DAY, escalatedPerTx: usd(30_000) }],
    [3, { autoPerTx: usd(3000), autoPerWindow: usd(5000), window: 3600n, escalatedPerTx: usd(9000) }],
  ]);
  for (const [identity, l] of usdLimits) {
    await owner("setUsdLimit", [keys[identity - 1], [l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx]]);
    M.setUsdLimit(s, safeAddress, keys[identity - 1], l);
  }
  const holders = [safeAddress, alice, bob, attacker, targetAddress];
  for (const h of holders) {
    for (const a of assets) {
      const bal =
        a === ZeroAddress
          ? await ethers.provider.getBalance(h)
          : await (await ethers.getContractAt("MockERC20", a)).balanceOf(h);
      s.balances.set(`${M.lower(h)}|${M.lower(a)}`, bal);
    }
  }
  const snapshot = (await network.provider.send("evm_snapshot")) as string;
  const baseNow = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  return {
    hre,
    module,
    moduleAddress,
    safeAddress,
    probe: probe as unknown as Contract,
    chainId: (await ethers.provider.getNetwork()).chainId,
    assets,
    decimals,
    holders,
    recipients: [alice, bob, attacker],
    target: targetAddress,
    signers,
    agents: keys,
    pool: [15, 16, 17, 18, 19].map((i) => all[i].address),
    cosigners: fx.cosigners.map((c) => c.address),
    guardian: fx.guardian.address,
    relayer: fx.relayer.address,
    attacker,
    otherModule: await fx.implementation.getAddress(),
    windows,
    treasuryWindows: [7200n, DAY, 3600n],
    feeds,
    usdLimits,
    baseConfigs,
    model: s,
    baseNow,
    snapshot,
  };
}

// ------------------------------------------------------------------ one run

interface Sent {
  ok: boolean;
  logs: { address: string; topics: string[]; data: string }[];
  revert?: string;
}

/** Operations after which the configuration views are compared too (and every run's last step compares all). */
const CONFIG_OPS = new Set(["limit", "rotate", "cosigners", "treasury", "config", "remove", "readd", "intrude"]);

/** Runs one sequence of operations from the world's snapshot, checking everything after every step. */
export async function runSequence(world: World, ops: Op[], stats: CampaignStats): Promise<void> {
  const { network } = world.hre;
  const provider = network.provider;
  await provider.send("evm_revert", [world.snapshot]);
  world.snapshot = (await provider.send("evm_snapshot")) as string;
  const started = Date.now();
  const run = new Run(world, stats);
  try {
    for (let i = 0; i < ops.length; i++) {
      run.step = i;
      run.beginStep();
      await run.apply(ops[i]);
      await run.check(i === ops.length - 1, CONFIG_OPS.has(ops[i].k));
      stats.ops++;
      stats.byKind[ops[i].k] = (stats.byKind[ops[i].k] ?? 0) + 1;
    }
  } catch (e) {
    if (e instanceof InvariantViolation) {
      e.message = `step ${run.step} (${JSON.stringify(ops[run.step])}): ${e.message}`;
    }
    throw e;
  } finally {
    stats.runs++;
    stats.ms += Date.now() - started;
  }
}

class Run {
  readonly w: World;
  readonly s: M.ModelState;
  readonly stats: CampaignStats;
  now: bigint;
  step = 0;
  private counter = 0;
  private pool: string[];
  private readonly history: HistoryEntry[] = [];
  private readonly intents = new Map<string, M.IntentM>();
  private readonly retired: Map<number, string> = new Map();
  private readonly observedAuto: {
    identity: number;
    asset: string;
    amount: bigint;
    t: bigint;
    cap: bigint;
    window: bigint;
    treasury: bigint;
    tWindow: bigint;
  }[] = [];

  constructor(world: World, stats: CampaignStats) {
    this.w = world;
    this.s = M.cloneState(world.model);
    this.stats = stats;
    this.now = world.baseNow;
    this.pool = [...world.pool];
  }

  // -------------------------------------------------------------- plumbing

  private outcome(name: string) {
    this.stats.outcomes[name] = (this.stats.outcomes[name] ?? 0) + 1;
  }

  private async tick(): Promise<bigint> {
    this.now += 1n;
    await this.w.hre.network.provider.send("evm_setNextBlockTimestamp", [Number(this.now)]);
    return this.now;
  }

  private async send(from: string, data: string, to = this.w.moduleAddress): Promise<Sent> {
    const provider = this.w.hre.network.provider;
    try {
      const hash = (await provider.send("eth_sendTransaction", [
        { from, to, data, gas: GAS, gasPrice: "0x0" },
      ])) as string;
      const receipt = (await provider.send("eth_getTransactionReceipt", [hash])) as {
        status: string;
        logs: Sent["logs"];
      };
      if (receipt.status !== "0x1") return { ok: false, logs: [], revert: "0x" };
      return { ok: true, logs: receipt.logs };
    } catch (e) {
      return { ok: false, logs: [], revert: revertData(e) };
    }
  }

  private moduleEvents(sent: Sent): M.Ev[] {
    const out: M.Ev[] = [];
    for (const log of sent.logs) {
      if (M.lower(log.address) !== M.lower(this.w.moduleAddress)) continue;
      const parsed = this.w.module.interface.parseLog(log);
      if (parsed) out.push([parsed.name, ...parsed.args.toArray()]);
    }
    return out;
  }

  /** After a tick, sends `fn(args)` from `by` and checks the outcome against `model`, applied to the model after the send. */
  private async control(by: string, fn: string, args: unknown[], model: () => M.Outcome, what = fn): Promise<void> {
    await this.tick();
    const sent = await this.send(by, (this.w.module.interface as unknown as Interface).encodeFunctionData(fn, args));
    this.expectOutcome(sent, model(), what);
  }

  /** Compares the chain's answer with the model's prediction. */
  private expectOutcome(sent: Sent, expected: M.Outcome, what: string): M.Ev[] {
    if ("revert" in expected) {
      if (sent.ok) {
        throw new InvariantViolation(
          "OUTCOME",
          `${what}: the model expected ${expected.revert}(${fmt(expected.args)}), the chain accepted it with ${fmt(this.moduleEvents(sent))}`,
        );
      }
      const parsed =
        sent.revert && sent.revert.length >= 10 ? safeParseError(this.w.module.interface, sent.revert) : undefined;
      const name = parsed?.name ?? `raw ${sent.revert}`;
      if (name !== expected.revert || !prefixEqual(parsed!.args, expected.args)) {
        throw new InvariantViolation(
          "OUTCOME",
          `${what}: expected revert ${expected.revert}(${fmt(expected.args)}), got ${name}(${fmt(parsed?.args ?? [])})`,
        );
      }
      this.outcome(`revert ${expected.revert}`);
      return [];
    }
    if (!sent.ok) {
      const parsed = sent.revert ? safeParseError(this.w.module.interface, sent.revert) : undefined;
      throw new InvariantViolation(
        "OUTCOME",
        `${what}: expected ${fmt(expected.events)}, the chain reverted ${parsed?.name ?? sent.revert}(${fmt(parsed?.args ?? [])})`,
      );
    }
    const events = this.moduleEvents(sent);
    if (
      events.length !== expected.events.length ||
      !expected.events.every((e, i) => e[0] === events[i][0] && prefixEqual(events[i].slice(1), e.slice(1)))
    ) {
      throw new InvariantViolation("OUTCOME", `${what}: expected events ${fmt(expected.events)}, got ${fmt(events)}`);
    }
    for (const e of events)
      this.outcome(e[0] === "IntentExecuted" && e[6] === true ? "IntentExecuted (escalated)" : String(e[0]));
    return events;
  }

  private identity(who: number): M.IdentityM {
    return this.s.identities.get(who + 1)!;
  }

  private signer(address: string): HardhatEthersSigner {
    const s = this.w.signers.get(M.lower(address));
    if (!s) throw new Error(`no signer for ${address}`);
    return s;
  }

  private pickRecord(pick: number, queuedOnly: boolean): string | undefined {
    const ids = [...this.s.records.keys()].filter(
      (i) => !queuedOnly || M.statusOf(this.s, this.s.records.get(i), this.now + 1n) === M.St.Queued,
    );
    const pool = ids.length > 0 ? ids : [...this.s.records.keys()];
    return pool.length > 0 ? pool[pick % pool.length] : undefined;
  }

  // -------------------------------------------------------------- operations

  async apply(op: Op): Promise<void> {
    switch (op.k) {
      case "pay":
        return this.pay(op);
      case "call":
        return this.call(op);
      case "batch":
        return this.batch(op);
      case "replay":
        return this.replay(op.pick);
      case "approve":
        return this.approve(op.c, op.pick);
      case "execute":
        return this.execute(op);
      case "cancel":
        return this.cancel(op.pick, op.by);
      case "warp":
        this.now += BigInt(op.dt);
        await this.w.hre.network.provider.send("evm_mine", [Number(this.now)]);
        return;
      case "pause": {
        const by = [this.w.guardian, this.w.safeAddress, this.w.attacker][op.by];
        await this.tick();
        const expected = M.pause(this.s, by);
        this.expectOutcome(await this.send(by, this.w.module.interface.encodeFunctionData("pause")), expected, "pause");
        return;
      }
      case "unpause": {
        const by = [this.w.safeAddress, this.w.guardian][op.by];
        return this.control(by, "unpause", [], () => M.unpause(this.s, by));
      }
      case "freeze": {
        const by = [this.w.guardian, this.w.attacker][op.by];
        const key = this.identity(op.who).currentKey;
        return this.control(by, "freezeAgent", [key], () => M.freeze(this.s, by, key), "freeze");
      }
      case "unfreeze": {
        const by = [this.w.safeAddress, this.w.guardian][op.by];
        const key = this.identity(op.who).currentKey;
        return this.control(by, "unfreezeAgent", [key], () => M.unfreeze(this.s, by, key), "unfreeze");
      }
      case "limit":
        return this.limit(op);
      case "rotate":
        return this.rotate(op.who);
      case "cosigners": {
        const members = this.w.cosigners.filter((_, i) => (op.mask >> i) & 1);
        if (op.reverse) members.reverse();
        const threshold = Math.min(op.threshold, members.length);
        await this.tick();
        const sent = await this.send(
          this.w.safeAddress,
          this.w.module.interface.encodeFunctionData("setCosigners", [members, threshold]),
        );
        this.expectOutcome(sent, M.setCosigners(this.s, this.w.safeAddress, members, threshold), "setCosigners");
        return;
      }
      case "treasury": {
        const asset = this.w.assets[op.asset];
        const perWindow = op.on ? (parseUnits(String(op.amount), this.w.decimals[op.asset]) * 5n) / 10n : 0n;
        const window = op.on ? this.w.treasuryWindows[op.asset] : 0n;
        await this.tick();
        const sent = await this.send(
          this.w.safeAddress,
          this.w.module.interface.encodeFunctionData("setTreasuryLimit", [asset, perWindow, window]),
        );
        this.expectOutcome(
          sent,
          M.setTreasuryLimit(this.s, this.w.safeAddress, asset, perWindow, window),
          "setTreasuryLimit",
        );
        return;
      }
      case "config":
        return this.config(op.who, op.variant);
      case "remove": {
        const key = this.identity(op.who).currentKey;
        await this.tick();
        this.expectOutcome(
          await this.send(this.w.safeAddress, this.w.module.interface.encodeFunctionData("removeAgent", [key])),
          M.removeAgent(this.s, this.w.safeAddress, key),
          "removeAgent",
        );
        return;
      }
      case "readd": {
        const ident = this.identity(op.who);
        if (ident.status === "Active") return;
        const c = this.w.baseConfigs[op.who];
        const t = await this.tick();
        const sent = await this.send(
          this.w.safeAddress,
          this.w.module.interface.encodeFunctionData("setAgent", [ident.currentKey, configTuple(c)]),
        );
        this.expectOutcome(sent, M.setAgent(this.s, this.w.safeAddress, ident.currentKey, c, t), "setAgent (re-add)");
        return;
      }
      case "intrude":
        return this.intrude(op.fn, op.by);
      case "feed":
        return this.feed(op);
    }
  }

  /** v3: moves, breaks or mends an asset's feed (anyone may, on the mock): the model's feed follows. */
  private async feed(op: Extract<Op, { k: "feed" }>): Promise<void> {
    const feed = this.w.feeds[op.asset];
    const f = this.s.feeds.get(M.lower(this.w.assets[op.asset]))!;
    const t = await this.tick();
    const data =
      op.variant === 0
        ? feed.interface.encodeFunctionData("setPrice", [
            parseUnits(String(PRICES[op.asset][op.price]), f.feedDecimals),
          ])
        : feed.interface.encodeFunctionData("setMode", [op.variant === 1 ? 2 : 0]);
    const sent = await this.send(this.w.relayer, data, await feed.getAddress());
    if (!sent.ok) throw new InvariantViolation("FEED", `the mock feed refused ${data.slice(0, 10)}`);
    if (op.variant === 0)
      Object.assign(f, { price: parseUnits(String(PRICES[op.asset][op.price]), f.feedDecimals), updatedAt: t });
    else f.mode = op.variant === 1 ? "revert" : "ok";
    this.outcome(`feed ${["price", "broken", "mended"][op.variant]}`);
  }

  private amountFor(ident: M.IdentityM, asset: number, choice: number): bigint {
    const l = ident.limits.get(M.lower(this.w.assets[asset]));
    const unit = parseUnits("1", this.w.decimals[asset]);
    const autoPerTx = l?.enabled ? l.autoPerTx : unit;
    const hard = l?.enabled ? l.escalatedPerTx : unit * 10n;
    return [0n, 1n, autoPerTx / 3n + 1n, autoPerTx, autoPerTx + 1n, hard, hard + 1n][choice];
  }

  private async pay(op: Extract<Op, { k: "pay" }>): Promise<void> {
    const ident = this.identity(op.who);
    const key = op.oldKey && this.retired.has(ident.id) ? this.retired.get(ident.id)! : ident.currentKey;
    await this.submitBuilt({ key, ...this.paymentPayload(ident, op), op });
  }

  /**
   * What a payment of `choice` sends: ETH or a token `transfer`, and its idempotency key (`choice.key`: 0 none, 1 a new
   * one, 2 a key already bound, with its original payload (a retry), 3 a bound key with this payload (a conflict,
   * unless the payloads happen to agree)).
   */
  private paymentPayload(
    ident: M.IdentityM,
    choice: { asset: number; to: number; amt: number; key: number },
  ): Omit<Built, "key" | "op"> {
    const asset = this.w.assets[choice.asset];
    const to = this.w.recipients[choice.to];
    const amount = this.amountFor(ident, choice.asset, choice.amt);
    let target = choice.asset === 0 ? to : asset;
    let value = choice.asset === 0 ? amount : 0n;
    let data = choice.asset === 0 ? "0x" : ERC20.encodeFunctionData("transfer", [to, amount]);
    let idempotencyKey = ZeroHash;
    const keys = [...ident.keys.keys()];
    if (choice.key === 1 || ((choice.key === 2 || choice.key === 3) && keys.length === 0)) {
      idempotencyKey = id(`key ${this.step} ${this.counter++}`);
    } else if (choice.key === 2) {
      // Same key, same payload as its original: an idempotent retry.
      idempotencyKey = keys[this.counter++ % keys.length];
      const original = this.intents.get(ident.keys.get(idempotencyKey)!)!;
      ({ target, value, data } = original);
    } else if (choice.key === 3) {
      idempotencyKey = keys[this.counter++ % keys.length];
    }
    return { target, value, data, idempotencyKey };
  }

  /**
   * `submitBatch` of 1 to 4 intents of any agents, relayed (or sent by the agent itself with empty signatures when
   * every intent is its own). The model runs `submit` for each intent in order from the state the earlier ones
   * left; the first rejection is the whole batch's revert and the model goes back to the state before the batch.
   * The chain must answer with exactly that revert, or with the concatenation of every intent's events; each
   * intent's events are then checked like a single submission's (Promises 1, 2, 4, 6).
   */
  private async batch(op: Extract<Op, { k: "batch" }>): Promise<void> {
    const t = await this.tick();
    const keys = op.items.map((item) => this.identity(item.who).currentKey);
    const self = op.self && keys.every((k) => M.lower(k) === M.lower(keys[0]));
    const sender = self ? keys[0] : this.w.relayer;
    // Each intent is built from the model's state after the intents before it (its nonce, the keys they bound),
    // as an agent pre-signing a batch would, and the model runs `submit` on it at once.
    const before = M.cloneState(this.s);
    const entries: HistoryEntry[] = [];
    const perIntent: { events: M.Ev[]; before: ReturnType<Run["preconditions"]> }[] = [];
    let rejection: M.Outcome | undefined;
    for (const item of op.items) {
      const ident = this.identity(item.who);
      const sig = self && item.sig === 0 ? 1 : item.sig;
      const pay: Extract<Op, { k: "pay" }> = {
        k: "pay",
        who: item.who,
        asset: item.asset,
        to: item.to,
        amt: item.amt,
        key: item.key,
        sig,
        timing: 0,
        nonce: item.nonce,
        lane: 0,
        route: item.review ? 1 : 0,
        oldKey: false,
      };
      const entry = await this.buildEntry({ key: ident.currentKey, ...this.paymentPayload(ident, item), op: pay }, t);
      entry.sender = sender;
      entries.push(entry);
      if (rejection) continue;
      const pre = this.preconditions(entry.intent.agent);
      const outcome = M.submit(
        this.s,
        {
          intent: entry.intent,
          intentId: entry.intentId,
          signatureValid: entry.signatureValid,
          emptySignature: entry.emptySignature,
          sender,
          entry: "submit",
        },
        t,
      );
      if ("revert" in outcome) rejection = outcome;
      else perIntent.push({ events: outcome.events, before: pre });
    }
    this.history.push(...entries);
    // A rejection reverts the whole batch: the model goes back to the state before it.
    if (rejection) Object.assign(this.s, before);
    const expected: M.Outcome = rejection ?? { events: perIntent.flatMap((p) => p.events) };
    const data = this.w.module.interface.encodeFunctionData("submitBatch", [
      entries.map((e) => e.intent),
      entries.map((e) => e.signature),
    ]);
    const sent = await this.send(sender, data);
    const events = this.expectOutcome(sent, expected, `submitBatch of ${entries.length}${self ? " by the agent" : ""}`);
    this.outcome(sent.ok ? "batch accepted" : "batch rejected");
    if (!sent.ok) return;
    const kinds = new Set(perIntent.flatMap((p) => p.events.map((e) => e[0])));
    if (kinds.has("IntentExecuted") && kinds.size > 1) this.outcome("batch with mixed outcomes");
    let next = 0;
    for (const [i, { events: predicted, before: pre }] of perIntent.entries()) {
      this.checkAccepted(entries[i], events.slice(next, next + predicted.length), t, pre, "submitBatch");
      next += predicted.length;
    }
  }

  private async call(op: Extract<Op, { k: "call" }>): Promise<void> {
    const ident = this.identity(op.who);
    const value = [0n, 1n, parseEther("0.3")][op.value];
    const variants = [
      { target: this.w.target, data: new Interface(["function ping(uint256)"]).encodeFunctionData("ping", [7n]) },
      { target: this.w.assets[1], data: ERC20.encodeFunctionData("approve", [this.w.attacker, 1n << 200n]) },
      { target: this.w.safeAddress, data: "0x610b5925" + "00".repeat(31) + "01" },
      { target: this.w.assets[2], data: ERC20.encodeFunctionData("mint", [this.w.attacker, 1n]) },
      // Calldata shorter than a selector: classified as a call with a zero-padded selector, never a revert.
      { target: this.w.target, data: "0xa905" },
      // v3: non-canonical transfers (a trailing byte; a recipient word with dirty high bits) are Denied MalformedCall.
      { target: this.w.assets[1], data: ERC20.encodeFunctionData("transfer", [this.w.attacker, 1n]) + "00" },
      {
        target: this.w.assets[1],
        data: "0xa9059cbb" + "ff".repeat(12) + this.w.attacker.slice(2).toLowerCase() + "00".repeat(31) + "01",
      },
    ];
    const v = variants[op.variant];
    const pay: Extract<Op, { k: "pay" }> = {
      k: "pay",
      who: op.who,
      asset: 0,
      to: 0,
      amt: 0,
      key: 0,
      sig: 0,
      timing: 0,
      nonce: 0,
      lane: 0,
      route: 0,
      oldKey: false,
    };
    await this.submitBuilt({
      key: ident.currentKey,
      target: v.target,
      value: op.variant === 0 ? value : 0n,
      data: v.data,
      idempotencyKey: ZeroHash,
      op: pay,
    });
  }

  private async submitBuilt(b: Built) {
    const t = await this.tick();
    const entry = await this.buildEntry(b, t);
    this.history.push(entry);
    await this.submitEntry(entry, t);
  }

  /** Builds and signs the intent of `b` at time `t`, at the lane's nonce in the model now (`op.nonce` puts it off). */
  private async buildEntry(b: Built, t: bigint): Promise<HistoryEntry> {
    const { op } = b;
    const lane = BigInt(op.lane);
    const current = M.nonceOf(this.s, b.key, lane) & M.MASK64;
    const seq = op.nonce === 0 ? current : op.nonce === 1 ? current + 1n : current > 0n ? current - 1n : current + 2n;
    const intent: M.IntentM = {
      agent: b.key,
      target: b.target,
      value: b.value,
      data: b.data,
      nonce: (lane << 64n) | seq,
      idempotencyKey: b.idempotencyKey,
      validAfter: op.timing === 2 ? t + 10n : 0n,
      validUntil: op.timing === 1 ? t - 1n : op.timing === 3 ? 0n : t + 3600n,
      rationale: id(`rationale ${this.counter++}`),
      review: op.route === 1 || op.route === 2,
    };
    const intentId = hashIntent(intent, this.w.chainId, this.w.moduleAddress);
    this.intents.set(intentId, intent);
    const agentSigner = this.signer(b.key);
    let signature = "0x";
    let valid = true;
    let sender = this.w.relayer;
    let empty = false;
    switch (op.sig) {
      case 0:
        signature = await signIntent(agentSigner, intent, this.w.chainId, this.w.moduleAddress);
        break;
      case 1:
        empty = true;
        sender = b.key;
        break;
      case 2:
        signature = await signIntent(this.signer(this.w.attacker), intent, this.w.chainId, this.w.moduleAddress);
        valid = false;
        break;
      case 3: // Promise 7: another chain
        signature = await signIntent(agentSigner, intent, 1n, this.w.moduleAddress);
        valid = false;
        break;
      case 4: // Promise 7: another module (and so another Safe)
        signature = await signIntent(agentSigner, intent, this.w.chainId, this.w.otherModule);
        valid = false;
        break;
      case 5:
        empty = true;
        break;
      default: {
        const sig = Signature.from(await signIntent(agentSigner, intent, this.w.chainId, this.w.moduleAddress));
        signature = concat([sig.r, toBeHex(SECP256K1_N - BigInt(sig.s), 32), toBeHex(sig.v === 27 ? 28 : 27, 1)]);
        valid = false;
      }
    }
    return {
      intent,
      intentId,
      signature,
      sender,
      emptySignature: empty,
      signatureValid: valid,
      entry: op.route >= 2 ? "propose" : "submit",
    };
  }

  private async replay(pick: number): Promise<void> {
    if (this.history.length === 0) return;
    const entry = this.history[pick % this.history.length];
    await this.submitEntry(entry, await this.tick());
  }

  private async submitEntry(entry: HistoryEntry, t: bigint): Promise<void> {
    const before = this.preconditions(entry.intent.agent);
    const expected = M.submit(
      this.s,
      {
        intent: entry.intent,
        intentId: entry.intentId,
        signatureValid: entry.signatureValid,
        emptySignature: entry.emptySignature,
        sender: entry.sender,
        entry: entry.entry,
      },
      t,
    );
    const fn = entry.entry;
    const sent = await this.send(
      entry.sender,
      this.w.module.interface.encodeFunctionData(fn, [entry.intent, entry.signature]),
    );
    const events = this.expectOutcome(sent, expected, `${fn} ${entry.intentId.slice(0, 10)}`);
    if (sent.ok) this.checkAccepted(entry, events, t, before, fn);
  }

  /** The checks of an accepted submission (alone or in a batch) with its own events, independently of the model. */
  private checkAccepted(
    entry: HistoryEntry,
    events: M.Ev[],
    t: bigint,
    before: ReturnType<Run["preconditions"]>,
    fn: string,
  ): void {
    // Promise 7: a foreign or forged signature never gets past authentication.
    if (!entry.signatureValid && !entry.emptySignature) {
      throw new InvariantViolation(
        "P7_FOREIGN_SIGNATURE",
        `a forged or foreign signature was accepted for ${entry.intentId}`,
      );
    }
    // Promise 6: exactly one outcome per accepted submission.
    const outcomes = events.filter((e) =>
      ["IntentExecuted", "IntentQueued", "IntentDenied", "IdempotentReplay"].includes(String(e[0])),
    );
    if (outcomes.length !== 1) throw new InvariantViolation("P6_ONE_OUTCOME", `submission ended with ${fmt(outcomes)}`);
    for (const e of events) {
      // v3, independently of the model: a review request never runs in the auto tier, whoever relayed it.
      if (e[0] === "IntentExecuted" && entry.intent.review) {
        throw new InvariantViolation(
          "REVIEW_EXECUTED",
          `review request ${entry.intentId} executed at submission via ${fn}`,
        );
      }
      if (e[0] === "IntentQueued" && entry.intent.review) this.outcome(`IntentQueued (review, ${fn})`);
      if (e[0] === "IntentDenied" && Number(e[3]) === M.Deny.MalformedCall)
        this.outcome("IntentDenied (MalformedCall)");
    }
    this.observe(events, t, before);
  }

  private preconditions(agent: string) {
    const k = this.s.keyStatus.get(M.lower(agent));
    const ident = k ? this.s.identities.get(k.identity) : undefined;
    return {
      paused: this.s.paused,
      active: k?.status === "Active",
      frozen: ident?.frozen ?? false,
      expired: !!ident && ident.cfg.validUntil !== 0n && this.now >= ident.cfg.validUntil,
    };
  }

  /** Independent checks of Promises 1, 2 and 4 on observed executions. */
  private observe(events: M.Ev[], t: bigint, before: ReturnType<Run["preconditions"]>): void {
    for (const e of events) {
      if (e[0] === "IntentExecuted") {
        // Promise 4: nothing moves while paused, or for a frozen, expired or removed agent.
        if (before.paused || !before.active || before.frozen || before.expired) {
          throw new InvariantViolation("P4_MOVED_WHILE_STOPPED", `execution ${e[1]} with ${JSON.stringify(before)}`);
        }
        // Promise 2: an intentId executes at most once.
        const idKey = `executed ${e[1]}`;
        if (this.seen.has(idKey)) throw new InvariantViolation("P2_EXECUTED_TWICE", `${e[1]} executed twice`);
        this.seen.add(idKey);
        if (e[6] === false) {
          this.checkBoundedLoss(String(e[2]), String(e[3]), e[5] as bigint, t);
          this.checkUsdBound(String(e[1]), t);
        }
      }
      if (e[0] === "IntentExecuted" || e[0] === "IntentQueued" || e[0] === "IntentDenied") {
        const intent = this.intents.get(String(e[1]));
        if (intent && (e[0] !== "IntentExecuted" || e[6] === false)) {
          const ident = M.identityOfKey(this.s, intent.agent)!;
          const nonceKey = `nonce ${ident.id}|${intent.nonce}`;
          if (this.seen.has(nonceKey))
            throw new InvariantViolation(
              "P2_NONCE_REUSED",
              `nonce ${intent.nonce} of identity ${ident.id} consumed twice`,
            );
          this.seen.add(nonceKey);
        }
      }
    }
  }
  private readonly seen = new Set<string>();

  /** Promise 1 from observations only: auto spend over the last `window` seconds within `autoPerWindow`. */
  private checkBoundedLoss(agent: string, asset: string, amount: bigint, t: bigint): void {
    if (amount === 0n) return;
    const ident = M.identityOfKey(this.s, agent)!;
    const a = M.lower(asset);
    const limit = ident.limits.get(a)!;
    const window = this.w.windows.get(`${ident.id}|${this.w.assets.findIndex((x) => M.lower(x) === a)}`)!;
    const tr = this.s.treasury.get(a);
    const treasuryCap = tr && tr.perWindow !== 0n ? tr.perWindow : 0n;
    this.observedAuto.push({
      identity: ident.id,
      asset: a,
      amount,
      t,
      cap: limit.autoPerWindow,
      window,
      treasury: treasuryCap,
      tWindow: tr?.window.len ?? 0n,
    });
    const mine = this.observedAuto.filter((o) => o.identity === ident.id && o.asset === a && o.t > t - window);
    const total = mine.reduce((acc, o) => acc + o.amount, 0n);
    if (total > limit.autoPerWindow) {
      throw new InvariantViolation(
        "P1_BOUNDED_LOSS",
        `identity ${ident.id} spent ${total} of ${asset} within ${window}s ending at ${t}, cap ${limit.autoPerWindow}`,
      );
    }
    if (treasuryCap !== 0n) {
      const tw = tr!.window.len;
      const all = this.observedAuto.filter((o) => o.asset === a && o.t > t - tw && o.treasury !== 0n);
      const sum = all.reduce((acc, o) => acc + o.amount, 0n);
      if (sum > treasuryCap)
        throw new InvariantViolation(
          "P1_TREASURY_BOUND",
          `all agents spent ${sum} of ${asset} within ${tw}s, treasury cap ${treasuryCap}`,
        );
    }
  }

  /**
   * v3, Promise 1 in USD from observations only: an identity with a USD limit spends, in the auto tier, at most its
   * USD `autoPerWindow` over any `window` seconds, each spend valued (rounded up) at the price its feed showed then.
   * The intent's own fields say what it spent (the token amount and the ETH sent with it).
   */
  private checkUsdBound(intentId: string, t: bigint): void {
    const intent = this.intents.get(intentId)!;
    const ident = M.identityOfKey(this.s, intent.agent)!;
    const limit = this.w.usdLimits.get(ident.id);
    if (!limit || !ident.usd?.enabled) return;
    const c = M.classify(intent.data);
    const spends: [string, bigint][] =
      c.kind === "token"
        ? [
            [intent.target, c.amount],
            [ZeroAddress, intent.value],
          ]
        : [[ZeroAddress, intent.value]];
    let value = 0n;
    for (const [asset, amount] of spends) {
      if (amount === 0n) continue;
      const f = this.s.feeds.get(M.lower(asset))!;
      const scale = 10n ** BigInt(f.assetDecimals + f.feedDecimals - 8);
      value += (amount * f.price + scale - 1n) / scale;
    }
    this.observedUsd.push({ identity: ident.id, value, t });
    const total = this.observedUsd
      .filter((o) => o.identity === ident.id && o.t > t - limit.window)
      .reduce((acc, o) => acc + o.value, 0n);
    const cap = ident.usd.autoPerWindow;
    if (total > cap)
      throw new InvariantViolation(
        "P1_USD_BOUND",
        `identity ${ident.id} spent $${total} (8 decimals) within ${limit.window}s ending at ${t}, USD cap ${cap}`,
      );
    this.outcome("IntentExecuted (under a USD limit)");
  }
  private readonly observedUsd: { identity: number; value: bigint; t: bigint }[] = [];

  private async approve(c: number, pick: number): Promise<void> {
    const intentId = this.pickRecord(pick, true) ?? id("never queued");
    const sender = c < 3 ? this.w.cosigners[c] : this.w.attacker;
    const t = await this.tick();
    const expected = M.approve(this.s, sender, intentId, t);
    this.expectOutcome(
      await this.send(sender, this.w.module.interface.encodeFunctionData("approve", [intentId])),
      expected,
      "approve",
    );
  }

  private async execute(op: Extract<Op, { k: "execute" }>): Promise<void> {
    const intentId = this.pickRecord(op.pick, true);
    if (!intentId) return;
    const intent = this.intents.get(intentId)!;
    const queued = this.s.records.get(intentId)!;
    if (op.wait && queued.eta > this.now + 1n) {
      // Wait for the eta: the next transaction lands exactly on it.
      this.now = queued.eta - 1n;
      await this.w.hre.network.provider.send("evm_mine", [Number(this.now)]);
    }
    const candidates = [...this.w.cosigners, this.w.attacker].filter((_, i) => (op.mask >> i) & 1);
    candidates.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    let sigs: { signer: string; signature: string; valid: boolean }[] = [];
    const era: bigint = await this.w.module.cosignerEra();
    for (const signer of candidates) {
      sigs.push({
        signer,
        signature: await signCosignerApproval(this.signer(signer), intentId, era, this.w.chainId, this.w.moduleAddress),
        valid: true,
      });
    }
    if (op.mode === 1) sigs.reverse();
    if (op.mode === 2 && sigs.length > 0) {
      sigs[0] = {
        ...sigs[0],
        signature: await signCosignerApproval(
          this.signer(this.w.attacker),
          intentId,
          era,
          this.w.chainId,
          this.w.moduleAddress,
        ),
        valid: M.lower(sigs[0].signer) === M.lower(this.w.attacker),
      };
    }
    if (op.mode === 3 && sigs.length > 0) sigs = [sigs[0], ...sigs];
    // v3: a signature made in an earlier co-signer era is void, even from a current co-signer.
    if (op.mode === 4 && sigs.length > 0 && era > 0n) {
      sigs[0] = {
        ...sigs[0],
        signature: await signCosignerApproval(
          this.signer(sigs[0].signer),
          intentId,
          era - 1n,
          this.w.chainId,
          this.w.moduleAddress,
        ),
        valid: false,
      };
    }
    const t = await this.tick();
    const record = this.s.records.get(intentId);
    const before = {
      ...this.preconditions(intent.agent),
      status: M.statusOf(this.s, record, t),
      eta: record?.eta ?? 0n,
      grace: record?.grace ?? 0n,
      approvals: record ? M.validApprovals(this.s, record) : 0,
      threshold: this.s.threshold,
      cosigners: [...this.s.cosigners],
    };
    const expected = M.executeQueued(
      this.s,
      { intent, intentId, signatures: sigs.map((x) => ({ signer: x.signer, valid: x.valid })) },
      t,
    );
    const sent = await this.send(
      this.w.relayer,
      this.w.module.interface.encodeFunctionData("executeQueued", [
        intent,
        sigs.map((x) => ({ signer: x.signer, signature: x.signature })),
      ]),
    );
    const events = this.expectOutcome(sent, expected, `executeQueued ${intentId.slice(0, 10)}`);
    if (sent.ok) {
      // Promise 3, from the state before the call: queued, eta <= now < eta + grace, threshold current co-signers.
      const members = new Set(before.cosigners.map(M.lower));
      const approvers = new Set<string>();
      before.cosigners.forEach((c, i) => (before.approvals >> i) & 1 && approvers.add(M.lower(c)));
      sigs.forEach((x) => members.has(M.lower(x.signer)) && approvers.add(M.lower(x.signer)));
      if (
        before.status !== M.St.Queued ||
        t < before.eta ||
        t >= before.eta + before.grace ||
        approvers.size < Math.max(1, before.threshold)
      ) {
        throw new InvariantViolation(
          "P3_ESCALATION",
          `executed ${intentId} with ${JSON.stringify({ ...before, approvers: approvers.size, t: String(t) }, big)}`,
        );
      }
      this.observe(events, t, before);
    }
  }

  private async cancel(pick: number, by: number): Promise<void> {
    const intentId = this.pickRecord(pick, true) ?? id("never queued");
    const r = this.s.records.get(intentId);
    const agentKey = r ? (this.s.identities.get(r.identity)!.keyAt.get(r.epoch) ?? this.w.attacker) : this.w.attacker;
    const sender = [this.w.guardian, this.w.cosigners[0], agentKey, this.w.attacker, this.w.safeAddress][by];
    const t = await this.tick();
    const expected = M.cancel(this.s, sender, intentId, t);
    this.expectOutcome(
      await this.send(sender, this.w.module.interface.encodeFunctionData("cancel", [intentId])),
      expected,
      "cancel",
    );
  }

  private async limit(op: Extract<Op, { k: "limit" }>): Promise<void> {
    const ident = this.identity(op.who);
    const asset = this.w.assets[op.asset];
    const unit = parseUnits("1", this.w.decimals[op.asset]) / 10n;
    const window = this.w.windows.get(`${ident.id}|${op.asset}`)!;
    const [x, y, z] = [op.a, op.b, op.c].map((n) => BigInt(n) * unit);
    const sorted = [x, y, z].sort((p, q) => (p < q ? -1 : p > q ? 1 : 0));
    // variant 0: a consistent limit; 1: escalation only (no auto tier); 2: removal.
    const limit =
      op.variant === 0
        ? { autoPerTx: sorted[0], autoPerWindow: sorted[1], window, escalatedPerTx: sorted[2] }
        : op.variant === 1
          ? { autoPerTx: 0n, autoPerWindow: 0n, window, escalatedPerTx: z }
          : { autoPerTx: 0n, autoPerWindow: 0n, window: 0n, escalatedPerTx: 0n };
    await this.tick();
    const data = this.w.module.interface.encodeFunctionData("setAssetLimit", [
      ident.currentKey,
      asset,
      [limit.autoPerTx, limit.autoPerWindow, limit.window, limit.escalatedPerTx],
    ]);
    this.expectOutcome(
      await this.send(this.w.safeAddress, data),
      M.setAssetLimit(this.s, this.w.safeAddress, ident.currentKey, asset, limit),
      "setAssetLimit",
    );
  }

  private async rotate(who: number): Promise<void> {
    const ident = this.identity(who);
    const newKey = this.pool[0];
    if (!newKey) return;
    const oldKey = ident.currentKey;
    const t = await this.tick();
    const before = this.w.assets.map((a) => M.availableAllowance(this.s, oldKey, a, t));
    const expected = M.rotateAgent(this.s, this.w.safeAddress, oldKey, newKey);
    this.expectOutcome(
      await this.send(this.w.safeAddress, this.w.module.interface.encodeFunctionData("rotateAgent", [oldKey, newKey])),
      expected,
      "rotateAgent",
    );
    if ("events" in expected) {
      this.pool.shift();
      this.retired.set(ident.id, oldKey);
      // Promise 8: the new key starts with exactly what the old one had left, read from the chain.
      const after = await Promise.all(
        this.w.assets.map((a) => this.w.module.availableAllowance(newKey, a) as Promise<bigint>),
      );
      after.forEach((v, i) => {
        if (v !== before[i])
          throw new InvariantViolation(
            "P8_ROTATION_REFRESH",
            `allowance of asset ${i} was ${before[i]}, is ${v} after rotation`,
          );
      });
    }
  }

  private async config(who: number, variant: number): Promise<void> {
    const ident = this.identity(who);
    const base = this.w.baseConfigs[who];
    const t = await this.tick();
    const variants: M.ConfigM[] = [
      base,
      { ...ident.cfg, recipientMode: (ident.cfg.recipientMode + 1) % 3 },
      { ...ident.cfg, maxIntentsPerWindow: 2n, rateWindow: 301n },
      { ...ident.cfg, maxStrikes: 1n, strikeWindow: 3600n },
      { ...ident.cfg, validUntil: t + 900n },
      { ...ident.cfg, escalationDelay: 0n, gracePeriod: 60n },
    ];
    const c = variants[variant];
    const sent = await this.send(
      this.w.safeAddress,
      this.w.module.interface.encodeFunctionData("setAgent", [ident.currentKey, configTuple(c)]),
    );
    this.expectOutcome(sent, M.setAgent(this.s, this.w.safeAddress, ident.currentKey, c, t), "setAgent");
  }

  /** Promise 5: anyone but the Safe trying to configure, unpause or unfreeze is refused. */
  private async intrude(fn: number, by: number): Promise<void> {
    const sender = [this.w.guardian, this.w.attacker][by];
    const key = this.identity(0).currentKey;
    const i = this.w.module.interface;
    const calls = [
      i.encodeFunctionData("setAssetLimit", [
        key,
        ZeroAddress,
        [parseEther("1000"), parseEther("1000"), 1, parseEther("1000")],
      ]),
      i.encodeFunctionData("setAgent", [sender, configTuple(this.w.baseConfigs[0])]),
      i.encodeFunctionData("setCosigners", [[sender], 1]),
      i.encodeFunctionData("setGuardian", [sender, true]),
      i.encodeFunctionData("rotateAgent", [key, sender]),
      i.encodeFunctionData("setTreasuryLimit", [ZeroAddress, 0, 0]),
    ];
    await this.tick();
    this.expectOutcome(
      await this.send(sender, calls[fn]),
      { revert: "ModuleCallerNotOwner", args: [sender, this.w.safeAddress] },
      "intrusion",
    );
  }

  // -------------------------------------------------------------- state check after every step

  private before = new Map<string, string>();
  private bindingsBefore = new Set<string>();

  /** Remembers the records and bindings before a step, so that the check can read what the step touched. */
  beginStep(): void {
    this.before = new Map([...this.s.records].map(([k, r]) => [k, JSON.stringify(r, big)]));
    this.bindingsBefore = new Set([...this.s.bindings.keys()]);
  }

  /**
   * Compares the chain with the model. Every step: the Safe's and the attacker's balances, every current key's
   * nonces, flags and allowances, every queued or touched intent, every new key binding, pause and co-signers.
   * After configuration steps also every key's configuration and limits; after the last step of a run, everything.
   */
  async check(full: boolean, config: boolean): Promise<void> {
    const latest = (await this.w.hre.network.provider.send("eth_getBlockByNumber", ["latest", false])) as {
      timestamp: string;
    };
    const t = BigInt(latest.timestamp);
    const holders = full ? this.w.holders : [this.w.safeAddress, this.w.attacker];
    const keys = full
      ? [...this.s.keyStatus.keys()]
      : [...this.s.identities.values()].map((i) => M.lower(i.currentKey));
    const ids = [...this.s.records.keys()].filter(
      (k) =>
        full ||
        this.before.get(k) !== JSON.stringify(this.s.records.get(k), big) ||
        this.s.records.get(k)!.status === M.St.Queued,
    );
    const bindings: [string, string, string][] = [];
    for (const ident of this.s.identities.values()) {
      for (const [k, v] of ident.keys)
        if (full || !this.bindingsBefore.has(`${ident.id}|${k}`)) bindings.push([ident.currentKey, k, v]);
    }
    const withConfig = full || config;
    const out = (await this.w.probe.read(this.w.moduleAddress, {
      holders,
      assets: this.w.assets,
      agents: keys,
      ids,
      keyAgents: bindings.map((b) => b[0]),
      keys: bindings.map((b) => b[1]),
      config: withConfig,
    })) as bigint[];
    let n = 0;
    const next = () => out[n++];
    const eq = (code: string, what: string, actual: bigint, expected: bigint) => {
      if (actual !== expected)
        throw new InvariantViolation(code, `${what}: chain ${actual}, model ${expected} (t=${t})`);
    };
    for (const h of holders) {
      for (const a of this.w.assets)
        eq("BALANCE", `balance of ${h} in ${a}`, next(), this.s.balances.get(`${M.lower(h)}|${M.lower(a)}`)!);
    }
    for (const key of keys) {
      const ks = this.s.keyStatus.get(key)!;
      const ident = this.s.identities.get(ks.identity)!;
      const active = ks.status === "Active";
      eq("NONCE", `lane 0 nonce of ${key}`, next(), M.nonceOf(this.s, key, 0n));
      eq("NONCE", `lane 1 nonce of ${key}`, next(), M.nonceOf(this.s, key, 1n));
      eq("P4_STATUS", `isAgent(${key})`, next(), active ? 1n : 0n);
      eq("P4_STATUS", `isFrozen(${key})`, next(), active && ident.frozen ? 1n : 0n);
      for (const a of this.w.assets)
        eq("P1_ALLOWANCE", `availableAllowance(${key}, ${a})`, next(), M.availableAllowance(this.s, key, a, t));
      if (!withConfig) continue;
      const c = active ? ident.cfg : undefined;
      const cfgWords = c ? configTuple(c).map((x) => BigInt(x)) : [0n, 0n, 0n, 0n, 0n, 0n, 0n, 0n];
      cfgWords.forEach((v, i) => eq("P5_CONFIG", `agentConfig(${key})[${i}]`, next(), v));
      for (const a of this.w.assets) {
        M.assetLimitOf(this.s, key, a).forEach((v, i) => eq("P5_CONFIG", `assetLimit(${key}, ${a})[${i}]`, next(), v));
      }
    }
    for (const intentId of ids) {
      const r = this.s.records.get(intentId)!;
      const ident = this.s.identities.get(r.identity)!;
      eq("P2_STATUS", `status of ${intentId}`, next(), BigInt(M.statusOf(this.s, r, t)));
      eq("P3_APPROVALS", `approvals of ${intentId}`, next(), BigInt(popcount(M.validApprovals(this.s, r))));
      eq("P3_ETA", `eta of ${intentId}`, next(), r.eta);
      eq("RECORD_AGENT", `agent of ${intentId}`, next(), BigInt(ident.keyAt.get(r.epoch) ?? ZeroAddress));
    }
    for (const [agent, key, intentId] of bindings) {
      const bound = next();
      eq("P2_KEY_BINDING", `idempotencyRecord(${agent}, ${key})`, bound, BigInt(intentId));
      const ident = M.identityOfKey(this.s, agent)!;
      const first = this.s.bindings.get(`${ident.id}|${key}`);
      if (first !== intentId)
        throw new InvariantViolation("P2_KEY_REBOUND", `key ${key} first bound to ${first}, now ${intentId}`);
    }
    // v3: every current key's USD allowance (identities without a USD limit read 0).
    for (const ident of this.s.identities.values()) {
      const key = ident.currentKey;
      const chain = (await this.w.module.availableUsdAllowance(key)) as bigint;
      eq("P1_USD_ALLOWANCE", `availableUsdAllowance(${key})`, chain, M.availableUsdAllowance(this.s, key, t));
    }
    eq("P4_PAUSED", "paused", next(), this.s.paused ? 1n : 0n);
    eq("P5_CONFIG", "threshold", next(), BigInt(this.s.threshold));
    this.s.cosigners.forEach((c, i) => eq("P5_CONFIG", `cosigner ${i}`, next(), BigInt(c)));
    if (n !== out.length)
      throw new InvariantViolation(
        "P5_CONFIG",
        `co-signer list has ${out.length - n + this.s.cosigners.length} members, model ${this.s.cosigners.length}`,
      );
  }
}

// ------------------------------------------------------------------ helpers

function popcount(bits: number): number {
  let c = 0;
  for (let b = bits; b !== 0; b &= b - 1) c++;
  return c;
}

function big(_k: string, v: unknown) {
  return typeof v === "bigint" ? v.toString() : v;
}

function norm(v: unknown): unknown {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(v);
  if (typeof v === "string") return v.toLowerCase();
  return v;
}

function prefixEqual(actual: ArrayLike<unknown>, expected: readonly unknown[]): boolean {
  for (let i = 0; i < expected.length; i++) {
    if (norm(actual[i]) !== norm(expected[i])) return false;
  }
  return true;
}

function fmt(v: unknown): string {
  return JSON.stringify(v, big);
}

function safeParseError(iface: Interface, data: string) {
  try {
    return iface.parseError(data) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The revert data of a failed eth_sendTransaction, wherever the provider put it. */
export function revertData(e: unknown): string {
  const seen = new Set<unknown>();
  const walk = (x: unknown): string | undefined => {
    if (!x || typeof x !== "object" || seen.has(x)) return undefined;
    seen.add(x);
    const o = x as Record<string, unknown>;
    if (typeof o.data === "string" && o.data.startsWith("0x")) return o.data;
    if (o.data && typeof o.data === "object") {
      const d = o.data as Record<string, unknown>;
      if (typeof d.data === "string") return d.data;
    }
    return walk(o.error) ?? walk(o.info) ?? walk(o.parent) ?? walk(o.cause);
  };
  return walk(e) ?? "0x";
}

/** The property the campaign checks: any sequence of operations keeps every promise. */
export function campaignProperty(world: World, stats: CampaignStats, maxOps: number) {
  return fc.asyncProperty(fc.array(opArbitrary(), { minLength: 1, maxLength: maxOps, size: "max" }), async (ops) => {
    await runSequence(world, ops, stats);
  });
}
