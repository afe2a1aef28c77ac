/**
 * A fresh checkout has no typechain-types/: `hardhat compile` writes them, and `npm test` starts by loading
 * hardhat.config.ts, which loads the CLI's tasks and with them the client library, the deployer, the watchtower and
 * the MCP server, before it compiles. If any of those imported a generated factory as a value at the top of a file,
 * the very first `npm test` on CI would stop with MODULE_NOT_FOUND before a single test ran (it did once).
 *
 * Here Node's resolver is made to fail on every file under typechain-types/, as on a fresh checkout, and Hardhat must
 * still load its configuration with every task; the bindings then fail only when first used, with a message that says
 * what to run. (`npm run lint:deps` keeps value imports of typechain-types/ out of those layers; this checks the
 * effect.)
 */
import { spawnSync } from "child_process";
import fs from "fs";
import os from "os";
import path from "path";
import { expect } from "chai";

const ROOT = path.resolve(__dirname, "../..");

/** Preloaded with `node -r`: resolving any file under typechain-types/ fails as it does before the first compile. */
const HIDE_BINDINGS = `
const Module = require("module");
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  const file = resolve.call(this, request, ...rest);
  if (/[\\\\/]typechain-types[\\\\/]/.test(file)) {
    const error = new Error("Cannot find module '" + request + "' (typechain-types/ hidden, as on a fresh checkout)");
    error.code = "MODULE_NOT_FOUND";
    throw error;
  }
  return file;
};
`;

describe("A fresh checkout (no typechain-types/ yet)", function () {
  this.timeout(120_000);
  let hook: string;

  before(function () {
    hook = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-fresh-")), "hideBindings.cjs");
    fs.writeFileSync(hook, HIDE_BINDINGS);
  });
  after(function () {
    fs.rmSync(path.dirname(hook), { recursive: true, force: true });
  });

  /** Runs Node in the repository with the bindings hidden. */
  const node = (...args: string[]) =>
    spawnSync(process.execPath, ["-r", hook, ...args], {
      cwd: ROOT,
      encoding: "utf8",
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: "1" },
    });

  it("test_hiddenBindings_requireFails_controlForTheOtherTests", function () {
    const run = node("-r", "ts-node/register", "-e", 'require("./typechain-types")');
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.include("typechain-types/ hidden, as on a fresh checkout");
  });

  it("test_hardhatConfig_loadsEveryTask_withoutBindings", function () {
    const run = node(require.resolve("hardhat/internal/cli/cli.js"), "help");
    expect(run.stderr).to.not.include("MODULE_NOT_FOUND");
    expect(run.status, run.stderr).to.equal(0);
    for (const name of ["agent:pay", "agent:pay-batch", "agent:propose", "agent:call", "treasury:monitor"])
      expect(run.stdout).to.include(name);
  });

  it("test_bindings_firstUseWithoutThem_saysToCompile", function () {
    const run = node("-r", "ts-node/register", "-e", 'require("./sdk/bindings").moduleInterface()');
    expect(run.status).to.not.equal(0);
    expect(run.stderr).to.include("The contract bindings (typechain-types/) have not been generated");
    expect(run.stderr).to.include("run `npx hardhat compile` in the repository, then try again");
  });
});
