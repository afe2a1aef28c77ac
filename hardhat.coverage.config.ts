/**
 * The Hardhat configuration for `npm run coverage` only: the project's configuration, with three differences.
 *
 * 1. solidity-coverage instruments every source with counters that solc reports as "statement has no effect", and
 *    the instrumented module is larger than 24,576 bytes; the project's rule that compiler warnings are errors (which
 *    still guards every normal build, test and deployment) would stop the instrumented build. Here the compiler runs
 *    exactly as Hardhat's built-in task runs it, without that rule.
 * 2. Both halves of the module (contracts/AgentTreasuryModule.sol and contracts/AgentTreasuryAdmin.sol, every
 *    source hardhat.config.ts compiles with an override) compile through the legacy pipeline (viaIR off) instead of
 *    the IR pipeline.
 *    Coverage is a source-level measure of which lines and branches the tests execute; under viaIR the Yul
 *    optimizer merges, reorders and drops solidity-coverage's instrumentation counters (lines and branches the
 *    tests do execute read as uncovered). Through the legacy pipeline every counter is a plain call that
 *    solidity-coverage compiles with the optimizer off, so each one is counted where it stands. The module compiles
 *    through the legacy pipeline without stack-too-deep; its size does not matter here (solidity-coverage allows
 *    unlimited contract size on the hardhat network). The deployed build (hardhat.config.ts) keeps viaIR; every
 *    other compiler setting (version, EVM version, output selection) is unchanged.
 * 3. Instrumented and unoptimised, the module has about 80 kB of runtime code and its creation costs about 17.5
 *    million gas, more than the per-transaction gas cap of 2^24 that the hardhat network's default hardfork (Osaka,
 *    EIP-7825) enforces (solidity-coverage then also sends every transaction with at most 2^24 gas). The coverage
 *    chain therefore runs Prague, the hardfork before that cap: the contracts compile for Cancun and use nothing
 *    Osaka added (CLZ, the P-256 precompile, MODEXP bounds), so only the cap differs.
 */
import { subtask } from "hardhat/config";
import {
  TASK_COMPILE_SOLIDITY_COMPILE_SOLC,
  TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD,
  TASK_COMPILE_SOLIDITY_RUN_SOLC,
  TASK_COMPILE_SOLIDITY_RUN_SOLCJS,
} from "hardhat/builtin-tasks/task-names";
import type { HardhatUserConfig, SolcUserConfig } from "hardhat/types";
import baseConfig from "./hardhat.config";

const MODULE_SOURCES = ["contracts/AgentTreasuryModule.sol", "contracts/AgentTreasuryAdmin.sol"];

interface CompileSolcArgs {
  input: unknown;
  quiet: boolean;
  solcVersion: string;
}

subtask(TASK_COMPILE_SOLIDITY_COMPILE_SOLC).setAction(async (args: CompileSolcArgs, { run }) => {
  const solcBuild = (await run(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, {
    quiet: args.quiet,
    solcVersion: args.solcVersion,
  })) as {
    isSolcJs: boolean;
    compilerPath: string;
  };
  const output = solcBuild.isSolcJs
    ? await run(TASK_COMPILE_SOLIDITY_RUN_SOLCJS, { input: args.input, solcJsPath: solcBuild.compilerPath })
    : await run(TASK_COMPILE_SOLIDITY_RUN_SOLC, {
        input: args.input,
        solcPath: solcBuild.compilerPath,
        solcVersion: args.solcVersion,
      });
  return { output, solcBuild };
});

function coverageConfig(config: HardhatUserConfig): HardhatUserConfig {
  const solidity = config.solidity as { compilers: SolcUserConfig[]; overrides: Record<string, SolcUserConfig> };
  for (const source of MODULE_SOURCES) {
    if (solidity.overrides[source] === undefined)
      throw new Error(`hardhat.config.ts has no compiler override for ${source}`);
  }
  // The overrides' optimizer settings (runs, Yul step sequence) only tune the IR pipeline's output: each source
  // compiles here like every other one (solidity-coverage turns the legacy optimizer off anyway).
  const overrides = Object.fromEntries(
    Object.entries(solidity.overrides).map(([source, build]) => [
      source,
      { ...build, settings: { ...build.settings, optimizer: solidity.compilers[0].settings.optimizer, viaIR: false } },
    ]),
  );
  const networks = { ...config.networks, hardhat: { ...config.networks?.hardhat, hardfork: "prague" } };
  return { ...config, solidity: { ...solidity, overrides }, networks };
}

export default coverageConfig(baseConfig);
