// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @title FreeMemory
 * @notice Solidity's free memory pointer (`mload(0x40)`), read and set back. Solidity cannot express either; a
 * batch uses them to run every intent in the memory of one (memory costs grow with the square of its size, so a
 * batch of 100 would otherwise pay for 100 intents' allocations on every later one).
 */
library FreeMemory {
    /// @dev The free memory pointer now.
    function pointer() internal pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
        }
    }

    /// @dev Sets the free memory pointer back to `p`, read earlier by {pointer}. Only for a caller that reads nothing
    /// allocated since then (memory below `p` is untouched).
    function restore(uint256 p) internal pure {
        assembly ("memory-safe") {
            mstore(0x40, p)
        }
    }
}
