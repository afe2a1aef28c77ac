// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";
import {IntentRecord, IntentRecordWord} from "../libraries/IntentRecordWord.sol";

/// @dev Test-only: writes a record as the module does ({IntentRecordWord-store}) and reads it back through the struct.
contract IntentRecordWordHarness {
    mapping(bytes32 => IntentRecord) private _records;

    function pack(
        IAgentTreasuryTypes.Status status,
        uint48 eta,
        uint32 gracePeriod,
        uint32 agentId,
        uint16 epoch,
        uint80 payloadTag
    ) external pure returns (uint256) {
        return IntentRecordWord.pack(status, eta, gracePeriod, agentId, epoch, payloadTag);
    }

    function storeAndRead(bytes32 key, uint256 word) external returns (IntentRecord memory) {
        IntentRecordWord.store(_records[key], word);
        return _records[key];
    }
}
