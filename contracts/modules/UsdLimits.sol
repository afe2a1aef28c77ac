// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {AgentRecord, AgentStatus} from "../libraries/AgentWord.sol";
import {PriceFeedCall} from "../libraries/PriceFeedCall.sol";
import {SlidingWindow} from "../libraries/SlidingWindow.sol";
import {SpendingLimits} from "./SpendingLimits.sol";

/**
 * @title UsdLimits
 * @notice One budget across every asset (v3): per-asset USD price feeds and per-agent USD limits with an exact
 * sliding window, charged on top of the per-asset limits of {SpendingLimits}.
 *
 * Valuation: `usd = ceil(amount * answer * 10^8 / 10^(assetDecimals + feedDecimals))`, 8 decimals, rounded up so
 * that rounding never lets an agent spend more than its cap. The asset's decimals are read once by {setPriceFeed}
 * (18 for ETH); the feed's `decimals()` is read at every valuation, never assumed.
 *
 * What the module trusts a feed for: an answer that passes every check below is taken as the asset's USD price.
 * A price that cannot be trusted never lets a payment through the auto tier and never strikes the agent: the
 * intent is queued for co-signers and {NoTrustworthyPrice} says why. Untrusted means: no feed; a feed that reverts
 * or runs out of the gas it is given; fewer bytes than `latestRoundData()` returns; a round id or answeredInRound
 * beyond 80 bits; an answer <= 0 or of 2^128 or more; `updatedAt == 0`, `answeredInRound < roundId` or `updatedAt`
 * in the future; `updatedAt` more than `maxAge` seconds ago; `decimals()` reverting, short, or above 36.
 * A manipulated feed (one that answers a wrong price that passes these checks) can at most move the USD bound:
 * every per-asset limit still holds on its own (Promise 1), so the agent's loss stays within the sum of its
 * per-asset auto windows, as without a USD limit (docs/THREAT-MODEL.md).
 *
 * Gas: an agent without a USD limit pays for none of this. Its record word carries the flag `usdLimited`
 * ({AgentWord}), read with the record on every submission anyway; only a flagged agent reads feeds and its USD
 * window.
 */
