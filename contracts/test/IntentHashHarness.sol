// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";
import {IntentHash} from "../libraries/IntentHash.sol";

/// @dev Test-only: IntentHash's raw reads on calldata a spec crafts word by word.
contract IntentHashHarness {
    function fields(
        IAgentTreasuryTypes.Intent calldata intent
    ) external pure returns (address agent, address callee, bytes memory data) {
        return IntentHash.checkedFields(intent);
    }

    function reviewFlag(IAgentTreasuryTypes.Intent calldata intent) external pure returns (bool) {
        return IntentHash.reviewFlag(intent);
    }
}
