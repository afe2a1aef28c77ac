/**
 * One answer per question, whichever surface asks it (issue 14, item 2):
 * - "how many base units is this amount?": the client library and the MCP server (`sdk/chain.parseAmount`) and the
 *   policy files (`core/units.parseAmount`) read amounts with the same reader (`sdk/units.readAmount`), bounded
 *   by what the chain can carry;
 * - "does this change loosen the fence?": the plan of a policy file (`core/policyDiff.configChanges`) and the
 *   watchtower's configuration alerts (`monitor/rules.configChanges`) use the same rules (`core/loosening.ts`).
 * Each is a table: one row per case, every surface checked against the row.
 */
import { expect } from "chai";
import { ZeroAddress } from "ethers";
import { InvalidRequestError, UINT128_MAX, UINT256_MAX, parseAmount as sdkParseAmount, readAmount } from "../../sdk";
import { UnitError, parseAmount as policyParseAmount } from "../../core/units";
import { AgentConfigLike, agentConfigChanges, assetLimitChange, treasuryLimitLoosens } from "../../core/loosening";
import { configChanges as planConfigChanges } from "../../core/policyDiff";
import { configChanges as monitorConfigChanges, limitChanges as monitorLimitChanges } from "../../monitor/rules";

const ONE_DECIMAL = { address: ZeroAddress, symbol: "ONE", decimals: 1 };
const USDC = { address: ZeroAddress, symbol: "USDC", decimals: 6 };

