/**
 * End-to-end helpers: temporary directories, the example policies, and independent checks of on-chain state
 * against a policy file. The `hardhat node` and CLI child processes are testkit/localNode.ts.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import { Contract, FunctionFragment, JsonRpcProvider, ZeroAddress, getAddress, parseUnits } from "ethers";
import { AgentTreasuryLens__factory, IAgentTreasuryModule__factory } from "../../typechain-types";
import { SAFE_ABI } from "../../sdk/safe";
import { encodeFunctionData, type Abi } from "viem";
import type { BatchTransaction } from "../../deploy/batch";
import { ROOT } from "../../testkit/localNode";
import { predictUniswapAddresses, type UniswapContractName } from "../../deploy/uniswap";
import { RecipientModeName, recipientModeValue } from "../../sdk/shapes";

const tempDirs: string[] = [];

/** A fresh temporary directory, removed by {@link removeTempDirs}. */
export function tempDir(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `atg-${label}-`));
  tempDirs.push(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
}

export function writeJson(file: string, value: unknown): string {
  fs.writeFileSync(file, JSON.stringify(value, null, 2));
  return file;
}

export function readExample(name = "dao.json"): PolicyJson {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "deploy/examples", name), "utf8")) as PolicyJson;
}

// ---------------------------------------------------------------------------------------------- policy checks

/** The example file's shape, as far as these checks read it. */
export interface PolicyJson {
  safe: { owners: string[]; threshold: number } | string;
  salt: string;
  guardians: string[];
  cosigners: { members: string[]; threshold: number };
  tokens?: Record<string, string>;
  localTokens?: Record<string, { decimals: number; mint?: string; name?: string }>;
  localEth?: string;
  treasuryLimits?: { asset: string; perWindow: string; window: string }[];
  agents: {
    name: string;
    address: string;
    validUntil?: string;
    escalationDelay: string;
    gracePeriod: string;
    maxIntentsPerWindow?: number;
    rateWindow?: string;
    maxStrikes?: number;
    strikeWindow?: string;
    recipientMode: RecipientModeName;
    recipients?: string[];
    limits?: { asset: string; autoPerTx: string; autoPerWindow: string; window: string; escalatedPerTx: string }[];
    usdLimit?: { autoPerTx: string; autoPerWindow: string; window: string; escalatedPerTx: string };
    allowedCalls?: { target: string; signature: string; conditions?: Record<string, unknown>[] }[];
  }[];
  /** v3: the Safe's allowances and the local Uniswap (deploy/examples/README.md). */
  allowances?: { token: string; spender: string; amount: string }[];
  localUniswap?: { pools: { tokens: string[]; fee: number; liquidity: Record<string, string> }[] };
  [key: string]: unknown;
}

/** Seconds of the simple durations the examples use ("30m", "24h", "7d"): an implementation independent of core/units.ts. */
export function seconds(text: string): bigint {
  const m = /^(\d+)([smhdw])$/.exec(text);
  if (!m) throw new Error(`test helper cannot read duration ${text}`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "s" | "m" | "h" | "d" | "w"];
  return BigInt(Number(m[1]) * unit);
}

/**
 * Checks, with plain views, that the module at `module` (on `provider`) holds exactly what `policy` says.
 * `tokens` maps the file's symbols to addresses (from the deployment output).
 */
