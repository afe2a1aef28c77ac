/**
 * Intent tasks: what co-signers (and anyone relaying) run. Thin wrappers over CosignerClient.
 *
 *   npx hardhat intent:show <intentId> [--json]
 *   npx hardhat intent:approve <intentId> [--signature-only] [--cosigner <address>] [--json]
 *   npx hardhat intent:execute <intentId> [--signatures <signer:sig@era,... | file.json>] [--json]
 *   npx hardhat intent:cancel <intentId> [--role COSIGNER|GUARDIAN|AGENT] [--from <address or agent name>] [--json]
 *
 * intent:show decodes what the intent does from its calldata (never from the agent's description) and shows the
 * agent's stated reason only when a journal holds text whose hash matches the one on chain.
 */
import fs from "fs";
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { printFields, runTask } from "./lib/output";
import { COMMON_FLAGS, clientFlags, ClientContext, ClientTaskArgs, TaskInputError } from "./lib/context";
import type { CosignerClient, CosignerSignatureInfo, IntentView } from "../sdk";
import type { KeyRole } from "../core/keys";
import type { CallConditionsReport } from "./lib/conditions";
import { reportLines } from "../sdk/callReport";

interface IntentArgs extends ClientTaskArgs {
  intentId: string;
}

async function cosignerClient(ctx: ClientContext, signer: import("ethers").Signer): Promise<CosignerClient> {
  const { CosignerClient } = await import("../sdk");
  const { allJournals } = await import("./lib/context");
  return CosignerClient.connect({
    module: ctx.module,
    signer,
    tokens: ctx.tokens,
    journals: allJournals(ctx),
    fromBlock: ctx.fromBlock,
    pollIntervalMs: 200,
  });
}

async function context(hre: HardhatRuntimeEnvironment, args: IntentArgs) {
  const { clientContext } = await import("./lib/context");
  if (!/^0x[0-9a-fA-F]{64}$/.test(args.intentId))
    throw new TaskInputError(`"${args.intentId}" is not an intentId (0x followed by 64 hex digits).`);
  return clientContext(hre, args);
}

/**
 * `intent:show --json` prints an IntentView (bigints as decimal strings), the agent's name from the policy, and (v3)
 * for a call with argument conditions the call and each condition in words, met or not (`callConditions`).
 */
type IntentShowOutput = IntentView & { agentName?: string; callConditions?: CallConditionsReport };

function renderView(v: IntentShowOutput): void {
  printFields({
    intentId: v.intentId,
    status: v.status,
    reason: v.reason,
    agent: v.agentName ? `${v.agentName} (${v.agent})` : v.agent,
    action: v.action?.summary,
    "review requested":
      v.review === undefined ? undefined : v.review ? "yes (the agent signed a request for human review)" : "no",
    "agent's reason":
      v.rationaleText !== undefined
        ? `"${v.rationaleText}" (hash verified)`
        : v.rationaleHash
          ? `unknown text, hash ${v.rationaleHash}`
          : undefined,
    eta: v.eta !== undefined ? `${new Date(v.eta * 1000).toISOString()} (unix ${v.eta})` : undefined,
    expiresAt: v.expiresAt !== undefined ? new Date(v.expiresAt * 1000).toISOString() : undefined,
    approvals: `${v.approvals} of ${v.threshold}${v.approvedBy.length ? ` (${v.approvedBy.join(", ")})` : ""}`,
    executable: v.status === "Queued" ? (v.executable ? "yes" : "not yet") : undefined,
    txHash: v.txHash,
  });
  if (v.action?.kind === "approval")
    process.stdout.write("\nWARNING: this grants someone the right to move the Safe's assets later.\n");
  if (v.callConditions)
    process.stdout.write(
      `\nThe call's conditions (v3; checked again when it executes):\n${reportLines(v.callConditions).join("\n")}\n`,
    );
}

