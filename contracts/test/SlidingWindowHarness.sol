// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SlidingWindow} from "../libraries/SlidingWindow.sol";

/**
 * @dev One SlidingWindow exposed directly, for library-level tests of orders of calls the module never makes (the
 * module always sets a window's length before it records the first spend). Test only, never deployed.
 */
contract SlidingWindowHarness {
    using SlidingWindow for SlidingWindow.Window;

    SlidingWindow.Window private _window;

    function setLength(uint32 newLength) external {
        _window.setLength(newLength);
    }

    function record(uint256 amount) external {
        _window.record(amount, block.timestamp);
    }

    /// @dev Several spends in one transaction, so in the same second (as a batch of payments records them).
    function recordMany(uint256[] calldata amounts) external {
        for (uint256 i; i < amounts.length; ++i) _window.record(amounts[i], block.timestamp);
    }

    function header() external view returns (uint256) {
        return _window.header;
    }

    function spent() external view returns (uint256) {
        return _window.spent(block.timestamp);
    }

    function length() external view returns (uint32) {
        return _window.length();
    }

    function entry(uint256 index) external view returns (uint256) {
        return _window.entries[index];
    }
}
