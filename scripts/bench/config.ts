/**
 * What the benchmark runs: workloads, load levels and time bounds. BENCH_QUICK=1 is the ~2-minute
 * smoke version (one load level, shorter runs); the full run stays under 10 minutes on 2 cores.
 */
import { MODEL } from "./upstream";

export const QUICK = process.env.BENCH_QUICK === "1";

export interface Workload {
  id: string;
  label: string;
  stream: boolean;
  /** Upstream wait before the status line, ms. */
  delayMs: number;
  chunks: number;
  /** Closed-loop connections for the saturation run (enough to keep a 50 ms upstream busy). */
  saturationConcurrency: number;
  /** Measure capacity on this workload itself; otherwise reuse `capacityFrom`'s. */
  capacityFrom?: string;
  /** SSE: ms between events (0: all at once). */
  paceMs?: number;
}

/** The paced stream of the memory phase: a chunk every 20 ms for 10 s, as a model generates. */
export const PACED: Workload = {
  id: "sse-paced",
  label: "chat SSE, a chunk every 20 ms for 10 s",
  stream: true,
  delayMs: 0,
  chunks: 500,
  saturationConcurrency: 200,
  paceMs: 20,
};

export const WORKLOADS: Workload[] = [
  {
    id: "json",
    label: "chat JSON, upstream at once",
    stream: false,
    delayMs: 0,
    chunks: 40,
    saturationConcurrency: 48,
  },
  {
    id: "sse",
    label: "chat SSE 40 chunks, upstream at once",
    stream: true,
    delayMs: 0,
    chunks: 40,
    saturationConcurrency: 48,
  },
  {
    id: "json-50ms",
    label: "chat JSON, upstream after 50 ms",
    stream: false,
    delayMs: 50,
    chunks: 40,
    saturationConcurrency: 160,
    ...(QUICK ? { capacityFrom: "json" } : {}),
  },
  {
    id: "sse-50ms",
    label: "chat SSE 40 chunks, upstream after 50 ms",
    stream: true,
    delayMs: 50,
    chunks: 40,
    saturationConcurrency: 160,
    ...(QUICK ? { capacityFrom: "sse" } : {}),
  },
];

/** Open-loop levels as fractions of each target's own measured capacity (QUICK: none). */
export const LEVELS = QUICK ? [] : [0.25, 0.5, 0.8];
/**
 * Plus one open-loop run per workload where every target gets the same rate: this fraction of
 * the smallest Worker capacity. Added latency is read there (same offered load, light for all).
 */
export const COMMON_FRACTION = 0.5;
export const SATURATION_MS = QUICK ? 2500 : 3500;
export const LEVEL_MS = QUICK ? 2500 : 3500;
export const WARMUP_MS = QUICK ? 800 : 1500;
export const REQUEST_TIMEOUT_MS = 10_000;
/** The whole run stops starting new measurements past this (the report says what was cut). */
export const DEADLINE_MS = QUICK ? 150_000 : 540_000;
/** Sequential calls per workload in the subrequest probe. */
export const PROBE_CALLS = QUICK ? 6 : 10;
/** Round-trip probe: batches of sequential calls (workerd's clock is 1 ms-coarse, so batches are timed). */
export const RTT_BATCHES = QUICK ? 20 : 50;
export const RTT_BATCH_SIZE = 10;
export const PROFILE = process.env.BENCH_PROFILE !== "0";
export const PROFILE_MS = QUICK ? 1500 : 3000;

/** The request body: a realistic small chat call; the workload knobs ride in the message text. */
export function requestBody(w: Workload, seq = 0): string {
  return JSON.stringify({
    model: MODEL,
    messages: [
      { role: "system", content: "You are a helpful assistant. Answer briefly." },
      {
        role: "user",
        content: `bench call ${seq}: delay=${w.delayMs} chunks=${w.chunks}${w.paceMs ? ` pace=${w.paceMs}` : ""}. Say something.`,
      },
    ],
    max_tokens: 256,
    ...(w.stream ? { stream: true } : {}),
  });
}

/** The local stack's Postgres authenticates with a cleartext password, as Neon's proxy asks of the driver. */
export const PG_AUTH = "password";
