/**
 * Headless Chromium from npm, for the specs and scripts that open a page in a real browser (the audit page's test,
 * `npm run audit`'s screenshot). The browser is `@sparticuz/chromium`: a headless Chromium shipped inside the
 * package (Brotli-compressed, unpacked into the temporary folder, `os.tmpdir()/chromium`, on first launch), driven
 * by playwright-core. `npm ci` installs everything: no system package, no download at test time. No tests here.
 *
 * Its recommended flags are used as they are, except the two that weaken the browser's security model
 * (`--disable-web-security`, `--allow-running-insecure-content`): the audit page's test checks that the page's own
 * Content-Security-Policy keeps it self-contained, which needs a browser that enforces the usual rules.
 */
import fs from "fs";
import os from "os";
import path from "path";
import Chromium from "@sparticuz/chromium";
import { chromium as playwright } from "playwright-core";
import type { Browser } from "playwright-core";

/** Flags of `@sparticuz/chromium` left out (see the file header). */
const WEAKENING_FLAGS = new Set(["--disable-web-security", "--allow-running-insecure-content"]);

/** Our own additions: nothing leaves the machine while a page is checked. */
const QUIET_FLAGS = [
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

export interface LaunchedBrowser {
  browser: Browser;
  /** The Chromium binary that runs: the one unpacked from the npm package. */
  executablePath: string;
  /** The package's version (its major number is Chromium's major version). */
  packageVersion: string;
}

/** The installed `@sparticuz/chromium` version, read from its package.json. */
export function chromiumPackageVersion(): string {
  // The package's `exports` hide its package.json: walk up from its entry point.
  let dir = path.dirname(require.resolve("@sparticuz/chromium"));
  for (;;) {
    const file = path.join(dir, "package.json");
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, "utf8")) as { name?: string; version: string };
      if (pkg.name === "@sparticuz/chromium") return pkg.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("@sparticuz/chromium's package.json not found: run npm ci.");
    dir = parent;
  }
}

/** The flags the browser is launched with. */
export function chromiumArgs(): string[] {
  return [...Chromium.args.filter((flag) => !WEAKENING_FLAGS.has(flag)), ...QUIET_FLAGS];
}

/**
 * Launches the package's headless Chromium. The first launch on a machine unpacks it (a few seconds); a binary left
 * truncated by an interrupted unpack is removed and unpacked again once.
 */
export async function launchChromium(): Promise<LaunchedBrowser> {
  // WebGL is not needed for the pages we check: skip unpacking SwiftShader.
  Chromium.setGraphicsMode = false;
  const packageVersion = chromiumPackageVersion();
  const launch = async () => {
    const executablePath = await Chromium.executablePath();
    const browser = await playwright.launch({ executablePath, headless: true, args: chromiumArgs() });
    return { browser, executablePath, packageVersion };
  };
  try {
    return await launch();
  } catch (error) {
    const unpacked = path.join(os.tmpdir(), "chromium");
    if (!fs.existsSync(unpacked)) throw error;
    fs.rmSync(unpacked, { force: true });
    try {
      return await launch();
    } catch (again) {
      throw new Error(
        `Headless Chromium from @sparticuz/chromium did not start (${(again as Error).message.split("\n")[0]}). ` +
          `It unpacks into ${os.tmpdir()}: check that the folder is writable and has ~200 MB free, then run the tests again.`,
      );
    }
  }
}
