/**
 * The plan's items for v3's additions to an allowed call and to the Safe (SPEC section 11): the conditions on each
 * allowed call's arguments (`setCallConditions`, read back through the lens's `callConditions`) and the Safe's
 * allowances to spenders such as a DEX router (`approve` on the token, from the Safe: an owners' transaction, never
 * an agent's). deploy/plan.ts places them: a call's conditions before the call is allowed, so an apply never leaves
 * a window in which the call runs unconditioned; allowances last.
 */
import { Contract, FunctionFragment, Interface, Provider, getAddress } from "ethers";
import type { AgentTreasuryLens } from "../typechain-types";
import type { PlanItem } from "./plan";
import type { ResolvedAgent, ResolvedCall, ResolvedPolicy } from "./policy";
import { ConditionValue, argumentWords, describeCondition } from "../sdk/conditions";
import { conditionTuples, conditionsLoosen, sameConditions } from "./conditions";
import { formatAmount } from "./units";

const ERC20_ALLOWANCE = ["function allowance(address owner, address spender) view returns (uint256)", "function approve(address spender, uint256 amount) returns (bool)"];

/** The conditions the module holds for an agent's call (empty when it has none). */
export async function chainConditions(lens: AgentTreasuryLens, module: string, agent: string, call: { target: string; selector: string }): Promise<ConditionValue[]> {
  const list = await lens.callConditions(module, agent, call.target, call.selector);
  return list.map((c) => ({ word: Number(c.word), op: Number(c.op), value: String(c.value) }));
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
): PlanItem | undefined {
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
    call: { to: getAddress(module), data: m.encodeFunctionData("setCallConditions", [agent.address, c.target, c.selector, conditionTuples(c.conditions)]) },
    agent: agent.address,
  };
}

/** The Safe's `approve` calls that make each allowance of the file hold; raising one loosens. */
export async function allowanceItems(provider: Provider, resolved: ResolvedPolicy, safe: string): Promise<PlanItem[]> {
  const items: PlanItem[] = [];
  for (const a of resolved.allowances) {
    const token = new Contract(a.token.address, ERC20_ALLOWANCE, provider);
    const have = (await provider.getCode(a.token.address)) === "0x" ? 0n : ((await token.allowance(safe, a.spender)) as bigint);
    if (have === a.amount) continue;
    const show = (v: bigint) => `${formatAmount(v, a.token.decimals)} ${a.token.symbol}`;
    const spender = a.spenderLabel.startsWith("0x") ? a.spender : `${a.spenderLabel} (${a.spender})`;
    items.push({
      kind: "approve",
      description:
        a.amount === 0n
          ? `allowance: revoke ${spender}'s right to pull ${a.token.symbol} from the Safe (was ${show(have)})`
          : `allowance: ${spender} may pull up to ${show(a.amount)} from the Safe (now ${show(have)}; an owners' approve, never an agent's)`,
      loosens: a.amount > have,
      call: { to: a.token.address, data: token.interface.encodeFunctionData("approve", [a.spender, a.amount]) },
    });
  }
  return items;
}
