/**
 * solidity-coverage 0.8 configuration (`npm run coverage`, thresholds enforced by scripts/coverage-check.ts).
 *
 * - Mocks and attackers (contracts/test) and the vendored Safe (contracts/safe) are not measured.
 * - Coverage is a source-level measure of which lines and branches the tests execute. The deployed module compiles
 *   through the IR pipeline (hardhat.config.ts), whose Yul optimizer merges, reorders and drops the instrumentation
 *   counters, so lines and branches the tests execute read as uncovered. hardhat.coverage.config.ts therefore
 *   compiles the module through the legacy pipeline for coverage only; with no source on the IR pipeline,
 *   solidity-coverage instruments with plain calls and compiles with the optimizer off, so every counter is
 *   counted where it stands (no configureYulOptimizer needed). The instrumented module is larger than 24,576 bytes:
 *   solidity-coverage turns on allowUnlimitedContractSize for the hardhat network itself.
 * - The bounded invariant campaign runs with fewer runs under coverage (it is slower instrumented); every path it
 *   reaches is also reached by the unit and scenario specs.
 */
process.env.INVARIANT_RUNS = process.env.INVARIANT_RUNS || "8";

module.exports = {
  skipFiles: ["test", "safe"],
  istanbulReporter: ["html", "json", "json-summary", "text-summary", "lcov"],
  mocha: {
    timeout: 600000,
  },
};
