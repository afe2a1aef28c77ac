// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";

/**
 * @title IntentHash
 * @notice The hashes of an intent (SPEC section 4), computed from calldata in scratch memory, and the raw reads of
 * its fields. Each function states its Solidity equivalent. Measured by the review of issue 18 on a keyless auto
 * payment: {structHash}, {checkedFields}, {payloadTag} and {domainSeparator} together with
 * `AvatarCall.execReturnData` save about 1,070 gas a payment; {hashData} saves about 60 (measured when it was
 * written). Unit tests compare every hash with ethers' `TypedDataEncoder` over crafted encodings.
 */
library IntentHash {
    /**
     * @dev `keccak256(data)`, hashed past the free memory pointer without allocating. Solidity's `keccak256(data)`
     * first makes a memory copy, with its bounds checks, and keeps it.
     */
    function hashData(bytes calldata data) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            calldatacopy(m, data.offset, data.length)
            digest := keccak256(m, data.length)
        }
    }

    /**
     * @dev `keccak256(abi.encode(typeHash, nameHash, versionHash, block.chainid, address(this)))`, the EIP-712 domain
     * separator, in scratch memory past the free memory pointer.
     */
    function domainSeparator(
        bytes32 typeHash,
        bytes32 nameHash,
        bytes32 versionHash
    ) internal view returns (bytes32 separator) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            mstore(add(m, 0x20), nameHash)
            mstore(add(m, 0x40), versionHash)
            mstore(add(m, 0x60), chainid())
            mstore(add(m, 0x80), address())
            separator := keccak256(m, 0xa0)
        }
    }

    /**
     * @dev The EIP-712 struct hash of `intent`: `keccak256(abi.encode(typeHash, agent, target, value, keccak256(data),
     * nonce, idempotencyKey, validAfter, validUntil, rationale, review))`. The encoding is the calldata head of
     * `intent` with the `data` offset word replaced by `dataHash`. The narrow fields are taken from the arguments,
     * which the caller read through Solidity (a dirty high bit reverts there) and which overwrite the raw words, so
     * the hash only covers canonical values; the full-word fields (value, nonce, idempotencyKey, rationale) need no
     * validation.
     */
    function structHash(
        bytes32 typeHash,
        IAgentTreasuryTypes.Intent calldata intent,
        address agent,
        address callee,
        bytes32 dataHash,
        uint48 validAfter,
        uint48 validUntil,
        bool review
    ) internal pure returns (bytes32 digest) {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, typeHash)
            calldatacopy(add(m, 0x20), intent, 0x120)
            mstore(add(m, 0x20), agent)
            mstore(add(m, 0x40), callee)
            mstore(add(m, 0x80), dataHash)
            mstore(add(m, 0xe0), validAfter)
            mstore(add(m, 0x100), validUntil)
            mstore(add(m, 0x140), review)
            digest := keccak256(m, 0x160)
        }
    }

    /**
     * @dev The first 80 bits of the payload commitment `keccak256(abi.encode(callee, value, dataHash))` (SPEC section
     * 4, idempotency), which an intent record keeps. Hashed in scratch memory instead of allocating `abi.encode`.
     */
    function payloadTag(address callee, uint256 value, bytes32 dataHash) internal pure returns (uint80) {
        bytes32 payloadHash;
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, callee)
            mstore(add(m, 0x20), value)
            mstore(add(m, 0x40), dataHash)
            payloadHash := keccak256(m, 0x60)
        }
        return uint80(uint256(payloadHash) >> 176);
    }

    /**
     * @dev `(intent.agent, intent.target, intent.data)` read raw, with the checks they need done here: reverts (empty
     * data, as the ABI decoder does) when `agent` or `target` has dirty high bits or `data` does not lie inside the
     * calldata. Solidity's reads repeat these checks through generic
     * helpers on every access (about 300 gas on the submission path, which reads them a second time).
     */
    function checkedFields(
        IAgentTreasuryTypes.Intent calldata intent
    ) internal pure returns (address agent, address callee, bytes calldata data) {
        assembly ("memory-safe") {
            let rawAgent := calldataload(intent)
            let rawCallee := calldataload(add(intent, 0x20))
            let offset := calldataload(add(intent, 0x60))
            // The head of `data` (its length word) and its bytes must end inside the calldata; `offset` and the
            // length are bounded first so the sums cannot wrap.
            let bad := or(shr(160, rawAgent), shr(160, rawCallee))
            bad := or(bad, gt(offset, 0xffffffffffffffff))
            let head := add(intent, offset)
            bad := or(bad, gt(add(head, 0x20), calldatasize()))
            let length := calldataload(head)
            bad := or(bad, or(gt(length, 0xffffffffffffffff), gt(add(add(head, 0x20), length), calldatasize())))
            if bad {
                revert(0, 0)
            }
            agent := rawAgent
            callee := rawCallee
            data.length := length
            data.offset := add(head, 0x20)
        }
    }

    /// @dev `intent.review` read raw; reverts (empty data, as the ABI decoder does) unless the word is 0 or 1.
    function reviewFlag(IAgentTreasuryTypes.Intent calldata intent) internal pure returns (bool flag) {
        assembly ("memory-safe") {
            let raw := calldataload(add(intent, 0x120))
            if gt(raw, 1) {
                revert(0, 0)
            }
            flag := raw
        }
    }
}
