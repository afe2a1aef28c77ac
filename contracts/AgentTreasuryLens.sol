// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule, IAgentTreasuryTypes} from "./interfaces/IAgentTreasuryModule.sol";
import {IAgentTreasuryLens} from "./interfaces/IAgentTreasuryLens.sol";
import {AgentWord} from "./libraries/AgentWord.sol";
import {SlidingWindow} from "./libraries/SlidingWindow.sol";

/**
 * @title AgentTreasuryLens
 * @notice Read-only views over a module's storage, through `extsload`. Stateless and trusted with nothing: a
 * wrong answer here can mislead a reader, never move funds. The storage slots below mirror the module's layout;
 * `test/unit/Lens.spec.ts` checks them against the compiler's storage layout so that they cannot drift.
 */
contract AgentTreasuryLens is IAgentTreasuryLens {
    // Storage slots of AgentTreasuryModule (see the compiler's storageLayout output).
    uint256 internal constant SLOT_AGENTS = 2;
    uint256 internal constant SLOT_POLICIES = 3;
    uint256 internal constant SLOT_ALLOWED_CALLS = 6;
    uint256 internal constant SLOT_RECIPIENTS = 7;
    uint256 internal constant SLOT_WINDOWS = 13;
    uint256 internal constant SLOT_ESCALATED = 14;
    uint256 internal constant SLOT_TREASURY_PER_WINDOW = 15;
    uint256 internal constant SLOT_TREASURY_WINDOWS = 16;
    uint256 internal constant SLOT_PRICE_FEEDS = 17;
    uint256 internal constant SLOT_USD_AUTO = 18;
    uint256 internal constant SLOT_USD_HARD_CAPS = 19;
    uint256 internal constant SLOT_USD_WINDOWS = 20;
    uint256 internal constant SLOT_CALL_CONDITIONS = 22;

    /// @inheritdoc IAgentTreasuryLens
    function strikes(address module, address agent) external view returns (uint256) {
        (, uint256 policy) = _agent(module, agent);
        uint256 window = (policy >> 120) & type(uint32).max; // AgentPolicy.strikeWindow
        if (window == 0) return 0;
        return _count(uint32(policy >> 152), uint8(policy >> 184), uint8(policy >> 192), window);
    }

    /// @inheritdoc IAgentTreasuryLens
    function rateCount(address module, address agent) external view returns (uint256) {
        (uint256 record, uint256 policy) = _agent(module, agent);
        uint256 window = (policy >> 80) & type(uint32).max; // AgentPolicy.rateWindow
        if (window == 0) return 0;
        (uint32 bucket, uint16 prev, uint16 cur) = AgentWord.wrap(record).rate();
        return _count(bucket, prev, cur, window);
    }

    /// @inheritdoc IAgentTreasuryLens
    function treasuryLimit(
        address module,
        address asset
    ) external view returns (uint128 perWindow, uint32 window, uint256 spent) {
        perWindow = uint128(_load(module, _addressSlot(asset, SLOT_TREASURY_PER_WINDOW)));
        if (perWindow == 0) return (0, 0, 0);
        bytes32 base = _addressSlot(asset, SLOT_TREASURY_WINDOWS);
        (, uint256[] memory amounts) = _entries(module, base);
        for (uint256 i; i < amounts.length; ++i) spent += amounts[i];
        (, , window) = SlidingWindow.headerFields(_load(module, base));
    }

    /// @inheritdoc IAgentTreasuryLens
    function escalatedSpent(address module, address agent, address asset) external view returns (uint256) {
        return _load(module, _agentKeySlot(module, agent, asset, SLOT_ESCALATED));
    }

    /// @inheritdoc IAgentTreasuryLens
    function isAllowedCall(
        address module,
        address agent,
        address target,
        bytes4 selector
    ) external view returns (bool) {
        // AgentRegistry.CallRule: | allowed (8) | conditions (8) |
        return _load(module, _callSlot(_agentId(module, agent), target, selector, SLOT_ALLOWED_CALLS)) & 0xff != 0;
    }

    /// @inheritdoc IAgentTreasuryLens
    function callConditions(
        address module,
        address agent,
        address target,
        bytes4 selector
    ) external view returns (IAgentTreasuryTypes.Condition[] memory conditions) {
        uint32 id = _agentId(module, agent);
        uint256 count = (_load(module, _callSlot(id, target, selector, SLOT_ALLOWED_CALLS)) >> 8) & 0xff;
        conditions = new IAgentTreasuryTypes.Condition[](count);
        if (count == 0) return conditions;
        // CallConditions keeps a fixed array per call, two slots per condition: | word (16) | op (8) |, then value.
        uint256 base = uint256(_callSlot(id, target, selector, SLOT_CALL_CONDITIONS));
        bytes32[] memory slots = new bytes32[](2 * count);
        for (uint256 i; i < slots.length; ++i) slots[i] = bytes32(base + i);
        bytes32[] memory words = IAgentTreasuryModule(module).extsload(slots);
        for (uint256 i; i < count; ++i) {
            uint256 head = uint256(words[2 * i]);
            conditions[i] = IAgentTreasuryTypes.Condition(
                uint16(head),
                IAgentTreasuryTypes.Op(uint8(head >> 16)),
                words[2 * i + 1]
            );
        }
    }

    /// @inheritdoc IAgentTreasuryLens
    function isRecipient(address module, address agent, address recipient) external view returns (bool) {
        return _load(module, _agentKeySlot(module, agent, recipient, SLOT_RECIPIENTS)) & 0xff != 0;
    }

    /// @inheritdoc IAgentTreasuryLens
    function spendEntries(
        address module,
        address agent,
        address asset
    ) external view returns (uint256[] memory releaseAt, uint256[] memory amounts) {
        return _entries(module, _agentKeySlot(module, agent, asset, SLOT_WINDOWS));
    }

    /// @inheritdoc IAgentTreasuryLens
    function usdLimit(address module, address agent) external view returns (IAgentTreasuryTypes.UsdLimit memory limit) {
        uint256 record = _load(module, _mapSlot(bytes32(uint256(uint160(agent))), SLOT_AGENTS));
        // AgentRecord.status (Active = 1) and usdLimited; see AgentWord for the bit layout.
        if ((record >> 80) & 0xff != 1 || (record >> 248) == 0) return limit;
        bytes32 id = bytes32((record >> 48) & type(uint32).max);
        uint256 auto_ = _load(module, _mapSlot(id, SLOT_USD_AUTO));
        limit.autoPerTx = uint128(auto_);
        limit.autoPerWindow = uint128(auto_ >> 128);
        limit.window = uint32(_load(module, _mapSlot(id, SLOT_USD_WINDOWS)) >> 192);
        limit.escalatedPerTx = uint128(_load(module, _mapSlot(id, SLOT_USD_HARD_CAPS)));
    }

    /// @inheritdoc IAgentTreasuryLens
    function priceFeed(
        address module,
        address asset
    ) external view returns (address feed, uint32 maxAge, uint8 assetDecimals) {
        uint256 word = _load(module, _mapSlot(bytes32(uint256(uint160(asset))), SLOT_PRICE_FEEDS));
        return (address(uint160(word)), uint32(word >> 160), uint8(word >> 192));
    }

    /// @inheritdoc IAgentTreasuryLens
    function usdSpendEntries(
        address module,
        address agent
    ) external view returns (uint256[] memory releaseAt, uint256[] memory amounts) {
        return _entries(module, _mapSlot(bytes32(uint256(_agentId(module, agent))), SLOT_USD_WINDOWS));
    }

    // ------------------------------------------------------------------ internal

    /// @dev The entries of a SlidingWindow at `base` that count now, with their release times.
    function _entries(
        address module,
        bytes32 base
    ) private view returns (uint256[] memory releaseAt, uint256[] memory amounts) {
        bytes32[] memory slots = new bytes32[](SlidingWindow.CAPACITY + 1);
        for (uint256 i; i <= SlidingWindow.CAPACITY; ++i) slots[i] = bytes32(uint256(base) + i);
        bytes32[] memory words = IAgentTreasuryModule(module).extsload(slots);
        uint256 header = uint256(words[0]);
        (uint256 head, uint256 count, uint256 len) = SlidingWindow.headerFields(header);
        releaseAt = new uint256[](count);
        amounts = new uint256[](count);
        uint256 n;
        for (uint256 i; i < count; ++i) {
            (uint256 time, uint256 amount) = SlidingWindow.entryFields(
                uint256(words[1 + ((head + i) % SlidingWindow.CAPACITY)])
            );
            uint256 release = time + len;
            if (release <= block.timestamp) continue; // expired, not yet evicted on-chain
            releaseAt[n] = release;
            amounts[n] = amount;
            ++n;
        }
        assembly ("memory-safe") {
            mstore(releaseAt, n)
            mstore(amounts, n)
        }
    }

    function _count(uint32 bucket, uint256 prev, uint256 cur, uint256 window) private view returns (uint256) {
        uint256 nowBucket = block.timestamp / ((window + 1) / 2);
        if (nowBucket == bucket) return prev + cur;
        if (nowBucket == uint256(bucket) + 1) return cur;
        return 0;
    }

    /// @dev An agent's hot record (per key) and cold policy (per identity); see AgentRegistry for the bit layout.
    function _agent(address module, address agent) private view returns (uint256 record, uint256 policy) {
        record = _load(module, _addressSlot(agent, SLOT_AGENTS));
        uint256 id = AgentWord.wrap(record).id();
        policy = _load(module, _mapSlot(bytes32(id), SLOT_POLICIES));
    }

    function _agentId(address module, address agent) private view returns (uint32) {
        return AgentWord.wrap(_load(module, _addressSlot(agent, SLOT_AGENTS))).id();
    }

    /// @dev The slot of `m[agentId][key]` for a `mapping(uint32 agentId => mapping(address => ...)) m` at `slot`.
    function _agentKeySlot(address module, address agent, address key, uint256 slot) private view returns (bytes32) {
        bytes32 perAgent = _mapSlot(bytes32(uint256(_agentId(module, agent))), slot);
        return keccak256(abi.encode(key, perAgent));
    }

    /// @dev The slot of a per-call value: mapping(uint32 id => mapping(address target => mapping(bytes4 => ...))).
    function _callSlot(uint32 id, address target, bytes4 selector, uint256 slot) private pure returns (bytes32) {
        bytes32 perTarget = keccak256(abi.encode(target, _mapSlot(bytes32(uint256(id)), slot)));
        return keccak256(abi.encode(selector, perTarget));
    }

    function _mapSlot(bytes32 key, uint256 slot) private pure returns (bytes32) {
        return keccak256(abi.encode(key, slot));
    }

    /// @dev The slot of `m[key]` for a `mapping(address => ...) m` at `slot`.
    function _addressSlot(address key, uint256 slot) private pure returns (bytes32) {
        return _mapSlot(bytes32(uint256(uint160(key))), slot);
    }

    function _load(address module, bytes32 slot) private view returns (uint256) {
        bytes32[] memory slots = new bytes32[](1);
        slots[0] = slot;
        return uint256(IAgentTreasuryModule(module).extsload(slots)[0]);
    }
}
