// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC5267} from "@openzeppelin/contracts/interfaces/IERC5267.sol";

/**
 * @title IAgentTreasuryTypes
 * @notice The types shared by the module, its parts, the factory, the lens and off-chain clients.
 * Field order of `Intent` is part of the EIP-712 type and therefore of every signature: never reorder.
 */
interface IAgentTreasuryTypes {
    /// @notice Lifecycle of an intent. `Expired` is reported for a queued intent past `eta + gracePeriod`.
    enum Status {
        None,
        Executed,
        Queued,
        Denied,
        Cancelled,
        Expired
    }

    /// @notice How an agent's payment recipients are treated.
    enum RecipientMode {
        Any, // any recipient
        Allowlist, // recipients outside the allowlist are denied
        EscalateUnknown // recipients outside the allowlist are queued for co-signers
    }

    /// @notice Why an authentic intent was denied, in the order the checks run.
    enum DenyReason {
        None,
        TargetNotAllowed,
        ApprovalNotAllowed,
        AssetNotAllowed,
        AboveHardCap,
        RecipientNotAllowed,
        RateLimited,
        MalformedCall // v3, appended so earlier values keep their numbers: a non-canonical `transfer`
    }

    /// @notice What an agent asks the treasury to do. The intentId is the EIP-712 digest of this struct.
    struct Intent {
        address agent;
        address target; // ERC-20 token for a token payment, recipient for ETH, contract for a call
        uint256 value; // wei sent with the call
        bytes data; // calldata; empty for a plain ETH payment
        uint256 nonce; // (uint192 lane << 64) | uint64 sequence, as in ERC-4337
        bytes32 idempotencyKey; // 0 = none
        uint48 validAfter;
        uint48 validUntil; // must be non-zero
        bytes32 rationale; // keccak256 of the agent's stated reason; the text stays off-chain
        bool review; // v3: the agent asks for human review; queued even within limits
    }

    /// @notice Per-agent policy. See SPEC section 8.
    struct AgentConfig {
        uint48 validUntil; // the agent key is dead from this second on (0 = no expiry)
        uint32 escalationDelay; // seconds from queueing to eta
        uint32 gracePeriod; // seconds after eta during which a queued intent can run
        uint16 maxIntentsPerWindow; // rate limit (0 = none) ...
        uint32 rateWindow; // ... over this many seconds
        uint8 maxStrikes; // denied intents that freeze the agent (0 = never) ...
        uint32 strikeWindow; // ... within this many seconds
        RecipientMode recipientMode;
    }

    /// @notice Per-agent, per-asset limits. Asset address(0) is ETH.
    struct AssetLimit {
        uint128 autoPerTx;
        uint128 autoPerWindow;
        uint32 window; // seconds, sliding
        uint128 escalatedPerTx; // hard cap even with co-signers
    }

    /**
     * @notice How a call condition (v3) tests one 32-byte argument word of an allowed call: equal to `value`, equal
     * to the avatar (the Safe: a recipient pinned to the treasury), at most or at least `value` (unsigned), or
     * `ChargeAs`: the word is an amount of the asset whose address is `value`, charged to the agent's limits of that
     * asset as if it were a payment. Appended values only, so earlier ones keep their numbers.
     */
    enum Op {
        EqualTo,
        EqualToAvatar,
        LessOrEqual,
        GreaterOrEqual,
        ChargeAs
    }

    /**
     * @notice A condition on an allowed call's arguments (v3): argument word `word` (0 = the 32 bytes right after the
     * selector, so static arguments and the fields of a static tuple sit at fixed words) tested with `op` against
     * `value` (zero for `EqualToAvatar`; the asset's address for `ChargeAs`).
     */
    struct Condition {
        uint16 word;
        Op op;
        bytes32 value;
    }

    /// @notice An agent's limits across every asset together, in USD with 8 decimals (100000000 = $1) (v3). Every
    /// spend is valued with the asset's price feed, rounded up.
    struct UsdLimit {
        uint128 autoPerTx;
        uint128 autoPerWindow;
        uint32 window; // seconds, sliding
        uint128 escalatedPerTx; // hard cap even with co-signers, checked with a trusted price
    }

    /// @notice Why a price could not be trusted (v3). An intent that needs such a price is queued for co-signers,
    /// never executed in the auto tier and never counted as a strike.
    enum PriceFault {
        None,
        NoFeed, // no feed is set for the asset
        FeedReverted, // `latestRoundData()` or `decimals()` reverted
        MalformedAnswer, // fewer bytes than the call returns, or a value outside its type's or the module's range
        NonPositivePrice, // answer <= 0
        IncompleteRound, // updatedAt == 0 or answeredInRound < roundId
        StalePrice // updated more than the feed's maxAge seconds ago
    }

