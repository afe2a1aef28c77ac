// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule} from "../interfaces/IAgentTreasuryModule.sol";
import {IAvatar} from "../interfaces/IAvatar.sol";

/**
 * @title AvatarOwned
 * @notice The module's link to its Safe: who the avatar (and owner) is, one-time initialisation, the pause flag and
 * the only place that asks the Safe to move anything.
 *
 * WARNING: the avatar is trusted with everything. The module never holds funds; every transfer is a
 * `Call` (never a `DelegateCall`) that the Safe executes on the module's request, followed by a check of what
 * actually left the Safe.
 */
abstract contract AvatarOwned is IAgentTreasuryModule {
    // Slot 0 holds what every submission reads, in one cold SLOAD:
    // | avatar (160) | paused (8) | initialized (8) | treasuryLimitedAssets (16) | lastAgentId (32, AgentRegistry) |
    address private _avatar;
    bool private _paused;
    bool private _initialized;
    /// @dev How many assets have a treasury-wide limit; while 0 no payment reads any treasury window.
    uint16 internal _treasuryLimitedAssets;
    /// @dev The last agent identity handed out (AgentRegistry).
    uint32 internal _lastAgentId;

    modifier onlyOwner() {
        if (msg.sender != _avatar) revert ModuleCallerNotOwner(msg.sender, _avatar);
        _;
    }

    /// @dev The implementation is marked initialised at construction, so only clones can ever be initialised.
    constructor() {
        _initialized = true;
    }

    /// @inheritdoc IAgentTreasuryModule
    function initialize(address avatar_) external {
        if (_initialized) revert ModuleAlreadyInitialized();
        if (avatar_ == address(0)) revert ModuleInvalidAvatar(avatar_);
        _avatar = avatar_;
        _initialized = true;
        emit ModuleInitialized(avatar_);
    }

    /// @inheritdoc IAgentTreasuryModule
    function extsload(bytes32[] calldata slots) external view returns (bytes32[] memory values) {
        values = new bytes32[](slots.length);
        for (uint256 i; i < slots.length; ++i) {
            bytes32 slot = slots[i];
            bytes32 value;
            assembly ("memory-safe") {
                value := sload(slot)
            }
            values[i] = value;
        }
    }

    /// @inheritdoc IAgentTreasuryModule
    function avatar() public view returns (address) {
        return _avatar;
    }

    /// @inheritdoc IAgentTreasuryModule
    function paused() public view returns (bool) {
        return _paused;
    }

    function _setPaused(bool value) internal {
        _paused = value;
    }

    /// @dev Reverts unless the module is live. Promise 4: nothing moves while paused.
    function _requireNotPaused() internal view {
        if (_paused) revert ModuleIsPaused();
    }

    /**
     * @dev Asks the Safe to make the call and checks the Safe's real balance change of `asset` (and of ETH when a
     * token call also sends ETH). Reverts with the inner revert data when the call fails, so nothing is charged
     * and no nonce is consumed. Callers have written all their state before this external call.
     */
    function _executeOnAvatar(address asset, uint256 charged, bool tokenTransfer, Intent calldata intent) internal {
        address safe = _avatar;
        address target = intent.target;
        uint256 value = intent.value;
        uint256 assetBefore = _balanceOf(asset, safe);
        bool alsoEth = asset != address(0) && value != 0;
        uint256 ethBefore = alsoEth ? safe.balance : 0;
        (bool success, bytes memory returnData) = IAvatar(safe).execTransactionFromModuleReturnData(
            target,
            value,
            intent.data,
            IAvatar.Operation.Call
        );
        if (!success) {
            if (returnData.length == 0) revert ExecutionFailed(target);
            assembly ("memory-safe") {
                revert(add(returnData, 0x20), mload(returnData))
            }
        }
        if (tokenTransfer && returnData.length != 0) {
            // Tokens that return nothing (USDT-style) are accepted; anything returned must be exactly `true`.
            bool returnedTrue = returnData.length == 32 && uint256(bytes32(returnData)) == 1;
            if (!returnedTrue) revert TokenTransferReturnedFalse(target);
        }
        _checkOutflow(asset, assetBefore, _balanceOf(asset, safe), charged);
        if (alsoEth) _checkOutflow(address(0), ethBefore, safe.balance, value);
    }

    function _checkOutflow(address asset, uint256 before, uint256 afterwards, uint256 charged) private pure {
        // More leaving the Safe than was charged means the call did something the policy did not see.
        if (before > afterwards && before - afterwards > charged) {
            revert BalanceChangeExceedsCharge(asset, charged, before - afterwards);
        }
    }

    function _balanceOf(address asset, address account) private view returns (uint256) {
        if (asset == address(0)) return account.balance;
        (bool ok, bytes memory ret) = asset.staticcall(abi.encodeWithSelector(0x70a08231, account));
        if (!ok || ret.length < 32) revert TokenBalanceUnreadable(asset);
        return abi.decode(ret, (uint256));
    }
}
