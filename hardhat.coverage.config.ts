/**
 * The Hardhat configuration for `npm run coverage` only: the project's configuration, with one difference.
 * solidity-coverage instruments every source with counters that solc reports as "statement has no effect", and the
 * instrumented module is larger than 24,576 bytes; the project's rule that compiler warnings are errors (which
 * still guards every normal build, test and deployment) would stop the instrumented build. Here the compiler runs
 * exactly as Hardhat's built-in task runs it, without that rule. Compiler settings are untouched.
 */
import { subtask } from "hardhat/config";
import {
  TASK_COMPILE_SOLIDITY_COMPILE_SOLC,
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  TASK_COMPILE_SOLIDITY_RUN_SOLC,
  TASK_COMPILE_SOLIDITY_RUN_SOLCJS,
} from "hardhat/builtin-tasks/task-names";
import config from "./hardhat.config";

interface CompileSolcArgs {
  input: unknown;
  quiet: boolean;
  solcVersion: string;
}

subtask(TASK_COMPILE_SOLIDITY_COMPILE_SOLC).setAction(async (args: CompileSolcArgs, { run }) => {
  const solcBuild = (await run(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, { quiet: args.quiet, solcVersion: args.solcVersion })) as {
    isSolcJs: boolean;
    compilerPath: string;
  };
  const output = solcBuild.isSolcJs
    ? await run(TASK_COMPILE_SOLIDITY_RUN_SOLCJS, { input: args.input, solcJsPath: solcBuild.compilerPath })
    : await run(TASK_COMPILE_SOLIDITY_RUN_SOLC, { input: args.input, solcPath: solcBuild.compilerPath, solcVersion: args.solcVersion });
  return { output, solcBuild };
});

export default config;
