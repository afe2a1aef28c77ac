/**
 * The MCP tools' argument and result schemas (zod). The SDK checks arguments against the input schemas before a
 * handler runs, and the handlers parse them again for their types; the messages name the field and what it must be.
 */
import { z } from "zod";
import { MAX_BATCH_PAYMENTS, QUEUE_REASON_TEXT, QueueReason, STATUS_NAMES } from "../../sdk";

const QUEUE_REASONS = Object.keys(QUEUE_REASON_TEXT) as [QueueReason, ...QueueReason[]];

const hexAddress = (field: string) =>
  z
    .string({ required_error: `${field} is required`, invalid_type_error: `${field} must be a string` })
    .regex(/^0x[0-9a-fA-F]{40}$/, `${field} must be an address: 0x followed by 40 hex digits`);

const amountField = (field: string) =>
  z.union([z.string(), z.number()], {
    errorMap: () => ({ message: `${field} must be a decimal amount in human units, as a string like "250.5"` }),
  });

const reasonField = z
  .string({
    required_error: "reason is required: say why you make this request",
    invalid_type_error: "reason must be a string",
  })
  .trim()
  .min(3, "reason must say why you make this request (at least 3 characters)")
  .max(2000, "reason must be at most 2000 characters");

const idempotencyKeyField = z
  .string({ invalid_type_error: "idempotencyKey must be a string" })
  .trim()
  .min(1, "idempotencyKey must not be empty; omit it to derive one from the request")
  .max(200, "idempotencyKey must be at most 200 characters")
  .optional()
  .describe(
    "Names the obligation this request settles (an invoice number, a payroll period). The same key always returns the " +
      "first request's result and never pays twice. Omitted: derived from what the request does (asset, recipient, " +
      "amount or call), so repeating the same request never pays twice; to make the same payment again on purpose, " +
      "give a new key.",
  );

const assetField = z
  .string({ required_error: "asset is required", invalid_type_error: "asset must be a string" })
  .trim()
  .min(1, "asset must not be empty")
  .describe('"ETH", a token symbol listed by treasury_limits (e.g. "USDC"), or a token address');

const callArgsField = z
  .array(z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number(), z.boolean()]))]), {
    invalid_type_error: "args must be an array of the function's arguments",
  })
  .max(32, "args has too many elements")
  .optional()
  .describe("The function's arguments in order; write integers as decimal strings in base units");

const functionField = z
  .string({ invalid_type_error: "function must be a string" })
  .trim()
  .regex(/^[A-Za-z_$][A-Za-z0-9_$]*\(.*\)$/, 'function must be a signature like "deposit(uint256,address)"')
  .optional();

const dataField = z
  .string({ invalid_type_error: "data must be a string" })
  .regex(/^0x([0-9a-fA-F]{2}){4,}$/, "data must be hex calldata with at least a 4-byte selector")
  .optional()
  .describe("Raw calldata, instead of function + args");

const valueField = amountField("value").optional().describe("ETH sent with the call, in ETH (default 0)");

export const payInput = z
  .object({
    asset: assetField,
    to: hexAddress("to").describe("The recipient's address"),
    amount: amountField("amount").describe('Human units of the asset, as a decimal string: "250.5" USDC, "0.1" ETH'),
    reason: reasonField.describe("Why you pay: the obligation and where it comes from (journaled; hashed on chain)"),
    idempotencyKey: idempotencyKeyField,
  })
  .strict();

export const callInput = z
  .object({
    target: z
      .string({ required_error: "target is required", invalid_type_error: "target must be a string" })
      .trim()
      .min(1, "target must not be empty")
      .describe("The contract to call: an address or a token symbol"),
    function: functionField.describe('The function signature, e.g. "deposit(uint256,address)"'),
    args: callArgsField,
    data: dataField,
    value: valueField,
    reason: reasonField.describe("Why you make this call (journaled; hashed on chain)"),
    idempotencyKey: idempotencyKeyField,
  })
  .strict();

export const proposeInput = z
  .object({
    asset: assetField.optional(),
    to: hexAddress("to").optional().describe("Payment: the recipient's address"),
    amount: amountField("amount").optional().describe('Payment: human units, as a decimal string like "250.5"'),
    target: z
      .string({ invalid_type_error: "target must be a string" })
      .trim()
      .min(1)
      .optional()
      .describe("Call: the contract"),
    function: functionField.describe('Call: the function signature, e.g. "deposit(uint256,address)"'),
    args: callArgsField,
    data: dataField,
    value: valueField,
    reason: reasonField.describe("Why humans should approve this (journaled; hashed on chain)"),
    idempotencyKey: idempotencyKeyField,
  })
  .strict();

