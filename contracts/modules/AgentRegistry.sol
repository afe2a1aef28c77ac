// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgentRecord, AgentStatus, AgentWord, AgentWordLib} from "../libraries/AgentWord.sol";
import {AvatarOwned} from "./AvatarOwned.sol";

/**
 * @title AgentRegistry
 * @notice Agents, their keys, their policy and their per-agent counters.
 *
 * An agent is an identity (`id`) reached through exactly one live key. What an agent accumulates (nonces of every
 * lane, idempotency records, spend history, strikes) belongs to the identity or moves with the key on rotation, so
 * rotating a key refreshes nothing (Promise 8), and removing an agent resets nothing (re-adding it never revives old
 * signatures: Promise 2). Each activation of a key opens a new `epoch`; a queued intent belongs to the epoch in
 * which it was queued and reads as cancelled once that epoch ends (removal or rotation).
 *
 * Storage is split by temperature: {AgentRecord} (per key) is read and written once per submission, as one word
 * ({AgentWord}) that the submission path updates on the stack; {AgentPolicy} (per identity) is read only to queue,
 * to deny, or when a rate limit is set.
 */
abstract contract AgentRegistry is AvatarOwned {
    /**
     * @dev The cold slot, one per identity (200 bits):
     * | escalationDelay (32) | gracePeriod (32) | maxIntentsPerWindow (16) | rateWindow (32) | maxStrikes (8) |
     * | strikeWindow (32) | strikeBucket (32) | strikePrev (8) | strikeCur (8) |
     */
    struct AgentPolicy {
        uint32 escalationDelay;
        uint32 gracePeriod;
        uint16 maxIntentsPerWindow;
        uint32 rateWindow;
        uint8 maxStrikes;
        uint32 strikeWindow;
        uint32 strikeBucket;
        uint8 strikePrev;
        uint8 strikeCur;
    }

    /**
     * @dev An allowed call's slot (16 bits): | allowed (8) | conditions (8) |. `conditions` is how many of the call's
     * argument conditions {CallConditions} keeps (v3); it sits beside `allowed` so that an allowed call without
     * conditions costs no read beyond this slot, and one with conditions no read of a length.
     */
    struct CallRule {
        bool allowed;
        uint8 conditions;
    }

    mapping(address key => AgentRecord) internal _agents;
    mapping(uint32 id => AgentPolicy) internal _policies;
    mapping(uint32 id => address key) private _currentKey;
    mapping(uint32 id => mapping(uint16 epoch => address key)) private _keyAt;
    mapping(uint32 id => mapping(address target => mapping(bytes4 selector => CallRule))) private _allowedCalls;
    mapping(uint32 id => mapping(address recipient => bool)) private _recipients;

    // ------------------------------------------------------------------ configuration

    /// @dev The body of {IAgentTreasuryAdmin-setAgent}.
    function _setAgent(address agent, AgentConfig calldata config) internal {
        if (agent == address(0) || _isReserved(agent)) revert AgentKeyInvalid(agent);
        if (config.gracePeriod == 0) revert AgentGracePeriodZero(agent);
        if (config.maxIntentsPerWindow != 0 && config.rateWindow == 0)
            revert AgentRateWindowZero(agent, config.maxIntentsPerWindow);
        if (config.maxStrikes != 0 && config.strikeWindow == 0) revert AgentStrikeWindowZero(agent, config.maxStrikes);
        if (config.validUntil != 0 && config.validUntil <= block.timestamp) {
            revert AgentValidUntilNotInFuture(agent, config.validUntil, block.timestamp);
        }
        AgentRecord memory rec = _agents[agent];
        if (rec.status == AgentStatus.Retired) revert AgentKeyRetired(agent);
        if (rec.status == AgentStatus.None) {
            rec.id = ++_lastAgentId;
            _currentKey[rec.id] = agent;
        }
        AgentPolicy memory policy = _policies[rec.id];
        if (rec.status != AgentStatus.Active) {
            // A new activation: queued intents of earlier activations stay dead.
            ++rec.epoch;
            _keyAt[rec.id][rec.epoch] = agent;
        }
        // Bucket widths follow the windows: a changed window restarts its count (an owner's decision).
        if (config.rateWindow != policy.rateWindow) (rec.rateBucket, rec.ratePrev, rec.rateCur) = (0, 0, 0);
        if (config.strikeWindow != policy.strikeWindow) {
            (policy.strikeBucket, policy.strikePrev, policy.strikeCur) = (0, 0, 0);
        }
        rec.validUntil = config.validUntil;
        rec.status = AgentStatus.Active;
        rec.recipientMode = config.recipientMode;
        rec.rateLimited = config.maxIntentsPerWindow != 0;
        _agents[agent] = rec;
        policy.escalationDelay = config.escalationDelay;
        policy.gracePeriod = config.gracePeriod;
        policy.maxIntentsPerWindow = config.maxIntentsPerWindow;
        policy.rateWindow = config.rateWindow;
        policy.maxStrikes = config.maxStrikes;
        policy.strikeWindow = config.strikeWindow;
        _policies[rec.id] = policy;
        emit AgentSet(agent, config);
    }

    /// @dev The body of {IAgentTreasuryAdmin-removeAgent}.
    function _removeAgent(address agent) internal {
        _requireActive(agent);
        AgentRecord storage rec = _agents[agent];
        rec.status = AgentStatus.Removed;
        ++rec.epoch;
        emit AgentRemoved(agent);
    }

    /// @dev The body of {IAgentTreasuryAdmin-rotateAgent}.
    function _rotateAgent(address oldKey, address newKey) internal {
        uint32 id = _requireActive(oldKey);
        if (newKey == address(0) || _isReserved(newKey)) revert AgentKeyInvalid(newKey);
        if (_agents[newKey].status != AgentStatus.None) revert AgentKeyAlreadyUsed(newKey);
        // The new key takes the record as it is (policy, lane-0 nonce, counters, frozen) in a new epoch.
        AgentRecord memory rec = _agents[oldKey];
        _agents[oldKey].status = AgentStatus.Retired;
        ++rec.epoch;
        _agents[newKey] = rec;
        _currentKey[id] = newKey;
        _keyAt[id][rec.epoch] = newKey;
        emit AgentRotated(oldKey, newKey);
    }

    /// @dev The body of {IAgentTreasuryAdmin-setAllowedCall}.
    function _setAllowedCall(address agent, address target, bytes4 selector, bool allowed) internal {
        uint32 id = _requireActive(agent);
        // The Safe's self-authorised functions and the module's configuration are never reachable by an agent.
        if (_isReserved(target)) revert TargetForbidden(target);
        _allowedCalls[id][target][selector].allowed = allowed;
        emit AllowedCallSet(agent, target, selector, allowed);
    }

    /// @dev The body of {IAgentTreasuryAdmin-setRecipient}.
    function _setRecipient(address agent, address recipient, bool allowed) internal {
        uint32 id = _requireActive(agent);
        _recipients[id][recipient] = allowed;
        emit RecipientSet(agent, recipient, allowed);
    }

    // ------------------------------------------------------------------ views

    /// @dev The body of {IAgentTreasuryAdmin-agentConfig}.
    function _agentConfig(address agent) internal view returns (AgentConfig memory config) {
        AgentRecord memory rec = _agents[agent];
        if (rec.status != AgentStatus.Active) return config;
        AgentPolicy memory policy = _policies[rec.id];
        return
            AgentConfig({
                validUntil: rec.validUntil,
                escalationDelay: policy.escalationDelay,
                gracePeriod: policy.gracePeriod,
                maxIntentsPerWindow: policy.maxIntentsPerWindow,
                rateWindow: policy.rateWindow,
                maxStrikes: policy.maxStrikes,
                strikeWindow: policy.strikeWindow,
                recipientMode: rec.recipientMode
            });
    }

    /// @dev The body of {IAgentTreasuryAdmin-isAgent}.
    function _isAgent(address agent) internal view returns (bool) {
        return _agents[agent].status == AgentStatus.Active;
    }

    /// @dev The body of {IAgentTreasuryAdmin-isFrozen}.
    function _isFrozen(address agent) internal view returns (bool) {
        AgentRecord memory rec = _agents[agent];
        return rec.status == AgentStatus.Active && rec.frozen;
    }

    // ------------------------------------------------------------------ internal

    /// @dev The identity behind an active key, or a revert naming the key.
    function _requireActive(address agent) internal view returns (uint32 id) {
        AgentRecord storage rec = _agents[agent];
        if (rec.status != AgentStatus.Active) revert AgentUnknown(agent);
        return rec.id;
    }

    /**
     * @dev The record of a key that may act now, as its storage slot and its word: active (not unknown, removed or
     * rotated out) and unexpired. An expired agent is rejected like an unknown one, with its expiry in the error.
     */
    function _liveAgent(address agent) internal view returns (AgentRecord storage stored, AgentWord word) {
        stored = _agents[agent];
        word = AgentWordLib.load(stored);
        if (!word.isActive()) revert AgentUnknown(agent);
        uint48 validUntil = word.validUntil();
        if (validUntil != 0 && block.timestamp >= validUntil) revert AgentExpired(agent, validUntil, block.timestamp);
    }

    /// @dev Writes back the record word of a key read by {_liveAgent}: one SSTORE.
    function _storeAgent(AgentRecord storage stored, AgentWord word) internal {
        AgentWordLib.store(stored, word);
    }

    /// @dev The current epoch of an identity: the epoch of its current key's record.
    function _epochOf(uint32 id) internal view returns (uint16) {
        return _agents[_currentKey[id]].epoch;
    }

    function _keyOf(uint32 id, uint16 epoch) internal view returns (address) {
        return _keyAt[id][epoch];
    }

    /// @dev Whether identity `id` may make the call, and how many argument conditions the call has (v3).
    function _callRule(
        uint32 id,
        address callee,
        bytes4 selector
    ) internal view returns (bool allowed, uint256 conditions) {
        CallRule storage rule = _allowedCalls[id][callee][selector];
        return (rule.allowed, rule.conditions);
    }

    /// @dev Records how many argument conditions a call has ({CallConditions}); `allowed` stays as it is.
    function _setConditionCount(uint32 id, address callee, bytes4 selector, uint8 count) internal {
        _allowedCalls[id][callee][selector].conditions = count;
    }

    function _isRecipient(uint32 id, address recipient) internal view returns (bool) {
        return _recipients[id][recipient];
    }

    /**
     * @dev Rolls a two-bucket counter to the current time. Buckets span `ceil(window / 2)` seconds; the count is
     * `prev + cur`.
     */
    function _roll(
        uint32 bucket,
        uint256 prev,
        uint256 cur,
        uint32 window
    ) internal view returns (uint32 nowBucket, uint256, uint256) {
        uint256 width = (uint256(window) + 1) / 2;
        // block.timestamp / width < 2^32 for any timestamp before the year 2106.
        nowBucket = uint32(block.timestamp / width);
        if (nowBucket == bucket) return (nowBucket, prev, cur);
        if (nowBucket == uint256(bucket) + 1) return (nowBucket, cur, 0);
        return (nowBucket, 0, 0);
    }
}
