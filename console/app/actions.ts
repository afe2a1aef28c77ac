/**
 * Every action the page offers, described in plain words before the wallet asks (the confirmation dialog shows
 * `lines`), and what it does when confirmed: a module call sent by the wallet, a signature made by the wallet and
 * stored by the console's server, or a batch file the server writes for the Safe owners.
 */
import type { Address, Hex } from "viem";
import type { AgentView, BatchView, ConsoleState, QueueItem } from "../api";
import { postOwners, postReason, postSignature } from "./client";
import { duration, groupDigits, utc } from "./format";
import { intentIdOf, intentStruct, sendModuleCall, signCosignerApproval } from "./wallet";
import type { Connection } from "./wallet";

export interface PlannedAction {
  title: string;
  lines: string[];
  /** The confirming button's name. */
  confirm: string;
  run: () => Promise<ActionOutcome>;
}

export interface ActionOutcome {
  message: string;
  batch?: BatchView;
}

export interface ActionContext {
  state: ConsoleState;
  connection: Connection;
  /** Chain time now (estimated from the latest block). */
  now: number;
}

export interface Roles {
  cosigner: boolean;
  guardian: boolean;
  owner: boolean;
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

export function rolesOf(state: ConsoleState, account: string | undefined): Roles {
  if (!account) return { cosigner: false, guardian: false, owner: false };
  return {
    cosigner: state.cosigners.members.some((m) => same(m, account)),
    guardian: state.guardians.some((g) => same(g, account)),
    owner: state.safeOwners.some((o) => same(o, account)),
  };
}

export function agentLabel(name: string | undefined, address: string): string {
  return name ? `${name} (${address})` : address;
}

/** The intent's action in words, with grouped digits. */
export function actionWords(item: QueueItem): string {
  return groupDigits(item.action.summary);
}

/** Refuses to act on an intent whose fields do not hash to its id (the words shown would not be what is approved). */
function checkIntentId(ctx: ActionContext, item: QueueItem): void {
  const computed = intentIdOf(Number(ctx.state.chainId), ctx.state.module as Address, item.intent);
  if (computed.toLowerCase() !== item.intentId.toLowerCase()) {
    throw new Error(
      `The intent the server sent hashes to ${computed}, not ${item.intentId}: refusing to act on it. Reload the page.`,
    );
  }
}

function reasonLine(item: QueueItem): string {
  if (!item.reason)
    return `The agent's reason is not known to the console; only its hash is on-chain: ${item.rationaleHash}.`;
  const check = item.reason.matches
    ? "it matches the on-chain rationale hash"
    : "WARNING: it does NOT match the on-chain rationale hash";
  return `The agent's stated reason: “${item.reason.text}” (${check}). It is the agent's claim, not the effect: the effect is the line above.`;
}

function etaLine(ctx: ActionContext, item: QueueItem): string {
  const when =
    item.eta <= ctx.now
      ? `it could run since ${utc(item.eta)}`
      : `it can run from ${utc(item.eta)} (in ${duration(item.eta - ctx.now)})`;
  return `Approvals so far: ${item.counted} of ${item.threshold}; ${when}; it expires at ${utc(item.expiresAt)}.`;
}

export function approveAction(ctx: ActionContext, item: QueueItem): PlannedAction {
  return {
    title: "Approve on-chain",
    lines: [
      `As co-signer ${ctx.connection.account} you approve intent ${item.intentId} of agent ${agentLabel(item.agentName, item.agent)}: ${actionWords(item)}.`,
      reasonLine(item),
      etaLine(ctx, item),
      `Your wallet will ask you to send a transaction to the module ${ctx.state.module} calling approve(intentId); you pay its gas. The approval counts in co-signer era ${ctx.state.cosigners.era} only.`,
    ],
    confirm: "Continue in wallet",
    run: async () => {
      checkIntentId(ctx, item);
      const hash = await sendModuleCall(ctx.connection.account, ctx.state.module as Address, "approve", [
        item.intentId,
      ]);
      return { message: `Approved on-chain in transaction ${hash}.` };
    },
  };
}

export function signAction(ctx: ActionContext, item: QueueItem): PlannedAction {
  const era = ctx.state.cosigners.era;
  return {
    title: "Sign an approval",
    lines: [
      `As co-signer ${ctx.connection.account} you sign an approval of intent ${item.intentId} of agent ${agentLabel(item.agentName, item.agent)}: ${actionWords(item)}.`,
      reasonLine(item),
      etaLine(ctx, item),
      `Your wallet will show typed data CosignerApproval(intentId, cosignerEra ${era}) for AgentTreasuryModule version 1 on chain ${ctx.state.chainId}, module ${ctx.state.module}. No transaction, no gas: the console keeps the signature and whoever presses Execute hands it to the module.`,
    ],
    confirm: "Continue in wallet",
    run: async () => {
      checkIntentId(ctx, item);
      const signature = await signCosignerApproval(
        ctx.connection.account,
        Number(ctx.state.chainId),
        ctx.state.module as Address,
        item.intentId as Hex,
        era,
      );
      const r = await postSignature({
        intentId: item.intentId,
        signer: ctx.connection.account,
        cosignerEra: era,
        signature,
      });
      return {
        message: r.stored
          ? "Signed: the console stored your signature."
          : "You had already signed this intent in this era; nothing changed.",
      };
    },
  };
}

export function executeAction(ctx: ActionContext, item: QueueItem): PlannedAction {
  return {
    title: "Execute",
    lines: [
      `You execute intent ${item.intentId} of agent ${agentLabel(item.agentName, item.agent)}: ${actionWords(item)}.`,
      reasonLine(item),
      `It has ${item.approvedOnChain.length} on-chain approval(s) and ${item.signatures.length} collected signature(s): ${item.counted} of ${item.threshold} needed.`,
      `Your wallet will ask you to send executeQueued(intent, signatures) to the module ${ctx.state.module}; you pay the gas. Anyone may execute: the module checks the approvals, the eta and the agent's current limits again.`,
    ],
    confirm: "Continue in wallet",
    run: async () => {
      checkIntentId(ctx, item);
      const hash = await sendModuleCall(ctx.connection.account, ctx.state.module as Address, "executeQueued", [
        intentStruct(item.intent),
        item.signatures,
      ]);
      return { message: `Executed in transaction ${hash}.` };
    },
  };
}

export function cancelAction(ctx: ActionContext, item: QueueItem, role: string): PlannedAction {
  return {
    title: "Cancel the intent",
    lines: [
      `As ${role} ${ctx.connection.account} you cancel intent ${item.intentId} of agent ${agentLabel(item.agentName, item.agent)}: ${actionWords(item)}.`,
      "It can never execute afterwards; the agent would have to submit a new intent.",
      `Your wallet will ask you to send a transaction to the module ${ctx.state.module} calling cancel(intentId); you pay its gas.`,
    ],
    confirm: "Continue in wallet",
    run: async () => {
      const hash = await sendModuleCall(ctx.connection.account, ctx.state.module as Address, "cancel", [item.intentId]);
      return { message: `Cancelled in transaction ${hash}.` };
    },
  };
}

export function pauseAction(ctx: ActionContext): PlannedAction {
  return {
    title: "Pause the module",
    lines: [
      `As guardian ${ctx.connection.account} you pause module ${ctx.state.module}: no payment, call or queued execution of any agent moves until the Safe owners unpause.`,
      "Co-signers can still approve and anyone allowed can still cancel.",
      "Your wallet will ask you to send a transaction calling pause(); you pay its gas.",
    ],
    confirm: "Continue in wallet",
    run: async () => {
      const hash = await sendModuleCall(ctx.connection.account, ctx.state.module as Address, "pause", []);
      return { message: `Paused in transaction ${hash}. Only the Safe owners can unpause.` };
    },
  };
}

export function freezeAction(ctx: ActionContext, agent: AgentView): PlannedAction {
  return {
    title: `Freeze agent ${agent.name ?? agent.address}`,
    lines: [
      `As guardian ${ctx.connection.account} you freeze agent ${agentLabel(agent.name, agent.address)}: nothing it signed moves, its queued intents included, until the Safe owners unfreeze it.`,
      `Your wallet will ask you to send a transaction calling freezeAgent(${agent.address}); you pay its gas.`,
    ],
    confirm: "Continue in wallet",
    run: async () => {
      const hash = await sendModuleCall(ctx.connection.account, ctx.state.module as Address, "freezeAgent", [
        agent.address,
      ]);
      return { message: `Froze ${agent.name ?? agent.address} in transaction ${hash}.` };
    },
  };
}

const BATCH_LINES = (ctx: ActionContext) => [
  `The console writes a Safe Transaction Builder batch file for the Safe ${ctx.state.safe} (${ctx.state.safeThreshold} of ${ctx.state.safeOwners.length} owners sign), offered here for download.`,
  "Import it in the Safe app (Apps, Transaction Builder, drag the file in), check each call against this list, create the batch, collect the owners' signatures and execute. Nothing is signed here.",
];

function batchOutcome(batch: BatchView): ActionOutcome {
  return { message: `Batch ${batch.file} written: download it below and import it in the Safe app.`, batch };
}

export function unpauseAction(ctx: ActionContext): PlannedAction {
  return {
    title: "Unpause (Safe owners)",
    lines: [
      `Only the Safe can unpause module ${ctx.state.module}. The batch has one call: unpause().`,
      ...BATCH_LINES(ctx),
    ],
    confirm: "Write the batch",
    run: async () => batchOutcome(await postOwners("unpause", {})),
  };
}

export function unfreezeAction(ctx: ActionContext, agent: AgentView): PlannedAction {
  return {
    title: `Unfreeze agent ${agent.name ?? agent.address} (Safe owners)`,
    lines: [
      `Only the Safe can unfreeze agent ${agentLabel(agent.name, agent.address)}. The batch has one call: unfreezeAgent(${agent.address}), which also clears its strikes.`,
      ...BATCH_LINES(ctx),
    ],
    confirm: "Write the batch",
    run: async () => batchOutcome(await postOwners("unfreeze", { agent: agent.name ?? agent.address })),
  };
}

export function policyAction(ctx: ActionContext, fileName: string, text: string): PlannedAction {
  return {
    title: "Change the policy (Safe owners)",
    lines: [
      `The console compares ${fileName} with the chain, as treasury:plan does, and writes every configuration call that makes the chain match it. Changes that loosen a limit are marked.`,
      ...BATCH_LINES(ctx),
    ],
    confirm: "Write the batch",
    run: async () => batchOutcome(await postOwners("policy", { policy: text, policyName: fileName })),
  };
}

export function reasonAction(item: QueueItem, text: string): PlannedAction {
  return {
    title: "Add the agent's reason",
    lines: [
      `The console stores this text as the reason for intent ${item.intentId} only if its keccak256 is the on-chain rationale ${item.rationaleHash}, i.e. exactly what the agent signed.`,
      `“${text}”`,
    ],
    confirm: "Store the reason",
    run: async () => {
      const r = await postReason({ intentId: item.intentId, text });
      return {
        message: r.stored
          ? "The reason matches the on-chain hash and is stored."
          : "The intent already had a reason; nothing changed.",
      };
    },
  };
}
