/**
 * A spending tool's arguments turned into the client's request: a payment (asset, to, amount) or a call (target,
 * function with args, or data), checked for what the schema cannot check, and the idempotency key of a request
 * that brings none. Signs nothing.
 */
import {
  AbiCoder,
  FunctionFragment,
  Interface,
  ZeroAddress,
  dataLength,
  getAddress,
  isAddress,
  keccak256,
} from "ethers";
import { AgentClient, AssetInfo, formatAmount, parseAmount } from "../../sdk";
import { ToolArgumentError, fmt } from "./context";
import type { OutcomeOutput, RequestInput } from "./schemas";

/** What the intent does on chain. */
export interface Payload {
  target: string;
  value: bigint;
  data: string;
}

export interface PreparedRequest {
  kind: "payment" | "call";
  payload: Payload;
  /** The request as the client takes it. */
  summary: OutcomeOutput["request"];
  /** The asset the request spends (a payment's asset; for a call, the token of a transfer or the ETH it sends). */
  asset?: AssetInfo;
  /** For the client call. */
  pay?: { asset: string; to: string; amount: string };
  call?: { target: string; function?: string; args?: unknown[]; data?: string; value?: string };
}

const TRANSFER = new Interface(["function transfer(address,uint256)"]);
const ETH: AssetInfo = { address: ZeroAddress, symbol: "ETH", decimals: 18 };

/** A JSON number as a decimal string; exponent forms and negatives are refused. */
function amountText(value: string | number, field: string): string {
  if (typeof value === "string") return value.trim();
  if (!Number.isFinite(value) || value < 0 || /e/i.test(String(value))) {
    throw new ToolArgumentError(`${field} ${value} is not a plain decimal amount: send it as a string like "250.5".`);
  }
  return String(value);
}

/** An address; mixed case must be a valid EIP-55 checksum (a wrong one often means a mistyped address). */
function checkedAddress(value: string, field: string): string {
  if (!isAddress(value)) {
    throw new ToolArgumentError(
      `${field} ${value} has an invalid checksum (its mixed case does not match EIP-55): the address may be mistyped. ` +
        "Copy it again from a trusted source.",
    );
  }
  return getAddress(value);
}

/**
 * The idempotency key of a request without one: a hash of what it does (chain, module, agent, submit or propose,
 * target, value, calldata). Unlike the client's default it leaves out the reason text, because a model that repeats
 * itself rarely repeats its wording: the same payment asked twice, however phrased, pays once.
 */
export function requestKey(
  chainId: bigint,
  module: string,
  agent: string,
  kind: "submit" | "propose",
  p: Payload,
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "uint256", "address", "address", "string", "address", "uint256", "bytes32"],
      ["atg.mcp.request.v1", chainId, module, agent, kind, p.target, p.value, keccak256(p.data)],
    ),
  );
}

/** Turns tool arguments into the client's request, checking what the schema cannot. Signs nothing. */
export async function prepareRequest(
  client: AgentClient,
  tool: string,
  args: RequestInput,
  contracts: Record<string, string> = {},
): Promise<PreparedRequest> {
  const isPayment = args.asset !== undefined || args.to !== undefined || args.amount !== undefined;
  const isCall =
    args.target !== undefined || args.function !== undefined || args.data !== undefined || args.args !== undefined;
  if (isPayment && isCall) {
    throw new ToolArgumentError(
      `${tool}: give either a payment (asset, to, amount) or a call (target, function, args), not both.`,
    );
  }
  if (!isPayment && !isCall) {
    throw new ToolArgumentError(
      `${tool}: give a payment (asset, to, amount) or a call (target, function with args, or data).`,
    );
  }
  return isPayment ? preparePayment(client, tool, args) : prepareCall(client, tool, args, contracts);
}

