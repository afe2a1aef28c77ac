// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IntentPolicy} from "./IntentPolicy.sol";
import {IntentRecord} from "../libraries/IntentRecordWord.sol";

/**
 * @title EscalationQueue
 * @notice The co-signed, timelocked path for intents above the auto tier (or proposed for review).
 *
 * Promise 3: a queued intent executes only with `threshold` approvals of current co-signers, not before its eta,
 * never at or after `eta + gracePeriod`, never after cancellation. Approvals are for the intentId, which commits to
 * every field of the intent, so approvals of one intent are worthless for a modified one (blind-signing defence).
 * There is no first-in-first-out queue: each intent runs on its own, so a stuck one never blocks another.
 *
 * On-chain approvals are a bitmap over co-signer indices kept in the intent's record, stamped with the co-signer
 * set's era. Any change of membership starts a new era, so approvals of a removed co-signer stop counting at once
 * and never revive; an approval costs one rewrite of the record instead of a fresh slot. Off-chain
 * `CosignerApproval` signatures name the era too (v3), so they die with the on-chain approvals.
 */
abstract contract EscalationQueue is IntentPolicy {
    uint256 internal constant MAX_COSIGNERS = 20;

    // Slot layout: | era (16) | threshold (8) |, read by approve and executeQueued.
    uint16 private _cosignerEra;
    uint8 private _threshold;
    address[] private _cosignerList;
    /// @dev Index in `_cosignerList` plus one; 0 for non-members.
    mapping(address cosigner => uint8 indexPlusOne) private _cosignerIndex;

    /// @dev The body of {IAgentTreasuryAdmin-setCosigners}.
    function _setCosigners(address[] calldata members, uint256 newThreshold) internal {
        uint256 count = members.length;
        if (count > MAX_COSIGNERS) revert CosignerSetTooLarge(count, MAX_COSIGNERS);
        if (newThreshold == 0 || newThreshold > count) revert CosignerThresholdInvalid(newThreshold, count);
        address[] memory previous = _cosignerList;
        bool changed = previous.length != count;
        for (uint256 i; i < previous.length; ++i) {
            delete _cosignerIndex[previous[i]];
            if (!changed && previous[i] != members[i]) changed = true;
        }
        for (uint256 i; i < count; ++i) {
            address member = members[i];
            if (member == address(0) || _cosignerIndex[member] != 0) revert CosignerInvalid(member);
            // i < MAX_COSIGNERS = 20, so i + 1 fits in 8 bits.
            _cosignerIndex[member] = uint8(i + 1);
        }
        if (changed) {
            uint16 era = _cosignerEra;
            if (era == type(uint16).max) revert CosignerEraExhausted(era);
            // A new era voids every pending on-chain approval: bit i may now stand for someone else.
            _cosignerEra = era + 1;
            _cosignerList = members;
        }
        _threshold = uint8(newThreshold);
        emit CosignersSet(members, newThreshold);
    }

    /// @dev The body of {IAgentTreasuryEntry-approve}.
    function _approve(bytes32 intentId) internal {
        uint256 index = _cosignerIndex[msg.sender];
        if (index == 0) revert CosignerUnknown(msg.sender);
        IntentRecord storage r = _intents[intentId];
        Status status = _statusOf(r);
        if (status != Status.Queued) revert IntentUnexpectedStatus(intentId, status, _stateBit(Status.Queued));
        uint16 era = _cosignerEra;
        uint256 bits = r.approvalEra == era ? r.approvals : 0;
        uint256 bit = 1 << (index - 1);
        if (bits & bit != 0) revert CosignerAlreadyApproved(intentId, msg.sender);
        // bits | bit < 2^20: indices are below MAX_COSIGNERS.
        (r.approvals, r.approvalEra) = (uint24(bits | bit), era);
        emit IntentApproved(intentId, msg.sender);
    }

    /// @dev The body of {IAgentTreasuryAdmin-cancel}.
    function _cancel(bytes32 intentId) internal {
        IntentRecord storage r = _intents[intentId];
        Status status = _statusOf(r);
        if (status != Status.Queued) revert IntentUnexpectedStatus(intentId, status, _stateBit(Status.Queued));
        bool authorised =
            _isGuardianOrOwner(msg.sender) ||
                _cosignerIndex[msg.sender] != 0 ||
                msg.sender == _keyOf(r.agentId, r.epoch);
        if (!authorised) revert CancelNotAuthorized(intentId, msg.sender);
        r.status = Status.Cancelled;
        emit IntentCancelled(intentId, msg.sender);
    }

    /// @dev The body of {IAgentTreasuryAdmin-cosigners}.
    function _cosigners() internal view returns (address[] memory) {
        return _cosignerList;
    }

    /// @dev The body of {IAgentTreasuryAdmin-threshold}.
    function _currentThreshold() internal view returns (uint256) {
        return _threshold;
    }

    /// @dev The body of {IAgentTreasuryAdmin-hasApproved}.
    function _hasApproved(bytes32 intentId, address cosigner) internal view returns (bool) {
        uint256 index = _cosignerIndex[cosigner];
        return index != 0 && (_validApprovals(_intents[intentId]) >> (index - 1)) & 1 != 0;
    }

    /// @dev The body of {IAgentTreasuryAdmin-intent}.
    function _intent(
        bytes32 intentId
    ) internal view returns (address agent, uint48 eta, uint256 approvals, Status status) {
        IntentRecord memory r = _intents[intentId];
        status = _statusOf(r);
        if (r.agentId == 0) return (address(0), 0, 0, status);
        return (_keyOf(r.agentId, r.epoch), r.eta, _popcount(_validApprovals(r)), status);
    }

    // ------------------------------------------------------------------ internal

    /// @dev A `CosignerApproval` signature names this era, so a removed co-signer's signatures stay void if it is
    /// added again, like its on-chain approvals (v3).
    function _currentCosignerEra() internal view override returns (uint16) {
        return _cosignerEra;
    }

    /**
     * @dev Counts approvals of current co-signers: the record's on-chain approvals of this era plus `signatures`
     * (strictly ascending signers, each a current co-signer with a valid EIP-712 `CosignerApproval`, EOA or
     * ERC-1271); a signer who also approved on-chain counts once. Reverts naming the first bad signer, or with the
     * count and the threshold when too few.
     */
    function _requireApprovals(
        bytes32 intentId,
        IntentRecord memory r,
        CosignerSignature[] calldata signatures
    ) internal view {
        uint256 required = _threshold;
        // Before the owner names any co-signer nothing queued can run: one approval is needed and none can exist.
        if (required == 0) required = 1;
        uint256 bits = _validApprovals(r);
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = signatures[i].signer;
            if (signer <= previous) revert CosignerSignaturesUnordered(previous, signer);
            previous = signer;
            uint256 index = _cosignerIndex[signer];
            if (index == 0) revert CosignerUnknown(signer);
            if (!_isCosignerSignature(signer, intentId, signatures[i].signature)) {
                revert CosignerSignatureInvalid(signer, intentId);
            }
            bits |= 1 << (index - 1);
        }
        uint256 counted = _popcount(bits);
        if (counted < required) revert ApprovalsInsufficient(intentId, counted, required);
    }

    /// @dev The record's approval bitmap if it belongs to the current co-signer era, else nothing.
    function _validApprovals(IntentRecord memory r) private view returns (uint256) {
        return r.approvalEra == _cosignerEra ? r.approvals : 0;
    }

    function _popcount(uint256 bits) private pure returns (uint256 count) {
        for (; bits != 0; bits &= bits - 1) ++count;
    }
}
