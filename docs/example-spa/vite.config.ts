import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

// The generated client lives in api/typescript (outside this project): it is imported from
// source as @vhupay/client, and its one runtime dependency, openapi-fetch, resolves from this
// project's node_modules (dedupe), so `npm ci` here is all the app needs.
export default defineConfig({
  resolve: {
    alias: {
      "@vhupay/client": fileURLToPath(new URL("../../api/typescript/src/index.ts", import.meta.url)),
    },
    dedupe: ["openapi-fetch"],
  },
  server: { host: "127.0.0.1", port: 5173, strictPort: true },
  preview: { host: "127.0.0.1", port: 5173, strictPort: true },
  build: { target: "es2022", sourcemap: true },
});
