/**
 * The rule engine on synthetic blocks: each rule's threshold (fires just above it, not at it), its subject, its
 * cooldown, what the alert says in human units, and determinism (same state and block, same alert ids).
 */
import { expect } from "chai";
import { Interface, ZeroAddress, ZeroHash, getAddress, id, parseEther, parseUnits } from "ethers";
import { packNonce } from "../../../sdk/eip712";
import type { Intent } from "../../../sdk/eip712";
import type { JournalEntry } from "../../../sdk/journal";
import type { ChainEvent, ModuleEventBody } from "../../../monitor/events";
import type { BlockBatch } from "../../../monitor/follower";
import { RuleConfigError, RuleEngine } from "../../../monitor/rules";
import { parseMonitorConfig } from "../../../core/monitorSchema";
import { cloneState } from "../../../monitor/stats";
import type { Alert } from "../../../monitor/alerts";

const HOUR = 3600;
const DAY = 86400;
const MODULE = getAddress("0x" + "11".repeat(20));
const SAFE = getAddress("0x" + "22".repeat(20));
const AGENT = getAddress("0x" + "a1".repeat(20));
const OTHER_AGENT = getAddress("0x" + "a2".repeat(20));
const USDC = getAddress("0x" + "c0".repeat(20));
const ALICE = getAddress("0x" + "b1".repeat(20));
const BOB = getAddress("0x" + "b2".repeat(20));
const MALLORY = getAddress("0x" + "ee".repeat(20));
const COS = [1, 2, 3].map((i) => getAddress("0x" + `c${i}`.repeat(20)));
const GUARDIAN = getAddress("0x" + "9a".repeat(20));
const T0 = 1_700_000_000;

const transfer = new Interface(["function transfer(address,uint256)"]);
const usdc = (n: string) => parseUnits(n, 6);

const AGENT_CONFIG = {
  validUntil: 0,
  escalationDelay: HOUR,
  gracePeriod: DAY,
  maxIntentsPerWindow: 0,
  rateWindow: 0,
  maxStrikes: 3,
  strikeWindow: DAY,
  recipientMode: 0,
};

/** Builds blocks one by one: each event gets a fresh tx hash and a position. */
class Chain {
  block = 100;
  private tx = 0;
  batch(time: number, ...bodies: ModuleEventBody[]): BlockBatch {
    this.block++;
    const hash = id(`block ${this.block}`);
    const events = bodies.map(
      (body, i) =>
        ({
          ...body,
          block: this.block,
          blockHash: hash,
          timestamp: time,
          txHash: id(`tx ${++this.tx}`),
          txIndex: i,
          logIndex: i,
        }) as ChainEvent,
    );
    return { number: this.block, hash, timestamp: time, events };
  }
}

function intent(fields: Partial<Intent> = {}): Intent {
  return {
    agent: AGENT,
    target: USDC,
    value: 0n,
    data: transfer.encodeFunctionData("transfer", [ALICE, usdc("100")]),
    nonce: 0n,
    idempotencyKey: ZeroHash,
    validAfter: 0n,
    validUntil: BigInt(T0 + 30 * DAY),
    rationale: id("invoice"),
    review: false,
    ...fields,
  };
}

function paid(amount: bigint, to = ALICE, extra: Partial<Intent> = {}): ModuleEventBody {
  const i = intent({ data: transfer.encodeFunctionData("transfer", [to, amount]), ...extra });
  return {
    kind: "IntentExecuted",
    intentId: id(`intent ${Math.random()}`),
    agent: i.agent,
    asset: USDC,
    to,
    amount,
    escalated: false,
    rationale: i.rationale,
    intent: i,
    via: "submit",
  };
}

function engineWith(rules: unknown[], extra: { names?: Record<string, string>; self?: string } = {}) {
  const config = parseMonitorConfig({ rules });
  const engine = new RuleEngine(config.rules, {
    chainId: "31337",
    module: MODULE,
    safe: SAFE,
    names: extra.names ?? { [AGENT.toLowerCase()]: "payroll" },
    assets: { [USDC.toLowerCase()]: { symbol: "USDC", decimals: 6 } },
    self: extra.self,
  });
  return engine;
}

