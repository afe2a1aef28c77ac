/**
 * `AgentClient.dryRun`: what `pay`, `call` or `propose` would do now, read from the chain without signing,
 * journaling or sending anything. The status is the module's own answer (the same intent, as `submit` would receive
 * it, run as a static call from the agent's address, where an empty signature is valid); the reasons come from a
 * model of the policy (`./route`) and are given only when it agrees with that answer and the client knows the lens.
 */
import { hashIntent } from "./eip712";
import { InvalidRequestError, decodeError } from "./errors";
import { AssetBook, formatAmount } from "./chain";
import type { IntentKind } from "./journal";
import { withRetry } from "./retry";
import { Payload, buildIntent, callPayload, checkRequest, laneOf, payPayload, requestKey } from "./request";
import { explainAgainst, explainRoute } from "./route";
import type { ClientCore } from "./settle";
import { usdPreview } from "./usd";
import { CallRequest, IntentPreview, PayRequest, statusName } from "./types";
import { treasuryLens } from "./bindings";

/** What a dry run needs of its AgentClient: the parts every request uses, the asset book and the lens. */
export interface DryRunHost extends ClientCore {
  assets: AssetBook;
  /** The AgentTreasuryLens address: lets the dry run say why. */
  lens?: string;
}

/** The dry run of `action` with `request` (see `AgentClient.dryRun`). */
export async function dryRun(
  host: DryRunHost,
  action: "pay" | "call" | "propose",
  request: PayRequest | CallRequest,
): Promise<IntentPreview> {
  checkRequest(request);
  const { provider, retry } = host;
  const kind: IntentKind = action === "propose" ? "propose" : "submit";
  const isPayment = action === "pay" || (action === "propose" && "asset" in request);
  const payload = isPayment
    ? await payPayload(host.assets, request as PayRequest)
    : callPayload(request as CallRequest);
  const key = requestKey(host, kind, payload, request);
  const lane = laneOf(request.lane);
  const block = await withRetry("read the latest block", () => provider.getBlock("latest"), retry);
  if (!block) throw new InvalidRequestError("The RPC node returned no latest block.");
  const blockTag = block.number;
  const reader = host.module.connect(provider);
  const nonce = await withRetry("read the lane nonce", () => reader.getNonce(host.agent, lane, { blockTag }), retry);
  const validUntil =
    BigInt(block.timestamp) + (request.validFor === undefined ? host.validFor : BigInt(request.validFor));
  const intent = buildIntent({
    agent: host.agent,
    kind,
    payload,
    key,
    nonce,
    validUntil,
    rationaleText: request.rationale,
  });
  const intentId = hashIntent(intent, host.chainId, host.moduleAddress);
  let answer: [string, bigint];
  try {
    answer = await withRetry(
      `simulate intent ${intentId}`,
      () => reader.submit.staticCall(intent, "0x", { from: host.agent, blockTag }),
      retry,
    );
  } catch (err) {
    throw decodeError(err) ?? err;
  }
  const replay = answer[0].toLowerCase() !== intentId.toLowerCase();
  let status = statusName(answer[1]);
  // `submit` stands in for `propose`: the same checks, and a review request queues whatever is not denied.
  if (kind === "propose" && !replay && status === "Executed") status = "Queued";
  const preview: IntentPreview = {
    dryRun: true,
    status,
    intentId: replay ? answer[0] : intentId,
    replay,
    agent: host.agent,
    idempotencyKey: key,
    nonce,
    blockNumber: blockTag,
    explained: false,
  };
  if (replay || !host.lens) return preview;
  return explain(host, preview, payload, kind === "propose");
}

/** Adds the policy model's reasons to a dry run's preview, when the model agrees with the module's answer. */
async function explain(
  host: DryRunHost,
  preview: IntentPreview,
  payload: Payload,
  review: boolean,
): Promise<IntentPreview> {
  const { provider, retry } = host;
  const reader = host.module.connect(provider);
  const lens = treasuryLens(host.lens!, provider);
  const blockTag = preview.blockNumber;
  const model = await withRetry(
    "read the policy",
    () => explainRoute(reader, lens, host.agent, payload, review, blockTag),
    retry,
  );
  const agreed = explainAgainst(model, preview.status);
  if (!agreed) return preview;
  preview.explained = true;
  if (agreed.denyReason) preview.reason = agreed.denyReason;
  if (agreed.queuedBecause.length > 0) preview.queuedBecause = agreed.queuedBecause;
  if (agreed.strikes) preview.strikes = agreed.strikes;
  if (agreed.conditions) preview.conditions = agreed.conditions;
  if (agreed.usd) preview.usd = usdPreview(agreed.usd);
  if (agreed.spends) {
    const asset = await host.assets.info(agreed.spends.asset);
    preview.spends = {
      asset,
      amount: agreed.spends.amount,
      formatted: formatAmount(agreed.spends.amount, asset.decimals),
    };
    if (agreed.availableAllowance !== undefined) {
      preview.allowanceLeft = {
        asset,
        amount: agreed.availableAllowance,
        formatted: formatAmount(agreed.availableAllowance, asset.decimals),
      };
    }
  }
  return preview;
}