export const dryRunInput = proposeInput
  .extend({
    review: z
      .boolean({ invalid_type_error: "review must be true or false" })
      .optional()
      .describe(
        "true: check it as treasury_propose would submit it (queued for human review); default: as treasury_pay or treasury_call",
      ),
  })
  .strict();

export const statusInput = z
  .object({
    intentId: z
      .string({ required_error: "intentId is required", invalid_type_error: "intentId must be a string" })
      .regex(/^0x[0-9a-fA-F]{64}$/, "intentId must be 0x followed by 64 hex digits (from a previous result)"),
  })
  .strict();

export const limitsInput = z
  .object({ asset: assetField.optional().describe("Only this asset (default: every asset you have a limit for)") })
  .strict();

export const balanceInput = z.object({}).strict();

const statusName = z.enum(STATUS_NAMES);
const queueReasonName = z.enum(QUEUE_REASONS);

export const humansOutput = z.object({
  cosigners: z.array(z.string()),
  threshold: z.number(),
  approvals: z.number(),
  approvedBy: z.array(z.string()),
  eta: z.number(),
  etaIso: z.string(),
  expiresAt: z.number(),
  expiresAtIso: z.string(),
  message: z.string(),
});

/** v3: a call's argument conditions, each in words and met or not by the call (sdk/callReport.ts). */
const callConditionsOutput = z.object({
  call: z.string().optional(),
  conditions: z.array(z.object({ text: z.string(), met: z.boolean(), actual: z.string().optional() })),
  met: z.boolean(),
  charges: z.string().optional(),
});

export const outcomeOutput = z.object({
  status: statusName,
  message: z.string(),
  next: z.string(),
  intentId: z.string(),
  replay: z.boolean(),
  request: z.object({
    tool: z.string(),
    kind: z.enum(["payment", "call"]),
    summary: z.string(),
    asset: z.string().optional(),
    to: z.string().optional(),
    amount: z.string().optional(),
    target: z.string().optional(),
    function: z.string().optional(),
    value: z.string().optional(),
  }),
  idempotencyKey: z.string(),
  idempotencyKeySource: z.enum(["caller", "derived"]),
  rationaleHash: z.string(),
  txHash: z.string().optional(),
  blockNumber: z.number().optional(),
  humans: humansOutput.optional(),
  denial: z
    .object({
      reason: z.string(),
      explanation: z.string(),
      strikes: z.number(),
      maxStrikes: z.number(),
    })
    .optional(),
  allowanceLeft: z.object({ asset: z.string(), amount: z.string() }).optional(),
  /** Queued: every reason it waits for co-signers (sdk/route.ts QueueReason). */
  queuedBecause: z.array(queueReasonName).optional(),
  frozen: z.boolean(),
  callConditions: callConditionsOutput.optional(),
});
export type OutcomeOutput = z.infer<typeof outcomeOutput>;

export const dryRunOutput = z.object({
  dryRun: z.literal(true),
  status: statusName,
  message: z.string(),
  next: z.string(),
  intentId: z.string(),
  replay: z.boolean(),
  request: outcomeOutput.shape.request,
  reason: z.string().optional(),
  queuedBecause: z.array(queueReasonName).optional(),
  strikes: z.object({ now: z.number(), max: z.number(), wouldFreeze: z.boolean() }).optional(),
  allowanceLeft: z.object({ asset: z.string(), amount: z.string() }).optional(),
  explained: z.boolean(),
  callConditions: callConditionsOutput.optional(),
});

export const assetLimitOutput = z.object({
  asset: z.string(),
  address: z.string(),
  decimals: z.number(),
  autoPerTx: z.string(),
  autoPerWindow: z.string(),
  window: z.string(),
  windowSeconds: z.number(),
  escalatedPerTx: z.string(),
  availableNow: z.string(),
  largestAutoPaymentNow: z.string(),
  spentInWindow: z.string(),
  frees: z.array(z.object({ amount: z.string(), at: z.number(), atIso: z.string(), inSeconds: z.number() })),
  treasuryWide: z.object({ perWindow: z.string(), window: z.string(), available: z.string() }).optional(),
});

