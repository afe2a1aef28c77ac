/**
 * A decoding of an intent's calldata into what it does, as the module classifies it: an ETH payment, a canonical
 * token transfer, an approval-like call, or another call. Built from the bytes alone, never from anybody's
 * description of them (the co-signer's defence against blind signing, sdk/cosigner.ts).
 */
import { Interface, dataLength, dataSlice, getAddress } from "ethers";
import type { Intent } from "./eip712";
import { AssetBook, ETH_ASSET, formatAmount } from "./chain";
import type { AssetInfo, DecodedAction } from "./types";

const TRANSFER = "0xa9059cbb";
const APPROVAL_LIKE: Record<string, string> = {
  "0x095ea7b3": "approve(address,uint256)",
  "0x39509351": "increaseAllowance(address,uint256)",
  "0xd505accf": "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
  "0x8fcbaf0c": "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)",
  "0xa22cb465": "setApprovalForAll(address,bool)",
  "0x23b872dd": "transferFrom(address,address,uint256)",
};

/**
 * True when `data` is `transfer(address,uint256)` as the module accepts it (v3): exactly 68 bytes, and a recipient
 * word whose 12 high bytes are zero. Any other calldata with the transfer selector is Denied `MalformedCall`.
 */
export function isCanonicalTransfer(data: string): boolean {
  if (dataLength(data) !== 68 || dataSlice(data, 0, 4).toLowerCase() !== TRANSFER) return false;
  return BigInt(dataSlice(data, 4, 16)) === 0n;
}

function short(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/**
 * Decodes what an intent does from its target, value and calldata, as the module classifies it
 * (`IntentCalldata.classify`): an ETH payment, an exact 68-byte `transfer`, an approval-like call, or another call.
 * `knownFunctions` are extra function signatures to decode calls with (e.g. "deposit(uint256,address)").
 */
export async function decodeAction(
  intent: Intent,
  assets: AssetBook,
  knownFunctions: readonly string[] = [],
): Promise<DecodedAction> {
  const value = intent.value;
  if (dataLength(intent.data) === 0) {
    const amountFormatted = formatAmount(value, 18);
    return {
      kind: "eth-payment",
      to: intent.target,
      asset: ETH_ASSET,
      amount: value,
      amountFormatted,
      summary: `Pay ${amountFormatted} ETH to ${intent.target}`,
    };
  }
  const selector =
    dataLength(intent.data) >= 4 ? dataSlice(intent.data, 0, 4).toLowerCase() : intent.data.toLowerCase();
  if (selector === TRANSFER && !isCanonicalTransfer(intent.data)) {
    // v3: the module denies it (MalformedCall) rather than guess what it means; never decode it as a payment.
    const length = dataLength(intent.data);
    const why = length === 68 ? "the recipient word has dirty high bits" : `${length} bytes instead of 68`;
    return {
      kind: "call",
      target: intent.target,
      selector,
      function: "transfer(address,uint256)",
      ethValue: value,
      ethValueFormatted: formatAmount(value, 18),
      summary: `Malformed transfer(address,uint256) on ${intent.target} (${why}): not a canonical ERC-20 transfer, so the module denies it (MalformedCall)`,
    };
  }
  if (selector === TRANSFER) return decodeTokenPayment(intent, assets);
  const approval = APPROVAL_LIKE[selector];
  if (approval) return decodeApproval(intent, assets, selector, approval);
  return decodeOtherCall(intent, selector, knownFunctions);
}

/** A canonical `transfer(to, amount)`: a payment in the token (an unknown token is named by its address). */
async function decodeTokenPayment(intent: Intent, assets: AssetBook): Promise<DecodedAction> {
  const value = intent.value;
  const [to, amount] = new Interface(["function transfer(address,uint256)"]).decodeFunctionData(
    "transfer",
    intent.data,
  );
  let asset: AssetInfo;
  try {
    asset = await assets.info(getAddress(intent.target));
  } catch {
    asset = { address: intent.target, symbol: `unknown token ${short(intent.target)}`, decimals: 0 };
  }
  const amountFormatted = formatAmount(amount as bigint, asset.decimals);
  const extra = value > 0n ? ` plus ${formatAmount(value, 18)} ETH sent to the token` : "";
  return {
    kind: "token-payment",
    token: intent.target,
    to: String(to),
    asset,
    amount: amount as bigint,
    amountFormatted,
    ethValue: value,
    summary: `Pay ${amountFormatted} ${asset.symbol} to ${String(to)}${extra}`,
  };
}

/** An approval-like call: who gets spending rights, and for how much when the arguments say. */
async function decodeApproval(
  intent: Intent,
  assets: AssetBook,
  selector: string,
  approval: string,
): Promise<DecodedAction> {
  const iface = new Interface([`function ${approval}`]);
  let spender: string | undefined;
  let amount: bigint | undefined;
  try {
    const args = iface.decodeFunctionData(approval.split("(")[0], intent.data);
    if (approval.startsWith("approve") || approval.startsWith("increaseAllowance"))
      [spender, amount] = [String(args[0]), args[1] as bigint];
    else if (approval.startsWith("setApprovalForAll")) spender = String(args[0]);
    else if (approval.startsWith("permit")) [spender, amount] = [String(args[1]), args[2] as bigint];
    else [spender, amount] = [String(args[1]), args[2] as bigint]; // transferFrom(from, to, amount)
  } catch {
    // Malformed arguments: still an approval-like call; show the raw selector.
  }
  let amountFormatted: string | undefined;
  if (amount !== undefined) {
    const asset = await assets.info(getAddress(intent.target)).catch(() => undefined);
    amountFormatted = asset ? `${formatAmount(amount, asset.decimals)} ${asset.symbol}` : `${amount} base units`;
  }
  return {
    kind: "approval",
    target: intent.target,
    selector,
    function: approval,
    spender,
    amount,
    amountFormatted,
    ethValue: intent.value,
    summary:
      `GRANTS SPENDING RIGHTS: ${approval.split("(")[0]} on ${intent.target}` +
      (spender ? ` to ${spender}` : "") +
      (amountFormatted ? ` for ${amountFormatted}` : ""),
  };
}

/** Any other call, decoded with the first of `knownFunctions` whose selector matches. */
function decodeOtherCall(intent: Intent, selector: string, knownFunctions: readonly string[]): DecodedAction {
  const value = intent.value;
  let fn: string | undefined;
  let args: string[] | undefined;
  for (const signature of knownFunctions) {
    const iface = new Interface([`function ${signature}`]);
    const fragment = iface.getFunction(signature.split("(")[0]);
    if (fragment && fragment.selector.toLowerCase() === selector) {
      fn = fragment.format("sighash");
      try {
        args = iface.decodeFunctionData(fragment, intent.data).map((a) => String(a));
      } catch {
        args = undefined;
      }
      break;
    }
  }
  const ethValueFormatted = formatAmount(value, 18);
  return {
    kind: "call",
    target: intent.target,
    selector,
    function: fn,
    args,
    ethValue: value,
    ethValueFormatted,
    summary:
      `Call ${fn ?? `unknown function ${selector}`} on ${intent.target}` +
      (args ? ` with (${args.join(", ")})` : "") +
      (value > 0n ? `, sending ${ethValueFormatted} ETH` : ""),
  };
}
