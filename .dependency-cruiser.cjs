/**
 * The TypeScript layers, enforced by `npm run lint:deps` (part of `npm run lint`). DEVELOPERS.md draws the picture.
 *
 *   sdk/        agent and co-signer client library          -> typechain-types
 *   core/       Hardhat-free shared layer: keys, units,      -> sdk, typechain-types
 *               deployment record, policy file, policy diff
 *   monitor/    watchtower (no Hardhat)                      -> core, sdk
 *   audit/      audit trail (no Hardhat)                     -> monitor, core, sdk
 *   mcp/        MCP server (no Hardhat: it runs on a URL)    -> core, sdk
 *   deploy/     pipeline, plan, status, owners' runs         -> core, sdk (Hardhat only in the Ignition files)
 *   tasks/      the CLI (Hardhat tasks)                      -> deploy, monitor, audit, core, sdk
 *   console/    the console's server                         -> tasks, deploy, monitor, audit, core, sdk
 *   console/app the console's page (browser code)            -> console/app, sdk/eip712.ts, artifacts/
 *   testkit/    shared by tests, benchmarks, the fuzzer      -> everything above
 *   scripts/    demo, benchmarks, fuzzer, audit              -> everything above, testkit
 *   test/       the specs                                    -> everything
 *
 * Type-only imports count (tsPreCompilationDeps), except in the browser rule, where they are erased by the bundler.
 */
/** Hardhat and its plugins, resolved (node_modules/...) or not (a subpath the resolver cannot follow). */
const HARDHAT = ["(^|/)node_modules/(hardhat|@nomicfoundation/hardhat-[^/]+)/", "^(hardhat|@nomicfoundation/hardhat-[^/]+)(/|$)", "^typechain-types/hardhat\\.d\\.ts$"];
const NPM = "(^|/)node_modules/";

/** A layer that may import only `allowed` among the repository's directories (npm packages and Node built-ins aside). */
function onlyImports(name, layer, allowed, comment) {
  return {
    name,
    comment,
    severity: "error",
    from: { path: layer },
    to: { pathNot: [...allowed, NPM], dependencyTypesNot: ["core", "npm", "npm-dev", "npm-optional", "npm-peer", "npm-no-pkg", "npm-unknown"] },
  };
}

