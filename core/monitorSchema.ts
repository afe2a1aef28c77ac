/**
 * The `monitor` section of the policy file (zod): how the watchtower follows the chain and which rules it runs.
 * Every rule has an `action`: `"alert"` only reports; `"freeze"` also freezes the agent that triggered it and
 * `"pause"` pauses the whole module, both with the guardian key given to `treasury:monitor`. Errors name the field
 * (`monitor.rules[2].multiple`) like the rest of the policy file. README-MONITOR.md documents every rule.
 *
 *   "monitor": {
 *     "confirmations": 2,
 *     "rules": [
 *       { "rule": "spend-rate", "period": "1h", "baseline": "7d", "multiple": 5, "minShareOfCap": 0.25, "action": "freeze" },
 *       { "rule": "new-recipient" },
 *       { "rule": "config-loosened", "action": "pause" }
 *     ]
 *   }
 */
import fs from "fs";
import { z } from "zod";
import { parseDuration } from "./units";
import { DENIAL_REASONS } from "../sdk/shapes";

export const RULE_ACTIONS = ["alert", "freeze", "pause"] as const;
export type RuleAction = (typeof RULE_ACTIONS)[number];

export const SEVERITIES = ["info", "warning", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A duration as the policy file writes it ("15m", "7d", or seconds), read into whole seconds. */
const duration = z
  .union([z.string(), z.number()], { invalid_type_error: 'must be a duration like "1h" or a number of seconds' })
  .transform((value, ctx) => {
    try {
      const seconds = parseDuration(value);
      if (seconds === 0) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: "must be longer than 0 seconds" });
        return z.NEVER;
      }
      return seconds;
    } catch (error) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: (error as Error).message });
      return z.NEVER;
    }
  });

const positiveInt = (what: string) =>
  z
    .number({ invalid_type_error: `must be a whole number (${what})` })
    .int(`must be a whole number (${what})`)
    .min(1, `must be at least 1 (${what})`);

/** Fields every rule has. */
const common = {
  /** Names the rule in alerts and metrics; defaults to the rule kind (with `#2`, `#3` for repeats). */
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.#-]{0,47}$/, "must be 1-48 letters, digits, . _ # - (used in alerts and metrics)")
    .optional(),
  action: z
    .enum(RULE_ACTIONS, { errorMap: () => ({ message: 'must be "alert", "freeze" or "pause"' }) })
    .default("alert"),
  severity: z.enum(SEVERITIES, { errorMap: () => ({ message: 'must be "info", "warning" or "critical"' }) }).optional(),
  /** Only these agents (policy names or addresses); all agents when absent. */
  agents: z.array(z.string().min(1)).min(1, "list at least one agent, or remove the field for all agents").optional(),
  /** After firing for a subject (agent, asset), stay quiet for this long (block time). */
  cooldown: duration.optional(),
  enabled: z.boolean().default(true),
};

/** A rule's schema: its kind, the fields every rule has (`base`), then its own; an unknown field is an error. */
function ruleOf<K extends string, S extends z.ZodRawShape, B extends z.ZodRawShape = typeof common>(
  rule: K,
  shape: S,
  base?: B,
) {
  return z.object({ rule: z.literal(rule), ...((base ?? common) as B), ...shape }).strict();
}

const spendRate = ruleOf("spend-rate", {
  /** The recent period whose spend is compared. */
  period: duration.default("1h"),
  /** The trailing history the baseline is averaged over (before `period`). */
  baseline: duration.default("7d"),
  /** Fire when the period's spend is above `multiple` times the baseline's average per period ... */
  multiple: z.number({ invalid_type_error: "must be a number" }).min(1, "must be at least 1").default(5),
  /** ... and above this share of the agent's `autoPerWindow` for the asset (0 to 1). */
  minShareOfCap: z
    .number({ invalid_type_error: "must be a number" })
    .min(0, "must be 0 to 1")
    .max(1, "must be 0 to 1")
    .default(0.25),
});

const newRecipient = ruleOf("new-recipient", {
  /** Also report a queued payment to a new recipient (co-signers see it before they approve). */
  includeQueued: z.boolean().default(true),
});

const intentBurst = ruleOf("intent-burst", {
  /** Fire when an agent's intents (executed, queued, denied) within `period` exceed this. */
  maxIntents: positiveInt("intents"),
  period: duration.default("10m"),
});

const deniedIntent = ruleOf("denied-intent", {
  /** Only these denial reasons; all when absent. */
  reasons: z
    .array(z.enum(DENIAL_REASONS, { errorMap: () => ({ message: `must be one of ${DENIAL_REASONS.join(", ")}` }) }))
    .min(1)
    .optional(),
});

const strikes = ruleOf("strikes", {
  /** Fire when an agent's denials within its strike window (or `window`) reach this many. */
  atLeast: positiveInt("strikes"),
  /** Overrides the agent's on-chain `strikeWindow` (needed for agents with no strike limit). */
  window: duration.optional(),
});

