/**
 * The module's interface as a whole, `IAgentTreasuryModule` (SPEC section 8): who may call each state-changing
 * function, what every configuration call emits, and what the views read.
 *
 * Who may call what is driven by the interface's ABI: every state-changing function is owner-only unless it has a row
 * in EXCEPTIONS below, which says who may call it and what a stranger gets. A function added to the interface is
 * checked with no change here: owner-only, it must refuse every other caller with `ModuleCallerNotOwner(caller,
 * owner)`, pass for the Safe, and be documented "Owner only" (or "Requirements: owner") in the interface's NatSpec;
 * any other function fails until it has its row.
 *
 * Promise 5: only the Safe changes configuration, unpauses and unfreezes; guardians can only restrict.
 */
import { expect } from "chai";
import hre from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import {
  Contract,
  FunctionFragment,
  Interface,
  ParamType,
  encodeBytes32String,
  parseEther,
  zeroPadValue,
} from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import {
  ETH,
  Treasury,
  agentConfig,
  assetLimit,
  buildIntent,
  cosignerSignatures,
  impersonate,
  moduleAsSafe,
  sign,
  treasuryFixture,
} from "../fixtures";
import { FIVE_ETH, Queued, configTuple, limitTuple, queuePayment } from "./helpers";
import { deployFeed } from "../../testkit/priceFeeds";

const INTERFACE = "IAgentTreasuryModule";
const ABI = new Interface(hre.artifacts.readArtifactSync(INTERFACE).abi);
/** Every state-changing function of the interface, by name (the interface has no overloads). */
const STATE_CHANGING: FunctionFragment[] = ABI.fragments
  .filter((f): f is FunctionFragment => f instanceof FunctionFragment)
  .filter((f) => !f.constant);
/** A selector the agent may not call on USDC: letting it call `approve` would hand out the Safe's tokens. */
const APPROVE_SELECTOR = "0x095ea7b3";

/** The module at the fixture's address, through the interface's ABI, connected to `signer`. */
function moduleAs(fx: Treasury, signer: HardhatEthersSigner): Contract {
  return new Contract(fx.moduleAddress, ABI, signer);
}

// ------------------------------------------------------------------ who may call each function

/** The base treasury with a 5 ETH payment queued. */
async function queuedFixture() {
  const fx = await treasuryFixture();
  const queued = await queuePayment(fx);
  return { ...fx, queued };
}

/** The base treasury paused and with its agent frozen (by the guardian), so that unpause and unfreeze would pass. */
async function restrictedFixture() {
  const fx = await treasuryFixture();
  // A price feed a stranger would like the module to trust (v3: setPriceFeed needs a contract with decimals()).
  const feed = await deployFeed(8, 1n);
  await (await fx.module.connect(fx.guardian).pause()).wait();
  await (await fx.module.connect(fx.guardian).freezeAgent(fx.agent.address)).wait();
  return { ...fx, feedAddress: await feed.getAddress() };
}

type Setup = Awaited<ReturnType<typeof queuedFixture>>;

interface Exception {
  /** Who may call it, as the interface documents it. */
  who: string;
  /** What the attacker (a stranger to every role) gets when it calls the function. */
  check: (fx: Setup, m: Contract) => Promise<void>;
}

