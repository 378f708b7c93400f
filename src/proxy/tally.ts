/**
 * Steps 5–6: the provider's bytes go to the client as they arrive, unchanged (except the usage-only
 * chunk we asked for ourselves); a tee'd copy is read for usage inside waitUntil. A TransformStream
 * alone would lose the usage when the client hangs up (its flush never runs); the tee keeps reading
 * the upstream to its end, bounded in bytes and time.
 */

import { nowMs } from "../lib/clock";
import type { Usage, UsageSource } from "../usage";

export interface Meter {
  push(chunk: Uint8Array): void;
  finish(): { usage: Usage | null; model: string | null; complete: boolean; estimatedUsage?: Usage | null };
}

export interface TallyResult {
  usage: Usage | null;
  usageSource: UsageSource;
  modelAnswered: string | null;
  /** ms from the start of the call to the first body byte from upstream. */
  ttftMs: number | null;
  /** ms from the start of the call to the last body byte. */
  latencyMs: number;
  bytes: number;
  /** The upstream body ended normally (not cut off, not over the bounds). */
  complete: boolean;
}

export const METER_MAX_BYTES = 64 * 1024 * 1024;
export const METER_MAX_MS = 15 * 60 * 1000;

export function tallyResponse(
  body: ReadableStream<Uint8Array>,
  meter: Meter,
  opts: { startedAt: number; clientTransform?: TransformStream<Uint8Array, Uint8Array> },
): { clientBody: ReadableStream<Uint8Array>; done: Promise<TallyResult> } {
  const [toClient, toMeter] = body.tee();
  const clientBody = opts.clientTransform ? toClient.pipeThrough(opts.clientTransform) : toClient;
  return { clientBody, done: readForUsage(toMeter, meter, opts.startedAt) };
}

async function readForUsage(stream: ReadableStream<Uint8Array>, meter: Meter, startedAt: number): Promise<TallyResult> {
  const reader = stream.getReader();
  let bytes = 0;
  let ttftMs: number | null = null;
  let ended = false;
  const deadline = startedAt + METER_MAX_MS;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) {
        ended = true;
        break;
      }
      if (ttftMs === null) ttftMs = nowMs() - startedAt;
      bytes += value.byteLength;
      if (bytes > METER_MAX_BYTES || nowMs() > deadline) break;
      meter.push(value);
    }
  } catch {
    // The upstream broke off mid-body: what was read so far still counts (estimated below).
  } finally {
    if (!ended) reader.cancel().catch(() => {});
  }
  const result = meter.finish();
  const latencyMs = nowMs() - startedAt;
  if (result.usage) {
    return {
      usage: result.usage,
      usageSource: "reported",
      modelAnswered: result.model,
      ttftMs,
      latencyMs,
      bytes,
      complete: ended && result.complete,
    };
  }
  const estimated = result.estimatedUsage ?? null;
  return {
    usage: estimated,
    usageSource: estimated ? "estimated" : "none",
    modelAnswered: result.model,
    ttftMs,
    latencyMs,
    bytes,
    complete: ended && result.complete,
  };
}
