// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {AgentRecord, AgentWord} from "../libraries/AgentWord.sol";
import {IntentHash} from "../libraries/IntentHash.sol";
import {AgentRegistry} from "./AgentRegistry.sol";

/**
 * @title IntentVerifier
 * @notice EIP-712 hashing of intents and co-signer approvals, signature checks, and ERC-4337-style 2D nonces.
 *
 * Promise 7: the domain binds chainId and this module's address, and the intent binds the agent, so a signature
 * is worthless on any other chain, module or Safe (each Safe has its own module clone).
 * ECDSA signatures go through OpenZeppelin's `tryRecover`, which refuses malleable `s` values and never yields
 * a valid address(0) signer; contract agents and co-signers answer through ERC-1271.
 */
abstract contract IntentVerifier is AgentRegistry {
    /// @dev v3 appended `bool review`: signatures made under the version 2 type no longer verify.
    bytes32 internal constant INTENT_TYPEHASH = keccak256(
        "Intent(address agent,address target,uint256 value,bytes data,uint256 nonce,"
        "bytes32 idempotencyKey,uint48 validAfter,uint48 validUntil,bytes32 rationale,bool review)"
    );

    /// @dev v3: a co-signer's signature names the co-signer era it was made in (EscalationQueue).
    bytes32 internal constant COSIGNER_APPROVAL_TYPEHASH = keccak256(
        "CosignerApproval(bytes32 intentId,uint16 cosignerEra)"
    );

    /// @dev Sequences of lanes other than 0; lane 0 lives in the agent's state slot (one write per payment).
    mapping(uint32 id => mapping(uint192 lane => uint64 sequence)) private _laneNonces;

    /// @dev keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
    bytes32 private constant _DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );
    /// @dev The EIP-712 domain's name and version (ERC-5267 {IAgentTreasuryAdmin-eip712Domain} returns them).
    string internal constant DOMAIN_NAME = "AgentTreasuryModule";
    string internal constant DOMAIN_VERSION = "1";
    bytes32 private constant _NAME_HASH = keccak256(bytes(DOMAIN_NAME));
    bytes32 private constant _VERSION_HASH = keccak256(bytes(DOMAIN_VERSION));

    /// @dev The body of {IAgentTreasuryAdmin-hashIntent}.
    function _hashIntent(Intent calldata intent) internal view returns (bytes32) {
        return
            _digest(
                intent,
                intent.agent,
                intent.target,
                IntentHash.hashData(intent.data),
                intent.validAfter,
                intent.validUntil
            );
    }

    /// @dev The body of {IAgentTreasuryAdmin-domainSeparator}.
    function _domainSeparator() internal view returns (bytes32) {
        // Computed on every use: clones share the implementation's code, and a fork may change the chain id.
        return IntentHash.domainSeparator(_DOMAIN_TYPEHASH, _NAME_HASH, _VERSION_HASH);
    }

    /// @dev The body of {IAgentTreasuryAdmin-hashCosignerApproval}.
    function _hashCosignerApproval(bytes32 intentId) internal view returns (bytes32) {
        return _hashTypedData(keccak256(abi.encode(COSIGNER_APPROVAL_TYPEHASH, intentId, _currentCosignerEra())));
    }

    /// @dev The body of {IAgentTreasuryAdmin-getNonce}.
    function _getNonce(address agent, uint192 lane) internal view returns (uint256) {
        AgentRecord memory rec = _agents[agent];
        uint64 sequence = lane == 0 ? rec.laneZeroNonce : _laneNonces[rec.id][lane];
        return (uint256(lane) << 64) | sequence;
    }

    /// @dev The co-signer set's current era, kept by EscalationQueue.
    function _currentCosignerEra() internal view virtual returns (uint16);

    function _hashTypedData(bytes32 structHash) private view returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(_domainSeparator(), structHash);
    }

    /**
     * @dev Checks the time bounds and the agent's signature; returns the intentId. An empty signature means "the
     * agent is the caller". `agent`, `target` and `dataHash` are the caller's reads of `intent.agent`,
     * `intent.target` and `keccak256(intent.data)`.
     */
    function _authenticate(
        Intent calldata intent,
        address agent,
        address callee,
        bytes32 dataHash,
        bytes calldata signature
    ) internal view returns (bytes32 intentId) {
        uint48 validAfter = intent.validAfter;
        uint48 validUntil = intent.validUntil;
        if (validUntil == 0) revert IntentValidUntilZero(agent);
        if (block.timestamp < validAfter) revert IntentNotYetValid(validAfter, block.timestamp);
        if (block.timestamp > validUntil) revert IntentExpired(validUntil, block.timestamp);
        intentId = _digest(intent, agent, callee, dataHash, validAfter, validUntil);
        if (signature.length == 0) {
            if (msg.sender != agent) revert IntentSenderNotAgent(msg.sender, agent);
        } else if (!_isValidSignature(agent, intentId, signature)) {
            revert IntentSignatureInvalid(agent, intentId);
        }
    }

    /// @dev The EIP-712 digest of `intent` ({IntentHash-structHash}); the narrow fields are the caller's Solidity reads
    /// and `review` is read here, so each is validated once.
    function _digest(
        Intent calldata intent,
        address agent,
        address callee,
        bytes32 dataHash,
        uint48 validAfter,
        uint48 validUntil
    ) private view returns (bytes32) {
        bytes32 structHash = IntentHash.structHash(
            INTENT_TYPEHASH,
            intent,
            agent,
            callee,
            dataHash,
            validAfter,
            validUntil,
            intent.review
        );
        return _hashTypedData(structHash);
    }

    /**
     * @dev ECDSA first (no account access for the common EOA agent), then ERC-1271 for a signer with code.
     * `tryRecover` refuses malleable `s` and invalid `v`, and never returns a usable address(0).
     */
    function _isValidSignature(address signer, bytes32 digest, bytes calldata signature) private view returns (bool) {
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err == ECDSA.RecoverError.NoError && recovered == signer) return true;
        return
            signer.code.length != 0 && SignatureChecker.isValidERC1271SignatureNowCalldata(signer, digest, signature);
    }

    /// @dev True when `signer` approved `intentId` with `signature` (EOA or ERC-1271).
    function _isCosignerSignature(
        address signer,
        bytes32 intentId,
        bytes calldata signature
    ) internal view returns (bool) {
        return _isValidSignature(signer, _hashCosignerApproval(intentId), signature);
    }

    /**
     * @dev Consumes `nonce` for the agent whose record word is `word`. Lane 0 lives in the word (returned updated; the
     * caller writes it back); other lanes in storage here, keyed by identity. Promise 2: each (lane, sequence) is
     * accepted once, in order.
     */
    function _useNonce(AgentWord word, address agent, uint256 nonce) internal returns (AgentWord) {
        uint192 lane = uint192(nonce >> 64);
        uint64 sequence = uint64(nonce);
        // Two separate paths, so the common lane 0 never computes the lane mapping's slot.
        // Checked: a sequence never wraps back to a used value (lane 0 holds 56 bits, other lanes 64).
        if (lane == 0) {
            uint64 expected = word.laneZeroNonce();
            if (sequence != expected) revert IntentNonceMismatch(agent, expected, nonce);
            // `expected` holds 56 bits, so the sum cannot wrap; SafeCast refuses a sequence past 56 bits.
            uint256 next;
            unchecked {
                next = uint256(expected) + 1;
            }
            return word.withLaneZeroNonce(SafeCast.toUint56(next));
        }
        mapping(uint192 => uint64) storage lanes = _laneNonces[word.id()];
        uint64 expectedInLane = lanes[lane];
        if (sequence != expectedInLane) {
            revert IntentNonceMismatch(agent, (uint256(lane) << 64) | expectedInLane, nonce);
        }
        lanes[lane] = expectedInLane + 1;
        return word;
    }
}
