// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule} from "../interfaces/IAgentTreasuryModule.sol";
import {AvatarOwned} from "./AvatarOwned.sol";

/**
 * @title AgentRegistry
 * @notice Agents, their keys and their per-agent state.
 *
 * An agent is an identity (`id`) reached through exactly one live key. Everything an agent accumulates (nonces,
 * idempotency records, spend history, strikes) is keyed by the identity, so rotating a key moves none of it and
 * refreshes nothing (Promise 8), and removing an agent resets nothing (re-adding it never revives old
 * signatures: Promise 2). Each activation of a key opens a new `epoch`; a queued intent belongs to the epoch in
 * which it was queued and reads as cancelled once that epoch ends (removal or rotation).
 */
abstract contract AgentRegistry is AvatarOwned {
    enum AgentStatus {
        None,
        Active,
        Removed,
        Retired // rotated out: dead for good
    }

    /// @dev One slot per key: the policy (208 bits) | id (32) | status (8).
    struct AgentRecord {
        uint48 validUntil;
        uint32 escalationDelay;
        uint32 gracePeriod;
        uint16 maxIntentsPerWindow;
        uint32 rateWindow;
        uint8 maxStrikes;
        uint32 strikeWindow;
        RecipientMode recipientMode;
        uint32 id;
        AgentStatus status;
    }

    /**
     * @dev One slot per identity, read and written once per submission:
     * | laneZeroNonce (64) | epoch (16) | frozen (8) | rateBucket (32) | ratePrev (16) | rateCur (16) |
     * | strikeBucket (32) | strikePrev (8) | strikeCur (8) |
     * Rate and strike counters are bucketed: a bucket spans `ceil(window / 2)` seconds and the count is the
     * current plus the previous bucket, so it always covers the last `ceil(window / 2)` seconds and never
     * anything older than `window` seconds (SPEC section 5).
     */
    struct AgentState {
        uint64 laneZeroNonce;
        uint16 epoch;
        bool frozen;
        uint32 rateBucket;
        uint16 ratePrev;
        uint16 rateCur;
        uint32 strikeBucket;
        uint8 strikePrev;
        uint8 strikeCur;
    }

    uint32 private _lastAgentId;
    mapping(address key => AgentRecord) internal _agents;
    mapping(uint32 id => AgentState) internal _states;
    mapping(uint32 id => mapping(uint16 epoch => address key)) private _keyAt;
    mapping(uint32 id => mapping(address target => mapping(bytes4 selector => bool))) private _allowedCalls;
    mapping(uint32 id => mapping(address recipient => bool)) private _recipients;

    // ------------------------------------------------------------------ configuration

    /// @inheritdoc IAgentTreasuryModule
    function setAgent(address agent, AgentConfig calldata config) external onlyOwner {
        if (agent == address(0) || agent == avatar() || agent == address(this)) revert AgentKeyInvalid(agent);
        if (config.gracePeriod == 0) revert AgentConfigInvalid(agent, "gracePeriod", 0);
        if (config.maxIntentsPerWindow != 0 && config.rateWindow == 0) revert AgentConfigInvalid(agent, "rateWindow", 0);
        if (config.maxStrikes != 0 && config.strikeWindow == 0) revert AgentConfigInvalid(agent, "strikeWindow", 0);
        if (config.validUntil != 0 && config.validUntil <= block.timestamp) {
            revert AgentConfigInvalid(agent, "validUntil", config.validUntil);
        }
        AgentRecord storage rec = _agents[agent];
        AgentStatus status = rec.status;
        if (status == AgentStatus.Retired) revert AgentKeyRetired(agent);
        uint32 id = rec.id;
        if (status == AgentStatus.None) {
            id = ++_lastAgentId;
        }
        AgentState storage st = _states[id];
        if (status != AgentStatus.Active) {
            // A new activation: queued intents of earlier activations stay dead.
            uint16 epoch = st.epoch + 1;
            st.epoch = epoch;
            _keyAt[id][epoch] = agent;
        } else {
            // Bucket widths follow the windows: a changed window restarts its count (an owner's decision).
            if (config.rateWindow != rec.rateWindow) (st.rateBucket, st.ratePrev, st.rateCur) = (0, 0, 0);
            if (config.strikeWindow != rec.strikeWindow) (st.strikeBucket, st.strikePrev, st.strikeCur) = (0, 0, 0);
        }
        _agents[agent] = AgentRecord({
            validUntil: config.validUntil,
            escalationDelay: config.escalationDelay,
            gracePeriod: config.gracePeriod,
            maxIntentsPerWindow: config.maxIntentsPerWindow,
            rateWindow: config.rateWindow,
            maxStrikes: config.maxStrikes,
            strikeWindow: config.strikeWindow,
            recipientMode: config.recipientMode,
            id: id,
            status: AgentStatus.Active
        });
        emit AgentSet(agent, config);
    }

    /// @inheritdoc IAgentTreasuryModule
    function removeAgent(address agent) external onlyOwner {
        uint32 id = _requireActive(agent);
        AgentRecord storage rec = _agents[agent];
        rec.status = AgentStatus.Removed;
        ++_states[id].epoch;
        emit AgentRemoved(agent);
    }

    /// @inheritdoc IAgentTreasuryModule
    function rotateAgent(address oldKey, address newKey) external onlyOwner {
        uint32 id = _requireActive(oldKey);
        if (newKey == address(0) || newKey == avatar() || newKey == address(this)) revert AgentKeyInvalid(newKey);
        if (_agents[newKey].status != AgentStatus.None) revert AgentKeyAlreadyUsed(newKey);
        AgentRecord memory rec = _agents[oldKey];
        _agents[oldKey].status = AgentStatus.Retired;
        _agents[newKey] = rec;
        AgentState storage st = _states[id];
        uint16 epoch = st.epoch + 1;
        st.epoch = epoch;
        _keyAt[id][epoch] = newKey;
        emit AgentRotated(oldKey, newKey);
    }

    /// @inheritdoc IAgentTreasuryModule
    function setAllowedCall(address agent, address target, bytes4 selector, bool allowed) external onlyOwner {
        uint32 id = _requireActive(agent);
        // The Safe's self-authorised functions and the module's configuration are never reachable by an agent.
        if (target == avatar() || target == address(this)) revert TargetForbidden(target);
        _allowedCalls[id][target][selector] = allowed;
        emit AllowedCallSet(agent, target, selector, allowed);
    }

    /// @inheritdoc IAgentTreasuryModule
    function setRecipient(address agent, address recipient, bool allowed) external onlyOwner {
        uint32 id = _requireActive(agent);
        _recipients[id][recipient] = allowed;
        emit RecipientSet(agent, recipient, allowed);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IAgentTreasuryModule
    function agentConfig(address agent) external view returns (AgentConfig memory config) {
        AgentRecord memory rec = _agents[agent];
        if (rec.status != AgentStatus.Active) return config;
        return
            AgentConfig({
                validUntil: rec.validUntil,
                escalationDelay: rec.escalationDelay,
                gracePeriod: rec.gracePeriod,
                maxIntentsPerWindow: rec.maxIntentsPerWindow,
                rateWindow: rec.rateWindow,
                maxStrikes: rec.maxStrikes,
                strikeWindow: rec.strikeWindow,
                recipientMode: rec.recipientMode
            });
    }

    /// @inheritdoc IAgentTreasuryModule
    function isAgent(address agent) external view returns (bool) {
        return _agents[agent].status == AgentStatus.Active;
    }



    /// @inheritdoc IAgentTreasuryModule
    function isFrozen(address agent) external view returns (bool) {
        AgentRecord memory rec = _agents[agent];
        return rec.status == AgentStatus.Active && _states[rec.id].frozen;
    }


    // ------------------------------------------------------------------ internal

    /// @dev The identity behind an active key, or a revert naming the key.
    function _requireActive(address agent) internal view returns (uint32 id) {
        AgentRecord storage rec = _agents[agent];
        if (rec.status != AgentStatus.Active) revert AgentUnknown(agent);
        return rec.id;
    }

    /**
     * @dev The record of a key that may act now: active (not unknown, removed or rotated out) and unexpired.
     * An expired agent is rejected like an unknown one, with its expiry in the error.
     */
    function _liveAgent(address agent) internal view returns (AgentRecord memory rec) {
        rec = _agents[agent];
        if (rec.status != AgentStatus.Active) revert AgentUnknown(agent);
        if (rec.validUntil != 0 && block.timestamp >= rec.validUntil) {
            revert AgentExpired(agent, rec.validUntil, block.timestamp);
        }
    }

    /**
     * @dev Writes an agent's state in one SSTORE (a struct copy would read and write it field by field). The bit
     * positions are those of {AgentState}'s storage layout, first field lowest.
     */
    function _storeState(uint32 id, AgentState memory st) internal {
        uint256 word = uint256(st.laneZeroNonce) |
            (uint256(st.epoch) << 64) |
            (st.frozen ? uint256(1) << 80 : 0) |
            (uint256(st.rateBucket) << 88) |
            (uint256(st.ratePrev) << 120) |
            (uint256(st.rateCur) << 136) |
            (uint256(st.strikeBucket) << 152) |
            (uint256(st.strikePrev) << 184) |
            (uint256(st.strikeCur) << 192);
        AgentState storage slot = _states[id];
        assembly ("memory-safe") {
            sstore(slot.slot, word)
        }
    }

    function _keyOf(uint32 id, uint16 epoch) internal view returns (address) {
        return _keyAt[id][epoch];
    }

    function _isAllowedCall(uint32 id, address target, bytes4 selector) internal view returns (bool) {
        return _allowedCalls[id][target][selector];
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
        if (nowBucket == bucket + 1) return (nowBucket, cur, 0);
        return (nowBucket, 0, 0);
    }
}