    /// @notice An off-chain co-signer approval: EIP-712 `CosignerApproval(bytes32 intentId,uint16 cosignerEra)`, EOA
    /// or ERC-1271, valid only in the co-signer era it names (v3).
    struct CosignerSignature {
        address signer;
        bytes signature;
    }
}

/**
 * @title IAgentTreasuryEvents
 * @notice The events and errors of the Agent Treasury Guard module, shared by both of its contracts.
 */
interface IAgentTreasuryEvents is IAgentTreasuryTypes {
    // ------------------------------------------------------------------ events: intents

    /// @notice An intent was executed through the Safe: auto tier (`escalated` false) or a queued intent.
    event IntentExecuted(
        bytes32 indexed intentId,
        address indexed agent,
        address indexed asset,
        address to,
        uint256 amount,
        bool escalated,
        bytes32 rationale
    );

    /// @notice An intent waits for co-signers. Carries the whole intent so anyone can rebuild `executeQueued`.
    event IntentQueued(bytes32 indexed intentId, address indexed agent, uint48 eta, Intent intent);

    /// @notice An authentic intent broke policy. The nonce is consumed and the agent takes a strike.
    event IntentDenied(bytes32 indexed intentId, address indexed agent, DenyReason indexed reason, bytes32 rationale);

    /// @notice A co-signer approved a queued intent on-chain.
    event IntentApproved(bytes32 indexed intentId, address indexed cosigner);

    /// @notice A queued intent was cancelled by `by`.
    event IntentCancelled(bytes32 indexed intentId, address indexed by);

    /// @notice A submission repeated an idempotency key with the same payload: nothing new happened.
    event IdempotentReplay(bytes32 indexed intentId, address indexed agent, bytes32 indexed idempotencyKey);

    // ------------------------------------------------------------------ events: emergency

    /// @notice `agent` was frozen by `by` (a guardian or the owner; the module itself when strikes reached the limit).
    /// `reason` is "manual" or "strikes".
    event AgentFrozen(address indexed agent, address indexed by, bytes32 reason);

    /// @notice The owner unfroze `agent` and cleared its strikes.
    event AgentUnfrozen(address indexed agent, address indexed by);

    /// @notice `by` (a guardian or the owner) paused the module: nothing moves until the owner unpauses.
    event Paused(address indexed by);

    /// @notice The owner resumed the module after a pause.
    event Unpaused(address indexed by);

    // ------------------------------------------------------------------ events: configuration

    /// @notice A clone was bound to its Safe, which is its avatar and owner from now on.
    event ModuleInitialized(address indexed avatar);

    /// @notice An agent was registered, re-activated or given a new policy.
    event AgentSet(address indexed agent, AgentConfig config);

    /// @notice An agent was removed: its key is rejected and its queued intents read as cancelled.
    event AgentRemoved(address indexed agent);

    /// @notice An agent's key was replaced; the old key is dead for good.
    event AgentRotated(address indexed oldKey, address indexed newKey);

    /// @notice An agent's limits for `asset` (address(0) = ETH) were set; all zeros removed them.
    event AssetLimitSet(address indexed agent, address indexed asset, AssetLimit limit);

    /// @notice A (target, selector) call was allowed or forbidden for an agent.
    event AllowedCallSet(address indexed agent, address indexed target, bytes4 indexed selector, bool allowed);

    /// @notice The conditions on an agent's (target, selector) call were replaced; an empty list cleared them (v3).
    event CallConditionsSet(
        address indexed agent,
        address indexed target,
        bytes4 indexed selector,
        Condition[] conditions
    );

    /// @notice A known recipient was added to or removed from an agent's list.
    event RecipientSet(address indexed agent, address indexed recipient, bool allowed);

    /// @notice The co-signer set or its threshold changed (a change of members starts a new era).
    event CosignersSet(address[] members, uint256 threshold);

    /// @notice A guardian was enabled or disabled.
    event GuardianSet(address indexed guardian, bool enabled);

    /// @notice The treasury-wide limit of `asset` was set; (0, 0) removed it.
    event TreasuryLimitSet(address indexed asset, uint128 perWindow, uint32 window);

    /// @notice The owner set (or, with feed address(0) and maxAge 0, removed) the USD price feed of an asset (v3).
    event PriceFeedSet(address indexed asset, address feed, uint32 maxAge);
    /// @notice The owner set (or, with all zeros, removed) an agent's USD limit (v3).
    event UsdLimitSet(address indexed agent, UsdLimit limit);

    /// @notice The intent was queued because a price it needed could not be trusted: "no trustworthy price" (v3).
    /// Emitted right after its {IntentQueued}; `asset` is the first asset whose price failed, `fault` says how.
    event NoTrustworthyPrice(bytes32 indexed intentId, address indexed asset, PriceFault fault);

