/**
 * Where spans go. Two kinds of destination, both OTLP/HTTP:
 * - the deployment's, from OpenTelemetry's own variables (validated in src/config.ts):
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the traces URL as is), else OTEL_EXPORTER_OTLP_ENDPOINT
 *   with /v1/traces appended, and OTEL_EXPORTER_OTLP_HEADERS ("k=v,k2=v2", values URL-encoded);
 *   it receives every account's spans;
 * - an account's own (PUT /admin/v1/accounts/{account}/telemetry), kept in the account settings
 *   the hot path already caches (src/account-settings.ts), its headers sealed like provider keys;
 *   it receives that account's spans only.
 */

export interface OtlpDestination {
  /** The OTLP/HTTP traces URL spans are POSTed to. */
  url: string;
  /** Plain headers (the deployment's, from its own variables). */
  headers: Record<string, string>;
  /** An account's headers, sealed at rest (src/lib/crypto.ts); opened when a batch is sent. */
  sealedHeaders?: string;
  /** Resource attributes: service.name, and which account an account destination belongs to. */
  resource: Record<string, string>;
  /** Spans with the same key share export requests. */
  key: string;
}

export const DEFAULT_SERVICE_NAME = "tollgate";

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs, comma-separated, values percent-encoded; null when malformed. */
export function parseOtlpHeaders(raw: string): Record<string, string> | null {
  const headers: Record<string, string> = {};
  for (const pair of raw.split(",")) {
    if (pair.trim() === "") continue;
    const eq = pair.indexOf("=");
    if (eq <= 0) return null;
    const name = pair.slice(0, eq).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return null;
    try {
      headers[name.toLowerCase()] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return null;
    }
  }
  return headers;
}

/**
 * The signal path OTLP/HTTP exporters append to a base endpoint (OpenTelemetry's exporter spec):
 * `https://collector:4318` → `https://collector:4318/v1/traces`.
 */
export function tracesUrl(base: string): string {
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * An account's endpoint as given: a URL with no path is a collector's base (→ /v1/traces), one with
 * a path is the traces URL itself.
 */
export function accountTracesUrl(endpoint: string): string {
  const u = new URL(endpoint);
  return u.pathname === "/" || u.pathname === "" ? tracesUrl(u.origin) : endpoint;
}

export function deploymentDestination(vars: {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  OTEL_EXPORTER_OTLP_HEADERS?: string | undefined;
  OTEL_SERVICE_NAME?: string | undefined;
}): OtlpDestination | null {
  const url =
    vars.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (vars.OTEL_EXPORTER_OTLP_ENDPOINT ? tracesUrl(vars.OTEL_EXPORTER_OTLP_ENDPOINT) : undefined);
  if (!url) return null;
  return {
    url,
    headers: parseOtlpHeaders(vars.OTEL_EXPORTER_OTLP_HEADERS ?? "") ?? {},
    resource: { "service.name": vars.OTEL_SERVICE_NAME ?? DEFAULT_SERVICE_NAME },
    key: `deployment ${url}`,
  };
}

/** What the account settings keep about the account's own collector. */
export interface AccountTelemetrySetting {
  /** The traces URL (already resolved from what the operator gave). */
  url: string;
  /** JSON object of headers, sealed; absent: none. */
  headersSealed?: string;
}

export function accountDestination(accountId: string, setting: AccountTelemetrySetting): OtlpDestination {
  return {
    url: setting.url,
    headers: {},
    ...(setting.headersSealed ? { sealedHeaders: setting.headersSealed } : {}),
    resource: { "service.name": DEFAULT_SERVICE_NAME, "tollgate.account.id": accountId },
    key: `account ${accountId} ${setting.url} ${setting.headersSealed ?? ""}`,
  };
}
