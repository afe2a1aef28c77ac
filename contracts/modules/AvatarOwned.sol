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
     * @dev {_requireNotPaused} that also returns the avatar. `_avatar` and `_paused` share slot 0, so this is one
     * SLOAD; the slot and offset arithmetic uses the compiler's own `.slot`/`.offset`, so a layout change can cost a
     * second read but never read the wrong bits.
     */
    function _requireLive() internal view returns (address safe) {
        uint256 isPaused;
        assembly ("memory-safe") {
            let word := sload(_avatar.slot)
            safe := and(shr(mul(_avatar.offset, 8), word), 0xffffffffffffffffffffffffffffffffffffffff)
            if iszero(eq(_paused.slot, _avatar.slot)) {
                word := sload(_paused.slot)
            }
            isPaused := and(shr(mul(_paused.offset, 8), word), 0xff)
        }
        if (isPaused != 0) revert ModuleIsPaused();
    }

    /**
     * @dev Asks the Safe to make the call and checks the Safe's real balance change of `asset` (and of ETH when a
     * token call also sends ETH). Reverts with the inner revert data when the call fails, so nothing is charged
     * and no nonce is consumed. Callers have written all their state before this external call.
     */
    function _executeOnAvatar(
        uint256 value,
        address safe,
        address asset,
        uint256 charged,
        bool tokenTransfer,
        address target,
        bytes calldata data
    ) internal {
        uint256 assetBefore = _balanceOf(asset, safe);
        bool alsoEth = asset != address(0) && value != 0;
        uint256 ethBefore = alsoEth ? safe.balance : 0;
        {
            (bool success, bytes memory returnData) = _callAvatar(safe, target, value, data);
            _checkAnswer(success, returnData, tokenTransfer, target);
        }
        _checkOutflow(asset, assetBefore, _balanceOf(asset, safe), charged);
        if (alsoEth) _checkOutflow(address(0), ethBefore, safe.balance, value);
    }

    /**
     * @dev Bubbles the inner revert data of a failed call (ExecutionFailed when there is none) and, for a token
     * transfer, accepts no return value (USDT-style) or exactly `true`.
     */
    function _checkAnswer(bool success, bytes memory returnData, bool tokenTransfer, address target) private pure {
        if (!success) {
            if (returnData.length == 0) revert ExecutionFailed(target);
            assembly ("memory-safe") {
                revert(add(returnData, 0x20), mload(returnData))
            }
        }
        if (tokenTransfer && returnData.length != 0) {
            bool returnedTrue = returnData.length == 32 && uint256(bytes32(returnData)) == 1;
            if (!returnedTrue) revert TokenTransferReturnedFalse(target);
        }
    }

    function _checkOutflow(address asset, uint256 before, uint256 afterwards, uint256 charged) private pure {
        // More leaving the Safe than was charged means the call did something the policy did not see.
        if (before > afterwards && before - afterwards > charged) {
            revert BalanceChangeExceedsCharge(asset, charged, before - afterwards);
        }
    }

    /**
     * @dev `IAvatar(safe).execTransactionFromModuleReturnData(target, value, data, Call)`, encoded by hand: the
     * calldata is copied once from the intent instead of through a memory copy and the ABI encoder, and the answer
     * `(bool success, bytes returnData)` is decoded with bounds checks against the real return size. A revert of
     * the Safe itself (for example a module that is not enabled) is bubbled as it is.
     */
    function _callAvatar(
        address safe,
        address target,
        uint256 value,
        bytes calldata data
    ) private returns (bool success, bytes memory returnData) {
        bytes4 selector = IAvatar.execTransactionFromModuleReturnData.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), target)
            mstore(add(m, 0x24), value)
            mstore(add(m, 0x44), 0x80) // offset of `data`
            mstore(add(m, 0x64), 0) // Operation.Call: never a delegatecall
            mstore(add(m, 0x84), data.length)
            calldatacopy(add(m, 0xa4), data.offset, data.length)
            mstore(add(add(m, 0xa4), data.length), 0) // zero padding of the last word
            let size := add(0xa4, and(add(data.length, 0x1f), not(0x1f)))
            if iszero(call(gas(), safe, 0, m, size, 0, 0)) {
                returndatacopy(m, 0, returndatasize())
                revert(m, returndatasize())
            }
            // (bool, bytes): head of two words, then the length and the bytes, all inside what was returned.
            let malformed := lt(returndatasize(), 0x60)
            if iszero(malformed) {
                returndatacopy(0x00, 0x00, 0x40)
                success := mload(0x00)
                let offset := mload(0x20)
                malformed := or(gt(success, 1), gt(offset, sub(returndatasize(), 0x20)))
                if iszero(malformed) {
                    returndatacopy(0x00, offset, 0x20)
                    let length := mload(0x00)
                    malformed := gt(length, sub(returndatasize(), add(offset, 0x20)))
                    if iszero(malformed) {
                        returnData := m
                        mstore(m, length)
                        returndatacopy(add(m, 0x20), add(offset, 0x20), length)
                        mstore(0x40, add(add(m, 0x20), and(add(length, 0x1f), not(0x1f))))
                    }
                }
            }
            // A malformed answer cannot come from a Safe: treat it as a failed call without data.
            if malformed {
                success := 0
                returnData := 0x60
            }
        }
    }

    function _balanceOf(address asset, address account) private view returns (uint256 amount) {
        if (asset == address(0)) return account.balance;
        bool ok;
        assembly ("memory-safe") {
            mstore(0x00, 0x70a08231) // balanceOf(address)
            mstore(0x20, account)
            // Two steps: Yul evaluates arguments right to left, so a one-line `and(staticcall(..), ..returndatasize())`
            // would read the size returned by the previous call.
            ok := staticcall(gas(), asset, 0x1c, 0x24, 0x00, 0x20)
            ok := and(ok, iszero(lt(returndatasize(), 0x20)))
            amount := mload(0x00)
        }
        if (!ok) revert TokenBalanceUnreadable(asset);
    }
}
