// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryEvents} from "../interfaces/IAgentTreasuryModule.sol";
import {IAvatar} from "../interfaces/IAvatar.sol";

/**
 * @title AvatarOwned
 * @notice The module's link to its Safe: who the avatar (and owner) is, one-time initialisation, the pause flag and
 * the only place that asks the Safe to move anything.
 *
 * Zodiac's convention (v3): `avatar()` holds the funds and owns the module; `target()` receives the exec call. They
 * are the same Safe unless the owner puts a modifier (Delay, Roles) between them with {setTarget}. Balance checks
 * always read the avatar, and neither the avatar, the target nor this module is ever a valid intent target.
 *
 * WARNING: the avatar is trusted with everything. The module never holds funds; every transfer is a
 * `Call` (never a `DelegateCall`) that the Safe executes on the module's request, followed by a check of what
 * actually left the Safe.
 */
abstract contract AvatarOwned is IAgentTreasuryEvents {
    // Slot 0 holds what every submission reads, in one cold SLOAD, and travels the submission path as one word
    // (`live`, see {_requireLive}):
    // | avatar (160) | paused (8) | initialized (8) | treasuryLimitedAssets (16) | lastAgentId (32, AgentRegistry) |
    // | targetSet (8) |
    // The bit positions below are checked against the compiler's storage layout by test/unit/SlotZero.spec.ts.
    uint256 private constant _PAUSED_SHIFT = 160;
    uint256 private constant _TREASURY_LIMITED_SHIFT = 176;
    uint256 private constant _TARGET_SET_SHIFT = 224;

    address private _avatar;
    bool private _paused;
    bool private _initialized;
    /// @dev How many assets have a treasury-wide limit; while 0 no payment reads any treasury window.
    uint16 internal _treasuryLimitedAssets;
    /// @dev The last agent identity handed out (AgentRegistry).
    uint32 internal _lastAgentId;
    /// @dev True while `_target` differs from the avatar: only then does a submission read `_target`.
    bool private _targetSet;
    /// @dev The contract that receives exec calls when `_targetSet` (a Zodiac modifier in front of the avatar).
    address private _target;

    modifier onlyOwner() {
        if (msg.sender != _avatar) revert ModuleCallerNotOwner(msg.sender, _avatar);
        _;
    }

    /// @dev The implementation is marked initialised at construction, so only clones can ever be initialised.
    constructor() {
        _initialized = true;
    }

    /// @dev The body of {IAgentTreasuryAdmin-initialize}.
    function _initialize(address avatar_) internal {
        if (_initialized) revert ModuleAlreadyInitialized();
        if (avatar_ == address(0)) revert ModuleInvalidAvatar(avatar_);
        _avatar = avatar_;
        _initialized = true;
        emit ModuleInitialized(avatar_);
    }

    /// @dev The body of {IAgentTreasuryAdmin-extsload}.
    function _extsload(bytes32[] calldata slots) internal view returns (bytes32[] memory values) {
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

    /// @dev The body of {IAgentTreasuryAdmin-setTarget}.
    function _setTarget(address newTarget) internal {
        if (newTarget == address(0) || newTarget == address(this)) revert ModuleInvalidTarget(newTarget);
        address previous = _currentTarget();
        bool separate = newTarget != _avatar;
        _targetSet = separate;
        _target = separate ? newTarget : address(0);
        emit TargetSet(previous, newTarget);
    }

    /// @dev The body of {IAgentTreasuryAdmin-avatar}.
    function _currentAvatar() internal view returns (address) {
        return _avatar;
    }

    /// @dev The body of {IAgentTreasuryAdmin-target}.
    function _currentTarget() internal view returns (address) {
        return _targetSet ? _target : _avatar;
    }

    /// @dev The body of {IAgentTreasuryAdmin-paused}.
    function _isPaused() internal view returns (bool) {
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
     * @dev {_requireNotPaused} that also returns slot 0 as one word, `live`, which the submission path passes on
     * instead of reading the slot again (each warm read costs 100 gas): the avatar ({_avatarOf}), whether any
     * treasury-wide limit exists ({_hasTreasuryLimits}) and where exec calls go ({_execTarget}).
     */
    function _requireLive() internal view returns (uint256 live) {
        assembly ("memory-safe") {
            live := sload(_avatar.slot)
        }
        if ((live >> _PAUSED_SHIFT) & 0xff != 0) revert ModuleIsPaused();
    }

    /// @dev The avatar in a `live` word.
    function _avatarOf(uint256 live) internal pure returns (address) {
        return address(uint160(live));
    }

    /// @dev True when some asset has a treasury-wide limit; while false no payment reads any treasury window.
    function _hasTreasuryLimits(uint256 live) internal pure returns (bool) {
        return uint16(live >> _TREASURY_LIMITED_SHIFT) != 0;
    }

    /// @dev Where the exec call goes: the avatar, or the modifier set with {setTarget} (one more read only then).
    function _execTarget(uint256 live) internal view returns (address) {
        return (live >> _TARGET_SET_SHIFT) & 0xff != 0 ? _target : address(uint160(live));
    }

    /// @dev True for the avatar, the exec target and this module: never an agent key, never an allowed call's target.
    function _isReserved(address account) internal view returns (bool) {
        return account == _avatar || account == _currentTarget() || account == address(this);
    }

    /// @dev The avatar, the exec target and this module are never valid intent targets: an agent could otherwise
    /// reach the Safe's self-authorised functions, a modifier's configuration or the module's own.
    function _isForbiddenTarget(uint256 live, address intentTarget) internal view returns (bool) {
        if (intentTarget == address(uint160(live)) || intentTarget == address(this)) return true;
        return (live >> _TARGET_SET_SHIFT) & 0xff != 0 && intentTarget == _target;
    }

    /**
     * @dev Asks the exec target (the Safe, or a modifier in front of it) to make the call and checks the avatar's real
     * balance change of `asset` (and of ETH when a token call also sends ETH), so a modifier hop that takes more than
     * the intent is caught too. Reverts with the inner revert data when the call fails, so nothing is charged
     * and no nonce is consumed. Callers have written all their state before this external call.
     *
     * Parameter order is for the legacy code generator (coverage and the mutation sandbox compile this way): it
     * pushes arguments left to right and reaches only 16 stack slots, so the caller's deepest values go first.
     * Measured: a natural order with the decision passed as one memory struct compiles there only after splitting
     * {IntentRouter-_decide} in three, and costs a keyless payment 320 gas more in the IR build.
     */
    function _executeOnAvatar(
        uint256 value,
        uint256 live,
        address asset,
        uint256 charged,
        bool tokenTransfer,
        address callee,
        bytes calldata data
    ) internal {
        address safe = _avatarOf(live);
        uint256 assetBefore = _balanceOf(asset, safe);
        bool alsoEth = asset != address(0) && value != 0;
        uint256 ethBefore = alsoEth ? safe.balance : 0;
        _callThroughTarget(value, live, tokenTransfer, callee, data);
        _checkOutflow(asset, assetBefore, _balanceOf(asset, safe), charged);
        if (alsoEth) _checkOutflow(address(0), ethBefore, safe.balance, value);
    }

    /// @dev The exec call through {_execTarget} and the check of its answer. Its own function only to keep
    /// {_executeOnAvatar} within the legacy code generator's 16 reachable stack slots (v3's exec target pushed it
    /// past them); the IR build inlines it.
    function _callThroughTarget(
        uint256 value,
        uint256 live,
        bool tokenTransfer,
        address callee,
        bytes calldata data
    ) private {
        (bool success, bytes memory returnData) = _callAvatar(_execTarget(live), callee, value, data);
        _checkAnswer(success, returnData, tokenTransfer, callee);
    }

    /**
     * @dev Bubbles the inner revert data of a failed call (ExecutionFailed when there is none) and, for a token
     * transfer, accepts no return value (USDT-style) or exactly `true`.
     */
    function _checkAnswer(bool success, bytes memory returnData, bool tokenTransfer, address callee) private pure {
        if (!success) {
            if (returnData.length == 0) revert ExecutionFailed(callee);
            assembly ("memory-safe") {
                revert(add(returnData, 0x20), mload(returnData))
            }
        }
        if (tokenTransfer && returnData.length != 0) {
            bool returnedTrue = returnData.length == 32 && uint256(bytes32(returnData)) == 1;
            if (!returnedTrue) revert TokenTransferReturnedFalse(callee);
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
        address execTarget,
        address callee,
        uint256 value,
        bytes calldata data
    ) private returns (bool success, bytes memory returnData) {
        bytes4 selector = IAvatar.execTransactionFromModuleReturnData.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, selector)
            mstore(add(m, 0x04), callee)
            mstore(add(m, 0x24), value)
            mstore(add(m, 0x44), 0x80) // offset of `data`
            mstore(add(m, 0x64), 0) // Operation.Call: never a delegatecall
            mstore(add(m, 0x84), data.length)
            calldatacopy(add(m, 0xa4), data.offset, data.length)
            mstore(add(add(m, 0xa4), data.length), 0) // zero padding of the last word
            let size := add(0xa4, and(add(data.length, 0x1f), not(0x1f)))
            if iszero(call(gas(), execTarget, 0, m, size, 0, 0)) {
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
