// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule} from "../interfaces/IAgentTreasuryModule.sol";
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
    /**
     * @dev One slot per recorded intent:
     * | status (8) | eta (48) | gracePeriod (32) | agentId (32) | epoch (16) | approvals (24) | approvalEra (16) |
     * | payloadTag (80) |
     * `epoch` is the agent's activation in which the intent was recorded; once the agent is removed or rotated the
     * epoch moves on and a queued intent reads as `Cancelled`. `approvals` is a bitmap over co-signer indices, valid
     * only while `approvalEra` is the co-signer set's current era (EscalationQueue). `payloadTag` is the first 80
     * bits of the payload hash: a different payload under the same key is caught unless its hash collides in those
     * bits, and even then it never executes (it reads as a replay of the original).
     */
    struct IntentRecord {
        Status status;
        uint48 eta;
        uint32 gracePeriod;
        uint32 agentId;
        uint16 epoch;
        uint24 approvals;
        uint16 approvalEra;
        uint80 payloadTag;
    }

    mapping(bytes32 intentId => IntentRecord) internal _intents;
    mapping(uint32 id => mapping(bytes32 key => bytes32 intentId)) private _keys;

    /// @inheritdoc IAgentTreasuryModule
    function idempotencyRecord(
        address agent,
        bytes32 key
    ) external view returns (bytes32 intentId, bytes32 payloadHash) {
        intentId = _keys[_agents[agent].id][key];
        if (intentId != bytes32(0)) payloadHash = bytes32(uint256(_intents[intentId].payloadTag) << 176);
    }

    /// @inheritdoc IAgentTreasuryModule
    function intentStatus(bytes32 intentId) public view returns (Status) {
        return _statusOf(_intents[intentId]);
    }

    /// @dev The payload commitment of an intent: `keccak256(abi.encode(target, value, keccak256(data)))`.
    function _payloadHash(Intent calldata intent) internal pure returns (bytes32) {
        return keccak256(abi.encode(intent.target, intent.value, keccak256(intent.data)));
    }

    /**
     * @dev Looks up `(id, key)`. Returns the original intentId when the key is bound to the same payload, zero when
     * the key is unused; reverts {IdempotencyKeyConflict} when it is bound to another payload.
     */
    function _replayOf(uint32 id, Intent calldata intent) internal view returns (bytes32 original) {
        original = _keys[id][intent.idempotencyKey];
        if (original == bytes32(0)) return original;
        if (_intents[original].payloadTag != _tag(_payloadHash(intent))) {
            revert IdempotencyKeyConflict(intent.agent, intent.idempotencyKey, original);
        }
    }

    /**
     * @dev Writes the record of a new intent and binds its key (if any). Keyless executed intents are not
     * recorded.
     */
    function _record(
        bytes32 intentId,
        Intent calldata intent,
        AgentRecord memory rec,
        Status status,
        uint48 eta,
        uint32 gracePeriod
    ) internal {
        bool keyed = intent.idempotencyKey != bytes32(0);
        if (status == Status.Executed && !keyed) return;
        _intents[intentId] = IntentRecord({
            status: status,
            eta: eta,
            gracePeriod: gracePeriod,
            agentId: rec.id,
            epoch: rec.epoch,
            approvals: 0,
            approvalEra: 0,
            payloadTag: keyed ? _tag(_payloadHash(intent)) : 0
        });
        if (keyed) _keys[rec.id][intent.idempotencyKey] = intentId;
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

    function _tag(bytes32 payloadHash) private pure returns (uint80) {
        return uint80(uint256(payloadHash) >> 176);
    }
}
