/**
 * docs/THREAT-MODEL.md's traceability table is read by `npm run audit` (scripts/audit.ts, `claims`): a row is a line
 * starting `| T-<LETTERS>-<n> |`, and its claim is verified by the test whose title is in the last column, in the spec
 * file of the column before. A typo there shows only as "not run" in the audit report; this spec fails on it at once.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";

const ROOT = path.join(__dirname, "..", "..");
/** The row pattern of scripts/audit.ts. */
const ROW = /^\|\s*T-[A-Z]+-\d+\s*\|/;

interface Row {
  id: string;
  file: string;
  test: string;
}

function rows(): Row[] {
  const doc = fs.readFileSync(path.join(ROOT, "docs", "THREAT-MODEL.md"), "utf8");
  return doc
    .split("\n")
    .filter((l) => ROW.test(l))
    .map((line) => {
      const [id, , , file, test] = line.split("|").slice(1, 6).map((c) => c.trim());
      return { id, file, test };
    });
}

describe("ThreatModel", function () {
  it("test_threatModel_everyRow_namesATestTitleInItsSpecFile", function () {
    const all = rows();
    expect(all.length).to.be.greaterThan(80);
    const problems: string[] = [];
    for (const r of all) {
      const file = path.join(ROOT, r.file);
      if (!r.file.endsWith(".spec.ts") || !fs.existsSync(file)) {
        problems.push(`${r.id}: ${r.file} is not a spec file`);
        continue;
      }
      // A literal title: generated titles (built in a loop) cannot be traced by the audit's exact match.
      if (!fs.readFileSync(file, "utf8").includes(`it("${r.test}"`)) problems.push(`${r.id}: no it("${r.test}") in ${r.file}`);
    }
    expect(problems).to.deep.equal([]);
  });

  it("test_threatModel_ids_areUnique", function () {
    const ids = rows().map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).to.deep.equal([]);
  });
});
