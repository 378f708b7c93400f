/**
 * Batched OTLP/HTTP export, from waitUntil only. Spans of one destination collect in an isolate's
 * memory; the call whose span finds no flush scheduled becomes the flusher: it waits the batch
 * delay (OTEL_BSP_SCHEDULE_DELAY, default 1 s) inside its own waitUntil, then sends everything
 * queued, MAX_BATCH spans per request. Other calls only append and return, so at most one export
 * request per destination per delay per isolate, whatever the traffic. A full batch is sent at
 * once by the call that filled it.
 *
 * Best effort, bounded: each request has a timeout and one retry on 429/5xx or a network error;
 * a batch that still fails is dropped with a log line (telemetry never blocks or fails a call),
 * and a queue never holds more than MAX_QUEUED spans (the oldest go first).
 *
 * Only plain values cross requests here (no promise or stream of one request is awaited by
 * another, which Workers forbid): the queue is an array; the fetch belongs to the flusher.
 */
import { decryptSecret } from "../lib/crypto";
import type { OtlpDestination } from "./destination";
import { exportTraceRequest } from "./otlp-json";
import type { Span } from "./span";

export const DEFAULT_DELAY_MS = 1000;
export const MAX_BATCH = 512;
export const MAX_QUEUED = 4096;
export const EXPORT_TIMEOUT_MS = 5000;
const RETRY_BACKOFF_MS = 250;

export interface ExportOptions {
  /** Opens an account destination's sealed headers. */
  sealingSecret: string;
  delayMs?: number;
  fetch?: typeof fetch;
}

interface Queue {
  destination: OtlpDestination;
  spans: Span[];
  scheduled: boolean;
}

const queues = new Map<string, Queue>();
const openedHeaders = new Map<string, Record<string, string>>();

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function headersOf(d: OtlpDestination, secret: string): Promise<Record<string, string>> {
  if (!d.sealedHeaders) return d.headers;
  let h = openedHeaders.get(d.sealedHeaders);
  if (!h) {
    h = JSON.parse(await decryptSecret(d.sealedHeaders, secret)) as Record<string, string>;
    if (openedHeaders.size >= 1000) openedHeaders.clear();
    openedHeaders.set(d.sealedHeaders, h);
  }
  return { ...d.headers, ...h };
}

async function post(d: OtlpDestination, body: string, opts: ExportOptions): Promise<void> {
  const doFetch = opts.fetch ?? fetch;
  const headers = { ...(await headersOf(d, opts.sealingSecret)), "content-type": "application/json" };
  for (let attempt = 1; ; attempt++) {
    let retry: boolean;
    let why: string;
    try {
      const res = await doFetch(d.url, {
        method: "POST",
        headers,
        body,
        signal: AbortSignal.timeout(EXPORT_TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => {});
      if (res.ok) return;
      retry = res.status === 429 || res.status >= 500;
      why = `HTTP ${res.status}`;
    } catch (err) {
      retry = true;
      why = String((err as Error)?.message ?? err);
    }
    if (!retry || attempt >= 2) throw new Error(`OTLP export to ${d.url} failed: ${why}`);
    await sleep(RETRY_BACKOFF_MS);
  }
}

async function drain(q: Queue, opts: ExportOptions): Promise<void> {
  while (q.spans.length > 0) {
    const batch = q.spans.splice(0, MAX_BATCH);
    await post(q.destination, exportTraceRequest(q.destination.resource, batch), opts).catch((err) =>
      console.error(`${String(err)}; ${batch.length} spans dropped`),
    );
  }
}

/** Queues the span for the destination; resolves once this call's part of the export is done. */
export async function exportSpan(destination: OtlpDestination, span: Span, opts: ExportOptions): Promise<void> {
  let q = queues.get(destination.key);
  if (!q) {
    q = { destination, spans: [], scheduled: false };
    queues.set(destination.key, q);
  }
  q.spans.push(span);
  if (q.spans.length > MAX_QUEUED) q.spans.splice(0, q.spans.length - MAX_QUEUED);
  if (q.spans.length >= MAX_BATCH) {
    const batch = q.spans.splice(0, MAX_BATCH);
    await post(destination, exportTraceRequest(destination.resource, batch), opts).catch((err) =>
      console.error(`${String(err)}; ${batch.length} spans dropped`),
    );
    return;
  }
  if (q.scheduled) return;
  q.scheduled = true;
  try {
    await sleep(opts.delayMs ?? DEFAULT_DELAY_MS);
  } finally {
    q.scheduled = false;
  }
  await drain(q, opts);
}
