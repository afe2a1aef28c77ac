// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @title IntentCalldata
 * @notice Pure decoding of an intent's calldata into what it spends. The classification is deliberately
 * conservative: anything that is not a plain ETH payment or an exact ERC-20 `transfer` is a call, and calls that
 * grant spending rights are recognised by selector so that they are denied unless the owner allowed them.
 */
library IntentCalldata {
    /// @dev transfer(address,uint256)
    bytes4 internal constant TRANSFER = 0xa9059cbb;

    /// @dev approve(address,uint256)
    bytes4 internal constant APPROVE = 0x095ea7b3;
    /// @dev increaseAllowance(address,uint256)
    bytes4 internal constant INCREASE_ALLOWANCE = 0x39509351;
    /// @dev permit(address,address,uint256,uint256,uint8,bytes32,bytes32) (EIP-2612)
    bytes4 internal constant PERMIT = 0xd505accf;
    /// @dev permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32) (DAI)
    bytes4 internal constant PERMIT_DAI = 0x8fcbaf0c;
    /// @dev setApprovalForAll(address,bool) (ERC-721, ERC-1155)
    bytes4 internal constant SET_APPROVAL_FOR_ALL = 0xa22cb465;
    /// @dev transferFrom(address,address,uint256)
    bytes4 internal constant TRANSFER_FROM = 0x23b872dd;

    enum Kind {
        EthPayment, // empty data: `value` wei to `target`
        TokenPayment, // transfer(to, amount) on `target`
        Call, // anything else; `value` is spent like an ETH payment
        MalformedTransfer // a non-canonical `transfer`: never a call, always denied (`MalformedCall`)
    }

    /**
     * @notice Classifies calldata. A token payment must be canonical `transfer(address,uint256)`: exactly 68 bytes
     * with a clean address word. The `transfer` selector with any other length, or with dirty high bits in the
     * recipient word, is `MalformedTransfer`: tokens ignore trailing bytes, so a padded transfer would move tokens
     * like a payment and must never pass as an allowed call that is not charged; and a dirty word must be a recorded
     * denial, not a bare revert from the decoder, which would let a probing agent try for free.
     * @return kind What the intent does.
     * @return selector The first four bytes (zero-padded when shorter; zero for an ETH payment).
     * @return to The token recipient for a token payment.
     * @return amount The token amount for a token payment.
     */
    function classify(
        bytes calldata data
    ) internal pure returns (Kind kind, bytes4 selector, address to, uint256 amount) {
        if (data.length == 0) return (Kind.EthPayment, bytes4(0), address(0), 0);
        // The first four bytes; shorter data is zero-padded.
        selector = bytes4(data);
        if (selector == TRANSFER) {
            if (data.length != 68) return (Kind.MalformedTransfer, selector, address(0), 0);
            uint256 toWord;
            (toWord, amount) = abi.decode(data[4:], (uint256, uint256));
            if (toWord > type(uint160).max) return (Kind.MalformedTransfer, selector, address(0), 0);
            return (Kind.TokenPayment, selector, address(uint160(toWord)), amount);
        }
        return (Kind.Call, selector, address(0), 0);
    }

    /// @notice True for calls that grant someone else the right to move the Safe's assets later.
    function isApprovalLike(bytes4 selector) internal pure returns (bool) {
        return
            selector == APPROVE ||
            selector == INCREASE_ALLOWANCE ||
            selector == PERMIT ||
            selector == PERMIT_DAI ||
            selector == SET_APPROVAL_FOR_ALL ||
            selector == TRANSFER_FROM;
    }
}
