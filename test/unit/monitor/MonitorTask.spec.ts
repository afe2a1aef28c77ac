/**
 * `treasury:monitor` and `treasury:audit` run in-process (hre.run on the in-process chain): `--once --json` output,
 * and the refusals a security lead relies on (a key that is not a guardian, --json with --html).
 */
import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import hre from "hardhat";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther } from "ethers";
import { buildIntent, submitSigned, treasuryFixture } from "../../fixtures";
import type { Alert } from "../../../monitor/alerts";

/** A stream `write` that keeps the text and calls the write callback (sinks wait for it). */
function capture(keep: (text: string) => void): typeof process.stdout.write {
  return ((chunk: string | Uint8Array, encodingOrCallback?: unknown, callback?: unknown) => {
    keep(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString());
    const done = typeof encodingOrCallback === "function" ? encodingOrCallback : callback;
    if (typeof done === "function") (done as () => void)();
    return true;
  }) as typeof process.stdout.write;
}

/** Runs a task, capturing stdout and stderr, and restores the process's exit code. */
async function run(
  task: string,
  args: Record<string, unknown>,
): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const previous = process.exitCode;
  process.exitCode = 0;
  const out = process.stdout.write;
  const err = process.stderr.write;
  let stdout = "";
  let stderr = "";
  process.stdout.write = capture((c) => (stdout += c));
  process.stderr.write = capture((c) => (stderr += c));
  try {
    await hre.run(task, args);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const exitCode = Number(process.exitCode ?? 0);
  process.exitCode = previous;
  return { stdout, stderr, exitCode };
}

function tmp(name: string): string {
  return path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-monitor-task-")), name);
}

describe("monitor and audit tasks", function () {
  it("test_monitorOnce_json_printsAlertsThenSummary", async function () {
    const fx = await loadFixture(treasuryFixture);
    const from = (await hre.ethers.provider.getBlockNumber()) + 1;
    await (
      await submitSigned(fx, await buildIntent(fx, { target: fx.alice.address, value: parseEther("0.2") }))
    ).wait();
    await (await submitSigned(fx, await buildIntent(fx, { target: fx.alice.address, value: parseEther("20") }))).wait(); // denied
    const policy = tmp("policy.json");
    fs.writeFileSync(
      policy,
      JSON.stringify({ monitor: { rules: [{ rule: "new-recipient" }, { rule: "denied-intent" }] } }),
    );
    const r = await run("treasury:monitor", {
      module: fx.moduleAddress,
      policy,
      once: true,
      json: true,
      confirmations: 1,
      fromBlock: from,
      checkpoint: tmp("cp.json"),
    });
    expect(r.exitCode).to.equal(0);
    const lines = r.stdout
      .trim()
      .split("\n")
      .map(
        (l) =>
          JSON.parse(l) as
            Alert | { type: "summary"; processedBlock: number; agents: { counts: Record<string, number> }[] },
      );
    expect(lines.map((l) => (l.type === "alert" ? l.kind : l.type))).to.deep.equal([
      "new-recipient",
      "denied-intent",
      "summary",
    ]);
    const summary = lines[2] as { processedBlock: number; agents: { counts: Record<string, number> }[] };
    expect(summary.processedBlock).to.equal(await hre.ethers.provider.getBlockNumber());
    expect(summary.agents[0].counts).to.deep.include({ executed: 1, denied: 1 });
    expect(r.stderr).to.match(
      /monitor: watching module .* from block \d+; confirmations 1; rules new-recipient, denied-intent; responses off/,
    );
  });

  it("test_monitor_freezeRuleWithNonGuardianKey_refusedWithWhatToDo", async function () {
    const fx = await loadFixture(treasuryFixture);
    const policy = tmp("policy.json");
    // The policy names Bob as guardian: on chain 31337 his development key is used, but he is not the module's guardian.
    fs.writeFileSync(
      policy,
      JSON.stringify({
        guardians: [fx.bob.address],
        monitor: { rules: [{ rule: "strikes", atLeast: 1, action: "freeze" }] },
      }),
    );
    const r = await run("treasury:monitor", {
      module: fx.moduleAddress,
      policy,
      once: true,
      checkpoint: tmp("cp.json"),
    });
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.contain(
      `Error [NOT_A_GUARDIAN]: The guardian key ${fx.bob.address} is not a guardian of module ${fx.moduleAddress}`,
    );
    expect(r.stderr).to.contain("or run with --no-respond");
  });

  it("test_audit_jsonAndHtmlTogether_refused", async function () {
    const fx = await loadFixture(treasuryFixture);
    const r = await run("treasury:audit", { module: fx.moduleAddress, json: true, html: tmp("a.html") });
    expect(r.exitCode).to.equal(1);
    expect(JSON.parse(r.stdout)).to.deep.equal({
      error: { code: "INVALID_REQUEST", message: "Pass either --json or --html <file>, not both." },
    });
  });
});
