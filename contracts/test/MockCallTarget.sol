// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev A protocol an agent may be allowed to call: one function that works (`ping`) and three that fail in the
 * three ways an inner call can fail (custom error, empty revert data, reason string). Test only, never deployed.
 */
contract MockCallTarget {
    uint256 public pings;
    uint256 public lastArg;

    event Pinged(address indexed caller, uint256 value, uint256 arg);

    error MockCallTargetFailure(uint256 code, address caller);

    function ping(uint256 arg) external payable {
        ++pings;
        lastArg = arg;
        emit Pinged(msg.sender, msg.value, arg);
    }

    function other() external payable {
        ++pings;
    }

    function fail(uint256 code) external payable {
        revert MockCallTargetFailure(code, msg.sender);
    }

    function failEmpty() external payable {
        assembly ("memory-safe") {
            revert(0, 0)
        }
    }

    function failReason() external payable {
        revert("MockCallTarget: refused");
    }
}
