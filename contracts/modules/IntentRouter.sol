// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryEntry} from "../interfaces/IAgentTreasuryModule.sol";
import {AgentRecord, AgentWord} from "../libraries/AgentWord.sol";
import {FreeMemory} from "../libraries/FreeMemory.sol";
import {IntentHash} from "../libraries/IntentHash.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EscalationQueue} from "./EscalationQueue.sol";
import {IntentRecord} from "../libraries/IntentRecordWord.sol";

/**
 * @title IntentRouter
 * @notice The agents' entry points: `submit` and `propose` route an authentic intent to exactly one outcome
 * (Promise 6): executed now, queued for co-signers, or denied; `submitBatch` does what `submit` does for many
 * intents, in order, in one transaction. `executeQueued` runs a queued intent.
 *
 * Whether the agent asks for review is part of what it signs (`Intent.review`, v3): `submit` queues a review
 * request like any intent above the auto tier, and `propose` accepts nothing else. So whoever relays an intent
 * cannot turn a review request into a payment, nor a payment into a queued intent.
 *
 * Order of work in a submission (checks, effects, interactions):
 * 1. Rejections, which revert and record nothing: pause, agent state, validity window, signature, idempotency
 *    conflict, nonce. An idempotent replay returns here. A new key is bound before the nonce check (every outcome
 *    binds it); a rejection after that reverts the binding with everything else.
 * 2. Policy and rate limit decide the outcome; nonce, counters, strikes, windows and records are written.
 * 3. Only an executed intent calls the Safe, last, and then checks what left it.
 * Every entry point holds a transient reentrancy lock, so a recipient or target cannot re-enter to spend twice
 * from one window or reuse a nonce.
 */
