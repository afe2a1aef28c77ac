/**
 * `npm run bench`: the gas benchmark of Agent Treasury Guard on the in-process Hardhat network.
 *
 * Every row is `receipt.gasUsed` of a real transaction (or a stated sum of rows), measured in one run against
 * baselines from the same run: a plain ERC-20 transfer, Safe 1.5.0 `execTransaction` (1-of-1 and 2-of-3) and
 * OpenZeppelin's TimelockController. Payments are measured in steady state unless the row says otherwise: the
 * recipient already holds the token, the Safe's nonce and the agent's window are already in use.
 *
 * Output: a table with each row's ratio to `Safe 1-of-1 execTransaction ERC-20`, budget verdicts (enforced: the
 * run exits non-zero when a row is above its budget's max; the aim is informational), stability checks
 * (enforced: the run exits non-zero when 1 vs 200 agents or payment #1 vs #1000 differ by more than 2%, or when the
 * gas per payment of a batch grows by more than 2% from one batch size to the next), each row's difference from the
 * committed gas-snapshot.json (scripts/bench/snapshot.ts; GAS_SNAPSHOT=update rewrites it, GAS_SNAPSHOT=check also
 * fails on a changed row), reports/gas.json and reports/gas-budgets.json. BENCH_PROFILE=1 adds a per-frame gas profile of
 * the keyless and keyed relayed payments and of the steady-state payment, which expires the oldest entry
 * (BENCH_PROFILE=all: of every row that is one transaction's gas).
 */
import fs from "fs";
import path from "path";
import { config, ethers } from "hardhat";
import { ContractTransactionReceipt, ZeroAddress, ZeroHash, id, parseEther } from "ethers";
import { DAY, ETH, HOUR, agentConfig, transferData } from "../../testkit/stack";
import { execSafeCall } from "../../sdk/safe";
import { measureFullDeployment, timeDeployTask } from "./deployment";
import {
  BenchSetupError,
  ETH_LIMIT,
  Stack,
  Treasury,
  USDC_LIMIT,
  agentCalls,
  agentKey,
  configure,
  createPlainSafe,
  createTreasury,
  deployStack,
  fundedRecipient,
  usdc,
} from "./setup";
import {
  BenchAgent,
  Submitted,
  approveOnChain,
  cosignerSignatures,
  executeQueued,
  newAgent,
  advanceClock,
  clockSlipCount,
  nextBlockAfter,
  submitPayment,
} from "./payments";
import {
  BASELINE,
  Rows,
  benchFailures,
  checkStability,
  fmtGas,
  formatTable,
  formatVerdicts,
  judgeBudgets,
  writeReports,
} from "./report";
import { formatProfile, profileTransaction } from "./profile";
import { measureUsdCaps } from "./usd";
import { formatAllowanceComparison, measureBatches } from "./batch";
import { SNAPSHOT_FILE, applySnapshot, snapshotMode } from "./snapshot";
import { BUDGETS } from "./budgets";

/** Every auto payment moves this much: 100 USDC (6 decimals). */
const PAY = usdc("100");
/** Escalated payments: above the agent's autoPerTx of 1,000 USDC, within its escalatedPerTx of 50,000. */
const ESCALATED = usdc("2000");
const SERIES_LENGTH = 1_000;
/** Series spacing: with a 1-day window, 8 payments are always in the window and each payment expires one. */
const SERIES_GAP = 3 * HOUR;
const AGENT_COUNT = 200;
const AGENTS_PER_BATCH = 20;
const STABILITY_LIMIT_PERCENT = 2;

