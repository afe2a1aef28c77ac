// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";

/// @dev The lifecycle of a key (AgentRegistry).
enum AgentStatus {
    None,
    Active,
    Removed,
    Retired // rotated out: dead for good
}

/**
 * @dev The hot slot, one per key (256 bits):
 * | validUntil (48) | id (32) | status (8) | recipientMode (8) | frozen (8) | rateLimited (8) | epoch (16) |
 * | laneZeroNonce (56) | rateBucket (32) | ratePrev (16) | rateCur (16) | usdLimited (8) |
 * `usdLimited` (v3, UsdLimits) is set while the identity has a USD limit, so an agent without one reads no USD state
 * at all.
 * Rate counters are bucketed: a bucket spans `ceil(rateWindow / 2)` seconds and the count is the current plus the
 * previous bucket, so it always covers the last `ceil(window / 2)` seconds and never anything older than
 * `window` seconds (SPEC section 5). Strikes use the same scheme in {AgentPolicy}.
 */
struct AgentRecord {
    uint48 validUntil;
    uint32 id;
    AgentStatus status;
    IAgentTreasuryTypes.RecipientMode recipientMode;
    bool frozen;
    bool rateLimited;
    uint16 epoch;
    uint56 laneZeroNonce;
    uint32 rateBucket;
    uint16 ratePrev;
    uint16 rateCur;
    bool usdLimited;
}

/**
 * @dev A key's {AgentRecord} slot as one word. The submission path reads the record with one SLOAD,
 * updates this word on the stack and writes it back with one SSTORE; a memory copy of the struct would allocate,
 * zero and unpack twelve fields first. Configuration and views keep using the struct.
 *
 * The bit positions are the compiler's storage layout of `AgentRecord` (first field lowest), drawn there:
 * ```
 * | 0 .. 47    | 48 .. 79 | 80 .. 87 | 88 .. 95      | 96 .. 103 | 104 .. 111  | 112 .. 127 | 128 .. 183    |
 * | validUntil | id       | status   | recipientMode | frozen    | rateLimited | epoch      | laneZeroNonce |
 * | 184 .. 215 | 216 .. 231 | 232 .. 247 | 248 .. 255 |
 * | rateBucket | ratePrev   | rateCur    | usdLimited |
 * ```
 * Every test that submits an intent reads fields written through the struct (by `setAgent`) through this word, and
 * views read fields written through this word through the struct, so a wrong position fails the suite.
 */
type AgentWord is uint256;

using AgentWordLib for AgentWord global;

library AgentWordLib {
    uint256 private constant _ID = 48;
    uint256 private constant _STATUS = 80;
    uint256 private constant _RECIPIENT_MODE = 88;
    uint256 private constant _FROZEN = 96;
    uint256 private constant _RATE_LIMITED = 104;
    uint256 private constant _EPOCH = 112;
    uint256 private constant _LANE_ZERO_NONCE = 128;
    uint256 private constant _RATE_BUCKET = 184;
    uint256 private constant _RATE_PREV = 216;
    uint256 private constant _RATE_CUR = 232;
    uint256 private constant _USD_LIMITED = 248;

    /// @dev `AgentStatus.Active`.
    uint256 private constant _STATUS_ACTIVE = 1;

    function validUntil(AgentWord w) internal pure returns (uint48) {
        return uint48(AgentWord.unwrap(w));
    }

    function id(AgentWord w) internal pure returns (uint32) {
        return uint32(AgentWord.unwrap(w) >> _ID);
    }

    /// @dev True for an active key (not unknown, removed or rotated out).
    function isActive(AgentWord w) internal pure returns (bool) {
        return uint8(AgentWord.unwrap(w) >> _STATUS) == _STATUS_ACTIVE;
    }

    function recipientMode(AgentWord w) internal pure returns (IAgentTreasuryTypes.RecipientMode) {
        return IAgentTreasuryTypes.RecipientMode(uint8(AgentWord.unwrap(w) >> _RECIPIENT_MODE));
    }

    function frozen(AgentWord w) internal pure returns (bool) {
        return uint8(AgentWord.unwrap(w) >> _FROZEN) != 0;
    }

    function withFrozen(AgentWord w) internal pure returns (AgentWord) {
        return AgentWord.wrap(AgentWord.unwrap(w) | (uint256(1) << _FROZEN));
    }

    function rateLimited(AgentWord w) internal pure returns (bool) {
        return uint8(AgentWord.unwrap(w) >> _RATE_LIMITED) != 0;
    }

    function epoch(AgentWord w) internal pure returns (uint16) {
        return uint16(AgentWord.unwrap(w) >> _EPOCH);
    }

    function laneZeroNonce(AgentWord w) internal pure returns (uint56) {
        return uint56(AgentWord.unwrap(w) >> _LANE_ZERO_NONCE);
    }

    function withLaneZeroNonce(AgentWord w, uint56 nonce) internal pure returns (AgentWord) {
        uint256 cleared = AgentWord.unwrap(w) & ~(uint256(type(uint56).max) << _LANE_ZERO_NONCE);
        return AgentWord.wrap(cleared | (uint256(nonce) << _LANE_ZERO_NONCE));
    }

    /// @dev True while the agent's identity has a USD limit (v3): only then does a spend read price feeds.
    function usdLimited(AgentWord w) internal pure returns (bool) {
        return uint8(AgentWord.unwrap(w) >> _USD_LIMITED) != 0;
    }

    /// @dev The rate counter: its bucket and the counts of the previous and the current bucket.
    function rate(AgentWord w) internal pure returns (uint32 bucket, uint16 prev, uint16 cur) {
        uint256 word = AgentWord.unwrap(w);
        return (uint32(word >> _RATE_BUCKET), uint16(word >> _RATE_PREV), uint16(word >> _RATE_CUR));
    }

    function withRate(AgentWord w, uint32 bucket, uint16 prev, uint16 cur) internal pure returns (AgentWord) {
        // The three counters fill bits 184 to 247; `usdLimited` above them is kept.
        uint256 counters = ((uint256(1) << (_USD_LIMITED - _RATE_BUCKET)) - 1) << _RATE_BUCKET;
        uint256 cleared = AgentWord.unwrap(w) & ~counters;
        return
            AgentWord.wrap(
                cleared |
                    (uint256(bucket) << _RATE_BUCKET) |
                    (uint256(prev) << _RATE_PREV) |
                    (uint256(cur) << _RATE_CUR)
            );
    }

    /// @dev The record slot `r` as one word: `sload(r.slot)`. Solidity cannot express it: it has no way to read a
    /// storage struct as the word it is packed in, only field by field.
    function load(AgentRecord storage r) internal view returns (AgentWord w) {
        assembly ("memory-safe") {
            w := sload(r.slot)
        }
    }

    /// @dev Writes `w` to the record slot `r` with one SSTORE; a struct assignment writes field by field.
    function store(AgentRecord storage r, AgentWord w) internal {
        assembly ("memory-safe") {
            sstore(r.slot, w)
        }
    }
}
