/**
 * The watchtower against the in-process chain (treasuryFixture): the checkpoint across a crash in the middle of a
 * block's deliveries, reverted submissions read from failed transactions, intents decoded from transaction input,
 * the automatic freeze with a guardian key, the webhook sink and the metrics endpoint.
 */
import { expect } from "chai";
import fs from "fs";
import http from "http";
import os from "os";
import path from "path";
import type { AddressInfo } from "net";
import { ethers } from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { id, parseEther } from "ethers";
import { Treasury, buildIntent, sign, submitSigned, transferData, treasuryFixture, intentId } from "../../fixtures";
import { GuardianClient } from "../../../sdk/guardian";
import {
  Alert,
  AlertSink,
  AutoResponder,
  DeliveryPendingError,
  MemorySink,
  MetricsConfigError,
  MonitorMetrics,
  UrgentSigner,
  Watchtower,
  WebhookError,
  WebhookSink,
  parseMonitorConfig,
} from "../../../monitor";

/** Accepts every alert except the n-th one it sees, which it refuses once (a receiver that was down). */
class FlakySink implements AlertSink {
  readonly alerts: Alert[] = [];
  private seen = 0;
  constructor(
    readonly name: string,
    private readonly failAt: number,
  ) {}
  async deliver(alert: Alert): Promise<void> {
    this.seen++;
    if (this.seen === this.failAt) throw new Error("receiver down");
    this.alerts.push(alert);
  }
}

function tmpFile(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-watchtower-")), name);
}

async function tower(
  fx: Treasury,
  rules: unknown[],
  sinks: AlertSink[],
  checkpointFile: string,
  fromBlock: number,
  responder?: AutoResponder,
) {
  return new Watchtower({
    provider: ethers.provider,
    chainId: fx.chainId,
    module: fx.moduleAddress,
    safe: fx.safeAddress,
    config: parseMonitorConfig({ confirmations: 1, pollIntervalMs: 10, rules }),
    sinks,
    responder,
    checkpointFile,
    fromBlock,
    names: { [fx.agent.address]: "payroll" },
    tokens: { USDC: fx.usdcAddress },
  });
}

async function payEth(fx: Treasury, to: string, amount: bigint, fields: Parameters<typeof buildIntent>[1] = {}) {
  const intent = await buildIntent(fx, { target: to, value: amount, ...fields });
  await (await submitSigned(fx, intent)).wait();
  return intent;
}

const RULES = [{ rule: "new-recipient" }, { rule: "spend-rate", minShareOfCap: 0.3 }, { rule: "emergency" }];

