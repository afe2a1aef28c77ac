import { expect } from "chai";
import fs from "fs";
import os from "os";
import path from "path";
import { MonitorConfigError, loadMonitorConfig, parseMonitorConfig } from "../../../core/monitorSchema";
import { PolicyError, parsePolicy } from "../../../core/policy";

function issuesOf(input: unknown): { path: string; message: string }[] {
  try {
    parseMonitorConfig(input);
  } catch (error) {
    expect(error).to.be.instanceOf(MonitorConfigError);
    expect((error as MonitorConfigError).code).to.equal("MONITOR_CONFIG_INVALID");
    return (error as MonitorConfigError).issues;
  }
  expect.fail("the configuration was accepted");
}

describe("monitor rules schema", function () {
  describe("when the section is absent", function () {
    it("test_parse_defaults_allRulesAlertOnly", function () {
      const config = parseMonitorConfig(undefined);
      expect(config.confirmations).to.equal(2);
      expect(config.rules.map((r) => r.id)).to.include.members([
        "spend-rate",
        "new-recipient",
        "config-loosened",
        "queued-near-eta",
      ]);
      expect(config.rules.every((r) => r.action === "alert")).to.equal(true);
      const spend = config.rules.find((r) => r.rule === "spend-rate");
      expect(spend).to.deep.include({ period: 3600, baseline: 7 * 86400, multiple: 5, minShareOfCap: 0.25 });
    });
  });

  describe("when rules are given", function () {
    it("test_parse_durationsAndIds_readAsSecondsAndNumbered", function () {
      const config = parseMonitorConfig({
        confirmations: 1,
        rules: [
          { rule: "intent-burst", maxIntents: 3, period: "90s", action: "freeze" },
          { rule: "intent-burst", maxIntents: 10, period: "1h" },
          { rule: "queued-near-eta", within: "30m", id: "eta-watch" },
        ],
      });
      expect(config.rules.map((r) => r.id)).to.deep.equal(["intent-burst", "intent-burst#2", "eta-watch"]);
      expect(config.rules[0]).to.deep.include({ period: 90, maxIntents: 3, action: "freeze" });
      expect(config.rules[2]).to.deep.include({ within: 1800 });
    });

    it("test_parse_badFields_namesEachField", function () {
      const issues = issuesOf({
        confirmations: 0,
        rules: [
          { rule: "spend-rate", multiple: "five" },
          { rule: "intent-burst", period: "10 fortnights" },
          { rule: "not-a-rule" },
          { rule: "emergency", action: "freeze" },
          { rule: "denied-intent", reasons: ["Bogus"] },
          { rule: "new-recipient", colour: "red" },
        ],
      });
      const byPath = Object.fromEntries(issues.map((i) => [i.path, i.message]));
      expect(byPath["monitor.confirmations"]).to.match(/at least 1/);
      expect(byPath["monitor.rules[0].multiple"]).to.match(/number/);
      expect(byPath["monitor.rules[1].maxIntents"]).to.equal("required field is missing");
      expect(byPath["monitor.rules[1].period"]).to.match(/unknown unit "fortnights"/);
      expect(byPath["monitor.rules[2].rule"]).to.match(/must be one of "spend-rate"/);
      expect(byPath["monitor.rules[3].action"]).to.match(/no agent to freeze/);
      expect(byPath["monitor.rules[4].reasons[0]"]).to.match(/TargetNotAllowed/);
      expect(byPath["monitor.rules[5].colour"]).to.equal('unknown field "colour"');
    });

    it("test_parse_metricsOffLoopback_refused", function () {
      const issues = issuesOf({ metrics: { port: 9464, host: "0.0.0.0" } });
      expect(issues).to.deep.equal([
        {
          path: "monitor.metrics.host",
          message: "must be a loopback address (127.0.0.1, ::1 or localhost): metrics are not for the network",
        },
      ]);
    });

    it("test_parse_duplicateIds_refused", function () {
      const issues = issuesOf({
        rules: [
          { rule: "emergency", id: "x" },
          { rule: "denied-intent", id: "x" },
        ],
      });
      expect(issues).to.deep.equal([{ path: "monitor.rules[1].id", message: "duplicate rule id (also at rules[0])" }]);
    });
  });

  describe("when read from a policy file", function () {
    it("test_load_policyFile_readsMonitorAndGuardians", function () {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-monitor-"));
      const file = path.join(dir, "policy.json");
      const guardian = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
      fs.writeFileSync(
        file,
        JSON.stringify({
          guardians: [guardian],
          monitor: { rules: [{ rule: "strikes", atLeast: 2, action: "freeze" }] },
        }),
      );
      const loaded = loadMonitorConfig(file);
      expect(loaded.guardians).to.deep.equal([guardian]);
      expect(loaded.monitor.rules).to.have.length(1);
      expect(loaded.monitor.rules[0]).to.deep.include({ id: "strikes", atLeast: 2, action: "freeze" });
    });
  });

  describe("when part of a whole policy file", function () {
    const example = () =>
      JSON.parse(fs.readFileSync(path.resolve(__dirname, "../../../deploy/examples/dao.json"), "utf8")) as Record<
        string,
        unknown
      >;

    it("test_policy_withMonitorSection_accepted", function () {
      const policy = parsePolicy({
        ...example(),
        monitor: { confirmations: 3, rules: [{ rule: "spend-rate", action: "freeze" }] },
      });
      expect(policy.monitor?.confirmations).to.equal(3);
      expect(policy.monitor?.rules[0]).to.deep.include({ rule: "spend-rate", action: "freeze", period: 3600 });
    });

    it("test_readmeExample_monitorSection_acceptedAloneAndInThePolicy", function () {
      // The example README-MONITOR.md shows is valid, field by field, and documented in the policy field table.
      const readme = fs.readFileSync(path.resolve(__dirname, "../../../README-MONITOR.md"), "utf8");
      const section = readme.slice(readme.indexOf("## The `monitor` section of the policy file"));
      const block = /```json\n([\s\S]*?)\n```/.exec(section)![1];
      const { monitor } = JSON.parse(block) as { monitor: Record<string, unknown> };
      const parsed = parseMonitorConfig(monitor);
      expect(parsed.rules.map((r) => r.rule)).to.have.length(14);
      expect(parsed.metrics).to.deep.equal({ port: 9464, host: "127.0.0.1" });
      const policy = parsePolicy({ ...example(), monitor });
      expect(policy.monitor?.rules[2]).to.deep.include({
        rule: "intent-burst",
        maxIntents: 20,
        period: 600,
        action: "freeze",
        agents: ["payroll"],
      });
      for (const field of Object.keys(monitor)) expect(section, field).to.include(`| \`${field}\` |`);
      const fieldTable = fs.readFileSync(path.resolve(__dirname, "../../../deploy/examples/README.md"), "utf8");
      expect(fieldTable).to.match(/^\| `monitor` \| the watchtower's configuration/m);
    });

    it("test_policy_badMonitorField_namedByTheDeployValidator", function () {
      let error: unknown;
      try {
        parsePolicy({ ...example(), monitor: { rules: [{ rule: "spend-rate", multiple: 0.5 }] } });
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(PolicyError);
      expect((error as PolicyError).issues.map((i) => [i.path, i.message, i.value])).to.deep.equal([
        ["monitor.rules[0].multiple", "must be at least 1", 0.5],
      ]);
    });
  });
});
