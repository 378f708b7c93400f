/**
 * The targets, each Worker in its own workerd process (Miniflare, never wrangler dev) so its CPU
 * time can be read on its own and the process pinned to the target core:
 *   upstream  the bench upstream directly (the floor; no Worker)
 *   bare      scripts/bench/bare-worker.ts, bundled with esbuild like Tollgate
 *   tollgate  dist/worker.js (scripts/build-worker.ts)
 *   portkey   a `wrangler deploy --dry-run --outdir` build of Portkey-AI/gateway, when present
 */
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { freePort } from "../services/ports";
import { childrenNamed, pin } from "./proc";

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.join(here, "..", "..");
export const BARE_BUNDLE = path.join(ROOT, "dist", "bench", "bare-worker.js");
export const DEFAULT_PORTKEY_DIR = path.join(ROOT, ".bench", "portkey-worker");

/** "tollgate-before": an earlier Tollgate bundle (BENCH_BEFORE_BUNDLE), measured in the same run. */
export type TargetName = "upstream" | "bare" | "tollgate" | "tollgate-before" | "portkey";

export interface Target {
  name: TargetName;
  /** Where the load goes. */
  url: string;
  /** Headers every call carries (credentials, attribution, routing). */
  headers: Record<string, string>;
  /** The processes whose CPU is the target's (workerd); empty for the upstream floor. */
  pids: number[];
  stop(): Promise<void>;
}

export interface WorkerdHandle {
  origin: string;
  pid: number | undefined;
  inspectorPort?: number;
  stop(): Promise<void>;
}

/** The same esbuild settings as scripts/build-worker.ts, for the bare Worker. */
export async function buildBareWorker(): Promise<string> {
  await build({
    entryPoints: [path.join(here, "bare-worker.ts")],
    outfile: BARE_BUNDLE,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    conditions: ["workerd", "worker", "browser", "import", "default"],
    mainFields: ["browser", "module", "main"],
    external: ["node:*", "cloudflare:*"],
    minify: false,
    logLevel: "warning",
  });
  return BARE_BUNDLE;
}

export function tollgateCompat(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(path.join(ROOT, "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return { compatibilityDate: date, compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

/** Runs one Worker bundle on its own workerd process, pinned to `cpu` when given. */
export async function startOnWorkerd(p: {
  name: string;
  scriptPath: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  bindings: Record<string, string>;
  cpu?: string;
  inspector?: boolean;
}): Promise<WorkerdHandle> {
  const before = new Set(childrenNamed(process.pid, /workerd/));
  const port = await freePort();
  const inspectorPort = p.inspector ? await freePort() : undefined;
  const mf = new Miniflare({
    name: p.name,
    scriptPath: p.scriptPath,
    modules: true,
    compatibilityDate: p.compatibilityDate,
    compatibilityFlags: p.compatibilityFlags,
    bindings: p.bindings,
    host: "127.0.0.1",
    port,
    ...(inspectorPort ? { inspectorPort } : {}),
  });
  const url = await mf.ready;
  const pid = childrenNamed(process.pid, /workerd/).find((x) => !before.has(x));
  if (pid !== undefined && p.cpu) pin(pid, p.cpu);
  return { origin: url.origin, pid, inspectorPort, stop: () => mf.dispose() };
}

export interface PortkeyBuild {
  dir: string;
  script: string;
}

/** The Portkey Worker build, or why it is skipped. */
export function findPortkeyBuild(): PortkeyBuild | { skipped: string } {
  const dir = process.env.PORTKEY_WORKER_DIR ? path.resolve(process.env.PORTKEY_WORKER_DIR) : DEFAULT_PORTKEY_DIR;
  const script = ["index.js", "worker.js", "index.mjs"].map((f) => path.join(dir, f)).find((f) => existsSync(f));
  if (!script) {
    return {
      skipped:
        `no Portkey Worker build in ${path.relative(ROOT, dir) || dir} (set PORTKEY_WORKER_DIR, or run ` +
        "`wrangler deploy --dry-run --outdir <dir>` in a checkout of Portkey-AI/gateway)",
    };
  }
  return { dir, script };
}

/** Portkey's own wrangler.toml settings (overridable: PORTKEY_COMPAT_DATE, PORTKEY_COMPAT_FLAGS). */
export function portkeyCompat(): { compatibilityDate: string; compatibilityFlags: string[] } {
  return {
    compatibilityDate: process.env.PORTKEY_COMPAT_DATE ?? "2024-12-05",
    compatibilityFlags: (process.env.PORTKEY_COMPAT_FLAGS ?? "nodejs_compat").split(",").filter(Boolean),
  };
}

/** The npm package on Node: measured only when installed; it is not a dependency of Tollgate. */
export function portkeyNpmStatus(): string {
  try {
    const pkg = path.join(ROOT, "node_modules", "@portkey-ai", "gateway", "package.json");
    if (existsSync(pkg)) {
      return "installed but not measured: its SSE streams fail on Node 20 (known), so a side-by-side would only compare JSON";
    }
  } catch {}
  return "skipped: @portkey-ai/gateway is not installed (not a Tollgate dependency); known finding: its streams fail on Node 20";
}
