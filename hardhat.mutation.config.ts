/**
 * The Hardhat configuration of the mutation sandbox (`npm run mutation`, scripts/mutation.ts), never of a normal
 * build: the coverage configuration (hardhat.coverage.config.ts: the module through the legacy pipeline, compiler
 * warnings not fatal, Prague) plus unlimited contract size on the hardhat network.
 *
 * Why: SuMo recompiles after every mutant. Through the IR pipeline the module takes 30 s to minutes per compile;
 * through the legacy pipeline seconds, at about 28 kB (hence the size limit is lifted: only here). Mutation operators
 * act on the Solidity source and the tests judge behaviour, which both pipelines compile to the same semantics; SuMo
 * first runs the selected specs on the unmutated sandbox, so a spec that depended on the IR build would stop the run
 * there rather than count as a kill. Warnings are not fatal so that a mutant which only adds one (an unreachable
 * statement) is tested instead of discarded as stillborn.
 */
import type { HardhatUserConfig } from "hardhat/config";
import coverageConfig from "./hardhat.coverage.config";

const mutationConfig: HardhatUserConfig = {
  ...coverageConfig,
  networks: {
    ...coverageConfig.networks,
    hardhat: { ...coverageConfig.networks?.hardhat, allowUnlimitedContractSize: true },
  },
};

export default mutationConfig;
