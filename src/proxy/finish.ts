/**
 * Steps 7–10, after the response's last byte, inside waitUntil: price the usage the provider
 * reported (price.ts), then settle the hold, queue the cost record and deliver the alerts it
 * crossed, as one group commit (commit.ts) — with a routed call's response-cache entry riding
 * along when the answer is one to keep. Nothing here delays the client.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { UnpricedFallback } from "../account-settings";
import { type CallBilling, settleBilling } from "../billing/call";
import type { Config, Env } from "../config";
import { nowMs } from "../lib/clock";
import type { Db } from "../lib/db";
import type { RedisRest } from "../lib/redis-rest";
import type { AccountPriceOverride } from "../pricing";
import type { CostRecord, RecordRouting } from "../records/record";
import { type CacheEntry, MAX_CACHED_BYTES, storeCommand } from "../routing/cache";
import { traceAttempt } from "../telemetry";
import { emptyUsage, totalInputTokens, totalOutputTokens } from "../usage";
import type { Admission } from "./admit";
import type { Attribution } from "./attribute";
import { commit } from "./commit";
import type { Identity } from "./identify";
import { type PricedCall, priceCall } from "./price";
import type { ProxiedRequest } from "./request";
import type { Capture, TallyResult } from "./tally";
import type { Upstream } from "./upstream";

export interface CallContext {
  identity: Identity;
  attribution: Attribution;
  upstream: Upstream;
  request: ProxiedRequest;
  admission: Admission;
  overrides: readonly AccountPriceOverride[];
  /** The account's price for models nothing else can price. */
  unpricedFallback?: UnpricedFallback;
  /** The tenant, plan and period the call is billed under (src/billing/call.ts); null: no tenant. */
  billing: CallBilling | null;
  requestId: string;
  startedAt: number;
  /** A routed call's attempt (src/proxy/routed.ts). */
  routing?: CallRouting;
}

export interface CallRouting extends RecordRouting {
  /** A cache miss: keep the answer under this key for its TTL when it ends well. */
  cacheStore?: { key: string; ttlSeconds: number };
}

export interface FinishDeps {
  config: Config;
  env: Env;
  /** The full client: cold paths only (built when first used). */
  readonly redis: Redis;
  /** The lean client of the hot calls (src/lib/redis-rest.ts): settle and record go out together. */
  rest: RedisRest;
  lazyDb: () => Db;
  closeDb: () => Promise<void> | undefined;
  /** Work this request does for others (commits it carried with its admit), finished before the db closes. */
  background: Promise<unknown>[];
}

export interface Outcome {
  status: number;
  /** null: no body was read (upstream unreachable, or an empty body). */
  tally: TallyResult | null;
  streamed?: boolean;
  /** Already priced before the response went out (src/proxy/respond.ts): not priced twice. */
  price?: PricedCall;
  /** The body the client got, for the response cache (cacheStore calls only). */
  body?: Capture;
}

/** Step 7: the call's usage × its model's rates. */
export function priceOf(call: CallContext, tally: TallyResult | null): PricedCall {
  return priceCall({
    provider: call.upstream.id,
    model: tally?.modelAnswered ?? call.request.facts.model,
    requestedModel: call.request.facts.model,
    usage: tally?.usage ?? null,
    at: new Date(call.startedAt),
    overrides: call.overrides,
    ...(call.unpricedFallback ? { unpricedFallback: call.unpricedFallback } : {}),
  });
}

/**
 * The cache entry of a miss that is worth keeping: a 200 that ended normally with the provider's
 * own usage (so what a hit saves is known), its body captured whole and within MAX_CACHED_BYTES.
 */
function cacheEntry(call: CallContext, outcome: Outcome, price: PricedCall): CacheEntry | null {
  const { tally, body } = outcome;
  if (outcome.status !== 200 || !tally?.complete || tally.usageSource !== "reported" || !price.priced) return null;
  if (!body || body.overflow || body.length > MAX_CACHED_BYTES) return null;
  const text = new TextDecoder().decode(body.view());
  const streamed = outcome.streamed ?? false;
  return {
    status: 200,
    contentType: streamed ? "text/event-stream; charset=utf-8" : "application/json",
    body: text,
    streamed,
    provider: call.upstream.id,
    modelRequested: call.request.facts.model,
    modelAnswered: tally.modelAnswered,
    costNano: price.costNano.toString(),
  };
}

export async function finishCall(call: CallContext, deps: FinishDeps, outcome: Outcome): Promise<void> {
  try {
    const finishedAt = nowMs();
    const usage = outcome.tally?.usage ?? null;
    const modelAnswered = outcome.tally?.modelAnswered ?? null;

    // 7 price
    const price = outcome.price ?? priceOf(call, outcome.tally);
    const store = call.routing?.cacheStore;
    const entry = store ? cacheEntry(call, outcome, price) : null;

    // 8–10 settle, record, alert: one group commit (src/proxy/commit.ts)
    const a = call.attribution;
    const reservation = call.admission.reservation;
    // Rated under a plan, or debited from a prepaid tenant's wallet: the settle script bills it.
    const billing = settleBilling(call.billing, Boolean(reservation?.wallet), usage, price.costNano);
    const record: CostRecord = {
      id: call.requestId,
      accountId: call.identity.accountId,
      keyId: call.identity.keyId,
      tenant: a.tenant,
      feature: a.feature,
      userId: a.user,
      environment: a.environment,
      workflow: a.workflow,
      tags: a.tags,
      provider: call.upstream.id,
      modelRequested: call.request.facts.model,
      modelAnswered,
      endpoint: call.request.facts.endpoint,
      streamed: outcome.streamed ?? false,
      status: outcome.status,
      usage: usage ?? emptyUsage(),
      ...price,
      usageSource: outcome.tally?.usageSource ?? "none",
      budgetChecked: call.admission.budgetChecked,
      latencyMs: outcome.tally?.latencyMs ?? finishedAt - call.startedAt,
      ttftMs: outcome.tally?.ttftMs ?? null,
      startedAt: new Date(call.startedAt),
      finishedAt: new Date(finishedAt),
      ...(call.routing ? { routing: recordRouting(call.routing) } : {}),
      // Billed at our cost, unless the settle bills it (or, with Redis down, nothing could rate it).
      billedNano: billing ? null : price.costNano,
      billPending: billing !== null && reservation !== null,
    };
    const committed = commit(
      {
        settle: reservation
          ? {
              reservation,
              requestId: call.requestId,
              actualCostNano: price.costNano,
              actualTokens: usage ? totalInputTokens(usage) + totalOutputTokens(usage) : 0,
              now: finishedAt,
              ...(billing ? { billing } : {}),
            }
          : null,
        record,
        ...(entry && store ? { also: [storeCommand(store.key, entry, store.ttlSeconds)] } : {}),
      },
      deps,
    );
    // The attempt's span, when a collector wants it (src/telemetry/)
    await Promise.all([committed, traceAttempt(record, call, outcome.tally, deps)]);
  } catch (err) {
    console.error("after-call step failed", err);
  } finally {
    // Commits this request carried for other calls use its database session too.
    await Promise.allSettled(deps.background);
    await deps.closeDb();
  }
}

function recordRouting(r: CallRouting): RecordRouting {
  return {
    route: r.route,
    attempt: r.attempt,
    attemptOf: r.attemptOf,
    cache: r.cache,
    savedNano: r.savedNano,
    maxTokensApplied: r.maxTokensApplied,
    downgradedFrom: r.downgradedFrom,
  };
}
