// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule} from "../interfaces/IAgentTreasuryModule.sol";
import {IntentPolicy} from "./IntentPolicy.sol";

/**
 * @title EscalationQueue
 * @notice The co-signed, timelocked path for intents above the auto tier (or proposed for review).
 *
 * Promise 3: a queued intent executes only with `threshold` approvals of current co-signers, not before its eta,
 * never at or after `eta + gracePeriod`, never after cancellation. Approvals are for the intentId, which commits to
 * every field of the intent, so approvals of one intent are worthless for a modified one (blind-signing defence).
 * There is no first-in-first-out queue: each intent runs on its own, so a stuck one never blocks another.
 *
 * Co-signer membership carries the set version at which a member joined; an approval counts only while it was made
 * under the member's current membership, so removing a co-signer voids its approvals at once, and re-adding it
 * does not revive them.
 */
abstract contract EscalationQueue is IntentPolicy {
    uint256 internal constant MAX_COSIGNERS = 20;

    // Slot layout: | cosignerVersion (64) | threshold (8) |.
    uint64 private _cosignerVersion;
    uint8 private _threshold;
    address[] private _cosignerList;
    mapping(address cosigner => uint64 since) private _memberSince;
    mapping(bytes32 intentId => mapping(address cosigner => uint64 since)) private _approvals;

    /// @inheritdoc IAgentTreasuryModule
    function setCosigners(address[] calldata members, uint256 newThreshold) external onlyOwner {
        uint256 count = members.length;
        if (count > MAX_COSIGNERS) revert CosignerSetTooLarge(count, MAX_COSIGNERS);
        if (newThreshold == 0 || newThreshold > count) revert CosignerThresholdInvalid(newThreshold, count);
        uint64 version = _cosignerVersion + 1;
        for (uint256 i; i < count; ++i) {
            address member = members[i];
            if (member == address(0) || _contains(members[:i], member)) revert CosignerInvalid(member);
        }
        // Removed members lose their membership, and with it every pending approval.
        address[] memory previous = _cosignerList;
        for (uint256 i; i < previous.length; ++i) {
            if (!_contains(members, previous[i])) delete _memberSince[previous[i]];
        }
        // Members that stay keep their `since` (their approvals keep counting); new ones join at `version`.
        for (uint256 i; i < count; ++i) {
            if (_memberSince[members[i]] == 0) _memberSince[members[i]] = version;
        }
        _cosignerList = members;
        _cosignerVersion = version;
        _threshold = uint8(newThreshold);
        emit CosignersSet(members, newThreshold);
    }

    /// @inheritdoc IAgentTreasuryModule
    function approve(bytes32 intentId) external {
        uint64 since = _memberSince[msg.sender];
        if (since == 0) revert CosignerUnknown(msg.sender);
        IntentRecord memory r = _intents[intentId];
        Status status = _statusOf(r);
        if (status != Status.Queued) revert IntentUnexpectedStatus(intentId, status, _stateBit(Status.Queued));
        if (_approvals[intentId][msg.sender] == since) revert CosignerAlreadyApproved(intentId, msg.sender);
        _approvals[intentId][msg.sender] = since;
        emit IntentApproved(intentId, msg.sender);
    }

    /// @inheritdoc IAgentTreasuryModule
    function cancel(bytes32 intentId) external {
        IntentRecord storage r = _intents[intentId];
        Status status = _statusOf(r);
        if (status != Status.Queued) revert IntentUnexpectedStatus(intentId, status, _stateBit(Status.Queued));
        bool authorised =
            _isGuardianOrOwner(msg.sender) || _memberSince[msg.sender] != 0 || msg.sender == _keyOf(r.agentId, r.epoch);
        if (!authorised) revert CancelNotAuthorized(intentId, msg.sender);
        r.status = Status.Cancelled;
        emit IntentCancelled(intentId, msg.sender);
    }

    /// @inheritdoc IAgentTreasuryModule
    function cosigners() external view returns (address[] memory) {
        return _cosignerList;
    }

    /// @inheritdoc IAgentTreasuryModule
    function threshold() external view returns (uint256) {
        return _threshold;
    }

    /// @inheritdoc IAgentTreasuryModule
    function hasApproved(bytes32 intentId, address cosigner) public view returns (bool) {
        uint64 since = _memberSince[cosigner];
        return since != 0 && _approvals[intentId][cosigner] == since;
    }

    /// @inheritdoc IAgentTreasuryModule
    function intent(
        bytes32 intentId
    ) external view returns (address agent, uint48 eta, uint256 approvals, Status status) {
        IntentRecord memory r = _intents[intentId];
        status = _statusOf(r);
        if (r.agentId == 0) return (address(0), 0, 0, status);
        address[] memory members = _cosignerList;
        for (uint256 i; i < members.length; ++i) {
            if (hasApproved(intentId, members[i])) ++approvals;
        }
        return (_keyOf(r.agentId, r.epoch), r.eta, approvals, status);
    }

    // ------------------------------------------------------------------ internal

    /**
     * @dev Counts approvals of current co-signers: `signatures` (strictly ascending signers, each a valid
     * EIP-712 `CosignerApproval` by EOA or ERC-1271) plus on-chain approvals of members who did not sign.
     * Reverts naming the first bad signer, or with the count and the threshold when too few.
     */
    function _requireApprovals(bytes32 intentId, CosignerSignature[] calldata signatures) internal view {
        uint256 required = _threshold;
        // Before the owner names any co-signer nothing queued can run: one approval is needed and none can exist.
        if (required == 0) required = 1;
        uint256 counted;
        address previous;
        for (uint256 i; i < signatures.length; ++i) {
            address signer = signatures[i].signer;
            if (signer <= previous) revert CosignerSignaturesUnordered(previous, signer);
            previous = signer;
            if (_memberSince[signer] == 0) revert CosignerUnknown(signer);
            if (!_isCosignerSignature(signer, intentId, signatures[i].signature)) {
                revert CosignerSignatureInvalid(signer, intentId);
            }
            ++counted;
        }
        if (counted >= required) return;
        address[] memory members = _cosignerList;
        for (uint256 i; i < members.length && counted < required; ++i) {
            if (hasApproved(intentId, members[i]) && !_signed(members[i], signatures)) ++counted;
        }
        if (counted < required) revert ApprovalsInsufficient(intentId, counted, required);
    }

    function _signed(address member, CosignerSignature[] calldata signatures) private pure returns (bool) {
        for (uint256 i; i < signatures.length; ++i) {
            if (signatures[i].signer == member) return true;
        }
        return false;
    }

    function _contains(address[] calldata list, address account) private pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == account) return true;
        }
        return false;
    }
}