/** Registers the agent with USDC limits 1000/tx, 5000/day and the co-signers (2 of 3), silently. */
function setUp(engine: RuleEngine, chain: Chain, time = T0) {
  engine.process(
    chain.batch(
      time,
      { kind: "AgentSet", agent: AGENT, config: AGENT_CONFIG },
      {
        kind: "AssetLimitSet",
        agent: AGENT,
        asset: USDC,
        limit: { autoPerTx: usdc("1000"), autoPerWindow: usdc("5000"), window: DAY, escalatedPerTx: usdc("50000") },
      },
      { kind: "CosignersSet", members: COS, threshold: 2 },
      { kind: "GuardianSet", guardian: GUARDIAN, enabled: true },
    ),
    { emit: false },
  );
}

const only = (alerts: Alert[], kind: string) => alerts.filter((a) => a.kind === kind);

describe("RuleEngine", function () {
  describe("spend-rate", function () {
    const rule = {
      rule: "spend-rate",
      period: "1h",
      baseline: "7d",
      multiple: 5,
      minShareOfCap: 0.25,
      action: "freeze",
    };

    it("test_spendRate_aboveBaselineAndFloor_firesOnceWithHumanUnits", function () {
      const engine = engineWith([rule]);
      const chain = new Chain();
      setUp(engine, chain, T0 - 8 * DAY);
      // A week of normal behaviour: 100 USDC a day.
      for (let d = 7; d >= 1; d--) engine.process(chain.batch(T0 - d * DAY, paid(usdc("100"))), { emit: false });
      // Within one hour: 1000 (not above the 1250 floor), then 2000 in total: fires, then stays quiet for the period.
      expect(engine.process(chain.batch(T0, paid(usdc("1000"))), { emit: true })).to.deep.equal([]);
      const fired = engine.process(chain.batch(T0 + 60, paid(usdc("1000"))), { emit: true });
      expect(fired).to.have.length(1);
      expect(fired[0]).to.deep.include({
        kind: "spend-rate",
        rule: "spend-rate",
        severity: "critical",
        action: "freeze",
      });
      expect(fired[0].agent).to.deep.equal({ address: AGENT, name: "payroll" });
      expect(fired[0].message).to.match(
        /^spent 2000 USDC in the last 3600s, .*x its baseline of .* USDC per period \(window cap 5000 USDC\)$/,
      );
      expect(fired[0].details).to.deep.include({
        spentInPeriod: usdc("2000").toString(),
        windowCap: usdc("5000").toString(),
        floor: usdc("1250").toString(),
      });
      expect(engine.process(chain.batch(T0 + 120, paid(usdc("1000"))), { emit: true })).to.deep.equal([]);
    });

    it("test_spendRate_withinBaselineMultiple_silent", function () {
      const engine = engineWith([rule]);
      const chain = new Chain();
      setUp(engine, chain, T0 - 8 * DAY);
      // A heavy but steady spender: 1000 USDC every 2 hours for a week (baseline 500 per hour; 5x is 2500).
      for (let h = 7 * 24; h >= 2; h -= 2)
        engine.process(chain.batch(T0 - h * HOUR, paid(usdc("1000"))), { emit: false });
      const alerts = engine.process(chain.batch(T0, paid(usdc("1000")), paid(usdc("1000"))), { emit: true });
      expect(only(alerts, "spend-rate")).to.deep.equal([]);
    });
  });

  describe("new-recipient", function () {
    it("test_newRecipient_firstPaymentOnly_andAllowlistedIsKnown", function () {
      const engine = engineWith([{ rule: "new-recipient" }]);
      const chain = new Chain();
      setUp(engine, chain);
      engine.process(chain.batch(T0 + 1, paid(usdc("10"), ALICE)), { emit: false });
      engine.process(chain.batch(T0 + 2, { kind: "RecipientSet", agent: AGENT, recipient: BOB, allowed: true }), {
        emit: false,
      });
      expect(
        engine.process(chain.batch(T0 + 3, paid(usdc("10"), ALICE), paid(usdc("10"), BOB)), { emit: true }),
      ).to.deep.equal([]);
      const first = engine.process(chain.batch(T0 + 4, paid(usdc("10"), MALLORY)), { emit: true });
      expect(first).to.have.length(1);
      expect(first[0].message).to.equal(`new recipient ${MALLORY}: paid 10 USDC`);
      expect(engine.process(chain.batch(T0 + 5, paid(usdc("10"), MALLORY)), { emit: true })).to.deep.equal([]);
    });

    it("test_newRecipient_queuedThenExecuted_reportedOnce", function () {
      const engine = engineWith([{ rule: "new-recipient" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const i = intent({ data: transfer.encodeFunctionData("transfer", [MALLORY, usdc("20000")]) });
      const intentId = id("queued one");
      const queued = engine.process(
        chain.batch(T0 + 1, { kind: "IntentQueued", intentId, agent: AGENT, eta: T0 + 1 + HOUR, intent: i }),
        { emit: true },
      );
      expect(queued.map((a) => a.message)).to.deep.equal([
        `new recipient ${MALLORY}: queued: pay 20000 USDC to ${MALLORY}`,
      ]);
      expect(queued[0].details.queued).to.equal(true);
      const executed = engine.process(
        chain.batch(T0 + 2 * HOUR, {
          kind: "IntentExecuted",
          intentId,
          agent: AGENT,
          asset: USDC,
          to: MALLORY,
          amount: usdc("20000"),
          escalated: true,
          rationale: i.rationale,
        }),
        { emit: true },
      );
      expect(executed).to.deep.equal([]);
    });
  });

  describe("intent-burst, denials and strikes", function () {
    it("test_burst_aboveMaxIntents_firesAtTheFirstIntentOver", function () {
      const engine = engineWith([{ rule: "intent-burst", maxIntents: 3, period: "10m" }]);
      const chain = new Chain();
      setUp(engine, chain);
      for (let k = 0; k < 3; k++)
        expect(engine.process(chain.batch(T0 + k * 60, paid(usdc("1"))), { emit: true })).to.deep.equal([]);
      const alerts = engine.process(chain.batch(T0 + 180, paid(usdc("1"))), { emit: true });
      expect(alerts.map((a) => a.message)).to.deep.equal(["4 intents within 600s (rule allows 3)"]);
      // Older intents leave the period: after 10 minutes of quiet, 3 more do not fire.
      for (let k = 0; k < 3; k++)
        expect(engine.process(chain.batch(T0 + 2000 + k, paid(usdc("1"))), { emit: true })).to.deep.equal([]);
    });

    it("test_denied_eachDenialAndStrikesAtThreshold_reported", function () {
      const engine = engineWith([
        { rule: "denied-intent", reasons: ["AboveHardCap"] },
        { rule: "strikes", atLeast: 2, action: "freeze" },
      ]);
      const chain = new Chain();
      setUp(engine, chain);
      const denied = (reason: "AboveHardCap" | "RateLimited") =>
        ({
          kind: "IntentDenied",
          intentId: id(`d ${Math.random()}`),
          agent: AGENT,
          reason,
          rationale: id("x"),
          intent: intent(),
        }) as ModuleEventBody;
      const first = engine.process(chain.batch(T0 + 1, denied("AboveHardCap")), { emit: true });
      expect(first.map((a) => a.kind)).to.deep.equal(["denied-intent"]);
      expect(first[0].message).to.equal(`intent denied (AboveHardCap): pay 100 USDC to ${ALICE}`);
      const second = engine.process(chain.batch(T0 + 2, denied("RateLimited")), { emit: true });
      expect(second.map((a) => a.kind)).to.deep.equal(["strikes"]);
      expect(second[0]).to.deep.include({ action: "freeze", severity: "critical" });
      expect(second[0].message).to.equal(
        "2 denied intents within 86400s (the module freezes it at 3 within its strike window): latest RateLimited",
      );
    });
  });

  describe("when an agent sends a non-canonical transfer (v3)", function () {
    it("test_denied_malformedTransferWithDirtyRecipient_namedAndNeverDecodedAsAPayment", function () {
      const engine = engineWith([{ rule: "denied-intent", reasons: ["MalformedCall"] }, { rule: "new-recipient" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const canonical = transfer.encodeFunctionData("transfer", [ALICE, usdc("100")]);
      const dirty = canonical.slice(0, 10) + "ff" + canonical.slice(12); // recipient word with a high byte set
      const denied = {
        kind: "IntentDenied",
        intentId: id("malformed"),
        agent: AGENT,
        reason: "MalformedCall",
        rationale: id("x"),
        intent: intent({ data: dirty }),
      } as ModuleEventBody;
      const alerts = engine.process(chain.batch(T0 + 1, denied), { emit: true });
      // Named, and shown as the call it is: no recipient is read from the dirty word, so no new-recipient alert.
      expect(alerts.map((a) => [a.kind, a.message])).to.deep.equal([
        ["denied-intent", `intent denied (MalformedCall): call 0xa9059cbb on ${USDC}`],
      ]);
      expect(alerts[0].details).to.deep.include({ reason: "MalformedCall" });
    });
  });

  describe("idempotency and lanes", function () {
    it("test_replay_beyondMaxReplays_fires", function () {
      const engine = engineWith([{ rule: "idempotent-replay", maxReplays: 1, period: "1h" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const replay = {
        kind: "IdempotentReplay",
        intentId: id("orig"),
        agent: AGENT,
        idempotencyKey: id("key"),
      } as ModuleEventBody;
      expect(engine.process(chain.batch(T0 + 1, replay), { emit: true })).to.deep.equal([]);
      const alerts = engine.process(chain.batch(T0 + 2, replay), { emit: true });
      expect(alerts).to.have.length(1);
      expect(alerts[0].details).to.deep.include({ replaysInPeriod: 2, idempotencyKey: id("key") });
    });

    it("test_conflict_fromRevertedSubmission_andJournal_reported", function () {
      const engine = engineWith([{ rule: "idempotency-conflict" }, { rule: "rejected-submission" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const alerts = engine.process(
        chain.batch(
          T0 + 1,
          {
            kind: "SubmissionReverted",
            from: BOB,
            function: "submit",
            agent: AGENT,
            intentId: id("b"),
            idempotencyKey: id("k"),
            errorName: "IdempotencyKeyConflict",
            errorArgs: { agent: AGENT, key: id("k"), originalIntentId: id("a") },
          },
          {
            kind: "SubmissionReverted",
            from: MALLORY,
            function: "submit",
            agent: AGENT,
            intentId: id("c"),
            errorName: "IntentSignatureInvalid",
            errorArgs: {},
          },
        ),
        { emit: true },
      );
      expect(alerts.map((a) => [a.kind, a.severity])).to.deep.equal([
        ["idempotency-conflict", "warning"],
        ["rejected-submission", "critical"],
      ]);
      expect(alerts[0].message).to.contain(`key ${id("k")} is bound to another payload (original ${id("a")})`);

      const signed = (intentId: string, to: string): JournalEntry => ({
        t: "signed",
        v: 1,
        at: "",
        intentId,
        kind: "submit",
        chainId: "31337",
        module: MODULE,
        signature: "0x",
        rationaleText: "r",
        keySource: "caller",
        signedAtBlock: 1,
        intent: {
          agent: AGENT,
          target: USDC,
          value: "0",
          data: transfer.encodeFunctionData("transfer", [to, 5n]),
          nonce: "0",
          idempotencyKey: id("k2"),
          validAfter: "0",
          validUntil: "1",
          rationale: id("r"),
        },
      });
      const entries: JournalEntry[] = [signed(id("j1"), ALICE), signed(id("j2"), MALLORY)];
      const fromJournal = engine.journalAlerts(entries, 0, { block: 200, time: T0 + 5 });
      expect(fromJournal).to.have.length(1);
      expect(fromJournal[0].message).to.contain(`two different payloads under idempotency key ${id("k2")}`);
      // Already examined entries are not reported again.
      expect(engine.journalAlerts(entries, 2, { block: 201, time: T0 + 6 })).to.deep.equal([]);
    });

    it("test_lane_newLaneAfterHistoryAndTooManyLanes_reported", function () {
      const engine = engineWith([{ rule: "nonce-lane", maxLanes: 2, period: "1d" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const onLane = (lane: bigint) => paid(usdc("1"), ALICE, { nonce: packNonce(lane, 0n) });
      // The very first lane of an agent is not news.
      expect(engine.process(chain.batch(T0 + 1, onLane(0n)), { emit: true })).to.deep.equal([]);
      const second = engine.process(chain.batch(T0 + 2, onLane(7n)), { emit: true });
      expect(second.map((a) => a.message)).to.deep.equal(["first use of nonce lane 7"]);
      const third = engine.process(chain.batch(T0 + 3, onLane(9n)), { emit: true });
      expect(third.map((a) => a.message)).to.deep.equal([
        "first use of nonce lane 9; 3 lanes within 86400s (rule allows 2)",
      ]);
    });
  });

  describe("queued-near-eta", function () {
    it("test_nearEta_withoutApprovals_firesOnceAtTheWindow", function () {
      const engine = engineWith([{ rule: "queued-near-eta", within: "15m" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const eta = T0 + HOUR;
      const queuedId = id("q");
      engine.process(
        chain.batch(T0, { kind: "IntentQueued", intentId: queuedId, agent: AGENT, eta, intent: intent() }),
        { emit: true },
      );
      expect(engine.process(chain.batch(eta - 15 * 60 - 1), { emit: true })).to.deep.equal([]);
      // One approval from a co-signer that is then removed does not count.
      engine.process(chain.batch(eta - 1000, { kind: "IntentApproved", intentId: queuedId, cosigner: COS[0] }), {
        emit: true,
      });
      engine.process(chain.batch(eta - 950, { kind: "CosignersSet", members: [COS[1], COS[2]], threshold: 2 }), {
        emit: false,
      });
      const fired = engine.process(chain.batch(eta - 900), { emit: true });
      expect(fired).to.have.length(1);
      expect(fired[0].intentId).to.equal(queuedId);
      expect(fired[0].message).to.match(/is close to its eta .* with 0 of 2 on-chain approvals$/);
      expect(engine.process(chain.batch(eta - 10), { emit: true })).to.deep.equal([]);
    });

    it("test_nearEta_withThresholdApprovals_silent", function () {
      const engine = engineWith([{ rule: "queued-near-eta", within: "15m" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const eta = T0 + HOUR;
      const queuedId = id("q2");
      engine.process(
        chain.batch(
          T0,
          { kind: "IntentQueued", intentId: queuedId, agent: AGENT, eta, intent: intent() },
          { kind: "IntentApproved", intentId: queuedId, cosigner: COS[0] },
          { kind: "IntentApproved", intentId: queuedId, cosigner: COS[1] },
        ),
        { emit: true },
      );
      expect(engine.process(chain.batch(eta), { emit: true })).to.deep.equal([]);
    });
  });

  describe("emergency and configuration", function () {
    it("test_emergency_freezeByModuleAndByWatchtower_labelled", function () {
      const engine = engineWith([{ rule: "emergency" }], { self: GUARDIAN });
      const chain = new Chain();
      setUp(engine, chain);
      const alerts = engine.process(
        chain.batch(
          T0,
          { kind: "AgentFrozen", agent: AGENT, by: MODULE, reason: "strikes" },
          { kind: "Paused", by: GUARDIAN },
        ),
        { emit: true },
      );
      expect(alerts.map((a) => a.message)).to.deep.equal([
        'agent frozen by the module itself (strike limit reached) (reason "strikes")',
        `module paused by this watchtower's guardian ${GUARDIAN}: no submit, propose or executeQueued until the Safe unpauses`,
      ]);
      expect(engine.state.paused).to.equal(true);
      expect(engine.state.agents[AGENT.toLowerCase()].frozen).to.equal(true);
    });

    it("test_config_loosenedLimitsAndSettings_reportedTighteningSilent", function () {
      const engine = engineWith([{ rule: "config-loosened", action: "pause" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const limit = (autoPerWindow: string, window: number) => ({
        autoPerTx: usdc("1000"),
        autoPerWindow: usdc(autoPerWindow),
        window,
        escalatedPerTx: usdc("50000"),
      });
      // Tightening: lower window cap. Silent.
      expect(
        engine.process(
          chain.batch(T0 + 1, { kind: "AssetLimitSet", agent: AGENT, asset: USDC, limit: limit("4000", DAY) }),
          { emit: true },
        ),
      ).to.deep.equal([]);
      const raised = engine.process(
        chain.batch(T0 + 2, { kind: "AssetLimitSet", agent: AGENT, asset: USDC, limit: limit("9000", HOUR) }),
        { emit: true },
      );
      expect(raised).to.have.length(1);
      expect(raised[0]).to.deep.include({ action: "pause", severity: "critical" });
      expect(raised[0].details.changes).to.deep.equal([
        "autoPerWindow: 4000 USDC -> 9000 USDC (looser)",
        "window: 86400s -> 3600s (looser)",
      ]);
      const more = engine.process(
        chain.batch(
          T0 + 3,
          { kind: "AgentSet", agent: AGENT, config: { ...AGENT_CONFIG, maxStrikes: 0, escalationDelay: 60 } },
          { kind: "CosignersSet", members: COS, threshold: 1 },
          { kind: "GuardianSet", guardian: GUARDIAN, enabled: false },
          { kind: "TreasuryLimitSet", asset: ZeroAddress, perWindow: parseEther("5"), window: DAY },
          { kind: "SafeEnabledModule", module: MALLORY },
          { kind: "SafeEnabledModule", module: MODULE },
        ),
        { emit: true },
      );
      expect(more.map((a) => a.message)).to.deep.equal([
        `agent ${AGENT} set: escalationDelay 3600s -> 60s; maxStrikes 3 -> none (LOOSENS)`,
        "co-signer set changed: co-signer threshold 2 -> 1 (LOOSENS)",
        `guardian ${GUARDIAN} disabled: guardian ${GUARDIAN} enabled -> disabled (LOOSENS)`,
        `the Safe enabled another module ${MALLORY}: Safe module ${MALLORY} disabled -> enabled (LOOSENS)`,
      ]);
    });

    it("test_config_callConditionDropped_reportedAsLooseningAddingSilent", function () {
      // v3: the owners pin a swap's recipient to the Safe (narrows: silent), then drop that condition (loosens).
      const engine = engineWith([{ rule: "config-loosened", action: "pause" }]);
      const chain = new Chain();
      setUp(engine, chain);
      const ROUTER = getAddress("0x" + "70".repeat(20));
      const word = (v: string) => `0x${v.replace(/^0x/, "").toLowerCase().padStart(64, "0")}`;
      const recipientIsSafe = { word: 3, op: 1, value: word("0") };
      const charge = { word: 4, op: 4, value: word(USDC) };
      const set = (time: number, conditions: { word: number; op: number; value: string }[]) =>
        engine.process(
          chain.batch(time, {
            kind: "CallConditionsSet",
            agent: AGENT,
            target: ROUTER,
            selector: "0x04e45aaf",
            conditions,
          }),
          { emit: true },
        );
      expect(set(T0 + 1, [recipientIsSafe, charge])).to.deep.equal([]);
      expect(engine.state.agents[AGENT.toLowerCase()].callConditions).to.deep.equal({
        [`${ROUTER.toLowerCase()}:0x04e45aaf`]: [recipientIsSafe, charge],
      });
      const dropped = set(T0 + 2, [charge]);
      expect(dropped.map((a) => [a.severity, a.action, a.message])).to.deep.equal([
        [
          "critical",
          "pause",
          `conditions of call 0x04e45aaf on ${ROUTER} set: conditions of call 0x04e45aaf on ${ROUTER} ` +
            `word 3 is the Safe; word 4 charged as ${USDC} (to the agent's limits, like a payment) -> ` +
            `word 4 charged as ${USDC} (to the agent's limits, like a payment) (LOOSENS)`,
        ],
      ]);
      expect(set(T0 + 3, [])).to.have.length(1);
      expect(engine.state.agents[AGENT.toLowerCase()].callConditions).to.deep.equal({});
    });

    it("test_config_includeTightening_reportsAtInfo", function () {
      const engine = engineWith([{ rule: "config-loosened", includeTightening: true }]);
      const chain = new Chain();
      setUp(engine, chain);
      const alerts = engine.process(chain.batch(T0 + 1, { kind: "AgentRemoved", agent: AGENT }), { emit: true });
      expect(alerts.map((a) => [a.severity, a.message])).to.deep.equal([
        ["info", `agent ${AGENT} removed: agent active -> removed (does not loosen)`],
      ]);
    });
  });

  describe("when rules filter agents", function () {
    it("test_filter_byName_onlyThatAgent", function () {
      const engine = engineWith([{ rule: "new-recipient", agents: ["payroll"] }]);
      const chain = new Chain();
      setUp(engine, chain);
      const other = engine.process(
        chain.batch(T0 + 1, { ...paid(usdc("1"), MALLORY), agent: OTHER_AGENT } as ModuleEventBody),
        { emit: true },
      );
      expect(other).to.deep.equal([]);
      expect(engine.process(chain.batch(T0 + 2, paid(usdc("1"), MALLORY)), { emit: true })).to.have.length(1);
    });

    it("test_filter_unknownName_refusedWithTheKnownNames", function () {
      expect(() => engineWith([{ rule: "new-recipient", agents: ["treasurer"] }])).to.throw(
        RuleConfigError,
        /names agent "treasurer".*known: payroll/,
      );
    });
  });

  describe("determinism", function () {
    it("test_process_sameStateSameBlock_sameAlertIds", function () {
      const engine = engineWith([
        { rule: "new-recipient" },
        { rule: "spend-rate" },
        { rule: "intent-burst", maxIntents: 1 },
      ]);
      const chain = new Chain();
      setUp(engine, chain);
      const snapshot = cloneState(engine.state);
      const batch = chain.batch(T0 + 1, paid(usdc("3000"), MALLORY), paid(usdc("1000"), BOB));
      const first = engine.process(batch, { emit: true });
      engine.state = snapshot;
      const again = engine.process(batch, { emit: true });
      expect(first.length).to.equal(4);
      expect(again.map((a) => a.id)).to.deep.equal(first.map((a) => a.id));
    });
  });
});
