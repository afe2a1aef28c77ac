/**
 * The audit trail of a module: every intent from its logs, decoded, with statuses, approvals, timings and the
 * agents' rationale texts from their journals, and every pause, freeze and configuration change; as JSON or a
 * self-contained HTML page (`npx hardhat treasury:audit`).
 */
export * from "./collect";
export * from "./caps";
export * from "./events";
export * from "./html";
