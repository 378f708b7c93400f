/**
 * Spans as an OTLP/HTTP JSON request body (ExportTraceServiceRequest; the protobuf mapping of
 * opentelemetry-proto in JSON form, as OTLP/HTTP specifies it): trace and span ids as hex strings,
 * enums as integers, 64-bit integers as decimal strings, times in nanoseconds since the epoch.
 */
import type { AttributeValue, Span } from "./span";

/** SpanKind CLIENT: the gateway calling the model provider. */
export const SPAN_KIND_CLIENT = 3;
/** Status codes: UNSET leaves the verdict to the backend; ERROR when the attempt failed. */
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

export const SCOPE = { name: "tollgate", version: "1" };

type AnyValue = { stringValue: string } | { boolValue: boolean } | { intValue: string } | { doubleValue: number };

function anyValue(v: AttributeValue): AnyValue {
  if (typeof v === "string") return { stringValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "bigint") return { intValue: v.toString() };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

const keyValues = (attrs: Record<string, AttributeValue>) =>
  Object.entries(attrs).map(([key, value]) => ({ key, value: anyValue(value) }));

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

export function exportTraceRequest(resource: Record<string, string>, spans: Span[]): string {
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: keyValues(resource) },
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              ...(s.traceState ? { traceState: s.traceState } : {}),
              name: s.name,
              kind: SPAN_KIND_CLIENT,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(Math.max(s.endMs, s.startMs)),
              attributes: keyValues(s.attributes),
              status: s.error ? { code: STATUS_ERROR, message: s.error } : { code: STATUS_UNSET },
            })),
          },
        ],
      },
    ],
  });
}
