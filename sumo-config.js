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
    m7955cd10:
      "Equivalent: when an argument fails its condition, _meetsCallConditions returns (false, address(1) or 1) instead of (false, 0, 0); its only caller, IntentPolicy._checkConditions, returns TargetNotAllowed with zeros of its own whenever the first value is false, and never reads the other two.",
    m80bbc208:
      "Equivalent: _checkConditions returns (TargetNotAllowed, address(1) or 1) instead of zeros for a failed condition; _evaluate returns the Decision at once when the reason is not None, without reading the asset or amount it was given.",
    m4e26bef6:
      "Equivalent in state: executeQueued calls _chargeEscalated(id, ETH, 0) for an intent that sends no ETH along a transfer, adding 0 to the escalated ETH total (no event, nothing else written). Only gas differs.",
    md7af1bc3:
      "Equivalent in state: _chargeAlong calls _chargeAuto(live, id, ETH, 0) when no ETH is sent along; SlidingWindow.record returns at once for an amount of 0, for the agent's and the treasury's window alike. Only gas differs.",
    m150b316d:
      "Equivalent: _readPrice returns answer or decimals 1 instead of 0 with the fault IncompleteRound; _usdValue returns (0, fault) whenever the fault is not None and never reads them.",
    m5a169026:
      "Equivalent: when setAgent changes the rate window it zeroes both rate counters; the bucket number it stores (0, or 1 in the mutant) only decides whether those zero counts carry over, so every later count is the same.",
    me14a38e2:
      "Equivalent: a denied intent's record is stored with gracePeriod 1 instead of 0; grace is read only for a queued record (expiry), never for a denied one, and no view returns it.",
    m4c4d6c0c:
      "Equivalent in state, not in gas: SlidingWindow._WARMED = 1 >> 224 (= 0) makes setLength re-scan the 8 ring entries on every call instead of once; it only ever writes entries that are still zero, so storage and every spend are unchanged. The warm-up's purpose is gas (measured by npm run bench: first payment = steady state).",
    m74c1b21a:
      "Equivalent: setCosigners stores member i's index as i + 2 instead of i + 1, so each co-signer's on-chain approval uses bit i + 1 of the record's bitmap instead of bit i. approve, hasApproved, intent() and executeQueued all go through the same index, 20 members still fit the 24-bit bitmap, and no view exposes bit positions.",
  },
};
