// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @title SlidingWindow
 * @notice An exact sliding-window spend accumulator with bounded storage.
 *
 * Promise 1 (bounded loss) rests on this library: a spend of `a` at time `s` counts at every time `t` with
 * `s <= t < s + length`, so the sum over any interval of `length` seconds is what the caller compared with its cap.
 * There are no periods that reset.
 *
 * Storage is a ring of `CAPACITY` entries. When the ring is full, the two oldest entries are merged into one that
 * carries the later timestamp: the older amount then counts for longer than it should, never for shorter, so the
 * cap still holds and `spent` may over-report (the caller's allowance may under-report), never under-report.
 *
 * Gas: entries are never cleared and are pre-written with a non-zero sentinel when the window is first configured
 * (`setLength`), so a payment always rewrites a dirty slot (about 5,000 gas) instead of filling a fresh one (22,100):
 * the first payment of an agent costs what the thousandth does.
 *
 * Spends recorded in the same second share one entry (they count over exactly the same interval, so this is exact):
 * a batch of payments in one transaction (`submitBatch`) takes one entry per asset instead of filling the ring and
 * merging. The header keeps the low 24 bits of the newest entry's time, so a spend reads that entry (a warm read
 * inside a batch) only when its time may be the current second; a match of the low bits alone is confirmed against
 * the entry's full time.
 *
 * Header layout (one slot, least significant bit first):
 * ```
 * | 0 ........ 127 | 128 ...... 175 | 176 .. 183 | 184 .. 191 | 192 ...... 223 | 224 .. 231 | 232 ...... 255 |
 * |     spent      |  oldest time   |    head    |   count    |    length      |   warmed   | newest time    |
 * |                |                |            |            |                |            | (low 24 bits)  |
 * ```
 * Entry layout: `| 0 .. 127 amount | 128 .. 175 time | ... | 255 sentinel |`.
 */