    /// @notice The contract that receives the module's exec calls changed (Zodiac's event; v3).
    event TargetSet(address indexed previousTarget, address indexed newTarget);

    // ------------------------------------------------------------------ errors: access and lifecycle

    /// @notice `initialize` was called on a clone that is bound already, or on an implementation.
    error ModuleAlreadyInitialized();

    /// @notice `initialize` was given address(0) as the avatar.
    error ModuleInvalidAvatar(address avatar);

    /// @notice An owner-only function was called by `caller`; only `owner` (the avatar) may call it.
    error ModuleCallerNotOwner(address caller, address owner);

    /// @notice `pause` or `freezeAgent` was called by `caller`, who is neither a guardian nor the owner.
    error ModuleCallerNotGuardian(address caller);

    /// @notice The module is paused: submit, propose and executeQueued (and a second pause) revert.
    error ModuleIsPaused();

    /// @notice `unpause` was called while the module was not paused.
    error ModuleNotPaused();

    /// @notice `setTarget` was given address(0) or this module (v3).
    error ModuleInvalidTarget(address target);

    // ------------------------------------------------------------------ errors: rejected submissions

    /// @notice `agent` is not an active agent key (never registered, removed or rotated out).
    error AgentUnknown(address agent);

    /// @notice `agent`'s registration ended at `validUntil`; it is `timestamp` now.
    error AgentExpired(address agent, uint48 validUntil, uint256 timestamp);

    /// @notice `agent` is frozen: nothing it signed moves until the owner unfreezes it (also: frozen twice).
    error AgentIsFrozen(address agent);

    /// @notice An intent without a signature was sent by `sender`; only the agent itself may do that.
    error IntentSenderNotAgent(address sender, address agent);

    /// @notice `propose` was called with an intent whose signed `review` flag is false (v3).
    error IntentNotForReview(bytes32 intentId);

    /// @notice The signature is not `agent`'s over `intentId` (ECDSA, non-malleable, or ERC-1271).
    error IntentSignatureInvalid(address agent, bytes32 intentId);

    /// @notice The intent carries nonce `got`; its lane expects `expected` (both as `(lane << 64) | sequence`).
    error IntentNonceMismatch(address agent, uint256 expected, uint256 got);

    /// @notice The intent's `validUntil` is zero: every intent must expire.
    error IntentValidUntilZero(address agent);

    /// @notice The intent is valid from `validAfter`; it is `timestamp` now.
    error IntentNotYetValid(uint48 validAfter, uint256 timestamp);

    /// @notice The intent was valid until `validUntil`; it is `timestamp` now.
    error IntentExpired(uint48 validUntil, uint256 timestamp);

    /// @notice `key` is bound to `originalIntentId`, whose payload differs from this intent's.
    error IdempotencyKeyConflict(address agent, bytes32 key, bytes32 originalIntentId);
    /// @notice `submitBatch` was given a different number of signatures than intents.
    error BatchLengthMismatch(uint256 intents, uint256 signatures);

    // ------------------------------------------------------------------ errors: execution

    /// @notice The Safe's call to `target` failed without revert data (with data, that data is bubbled instead).
    error ExecutionFailed(address target);

    /// @notice `token.transfer` returned something other than nothing or `true`.
    error TokenTransferReturnedFalse(address token);

    /// @notice The Safe's balance of `token` could not be read (no code, a revert or a short answer).
    error TokenBalanceUnreadable(address token);

    /// @notice More of `asset` left the Safe (`actual`) than the intent was charged (`charged`).
    error BalanceChangeExceedsCharge(address asset, uint256 charged, uint256 actual);
    /// @notice A price read failed with too little gas left to tell a faulty feed from a short gas limit: send the
    /// transaction again with more gas (v3). A relayer thus cannot starve the read to force an intent into the queue.
    error PriceReadOutOfGas(address feed);

    // ------------------------------------------------------------------ errors: escalation

    /// @notice The intent is `current`; the call needed one of the statuses whose bit `1 << uint8(status)` is set
    /// in `expectedStates`.
    error IntentUnexpectedStatus(bytes32 intentId, Status current, uint256 expectedStates);

    /// @notice The queued intent's timelock ends at `eta`; it is `timestamp` now.
    error IntentNotReady(bytes32 intentId, uint48 eta, uint256 timestamp);

    /// @notice At execution the queued intent breaks the agent's current policy for `reason`.
    error IntentPolicyViolation(bytes32 intentId, DenyReason reason);

    /// @notice `counted` valid approvals of current co-signers; `required` are needed.
    error ApprovalsInsufficient(bytes32 intentId, uint256 counted, uint256 required);

    /// @notice `signer` (a caller of `approve`, or a signature's signer) is not a current co-signer.
    error CosignerUnknown(address signer);

