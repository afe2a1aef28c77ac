/**
 * sdk/shapes.ts holds the module's enums and structs once for all the TypeScript. Typechain gives struct fields
 * (checked by the type checker) but enums only as numbers, so this spec reads the compiled contracts: the enums'
 * members from the compiler's AST of `IAgentTreasuryTypes` (names and order), and the structs' fields from the ABI of
 * every function, event and error that takes or returns one. A member or field added, removed or reordered in
 * Solidity fails here until sdk/shapes.ts follows. Nothing here names the module contract: the types are found by
 * their declaring interface, wherever the contracts that use them live.
 */
import { expect } from "chai";
import { artifacts } from "hardhat";
import {
  AGENT_CONFIG_FIELDS,
  ASSET_LIMIT_FIELDS,
  CONDITION_FIELDS,
  CONDITION_OP_NAMES,
  DENIAL_REASONS,
  DENY_REASON_NAMES,
  PRICE_FAULT_NAMES,
  RECIPIENT_MODES,
  RECIPIENT_MODE_NAMES,
  STATUS_NAMES,
  USD_LIMIT_FIELDS,
  agentConfigNumbers,
  assetLimitValue,
  denyReasonName,
  enumValues,
  priceFaultName,
  recipientModeName,
  recipientModeValue,
  statusName,
} from "../../../sdk/shapes";

const TYPES = "IAgentTreasuryTypes";

/** The TypeScript table of each enum the contracts declare. */
const ENUM_TABLES: Record<string, readonly string[]> = {
  Status: STATUS_NAMES,
  DenyReason: DENY_REASON_NAMES,
  RecipientMode: RECIPIENT_MODE_NAMES,
  Op: CONDITION_OP_NAMES,
  PriceFault: PRICE_FAULT_NAMES,
};

/** The TypeScript field list of each struct whose fields the off-chain code reads or builds by name. */
const STRUCT_FIELDS: Record<string, readonly string[]> = {
  AgentConfig: AGENT_CONFIG_FIELDS,
  AssetLimit: ASSET_LIMIT_FIELDS,
  Condition: CONDITION_FIELDS,
  UsdLimit: USD_LIMIT_FIELDS,
};

interface AstNode {
  nodeType: string;
  name?: string;
  nodes?: AstNode[];
  members?: AstNode[];
}

interface AbiParam {
  name: string;
  type: string;
  internalType?: string;
  components?: AbiParam[];
}

interface AbiEntry {
  type: string;
  name?: string;
  inputs?: AbiParam[];
  outputs?: AbiParam[];
}

/** The compiler's AST of the interface that declares the shared types, wherever its source file is. */
async function typesDefinition(): Promise<AstNode> {
  const names = await artifacts.getAllFullyQualifiedNames();
  const fqn = names.find((n) => n.endsWith(`:${TYPES}`));
  if (!fqn) throw new Error(`no artifact of ${TYPES}: run npx hardhat compile`);
  const build = await artifacts.getBuildInfo(fqn);
  const source = fqn.slice(0, fqn.lastIndexOf(":"));
  const ast = build?.output.sources[source]?.ast as AstNode | undefined;
  const definition = ast?.nodes?.find((n) => n.nodeType === "ContractDefinition" && n.name === TYPES);
  if (!definition) throw new Error(`${source} has no ${TYPES} in its AST`);
  return definition;
}

/** Members of every enum (or fields of every struct) declared in the definition, by type name, in order. */
function declared(definition: AstNode, nodeType: "EnumDefinition" | "StructDefinition"): Map<string, string[]> {
  const nodes = (definition.nodes ?? []).filter((n) => n.nodeType === nodeType);
  return new Map(nodes.map((n) => [n.name!, (n.members ?? []).map((m) => m.name!)]));
}

/** Every ABI parameter (nested tuples included) of the project's own contracts, with where it was found. */
async function abiParams(): Promise<{ where: string; param: AbiParam }[]> {
  const out: { where: string; param: AbiParam }[] = [];
  const walk = (where: string, params: AbiParam[] | undefined) => {
    for (const param of params ?? []) {
      out.push({ where, param });
      walk(`${where}.${param.name}`, param.components);
    }
  };
  for (const fqn of await artifacts.getAllFullyQualifiedNames()) {
    if (!fqn.startsWith("contracts/") || fqn.startsWith("contracts/test/")) continue;
    const { abi } = await artifacts.readArtifact(fqn);
    for (const entry of abi as AbiEntry[]) {
      const where = `${fqn.split(":")[1]}.${entry.name ?? entry.type}`;
      walk(where, entry.inputs);
      walk(`${where} returns`, entry.outputs);
    }
  }
  return out;
}

/** A parameter's type without its array suffixes: `enum X.Status[]` (submitBatch's statuses) is a `enum X.Status`. */
function elementType(param: AbiParam): string | undefined {
  return param.internalType?.replace(/(\[\d*\])+$/, "");
}

/** A Solidity enum member in the kebab case of policy files: EscalateUnknown -> escalate-unknown. */
function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
}

/** The message of a table that differs from the contract's declaration (undefined when they agree). */
function difference(what: string, table: readonly string[], solidity: readonly string[]): string | undefined {
  if (table.length === solidity.length && table.every((name, i) => name === solidity[i])) return undefined;
  return `${what}: sdk/shapes.ts has [${table.join(", ")}], the contract declares [${solidity.join(", ")}]`;
}

