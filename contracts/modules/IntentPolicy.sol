// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgentWord} from "../libraries/AgentWord.sol";
import {IntentCalldata} from "../libraries/IntentCalldata.sol";
import {EmergencyControls} from "./EmergencyControls.sol";

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
 */
abstract contract IntentPolicy is EmergencyControls {
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
    }

    function _evaluate(
        uint256 live,
        AgentWord agentWord,
        address callee,
        uint256 value,
        bytes calldata data
    ) internal view returns (Decision memory d) {
        uint32 id = agentWord.id();
        d.to = callee;
        d.amount = value;
        if (_isForbiddenTarget(live, callee)) {
            d.reason = DenyReason.TargetNotAllowed;
            return d;
        }
        (IntentCalldata.Kind kind, bytes4 selector, address to, uint256 amount) = IntentCalldata.classify(data);
        if (kind == IntentCalldata.Kind.MalformedTransfer) {
            // v3: a non-canonical `transfer` is its own denial with its strike, never a bare revert.
            d.reason = DenyReason.MalformedCall;
            return d;
        }
        bool payment = kind != IntentCalldata.Kind.Call;
        if (kind == IntentCalldata.Kind.TokenPayment) {
            (d.tokenTransfer, d.asset, d.amount, d.to, d.extraEth) = (true, callee, amount, to, value);
        } else if (!payment && !_isAllowedCall(id, callee, selector)) {
            d.reason =
                IntentCalldata.isApprovalLike(selector) ? DenyReason.ApprovalNotAllowed : DenyReason.TargetNotAllowed;
            return d;
        }
        d.fitsAuto = true;
        // A call without value spends nothing; anything else needs a limit for its asset.
        if (payment || d.amount != 0) {
            (d.reason, d.fitsAuto) = _checkSpend(live, id, d.asset, d.amount);
            if (d.reason != DenyReason.None) return d;
        }
        if (d.extraEth != 0) {
            (DenyReason ethReason, bool ethFits) = _checkSpend(live, id, address(0), d.extraEth);
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

    /// @dev {_checkUsd} of the spend `d` describes, written into `d`; true when it denies the intent. Its own
    /// function keeps {_evaluate}'s stack within the legacy code generator's reach (coverage, mutation sandbox).
    function _usdDenies(uint32 id, Decision memory d) private view returns (bool) {
        bool usdFits;
        (d.reason, usdFits, d.usd) = _checkUsd(id, d.asset, d.amount, d.extraEth);
        d.fitsAuto = d.fitsAuto && usdFits;
        return d.reason != DenyReason.None;
    }
}