    /// @notice The signature said to be `signer`'s does not approve `intentId` in the current era.
    error CosignerSignatureInvalid(address signer, bytes32 intentId);

    /// @notice Co-signer signatures must be sorted by signer, strictly ascending: `signer` came after `previous`.
    error CosignerSignaturesUnordered(address previous, address signer);

    /// @notice `cosigner` approved `intentId` already in this era (on-chain, or on-chain and by signature).
    error CosignerAlreadyApproved(bytes32 intentId, address cosigner);

    /// @notice `caller` may not cancel: only a guardian, a co-signer, the owner or the intent's agent may.
    error CancelNotAuthorized(bytes32 intentId, address caller);

    // ------------------------------------------------------------------ errors: configuration

    /// @notice `key` cannot be an agent key: address(0), the avatar, the exec target or this module.
    error AgentKeyInvalid(address key);

    /// @notice `key` was rotated out and can never be an agent key again.
    error AgentKeyRetired(address key);

    /// @notice `key` was an agent key already (of this or another identity): `rotateAgent` needs a fresh key.
    error AgentKeyAlreadyUsed(address key);

    /// @notice `setAgent` was given a zero `gracePeriod`: a queued intent would expire as it became ready.
    error AgentGracePeriodZero(address agent);

    /// @notice `setAgent` was given a rate limit of `maxIntentsPerWindow` without a `rateWindow`.
    error AgentRateWindowZero(address agent, uint16 maxIntentsPerWindow);

    /// @notice `setAgent` was given a strike limit of `maxStrikes` without a `strikeWindow`.
    error AgentStrikeWindowZero(address agent, uint8 maxStrikes);

    /// @notice `setAgent` was given a `validUntil` that is not after `timestamp` (now); 0 means no expiry.
    error AgentValidUntilNotInFuture(address agent, uint48 validUntil, uint256 timestamp);

    /// @notice `setAssetLimit` was given a zero `window` for a limit that is not all zeros (a removal).
    error AssetLimitWindowZero(address agent, address asset);

    /// @notice `setAssetLimit` was given an `autoPerTx` above `autoPerWindow`.
    error AssetLimitAutoAboveWindow(address agent, address asset, uint128 autoPerTx, uint128 autoPerWindow);

    /// @notice `setAssetLimit` was given an `autoPerTx` above the hard cap `escalatedPerTx`.
    error AssetLimitAutoAboveHardCap(address agent, address asset, uint128 autoPerTx, uint128 escalatedPerTx);

    /// @notice `target` can never be an allowed call's target: the avatar, the exec target or this module.
    error TargetForbidden(address target);

    /// @notice `setCallConditions` was given `count` conditions; at most `max` (16) apply to one call (v3).
    error CallConditionsTooMany(uint256 count, uint256 max);

    /// @notice Condition `index` of a `setCallConditions` list has a `value` its `op` cannot use: `EqualToAvatar`
    /// takes zero, `ChargeAs` the address of a token (not zero, which would be ETH: a call's ETH is its `value`,
    /// charged already) (v3).
    error CallConditionInvalid(uint256 index, Op op, bytes32 value);

    /// @notice Conditions `first` and `second` of a `setCallConditions` list both charge (`ChargeAs`); a call charges
    /// at most one argument (v3).
    error CallConditionChargedTwice(uint256 first, uint256 second);

    /// @notice `setCallConditions` was given the `transfer(address,uint256)` selector, which is always a payment and
    /// never an allowed call: conditions on it would never be read (v3).
    error CallConditionsOnPayment(address target, bytes4 selector);

    /// @notice `setGuardian` was given address(0).
    error GuardianInvalid(address guardian);

    /// @notice `member` is address(0) or appears twice in a co-signer set.
    error CosignerInvalid(address member);

    /// @notice A co-signer set of `members` is larger than `max` (20).
    error CosignerSetTooLarge(uint256 members, uint256 max);

    /// @notice `threshold` is 0 or above the `members` of the set.
    error CosignerThresholdInvalid(uint256 threshold, uint256 members);

    /// @notice The co-signer set changed 65,535 times; `era` cannot advance again.
    error CosignerEraExhausted(uint256 era);

    /// @notice `setTreasuryLimit` needs `perWindow` and `window` both zero (removal) or both non-zero.
    error TreasuryLimitInvalid(address asset, uint128 perWindow, uint32 window);
    /// @notice `setUsdLimit` was given inconsistent limits; `rule` names the broken one (v3).
    error UsdLimitInvalid(address agent, bytes32 rule);
    /// @notice `setPriceFeed` was given a feed the module cannot read; `rule` names the problem (v3).
    error PriceFeedInvalid(address asset, address feed, bytes32 rule);
}