const started = Date.now();
const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)} s`;
const progress = (text: string): void => console.log(`  [${elapsed()}] ${text}`);

function measured(rows: Rows, name: string, receipt: ContractTransactionReceipt, note?: string): bigint {
  rows.add({ name, gas: receipt.gasUsed, txHash: receipt.hash, note });
  return receipt.gasUsed;
}

/** A USDC payment of PAY to `to`, `gap` seconds after the latest block. */
function payUsdc(stack: Stack, agent: BenchAgent, to: string, gap: number, fields: { idempotencyKey?: string } = {}) {
  return submitPayment(stack, agent, { asset: stack.usdcAddress, to, amount: PAY, ...fields }, gap);
}

/** A USDC payment measured an hour after a first one a minute on, whose window entry it then finds in use. */
async function measureSecondPayment(
  stack: Stack,
  rows: Rows,
  agent: BenchAgent,
  recipient: string,
  name: string,
  note: string,
): Promise<void> {
  await payUsdc(stack, agent, recipient, 60);
  measured(rows, name, (await payUsdc(stack, agent, recipient, HOUR)).receipt, note);
}

async function usdcBalance(stack: Stack, account: string): Promise<bigint> {
  return stack.usdc.balanceOf(account);
}

/** Plain transfer and Safe execTransaction baselines, each measured after a warm-up of the same transaction. */
async function measureBaselines(stack: Stack, rows: Rows, recipient: string): Promise<void> {
  const holder = stack.deployer;
  await (await stack.usdc.mint(holder.address, usdc("1000"))).wait();
  await (await stack.usdc.connect(holder).transfer(recipient, PAY)).wait();
  const before = await usdcBalance(stack, recipient);
  const plain = await (await stack.usdc.connect(holder).transfer(recipient, PAY)).wait();
  if (!plain || (await usdcBalance(stack, recipient)) - before !== PAY)
    throw new BenchSetupError("plain transfer failed");
  measured(rows, "plain ERC-20 transfer", plain, "EOA transfer, sender and recipient already hold USDC");

  const safes: [string, number, number][] = [
    [BASELINE, 1, 1],
    ["Safe 2-of-3 execTransaction ERC-20", 3, 2],
  ];
  for (const [name, owners, threshold] of safes) {
    const { safe, signers } = await createPlainSafe(stack, owners, threshold);
    const data = transferData(recipient, PAY);
    await execSafeCall(safe, signers, stack.deployer, stack.usdcAddress, data); // nonce 0 -> 1
    const start = await usdcBalance(stack, recipient);
    const receipt = (await execSafeCall(
      safe,
      signers,
      stack.deployer,
      stack.usdcAddress,
      data,
    )) as ContractTransactionReceipt;
    if ((await usdcBalance(stack, recipient)) - start !== PAY) throw new BenchSetupError(`${name} did not pay`);
    measured(rows, name, receipt, "sdk/safe.ts execSafeCall, Safe nonce 1, funded recipient");
  }
}

interface MainTreasury {
  treasury: Treasury;
  /** The agent kept for the 1,000-payment series. */
  series: BenchAgent;
}

/** The main treasury (2-of-3 Safe): module creation, auto payments in their variants, the escalated path. */
async function measureMainTreasury(stack: Stack, rows: Rows, recipient: string): Promise<MainTreasury> {
  const treasury = await createTreasury(stack, "main", 3, 2);
  rows.add({
    name: "module creation",
    gas: treasury.creationGas,
    txHash: treasury.creationTxHash,
    note: "factory.createModule: EIP-1167 clone by CREATE2 + initialize",
  });
  const usdcLimit = [{ asset: stack.usdcAddress, limit: USDC_LIMIT }];
  const main = newAgent("main", agentKey("main"), treasury);
  const rate = newAgent("rate", agentKey("rate"), treasury);
  const burst = newAgent("burst", agentKey("burst"), treasury);
  const series = newAgent("series", agentKey("series"), treasury);
  await configure(stack, treasury, [
    ...agentCalls(treasury, main.key.address, agentConfig(), [...usdcLimit, { asset: ETH, limit: ETH_LIMIT }]),
    ...agentCalls(
      treasury,
      rate.key.address,
      agentConfig({ maxIntentsPerWindow: 100n, rateWindow: BigInt(DAY) }),
      usdcLimit,
    ),
    ...agentCalls(treasury, burst.key.address, agentConfig(), usdcLimit),
    ...agentCalls(treasury, series.key.address, agentConfig(), usdcLimit),
  ]);

  // Steady state: each agent's window already holds a payment from earlier in the day.
  await payUsdc(stack, main, recipient, 60);
  await submitPayment(stack, main, { asset: ETH, to: recipient, amount: parseEther("0.1") }, 60);
  const relayed = await payUsdc(stack, main, recipient, HOUR);
  measured(
    rows,
    "auto ERC-20 payment (relayed)",
    relayed.receipt,
    "keyless, 1 earlier payment in the window, nothing expires",
  );
  const keyed = await payUsdc(stack, main, recipient, HOUR, { idempotencyKey: id("invoice 2025-0001") });
  measured(rows, "auto ERC-20 payment with idempotency key", keyed.receipt, "a new key: key binding + intent record");
  const eth = await submitPayment(stack, main, { asset: ETH, to: recipient, amount: parseEther("0.1") }, HOUR);
  measured(rows, "auto ETH payment", eth.receipt, "to an account that already holds ETH");

  await measureSecondPayment(
    stack,
    rows,
    rate,
    recipient,
    "auto ERC-20 payment with rate limit",
    "maxIntentsPerWindow 100 per day, bucket in use",
  );

  for (let i = 0; i < 8; i++) await payUsdc(stack, burst, recipient, 300);
  const merged = await payUsdc(stack, burst, recipient, 300);
  measured(
    rows,
    "auto ERC-20 payment, window ring full (two oldest entries merge)",
    merged.receipt,
    "9th payment within the window: worst case of the 8-entry ring",
  );

  const fresh = newAgent("fresh", agentKey("fresh"), treasury);
  await configure(stack, treasury, agentCalls(treasury, fresh.key.address, agentConfig(), usdcLimit));
  const first = await payUsdc(stack, fresh, recipient, 60);
  measured(
    rows,
    "auto ERC-20 payment, first of a fresh agent and asset",
    first.receipt,
    "nonce, window and agent state start from configuration",
  );

  await measureEscalation(stack, rows, treasury, main, recipient);
  return { treasury, series };
}

/**
 * The escalated path: queue (submit over the auto cap), one on-chain co-signer approval, executeQueued.
 * A warm-up intent runs first so the agent's escalated-spend record is already in use, as in steady state.
 */
async function measureEscalation(stack: Stack, rows: Rows, treasury: Treasury, agent: BenchAgent, recipient: string) {
  const [c0, c1, c2] = stack.cosigners;
  const queue = (gap: number): Promise<Submitted> =>
    submitPayment(stack, agent, { asset: stack.usdcAddress, to: recipient, amount: ESCALATED }, gap, "Queued");
  const warm = await queue(60);
  const x = await queue(60);
  const y = await queue(60);
  const queued = measured(
    rows,
    "queue (submit over cap)",
    x.receipt,
    "2,000 USDC > autoPerTx 1,000: recorded, IntentQueued logs the intent",
  );
  const approved = measured(rows, "co-signer approve", await approveOnChain(treasury, c0, x.intentId));
  await nextBlockAfter(HOUR + 60); // past every eta (escalationDelay 1 hour)
  const firstExec = await executeQueued(
    stack,
    treasury,
    warm,
    await cosignerSignatures(stack, treasury, warm.intentId, [c1, c2]),
  );
  const two = await executeQueued(stack, treasury, y, await cosignerSignatures(stack, treasury, y.intentId, [c0, c1]));
  const twoSigs = measured(
    rows,
    "executeQueued 2-of-3 signatures",
    two,
    "2 EIP-712 co-signer signatures, no on-chain approval",
  );
  const mixed = await executeQueued(stack, treasury, x, await cosignerSignatures(stack, treasury, x.intentId, [c1]));
  const mixedGas = measured(rows, "executeQueued 1 signature + 1 on-chain approval", mixed);
  rows.add({
    name: "escalated path 2-of-3 total",
    gas: queued + approved + twoSigs,
    note: "sum of queue + co-signer approve + executeQueued 2-of-3 signatures (an upper bound: 2 signatures need no approve)",
  });
  rows.add({
    name: "escalated path, 1 on-chain approval + 1 signature",
    gas: queued + approved + mixedGas,
    note: "sum",
  });
  rows.add({ name: "escalated path, 2 signatures, no approve tx", gas: queued + twoSigs, note: "sum" });
  measured(rows, "executeQueued 2-of-3 signatures, first escalated spend of agent and asset", firstExec);
}

/** OpenZeppelin TimelockController (delay 1 hour) scheduling and executing the same ERC-20 transfer. */
async function measureTimelock(stack: Stack, rows: Rows, recipient: string): Promise<void> {
  const operator = stack.deployer;
  const timelock = await ethers.deployContract("TimelockController", [
    HOUR,
    [operator.address],
    [operator.address],
    ZeroAddress,
  ]);
  const timelockAddress = await timelock.getAddress();
  await (await stack.usdc.mint(timelockAddress, usdc("1000000"))).wait();
  const data = transferData(recipient, PAY);
  const cycle = async (salt: string): Promise<[ContractTransactionReceipt, ContractTransactionReceipt]> => {
    await nextBlockAfter(60);
    const scheduled = await (await timelock.schedule(stack.usdcAddress, 0n, data, ZeroHash, salt, HOUR)).wait();
    await nextBlockAfter(HOUR);
    const before = await usdcBalance(stack, recipient);
    const executed = await (await timelock.execute(stack.usdcAddress, 0n, data, ZeroHash, salt)).wait();
    if (!scheduled || !executed || (await usdcBalance(stack, recipient)) - before !== PAY) {
      throw new BenchSetupError("TimelockController did not execute the transfer");
    }
    return [scheduled, executed];
  };
  await cycle(id("warm-up"));
  const [scheduled, executed] = await cycle(id("measured"));
  const s = measured(rows, "OpenZeppelin TimelockController schedule", scheduled, "no signatures: one proposer role");
  const e = measured(rows, "OpenZeppelin TimelockController execute", executed);
  rows.add({ name: "OpenZeppelin TimelockController schedule+execute", gas: s + e, note: "sum" });
}

/** A treasury with a treasury-wide USDC limit: every payment also reads and charges the treasury window. */
async function measureTreasuryLimit(stack: Stack, rows: Rows, recipient: string): Promise<void> {
  const treasury = await createTreasury(stack, "treasury-limit", 3, 2);
  const agent = newAgent("limited", agentKey("limited"), treasury);
  await configure(stack, treasury, [
    ...agentCalls(treasury, agent.key.address, agentConfig(), [{ asset: stack.usdcAddress, limit: USDC_LIMIT }]),
    {
      to: treasury.moduleAddress,
      data: treasury.module.interface.encodeFunctionData("setTreasuryLimit", [stack.usdcAddress, usdc("20000"), DAY]),
    },
  ]);
  await measureSecondPayment(
    stack,
    rows,
    agent,
    recipient,
    "auto ERC-20 payment with treasury-wide limit",
    "20,000 USDC per day across agents, window in use",
  );
}

/** The same steady-state payment on a module with 1 agent and on one with 200 agents (each of which has paid). */
async function measureAgentCount(stack: Stack, rows: Rows, recipient: string): Promise<void> {
  const usdcLimit = [{ asset: stack.usdcAddress, limit: USDC_LIMIT }];
  const one = await createTreasury(stack, "one-agent", 3, 2);
  const solo = newAgent("solo", agentKey("solo"), one);
  await configure(stack, one, agentCalls(one, solo.key.address, agentConfig(), usdcLimit));

  const many = await createTreasury(stack, "200-agents", 3, 2);
  const crowd = Array.from({ length: AGENT_COUNT }, (_, i) =>
    newAgent(`crowd-${i + 1}`, agentKey(`crowd-${i + 1}`), many),
  );
  for (let i = 0; i < AGENT_COUNT; i += AGENTS_PER_BATCH) {
    const batch = crowd.slice(i, i + AGENTS_PER_BATCH);
    await configure(
      stack,
      many,
      batch.flatMap((a) => agentCalls(many, a.key.address, agentConfig(), usdcLimit)),
    );
    progress(`200 agents: configured ${i + batch.length}/${AGENT_COUNT}`);
  }
  const last = crowd[AGENT_COUNT - 1];
  for (let i = 0; i < AGENT_COUNT - 1; i++) {
    await payUsdc(stack, crowd[i], recipient, 1);
    if ((i + 1) % 50 === 0) progress(`200 agents: ${i + 1}/${AGENT_COUNT - 1} other agents have paid`);
  }
  // Same history for both measured agents: one payment an hour earlier, nothing expires.
  await payUsdc(stack, solo, recipient, 60);
  await payUsdc(stack, last, recipient, 1);
  const soloPaid = await payUsdc(stack, solo, recipient, HOUR);
  const lastPaid = await payUsdc(stack, last, recipient, 1);
  measured(rows, "auto ERC-20 payment, 1 agent", soloPaid.receipt, "module with 1 agent");
  measured(
    rows,
    "auto ERC-20 payment, 200 agents",
    lastPaid.receipt,
    "agent #200 of a module with 200 agents, all of which paid",
  );
}

/**
 * 1,000 payments by one agent, 3 hours apart, after 8 warm-up payments: the window always holds 8 payments and
 * each payment expires the oldest, so every payment does the same work (the amortised steady state).
 */
async function measureSeries(stack: Stack, rows: Rows, agent: BenchAgent, recipient: string): Promise<bigint[]> {
  for (let i = 0; i < 8; i++) await payUsdc(stack, agent, recipient, SERIES_GAP);
  const gas: bigint[] = [];
  for (let i = 0; i < SERIES_LENGTH; i++) {
    const paid = await payUsdc(stack, agent, recipient, SERIES_GAP);
    gas.push(paid.receipt.gasUsed);
    if (i === 0)
      measured(
        rows,
        "auto ERC-20 payment #1 (steady state)",
        paid.receipt,
        "8 payments in the window, the oldest expires",
      );
    if (i === SERIES_LENGTH - 1)
      measured(rows, "auto ERC-20 payment #1000", paid.receipt, "125 days and 1,007 payments later");
    if ((i + 1) % 100 === 0) progress(`series: ${i + 1}/${SERIES_LENGTH} payments`);
  }
  const sum = gas.reduce((a, b) => a + b, 0n);
  rows.add({ name: "auto ERC-20 payment, mean of 1,000", gas: sum / BigInt(gas.length), note: "mean of the series" });
  return gas;
}

async function addressLabels(stack: Stack): Promise<Map<string, string>> {
  const labels = new Map<string, string>();
  const set = (a: string, name: string) => labels.set(a.toLowerCase(), name);
  set(await stack.factory.implementation(), "AgentTreasuryModule (implementation)");
  set(await stack.factory.getAddress(), "AgentTreasuryModuleFactory");
  set(await stack.safeInfra.singleton.getAddress(), "Safe 1.5.0 singleton");
  set(stack.usdcAddress, "USDC (OZ ERC20)");
  for (const t of stack.treasuries) {
    set(t.moduleAddress, `module clone (${t.label})`);
    set(t.safeAddress, `Safe proxy (${t.label})`);
  }
  return labels;
}

async function main(): Promise<void> {
  const profileMode = process.env.BENCH_PROFILE ?? "";
  const gasSnapshot = snapshotMode(process.env.GAS_SNAPSHOT); // a bad value fails now, not after the run
  console.log("Agent Treasury Guard gas benchmark (in-process Hardhat network, receipt.gasUsed)");
  const stack = await deployStack();
  const rows = new Rows();
  const recipient = await fundedRecipient(stack, "main");

  // Each section starts a day after the previous one on the benchmark's clock, so no window carries over and
  // setup blocks never overtake the clock.
  const section = async (title: string): Promise<void> => {
    await advanceClock(DAY);
    progress(title);
  };
  await section("baselines: plain transfer, Safe 1-of-1 and 2-of-3");
  await measureBaselines(stack, rows, recipient);
  await section("main treasury: module creation, auto payments, escalated path");
  const mainTreasury = await measureMainTreasury(stack, rows, recipient);
  await section("OpenZeppelin TimelockController");
  await measureTimelock(stack, rows, recipient);
  await section("treasury-wide limit");
  await measureTreasuryLimit(stack, rows, recipient);
  await section("USD caps: a USD-limited payment and the price read");
  await measureUsdCaps(stack, rows, recipient);
  await section("1 agent vs 200 agents");
  await measureAgentCount(stack, rows, recipient);
  await section("batch payments (submitBatch): 1, 5, 20 and 100 per transaction");
  const batchChecks = await measureBatches(stack, rows, progress);
  await section(`series of ${SERIES_LENGTH} payments`);
  const series = await measureSeries(stack, rows, mainTreasury.series, recipient);

  // Profiles replay transactions by hash, so they are taken before the full deployment resets the chain.
  const profileLines: string[] = [];
  if (profileMode !== "") {
    progress("profiling");
    const labels = await addressLabels(stack);
    const names =
      profileMode === "all"
        ? rows
            .all()
            .filter((r) => r.txHash !== undefined)
            .map((r) => r.name)
        : [
            "auto ERC-20 payment (relayed)",
            "auto ERC-20 payment with idempotency key",
            "auto ERC-20 payment #1 (steady state)",
          ];
    for (const name of names) {
      const row = rows.get(name);
      profileLines.push("");
      const profile = await profileTransaction(row.txHash as string, labels, row.gas);
      profileLines.push(...formatProfile(name, profile));
    }
  }

  progress("full local deployment of deploy/examples/dao.json (last: it resets the in-process chain)");
  await measureFullDeployment(rows);
  progress("treasury:deploy against a hardhat node (wall time)");
  const deployTimings = await timeDeployTask();

  const verdicts = judgeBudgets(rows, BUDGETS);
  const checks = [
    checkStability(
      rows,
      "1 agent vs 200 agents",
      "auto ERC-20 payment, 1 agent",
      "auto ERC-20 payment, 200 agents",
      STABILITY_LIMIT_PERCENT,
    ),
    checkStability(
      rows,
      "payment #1 vs #1000",
      "auto ERC-20 payment #1 (steady state)",
      "auto ERC-20 payment #1000",
      STABILITY_LIMIT_PERCENT,
    ),
    // Gas per payment must not grow with the batch's size (scripts/bench/batch.ts).
    ...batchChecks,
  ];

  console.log("");
  for (const line of formatTable(rows, verdicts)) console.log(line);
  console.log("");
  const min = series.reduce((a, b) => (b < a ? b : a));
  const max = series.reduce((a, b) => (b > a ? b : a));
  const mean = series.reduce((a, b) => a + b, 0n) / BigInt(series.length);
  console.log(
    `Series of ${SERIES_LENGTH} payments: min ${fmtGas(min)}, max ${fmtGas(max)}, mean ${fmtGas(mean)} ` +
      `(spread ${((Number(max - min) * 100) / Number(min)).toFixed(3)}%; calldata varies with nonce and signature bytes)`,
  );
  for (const line of formatVerdicts(verdicts, checks)) console.log(line);
  for (const line of formatAllowanceComparison(rows)) console.log(line);
  const slips = clockSlipCount();
  console.log(
    slips === 0
      ? "Clock: every measured block was mined at its planned time (numbers reproduce exactly)."
      : `Clock: ${slips} measured blocks slipped behind setup blocks; calldata (validUntil) and gas may vary slightly.`,
  );

  for (const line of profileLines) console.log(line);
  console.log("");
  for (const t of deployTimings) {
    console.log(`${t.name.padEnd(60)} ${(t.ms / 1000).toFixed(1).padStart(8)} s  (changed: ${t.changed})`);
  }
  fs.writeFileSync(
    path.join(config.paths.root, "reports", "deploy-timing.json"),
    JSON.stringify(deployTimings, null, 2) + "\n",
  );

  const { gasFile, budgetFile } = writeReports(config.paths.root, rows, verdicts, checks);
  console.log("");
  const snapshot = applySnapshot(path.join(config.paths.root, SNAPSHOT_FILE), rows.all(), gasSnapshot);
  for (const line of snapshot.lines) console.log(line);
  console.log("");
  console.log(`Wrote ${gasFile} and ${budgetFile} in ${elapsed()}.`);
  const failures = [...benchFailures(verdicts, checks), ...snapshot.failures];
  if (failures.length > 0) {
    console.error(`Gas benchmark failed (${failures.length}):`);
    for (const failure of failures) console.error(`  ${failure}`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