/** The state-changing functions that are not owner-only. Every other one must be. */
const EXCEPTIONS: Record<string, Exception> = {
  initialize: {
    who: "nobody once the factory has initialised the clone: a stranger gets ModuleAlreadyInitialized",
    check: async (fx, m) => {
      await expect(m.initialize(fx.attacker.address)).to.be.revertedWithCustomError(m, "ModuleAlreadyInitialized");
    },
  },
  submit: {
    who: "any relayer of an agent-signed intent; an empty signature only from the agent itself",
    check: async (fx, m) => {
      const intent = await buildIntent(fx, { value: parseEther("0.1") });
      await expect(m.submit(intent, "0x"))
        .to.be.revertedWithCustomError(m, "IntentSenderNotAgent")
        .withArgs(fx.attacker.address, fx.agent.address);
      await expect(m.submit(intent, await sign(fx.agent, fx, intent))).to.emit(m, "IntentExecuted");
    },
  },
  submitBatch: {
    who: "any relayer of agent-signed intents, as submit for each; an empty signature only from the agent itself",
    check: async (fx, m) => {
      const intent = await buildIntent(fx, { value: parseEther("0.1") });
      await expect(m.submitBatch([intent], ["0x"]))
        .to.be.revertedWithCustomError(m, "IntentSenderNotAgent")
        .withArgs(fx.attacker.address, fx.agent.address);
      await expect(m.submitBatch([intent], [await sign(fx.agent, fx, intent)])).to.emit(m, "IntentExecuted");
    },
  },
  propose: {
    who: "any relayer of an intent the agent signed for review; an empty signature only from the agent itself",
    check: async (fx, m) => {
      const intent = await buildIntent(fx, { value: parseEther("0.1"), review: true });
      await expect(m.propose(intent, "0x"))
        .to.be.revertedWithCustomError(m, "IntentSenderNotAgent")
        .withArgs(fx.attacker.address, fx.agent.address);
      await expect(m.propose(intent, await sign(fx.agent, fx, intent))).to.emit(m, "IntentQueued");
    },
  },
  executeQueued: {
    who: "anyone, once the threshold of co-signers has approved and eta has come",
    check: async (fx, m) => {
      const q: Queued = fx.queued;
      await time.increaseTo(q.eta);
      await expect(m.executeQueued(q.intent, await cosignerSignatures(fx, q.id, fx.cosigners.slice(0, 2))))
        .to.emit(m, "IntentExecuted")
        .withArgs(q.id, fx.agent.address, ETH, fx.alice.address, FIVE_ETH, true, q.intent.rationale);
    },
  },
  approve: {
    who: "the current co-signers: a stranger gets CosignerUnknown",
    check: async (fx, m) => {
      await expect(m.approve(fx.queued.id))
        .to.be.revertedWithCustomError(m, "CosignerUnknown")
        .withArgs(fx.attacker.address);
    },
  },
  cancel: {
    who: "a guardian, a co-signer, the owner or the intent's agent: a stranger gets CancelNotAuthorized",
    check: async (fx, m) => {
      await expect(m.cancel(fx.queued.id))
        .to.be.revertedWithCustomError(m, "CancelNotAuthorized")
        .withArgs(fx.queued.id, fx.attacker.address);
    },
  },
  pause: {
    who: "a guardian or the owner: a stranger gets ModuleCallerNotGuardian",
    check: async (fx, m) => {
      await expect(m.pause()).to.be.revertedWithCustomError(m, "ModuleCallerNotGuardian").withArgs(fx.attacker.address);
    },
  },
  freezeAgent: {
    who: "a guardian or the owner: a stranger gets ModuleCallerNotGuardian",
    check: async (fx, m) => {
      await expect(m.freezeAgent(fx.agent.address))
        .to.be.revertedWithCustomError(m, "ModuleCallerNotGuardian")
        .withArgs(fx.attacker.address);
    },
  },
};

const OWNER_ONLY = STATE_CHANGING.filter((f) => !(f.name in EXCEPTIONS));

/**
 * The arguments a caller who is not the owner would like to pass: loosen the agent, take its key, become a guardian
 * or the only co-signer, raise limits, allow `approve` on USDC, point the exec target at itself. Chosen by parameter
 * name, else by type, so that a new function gets arguments too; the Safe's same call must pass.
 */
function argumentsOf(f: FunctionFragment, fx: Treasury & { feedAddress?: string }): unknown[] {
  const stranger = fx.attacker.address;
  const byName: Record<string, () => unknown> = {
    agent: () => fx.agent.address,
    oldKey: () => fx.agent.address,
    newKey: () => stranger,
    guardian: () => stranger,
    recipient: () => stranger,
    newTarget: () => stranger,
    asset: () => ETH,
    target: () => fx.usdcAddress,
    selector: () => APPROVE_SELECTOR,
    // v3: an argument condition the stranger would like to drop onto the agent's calls (word 0 equal to 1).
    conditions: () => [[0n, 0n, zeroPadValue("0x01", 32)]],
    members: () => [stranger],
    threshold: () => 1n,
    config: () => agentConfig({ escalationDelay: 0n, maxStrikes: 0n }),
    limit: () => assetLimit(parseEther("100"), parseEther("100"), 1, parseEther("100")),
    perWindow: () => parseEther("1000"),
    window: () => 1n,
    feed: () => fx.feedAddress ?? stranger,
    maxAge: () => 1n,
  };
  const byType = (p: ParamType): unknown => {
    if (byName[p.name]) return byName[p.name]();
    if (p.isArray()) return [byType(p.arrayChildren)];
    if (p.isTuple()) return p.components.map(byType);
    if (p.baseType === "address") return stranger;
    if (p.baseType === "bool") return true;
    if (/^u?int\d*$/.test(p.baseType)) return 1n;
    if (p.baseType === "bytes" || p.baseType === "string") return p.baseType === "bytes" ? "0x" : "x";
    if (/^bytes\d+$/.test(p.baseType)) return zeroPadValue("0x01", Number(p.baseType.slice(5)));
    throw new Error(`no argument for ${p.format("full")} of ${f.format()}: add a rule to argumentsOf`);
  };
  return f.inputs.map(byType);
}