export async function expectChainMatchesPolicy(
  provider: JsonRpcProvider,
  addresses: { safe: string; module: string; lens: string },
  policy: PolicyJson,
  tokens: Record<string, string>,
) {
  const module = IAgentTreasuryModule__factory.connect(addresses.module, provider);
  const lens = AgentTreasuryLens__factory.connect(addresses.lens, provider);
  const safe = new Contract(addresses.safe, SAFE_ABI, provider);
  const tokenDecimals: Record<string, number> = { ETH: 18 };
  for (const [symbol, address] of Object.entries(tokens)) {
    tokenDecimals[symbol] = Number(
      await new Contract(address, ["function decimals() view returns (uint8)"], provider).decimals(),
    );
  }
  const decimals = (symbol: string) => {
    if (tokenDecimals[symbol] === undefined) throw new Error(`no decimals for ${symbol}`);
    return tokenDecimals[symbol];
  };
  const assetAddress = (symbol: string) => (symbol === "ETH" ? ZeroAddress : getAddress(tokens[symbol]));

  expect(await safe.isModuleEnabled(addresses.module)).to.equal(true);
  expect(getAddress(await module.avatar())).to.equal(getAddress(addresses.safe));
  if (typeof policy.safe === "object") {
    expect(((await safe.getOwners()) as string[]).map(getAddress).sort()).to.deep.equal(
      policy.safe.owners.map(getAddress).sort(),
    );
    expect(await safe.getThreshold()).to.equal(BigInt(policy.safe.threshold));
  }
  expect((await module.cosigners()).map(getAddress).sort()).to.deep.equal(
    policy.cosigners.members.map(getAddress).sort(),
  );
  expect(await module.threshold()).to.equal(BigInt(policy.cosigners.threshold));
  for (const g of policy.guardians) expect(await module.isGuardian(g)).to.equal(true);

  for (const agent of policy.agents) {
    expect(await module.isAgent(agent.address)).to.equal(true, agent.name);
    const c = await module.agentConfig(agent.address);
    const validUntil =
      !agent.validUntil || agent.validUntil === "never" ? 0n : BigInt(Date.parse(agent.validUntil) / 1000);
    expect(c.validUntil).to.equal(validUntil);
    expect(c.escalationDelay).to.equal(seconds(agent.escalationDelay));
    expect(c.gracePeriod).to.equal(seconds(agent.gracePeriod));
    expect(c.maxIntentsPerWindow).to.equal(BigInt(agent.maxIntentsPerWindow ?? 0));
    expect(c.rateWindow).to.equal(agent.rateWindow ? seconds(agent.rateWindow) : 0n);
    expect(c.maxStrikes).to.equal(BigInt(agent.maxStrikes ?? 0));
    expect(c.strikeWindow).to.equal(agent.strikeWindow ? seconds(agent.strikeWindow) : 0n);
    expect(c.recipientMode).to.equal(BigInt(recipientModeValue(agent.recipientMode)));
    for (const limit of agent.limits ?? []) {
      const d = decimals(limit.asset);
      const l = await module.assetLimit(agent.address, assetAddress(limit.asset));
      expect([l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx]).to.deep.equal([
        parseUnits(limit.autoPerTx, d),
        parseUnits(limit.autoPerWindow, d),
        seconds(limit.window),
        parseUnits(limit.escalatedPerTx, d),
      ]);
    }
    for (const call of agent.allowedCalls ?? []) {
      // v3: a signature may carry parameter names, and a target may be a local Uniswap contract by name.
      const selector = FunctionFragment.from(call.signature).selector;
      const target = call.target.startsWith("0x")
        ? getAddress(call.target)
        : call.target in tokens
          ? assetAddress(call.target)
          : predictUniswapAddresses()[call.target as UniswapContractName];
      expect(await lens.isAllowedCall(addresses.module, agent.address, target, selector)).to.equal(true);
      expect(await lens.callConditions(addresses.module, agent.address, target, selector)).to.have.length(
        (call.conditions ?? []).length,
      );
    }
    for (const r of agent.recipients ?? [])
      expect(await lens.isRecipient(addresses.module, agent.address, r)).to.equal(true);
    // v3: the USD limit, in dollars with the module's 8 decimals.
    const u = agent.usdLimit;
    const usd = await lens.usdLimit(addresses.module, agent.address);
    expect([usd.autoPerTx, usd.autoPerWindow, usd.window, usd.escalatedPerTx]).to.deep.equal(
      u
        ? [
            parseUnits(u.autoPerTx, 8),
            parseUnits(u.autoPerWindow, 8),
            seconds(u.window),
            parseUnits(u.escalatedPerTx, 8),
          ]
        : [0n, 0n, 0n, 0n],
    );
    // Something the file does not list is not allowed either.
    expect(await lens.isRecipient(addresses.module, agent.address, addresses.lens)).to.equal(false);
  }
  for (const t of policy.treasuryLimits ?? []) {
    const [perWindow, window] = await lens.treasuryLimit(addresses.module, assetAddress(t.asset));
    expect([perWindow, window]).to.deep.equal([parseUnits(t.perWindow, decimals(t.asset)), seconds(t.window)]);
  }
  // v3: every local price feed is set, and the module values one whole unit of its asset at the file's price.
  const feeds = (policy.localPriceFeeds ?? {}) as Record<string, { price: string; maxAge?: string }>;
  for (const [symbol, f] of Object.entries(feeds)) {
    const [feed, maxAge] = await lens.priceFeed(addresses.module, assetAddress(symbol));
    expect(await provider.getCode(feed), `${symbol} feed`).to.not.equal("0x");
    expect(maxAge).to.equal(seconds(f.maxAge ?? "25h"));
    const [usd, fault] = await module.usdValue(assetAddress(symbol), 10n ** BigInt(decimals(symbol)));
    expect([usd, fault], `${symbol} price`).to.deep.equal([parseUnits(f.price, 8), 0n]);
  }
}