/** v3: the agent's USD limit across every asset, what is left now, and the prices its payments are valued at. */
export const usdLimitOutput = z.object({
  autoPerTx: z.string(),
  autoPerWindow: z.string(),
  window: z.string(),
  escalatedPerTx: z.string(),
  availableNow: z.string(),
  largestAutoPaymentNow: z.string(),
  frees: z.array(z.object({ amount: z.string(), at: z.number(), atIso: z.string(), inSeconds: z.number() })),
  /** Dollars per whole unit of each asset the agent has a limit for, or the fault that makes the module distrust it. */
  prices: z.array(z.object({ asset: z.string(), price: z.string().optional(), fault: z.string().optional() })),
});

export const limitsOutput = z.object({
  agent: z.string(),
  agentName: z.string(),
  frozen: z.boolean(),
  paused: z.boolean(),
  now: z.number(),
  assets: z.array(assetLimitOutput),
  /** v3: present when the agent has a USD limit (amounts in dollars). */
  usd: usdLimitOutput.optional(),
  strikes: z.object({ count: z.number(), max: z.number(), window: z.string() }),
  rate: z.object({ count: z.number(), max: z.number(), window: z.string() }),
  escalation: z.object({
    cosigners: z.array(z.string()),
    threshold: z.number(),
    delay: z.string(),
    gracePeriod: z.string(),
  }),
  recipientMode: z.string(),
  /** Recipients of the policy that the module has on this agent's allowlist. */
  recipients: z.array(z.string()),
  /** The target's address (or the policy's name when it has none here), and (v3) the call's conditions in words. */
  allowedCalls: z.array(z.object({ target: z.string(), function: z.string(), conditions: z.array(z.string()) })),
  summary: z.string(),
});

export const balanceOutput = z.object({
  safe: z.string(),
  balances: z.array(z.object({ asset: z.string(), address: z.string(), decimals: z.number(), amount: z.string() })),
  summary: z.string(),
});

export const statusOutput = z.object({
  intentId: z.string(),
  status: statusName,
  message: z.string(),
  next: z.string(),
  reason: z.string().optional(),
  txHash: z.string().optional(),
  journaled: z.boolean(),
  rationaleText: z.string().optional(),
  humans: humansOutput.optional(),
});

/** treasury_pay_many: a list of payments, each as treasury_pay takes it. */
export const payManyInput = z
  .object({
    payments: z
      .array(payInput, {
        required_error: "payments is required: a list of { asset, to, amount, reason }",
        invalid_type_error: "payments must be a list",
      })
      .min(1, "payments must list at least one payment")
      .max(MAX_BATCH_PAYMENTS, `payments may list at most ${MAX_BATCH_PAYMENTS} payments per call`),
    dryRun: z
      .boolean({ invalid_type_error: "dryRun must be true or false" })
      .optional()
      .describe("true: say what each payment would do now, and sign and send nothing"),
  })
  .strict();

const paymentOutput = z.object({
  index: z.number(),
  summary: z.string(),
  status: statusName,
  intentId: z.string(),
  replay: z.boolean(),
  reason: z.string().optional(),
  explanation: z.string().optional(),
  queuedBecause: z.array(z.string()).optional(),
});

export const payManyOutput = z.object({
  dryRun: z.boolean(),
  message: z.string(),
  next: z.string(),
  txHash: z.string().optional(),
  blockNumber: z.number().optional(),
  /** How many payments the transaction carried (payments made before are not sent again). */
  sent: z.number().optional(),
  payments: z.array(paymentOutput),
  frozen: z.boolean(),
});

export type RequestInput = z.infer<typeof proposeInput>;
export type DryRunInput = z.infer<typeof dryRunInput>;
export type HumansOutput = z.infer<typeof humansOutput>;
export type DryRunOutput = z.infer<typeof dryRunOutput>;
export type AssetLimitOutput = z.infer<typeof assetLimitOutput>;
export type LimitsOutput = z.infer<typeof limitsOutput>;
export type UsdLimitOutput = z.infer<typeof usdLimitOutput>;
export type BalanceOutput = z.infer<typeof balanceOutput>;
export type StatusOutput = z.infer<typeof statusOutput>;
export type PayManyInput = z.infer<typeof payManyInput>;
export type PayManyOutput = z.infer<typeof payManyOutput>;
