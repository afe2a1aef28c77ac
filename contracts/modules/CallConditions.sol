// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IntentCalldata} from "../libraries/IntentCalldata.sol";
import {EmergencyControls} from "./EmergencyControls.sol";

/**
 * @title CallConditions
 * @notice Conditions on the arguments of an allowed call (v3), so that an agent may call a DEX router's swap with
 * the output pinned to the Safe and the input charged to its limits, instead of all or nothing.
 *
 * A condition tests one 32-byte argument word after the selector: equal to a value, equal to the avatar, at most
 * or at least a value (unsigned), or `ChargeAs`: the word is an amount of an asset, charged to the agent's limits
 * of that asset like a payment ({IntentPolicy} turns it into the call's spend, {SpendingLimits} decides the tier,
 * and {AvatarOwned-_executeOnAvatar} checks afterwards that the Safe's balance of the asset fell by at most the
 * charge). Fixed words suit static arguments and static tuples, which is what routers take; a dynamic argument's
 * word is only its offset, so conditions cannot reach into bytes, strings or arrays (a multi-hop `path`).
 *
 * WARNING: conditions narrow what the owners allowed; they do not make a call safe by themselves. `ChargeAs`
 * charges the asset the owners named, so the argument that says which asset the call spends (a swap's `tokenIn`)
 * must be pinned with `EqualTo` as well, and the router needs a bounded allowance from the Safe (an owners'
 * transaction), never an approval by the agent.
 *
 * Storage: the conditions of a call live in a fixed array of {MAX_CALL_CONDITIONS} per (agent identity, target,
 * selector), and their count in the call's slot in {AgentRegistry} beside its `allowed` flag, so an allowed call
 * without conditions reads nothing more than before. Entries at or past the count are stale and never read.
 */
abstract contract CallConditions is EmergencyControls {
    /// @dev Conditions per call: bounds the work of a submission (two warm-or-cold slots each).
    uint256 internal constant MAX_CALL_CONDITIONS = 16;

    /// @dev Each condition takes two slots: | word (16) | op (8) | and `value`.
    mapping(uint32 id => mapping(address target => mapping(bytes4 selector => Condition[MAX_CALL_CONDITIONS])))
        private _callConditions;

    /// @dev The body of {IAgentTreasuryAdmin-setCallConditions}.
    function _setCallConditions(
        address agent,
        address target,
        bytes4 selector,
        Condition[] calldata conditions
    ) internal {
        uint32 id = _requireActive(agent);
        if (_isReserved(target)) revert TargetForbidden(target);
        // A token transfer is always a payment (SPEC section 5): conditions on it would never be read.
        if (selector == IntentCalldata.TRANSFER) revert CallConditionsOnPayment(target, selector);
        uint256 count = conditions.length;
        if (count > MAX_CALL_CONDITIONS) revert CallConditionsTooMany(count, MAX_CALL_CONDITIONS);
        Condition[MAX_CALL_CONDITIONS] storage stored = _callConditions[id][target][selector];
        uint256 charging = type(uint256).max;
        for (uint256 i; i < count; ++i) {
            Condition calldata c = conditions[i];
            if (c.op == Op.EqualToAvatar && c.value != bytes32(0)) revert CallConditionInvalid(i, c.op, c.value);
            if (c.op == Op.ChargeAs) {
                // A token's address: ETH leaves a Safe through a call only as its `value`, which is charged anyway.
                uint256 asset = uint256(c.value);
                if (asset == 0 || asset > type(uint160).max) revert CallConditionInvalid(i, c.op, c.value);
                if (charging != type(uint256).max) revert CallConditionChargedTwice(charging, i);
                charging = i;
            }
            stored[i] = c;
        }
        // count <= MAX_CALL_CONDITIONS = 16 fits in 8 bits.
        _setConditionCount(id, target, selector, uint8(count));
        emit CallConditionsSet(agent, target, selector, conditions);
    }

    /**
     * @dev Whether the arguments in `data` meet the conditions of identity `id`'s call (callee, selector), and what a
     * `ChargeAs` condition charges: `asset` (zero when none) and `amount`. A word beyond the end of `data` fails its
     * condition: a short call is denied, never read past its end. Called only for a call with conditions; it reads
     * their count again (a warm read) so that its caller keeps one stack slot less, which the legacy code generator
     * needs there.
     */
    function _meetsCallConditions(
        address avatar,
        uint32 id,
        address callee,
        bytes4 selector,
        bytes calldata data
    ) internal view returns (bool met, address asset, uint256 amount) {
        Condition[MAX_CALL_CONDITIONS] storage conditions = _callConditions[id][callee][selector];
        (, uint256 count) = _callRule(id, callee, selector);
        for (uint256 i; i < count; ++i) {
            Condition storage c = conditions[i];
            Op op = c.op;
            // Word w spans bytes [4 + 32w, 36 + 32w) of the calldata; w < 2^16, so no overflow.
            uint256 end = 36 + uint256(c.word) * 32;
            if (data.length < end) return (false, address(0), 0);
            uint256 arg = uint256(bytes32(data[end - 32:end]));
            if (op == Op.EqualToAvatar) {
                if (arg != uint160(avatar)) return (false, address(0), 0);
                continue;
            }
            uint256 value = uint256(c.value);
            if (op == Op.ChargeAs) {
                // Checked at setting: a non-zero token address, in at most one condition.
                (asset, amount) = (address(uint160(value)), arg);
                continue;
            }
            bool failed;
            if (op == Op.EqualTo) failed = arg != value;
            else if (op == Op.LessOrEqual) failed = arg > value;
            else failed = arg < value; // GreaterOrEqual
            if (failed) return (false, address(0), 0);
        }
        return (true, asset, amount);
    }
}
