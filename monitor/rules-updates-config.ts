/**
 * The state updates of configuration events, one per kind: an agent's policy (its configuration, key, limits,
 * allowed calls and their conditions, recipients), the module-wide settings (co-signers, guardians, treasury-wide
 * limits) and the Safe's own (modules, owners, threshold, guards). Each records the new configuration in the
 * statistics and reports what changed to the config-loosened rule (rules-checks.ts). The table in rules-updates.ts
 * dispatches on them.
 */
import { ZeroAddress, getAddress } from "ethers";
import { isNoLimit, treasuryLimitLoosens } from "../core/loosening";
import { ConfigReport, checkConfigLoosened } from "./rules-checks";
import { Change, configChanges, limitChanges } from "./rules-changes";
import { At, Emit, EngineCore, Update, lower, pushUnique } from "./rules-core";
import type { ConditionValue } from "../sdk/types";
import { describeCondition } from "../sdk/conditions";
import { conditionsLoosen } from "../core/conditions";

const config = (core: EngineCore, report: ConfigReport, emit: Emit, at: At) =>
  checkConfigLoosened(core, report, emit, at);

/** A set membership switched on or off: the change in words, or nothing when it did not change. */
function toggled(
  what: string,
  had: boolean,
  has: boolean,
  words: [off: string, on: string],
  loosens: boolean,
): Change[] {
  return had === has ? [] : [{ what, before: had ? words[1] : words[0], after: has ? words[1] : words[0], loosens }];
}

// ---------------------------------------------------------------------------------------------- agents

export const agentSet: Update<"AgentSet"> = (core, e, emit, at) => {
  const known = core.state.keys[lower(e.agent)] !== undefined;
  const agent = core.agentOf(e.agent, e.timestamp);
  const changes: Change[] =
    known && agent.config
      ? configChanges(agent.config, e.config)
      : [{ what: "agent", before: "none", after: "registered", loosens: true }];
  if (known && agent.removed) changes.unshift({ what: "agent", before: "removed", after: "re-added", loosens: true });
  agent.config = e.config;
  agent.removed = false;
  config(core, { title: `agent ${getAddress(e.agent)} set`, changes, agent, key: e.agent }, emit, at);
};

export const agentRemoved: Update<"AgentRemoved"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  agent.removed = true;
  core.dropQueued(agent);
  const changes = [{ what: "agent", before: "active", after: "removed", loosens: false }];
  config(core, { title: `agent ${getAddress(e.agent)} removed`, changes, agent, key: e.agent }, emit, at);
};

export const agentRotated: Update<"AgentRotated"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.oldKey, e.timestamp);
  agent.key = e.newKey;
  pushUnique(agent.keys, e.newKey);
  core.state.keys[lower(e.newKey)] = lower(agent.identity);
  core.dropQueued(agent, e.oldKey);
  const changes = [{ what: "key", before: e.oldKey, after: e.newKey, loosens: false }];
  config(core, { title: `agent key rotated from ${e.oldKey} to ${e.newKey}`, changes, agent, key: e.newKey }, emit, at);
};

export const assetLimitSet: Update<"AssetLimitSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const changes = limitChanges(agent.limits[e.asset], e.limit, (v) => core.amount(e.asset, v));
  if (isNoLimit(e.limit)) delete agent.limits[e.asset];
  else {
    const { autoPerTx, autoPerWindow, window, escalatedPerTx } = e.limit;
    agent.limits[e.asset] = {
      autoPerTx: autoPerTx.toString(),
      autoPerWindow: autoPerWindow.toString(),
      window,
      escalatedPerTx: escalatedPerTx.toString(),
    };
  }
  config(
    core,
    { title: `limits of ${core.meta(e.asset)?.symbol ?? e.asset} changed`, changes, agent, key: e.agent },
    emit,
    at,
  );
};

export const allowedCallSet: Update<"AllowedCallSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const key = `${lower(e.target)}:${e.selector}`;
  const had = agent.allowedCalls.includes(key);
  if (e.allowed) pushUnique(agent.allowedCalls, key);
  else agent.allowedCalls = agent.allowedCalls.filter((c) => c !== key);
  const changes = toggled(`call ${e.selector} on ${e.target}`, had, e.allowed, ["forbidden", "allowed"], e.allowed);
  const title = `call ${e.selector} on ${e.target} ${e.allowed ? "allowed" : "forbidden"}`;
  config(core, { title, changes, agent, key: e.agent }, emit, at);
};

