/**
 * A local OpenTelemetry collector for tests: it accepts OTLP/HTTP JSON on POST /v1/traces (and any
 * other path ending in /traces), decodes the ExportTraceServiceRequest the way a collector does and
 * keeps every span with its attributes as plain values. A malformed request is refused with 400,
 * naming what is wrong, so a test fails on an exporter that speaks almost-OTLP:
 * - ids: traceId 32 hex, spanId 16 hex, parentSpanId 16 hex when present (the JSON mapping's hex);
 * - times: startTimeUnixNano / endTimeUnixNano decimal integer strings (64-bit), end ≥ start;
 * - kind an integer 0–5, status.code 0–2;
 * - attributes: {key, value: one of stringValue, boolValue, intValue (decimal string), doubleValue,
 *   arrayValue}, no key twice.
 * Any other content type gets 415 (the protobuf encoding is not decoded here).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Value = string | number | boolean | bigint | Value[];

export interface ReceivedSpan {
  resource: Record<string, Value>;
  scope: { name?: string; version?: string };
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceState: string | null;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, Value>;
  status: { code: number; message?: string };
}

export interface ReceivedRequest {
  path: string;
  headers: Record<string, string>;
  spans: number;
  status: number;
  error?: string;
}

export interface CollectorDouble {
  url: string;
  spans: ReceivedSpan[];
  requests: ReceivedRequest[];
  /** The next answers for export requests (then 200). */
  script(statuses: number[]): void;
  close(): Promise<void>;
}

class Invalid extends Error {}

function check(cond: unknown, what: string): asserts cond {
  if (!cond) throw new Invalid(what);
}

function decodeValue(v: unknown, where: string): Value {
  check(v && typeof v === "object", `${where}: value must be an object`);
  const o = v as Record<string, unknown>;
  const kinds = Object.keys(o);
  check(kinds.length === 1, `${where}: exactly one of stringValue/boolValue/intValue/doubleValue/arrayValue`);
  if ("stringValue" in o) return String(o.stringValue);
  if ("boolValue" in o) {
    check(typeof o.boolValue === "boolean", `${where}: boolValue must be a boolean`);
    return o.boolValue;
  }
  if ("intValue" in o) {
    const raw = o.intValue;
    check(
      (typeof raw === "string" && /^-?\d+$/.test(raw)) || Number.isSafeInteger(raw),
      `${where}: intValue must be an integer`,
    );
    const n = BigInt(raw as string | number);
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
  }
  if ("doubleValue" in o) {
    check(typeof o.doubleValue === "number", `${where}: doubleValue must be a number`);
    return o.doubleValue;
  }
  if ("arrayValue" in o) {
    const values = (o.arrayValue as { values?: unknown[] })?.values ?? [];
    return values.map((x, i) => decodeValue(x, `${where}[${i}]`));
  }
  throw new Invalid(`${where}: unknown value kind ${kinds[0]}`);
}

function decodeAttributes(list: unknown, where: string): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const [i, kv] of ((list as unknown[]) ?? []).entries()) {
    const { key, value } = (kv ?? {}) as { key?: unknown; value?: unknown };
    check(typeof key === "string" && key !== "", `${where}[${i}]: key must be a string`);
    check(!(key in out), `${where}: attribute ${key} twice`);
    out[key] = decodeValue(value, `${where}.${key}`);
  }
  return out;
}

const nanos = (v: unknown, where: string): bigint => {
  check(typeof v === "string" && /^\d+$/.test(v), `${where} must be a decimal string of nanoseconds`);
  return BigInt(v);
};

export function decodeExportRequest(body: unknown): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  check(body && typeof body === "object", "body must be an ExportTraceServiceRequest object");
  const resourceSpans = (body as { resourceSpans?: unknown }).resourceSpans;
  check(Array.isArray(resourceSpans), "resourceSpans must be an array");
  for (const [r, rs] of resourceSpans.entries()) {
    const resource = decodeAttributes(
      (rs as { resource?: { attributes?: unknown } }).resource?.attributes,
      `resource${r}`,
    );
    for (const [s, ss] of (((rs as { scopeSpans?: unknown[] }).scopeSpans ?? []) as unknown[]).entries()) {
      const scope = ((ss as { scope?: unknown }).scope ?? {}) as { name?: string; version?: string };
      for (const [n, raw] of (((ss as { spans?: unknown[] }).spans ?? []) as unknown[]).entries()) {
        const where = `span ${r}.${s}.${n}`;
        const sp = raw as Record<string, unknown>;
        check(typeof sp.traceId === "string" && /^[0-9a-fA-F]{32}$/.test(sp.traceId), `${where}: traceId`);
        check(typeof sp.spanId === "string" && /^[0-9a-fA-F]{16}$/.test(sp.spanId), `${where}: spanId`);
        check(
          sp.parentSpanId === undefined || sp.parentSpanId === "" || /^[0-9a-fA-F]{16}$/.test(String(sp.parentSpanId)),
          `${where}: parentSpanId`,
        );
        check(typeof sp.name === "string" && sp.name !== "", `${where}: name`);
        check(Number.isInteger(sp.kind) && (sp.kind as number) >= 0 && (sp.kind as number) <= 5, `${where}: kind`);
        const startNs = nanos(sp.startTimeUnixNano, `${where}: startTimeUnixNano`);
        const endNs = nanos(sp.endTimeUnixNano, `${where}: endTimeUnixNano`);
        check(endNs >= startNs, `${where}: ends before it starts`);
        const status = (sp.status ?? { code: 0 }) as { code: number; message?: string };
        check(Number.isInteger(status.code) && status.code >= 0 && status.code <= 2, `${where}: status.code`);
        spans.push({
          resource,
          scope,
          traceId: sp.traceId.toLowerCase(),
          spanId: sp.spanId.toLowerCase(),
          parentSpanId: sp.parentSpanId ? String(sp.parentSpanId).toLowerCase() : null,
          traceState: typeof sp.traceState === "string" && sp.traceState ? sp.traceState : null,
          name: sp.name,
          kind: sp.kind as number,
          startNs,
          endNs,
          attributes: decodeAttributes(sp.attributes, `${where}.attributes`),
          status,
        });
      }
    }
  }
  return spans;
}

export async function startCollectorDouble(opts: { port?: number } = {}): Promise<CollectorDouble> {
  const spans: ReceivedSpan[] = [];
  const requests: ReceivedRequest[] = [];
  const scripted: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const path = req.url ?? "/";
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(", ") : String(v);
      const answer = (status: number, body: unknown, count = 0, error?: string) => {
        requests.push({ path, headers, spans: count, status, ...(error ? { error } : {}) });
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (req.method !== "POST" || !/\/traces$/.test(path.split("?")[0]!)) return answer(404, { error: "not found" });
      if (!(headers["content-type"] ?? "").startsWith("application/json")) {
        return answer(415, { error: "only OTLP/HTTP JSON is decoded here" });
      }
      let decoded: ReceivedSpan[];
      try {
        decoded = decodeExportRequest(JSON.parse(Buffer.concat(chunks).toString("utf8")));
      } catch (err) {
        return answer(400, { error: String((err as Error).message) }, 0, String((err as Error).message));
      }
      const status = scripted.length ? scripted.shift()! : 200;
      if (status === 200) spans.push(...decoded);
      // ExportTraceServiceResponse: an empty object is a full success.
      answer(status, status === 200 ? {} : { error: "scripted" }, decoded.length);
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    requests,
    script: (statuses) => scripted.push(...statuses),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