/**
 * @title IAgentTreasuryEntry
 * @notice The hot entry points: what agents, relayers and co-signers call to move money. They run in the module's
 * own implementation, so a payment pays for no second dispatch.
 */
interface IAgentTreasuryEntry is IAgentTreasuryEvents {
    // ------------------------------------------------------------------ agents' entry points

    /**
     * @notice Submits an agent-signed intent and routes it: executed now (auto tier), queued for co-signers, or
     * denied. Anyone may relay; an empty `signature` is accepted only from the agent itself. An intent signed with
     * `review = true` is queued even when it fits the auto tier (v3: the request for review is part of what the agent
     * signs, so no relayer can turn it into a payment, or a payment into a queued intent).
     *
     * Requirements (otherwise the call reverts, nothing is recorded and the nonce is not consumed): the module is
     * not paused; the agent is active, unexpired and not frozen; `validAfter <= now <= validUntil` and
     * `validUntil != 0`; the signature is the agent's (ECDSA, non-malleable, or ERC-1271); the nonce is the
     * current nonce of its lane; the idempotency key, if any, is unused or bound to the same payload.
     *
     * A repeated idempotency key with the same payload returns the original intentId and its current status and
     * emits {IdempotentReplay}; nothing else happens.
     *
     * Emits {IntentExecuted}, {IntentQueued} or {IntentDenied} (and {AgentFrozen} when strikes reach the limit).
     * @return intentId The EIP-712 digest of `intent` (or the original intentId on an idempotent replay).
     * @return status `Executed`, `Queued` or `Denied` (or the original intent's current status on a replay).
     */
    function submit(
        Intent calldata intent,
        bytes calldata signature
    ) external returns (bytes32 intentId, Status status);

    /**
     * @notice {submit} for each intent, in order, in one transaction (v3), for any mix of agents: a payroll run
     * pays the transaction's fixed costs once. `signatures[i]` is the signature of `intents[i]`; an empty one is
     * accepted only when the caller is that intent's agent.
     *
     * Every intent is checked and routed exactly as {submit} would at its turn, against the state the intents
     * before it left: windows, the treasury-wide limit, the rate limit and strikes count the earlier intents of the
     * batch; an idempotency key bound earlier in the batch makes a later intent with the same key a replay (same
     * payload) or a conflict; each executed intent calls the Safe and checks the Safe's balance change on its own.
     * The reentrancy lock is held for the whole batch.
     *
     * Requirements: `intents.length == signatures.length`, else {BatchLengthMismatch}; and every intent meets the
     * requirements of {submit} at its turn. A rejection of any intent (anything {submit} would revert on, including
     * an agent that an earlier denial of the same batch froze, and a failing inner call) reverts the whole batch
     * with that intent's error: nothing is recorded, no nonce is consumed. A denial is recorded for its intent as
     * usual (nonce consumed, one strike) and the batch goes on. An empty batch does nothing.
     *
     * Emits, per intent and in order, what {submit} emits: {IntentExecuted}, {IntentQueued}, {IntentDenied} (with
     * {AgentFrozen} when strikes reach the limit) or {IdempotentReplay}.
     * @return intentIds `intentIds[i]` is what {submit} returns for `intents[i]`: its EIP-712 digest, or the
     * original intentId on an idempotent replay.
     * @return statuses `statuses[i]`: `Executed`, `Queued` or `Denied` (or the original's current status on a
     * replay).
     */
    function submitBatch(
        Intent[] calldata intents,
        bytes[] calldata signatures
    ) external returns (bytes32[] memory intentIds, Status[] memory statuses);

    /**
     * @notice Kept for clients: {submit} for an intent signed with `review = true`, which policy queues for
     * co-signers (or denies). Same requirements as {submit}, and:
     *
     * Requirements: `intent.review` is true, else it reverts {IntentNotForReview} (v3).
     *
     * Emits {IntentQueued} or {IntentDenied} (or {IdempotentReplay}).
     */
    function propose(Intent calldata intent, bytes calldata signature) external returns (bytes32 intentId);

    // ------------------------------------------------------------------ escalation

    /**
     * @notice Approves a queued intent on-chain. The intentId commits to every field of the intent.
     *
     * Requirements: caller is a current co-signer and has not approved it yet; the intent is `Queued`.
     *
     * Emits {IntentApproved}.
     */
    function approve(bytes32 intentId) external;