describe("Watchtower", function () {
  describe("when a sink fails in the middle of a block", function () {
    it("test_restart_afterFailedDelivery_deliversTheRestOnceAndLosesNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      // One payment of 1 ETH to a new recipient: two alerts in one block (new recipient, spend rate above 30% of the 3 ETH cap).
      await payEth(fx, fx.alice.address, parseEther("1"));

      const checkpoint = tmpFile("checkpoint.json");
      const memory1 = new MemorySink("memory");
      const hook1 = new FlakySink("hook", 2);
      const first = await tower(fx, RULES, [memory1, hook1], checkpoint, start);
      let error: unknown;
      try {
        await first.poll();
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(DeliveryPendingError);
      expect((error as DeliveryPendingError).sink).to.equal("hook");
      expect(memory1.alerts.map((a) => a.kind)).to.deep.equal(["new-recipient", "spend-rate"]);
      expect(hook1.alerts.map((a) => a.kind)).to.deep.equal(["new-recipient"]);

      // More happens while the watchtower is down: a payment to another new recipient, then a pause.
      await payEth(fx, fx.bob.address, parseEther("0.5"));
      await (await fx.module.connect(fx.guardian).pause()).wait();

      // Restarted from the checkpoint with fresh sinks of the same names.
      const memory2 = new MemorySink("memory");
      const hook2 = new FlakySink("hook", 0);
      const second = await tower(fx, RULES, [memory2, hook2], checkpoint, start);
      await second.poll();
      expect(hook2.alerts.map((a) => a.kind)).to.deep.equal(["spend-rate", "new-recipient", "emergency"]);
      expect(memory2.alerts.map((a) => a.kind)).to.deep.equal(["new-recipient", "emergency"]);

      // The same history read in one go by a watchtower that never failed.
      const reference = new MemorySink("memory");
      const clean = await tower(fx, RULES, [reference], tmpFile("reference.json"), start);
      await clean.poll();
      const ids = (alerts: Alert[]) => alerts.map((a) => a.id);
      expect([...ids(memory1.alerts), ...ids(memory2.alerts)]).to.deep.equal(ids(reference.alerts));
      expect([...ids(hook1.alerts), ...ids(hook2.alerts)].sort()).to.deep.equal(ids(reference.alerts).sort());
      expect(second.stats()).to.deep.equal(clean.stats());
      expect(second.stats()[0]).to.deep.include({
        name: "payroll",
        counts: { executed: 2, queued: 0, denied: 0, cancelled: 0, replays: 0, reverted: 0 },
      });
      expect(second.state.paused).to.equal(true);

      // A third start from the same checkpoint repeats nothing.
      const memory3 = new MemorySink("memory");
      const third = await tower(fx, RULES, [memory3, new MemorySink("hook")], checkpoint, start);
      await third.poll();
      expect(memory3.alerts).to.deep.equal([]);
    });
  });

  describe("when submissions revert on-chain", function () {
    it("test_revertedSubmission_conflictAndForgedSignature_reported", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      const key = id("invoice-7");
      const original = await buildIntent(fx, {
        target: fx.alice.address,
        value: parseEther("0.1"),
        idempotencyKey: key,
      });
      await (await submitSigned(fx, original)).wait();
      // Same key, different payload, sent with a fixed gas limit so that it is mined and reverts.
      const conflicting = await buildIntent(fx, {
        target: fx.attacker.address,
        value: parseEther("0.2"),
        idempotencyKey: key,
      });
      const forged = await buildIntent(fx, {
        target: fx.attacker.address,
        value: parseEther("0.3"),
        nonce: conflicting.nonce,
      });
      const sendFailing = async (intent: typeof original, signer = fx.agent) => {
        const data = fx.module.interface.encodeFunctionData("submit", [intent, await sign(signer, fx, intent)]);
        try {
          await (await fx.relayer.sendTransaction({ to: fx.moduleAddress, data, gasLimit: 1_000_000 })).wait();
        } catch {
          // Hardhat reports the revert; the transaction is mined all the same.
        }
      };
      await sendFailing(conflicting);
      await sendFailing(forged, fx.attacker);
      const failed = await ethers.provider.getBlock("latest", true);
      expect((await ethers.provider.getTransactionReceipt(failed!.prefetchedTransactions[0].hash))!.status).to.equal(0);

      const sink = new MemorySink();
      const t = await tower(
        fx,
        [{ rule: "idempotency-conflict" }, { rule: "rejected-submission" }],
        [sink],
        tmpFile("cp.json"),
        start,
      );
      await t.poll();
      expect(sink.alerts.map((a) => [a.kind, a.details.error ?? a.details.originalIntentId])).to.deep.equal([
        ["idempotency-conflict", intentId(fx, original)],
        ["rejected-submission", "IntentSignatureInvalid"],
      ]);
      expect(sink.alerts[0].intentId).to.equal(intentId(fx, conflicting).toLowerCase());
      expect(sink.alerts[1]).to.deep.include({ severity: "critical" });
      expect(t.stats()[0].counts.reverted).to.equal(2);
    });
  });

  describe("when intents are decoded from transaction input", function () {
    it("test_lane_fromSubmitCalldata_reported", async function () {
      const fx = await loadFixture(treasuryFixture);
      await payEth(fx, fx.alice.address, parseEther("0.01"));
      const start = (await ethers.provider.getBlockNumber()) + 1;
      await payEth(fx, fx.alice.address, parseEther("0.01"), {
        lane: 5n,
        nonce: await fx.module.getNonce(fx.agent.address, 5n),
      });
      const sink = new MemorySink();
      const t = await tower(fx, [{ rule: "nonce-lane" }], [sink], tmpFile("cp.json"), start);
      await t.poll();
      expect(sink.alerts).to.have.length(1);
      expect(sink.alerts[0].details).to.deep.include({ lane: "5", sequence: "0", knownLanes: 2 });
      expect(sink.alerts[0].message).to.equal("first use of nonce lane 5");
    });
  });

  describe("when a rule says freeze", function () {
    it("test_autoFreeze_onDenial_freezesWithGuardianAndSaysSo", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      // 20 ETH is above the agent's 10 ETH hard cap: denied.
      const denied = await buildIntent(fx, { target: fx.attacker.address, value: parseEther("20") });
      await (await submitSigned(fx, denied)).wait();
      const guardian = await GuardianClient.connect({
        module: fx.moduleAddress,
        signer: new UrgentSigner(fx.guardian),
        pollIntervalMs: 10,
      });
      const sink = new MemorySink();
      const t = await tower(
        fx,
        [{ rule: "denied-intent", action: "freeze" }, { rule: "emergency" }],
        [sink],
        tmpFile("cp.json"),
        start,
        new AutoResponder({ guardian, enabled: true }),
      );
      await t.poll();
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(true);
      expect(sink.alerts).to.have.length(1);
      expect(sink.alerts[0].response).to.deep.include({ action: "freeze", status: "done", by: fx.guardian.address });
      const receipt = await ethers.provider.getTransactionReceipt(sink.alerts[0].response!.txHash!);
      const frozen = receipt!.logs.map((l) => fx.module.interface.parseLog(l)).find((l) => l?.name === "AgentFrozen");
      expect(frozen!.args.agent).to.equal(fx.agent.address);
      expect(frozen!.args.by).to.equal(fx.guardian.address);
      // Sent with a raised tip, to be ordered before an attacker's payment in the same block.
      const sent = await ethers.provider.getTransaction(sink.alerts[0].response!.txHash!);
      expect(sent!.maxPriorityFeePerGas).to.be.at.least(2_000_000_000n);
      // The next poll reads the freeze itself, labelled as this watchtower's.
      await t.poll();
      expect(sink.alerts[1].message).to.equal(
        `agent frozen by this watchtower's guardian ${fx.guardian.address} (reason "manual")`,
      );
    });

    it("test_autoFreeze_withoutKey_reportsDisabledAndMovesNothing", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      await (
        await submitSigned(fx, await buildIntent(fx, { target: fx.attacker.address, value: parseEther("20") }))
      ).wait();
      const sink = new MemorySink();
      const t = await tower(
        fx,
        [{ rule: "denied-intent", action: "freeze" }],
        [sink],
        tmpFile("cp.json"),
        start,
        new AutoResponder({ enabled: false, disabledReason: "--no-respond" }),
      );
      await t.poll();
      expect(sink.alerts[0].response).to.deep.equal({ action: "freeze", status: "disabled", error: "--no-respond" });
      expect(await fx.module.isFrozen(fx.agent.address)).to.equal(false);
    });
  });

  describe("sinks and metrics", function () {
    let server: http.Server;
    let url: string;
    const received: { id: string; body: Alert }[] = [];
    let status = 200;

    before(async function () {
      server = http.createServer((req, res) => {
        let body = "";
        req.on("data", (c) => (body += c));
        req.on("end", () => {
          if (status === 200) received.push({ id: String(req.headers["x-alert-id"]), body: JSON.parse(body) as Alert });
          res.writeHead(status).end();
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
    });
    after(async function () {
      await new Promise<void>((r) => server.close(() => r()));
    });

    it("test_webhook_postsJsonWithId_andFailsLoudlyOnErrors", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      await payEth(fx, fx.alice.address, parseEther("0.01"));
      const t = await tower(fx, [{ rule: "new-recipient" }], [new WebhookSink(url)], tmpFile("cp.json"), start);
      await t.poll();
      expect(received).to.have.length(1);
      expect(received[0].id).to.equal(received[0].body.id);
      expect(received[0].body).to.deep.include({ kind: "new-recipient", block: start, chainId: "31337" });

      status = 503;
      const sink = new WebhookSink(url, { attempts: 2, backoffMs: 5 });
      let error: unknown;
      try {
        await sink.deliver(received[0].body);
      } catch (e) {
        error = e;
      }
      status = 200;
      expect(error).to.be.instanceOf(WebhookError);
      expect((error as WebhookError).message).to.match(/failed: HTTP 503\. The alert stays pending/);
    });

    it("test_metrics_loopbackEndpoint_servesCountsAndRefusesOtherHosts", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      await payEth(fx, fx.alice.address, parseEther("0.25"));
      const metrics = new MonitorMetrics();
      const t = new Watchtower({
        provider: ethers.provider,
        chainId: fx.chainId,
        module: fx.moduleAddress,
        config: parseMonitorConfig({ confirmations: 1, rules: [{ rule: "new-recipient" }] }),
        sinks: [new MemorySink()],
        checkpointFile: tmpFile("cp.json"),
        fromBlock: start,
        names: { [fx.agent.address]: "payroll" },
        metrics,
      });
      await t.poll();
      const port = await metrics.listen(0);
      try {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        expect(text).to.contain('atg_monitor_alerts_total{rule="new-recipient",severity="warning"} 1');
        expect(text).to.contain('atg_agent_intents{agent="payroll",outcome="executed"} 1');
        expect(text).to.contain(
          `atg_agent_spent_base_units{agent="payroll",asset="0x0000000000000000000000000000000000000000"} ${parseEther("0.25")}`,
        );
        expect(text).to.match(/atg_monitor_processed_block \d+/);
      } finally {
        await metrics.close();
      }
      let error: unknown;
      try {
        await new MonitorMetrics().listen(0, "0.0.0.0");
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(MetricsConfigError);
    });
  });

  describe("when the token is a payment", function () {
    it("test_tokenPayment_humanUnitsInAlert", async function () {
      const fx = await loadFixture(treasuryFixture);
      const start = (await ethers.provider.getBlockNumber()) + 1;
      const intent = await buildIntent(fx, { target: fx.usdcAddress, data: transferData(fx.bob.address, 1_250_000n) });
      await (await submitSigned(fx, intent)).wait();
      const sink = new MemorySink();
      const t = await tower(fx, [{ rule: "new-recipient" }], [sink], tmpFile("cp.json"), start);
      await t.poll();
      expect(sink.alerts.map((a) => a.message)).to.deep.equal([`new recipient ${fx.bob.address}: paid 1.25 USDC`]);
    });
  });
});
