/**
 * Bundles the Worker the way wrangler does (esbuild, ESM, workerd conditions) into dist/worker.js,
 * for the tests and the benchmark, which run it on workerd through Miniflare.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), "..");
export const WORKER_BUNDLE = path.join(root, "dist", "worker.js");

export async function buildWorker(): Promise<string> {
  await build({
    entryPoints: [path.join(root, "src", "index.ts")],
    outfile: WORKER_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import", "default"],
    mainFields: ["browser", "module", "main"],
    // nodejs_compat (wrangler.toml) provides these in workerd.
    external: ["node:*", "cloudflare:*"],
    minify: false,
    sourcemap: "linked",
    logLevel: "warning",
  });
  return WORKER_BUNDLE;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWorker().then((f) => console.log(`built ${path.relative(root, f)}`));
}
