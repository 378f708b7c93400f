/**
 * Step 2: x-tollgate-* headers → who and what the call is for. All optional; all removed before
 * forwarding (so is every other x-tollgate-* header, and the aliases X-Feature-Name / X-Tenant-ID).
 */
import { GatewayError } from "../lib/errors";

export interface Attribution {
  feature: string | null;
  tenant: string | null;
  user: string | null;
  /** x-tollgate-env, else the key's environment, else "production". */
  environment: string;
  workflow: string | null;
  tags: Record<string, string>;
  /** The client's own id for the call (x-tollgate-request-id), if it sent one. */
  clientRequestId: string | null;
  /** W3C trace context, raw (forwarded untouched; parsed only if spans are exported: src/telemetry/). */
  traceparent: string | null;
  tracestate: string | null;
}

const MAX_VALUE = 256;
const MAX_TAGS = 20;
// Printable ASCII without separators that would make ids ambiguous in keys and CSV.
const VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

function read(headers: Headers, name: string, ...aliases: string[]): string | null {
  for (const h of [name, ...aliases]) {
    const v = headers.get(h)?.trim();
    if (v) {
      if (v.length > MAX_VALUE || !VALUE.test(v)) {
        throw new GatewayError("invalid_request", `${h} must be 1–${MAX_VALUE} printable ASCII characters.`);
      }
      return v;
    }
  }
  return null;
}

function parseTags(raw: string | null): Record<string, string> {
  const tags: Record<string, string> = {};
  if (!raw) return tags;
  for (const pair of raw.split(",")) {
    if (!pair.trim()) continue;
    const eq = pair.indexOf("=");
    const k = (eq < 0 ? pair : pair.slice(0, eq)).trim();
    const v = eq < 0 ? "" : pair.slice(eq + 1).trim();
    if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(k) || v === "") {
      throw new GatewayError("invalid_request", `x-tollgate-tags must be k=v,k2=v2 (bad entry "${pair.trim()}").`);
    }
    tags[k] = v;
  }
  if (Object.keys(tags).length > MAX_TAGS) throw new GatewayError("invalid_request", `at most ${MAX_TAGS} tags`);
  return tags;
}

export function readAttribution(headers: Headers, keyEnvironment: string | null): Attribution {
  return {
    feature: read(headers, "x-tollgate-feature", "x-feature-name"),
    tenant: read(headers, "x-tollgate-tenant", "x-tenant-id"),
    user: read(headers, "x-tollgate-user"),
    environment: read(headers, "x-tollgate-env") ?? keyEnvironment ?? "production",
    workflow: read(headers, "x-tollgate-workflow"),
    tags: parseTags(read(headers, "x-tollgate-tags")),
    clientRequestId: read(headers, "x-tollgate-request-id"),
    traceparent: headers.get("traceparent"),
    tracestate: headers.get("tracestate"),
  };
}

/** True for every header that is ours and must not reach the provider. */
export function isTollgateHeader(name: string): boolean {
  const n = name.toLowerCase();
  return n.startsWith("x-tollgate-") || n === "x-feature-name" || n === "x-tenant-id";
}
