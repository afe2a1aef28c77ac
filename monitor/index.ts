/**
 * The watchtower: an off-chain anomaly monitor for an Agent Treasury Guard module, with alerts, automatic freeze
 * or pause with a guardian key, a checkpoint that survives restarts, and Prometheus metrics. README-MONITOR.md
 * documents the rules and the alert format; `npx hardhat treasury:monitor` is its command line.
 */
export * from "./alerts";
export * from "./checkpoint";
export * from "./delivery";
export * from "./events";
export * from "./follower";
export * from "./metrics";
export * from "./response";
export * from "./rules";
export * from "../core/monitorSchema";
export * from "./sinks";
export * from "./stats";
export * from "./watchtower";
