// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Clones} from "@openzeppelin/contracts/proxy/Clones.sol";
import {IAgentTreasuryModule} from "./interfaces/IAgentTreasuryModule.sol";
import {IAgentTreasuryModuleFactory} from "./interfaces/IAgentTreasuryModuleFactory.sol";

/**
 * @title AgentTreasuryModuleFactory
 * @notice Makes one module clone per (Safe, salt) with CREATE2 and initialises it in the same transaction, so no
 * one can front-run the initialisation. The Safe must then `enableModule` the returned address.
 */
contract AgentTreasuryModuleFactory is IAgentTreasuryModuleFactory {
    address private immutable _implementation;

    constructor(address implementation_) {
        if (implementation_.code.length == 0) revert FactoryImplementationInvalid(implementation_);
        _implementation = implementation_;
    }

    /// @inheritdoc IAgentTreasuryModuleFactory
    function implementation() external view returns (address) {
        return _implementation;
    }

    /// @inheritdoc IAgentTreasuryModuleFactory
    function createModule(address avatar, bytes32 salt) external returns (address module) {
        module = Clones.cloneDeterministic(_implementation, _cloneSalt(avatar, salt));
        IAgentTreasuryModule(module).initialize(avatar);
        emit ModuleCreated(avatar, module, salt);
    }

    /// @inheritdoc IAgentTreasuryModuleFactory
    function predictModuleAddress(address avatar, bytes32 salt) external view returns (address) {
        return Clones.predictDeterministicAddress(_implementation, _cloneSalt(avatar, salt));
    }

    function _cloneSalt(address avatar, bytes32 salt) private pure returns (bytes32) {
        return keccak256(abi.encode(avatar, salt));
    }
}
