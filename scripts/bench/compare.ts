/**
 * `npm run bench:compare -- a.js,b.js,…`: a step table in one run. CPU ms per call of the bare
 * Worker, each given Tollgate bundle (earlier builds of scripts/build-worker.ts) and Portkey's
 * Worker when built, all at ONE fixed open-loop rate, targets taking turns for ROUNDS rounds; the
 * median per target. Same stack, placement and setup as `npm run bench` (scripts/bench/run.ts), far
 * shorter: for before/after figures of one change each, not for the goals.
 * Env: ROUNDS=3 MS=3000 JSON_RATE=350 SSE_RATE=130 ONLY=json|sse PK=0 (no Portkey) SSE_USAGE=1
 * (the client asks for usage itself: the native-tee path) TOGETHER=1 (every target loaded at the
 * same time, each at the rate, instead of in turn: the steadiest ratios on a machine that drifts;
 * keep the sum of the rates within one core). No argument: dist/worker.js, rebuilt.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { buildWorker, WORKER_BUNDLE } from "../build-worker";
import { startStack } from "../services/stack";
import { requestBody, WORKLOADS } from "./config";
import { LoadGenerator } from "./loadgen";
import { pin, treeCpuMs } from "./proc";
import {
  BARE_BUNDLE,
  buildBareWorker,
  findPortkeyBuild,
  portkeyCompat,
  startOnWorkerd,
  tollgateCompat,
} from "./targets";
import { setupTollgate } from "./tollgate-setup";
import { startBenchUpstream } from "./upstream";

pin(process.pid, "0");
const bundles = (process.argv[2] ?? WORKER_BUNDLE).split(",");
if (!process.argv[2]) await buildWorker();
await buildBareWorker();
const stack = await startStack({ dataDir: await mkdtemp(path.join(os.tmpdir(), "cmp-")), persist: false });
const upstream = await startBenchUpstream();
const up = `${upstream.url}/v1`;
const gen = await LoadGenerator.start();
const compat = tollgateCompat();
const adminToken = randomBytes(24).toString("base64url");
const vars = { ...stack.workerVars, TOLLGATE_ADMIN_TOKEN: adminToken, FAIL_MODE: "open", UPSTREAM_OPENAI_URL: up };
type T = { name: string; url: string; headers: Record<string, string>; pid: number; stop: () => Promise<void> };
const targets: T[] = [];
const bare = await startOnWorkerd({
  name: "bare",
  scriptPath: BARE_BUNDLE,
  ...compat,
  bindings: { UPSTREAM_URL: up },
  cpu: "1",
});
targets.push({
  name: "bare",
  url: `${bare.origin}/proxy/openai/chat/completions`,
  headers: { authorization: "Bearer sk-bench-upstream" },
  pid: bare.pid!,
  stop: bare.stop,
});
for (const [i, b] of bundles.entries()) {
  const w = await startOnWorkerd({ name: `tg${i}`, scriptPath: path.resolve(b), ...compat, bindings: vars, cpu: "1" });
  const acc = await setupTollgate(w.origin, adminToken);
  targets.push({
    name: `tg${i}:${path.basename(b)}`,
    url: `${w.origin}/proxy/openai/chat/completions`,
    headers: acc.headers,
    pid: w.pid!,
    stop: w.stop,
  });
}
const pk = findPortkeyBuild();
if (!("skipped" in pk) && process.env.PK !== "0") {
  const w = await startOnWorkerd({
    name: "portkey",
    scriptPath: pk.script,
    ...portkeyCompat(),
    bindings: {},
    cpu: "1",
  });
  targets.push({
    name: "portkey",
    url: `${w.origin}/v1/chat/completions`,
    headers: { authorization: "Bearer sk-bench-upstream", "x-portkey-provider": "openai", "x-portkey-custom-host": up },
    pid: w.pid!,
    stop: w.stop,
  });
}
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const MS = Number(process.env.MS ?? 3000);
const TOGETHER = process.env.TOGETHER === "1";
const ws = WORKLOADS.slice(0, 2).filter((w) => !process.env.ONLY || w.id === process.env.ONLY);
let seq = 0;
const body = (w: (typeof WORKLOADS)[number], i: number) => {
  const b = JSON.parse(requestBody(w, i));
  if (w.stream && process.env.SSE_USAGE === "1") b.stream_options = { include_usage: true };
  return JSON.stringify(b);
};
for (const w of ws) {
  const rate = Number(w.stream ? (process.env.SSE_RATE ?? 130) : (process.env.JSON_RATE ?? 350));
  const job = (t: T) => ({
    url: t.url,
    headers: { ...t.headers, "x-tollgate-workflow": `cmp-${++seq}` },
    bodies: Array.from({ length: 8 }, (_, i) => body(w, i)),
    stream: w.stream,
    timeoutMs: 10000,
  });
  for (const t of targets) await gen.run({ ...job(t), mode: "closed", concurrency: 8, durationMs: 1000 });
  const res: Record<string, number[]> = {};
  const lat: Record<string, number[]> = {};
  const gaps: Record<string, number[]> = {};
  for (let r = 0; r < ROUNDS; r++) {
    const note = (t: T, cpuMs: number, out: Awaited<ReturnType<typeof gen.run>>) => {
      res[t.name] = [...(res[t.name] ?? []), cpuMs / Math.max(1, out.ok)];
      const l = out.latency.sort((a, b) => a - b);
      lat[t.name] = [...(lat[t.name] ?? []), l[Math.floor(l.length / 2)] ?? Number.NaN];
      gaps[t.name] = [...(gaps[t.name] ?? []), ...out.maxGap];
      if (out.errors) console.log(t.name, "errors", out.errors, out.firstError);
    };
    if (TOGETHER) {
      // All targets loaded at once, sharing the core: whatever the machine does meanwhile, it does
      // to every target in the same seconds (latency then includes the others' queueing).
      const before = targets.map((t) => treeCpuMs([t.pid]));
      const outs = await Promise.all(targets.map((t) => gen.run({ ...job(t), mode: "open", rate, durationMs: MS })));
      await new Promise((x) => setTimeout(x, 250));
      for (const [i, t] of targets.entries()) note(t, treeCpuMs([t.pid]) - before[i]!, outs[i]!);
      continue;
    }
    const order = [...targets.slice(r % targets.length), ...targets.slice(0, r % targets.length)];
    for (const t of order) {
      const before = treeCpuMs([t.pid]);
      const out = await gen.run({ ...job(t), mode: "open", rate, durationMs: MS });
      await new Promise((x) => setTimeout(x, 250));
      note(t, treeCpuMs([t.pid]) - before, out);
    }
  }
  const p99 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * 0.99)] ?? Number.NaN;
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  // The machine drifts over minutes (every target's figure moves together), so the ratio to bare is
  // taken within each round (the targets ran back to back) and its median reported.
  const perRound = (name: string) => res[name]!.map((x, r) => x / res.bare![r]!);
  for (const t of targets)
    console.log(
      `${w.id.padEnd(5)} ${t.name.padEnd(28)} cpu ${med(res[t.name]!).toFixed(3)} (${res[t.name]!.map((x) => x.toFixed(2)).join(" ")})  ×bare ${med(perRound(t.name)).toFixed(2)} (${perRound(
        t.name,
      )
        .map((x) => x.toFixed(2))
        .join(
          " ",
        )})  p50 ${med(lat[t.name]!).toFixed(2)}${w.stream ? `  max chunk gap p99 ${p99(gaps[t.name]!).toFixed(2)}` : ""}`,
    );
}
for (const t of targets) await t.stop();
await gen.stop();
await upstream.close();
await stack.stop();
process.exit(0);
