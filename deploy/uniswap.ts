/**
 * Uniswap v3 on a local chain, from the npm packages' compiled artifacts (`@uniswap/v3-core` 1.0.1,
 * `@uniswap/v3-periphery` 1.4.4, `@uniswap/swap-router-contracts` 1.3.1), so that a trading agent's swaps are tested
 * against the real pool and router code: `UniswapV3Factory`, `NonfungiblePositionManager` (which adds liquidity) and
 * `SwapRouter02`, plus pools with full-range liquidity at the price their amounts imply.
 *
 * Both periphery contracts are deployed with WETH9 = address(0): they use it only to wrap and unwrap ETH, which these
 * pools (two ERC-20 tokens) never do, and it makes every address a function of the artifacts alone. Through CreateX
 * (the pipeline's deterministic deployments, deploy/create2.ts) the addresses are therefore known before anything is
 * deployed, and a policy file can name them (`"target": "SwapRouter02"`). No Hardhat dependency: an ethers signer is
 * enough.
 */
import fs from "fs";
import { Contract, Interface, InterfaceAbi, Signer, ZeroAddress, concat, getAddress } from "ethers";
import { CREATE2_SALT, CREATEX_ADDRESS, predictCreate2Address } from "./create2";
import {
  EXACT_INPUT_SINGLE,
  FEE_TICK_SPACING,
  UNISWAP_CONTRACTS,
  UniswapAddresses,
  UniswapContractName,
} from "../core/localUniswap";

const ARTIFACT_FILES = {
  UniswapV3Factory: "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
  UniswapV3Pool: "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
  NonfungiblePositionManager:
    "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
  SwapRouter02: "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
} as const;

type ArtifactName = keyof typeof ARTIFACT_FILES;

export { UNISWAP_CONTRACTS, FEE_TICK_SPACING, EXACT_INPUT_SINGLE };
export type { UniswapContractName, UniswapAddresses };

export const SWAP_ROUTER_ABI = [
  `function ${EXACT_INPUT_SINGLE} payable returns (uint256 amountOut)`,
  "function factory() view returns (address)",
];

interface Artifact {
  abi: InterfaceAbi;
  bytecode: string;
}

const cache = new Map<ArtifactName, Artifact>();

/** A Uniswap artifact from node_modules; says what to install when it is missing. */
export function uniswapArtifact(name: ArtifactName): Artifact {
  const known = cache.get(name);
  if (known) return known;
  let file: string;
  try {
    file = require.resolve(ARTIFACT_FILES[name]);
  } catch {
    throw new Error(
      `The compiled Uniswap artifact ${ARTIFACT_FILES[name]} is missing: run npm install (package.json lists ` +
        `@uniswap/v3-core, @uniswap/v3-periphery and @uniswap/swap-router-contracts).`,
    );
  }
  const parsed = JSON.parse(fs.readFileSync(file, "utf8")) as Artifact;
  cache.set(name, parsed);
  return parsed;
}

function initCode(name: ArtifactName, args: unknown[] = []): string {
  const a = uniswapArtifact(name);
  return concat([a.bytecode, new Interface(a.abi).encodeDeploy(args)]);
}

/** Init codes in deployment order; each depends only on the addresses before it. */
function initCodes(at: (code: string) => string): { name: UniswapContractName; code: string }[] {
  const factoryCode = initCode("UniswapV3Factory");
  const factory = at(factoryCode);
  const managerCode = initCode("NonfungiblePositionManager", [factory, ZeroAddress, ZeroAddress]);
  const manager = at(managerCode);
  const routerCode = initCode("SwapRouter02", [ZeroAddress, factory, manager, ZeroAddress]);
  return [
    { name: "UniswapV3Factory", code: factoryCode },
    { name: "NonfungiblePositionManager", code: managerCode },
    { name: "SwapRouter02", code: routerCode },
  ];
}

/** Where CreateX puts the three contracts (the pipeline's salt): known before anything is deployed. */
export function predictUniswapAddresses(): UniswapAddresses {
  const out = {} as UniswapAddresses;
  for (const { name, code } of initCodes(predictCreate2Address)) out[name] = predictCreate2Address(code);
  return out;
}

const CREATEX_ABI = ["function deployCreate2(bytes32 salt, bytes initCode) payable returns (address)"];

/**
 * Deploys the factory, the position manager and SwapRouter02. `"createx"` deploys through CreateX at the predicted
 * addresses and skips what is there already (CreateX must exist: the pipeline deploys it first); `"plain"` deploys
 * with ordinary transactions (tests on the in-process chain).
 */
