/**
 * A browser wallet for the console's end-to-end test: an EIP-1193 provider injected as `window.ethereum` before
 * the page loads, backed by the accounts a `hardhat node` holds unlocked. The page's requests are forwarded
 * through a function Playwright exposes to the page: `eth_requestAccounts` / `eth_accounts` answer the account the
 * test chose (the role it plays), `eth_sendTransaction` and `eth_signTypedData_v4` are signed by the node for that
 * account only, and everything else goes to the node unchanged. Switching the account emits `accountsChanged`,
 * as MetaMask does. Every request is recorded, so the test can check what the page asked the wallet for. No tests
 * here.
 */
import type { Page } from "playwright-core";

export interface WalletRequest {
  method: string;
  params: unknown[];
  account: string;
}

export interface InjectedWallet {
  /** The account the wallet answers with now. */
  readonly account: string;
  /** Every request the page made, oldest first. */
  readonly requests: WalletRequest[];
  /** Switches the wallet to `address` and tells the page (`accountsChanged`). */
  use(address: string): Promise<void>;
}

interface RpcAnswer {
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

const SIGNING = new Set(["eth_sendTransaction", "eth_signTypedData_v4"]);

/** Installs the wallet on `page` (call before the first `goto`). */
export async function injectWallet(page: Page, nodeUrl: string, initialAccount: string): Promise<InjectedWallet> {
  let account = initialAccount;
  const requests: WalletRequest[] = [];
  let id = 0;

  const forward = async (method: string, params: unknown[]): Promise<RpcAnswer> => {
    const response = await fetch(nodeUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    return (await response.json()) as RpcAnswer;
  };

  await page.exposeFunction("__atgWalletRequest", async (json: string): Promise<string> => {
    const { method, params = [] } = JSON.parse(json) as { method: string; params?: unknown[] };
    requests.push({ method, params, account });
    let answer: RpcAnswer;
    if (method === "eth_requestAccounts" || method === "eth_accounts") answer = { result: [account] };
    else if (SIGNING.has(method)) {
      const from = method === "eth_sendTransaction" ? (params[0] as { from?: string }).from : (params[0] as string);
      answer =
        typeof from === "string" && from.toLowerCase() === account.toLowerCase()
          ? await forward(method, params)
          : { error: { code: 4100, message: `The wallet holds ${account}, not ${String(from)}.` } };
    } else answer = await forward(method, params);
    return JSON.stringify(answer);
  });

  await page.addInitScript(() => {
    type Listener = (...args: unknown[]) => void;
    const listeners = new Map<string, Set<Listener>>();
    const bridge = (window as unknown as { __atgWalletRequest: (json: string) => Promise<string> }).__atgWalletRequest;
    const ethereum = {
      async request(args: { method: string; params?: unknown[] }): Promise<unknown> {
        const answer = JSON.parse(await bridge(JSON.stringify(args))) as {
          result?: unknown;
          error?: { code: number; message: string; data?: unknown };
        };
        if (answer.error)
          throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data });
        return answer.result;
      },
      on(event: string, listener: Listener) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event)!.add(listener);
        return ethereum;
      },
      removeListener(event: string, listener: Listener) {
        listeners.get(event)?.delete(listener);
        return ethereum;
      },
      emit(event: string, ...args: unknown[]) {
        for (const l of listeners.get(event) ?? []) l(...args);
      },
    };
    (window as unknown as { ethereum: typeof ethereum }).ethereum = ethereum;
  });

  return {
    get account() {
      return account;
    },
    requests,
    async use(address: string) {
      account = address;
      await page.evaluate(
        (a) =>
          (window as unknown as { ethereum: { emit: (e: string, v: string[]) => void } }).ethereum.emit(
            "accountsChanged",
            [a],
          ),
        address,
      );
    },
  };
}
