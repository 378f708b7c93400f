/**
 * The load generator, run in a child process (pinned with the services, away from the target).
 * node:http with a keep-alive agent; two modes:
 *   open   — requests start on a fixed schedule (`rate`/s) whatever the answers do; latency is
 *            measured from the scheduled start, so a stalled target cannot hide its queue
 *            (no coordinated omission). In-flight requests are capped; over the cap a start is
 *            counted as dropped.
 *   closed — `concurrency` loops, each sending the next request when the last one ended: the
 *            saturation run.
 * Per request: latency to the last byte, time to the first body byte, the largest gap between
 * two body chunks (streams), and whether the body was complete (SSE ends with [DONE]).
 *
 * The parent uses `LoadGenerator` (fork + IPC); this file is also the child's entry point.
 */
import { type ChildProcess, fork } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";

export interface LoadJob {
  url: string;
  headers: Record<string, string>;
  /** One body, or several used round-robin. */
  bodies: string[];
  mode: "open" | "closed";
  rate?: number;
  concurrency?: number;
  durationMs: number;
  timeoutMs: number;
  maxInFlight?: number;
  stream: boolean;
}

export interface LoadResult {
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  incomplete: number;
  statuses: Record<string, number>;
  firstError?: string;
  wallMs: number;
  /** Per successful request, ms. */
  latency: number[];
  ttfb: number[];
  maxGap: number[];
}

// ─── Child ───────────────────────────────────────────────────────────────────────────────────

function runJob(job: LoadJob): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY, keepAliveMsecs: 30_000 });
  const target = new URL(job.url);
  const bodies = job.bodies.map((b) => Buffer.from(b));
  const r: LoadResult = {
    sent: 0,
    ok: 0,
    errors: 0,
    dropped: 0,
    incomplete: 0,
    statuses: {},
    wallMs: 0,
    latency: [],
    ttfb: [],
    maxGap: [],
  };
  let inFlight = 0;
  const maxInFlight = job.maxInFlight ?? 1024;
  const start = performance.now();
  const end = start + job.durationMs;

  const one = (scheduled: number, done: () => void) => {
    const body = bodies[r.sent % bodies.length]!;
    r.sent++;
    inFlight++;
    let finished = false;
    const finish = (err?: string) => {
      if (finished) return;
      finished = true;
      inFlight--;
      if (err) {
        r.errors++;
        r.firstError ??= err;
      }
      done();
    };
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname + target.search,
        method: "POST",
        agent,
        headers: { ...job.headers, "content-type": "application/json", "content-length": String(body.length) },
      },
      (res) => {
        let first = -1;
        let last = -1;
        let gap = 0;
        let tail = "";
        res.on("data", (chunk: Buffer) => {
          const now = performance.now();
          if (first < 0) first = now;
          else if (now - last > gap) gap = now - last;
          last = now;
          if (job.stream) tail = (tail + chunk.toString("latin1")).slice(-32);
        });
        res.on("end", () => {
          const key = String(res.statusCode);
          r.statuses[key] = (r.statuses[key] ?? 0) + 1;
          if (res.statusCode !== 200) return finish(`HTTP ${res.statusCode}`);
          if (job.stream && !tail.includes("[DONE]")) r.incomplete++;
          const now = performance.now();
          r.ok++;
          r.latency.push(now - scheduled);
          r.ttfb.push((first < 0 ? now : first) - scheduled);
          r.maxGap.push(gap);
          finish();
        });
        res.on("error", (e) => finish(String(e)));
      },
    );
    req.setTimeout(job.timeoutMs, () => req.destroy(new Error("timeout")));
    req.on("error", (e) => finish(String(e)));
    req.end(body);
  };

  return new Promise((resolve) => {
    const complete = () => {
      r.wallMs = performance.now() - start;
      agent.destroy();
      resolve(r);
    };
    if (job.mode === "closed") {
      let loops = job.concurrency ?? 16;
      const loop = () => {
        if (performance.now() >= end) {
          if (--loops === 0) complete();
          return;
        }
        one(performance.now(), loop);
      };
      for (let i = 0, n = loops; i < n; i++) loop();
      return;
    }
    const interval = 1000 / (job.rate ?? 100);
    let next = start;
    let scheduling = true;
    const maybeComplete = () => {
      if (!scheduling && inFlight === 0) complete();
    };
    const tick = () => {
      const now = performance.now();
      while (next <= now && next < end) {
        if (inFlight >= maxInFlight) r.dropped++;
        else one(next, maybeComplete);
        next += interval;
      }
      if (next < end) setTimeout(tick, Math.max(0, Math.min(1, next - performance.now())));
      else {
        scheduling = false;
        maybeComplete();
      }
    };
    tick();
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.send) {
  process.on("message", (msg: { id: number; job: LoadJob }) => {
    runJob(msg.job).then(
      (result) => process.send!({ id: msg.id, result }),
      (err) => process.send!({ id: msg.id, error: String(err) }),
    );
  });
  process.send({ ready: true });
}

// ─── Parent ──────────────────────────────────────────────────────────────────────────────────

export class LoadGenerator {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (r: LoadResult) => void; reject: (e: Error) => void }>();

  private constructor(readonly child: ChildProcess) {
    child.on("message", (msg: { id?: number; result?: LoadResult; error?: string }) => {
      if (msg.id === undefined) return;
      const w = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      if (msg.error) w?.reject(new Error(msg.error));
      else w?.resolve(msg.result!);
    });
    child.on("exit", (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (${code})`));
      this.waiting.clear();
    });
  }

  static async start(): Promise<LoadGenerator> {
    const child = fork(fileURLToPath(import.meta.url), [], {
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    await new Promise<void>((resolve, reject) => {
      child.once("message", () => resolve());
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`load generator exited at start (${code})`)));
    });
    return new LoadGenerator(child);
  }

  get pid(): number {
    return this.child.pid!;
  }

  run(job: LoadJob): Promise<LoadResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, job });
    });
  }

  stop(): void {
    this.child.kill();
  }
}
