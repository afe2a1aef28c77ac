/**
 * The specification is in the repository and every citation of it resolves (issue 18, item 1).
 *
 * Code, tests and documents cite the specification as "SPEC section N" ("SPEC sections N and M", "SPEC sections N to
 * M", "SPEC §N", "SPEC N"), its promises as "Promise N" ("Promises N-M", "Promises N, M and K") and its version as
 * "SPEC vN"; markdown tables may have a "Promise" column. This spec reads `docs/SPEC.md` (its `## N. Title`
 * headings, the numbered promises of its section 9 and its "Version N" line), finds every citation in the tracked
 * and new source, test and documentation files, and fails naming file and line for each one that does not resolve.
 * It also checks that the specification agrees with the code where both state the same thing: the EIP-712 type
 * strings and domain, the enums and structs of the interface, and the names of every function, event and error.
 * No chain is needed.
 */
import { expect } from "chai";
import { execFileSync } from "child_process";
import fs from "fs";
import path from "path";
import { TypedDataEncoder } from "ethers";
import { COSIGNER_APPROVAL_TYPES, DOMAIN_NAME, DOMAIN_VERSION, INTENT_TYPES } from "../../sdk/eip712";

const ROOT = path.resolve(__dirname, "..", "..");
const SPEC_PATH = "docs/SPEC.md";

/** Where citations are looked for: these folders, the top-level READMEs, notes and config scripts. */
const SCAN_DIRS = ["contracts", "sdk", "deploy", "monitor", "mcp", "tasks", "audit", "scripts", "test", "docs"];
const SCAN_TOP_LEVEL = /^(README[^/]*\.md|DEVELOPERS\.md|CHANGELOG\.md|[^/]+\.(ts|js))$/;
const SCAN_EXTENSIONS = /\.(ts|js|cjs|mjs|sol|md)$/;
const SKIP = /(^|\/)(node_modules|artifacts|typechain-types|cache|coverage)(\/|$)/;

// ---------------------------------------------------------------------------------------------- the specification

interface Spec {
  text: string;
  version: number;
  /** Section number -> title, from the `## N. Title` headings, in file order. */
  sections: Map<number, string>;
  /** Promise number -> short name, from the `N. **Name**` lines of section 9, in file order. */
  promises: Map<number, string>;
  /** Offsets of the section headings, to tell which section a position of the text is in. */
  sectionStarts: { number: number; offset: number }[];
}

