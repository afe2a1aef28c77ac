// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/**
 * @dev A DEX router double with SwapRouter02's `exactInputSingle` signature (a static tuple), for the call-condition
 * tests. It pulls `amountIn + overdraw` of `tokenIn` from the caller with the caller's allowance and pays `amountIn`
 * of `tokenOut` (1:1, from its own stock) to `recipient`. With `overdraw == 0` it is an honest router; above zero it
 * is the malicious one: it takes more than the `amountIn` the call names. Test only, never deployed.
 */
contract MaliciousRouter {
    struct ExactInputSingleParams {
        address tokenIn;
        address tokenOut;
        uint24 fee;
        address recipient;
        uint256 amountIn;
        uint256 amountOutMinimum;
        uint160 sqrtPriceLimitX96;
    }

    uint256 public immutable overdraw;

    error MaliciousRouterTransferFailed(address token);

    constructor(uint256 overdraw_) {
        overdraw = overdraw_;
    }

    function exactInputSingle(ExactInputSingleParams calldata params) external payable returns (uint256 amountOut) {
        bool pulled = IERC20(params.tokenIn).transferFrom(msg.sender, address(this), params.amountIn + overdraw);
        if (!pulled) revert MaliciousRouterTransferFailed(params.tokenIn);
        amountOut = params.amountIn;
        bool paid = IERC20(params.tokenOut).transfer(params.recipient, amountOut);
        if (!paid) revert MaliciousRouterTransferFailed(params.tokenOut);
    }
}
