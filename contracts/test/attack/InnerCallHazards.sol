// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev Recipients and call targets that fail, or cost, in the ways an inner call can: a revert with a reason, a
 * gas eater, a return-data bomb, a recipient that needs a known amount of gas (for relayer gas griefing), and a
 * contract that would take the Safe over if it ever ran as a delegatecall. Test only, never deployed.
 */

/// @dev Refuses every ETH payment with a custom error.
contract RevertingRecipient {
    error RecipientRefuses(uint256 value);

    receive() external payable {
        revert RecipientRefuses(msg.value);
    }
}

/// @dev Burns all the gas it is given.
contract GasEater {
    uint256 public sink;

    receive() external payable {
        while (true) {
            ++sink;
        }
    }
}

/// @dev Returns (or reverts with) `size` bytes of data: a return-data bomb for whoever copies it.
contract ReturnBomb {
    function bomb(uint256 size) external payable returns (bytes memory) {
        assembly ("memory-safe") {
            return(0, size)
        }
    }

    function revertBomb(uint256 size) external payable {
        assembly ("memory-safe") {
            revert(0, size)
        }
    }
}

/// @dev A recipient whose `receive` does `work` storage writes, so it needs a known amount of gas to succeed.
contract CostlyRecipient {
    uint256 public immutable work;
    uint256 public received;
    mapping(uint256 slot => uint256) private _scratch;

    constructor(uint256 work_) {
        work = work_;
    }

    receive() external payable {
        for (uint256 i; i < work; ++i) _scratch[received * work + i] = i + 1;
        received += msg.value;
    }
}

/**
 * @dev Writes the Safe's critical storage slots (singleton at 0, the modules and owners linked lists at 1 and 2,
 * threshold at 4) in its own context. As a delegatecall from the Safe this would hand the Safe to `attacker`; as
 * the module's plain call it only scribbles on its own storage.
 */
contract SafeTakeover {
    address public immutable attacker;

    event TakeoverRan(address indexed context, address indexed caller);

    constructor(address attacker_) {
        attacker = attacker_;
    }

    function takeover() external payable {
        address a = attacker;
        assembly ("memory-safe") {
            sstore(0, a)
            sstore(4, 1)
        }
        emit TakeoverRan(address(this), msg.sender);
    }
}
