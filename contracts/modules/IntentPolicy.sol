// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgentWord} from "../libraries/AgentWord.sol";
import {IntentCalldata} from "../libraries/IntentCalldata.sol";
import {CallConditions} from "./CallConditions.sol";

/**
 * @title IntentPolicy
 * @notice Decides what an authentic intent is allowed to do: the same checks at submission and, for a queued
 * intent, again at execution (limits at execution time apply).
 *
 * Checks run in the order of {DenyReason}: target, approval, asset, hard cap (the asset's, then for a USD-limited
 * agent the USD one), recipient (the rate limit is counted by the router); `MalformedCall` (appended in v3, so
 * earlier reasons keep their numbers) is checked right after the target. A token `transfer` is always a payment,
 * so an allowed call can never bypass limits; the avatar, the exec target and this module are never valid targets.
 *
 * Recipient rules apply to payments only: ETH sent along an allowed call goes to a target the owners allowed, so it
 * is charged to the ETH limits but not recipient-checked.
 *
 * An allowed call with conditions (v3, {CallConditions}) must meet them, else it is denied `TargetNotAllowed`; one
 * with a `ChargeAs` condition spends like a token payment: the charged argument of that asset, and its ETH `value`
 * beside it (as with a token transfer that sends ETH), with the same balance check after the call.
 */
abstract contract IntentPolicy is CallConditions {
    /// @dev What an intent spends and whether it may run without co-signers.
    struct Decision {
        DenyReason reason;
        bool fitsAuto; // within autoPerTx, the agent's window, the treasury window and the recipient mode
        bool tokenTransfer;
        address asset; // address(0) = ETH
        uint256 amount; // of `asset`
        address to; // the payment's recipient (the target for ETH and calls)
        uint256 extraEth; // ETH sent along a token transfer, charged too
        uint256 usd; // v3: the USD value to charge a USD-limited agent (8 decimals), or an unpriced mark (UsdLimits)
        uint256 window; // the header of the agent's `asset` window at this time, for the charge ({_checkSpend})
    }

    /**
     * @dev The decision for an intent of the agent in `agentWord`. A non-canonical `transfer` is its own denial with
     * its strike, never a bare revert (v3). A call without value or charge spends nothing; anything else needs a
     * limit for its asset.
     *
     * The allowed-call branch (v3: argument conditions and a `ChargeAs` charge) reads the call's rule here and calls
     * {_checkConditions} only for a call with conditions, which returns the charge into `to` and `amount` (unused by
     * a call: the legacy code generator has no stack slot left for new names there); a charged call then spends like
     * a token transfer that also sends ETH, taking the ETH value from `d.amount` rather than `value`. Measured in the
     * IR build, each alternative tried cost more: one helper for the whole branch taking `d` (a token payment +46
     * gas, an allowed call without conditions +454), one returning values (+4 and +176 to +287), keeping `value`
     * alive for the branch (+40 a payment). This way a payment and an unconditioned call cost what they did before
     * conditions (+7 and +9 gas).
     *
     * One body on purpose, so longer than solhint's 50 lines once conditions and the USD check were both in: the
     * 4-line shorter form (the ETH-along check writing `d.reason` directly, the USD check as one condition) cost 82
     * gas on every payment in the IR build (measured on the merged tree, keyless relayed payment 95,695 -> 95,777).
     */
    // solhint-disable-next-line function-max-lines
    function _evaluate(
        uint256 live,
        AgentWord agentWord,
        address callee,
        uint256 value,
        bytes calldata data
    ) internal view returns (Decision memory d) {
        uint32 id = agentWord.id();
        (d.to, d.amount) = (callee, value);
        if (_isForbiddenTarget(live, callee)) {
            d.reason = DenyReason.TargetNotAllowed;
            return d;
        }
        (IntentCalldata.Kind kind, bytes4 selector, address to, uint256 amount) = IntentCalldata.classify(data);
        if (kind == IntentCalldata.Kind.MalformedTransfer) {
            d.reason = DenyReason.MalformedCall;
            return d;
        }
        bool payment = kind != IntentCalldata.Kind.Call;
        if (kind == IntentCalldata.Kind.TokenPayment) {
            (d.tokenTransfer, d.asset, d.amount, d.to, d.extraEth) = (true, callee, amount, to, value);
        } else if (!payment) {
            (bool allowed, uint256 conditions) = _callRule(id, callee, selector);
            if (!allowed) {
                d.reason = _callNotAllowed(selector);
                return d;
            }
            if (conditions != 0) {
                (d.reason, to, amount) = _checkConditions(id, callee, selector, data);
                if (d.reason != DenyReason.None) return d;
                if (to != address(0)) (d.asset, d.amount, d.extraEth) = (to, amount, d.amount);
            }
        }
        d.fitsAuto = true;
        if (payment || d.amount != 0) {
            (d.reason, d.fitsAuto, d.window) = _checkSpend(live, id, d.asset, d.amount);
            if (d.reason != DenyReason.None) return d;
        }
        if (d.extraEth != 0) {
            (DenyReason ethReason, bool ethFits, ) = _checkSpend(live, id, address(0), d.extraEth);
            if (ethReason != DenyReason.None) {
                d.reason = ethReason;
                return d;
            }
            d.fitsAuto = d.fitsAuto && ethFits;
        }
        // v3: a USD-limited agent's spend must also fit its USD limit (AboveHardCap sits with the asset hard caps).
        if (agentWord.usdLimited()) {
            if (_usdDenies(id, d)) return d;
        }
        RecipientMode mode = agentWord.recipientMode();
        if (payment && mode != RecipientMode.Any && !_isRecipient(id, d.to)) {
            if (mode == RecipientMode.Allowlist) d.reason = DenyReason.RecipientNotAllowed;
            else d.fitsAuto = false; // EscalateUnknown: co-signers decide
        }
    }

    /// @dev Why a call that is not allowed is denied: approval-like selectors have their own reason.
    function _callNotAllowed(bytes4 selector) private pure returns (DenyReason) {
        return IntentCalldata.isApprovalLike(selector) ? DenyReason.ApprovalNotAllowed : DenyReason.TargetNotAllowed;
    }

    /**
     * @dev The argument conditions of identity `id`'s allowed call (v3): `TargetNotAllowed` unless the arguments meet
     * them all. Returns the asset and amount a `ChargeAs` condition charges (asset zero: none). A charge of zero needs
     * a limit for its asset too, as a payment of zero does; the caller's spend check reads only non-zero amounts, and
     * zero moves nothing, so it never waits for co-signers.
     */
    function _checkConditions(
        uint32 id,
        address callee,
        bytes4 selector,
        bytes calldata data
    ) private view returns (DenyReason reason, address asset, uint256 charged) {
        bool met;
        (met, asset, charged) = _meetsCallConditions(_currentAvatar(), id, callee, selector, data);
        if (!met) return (DenyReason.TargetNotAllowed, address(0), 0);
        // The treasury-wide limit (`live`) plays no part in whether the asset has a limit at all.
        if (asset != address(0) && charged == 0) (reason, , ) = _checkSpend(0, id, asset, 0);
    }

    /// @dev {_checkUsd} of the spend `d` describes, written into `d`; true when it denies the intent. Its own
    /// function keeps {_evaluate}'s stack within the legacy code generator's reach (coverage, mutation sandbox).
    function _usdDenies(uint32 id, Decision memory d) private view returns (bool) {
        bool usdFits;
        (d.reason, usdFits, d.usd) = _checkUsd(id, d.asset, d.amount, d.extraEth);
        d.fitsAuto = d.fitsAuto && usdFits;
        return d.reason != DenyReason.None;
    }
}