task(
  "intent:show",
  "Shows an intent: status, what it does (decoded from calldata), approvals, the agent's verified reason",
)
  .addPositionalParam("intentId", "The intentId (0x + 64 hex digits)")
  .addOptionalParam("module", COMMON_FLAGS.module)
  .addOptionalParam("deploymentsDir", COMMON_FLAGS.deploymentsDir)
  .addFlag("json", "Print one JSON object (fields: README-CLI.md)")
  .setAction(async (args: IntentArgs, hre) => {
    await runTask(
      args.json,
      async () => {
        const { VoidSigner, ZeroAddress } = await import("ethers");
        const ctx = await context(hre, args);
        const client = await cosignerClient(ctx, new VoidSigner(ZeroAddress, hre.ethers.provider));
        const view: IntentShowOutput = await client.show(args.intentId);
        const name = Object.entries(ctx.agents).find(([, a]) => a.toLowerCase() === view.agent?.toLowerCase())?.[0];
        if (name) view.agentName = name;
        if (view.intent) {
          // v3: a call with argument conditions, in words, as the module will check it at execution.
          const { conditionsReportFor } = await import("./lib/conditions");
          const report = await conditionsReportFor(hre, ctx, {
            agent: view.intent.agent,
            target: view.intent.target,
            data: view.intent.data,
          });
          if (report) view.callConditions = report;
        }
        return view;
      },
      renderView,
    );
  });

clientFlags(
  task(
    "intent:approve",
    "Approves a queued intent as a co-signer: on-chain, or --signature-only for an off-chain EIP-712 signature",
  )
    .addPositionalParam("intentId", "The intentId (0x + 64 hex digits)")
    .addFlag("signatureOnly", "Sign off-chain (no gas); hand the signature to whoever executes")
    .addOptionalParam("cosigner", "Co-signer address (selects the key; on the local chain the development account)"),
).setAction(async (args: IntentArgs & { signatureOnly: boolean; cosigner?: string }, hre) => {
  await runTask(
    args.json,
    async () => {
      const { firstAccount, roleSigner } = await import("./lib/context");
      const ctx = await context(hre, args);
      const module = await hre.ethers.getContractAt("IAgentTreasuryModule", ctx.module);
      const signer = await roleSigner(hre, "COSIGNER", {
        keystore: args.keystore,
        expectedAddress: args.cosigner,
        // Local chain without a key: the first development co-signer that has not approved yet.
        pick: async (dev) => {
          const members = (await module.cosigners()).map((m) => m.toLowerCase());
          return firstAccount(
            async (address) =>
              members.includes(address.toLowerCase()) && !(await module.hasApproved(args.intentId, address)),
          )(dev);
        },
      });
      const client = await cosignerClient(ctx, signer);
      return client.approve(args.intentId, { signatureOnly: args.signatureOnly });
    },
    (r) => {
      printFields({
        intentId: r.intentId,
        status: r.status,
        signer: r.signer,
        approvals: `${r.approvals} of ${r.threshold} on-chain`,
        txHash: r.txHash,
        signature: r.signature?.signature,
        era:
          r.signature?.era !== undefined
            ? `${r.signature.era} (co-signer era: the signature counts only until the co-signer members change)`
            : undefined,
      });
      if (r.signature) {
        const era = r.signature.era !== undefined ? `@${r.signature.era}` : "";
        process.stdout.write(
          `\nPass it to the executor: intent:execute ${r.intentId} --signatures ${r.signer}:${r.signature.signature}${era}\n`,
        );
      }
    },
  );
});

/**
 * `--signatures`: "signer:0xsig@era,signer:0xsig@era" (`@era` optional), or a JSON file with [{signer, signature, era}]
 * or `intent:approve --signature-only --json` outputs. `era` is the co-signer era the signature was made in (v3):
 * with it, a signature made before the co-signer members changed is reported as stale, naming its signer.
 */
function parseSignatures(value: string | undefined): CosignerSignatureInfo[] {
  if (!value) return [];
  const looksLikeFile = /\.json$/i.test(value) || /[\\/]/.test(value) || !value.includes(":");
  if (!fs.existsSync(value)) {
    if (looksLikeFile) {
      throw new TaskInputError(
        `--signatures ${value}: file not found. Pass the file that intent:approve --signature-only --json wrote, or the pairs ` +
          "themselves: --signatures 0xSigner:0xSignature@era,0xSigner:0xSignature@era.",
      );
    }
  } else {
    let parsed: unknown;
    try {
      parsed = JSON.parse(fs.readFileSync(value, "utf8")) as unknown;
    } catch (error) {
      throw new TaskInputError(
        `--signatures ${value} is not a JSON file (${(error as Error).message.split("\n")[0]}).`,
      );
    }
    const list = Array.isArray(parsed) ? parsed : [parsed];
    return list.map((item, i) => {
      const o = (item ?? {}) as { signer?: unknown; signature?: unknown; era?: unknown };
      const inner =
        o.signature && typeof o.signature === "object"
          ? (o.signature as { signer?: unknown; signature?: unknown; era?: unknown })
          : o;
      if (typeof inner.signer !== "string" || typeof inner.signature !== "string") {
        throw new TaskInputError(
          `${value}: entry ${i} needs "signer" and "signature" (or is an intent:approve --signature-only --json output).`,
        );
      }
      return withEra({ signer: inner.signer, signature: inner.signature }, inner.era, `${value} entry ${i}`);
    });
  }
  return value.split(",").map((pair) => {
    const [signer, rest] = pair.trim().split(":");
    const [signature, era] = (rest ?? "").split("@");
    if (!signer || !signature)
      throw new TaskInputError(`--signatures entry "${pair}" is not signer:signature (or signer:signature@era).`);
    return withEra({ signer, signature }, era, `--signatures entry "${pair}"`);
  });
}

