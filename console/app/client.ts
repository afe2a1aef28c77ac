/**
 * The page's side of the console's server: the state as Server-Sent Events (a new one at every block, alert,
 * signature or batch; EventSource reconnects by itself) and the JSON requests that store a signature or a reason
 * or write an owners' batch. Same origin only, as the Content-Security-Policy requires.
 */
import type { BatchView, ConsoleState, ErrorBody, OwnersRequest, ReasonRequest, SignatureRequest } from "../api";

/** Follows the server's state; `onError` hears when the connection drops (it is retried). Returns the closer. */
export function followState(
  onState: (s: ConsoleState) => void,
  onError: (message: string | undefined) => void,
): () => void {
  const source = new EventSource("/api/events");
  source.addEventListener("state", (e) => {
    onError(undefined);
    onState(JSON.parse((e as MessageEvent<string>).data) as ConsoleState);
  });
  source.onerror = () => onError("Lost the console's server; reconnecting…");
  return () => source.close();
}

async function post<T>(path: string, body: unknown): Promise<T> {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as T | ErrorBody;
  if (!response.ok) throw new Error((json as ErrorBody).error?.message ?? `The server answered ${response.status}.`);
  return json as T;
}

export function postSignature(body: SignatureRequest): Promise<{ stored: boolean }> {
  return post("/api/signatures", body);
}

export function postReason(body: ReasonRequest): Promise<{ stored: boolean }> {
  return post("/api/reasons", body);
}

export function postOwners(action: "unpause" | "unfreeze" | "policy", body: OwnersRequest): Promise<BatchView> {
  return post(`/api/owners/${action}`, body);
}

export function batchUrl(file: string): string {
  return `/api/batches/${encodeURIComponent(file)}`;
}
