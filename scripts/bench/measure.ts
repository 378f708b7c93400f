/**
 * One measured run: read CPU counters and subrequest counters, drive the load, wait until the
 * target's after-response work (waitUntil: settle, record) is done, read them again.
 */
import { type Counts, diffCounts, type PgProbe, type RecordTotals, readCounts } from "./counters";
import type { LoadGenerator, LoadJob, LoadResult } from "./loadgen";
import { coreBusyMs, treeCpuMs } from "./proc";
import type { Target } from "./targets";
import type { UpstreamStats } from "./upstream";

export interface Services {
  /** redis-server and postgres process-tree roots. */
  redisPids: number[];
  postgresPids: number[];
  /** Every target's workerd (all pinned to the target core): to tell our load from foreign load. */
  workerdPids: number[];
  /** The target core's index, when pinned. */
  targetCore?: number;
}

export interface RunSummary {
  target: string;
  workload: string;
  /** "saturation" | "25%" | … | "warmup" */
  level: string;
  mode: "open" | "closed";
  offeredRate?: number;
  concurrency?: number;
  sent: number;
  ok: number;
  errors: number;
  dropped: number;
  incomplete: number;
  firstError?: string;
  statuses: Record<string, number>;
  wallS: number;
  achievedRps: number;
  latency: Pct;
  ttfb: Pct;
  maxGap: Pct;
  /** Target processes (workerd), ms of CPU per successful call. */
  cpuMsPerCall: number | null;
  /** Share of one core the target used during the run. */
  targetCoreUse: number | null;
  /** CPU per call of this process (upstream + Upstash endpoint + relay), redis-server, postgres. */
  svcCpuMsPerCall: { node: number; redis: number; postgres: number };
  /**
   * CPU used by processes that are not this benchmark's (other jobs on the machine), as a share
   * of one core over the run: on the target core, and on all cores. Non-zero = a noisy run.
   */
  foreignLoad: { targetCore: number | null; total: number };
  subrequests: Counts;
  pgTransactions: number | null;
  upstream: UpstreamStats;
  records?: RecordTotals & {
    expected: number;
    waitedMs: number;
    /** Re-counted at the end of the benchmark: in Postgres, and still in the Redis spill stream. */
    final?: { records: number; spilled: number };
  };
}

export interface Pct {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function pct(values: number[]): Pct {
  if (values.length === 0)
    return { p50: Number.NaN, p90: Number.NaN, p99: Number.NaN, max: Number.NaN, mean: Number.NaN };
  const s = Float64Array.from(values).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  let sum = 0;
  for (const v of s) sum += v;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: s[s.length - 1]!, mean: sum / s.length };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureRun(p: {
  gen: LoadGenerator;
  target: Target;
  workload: string;
  level: string;
  job: LoadJob;
  services: Services;
  upstream: { stats: UpstreamStats; reset(): void };
  pg: PgProbe;
  /** Tollgate: how to count this run's records (they carry the run's workflow id). */
  records?: () => Promise<RecordTotals>;
}): Promise<RunSummary> {
  const { target, services } = p;
  p.upstream.reset();
  const cpu0 = target.pids.length ? treeCpuMs(target.pids) : 0;
  const node0 = process.cpuUsage();
  const redis0 = treeCpuMs(services.redisPids);
  const pg0 = treeCpuMs(services.postgresPids);
  const counts0 = readCounts();
  const busy0 = coreBusyMs();
  const ours0 = treeCpuMs([process.pid]);
  const workerd0 = treeCpuMs(services.workerdPids);
  const tx0 = p.records ? await p.pg.transactions().catch(() => null) : null;

  const r: LoadResult = await p.gen.run(p.job);
  const busy1 = coreBusyMs();
  const foreignTotal = busy1.reduce((a, b, i) => a + b - (busy0[i] ?? 0), 0) - (treeCpuMs([process.pid]) - ours0);
  const core = services.targetCore;
  const foreignTarget =
    core === undefined ? null : (busy1[core] ?? 0) - (busy0[core] ?? 0) - (treeCpuMs(services.workerdPids) - workerd0);

  // After-response work: Tollgate settles and records in waitUntil. Wait for the records (up to
  // 5 s), then for the subrequest counters to go quiet, so the CPU read includes all of it.
  let records: RunSummary["records"];
  if (p.records) {
    // Wait while records keep arriving (a saturated isolate can be seconds behind on its
    // waitUntil work), up to 15 s; give up after 2.5 s without progress.
    const deadline = performance.now() + 15_000;
    let totals = await p.records();
    let progressAt = performance.now();
    while (totals.records < r.ok && performance.now() < deadline && performance.now() - progressAt < 2500) {
      await sleep(100);
      const next = await p.records();
      if (next.records > totals.records) progressAt = performance.now();
      totals = next;
    }
    records = { ...totals, expected: r.ok, waitedMs: Math.round(performance.now() - (deadline - 15_000)) };
  }
  let last = readCounts();
  for (let i = 0; i < 20; i++) {
    await sleep(p.records ? 100 : 30);
    const now = readCounts();
    if (now.upstash === last.upstash && now.relayConnections === last.relayConnections) break;
    last = now;
  }
  const cpu = target.pids.length ? treeCpuMs(target.pids) - cpu0 : null;
  const node = process.cpuUsage(node0);
  const redis = treeCpuMs(services.redisPids) - redis0;
  const pgCpu = treeCpuMs(services.postgresPids) - pg0;
  const counts = diffCounts(counts0, readCounts());
  let tx: number | null = null;
  if (p.records && tx0 !== null) {
    await sleep(1100); // backends flush their stats within 1 s (or when they exit)
    const tx1 = await p.pg.transactions().catch(() => null);
    // Minus this probe's own two statements per read.
    tx = tx1 === null ? null : tx1 - tx0 - 2;
  }
  const ok = Math.max(1, r.ok);
  return {
    target: target.name,
    workload: p.workload,
    level: p.level,
    mode: p.job.mode,
    offeredRate: p.job.rate,
    concurrency: p.job.concurrency,
    sent: r.sent,
    ok: r.ok,
    errors: r.errors,
    dropped: r.dropped,
    incomplete: r.incomplete,
    firstError: r.firstError,
    statuses: r.statuses,
    wallS: r.wallMs / 1000,
    achievedRps: r.ok / (r.wallMs / 1000),
    latency: pct(r.latency),
    ttfb: pct(r.ttfb),
    maxGap: pct(r.maxGap),
    cpuMsPerCall: cpu === null ? null : cpu / ok,
    targetCoreUse: cpu === null ? null : cpu / r.wallMs,
    foreignLoad: {
      targetCore: foreignTarget === null ? null : Math.max(0, foreignTarget / r.wallMs),
      total: Math.max(0, foreignTotal / r.wallMs),
    },
    svcCpuMsPerCall: { node: (node.user + node.system) / 1000 / ok, redis: redis / ok, postgres: pgCpu / ok },
    subrequests: counts,
    pgTransactions: tx,
    upstream: { ...p.upstream.stats },
    records,
  };
}