function parseSpec(text: string): Spec {
  const version = /^Version (\d+)\b/m.exec(text);
  if (!version) throw new Error(`${SPEC_PATH} has no "Version N" line: state the version of the specification`);
  const sections = new Map<number, string>();
  const sectionStarts: Spec["sectionStarts"] = [];
  for (const m of text.matchAll(/^## (\d+)\. (\S.*)$/gm)) {
    const n = Number(m[1]);
    if (sections.has(n)) throw new Error(`${SPEC_PATH} has two headings for section ${n}`);
    sections.set(n, m[2].trim());
    sectionStarts.push({ number: n, offset: m.index ?? 0 });
  }
  const promises = new Map<number, string>();
  const nine = sectionText(text, sectionStarts, 9);
  for (const m of nine.matchAll(/^(\d+)\. \*\*([^*]+)\*\*/gm)) {
    const n = Number(m[1]);
    if (promises.has(n)) throw new Error(`${SPEC_PATH} section 9 lists promise ${n} twice`);
    promises.set(n, m[2].trim());
  }
  return { text, version: Number(version[1]), sections, promises, sectionStarts };
}

/** The text of section `n`, heading included ("" when there is no such section). */
function sectionText(text: string, starts: Spec["sectionStarts"], n: number): string {
  const i = starts.findIndex((s) => s.number === n);
  if (i < 0) return "";
  return text.slice(starts[i].offset, i + 1 < starts.length ? starts[i + 1].offset : text.length);
}

function sectionAt(spec: Spec, offset: number): number | undefined {
  let found: number | undefined;
  for (const s of spec.sectionStarts) if (s.offset <= offset) found = s.number;
  return found;
}

const spec = parseSpec(fs.readFileSync(path.join(ROOT, SPEC_PATH), "utf8"));

// ----------------------------------------------------------------------------------------------- the citations

type Kind = "section" | "promise" | "version";

interface Citation {
  file: string;
  line: number;
  kind: Kind;
  /** The citation as written, white space collapsed. */
  text: string;
  numbers: number[];
  /** A range written backwards ("8-1"): never what the writer meant. */
  reversed: boolean;
}

// Between words a citation may break across comment lines ("SPEC\n * section 10").
const GAP = String.raw`[\s*/#]+`;
const GAP_OPT = String.raw`[\s*/#]*`;
const SEP = String.raw`(?:[\s*/#]*[,\-–][\s*/#]*|[\s*/#]+(?:and|or|to|through)[\s*/#]+)`;
const LIST = String.raw`\d+(?:${SEP}\d+)*`;
const ONE = String.raw`\d+(?:\s*[-–]\s*\d+)?`;
const SECTION_RE = new RegExp(
  String.raw`\bSPEC(?:\.md)?${GAP}(?:(?:sections|§§)${GAP_OPT}(${LIST})|(?:(?:section|§)${GAP_OPT})?(${ONE}))`,
  "g",
);
const VERSION_RE = new RegExp(String.raw`\bSPEC(?:\.md)?${GAP}v(\d+)\b`, "g");
const PROMISE_RE = new RegExp(String.raw`\b(?:Promises${GAP}(${LIST})|Promise${GAP}(${ONE}))`, "g");
/** Inside the specification itself, plain "section N" refers to its own sections. */
const OWN_SECTION_RE = new RegExp(String.raw`\b[Ss]ections?${GAP}(${LIST})`, "g");

/** "1, 2 and 4" -> [1, 2, 4]; "4 to 8" and "1-8" are ranges. */
function expand(list: string): { numbers: number[]; reversed: boolean } {
  const parts = list.split(/(\d+)/);
  const numbers: number[] = [];
  let reversed = false;
  for (let i = 1; i < parts.length; i += 2) {
    const n = Number(parts[i]);
    const before = parts[i - 1];
    if (i > 1 && /[-–]|\bto\b|\bthrough\b/.test(before)) {
      const from = numbers[numbers.length - 1];
      if (n < from) reversed = true;
      for (let k = from + 1; k <= n; k++) numbers.push(k);
    } else {
      numbers.push(n);
    }
  }
  return { numbers, reversed };
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

function collect(file: string, text: string, re: RegExp, kind: Kind, out: Citation[]): void {
  for (const m of text.matchAll(re)) {
    const list = m.slice(1).find((g) => g !== undefined) ?? "";
    out.push({ file, line: lineOf(text, m.index ?? 0), kind, text: m[0].replace(/\s+/g, " "), ...expand(list) });
  }
}

/** The "Promise" columns of markdown tables: one citation per non-empty cell ("1, 4", "1-8"; "-" = none). */
function collectPromiseColumns(file: string, text: string, out: Citation[]): void {
  const lines = text.split("\n");
  const cells = (line: string): string[] =>
    line
      .trim()
      .replace(/^\||\|$/g, "")
      .split(/(?<!\\)\|/)
      .map((c) => c.trim());
  for (let i = 0; i + 1 < lines.length; i++) {
    if (!lines[i].trim().startsWith("|") || !/^\s*\|[\s:|-]+\|\s*$/.test(lines[i + 1])) continue;
    const column = cells(lines[i]).findIndex((c) => /^promises?$/i.test(c));
    if (column < 0) continue;
    for (let j = i + 2; j < lines.length && lines[j].trim().startsWith("|"); j++) {
      const cell = cells(lines[j])[column] ?? "";
      if (cell === "" || cell === "-") continue;
      const valid = new RegExp(`^${LIST}$`).test(cell);
      out.push({
        file,
        line: j + 1,
        kind: "promise",
        text: `Promise column: "${cell}"`,
        // An unreadable cell cites promise 0, which never exists, so it is reported.
        ...(valid ? expand(cell) : { numbers: [0], reversed: false }),
      });
    }
  }
}

function citationsIn(file: string, text: string): Citation[] {
  const out: Citation[] = [];
  collect(file, text, SECTION_RE, "section", out);
  collect(file, text, VERSION_RE, "version", out);
  collect(file, text, PROMISE_RE, "promise", out);
  if (file.endsWith(".md")) collectPromiseColumns(file, text, out);
  return out;
}

/** One line per citation that does not resolve in `s`, saying what to do. */
function unresolved(citations: Citation[], s: Spec): string[] {
  const have = {
    section: (n: number) => s.sections.has(n),
    promise: (n: number) => s.promises.has(n),
    version: (n: number) => n >= 1 && n <= s.version,
  };
  const problems: string[] = [];
  for (const c of citations) {
    const missing = c.numbers.filter((n) => !have[c.kind](n));
    if (!c.reversed && missing.length === 0 && c.numbers.length > 0) continue;
    const why = c.reversed
      ? "a range written backwards"
      : `${c.kind} ${missing.join(", ")}, which ${SPEC_PATH} does not have`;
    problems.push(`${c.file}:${c.line}: "${c.text}" cites ${why}`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------- the repository

function scannedFiles(): string[] {
  let listed: string[];
  try {
    listed = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
      cwd: ROOT,
      encoding: "utf8",
    })
      .split("\0")
      .filter(Boolean);
  } catch {
    listed = walk(""); // not a git checkout (an unpacked archive): walk the folders instead
  }
  return listed
    .filter((f) => !SKIP.test(f) && f !== SPEC_PATH && SCAN_EXTENSIONS.test(f))
    .filter((f) => SCAN_DIRS.some((d) => f.startsWith(`${d}/`)) || SCAN_TOP_LEVEL.test(f))
    .filter((f) => fs.lstatSync(path.join(ROOT, f), { throwIfNoEntry: false })?.isFile() === true)
    .sort();
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = dir === "" ? entry.name : `${dir}/${entry.name}`;
    if (SKIP.test(rel) || entry.name.startsWith(".")) continue;
    if (entry.isDirectory() && (dir !== "" || SCAN_DIRS.includes(entry.name))) out.push(...walk(rel));
    else if (entry.isFile()) out.push(rel);
  }
  return out;
}

// ----------------------------------------------------------------------------------------------- the code's facts

const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), "utf8");
const stripComments = (source: string): string => source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/[^\n]*/g, "");

