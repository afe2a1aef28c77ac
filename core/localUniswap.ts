/**
 * What a policy file may say about a local Uniswap v3 (`localUniswap`, chain 31337 only) without the chain or the
 * artifacts: the contract names it may use as call targets and spenders, and the fee tiers a pool may have. The
 * deployment itself (CreateX, the npm artifacts, pools and liquidity) is deploy/uniswap.ts.
 */

/** The names a policy file may use for the local Uniswap contracts (with `localUniswap`). */
export const UNISWAP_CONTRACTS = ["UniswapV3Factory", "NonfungiblePositionManager", "SwapRouter02"] as const;
export type UniswapContractName = (typeof UNISWAP_CONTRACTS)[number];
export type UniswapAddresses = Record<UniswapContractName, string>;

/** The fee tiers UniswapV3Factory enables at construction, with their tick spacing. */
export const FEE_TICK_SPACING: Readonly<Record<number, number>> = { 500: 10, 3000: 60, 10000: 200 };

/** `exactInputSingle` of SwapRouter02, with its parameter names (conditions name its arguments). */
export const EXACT_INPUT_SINGLE =
  "exactInputSingle((address tokenIn,address tokenOut,uint24 fee,address recipient,uint256 amountIn,uint256 amountOutMinimum,uint160 sqrtPriceLimitX96))";
