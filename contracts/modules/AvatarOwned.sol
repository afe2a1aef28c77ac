// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryEvents} from "../interfaces/IAgentTreasuryModule.sol";
import {StorageSlot} from "@openzeppelin/contracts/utils/StorageSlot.sol";
import {AvatarCall} from "../libraries/AvatarCall.sol";

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
    /// @dev Slot 0 by number: `_avatar` is the first state variable (SlotZero.spec checks it).
    bytes32 private constant _SLOT_ZERO = bytes32(0);

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
            values[i] = StorageSlot.getBytes32Slot(slots[i]).value;
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
        live = StorageSlot.getUint256Slot(_SLOT_ZERO).value;
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
        uint256 assetBefore = AvatarCall.balanceOf(asset, safe);
        bool alsoEth = asset != address(0) && value != 0;
        uint256 ethBefore = alsoEth ? safe.balance : 0;
        _callThroughTarget(value, live, tokenTransfer, callee, data);
        _checkOutflow(asset, assetBefore, AvatarCall.balanceOf(asset, safe), charged);
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
        (bool success, bytes memory returnData) = AvatarCall.execReturnData(_execTarget(live), callee, value, data);
        _checkAnswer(success, returnData, tokenTransfer, callee);
    }

    /**
     * @dev Bubbles the inner revert data of a failed call (ExecutionFailed when there is none) and, for a token
     * transfer, accepts no return value (USDT-style) or exactly `true`.
     */
    function _checkAnswer(bool success, bytes memory returnData, bool tokenTransfer, address callee) private pure {
        if (!success) {
            if (returnData.length == 0) revert ExecutionFailed(callee);
            AvatarCall.bubble(returnData);
        }
        if (tokenTransfer && returnData.length != 0) {
            bool returnedTrue = returnData.length == 32 && uint256(bytes32(returnData)) == 1;
            if (!returnedTrue) revert TokenTransferReturnedFalse(callee);
        }
    }

    function _checkOutflow(address asset, uint256 before, uint256 afterwards, uint256 charged) private pure {
        // More leaving the Safe than was charged means the call did something the policy did not see.
        if (before > afterwards) {
            // Unchecked, and safe: `before > afterwards`.
            uint256 outflow;
            unchecked {
                outflow = before - afterwards;
            }
            if (outflow > charged) revert BalanceChangeExceedsCharge(asset, charged, outflow);
        }
    }
}