    /**
     * @notice Executes a queued intent once it has `threshold` approvals from current co-signers: on-chain
     * approvals plus `signatures` (EIP-712 `CosignerApproval(bytes32 intentId,uint16 cosignerEra)` made in the
     * current era, signers strictly ascending).
     * Anyone may call it.
     *
     * Requirements: the module is not paused; the intent is `Queued` (not cancelled, not expired);
     * `eta <= now < eta + gracePeriod`; the agent key is active, unexpired and not frozen; the intent is still
     * within the agent's current hard cap, allowed calls and recipient allowlist.
     *
     * Emits {IntentExecuted} with `escalated` true. A failing inner call reverts and leaves the intent queued.
     */
    function executeQueued(Intent calldata intent, CosignerSignature[] calldata signatures) external;
}

/**
 * @title IAgentTreasuryAdmin
 * @notice Set-up, cancellation, emergency controls, configuration and views: everything but the hot entry points.
 * The module's implementation reaches them by delegatecall to its admin implementation, so they share the module's
 * storage and address.
 */
interface IAgentTreasuryAdmin is IAgentTreasuryEvents, IERC5267 {
    /**
     * @notice Binds a fresh clone to its Safe, which becomes its avatar and owner. Called once, by the factory,
     * in the transaction that creates the clone.
     *
     * Requirements: the clone is not initialised; `avatar` is not address(0). The implementation can never be
     * initialised (its constructor marks it initialised).
     *
     * Emits {ModuleInitialized}.
     */
    function initialize(address avatar) external;

    /**
     * @notice Cancels a queued intent.
     *
     * Requirements: caller is a guardian, a co-signer, the owner, or the intent's agent; the intent is `Queued`.
     *
     * Emits {IntentCancelled}.
     */
    function cancel(bytes32 intentId) external;

    // ------------------------------------------------------------------ emergency controls

    /// @notice Stops submit, submitBatch, propose and executeQueued. Guardian or owner. Emits {Paused}.
    function pause() external;

    /// @notice Resumes after a pause. Owner only. Emits {Unpaused}.
    function unpause() external;

    /// @notice Freezes an agent: nothing it signed moves until the owner unfreezes it. Guardian or owner.
    /// Emits {AgentFrozen}.
    function freezeAgent(address agent) external;

    /// @notice Unfreezes an agent and clears its strikes. Owner only. Emits {AgentUnfrozen}.
    function unfreezeAgent(address agent) external;

    // ------------------------------------------------------------------ configuration (owner only)

    /**
     * @notice Registers an agent or updates its policy. A removed agent comes back with its nonces and
     * idempotency records intact, so old signatures stay spent.
     *
     * Requirements: owner; `agent` is not address(0), the Safe or this module, and not a rotated-out key;
     * `gracePeriod != 0`; a rate or strike limit comes with a non-zero window; `validUntil` is 0 or in the future.
     *
     * Emits {AgentSet}.
     */
    function setAgent(address agent, AgentConfig calldata config) external;

    /// @notice Removes an agent: its key is rejected and its queued intents read as cancelled. Nonces, idempotency
    /// records and spend history are kept. Owner only. Emits {AgentRemoved}.
    function removeAgent(address agent) external;

    /**
     * @notice Replaces an agent's key. The new key inherits policy, limits, nonces, idempotency records and spend
     * history; the old key is dead at once and for good, and its queued intents can no longer execute.
     *
     * Requirements: owner; `oldKey` is active; `newKey` was never used as an agent key.
     *
     * Emits {AgentRotated}.
     */
    function rotateAgent(address oldKey, address newKey) external;

    /**
     * @notice Sets an agent's limits for one asset (address(0) = ETH); all zeros removes the limit. Spend history
     * is kept across changes, so a change never refreshes a window.
     *
     * Requirements: owner; the agent is active; unless all zeros: `autoPerTx <= autoPerWindow`,
     * `autoPerTx <= escalatedPerTx`, `window != 0`.
     *
     * Emits {AssetLimitSet}.
     */
    function setAssetLimit(address agent, address asset, AssetLimit calldata limit) external;

    /// @notice Allows or forbids a (target, selector) call for an agent. Owner only; the Safe and this module are
    /// never valid targets. Conditions set with {setCallConditions} stay in place. Emits {AllowedCallSet}.
    function setAllowedCall(address agent, address target, bytes4 selector, bool allowed) external;

    /**
     * @notice Replaces the conditions on an agent's (target, selector) call (v3); an empty list clears them. A call
     * with conditions runs only when its arguments meet every one of them, else it is denied `TargetNotAllowed`
     * (so is a call too short to hold a word a condition names). A `ChargeAs` condition makes the call spend: its
     * argument is charged to the agent's limits of that asset like a payment (auto tier, queue, hard cap, windows,
     * treasury-wide limit; no limit for the asset: `AssetNotAllowed`, even for a charge of zero, which moves nothing
     * and so never waits for co-signers), its ETH `value` to the ETH limits beside it,
     * and after the call the Safe's balance of the asset may have fallen by at most the charged amount.
     * Conditions belong to the agent identity (rotation keeps them) and outlive `setAllowedCall(..., false)`: they
     * apply again if the call is allowed again. They never make a call allowed. Conditions read fixed words, so they
     * suit static arguments and static tuples (a DEX router's `exactInputSingle`); a dynamic argument's word is its
     * offset.
     *
     * Requirements: owner; the agent is active; `target` is not the Safe, the exec target or this module; `selector`
     * is not `transfer(address,uint256)`; at most 16 conditions; `EqualToAvatar` with value zero; `ChargeAs` with a
     * token's address as value, and at most one of them.
     *
     * Emits {CallConditionsSet}.
     */
    function setCallConditions(
        address agent,
        address target,
        bytes4 selector,
        Condition[] calldata conditions
    ) external;

