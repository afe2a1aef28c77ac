/**
 * The "nothing lost" model shared by every adversarial scenario (test/scenarios/*.spec.ts).
 *
 * A scenario opens a {TreasuryBook} before the attack, declares every flow it authorises while the story runs
 * (payments the policy allows, inflows such as forced ETH), and ends with {TreasuryBook.assertNothingLost}, which
 * checks, against the chain:
 * 1. every watched balance equals start + inflows - authorised outflows (ETH of accounts that paid gas may only be
 *    lower); the attacker's accounts hold nothing they were not authorised to receive;
 * 2. the Safe has no leftover token allowance or operator approval (every Approval / ApprovalForAll the Safe ever
 *    emitted during the story is re-read, and so is every watched spender);
 * 3. the configuration is exactly what the Safe last set (only owner Safe transactions may change it);
 * 4. every nonce and idempotency key was used at most once, every accepted intent had exactly one outcome and
 *    every queued intent executed at most once; every accepted intent is one the story built;
 * 5. auto-tier spend of every agent and asset stayed within `autoPerWindow` over every window (Promise 1), and
 *    nothing escalated reached the attacker unless the story says co-signers approved it;
 * 6. the owners are still in control: a real owners-signed Safe transaction pauses and unpauses, rotates the
 *    agent key (the allowance carries over: Promise 8), cancels a queued intent, and withdraws ETH and USDC.
 */
import { expect } from "chai";
import { ethers, network } from "hardhat";
import {
  Contract,
  Interface,
  Signer,
  Wallet,
  ZeroAddress,
  ZeroHash,
  id,
  parseEther,
  parseUnits,
  zeroPadValue,
} from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { ETH, Status, Treasury, buildIntent, intentId as intentIdOf, sign } from "../fixtures";
import type { Intent } from "../../sdk/eip712";
import { execSafeCall } from "../../sdk/safe";

/** A failed "nothing lost" check: the message names the broken promise and what to look at. */
export class NothingLostError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${message} (${code}): inspect the scenario's transactions since the book was opened`);
    this.code = code;
    this.name = "NothingLostError";
  }
}

export interface BookOptions {
  /** ERC-20-like assets to watch besides ETH (anything with `balanceOf`). USDC is always watched. */
  assets?: string[];
  /** Accounts whose balances must equal start + declared flows. The Safe, alice and bob are always watched. */
  accounts?: Record<string, string>;
  /** Accounts (EOAs or contracts) the attacker controls: they may gain only what the story authorised. */
  attackers?: string[];
  /** Spenders / operators whose allowance from the Safe must be zero at the end. */
  spenders?: string[];
  /** NFT contracts whose operator approvals from the Safe must be clear at the end. */
  nfts?: string[];
  /** Agent keys whose configuration is snapshotted (the fixture's agent always is). */
  agents?: string[];
  /** (agent, target, selector) triples whose allowed-call flag is part of the configuration snapshot. */
  allowedCalls?: { agent: string; target: string; selector: string }[];
  /** Set when co-signers knowingly approved an escalated payment to an attacker account. */
  escalatedToAttackerApproved?: boolean;
}

const ERC20_VIEWS = new Interface([
  "function balanceOf(address) view returns (uint256)",
  "function allowance(address,address) view returns (uint256)",
  "function transfer(address,uint256) returns (bool)",
]);
const NFT_VIEWS = new Interface([
  "function isApprovedForAll(address,address) view returns (bool)",
  "function getApproved(uint256) view returns (address)",
  "function ownerOf(uint256) view returns (address)",
]);
const APPROVAL_TOPIC = id("Approval(address,address,uint256)");
const APPROVAL_FOR_ALL_TOPIC = id("ApprovalForAll(address,address,bool)");

interface Limit {
  autoPerWindow: bigint;
  window: bigint;
}

function lower(a: string): string {
  return a.toLowerCase();
}

function jsonOf(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Plain copy of an ethers Result (struct) so that it compares and prints. */
function plain(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  const maybe = value as { toObject?: () => Record<string, unknown> };
  if (typeof maybe.toObject === "function") {
    try {
      const obj = maybe.toObject();
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plain(v)]));
    } catch {
      return Array.from(value as ArrayLike<unknown>).map(plain);
    }
  }
  if (Array.isArray(value)) return Array.from(value).map(plain);
  return value;
}

