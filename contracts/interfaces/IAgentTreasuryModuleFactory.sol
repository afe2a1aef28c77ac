// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IAgentTreasuryModuleFactory
 * @notice Creates per-Safe module instances as EIP-1167 clones with CREATE2, so the same Safe and salt give the
 * same module address on every chain where the factory has the same address.
 */
interface IAgentTreasuryModuleFactory {
    /// @notice A module clone was created and initialised for `avatar`.
    event ModuleCreated(address indexed avatar, address indexed module, bytes32 salt);

    error FactoryImplementationInvalid(address implementation);

    /// @notice The module implementation every clone delegates to.
    function implementation() external view returns (address);

    /**
     * @notice Creates the module clone for `avatar` and initialises it in the same transaction, so nobody can
     * initialise it first. The clone's CREATE2 salt is `keccak256(abi.encode(avatar, salt))`: the address binds
     * the Safe.
     *
     * Requirements: no clone exists yet for (`avatar`, `salt`); `avatar` is not address(0).
     *
     * Emits {ModuleCreated} (and the module's `ModuleInitialized`).
     */
    function createModule(address avatar, bytes32 salt) external returns (address module);

    /// @notice The address {createModule} gives (or gave) for (`avatar`, `salt`).
    function predictModuleAddress(address avatar, bytes32 salt) external view returns (address);
}