    /// @notice Adds or removes a known recipient for an agent. Owner only. Emits {RecipientSet}.
    function setRecipient(address agent, address recipient, bool allowed) external;

    /**
     * @notice Replaces the co-signer set. Any change of the members (or of their order) starts a new era: every
     * pending on-chain approval stops counting at once, so a removed co-signer's approvals are void and stay void
     * if it is added again; the remaining co-signers approve again or sign. A change of the threshold alone keeps
     * the era.
     *
     * Requirements: owner; 1 to 20 distinct non-zero members; `1 <= threshold <= members.length`; fewer than
     * 65,535 membership changes over the module's life.
     *
     * Emits {CosignersSet}.
     */
    function setCosigners(address[] calldata members, uint256 threshold) external;

    /// @notice Enables or disables a guardian. Owner only. Emits {GuardianSet}.
    function setGuardian(address guardian, bool enabled) external;

    /**
     * @notice Sets the contract that receives the module's exec calls (Zodiac's `target`): a modifier such as
     * Delay or Roles that forwards to the avatar, or the avatar itself to undo it. Balance checks keep reading the
     * avatar, and the target is never a valid intent target (v3).
     *
     * Requirements: owner; `newTarget` is not address(0) and not this module.
     *
     * Emits {TargetSet}.
     */
    function setTarget(address newTarget) external;

    /**
     * @notice Sets the treasury-wide sliding limit for an asset across all agents' auto-tier spend. An intent
     * that would cross it is queued. (0, 0) removes the limit.
     *
     * Requirements: owner; `perWindow` and `window` both zero or both non-zero.
     *
     * Emits {TreasuryLimitSet}.
     */
    function setTreasuryLimit(address asset, uint128 perWindow, uint32 window) external;

    /**
     * @notice Sets the Chainlink `AggregatorV3Interface` feed that prices `asset` (address(0) = ETH) in USD for the
     * agents' USD limits, and how old its answer may be; feed address(0) removes it (v3). The module reads the
     * asset's decimals here (18 for ETH) and the feed's `decimals()` at every valuation: it never assumes them.
     *
     * Requirements: owner; to set a feed: `maxAge != 0`, the feed has code and answers `decimals()` with at most 36,
     * and the asset (a token) answers `decimals()` with at most 36.
     *
     * Emits {PriceFeedSet} (a removal logs feed and maxAge zero).
     */
    function setPriceFeed(address asset, address feed, uint32 maxAge) external;

    /**
     * @notice Sets an agent's USD limit across every asset; all zeros removes it (the USD spend history stays, as
     * for asset limits) (v3). While set, every spend of the agent is valued in USD (rounded up) and must fit both
     * its asset limit and this limit to run in the auto tier; a spend whose price cannot be trusted is queued.
     *
     * Requirements: owner; the agent is active; unless all zeros: `autoPerTx <= autoPerWindow`,
     * `autoPerTx <= escalatedPerTx`, `window != 0`.
     *
     * Emits {UsdLimitSet}.
     */
    function setUsdLimit(address agent, UsdLimit calldata limit) external;

    // ------------------------------------------------------------------ views

    /**
     * @notice Reads raw storage slots of this module, for {AgentTreasuryLens} and off-chain tools. Everything in a
     * contract's storage is public on-chain anyway; this only makes batch reads cheap and keeps read-only
     * conveniences out of the module's code size.
     */
    function extsload(bytes32[] calldata slots) external view returns (bytes32[] memory values);

    /// @notice The Safe this module acts for: it holds the funds and owns the module.
    function avatar() external view returns (address);

    /// @notice The contract that receives the module's exec calls: the avatar unless the owner called {setTarget}.
    function target() external view returns (address);

    /// @notice The co-signer set's era: it starts a new value at every change of the members, and a
    /// `CosignerApproval` signature counts only in the era it names (v3).
    function cosignerEra() external view returns (uint16);

    /// @notice The EIP-712 digest of an intent: its intentId.
    function hashIntent(Intent calldata intent) external view returns (bytes32);