abstract contract UsdLimits is SpendingLimits {
    using SlidingWindow for SlidingWindow.Window;

    /// @dev The module's USD unit: 8 decimals.
    uint256 private constant _USD_DECIMALS = 8;
    /// @dev Largest decimals of an asset or a feed the module prices: keeps every power of ten within 256 bits.
    uint256 private constant _MAX_DECIMALS = 36;
    /// @dev Bit 255 of {_checkUsd}'s `usd`: a price could not be trusted (see there).
    uint256 private constant _UNPRICED = 1 << 255;
    /// @dev Gas a price read may use. A feed (a Chainlink proxy and its aggregator) needs far less.
    uint256 internal constant PRICE_READ_GAS = 100_000;

    /// @dev Read on every auto payment of a USD-limited agent: | autoPerTx (128) | autoPerWindow (128) |.
    struct UsdAuto {
        uint128 autoPerTx;
        uint128 autoPerWindow;
    }

    /// @dev One slot per asset: | feed (160) | maxAge (32) | assetDecimals (8) |. The lens reads it
    /// (`AgentTreasuryLens.priceFeed`), as it reads the USD limit (`usdLimit`) and window (`usdSpendEntries`).
    struct PriceFeed {
        address feed;
        uint32 maxAge;
        uint8 assetDecimals;
    }

    mapping(address asset => PriceFeed) private _priceFeeds;
    mapping(uint32 id => UsdAuto) private _usdAuto;
    /// @dev The USD hard cap (`escalatedPerTx`): read only when a spend is above the USD auto tier.
    mapping(uint32 id => uint128) private _usdHardCaps;
    mapping(uint32 id => SlidingWindow.Window) private _usdWindows;

    // ------------------------------------------------------------------ configuration

    /// @dev The body of {IAgentTreasuryAdmin-setPriceFeed}.
    function _setPriceFeed(address asset, address feed, uint32 maxAge) internal {
        if (feed == address(0)) {
            delete _priceFeeds[asset];
            emit PriceFeedSet(asset, address(0), 0);
            return;
        }
        if (maxAge == 0) revert PriceFeedInvalid(asset, feed, "maxAge == 0");
        if (feed.code.length == 0) revert PriceFeedInvalid(asset, feed, "feed has no code");
        // A feed whose decimals the module cannot use would never price anything: refuse it now.
        (PriceFault feedFault, ) = _readDecimals(feed);
        if (feedFault != PriceFault.None) revert PriceFeedInvalid(asset, feed, "feed decimals");
        uint256 assetDecimals = 18;
        if (asset != address(0)) {
            PriceFault assetFault;
            (assetFault, assetDecimals) = _readDecimals(asset);
            if (assetFault != PriceFault.None) revert PriceFeedInvalid(asset, feed, "asset decimals");
        }
        // At most _MAX_DECIMALS here, so uint8 holds it.
        _priceFeeds[asset] = PriceFeed(feed, maxAge, uint8(assetDecimals));
        emit PriceFeedSet(asset, feed, maxAge);
    }

    /// @dev The body of {IAgentTreasuryAdmin-setUsdLimit}. Sets the agent's `usdLimited` flag, which its record
    /// word carries through rotation, removal and re-adding like the rest of the record.
    function _setUsdLimit(address agent, UsdLimit calldata limit) internal {
        uint32 id = _requireActive(agent);
        bool remove =
            limit.autoPerTx == 0 && limit.autoPerWindow == 0 && limit.window == 0 && limit.escalatedPerTx == 0;
        if (!remove) {
            if (limit.window == 0) revert UsdLimitInvalid(agent, "window == 0");
            if (limit.autoPerTx > limit.autoPerWindow) revert UsdLimitInvalid(agent, "autoPerTx > autoPerWindow");
            if (limit.autoPerTx > limit.escalatedPerTx) revert UsdLimitInvalid(agent, "autoPerTx > escalatedPerTx");
            // Removal keeps the window length and the history, as for asset limits.
            _usdWindows[id].setLength(limit.window);
        }
        _usdAuto[id] = UsdAuto(limit.autoPerTx, limit.autoPerWindow);
        _usdHardCaps[id] = limit.escalatedPerTx;
        _agents[agent].usdLimited = !remove;
        emit UsdLimitSet(agent, limit);
    }

    // ------------------------------------------------------------------ views

    /// @dev The body of {IAgentTreasuryAdmin-availableUsdAllowance}.
    function _availableUsdAllowance(address agent) internal view returns (uint256) {
        AgentRecord memory rec = _agents[agent];
        if (rec.status != AgentStatus.Active || !rec.usdLimited) return 0;
        uint256 cap = _usdAuto[rec.id].autoPerWindow;
        uint256 spent = _usdWindows[rec.id].spent(block.timestamp);
        return spent >= cap ? 0 : cap - spent;
    }

    // ------------------------------------------------------------------ the payment path

    /**
     * @dev The USD check of one intent of a USD-limited agent (identity `id`) that spends `amount` of `asset` and
     * `extraEth` of ETH, after both passed their asset limits (so each is below 2^128). Returns AboveHardCap when
     * the spend, valued with trusted prices, is above the USD hard cap (with one price untrusted the other's value
     * is a lower bound, checked too); whether it fits the USD auto tier now; and `usd`: the USD value to charge, or,
     * when a price cannot be trusted (the intent then never fits the auto tier), an unpriced mark naming the first
     * unpriced asset and why ({_isUnpriced}, {_reportNoPrice}). One word, so that the decision of an agent without a
     * USD limit carries a single zero for all of this.
     */
    function _checkUsd(
        uint32 id,
        address asset,
        uint256 amount,
        uint256 extraEth
    ) internal view returns (DenyReason reason, bool fitsAuto, uint256 usd) {
        // Nothing spent is worth nothing, whatever the price: no feed is read, and the USD limit has nothing to say
        // (as a call without value needs no asset limit).
        if (amount == 0 && extraEth == 0) return (DenyReason.None, true, 0);
        PriceFault fault;
        address unpriced;
        if (amount != 0) {
            (usd, fault) = _usdValue(asset, amount);
            if (fault != PriceFault.None) unpriced = asset;
        }
        if (extraEth != 0) {
            (uint256 ethUsd, PriceFault ethFault) = _usdValue(address(0), extraEth);
            // Values saturate in _toUsd; so does their sum.
            usd = usd > type(uint256).max - ethUsd ? type(uint256).max : usd + ethUsd;
            if (fault == PriceFault.None) fault = ethFault; // `unpriced` stays address(0): ETH
        }
        UsdAuto memory a = _usdAuto[id];
        // No `autoPerWindow == 0` test: a trusted value here is at least 1 (a positive price times a positive
        // amount, rounded up), so a limit without an auto tier (`autoPerTx <= autoPerWindow == 0`) is above it.
        if (fault != PriceFault.None || usd > a.autoPerTx) {
            // Outside the USD auto tier: the USD hard cap decides, with what could be valued.
            if (usd > _usdHardCaps[id]) return (DenyReason.AboveHardCap, false, usd);
            if (fault != PriceFault.None) usd = _UNPRICED | (uint256(fault) << 160) | uint160(unpriced);
            return (DenyReason.None, false, usd);
        }
        fitsAuto = _usdWindows[id].spent(block.timestamp) + usd <= a.autoPerWindow;
        return (DenyReason.None, fitsAuto, usd);
    }

    /// @dev True for the unpriced mark of {_checkUsd}. A value the module charges is below 2^128, so never one.
    function _isUnpriced(uint256 usd) internal pure returns (bool) {
        return usd & _UNPRICED != 0;
    }

    /// @dev "No trustworthy price": the record of an intent queued under the unpriced mark `usd` of {_checkUsd}.
    function _reportNoPrice(bytes32 intentId, uint256 usd) internal {
        emit NoTrustworthyPrice(intentId, address(uint160(usd)), PriceFault(uint8(usd >> 160)));
    }

    /**
     * @dev Charges what an auto-tier intent spends besides its asset: `extraEth` (ETH sent along a token transfer) to
     * the agent's ETH window and the treasury's, and `usd` (checked by {_checkUsd}) to the agent's USD window. The
     * router calls it only when either is non-zero, so a plain payment pays one test for both.
     */
    function _chargeAlong(uint256 live, uint32 id, uint256 extraEth, uint256 usd) internal {
        if (extraEth != 0) _chargeAuto(live, id, address(0), extraEth);
        if (usd != 0) _usdWindows[id].record(usd, block.timestamp);
    }

    // ------------------------------------------------------------------ valuation

    /**
     * @dev `amount` of `asset` in USD by the rules above, or the reason its price cannot be trusted (and 0). Also
     * the body of {IAgentTreasuryAdmin-usdValue}, so clients see the valuation the payment path uses.
     */
    function _usdValue(address asset, uint256 amount) internal view returns (uint256 usd, PriceFault fault) {
        PriceFeed memory f = _priceFeeds[asset];
        if (f.feed == address(0)) return (0, PriceFault.NoFeed);
        uint256 price;
        uint256 feedDecimals;
        (price, feedDecimals, fault) = _readPrice(f.feed, f.maxAge);
        if (fault != PriceFault.None) return (0, fault);
        return (_toUsd(amount, price, f.assetDecimals + feedDecimals), PriceFault.None);
    }

    /**
     * @dev `latestRoundData()` and `decimals()` of `feed` through static calls with {PRICE_READ_GAS}, every answer
     * checked: returns the price and the feed's decimals, or why they cannot be trusted.
     */
    function _readPrice(
        address feed,
        uint256 maxAge
    ) private view returns (uint256 answer, uint256 feedDecimals, PriceFault fault) {
        bool ok;
        bool wellFormed;
        bool completeRound;
        uint256 updatedAt;
        (ok, wellFormed, completeRound, answer, updatedAt) = PriceFeedCall.latestRoundData(feed, PRICE_READ_GAS);
        if (!ok) {
            _requireGasForPriceRead(feed);
            return (0, 0, PriceFault.FeedReverted);
        }
        if (!wellFormed) return (0, 0, PriceFault.MalformedAnswer);
        // `answer` is an int256: zero, or a negative number read as a word with its top bit set.
        if (answer == 0 || answer >> 255 != 0) return (0, 0, PriceFault.NonPositivePrice);
        if (answer > type(uint128).max) return (0, 0, PriceFault.MalformedAnswer);
        if (!completeRound) return (0, 0, PriceFault.IncompleteRound);
        if (updatedAt > block.timestamp) return (0, 0, PriceFault.MalformedAnswer);
        if (block.timestamp - updatedAt > maxAge) return (0, 0, PriceFault.StalePrice);
        (fault, feedDecimals) = _readDecimals(feed);
    }

    /**
     * @dev `decimals()` of `account` (a feed or a token): the value when it answers a word of at most
     * {_MAX_DECIMALS}, else `FeedReverted` or `MalformedAnswer` (and 0).
     */
    function _readDecimals(address account) private view returns (PriceFault fault, uint256 decimals) {
        (bool answered, bool complete, uint256 value) = PriceFeedCall.decimals(account, PRICE_READ_GAS);
        if (!answered) {
            _requireGasForPriceRead(account);
            return (PriceFault.FeedReverted, 0);
        }
        if (!complete || value > _MAX_DECIMALS) return (PriceFault.MalformedAnswer, 0);
        return (PriceFault.None, value);
    }

    /**
     * @dev A failed read with less than 1/63 of {PRICE_READ_GAS} left may have failed for want of the caller's gas
     * (EIP-150 forwards at most 63/64 of what is left), not because of the feed: revert instead of treating the
     * price as untrusted, so nobody can force an intent into the queue with a short gas limit.
     */
    function _requireGasForPriceRead(address feed) private view {
        if (gasleft() < PRICE_READ_GAS / 63) revert PriceReadOutOfGas(feed);
    }

    /**
     * @dev `amount * price` scaled from `decimals` (the asset's plus the feed's) to USD's 8, rounded up. `price` is
     * below 2^128; an amount of 2^128 or more, or a value beyond 256 bits, saturates (above every USD cap).
     */
    function _toUsd(uint256 amount, uint256 price, uint256 decimals) private pure returns (uint256) {
        if (amount > type(uint128).max) return type(uint256).max;
        uint256 product = amount * price;
        // decimals <= 2 * _MAX_DECIMALS = 72, so every power of ten below is at most 10^64: no overflow.
        uint256 scale;
        unchecked {
            scale = 10 ** (decimals >= _USD_DECIMALS ? decimals - _USD_DECIMALS : _USD_DECIMALS - decimals);
        }
        if (decimals >= _USD_DECIMALS) return Math.ceilDiv(product, scale);
        return product > type(uint256).max / scale ? type(uint256).max : product * scale;
    }
}
