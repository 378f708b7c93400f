/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/): the caller's `traceparent` makes the
 * gateway's span a child of the caller's, in the caller's trace. The hot path only keeps the raw
 * header strings (src/proxy/attribute.ts); they are parsed here, after the response, and only when
 * a span is exported.
 *
 *   traceparent: 00-<32 hex trace-id>-<16 hex parent-id>-<2 hex flags>
 *
 * An invalid header (all-zero ids, wrong lengths, version ff) is ignored: the span starts a trace
 * of its own, as the spec asks. A caller that marked its trace unsampled (flags bit 0 clear) gets
 * no span: the parent's sampling decision stands, as with OpenTelemetry's parent-based sampler.
 */

export interface TraceContext {
  traceId: string;
  /** The caller's span: our span's parent. */
  parentSpanId: string;
  sampled: boolean;
  traceState: string | null;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

export function parseTraceparent(traceparent: string | null, tracestate: string | null = null): TraceContext | null {
  if (!traceparent) return null;
  const m = TRACEPARENT.exec(traceparent.trim().toLowerCase());
  if (!m) return null;
  const [, version, traceId, parentSpanId, flags, rest] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version 00 has exactly four fields; a later version may add more after a dash.
  if (version === "ff" || (version === "00" && rest)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return null;
  return {
    traceId,
    parentSpanId,
    sampled: (Number.parseInt(flags, 16) & 1) === 1,
    traceState: tracestate?.trim() ? tracestate.trim().slice(0, 512) : null,
  };
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += HEX[x];
  return s;
}

const nonZero = (s: string) => !/^0+$/.test(s);

/** A span id, and a trace id when the span starts a trace: one call for the random bytes. */
export function newIds(withTrace: boolean): { traceId: string; spanId: string } {
  const b = crypto.getRandomValues(new Uint8Array(withTrace ? 24 : 8));
  const spanId = hex(b.subarray(0, 8));
  const traceId = withTrace ? hex(b.subarray(8)) : "";
  // All zeros is the one invalid id; 2^-64 odds, but cheap to rule out.
  if (!nonZero(spanId) || (withTrace && !nonZero(traceId))) return newIds(withTrace);
  return { traceId, spanId };
}

export const newTraceId = () => newIds(true).traceId;
export const newSpanId = () => newIds(false).spanId;
