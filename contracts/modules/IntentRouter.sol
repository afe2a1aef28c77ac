// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule} from "../interfaces/IAgentTreasuryModule.sol";
import {AgentWord} from "../libraries/AgentWord.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EscalationQueue} from "./EscalationQueue.sol";

/**
 * @title IntentRouter
 * @notice The agents' entry points: `submit` and `propose` route an authentic intent to exactly one outcome
 * (Promise 6): executed now, queued for co-signers, or denied. `executeQueued` runs a queued intent.
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
abstract contract IntentRouter is EscalationQueue, ReentrancyGuardTransient {
    /// @inheritdoc IAgentTreasuryModule
    function submit(
        Intent calldata intent,
        bytes calldata signature
    ) external nonReentrant returns (bytes32 intentId, Status status) {
        return _accept(intent, signature, false);
    }

    /// @inheritdoc IAgentTreasuryModule
    function propose(
        Intent calldata intent,
        bytes calldata signature
    ) external nonReentrant returns (bytes32 intentId) {
        (intentId, ) = _accept(intent, signature, true);
    }

    /// @inheritdoc IAgentTreasuryModule
    function executeQueued(Intent calldata intent, CosignerSignature[] calldata signatures) external nonReentrant {
        address safe = _requireLive();
        bytes32 intentId = hashIntent(intent);
        IntentRecord storage r = _intents[intentId];
        Status status = _statusOf(r);
        if (status != Status.Queued) revert IntentUnexpectedStatus(intentId, status, _stateBit(Status.Queued));
        if (block.timestamp < r.eta) revert IntentNotReady(intentId, r.eta, block.timestamp);
        // The epoch matched (status Queued), so `intent.agent` is still the live key of this identity.
        (, AgentWord word) = _liveAgent(intent.agent);
        if (word.frozen()) revert AgentIsFrozen(intent.agent);
        Decision memory d = _evaluate(safe, word, intent.target, intent.value, intent.data);
        if (d.reason != DenyReason.None) revert IntentPolicyViolation(intentId, d.reason);
        _requireApprovals(intentId, r, signatures);

        r.status = Status.Executed;
        _chargeEscalated(word.id(), d.asset, d.amount);
        if (d.extraEth != 0) _chargeEscalated(word.id(), address(0), d.extraEth);
        _emitExecuted(intent.rationale, intentId, intent.agent, d, true);
        _executeOnAvatar(intent.value, safe, d.asset, d.amount, d.tokenTransfer, intent.target, intent.data);
    }

    /**
     * @dev Step 1 of a submission: the rejections, which revert and record nothing (Promise 4: nothing moves while
     * paused or for a frozen, expired or removed agent), and the idempotent replay, which returns here.
     */
    function _accept(
        Intent calldata intent,
        bytes calldata signature,
        bool forceQueue
    ) private returns (bytes32, Status) {
        address safe = _requireLive();
        address agent = intent.agent;
        (AgentRecord storage stored, AgentWord word) = _liveAgent(agent);
        if (word.frozen()) revert AgentIsFrozen(agent);
        (bytes32 intentId, uint80 tag, bytes32 original) = _admit(intent, agent, word.id(), signature);
        if (original != bytes32(0)) {
            emit IdempotentReplay(original, agent, intent.idempotencyKey);
            return (original, intentStatus(original));
        }
        return (intentId, _decide(forceQueue, intent, safe, stored, word, intentId, tag));
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
        address target = intent.target;
        bytes32 dataHash = keccak256(intent.data);
        intentId = _authenticate(intent, agent, target, dataHash, signature);
        bytes32 key = intent.idempotencyKey;
        if (key != bytes32(0)) {
            tag = _payloadTag(target, intent.value, dataHash);
            original = _bindKey(id, agent, key, tag, intentId);
        }
    }

    /**
     * @dev Steps 2 and 3: the nonce is consumed, policy and rate limit decide, counters, strikes, windows and
     * records are written, and only an executed intent calls the Safe, last. `word` is the agent's record word and
     * `stored` its slot; `tag` is the payload tag of a keyed intent.
     */
    function _decide(
        bool forceQueue,
        Intent calldata intent,
        address safe,
        AgentRecord storage stored,
        AgentWord word,
        bytes32 intentId,
        uint80 tag
    ) private returns (Status) {
        // {_accept} and {_admit} read agent, target and data through Solidity already, with its checks.
        (address agent, address target, bytes calldata data) = _checkedFields(intent);
        word = _useNonce(word, agent, intent.nonce);
        // Policy reasons come first, then the rate limit, which counts every accepted intent.
        Decision memory d = _evaluate(safe, word, target, intent.value, data);
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
        if (forceQueue || !d.fitsAuto) {
            _queue(intent, word, intentId, tag);
            return Status.Queued;
        }

        // Execute (auto tier). Promise 1: the windows are charged before the Safe is called.
        _chargeAuto(word.id(), d.asset, d.amount);
        if (d.extraEth != 0) _chargeAuto(word.id(), address(0), d.extraEth);
        // SPEC section 5: a keyless auto-executed intent leaves its event and its nonce, not a record.
        if (intent.idempotencyKey != bytes32(0)) _record(intentId, tag, word, Status.Executed, 0, 0);
        _emitExecuted(intent.rationale, intentId, agent, d, false);
        _executeOnAvatar(intent.value, safe, d.asset, d.amount, d.tokenTransfer, target, data);
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
