// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {SlidingWindow} from "../libraries/SlidingWindow.sol";
import {Idempotency} from "./Idempotency.sol";
import {AgentRecord, AgentStatus} from "../libraries/AgentWord.sol";

/**
 * @title SpendingLimits
 * @notice Per-agent, per-asset limits with exact sliding windows, the treasury-wide limit per asset, and the
 * record of escalated spend.
 *
 * Promise 1 (bounded loss): for every agent, asset and interval of `window` seconds, auto-executed spend is at
 * most `autoPerWindow`; across all agents it is at most the treasury-wide `perWindow` when one is set.
 * Spend history belongs to the agent identity and survives limit changes, removal and key rotation, so no
 * configuration change ever refreshes a window (Promise 8).
 */
abstract contract SpendingLimits is Idempotency {
    using SlidingWindow for SlidingWindow.Window;

    /// @dev Read on every auto payment: | autoPerTx (128) | autoPerWindow (128) |.
    struct AutoLimit {
        uint128 autoPerTx;
        uint128 autoPerWindow;
    }

    /// @dev Read only on the escalation path: | escalatedPerTx (128) | enabled (8) |.
    struct HardCap {
        uint128 escalatedPerTx;
        bool enabled;
    }

    mapping(uint32 id => mapping(address asset => AutoLimit)) private _autoLimits;
    mapping(uint32 id => mapping(address asset => HardCap)) private _hardCaps;
    mapping(uint32 id => mapping(address asset => SlidingWindow.Window)) private _windows;
    mapping(uint32 id => mapping(address asset => uint256)) private _escalated;
    mapping(address asset => uint128) private _treasuryPerWindow;
    mapping(address asset => SlidingWindow.Window) private _treasuryWindows;

    /// @dev The body of {IAgentTreasuryAdmin-setAssetLimit}.
    function _setAssetLimit(address agent, address asset, AssetLimit calldata limit) internal {
        uint32 id = _requireActive(agent);
        bool remove =
            limit.autoPerTx == 0 && limit.autoPerWindow == 0 && limit.window == 0 && limit.escalatedPerTx == 0;
        if (!remove) {
            if (limit.window == 0) revert AssetLimitWindowZero(agent, asset);
            if (limit.autoPerTx > limit.autoPerWindow)
                revert AssetLimitAutoAboveWindow(agent, asset, limit.autoPerTx, limit.autoPerWindow);
            if (limit.autoPerTx > limit.escalatedPerTx)
                revert AssetLimitAutoAboveHardCap(agent, asset, limit.autoPerTx, limit.escalatedPerTx);
            // Removal keeps the window length, so history keeps expiring at the old pace until a new limit is set.
            _windows[id][asset].setLength(limit.window);
        }
        _autoLimits[id][asset] = AutoLimit(limit.autoPerTx, limit.autoPerWindow);
        _hardCaps[id][asset] = HardCap(limit.escalatedPerTx, !remove);
        emit AssetLimitSet(agent, asset, limit);
    }

    /// @dev The body of {IAgentTreasuryAdmin-setTreasuryLimit}.
    function _setTreasuryLimit(address asset, uint128 perWindow, uint32 window) internal {
        if ((perWindow == 0) != (window == 0)) revert TreasuryLimitInvalid(asset, perWindow, window);
        if (window != 0) _treasuryWindows[asset].setLength(window);
        bool wasLimited = _treasuryPerWindow[asset] != 0;
        if (wasLimited != (perWindow != 0)) {
            // At most one limit per asset: the count is bounded by the number of assets the owner configured.
            if (wasLimited) --_treasuryLimitedAssets;
            else ++_treasuryLimitedAssets;
        }
        _treasuryPerWindow[asset] = perWindow;
        emit TreasuryLimitSet(asset, perWindow, window);
    }

    /// @dev The body of {IAgentTreasuryAdmin-assetLimit}.
    function _assetLimit(address agent, address asset) internal view returns (AssetLimit memory limit) {
        uint32 id = _agents[agent].id;
        HardCap memory cap = _hardCaps[id][asset];
        if (!cap.enabled) return limit;
        AutoLimit memory a = _autoLimits[id][asset];
        return AssetLimit(a.autoPerTx, a.autoPerWindow, _windows[id][asset].length(), cap.escalatedPerTx);
    }

    /// @dev The body of {IAgentTreasuryAdmin-availableAllowance}.
    function _availableAllowance(address agent, address asset) internal view returns (uint256) {
        AgentRecord memory rec = _agents[agent];
        if (rec.status != AgentStatus.Active || !_hardCaps[rec.id][asset].enabled) return 0;
        uint256 cap = _autoLimits[rec.id][asset].autoPerWindow;
        uint256 spent = _windows[rec.id][asset].spent(block.timestamp);
        return spent >= cap ? 0 : cap - spent;
    }

    // ------------------------------------------------------------------ internal

    /**
     * @dev Policy check of one asset spend: whether the agent has a limit for it and the amount is within the hard
     * cap, and whether it fits the auto tier now (agent window and treasury window). `live` is slot 0
     * ({_requireLive}), read once per submission. `window` is the agent window's header at this time
     * ({SlidingWindow-evicted}) when the spend is within `autoPerTx`, for {_chargeChecked}; else zero.
     */
    function _checkSpend(
        uint256 live,
        uint32 id,
        address asset,
        uint256 amount
    ) internal view returns (DenyReason reason, bool fitsAuto, uint256 window) {
        AutoLimit storage a = _autoLimits[id][asset];
        if (amount > a.autoPerTx || a.autoPerWindow == 0) {
            // Outside the auto tier, or a limit with no auto tier at all: the hard cap decides.
            HardCap memory cap = _hardCaps[id][asset];
            if (!cap.enabled) return (DenyReason.AssetNotAllowed, false, 0);
            if (amount > cap.escalatedPerTx) return (DenyReason.AboveHardCap, false, 0);
            return (DenyReason.None, false, 0);
        }
        // autoPerWindow != 0 implies the limit is enabled (removal zeroes it).
        window = _windows[id][asset].evicted(block.timestamp);
        // Unchecked, and safe: the window's spend and `amount` (at most `autoPerTx` here) are each below 2^128.
        unchecked {
            fitsAuto = SlidingWindow.spentIn(window) + amount <= a.autoPerWindow;
        }
        if (fitsAuto && _hasTreasuryLimits(live)) {
            uint256 perWindow = _treasuryPerWindow[asset];
            if (perWindow != 0) fitsAuto = _treasuryWindows[asset].spent(block.timestamp) + amount <= perWindow;
        }
    }

    /// @dev Charges an auto-tier spend to the agent's window and the treasury window. Checked by {_checkSpend}.
    /// `live` is slot 0 ({_requireLive}), read once per submission.
    function _chargeAuto(uint256 live, uint32 id, address asset, uint256 amount) internal {
        _windows[id][asset].record(amount, block.timestamp);
        _chargeTreasury(live, asset, amount);
    }

    /**
     * @dev {_chargeAuto} of the spend {_checkSpend} has just checked, with `window`, the agent window's header it
     * returned: the router's charge right after its policy check, with nothing written to that window between.
     */
    function _chargeChecked(uint256 live, uint32 id, address asset, uint256 amount, uint256 window) internal {
        _windows[id][asset].recordAt(window, amount, block.timestamp);
        _chargeTreasury(live, asset, amount);
    }

    function _chargeTreasury(uint256 live, address asset, uint256 amount) private {
        if (_hasTreasuryLimits(live) && _treasuryPerWindow[asset] != 0)
            _treasuryWindows[asset].record(amount, block.timestamp);
    }

    /// @dev Records escalated spend. It does not consume the auto window.
    function _chargeEscalated(uint32 id, address asset, uint256 amount) internal {
        _escalated[id][asset] += amount;
    }
}
