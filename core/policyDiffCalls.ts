/**
 * The plan's items for v3's additions to an allowed call and to the Safe (SPEC section 11), for core/policyDiff.ts:
 * the conditions on each allowed call's arguments (`setCallConditions`; the chain's are read back through the lens's
 * `callConditions` by deploy/chainState.ts) and the Safe's allowances to spenders such as a DEX router (`approve` on
 * the token, from the Safe: an owners' transaction, never an agent's). The diff places them: a call's conditions
 * before the call is allowed, so an apply never leaves a window in which the call runs unconditioned; allowances
 * last. Pure, like the diff.
 */
import { FunctionFragment, Interface, getAddress } from "ethers";
import { ConditionValue, argumentWords, describeCondition } from "../sdk/conditions";
import { conditionTuples, conditionsLoosen, sameConditions } from "./conditions";
import type { ResolvedAgent, ResolvedAllowance, ResolvedCall } from "./policyResolve";
import { formatAmount } from "./units";

/** A plan item of these kinds (a `PlanItem` of core/policyDiff.ts). */
export interface CallsPlanItem {
  kind: "setCallConditions" | "approve";
  description: string;
  loosens: boolean;
  call: { to: string; data: string };
  agent?: string;
}

const ERC20_APPROVE = new Interface(["function approve(address spender, uint256 amount) returns (bool)"]);

/** The key of an allowance in the chain state: `${token}:${spender}`, lower case. */
export function allowanceKey(token: string, spender: string): string {
  return `${token.toLowerCase()}:${spender.toLowerCase()}`;
}

/** `trading: exactInputSingle on SwapRouter02 (0x…)`: how a plan names a call. */
function callName(agent: ResolvedAgent, c: ResolvedCall): string {
  return `${agent.name}: ${c.signature.split("(")[0]} on ${c.targetLabel}${c.targetLabel.startsWith("0x") ? "" : ` (${c.target})`}`;
}

/**
 * The `setCallConditions` item that makes the chain hold the file's conditions for `c` (the chain holds `have`), or
 * none when it does. Adding conditions narrows the call; removing or changing one loosens it.
 */
export function conditionItem(
  m: Interface,
  module: string,
  agent: ResolvedAgent,
  c: ResolvedCall,
  have: readonly ConditionValue[],
): CallsPlanItem | undefined {
  if (sameConditions(have, c.conditions)) return undefined;
  const words = c.conditions.map((x) => x.text);
  const args = argumentWords(FunctionFragment.from(c.namedSignature));
  const before = have.length === 0 ? "" : ` (was: ${have.map((x) => describeCondition(x, { args })).join("; ")})`;
  return {
    kind: "setCallConditions",
    description:
      c.conditions.length === 0
        ? `${callName(agent, c)}: clear its argument conditions${before}`
        : `${callName(agent, c)}: only when ${words.join("; ")}${before}`,
    loosens: conditionsLoosen(have, c.conditions),
    call: {
      to: getAddress(module),
      data: m.encodeFunctionData("setCallConditions", [
        agent.address,
        c.target,
        c.selector,
        conditionTuples(c.conditions),
      ]),
    },
    agent: agent.address,
  };
}

/**
 * The Safe's `approve` calls that make each allowance of the file hold (`have`: the chain's, by
 * {@link allowanceKey}); raising one loosens. Allowances the file does not list are left alone.
 */
export function allowanceItems(
  allowances: readonly ResolvedAllowance[],
  have: ReadonlyMap<string, bigint>,
): CallsPlanItem[] {
  const items: CallsPlanItem[] = [];
  for (const a of allowances) {
    const now = have.get(allowanceKey(a.token.address, a.spender)) ?? 0n;
    if (now === a.amount) continue;
    const show = (v: bigint) => `${formatAmount(v, a.token.decimals)} ${a.token.symbol}`;
    const spender = a.spenderLabel.startsWith("0x") ? a.spender : `${a.spenderLabel} (${a.spender})`;
    items.push({
      kind: "approve",
      description:
        a.amount === 0n
          ? `allowance: revoke ${spender}'s right to pull ${a.token.symbol} from the Safe (was ${show(now)})`
          : `allowance: ${spender} may pull up to ${show(a.amount)} from the Safe (now ${show(now)}; an owners' approve, never an agent's)`,
      loosens: a.amount > now,
      call: { to: a.token.address, data: ERC20_APPROVE.encodeFunctionData("approve", [a.spender, a.amount]) },
    });
  }
  return items;
}
