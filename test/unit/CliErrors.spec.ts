/**
 * The CLI's error contract without a node: every error a task can throw maps to one documented code, README-CLI.md
 * lists exactly those codes, and Hardhat's and ethers' own failures map to the documented code for their kind.
 * (The table of failing commands run as real child processes is in test/e2e/cli-json.spec.ts.)
 */
import fs from "fs";
import path from "path";
import { expect } from "chai";
import { CLI_ERROR_CODES, errorJson } from "../../tasks/lib/output";
import { RpcUnavailableError } from "../../sdk";
import { KeyError } from "../../core/keys";

const ROOT = path.join(__dirname, "../..");

/** Codes written in the sources of everything the CLI runs (the MCP server has its own contract: mcp/README.md). */
function codesInSources(): Map<string, string> {
  const found = new Map<string, string>();
  const patterns = [
    /readonly code = "([A-Z_]+)"/g,
    /static readonly CODE = "([A-Z_]+)"/g,
    /code: "([A-Z_]+)"/g,
    /new (?:MonitorTaskError|KeyError)\(\s*"([A-Z_]+)"/g,
  ];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith(".ts")) {
        const text = fs.readFileSync(file, "utf8");
        for (const p of patterns) for (const m of text.matchAll(p)) found.set(m[1], path.relative(ROOT, file));
      }
    }
  };
  for (const dir of ["sdk", "core", "deploy", "tasks", "monitor", "audit"])
    if (fs.existsSync(path.join(ROOT, dir))) walk(path.join(ROOT, dir));
  // KeyErrorCode is a union type: its members are codes too.
  const keys = fs.readFileSync(path.join(ROOT, "core/keys.ts"), "utf8").match(/type KeyErrorCode = ([^;]+);/)![1];
  for (const m of keys.matchAll(/"([A-Z_]+)"/g)) found.set(m[1], "core/keys.ts");
  return found;
}

/** The codes in README-CLI.md's "Errors" table (a row may list several codes). */
function codesInReadme(): string[] {
  const text = fs.readFileSync(path.join(ROOT, "README-CLI.md"), "utf8");
  const section = text.slice(text.indexOf("### Errors"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("| code |")));
  const codes: string[] = [];
  for (const line of table.split("\n").filter((l) => l.startsWith("| `"))) {
    const first = line.split("|")[1];
    for (const m of first.matchAll(/`([A-Z_]+)`/g)) codes.push(m[1]);
  }
  return codes;
}

describe("CLI error codes", function () {
  it("test_readme_listsEveryCodeTheCliCanPrint_andNoOther", function () {
    expect([...codesInReadme()].sort()).to.deep.equal([...CLI_ERROR_CODES].sort());
  });

  it("test_sources_everyErrorCodeIsDocumented", function () {
    const missing = [...codesInSources()].filter(
      ([code]) => !(CLI_ERROR_CODES as readonly string[]).includes(code) && code !== "ERROR",
    );
    expect(missing.map(([code, file]) => `${code} (${file})`)).to.deep.equal([]);
  });

  describe("errorJson maps each kind of failure to its documented code", function () {
    const hardhatError = (number: number, message: string, messageArguments: Record<string, unknown> = {}) =>
      Object.assign(new Error(`HH${number}: ${message}`), { _isHardhatError: true, number, messageArguments });
    const rows: [string, unknown, string, RegExp][] = [
      [
        "Hardhat HH306 (missing flag)",
        hardhatError(306, "The '--asset' parameter of task 'agent:pay' expects a value, but none was passed."),
        "INVALID_REQUEST",
        /--asset.*Run npx hardhat help <task>/,
      ],
      [
        "Hardhat HH100 (unknown network)",
        hardhatError(100, "Network nowhere doesn't exist", { network: "nowhere" }),
        "INVALID_REQUEST",
        /--network nowhere is not configured/,
      ],
      [
        "Hardhat HH108 (node down)",
        hardhatError(108, "Cannot connect to the network localhost."),
        "RPC_UNAVAILABLE",
        /no node answered.*RPC_URL/,
      ],
      [
        "another Hardhat error",
        hardhatError(700, "Artifact for contract X not found."),
        "HARDHAT_ERROR",
        /Artifact for contract X not found/,
      ],
      [
        "ethers NETWORK_ERROR",
        Object.assign(new Error("could not detect network"), { code: "NETWORK_ERROR" }),
        "RPC_UNAVAILABLE",
        /NETWORK_ERROR.*RPC_URL/,
      ],
      [
        "fetch ECONNREFUSED (as a cause)",
        Object.assign(new Error("fetch failed"), {
          cause: Object.assign(new Error("connect"), { code: "ECONNREFUSED" }),
        }),
        "RPC_UNAVAILABLE",
        /ECONNREFUSED/,
      ],
      [
        "ethers INVALID_ARGUMENT",
        Object.assign(new Error('value out-of-bounds (argument="amount")'), { code: "INVALID_ARGUMENT" }),
        "INVALID_REQUEST",
        /value out-of-bounds/,
      ],
      [
        "the client's RpcUnavailableError",
        new RpcUnavailableError("read the nonce", 4, new Error("socket hang up")),
        "RPC_UNAVAILABLE",
        /after 4 attempt\(s\).*RPC_URL/,
      ],
      ["a key error", new KeyError("KEY_MISSING", "No AGENT key."), "KEY_MISSING", /No AGENT key/],
      [
        "an unknown code",
        Object.assign(new Error("weird"), { code: "SOMETHING_ELSE" }),
        "INTERNAL_ERROR",
        /weird \(an unexpected SOMETHING_ELSE/,
      ],
      ["a plain TypeError", new TypeError("x is undefined"), "INTERNAL_ERROR", /x is undefined/],
      ["a thrown string", "boom", "INTERNAL_ERROR", /boom/],
    ];
    for (const [name, error, code, message] of rows) {
      it(`test_errorJson_${name.replace(/[^A-Za-z0-9]+/g, "_")}_${code}`, function () {
        const out = errorJson(error).error;
        expect(out.code).to.equal(code);
        expect(CLI_ERROR_CODES).to.include(out.code);
        expect(out.message).to.match(message);
      });
    }
  });
});