    /// @notice The EIP-712 domain separator (name "AgentTreasuryModule", version "1", chainId, this module).
    function domainSeparator() external view returns (bytes32);

    /// @notice The digest a co-signer signs to approve `intentId` off-chain in the current co-signer era.
    function hashCosignerApproval(bytes32 intentId) external view returns (bytes32);

    /// @notice The next nonce of an agent's lane: `(lane << 64) | sequence`.
    function getNonce(address agent, uint192 lane) external view returns (uint256);

    /// @notice The intentId and payload commitment bound to `(agent, key)`; zeros when unused. `payloadHash` is the
    /// first 10 bytes of `keccak256(abi.encode(target, value, keccak256(data)))`, the rest zero: the record keeps
    /// an 80-bit commitment beside the intent's status so that a keyed payment costs one record slot besides the
    /// key slot.
    function idempotencyRecord(
        address agent,
        bytes32 key
    ) external view returns (bytes32 intentId, bytes32 payloadHash);

    /// @notice An intent's status (see SPEC section 5 for which intents have an exact record).
    function intentStatus(bytes32 intentId) external view returns (Status);

    /// @notice An intent's record: agent key, eta, current valid approvals and status.
    function intent(
        bytes32 intentId
    ) external view returns (address agent, uint48 eta, uint256 approvals, Status status);

    /// @notice Whether `cosigner` has a valid on-chain approval for `intentId`.
    function hasApproved(bytes32 intentId, address cosigner) external view returns (bool);

    /// @notice An active agent's configuration; all zeros for an unknown, removed or rotated-out key.
    function agentConfig(address agent) external view returns (AgentConfig memory);

    /// @notice True while `agent` is registered, not removed, not rotated out.
    function isAgent(address agent) external view returns (bool);

    /// @notice An agent's limits for `asset` (address(0) = ETH); all zeros when it has none.
    function assetLimit(address agent, address asset) external view returns (AssetLimit memory);

    /// @notice True while `agent` is an active key and frozen.
    function isFrozen(address agent) external view returns (bool);

    /// @notice True while the module is paused.
    function paused() external view returns (bool);

    /// @notice The current co-signers, in the order set (a co-signer's index is its approval bit).
    function cosigners() external view returns (address[] memory);

    /// @notice How many current co-signers must approve a queued intent.
    function threshold() external view returns (uint256);

    /// @notice True while `account` is an enabled guardian.
    function isGuardian(address account) external view returns (bool);

    /// @notice What the agent can still spend of `asset` in the auto tier now: `autoPerWindow` minus its auto
    /// spend over the last `window` seconds, never negative. Ignores `autoPerTx`, the treasury-wide limit, pause
    /// and freeze; 0 for an unknown or removed agent.
    function availableAllowance(address agent, address asset) external view returns (uint256);

    /// @notice What the agent can still spend in USD (8 decimals) in the auto tier now, across every asset:
    /// `autoPerWindow` of its USD limit minus its USD spend over the last `window` seconds, never negative (v3).
    /// 0 for an agent without a USD limit and for an unknown or removed agent.
    function availableUsdAllowance(address agent) external view returns (uint256);

    /// @notice What `amount` of `asset` is worth in USD (8 decimals, rounded up) by the module's own rules now, or
    /// why its price cannot be trusted (then `usd` is 0) (v3).
    function usdValue(address asset, uint256 amount) external view returns (uint256 usd, PriceFault fault);
}

/**
 * @title IAgentTreasuryModule
 * @notice Every external function, event and error of the Agent Treasury Guard module, documented.
 *
 * Trust model, in short:
 * - The Safe (avatar) is the owner: its owners' multisig alone configures, unpauses and unfreezes.
 * - An agent key can move at most its auto-tier caps per sliding window, without any human; anything above
 *   waits for `threshold` current co-signers and a timelock. A stolen agent key is bounded by its caps.
 * - Guardians can only restrict (pause, freeze, cancel). Relayers are untrusted gas payers.
 *
 * The module is two contracts behind one address ({IAgentTreasuryEntry} and {IAgentTreasuryAdmin}); this
 * interface is the whole of it, the ABI that clients use.
 */
interface IAgentTreasuryModule is IAgentTreasuryEntry, IAgentTreasuryAdmin {
    // The errors of OpenZeppelin code the module runs, declared again here (and only here: the implementations
    // inherit OpenZeppelin's own declarations) so that clients decode every revert from this one ABI.

    /// @notice A call re-entered an entry point while one was running (OpenZeppelin's ReentrancyGuardTransient).
    error ReentrancyGuardReentrantCall();

    /// @notice A value did not fit the type it was cast to (OpenZeppelin's SafeCast): a nonce lane's sequence.
    error SafeCastOverflowedUintDowncast(uint8 bits, uint256 value);
}
