/**
 * `npm run bench`: what Tollgate adds, measured side by side in one run so machine noise cancels.
 *
 *   targets    the upstream directly (floor) · a bare Hono pass-through Worker · Tollgate (metering,
 *              one hard budget rule per scope type, records on) · Portkey's Worker build when present
 *   workloads  chat JSON and chat SSE (40 chunks), upstream answering at once and after 50 ms
 *   load       per workload: a closed-loop saturation run (capacity), then open-loop runs at fixed
 *              fractions of each target's capacity; rounds interleaved between targets
 *   placement  this process (services, upstream, Redis, Postgres) and the load generator on CPU 0,
 *              each target's workerd on CPU 1; loopback only
 *
 * BENCH_QUICK=1: ~2 minutes. PORTKEY_WORKER_DIR: the Portkey build (default .bench/portkey-worker).
 * BENCH_PROFILE=0: no CPU profile. Output: bench/results/<timestamp>.{md,json} and latest.md.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildWorker, WORKER_BUNDLE } from "../build-worker";
import { startStack } from "../services/stack";
import { type BurstResult, runBudgetBursts } from "./budget-burst";
import {
  COMMON_FRACTION,
  DEADLINE_MS,
  LEVEL_MS,
  LEVELS,
  PG_AUTH,
  PROBE_CALLS,
  PROFILE,
  QUICK,
  REQUEST_TIMEOUT_MS,
  RTT_BATCH_SIZE,
  RTT_BATCHES,
  requestBody,
  SATURATION_MS,
  WARMUP_MS,
  WORKLOADS,
  type Workload,
} from "./config";
import { installServerHook, PgProbe, spilledByWorkflow, watchPort } from "./counters";
import { LoadGenerator, type LoadJob } from "./loadgen";
import { measureRun, type RunSummary, type Services } from "./measure";
import { memoryPhase } from "./memory";
import { probeRedisRtt, probeSubrequests, type RttProbe, type SubrequestProbe } from "./probes";
import { affinity, childrenNamed, hasTaskset, machineInfo, pin } from "./proc";
import { profileTollgate } from "./profile-run";
import { type BenchReport, versions, writeReport } from "./report";
import {
  BARE_BUNDLE,
  buildBareWorker,
  findPortkeyBuild,
  portkeyCompat,
  portkeyNpmStatus,
  startOnWorkerd,
  type Target,
  type TargetName,
  tollgateCompat,
} from "./targets";
import { setupTollgate, type TollgateAccount } from "./tollgate-setup";
import { startBenchUpstream } from "./upstream";

const log = (msg: string) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}`);
const portOf = (url: string) => Number(new URL(url.includes("://") ? url : `http://${url}`).port);

async function smoke(target: Target, w: Workload): Promise<string | null> {
  try {
    const res = await fetch(target.url, {
      method: "POST",
      headers: { ...target.headers, "content-type": "application/json", "x-tollgate-workflow": "smoke" },
      body: requestBody(w),
    });
    const text = await res.text();
    if (res.status !== 200) return `HTTP ${res.status}: ${text.slice(0, 300)}`;
    if (w.stream && !text.includes("[DONE]")) return `stream without [DONE]: ${text.slice(0, 200)}`;
    return null;
  } catch (err) {
    return String(err);
  }
}

async function main() {
  const t0 = performance.now();
  const elapsed = () => performance.now() - t0;
  const skipped: { what: string; why: string }[] = [];
  const notes: string[] = [];
  const cleanups: (() => Promise<unknown> | unknown)[] = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await Promise.resolve(c()).catch(() => {});
    cleanups.length = 0;
  };
  process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
  process.once("SIGTERM", () => void cleanup().then(() => process.exit(143)));

  try {
    installServerHook();
    const pinned = hasTaskset() && pin(process.pid, "0");
    if (!pinned) notes.push("taskset unavailable: processes were not pinned; figures are noisier.");
    if (os.cpus().length < 2) notes.push("fewer than 2 CPUs: target and load generator share a core.");
    const targetCpu = pinned && os.cpus().length >= 2 ? "1" : undefined;

    log(`mode ${QUICK ? "QUICK" : "full"}; building workers, starting Redis + Postgres …`);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "tollgate-bench-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const [stack, upstream, tollgateBuild] = await Promise.all([
      startStack({ dataDir, persist: false }),
      startBenchUpstream(),
      buildWorker().then(
        () => null,
        (err: unknown) => String(err),
      ),
      buildBareWorker(),
    ]);
    cleanups.push(() => stack.stop());
    cleanups.push(() => upstream.close());
    watchPort(portOf(stack.upstashUrl), "upstash");
    watchPort(portOf(stack.neonWsProxy.split("/")[0]!), "relay");
    watchPort(upstream.port, "upstream");
    const services: Services = {
      redisPids: childrenNamed(process.pid, /redis/),
      postgresPids: childrenNamed(process.pid, /postgres/),
      workerdPids: [],
      targetCore: targetCpu === undefined ? undefined : Number(targetCpu),
    };
    const gen = await LoadGenerator.start();
    cleanups.push(() => gen.stop());
    const pg = await PgProbe.connect(stack.databaseUrl);
    cleanups.push(() => pg.close());
    notes.push(
      `Postgres authenticates the Worker's connections with ${PG_AUTH}, as the Neon driver does against Neon.`,
    );
    log(`stack up in ${(elapsed() / 1000).toFixed(1)} s`);

    // ─── Targets ───────────────────────────────────────────────────────────────────────────
    const upstreamV1 = `${upstream.url}/v1`;
    const targets: Target[] = [
      {
        name: "upstream",
        url: `${upstreamV1}/chat/completions`,
        headers: { authorization: "Bearer sk-bench-upstream" },
        pids: [],
        stop: async () => {},
      },
    ];
    const compat = tollgateCompat();
    const bare = await startOnWorkerd({
      name: "bare",
      scriptPath: BARE_BUNDLE,
      ...compat,
      bindings: { UPSTREAM_URL: upstreamV1 },
      cpu: targetCpu,
    });
    cleanups.push(() => bare.stop());
    targets.push({
      name: "bare",
      url: `${bare.origin}/proxy/openai/chat/completions`,
      headers: { authorization: "Bearer sk-bench-upstream" },
      pids: bare.pid ? [bare.pid] : [],
      stop: bare.stop,
    });

    let account: TollgateAccount | undefined;
    let tollgateOrigin = "";
    const adminToken = randomBytes(24).toString("base64url");
    const tollgateVars = {
      ...stack.workerVars,
      TOLLGATE_ADMIN_TOKEN: adminToken,
      FAIL_MODE: "open",
      UPSTREAM_OPENAI_URL: upstreamV1,
    };
    if (tollgateBuild) {
      skipped.push({ what: "Tollgate", why: `the Worker does not build: ${tollgateBuild.slice(0, 400)}` });
    } else {
      const tg = await startOnWorkerd({
        name: "tollgate",
        scriptPath: WORKER_BUNDLE,
        ...compat,
        bindings: tollgateVars,
        cpu: targetCpu,
      });
      cleanups.push(() => tg.stop());
      tollgateOrigin = tg.origin;
      try {
        account = await setupTollgate(tg.origin, adminToken);
        const target: Target = {
          name: "tollgate",
          url: `${tg.origin}/proxy/openai/chat/completions`,
          headers: account.headers,
          pids: tg.pid ? [tg.pid] : [],
          stop: tg.stop,
        };
        const why = (await smoke(target, WORKLOADS[0]!)) ?? (await smoke(target, WORKLOADS[1]!));
        if (why) skipped.push({ what: "Tollgate", why: `the proxy does not answer a chat call yet: ${why}` });
        else targets.push(target);
      } catch (err) {
        skipped.push({ what: "Tollgate", why: `setup through the admin API failed: ${String(err).slice(0, 400)}` });
      }
    }

    // An earlier build, for a before/after comparison in one run (the same machine noise for both).
    const before = process.env.BENCH_BEFORE_BUNDLE;
    if (before && !tollgateBuild) {
      const tb = await startOnWorkerd({
        name: "tollgate-before",
        scriptPath: path.resolve(before),
        ...compat,
        bindings: tollgateVars,
        cpu: targetCpu,
      });
      cleanups.push(() => tb.stop());
      const acc = await setupTollgate(tb.origin, adminToken);
      targets.push({
        name: "tollgate-before",
        url: `${tb.origin}/proxy/openai/chat/completions`,
        headers: acc.headers,
        pids: tb.pid ? [tb.pid] : [],
        stop: tb.stop,
      });
      notes.push(`tollgate-before: ${before} (BENCH_BEFORE_BUNDLE), same stack, same rules.`);
    }

    const portkey = findPortkeyBuild();
    if ("skipped" in portkey) skipped.push({ what: "Portkey Worker", why: portkey.skipped });
    else {
      const pk = await startOnWorkerd({
        name: "portkey",
        scriptPath: portkey.script,
        ...portkeyCompat(),
        bindings: {},
        cpu: targetCpu,
      });
      cleanups.push(() => pk.stop());
      const target: Target = {
        name: "portkey",
        url: `${pk.origin}/v1/chat/completions`,
        headers: {
          authorization: "Bearer sk-bench-upstream",
          "x-portkey-provider": "openai",
          "x-portkey-custom-host": upstreamV1,
        },
        pids: pk.pid ? [pk.pid] : [],
        stop: pk.stop,
      };
      const why = (await smoke(target, WORKLOADS[0]!)) ?? (await smoke(target, WORKLOADS[1]!));
      if (why) skipped.push({ what: "Portkey Worker", why: `its build does not answer a chat call: ${why}` });
      else targets.push(target);
    }
    skipped.push({ what: "Portkey npm package on Node", why: portkeyNpmStatus() });
    services.workerdPids.push(...targets.flatMap((t) => t.pids));
    const pids: [string, number | undefined][] = [
      ["bench (services)", process.pid],
      ["load generator", gen.pid],
      ["redis-server", services.redisPids[0]],
      ["postgres", services.postgresPids[0]],
      ...targets.filter((t) => t.pids.length).map((t): [string, number] => [`${t.name} workerd`, t.pids[0]!]),
    ];
    notes.push(`CPU affinity: ${pids.map(([n, pid]) => `${n} ${pid ? affinity(pid) : "?"}`).join("; ")}.`);
    log(
      `targets: ${targets.map((t) => t.name).join(", ")}${skipped.length ? `; skipped: ${skipped.map((s) => s.what).join(", ")}` : ""}`,
    );

    // ─── Probes (one call at a time) ───────────────────────────────────────────────────────
    const probes: SubrequestProbe[] = [];
    let rtt: RttProbe | null = null;
    const tollgate = targets.find((t) => t.name === "tollgate");
    if (tollgate && account) {
      const admitSha = await import("../../src/budgets/scripts").then(
        (m: { ADMIT_SCRIPT?: { sha1: string } }) => m.ADMIT_SCRIPT?.sha1,
        () => undefined,
      );
      for (const w of WORKLOADS.slice(0, 2)) {
        // A fresh account and key, so the first call finds the isolate's caches cold.
        const fresh = await setupTollgate(tollgateOrigin, adminToken);
        probes.push(
          await probeSubrequests({
            workload: w.id,
            url: tollgate.url,
            headers: { ...fresh.headers, "x-tollgate-workflow": `probe-${w.id}` },
            bodies: Array.from({ length: PROBE_CALLS }, (_, i) => requestBody(w, i)),
            upstream,
            transactions: () => pg.transactions(),
            admitSha,
          }),
        );
      }
      try {
        rtt = await probeRedisRtt({
          bareUrl: bare.origin,
          upstashUrl: stack.upstashUrl,
          token: stack.upstashToken,
          admitBody: probes.find((p) => p.admitBody)?.admitBody,
          batches: RTT_BATCHES,
          batchSize: RTT_BATCH_SIZE,
        });
      } catch (err) {
        skipped.push({ what: "Redis round-trip probe", why: String(err) });
      }
      log("subrequest and round-trip probes done");
    }

    // ─── Load ──────────────────────────────────────────────────────────────────────────────
    const runs: RunSummary[] = [];
    const capacity = new Map<string, number>(); // `${target}|${workload}` → ok/s at saturation
    let round = 0;
    let cut = 0;
    const rotated = () => {
      const k = round++ % targets.length;
      return [...targets.slice(k), ...targets.slice(0, k)];
    };
    let seq = 0;
    const runWorkflow = new Map<RunSummary, string>();
    const jobFor = (t: Target, w: Workload, extra: Partial<LoadJob>, workflow: string): LoadJob => ({
      url: t.url,
      headers: t.name === "tollgate" ? { ...t.headers, "x-tollgate-workflow": workflow } : t.headers,
      bodies: Array.from({ length: 8 }, (_, i) => requestBody(w, i)),
      mode: "open",
      durationMs: LEVEL_MS,
      timeoutMs: REQUEST_TIMEOUT_MS,
      stream: w.stream,
      ...extra,
    });
    const run = async (t: Target, w: Workload, level: string, extra: Partial<LoadJob>): Promise<RunSummary | null> => {
      if (elapsed() > DEADLINE_MS) {
        cut++;
        return null;
      }
      const workflow = `run-${++seq}-${t.name}-${w.id}-${level.replace("%", "pct")}`;
      const summary = await measureRun({
        gen,
        target: t,
        workload: w.id,
        level,
        job: jobFor(t, w, extra, workflow),
        services,
        upstream,
        pg,
        records: t.name === "tollgate" && account ? () => pg.recordTotals(account!.accountId, workflow) : undefined,
      });
      if (level !== "warmup") {
        runs.push(summary);
        if (summary.records) runWorkflow.set(summary, workflow);
        log(
          `${w.id.padEnd(9)} ${t.name.padEnd(8)} ${level.padEnd(10)} ${summary.achievedRps.toFixed(0).padStart(5)} ok/s ` +
            `p50 ${summary.latency.p50.toFixed(2)} ms p99 ${summary.latency.p99.toFixed(2)} ms ` +
            `cpu ${summary.cpuMsPerCall?.toFixed(3) ?? "-"} ms/call${summary.errors ? ` errors ${summary.errors} (${summary.firstError})` : ""}`,
        );
      }
      return summary;
    };

    for (const w of WORKLOADS) {
      for (const t of targets) await run(t, w, "warmup", { mode: "closed", concurrency: 8, durationMs: WARMUP_MS });
      if (!w.capacityFrom) {
        for (const t of rotated()) {
          const s = await run(t, w, "saturation", {
            mode: "closed",
            concurrency: w.saturationConcurrency,
            durationMs: SATURATION_MS,
          });
          if (s) capacity.set(`${t.name}|${w.id}`, s.achievedRps);
        }
      }
      // Every target at one rate: half the smallest Worker capacity (added latency is read here).
      const workerCaps = targets
        .filter((t) => t.name !== "upstream")
        .map((t) => capacity.get(`${t.name}|${w.capacityFrom ?? w.id}`) ?? 0)
        .filter((c) => c > 0);
      if (workerCaps.length) {
        const rate = Math.max(5, Math.round(Math.min(...workerCaps) * COMMON_FRACTION));
        for (const t of rotated()) await run(t, w, "common", { mode: "open", rate, durationMs: LEVEL_MS });
      }
      for (const level of LEVELS) {
        for (const t of rotated()) {
          // The floor is driven at the bare Worker's rates: its own "capacity" is the load generator's.
          const capOf: TargetName = t.name === "upstream" ? "bare" : t.name;
          const cap = capacity.get(`${capOf}|${w.capacityFrom ?? w.id}`);
          if (!cap) continue;
          const rate = Math.max(1, Math.round(cap * level));
          await run(t, w, `${Math.round(level * 100)}%`, { mode: "open", rate, durationMs: LEVEL_MS });
        }
      }
    }
    // Final accounting: every Tollgate run's records, re-counted now (late writes included), and
    // any still waiting in the Redis spill stream (written to Postgres later by the drain).
    if (account && runWorkflow.size) {
      await new Promise((r) => setTimeout(r, 2000));
      const spilled = await spilledByWorkflow(stack.upstashUrl, stack.upstashToken).catch(
        () => new Map<string, number>(),
      );
      for (const [summary, workflow] of runWorkflow) {
        const totals = await pg.recordTotals(account.accountId, workflow);
        summary.records!.final = { records: totals.records, spilled: spilled.get(workflow) ?? 0 };
      }
    }
    if (cut) skipped.push({ what: `${cut} run(s)`, why: `past the time bound (${DEADLINE_MS / 1000} s)` });

    // ─── Profile ───────────────────────────────────────────────────────────────────────────
    let profile: BenchReport["profile"] = null;
    if (PROFILE && tollgate && account && elapsed() < DEADLINE_MS + 30_000) {
      try {
        profile = await profileTollgate({
          vars: tollgateVars,
          compat,
          cpu: targetCpu,
          gen,
          headers: account.headers,
          capacity: (w) => capacity.get(`tollgate|${w}`),
        });
        log("profile done");
      } catch (err) {
        skipped.push({ what: "CPU profile", why: String(err).slice(0, 300) });
      }
    } else if (PROFILE && tollgate) skipped.push({ what: "CPU profile", why: "past the time bound" });

    // ─── Paced streams and memory (scripts/bench/memory.ts) ───────────────────────────────
    let memory: BenchReport["memory"] = null;
    if (tollgate && account && process.env.BENCH_MEMORY !== "0") {
      try {
        memory = await memoryPhase({
          bundle: WORKER_BUNDLE,
          pacedTargets: targets.filter((t) => t.name === "bare" || t.name === "tollgate" || t.name === "portkey"),
          vars: tollgateVars,
          compat,
          cpu: targetCpu,
          gen,
          headers: account.headers,
        });
        log("paced streams and memory done");
      } catch (err) {
        skipped.push({ what: "paced streams and memory", why: String(err).slice(0, 300) });
      }
    }

    // The budget burst: its own account and Worker on the same stack (scripts/bench/budget-burst.ts).
    let budgetBursts: BurstResult[] | null = null;
    try {
      budgetBursts = await runBudgetBursts(stack);
      log("budget burst done");
    } catch (err) {
      skipped.push({ what: "budget burst", why: String(err).slice(0, 300) });
    }

    const report: BenchReport = {
      startedAt: new Date(Date.now() - elapsed()).toISOString(),
      durationS: elapsed() / 1000,
      quick: QUICK,
      machine: machineInfo(),
      versions: versions(findPortkeyBuild()),
      placement: targetCpu
        ? "this process (upstream, Upstash endpoint, WebSocket relay), redis-server, postgres and the load generator on CPU 0; each target's workerd on CPU 1"
        : "not pinned",
      workloads: WORKLOADS,
      levels: LEVELS,
      commonFraction: COMMON_FRACTION,
      pgAuth: PG_AUTH,
      targets: targets.map((t) => t.name),
      tollgateRules: account?.rules ?? [],
      runs,
      probes,
      rtt,
      profile,
      memory,
      budgetBursts,
      skipped,
      notes,
    };
    const { markdown, files } = await writeReport(report);
    console.log(markdown);
    log(`wrote ${files.join(", ")} in ${(elapsed() / 1000).toFixed(0)} s`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