export async function deployUniswap(
  signer: Signer,
  mode: "createx" | "plain",
  log: (line: string) => void = () => undefined,
): Promise<UniswapAddresses> {
  const provider = signer.provider;
  if (!provider) throw new Error("deployUniswap needs a signer connected to a provider");
  const out = {} as UniswapAddresses;
  if (mode === "createx") {
    if ((await provider.getCode(CREATEX_ADDRESS)) === "0x") {
      throw new Error(
        `CreateX (${CREATEX_ADDRESS}) is not deployed on this chain: deploy the treasury first (treasury:deploy).`,
      );
    }
    const createX = new Contract(CREATEX_ADDRESS, CREATEX_ABI, signer);
    for (const { name, code } of initCodes(predictCreate2Address)) {
      const address = predictCreate2Address(code);
      out[name] = address;
      if ((await provider.getCode(address)) !== "0x") continue;
      log(`deploying ${name} (Uniswap, local) at ${address}`);
      await (await createX.deployCreate2(CREATE2_SALT, code)).wait();
      if ((await provider.getCode(address)) === "0x") throw new Error(`CreateX did not deploy ${name} at ${address}`);
    }
    return out;
  }
  const deployed: Record<string, string> = {};
  // Plain deployments: each address is known only once the one before it is mined.
  const factoryReceipt = await (await signer.sendTransaction({ data: initCode("UniswapV3Factory") })).wait();
  deployed.UniswapV3Factory = getAddress(factoryReceipt!.contractAddress!);
  const managerReceipt = await (
    await signer.sendTransaction({
      data: initCode("NonfungiblePositionManager", [deployed.UniswapV3Factory, ZeroAddress, ZeroAddress]),
    })
  ).wait();
  deployed.NonfungiblePositionManager = getAddress(managerReceipt!.contractAddress!);
  const routerReceipt = await (
    await signer.sendTransaction({
      data: initCode("SwapRouter02", [
        ZeroAddress,
        deployed.UniswapV3Factory,
        deployed.NonfungiblePositionManager,
        ZeroAddress,
      ]),
    })
  ).wait();
  deployed.SwapRouter02 = getAddress(routerReceipt!.contractAddress!);
  for (const name of UNISWAP_CONTRACTS) out[name] = deployed[name];
  return out;
}

/** Integer square root (floor). */
export function sqrt(value: bigint): bigint {
  if (value < 0n) throw new Error("square root of a negative number");
  if (value < 2n) return value;
  let x = value;
  let y = (x + 1n) / 2n;
  while (y < x) {
    x = y;
    y = (x + value / x) / 2n;
  }
  return x;
}

/** The pool price as Uniswap stores it, `sqrt(amount1 / amount0) * 2^96`, for amounts in raw units. */
export function sqrtPriceX96(amount0: bigint, amount1: bigint): bigint {
  if (amount0 <= 0n || amount1 <= 0n) throw new Error("a pool's price needs two positive amounts");
  return sqrt((amount1 << 192n) / amount0);
}

export interface PoolSpec {
  tokenA: string;
  tokenB: string;
  fee: number;
  /** Raw amounts of liquidity; their ratio is the price. */
  amountA: bigint;
  amountB: bigint;
}

export interface PoolResult {
  pool: string;
  token0: string;
  token1: string;
  created: boolean;
  liquidityAdded: boolean;
}

const FACTORY_ABI = [
  "function getPool(address,address,uint24) view returns (address)",
  "function createPool(address,address,uint24) returns (address)",
];
const POOL_ABI = [
  "function slot0() view returns (uint160 sqrtPriceX96,int24 tick,uint16,uint16,uint16,uint8,bool)",
  "function initialize(uint160 sqrtPriceX96)",
  "function liquidity() view returns (uint128)",
];
const MANAGER_ABI = [
  "function mint((address token0,address token1,uint24 fee,int24 tickLower,int24 tickUpper,uint256 amount0Desired,uint256 amount1Desired,uint256 amount0Min,uint256 amount1Min,address recipient,uint256 deadline)) payable returns (uint256 tokenId,uint128 liquidity,uint256 amount0,uint256 amount1)",
];
const ERC20_ABI = [
  "function approve(address,uint256) returns (bool)",
  "function balanceOf(address) view returns (uint256)",
];
const MIN_TICK = -887272;
const MAX_TICK = 887272;

/**
 * Makes sure a pool of `spec` exists, is initialised at the price `amountB / amountA` implies, and holds liquidity:
 * when it has none, the signer provides `amountA` and `amountB` over the full tick range (the signer keeps the
 * position). It must hold them, or `fund` must get them to it (local mocks: mint). Idempotent: an existing pool
 * with liquidity is left as it is.
 */
