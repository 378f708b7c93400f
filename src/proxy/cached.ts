/**
 * The response-cache step of a routed call (src/routing/cache.ts): one pipelined Redis request
 * for the entry and the key's revocation flag; a hit is answered from it — the same bytes, no hold,
 * no upstream call — and recorded at $0 with what it saved; a miss says where to store the answer.
 */

import { concatBytes } from "../lib/bytes";
import { nowMs } from "../lib/clock";
import { nanoToUsd } from "../lib/money";
import { redisKeys } from "../lib/redis-keys";
import { CACHE_HEADER, type CacheEntry, cacheKey, decodeEntry } from "../routing/cache";
import type { Policy } from "../routing/policy";
import { carryCommits } from "./commit";
import { type CallContext, type CallRouting, finishCall } from "./finish";
import { unauthorized } from "./identify";
import { type ProxiedRequest, prepareRequest } from "./request";
import { assignRequestId } from "./request-id";
import { COST_HEADER, costComment } from "./respond";
import type { RoutedInput } from "./routed";
import { resolveUpstream } from "./upstream";

const SAVED_HEADER = "x-tollgate-saved-usd";
/** The cache key's name for the policy's cap (not a provider field: the cap is the route's). */
const CAP_FIELD = "__tollgate_max_tokens_cap";

/** The hit's response, or where a miss's answer is to be stored. */
export async function lookUp(
  p: RoutedInput,
  policy: Policy,
  headers: Record<string, string>,
): Promise<{ hit: Response } | { store: NonNullable<CallRouting["cacheStore"]> }> {
  const route = p.selected.route;
  const key = await cacheKey({
    accountId: p.identity.accountId,
    route,
    tenant: p.attribution.tenant,
    path: p.body.path,
    body: { ...p.body.json, model: policy.askedModel, [CAP_FIELD]: policy.maxTokensCap },
  });
  const entry = await read(p, key);
  if (entry) return { hit: await serveHit(p, entry, headers) };
  return { store: { key, ttlSeconds: route.cache!.ttlSeconds } };
}

/**
 * The cache GET and the key's revocation flag, in one pipelined request (with any settles this
 * isolate has queued). A revoked key is refused here as the admit script would; Redis down: a miss.
 */
async function read(p: RoutedInput, key: string): Promise<CacheEntry | null> {
  const carried = carryCommits(p.deps);
  p.deps.background.push(carried);
  p.ctx.waitUntil(carried);
  const [raw, revoked] = await Promise.all([
    p.deps.rest.exec(["GET", key]),
    p.deps.rest.exec(["HGET", redisKeys.gatewayKey(p.identity.keyHash), "revoked"]),
  ]).catch(() => [null, null]);
  if (revoked === "1") throw unauthorized("This Tollgate key has been revoked.");
  // A key Redis no longer knows goes through admission, which reloads it from Postgres.
  if (revoked === null) return null;
  return decodeEntry(raw);
}

/** A cache hit: the stored answer, recorded at $0 with what it saved (the answer's upstream cost). */
async function serveHit(p: RoutedInput, entry: CacheEntry, headers: Record<string, string>): Promise<Response> {
  const requestId = await assignRequestId(
    p.attribution.clientRequestId ? p.deps.redis : null,
    p.identity.accountId,
    p.attribution.clientRequestId,
  ).catch(() => assignRequestId(null, p.identity.accountId, p.attribution.clientRequestId));
  const upstream = resolveUpstream(entry.provider, p.env, p.deps.config, p.settings) ?? p.pathUpstream;
  const prepared = prepareRequest(p.body, upstream);
  const request: ProxiedRequest = { ...prepared, facts: { ...prepared.facts, model: entry.modelRequested } };
  const savedNano = BigInt(entry.costNano);
  const call: CallContext = {
    identity: p.identity,
    attribution: p.attribution,
    upstream,
    request,
    admission: { budgetChecked: true, redisUp: true, reservation: null, responseHeaders: {}, worstCaseNano: 0n },
    overrides: p.overrides,
    // A hit cost nothing upstream: billed at our cost, $0, and no wallet is touched.
    billing: null,
    requestId,
    startedAt: p.startedAt,
    routing: {
      route: p.selected.route.name,
      attempt: 1,
      attemptOf: null,
      cache: "hit",
      savedNano,
      maxTokensApplied: null,
      downgradedFrom: null,
    },
  };
  const out = new Headers({ "content-type": entry.contentType, ...headers });
  out.set(CACHE_HEADER, "hit");
  out.set("x-tollgate-request-id", requestId);
  out.set(COST_HEADER, "0.00");
  out.set(SAVED_HEADER, nanoToUsd(savedNano));
  if (entry.streamed) out.set("cache-control", "no-cache");
  const bytes = new TextEncoder().encode(entry.body);
  const latencyMs = nowMs() - p.startedAt;
  p.ctx.waitUntil(
    finishCall(call, p.deps, {
      status: entry.status,
      streamed: entry.streamed,
      tally: {
        usage: null,
        usageSource: "none",
        modelAnswered: entry.modelAnswered,
        ttftMs: latencyMs,
        latencyMs,
        bytes: bytes.byteLength,
        complete: true,
      },
    }),
  );
  const trailer = p.includeCost && entry.streamed ? costComment("0.00") : null;
  const body = trailer ? concatBytes([bytes, trailer]) : bytes;
  return new Response(body, { status: entry.status, headers: out });
}
