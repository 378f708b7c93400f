/**
 * ANY /proxy/:provider/* — the hot path. This file only calls the steps, in request order:
 *   identify → attribute → read request → admit (reserve) → forward → tally
 * and, after the last byte, inside waitUntil: price → settle → record → alert (finish.ts).
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { type Context, Hono } from "hono";
import { priceOverridesOf } from "../account-settings";
import { type Config, ConfigError, type Env, loadConfig } from "../config";
import { nowMs } from "../lib/clock";
import { type Db, type DbSession, openDb } from "../lib/db";
import { GatewayError, proxyErrorResponse } from "../lib/errors";
import { redisClient } from "../lib/redis";
import { RedisRest } from "../lib/redis-rest";
import type { WireFormat } from "../providers";
import { admitCall, countInputTokens, readMaxWait } from "./admit";
import { readAttribution } from "./attribute";
import { carryCommits } from "./commit";
import { type CallContext, type FinishDeps, finishCall } from "./finish";
import { clientHeaders, upstreamHeaders, upstreamUrl } from "./forward";
import { accountSettings, identify, readGatewayKey } from "./identify";
import { readRequest } from "./request";
import { assignRequestId } from "./request-id";
import { readWhole, tallyStream, tallyWhole } from "./tally";
import { resolveUpstream } from "./upstream";

type ProxyContext = Context<{ Bindings: Env }>;

export const proxyRoute = new Hono<{ Bindings: Env }>();

proxyRoute.all("/proxy/:provider/*", async (c) => {
  const startedAt = nowMs();
  const providerId = c.req.param("provider");
  // Errors before we know better are in OpenAI's shape; a built-in id tells its format at once.
  const state: { format: WireFormat; db?: DbSession } = { format: "openai" };
  let config: Config;
  try {
    config = loadConfig(c.env);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err);
    return proxyErrorResponse(new GatewayError("unavailable", message), state.format);
  }
  let upstash: Redis | undefined;
  const deps: FinishDeps = {
    config,
    env: c.env,
    rest: new RedisRest(config),
    // The full client only for what is not on every call (cache misses, client request ids).
    get redis() {
      upstash ??= redisClient(config);
      return upstash;
    },
    lazyDb: (): Db => {
      state.db ??= openDb(config);
      return state.db.db;
    },
    closeDb: () => state.db?.close(),
    background: [],
  };
  try {
    return await proxy(c, providerId, startedAt, deps, state);
  } catch (err) {
    c.executionCtx.waitUntil(Promise.allSettled(deps.background).then(() => deps.closeDb()));
    if (err instanceof GatewayError) return proxyErrorResponse(err, state.format);
    console.error("proxy error", err);
    return proxyErrorResponse(new GatewayError("unavailable", "Tollgate failed to handle this call."), state.format);
  }
});

async function proxy(
  c: ProxyContext,
  providerId: string,
  startedAt: number,
  deps: FinishDeps,
  state: { format: WireFormat },
): Promise<Response> {
  const req = c.req.raw;
  const { config } = deps;
  // Read only on an isolate-cache miss: the full client is built only then.
  const cold = {
    get redis() {
      return deps.redis;
    },
    db: deps.lazyDb,
  };
  const early = resolveUpstream(providerId, c.env, config, null);
  if (early) state.format = early.format;

  // 1 identify
  const presented = readGatewayKey(req.headers);
  if (!presented) {
    throw new GatewayError(
      "authentication",
      "Missing Tollgate key: send it as the API key (Authorization: Bearer tg_… or x-api-key: tg_…) or in x-tollgate-key.",
    );
  }
  const identity = await identify(presented, cold);
  const settings = await accountSettings(identity.accountId, cold);
  const upstream = resolveUpstream(providerId, c.env, config, settings);
  if (!upstream) throw new GatewayError("not_found", `Unknown provider "${providerId}".`);
  state.format = upstream.format;
  const overrides = priceOverridesOf(settings);

  // 2 attribute
  const attribution = readAttribution(req.headers, identity.environment);

  // The request's facts (model, stream, max tokens): the only reason its body is read at all.
  const rest = new URL(req.url).pathname.slice(`/proxy/${providerId}`.length);
  const request = await readRequest(req, upstream, rest);

  // 3 admit: one Redis script call — key still valid, rate limits, every budget scope reserved
  // (or, when holds in flight leave no room yet, a bounded wait for them).
  const maxWaitMs = readMaxWait(req.headers);
  // Finished calls' settles and records ride along in the same Upstash request (src/proxy/commit.ts).
  const carried = carryCommits(deps);
  deps.background.push(carried);
  c.executionCtx.waitUntil(carried);
  const admission = await admitCall({
    config,
    redis: deps.rest,
    identity,
    attribution,
    upstream,
    request,
    overrides,
    ...(settings.unpricedFallback ? { unpricedFallback: settings.unpricedFallback } : {}),
    ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
    countInputTokens: () => countInputTokens(request, upstream, req.headers, presented.byok),
    lazyDb: deps.lazyDb,
    now: startedAt,
  });

  // 4 forward (the request id's Redis INCR, when the client sent its own id, runs meanwhile)
  const credential = await upstream.credential(presented.byok);
  // Only a client's own id needs Redis (to number its retries): the full client is built only then.
  const requestIdPromise = assignRequestId(
    admission.redisUp && attribution.clientRequestId ? deps.redis : null,
    identity.accountId,
    attribution.clientRequestId,
  ).catch(() => assignRequestId(null, identity.accountId, attribution.clientRequestId));
  const call = (requestId: string): CallContext => ({
    identity,
    attribution,
    upstream,
    request,
    admission,
    overrides,
    ...(settings.unpricedFallback ? { unpricedFallback: settings.unpricedFallback } : {}),
    requestId,
    startedAt,
  });
  let upstreamRes: Response;
  try {
    upstreamRes = await fetch(upstreamUrl(upstream.baseUrl, request.restPath, new URL(req.url).search), {
      method: req.method,
      headers: upstreamHeaders(req.headers, credential),
      body: request.upstreamBody,
      redirect: "manual",
    });
  } catch (err) {
    const requestId = await requestIdPromise;
    c.executionCtx.waitUntil(finishCall(call(requestId), deps, { status: 502, tally: null }));
    throw new GatewayError("upstream_unreachable", `The provider could not be reached: ${String(err)}`, {
      "x-tollgate-request-id": requestId,
    });
  }
  const requestId = await requestIdPromise;

  // 5–6 stream back and tally the same bytes (whole for small JSON, one read loop for the rest)
  const headers = clientHeaders(upstreamRes.headers, { bodyChanged: request.injectedIncludeUsage });
  headers.set("x-tollgate-request-id", requestId);
  for (const [k, v] of Object.entries(admission.responseHeaders)) headers.set(k, v);
  if (!upstreamRes.body || !request.metered) {
    // Nothing to meter (a models list, a file, an empty body): pass the body through, no tee.
    c.executionCtx.waitUntil(finishCall(call(requestId), deps, { status: upstreamRes.status, tally: null }));
    return new Response(upstreamRes.body, { status: upstreamRes.status, headers });
  }
  const streamed = (upstreamRes.headers.get("content-type") ?? "").includes("text/event-stream");
  const meter = request.meter(streamed);
  if (readWhole(upstreamRes.headers, streamed)) {
    const { body, tally } = await tallyWhole(upstreamRes, meter, startedAt);
    c.executionCtx.waitUntil(finishCall(call(requestId), deps, { status: upstreamRes.status, tally, streamed }));
    return new Response(body, { status: upstreamRes.status, headers });
  }
  const { clientBody, done } = tallyStream(upstreamRes.body, meter, {
    startedAt,
    ...(streamed && request.injectedIncludeUsage ? { stripper: request.stripUsageChunk() } : {}),
  });
  c.executionCtx.waitUntil(
    done.then((tally) => finishCall(call(requestId), deps, { status: upstreamRes.status, tally, streamed })),
  );
  return new Response(clientBody, { status: upstreamRes.status, headers });
}
