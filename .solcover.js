/**
 * solidity-coverage 0.8 configuration (`npm run coverage`, thresholds enforced by scripts/coverage-check.ts).
 *
 * - Mocks and attackers (contracts/test) and the vendored Safe (contracts/safe) are not measured.
 * - The module compiles through the IR pipeline; instrumentation adds a statement counter per line, so the Yul
 *   optimizer must stay on (configureYulOptimizer, with stack allocation) or the instrumented module runs out of
 *   stack. The instrumented module is larger than 24,576 bytes: solidity-coverage turns on
 *   allowUnlimitedContractSize for the hardhat network itself.
 * - The bounded invariant campaign runs with fewer runs under coverage (it is slower instrumented); every path it
 *   reaches is also reached by the unit and scenario specs.
 */
process.env.INVARIANT_RUNS = process.env.INVARIANT_RUNS || "8";

module.exports = {
  skipFiles: ["test", "safe"],
  configureYulOptimizer: true,
  solcOptimizerDetails: {
    yul: true,
    yulDetails: {
      stackAllocation: true,
    },
  },
  istanbulReporter: ["html", "json", "json-summary", "text-summary", "lcov"],
  mocha: {
    timeout: 600000,
  },
};
