/**
 * docs/THREAT-MODEL.md's traceability table is read by `npm run audit` (scripts/audit.ts, `claims`): each row's claim
 * is verified by the test with the stable id in its last column, in the spec file of the column before (the rule is
 * scripts/threatModel.ts: the id is the whole title, or the ` [id]` suffix of a sentence title). A typo there shows only
 * as "not run" in the audit report; this spec fails on it at once.
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import { threatModelRows, titleHasTestId } from "../../scripts/threatModel";

const ROOT = path.join(__dirname, "..", "..");

/** The literal titles of a spec file's tests: `it("...")`. */
function literalTitles(source: string): string[] {
  return [...source.matchAll(/\bit\(\s*"((?:[^"\\]|\\.)*)"/g)].map((m) => JSON.parse(`"${m[1]}"`) as string);
}

describe("ThreatModel", function () {
  it("test_threatModel_everyRow_namesATestTitleInItsSpecFile", function () {
    const all = threatModelRows(ROOT);
    expect(all.length).to.be.greaterThan(80);
    const problems: string[] = [];
    for (const r of all) {
      const file = path.join(ROOT, r.file);
      if (!r.file.endsWith(".spec.ts") || !fs.existsSync(file)) {
        problems.push(`${r.id}: ${r.file} is not a spec file`);
        continue;
      }
      // A literal title: generated titles (built in a loop) cannot be traced by the audit's exact match.
      const titles = literalTitles(fs.readFileSync(file, "utf8")).filter((t) => titleHasTestId(t, r.test));
      if (titles.length !== 1) problems.push(`${r.id}: ${titles.length} tests with id ${r.test} in ${r.file}, not 1`);
    }
    expect(problems).to.deep.equal([]);
  });

  it("test_threatModel_ids_areUnique", function () {
    const ids = threatModelRows(ROOT).map((r) => r.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).to.deep.equal([]);
  });

  it("test_titleHasTestId_wholeTitleOrBracketedSuffixOnly", function () {
    const id = "test_submit_wrongSigner_revertsIntentSignatureInvalid";
    expect(titleHasTestId(id, id)).to.equal(true);
    expect(titleHasTestId(`rejects an intent signed by another key [${id}]`, id)).to.equal(true);
    expect(titleHasTestId(`rejects an intent signed by another key [${id}x]`, id)).to.equal(false);
    expect(titleHasTestId(`rejects an intent signed by another key ${id}`, id)).to.equal(false);
    expect(titleHasTestId(`[${id}] rejects an intent signed by another key`, id)).to.equal(false);
    expect(literalTitles(`it("a \\"quoted\\" title [${id}]", async function () {`)).to.deep.equal([
      `a "quoted" title [${id}]`,
    ]);
  });
});
