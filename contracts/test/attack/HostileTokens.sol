// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/**
 * @dev Tokens that behave the way real tokens have hurt integrations, for the adversarial scenarios
 * (test/scenarios/). Each differs from a plain ERC-20 in one way. Test only, never deployed.
 */

/// @dev A shares-based rebasing token (stETH/AMPL-style): balances are `shares * index / 1e18` and anyone may
/// rebase. With `rebaseDuringTransfer` set, the token rebases itself inside `transfer`, after moving the shares.
contract RebasingToken {
    uint256 public index = 1e18;
    uint256 public rebaseDuringTransfer; // 0 = off; otherwise the index applied inside transfer
    mapping(address account => uint256) public sharesOf;

    event Transfer(address indexed from, address indexed to, uint256 value);
    event Rebased(uint256 index);

    error RebasingTokenInsufficientShares(address from, uint256 shares, uint256 needed);

    function decimals() external pure returns (uint8) {
        return 18;
    }

    function balanceOf(address account) external view returns (uint256) {
        return (sharesOf[account] * index) / 1e18;
    }

    function mint(address to, uint256 amount) external {
        sharesOf[to] += (amount * 1e18) / index;
        emit Transfer(address(0), to, amount);
    }

    function rebase(uint256 newIndex) external {
        index = newIndex;
        emit Rebased(newIndex);
    }

    function setRebaseDuringTransfer(uint256 newIndex) external {
        rebaseDuringTransfer = newIndex;
    }

    function transfer(address to, uint256 amount) external returns (bool) {
        uint256 shares = (amount * 1e18) / index;
        uint256 held = sharesOf[msg.sender];
        if (held < shares) revert RebasingTokenInsufficientShares(msg.sender, held, shares);
        sharesOf[msg.sender] = held - shares;
        sharesOf[to] += shares;
        emit Transfer(msg.sender, to, amount);
        if (rebaseDuringTransfer != 0) {
            index = rebaseDuringTransfer;
            rebaseDuringTransfer = 0;
            emit Rebased(index);
        }
        return true;
    }
}

/// @dev USDC-style blocklist: transfers from or to a blocked account revert.
contract BlocklistToken is ERC20 {
    mapping(address account => bool) public blocked;

    error BlocklistTokenBlocked(address account);

    constructor() ERC20("Blocklist USD", "BUSD") {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setBlocked(address account, bool value) external {
        blocked[account] = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (blocked[from]) revert BlocklistTokenBlocked(from);
        if (blocked[to]) revert BlocklistTokenBlocked(to);
        super._update(from, to, value);
    }
}

/// @dev A token whose issuer can pause every transfer.
contract PausableToken is ERC20 {
    bool public paused;

    error PausableTokenPaused();

    constructor() ERC20("Pausable USD", "PUSD") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function setPaused(bool value) external {
        paused = value;
    }

    function _update(address from, address to, uint256 value) internal override {
        if (paused) revert PausableTokenPaused();
        super._update(from, to, value);
    }
}

/// @dev The part of ERC-777's recipient hook that the hook token calls.
interface ITokensRecipient {
    function tokensReceived(
        address operator,
        address from,
        address to,
        uint256 amount,
        bytes calldata userData,
        bytes calldata operatorData
    ) external;
}

/**
 * @dev ERC-777-style: every transfer to a contract calls its `tokensReceived` hook after the balances move (as
 * ERC-777 does through the ERC-1820 registry; the registry is left out). This is the hook that drained imBTC's
 * Uniswap v1 pool and Lendf.me in 2020.
 */
contract HookToken is ERC20 {
    constructor() ERC20("Hook Token", "HOOK") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from != address(0) && to.code.length != 0) {
            ITokensRecipient(to).tokensReceived(msg.sender, from, to, value, "", "");
        }
    }
}

/// @dev A plain ERC-721 with open minting: `safeTransferFrom` calls the recipient's `onERC721Received`.
contract AttackNFT is ERC721 {
    constructor() ERC721("Attack NFT", "ANFT") {}

    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }
}

/// @dev A plain ERC-1155 with open minting: `safeTransferFrom` calls the recipient's `onERC1155Received`.
contract AttackMultiToken is ERC1155 {
    constructor() ERC1155("") {}

    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }
}
