/**
 * The agent process of test/e2e/crash-recovery.spec.ts: connects an AgentClient (which reconciles its journal on
 * start), pays one request, and reports on stdout as JSON lines. With `crashAt` it announces the durable step and
 * then hangs there, so the test can kill it with SIGKILL at exactly that point.
 *
 *   node -r ts-node/register test/e2e/crash-child.ts '<json config>'
 *
 * Only runs when executed directly (mocha also loads every file under test/).
 */
import { JsonRpcProvider, Wallet } from "ethers";
import { AgentClient, PayRequest, Stage } from "../../sdk";

export interface CrashChildConfig {
  url: string;
  module: string;
  agentKey: string;
  relayerKey: string;
  journal: string;
  tokens: Record<string, string>;
  request: PayRequest;
  crashAt?: Stage;
}

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)) + "\n");
}

async function main(config: CrashChildConfig): Promise<void> {
  const provider = new JsonRpcProvider(config.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
  provider.pollingInterval = 50;
  const client = await AgentClient.connect({
    module: config.module,
    signer: new Wallet(config.agentKey, provider),
    relayer: new Wallet(config.relayerKey, provider),
    journal: config.journal,
    tokens: config.tokens,
    pollIntervalMs: 50,
    retry: { retries: 3, minDelayMs: 50 },
    onStage: async (stage, intentId) => {
      if (stage !== config.crashAt) return;
      emit({ event: "crash-point", stage, intentId });
      await new Promise(() => undefined); // hang here until killed
    },
  });
  const rec = client.recovery;
  emit({
    event: "connected",
    recovery: {
      checked: rec.checked,
      landed: rec.landed,
      resumed: rec.resumed,
      pending: rec.pending.map((p) => p.intentId),
    },
  });
  const result = await client.pay(config.request);
  emit({ event: "result", result });
  client.close();
  provider.destroy();
}

if (require.main === module) {
  main(JSON.parse(process.argv[2]) as CrashChildConfig).catch((err: unknown) => {
    emit({
      event: "error",
      message: err instanceof Error ? err.message : String(err),
      code: (err as { code?: string }).code,
    });
    process.exitCode = 1;
  });
}
