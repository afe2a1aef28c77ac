/**
 * The traceability table of docs/THREAT-MODEL.md, read the same way by `npm run audit` (scripts/audit.ts, `claims`)
 * and by test/unit/ThreatModel.spec.ts: a row is a line starting `| T-<LETTERS>-<n> |`; its last two columns name the
 * spec file and the test's stable id. A test carries its id as its whole title (`test_...`, as the scenarios do) or as
 * the suffix of a sentence title (`"rejects an intent signed by another key [test_submit_wrongSigner_...]"`, as the
 * unit specs of the module's parts do), so the table keeps resolving when a sentence is reworded.
 */
import fs from "fs";
import path from "path";

export interface ThreatRow {
  id: string;
  claim: string;
  promise: string;
  file: string;
  /** The stable id of the test that verifies the claim. */
  test: string;
}

/** The row pattern of the table. */
export const THREAT_ROW = /^\|\s*T-[A-Z]+-\d+\s*\|/;

export function threatModelRows(root: string): ThreatRow[] {
  const doc = fs.readFileSync(path.join(root, "docs", "THREAT-MODEL.md"), "utf8");
  return doc
    .split("\n")
    .filter((l) => THREAT_ROW.test(l))
    .map((line) => {
      const [id, claim, promise, file, test] = line
        .split("|")
        .slice(1, 6)
        .map((c) => c.trim());
      return { id, claim, promise, file, test };
    });
}

/** True when a test titled `title` is the test with stable id `testId`. */
export function titleHasTestId(title: string, testId: string): boolean {
  return title === testId || title.endsWith(` [${testId}]`);
}