/** A comparable picture of a module's configuration (for "live equals local" checks across two modules). */
export async function configSnapshot(
  provider: JsonRpcProvider,
  addresses: { module: string; lens: string },
  policy: PolicyJson,
  tokens: Record<string, string>,
) {
  const module = IAgentTreasuryModule__factory.connect(addresses.module, provider);
  const lens = AgentTreasuryLens__factory.connect(addresses.lens, provider);
  const asset = (symbol: string) => (symbol === "ETH" ? ZeroAddress : getAddress(tokens[symbol]));
  const agents = [];
  for (const agent of policy.agents) {
    const c = await module.agentConfig(agent.address);
    const config = [
      c.validUntil,
      c.escalationDelay,
      c.gracePeriod,
      c.maxIntentsPerWindow,
      c.rateWindow,
      c.maxStrikes,
      c.strikeWindow,
      c.recipientMode,
    ];
    const limits = [];
    for (const symbol of ["ETH", ...Object.keys(tokens)]) {
      const l = await module.assetLimit(agent.address, asset(symbol));
      limits.push([symbol, l.autoPerTx, l.autoPerWindow, l.window, l.escalatedPerTx]);
    }
    const calls = [];
    for (const c of agent.allowedCalls ?? []) {
      // v3: a target may be an address (the live policy's router), a signature may name its parameters, and the
      // call's argument conditions are part of the configuration.
      const target = c.target.startsWith("0x") ? getAddress(c.target) : asset(c.target);
      const selector = FunctionFragment.from(c.signature).selector;
      const conditions = (await lens.callConditions(addresses.module, agent.address, target, selector)).map((x) => [
        x.word,
        x.op,
        x.value,
      ]);
      calls.push([
        c.target,
        c.signature,
        await lens.isAllowedCall(addresses.module, agent.address, target, selector),
        conditions,
      ]);
    }
    const recipients = [];
    for (const r of agent.recipients ?? [])
      recipients.push([r, await lens.isRecipient(addresses.module, agent.address, r)]);
    agents.push({ name: agent.name, active: await module.isAgent(agent.address), config, limits, calls, recipients });
  }
  const treasury = [];
  for (const symbol of ["ETH", ...Object.keys(tokens)]) {
    const [perWindow, window] = await lens.treasuryLimit(addresses.module, asset(symbol));
    treasury.push([symbol, perWindow, window]);
  }
  return {
    cosigners: (await module.cosigners()).map(getAddress).sort(),
    threshold: await module.threshold(),
    guardians: await Promise.all(policy.guardians.map((g) => module.isGuardian(g))),
    agents,
    treasury,
  };
}

/** Total transactions in all blocks of the node. */
export async function transactionCount(provider: JsonRpcProvider): Promise<number> {
  const latest = await provider.getBlockNumber();
  let total = 0;
  for (let n = 0; n <= latest; n++) total += (await provider.getBlock(n))!.transactions.length;
  return total;
}

// ---------------------------------------------------------------------------------------------- Transaction Builder

/**
 * The calldata the Safe Transaction Builder encodes for a batch file transaction, done as the app does it and with
 * the library it uses (viem), independently of deploy/batch.ts: raw `data` when present, else `contractMethod` with
 * `contractInputsValues` read by its parseInputValue (JSON for values starting with "[", "true"/"false" for bool,
 * integers from decimal strings).
 */
export function txBuilderCalldata(t: BatchTransaction): string {
  if (t.data) return t.data;
  const m = t.contractMethod!;
  const args = m.inputs.map((input) => {
    const raw = t.contractInputsValues![input.name] ?? "";
    if (raw.charAt(0) === "[") return JSON.parse(raw) as unknown;
    if (input.type === "bool") return raw.toLowerCase() === "true";
    if (/^u?int\d*$/.test(input.type)) return BigInt(raw);
    return raw;
  });
  const abi = [
    { ...m, type: "function", stateMutability: m.payable ? "payable" : "nonpayable", outputs: [] },
  ] as unknown as Abi;
  return encodeFunctionData({ abi, functionName: m.name, args });
}

/**
 * Runs `jobs` with at most `limit` at a time and returns their results in order. For independent CLI child
 * processes: each spends seconds of CPU starting Hardhat while the test process waits, so two or three at once keep
 * a 2-core machine busy instead of half idle.
 */
export async function inParallel<T>(jobs: (() => Promise<T>)[], limit = 3): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  return results;
}
