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

    /**
     * @dev What the module's payment path does with a spend: the check reads the header with the expired entries
     * dropped ({SlidingWindow-evicted}), the charge records into that header ({SlidingWindow-recordAt}).
     */
    function checkThenRecord(uint256 amount) external {
        _window.recordAt(_window.evicted(block.timestamp), amount, block.timestamp);
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

    /// @dev The header and the entries (SlidingWindow.CAPACITY, 8), in storage order.
    function words() external view returns (uint256[9] memory all) {
        all[0] = _window.header;
        for (uint256 i; i < SlidingWindow.CAPACITY; ++i) all[i + 1] = _window.entries[i];
    }

    function entry(uint256 index) external view returns (uint256) {
        return _window.entries[index];
    }
}
