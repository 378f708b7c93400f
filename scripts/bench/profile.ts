/**
 * A CPU profile of a Worker on workerd, through the DevTools protocol of Miniflare's inspector:
 * Profiler.start, drive load, Profiler.stop. Self time is attributed to the bundle's modules
 * (esbuild writes a `// <source path>` comment line before each module's code, so a line number is
 * enough to name the module) and to functions. The raw .cpuprofile is saved too (open it in
 * Chrome DevTools or speedscope for a flame graph).
 */
import { readFileSync } from "node:fs";
import WebSocket from "ws";

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  byModule: { module: string; ms: number; share: number }[];
  byFunction: { fn: string; module: string; ms: number; share: number }[];
}

export class InspectorSession {
  private nextId = 1;
  private readonly waiting = new Map<number, (msg: { result?: unknown; error?: unknown }) => void>();

  /** The isolate's execution context, once Runtime.enable announced it (for Runtime.evaluate). */
  contextId: number | undefined;

  private constructor(private readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const msg = JSON.parse(String(data)) as {
        id?: number;
        result?: unknown;
        error?: unknown;
        method?: string;
        params?: { context?: { id: number } };
      };
      if (msg.method === "Runtime.executionContextCreated") this.contextId = msg.params?.context?.id;
      if (msg.id !== undefined) {
        this.waiting.get(msg.id)?.(msg);
        this.waiting.delete(msg.id);
      }
    });
  }

  static async connect(inspectorPort: number, workerName: string): Promise<InspectorSession> {
    const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
      title?: string;
      url?: string;
      webSocketDebuggerUrl: string;
    }[];
    const entry =
      list.find((e) => e.webSocketDebuggerUrl.endsWith(`/${workerName}`) || e.title?.includes(workerName)) ?? list[0];
    if (!entry) throw new Error("the inspector lists no worker");
    const ws = new WebSocket(entry.webSocketDebuggerUrl);
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    });
    return new InspectorSession(ws);
  }

  /** `timeoutMs`: a busy isolate answers only between requests' turns; a GC under load can take long. */
  send<T>(method: string, params: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`inspector ${method}: no answer`)), timeoutMs);
      this.waiting.set(id, (msg) => {
        clearTimeout(timer);
        if (msg.error) reject(new Error(`inspector ${method}: ${JSON.stringify(msg.error)}`));
        else resolve(msg.result as T);
      });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

/** Line → module name, from esbuild's `// path` markers in an unminified bundle. */
function moduleLines(bundlePath: string): { line: number; module: string }[] {
  const out: { line: number; module: string }[] = [];
  const lines = readFileSync(bundlePath, "utf8").split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^\/\/ ((?:src|schema|pricing|node_modules|scripts)\/\S+)$/.exec(lines[i]!);
    if (m) out.push({ line: i, module: m[1]!.replace(/^node_modules\/((?:@[^/]+\/)?[^/]+).*/, "$1 (npm)") });
  }
  return out;
}

export function summarizeProfile(profile: CpuProfile, bundlePath: string, top = 15): ProfileSummary {
  const marks = moduleLines(bundlePath);
  const moduleAt = (url: string, line: number): string => {
    if (!url) return "(native / runtime)";
    if (!url.includes("worker")) return url.split("/").slice(-2).join("/");
    let lo = 0;
    let hi = marks.length - 1;
    let found = "(bundle prelude)";
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (marks[mid]!.line <= line) {
        found = marks[mid]!.module;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0));
  }
  const byModule = new Map<string, number>();
  const byFn = new Map<string, { module: string; us: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = nodes.get(id)!;
    const fname = n.callFrame.functionName || "(anonymous)";
    if (fname === "(idle)") continue;
    total += us;
    // (program), (garbage collector), (root) have no URL; anonymous functions do.
    const mod = !n.callFrame.url && fname.startsWith("(") ? fname : moduleAt(n.callFrame.url, n.callFrame.lineNumber);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
    const key = `${fname} @ ${mod}:${n.callFrame.lineNumber + 1}`;
    const e = byFn.get(key) ?? { module: mod, us: 0 };
    e.us += us;
    byFn.set(key, e);
  }
  return {
    totalMs: total / 1000,
    byModule: [...byModule]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([module, us]) => ({ module, ms: us / 1000, share: us / total })),
    byFunction: [...byFn]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([fn, e]) => ({ fn, module: e.module, ms: e.us / 1000, share: e.us / total })),
  };
}
