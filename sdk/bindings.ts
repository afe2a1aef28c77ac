/**
 * The generated contract bindings (typechain-types/), loaded on first use.
 *
 * `hardhat.config.ts` loads the CLI's tasks, and through them this library, the deployer, the watchtower and the MCP
 * server, before `hardhat compile` has written typechain-types/: on a fresh checkout `npm test` starts with no
 * bindings at all. A value import of a generated factory at the top of any of those files therefore fails before
 * the compiler runs. Type imports are erased, so files import the generated types directly; every value (a factory,
 * an ABI, an Interface) comes from here, and only when a function runs. `npm run lint:deps` enforces it.
 */
import type { ContractRunner, Interface, JsonFragment } from "ethers";
import type { AgentTreasuryLens, IAgentTreasuryModule, IERC20Metadata } from "../typechain-types";
import type { IAgentTreasuryModule__factory } from "../typechain-types/factories/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule__factory";
import type { AgentTreasuryLens__factory } from "../typechain-types/factories/contracts/AgentTreasuryLens__factory";
import type { IERC20Metadata__factory } from "../typechain-types/factories/@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata__factory";
import type { IERC20Errors__factory } from "../typechain-types/factories/@openzeppelin/contracts/interfaces/draft-IERC6093.sol/IERC20Errors__factory";

const MODULE =
  "../typechain-types/factories/contracts/interfaces/IAgentTreasuryModule.sol/IAgentTreasuryModule__factory";
const LENS = "../typechain-types/factories/contracts/AgentTreasuryLens__factory";
const ERC20 = "../typechain-types/factories/@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata__factory";
const ERC20_ERRORS =
  "../typechain-types/factories/@openzeppelin/contracts/interfaces/draft-IERC6093.sol/IERC20Errors__factory";

/** One generated file's exports; the error says what to run when the bindings were never generated. */
function generated<T>(path: string): T {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use: see the file comment
    return require(path) as T;
  } catch (e) {
    const missing = (e as { code?: string }).code === "MODULE_NOT_FOUND";
    throw new Error(
      missing
        ? `The contract bindings (typechain-types/) have not been generated (${path} is missing): run \`npx hardhat compile\` in the repository, then try again.`
        : `Loading the contract bindings (${path}) failed: ${(e as Error).message}`,
      { cause: e },
    );
  }
}

const moduleFactory = (): typeof IAgentTreasuryModule__factory =>
  generated<{ IAgentTreasuryModule__factory: typeof IAgentTreasuryModule__factory }>(MODULE)
    .IAgentTreasuryModule__factory;

/** The module (both halves behind one address), connected to `runner`. */
export function treasuryModule(address: string, runner: ContractRunner | null): IAgentTreasuryModule {
  return moduleFactory().connect(address, runner);
}

/** The read-only lens, connected to `runner`. */
export function treasuryLens(address: string, runner: ContractRunner | null): AgentTreasuryLens {
  return generated<{ AgentTreasuryLens__factory: typeof AgentTreasuryLens__factory }>(
    LENS,
  ).AgentTreasuryLens__factory.connect(address, runner);
}

/** An ERC-20 token with its metadata (decimals, symbol), connected to `runner`. */
export function erc20Token(address: string, runner: ContractRunner | null): IERC20Metadata {
  return generated<{ IERC20Metadata__factory: typeof IERC20Metadata__factory }>(ERC20).IERC20Metadata__factory.connect(
    address,
    runner,
  );
}

/** The module's whole ABI (both halves): functions, events and custom errors. */
export function moduleAbi(): readonly JsonFragment[] {
  return moduleFactory().abi as readonly JsonFragment[];
}

let moduleIface: Interface | undefined;
let erc20ErrorsIface: Interface | undefined;

/** The module's ABI as an ethers Interface (built once). */
export function moduleInterface(): Interface {
  return (moduleIface ??= moduleFactory().createInterface() as unknown as Interface);
}

/** OpenZeppelin's ERC-6093 token errors (`ERC20InsufficientBalance`, ...), as an ethers Interface (built once). */
export function erc20ErrorsInterface(): Interface {
  return (erc20ErrorsIface ??= generated<{ IERC20Errors__factory: typeof IERC20Errors__factory }>(
    ERC20_ERRORS,
  ).IERC20Errors__factory.createInterface() as unknown as Interface);
}
