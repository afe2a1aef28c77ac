/**
 * What Hardhat prints around compilation (hardhat.config.ts): the dependencies' own warnings (OpenZeppelin's
 * transient-storage notice, once per compiler job) stay off the screen with one line saying so, while warnings in
 * this project's contracts and every error are shown.
 */
import { expect } from "chai";
import hre from "hardhat";
import {
  TASK_COMPILE_SOLIDITY_COMPILE_JOBS,
  TASK_COMPILE_SOLIDITY_LOG_COMPILATION_ERRORS,
} from "hardhat/builtin-tasks/task-names";

const message = (severity: string, file: string, text: string) => ({
  severity,
  sourceLocation: { file, start: 0, end: 1 },
  formattedMessage: `${severity === "error" ? "Error" : "Warning"}: ${text}\n --> ${file}:1:1:\n`,
  type: severity === "error" ? "TypeError" : "Warning",
  component: "general",
  message: text,
});

/** Runs `fn` and returns what it wrote to console.warn/console.error and to stderr. */
async function captured(fn: () => Promise<unknown>): Promise<string> {
  const [warn, error, write] = [console.warn, console.error, process.stderr.write.bind(process.stderr)];
  let out = "";
  console.warn = (...a: unknown[]) => void (out += `${a.join(" ")}\n`);
  console.error = (...a: unknown[]) => void (out += `${a.join(" ")}\n`);
  process.stderr.write = ((chunk: string | Uint8Array) => (
    (out += chunk.toString()),
    true
  )) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    [console.warn, console.error, process.stderr.write] = [warn, error, write];
  }
  return out;
}

describe("Compiler output", function () {
  it("test_compileLog_dependencyWarningsHidden_ownWarningsAndErrorsShown_oneLineSaysSo", async function () {
    // hardhat.coverage.config.ts runs the compiler as Hardhat's built-in task does, without this project's compile
    // log (solidity-coverage's instrumentation warns on every counter); `npm test` checks the project's own.
    if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING === true) this.skip();
    const errors = [
      message(
        "warning",
        "@openzeppelin/contracts/utils/TransientSlot.sol",
        "Transient storage as defined by EIP-1153 can break the composability",
      ),
      message(
        "warning",
        "@openzeppelin/contracts/utils/TransientSlot.sol",
        "Transient storage as defined by EIP-1153 can break the composability",
      ),
      message("warning", "contracts/test/MockERC20.sol", "Unused local variable."),
      message("error", "contracts/AgentTreasuryModule.sol", "Undeclared identifier."),
    ];
    const logged = await captured(() =>
      hre.run(TASK_COMPILE_SOLIDITY_LOG_COMPILATION_ERRORS, { output: { errors }, quiet: false }),
    );
    expect(logged).to.not.contain("Transient storage");
    expect(logged).to.contain("Unused local variable.");
    expect(logged).to.contain("Undeclared identifier.");
    // The summary follows the compiler jobs: one line naming the files, however many jobs repeated the warning.
    const summary = await captured(() =>
      hre.run(TASK_COMPILE_SOLIDITY_COMPILE_JOBS, { compilationJobs: [], quiet: true }),
    );
    expect(summary).to.contain(
      "(1 compiler warning(s) in dependencies not shown: @openzeppelin/contracts/utils/TransientSlot.sol; SHOW_DEPENDENCY_WARNINGS=1 shows them)",
    );
  });
});