describe("Shared rules: amounts and loosening", function () {
  describe("amounts", function () {
    // [input, decimals, base units | error pattern]
    const rows: [string, number, bigint | RegExp][] = [
      ["2.5", 18, 2_500_000_000_000_000_000n],
      ["1.50", 1, 15n], // trailing zeros are exact: the policy reader accepted this, the client refused it
      ["1.5000000", 6, 1_500_000n],
      ["1_000_000", 6, 1_000_000_000_000n],
      ["0", 0, 0n],
      [" 7 ", 0, 7n],
      ["1.05", 1, /has 2 decimal places but (ONE|the token) has only 1: round it/],
      ["-5", 6, /is negative/],
      ["1e6", 6, /is not a decimal number/],
      ["1,000", 6, /is not a decimal number/],
      ["0x10", 6, /is not a decimal number/],
      ["", 6, /is not a decimal number/],
      ["_1", 6, /is not a decimal number/],
      [`1${"0".repeat(80)}`, 0, /is above the largest amount a uint256 can hold/],
      [(UINT256_MAX + 1n).toString(), 0, /is above the largest amount a uint256 can hold/],
    ];

    for (const [input, decimals, expected] of rows) {
      it(`test_readAmount_${JSON.stringify(input).slice(0, 24)}_with${decimals}Decimals_sameOnEverySurface`, function () {
        const asset = decimals === 1 ? ONE_DECIMAL : { ...USDC, decimals };
        if (typeof expected === "bigint") {
          expect(readAmount(input, decimals, { symbol: asset.symbol })).to.equal(expected);
          expect(sdkParseAmount(input, asset)).to.equal(expected);
          if (expected <= UINT128_MAX) expect(policyParseAmount(input, decimals)).to.equal(expected);
        } else {
          expect(() => sdkParseAmount(input, asset)).to.throw(InvalidRequestError, expected);
          // The policy reader bounds amounts by uint128 (the module's limit fields), so its bound message differs.
          const policyPattern = /uint256/.test(expected.source) ? /uint128/ : expected;
          expect(() => policyParseAmount(input, decimals)).to.throw(UnitError, policyPattern);
        }
      });
    }

    it("test_readAmount_errorNamesFieldAndValue", function () {
      expect(() => sdkParseAmount("ten", USDC, "value")).to.throw(
        InvalidRequestError,
        /^value "ten" is not a decimal number/,
      );
      expect(() => policyParseAmount("1.0000001", 6, "autoPerTx")).to.throw(
        UnitError,
        /^autoPerTx "1.0000001" has 7 decimal places/,
      );
    });

    it("test_readAmount_bigintBaseUnits_boundedToo", function () {
      expect(sdkParseAmount(UINT256_MAX, USDC)).to.equal(UINT256_MAX);
      expect(() => sdkParseAmount(UINT256_MAX + 1n, USDC)).to.throw(
        InvalidRequestError,
        /above the largest amount a uint256 can hold/,
      );
      expect(() => sdkParseAmount(-1n, USDC)).to.throw(InvalidRequestError, /is negative/);
    });

    it("test_policyAmount_aboveUint128_refusedNamingTheType", function () {
      expect(policyParseAmount(UINT128_MAX.toString(), 0)).to.equal(UINT128_MAX);
      expect(() => policyParseAmount((UINT128_MAX + 1n).toString(), 0)).to.throw(
        UnitError,
        /above the largest amount a uint128/,
      );
    });
  });

  describe("does a change of an agent's configuration loosen the fence?", function () {
    const base: AgentConfigLike = {
      validUntil: 2_000_000_000,
      escalationDelay: 3600,
      gracePeriod: 86_400,
      maxIntentsPerWindow: 20,
      rateWindow: 3600,
      maxStrikes: 3,
      strikeWindow: 86_400,
      recipientMode: 1, // allowlist
    };
    // [name, change, loosens]
    const rows: [string, Partial<AgentConfigLike>, boolean][] = [
      ["validUntil removed", { validUntil: 0 }, true],
      ["validUntil later", { validUntil: 2_100_000_000 }, true],
      ["validUntil earlier", { validUntil: 1_900_000_000 }, false],
      ["escalationDelay shorter", { escalationDelay: 60 }, true],
      ["escalationDelay longer", { escalationDelay: 7200 }, false],
      ["gracePeriod longer", { gracePeriod: 172_800 }, true],
      ["gracePeriod shorter", { gracePeriod: 3600 }, false],
      ["rate limit raised", { maxIntentsPerWindow: 40 }, true],
      ["rate limit removed", { maxIntentsPerWindow: 0 }, true],
      ["rate limit lowered", { maxIntentsPerWindow: 10 }, false],
      ["rateWindow shorter", { rateWindow: 60 }, true],
      ["rateWindow longer", { rateWindow: 7200 }, false],
      ["rate limit removed, rateWindow reset to 0", { maxIntentsPerWindow: 0, rateWindow: 0 }, true],
      ["strikes raised", { maxStrikes: 5 }, true],
      ["strikes removed", { maxStrikes: 0 }, true],
      ["strikeWindow shorter", { strikeWindow: 3600 }, true],
      ["strikeWindow longer", { strikeWindow: 172_800 }, false],
      ["recipients allowlist -> escalate-unknown", { recipientMode: 2 }, true],
      ["recipients allowlist -> any", { recipientMode: 0 }, true],
    ];
    const noRate: AgentConfigLike = {
      ...base,
      maxIntentsPerWindow: 0,
      rateWindow: 3600,
      maxStrikes: 0,
      recipientMode: 0,
    };
    const rowsWithoutLimits: [string, Partial<AgentConfigLike>, boolean][] = [
      // Where plan.ts and rules.ts used to disagree: the plan called this loosening, the watchtower did not.
      ["no rate limit: rateWindow shorter counts nothing", { rateWindow: 60 }, false],
      ["no strikes: strikeWindow shorter counts nothing", { strikeWindow: 60 }, false],
      ["rate limit added with a short window", { maxIntentsPerWindow: 5, rateWindow: 60 }, false],
      ["recipients any -> escalate-unknown", { recipientMode: 2 }, false],
    ];

    const toBig = (c: AgentConfigLike) =>
      Object.fromEntries(Object.entries(c).map(([k, v]) => [k, BigInt(v)])) as never;
    const toNum = (c: AgentConfigLike) =>
      Object.fromEntries(Object.entries(c).map(([k, v]) => [k, Number(v)])) as never;

    for (const [from, table] of [
      [base, rows],
      [noRate, rowsWithoutLimits],
    ] as const) {
      for (const [name, change, loosens] of table) {
        it(`test_configChange_${name.replace(/[^A-Za-z0-9]+/g, "_")}_${loosens ? "loosens" : "doesNotLoosen"}`, function () {
          const to = { ...from, ...change };
          const shared = agentConfigChanges(from, to);
          expect(shared.map((c) => c.field).sort()).to.deep.equal(Object.keys(change).sort());
          expect(shared.some((c) => c.loosens)).to.equal(loosens);
          // The plan of a policy file (bigint view values) and the watchtower (event numbers) agree with it.
          expect(planConfigChanges(toBig(from), toBig(to)).loosens).to.equal(loosens);
          expect(monitorConfigChanges(toNum(from), toNum(to)).some((c) => c.loosens)).to.equal(loosens);
        });
      }
    }
  });

  describe("does a change of an asset or treasury-wide limit loosen the fence?", function () {
    const limit = { autoPerTx: 100n, autoPerWindow: 1000n, window: 86_400, escalatedPerTx: 5000n };
    const none = { autoPerTx: 0n, autoPerWindow: 0n, window: 0, escalatedPerTx: 0n };
    const rows: [string, typeof limit | undefined, typeof limit, boolean][] = [
      ["added", undefined, limit, true],
      ["removed", limit, none, false],
      ["autoPerTx raised", limit, { ...limit, autoPerTx: 200n }, true],
      ["autoPerWindow raised", limit, { ...limit, autoPerWindow: 2000n }, true],
      ["escalatedPerTx raised", limit, { ...limit, escalatedPerTx: 6000n }, true],
      ["window shorter", limit, { ...limit, window: 3600 }, true],
      ["window longer", limit, { ...limit, window: 172_800 }, false],
      [
        "everything lowered",
        limit,
        { autoPerTx: 50n, autoPerWindow: 500n, window: 86_400, escalatedPerTx: 1000n },
        false,
      ],
    ];
    for (const [name, prev, next, loosens] of rows) {
      it(`test_limitChange_${name.replace(/ /g, "_")}_${loosens ? "loosens" : "doesNotLoosen"}`, function () {
        expect(assetLimitChange(prev, next).loosens).to.equal(loosens);
        const stored = prev && {
          autoPerTx: String(prev.autoPerTx),
          autoPerWindow: String(prev.autoPerWindow),
          window: prev.window,
          escalatedPerTx: String(prev.escalatedPerTx),
        };
        expect(monitorLimitChanges(stored, next, String).some((c) => c.loosens)).to.equal(loosens);
      });
    }

    const treasury: [
      string,
      { perWindow: bigint; window: number } | undefined,
      { perWindow: bigint; window: number } | undefined,
      boolean,
    ][] = [
      ["added", undefined, { perWindow: 10n, window: 3600 }, false],
      ["removed", { perWindow: 10n, window: 3600 }, undefined, true],
      ["raised", { perWindow: 10n, window: 3600 }, { perWindow: 20n, window: 3600 }, true],
      ["window shorter", { perWindow: 10n, window: 3600 }, { perWindow: 10n, window: 60 }, true],
      ["lowered", { perWindow: 10n, window: 3600 }, { perWindow: 5n, window: 7200 }, false],
    ];
    for (const [name, prev, next, loosens] of treasury) {
      it(`test_treasuryLimitChange_${name.replace(/ /g, "_")}_${loosens ? "loosens" : "doesNotLoosen"}`, function () {
        expect(treasuryLimitLoosens(prev, next)).to.equal(loosens);
      });
    }
  });
});
