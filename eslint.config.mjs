// ESLint 9 flat config: `npm run lint:es` (part of `npm run lint`), no warnings allowed.
// JavaScript's and typescript-eslint's recommended rules everywhere (among them no-explicit-any and no-unused-vars,
// for tests as for production code), plus the type-aware rules that catch real bugs here: a promise nobody awaits
// or that is passed where a callback's result is ignored (a lost error, a race), an `await` of something that is not
// a promise (a check that never waits), and an object printed as "[object Object]" in a message.
// Not enabled (yet): typescript-eslint's whole recommendedTypeChecked set. Its no-unsafe-* rules report about 350
// places where `any` from JSON.parse, Hardhat or ethers' Result flows on; typing those is a separate piece of work.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import { defineConfig } from "eslint/config";

/** Node's CommonJS globals, for the plain .js files (no dependency on the `globals` package). */
const nodeCommonJs = {
  require: "readonly",
  module: "writable",
  exports: "writable",
  __dirname: "readonly",
  __filename: "readonly",
  process: "readonly",
  console: "readonly",
};

export default defineConfig(
  {
    ignores: [
      "node_modules/",
      "artifacts/",
      "cache/",
      "typechain-types/",
      "coverage/",
      "dist/",
      "console/dist/",
      "reports/",
      "deployments/",
      "test-output/",
      ".journal/",
    ],
  },
  js.configs.recommended,
  {
    files: ["**/*.js"],
    extends: [tseslint.configs.recommended],
    languageOptions: { sourceType: "commonjs", globals: nodeCommonJs },
    // mcp/start.js and the tools' config files are CommonJS on purpose (node runs them without a compiler).
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["**/*.mjs"],
    extends: [tseslint.configs.recommended],
  },
  {
    files: ["**/*.ts", "**/*.tsx", "**/*.mts"],
    extends: [tseslint.configs.recommended],
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["console/vite.config.mts"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/no-base-to-string": "error",
      "@typescript-eslint/no-explicit-any": "error",
      // A leading underscore marks a parameter kept for its position (a callback's signature); a property taken out
      // of an object by destructuring, to use the rest, is not an unused variable.
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", ignoreRestSiblings: true }],
    },
  },
  {
    // Small units (issue 18): the layers below the Hardhat tasks keep every file under 500 lines and every function
    // under 80 (comments and blank lines count). Not yet the rest: deploy/pipeline.ts and deploy/plan.ts (being
    // restructured), audit/collect.ts, the console's server and page, the demo and the monitor task still have longer
    // functions; add their directories here as they are split.
    files: ["sdk/**/*.ts", "mcp/**/*.ts", "monitor/**/*.ts"],
    rules: {
      "max-lines": ["error", { max: 500 }],
      "max-lines-per-function": ["error", { max: 80 }],
    },
  },
);
