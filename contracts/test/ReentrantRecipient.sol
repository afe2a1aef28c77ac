// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev An attacker that is paid by the treasury (ETH recipient) or called by it (allowed call target) and, while
 * the payment is in flight, re-enters the module with a call prepared in advance (for example `submit` of another
 * signed intent, or of the same one again). Test only, never deployed.
 *
 * With `swallow` false the inner failure is bubbled, so the whole outer submission reverts with it; with `swallow`
 * true the failure is recorded in `lastRevertData` and the outer payment is allowed to finish.
 */
contract ReentrantRecipient {
    address public immutable module;

    bytes private _reentry;
    bool public armed;
    bool public swallow;
    uint256 public attempts;
    bool public lastSucceeded;
    bytes public lastRevertData;

    event Reentered(bool success, bytes returnData);

    constructor(address module_) {
        module = module_;
    }

    /// @dev Prepares one re-entry: `call` is the calldata sent to the module during the next payment or hook.
    function arm(bytes calldata call, bool swallow_) external {
        _reentry = call;
        swallow = swallow_;
        armed = true;
    }

    function disarm() external {
        armed = false;
    }

    receive() external payable {
        _reenter();
    }

    /// @dev Entry point when the treasury calls this contract as an allowed call target.
    function hook() external payable {
        _reenter();
    }

    function _reenter() private {
        if (!armed) return;
        armed = false;
        ++attempts;
        (bool success, bytes memory returnData) = module.call(_reentry);
        lastSucceeded = success;
        emit Reentered(success, returnData);
        if (success) return;
        lastRevertData = returnData;
        if (!swallow) {
            assembly ("memory-safe") {
                revert(add(returnData, 0x20), mload(returnData))
            }
        }
    }
}
