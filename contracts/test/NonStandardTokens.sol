// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/**
 * @dev Minimal balance bookkeeping shared by the non-standard tokens below. Each token differs from ERC-20 in one
 * way that has hurt real integrations. Test only, never deployed.
 */
abstract contract MiniToken {
    /// @dev Where fees and "extra" transfers go, so that the Safe's outflow is visible and measurable.
    address public constant SINK = address(0xFEE);

    mapping(address account => uint256) public balanceOf;
    uint256 public totalSupply;

    event Transfer(address indexed from, address indexed to, uint256 value);

    error MiniTokenInsufficientBalance(address from, uint256 balance, uint256 needed);

    function decimals() external pure returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        balanceOf[to] += amount;
        totalSupply += amount;
        emit Transfer(address(0), to, amount);
    }

    function _move(address from, address to, uint256 amount) internal {
        uint256 balance = balanceOf[from];
        if (balance < amount) revert MiniTokenInsufficientBalance(from, balance, amount);
        unchecked {
            balanceOf[from] = balance - amount; // balance >= amount, checked above
        }
        balanceOf[to] += amount;
        emit Transfer(from, to, amount);
    }
}

/// @dev USDT-style: `transfer` moves the tokens and returns nothing.
contract NoReturnToken is MiniToken {
    function transfer(address to, uint256 amount) external {
        _move(msg.sender, to, amount);
    }
}

/// @dev Returns false instead of reverting. With `moveAnyway` it even moves the tokens before saying false.
contract FalseReturningToken is MiniToken {
    bool public immutable moveAnyway;

    constructor(bool moveAnyway_) {
        moveAnyway = moveAnyway_;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        if (moveAnyway) _move(msg.sender, to, amount);
        return false;
    }
}

/// @dev Moves the tokens and returns `uint256(answer)`: 1 is a well-formed `true`, anything else is malformed.
contract OddReturnToken is MiniToken {
    uint256 public immutable answer;

    constructor(uint256 answer_) {
        answer = answer_;
    }

    function transfer(address to, uint256 amount) external returns (uint256) {
        _move(msg.sender, to, amount);
        return answer;
    }
}

/**
 * @dev Takes a fee of `feeBps` on every transfer. Deflationary (`feeOnTop` false): the recipient gets
 * `amount - fee` and the sender loses exactly `amount`. Fee on top (`feeOnTop` true): the recipient gets
 * `amount` and the sender loses `amount + fee`, more than it asked to send.
 */
contract FeeOnTransferToken is MiniToken {
    uint256 public immutable feeBps;
    bool public immutable feeOnTop;

    constructor(uint256 feeBps_, bool feeOnTop_) {
        feeBps = feeBps_;
        feeOnTop = feeOnTop_;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        uint256 fee = (amount * feeBps) / 10_000;
        _move(msg.sender, to, feeOnTop ? amount : amount - fee);
        _move(msg.sender, SINK, fee);
        return true;
    }
}

/// @dev A hostile token: `transfer` moves what was asked to the recipient and `extra` more to the sink.
contract OverdrawingToken is MiniToken {
    uint256 public immutable extra;

    constructor(uint256 extra_) {
        extra = extra_;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        _move(msg.sender, to, amount);
        _move(msg.sender, SINK, extra);
        return true;
    }
}

/// @dev A token whose `transfer` is payable: ETH sent along a token payment stays in the token contract.
contract PayableToken is MiniToken {
    function transfer(address to, uint256 amount) external payable returns (bool) {
        _move(msg.sender, to, amount);
        return true;
    }
}

/// @dev A token whose `balanceOf` cannot be read (reverts), so no outflow check is possible.
contract UnreadableBalanceToken {
    error UnreadableBalanceTokenNoBalances();

    function transfer(address, uint256) external pure returns (bool) {
        return true;
    }

    function balanceOf(address) external pure returns (uint256) {
        revert UnreadableBalanceTokenNoBalances();
    }
}
