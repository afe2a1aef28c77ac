// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev Measures a price read as the module makes it (UsdLimits._readPrice): a static call of `latestRoundData()`
 * with five words of answer, then one of `decimals()`, on a feed not yet touched in the transaction. For
 * `npm run bench` (scripts/bench/usd.ts), never deployed.
 */
contract PriceReadProbe {
    event PriceReadMeasured(address indexed feed, uint256 gasUsed);

    function measure(address feed) external returns (uint256 gasUsed) {
        bool ok;
        uint256 start = gasleft();
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, shl(224, 0xfeaf968c)) // latestRoundData()
            ok := staticcall(100000, feed, m, 0x04, m, 0xa0)
            mstore(0x00, shl(224, 0x313ce567)) // decimals()
            ok := and(ok, staticcall(100000, feed, 0x00, 0x04, 0x00, 0x20))
        }
        gasUsed = start - gasleft();
        require(ok, "PriceReadProbe: the feed did not answer");
        emit PriceReadMeasured(feed, gasUsed);
    }
}
