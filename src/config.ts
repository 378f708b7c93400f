/**
 * Worker vars and secrets, validated with zod. Production sets them with `wrangler secret put`
 * (Upstash + Neon); `npm run dev` and the tests pass local equivalents. Nothing else differs.
 */
import { z } from "zod";
import { deploymentDestination, type OtlpDestination, parseOtlpHeaders } from "./telemetry/destination";

export interface Env {
  UPSTASH_REDIS_REST_URL?: string;
  UPSTASH_REDIS_REST_TOKEN?: string;
  DATABASE_URL?: string;
  TOLLGATE_ADMIN_TOKEN?: string;
  FAIL_MODE?: string;
  /** Local only: host:port/path of the WebSocket→TCP relay in front of a non-Neon Postgres. */
  NEON_WS_PROXY?: string;
  /** UPSTREAM_<ID>_URL overrides, and anything else. */
  [name: string]: unknown;
}

const url = (name: string) =>
  z.url({ message: `${name} must be an http(s) URL` }).refine((u) => /^https?:/.test(u), `${name} must be http(s)`);

const ConfigSchema = z.object({
  UPSTASH_REDIS_REST_URL: url("UPSTASH_REDIS_REST_URL"),
  UPSTASH_REDIS_REST_TOKEN: z.string().min(1),
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, "DATABASE_URL must be a postgres:// URL"),
  TOLLGATE_ADMIN_TOKEN: z.string().min(16, "must be at least 16 characters"),
  FAIL_MODE: z.enum(["open", "closed"]).default("open"),
  NEON_WS_PROXY: z.string().min(1).optional(),
  // Seals stored provider keys; defaults to the admin token (then rotating that means re-entering them).
  TOLLGATE_ENCRYPTION_KEY: z.string().min(16).optional(),
  // OpenTelemetry's own variable names (spans of every account go here; src/telemetry/).
  OTEL_EXPORTER_OTLP_ENDPOINT: url("OTEL_EXPORTER_OTLP_ENDPOINT").optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: url("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").optional(),
  OTEL_EXPORTER_OTLP_HEADERS: z
    .string()
    .refine((h) => parseOtlpHeaders(h) !== null, "must be key=value pairs separated by commas")
    .optional(),
  OTEL_SERVICE_NAME: z.string().min(1).max(256).optional(),
  /** ms a span waits for others to share its export request (OTel's batch span processor delay). */
  OTEL_BSP_SCHEDULE_DELAY: z.coerce.number().int().min(0).max(20_000).optional(),
});

export interface Config extends z.infer<typeof ConfigSchema> {
  /** Provider id (lowercase) → base URL, from UPSTREAM_<ID>_URL. */
  upstreamOverrides: Record<string, string>;
  /** Where every account's spans go (OTEL_EXPORTER_OTLP_*); null: nowhere but each account's own. */
  otlp: OtlpDestination | null;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; message: string }[]) {
    super(`Tollgate is misconfigured: ${problems.map((p) => `${p.variable}: ${p.message}`).join("; ")}`);
  }
}

// One validation per env object (the same object for every request of an isolate).
const cache = new WeakMap<object, Config>();

export function loadConfig(env: Env): Config {
  const hit = cache.get(env);
  if (hit) return hit;
  const parsed = ConfigSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({
        variable: String(i.path[0] ?? "?"),
        message: i.code === "invalid_type" && (i as { input?: unknown }).input === undefined ? "is not set" : i.message,
      }));
  const upstreamOverrides: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    const m = /^UPSTREAM_([A-Z0-9_]+)_URL$/.exec(name);
    if (!m || typeof value !== "string" || value === "") continue;
    if (!/^https?:\/\//.test(value)) problems.push({ variable: name, message: "must be an http(s) URL" });
    else upstreamOverrides[m[1]!.toLowerCase().replace(/_/g, "-")] = value.replace(/\/+$/, "");
  }
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  const config = { ...parsed.data, upstreamOverrides, otlp: deploymentDestination(parsed.data) };
  cache.set(env, config);
  return config;
}

/** What seals stored secrets (provider keys, webhook secrets): its own key, else the admin token. */
export function sealingSecret(config: Pick<Config, "TOLLGATE_ENCRYPTION_KEY" | "TOLLGATE_ADMIN_TOKEN">): string {
  return config.TOLLGATE_ENCRYPTION_KEY ?? config.TOLLGATE_ADMIN_TOKEN;
}
