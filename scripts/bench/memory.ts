/**
 * The memory and pace phase of `npm run bench`: Tollgate on its own workerd with the inspector on
 * (the measured runs never pay for it).
 *
 *   paced streams  200 concurrent chat streams at a model's pace (a chunk every 20 ms for 10 s), on
 *                  Tollgate and on the bare Worker: max chunk gap and TTFB at the client, CPU per
 *                  call, meter reads per call (src/proxy/tally.ts meterStats, read through the
 *                  inspector), and the isolate's JS heap after a forced GC while all 200 are in flight
 *                  (Workers' isolate limit is 128 MB).
 *   soak           a mixed load (JSON and SSE, half each) for BENCH_SOAK_S seconds (full: 120, quick:
 *                  20; 600 for the 10-minute figure), with the heap read after a forced GC every 10 s:
 *                  flat means no leak. RSS is no signal (workerd's grows under load even for a bare
 *                  Worker); the JS heap after GC is.
 */
import { PACED, QUICK, REQUEST_TIMEOUT_MS, requestBody, WORKLOADS } from "./config";
import type { LoadGenerator, LoadResult } from "./loadgen";
import { treeCpuMs } from "./proc";
import { InspectorSession } from "./profile";
import { startOnWorkerd } from "./targets";

export interface MemoryResult {
  paced: {
    target: string;
    calls: number;
    cpuMsPerCall: number | null;
    maxGapP99Ms: number;
    ttfbP50Ms: number;
    meterReadsPerCall?: number;
    heapInFlightMb?: number;
  }[];
  soak: { seconds: number; samplesMb: number[]; slopeMbPerMin: number; calls: number } | null;
}

const SOAK_S = Number(process.env.BENCH_SOAK_S ?? (QUICK ? 20 : 120));
const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

async function heapMb(session: InspectorSession): Promise<number> {
  await session.send("HeapProfiler.collectGarbage");
  const { usedSize } = await session.send<{ usedSize: number }>("Runtime.getHeapUsage");
  return Math.round((usedSize / 1024 / 1024) * 10) / 10;
}

async function meterReads(session: InspectorSession): Promise<{ bodies: number; reads: number }> {
  const r = await session.send<{ result: { value?: { bodies: number; reads: number } } }>("Runtime.evaluate", {
    expression: "globalThis.__tollgateMeterStats",
    returnByValue: true,
  });
  return r.result.value ?? { bodies: 0, reads: 0 };
}

export async function memoryPhase(p: {
  bundle: string;
  bareUrl: string;
  barePids: number[];
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
      const url = `${worker.origin}/proxy/openai/chat/completions`;
      const paced = (target: string, u: string, headers: Record<string, string>) => ({
        url: u,
        headers: target === "tollgate" ? { ...headers, "x-tollgate-workflow": "paced" } : headers,
        bodies: [requestBody(PACED)],
        stream: true,
        timeoutMs: 30_000,
        mode: "closed" as const,
        concurrency: PACED.saturationConcurrency,
        // One round of streams: each lasts ~10 s.
        durationMs: 1_000,
      });
      // Warm the isolate (JIT, caches).
      await p.gen.run({ ...paced("tollgate", url, p.headers), concurrency: 4, durationMs: 500 });
      for (const [target, u, pids] of [
        ["bare", p.bareUrl, p.barePids],
        ["tollgate", url, worker.pid ? [worker.pid] : []],
      ] as const) {
        const before = treeCpuMs(pids);
        const reads0 = target === "tollgate" ? await meterReads(session) : null;
        const running = p.gen.run(
          paced(target, u, target === "tollgate" ? p.headers : { authorization: "Bearer sk-bench-upstream" }),
        );
        // All 200 are in flight 5 s in: the heap after GC then is what 200 calls hold.
        const inFlight =
          target === "tollgate"
            ? await new Promise<number>((r) => setTimeout(() => void heapMb(session).then(r), 5_000))
            : undefined;
        const r: LoadResult = await running;
        await new Promise((res) => setTimeout(res, 500));
        const reads1 = target === "tollgate" ? await meterReads(session) : null;
        out.paced.push({
          target,
          calls: r.ok,
          cpuMsPerCall: pids.length && r.ok ? (treeCpuMs(pids) - before) / r.ok : null,
          maxGapP99Ms: pct(r.maxGap, 99),
          ttfbP50Ms: pct(r.ttfb, 50),
          ...(reads0 && reads1 && reads1.bodies > reads0.bodies
            ? {
                meterReadsPerCall:
                  Math.round(((reads1.reads - reads0.reads) / (reads1.bodies - reads0.bodies)) * 10) / 10,
              }
            : {}),
          ...(inFlight !== undefined ? { heapInFlightMb: inFlight } : {}),
        });
      }

      // Soak: a mixed open-loop load, the heap after GC every 10 s.
      const samples: number[] = [await heapMb(session)];
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
              rate: 40,
              durationMs: 9_500,
            }),
          ),
        );
        calls += runs.reduce((n, r) => n + r.ok, 0);
        samples.push(await heapMb(session));
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
  const lines = [
    "## Paced streams and memory",
    "",
    `${PACED.label}, ${PACED.saturationConcurrency} at once (inspector-enabled Tollgate instance; the bare Worker for reference).`,
    "",
    "| target | calls | CPU ms/call | max chunk gap p99 | TTFB p50 | meter reads per call | JS heap after GC, all in flight |",
    "|---|---|---|---|---|---|---|",
    ...m.paced.map(
      (r) =>
        `| ${r.target} | ${r.calls} | ${r.cpuMsPerCall?.toFixed(3) ?? "–"} | ${r.maxGapP99Ms.toFixed(2)} ms | ${r.ttfbP50Ms.toFixed(2)} ms | ${r.meterReadsPerCall ?? "–"} | ${r.heapInFlightMb !== undefined ? `${r.heapInFlightMb} MB` : "–"} |`,
    ),
    "",
  ];
  if (bare && tg) {
    const gap = tg.maxGapP99Ms - bare.maxGapP99Ms;
    lines.push(
      `- paced: added max chunk gap p99 ${gap >= 0 ? "+" : ""}${gap.toFixed(2)} ms (goal ≤ 1 ms) — ${gap <= 1 ? "met" : "**missed**"}; JS heap with ${PACED.saturationConcurrency} calls in flight ${tg.heapInFlightMb ?? "?"} MB (goal < 128 MB) — ${(tg.heapInFlightMb ?? 999) < 128 ? "met" : "**missed**"}`,
    );
  }
  if (m.soak) {
    lines.push(
      `- soak: ${m.soak.seconds} s of mixed load (${m.soak.calls} calls), JS heap after GC every 10 s: ${m.soak.samplesMb.join(", ")} MB; slope ${m.soak.slopeMbPerMin} MB/min (flat: |slope| < 0.5) — ${Math.abs(m.soak.slopeMbPerMin) < 0.5 ? "met" : "**missed**"}`,
    );
  }
  return [...lines, ""];
}
