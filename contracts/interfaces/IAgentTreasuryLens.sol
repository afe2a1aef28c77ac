// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IAgentTreasuryTypes} from "./IAgentTreasuryModule.sol";

/**
 * @title IAgentTreasuryLens
 * @notice Read-only conveniences over any AgentTreasuryModule, kept out of the module to keep its code size
 * down. Everything here is derived from the module's storage through its `extsload`.
 */
interface IAgentTreasuryLens {
    /// @notice Denied intents counted in the agent's current strike window (0 when strikes are not limited).
    function strikes(address module, address agent) external view returns (uint256);

    /// @notice Intents counted in the agent's current rate window (0 when the rate is not limited).
    function rateCount(address module, address agent) external view returns (uint256);

    /// @notice The treasury-wide limit of `asset` and the auto-tier spend it counts now.
    function treasuryLimit(
        address module,
        address asset
    ) external view returns (uint128 perWindow, uint32 window, uint256 spent);

    /// @notice Total escalated (co-signed) spend of an agent in an asset, over all time.
    function escalatedSpent(address module, address agent, address asset) external view returns (uint256);

    function isAllowedCall(address module, address agent, address target, bytes4 selector) external view returns (bool);

    function isRecipient(address module, address agent, address recipient) external view returns (bool);

    /// @notice The conditions on an agent's (target, selector) call, in the order set (v3); empty when it has none.
    /// They apply whenever the call is allowed ({isAllowedCall}), and stay when it is forbidden.
    function callConditions(
        address module,
        address agent,
        address target,
        bytes4 selector
    ) external view returns (IAgentTreasuryTypes.Condition[] memory conditions);

    /**
     * @notice The auto-tier spends of an agent in an asset that still count now, oldest first: each `amounts[i]`
     * frees up at `releaseAt[i]` (its time plus the window). Merged entries carry the later time.
     */
    function spendEntries(
        address module,
        address agent,
        address asset
    ) external view returns (uint256[] memory releaseAt, uint256[] memory amounts);

    /// @notice An agent's USD limit (v3; zeros when it has none, or for an unknown, removed or rotated-out key).
    function usdLimit(address module, address agent) external view returns (IAgentTreasuryTypes.UsdLimit memory);

    /// @notice The USD price feed of an asset (address(0) = ETH), its maxAge and the asset's decimals as the module
    /// read them in `setPriceFeed` (v3; zeros when there is none).
    function priceFeed(
        address module,
        address asset
    ) external view returns (address feed, uint32 maxAge, uint8 assetDecimals);

    /// @notice The auto-tier USD spends of an agent (8 decimals) that still count now, oldest first, as
    /// {spendEntries} for an asset (v3).
    function usdSpendEntries(
        address module,
        address agent
    ) external view returns (uint256[] memory releaseAt, uint256[] memory amounts);
}
