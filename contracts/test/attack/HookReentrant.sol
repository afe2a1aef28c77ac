// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev A recipient with every callback a payment can trigger (ETH `receive`, ERC-777 `tokensReceived`, ERC-721
 * `onERC721Received`, ERC-1155 `onERC1155Received`/`onERC1155BatchReceived`). When armed, the next callback
 * makes one prepared call (to the module, or straight to the Safe) before accepting the payment.
 *
 * `bubble` true: a failed re-entry reverts the callback with the inner revert data (the whole payment fails).
 * `bubble` false: the failure is kept in `lastRevertData` and the callback accepts the payment. Test only.
 */
contract HookReentrant {
    address public reentryTarget;
    bytes private _call;
    bool public armed;
    bool public bubble;
    uint256 public attempts;
    bool public lastSucceeded;
    bytes public lastRevertData;
    bytes32 public lastHook;

    event Reentered(bytes32 indexed hook, bool success, bytes returnData);

    function arm(address target_, bytes calldata call_, bool bubble_) external {
        reentryTarget = target_;
        _call = call_;
        bubble = bubble_;
        armed = true;
    }

    receive() external payable {
        _reenter("receive");
    }

    function tokensReceived(address, address, address, uint256, bytes calldata, bytes calldata) external {
        _reenter("tokensReceived");
    }

    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        _reenter("onERC721Received");
        return this.onERC721Received.selector;
    }

    function onERC1155Received(address, address, uint256, uint256, bytes calldata) external returns (bytes4) {
        _reenter("onERC1155Received");
        return this.onERC1155Received.selector;
    }

    function onERC1155BatchReceived(
        address,
        address,
        uint256[] calldata,
        uint256[] calldata,
        bytes calldata
    ) external returns (bytes4) {
        _reenter("onERC1155BatchReceived");
        return this.onERC1155BatchReceived.selector;
    }

    function _reenter(bytes32 hook) private {
        lastHook = hook;
        if (!armed) return;
        armed = false;
        ++attempts;
        (bool success, bytes memory returnData) = reentryTarget.call(_call);
        lastSucceeded = success;
        emit Reentered(hook, success, returnData);
        if (success) return;
        lastRevertData = returnData;
        if (bubble) {
            assembly ("memory-safe") {
                revert(add(returnData, 0x20), mload(returnData))
            }
        }
    }
}
