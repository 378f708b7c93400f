/**
 * A stream meter that does nothing per chunk but keep it, and reads the stream once, at its end —
 * usually only its head and its tail.
 *
 * Usage sits at the two ends of an SSE stream (docs/wire-formats.md §0): the model and Anthropic's
 * message_start at the head; OpenAI's usage chunk before [DONE], the finish_reason chunk of the
 * compatible providers, the last cumulative usage, Anthropic's last message_delta and message_stop
 * at the tail. So at finish the real meter is fed the head (up to HEAD_BYTES, cut at an event
 * boundary) and the tail (the last TAIL_BYTES, from an event boundary). Every usage rule of the
 * real meters is "the last value wins, field by field" (§1.1), so events in the middle change
 * nothing once the tail's are read. Only when that finds no complete usage (a stream cut off, a
 * terminal event longer than the tail) is the whole stream fed to a fresh meter, exactly as
 * before — the estimate for a cut-off stream needs all its text.
 *
 * The stream is kept as a copy in one buffer (src/lib/bytes.ts ByteBuffer says why: never the
 * reads' own buffers). Bodies above KEEP_MAX_BYTES are not kept: the meter turns eager (fed chunk
 * by chunk) at that point, so memory stays bounded.
 */
import { ByteBuffer } from "../lib/bytes";
import type { StreamMeter, StreamMeterResult } from "./types";

export const HEAD_BYTES = 16 * 1024;
export const TAIL_BYTES = 32 * 1024;
export const KEEP_MAX_BYTES = 4 * 1024 * 1024;

const LF = 10;
const CR = 13;

/** Index just past the first blank line (event boundary) at or after `from`, or -1. */
function boundaryAfter(buf: Uint8Array, from: number): number {
  for (let i = buf.indexOf(LF, from); i !== -1 && i < buf.length; i = buf.indexOf(LF, i + 1)) {
    if (buf[i + 1] === LF) return i + 2;
    if (buf[i + 1] === CR && buf[i + 2] === LF) return i + 3;
  }
  return -1;
}

/** Index just past the last blank line that ends before `end`, or -1. */
function boundaryBefore(buf: Uint8Array, end: number): number {
  for (let i = buf.lastIndexOf(LF, end - 1); i > 0; i = buf.lastIndexOf(LF, i - 1)) {
    if (buf[i - 1] === LF) return i + 1;
    if (buf[i - 1] === CR && buf[i - 2] === LF) return i + 1;
  }
  return -1;
}

export function createLazyMeter(make: () => StreamMeter): StreamMeter {
  const kept = new ByteBuffer();
  let eager: StreamMeter | null = null;

  const all = (): StreamMeterResult => {
    const m = make();
    m.push(kept.view());
    return m.finish();
  };

  return {
    push(chunk) {
      if (eager) return eager.push(chunk);
      if (kept.length + chunk.byteLength > KEEP_MAX_BYTES) {
        eager = make();
        eager.push(kept.view());
        eager.push(chunk);
        kept.clear();
        return;
      }
      kept.append(chunk);
    },
    finish() {
      if (eager) return eager.finish();
      const size = kept.length;
      if (size <= HEAD_BYTES + TAIL_BYTES) return all();
      const body = kept.view();
      const headEnd = boundaryBefore(body, HEAD_BYTES);
      const tailStart = boundaryAfter(body, size - TAIL_BYTES);
      if (headEnd <= 0 || tailStart < 0 || tailStart <= headEnd) return all();
      const m = make();
      m.push(body.subarray(0, headEnd));
      m.push(body.subarray(tailStart));
      const ends = m.finish();
      if (ends.usage && ends.complete) return ends;
      return all();
    },
  };
}
