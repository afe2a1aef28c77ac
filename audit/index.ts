/**
 * The audit trail of a module: every intent from its logs, decoded, with statuses, approvals, timings and the
 * agents' rationale texts from a journal; as JSON or a self-contained HTML page (`npx hardhat treasury:audit`).
 */
export * from "./collect";
export * from "./html";
