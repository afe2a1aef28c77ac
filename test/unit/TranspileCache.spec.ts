/**
 * ts-node's cached transpiler (ts-node-transpiler.js, named in tsconfig.json): the JavaScript Node runs is exactly
 * what ts-node's own transpile-only mode produces, whether transpiled now or read from the cache; a changed source is
 * transpiled again; a source with syntax errors is reported as ts-node reports it and never cached.
 */
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";
import { create } from "ts-node";

const ROOT = path.resolve(__dirname, "..", "..");
const compilerOptions = (
  JSON.parse(fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")) as { compilerOptions: object }
).compilerOptions;

describe("ts-node's cached transpiler (ts-node-transpiler.js)", function () {
  this.timeout(60_000);
  let cacheDir: string;
  beforeEach(function () {
    cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), "atg-ts-cache-"));
  });
  afterEach(function () {
    fs.rmSync(cacheDir, { recursive: true, force: true });
  });

  /** A ts-node service with the project's compiler options: ts-node's own transpiler, or the cached one. */
  const service = (cached: boolean) =>
    create({
      cwd: ROOT,
      transpileOnly: true,
      skipProject: true,
      compilerOptions,
      ...(cached ? { transpiler: [path.join(ROOT, "ts-node-transpiler.js"), { cacheDir }] as [string, object] } : {}),
    });
  const entries = () => fs.readdirSync(cacheDir).filter((f) => f.endsWith(".json"));

  it("test_cachedTranspiler_sameOutputAsTsNode_transpiledThenFromTheCache", function () {
    const files = [
      "hardhat.config.ts",
      "tasks/treasury.ts",
      "deploy/ignition.ts",
      "core/policySchema.ts",
      "sdk/eip712.ts",
      "test/fixtures.ts",
      "typechain-types/factories/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule__factory.ts",
    ].map((f) => path.join(ROOT, f));
    const plain = service(false);
    const expected = files.map((f) => plain.compile(fs.readFileSync(f, "utf8"), f));
    const first = service(true);
    expect(files.map((f) => first.compile(fs.readFileSync(f, "utf8"), f))).to.deep.equal(expected);
    expect(entries()).to.have.length(files.length);

    // A new process (service) reads the entries: mark one to see that it is what comes back.
    const marked = entries()
      .map((e) => path.join(cacheDir, e))
      .find((e) => (JSON.parse(fs.readFileSync(e, "utf8")) as { fileName: string }).fileName === files[0])!;
    const entry = JSON.parse(fs.readFileSync(marked, "utf8")) as { outputText: string };
    fs.writeFileSync(marked, JSON.stringify({ ...entry, outputText: `/* from the cache */\n${entry.outputText}` }));
    const second = service(true);
    const again = files.map((f) => second.compile(fs.readFileSync(f, "utf8"), f));
    expect(again[0]).to.equal(`/* from the cache */\n${expected[0]}`);
    expect(again.slice(1)).to.deep.equal(expected.slice(1));
  });

  it("test_cachedTranspiler_changedSource_transpiledAgain", function () {
    const file = path.join(ROOT, "scratch-cache-probe.ts"); // never written: the name is the cache's key
    const cached = service(true);
    expect(cached.compile("export const answer: number = 41;\n", file)).to.match(/^exports\.answer = 41;$/m);
    expect(cached.compile("export const answer: number = 42;\n", file)).to.match(/^exports\.answer = 42;$/m);
    expect(service(true).compile("export const answer: number = 42;\n", file)).to.match(/^exports\.answer = 42;$/m);
    expect(entries()).to.have.length(1); // one entry per source file, overwritten
  });

  it("test_cachedTranspiler_syntaxError_reportedAsTsNodeDoes_notCached", function () {
    const file = path.join(ROOT, "scratch-cache-probe.ts");
    const source = "export const = 1;\n";
    const failure = (compile: () => string) => {
      try {
        compile();
      } catch (e) {
        return (e as Error).message;
      }
      throw new Error("expected a syntax error");
    };
    const plain = failure(() => service(false).compile(source, file));
    expect(plain).to.match(/TS1134: Variable declaration expected/);
    expect(failure(() => service(true).compile(source, file))).to.equal(plain);
    expect(entries()).to.deep.equal([]);
  });
});
