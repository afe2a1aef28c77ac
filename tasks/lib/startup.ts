/**
 * Runs first when Hardhat loads hardhat.config.ts (imported before anything else there):
 * - reads `.env` from the project root (or the file named by DOTENV_CONFIG_PATH) into the environment, without
 *   overriding variables that are already set, and without printing anything (stdout may carry `--json` output);
 * - makes Hardhat's own failures follow the CLI's contract: one JSON error object under `--json`, one line of text
 *   without a stack trace otherwise (tasks/lib/output.ts).
 */
import path from "path";
import { config as loadDotenv } from "dotenv";
import { installCliErrorHandler } from "./output";

/** The file `.env` values come from. */
export const DOTENV_FILE = process.env.DOTENV_CONFIG_PATH ?? path.join(__dirname, "..", "..", ".env");

loadDotenv({ path: DOTENV_FILE, quiet: true });
installCliErrorHandler();
