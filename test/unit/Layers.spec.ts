/**
 * The layer rules of .dependency-cruiser.cjs (DEVELOPERS.md, "Layers"), enforced by `npm run lint:deps`. First on a
 * small tree of deliberately bad files in a temporary directory (with this repository's node_modules, so Hardhat
 * resolves as it does here): each rule must report exactly the imports it forbids, and a good file (with a type-only
 * import of the generated bindings) nothing. Then on the repository itself, which must have no violation.
 */
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";

const ROOT = path.resolve(__dirname, "../..");
const DEPCRUISE = path.join(ROOT, "node_modules", "dependency-cruiser", "bin", "dependency-cruise.mjs");

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

/** Runs dependency-cruiser with the repository's rules in `cwd` on `targets`, with the reporter `lint:deps` uses. */
function lint(cwd: string, targets: string[]): { code: number | null; stdout: string } {
  const run = spawnSync(
    process.execPath,
    [DEPCRUISE, "--config", path.join(ROOT, ".dependency-cruiser.cjs"), ...targets],
    { cwd, encoding: "utf8" },
  );
  return { code: run.status, stdout: run.stdout };
}

/** The same, with the JSON reporter: every violation with its rule. */
function violationsOf(cwd: string, targets: string[]): Violation[] {
  const run = spawnSync(
    process.execPath,
    [DEPCRUISE, "--config", path.join(ROOT, ".dependency-cruiser.cjs"), "--output-type", "json", ...targets],
    {
      cwd,
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (!run.stdout) throw new Error(`depcruise printed nothing (exit ${run.status}):\n${run.stderr}`);
  return (JSON.parse(run.stdout) as { summary: { violations: Violation[] } }).summary.violations;
}

/** The bad tree: every file breaks one rule per import, except core/good.ts. */
const FILES: Record<string, string> = {
  "core/good.ts":
    `import { Wallet } from "ethers";\nimport { readAmount } from "../sdk/units";\nimport type { Module } from "../typechain-types/Module";\n` +
    `export const probe: [unknown, unknown, Module?] = [Wallet, readAmount];\n`,
  "sdk/eager.ts": `import { Module__factory } from "../typechain-types/Module";\nexport const probe = Module__factory;\n`,
  "typechain-types/Module.ts": `export interface Module {\n  id: number;\n}\nexport const Module__factory = { abi: [] };\n`,
  "core/reachesUp.ts": `import { task } from "hardhat/config";\nimport { planPolicy } from "../deploy/plan";\nexport const probe = [task, planPolicy];\n`,
  "sdk/units.ts": `export function readAmount(text: string): bigint {\n  return BigInt(text);\n}\n`,
  "deploy/plan.ts":
    `import type { HardhatRuntimeEnvironment } from "hardhat/types";\nimport { cliWallets } from "../tasks/lib/keys";\n` +
    `export function planPolicy(hre: HardhatRuntimeEnvironment) {\n  return [hre, cliWallets];\n}\n`,
  "deploy/pipeline.ts": `import type { HardhatRuntimeEnvironment } from "hardhat/types";\nexport type Runtime = HardhatRuntimeEnvironment;\n`,
  "tasks/lib/keys.ts": `export const cliWallets = 1;\n`,
  "monitor/a.ts": `import { b } from "./b";\nexport const a = () => b;\n`,
  "monitor/b.ts": `import { a } from "./a";\nexport const b = () => a;\n`,
  "mcp/config.ts": `import { planPolicy } from "../deploy/plan";\nexport const probe = planPolicy;\n`,
  "scripts/bench.ts": `import { fixture } from "../test/fixtures";\nexport const probe = fixture;\n`,
  "test/fixtures.ts": `export const fixture = 1;\n`,
  "console/app/page.ts": `import fs from "fs";\nimport { probe } from "../../core/good";\nexport const page = [fs, probe];\n`,
};

describe("Layers (.dependency-cruiser.cjs)", function () {
  this.timeout(180_000);

  describe("when files break the rules", function () {
    let dir: string;
    before(function () {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-layers-"));
      for (const [file, text] of Object.entries(FILES)) {
        fs.mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
        fs.writeFileSync(path.join(dir, file), text);
      }
      fs.copyFileSync(path.join(ROOT, "tsconfig.json"), path.join(dir, "tsconfig.json"));
      fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
    });
    after(function () {
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it("test_depcruise_badImports_eachReportedByItsRule_goodFileClean", function () {
      const targets = ["core", "sdk", "deploy", "tasks", "monitor", "mcp", "scripts", "test", "console"];
      const violations = violationsOf(dir, targets);
      const found = violations
        .map((v) => `${v.rule.name}: ${v.from} -> ${v.to.replace(/^.*node_modules\//, "node_modules/")}`)
        .sort();
      expect(found).to.deep.equal(
        [
          "bindings-on-first-use: sdk/eager.ts -> typechain-types/Module.ts",
          "browser-code: console/app/page.ts -> core/good.ts",
          "browser-no-node: console/app/page.ts -> fs",
          "core-layer: core/reachesUp.ts -> deploy/plan.ts",
          "core-no-hardhat: core/reachesUp.ts -> node_modules/hardhat/config.js",
          "deploy-hardhat-only-in-ignition: deploy/plan.ts -> node_modules/hardhat/types/index.js",
          "deploy-layer: deploy/plan.ts -> tasks/lib/keys.ts",
          "mcp-layer: mcp/config.ts -> deploy/plan.ts",
          // A cycle is reported once, from the first module of the cycle.
          "no-circular: monitor/a.ts -> monitor/b.ts",
          "production-not-to-test: scripts/bench.ts -> test/fixtures.ts",
        ].sort(),
      );
      expect(violations.every((v) => v.rule.severity === "error")).to.equal(true);
      // `npm run lint` stops on them: the reporter it uses exits with the number of errors.
      const { code, stdout } = lint(dir, targets);
      expect(stdout).to.include(
        `x ${violations.length} dependency violations (${violations.length} errors, 0 warnings)`,
      );
      expect(code).to.equal(violations.length);
    });
  });

  describe("on this repository", function () {
    it("test_depcruise_repository_noViolation", function () {
      const script = (
        JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
      ).scripts["lint:deps"];
      const targets = script.split(/\s+/).slice(script.split(/\s+/).indexOf(".dependency-cruiser.cjs") + 1);
      expect(targets).to.include.members([
        "core",
        "sdk",
        "deploy",
        "monitor",
        "audit",
        "mcp",
        "tasks",
        "console",
        "scripts",
        "testkit",
        "test",
      ]);
      const { code, stdout } = lint(ROOT, targets);
      expect(stdout).to.match(/no dependency violations found \(\d+ modules/);
      expect(code).to.equal(0);
    });
  });
});