const idempotentReplay = ruleOf("idempotent-replay", {
  /** Replays an agent may make within `period` before this fires (0: every replay). */
  maxReplays: z.number().int("must be a whole number").min(0, "must not be negative").default(0),
  period: duration.default("1h"),
});

const idempotencyConflict = ruleOf("idempotency-conflict", {});

const rejectedSubmission = ruleOf("rejected-submission", {
  /** Only these module errors (e.g. "IntentSignatureInvalid", "AgentIsFrozen"); all when absent. */
  errors: z
    .array(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/, "must be a custom error name"))
    .min(1)
    .optional(),
});

const nonceLane = ruleOf("nonce-lane", {
  /** Report the first use of a lane by an agent that already has history. */
  alertOnNewLane: z.boolean().default(true),
  /** Fire when an agent uses more distinct lanes than this within `period`. */
  maxLanes: positiveInt("lanes").default(3),
  period: duration.default("24h"),
});

const queuedNearEta = ruleOf("queued-near-eta", {
  /** Fire when a queued intent is this close to its eta (or past it) without `threshold` on-chain approvals. */
  within: duration.default("15m"),
});

/** For rules about no single agent: "freeze" has nobody to freeze, and an agent filter means nothing. */
const noAgent = (rule: string) => {
  const { agents: _agents, ...rest } = common;
  return {
    ...rest,
    action: z
      .enum(["alert", "pause"], {
        errorMap: () => ({ message: `"${rule}" has no agent to freeze: use "pause" or "alert"` }),
      })
      .default("alert"),
  };
};

const emergency = ruleOf("emergency", {}, noAgent("emergency"));

const configLoosened = ruleOf(
  "config-loosened",
  {
    /** Also report changes that only tighten (info severity). */
    includeTightening: z.boolean().default(false),
  },
  noAgent("config-loosened"),
);

/** v3: a price feed the module stops trusting (USD-limited payments in its asset then wait for co-signers). */
const priceFeedUntrusted = z
  .object({
    rule: z.literal("price-feed-untrusted"),
    ...noAgent("price-feed-untrusted"),
  })
  .strict();

/** v3: a trusted price that moves more than `maxMove` (a share: 0.1 = 10%) between two reads of the same feed. */
const priceFeedMoved = z
  .object({
    rule: z.literal("price-feed-moved"),
    ...noAgent("price-feed-moved"),
    maxMove: z
      .number({ invalid_type_error: "must be a share of the price, e.g. 0.1 for 10%" })
      .gt(0, "must be above 0 (a share of the price, e.g. 0.1 for 10%)")
      .max(100, "must be at most 100 (10,000%)")
      .default(0.1),
  })
  .strict();

