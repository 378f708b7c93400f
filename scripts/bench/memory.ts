/**
 * The memory and pace phase of `npm run bench`.
 *
 *   paced streams  chat streams at a model's pace (a chunk every 20 ms for 10 s): 20 at once on each
 *                  measured target — the bare Worker, Tollgate, Portkey's Worker — without an
 *                  inspector (max chunk gap and TTFB at the client, CPU per call); then 200 at once
 *                  on a second Tollgate on its own workerd with the inspector on, for the isolate's
 *                  JS heap after a forced GC while all 200 are in flight (Workers' isolate limit is
 *                  128 MB) and the meter reads per call (src/proxy/tally.ts meterStats). An
 *                  inspector slows the isolate it is attached to, so no CPU or gap figure is read there.
 *   soak           a mixed load (JSON and SSE, half each) for BENCH_SOAK_S seconds (full: 120, quick:
 *                  20; 600 for the 10-minute figure), with the heap read after a forced GC every 10 s:
 *                  flat means no leak. RSS is no signal (workerd's grows under load even for a bare
 *                  Worker); the JS heap after GC is.
 */
import { PACED, QUICK, REQUEST_TIMEOUT_MS, requestBody, WORKLOADS } from "./config";
import type { LoadGenerator, LoadResult } from "./loadgen";
import { treeCpuMs } from "./proc";
import { InspectorSession } from "./profile";
import { startOnWorkerd, type Target } from "./targets";

export interface MemoryResult {
  paced: {
    target: string;
    concurrency: number;
    calls: number;
    cpuMsPerCall: number | null;
    maxGapP99Ms: number;
    ttfbP50Ms: number;
    meterReadsPerCall?: number;
    heapInFlightMb?: number;
    /** Array-buffer backing stores (outside the JS heap, inside the isolate's limit), same moment. */
    buffersInFlightMb?: number;
  }[];
  soak: { seconds: number; samplesMb: number[]; slopeMbPerMin: number; calls: number } | null;
}

/** Calls per second of each soak workload (JSON and SSE). */
const SOAK_RATE = 15;
/** Paced streams at once for the gap and CPU comparison (the 200 run is for memory). */
const PACED_GAP_CONCURRENCY = 20;
const SOAK_S = Number(process.env.BENCH_SOAK_S ?? (QUICK ? 20 : 120));
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

/**
 * The isolate's memory after a full GC: the JS heap, and the array buffers' backing stores, which
 * live outside the heap but count against the isolate's limit (a body chunk is one: workerd hands
 * each read in its own 4 KiB buffer, so what a meter keeps shows here, not in the heap; workerd's
 * Runtime.getHeapUsage answers backingStorageSize). workerd answers HeapProfiler.collectGarbage only once the
 * isolate runs again (V8 runs the GC as a task on the isolate's thread), so an idle Worker would
 * never answer: while waiting, a cheap request (a 404) every 50 ms lets it run.
 */
