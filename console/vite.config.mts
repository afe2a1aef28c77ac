/**
 * Builds the console's page (console/app) into console/dist: one script and one stylesheet served from the
 * console's own origin, no inline script (the server's Content-Security-Policy allows only 'self'), no remote
 * fonts. Run by console/build.ts (`npm run console` when the build is stale, `npm run console:build`).
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: "/",
  plugins: [react()],
  publicDir: false,
  build: {
    outDir: path.join(here, "dist"),
    emptyOutDir: true,
    target: "es2022",
    // The polyfill would be an inline script; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
});
