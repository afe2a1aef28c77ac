// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IntentRouter} from "./modules/IntentRouter.sol";

/**
 * @title AgentTreasuryModule
 * @notice A Safe module that lets AI agents move a DAO's money within hard, on-chain limits.
 *
 * Trust model:
 * - The Safe (avatar) is the owner and is trusted with everything: only it configures, unpauses and unfreezes.
 * - Agents are not trusted. A stolen or prompt-injected agent key can, at worst, move each asset's `autoPerWindow`
 *   within any `window` seconds to recipients its policy accepts, through calls the owner allowed; everything
 *   above needs co-signers and a timelock, and every attempt (executed, queued, denied) is on the record.
 * - Co-signers are trusted in number: fewer than `threshold` of them can move nothing beyond the auto tier.
 * - Guardians are trusted to stop, never to move: pause, freeze, cancel.
 * - Relayers and everyone else are untrusted: they can pay gas for a signed intent, or withhold it until it expires.
 *
 * The module is composed from parts, one concern each, under `modules/`. This contract is its hot half: the entry
 * points that move money ({IntentRouter}: submit, submitBatch, propose, approve, executeQueued). Every other function
 * of {IAgentTreasuryModule} lives in {AgentTreasuryAdmin}, which this contract reaches by delegatecall from its
 * fallback: same storage, same address, same caller. A payment thus dispatches among five functions instead of
 * forty, and each half stays well under the contract size limit. Instances are EIP-1167 clones of this contract,
 * made by {AgentTreasuryModuleFactory}.
 */
contract AgentTreasuryModule is IntentRouter {
    /// @notice The implementation of every function this contract does not handle itself.
    address public immutable admin;

    /// @notice The constructor was given an admin implementation without code.
    error ModuleInvalidAdmin(address admin);

    /// @dev `admin_` is an {AgentTreasuryAdmin} deployed from the same sources (same storage layout).
    constructor(address admin_) {
        if (admin_.code.length == 0) revert ModuleInvalidAdmin(admin_);
        admin = admin_;
    }

    /**
     * @notice Runs any other function of {IAgentTreasuryModule} in {AgentTreasuryAdmin}, on this module's storage.
     * Not payable: the module never holds ETH. A selector the admin does not know reverts there without data, as it
     * would have here.
     */
    // Forwarding is this fallback's whole job (it moves no value), hence the one disabled rule.
    // solhint-disable-next-line no-complex-fallback
    fallback() external {
        address implementation = admin;
        // Forward calldata and return or revert with the answer as it is. Solidity cannot return raw bytes from a
        // fallback without this (OpenZeppelin's Proxy does the same).
        // Not memory-safe, and need not be: it owns memory from 0 and ends the call.
        assembly {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), implementation, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) {
                revert(0, returndatasize())
            }
            return(0, returndatasize())
        }
    }
}
