/**
 * Runs the built Worker (dist/worker.js) on workerd through Miniflare, on a free loopback port,
 * with the given vars — exactly the runtime Cloudflare uses, without wrangler dev's overhead.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { Miniflare } from "miniflare";
import { WORKER_BUNDLE } from "../../scripts/build-worker";
import { freePort } from "../../scripts/services/ports";

export interface RunningWorker {
  url: string;
  stop(): Promise<void>;
}

function wranglerSettings(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(path.join(path.dirname(WORKER_BUNDLE), "..", "wrangler.toml"), "utf8");
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? "";
  if (!date) throw new Error("wrangler.toml has no compatibility_date");
  return { compatibilityDate: date, compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1]!) };
}

export async function startWorker(vars: Record<string, string>, opts: { port?: number } = {}): Promise<RunningWorker> {
  const port = opts.port ?? (await freePort());
  const mf = new Miniflare({
    name: "tollgate",
    scriptPath: WORKER_BUNDLE,
    modules: true,
    ...wranglerSettings(),
    bindings: vars,
    host: "127.0.0.1",
    port,
  });
  const url = await mf.ready;
  return { url: url.origin, stop: () => mf.dispose() };
}
