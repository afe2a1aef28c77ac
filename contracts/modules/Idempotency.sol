// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgentWord} from "../libraries/AgentWord.sol";
import {IntentRecord, IntentRecordWord} from "../libraries/IntentRecordWord.sol";
import {IntentVerifier} from "./IntentVerifier.sol";

/**
 * @title Idempotency
 * @notice The intent ledger: the lifecycle record of every intent that was queued, denied or carried an
 * idempotency key, and the binding of each `(agent, key)` to one payload forever (Promise 2).
 *
 * A keyed payment writes two fresh slots: the key slot (the original intentId) and the intent record, which
 * packs the status with an 80-bit commitment to the payload. Keyless auto-executed intents write no record at all
 * (SPEC section 5): their event and their consumed nonce are their record.
 */
abstract contract Idempotency is IntentVerifier {
    mapping(bytes32 intentId => IntentRecord) internal _intents;
    mapping(uint32 id => mapping(bytes32 key => bytes32 intentId)) private _keys;

    /// @dev The body of {IAgentTreasuryAdmin-idempotencyRecord}.
    function _idempotencyRecord(
        address agent,
        bytes32 key
    ) internal view returns (bytes32 intentId, bytes32 payloadHash) {
        intentId = _keys[_agents[agent].id][key];
        if (intentId != bytes32(0)) {
            payloadHash = bytes32(uint256(_intents[intentId].payloadTag) << IntentRecordWord.PAYLOAD_TAG);
        }
    }

    /// @dev The body of {IAgentTreasuryAdmin-intentStatus}.
    function _intentStatus(bytes32 intentId) internal view returns (Status) {
        return _statusOf(_intents[intentId]);
    }

    /**
     * @dev Binds `(id, key)` to `intentId` unless the key is bound already (Promise 2). Returns the original intentId
     * when the key is bound to a payload with the same tag: a replay, which the caller returns without doing anything
     * new. Reverts {IdempotencyKeyConflict} when it is bound to another payload. The binding is written before the
     * outcome is decided because every outcome of a keyed intent binds its key; a later revert undoes it.
     */
    function _bindKey(
        uint32 id,
        address agent,
        bytes32 key,
        uint80 tag,
        bytes32 intentId
    ) internal returns (bytes32 original) {
        mapping(bytes32 key => bytes32 intentId) storage keys = _keys[id];
        original = keys[key];
        if (original == bytes32(0)) keys[key] = intentId;
        else if (_intents[original].payloadTag != tag) revert IdempotencyKeyConflict(agent, key, original);
    }

    /**
     * @dev Writes the record of a new intent; its key, if any, was bound by {_bindKey}. The caller skips keyless
     * auto-executed intents, which are not recorded. `tag` is the payload tag of a keyed intent (zero without a key).
     */
    function _record(
        bytes32 intentId,
        uint80 tag,
        AgentWord agentWord,
        Status status,
        uint48 eta,
        uint32 gracePeriod
    ) internal {
        IntentRecordWord.store(
            _intents[intentId],
            IntentRecordWord.pack(status, eta, gracePeriod, agentWord.id(), agentWord.epoch(), tag)
        );
    }

    /**
     * @dev The status as the world sees it: a queued intent past its grace period is `Expired`; one whose agent
     * activation ended (removed, rotated out) is `Cancelled`.
     */
    function _statusOf(IntentRecord memory r) internal view returns (Status) {
        if (r.status != Status.Queued) return r.status;
        if (_epochOf(r.agentId) != r.epoch) return Status.Cancelled;
        if (block.timestamp >= uint256(r.eta) + r.gracePeriod) return Status.Expired;
        return Status.Queued;
    }

    /// @dev Bitmap with the bit of `status` set, for {IntentUnexpectedStatus}.
    function _stateBit(Status status) internal pure returns (uint256) {
        return 1 << uint8(status);
    }
}
