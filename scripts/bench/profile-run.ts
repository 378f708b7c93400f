/**
 * After the measured runs: a second Tollgate on its own workerd with the inspector on (so the
 * measured runs never paid for it), profiled under open-loop load at half its capacity, JSON then
 * SSE. Writes the .cpuprofile files beside the results; returns the top modules and functions.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { WORKER_BUNDLE } from "../build-worker";
import { PROFILE_MS, REQUEST_TIMEOUT_MS, requestBody, WORKLOADS } from "./config";
import type { LoadGenerator } from "./loadgen";
import { type CpuProfile, InspectorSession, type ProfileSummary, summarizeProfile } from "./profile";
import { RESULTS_DIR } from "./report";
import { ROOT, startOnWorkerd } from "./targets";

export interface ProfileResult {
  workload: string;
  rate: number;
  calls: number;
  file: string;
  summary: ProfileSummary;
}

export async function profileTollgate(p: {
  vars: Record<string, string>;
  compat: { compatibilityDate: string; compatibilityFlags: string[] };
  cpu?: string;
  gen: LoadGenerator;
  headers: Record<string, string>;
  capacity: (workload: string) => number | undefined;
}): Promise<ProfileResult[]> {
  const worker = await startOnWorkerd({
    name: "tollgate",
    scriptPath: WORKER_BUNDLE,
    ...p.compat,
    bindings: p.vars,
    cpu: p.cpu,
    inspector: true,
  });
  const out: ProfileResult[] = [];
  try {
    const session = await InspectorSession.connect(worker.inspectorPort!, "tollgate");
    try {
      await session.send("Profiler.enable");
      await session.send("Profiler.setSamplingInterval", { interval: 100 });
      await mkdir(path.join(RESULTS_DIR, "profiles"), { recursive: true });
      for (const w of WORKLOADS.slice(0, 2)) {
        const job = {
          url: `${worker.origin}/proxy/openai/chat/completions`,
          headers: { ...p.headers, "x-tollgate-workflow": `profile-${w.id}` },
          bodies: Array.from({ length: 8 }, (_, i) => requestBody(w, i)),
          stream: w.stream,
          timeoutMs: REQUEST_TIMEOUT_MS,
        };
        // Warm the fresh isolate (JIT, caches) before sampling.
        await p.gen.run({ ...job, mode: "closed", concurrency: 4, durationMs: 800 });
        const rate = Math.max(20, Math.round((p.capacity(w.id) ?? 200) * 0.5));
        await session.send("Profiler.start");
        const r = await p.gen.run({ ...job, mode: "open", rate, durationMs: PROFILE_MS });
        await new Promise((res) => setTimeout(res, 300)); // waitUntil work of the last calls
        const { profile } = await session.send<{ profile: CpuProfile }>("Profiler.stop");
        const stamp = new Date().toISOString().replace(/[:.]/g, "-");
        const file = path.join(RESULTS_DIR, "profiles", `${stamp}-tollgate-${w.id}.cpuprofile`);
        await writeFile(file, JSON.stringify(profile));
        out.push({
          workload: w.id,
          rate,
          calls: r.ok,
          file: path.relative(ROOT, file),
          summary: summarizeProfile(profile, WORKER_BUNDLE),
        });
      }
    } finally {
      session.close();
    }
  } finally {
    await worker.stop();
  }
  return out;
}