/**
 * The scenario's ledger and checker. Open it after the scenario's fixture and before the attack.
 */
export class TreasuryBook {
  readonly fx: Treasury;
  private readonly assets: string[];
  private readonly accounts = new Map<string, string>(); // address (lower) -> label
  private readonly attackers: Set<string>;
  private readonly spenders: Set<string>;
  private readonly nfts: string[];
  private readonly allowedCalls: { agent: string; target: string; selector: string }[];
  private readonly escalatedToAttackerApproved: boolean;
  private startBlock = 0;
  private readonly start = new Map<string, bigint>(); // asset|account -> balance
  private readonly delta = new Map<string, bigint>();
  private readonly startTxCount = new Map<string, number>();
  private readonly intents = new Map<string, Intent>();
  private readonly identity = new Map<string, string>(); // key (lower) -> first key of the identity (lower)
  private readonly startNonce = new Map<string, bigint>(); // identity|lane -> nonce at open
  private readonly limits = new Map<string, Limit>(); // identity|asset -> loosest limit the Safe set
  private agents: string[];
  private config = "";
  private preQueued = new Set<string>();

  private constructor(fx: Treasury, opts: BookOptions) {
    this.fx = fx;
    this.assets = [ETH, fx.usdcAddress, ...(opts.assets ?? [])];
    const base: Record<string, string> = { safe: fx.safeAddress, alice: fx.alice.address, bob: fx.bob.address };
    for (const [label, address] of Object.entries({ ...base, ...(opts.accounts ?? {}) }))
      this.accounts.set(lower(address), label);
    this.attackers = new Set((opts.attackers ?? [fx.attacker.address]).map(lower));
    for (const a of this.attackers) if (!this.accounts.has(a)) this.accounts.set(a, `attacker ${a.slice(0, 8)}`);
    this.spenders = new Set(
      [...(opts.spenders ?? []), ...this.attackers, fx.relayer.address, fx.agent.address, fx.moduleAddress].map(lower),
    );
    this.nfts = opts.nfts ?? [];
    this.agents = [fx.agent.address, ...(opts.agents ?? [])];
    this.allowedCalls = opts.allowedCalls ?? [];
    this.escalatedToAttackerApproved = opts.escalatedToAttackerApproved ?? false;
    for (const a of this.agents) this.identity.set(lower(a), lower(a));
  }

  /** Opens a book: records balances, nonces, limits and the configuration now. */
  static async open(fx: Treasury, opts: BookOptions = {}): Promise<TreasuryBook> {
    const book = new TreasuryBook(fx, opts);
    book.startBlock = await ethers.provider.getBlockNumber();
    for (const asset of book.assets) {
      for (const account of book.accounts.keys())
        book.start.set(`${lower(asset)}|${account}`, await book.balance(asset, account));
    }
    for (const account of book.accounts.keys())
      book.startTxCount.set(account, await ethers.provider.getTransactionCount(account));
    for (const agent of book.agents) {
      book.startNonce.set(`${lower(agent)}|0`, await fx.module.getNonce(agent, 0));
    }
    await book.snapshotLimits();
    book.config = await book.snapshotConfig();
    return book;
  }

  // ------------------------------------------------------------------ declaring the story

  /** Declares an authorised transfer of `amount` of `asset` from `from` to `to` (`received` if a fee applies). */
  move(asset: string, from: string, to: string, amount: bigint, received: bigint = amount): void {
    this.add(asset, from, -amount);
    this.add(asset, to, received);
  }

  /** Declares a payment out of the Safe that the policy authorised. */
  pay(asset: string, to: string, amount: bigint, received: bigint = amount): void {
    this.move(asset, this.fx.safeAddress, to, amount, received);
  }

  /** Declares an inflow (for example forced ETH) to `account`. */
  credit(asset: string, account: string, amount: bigint): void {
    this.add(asset, account, amount);
  }

  /** Registers intents the story built, so that the book knows every intent the module accepts. */
  note(...intents: Intent[]): void {
    for (const intent of intents) this.intents.set(intentIdOf(this.fx, intent), intent);
  }

