/**
 * The browser's wallet (EIP-1193, `window.ethereum`: MetaMask, Rabby, Frame, a hardware wallet behind them) through
 * viem's `custom` transport, the transport wagmi's injected connector wraps. The page never holds a key: every
 * transaction is sent with `eth_sendTransaction` and every signature made with `eth_signTypedData_v4` by the
 * wallet, after the page has simulated the call (so the module's refusal is shown, decoded, before the wallet asks).
 */
import "viem/window";
import {
  BaseError,
  ContractFunctionRevertedError,
  UserRejectedRequestError,
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  hashTypedData,
} from "viem";
import type { Address, EIP1193Provider, Hex } from "viem";
import { COSIGNER_APPROVAL_TYPES, DOMAIN_NAME, DOMAIN_VERSION, INTENT_TYPES } from "../../sdk/eip712";
import type { SerializedIntent } from "../../sdk/journal";
import { moduleAbi } from "./abi";

export interface Connection {
  account: Address;
  chainId: number;
}

export function injectedProvider(): EIP1193Provider | undefined {
  return typeof window !== "undefined" ? window.ethereum : undefined;
}

function requireProvider(): EIP1193Provider {
  const provider = injectedProvider();
  if (!provider)
    throw new Error(
      "No browser wallet found (window.ethereum): install or unlock MetaMask, Rabby or Frame, then reload.",
    );
  return provider;
}

/** Asks the wallet for an account (the wallet shows its own prompt). */
export async function connectWallet(): Promise<Connection> {
  const provider = requireProvider();
  const accounts = await provider.request({ method: "eth_requestAccounts" });
  if (accounts.length === 0) throw new Error("The wallet gave no account: unlock it and choose one.");
  const chainId = Number(await provider.request({ method: "eth_chainId" }));
  return { account: getAddress(accounts[0]), chainId };
}

/** Calls `onChange` when the wallet switches account or chain; returns the unsubscribe function. */
export function watchWallet(onChange: (c: Connection | undefined) => void): () => void {
  const provider = injectedProvider();
  if (!provider) return () => undefined;
  const refresh = async () => {
    const accounts = await provider.request({ method: "eth_accounts" });
    if (accounts.length === 0) return onChange(undefined);
    const chainId = Number(await provider.request({ method: "eth_chainId" }));
    onChange({ account: getAddress(accounts[0]), chainId });
  };
  const handler = () => void refresh();
  provider.on("accountsChanged", handler);
  provider.on("chainChanged", handler);
  return () => {
    provider.removeListener("accountsChanged", handler);
    provider.removeListener("chainChanged", handler);
  };
}

/** A wallet or module error in one sentence. */
export function errorText(error: unknown): string {
  if (error instanceof BaseError) {
    if (error.walk((e) => e instanceof UserRejectedRequestError))
      return "You declined in the wallet: nothing was sent.";
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError);
    if (revert instanceof ContractFunctionRevertedError && revert.data) {
      const args = (revert.data.args ?? []).map((a) => String(a)).join(", ");
      return `The module refuses: ${revert.data.errorName}(${args}).`;
    }
    return error.shortMessage;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Simulates `functionName(args)` on the module as `account`, then has the wallet send it and waits for the receipt.
 * Returns the transaction hash. Throws (see {@link errorText}) when the module refuses or the wallet declines.
 */
export async function sendModuleCall(
  account: Address,
  module: Address,
  functionName: string,
  args: readonly unknown[],
): Promise<Hex> {
  const provider = requireProvider();
  const publicClient = createPublicClient({ transport: custom(provider), pollingInterval: 500 });
  const walletClient = createWalletClient({ account, transport: custom(provider) });
  await publicClient.simulateContract({ address: module, abi: moduleAbi, functionName, args, account });
  const hash = await walletClient.writeContract({
    address: module,
    abi: moduleAbi,
    functionName,
    args,
    account,
    chain: null,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`Transaction ${hash} reverted.`);
  return hash;
}

/** The module's EIP-712 domain (sdk/eip712.ts: name, version; the chain and the module). */
function domain(chainId: number, module: Address) {
  return { name: DOMAIN_NAME, version: DOMAIN_VERSION, chainId, verifyingContract: module };
}

/** Has the wallet sign `CosignerApproval(intentId, cosignerEra)` with `eth_signTypedData_v4`. */
export async function signCosignerApproval(
  account: Address,
  chainId: number,
  module: Address,
  intentId: Hex,
  cosignerEra: number,
): Promise<Hex> {
  const walletClient = createWalletClient({ account, transport: custom(requireProvider()) });
  return walletClient.signTypedData({
    account,
    domain: domain(chainId, module),
    types: COSIGNER_APPROVAL_TYPES,
    primaryType: "CosignerApproval",
    message: { intentId, cosignerEra },
  });
}

/** The intent as the module's `Intent` struct (numbers as bigint). */
export function intentStruct(i: SerializedIntent) {
  return {
    agent: getAddress(i.agent),
    target: getAddress(i.target),
    value: BigInt(i.value),
    data: i.data as Hex,
    nonce: BigInt(i.nonce),
    idempotencyKey: i.idempotencyKey as Hex,
    validAfter: Number(i.validAfter),
    validUntil: Number(i.validUntil),
    rationale: i.rationale as Hex,
    review: i.review === true,
  };
}

/** The intentId of `intent` (its EIP-712 digest), computed in the page: the id a co-signer approves commits to it. */
export function intentIdOf(chainId: number, module: Address, intent: SerializedIntent): Hex {
  return hashTypedData({
    domain: domain(chainId, module),
    types: INTENT_TYPES,
    primaryType: "Intent",
    message: intentStruct(intent),
  });
}
