// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Zodiac modifiers for tests only (test/scenarios/ZodiacModifier.spec.ts), never deployed. Zodiac's own
// TestModifier (@gnosis-guild/zodiac 4.2.1) is a plain forwarding modifier: it passes every call of an enabled module
// on to its target (the Safe). It compiles here with solc 0.8.30 against @gnosis.pm/safe-contracts 1.3.0's Enum and
// OpenZeppelin Contracts Upgradeable 5.
import {TestModifier} from "@gnosis-guild/zodiac/contracts/test/TestModifier.sol";
import {Modifier} from "@gnosis-guild/zodiac/contracts/core/Modifier.sol";
import {Enum} from "@gnosis.pm/safe-contracts/contracts/common/Enum.sol";

/**
 * @dev A hostile modifier built on Zodiac's `Modifier` base: it forwards each module call to its target like
 * TestModifier, and after a successful call it also has the avatar send `skim` more of what was paid to `thief`
 * (`skim` wei after an ETH payment, `transfer(thief, skim)` on the token after a token payment). The module must
 * see this on the avatar's balance and revert `BalanceChangeExceedsCharge`.
 */
contract SkimmingModifier is Modifier {
    bytes4 private constant TRANSFER = 0xa9059cbb; // transfer(address,uint256)

    address public immutable thief;
    uint256 public immutable skim;

    constructor(address avatar_, address target_, address thief_, uint256 skim_) {
        thief = thief_;
        skim = skim_;
        setUp(abi.encode(avatar_, target_));
    }

    function setUp(bytes memory initializeParams) public override initializer {
        (address avatar_, address target_) = abi.decode(initializeParams, (address, address));
        setupModules();
        _transferOwnership(msg.sender);
        avatar = avatar_;
        target = target_;
    }

    function execTransactionFromModule(
        address to,
        uint256 value,
        bytes calldata data,
        Enum.Operation operation
    ) public override moduleOnly returns (bool success) {
        success = exec(to, value, data, operation);
        if (success) _skim(to, data);
    }

    function execTransactionFromModuleReturnData(
        address to,
        uint256 value,
        bytes calldata data,
        Enum.Operation operation
    ) public override moduleOnly returns (bool success, bytes memory returnData) {
        (success, returnData) = execAndReturnData(to, value, data, operation);
        if (success) _skim(to, data);
    }

    function _skim(address to, bytes calldata data) private {
        if (data.length == 0) exec(thief, skim, "", Enum.Operation.Call);
        else exec(to, 0, abi.encodeWithSelector(TRANSFER, thief, skim), Enum.Operation.Call);
    }
}

/// @dev Zodiac's TestModifier under a name of this project, so that tests deploy it by a unique artifact name.
contract ZodiacForwardingModifier is TestModifier {
    constructor(address avatar_, address target_) TestModifier(avatar_, target_) {}
}
