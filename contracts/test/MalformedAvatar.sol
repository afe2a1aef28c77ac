// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @title MalformedAvatar
 * @notice Test double of an avatar whose `execTransactionFromModuleReturnData` answers with whatever raw bytes the
 * test set, without making the call. It lets the tests check that the module decodes the Safe's answer defensively
 * (`_callAvatar`): an answer no Safe could give is a failed call, never a success.
 */
contract MalformedAvatar {
    bytes private _answer;

    receive() external payable {}

    /// @notice Sets the raw bytes returned by every later `execTransactionFromModuleReturnData`.
    function setAnswer(bytes calldata answer) external {
        _answer = answer;
    }

    /// @notice Calls `target` as this avatar (to configure a module it owns).
    function exec(address target, bytes calldata data) external {
        (bool ok, bytes memory ret) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    /// @notice Returns the configured raw answer, whatever was asked.
    function execTransactionFromModuleReturnData(
        address,
        uint256,
        bytes calldata,
        uint8
    ) external view returns (bytes memory) {
        bytes memory answer = _answer;
        assembly ("memory-safe") {
            return(add(answer, 0x20), mload(answer))
        }
    }
}