export const RULE_KINDS = [
  "spend-rate",
  "new-recipient",
  "intent-burst",
  "denied-intent",
  "strikes",
  "idempotent-replay",
  "idempotency-conflict",
  "rejected-submission",
  "nonce-lane",
  "queued-near-eta",
  "emergency",
  "config-loosened",
  "price-feed-untrusted",
  "price-feed-moved",
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

const ruleSchema = z.discriminatedUnion(
  "rule",
  [
    spendRate,
    newRecipient,
    intentBurst,
    deniedIntent,
    strikes,
    idempotentReplay,
    idempotencyConflict,
    rejectedSubmission,
    nonceLane,
    queuedNearEta,
    emergency,
    configLoosened,
    priceFeedUntrusted,
    priceFeedMoved,
  ],
  {
    errorMap: (issue, ctx) =>
      issue.code === z.ZodIssueCode.invalid_union_discriminator
        ? { message: `"rule" must be one of ${RULE_KINDS.map((k) => `"${k}"`).join(", ")}` }
        : { message: ctx.defaultError },
  },
);

export type RuleConfig = z.output<typeof ruleSchema>;
export type RuleOf<K extends RuleKind> = Extract<RuleConfig, { rule: K }>;

const metricsSchema = z
  .object({
    port: z.number().int().min(0).max(65535),
    /** Loopback only: metrics name agents and amounts. */
    host: z
      .string()
      .refine(
        (h) => isLoopbackHost(h),
        "must be a loopback address (127.0.0.1, ::1 or localhost): metrics are not for the network",
      )
      .default("127.0.0.1"),
  })
  .strict();

/** The default rule set: every rule reports, none acts. */
export const DEFAULT_RULES: readonly unknown[] = [
  { rule: "spend-rate" },
  { rule: "new-recipient" },
  { rule: "intent-burst", maxIntents: 20 },
  { rule: "denied-intent" },
  { rule: "strikes", atLeast: 2 },
  { rule: "idempotent-replay", maxReplays: 3 },
  { rule: "idempotency-conflict" },
  { rule: "rejected-submission" },
  { rule: "nonce-lane" },
  { rule: "queued-near-eta" },
  { rule: "emergency" },
  { rule: "config-loosened" },
  { rule: "price-feed-untrusted" },
  { rule: "price-feed-moved" },
];

export const monitorSchema = z
  .object({
    /** Blocks a block needs (itself included) before the watchtower reads it: 1 reads the head. */
    confirmations: z
      .number()
      .int("must be a whole number")
      .min(1, "must be at least 1 (1 = the head block)")
      .max(1000)
      .default(2),
    /** How often to look for new blocks, in milliseconds. */
    pollIntervalMs: z.number().int().min(10, "must be at least 10 ms").max(3_600_000).default(4000),
    /** Blocks per getLogs call. */
    chunkSize: z.number().int().min(1).max(100_000).default(2000),
    /** Webhook that receives each alert as a JSON POST (the command line's --webhook overrides it). */
    webhook: z
      .string()
      .url("must be an http(s) URL")
      .refine((u) => /^https?:\/\//i.test(u), "must be an http(s) URL")
      .optional(),
    /** Checkpoint file (the command line's --checkpoint overrides it). */
    checkpoint: z.string().min(1).optional(),
    /** The guardian address whose key the watchtower acts with (checked against the key it is given). */
    guardian: z
      .string()
      .regex(/^0x[0-9a-fA-F]{40}$/, "must be an address")
      .optional(),
    metrics: metricsSchema.optional(),
    rules: z.array(ruleSchema).default(DEFAULT_RULES as never),
  })
  .strict()
  .superRefine((monitor, ctx) => {
    const seen = new Map<string, number>();
    monitor.rules.forEach((rule, i) => {
      if (rule.id === undefined) return;
      const first = seen.get(rule.id);
      if (first !== undefined) {
        ctx.addIssue({
          code: z.ZodIssueCode.custom,
          path: ["rules", i, "id"],
          message: `duplicate rule id (also at rules[${first}])`,
        });
      } else seen.set(rule.id, i);
    });
  });

export type MonitorConfig = z.output<typeof monitorSchema>;
export type MonitorConfigInput = z.input<typeof monitorSchema>;

export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return h === "localhost" || h === "::1" || /^127(\.\d{1,3}){3}$/.test(h);
}

/** One problem in the monitor section, naming its field. */
export interface MonitorConfigIssue {
  path: string;
  message: string;
}

/** The monitor section cannot be used. `issues` names each bad field; nothing was started. */
export class MonitorConfigError extends Error {
  readonly code = "MONITOR_CONFIG_INVALID";
  constructor(
    readonly issues: MonitorConfigIssue[],
    readonly file?: string,
  ) {
    super(
      [
        `Monitor configuration${file ? ` in ${file}` : ""} is invalid (${issues.length} problem${issues.length === 1 ? "" : "s"}):`,
        ...issues.map((i) => `  - ${i.path || "monitor"}: ${i.message}`),
        "Fix the fields above (see README-MONITOR.md) and start the monitor again.",
      ].join("\n"),
    );
    this.name = "MonitorConfigError";
  }
}

function pathText(path: readonly (string | number)[]): string {
  let out = "monitor";
  for (const part of path) out += typeof part === "number" ? `[${part}]` : `.${part}`;
  return out;
}

/** Validates a `monitor` section (undefined = all defaults) and gives every rule its id. */
export function parseMonitorConfig(input: unknown, file?: string): MonitorConfig {
  const result = monitorSchema.safeParse(input ?? {});
  if (!result.success) {
    const issues: MonitorConfigIssue[] = [];
    for (const issue of result.error.issues) {
      if (issue.code === z.ZodIssueCode.unrecognized_keys) {
        for (const key of issue.keys)
          issues.push({ path: pathText([...issue.path, key]), message: `unknown field "${key}"` });
      } else if (issue.code === z.ZodIssueCode.invalid_type && issue.received === "undefined") {
        issues.push({ path: pathText(issue.path), message: "required field is missing" });
      } else issues.push({ path: pathText(issue.path), message: issue.message });
    }
    throw new MonitorConfigError(issues, file);
  }
  const config = result.data;
  const counts = new Map<string, number>();
  const taken = new Set(config.rules.map((r) => r.id).filter((id): id is string => id !== undefined));
  for (const rule of config.rules) {
    if (rule.id !== undefined) continue;
    let n = (counts.get(rule.rule) ?? 0) + 1;
    let id = n === 1 ? rule.rule : `${rule.rule}#${n}`;
    while (taken.has(id)) id = `${rule.rule}#${++n}`;
    counts.set(rule.rule, n);
    taken.add(id);
    rule.id = id;
  }
  return config;
}

/** The policy file's `monitor` section (and its guardians, for the guardian key's expected address). */
export function loadMonitorConfig(file: string): { monitor: MonitorConfig; guardians: string[] } {
  let input: unknown;
  try {
    input = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (error) {
    throw new MonitorConfigError(
      [{ path: "(file)", message: `cannot read the policy file as JSON: ${(error as Error).message}` }],
      file,
    );
  }
  const root = (input ?? {}) as { monitor?: unknown; guardians?: unknown };
  const guardians = Array.isArray(root.guardians)
    ? root.guardians.filter((g): g is string => typeof g === "string")
    : [];
  return { monitor: parseMonitorConfig(root.monitor, file), guardians };
}