  /** Declares intents queued before the book was opened (they may execute during the story). */
  queuedBefore(...ids: string[]): void {
    for (const i of ids) this.preQueued.add(i);
  }

  /** Builds an intent for the fixture's agent (or `fields.agent`) and notes it. */
  async intent(fields: Partial<Intent> & { lane?: bigint } = {}): Promise<Intent> {
    const intent = await buildIntent(this.fx, fields);
    this.note(intent);
    return intent;
  }

  /** Signs `intent` (by default with the fixture's agent). */
  async signature(intent: Intent, signer: Signer = this.fx.agent): Promise<string> {
    return sign(signer, this.fx, intent);
  }

  /** Executes `data` on the module through a real owners-signed Safe transaction and re-reads the configuration. */
  async asOwners(data: string) {
    const receipt = await this.fx.asOwners(data);
    await this.snapshotLimits();
    this.config = await this.snapshotConfig();
    return receipt;
  }

  /** Rotates `oldKey` to `newKey` through the Safe and follows the identity. */
  async rotate(oldKey: string, newKey: string) {
    this.identity.set(lower(newKey), this.identity.get(lower(oldKey)) ?? lower(oldKey));
    this.agents = this.agents.map((a) => (lower(a) === lower(oldKey) ? newKey : a));
    return this.asOwners(this.fx.module.interface.encodeFunctionData("rotateAgent", [oldKey, newKey]));
  }

  /** The current key of the fixture's agent identity. */
  get agentKey(): string {
    return this.agents[0];
  }

  // ------------------------------------------------------------------ the checks

  /** All checks, then the owners' control (which changes state: call it last). */
  async assertNothingLost(): Promise<void> {
    await this.checkBalances();
    await this.checkApprovals();
    await this.checkConfiguration();
    await this.checkIntents();
    await this.ownersStillInControl();
  }

  /** 1. Balances: start + declared flows; attackers gained nothing undeclared. */
  async checkBalances(): Promise<void> {
    for (const asset of this.assets) {
      for (const [account, label] of this.accounts) {
        const key = `${lower(asset)}|${account}`;
        const expected = (this.start.get(key) ?? 0n) + (this.delta.get(key) ?? 0n);
        const actual = await this.balance(asset, account);
        const paidGas =
          asset === ETH && (await ethers.provider.getTransactionCount(account)) !== this.startTxCount.get(account);
        const what = `${label} holds ${actual} of ${asset === ETH ? "ETH" : asset}, expected ${expected}`;
        if (paidGas) {
          if (actual > expected) throw new NothingLostError("BALANCE_GAINED", `${what} (gas can only lower it)`);
        } else if (actual !== expected) {
          throw new NothingLostError(this.attackers.has(account) ? "ATTACKER_GAINED" : "BALANCE_MISMATCH", what);
        }
      }
    }
  }

