// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgentWord} from "../libraries/AgentWord.sol";
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

    /// @dev The body of {IAgentTreasuryAdmin-idempotencyRecord}.
    function _idempotencyRecord(
        address agent,
        bytes32 key
    ) internal view returns (bytes32 intentId, bytes32 payloadHash) {
        intentId = _keys[_agents[agent].id][key];
        if (intentId != bytes32(0)) payloadHash = bytes32(uint256(_intents[intentId].payloadTag) << 176);
    }

    /// @dev The body of {IAgentTreasuryAdmin-intentStatus}.
    function _intentStatus(bytes32 intentId) internal view returns (Status) {
        return _statusOf(_intents[intentId]);
    }

    /**
     * @dev The first 80 bits of the payload commitment `keccak256(abi.encode(target, value, dataHash))` with
     * `dataHash = keccak256(data)`: the part a record keeps.
     */
    function _payloadTag(address callee, uint256 value, bytes32 dataHash) internal pure returns (uint80) {
        bytes32 payloadHash;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, callee)
            mstore(add(m, 0x20), value)
            mstore(add(m, 0x40), dataHash)
            payloadHash := keccak256(m, 0x60)
        }
        return uint80(uint256(payloadHash) >> 176);
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
        // One SSTORE of the packed record (a struct assignment writes field by field). Bit positions follow
        // {IntentRecord}'s storage layout, first field lowest; approvals and approvalEra start at zero.
        uint256 word =
            uint256(status) |
                (uint256(eta) << 8) |
                (uint256(gracePeriod) << 56) |
                (uint256(agentWord.id()) << 88) |
                (uint256(agentWord.epoch()) << 120) |
                (uint256(tag) << 176);
        IntentRecord storage r = _intents[intentId];
        assembly ("memory-safe") {
            sstore(r.slot, word)
        }
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