/** v3: a call's argument conditions replaced; dropping or changing one loosens (core/conditions.ts). */
export const callConditionsSet: Update<"CallConditionsSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const key = `${lower(e.target)}:${e.selector}`;
  const all = (agent.callConditions ??= {});
  const before = all[key] ?? [];
  if (e.conditions.length === 0) delete all[key];
  else all[key] = e.conditions;
  const words = (list: readonly ConditionValue[]) =>
    list.length === 0 ? "none" : list.map((c) => describeCondition(c)).join("; ");
  const what = `conditions of call ${e.selector} on ${e.target}`;
  const changes = [
    { what, before: words(before), after: words(e.conditions), loosens: conditionsLoosen(before, e.conditions) },
  ];
  config(
    core,
    { title: `${what} ${e.conditions.length === 0 ? "cleared" : "set"}`, changes, agent, key: e.agent },
    emit,
    at,
  );
};

export const recipientSet: Update<"RecipientSet"> = (core, e, emit, at) => {
  const agent = core.agentOf(e.agent, e.timestamp);
  const r = lower(e.recipient);
  const had = agent.allowlist.includes(r);
  if (e.allowed) pushUnique(agent.allowlist, r);
  else agent.allowlist = agent.allowlist.filter((x) => x !== r);
  const changes = toggled(`recipient ${e.recipient}`, had, e.allowed, ["unknown", "allowed"], e.allowed);
  const title = `recipient ${e.recipient} ${e.allowed ? "added to" : "removed from"} the allowlist`;
  config(core, { title, changes, agent, key: e.agent }, emit, at);
};

// ---------------------------------------------------------------------------------------------- the module

export const cosignersSet: Update<"CosignersSet"> = (core, e, emit, at) => {
  const { state } = core;
  const before = state.cosigners;
  const after = e.members.map(lower);
  const changes: Change[] = [];
  if (before.length > 0 || state.threshold > 0) {
    if (e.threshold !== state.threshold) {
      changes.push({
        what: "co-signer threshold",
        before: String(state.threshold),
        after: String(e.threshold),
        loosens: e.threshold < state.threshold,
      });
    }
    for (const m of after.filter((m) => !before.includes(m)))
      changes.push({ what: `co-signer ${getAddress(m)}`, before: "absent", after: "added", loosens: true });
    for (const m of before.filter((m) => !after.includes(m)))
      changes.push({ what: `co-signer ${getAddress(m)}`, before: "member", after: "removed", loosens: false });
  } else {
    changes.push({ what: "co-signers", before: "none", after: `${e.threshold} of ${after.length}`, loosens: false });
  }
  // Removed members' approvals stop counting at once, and stay void if they come back.
  for (const q of Object.values(state.queued)) q.approvals = q.approvals.filter((a) => after.includes(a));
  state.cosigners = after;
  state.threshold = e.threshold;
  config(core, { title: "co-signer set changed", changes }, emit, at);
};

export const guardianSet: Update<"GuardianSet"> = (core, e, emit, at) => {
  const g = lower(e.guardian);
  const had = core.state.guardians.includes(g);
  if (e.enabled) pushUnique(core.state.guardians, g);
  else core.state.guardians = core.state.guardians.filter((x) => x !== g);
  if (had === e.enabled) return;
  const changes = [
    {
      what: `guardian ${e.guardian}`,
      before: had ? "enabled" : "absent",
      after: e.enabled ? "enabled" : "disabled",
      loosens: !e.enabled,
    },
  ];
  config(core, { title: `guardian ${e.guardian} ${e.enabled ? "enabled" : "disabled"}`, changes }, emit, at);
};

