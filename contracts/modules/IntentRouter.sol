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
        address agent = intent.agent;
        AgentRecord memory rec = _liveAgent(agent);
        if (rec.frozen) revert AgentIsFrozen(agent);
        (address target, uint256 value, bytes calldata data) = (intent.target, intent.value, intent.data);
        Decision memory d = _evaluate(safe, rec, target, value, data);
        if (d.reason != DenyReason.None) revert IntentPolicyViolation(intentId, d.reason);
        _requireApprovals(intentId, r, signatures);

        r.status = Status.Executed;
        _chargeEscalated(rec.id, d.asset, d.amount);
        if (d.extraEth != 0) _chargeEscalated(rec.id, address(0), d.extraEth);
        emit IntentExecuted(intentId, agent, d.asset, d.to, d.amount, true, intent.rationale);
        _executeOnAvatar(safe, d.asset, d.amount, d.tokenTransfer, target, value, data);
    }

    /// @dev Calldata fields are read (and validated) once here and passed down, never re-read from `intent`.
    function _accept(
        Intent calldata intent,
        bytes calldata signature,
        bool forceQueue
    ) private returns (bytes32 intentId, Status status) {
        // 1. Rejections (Promise 4: nothing moves while paused or for a frozen, expired or removed agent).
        address safe = _requireLive();
        address agent = intent.agent;
        AgentRecord memory rec = _liveAgent(agent);
        if (rec.frozen) revert AgentIsFrozen(agent);
        (address target, uint256 value, bytes calldata data) = (intent.target, intent.value, intent.data);
        bytes32 dataHash = keccak256(data);
        intentId = _authenticate(intent, agent, target, dataHash, signature);
        bytes32 key = intent.idempotencyKey;
        (uint80 tag, bytes32 original) = _replayOf(rec.id, agent, key, target, value, dataHash);
        if (original != bytes32(0)) {
            emit IdempotentReplay(original, agent, key);
            return (original, intentStatus(original));
        }
        _useNonce(rec, agent, intent.nonce);

        // 2. Decide. Policy reasons come first, then the rate limit, which counts every accepted intent.
        Decision memory d = _evaluate(safe, rec, target, value, data);
        if (_countRate(rec) && d.reason == DenyReason.None) d.reason = DenyReason.RateLimited;

        if (d.reason != DenyReason.None) {
            status = Status.Denied;
            _strike(rec, agent);
            _storeAgent(agent, rec);
            _record(intentId, key, tag, rec, status, 0, 0);
            emit IntentDenied(intentId, agent, d.reason, intent.rationale);
            return (intentId, status);
        }
        _storeAgent(agent, rec);
        if (forceQueue || !d.fitsAuto) {
            status = Status.Queued;
            AgentPolicy storage policy = _policies[rec.id];
            uint48 eta = uint48(block.timestamp) + policy.escalationDelay;
            _record(intentId, key, tag, rec, status, eta, policy.gracePeriod);
            emit IntentQueued(intentId, agent, eta, intent);
            return (intentId, status);
        }

        // 3. Execute (auto tier). Promise 1: the windows are charged before the Safe is called.
        status = Status.Executed;
        _chargeAuto(rec.id, d.asset, d.amount);
        if (d.extraEth != 0) _chargeAuto(rec.id, address(0), d.extraEth);
        _record(intentId, key, tag, rec, status, 0, 0);
        emit IntentExecuted(intentId, agent, d.asset, d.to, d.amount, false, intent.rationale);
        _executeOnAvatar(safe, d.asset, d.amount, d.tokenTransfer, target, value, data);
    }
}
