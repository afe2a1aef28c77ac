// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAgentTreasuryModule, IAgentTreasuryTypes} from "../interfaces/IAgentTreasuryModule.sol";

/**
 * @dev A contract agent (ERC-1271): it approves a digest when its `signer` signed it and it is in `Approve` mode;
 * in `Refuse` mode it answers with a non-magic value, in `Revert` mode it reverts. Test only, never deployed.
 */
contract MockERC1271Agent {
    enum Mode {
        Approve,
        Refuse,
        Revert
    }

    bytes4 internal constant MAGIC_VALUE = 0x1626ba7e; // bytes4(keccak256("isValidSignature(bytes32,bytes)"))

    address public immutable signer;
    Mode public mode;

    error MockERC1271AgentRefused(bytes32 digest);

    constructor(address signer_) {
        signer = signer_;
    }

    function setMode(Mode mode_) external {
        mode = mode_;
    }

    function isValidSignature(bytes32 digest, bytes calldata signature) external view returns (bytes4) {
        if (mode == Mode.Revert) revert MockERC1271AgentRefused(digest);
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, signature);
        if (mode == Mode.Approve && err == ECDSA.RecoverError.NoError && recovered == signer) return MAGIC_VALUE;
        return 0xffffffff;
    }

    /// @dev Submits as the agent itself, with an empty signature.
    function submitDirect(
        IAgentTreasuryModule module,
        IAgentTreasuryTypes.Intent calldata intent
    ) external returns (bytes32 intentId, IAgentTreasuryTypes.Status status) {
        return module.submit(intent, "");
    }
}