/** The string a Solidity constant hashes: `NAME = keccak256("part" "part")`. */
function hashedLiteral(source: string, constant: string): string {
  const m = new RegExp(String.raw`${constant}\s*=\s*keccak256\(([\s\S]*?)\);`).exec(source);
  if (!m) throw new Error(`no ${constant} = keccak256(...) found`);
  return [...m[1].matchAll(/"([^"]*)"/g)].map((s) => s[1]).join("");
}

interface TypeDecl {
  kind: "enum" | "struct";
  name: string;
  members: string[];
  offset: number;
}

/** Every `enum X { ... }` and `struct X { ... }`: enum values, or struct fields as "type name", in order. */
function typeDecls(text: string): TypeDecl[] {
  return [...text.matchAll(/\b(enum|struct)\s+(\w+)\s*\{([^}]*)\}/g)].map((m) => {
    const body = m[3].replace(/\/\/[^\n]*/g, "");
    const members = body
      .split(m[1] === "enum" ? "," : ";")
      .map((s) => s.trim().replace(/\s+/g, " "))
      .filter(Boolean);
    return { kind: m[1] as "enum" | "struct", name: m[2], members, offset: m.index ?? 0 };
  });
}

const INTERFACES = [
  "contracts/interfaces/IAgentTreasuryModule.sol",
  "contracts/interfaces/IAgentTreasuryModuleFactory.sol",
  "contracts/interfaces/IAgentTreasuryLens.sol",
];

// ---------------------------------------------------------------------------------------------------------- tests

