// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title IAvatar
 * @notice The part of Zodiac's IAvatar (implemented by Safe 1.4.1 and 1.5.0, and by Zodiac modifiers) that the
 * module uses. The module only ever asks for `Operation.Call`: agents never get a delegatecall.
 */
interface IAvatar {
    enum Operation {
        Call,
        DelegateCall
    }

    function execTransactionFromModuleReturnData(
        address to,
        uint256 value,
        bytes memory data,
        Operation operation
    ) external returns (bool success, bytes memory returnData);
}
