/**
 * SuMo (@morenabarboni/sumo) configuration for `npm run mutation` (scripts/mutation.ts).
 *
 * Do not run `npx sumo test` in the working tree: SuMo rewrites contracts in place and empties the build
 * directory. scripts/mutation.ts copies the project into a sandbox, points SuMo at it (APP_ROOT_PATH), and writes
 * this file there with the contracts and test files chosen on its command line; the values below are its defaults.
 *
 * testingFramework "custom": SuMo runs the sandbox's `npm run compile` and `npm run test`; scripts/mutation.ts sets
 * those to `hardhat compile` and `hardhat test --bail --no-compile <selected specs>`, fastest killers first.
 */
module.exports = {
  buildDir: "artifacts",
  contractsDir: "contracts",
  testDir: "test",
  // Mocks and attackers, the vendored Safe, and interfaces (no executable code) are not mutated.
  skipContracts: ["test", "safe", "interfaces"],
  skipTests: [],
  testingTimeOutInSec: 900,
  network: "none",
  testingFramework: "custom",
  minimal: false,
  tce: false,
  // Not a SuMo setting: why known surviving mutants survive, by mutant hash (SuMo hashes file name, position and
  // replacement, so a hash stays valid until the line moves). scripts/mutation.ts copies these into the report.
  survivorNotes: {
    mb65e67cb:
      "Equivalent: when setAgent changes the rate window it zeroes both rate counters; the bucket number it stores (0, or 1 in the mutant) only decides whether those zero counts carry over, so every later count is the same.",
    mfc38e922:
      "Equivalent: a denied intent's record is stored with gracePeriod 1 instead of 0; grace is read only for a queued record (expiry), never for a denied one, and no view returns it.",
    m4c4d6c0c:
      "Equivalent in state, not in gas: SlidingWindow._WARMED = 1 >> 224 (= 0) makes setLength re-scan the 8 ring entries on every call instead of once; it only ever writes entries that are still zero, so storage and every spend are unchanged. The warm-up's purpose is gas (measured by npm run bench: first payment = steady state).",
    m6efcb5b8:
      "Equivalent: IntentCalldata.classify takes data[:min(len, 4)]; with `<=` instead of `<` the only changed case is length 4, where both take 4 bytes.",
    mb30b7d15:
      "Differs only for calldata of 1 to 3 bytes (slice past the end reverts instead of a zero-padded selector being denied). The campaign now submits 2-byte calldata (harness.ts call variant 4), which kills it; the sample run used the copy of the tests taken before that variant existed.",
  },
};
