/**
 * Policy files: load and validate (`loadPolicy`, schema in core/policySchema.ts). Resolving one against a chain is
 * core/policyResolve.ts, comparing it with the chain core/policyDiff.ts. Every problem is reported as a
 * {@link PolicyError} whose issues name the field path and the bad value.
 */
import fs from "fs";
import { z } from "zod";
import { policySchema, PolicyShape, NewSafeSpec } from "./policySchema";
import type { RecipientModeName } from "../sdk/shapes";

/** A validated policy file, exactly as written (human units). See deploy/examples/README.md. */
export type Policy = PolicyShape;
export type PolicyAgent = Policy["agents"][number];
export type { NewSafeSpec, RecipientModeName };

export interface PolicyIssue {
  /** Field path in the file, e.g. `agents[1].limits[0].autoPerTx`. */
  path: string;
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
}

/** The policy file cannot be used. `issues` lists every problem found, each naming its field. */
export class PolicyError extends Error {
  readonly code = "POLICY_INVALID";
  constructor(
    readonly issues: PolicyIssue[],
    readonly file?: string,
  ) {
    super(PolicyError.format(issues, file));
    this.name = "PolicyError";
  }

  static format(issues: PolicyIssue[], file?: string): string {
    const lines = issues.map((i) => {
      const value = i.value === undefined ? "" : ` (value: ${JSON.stringify(i.value)})`;
      return `  - ${i.path || "(file)"}: ${i.message}${value}`;
    });
    const head = `Policy${file ? ` ${file}` : ""} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):`;
    return [head, ...lines, "Fix the fields above and run the command again; nothing was deployed or changed."].join(
      "\n",
    );
  }
}

/** Renders a zod/JSON path as `a.b[0].c`. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const part of path) {
    if (typeof part === "number") out += `[${part}]`;
    else out += out === "" ? part : `.${part}`;
  }
  return out;
}

function valueAt(root: unknown, path: readonly (string | number)[]): unknown {
  let node: unknown = root;
  for (const part of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string | number, unknown>)[part];
  }
  return node;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return dp[a.length][b.length];
}

const KNOWN_KEYS = [
  "description",
  "safe",
  "salt",
  "guardians",
  "cosigners",
  "tokens",
  "localTokens",
  "localEth",
  "treasuryLimits",
  "agents",
  "owners",
  "threshold",
  "saltNonce",
  "members",
  "name",
  "address",
  "validUntil",
  "escalationDelay",
  "gracePeriod",
  "maxIntentsPerWindow",
  "rateWindow",
  "maxStrikes",
  "strikeWindow",
  "recipientMode",
  "recipients",
  "limits",
  "allowedCalls",
  "asset",
  "autoPerTx",
  "autoPerWindow",
  "window",
  "escalatedPerTx",
  "target",
  "signature",
  "decimals",
  "mint",
  "perWindow",
  "conditions",
  "arg",
  "is",
  "atMost",
  "atLeast",
  "chargeAs",
  "localUniswap",
  "pools",
  "fee",
  "liquidity",
  "allowances",
  "token",
  "spender",
  "amount",
  "priceFeeds",
  "localPriceFeeds",
  "usdLimit",
  "feed",
  "maxAge",
  "price",
];

function suggest(key: string): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const known of KNOWN_KEYS) {
    const d = editDistance(key.toLowerCase(), known.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [known, d];
  }
  return best ? ` (did you mean "${best}"?)` : "";
}

/** Converts zod issues into policy issues: one per field, with the value found at that path. */
export function toPolicyIssues(error: z.ZodError, input: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === z.ZodIssueCode.unrecognized_keys) {
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        issues.push({
          path: formatPath(path),
          message: `unknown field "${key}"${suggest(key)}`,
          value: valueAt(input, path),
        });
      }
      continue;
    }
    const value = valueAt(input, issue.path);
    const parent = valueAt(input, issue.path.slice(0, -1));
    const last = issue.path[issue.path.length - 1];
    const missing =
      issue.path.length > 0 &&
      value === undefined &&
      parent !== null &&
      typeof parent === "object" &&
      !(String(last) in parent);
    const message = missing ? `required field is missing (${issue.message})` : issue.message;
    issues.push({ path: formatPath(issue.path), message, value });
  }
  return issues;
}

/** Validates an already-parsed JSON value as a policy. Throws {@link PolicyError}. */
export function parsePolicy(input: unknown, file?: string): Policy {
  const result = policySchema.safeParse(input);
  if (!result.success) throw new PolicyError(toPolicyIssues(result.error, input), file);
  return result.data;
}

/** Reads a JSON policy file and validates it with the schema. Throws {@link PolicyError} naming each bad field. */
export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (error) {
    throw new PolicyError([{ path: "", message: `cannot read the file: ${(error as Error).message}` }], file);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new PolicyError([{ path: "", message: `not valid JSON: ${(error as Error).message}` }], file);
  }
  return parsePolicy(input, file);
}
