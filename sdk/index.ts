/**
 * Agent Treasury Guard client library: ethers v6 + the generated contract types, no Hardhat.
 *
 *   const agent = await AgentClient.connect({ module, signer, journal: "./agent-journal.jsonl", tokens: { USDC } });
 *   const r = await agent.pay({ asset: "USDC", to, amount: "1250", rationale: "Invoice #42 from Acme" });
 *   if (r.status === "Queued") await agent.waitFor(r.intentId);
 */
export * from "./types";
export * from "./errors";
export * from "./retry";
export * from "./journal";
export * from "./chainIdentity";
export * from "./chain";
export * from "./calldata";
export { AgentClient, laneOf, keyFromText, deriveKey } from "./client";
export type { AgentClientOptions, RecoveryReport, IntentStatusInfo, Allowance, WaitOptions, Stage } from "./client";
export { CosignerClient, sortSignatures } from "./cosigner";
export type { CosignerClientOptions, IntentView, ApprovalResult } from "./cosigner";
export { cancelIntent } from "./roles";
export type { CancelResult } from "./roles";
export { checkSignatures, refuseStaleSignatures, ERA_SEARCH_DEPTH } from "./approvals";
export type { SignatureCheck, ApprovalContext } from "./approvals";
export { GuardianClient } from "./guardian";
export type { GuardianClientOptions, PauseResult, FreezeResult } from "./guardian";
export * from "./eip712";
export { execSafeCall, signSafeTx, buildSafeTx, SAFE_ABI } from "./safe";
export * from "./units";
export { explainRoute, explainAgainst, describeQueueReasons, QUEUE_REASON_TEXT } from "./route";
export * from "./conditions";
export type { RouteExplanation, RoutePayload } from "./route";
export type { QueueReason } from "./types";
export { BatchRequestError, MAX_BATCH_PAYMENTS } from "./batch";
export type { PayManyOptions, BatchResult, BatchPreview, BatchRowPreview } from "./batch";
export { USD_DECIMALS, PRICE_FAULT_NAMES, priceFaultName, usdAmount, usdPreview } from "./usd";
export type { PriceFaultName, UsdAmount, UsdPreview } from "./usd";