  /** 2. No leftover token allowance or operator approval from the Safe. */
  async checkApprovals(): Promise<void> {
    const safe = this.fx.safeAddress;
    const logs = await ethers.provider.getLogs({
      fromBlock: this.startBlock + 1,
      toBlock: "latest",
      topics: [[APPROVAL_TOPIC, APPROVAL_FOR_ALL_TOPIC], zeroPadValue(safe, 32)],
    });
    const erc20Pairs = new Set<string>();
    for (const asset of this.assets.filter((a) => a !== ETH)) {
      for (const spender of [...this.spenders, ...this.accounts.keys()]) erc20Pairs.add(`${lower(asset)}|${spender}`);
    }
    for (const log of logs) {
      const operator = "0x" + log.topics[2].slice(26);
      if (log.topics[0] === APPROVAL_FOR_ALL_TOPIC) {
        const nft = new Contract(log.address, NFT_VIEWS, ethers.provider);
        if (await nft.isApprovedForAll(safe, operator)) {
          throw new NothingLostError(
            "LEFTOVER_OPERATOR",
            `the Safe left ${operator} approved for all on ${log.address}`,
          );
        }
      } else if (log.topics.length === 4) {
        const nft = new Contract(log.address, NFT_VIEWS, ethers.provider);
        const tokenId = BigInt(log.topics[3]);
        const owner: string = await nft.ownerOf(tokenId).catch(() => ZeroAddress);
        if (lower(owner) === lower(safe) && (await nft.getApproved(tokenId)) !== ZeroAddress) {
          throw new NothingLostError("LEFTOVER_APPROVAL", `the Safe left token ${tokenId} of ${log.address} approved`);
        }
      } else {
        erc20Pairs.add(`${lower(log.address)}|${lower(operator)}`);
      }
    }
    for (const pair of erc20Pairs) {
      const [token, spender] = pair.split("|");
      const allowance = await this.tryCall<bigint>(token, ERC20_VIEWS, "allowance", [safe, spender]);
      if (allowance !== undefined && allowance !== 0n) {
        throw new NothingLostError(
          "LEFTOVER_ALLOWANCE",
          `the Safe left ${spender} an allowance of ${allowance} on ${token}`,
        );
      }
    }
    for (const nftAddress of this.nfts) {
      for (const operator of [...this.spenders, ...this.accounts.keys()]) {
        const approved = await this.tryCall<boolean>(nftAddress, NFT_VIEWS, "isApprovedForAll", [safe, operator]);
        if (approved)
          throw new NothingLostError(
            "LEFTOVER_OPERATOR",
            `the Safe left ${operator} approved for all on ${nftAddress}`,
          );
      }
    }
  }

  /** 3. Configuration is what the Safe last set. */
  async checkConfiguration(): Promise<void> {
    const now = await this.snapshotConfig();
    if (now !== this.config) {
      throw new NothingLostError(
        "CONFIG_CHANGED",
        `configuration changed outside an owner Safe transaction:\nwas ${this.config}\nnow ${now}`,
      );
    }
  }

