/**
 * ANY /proxy/:provider/* — the hot path. This file only calls the steps, in request order:
 *   identify → attribute → read request → admit (reserve) → forward → tally (respond.ts)
 * and, after the last byte, inside waitUntil: price → settle → record → alert (finish.ts).
 * A call that takes a route (src/routing/README.md) goes through routed.ts instead after the
 * request is read; one that does not pays a header read and a settings property for that.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { Hono } from "hono";
import { accountSettings, priceOverridesOf } from "../account-settings";
import { callBilling } from "../billing/call";
import { type WalletLoader, walletLoader } from "../billing/store";
import { type Config, ConfigError, type Env, loadConfig } from "../config";
import { nowMs } from "../lib/clock";
import { type Db, type DbSession, openDb } from "../lib/db";
import { GatewayError, proxyErrorResponse } from "../lib/errors";
import { redisClient } from "../lib/redis";
import { RedisRest } from "../lib/redis-rest";
import type { WireFormat } from "../providers";
import { ROUTE_HEADER, selectRoute } from "../routing/select";
import { admitCall, countInputTokens, readMaxWait } from "./admit";
import { readAttribution } from "./attribute";
import { carryCommits } from "./commit";
import { type CallContext, type FinishDeps, finishCall } from "./finish";
import { sendUpstream } from "./forward";
import { identify, readGatewayKey } from "./identify";
import { prepareRequest, readRequestBody } from "./request";
import { assignRequestId } from "./request-id";
import { INCLUDE_COST_HEADER, respond } from "./respond";
import { routedCall } from "./routed";
import { resolveUpstream } from "./upstream";

/** What the error path needs to know: the caller's wire format, and headers a routed call set. */
export interface ProxyState {
  format: WireFormat;
  db?: DbSession;
  headers?: Record<string, string>;
}

/** Where a proxied call goes: the provider id and the rest of the path, as the client sent them. */
export interface ProxyPath {
  providerId: string;
  /** The path after /proxy/{provider}, from its slash on (query not included). */
  rest: string;
}

/**
 * The provider and rest of a plain `/proxy/{provider}/…` URL, else null. src/index.ts hands such a
 * call straight to handleProxy: Hono's router and Context cost a measurable share of a call that
 * needs neither (the route below does the same for anything else under /proxy/).
 */
export function plainProxyPath(url: URL): ProxyPath | null {
  const p = url.pathname;
  if (!p.startsWith("/proxy/")) return null;
  const slash = p.indexOf("/", 7);
  if (slash <= 7) return null;
  const providerId = p.slice(7, slash);
  // An encoded provider id is left to Hono's route, which decodes it.
  if (providerId.includes("%")) return null;
  return { providerId, rest: p.slice(slash) };
}

export const proxyRoute = new Hono<{ Bindings: Env }>();

proxyRoute.all("/proxy/:provider/*", (c) => {
  const providerId = c.req.param("provider");
  const pathname = new URL(c.req.url).pathname;
  // The rest of the path starts after the id as sent (encoded or not): /proxy/{id}/…
  const slash = pathname.indexOf("/", "/proxy/".length);
  const rest = slash === -1 ? "" : pathname.slice(slash);
  return handleProxy(c.req.raw, c.env, c.executionCtx, { providerId, rest });
});

/** ANY /proxy/{provider}/…: the hot path, from the raw request. */
export async function handleProxy(
  req: Request,
  env: Env,
  executionCtx: Pick<ExecutionContext, "waitUntil">,
  path: ProxyPath,
): Promise<Response> {
  const startedAt = nowMs();
  // Errors before we know better are in OpenAI's shape; a built-in id tells its format at once.
  const state: ProxyState = { format: "openai" };
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    const message = err instanceof ConfigError ? err.message : String(err);
    return proxyErrorResponse(new GatewayError("unavailable", message), state.format);
  }
  let upstash: Redis | undefined;
  const deps: FinishDeps = {
    config,
    env,
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
    return await proxy(req, env, executionCtx, path, startedAt, deps, state);
  } catch (err) {
    executionCtx.waitUntil(Promise.allSettled(deps.background).then(() => deps.closeDb()));
    if (err instanceof GatewayError) return proxyErrorResponse(err, state.format, state.headers);
    console.error("proxy error", err);
    return proxyErrorResponse(new GatewayError("unavailable", "Tollgate failed to handle this call."), state.format);
  }
}

async function proxy(
  req: Request,
  env: Env,
  executionCtx: Pick<ExecutionContext, "waitUntil">,
  { providerId, rest }: ProxyPath,
  startedAt: number,
  deps: FinishDeps,
  state: ProxyState,
): Promise<Response> {
  const { config } = deps;
  // Read only on an isolate-cache miss: the full client is built only then.
  const cold = {
    get redis() {
      return deps.redis;
    },
    db: deps.lazyDb,
  };
  const early = resolveUpstream(providerId, env, config, null);
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
  const upstream = resolveUpstream(providerId, env, config, settings);
  if (!upstream) throw new GatewayError("not_found", `Unknown provider "${providerId}".`);
  state.format = upstream.format;
  const overrides = priceOverridesOf(settings);

  // 2 attribute
  const attribution = readAttribution(req.headers, identity.environment);
  // Who is billed, under which plan and period (from the cached settings: no round trip).
  const billing = callBilling(identity.accountId, settings.billing, attribution.tenant, startedAt);
  // Only when Redis lost a wallet: the full client and Postgres, as for the budget rules.
  const loadWallet: WalletLoader = (what, accountId, tenant) =>
    walletLoader(cold.redis, deps.lazyDb, startedAt)(what, accountId, tenant);

  // The request's facts (model, stream, max tokens): the only reason its body is read at all.
  const body = await readRequestBody(req, upstream.format, rest);
  const includeCost = req.headers.get(INCLUDE_COST_HEADER) === "1";
  const maxWaitMs = readMaxWait(req.headers);

  // A route, when the call names one or its key / feature has a default (only metered calls route).
  const selected = selectRoute(settings, req.headers.get(ROUTE_HEADER), identity.keyId, attribution.feature);
  if (selected && body.metered) {
    return routedCall({
      ctx: executionCtx,
      req,
      env,
      deps,
      state,
      identity,
      settings,
      overrides,
      attribution,
      presented,
      pathUpstream: upstream,
      body,
      startedAt,
      billing,
      loadWallet,
      includeCost,
      ...(maxWaitMs !== undefined ? { maxWaitMs } : {}),
      selected,
    });
  }
  const request = prepareRequest(body, upstream);

  // 3 admit: one Redis script call — key still valid, rate limits, every budget scope reserved
  // (or, when holds in flight leave no room yet, a bounded wait for them).
  // Finished calls' settles and records ride along in the same Upstash request (src/proxy/commit.ts).
  const carried = carryCommits(deps);
  deps.background.push(carried);
  executionCtx.waitUntil(carried);
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
    billing,
    loadWallet,
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
    billing,
    requestId,
    startedAt,
  });
  let upstreamRes: Response;
  try {
    upstreamRes = await sendUpstream(req, upstream.baseUrl, request, credential);
  } catch (err) {
    const requestId = await requestIdPromise;
    executionCtx.waitUntil(finishCall(call(requestId), deps, { status: 502, tally: null }));
    throw new GatewayError("upstream_unreachable", `The provider could not be reached: ${String(err)}`, {
      "x-tollgate-request-id": requestId,
    });
  }
  const requestId = await requestIdPromise;

  // 5–6 stream back and tally the same bytes (whole for small JSON, one read loop for the rest)
  return respond(executionCtx, call(requestId), deps, upstreamRes, { includeCost });
}