describe("sdk/shapes: the module's enums and structs, once, as the compiled contracts declare them", function () {
  let enums: Map<string, string[]>;
  let structs: Map<string, string[]>;

  before(async function () {
    const definition = await typesDefinition();
    enums = declared(definition, "EnumDefinition");
    structs = declared(definition, "StructDefinition");
  });

  describe("enums, against the compiler's AST", function () {
    it("test_enums_everyDeclaredEnumHasATable", function () {
      expect([...enums.keys()].sort()).to.deep.equal(Object.keys(ENUM_TABLES).sort());
    });

    for (const name of Object.keys(ENUM_TABLES)) {
      it(`test_enum${name}_tableMatchesTheContract_namesAndOrder`, function () {
        const solidity = enums.get(name);
        expect(solidity, `enum ${name} in ${TYPES}`).to.not.equal(undefined);
        const problem = difference(name, ENUM_TABLES[name], solidity!);
        expect(problem, problem).to.equal(undefined);
      });
    }

    it("test_recipientModes_areTheKebabCaseOfTheSolidityNames", function () {
      expect(RECIPIENT_MODES).to.deep.equal(enums.get("RecipientMode")!.map(kebab));
      expect(RECIPIENT_MODES).to.deep.equal(["any", "allowlist", "escalate-unknown"]);
    });

    it("test_denialReasons_areEveryDenyReasonButNone", function () {
      expect(DENY_REASON_NAMES[0]).to.equal("None");
      expect(DENIAL_REASONS).to.deep.equal(enums.get("DenyReason")!.slice(1));
    });

    it("test_difference_anAppendedMember_isReportedByName", function () {
      // What a new Solidity member looks like to the check above: the test fails, naming both lists.
      const table = ["None", "Executed", "Expired"];
      expect(difference("Status", table, [...table, "Superseded"])).to.equal(
        "Status: sdk/shapes.ts has [None, Executed, Expired], the contract declares [None, Executed, Expired, Superseded]",
      );
      expect(difference("Status", table, [...table].reverse())).to.be.a("string");
      expect(difference("Status", table, [...table])).to.equal(undefined);
    });
  });

  describe("structs, against the AST and every ABI that carries them", function () {
    for (const name of Object.keys(STRUCT_FIELDS)) {
      it(`test_struct${name}_fieldListMatchesTheAst`, function () {
        const problem = difference(name, STRUCT_FIELDS[name], structs.get(name) ?? []);
        expect(problem, problem).to.equal(undefined);
      });

      it(`test_struct${name}_fieldListMatchesEveryAbiTuple`, async function () {
        const tuples = (await abiParams()).filter((p) => elementType(p.param) === `struct ${TYPES}.${name}`);
        expect(tuples.length, `ABI parameters of type ${name}`).to.be.greaterThan(0);
        for (const { where, param } of tuples) {
          expect(
            (param.components ?? []).map((c) => c.name),
            where,
          ).to.deep.equal([...STRUCT_FIELDS[name]]);
        }
      });
    }

    it("test_abiEnums_everySharedEnumParameterHasATable", async function () {
      // Enums of other interfaces (the Safe's IAvatar.Operation) are not the module's shapes.
      const prefix = `enum ${TYPES}.`;
      const enumParams = (await abiParams()).filter((p) => elementType(p.param)?.startsWith(prefix));
      expect(enumParams.map((p) => elementType(p.param))).to.include.members([
        `${prefix}Status`,
        `${prefix}DenyReason`,
      ]);
      // Arrays count as their element (submitBatch returns Status[]).
      expect(enumParams.map((p) => p.param.internalType)).to.include(`${prefix}Status[]`);
      for (const { where, param } of enumParams) {
        expect(ENUM_TABLES, `${where}: ${param.internalType}`).to.have.property(
          elementType(param)!.slice(prefix.length),
        );
      }
    });
  });

  describe("conversions", function () {
    it("test_names_fromOnChainValues_andBack", function () {
      expect(statusName(5n)).to.equal("Expired");
      expect(denyReasonName(7)).to.equal("MalformedCall");
      expect(recipientModeName(2n)).to.equal("escalate-unknown");
      expect(recipientModeValue("allowlist")).to.equal(1);
      expect(priceFaultName(6n)).to.equal("StalePrice");
      expect(() => priceFaultName(7)).to.throw(RangeError, "unknown PriceFault value 7");
      expect(enumValues(STATUS_NAMES)).to.deep.include({ None: 0, Queued: 2, Expired: 5 });
    });

    it("test_names_unknownValue_throwsRangeErrorNamingTheEnum", function () {
      expect(() => statusName(6)).to.throw(RangeError, "unknown Status value 6");
      expect(() => denyReasonName(8n)).to.throw(RangeError, "unknown DenyReason value 8");
      expect(() => recipientModeName(3)).to.throw(RangeError, "unknown RecipientMode value 3");
    });

    it("test_agentConfigNumbers_everyFieldANumber", function () {
      const view = { validUntil: 0n, escalationDelay: 3600n, gracePeriod: 86_400n, maxIntentsPerWindow: 5n };
      const config = { ...view, rateWindow: 60n, maxStrikes: 3n, strikeWindow: 86_400n, recipientMode: 2n };
      expect(agentConfigNumbers(config)).to.deep.equal({
        validUntil: 0,
        escalationDelay: 3600,
        gracePeriod: 86_400,
        maxIntentsPerWindow: 5,
        rateWindow: 60,
        maxStrikes: 3,
        strikeWindow: 86_400,
        recipientMode: 2,
      });
    });

    it("test_assetLimitValue_amountsBigintWindowNumber", function () {
      const json = { autoPerTx: "100", autoPerWindow: "1000", window: 86_400n, escalatedPerTx: 5000n };
      expect(assetLimitValue(json)).to.deep.equal({
        autoPerTx: 100n,
        autoPerWindow: 1000n,
        window: 86_400,
        escalatedPerTx: 5000n,
      });
    });
  });
});
