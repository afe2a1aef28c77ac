// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryModule} from "../interfaces/IAgentTreasuryModule.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EscalationQueue} from "./EscalationQueue.sol";

/**
 * @title IntentRouter
 * @notice The agents' entry points: `submit` and `propose` route an authentic intent to exactly one outcome
 * (Promise 6): executed now, queued for co-signers, or denied. `executeQueued` runs a queued intent.
 *
 * Order of work in a submission (checks, effects, interactions):
 * 1. Rejections, which revert and record nothing: pause, agent state, validity window, signature, idempotency
 *    conflict, nonce. An idempotent replay returns here.
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
        AgentRecord memory rec = _liveAgent(intent.agent);
        if (rec.frozen) revert AgentIsFrozen(intent.agent);
        Decision memory d = _evaluate(safe, rec, intent.target, intent.value, intent.data);
        if (d.reason != DenyReason.None) revert IntentPolicyViolation(intentId, d.reason);
        _requireApprovals(intentId, r, signatures);

        r.status = Status.Executed;
        _chargeEscalated(rec.id, d.asset, d.amount);
        if (d.extraEth != 0) _chargeEscalated(rec.id, address(0), d.extraEth);
        _execute(safe, intentId, intent, d, true);
    }

    /// @dev Emits the outcome and asks the Safe to act: the last step of both execution paths.
    function _execute(
        address safe,
        bytes32 intentId,
        Intent calldata intent,
        Decision memory d,
        bool escalated
    ) private {
        emit IntentExecuted(intentId, intent.agent, d.asset, d.to, d.amount, escalated, intent.rationale);
        _executeOnAvatar(safe, d.asset, d.amount, d.tokenTransfer, intent);
    }

    /**
     * @dev Step 1 of a submission: the rejections, which revert and record nothing (Promise 4: nothing moves while
     * paused or for a frozen, expired or removed agent), and the idempotent replay, which returns here.
     */
    function _accept(
        Intent calldata intent,
        bytes calldata signature,
        bool forceQueue
    ) private returns (bytes32 intentId, Status status) {
        address safe = _requireLive();
        AgentRecord memory rec = _liveAgent(intent.agent);
        if (rec.frozen) revert AgentIsFrozen(intent.agent);
        uint80 tag;
        {
            bytes32 dataHash;
            bytes32 original;
            (intentId, dataHash) = _authenticate(intent, intent.agent, signature);
            (tag, original) = _replayOf(rec.id, intent, dataHash);
            if (original != bytes32(0)) {
                emit IdempotentReplay(original, intent.agent, intent.idempotencyKey);
                return (original, intentStatus(original));
            }
        }
        status = _decide(safe, intent, rec, intentId, tag, forceQueue);
    }

    /**
     * @dev Steps 2 and 3: the nonce is consumed, policy and rate limit decide, counters, strikes, windows and
     * records are written, and only an executed intent calls the Safe, last. `tag` is the payload tag of a keyed
     * intent.
     */
    function _decide(
        address safe,
        Intent calldata intent,
        AgentRecord memory rec,
        bytes32 intentId,
        uint80 tag,
        bool forceQueue
    ) private returns (Status status) {
        address agent = intent.agent;
        _useNonce(rec, agent, intent.nonce);
        // Policy reasons come first, then the rate limit, which counts every accepted intent.
        Decision memory d = _evaluate(safe, rec, intent.target, intent.value, intent.data);
        if (_countRate(rec) && d.reason == DenyReason.None) d.reason = DenyReason.RateLimited;

        if (d.reason != DenyReason.None) {
            status = Status.Denied;
            _strike(rec, agent);
            _storeAgent(agent, rec);
            _record(intentId, intent.idempotencyKey, tag, rec, status, 0, 0);
            emit IntentDenied(intentId, agent, d.reason, intent.rationale);
            return status;
        }
        _storeAgent(agent, rec);
        if (forceQueue || !d.fitsAuto) {
            _queue(intent, rec, intentId, tag);
            return Status.Queued;
        }

        // Execute (auto tier). Promise 1: the windows are charged before the Safe is called.
        status = Status.Executed;
        _chargeAuto(rec.id, d.asset, d.amount);
        if (d.extraEth != 0) _chargeAuto(rec.id, address(0), d.extraEth);
        _record(intentId, intent.idempotencyKey, tag, rec, status, 0, 0);
        _execute(safe, intentId, intent, d, false);
    }

    /// @dev Records a queued intent with its eta and logs the whole intent, so anyone can rebuild it.
    function _queue(Intent calldata intent, AgentRecord memory rec, bytes32 intentId, uint80 tag) private {
        AgentPolicy storage policy = _policies[rec.id];
        uint48 eta = uint48(block.timestamp) + policy.escalationDelay;
        _record(intentId, intent.idempotencyKey, tag, rec, Status.Queued, eta, policy.gracePeriod);
        emit IntentQueued(intentId, intent.agent, eta, intent);
    }
}
