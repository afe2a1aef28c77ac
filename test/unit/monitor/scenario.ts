/**
 * The audit scenarios shared by the audit specs (unit and headless-browser). No tests here.
 *
 * `auditScenarioFixture`: one agent of `treasuryFixture`, through the client library with a journal, does one thing
 * of every kind.
 *
 *   1. pays 100 USDC to Alice                       auto tier, Executed
 *   2. pays 0.5 ETH to Bob (rationale with markup)  auto tier, Executed
 *   3. pays 20,000 USDC to Bob                      queued, approved by 2 co-signers, executed after 1 h
 *   4. pays 60,000 USDC to the attacker             above the 50,000 hard cap: Denied (AboveHardCap)
 *   5. proposes 10 USDC to Alice                    queued, cancelled by the guardian
 *   6. pays 2,000 USDC to Alice on nonce lane 3     queued, never approved: Expired after eta + 1 day
 *   +  intent 1 relayed again under its key         IdempotentReplay (not a new intent)
 */
import fs from "fs";
import os from "os";
import path from "path";
import { ethers } from "hardhat";
import { time } from "@nomicfoundation/hardhat-network-helpers";
import { AgentClient } from "../../../sdk/client";
import { Journal, deserializeIntent } from "../../../sdk/journal";
import { DAY, HOUR, cosignerSignatures, intentId, submitSigned, tokenPayment, treasuryFixture } from "../../fixtures";

export const RATIONALES = {
  alice: "Invoice #101 from Alice Ltd (design work, October)",
  bob: 'Gas top-up for Bob <script>alert("x")</script> & co',
  big: "Quarterly retainer for Bob's audit firm",
  denied: "Urgent transfer requested in chat",
  proposal: "Small refund to Alice: please review",
  expired: "Conference sponsorship (lane 3)",
};

export async function auditScenarioFixture() {
  const fx = await treasuryFixture();
  const startBlock = await ethers.provider.getBlockNumber();
  const journal = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "atg-audit-")), "agent-journal.jsonl");
  const client = await AgentClient.connect({
    module: fx.moduleAddress,
    signer: fx.agent,
    relayer: fx.relayer,
    journal,
    tokens: { USDC: fx.usdcAddress },
    pollIntervalMs: 20,
    validFor: 3 * 86400,
    retry: { retries: 1, minDelayMs: 10 },
  });
  const paid = await client.pay({ asset: "USDC", to: fx.alice.address, amount: "100", rationale: RATIONALES.alice });
  await client.pay({ asset: "ETH", to: fx.bob.address, amount: "0.5", rationale: RATIONALES.bob });
  const big = await client.pay({ asset: "USDC", to: fx.bob.address, amount: "20000", rationale: RATIONALES.big });
  const denied = await client.pay({
    asset: "USDC",
    to: fx.attacker.address,
    amount: "60000",
    rationale: RATIONALES.denied,
  });
  const proposal = await client.propose({
    asset: "USDC",
    to: fx.alice.address,
    amount: "10",
    rationale: RATIONALES.proposal,
  });
  const expired = await client.pay({
    asset: "USDC",
    to: fx.alice.address,
    amount: "2000",
    rationale: RATIONALES.expired,
    lane: 3n,
  });

  // Intent 1 relayed again by hand: same key, same payload.
  const first = Journal.open(journal, { readOnly: true }).record(paid.intentId)!.signed;
  await (await fx.module.connect(fx.relayer).submit(deserializeIntent(first.intent), first.signature)).wait();

  await (await fx.module.connect(fx.cosigners[0]).approve(big.intentId)).wait();
  await (await fx.module.connect(fx.cosigners[1]).approve(big.intentId)).wait();
  await (await fx.module.connect(fx.guardian).cancel(proposal.intentId)).wait();
  await time.increase(HOUR);
  const bigSigned = Journal.open(journal, { readOnly: true }).record(big.intentId)!.signed;
  await (await fx.module.connect(fx.relayer).executeQueued(deserializeIntent(bigSigned.intent), [])).wait();
  await time.increase(DAY + 60);
  await ethers.provider.send("evm_mine", []);
  client.close();
  return {
    fx,
    journal,
    startBlock,
    ids: {
      paid: paid.intentId,
      big: big.intentId,
      denied: denied.intentId,
      proposal: proposal.intentId,
      expired: expired.intentId,
    },
  };
}

/**
 * `auditOwnersFixture`: what the co-signers, the guardian and the owners do, for the approvals and events of the
 * trail. Starts after `treasuryFixture`'s configuration (co-signers 2 of 3 set before `startBlock`).
 *
 *   1. pays 20,000 USDC to Bob         queued; co-signer 0 approves on-chain, co-signer 1's EIP-712 signature goes
 *                                       with executeQueued after 1 h: Executed with 2 of 2 approvals
 *   2. pays 30,000 USDC to Alice       queued; co-signers 0 and 1 approve on-chain; the owners then replace
 *                                       co-signer 2 with Alice (a new era: both approvals void); co-signer 0
 *                                       approves again and co-signer 1 signs: Executed with 2 of 2 (3 on-chain
 *                                       approvals in the log, 1 of them counting)
 *   3. the guardian pauses; the owners unpause
 *   4. the guardian freezes the agent; the owners unfreeze it
 *   5. the owners lower the threshold to 1 (same members: the era stays)
 */
export async function auditOwnersFixture() {
  const fx = await treasuryFixture();
  const startBlock = (await ethers.provider.getBlockNumber()) + 1;
  const [c0, c1, c2] = fx.cosigners;
  const m = fx.module.interface;
  const queue = async (to: string, amount: string) => {
    const intent = await tokenPayment(fx, fx.usdcAddress, to, BigInt(amount) * 10n ** 6n);
    await (await submitSigned(fx, intent)).wait();
    return { intent, id: intentId(fx, intent) };
  };

  const first = await queue(fx.bob.address, "20000");
  await (await fx.module.connect(c0).approve(first.id)).wait();
  await time.increase(HOUR);
  await (
    await fx.module.connect(fx.relayer).executeQueued(first.intent, await cosignerSignatures(fx, first.id, [c1]))
  ).wait();

  const second = await queue(fx.alice.address, "30000");
  await (await fx.module.connect(c0).approve(second.id)).wait();
  await (await fx.module.connect(c1).approve(second.id)).wait();
  await fx.asOwners(m.encodeFunctionData("setCosigners", [[c0.address, c1.address, fx.alice.address], 2]));
  await (await fx.module.connect(c0).approve(second.id)).wait();
  await time.increase(HOUR);
  await (
    await fx.module.connect(fx.relayer).executeQueued(second.intent, await cosignerSignatures(fx, second.id, [c1]))
  ).wait();

  await (await fx.module.connect(fx.guardian).pause()).wait();
  await fx.asOwners(m.encodeFunctionData("unpause"));
  await (await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address)).wait();
  await fx.asOwners(m.encodeFunctionData("unfreezeAgent", [fx.agent.address]));
  await fx.asOwners(m.encodeFunctionData("setCosigners", [[c0.address, c1.address, fx.alice.address], 1]));
  return { fx, startBlock, ids: { first: first.id, second: second.id }, removedCosigner: c2 };
}