export const treasuryLimitSet: Update<"TreasuryLimitSet"> = (core, e, emit, at) => {
  const prev = core.state.treasuryLimits[e.asset];
  const show = (v: string | bigint) => core.amount(e.asset, v);
  const changes: Change[] = [];
  if (e.perWindow === 0n) {
    if (prev)
      changes.push({
        what: "treasury limit",
        before: `${show(prev.perWindow)} per ${prev.window}s`,
        after: "none",
        loosens: treasuryLimitLoosens(prev, undefined),
      });
    delete core.state.treasuryLimits[e.asset];
  } else {
    if (!prev)
      changes.push({
        what: "treasury limit",
        before: "none",
        after: `${show(e.perWindow)} per ${e.window}s`,
        loosens: false,
      });
    else {
      if (e.perWindow !== BigInt(prev.perWindow)) {
        const loosens = treasuryLimitLoosens(prev, { perWindow: e.perWindow, window: prev.window });
        changes.push({ what: "treasury perWindow", before: show(prev.perWindow), after: show(e.perWindow), loosens });
      }
      if (e.window !== prev.window) {
        const loosens = treasuryLimitLoosens(prev, { perWindow: prev.perWindow, window: e.window });
        changes.push({ what: "treasury window", before: `${prev.window}s`, after: `${e.window}s`, loosens });
      }
    }
    core.state.treasuryLimits[e.asset] = { perWindow: e.perWindow.toString(), window: e.window };
  }
  config(core, { title: `treasury-wide limit of ${core.meta(e.asset)?.symbol ?? e.asset} changed`, changes }, emit, at);
};

// ---------------------------------------------------------------------------------------------- the Safe

export const safeEnabledModule: Update<"SafeEnabledModule"> = (core, e, emit, at) => {
  pushUnique(core.state.safe.modules, lower(e.module));
  if (lower(e.module) === lower(core.ctx.module)) return; // this module's own enabling
  const changes = [{ what: `Safe module ${e.module}`, before: "disabled", after: "enabled", loosens: true }];
  config(core, { title: `the Safe enabled another module ${e.module}`, changes }, emit, at);
};

export const safeDisabledModule: Update<"SafeDisabledModule"> = (core, e, emit, at) => {
  core.state.safe.modules = core.state.safe.modules.filter((m) => m !== lower(e.module));
  const ours = lower(e.module) === lower(core.ctx.module) ? " (this module: agents can no longer act)" : "";
  const changes = [{ what: `Safe module ${e.module}`, before: "enabled", after: "disabled", loosens: false }];
  config(core, { title: `the Safe disabled module ${e.module}${ours}`, changes }, emit, at);
};

export const safeAddedOwner: Update<"SafeAddedOwner"> = (core, e, emit, at) => {
  const changes = [{ what: `Safe owner ${e.owner}`, before: "absent", after: "owner", loosens: true }];
  config(core, { title: `the Safe added owner ${e.owner}`, changes }, emit, at);
};

export const safeRemovedOwner: Update<"SafeRemovedOwner"> = (core, e, emit, at) => {
  const changes = [{ what: `Safe owner ${e.owner}`, before: "owner", after: "removed", loosens: false }];
  config(core, { title: `the Safe removed owner ${e.owner}`, changes }, emit, at);
};

export const safeChangedThreshold: Update<"SafeChangedThreshold"> = (core, e, emit, at) => {
  const previous = e.previous ?? core.state.safe.threshold;
  core.state.safe.threshold = e.threshold;
  const before = previous === undefined ? "unknown" : String(previous);
  const changes = [
    {
      what: "Safe threshold",
      before,
      after: String(e.threshold),
      loosens: previous === undefined || e.threshold < previous,
    },
  ];
  config(core, { title: `the Safe's threshold changed to ${e.threshold}`, changes }, emit, at);
};

export const safeChangedGuard: Update<"SafeChangedGuard"> = (core, e, emit, at) => {
  const removed = e.guard === ZeroAddress;
  const which = e.moduleGuard ? "module guard" : "guard";
  const changes = [
    {
      what: e.moduleGuard ? "Safe module guard" : "Safe guard",
      before: "previous",
      after: removed ? "none" : e.guard,
      loosens: removed,
    },
  ];
  config(core, { title: `the Safe's ${which} ${removed ? "was removed" : `is now ${e.guard}`}`, changes }, emit, at);
};