library SlidingWindow {
    /// @dev Entries kept before the two oldest merge. Sized so that one configuration write pre-warms the ring.
    uint256 internal constant CAPACITY = 8;

    uint256 private constant _MASK_128 = type(uint128).max;
    uint256 private constant _MASK_48 = type(uint48).max;
    uint256 private constant _MASK_32 = type(uint32).max;
    uint256 private constant _SENTINEL = 1 << 255;
    uint256 private constant _WARMED = 1 << 224;
    uint256 private constant _NEWEST_SHIFT = 232;
    uint256 private constant _MASK_24 = 0xffffff;
    /// @dev Header bits 192 to 231: length and warmed, which a spend keeps.
    uint256 private constant _LENGTH_AND_WARMED = ((uint256(1) << 232) - 1) ^ ((uint256(1) << 192) - 1);

    struct Window {
        uint256 header;
        uint256[CAPACITY] entries;
    }

    /// @notice The window length in seconds (0 when the window was never configured).
    function length(Window storage w) internal view returns (uint32) {
        return uint32((w.header >> 192) & _MASK_32);
    }

    /**
     * @notice Sets the window length, keeping the spend history, and pre-warms the ring on first use.
     * A shorter length only lets entries expire earlier, exactly as if the window had always been that long.
     */
    function setLength(Window storage w, uint32 newLength) internal {
        uint256 h = w.header;
        if (h & _WARMED == 0) {
            for (uint256 i; i < CAPACITY; ++i) {
                if (w.entries[i] == 0) w.entries[i] = _SENTINEL;
            }
            h |= _WARMED;
        }
        w.header = (h & ~(_MASK_32 << 192)) | (uint256(newLength) << 192);
    }

    /// @notice The spend that counts at time `nowTs`: every entry with `time <= nowTs < time + length`.
    function spent(Window storage w, uint256 nowTs) internal view returns (uint256) {
        return spentIn(evicted(w, nowTs));
    }

    /**
     * @notice The header as it stands at `nowTs`, every entry that no longer counts dropped (in memory, nothing is
     * written): its spend is {spentIn}, and {recordAt} records into it without reading the expired entries again.
     */
    function evicted(Window storage w, uint256 nowTs) internal view returns (uint256) {
        return _evict(w, w.header, nowTs);
    }

    /// @notice The spend an {evicted} header counts.
    function spentIn(uint256 evictedHeader) internal pure returns (uint256) {
        return evictedHeader & _MASK_128;
    }

    /**
     * @notice Records a spend of `amount` at `nowTs`. The caller has checked `spent(w, nowTs) + amount` against its
     * cap; the sum stays within 128 bits because every cap does.
     */
    function record(Window storage w, uint256 amount, uint256 nowTs) internal {
        // Nothing to record: return before reading the window at all.
        if (amount == 0) return;
        recordAt(w, _evict(w, w.header, nowTs), amount, nowTs);
    }

    /**
     * @notice {record} into `h`, the header {evicted} returned for this window at this `nowTs`, with no write to the
     * window since: the spend check and the charge of one intent then read and drop the expired entries once, not
     * twice (in the amortised steady state, where every payment expires the oldest entry, 1,434 gas a payment
     * measured by `npm run bench`).
     */
    function recordAt(Window storage w, uint256 h, uint256 amount, uint256 nowTs) internal {
        if (amount == 0) return;
        // Unchecked, and safe: `head` and `count` are header bytes (so their sums are far from wrapping), and every
        // amount added is within the window's spend, which with `amount` fits in 128 bits (the caller checked it
        // against a 128-bit cap), as does each entry's amount.
        unchecked {
            uint256 head = (h >> 176) & 0xff;
            uint256 count = (h >> 184) & 0xff;
            uint256 oldest = (h >> 128) & _MASK_48;
            uint256 tag = nowTs & _MASK_24;
            // The low bits differ for every spend but the first of a second (or one 2^24 seconds after the newest).
            if ((h >> _NEWEST_SHIFT) == tag && count != 0) {
                // Maybe a spend of this second already: add to its entry (same interval, so exact).
                uint256 newest = (head + count - 1) % CAPACITY;
                uint256 e = w.entries[newest];
                if (((e >> 128) & _MASK_48) == nowTs) {
                    // The entry's amount is within the window's spend, which fits in 128 bits with `amount`.
                    w.entries[newest] = e + amount;
                    w.header = _pack(h, (h & _MASK_128) + amount, oldest, head, count);
                    return;
                }
            }
            if (count == CAPACITY) {
                // Merge the two oldest entries toward the later timestamp: over-counts, never under-counts.
                uint256 second = (head + 1) % CAPACITY;
                uint256 e0 = w.entries[head];
                uint256 e1 = w.entries[second];
                // Both amounts are within the window's spend, which fits in 128 bits.
                w.entries[second] = e1 + (e0 & _MASK_128);
                oldest = (e1 >> 128) & _MASK_48;
                head = second;
                count = CAPACITY - 1;
            }
            if (count == 0) oldest = nowTs;
            w.entries[(head + count) % CAPACITY] = _SENTINEL | (nowTs << 128) | amount;
            // count <= CAPACITY - 1 here, so count + 1 fits its byte. The new entry is the newest: its time's low bits.
            // (_pack with the tag, in one expression: this is every payment's path.)
            w.header =
                (h & _LENGTH_AND_WARMED) |
                ((h & _MASK_128) + amount) |
                (oldest << 128) |
                (head << 176) |
                ((count + 1) << 184) |
                (tag << _NEWEST_SHIFT);
        }
    }

    /// @dev Drops (in memory) every entry that no longer counts at `nowTs`; returns the updated header.
    function _evict(Window storage w, uint256 h, uint256 nowTs) private view returns (uint256) {
        uint256 count = (h >> 184) & 0xff;
        if (count == 0) return h;
        uint256 len = (h >> 192) & _MASK_32;
        uint256 oldest = (h >> 128) & _MASK_48;
        // Unchecked, and safe: times are below 2^48 and the length below 2^32, so `oldest + len` cannot wrap; `head`
        // and `count` are header bytes, `count` is at least 1 before each decrement. `total` keeps Solidity's check:
        // it is the sum of the live entries, so subtracting one of them cannot go below zero.
        unchecked {
            if (oldest + len > nowTs) return h;
            uint256 head = (h >> 176) & 0xff;
            uint256 total = h & _MASK_128;
            do {
                // An entry expires once `time + length <= now`: it counted for exactly `length` seconds.
                total = _minus(total, w.entries[head] & _MASK_128);
                head = (head + 1) % CAPACITY;
                --count;
                if (count == 0) break;
                oldest = (w.entries[head] >> 128) & _MASK_48;
            } while (oldest + len <= nowTs);
            return _pack(h, total, oldest, head, count);
        }
    }

    /// @dev `a - b` with Solidity's underflow check, for use inside an `unchecked` block.
    function _minus(uint256 a, uint256 b) private pure returns (uint256) {
        return a - b;
    }

    function _pack(
        uint256 h,
        uint256 total,
        uint256 oldest,
        uint256 head,
        uint256 count
    ) private pure returns (uint256) {
        return (h & ~((uint256(1) << 192) - 1)) | total | (oldest << 128) | (head << 176) | (count << 184);
    }

    /// @notice A header word's ring position, entry count and window length (for readers of raw storage: the lens).
    function headerFields(uint256 h) internal pure returns (uint256 head, uint256 count, uint32 len) {
        return ((h >> 176) & 0xff, (h >> 184) & 0xff, uint32((h >> 192) & _MASK_32));
    }

    /// @notice An entry word's time and amount (for readers of raw storage: the lens).
    function entryFields(uint256 e) internal pure returns (uint256 time, uint256 amount) {
        return ((e >> 128) & _MASK_48, e & _MASK_128);
    }
}
