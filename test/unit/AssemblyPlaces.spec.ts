/**
 * Where inline assembly may stand (issue 18, DEVELOPERS.md "Assembly"): never in the module's parts
 * (contracts/modules/), whose logic reads as Solidity; raw operations live in libraries under contracts/libraries/,
 * each saying at the block what it does that Solidity would not (its Solidity equivalent and the measured saving, or
 * why Solidity cannot say it). Outside those, only the hot half's forwarding fallback and the lens's array trim.
 * Comments and strings are stripped before looking, so a comment that mentions assembly does not count.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";

const CONTRACTS = path.resolve(__dirname, "../../contracts");

/** The Solidity source without comments and string literals. */
function code(file: string): string {
  return fs
    .readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/\/\/.*$/gm, "")
    .replace(/"(?:[^"\\\n]|\\.)*"/g, '""');
}

/** Every .sol file under `dir` (recursively), relative to contracts/. */
function solidityFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return solidityFiles(full);
    return entry.name.endsWith(".sol") ? [path.relative(CONTRACTS, full)] : [];
  });
}

const assemblyBlocks = (file: string): number => (code(path.join(CONTRACTS, file)).match(/\bassembly\b/g) ?? []).length;

describe("Inline assembly: where it stands", function () {
  const production = [...solidityFiles(CONTRACTS)]
    .filter((f) => !f.startsWith("test/") && !f.startsWith("safe/"))
    .sort();

  it("test_assembly_modulesParts_none", function () {
    const parts = production.filter((f) => f.startsWith("modules/"));
    expect(parts.length).to.be.greaterThan(5);
    expect(parts.filter((f) => assemblyBlocks(f) > 0)).to.deep.equal([]);
  });

  it("test_assembly_onlyInLibrariesAndTheTwoNamedPlaces", function () {
    const withAssembly = production.filter((f) => assemblyBlocks(f) > 0);
    const outsideLibraries = withAssembly.filter((f) => !f.startsWith("libraries/"));
    expect(outsideLibraries).to.deep.equal(["AgentTreasuryLens.sol", "AgentTreasuryModule.sol"]);
    expect(assemblyBlocks("AgentTreasuryModule.sol"), "the forwarding fallback").to.equal(1);
    expect(assemblyBlocks("AgentTreasuryLens.sol"), "the array trim").to.equal(1);
  });

  it("test_assembly_eachLibraryBlock_saysWhyAtTheBlock", function () {
    // From the NatSpec above each block's function to the block: the Solidity it stands for (an expression in
    // backticks) or what Solidity would do instead. What the library's blocks save is in the library's own NatSpec
    // or at the function: a figure in gas, or why Solidity cannot say it.
    const libraries = production.filter((f) => f.startsWith("libraries/") && assemblyBlocks(f) > 0);
    expect(libraries).to.include.members([
      "libraries/AvatarCall.sol",
      "libraries/IntentRecordWord.sol",
      "libraries/PriceFeedCall.sol",
    ]);
    for (const file of libraries) {
      const text = fs.readFileSync(path.join(CONTRACTS, file), "utf8");
      for (const match of text.matchAll(/^\s*assembly\b/gm)) {
        const before = text.slice(0, match.index);
        const reason = before.slice(before.lastIndexOf("/**"));
        expect(reason, `${file}, the block at offset ${match.index}`).to.match(/`[^`]+`|Solidity|struct assignment/);
      }
      expect(text, file).to.match(
        /sav(e|es|ing) (about )?[\d,]+ gas|[\d,]+ gas|Solidity (cannot|has no way)|cannot express/i,
      );
    }
  });

  it("test_assembly_detector_findsABlockAndIgnoresComments", function () {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-asm-"));
    try {
      const file = path.join(dir, "Probe.sol");
      fs.writeFileSync(
        file,
        '// assembly in a comment\n/* assembly */\nstring constant S = "assembly";\nfunction f() pure { assembly { } }\n',
      );
      expect((code(file).match(/\bassembly\b/g) ?? []).length).to.equal(1);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
