/**
 * ts-node's transpiler for this repository (tsconfig.json, "ts-node": {"transpiler"}): TypeScript's own
 * `transpileModule`, as ts-node's transpile-only mode runs it, with its output kept on disk in cache/ts-node/ and
 * reused while the source file, the compiler options and the TypeScript version stay the same.
 *
 * Every Hardhat process (the CLI, `hardhat node`, `hardhat test`), the MCP server and the console load hundreds of
 * kilobytes of TypeScript when they start. ts-node transpiles it afresh in each process, with a TypeScript compiler
 * whose code the process has only just loaded: about 1 s of CPU for a CLI command, 2.5 s for `treasury:deploy`.
 * From the cache the same output costs a file read. One entry per source file (overwritten when the file changes),
 * written atomically (a temporary file, then a rename), so processes starting side by side never read half an entry.
 * A source with syntax errors is never cached: ts-node reports its diagnostics as before.
 *
 * ts-node accepts a custom transpiler only in transpile-only mode, which is how every command here runs it (Hardhat
 * loads `ts-node/register/transpile-only`; tsconfig.json's "ts-node" section sets transpileOnly for the rest). Types
 * are checked by `npm run lint:ts` (tsc --noEmit). `rm -rf cache/ts-node` (or `npx hardhat clean`) empties the cache.
 */
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

const CACHE_DIR = path.join(__dirname, "cache", "ts-node");

const sha256 = (text) => crypto.createHash("sha256").update(text).digest("hex");

/**
 * The factory ts-node calls (once per module kind it may emit) with the project's parsed configuration. `cacheDir`
 * (a transpiler option: `["./ts-node-transpiler.js", { "cacheDir": "..." }]`) moves the cache; the tests use it.
 * @param {{ service: { config: { options: object }, options: { compiler?: string }, projectLocalResolveHelper: (name: string, relative: boolean) => string }, nodeModuleEmitKind?: string, cacheDir?: string }} createOptions
 */
exports.create = function create({ service, nodeModuleEmitKind, cacheDir = CACHE_DIR }) {
  const ts = require(service.projectLocalResolveHelper(service.options.compiler || "typescript", true));
  const compilerOptions = service.config.options;
  // What else decides the output: the compiler, its options and the module kind ts-node asks for.
  const salt = `${ts.version}\0${JSON.stringify(compilerOptions)}\0${nodeModuleEmitKind || ""}\0`;
  return {
    /** @param {string} input @param {{ fileName: string }} options */
    transpile(input, { fileName }) {
      const key = sha256(salt + fileName + "\0" + input);
      const entry = path.join(cacheDir, `${sha256(`${nodeModuleEmitKind || ""}\0${fileName}`).slice(0, 40)}.json`);
      try {
        const cached = JSON.parse(fs.readFileSync(entry, "utf8"));
        if (cached.key === key) return { outputText: cached.outputText, sourceMapText: cached.sourceMapText };
      } catch {
        // no entry yet, or an unreadable one: transpile
      }
      const result = ts.transpileModule(input, { fileName, compilerOptions, reportDiagnostics: true });
      if ((result.diagnostics || []).length === 0) {
        try {
          fs.mkdirSync(cacheDir, { recursive: true });
          const temporary = `${entry}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
          fs.writeFileSync(temporary, JSON.stringify({ key, fileName, outputText: result.outputText, sourceMapText: result.sourceMapText }));
          fs.renameSync(temporary, entry);
        } catch {
          // a read-only checkout: run without the cache
        }
      }
      return result;
    },
  };
};
