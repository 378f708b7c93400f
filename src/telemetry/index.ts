/**
 * OpenTelemetry for the proxy: one GenAI span per call attempt (span.ts), exported over OTLP/HTTP
 * JSON in batches (exporter.ts) to the deployment's collector and/or the account's own
 * (destination.ts), as a child of the caller's span when it sent a W3C `traceparent`
 * (trace-context.ts).
 *
 * The hot path's whole part in this is one call from src/proxy/finish.ts, inside waitUntil, after
 * the record is built. With no destination configured it returns at once; the account's own
 * destination comes from the account settings the call already loaded (an isolate cache hit; a
 * call that outlived the cache makes one Redis read, after its response).
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { accountSettings } from "../account-settings";
import { type Config, sealingSecret } from "../config";
import type { Db } from "../lib/db";
import type { CostRecord } from "../records/record";
import { accountDestination, type OtlpDestination } from "./destination";
import { exportSpan } from "./exporter";
import { type AttemptCall, type AttemptTally, attemptSpan } from "./span";
import { parseTraceparent } from "./trace-context";

export type { AccountTelemetrySetting, OtlpDestination } from "./destination";
export { accountTracesUrl } from "./destination";

export interface TraceDeps {
  config: Config;
  /** Read only on a settings-cache miss (a getter that builds the client is fine). */
  readonly redis: Redis;
  lazyDb: () => Db;
  /** Tests: the export request. */
  fetch?: typeof fetch;
}

/** The caller's trace context, as the hot path keeps it (raw headers; src/proxy/attribute.ts). */
export interface CallerTrace {
  attribution: { traceparent?: string | null; tracestate?: string | null };
}

async function destinations(accountId: string, deps: TraceDeps): Promise<OtlpDestination[]> {
  const out: OtlpDestination[] = deps.config.otlp ? [deps.config.otlp] : [];
  // An isolate-cache hit (the call loaded them): the full Redis client is built only on a miss.
  const cold = {
    get redis() {
      return deps.redis;
    },
    db: deps.lazyDb,
  };
  const settings = await accountSettings(accountId, cold).catch(() => null);
  if (settings?.telemetry) out.push(accountDestination(accountId, settings.telemetry));
  return out;
}

/** Exports the attempt's span to every destination that wants it; nothing when there is none. */
export async function traceAttempt(
  record: CostRecord,
  call: AttemptCall & CallerTrace,
  tally: AttemptTally | null,
  deps: TraceDeps,
): Promise<void> {
  const targets = await destinations(record.accountId, deps);
  if (targets.length === 0) return;
  const parent = parseTraceparent(call.attribution.traceparent ?? null, call.attribution.tracestate ?? null);
  if (parent && !parent.sampled) return;
  const span = attemptSpan(record, call, tally, parent);
  const opts = {
    sealingSecret: sealingSecret(deps.config),
    ...(deps.config.OTEL_BSP_SCHEDULE_DELAY !== undefined ? { delayMs: deps.config.OTEL_BSP_SCHEDULE_DELAY } : {}),
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
  };
  await Promise.all(targets.map((d) => exportSpan(d, span, opts)));
}
