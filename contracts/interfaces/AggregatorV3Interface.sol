// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/**
 * @title AggregatorV3Interface
 * @notice Chainlink's price feed interface, with the same function signatures as `@chainlink/contracts`'
 * `AggregatorV3Interface` (written here so the project needs no extra package). The module itself reads feeds with
 * low-level static calls (UsdLimits), so a feed that reverts or answers malformed data can never make it revert;
 * this interface documents what it reads and is what the test aggregator implements.
 */
// Chainlink's name, kept so that the interface reads as the one every feed implements.
// solhint-disable-next-line interface-starts-with-i
interface AggregatorV3Interface {
    function decimals() external view returns (uint8);

    function description() external view returns (string memory);

    function version() external view returns (uint256);

    function getRoundData(
        uint80 roundId
    )
        external
        view
        returns (uint80 roundId_, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);

    function latestRoundData()
        external
        view
        returns (uint80 roundId, int256 answer, uint256 startedAt, uint256 updatedAt, uint80 answeredInRound);
}