describe("SPEC citations: docs/SPEC.md and everything that cites it", function () {
  describe("the specification", function () {
    it("test_spec_numberedSections_areContiguousAndInclude1To11", function () {
      const numbers = [...spec.sections.keys()];
      expect(numbers.length, "numbered sections").to.be.greaterThan(0);
      // In file order, each heading one more than the one before (section 0, how to cite, may come first).
      numbers.forEach((n, i) => expect(n, `heading #${i + 1} of ${SPEC_PATH}`).to.equal(numbers[0] + i));
      for (let n = 1; n <= 11; n++) expect(spec.sections.get(n), `section ${n}`).to.be.a("string").and.not.equal("");
    });

    it("test_spec_promises_are1To8InSection9WithNames", function () {
      expect([...spec.promises.keys()]).to.deep.equal([1, 2, 3, 4, 5, 6, 7, 8]);
      for (const [n, name] of spec.promises) expect(name.length, `name of promise ${n}`).to.be.greaterThan(3);
      // Promises are listed only in section 9: a "N. **Name**" line elsewhere would be a misplaced promise.
      const outside = spec.text.replace(sectionText(spec.text, spec.sectionStarts, 9), "");
      expect(outside.match(/^\d+\. \*\*/gm) ?? [], "promise-like lines outside section 9").to.deep.equal([]);
    });

    it("test_spec_version_is3AndCitationsMayCiteIt", function () {
      expect(spec.version).to.equal(3);
      expect(spec.sections.get(11)).to.match(/^Version 3\b/);
    });

    it("test_spec_eip712TypesAndDomain_matchTheContractAndTheSdk", function () {
      const verifier = read("contracts/modules/IntentVerifier.sol");
      const intentType = hashedLiteral(verifier, "INTENT_TYPEHASH");
      const approvalType = hashedLiteral(verifier, "COSIGNER_APPROVAL_TYPEHASH");
      expect(TypedDataEncoder.from(INTENT_TYPES).encodeType("Intent")).to.equal(intentType);
      expect(TypedDataEncoder.from(COSIGNER_APPROVAL_TYPES).encodeType("CosignerApproval")).to.equal(approvalType);
      expect(intentType).to.match(/^Intent\(address agent,.*bool review\)$/);
      expect(spec.text).to.include("`" + intentType + "`");
      expect(spec.text).to.include("`" + approvalType + "`");
      expect(spec.text).to.include("`" + hashedLiteral(verifier, "_DOMAIN_TYPEHASH") + "`");

      const domain = /name `"([^"]+)"`, version `"([^"]+)"`/.exec(spec.text);
      expect(domain, "the domain's name and version in the spec").to.not.equal(null);
      expect([domain?.[1], domain?.[2]]).to.deep.equal([DOMAIN_NAME, DOMAIN_VERSION]);
      const stringConstant = (name: string) =>
        new RegExp(String.raw`string internal constant ${name} = "([^"]*)";`).exec(verifier)?.[1];
      expect([stringConstant("DOMAIN_NAME"), stringConstant("DOMAIN_VERSION")]).to.deep.equal([
        DOMAIN_NAME,
        DOMAIN_VERSION,
      ]);
      expect(verifier).to.match(/_NAME_HASH = keccak256\(bytes\(DOMAIN_NAME\)\);/);
      expect(verifier).to.match(/_VERSION_HASH = keccak256\(bytes\(DOMAIN_VERSION\)\);/);
    });

    it("test_spec_enumsAndStructs_matchTheInterfaceInOrder", function () {
      const code = typeDecls(stripComments(read(INTERFACES[0])));
      const written = typeDecls(spec.text);
      expect(code.map((t) => t.name)).to.include.members([
        "Status",
        "RecipientMode",
        "DenyReason",
        "Intent",
        "AgentConfig",
      ]);
      for (const t of code) {
        const inSpec = written.filter((w) => w.name === t.name);
        expect(inSpec.length, `${t.kind} ${t.name} in ${SPEC_PATH}`).to.be.greaterThan(0);
        for (const w of inSpec) expect(w.members, `${t.kind} ${t.name}`).to.deep.equal(t.members);
      }
      // A type the interface does not have yet is a planned v3 addition: it belongs in section 11, which then says
      // what is planned; once every addition is in (USD caps and call conditions both are), it says none is.
      const planned = written.filter((x) => !code.some((t) => t.name === x.name));
      for (const w of planned) {
        expect(sectionAt(spec, w.offset), `${w.kind} ${w.name} is not in the interface`).to.equal(11);
      }
      const section11 = sectionText(spec.text, spec.sectionStarts, 11);
      expect(
        /planned \(not in this release\)/i.test(section11),
        "section 11 names planned additions exactly when some are",
      ).to.equal(planned.length > 0);
    });

    it("test_spec_namesEveryFunctionEventAndErrorOfTheInterfaces", function () {
      const names = INTERFACES.flatMap((f) =>
        [...stripComments(read(f)).matchAll(/\b(?:function|event|error)\s+(\w+)/g)].map((m) => m[1]),
      );
      expect(names).to.include.members([
        "submit",
        "propose",
        "executeQueued",
        "setTarget",
        "IntentDenied",
        "IdempotencyKeyConflict",
      ]);
      const missing = [...new Set(names)].filter((n) => !new RegExp(`\\b${n}\\b`).test(spec.text));
      expect(missing, `names of the interfaces that ${SPEC_PATH} never mentions`).to.deep.equal([]);
    });

    it("test_spec_ownCrossReferences_resolve", function () {
      const own: Citation[] = [];
      collect(SPEC_PATH, spec.text, OWN_SECTION_RE, "section", own);
      collect(SPEC_PATH, spec.text, PROMISE_RE, "promise", own);
      expect(own.length, "cross references found in the spec").to.be.greaterThan(10);
      expect(unresolved(own, spec)).to.deep.equal([]);
    });
  });

  describe("the citation reader", function () {
    // [text, expected (kind numbers) of every citation found]
    const rows: [string, string[]][] = [
      ["see SPEC section 5 for the record", ["section 5"]],
      ["SPEC sections 4 to 8 and reproduces", ["section 4,5,6,7,8"]],
      ["(SPEC sections 2 and 8)", ["section 2,8"]],
      ["Configuration (SPEC 8): only the Safe", ["section 8"]],
      ["SPEC §7 says", ["section 7"]],
      ["SPEC.md section 10 lists", ["section 10"]],
      ["(SPEC\n * section 10, v3), as real CLI processes", ["section 10"]],
      ["// Promise 1: bounded loss", ["promise 1"]],
      ["Independent checks of Promises 1, 2 and 4 on", ["promise 1,2,4"]],
      ["keep Promises 1-8 after every step", ["promise 1,2,3,4,5,6,7,8"]],
      ["Promise 3, from the state before the call", ["promise 3"]],
      ["SPEC section 9, Promise 1", ["section 9", "promise 1"]],
      ["(SPEC Promise 5)", ["promise 5"]],
      ["target() (SPEC v3) collides", ["version 3"]],
      ["async (): Promise<void> => {}; Promise.all([p]); const SPEC = 1;", []],
      [
        "| ID | Claim | Promise | Test |\n|---|---|---|---|\n| T-1 | a | 1, 4 | x |\n| T-2 | b | - | y |\n| T-3 | c | 1-8 | z |",
        ["promise 1,4", "promise 1,2,3,4,5,6,7,8"],
      ],
    ];
    for (const [text, expected] of rows) {
      it(`test_reader_${text.replace(/[^A-Za-z0-9]+/g, "_").slice(0, 40)}_finds${expected.length}`, function () {
        const found = citationsIn("sample.md", text).map((c) => `${c.kind} ${c.numbers.join(",")}`);
        expect(found.sort()).to.deep.equal([...expected].sort());
      });
    }

    it("test_reader_unknownSectionPromiseAndBackwardsRange_reportedWithFileAndLine", function () {
      // Written as templates so this file itself holds no broken citation.
      const [s, p, ps] = ["SPEC section", "Promise", "Promises"];
      const text = `line one\n// ${s} 42 is not a section\nok: ${p} 8\n${p} 9 does not exist\n${ps} 3-1 backwards\n| x | Promise |\n|---|---|\n| a | one |\n`;
      const problems = unresolved(citationsIn("sdk/example.ts", text), spec).concat(
        unresolved(citationsIn("docs/example.md", text.split("\n").slice(5).join("\n")), spec),
      );
      expect(problems).to.deep.equal([
        `sdk/example.ts:2: "${s} 42" cites section 42, which ${SPEC_PATH} does not have`,
        `sdk/example.ts:4: "${p} 9" cites promise 9, which ${SPEC_PATH} does not have`,
        `sdk/example.ts:5: "${ps} 3-1" cites a range written backwards`,
        `docs/example.md:3: "Promise column: "one"" cites promise 0, which ${SPEC_PATH} does not have`,
      ]);
    });
  });

  describe("the repository", function () {
    let files: string[] = [];
    let citations: Citation[] = [];
    before(function () {
      files = scannedFiles();
      citations = files.flatMap((f) => citationsIn(f, read(f)));
    });

    it("test_repository_scanCoversEverySourceFolderAndTheDocuments", function () {
      for (const dir of SCAN_DIRS) {
        expect(files.filter((f) => f.startsWith(`${dir}/`)).length, `files scanned in ${dir}/`).to.be.greaterThan(0);
      }
      expect(files).to.include.members([
        "README.md",
        "DEVELOPERS.md",
        "docs/THREAT-MODEL.md",
        "contracts/modules/IntentRouter.sol",
        "test/unit/SpecCitations.spec.ts",
      ]);
      expect(files).to.not.include(SPEC_PATH);
      expect(
        files.some((f) => SKIP.test(f)),
        "node_modules, artifacts, typechain-types or cache scanned",
      ).to.equal(false);
      // The repository does cite the specification: a reader that finds nothing is broken, not clean.
      expect(citations.map((c) => c.kind)).to.include.members(["section", "promise"]);
      const table = citations.filter((c) => c.file === "docs/THREAT-MODEL.md" && c.text.startsWith("Promise column"));
      expect(table.length, "cells of the traceability table's Promise column").to.be.greaterThan(50);
    });

    it("test_repository_everyCitationResolvesInTheSpec", function () {
      const problems = unresolved(citations, spec);
      const advice =
        `\n${problems.join("\n")}\nFix each citation, or add the section or promise to ${SPEC_PATH} ` +
        `(sections: ${[...spec.sections.keys()].join(", ")}; promises: ${[...spec.promises.keys()].join(", ")}).`;
      expect(problems, advice).to.deep.equal([]);
    });
  });
});
