#!/usr/bin/env node
/**
 * Starts the MCP server with node alone, from any working directory and without npm's `--` (which the MCP Inspector
 * takes for its own separator):
 *
 *   node /path/to/agent-treasury-guard/mcp/start.js --agent payroll [--network localhost] [...]
 *
 * This is the form for MCP clients (Claude Desktop's config, the MCP Inspector, the OpenAI Agents SDK, LangChain).
 * Deployment records default to the repository's deployments/ directory (DEPLOYMENTS_DIR or --deployments change
 * it) and .env is read from the repository, so the client's working directory does not matter. Relative paths
 * given on the command line (--policy, --journal, --keystore) are read from the working directory, as usual.
 */
"use strict";
const path = require("path");

const root = path.join(__dirname, "..");
if (!process.env.DEPLOYMENTS_DIR) process.env.DEPLOYMENTS_DIR = path.join(root, "deployments");
require("ts-node").register({ transpileOnly: true, project: path.join(root, "tsconfig.json"), cwd: root });
require("./server").main();
