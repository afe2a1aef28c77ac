// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @title PriceFeedCall
 * @notice The two raw reads the USD limits make of a price feed (and of a token's `decimals()`), with a fixed gas
 * allowance and a bounded copy of the answer.
 *
 * Not kept for gas. Solidity has no way to say either read: a high-level call (`feed.latestRoundData()`, in `try`
 * or not) reverts when the answer is shorter than its ABI type or its words do not fit their types, and that revert
 * is not caught by `try`; a low-level `feed.staticcall(...)` copies the whole answer into memory, however large, so a
 * feed could make every payment that reads it pay for megabytes of memory. A price that cannot be trusted must
 * never revert the payment (it queues it, SPEC section 11), so these read at most the words they need and report
 * what they found; the caller judges it.
 */
library PriceFeedCall {
    /**
     * @dev `AggregatorV3Interface(feed).latestRoundData()` as a static call with `gasLimit` gas, copying at most
     * its five words: whether the call succeeded; whether the answer had all five words with both round ids within
     * their 80 bits; whether the round is complete (`updatedAt != 0` and `answeredInRound >= roundId`); the raw word
     * of the `int256` answer (a negative price has its top bit set); and `updatedAt`.
     */
    function latestRoundData(
        address feed,
        uint256 gasLimit
    ) internal view returns (bool ok, bool wellFormed, bool completeRound, uint256 answer, uint256 updatedAt) {
        assembly ("memory-safe") {
            // Scratch space past the free memory pointer: five words of answer, never kept.
            let m := mload(0x40)
            mstore(m, shl(224, 0xfeaf968c)) // latestRoundData()
            ok := staticcall(gasLimit, feed, m, 0x04, m, 0xa0)
            let roundId := mload(m)
            answer := mload(add(m, 0x20))
            updatedAt := mload(add(m, 0x60))
            let answeredInRound := mload(add(m, 0x80))
            let idsFit := iszero(or(shr(80, roundId), shr(80, answeredInRound)))
            wellFormed := and(iszero(lt(returndatasize(), 0xa0)), idsFit)
            completeRound := and(iszero(iszero(updatedAt)), iszero(lt(answeredInRound, roundId)))
        }
    }

    /**
     * @dev `decimals()` of `account` (a feed or a token) as a static call with `gasLimit` gas, copying at most one
     * word: whether it answered, whether the answer was a whole word, and that word.
     */
    function decimals(
        address account,
        uint256 gasLimit
    ) internal view returns (bool answered, bool complete, uint256 value) {
        assembly ("memory-safe") {
            mstore(0x00, shl(224, 0x313ce567)) // decimals()
            answered := staticcall(gasLimit, account, 0x00, 0x04, 0x00, 0x20)
            complete := iszero(lt(returndatasize(), 0x20))
            value := mload(0x00)
        }
    }
}