/** Everything an owner-only call could change, and the treasury's funds. */
async function ownedState(fx: Treasury) {
  const a = fx.agent.address;
  return {
    avatar: await fx.module.avatar(),
    target: await fx.module.getFunction("target")(),
    strangerIsAgent: await fx.module.isAgent(fx.attacker.address),
    agent: await fx.module.isAgent(a),
    config: await fx.module.agentConfig(a),
    ethLimit: await fx.module.assetLimit(a, ETH),
    allowed: await fx.lens.isAllowedCall(fx.moduleAddress, a, fx.usdcAddress, APPROVE_SELECTOR),
    conditions: await fx.lens.callConditions(fx.moduleAddress, a, fx.usdcAddress, APPROVE_SELECTOR),
    recipient: await fx.lens.isRecipient(fx.moduleAddress, a, fx.attacker.address),
    cosigners: await fx.module.cosigners(),
    threshold: await fx.module.threshold(),
    cosignerEra: await fx.module.cosignerEra(),
    strangerIsGuardian: await fx.module.isGuardian(fx.attacker.address),
    guardian: await fx.module.isGuardian(fx.guardian.address),
    treasuryLimit: await fx.lens.treasuryLimit(fx.moduleAddress, ETH),
    priceFeed: await fx.lens.priceFeed(fx.moduleAddress, ETH),
    usdLimit: await fx.lens.usdLimit(fx.moduleAddress, a),
    paused: await fx.module.paused(),
    frozen: await fx.module.isFrozen(a),
    safeEth: await fx.deployer.provider.getBalance(fx.safeAddress),
    safeUsdc: await fx.usdc.balanceOf(fx.safeAddress),
  };
}

/** The notices of the interface's functions (its NatSpec), by name, from the compiler's metadata. */
async function notices(): Promise<Record<string, string>> {
  const artifact = await hre.artifacts.readArtifact(INTERFACE);
  const info = await hre.artifacts.getBuildInfo(`${artifact.sourceName}:${INTERFACE}`);
  if (!info) throw new Error(`no build info for ${INTERFACE}: run npx hardhat compile`);
  const output = info.output.contracts[artifact.sourceName][INTERFACE] as unknown as { metadata?: string };
  if (!output.metadata) throw new Error(`no metadata for ${INTERFACE} in its build info: keep solc's default outputs`);
  const methods = (
    JSON.parse(output.metadata) as { output: { userdoc: { methods: Record<string, { notice?: string }> } } }
  ).output.userdoc.methods;
  return Object.fromEntries(
    Object.entries(methods).map(([signature, doc]) => [signature.split("(")[0], doc.notice ?? ""]),
  );
}

