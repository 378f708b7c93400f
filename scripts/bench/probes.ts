/**
 * Probes that need calls one at a time:
 *  - subrequests per call, split at the moment the upstream received the call: what the gateway
 *    does before forwarding (on the latency path) and after (in waitUntil), per service;
 *  - the Redis round trip before forwarding, timed from inside workerd (the bare Worker's probe
 *    route): the very admit call Tollgate made, replayed, and a PING for the transport alone.
 */
import { readCounts, setTracing, type TraceEvent, trace } from "./counters";
import { type Pct, pct } from "./measure";
import type { BenchUpstream } from "./upstream";

export interface ProbeCall {
  status: number;
  upstashBefore: number;
  upstashAfter: number;
  relayBefore: number;
  relayAfter: number;
  /** The Upstash request bodies sent before forwarding (EVALSHA admit, …), first words only. */
  beforeCommands: string[];
  afterCommands: string[];
}

export interface SubrequestProbe {
  workload: string;
  calls: ProbeCall[];
  /** The first call (cold isolate caches) and the median of the rest. */
  first: ProbeCall | null;
  steady: { upstashBefore: number; upstashAfter: number; relayBefore: number; relayAfter: number } | null;
  pgTransactionsPerCall: number | null;
  /** A captured admit body (Upstash REST JSON) for the round-trip probe. */
  admitBody?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function commandOf(body: string | undefined): string {
  if (!body) return "?";
  try {
    const parsed = JSON.parse(body) as unknown[];
    if (Array.isArray(parsed[0])) return `pipeline[${(parsed as unknown[][]).map((c) => String(c[0])).join(",")}]`;
    const name = String(parsed[0]).toLowerCase();
    return name === "evalsha" || name === "eval" ? `${name} ${String(parsed[1]).slice(0, 8)}` : name;
  } catch {
    return body.slice(0, 20);
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : 0;
};

/** Waits until no subrequest has arrived for `quietMs` (at most `maxMs`). */
async function quiesce(quietMs: number, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  let last = readCounts();
  let stableSince = performance.now();
  while (performance.now() < deadline) {
    await sleep(20);
    const now = readCounts();
    if (now.upstash !== last.upstash || now.relayConnections !== last.relayConnections) {
      last = now;
      stableSince = performance.now();
    } else if (performance.now() - stableSince >= quietMs) return;
  }
}

export async function probeSubrequests(p: {
  workload: string;
  url: string;
  headers: Record<string, string>;
  bodies: string[];
  upstream: BenchUpstream;
  transactions: () => Promise<number>;
  admitSha?: string;
}): Promise<SubrequestProbe> {
  const calls: ProbeCall[] = [];
  let admitBody: string | undefined;
  await quiesce(150, 2000);
  const tx0 = await p.transactions().catch(() => null);
  for (const body of p.bodies) {
    setTracing(true);
    p.upstream.trace(true);
    const t0 = performance.now();
    const res = await fetch(p.url, {
      method: "POST",
      headers: { ...p.headers, "content-type": "application/json" },
      body,
    });
    await res.arrayBuffer();
    await quiesce(150, 3000);
    const events: TraceEvent[] = trace.filter((e) => e.at >= t0);
    const arrival = p.upstream.arrivals[0] ?? Number.POSITIVE_INFINITY;
    setTracing(false);
    p.upstream.trace(false);
    const before = events.filter((e) => e.at < arrival);
    const after = events.filter((e) => e.at >= arrival);
    const upstash = (es: TraceEvent[]) => es.filter((e) => e.service === "upstash" && e.kind === "request");
    const relay = (es: TraceEvent[]) => es.filter((e) => e.service === "relay" && e.kind === "upgrade");
    const admit = upstash(before).find((e) => p.admitSha && e.body?.includes(p.admitSha)) ?? upstash(before).at(-1);
    if (admit?.body && res.status === 200) admitBody = admit.body;
    calls.push({
      status: res.status,
      upstashBefore: upstash(before).length,
      upstashAfter: upstash(after).length,
      relayBefore: relay(before).length,
      relayAfter: relay(after).length,
      beforeCommands: upstash(before).map((e) => commandOf(e.body)),
      afterCommands: upstash(after).map((e) => commandOf(e.body)),
    });
  }
  await sleep(1100);
  const tx1 = await p.transactions().catch(() => null);
  const rest = calls.slice(1);
  return {
    workload: p.workload,
    calls,
    first: calls[0] ?? null,
    steady: rest.length
      ? {
          upstashBefore: median(rest.map((c) => c.upstashBefore)),
          upstashAfter: median(rest.map((c) => c.upstashAfter)),
          relayBefore: median(rest.map((c) => c.relayBefore)),
          relayAfter: median(rest.map((c) => c.relayAfter)),
        }
      : null,
    pgTransactionsPerCall: tx0 === null || tx1 === null ? null : (tx1 - tx0 - 2) / calls.length,
    admitBody,
  };
}

export interface RttProbe {
  /** Distribution of per-batch mean round trips (ms). */
  ping: Pct;
  admit: Pct | null;
  batches: number;
  batchSize: number;
}

/** Round trips to the Upstash endpoint timed inside workerd by the bare Worker's probe route. */
export async function probeRedisRtt(p: {
  bareUrl: string;
  upstashUrl: string;
  token: string;
  admitBody?: string;
  batches: number;
  batchSize: number;
}): Promise<RttProbe> {
  const time = async (body: string) => {
    const res = await fetch(`${p.bareUrl}/__bench/rtt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ url: p.upstashUrl, token: p.token, body, batches: p.batches, size: p.batchSize }),
    });
    if (!res.ok) throw new Error(`rtt probe: ${res.status} ${await res.text()}`);
    const { means } = (await res.json()) as { means: number[] };
    return pct(means);
  };
  const ping = await time('["PING"]');
  const admit = p.admitBody ? await time(p.admitBody) : null;
  return { ping, admit, batches: p.batches, batchSize: p.batchSize };
}
