/**
 * The page's build: vite bundles console/app (React, viem, the sdk's EIP-712 types, the module's ABI) into
 * console/dist, offline, from the installed packages. `npm run console` builds when console/dist is missing or
 * older than any of its sources, so a fresh clone needs no extra step; `npm run console:build` type-checks the
 * page and builds it. The build runs as a child process (vite's own command line) so that this process stays
 * CommonJS.
 */
import { spawn } from "child_process";
import fs from "fs";
import path from "path";

export const CONSOLE_DIR = __dirname;
export const DIST_DIR = path.join(CONSOLE_DIR, "dist");
const ROOT = path.resolve(CONSOLE_DIR, "..");

/** Every file the page is built from. */
export function buildInputs(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else files.push(p);
    }
  };
  walk(path.join(CONSOLE_DIR, "app"));
  files.push(
    path.join(CONSOLE_DIR, "index.html"),
    path.join(CONSOLE_DIR, "api.ts"),
    path.join(CONSOLE_DIR, "vite.config.mts"),
    path.join(ROOT, "sdk", "eip712.ts"),
    moduleArtifact(),
  );
  return files;
}

/** The compiled module interface's artifact (the whole module's ABI goes into the page). */
export function moduleArtifact(): string {
  return path.join(
    ROOT,
    "artifacts",
    "contracts",
    "interfaces",
    "IAgentTreasuryModule.sol",
    "IAgentTreasuryModule.json",
  );
}

/** True when console/dist is missing or older than a source. */
export function buildIsStale(): boolean {
  const built = path.join(DIST_DIR, "index.html");
  if (!fs.existsSync(built)) return true;
  const at = fs.statSync(built).mtimeMs;
  return buildInputs().some((f) => fs.statSync(f).mtimeMs > at);
}

/** Runs `vite build` for the console; resolves when console/dist is written. */
export async function buildConsole(log: (line: string) => void = () => undefined): Promise<void> {
  if (!fs.existsSync(moduleArtifact())) {
    throw new Error(
      `${path.relative(ROOT, moduleArtifact())} is missing: run npx hardhat compile first (the page needs the module's ABI).`,
    );
  }
  const vite = path.join(path.dirname(require.resolve("vite/package.json", { paths: [ROOT] })), "bin", "vite.js");
  const started = Date.now();
  log("console: building the page (vite)…");
  const child = spawn(
    process.execPath,
    [vite, "build", "--config", path.join(CONSOLE_DIR, "vite.config.mts"), "--logLevel", "warn"],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  if (code !== 0) throw new Error(`The console's build failed (vite exited with ${code}):\n${output.trim()}`);
  // vite may leave index.html with the time it was started: mark the build as newer than its inputs.
  const now = new Date();
  fs.utimesSync(path.join(DIST_DIR, "index.html"), now, now);
  log(`console: page built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Builds when stale. */
export async function ensureBuilt(log: (line: string) => void = () => undefined): Promise<void> {
  if (buildIsStale()) await buildConsole(log);
}
