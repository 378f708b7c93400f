/**
 * Steps 5–6: the provider's bytes go to the client as they arrive, unchanged (except the usage-only
 * chunk we asked for ourselves), and the same bytes are read for usage. Two ways, by body:
 *
 *   - a JSON body of known, modest length: read whole in one native call (`arrayBuffer()`), metered,
 *     and sent as one buffer — no JavaScript per chunk at all (the client waits for the last byte
 *     of a JSON answer anyway);
 *   - anything else (SSE above all): ONE reader loop over the upstream body. Each chunk is read
 *     once, handed to the meter, passed through the usage-chunk stripper when we injected
 *     include_usage, and written into an IdentityTransformStream whose readable side is the
 *     client's body (workerd pumps it natively). That is one read and one write per chunk, where a
 *     tee plus a JS TransformStream crossed into JavaScript three or four times. The meter only
 *     keeps the chunk (src/wire/lazy.ts reads the stream once, at its end).
 *
 * A client that hangs up only stops the writes: the loop keeps reading the upstream to its end
 * (bounded in bytes and time), so the call is still metered with the provider's usage.
 */

import { ByteBuffer } from "../lib/bytes";
import { nowMs } from "../lib/clock";
import type { Usage, UsageSource } from "../usage";
import type { UsageChunkStripper } from "../wire";

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
  /** The client went away before the body's end (its copy stopped; the provider's was read on); known on the pump path only. */
  clientGone?: boolean;
}

/**
 * Reads of upstream bodies, per path, since the isolate started: what the benchmark reads through
 * the inspector (globalThis.__tollgateMeterStats) to report meter reads per call.
 */
export const meterStats = { bodies: 0, reads: 0 };
(globalThis as { __tollgateMeterStats?: typeof meterStats }).__tollgateMeterStats = meterStats;

export const METER_MAX_BYTES = 64 * 1024 * 1024;
export const METER_MAX_MS = 15 * 60 * 1000;
/** JSON bodies up to this size (declared by content-length) are read whole. */
export const WHOLE_BODY_MAX_BYTES = 1024 * 1024;

/**
 * Bytes the pipe to the client may hold before a write waits: writes are not awaited one by one
 * (each await is a trip through the event loop per chunk), only when the client falls this far behind.
 */
const CLIENT_BUFFER_BYTES = 256 * 1024;

/** The writable half is native in workerd; Node (unit tests) has only the JS TransformStream. */
type PipePair = { readable: ReadableStream<Uint8Array>; writable: WritableStream<Uint8Array> };
const nativePipe = (): PipePair => {
  const Identity = (globalThis as { IdentityTransformStream?: new (strategy?: { highWaterMark?: number }) => PipePair })
    .IdentityTransformStream;
  return Identity
    ? new Identity({ highWaterMark: CLIENT_BUFFER_BYTES })
    : new TransformStream<Uint8Array, Uint8Array>(undefined, {
        highWaterMark: CLIENT_BUFFER_BYTES,
        size: (c) => c.byteLength,
      });
};

/** Whether the body can be read whole: JSON with a declared length within WHOLE_BODY_MAX_BYTES. */
export function readWhole(headers: Headers, streamed: boolean): boolean {
  if (streamed) return false;
  const length = Number(headers.get("content-length") ?? "NaN");
  return Number.isFinite(length) && length >= 0 && length <= WHOLE_BODY_MAX_BYTES;
}

/** The whole-body path: the buffer to send and the tally, together. */
export async function tallyWhole(
  res: Response,
  meter: Meter,
  startedAt: number,
): Promise<{ body: ArrayBuffer | null; tally: TallyResult }> {
  let body: ArrayBuffer | null = null;
  let ttftMs: number | null = null;
  meterStats.bodies++;
  meterStats.reads++;
  try {
    body = await res.arrayBuffer();
    ttftMs = nowMs() - startedAt;
    meter.push(new Uint8Array(body));
  } catch {
    // Cut off mid-body: nothing to meter, the client gets what the runtime makes of it.
  }
  return { body, tally: result(meter, startedAt, ttftMs, body?.byteLength ?? 0, body !== null) };
}

/**
 * A copy of the bytes the client gets (a routed call's response cache keeps it), up to its max
 * bytes; past that it gives up (overflow) and keeps nothing. A copy, not the reads' views
 * (src/lib/bytes.ts says why).
 */
export type Capture = ByteBuffer;

export const newCapture = (max: number): Capture => new ByteBuffer(max);

export interface StreamOptions {
  startedAt: number;
  stripper?: UsageChunkStripper;
  /**
   * Bytes written after the upstream body ended, before the client's body closes, from the tally
   * (the opt-in cost comment line, src/proxy/respond.ts); null writes nothing.
   */
  trailer?: (tally: TallyResult) => Uint8Array | null;
  capture?: Capture;
}

/**
 * The streaming path: the client's body now, the tally when the upstream body has ended.
 *
 * Without a stripper (the client's bytes are the provider's, untouched) the client gets one branch
 * of a native tee — no JavaScript per chunk on its way — and the meter reads the other branch
 * rarely: a read, then a pause of METER_READ_PAUSE_MS, so what arrived meanwhile comes in one
 * large read (the tee queues it). With a stripper every chunk must pass through JavaScript on its
 * way to the client anyway, so one loop reads, meters, strips and writes it; so does a stream
 * that gets a trailer (it must be written after the upstream's last byte, into the same body).
 */
