/**
 * The gas benchmark's verdict and snapshot logic (scripts/bench/report.ts, scripts/bench/snapshot.ts) on fabricated
 * rows: a row above its mark fails the run by name, the per-row difference against the committed snapshot, new and
 * missing rows, and the GAS_SNAPSHOT modes. The benchmark itself (`npm run bench`) takes minutes and is not run here.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import { Budget, Row, Rows, benchFailures, checkStability, judgeBudgets } from "../../scripts/bench/report";
import {
  GasSnapshotError,
  SNAPSHOT_FILE,
  applySnapshot,
  diffSnapshot,
  formatDiff,
  parseSnapshot,
  snapshotFailures,
  snapshotMode,
  snapshotOf,
} from "../../scripts/bench/snapshot";
import { BUDGETS } from "../../scripts/bench/budgets";

const ROOT = path.resolve(__dirname, "../..");

function rowsOf(entries: [string, bigint][]): Rows {
  const rows = new Rows();
  for (const [name, gas] of entries) rows.add({ name, gas });
  return rows;
}

describe("Gas benchmark verdicts and snapshot", function () {
  describe("budgets: a row above its mark fails the run", function () {
    const budgets: Budget[] = [
      { name: "keyed payment", max: 140_000n, aim: 110_000n },
      { name: "relayed payment", max: 100_000n, aim: 85_000n },
      { name: "module creation", max: 150_000n },
    ];

    it("names the row, its gas, the mark and the excess of every row above its max", function () {
      const rows = rowsOf([
        ["keyed payment", 140_753n],
        ["relayed payment", 95_605n],
        ["module creation", 150_001n],
      ]);
      const failures = benchFailures(judgeBudgets(rows, budgets), []);
      expect(failures).to.deep.equal([
        'Row "keyed payment" used 140,753 gas, above its mark of 140,000 (by 753; BUDGETS in scripts/bench/budgets.ts)',
        'Row "module creation" used 150,001 gas, above its mark of 150,000 (by 1; BUDGETS in scripts/bench/budgets.ts)',
      ]);
    });

    it("passes a row exactly at its mark, and a missed aim is not a failure", function () {
      const rows = rowsOf([
        ["keyed payment", 140_000n],
        ["relayed payment", 99_999n],
        ["module creation", 1n],
      ]);
      const verdicts = judgeBudgets(rows, budgets);
      expect(verdicts.map((v) => [v.name, v.pass, v.aimMet])).to.deep.equal([
        ["keyed payment", true, false],
        ["relayed payment", true, false],
        ["module creation", true, null],
      ]);
      expect(benchFailures(verdicts, [])).to.deep.equal([]);
    });

    it("adds a failed stability check after the budget failures", function () {
      const rows = rowsOf([
        ["a", 100_000n],
        ["b", 103_000n],
        ["keyed payment", 150_000n],
        ["relayed payment", 1n],
        ["module creation", 1n],
      ]);
      const check = checkStability(rows, "a vs b", "a", "b", 2);
      expect(check.pass).to.equal(false);
      expect(benchFailures(judgeBudgets(rows, budgets), [check])).to.deep.equal([
        'Row "keyed payment" used 150,000 gas, above its mark of 140,000 (by 10,000; BUDGETS in scripts/bench/budgets.ts)',
        'Stability check "a vs b": 100,000 vs 103,000 differ by 3%, above the limit of 2%',
      ]);
    });
  });

  describe("difference against the snapshot", function () {
    const snapshot = {
      "plain transfer": 34_477,
      "keyed payment": 140_753,
      "relayed payment": 95_605,
      "old row": 1_000,
    };
    const run: Row[] = [
      { name: "plain transfer", gas: 34_477n },
      { name: "keyed payment", gas: 139_865n },
      { name: "relayed payment", gas: 96_000n },
      { name: "new row", gas: 50_000n },
    ];

    it("computes each row's absolute and percentage change, and lists new and missing rows", function () {
      expect(diffSnapshot(snapshot, run)).to.deep.equal([
        { name: "plain transfer", status: "same", before: 34_477, after: 34_477, delta: 0, percent: 0 },
        { name: "keyed payment", status: "changed", before: 140_753, after: 139_865, delta: -888, percent: -0.63 },
        { name: "relayed payment", status: "changed", before: 95_605, after: 96_000, delta: 395, percent: 0.41 },
        { name: "new row", status: "new", after: 50_000 },
        { name: "old row", status: "missing", before: 1_000 },
      ]);
    });

    it("prints the table with signed differences and a summary", function () {
      expect(formatDiff(diffSnapshot(snapshot, run), SNAPSHOT_FILE)).to.deep.equal([
        "Gas against gas-snapshot.json:",
        "row              snapshot  this run  change",
        "---------------  --------  --------  -----------------------------",
        "plain transfer     34,477    34,477  =",
        "keyed payment     140,753   139,865  -888 (-0.63%)",
        "relayed payment    95,605    96,000  +395 (+0.41%)",
        "new row                      50,000  new row (not in the snapshot)",
        "old row             1,000            missing from this run",
        "2 changed, 1 unchanged, 1 new, 1 missing.",
      ]);
    });

    it("has no percentage for a row whose snapshot gas is 0", function () {
      const [d] = diffSnapshot({ zero: 0 }, [{ name: "zero", gas: 21n }]);
      expect(d).to.deep.equal({ name: "zero", status: "changed", before: 0, after: 21, delta: 21, percent: null });
      expect(formatDiff([d], "s")[3]).to.equal("zero         0        21  +21 (n/a)");
    });

    it("in check mode fails on each changed row only: new and missing rows are reported, not failures", function () {
      const failures = snapshotFailures(diffSnapshot(snapshot, run), SNAPSHOT_FILE);
      expect(failures).to.have.length(2);
      expect(failures[0]).to.equal(
        'Row "keyed payment" moved from 140,753 to 139,865 gas (-888 (-0.63%)) against gas-snapshot.json: ' +
          "commit the new figures with GAS_SNAPSHOT=update npm run bench",
      );
      expect(failures[1]).to.match(/^Row "relayed payment" moved from 95,605 to 96,000 gas/);
    });
  });

  describe("snapshot file and modes", function () {
    let dir: string;
    beforeEach(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-gas-snapshot-"));
    });
    afterEach(function () {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    const rows: Row[] = [
      { name: "b row", gas: 2n },
      { name: "a row", gas: 1n },
    ];

    it("update writes every row in the run's order, one a line, and reports the previous difference", function () {
      const file = path.join(dir, SNAPSHOT_FILE);
      fs.writeFileSync(file, JSON.stringify({ "b row": 3, gone: 9 }));
      const result = applySnapshot(file, rows, "update");
      expect(result.failures).to.deep.equal([]);
      expect(result.lines).to.include("1 changed, 0 unchanged, 1 new, 1 missing.");
      expect(result.lines.at(-1)).to.equal(
        `Rewrote ${file} with this run's 2 rows: commit it with the change that moved the gas.`,
      );
      expect(fs.readFileSync(file, "utf8")).to.equal('{\n  "b row": 2,\n  "a row": 1\n}\n');
      expect(Object.keys(parseSnapshot(fs.readFileSync(file, "utf8"), file))).to.deep.equal(["b row", "a row"]);
    });

    it("compare never fails and leaves the file alone; check fails on a changed row", function () {
      const file = path.join(dir, SNAPSHOT_FILE);
      const text = JSON.stringify(
        snapshotOf([
          { name: "b row", gas: 5n },
          { name: "a row", gas: 1n },
        ]),
      );
      fs.writeFileSync(file, text);
      expect(applySnapshot(file, rows, "compare").failures).to.deep.equal([]);
      expect(fs.readFileSync(file, "utf8")).to.equal(text);
      const checked = applySnapshot(file, rows, "check");
      expect(checked.failures).to.have.length(1);
      expect(checked.failures[0]).to.match(/^Row "b row" moved from 5 to 2 gas \(-3 \(-60\.00%\)\)/);
      expect(applySnapshot(file, [{ name: "b row", gas: 5n }], "check").failures).to.deep.equal([]);
    });

    it("without a snapshot: compare says how to write one, check fails", function () {
      const file = path.join(dir, "none.json");
      expect(applySnapshot(file, rows, "compare")).to.deep.equal({
        lines: [`No gas snapshot at ${file} yet: GAS_SNAPSHOT=update npm run bench writes it.`],
        failures: [],
      });
      expect(applySnapshot(file, rows, "check").failures[0]).to.match(/^GAS_SNAPSHOT=check needs .*none\.json/);
      expect(fs.existsSync(file)).to.equal(false);
    });

    it("rejects a malformed snapshot, naming the row and the value", function () {
      expect(() => parseSnapshot('{"keyed payment": "140k"}', "gas-snapshot.json")).to.throw(
        GasSnapshotError,
        'gas-snapshot.json: row "keyed payment" has gas "140k", expected a non-negative integer',
      );
      expect(() => parseSnapshot('{"x": 1.5}', "s.json")).to.throw(GasSnapshotError, 'row "x" has gas 1.5');
      expect(() => parseSnapshot("[1]", "s.json")).to.throw(GasSnapshotError, "must be an object");
      expect(() => parseSnapshot("{", "s.json")).to.throw(GasSnapshotError, "s.json is not JSON");
    });

    it("reads GAS_SNAPSHOT and rejects an unknown value by name", function () {
      expect(snapshotMode(undefined)).to.equal("compare");
      expect(snapshotMode("")).to.equal("compare");
      expect(snapshotMode("update")).to.equal("update");
      expect(snapshotMode("check")).to.equal("check");
      expect(() => snapshotMode("updte")).to.throw(GasSnapshotError, 'GAS_SNAPSHOT is "updte"');
    });
  });

  describe("the committed snapshot", function () {
    it("parses and holds a figure for every budgeted row", function () {
      const file = path.join(ROOT, SNAPSHOT_FILE);
      const snapshot = parseSnapshot(fs.readFileSync(file, "utf8"), file);
      for (const budget of BUDGETS) expect(snapshot, budget.name).to.have.property(budget.name);
    });
  });
});
