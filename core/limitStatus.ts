/**
 * An agent's limit for one asset as `treasury:status` reports it and the console shows it: amounts are decimal
 * strings in the asset's own units. Types only, no imports: the console's page (console/app) uses this file too.
 */
export interface AgentLimitStatus {
  asset: string;
  symbol: string;
  autoPerTx: string;
  autoPerWindow: string;
  /** The sliding window, e.g. "7d". */
  window: string;
  escalatedPerTx: string;
  /** `availableAllowance`: what the agent may still spend in the auto tier now. */
  available: string;
}