async function preparePayment(client: AgentClient, tool: string, args: RequestInput): Promise<PreparedRequest> {
  if (args.asset === undefined || args.to === undefined || args.amount === undefined) {
    const missing = (["asset", "to", "amount"] as const).filter((k) => args[k] === undefined);
    throw new ToolArgumentError(`${tool}: a payment needs asset, to and amount; missing ${missing.join(", ")}.`);
  }
  if (args.value !== undefined)
    throw new ToolArgumentError(`${tool}: value belongs to a call; a payment gives its amount in "amount".`);
  const asset = await client.assets.resolve(args.asset);
  const to = checkedAddress(args.to, "to");
  if (to === ZeroAddress) throw new ToolArgumentError("to is the zero address: anything sent there is lost.");
  const amount = amountText(args.amount, "amount");
  const base = parseAmount(amount, asset);
  if (base === 0n) throw new ToolArgumentError("amount is 0: there is nothing to pay.");
  const payload: Payload =
    asset.address === ZeroAddress
      ? { target: to, value: base, data: "0x" }
      : { target: asset.address, value: 0n, data: TRANSFER.encodeFunctionData("transfer", [to, base]) };
  const shown = formatAmount(base, asset.decimals);
  return {
    kind: "payment",
    payload,
    asset,
    summary: {
      tool,
      kind: "payment",
      summary: `pay ${fmt(base, asset)} to ${to}`,
      asset: asset.symbol,
      to,
      amount: shown,
    },
    pay: { asset: asset.address === ZeroAddress ? "ETH" : asset.address, to, amount },
  };
}

/** The checks of a call's arguments that need no chain; returns the target as given. */
function checkCallShape(tool: string, args: RequestInput): string {
  if (args.target === undefined)
    throw new ToolArgumentError(`${tool}: a call needs target (the contract address or token symbol).`);
  if (args.function !== undefined && args.data !== undefined) {
    throw new ToolArgumentError(`${tool}: give either function with args, or data, not both.`);
  }
  if (args.function === undefined && args.data === undefined) {
    throw new ToolArgumentError(
      `${tool}: a call needs function (e.g. "deposit(uint256,address)") with args, or raw data.`,
    );
  }
  if (args.data !== undefined && args.args !== undefined)
    throw new ToolArgumentError(`${tool}: args go with function, not with raw data.`);
  return args.target;
}

/** A call's calldata and its function's signature (undefined for raw data). */
function callData(args: RequestInput): { data: string; signature?: string } {
  if (args.function === undefined) return { data: args.data!.toLowerCase() };
  try {
    const fragment = FunctionFragment.from(args.function);
    return {
      data: new Interface([fragment]).encodeFunctionData(fragment, args.args ?? []),
      signature: fragment.format("sighash"),
    };
  } catch (err) {
    const why = (err as Error).message.split("\n")[0];
    throw new ToolArgumentError(`Cannot encode ${args.function} with args ${JSON.stringify(args.args ?? [])}: ${why}`);
  }
}

async function prepareCall(
  client: AgentClient,
  tool: string,
  args: RequestInput,
  contracts: Record<string, string>,
): Promise<PreparedRequest> {
  const ref = checkCallShape(tool, args);
  // v3: a local contract of the deployment (the local Uniswap's SwapRouter02) is named like a token.
  const named = Object.entries(contracts).find(([name]) => name.toLowerCase() === ref.toLowerCase())?.[1];
  const target = named
    ? getAddress(named)
    : isAddress(ref)
      ? checkedAddress(ref, "target")
      : (await client.assets.resolve(ref)).address;
  if (target === ZeroAddress) throw new ToolArgumentError("target must be a contract, not ETH or the zero address.");
  const value = args.value === undefined ? "0" : amountText(args.value, "value");
  const wei = parseAmount(value, ETH, "value");
  const { data, signature } = callData(args);
  if (dataLength(data) < 4) throw new ToolArgumentError("data must carry at least a 4-byte selector.");
  const what = signature ?? `selector ${data.slice(0, 10)}`;
  // What the call spends, as the module charges it: a token transfer is a payment of the token, any ETH sent is ETH.
  const isTransfer =
    dataLength(data) === 68 && data.slice(0, 10).toLowerCase() === TRANSFER.getFunction("transfer")!.selector;
  const spent = isTransfer
    ? await client.assets.info(target).catch(() => undefined)
    : wei > 0n
      ? await client.assets.info(ZeroAddress)
      : undefined;
  return {
    kind: "call",
    ...(spent ? { asset: spent } : {}),
    payload: { target, value: wei, data },
    summary: {
      tool,
      kind: "call",
      summary: `call ${what} on ${target}${wei > 0n ? ` sending ${value} ETH` : ""}`,
      target,
      ...(signature ? { function: signature } : {}),
      value,
    },
    call: { target, data, value },
  };
}