/** A layer that runs without Hardhat. */
function noHardhat(name, layer, comment, pathNot) {
  return { name, comment, severity: "error", from: { path: layer, ...(pathNot ? { pathNot } : {}) }, to: { path: HARDHAT } };
}

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "A cycle makes the order of module initialisation matter and hides which layer owns what: break it.",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    {
      name: "production-not-to-test",
      comment: "Production code never imports the specs or their helpers (test/). What scripts share with tests lives in testkit/.",
      severity: "error",
      from: { pathNot: "^test/" },
      to: { path: "^test/" },
    },
    {
      name: "production-not-to-scripts",
      comment: "scripts/ are entry points (demo, benchmarks, fuzzer, audit): nothing imports them.",
      severity: "error",
      from: { pathNot: "^(scripts|test)/" },
      to: { path: "^scripts/" },
    },
    {
      name: "production-not-to-testkit",
      comment:
        "testkit/ builds test chains and runs child processes for tests and scripts; production code never uses it. hardhat.config.ts may: it configures the test runner (TEST_TIMINGS loads testkit/timingReporter.ts).",
      severity: "error",
      from: { pathNot: "^(scripts|test|testkit)/|^hardhat[.]config[.]ts$" },
      to: { path: "^testkit/" },
    },

    onlyImports("sdk-layer", "^sdk/", ["^sdk/", "^typechain-types/"], "The client library stands alone: ethers and the typechain bindings."),
    onlyImports("core-layer", "^core/", ["^core/", "^sdk/", "^typechain-types/"], "core/ is shared by deploy, monitor, mcp and audit: it imports nothing above it."),
    onlyImports("monitor-layer", "^monitor/", ["^monitor/", "^core/", "^sdk/", "^typechain-types/"], "The watchtower never imports deploy/, tasks/ or mcp/."),
    onlyImports("audit-layer", "^audit/", ["^audit/", "^monitor/", "^core/", "^sdk/", "^typechain-types/"], "The audit reads the chain with the monitor's follower."),
    onlyImports("mcp-layer", "^mcp/", ["^mcp/", "^core/", "^sdk/", "^typechain-types/"], "The MCP server imports no deploy/ or tasks/ code."),
    onlyImports("deploy-layer", "^deploy/", ["^deploy/", "^core/", "^sdk/", "^typechain-types/"], "deploy/ never imports the CLI (tasks/) or the watchtower: keys and the chain are passed in."),
    onlyImports(
      "tasks-layer",
      "^tasks/",
      ["^tasks/", "^deploy/", "^monitor/", "^audit/", "^core/", "^sdk/", "^typechain-types/"],
      "The CLI sits on the libraries; it never imports the console, scripts or tests.",
    ),
    onlyImports(
      "console-server-layer",
      "^console/[^/]+$",
      ["^console/[^/]+$", "^tasks/", "^deploy/", "^monitor/", "^audit/", "^core/", "^sdk/", "^typechain-types/"],
      "The console's server; its page (console/app/) is built by Vite, never imported.",
    ),

    noHardhat("sdk-no-hardhat", "^sdk/", "The client library runs in any Node process (and its EIP-712 part in the browser)."),
    noHardhat("core-no-hardhat", "^core/", "core/ is what the Hardhat-free parts (monitor, mcp, audit) share."),
    noHardhat("monitor-no-hardhat", "^monitor/", "The watchtower runs on a JSON-RPC provider."),
    noHardhat("audit-no-hardhat", "^audit/", "The audit runs on a JSON-RPC provider."),
    noHardhat("mcp-no-hardhat", "^mcp/", "The MCP server runs as a plain ts-node process on an RPC URL."),
    noHardhat(
      "deploy-hardhat-only-in-ignition",
      "^deploy/",
      "Plan, status, owners' runs, chain state and address predictions take a ChainContext (provider + artifacts); only the Ignition steps and the hre adapter use Hardhat.",
      "^deploy/(pipeline|contracts|ignition|hardhatChain)\\.ts$|^deploy/modules/",
    ),

    {
      name: "bindings-on-first-use",
      comment:
        "hardhat.config.ts loads the tasks, and with them every layer below, before the first compile writes typechain-types/ (a fresh checkout, CI). Values from the generated bindings (factories, ABIs) come through sdk/bindings.ts, which loads them when called; elsewhere only `import type` from typechain-types/.",
      severity: "error",
      from: { path: "^(sdk|core|deploy|monitor|audit|mcp|tasks)/|^console/[^/]+$|^hardhat[.]config[.]ts$", pathNot: "^sdk/bindings[.]ts$" },
      to: { path: "^typechain-types/", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "browser-code",
      comment:
        "console/app/ runs in the browser: at run time it imports only itself, sdk/eip712.ts, the compiled ABI (artifacts/) and npm packages; type-only imports are erased.",
      severity: "error",
      from: { path: "^console/app/" },
      to: { pathNot: ["^console/app/", "^sdk/eip712\\.ts$", "^artifacts/", NPM], dependencyTypesNot: ["type-only", "core", "npm", "npm-dev", "npm-no-pkg", "npm-unknown"] },
    },
    {
      name: "browser-no-node",
      comment: "No Node built-in (fs, path, ...) in the browser bundle.",
      severity: "error",
      from: { path: "^console/app/" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "browser-no-hardhat",
      comment: "No Hardhat in the browser bundle, not even its types.",
      severity: "error",
      from: { path: "^console/app/" },
      to: { path: HARDHAT },
    },
    {
      name: "browser-shared-eip712",
      comment: "sdk/eip712.ts is bundled into the console's page: it imports ethers only.",
      severity: "error",
      from: { path: "^sdk/eip712\\.ts$" },
      to: { pathNot: "(^|/)node_modules/ethers/" },
    },
  ],
  options: {
    doNotFollow: { path: ["node_modules", "^typechain-types/", "^artifacts/"] },
    exclude: { path: ["^(dist|cache|coverage|reports)/", "^console/dist/"] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    // Packages with an `exports` map (@modelcontextprotocol/sdk, hardhat-ignition's subpaths) resolve as Node does.
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["require", "node", "default", "types"] },
  },
};
