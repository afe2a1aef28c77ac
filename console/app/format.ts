/** How the page writes numbers, addresses, times and the module's denial reasons. */
import type { DenialReasonName, DenyReasonName } from "../../sdk/shapes";

/** Groups the thousands of every stand-alone number in a text: "Pay 7500 USDC" -> "Pay 7,500 USDC" (addresses untouched). */
export function groupDigits(text: string): string {
  return text.replace(/(?<![\w.])(\d{4,})(?=(\.\d+)?(?![\w.]))/g, (digits) =>
    digits.replace(/\B(?=(\d{3})+(?!\d))/g, ","),
  );
}

export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/** "2d 3h", "59m 12s", "12s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${sec}s`;
  return `${sec}s`;
}

/** A chain time as UTC, "2025-01-31 14:05:00 UTC". */
export function utc(seconds: number): string {
  if (!seconds) return "never";
  return `${new Date(seconds * 1000).toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** The module's `DenyReason` values (SPEC section 5), in words. */
export const DENY_REASON_WORDS: Readonly<Record<DenialReasonName, string>> = {
  TargetNotAllowed: "the call's target or function is not allowed for this agent",
  ApprovalNotAllowed: "an approval-type call (approve, permit, transferFrom, …) that the policy does not allow",
  AssetNotAllowed: "the agent has no limit for this asset",
  AboveHardCap: "the amount is above the agent's hard cap, even with co-signers",
  RecipientNotAllowed: "the recipient is not on the agent's allowlist",
  RateLimited: "the agent sent more intents than its rate limit allows",
  MalformedCall: "the token transfer was not encoded canonically",
};

export function denyReasonWords(reason: DenyReasonName | undefined): string {
  if (!reason) return "reason unknown";
  return reason === "None" ? reason : DENY_REASON_WORDS[reason];
}