export async function ensurePool(
  signer: Signer,
  uniswap: UniswapAddresses,
  spec: PoolSpec,
  log: (line: string) => void = () => undefined,
  fund?: (token: string, amount: bigint) => Promise<void>,
): Promise<PoolResult> {
  const spacing = FEE_TICK_SPACING[spec.fee];
  if (spacing === undefined) throw new Error(`fee ${spec.fee} is not a Uniswap v3 fee tier (500, 3000 or 10000)`);
  const [a, b] = [getAddress(spec.tokenA), getAddress(spec.tokenB)];
  const aFirst = BigInt(a) < BigInt(b);
  const [token0, token1] = aFirst ? [a, b] : [b, a];
  const [amount0, amount1] = aFirst ? [spec.amountA, spec.amountB] : [spec.amountB, spec.amountA];
  const factory = new Contract(uniswap.UniswapV3Factory, FACTORY_ABI, signer);
  let pool = getAddress((await factory.getPool(token0, token1, spec.fee)) as string);
  let created = false;
  if (pool === ZeroAddress) {
    log(`creating the Uniswap pool ${token0}/${token1} (fee ${spec.fee})`);
    await (await factory.createPool(token0, token1, spec.fee)).wait();
    pool = getAddress((await factory.getPool(token0, token1, spec.fee)) as string);
    created = true;
  }
  const poolContract = new Contract(pool, POOL_ABI, signer);
  const [price] = (await poolContract.slot0()) as [bigint];
  if (price === 0n) await (await poolContract.initialize(sqrtPriceX96(amount0, amount1))).wait();
  if (((await poolContract.liquidity()) as bigint) > 0n)
    return { pool, token0, token1, created, liquidityAdded: false };

  const owner = await signer.getAddress();
  for (const [token, amount] of [
    [token0, amount0],
    [token1, amount1],
  ] as const) {
    const erc20 = new Contract(token, ERC20_ABI, signer);
    let held = (await erc20.balanceOf(owner)) as bigint;
    if (held < amount && fund) {
      await fund(token, amount - held);
      held = (await erc20.balanceOf(owner)) as bigint;
    }
    if (held < amount)
      throw new Error(`${owner} holds ${held} of ${token}, less than the ${amount} the pool's liquidity needs`);
    await (await erc20.approve(uniswap.NonfungiblePositionManager, amount)).wait();
  }
  log(`adding full-range liquidity to the Uniswap pool ${pool}`);
  const manager = new Contract(uniswap.NonfungiblePositionManager, MANAGER_ABI, signer);
  const block = await signer.provider!.getBlock("latest");
  await (
    await manager.mint({
      token0,
      token1,
      fee: spec.fee,
      tickLower: Math.ceil(MIN_TICK / spacing) * spacing,
      tickUpper: Math.floor(MAX_TICK / spacing) * spacing,
      amount0Desired: amount0,
      amount1Desired: amount1,
      amount0Min: 0n,
      amount1Min: 0n,
      recipient: owner,
      deadline: BigInt((block?.timestamp ?? Math.floor(Date.now() / 1000)) + 3600),
    })
  ).wait();
  return { pool, token0, token1, created, liquidityAdded: true };
}

/** A pool of the policy's `localUniswap` (core/policyResolve.ts resolves it). */
export interface LocalPoolSpec {
  tokenA: { address: string; symbol: string };
  tokenB: { address: string; symbol: string };
  fee: number;
  amountA: bigint;
  amountB: bigint;
}

const MINT_ABI = ["function mint(address to, uint256 amount)"];

/**
 * The pipeline's step for a policy's `localUniswap` (chain 31337 only): the three contracts through CreateX at their
 * predicted addresses, then each pool, its liquidity minted to the signer from the local mock tokens. Returns what
 * changed, in words; nothing when everything is there already.
 */
export async function deployLocalUniswap(
  signer: Signer,
  pools: readonly LocalPoolSpec[],
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  const provider = signer.provider;
  if (!provider) throw new Error("deployLocalUniswap needs a signer connected to a provider");
  const predicted = predictUniswapAddresses();
  const missing: UniswapContractName[] = [];
  for (const name of UNISWAP_CONTRACTS) if ((await provider.getCode(predicted[name])) === "0x") missing.push(name);
  const uniswap = await deployUniswap(signer, "createx", log);
  const changed = missing.map(
    (name) => `deployed ${name} (Uniswap v3 from the npm artifacts, local chain) at ${uniswap[name]}`,
  );
  const mint = async (token: string, amount: bigint) => {
    await (await new Contract(token, MINT_ABI, signer).mint(await signer.getAddress(), amount)).wait();
  };
  for (const pool of pools) {
    const result = await ensurePool(
      signer,
      uniswap,
      {
        tokenA: pool.tokenA.address,
        tokenB: pool.tokenB.address,
        fee: pool.fee,
        amountA: pool.amountA,
        amountB: pool.amountB,
      },
      log,
      mint,
    );
    const name = `${pool.tokenA.symbol}/${pool.tokenB.symbol} (fee ${pool.fee})`;
    if (result.created) changed.push(`created the Uniswap pool ${name} at ${result.pool}`);
    if (result.liquidityAdded) changed.push(`added full-range liquidity to the Uniswap pool ${name}`);
  }
  return changed;
}

/**
 * The addresses of the local contracts a policy with `localUniswap` names (their predicted CreateX addresses), for
 * `resolvePolicy`'s `localContractAddresses`; undefined for a policy without one.
 */
export function localContractAddresses(policy: { localUniswap?: unknown }): Record<string, string> | undefined {
  return policy.localUniswap ? { ...predictUniswapAddresses() } : undefined;
}