/** Adds the co-signer era a signature was made in, checked: a whole number from 0 to 65535. */
function withEra(s: CosignerSignatureInfo, era: unknown, where: string): CosignerSignatureInfo {
  if (era === undefined) return s;
  const n = typeof era === "number" ? era : typeof era === "string" && /^\d+$/.test(era) ? Number(era) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 0xffff)
    throw new TaskInputError(`${where}: era must be a whole number from 0 to 65535 (got ${JSON.stringify(era)}).`);
  return { ...s, era: n };
}

clientFlags(
  task(
    "intent:execute",
    "Executes a queued intent once approved and past its eta (anyone may; the RELAYER key pays gas)",
  )
    .addPositionalParam("intentId", "The intentId (0x + 64 hex digits)")
    .addOptionalParam(
      "signatures",
      "Off-chain approvals: signer:0xsig@era,signer:0xsig@era or a JSON file (intent:approve --signature-only --json outputs)",
    ),
).setAction(async (args: IntentArgs & { signatures?: string }, hre) => {
  await runTask(
    args.json,
    async () => {
      const { roleSigner } = await import("./lib/context");
      const ctx = await context(hre, args);
      const signatures = parseSignatures(args.signatures);
      const signer = await roleSigner(hre, "RELAYER", { keystore: args.keystore });
      const client = await cosignerClient(ctx, signer);
      return client.execute(args.intentId, { signatures });
    },
    (r) =>
      printFields({
        intentId: r.intentId,
        status: r.status,
        agent: r.agent,
        txHash: r.txHash,
        replay: r.replay ? "yes: it had already been executed" : undefined,
      }),
  );
});

const CANCEL_ROLES: KeyRole[] = ["COSIGNER", "GUARDIAN", "AGENT"];

clientFlags(
  task("intent:cancel", "Cancels a queued intent (a co-signer, a guardian or the intent's agent)")
    .addPositionalParam("intentId", "The intentId (0x + 64 hex digits)")
    .addOptionalParam("role", "Whose key: COSIGNER (default), GUARDIAN or AGENT", "COSIGNER")
    .addOptionalParam(
      "from",
      "Address (or agent name) of the key to use; on the local chain selects the development account",
    ),
).setAction(async (args: IntentArgs & { role: string; from?: string }, hre) => {
  await runTask(
    args.json,
    async () => {
      const { firstAccount, roleSigner, resolveAgent } = await import("./lib/context");
      const role = args.role.toUpperCase() as KeyRole;
      if (!CANCEL_ROLES.includes(role))
        throw new TaskInputError(`--role must be one of ${CANCEL_ROLES.join(", ")} (got ${args.role}).`);
      const ctx = await context(hre, args);
      const module = await hre.ethers.getContractAt("IAgentTreasuryModule", ctx.module);
      const expectedAddress = args.from
        ? role === "AGENT"
          ? resolveAgent(ctx, args.from).address
          : args.from
        : undefined;
      const signer = await roleSigner(hre, role, {
        keystore: args.keystore,
        expectedAddress,
        pick: async (dev) => {
          if (role === "AGENT") return (await module.intent(args.intentId)).agent;
          const members = role === "COSIGNER" ? (await module.cosigners()).map((m) => m.toLowerCase()) : [];
          return firstAccount(async (address) =>
            role === "COSIGNER" ? members.includes(address.toLowerCase()) : module.isGuardian(address),
          )(dev);
        },
      });
      const client = await cosignerClient(ctx, signer);
      return client.cancel(args.intentId);
    },
    (r) => printFields({ intentId: r.intentId, status: r.status, by: r.by, txHash: r.txHash }),
  );
});