describe("ModuleInterface", function () {
  describe("who may call each state-changing function (from the ABI of IAgentTreasuryModule)", function () {
    it("lists only functions of the interface as exceptions, and documents the others as owner-only [test_ownerOnlyFunctions_areTheOnesTheNatSpecSaysAreOwnerOnly]", async function () {
      const names = STATE_CHANGING.map((f) => f.name);
      expect(
        Object.keys(EXCEPTIONS).filter((name) => !names.includes(name)),
        "exceptions that are no function",
      ).to.deep.equal([]);
      expect(OWNER_ONLY.length, "owner-only functions").to.be.greaterThan(10);
      const docs = await notices();
      const documented = names.filter((name) => /\bOwner only\b|\bRequirements: owner[;,.]/.test(docs[name] ?? ""));
      expect(documented.sort()).to.deep.equal(OWNER_ONLY.map((f) => f.name).sort());
    });

    for (const f of OWNER_ONLY) {
      it(`${f.name}: only the Safe may call it; anyone else gets ModuleCallerNotOwner(caller, owner) and nothing changes [test_${f.name}_notTheSafe_revertsModuleCallerNotOwner]`, async function () {
        const fx = await loadFixture(restrictedFixture);
        const args = argumentsOf(f, fx);
        const before = await ownedState(fx);
        const callers = [fx.attacker, fx.guardian, fx.agent, fx.cosigners[0], fx.owners[0], fx.relayer];
        for (const caller of callers) {
          const m = moduleAs(fx, caller);
          await expect(m.getFunction(f.format())(...args), `${f.name} by ${caller.address}`)
            .to.be.revertedWithCustomError(m, "ModuleCallerNotOwner")
            .withArgs(caller.address, fx.safeAddress);
        }
        expect(await ownedState(fx)).to.deep.equal(before);
        // The same call from the Safe passes: the caller, not the arguments, is what was refused.
        const safe = moduleAs(fx, await impersonate(fx.safeAddress));
        await safe.getFunction(f.format()).staticCall(...args);
      });
    }

    for (const [name, rule] of Object.entries(EXCEPTIONS)) {
      it(`${name}: ${rule.who} [test_${name}_aStranger_getsItsOwnRule]`, async function () {
        const fx = await loadFixture(queuedFixture);
        await rule.check(fx, moduleAs(fx, fx.attacker));
      });
    }
  });

  describe("configuration", function () {
    it("emits each configuration and emergency function's event with its values [test_setters_emitTheirEvents]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const owner = await moduleAsSafe(fx);
      const a = fx.agent.address;
      const cfg = agentConfig({ escalationDelay: 7n, maxIntentsPerWindow: 9n, rateWindow: 60n, recipientMode: 2 });
      await expect(owner.setAgent(a, cfg)).to.emit(fx.module, "AgentSet").withArgs(a, configTuple(cfg));
      const limit = assetLimit(1n, 2n, 3, 4n);
      await expect(owner.setAssetLimit(a, fx.usdcAddress, limit))
        .to.emit(fx.module, "AssetLimitSet")
        .withArgs(a, fx.usdcAddress, limitTuple(limit));
      await expect(owner.setAllowedCall(a, fx.bob.address, "0x12345678", true))
        .to.emit(fx.module, "AllowedCallSet")
        .withArgs(a, fx.bob.address, "0x12345678", true);
      await expect(owner.setRecipient(a, fx.bob.address, true))
        .to.emit(fx.module, "RecipientSet")
        .withArgs(a, fx.bob.address, true);
      const members = [fx.cosigners[2].address, fx.bob.address];
      await expect(owner.setCosigners(members, 1)).to.emit(fx.module, "CosignersSet").withArgs(members, 1n);
      await expect(owner.setGuardian(fx.bob.address, true))
        .to.emit(fx.module, "GuardianSet")
        .withArgs(fx.bob.address, true);
      await expect(owner.setTreasuryLimit(fx.usdcAddress, 5n, 6))
        .to.emit(fx.module, "TreasuryLimitSet")
        .withArgs(fx.usdcAddress, 5n, 6n);
      await expect(owner.pause()).to.emit(fx.module, "Paused").withArgs(fx.safeAddress);
      await expect(owner.unpause()).to.emit(fx.module, "Unpaused").withArgs(fx.safeAddress);
      await expect(fx.module.connect(fx.guardian).freezeAgent(a))
        .to.emit(fx.module, "AgentFrozen")
        .withArgs(a, fx.guardian.address, encodeBytes32String("manual"));
      await expect(owner.unfreezeAgent(a)).to.emit(fx.module, "AgentUnfrozen").withArgs(a, fx.safeAddress);
      const newKey = fx.signers[15].address;
      await expect(owner.rotateAgent(a, newKey)).to.emit(fx.module, "AgentRotated").withArgs(a, newKey);
      await expect(owner.removeAgent(newKey)).to.emit(fx.module, "AgentRemoved").withArgs(newKey);
    });

    it("applies configuration sent through a real owners-signed Safe transaction [test_configurationThroughRealSafeTransaction_applies]", async function () {
      const fx = await loadFixture(treasuryFixture);
      await fx.asOwners(fx.module.interface.encodeFunctionData("setGuardian", [fx.bob.address, true]));
      expect(await fx.module.isGuardian(fx.bob.address)).to.equal(true);
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
    });

    it("reads back, through every view, the configuration the fixture set [test_views_reflectTheFixtureConfiguration]", async function () {
      const fx = await loadFixture(treasuryFixture);
      const a = fx.agent.address;
      expect(await fx.module.avatar()).to.equal(fx.safeAddress);
      expect(await fx.module.agentConfig(a)).to.deep.equal(configTuple(agentConfig()));
      expect(await fx.module.isAgent(a)).to.equal(true);
      expect(await fx.module.assetLimit(a, ETH)).to.deep.equal(limitTuple(fx.ethLimit));
      expect(await fx.module.assetLimit(a, fx.usdcAddress)).to.deep.equal(limitTuple(fx.usdcLimit));
      expect(await fx.module.isFrozen(a)).to.equal(false);
      expect(await fx.module.paused()).to.equal(false);
      expect(await fx.module.cosigners()).to.deep.equal(fx.cosigners.map((c) => c.address));
      expect(await fx.module.threshold()).to.equal(2n);
      expect(await fx.module.isGuardian(fx.guardian.address)).to.equal(true);
      expect(await fx.module.isGuardian(fx.attacker.address)).to.equal(false);
      expect(await fx.module.availableAllowance(a, ETH)).to.equal(fx.ethLimit.autoPerWindow);
      expect(await fx.module.availableAllowance(a, fx.usdcAddress)).to.equal(fx.usdcLimit.autoPerWindow);
    });
  });
});
