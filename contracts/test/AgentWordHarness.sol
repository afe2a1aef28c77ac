// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";
import {AgentWord} from "../libraries/AgentWord.sol";

/**
 * @dev AgentWord's accessors exposed directly, so a spec can check every bit position against the compiler's
 * storage layout of `AgentRecord`. Test only, never deployed.
 */
contract AgentWordHarness {
    /// @dev Every reader at once, in the order of `AgentRecord`'s fields.
    function read(
        uint256 word
    )
        external
        pure
        returns (
            uint48 validUntil,
            uint32 id,
            bool active,
            IAgentTreasuryTypes.RecipientMode recipientMode,
            bool frozen,
            bool rateLimited,
            uint16 epoch,
            uint56 laneZeroNonce,
            uint32 rateBucket,
            uint16 ratePrev,
            uint16 rateCur
        )
    {
        AgentWord w = AgentWord.wrap(word);
        (rateBucket, ratePrev, rateCur) = w.rate();
        return (
            w.validUntil(),
            w.id(),
            w.isActive(),
            w.recipientMode(),
            w.frozen(),
            w.rateLimited(),
            w.epoch(),
            w.laneZeroNonce(),
            rateBucket,
            ratePrev,
            rateCur
        );
    }

    /// @dev `usdLimited` (v3) on its own: the reader above already returns as many values as the stack allows.
    function usdLimited(uint256 word) external pure returns (bool) {
        return AgentWord.wrap(word).usdLimited();
    }

    function withFrozen(uint256 word) external pure returns (uint256) {
        return AgentWord.unwrap(AgentWord.wrap(word).withFrozen());
    }

    function withLaneZeroNonce(uint256 word, uint56 nonce) external pure returns (uint256) {
        return AgentWord.unwrap(AgentWord.wrap(word).withLaneZeroNonce(nonce));
    }

    function withRate(uint256 word, uint32 bucket, uint16 prev, uint16 cur) external pure returns (uint256) {
        return AgentWord.unwrap(AgentWord.wrap(word).withRate(bucket, prev, cur));
    }
}