abstract contract IntentRouter is EscalationQueue, ReentrancyGuardTransient, IAgentTreasuryEntry {
    /// @inheritdoc IAgentTreasuryEntry
    function submit(
        Intent calldata intent,
        bytes calldata signature
    ) external nonReentrant returns (bytes32 intentId, Status status) {
        return _accept(intent, signature);
    }

    /// @inheritdoc IAgentTreasuryEntry
    function submitBatch(
        Intent[] calldata intents,
        bytes[] calldata signatures
    ) external nonReentrant returns (bytes32[] memory intentIds, Status[] memory statuses) {
        uint256 count = intents.length;
        if (signatures.length != count) revert BatchLengthMismatch(count, signatures.length);
        intentIds = new bytes32[](count);
        statuses = new Status[](count);
        for (uint256 i; i < count; ++i) {
            // Exactly what {submit} does, one intent after the other: each intent is checked against the state the
            // ones before it left (slot 0, the agent's record, nonces, keys, windows, strikes are read again), so
            // a rejection anywhere reverts the whole batch and a denial is recorded like any other. What the batch
            // shares is what needs no re-check: the transaction, the lock (held for the whole batch, so no
            // recipient can re-enter between two intents), and storage already warm from an earlier intent.
            uint256 mark = FreeMemory.pointer();
            (intentIds[i], statuses[i]) = _accept(intents[i], signatures[i]);
            // Nothing an intent leaves in memory is read again: releasing it keeps memory (whose cost grows with
            // the square of its size) as small as for one intent, so the gas per payment does not grow with the
            // batch.
            FreeMemory.restore(mark);
        }
    }

    /// @inheritdoc IAgentTreasuryEntry
    function propose(
        Intent calldata intent,
        bytes calldata signature
    ) external nonReentrant returns (bytes32 intentId) {
        if (!intent.review) revert IntentNotForReview(_hashIntent(intent));
        (intentId, ) = _accept(intent, signature);
    }

    /// @inheritdoc IAgentTreasuryEntry
    function approve(bytes32 intentId) external {
        _approve(intentId);
    }

    /// @inheritdoc IAgentTreasuryEntry
    function executeQueued(Intent calldata intent, CosignerSignature[] calldata signatures) external nonReentrant {
        uint256 live = _requireLive();
        bytes32 intentId = _hashIntent(intent);
        IntentRecord storage r = _intents[intentId];
        Status status = _statusOf(r);
        if (status != Status.Queued) revert IntentUnexpectedStatus(intentId, status, _stateBit(Status.Queued));
        if (block.timestamp < r.eta) revert IntentNotReady(intentId, r.eta, block.timestamp);
        // The epoch matched (status Queued), so `intent.agent` is still the live key of this identity.
        (, AgentWord word) = _liveAgent(intent.agent);
        if (word.frozen()) revert AgentIsFrozen(intent.agent);
        Decision memory d = _evaluate(live, word, intent.target, intent.value, intent.data);
        if (d.reason != DenyReason.None) revert IntentPolicyViolation(intentId, d.reason);
        _requireApprovals(intentId, r, signatures);

        r.status = Status.Executed;
        _chargeEscalated(word.id(), d.asset, d.amount);
        if (d.extraEth != 0) _chargeEscalated(word.id(), address(0), d.extraEth);
        _emitExecuted(intent.rationale, intentId, intent.agent, d, true);
        _executeOnAvatar(intent.value, live, d.asset, d.amount, d.tokenTransfer, intent.target, intent.data);
    }

    /**
     * @dev Step 1 of a submission: the rejections, which revert and record nothing (Promise 4: nothing moves while
     * paused or for a frozen, expired or removed agent), and the idempotent replay, which returns here.
     */
    function _accept(Intent calldata intent, bytes calldata signature) private returns (bytes32, Status) {
        uint256 live = _requireLive();
        address agent = intent.agent;
        (AgentRecord storage stored, AgentWord word) = _liveAgent(agent);
        if (word.frozen()) revert AgentIsFrozen(agent);
        (bytes32 intentId, uint80 tag, bytes32 original) = _admit(intent, agent, word.id(), signature);
        if (original != bytes32(0)) {
            emit IdempotentReplay(original, agent, intent.idempotencyKey);
            return (original, _intentStatus(original));
        }
        return (intentId, _decide(intent, live, stored, word, intentId, tag));
    }

    /**
     * @dev The validity window and the signature, then the idempotency key of agent identity `id`, which a new key
     * binds to this intent ({_bindKey}): returns the intentId, the payload tag of a keyed intent, and the original
     * intentId of a replay (else zero).
     */
    function _admit(
        Intent calldata intent,
        address agent,
        uint32 id,
        bytes calldata signature
    ) private returns (bytes32 intentId, uint80 tag, bytes32 original) {
        address callee = intent.target;
        bytes32 dataHash = IntentHash.hashData(intent.data);
        intentId = _authenticate(intent, agent, callee, dataHash, signature);
        bytes32 key = intent.idempotencyKey;
        if (key != bytes32(0)) {
            tag = IntentHash.payloadTag(callee, intent.value, dataHash);
            original = _bindKey(id, agent, key, tag, intentId);
        }
    }

    /**
     * @dev Steps 2 and 3: the nonce is consumed, policy and rate limit decide, counters, strikes, windows and
     * records are written, and only an executed intent calls the Safe, last. `live` is slot 0 ({_requireLive}),
     * `word` the agent's record word and `stored` its slot; `tag` is the payload tag of a keyed intent. A review
     * request (`intent.review`) is queued even when it fits the auto tier.
     *
     * Long, with its parameters in this order, for two builds at once: the IR build (deployed) is cheapest with one
     * body (moving the policy call into a helper of its own cost 314 gas a payment, measured), and the legacy build
     * (coverage, mutation) needs the values it calls with deepest on its stack first.
     */
    function _decide(
        Intent calldata intent,
        uint256 live,
        AgentRecord storage stored,
        AgentWord word,
        bytes32 intentId,
        uint80 tag
    ) private returns (Status) {
        // Raw reads that check what they read (the compiler's reads would repeat its checks, about 300 gas).
        (address agent, address callee, bytes calldata data) = IntentHash.checkedFields(intent);
        word = _useNonce(word, agent, intent.nonce);
        // Policy reasons come first, then the rate limit, which counts every accepted intent.
        Decision memory d = _evaluate(live, word, callee, intent.value, data);
        {
            bool rateLimited;
            (rateLimited, word) = _countRate(word);
            if (rateLimited && d.reason == DenyReason.None) d.reason = DenyReason.RateLimited;
        }

        if (d.reason != DenyReason.None) {
            word = _strike(word, agent);
            _storeAgent(stored, word);
            _record(intentId, tag, word, Status.Denied, 0, 0);
            emit IntentDenied(intentId, agent, d.reason, intent.rationale);
            return Status.Denied;
        }
        _storeAgent(stored, word);
        // `review` is read here rather than with the other fields: one value less on the stack above, which the
        // legacy code generator needs (the IR build is 51 gas cheaper this way too, measured).
        bool review = IntentHash.reviewFlag(intent);
        if (!d.fitsAuto || review) {
            _queue(intent, word, intentId, tag);
            // v3: "no trustworthy price" is the reason on record (never a strike).
            if (_isUnpriced(d.usd)) _reportNoPrice(intentId, d.usd);
            return Status.Queued;
        }

        // Execute (auto tier). Promise 1: the windows are charged before the Safe is called.
        _chargeChecked(live, word.id(), d.asset, d.amount, d.window);
        // ETH sent along a token transfer and (v3) a USD-limited agent's USD value: one test for both.
        if ((d.extraEth | d.usd) != 0) _chargeAlong(live, word.id(), d.extraEth, d.usd);
        // SPEC section 5: a keyless auto-executed intent leaves its event and its nonce, not a record.
        if (intent.idempotencyKey != bytes32(0)) _record(intentId, tag, word, Status.Executed, 0, 0);
        _emitExecuted(intent.rationale, intentId, agent, d, false);
        _executeOnAvatar(intent.value, live, d.asset, d.amount, d.tokenTransfer, callee, data);
        return Status.Executed;
    }

    /// @dev Records a queued intent with its eta and logs the whole intent, so anyone can rebuild it.
    function _queue(Intent calldata intent, AgentWord word, bytes32 intentId, uint80 tag) private {
        AgentPolicy storage policy = _policies[word.id()];
        uint48 eta = uint48(block.timestamp) + policy.escalationDelay;
        _record(intentId, tag, word, Status.Queued, eta, policy.gracePeriod);
        emit IntentQueued(intentId, intent.agent, eta, intent);
    }

    /// @dev The outcome event of both execution paths (its own function keeps the callers' stacks shallow).
    function _emitExecuted(
        bytes32 rationale,
        bytes32 intentId,
        address agent,
        Decision memory d,
        bool escalated
    ) private {
        emit IntentExecuted(intentId, agent, d.asset, d.to, d.amount, escalated, rationale);
    }
}