async function isolateMemory(
  session: InspectorSession,
  origin: string,
): Promise<{ heapMb: number; buffersMb: number }> {
  let collected = false;
  const gc = session.send("HeapProfiler.collectGarbage", {}, 60_000).finally(() => {
    collected = true;
  });
  while (!collected) {
    await fetch(`${origin}/bench-gc-poke`).then(
      (r) => r.arrayBuffer(),
      () => undefined,
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  await gc;
  const usage = await session.send<{ usedSize: number; backingStorageSize?: number }>(
    "Runtime.getHeapUsage",
    {},
    60_000,
  );
  return { heapMb: mb(usage.usedSize), buffersMb: mb(usage.backingStorageSize ?? 0) };
}

/** The JS heap after a full GC (the soak's leak signal). */
async function heapMb(session: InspectorSession, origin: string): Promise<number> {
  return (await isolateMemory(session, origin)).heapMb;
}

async function meterReads(session: InspectorSession): Promise<{ bodies: number; reads: number }> {
  const r = await session.send<{ result: { value?: { bodies: number; reads: number } } }>("Runtime.evaluate", {
    expression: "globalThis.__tollgateMeterStats",
    returnByValue: true,
    ...(session.contextId !== undefined ? { contextId: session.contextId } : {}),
  });
  return r.result.value ?? { bodies: 0, reads: 0 };
}

export async function memoryPhase(p: {
  bundle: string;
  /** The measured targets (no inspector) for the paced gap and CPU comparison. */
  pacedTargets: Target[];
  vars: Record<string, string>;
  compat: { compatibilityDate: string; compatibilityFlags: string[] };
  cpu?: string;
  gen: LoadGenerator;
  headers: Record<string, string>;
}): Promise<MemoryResult> {
  const worker = await startOnWorkerd({
    name: "tollgate",
    scriptPath: p.bundle,
    ...p.compat,
    bindings: p.vars,
    cpu: p.cpu,
    inspector: true,
  });
  const out: MemoryResult = { paced: [], soak: null };
  try {
    const session = await InspectorSession.connect(worker.inspectorPort!, "tollgate");
    try {
      // Runtime.evaluate needs the isolate's execution context, announced once Runtime is enabled.
      await session.send("Runtime.enable");
      const url = `${worker.origin}/proxy/openai/chat/completions`;
      // 200 at once at 20 ms would be 10,000 chunks a second on one isolate: the memory run keeps
      // the 10 s but sends a chunk every 100 ms, so it measures what 200 calls hold, not a backlog.
      const paced = (target: string, u: string, headers: Record<string, string>, concurrency: number) => ({
        url: u,
        headers: target.startsWith("tollgate") ? { ...headers, "x-tollgate-workflow": "paced" } : headers,
        bodies: [
          requestBody(concurrency === PACED.saturationConcurrency ? { ...PACED, chunks: 100, paceMs: 100 } : PACED),
        ],
        stream: true,
        timeoutMs: 30_000,
        mode: "closed" as const,
        concurrency,
        // One round of streams: each lasts ~10 s.
        durationMs: 1_000,
      });
      // The gap and CPU comparison, on the measured targets.
      for (const t of p.pacedTargets) {
        await p.gen.run({ ...paced(t.name, t.url, t.headers, 4), durationMs: 500 });
        const before = treeCpuMs(t.pids);
        const r: LoadResult = await p.gen.run(paced(t.name, t.url, t.headers, PACED_GAP_CONCURRENCY));
        out.paced.push({
          target: t.name,
          concurrency: PACED_GAP_CONCURRENCY,
          calls: r.ok,
          cpuMsPerCall: t.pids.length && r.ok ? (treeCpuMs(t.pids) - before) / r.ok : null,
          maxGapP99Ms: pct(r.maxGap, 99),
          ttfbP50Ms: pct(r.ttfb, 50),
        });
      }
      // 200 in flight on the inspected instance: the heap while all are in flight (5 s in), and
      // the meter reads per call. Warm it first (JIT, caches).
      await p.gen.run({ ...paced("tollgate", url, p.headers, 4), durationMs: 500 });
      const reads0 = await meterReads(session);
      const running = p.gen.run(paced("tollgate", url, p.headers, PACED.saturationConcurrency));
      const inFlight = await new Promise<{ heapMb: number; buffersMb: number } | undefined>((r) =>
        setTimeout(() => void isolateMemory(session, worker.origin).then(r, () => r(undefined)), 5_000),
      );
      const r: LoadResult = await running;
      await new Promise((res) => setTimeout(res, 500));
      const reads1 = await meterReads(session);
      out.paced.push({
        target: "tollgate (inspected)",
        concurrency: PACED.saturationConcurrency,
        calls: r.ok,
        cpuMsPerCall: null,
        maxGapP99Ms: pct(r.maxGap, 99),
        ttfbP50Ms: pct(r.ttfb, 50),
        ...(reads1.bodies > reads0.bodies
          ? {
              meterReadsPerCall:
                Math.round(((reads1.reads - reads0.reads) / (reads1.bodies - reads0.bodies)) * 10) / 10,
            }
          : {}),
        ...(inFlight !== undefined ? { heapInFlightMb: inFlight.heapMb, buffersInFlightMb: inFlight.buffersMb } : {}),
      });

      // Soak: a mixed open-loop load, the heap after GC every 10 s.
      // After the paced runs' after-response work (commits, record flushes) has drained.
      await new Promise((r) => setTimeout(r, 3_000));
      const samples: number[] = [await heapMb(session, worker.origin)];
      let calls = 0;
      const rounds = Math.max(1, Math.round(SOAK_S / 10));
      for (let i = 0; i < rounds; i++) {
        const runs = await Promise.all(
          WORKLOADS.slice(0, 2).map((w) =>
            p.gen.run({
              url,
              headers: { ...p.headers, "x-tollgate-workflow": `soak-${w.id}` },
              bodies: Array.from({ length: 8 }, (_, k) => requestBody(w, k)),
              stream: w.stream,
              timeoutMs: REQUEST_TIMEOUT_MS,
              mode: "open",
              // Well within what one isolate serves, even on a shared machine: growth must come
              // from what the gateway keeps, not from a queue of calls it cannot keep up with.
              rate: SOAK_RATE,
              durationMs: 9_500,
            }),
          ),
        );
        calls += runs.reduce((n, r) => n + r.ok, 0);
        samples.push(await heapMb(session, worker.origin));
      }
      // Least-squares slope of the samples after the first (warm) one, MB per minute.
      const ys = samples.slice(1);
      const n = ys.length;
      const mx = (n - 1) / 2;
      const my = ys.reduce((a, b) => a + b, 0) / Math.max(1, n);
      const sxy = ys.reduce((a, y, i) => a + (i - mx) * (y - my), 0);
      const sxx = ys.reduce((a, _, i) => a + (i - mx) ** 2, 0);
      out.soak = {
        seconds: rounds * 10,
        samplesMb: samples,
        slopeMbPerMin: sxx > 0 ? Math.round((sxy / sxx) * 6 * 100) / 100 : 0,
        calls,
      };
    } finally {
      session.close();
    }
  } finally {
    await worker.stop();
  }
  return out;
}

export function memoryMarkdown(m: MemoryResult): string[] {
  const bare = m.paced.find((x) => x.target === "bare");
  const tg = m.paced.find((x) => x.target === "tollgate");
  const many = m.paced.find((x) => x.heapInFlightMb !== undefined);
  const lines = [
    "## Paced streams and memory",
    "",
    `${PACED.label}: 20 at once on each measured target; 200 at once on a second Tollgate with the inspector attached (heap and meter reads only — an inspector slows its isolate, so its gap is no figure).`,
    "",
    "| target | at once | calls | CPU ms/call | max chunk gap p99 | TTFB p50 | meter reads per call | JS heap after GC, all in flight | array buffers, all in flight |",
    "|---|---|---|---|---|---|---|---|---|",
    ...m.paced.map(
      (r) =>
        `| ${r.target} | ${r.concurrency} | ${r.calls} | ${r.cpuMsPerCall?.toFixed(3) ?? "–"} | ${r.maxGapP99Ms.toFixed(2)} ms | ${r.ttfbP50Ms.toFixed(2)} ms | ${r.meterReadsPerCall ?? "–"} | ${r.heapInFlightMb !== undefined ? `${r.heapInFlightMb} MB` : "–"} | ${r.buffersInFlightMb !== undefined ? `${r.buffersInFlightMb} MB` : "–"} |`,
    ),
    "",
  ];
  if (bare && tg) {
    const gap = tg.maxGapP99Ms - bare.maxGapP99Ms;
    // The isolate's limit counts the heap and the array buffers together.
    const isolateMb =
      many?.heapInFlightMb !== undefined
        ? Math.round((many.heapInFlightMb + (many.buffersInFlightMb ?? 0)) * 10) / 10
        : undefined;
    lines.push(
      `- paced, ${tg.concurrency} at once: added max chunk gap p99 ${gap >= 0 ? "+" : ""}${gap.toFixed(2)} ms (goal ≤ 1 ms) — ${gap <= 1 ? "met" : "**missed**"}; isolate memory (JS heap + array buffers) with ${many?.concurrency ?? "?"} calls in flight ${isolateMb ?? "?"} MB (goal < 128 MB) — ${(isolateMb ?? 999) < 128 ? "met" : "**missed**"}`,
    );
  }
  if (m.soak) {
    lines.push(
      `- soak: ${m.soak.seconds} s of mixed load (${m.soak.calls} calls), JS heap after GC every 10 s: ${m.soak.samplesMb.join(", ")} MB; slope ${m.soak.slopeMbPerMin} MB/min (flat: it grows by < 0.5 MB/min) — ${m.soak.slopeMbPerMin < 0.5 ? "met" : "**missed**"}`,
    );
  }
  return [...lines, ""];
}
