// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AgentRecord, AgentWord} from "../libraries/AgentWord.sol";
import {UsdLimits} from "./UsdLimits.sol";

/**
 * @title EmergencyControls
 * @notice Guardians, pause, freeze, and the automatic freeze of an agent that keeps probing its fence.
 *
 * Promise 5: guardians can only restrict. They may pause, freeze and cancel (see EscalationQueue); only the Safe
 * unpauses, unfreezes and configures. A stolen guardian key can stop the treasury, never move or loosen it.
 */
abstract contract EmergencyControls is UsdLimits {
    bytes32 internal constant FREEZE_MANUAL = "manual";
    bytes32 internal constant FREEZE_STRIKES = "strikes";

    mapping(address account => bool) private _guardians;

    modifier onlyGuardianOrOwner() {
        if (!_guardians[msg.sender] && msg.sender != _currentAvatar()) revert ModuleCallerNotGuardian(msg.sender);
        _;
    }

    /// @dev The body of {IAgentTreasuryAdmin-setGuardian}.
    function _setGuardian(address guardian, bool enabled) internal {
        if (guardian == address(0)) revert GuardianInvalid(guardian);
        _guardians[guardian] = enabled;
        emit GuardianSet(guardian, enabled);
    }

    /// @dev The body of {IAgentTreasuryAdmin-pause}.
    function _pause() internal {
        _requireNotPaused();
        _setPaused(true);
        emit Paused(msg.sender);
    }

    /// @dev The body of {IAgentTreasuryAdmin-unpause}.
    function _unpause() internal {
        if (!_isPaused()) revert ModuleNotPaused();
        _setPaused(false);
        emit Unpaused(msg.sender);
    }

    /// @dev The body of {IAgentTreasuryAdmin-freezeAgent}.
    function _freezeAgent(address agent) internal {
        _requireActive(agent);
        AgentRecord storage rec = _agents[agent];
        if (rec.frozen) revert AgentIsFrozen(agent);
        rec.frozen = true;
        emit AgentFrozen(agent, msg.sender, FREEZE_MANUAL);
    }

    /// @dev The body of {IAgentTreasuryAdmin-unfreezeAgent}.
    function _unfreezeAgent(address agent) internal {
        uint32 id = _requireActive(agent);
        _agents[agent].frozen = false;
        AgentPolicy storage policy = _policies[id];
        (policy.strikeBucket, policy.strikePrev, policy.strikeCur) = (0, 0, 0);
        emit AgentUnfrozen(agent, msg.sender);
    }

    /// @dev The body of {IAgentTreasuryAdmin-isGuardian}.
    function _isGuardian(address account) internal view returns (bool) {
        return _guardians[account];
    }

    /// @dev True when `account` may cancel as a guardian or the owner.
    function _isGuardianOrOwner(address account) internal view returns (bool) {
        return _guardians[account] || account == _currentAvatar();
    }

    /**
     * @dev Counts a denial against the agent whose record word is `word`. When its strikes within the strike window
     * reach `maxStrikes`, the agent freezes (in the returned word, written back by the caller): an agent that keeps
     * probing is treated as compromised.
     */
    function _strike(AgentWord word, address agent) internal returns (AgentWord) {
        AgentPolicy storage policy = _policies[word.id()];
        uint8 maxStrikes = policy.maxStrikes;
        if (maxStrikes == 0) return word;
        (uint32 bucket, uint256 prev, uint256 cur) = _roll(
            policy.strikeBucket,
            policy.strikePrev,
            policy.strikeCur,
            policy.strikeWindow
        );
        // cur < maxStrikes <= 255 before the increment: once the count reaches maxStrikes the agent is frozen and
        // cannot submit again until the owner unfreezes it, which clears the counters.
        ++cur;
        (policy.strikeBucket, policy.strikePrev, policy.strikeCur) = (bucket, uint8(prev), uint8(cur));
        if (prev + cur >= maxStrikes && !word.frozen()) {
            emit AgentFrozen(agent, address(this), FREEZE_STRIKES);
            return word.withFrozen();
        }
        return word;
    }

    /**
     * @dev Counts an accepted intent against the agent's rate limit (in the returned word) and reports whether it
     * exceeds it. Every accepted intent counts: executed, queued and denied, including the one that is rate limited.
     */
    function _countRate(AgentWord word) internal view returns (bool limited, AgentWord) {
        if (!word.rateLimited()) return (false, word);
        AgentPolicy storage policy = _policies[word.id()];
        (uint32 bucket, uint16 ratePrev, uint16 rateCur) = word.rate();
        (uint32 nowBucket, uint256 prev, uint256 cur) = _roll(bucket, ratePrev, rateCur, policy.rateWindow);
        limited = prev + cur >= policy.maxIntentsPerWindow;
        // Saturate: past the limit every further intent is denied anyway.
        if (cur < type(uint16).max) ++cur;
        return (limited, word.withRate(nowBucket, uint16(prev), uint16(cur)));
    }
}