  /** 4 and 5. Exactly-once outcomes, nonces and keys; bounded auto-tier spend; no escalated payout to attackers. */
  async checkIntents(): Promise<void> {
    const m = this.fx.module;
    const logs = await m.queryFilter("*" as never, this.startBlock + 1, "latest");
    const outcomes = new Map<string, string[]>();
    const escalated = new Map<string, number>();
    const replays: { original: string; agent: string; key: string }[] = [];
    const autoSpends: { identity: string; asset: string; to: string; amount: bigint; block: number }[] = [];
    for (const log of logs) {
      const parsed = m.interface.parseLog(log);
      if (!parsed) continue;
      const i = parsed.args;
      if (parsed.name === "IntentQueued" || parsed.name === "IntentDenied") {
        outcomes.set(i[0], [...(outcomes.get(i[0]) ?? []), parsed.name]);
      } else if (parsed.name === "IntentExecuted") {
        const [intentId, agent, asset, to, amount, isEscalated] = i as unknown as [
          string,
          string,
          string,
          string,
          bigint,
          boolean,
        ];
        if (isEscalated) {
          escalated.set(intentId, (escalated.get(intentId) ?? 0) + 1);
          if (this.attackers.has(lower(to)) && !this.escalatedToAttackerApproved && amount !== 0n) {
            throw new NothingLostError(
              "ESCALATED_TO_ATTACKER",
              `queued intent ${intentId} paid ${amount} to attacker ${to}`,
            );
          }
        } else {
          outcomes.set(intentId, [...(outcomes.get(intentId) ?? []), parsed.name]);
          autoSpends.push({
            identity: this.identityOf(agent),
            asset: lower(asset),
            to: lower(to),
            amount,
            block: log.blockNumber,
          });
        }
      } else if (parsed.name === "IdempotentReplay") {
        replays.push({ original: i[0], agent: i[1], key: i[2] });
      }
    }
    // Promise 6: exactly one outcome per accepted intent; Promise 2: a queued intent executes at most once.
    for (const [intentId, names] of outcomes) {
      if (names.length !== 1)
        throw new NothingLostError("OUTCOME_NOT_UNIQUE", `intent ${intentId} had outcomes ${names.join(", ")}`);
      if (!this.intents.has(intentId))
        throw new NothingLostError(
          "UNKNOWN_INTENT",
          `the module accepted intent ${intentId} that no one in the story built`,
        );
    }
    for (const [intentId, count] of escalated) {
      if (count !== 1)
        throw new NothingLostError("EXECUTED_TWICE", `queued intent ${intentId} executed ${count} times`);
      if (outcomes.get(intentId)?.[0] !== "IntentQueued" && !this.preQueued.has(intentId)) {
        throw new NothingLostError(
          "EXECUTED_UNQUEUED",
          `intent ${intentId} executed as escalated without being queued`,
        );
      }
    }
    // Promise 2: nonces contiguous and used once per identity and lane; keys bound to one intent.
    const lanes = new Map<string, bigint[]>();
    const keys = new Map<string, string>();
    for (const intentId of outcomes.keys()) {
      const intent = this.intents.get(intentId)!;
      const ident = this.identityOf(intent.agent);
      const lane = intent.nonce >> 64n;
      const laneKey = `${ident}|${lane}`;
      lanes.set(laneKey, [...(lanes.get(laneKey) ?? []), intent.nonce & ((1n << 64n) - 1n)]);
      if (intent.idempotencyKey !== ZeroHash) {
        const k = `${ident}|${intent.idempotencyKey}`;
        if (keys.has(k))
          throw new NothingLostError(
            "KEY_REUSED",
            `idempotency key ${intent.idempotencyKey} bound twice for ${intent.agent}`,
          );
        keys.set(k, intentId);
      }
    }
    for (const [laneKey, sequences] of lanes) {
      const [ident, lane] = laneKey.split("|");
      const sorted = [...sequences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      for (let j = 1; j < sorted.length; j++) {
        if (sorted[j] !== sorted[j - 1] + 1n) {
          throw new NothingLostError(
            "NONCE_REUSED_OR_SKIPPED",
            `lane ${lane} of ${ident} consumed sequences ${sorted.join(",")}`,
          );
        }
      }
      const key = this.currentKeyOf(ident);
      const next = (await m.getNonce(key, BigInt(lane))) & ((1n << 64n) - 1n);
      if (next !== sorted[sorted.length - 1] + 1n) {
        throw new NothingLostError(
          "NONCE_MISMATCH",
          `lane ${lane} of ${ident} is at ${next}, accepted up to ${sorted[sorted.length - 1]}`,
        );
      }
      const opened = this.startNonce.get(laneKey);
      if (opened !== undefined && sorted[0] !== (opened & ((1n << 64n) - 1n))) {
        throw new NothingLostError(
          "NONCE_SKIPPED",
          `lane ${lane} of ${ident} opened at ${opened}, first accepted ${sorted[0]}`,
        );
      }
    }
    for (const [k, intentId] of keys) {
      const [ident, key] = k.split("|");
      const [bound] = await m.idempotencyRecord(this.currentKeyOf(ident), key);
      if (bound !== intentId)
        throw new NothingLostError("KEY_REBOUND", `key ${key} of ${ident} is bound to ${bound}, accepted ${intentId}`);
    }
    for (const r of replays) {
      const bound = keys.get(`${this.identityOf(r.agent)}|${r.key}`);
      if (bound !== undefined && bound !== r.original) {
        throw new NothingLostError(
          "REPLAY_MISMATCH",
          `replay of key ${r.key} returned ${r.original}, bound to ${bound}`,
        );
      }
    }
    // Promise 1: auto-tier spend within autoPerWindow over every window, for every agent and asset.
    const times = new Map<number, number>();
    for (const s of autoSpends) {
      if (!times.has(s.block)) times.set(s.block, (await ethers.provider.getBlock(s.block))!.timestamp);
    }
    const groups = new Map<string, { t: number; amount: bigint; to: string }[]>();
    for (const s of autoSpends) {
      const g = `${s.identity}|${s.asset}`;
      groups.set(g, [...(groups.get(g) ?? []), { t: times.get(s.block)!, amount: s.amount, to: s.to }]);
    }
    for (const [g, spends] of groups) {
      const limit = this.limits.get(g);
      if (!limit) throw new NothingLostError("UNLIMITED_SPEND", `auto-tier spend of ${g} without any limit`);
      for (const s of spends) {
        const inWindow = spends.filter((o) => o.t <= s.t && o.t > s.t - Number(limit.window));
        const total = inWindow.reduce((acc, o) => acc + o.amount, 0n);
        if (total > limit.autoPerWindow) {
          throw new NothingLostError(
            "WINDOW_EXCEEDED",
            `${g} spent ${total} within ${limit.window}s ending at ${s.t}, cap ${limit.autoPerWindow}`,
          );
        }
      }
    }
  }

  /** 6. The owners still pause/unpause, rotate, cancel and withdraw through real Safe transactions. */
  async ownersStillInControl(): Promise<void> {
    const fx = this.fx;
    const m = fx.module;
    const i = m.interface;
    // Pause and unpause.
    if (!(await m.paused())) await fx.asOwners(i.encodeFunctionData("pause"));
    await fx.asOwners(i.encodeFunctionData("unpause"));
    expect(await m.paused(), "owners unpause").to.equal(false);
    // Rotate the agent key: the spend history carries over (Promise 8).
    const oldKey = this.agentKey;
    if (!(await m.isAgent(oldKey))) {
      throw new NothingLostError(
        "AGENT_GONE",
        `the story left agent ${oldKey} inactive; re-add it through the Safe before the end`,
      );
    }
    const before = await m.availableAllowance(oldKey, ETH);
    const fresh = Wallet.createRandom().connect(ethers.provider);
    await network.provider.send("hardhat_setBalance", [fresh.address, "0x8AC7230489E80000"]);
    await fx.asOwners(i.encodeFunctionData("rotateAgent", [oldKey, fresh.address]));
    expect(await m.isAgent(fresh.address), "new key active").to.equal(true);
    expect(await m.isAgent(oldKey), "old key dead").to.equal(false);
    expect(await m.availableAllowance(fresh.address, ETH), "rotation keeps the window").to.equal(before);
    // Cancel: the new key proposes a 1-wei payment for review, the owners cancel it.
    if (await m.isFrozen(fresh.address)) await fx.asOwners(i.encodeFunctionData("unfreezeAgent", [fresh.address]));
    const probe = await buildIntent(fx, {
      agent: fresh.address,
      target: fx.owners[0].address,
      value: 1n,
      review: true,
    });
    const probeId = intentIdOf(fx, probe);
    await (await m.connect(fresh).propose(probe, "0x")).wait();
    expect(await m.intentStatus(probeId), "probe queued").to.equal(Status.Queued);
    await fx.asOwners(i.encodeFunctionData("cancel", [probeId]));
    expect(await m.intentStatus(probeId), "owners cancel").to.equal(Status.Cancelled);
    // Withdraw ETH and USDC with owner-signed Safe transactions.
    const to = fx.owners[2].address;
    const ethBefore = await ethers.provider.getBalance(to);
    const safeEth = await ethers.provider.getBalance(fx.safeAddress);
    const ethOut = safeEth < parseEther("1") ? safeEth : parseEther("1");
    await execSafeCall(fx.safe, fx.ownerSigners, fx.deployer, to, "0x", ethOut);
    expect(await ethers.provider.getBalance(to), "owners withdraw ETH").to.equal(ethBefore + ethOut);
    const usdcOut = parseUnits("1", 6);
    const usdcBefore = await fx.usdc.balanceOf(to);
    await execSafeCall(
      fx.safe,
      fx.ownerSigners,
      fx.deployer,
      fx.usdcAddress,
      ERC20_VIEWS.encodeFunctionData("transfer", [to, usdcOut]),
    );
    expect(await fx.usdc.balanceOf(to), "owners withdraw USDC").to.equal(usdcBefore + usdcOut);
  }

  // ------------------------------------------------------------------ internals

  private add(asset: string, account: string, amount: bigint): void {
    const key = `${lower(asset)}|${lower(account)}`;
    if (!this.accounts.has(lower(account))) {
      throw new NothingLostError(
        "UNWATCHED_ACCOUNT",
        `declare ${account} in the book's accounts before moving funds to it`,
      );
    }
    this.delta.set(key, (this.delta.get(key) ?? 0n) + amount);
  }

  private identityOf(key: string): string {
    return this.identity.get(lower(key)) ?? lower(key);
  }

  private currentKeyOf(ident: string): string {
    const current = this.agents.find((a) => this.identityOf(a) === ident);
    return current ?? ident;
  }

  private async balance(asset: string, account: string): Promise<bigint> {
    if (asset === ETH) return ethers.provider.getBalance(account);
    return new Contract(asset, ERC20_VIEWS, ethers.provider).balanceOf(account);
  }

  private async tryCall<T>(address: string, iface: Interface, fn: string, args: unknown[]): Promise<T | undefined> {
    try {
      return (await new Contract(address, iface, ethers.provider).getFunction(fn).staticCall(...args)) as T;
    } catch {
      return undefined;
    }
  }

  private async snapshotLimits(): Promise<void> {
    for (const agent of this.agents) {
      for (const asset of this.assets) {
        const l = await this.fx.module.assetLimit(agent, asset);
        const k = `${this.identityOf(agent)}|${lower(asset)}`;
        const prev = this.limits.get(k);
        if (l.window === 0n) continue;
        this.limits.set(k, {
          autoPerWindow: prev && prev.autoPerWindow > l.autoPerWindow ? prev.autoPerWindow : l.autoPerWindow,
          window: prev && prev.window > l.window ? prev.window : l.window,
        });
      }
    }
  }

  private async snapshotConfig(): Promise<string> {
    const fx = this.fx;
    const m = fx.module;
    const people = [fx.guardian, fx.attacker, fx.relayer, ...fx.cosigners, fx.alice, fx.bob].map((s) => s.address);
    const agents = [];
    for (const agent of this.agents) {
      const limits = [];
      for (const asset of this.assets) limits.push(plain(await m.assetLimit(agent, asset)));
      const recipients = [];
      for (const r of this.accounts.keys()) recipients.push(await fx.lens.isRecipient(fx.moduleAddress, agent, r));
      agents.push({
        agent,
        active: await m.isAgent(agent),
        config: plain(await m.agentConfig(agent)),
        limits,
        recipients,
      });
    }
    const treasury = [];
    for (const asset of this.assets) {
      const [perWindow, window] = await fx.lens.treasuryLimit(fx.moduleAddress, asset);
      treasury.push([perWindow, window]);
    }
    const calls = [];
    for (const c of this.allowedCalls)
      calls.push(await fx.lens.isAllowedCall(fx.moduleAddress, c.agent, c.target, c.selector));
    const guardians = [];
    for (const p of people) guardians.push(await m.isGuardian(p));
    return jsonOf({
      avatar: await m.avatar(),
      target: await m.getFunction("target")(),
      cosigners: plain(await m.cosigners()),
      cosignerEra: await m.cosignerEra(),
      threshold: await m.threshold(),
      guardians,
      agents,
      treasury,
      calls,
      modules: await fx.safe.isModuleEnabled(fx.moduleAddress),
      owners: plain(await fx.safe.getOwners()),
      safeThreshold: await fx.safe.getThreshold(),
    });
  }
}

/** Sets the next block's timestamp and mines nothing; the next transaction lands at exactly `timestamp`. */
export async function atTimestamp(timestamp: number | bigint): Promise<void> {
  await network.provider.send("evm_setNextBlockTimestamp", [Number(timestamp)]);
}

/** The timestamp of the block a transaction was mined in. */
export async function minedAt(tx: { wait: () => Promise<{ blockNumber: number } | null> }): Promise<number> {
  const receipt = await tx.wait();
  return (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp;
}

/** Funds and returns a signer for an address (used for contracts or fresh keys acting as senders). */
export async function funded(address: string): Promise<HardhatEthersSigner> {
  await network.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
  await network.provider.send("hardhat_setBalance", [address, "0x8AC7230489E80000"]);
  return ethers.getSigner(address);
}

/** Sends `value` wei to `to` by deploying init code that self-destructs in its constructor (no receive hook runs). */
export async function forceSend(from: Signer, to: string, value: bigint): Promise<void> {
  // PUSH20 <to> SELFDESTRUCT: EIP-6780 still transfers the balance when the contract dies in its creation tx.
  const initCode = "0x73" + to.slice(2).toLowerCase() + "ff";
  await (await from.sendTransaction({ data: initCode, value })).wait();
}