export function tallyStream(
  body: ReadableStream<Uint8Array>,
  meter: Meter,
  opts: StreamOptions,
): { clientBody: ReadableStream<Uint8Array>; done: Promise<TallyResult> } {
  if (!opts.stripper && !opts.trailer) {
    const [toClient, toMeter] = body.tee();
    return { clientBody: toClient, done: readRarely(toMeter, meter, opts.startedAt, opts.capture) };
  }
  const pipe = nativePipe();
  return { clientBody: pipe.readable, done: pump(body, pipe.writable.getWriter(), meter, opts) };
}

/**
 * Pause between two reads of the meter's tee branch (it is not on the client's path). The record's
 * latency of such a stream can be late by up to this much: its end is seen at the next read.
 */
export const METER_READ_PAUSE_MS = 10;
/** Room for what arrives during a pause; the meter copies what it keeps (src/wire/lazy.ts). */
const METER_READ_BYTES = 64 * 1024;

async function readRarely(
  body: ReadableStream<Uint8Array>,
  meter: Meter,
  startedAt: number,
  capture?: Capture,
): Promise<TallyResult> {
  let reader: ReadableStreamBYOBReader | ReadableStreamDefaultReader<Uint8Array>;
  let byob = true;
  try {
    reader = body.getReader({ mode: "byob" });
  } catch {
    // Not a byte stream (Node's fetch in unit tests may hand one): chunk by chunk.
    reader = body.getReader();
    byob = false;
  }
  meterStats.bodies++;
  // One buffer for every read (a BYOB read hands it back, transferred, in `value`).
  let buffer = new Uint8Array(METER_READ_BYTES);
  let bytes = 0;
  let ttftMs: number | null = null;
  let ended = false;
  const deadline = startedAt + METER_MAX_MS;
  try {
    for (;;) {
      meterStats.reads++;
      const { done, value } = byob
        ? await (reader as ReadableStreamBYOBReader).read(buffer)
        : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
      if (done) {
        ended = true;
        break;
      }
      if (!value) continue;
      if (ttftMs === null) ttftMs = nowMs() - startedAt;
      bytes += value.byteLength;
      if (bytes > METER_MAX_BYTES || nowMs() > deadline) break;
      // The meter and the capture keep copies, so the next read may reuse this buffer.
      meter.push(value);
      capture?.append(value);
      if (byob) buffer = new Uint8Array(value.buffer as ArrayBuffer);
      await new Promise((r) => setTimeout(r, METER_READ_PAUSE_MS));
    }
  } catch {
    // The upstream broke off mid-body: what was read so far still counts (estimated below).
  } finally {
    if (!ended) reader.cancel().catch(() => {});
  }
  return result(meter, startedAt, ttftMs, bytes, ended);
}

async function pump(
  body: ReadableStream<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  meter: Meter,
  opts: StreamOptions,
): Promise<TallyResult> {
  const reader = body.getReader();
  meterStats.bodies++;
  let clientGone = false;
  const gone = () => {
    clientGone = true;
  };
  // Synchronous on the way of every chunk (no promise of its own): writes are not awaited; only a
  // full client buffer makes the loop wait (below), as a pipe's backpressure would.
  const send = (piece: Uint8Array) => {
    if (clientGone) return;
    opts.capture?.append(piece);
    writer.write(piece).catch(gone);
  };
  let bytes = 0;
  let ttftMs: number | null = null;
  let ended = false;
  const deadline = opts.startedAt + METER_MAX_MS;
  const stripper = opts.stripper;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      meterStats.reads++;
      if (done) {
        ended = true;
        break;
      }
      if (ttftMs === null) ttftMs = nowMs() - opts.startedAt;
      bytes += value.byteLength;
      if (bytes > METER_MAX_BYTES || nowMs() > deadline) break;
      meter.push(value);
      if (stripper) for (const piece of stripper.push(value)) send(piece);
      else send(value);
      // A client that went away rejects the wait (and the writes): the upstream is read on.
      if (!clientGone && writer.desiredSize !== null && writer.desiredSize <= 0) await writer.ready.catch(gone);
    }
  } catch {
    // The upstream broke off mid-body: what was read so far still counts (estimated below).
  } finally {
    if (!ended) reader.cancel().catch(() => {});
  }
  if (stripper) for (const piece of stripper.flush()) send(piece);
  const tally = result(meter, opts.startedAt, ttftMs, bytes, ended);
  const trailer = opts.trailer?.(tally);
  // Not kept in the capture: a cached copy must not carry this call's cost.
  if (trailer && !clientGone) writer.write(trailer).catch(gone);
  // workerd ends a broken upstream body cleanly for the client too: close, not abort.
  if (!clientGone) await writer.close().catch(() => {});
  // Known only now: a client that went away during the last writes or the close.
  tally.clientGone = clientGone;
  return tally;
}

function result(meter: Meter, startedAt: number, ttftMs: number | null, bytes: number, ended: boolean): TallyResult {
  const found = meter.finish();
  const latencyMs = nowMs() - startedAt;
  const estimated = found.usage ? null : (found.estimatedUsage ?? null);
  return {
    usage: found.usage ?? estimated,
    usageSource: found.usage ? "reported" : estimated ? "estimated" : "none",
    modelAnswered: found.model,
    ttftMs,
    latencyMs,
    bytes,
    complete: ended && found.complete,
  };
}
