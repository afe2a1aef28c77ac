// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AggregatorV3Interface} from "../interfaces/AggregatorV3Interface.sol";

/**
 * @title MockAggregator
 * @notice A Chainlink-style price feed for tests and local chains (`localPriceFeeds` in a policy file). It answers
 * `latestRoundData()` from two storage slots, as a real aggregator reads about as many, and can misbehave in every
 * way the module must survive: revert, answer short, revert, overflow or answer short from `decimals()`, burn all
 * its gas.
 * `AlwaysFresh` reports `updatedAt` as the current block's time, like a feed whose keeper never sleeps: local
 * chains use it so that moving the clock forward never makes their prices stale. Never deploy it on a live chain.
 */
contract MockAggregator is AggregatorV3Interface {
    enum Mode {
        Normal,
        AlwaysFresh,
        Revert,
        ShortAnswer,
        RevertDecimals,
        BadDecimals,
        BurnGas,
        ShortDecimals
    }

    uint8 private immutable _decimals;

    // Slot 0: | answer (192) | updatedAt (64) |
    int192 private _answer;
    uint64 private _updatedAt;
    // Slot 1: | roundId (80) | answeredInRound (80) | startedAt (64) | mode (8) |
    uint80 private _roundId;
    uint80 private _answeredInRound;
    uint64 private _startedAt;
    Mode public mode;

    /// @param decimals_ The feed's decimals (Chainlink's USD feeds use 8; some use 18).
    /// @param answer The first price, reported as round 1 updated now.
    /// @param initialMode `Normal` for tests; `AlwaysFresh` for a local chain's feeds (deploy/usd.ts).
    constructor(uint8 decimals_, int192 answer, Mode initialMode) {
        _decimals = decimals_;
        setPrice(answer);
        mode = initialMode;
    }

    /// @notice A new round with `answer`, updated now and answered in itself.
    function setPrice(int192 answer) public {
        uint80 next = _roundId + 1;
        setRound(next, answer, block.timestamp, block.timestamp, next);
    }

    /// @notice Sets every field of the latest round as given (for stale, incomplete and odd rounds).
    function setRound(
        uint80 roundId,
        int192 answer,
        uint256 startedAt,
        uint256 updatedAt,
        uint80 answeredInRound
    ) public {
        (_answer, _updatedAt) = (answer, uint64(updatedAt));
        (_roundId, _answeredInRound, _startedAt) = (roundId, answeredInRound, uint64(startedAt));
    }

    function setMode(Mode newMode) external {
        mode = newMode;
    }

    function description() external pure override returns (string memory) {
        return "MockAggregator / USD";
    }

    function version() external pure override returns (uint256) {
        return 4;
    }

    function decimals() external view override returns (uint8) {
        Mode m = mode;
        if (m == Mode.RevertDecimals) revert("MockAggregator: decimals unavailable");
        if (m == Mode.BadDecimals) {
            assembly {
                mstore(0x00, 300) // not a uint8
                return(0x00, 0x20)
            }
        }
        if (m == Mode.ShortDecimals) {
            uint256 d = _decimals;
            assembly {
                mstore(0x00, d)
                return(0x00, 0x1f) // 31 bytes: less than the word of a uint8
            }
        }
        return _decimals;
    }

    function getRoundData(
        uint80 roundId
    )
        external
        view
        override
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        require(roundId == _roundId, "MockAggregator: only the latest round is kept");
        return _latest();
    }

    function latestRoundData()
        external
        view
        override
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound)
    {
        Mode m = mode;
        if (m == Mode.Revert) revert("MockAggregator: feed down");
        if (m == Mode.BurnGas) {
            // Spins until the gas it was given runs out.
            while (true) {}
        }
        if (m == Mode.ShortAnswer) {
            (uint80 r, int256 a, , , ) = _latest();
            assembly {
                // Four words instead of five: what an older or foreign interface might answer.
                mstore(0x00, r)
                mstore(0x20, a)
                mstore(0x40, 0)
                mstore(0x60, 0)
                return(0x00, 0x80)
            }
        }
        return _latest();
    }

    function _latest() private view returns (uint80, int256, uint256, uint256, uint80) {
        uint256 updatedAt = mode == Mode.AlwaysFresh ? block.timestamp : _updatedAt;
        return (_roundId, _answer, _startedAt, updatedAt, _answeredInRound);
    }
}
