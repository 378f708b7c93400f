/**
 * A call through a route (src/routing/README.md): the same steps as route.ts — admit, forward,
 * respond — once per attempt, in the order src/routing/plan.ts gives, with the route's policy
 * applied to the body first and its response cache asked before anything is held.
 *
 *   policy   allowedModels (403), the default model, the max-tokens cap (src/routing/policy.ts)
 *   cache    one pipelined GET (with the key's revocation flag) when the route has a cache; a hit
 *            answers from Redis, recorded at $0 with what it saved
 *   chain    per target: admit its own worst case → forward → on a status in fallbackOn (429,
 *            5xx, a timeout, a connection error), record the attempt and try the next target
 *   budget   when a hard budget refuses a target's hold and the route has onBudget, ONE more admit
 *            script call holds the cheaper model's own worst case, atomically on every rule, like
 *            any hold — only after the asked model's hold was refused, so the cap is never exceeded
 *            and the asked model is used while it fits. "budget" in fallbackOn moves on instead.
 *
 * Every attempt that reached a provider is its own cost record, linked to the call (attemptOf: the
 * first attempt's id; attempt: 1, 2, …). The client's x-tollgate-request-id is the answering
 * attempt's. A failed attempt's hold is released by its settle, which rides in the next attempt's
 * admit request (src/proxy/commit.ts), settles first.
 */
import type { AccountSettings } from "../account-settings";
import type { CallBilling } from "../billing/call";
import type { WalletLoader } from "../billing/store";
import type { Env } from "../config";
import { nowMs } from "../lib/clock";
import { GatewayError } from "../lib/errors";
import type { AccountPriceOverride } from "../pricing";
import { CACHE_HEADER, MAX_CACHED_BYTES } from "../routing/cache";
import { type Attempt, planChain, targetLabel } from "../routing/plan";
import { applyPolicy } from "../routing/policy";
import type { SelectedRoute } from "../routing/select";
import { DEFAULT_FALLBACK_ON, type FallbackOn } from "../routing/types";
import { type Admission, admitCall, countInputTokens } from "./admit";
import type { Attribution } from "./attribute";
import { lookUp } from "./cached";
import { carryCommits } from "./commit";
import { type CallContext, type CallRouting, type FinishDeps, finishCall } from "./finish";
import { sendUpstream, UpstreamTimeout } from "./forward";
import type { Identity, PresentedKey } from "./identify";
import { type Leg, prepareLeg } from "./leg";
import type { RequestBody } from "./request";
import { assignRequestId } from "./request-id";
import { respond } from "./respond";
import type { ProxyState } from "./route";
import { newCapture } from "./tally";
import { resolveUpstream, type Upstream } from "./upstream";

export interface RoutedInput {
  ctx: Pick<ExecutionContext, "waitUntil">;
  req: Request;
  env: Env;
  deps: FinishDeps;
  state: ProxyState;
  identity: Identity;
  settings: AccountSettings;
  overrides: readonly AccountPriceOverride[];
  attribution: Attribution;
  presented: PresentedKey;
  /** The provider the client called (/proxy/{provider}): its wire format is the call's. */
  pathUpstream: Upstream;
  body: RequestBody;
  startedAt: number;
  /** Who is billed, under which plan and period: every attempt is rated and held like any call. */
  billing: CallBilling | null;
  loadWallet: WalletLoader;
  includeCost: boolean;
  maxWaitMs?: number;
  selected: SelectedRoute;
}

const ROUTE_RESPONSE_HEADER = "x-tollgate-route";
const ATTEMPTS_HEADER = "x-tollgate-attempts";
const DOWNGRADED_HEADER = "x-tollgate-downgraded-from";

// A prepaid tenant's wallet refusing the hold counts too: the cheaper model may fit its credit.
const isBudgetRefusal = (err: unknown): err is GatewayError =>
  err instanceof GatewayError &&
  (err.kind === "budget_exceeded" || err.kind === "unpriced_model" || err.kind === "insufficient_credits");

/** Which answers move on to the next target: 429, 5xx (and connection errors), timeouts. */
function movesOn(fallbackOn: ReadonlySet<FallbackOn>, answer: number | "timeout" | "error"): boolean {
  if (answer === "timeout") return fallbackOn.has("timeout");
  if (answer === "error") return fallbackOn.has("5xx");
  if (answer === 429) return fallbackOn.has("429");
  return answer >= 500 && fallbackOn.has("5xx");
}

export async function routedCall(p: RoutedInput): Promise<Response> {
  const { route, policies } = p.selected;
  const { deps, req, identity, attribution, body } = p;
  const { config } = deps;
  // Errors of this call carry the route headers too (route.ts renders them).
  const headers: Record<string, string> = { [ROUTE_RESPONSE_HEADER]: route.name };
  p.state.headers = headers;

  // Every target must speak the caller's wire format (routes never mix formats: src/routing/manage.ts),
  // and a client's own provider key only ever goes to the provider it was sent for.
  const upstreamOf = (t: Attempt): Upstream => {
    const up = resolveUpstream(t.provider, p.env, config, p.settings);
    if (!up)
      throw new GatewayError(
        "invalid_request",
        `Route "${route.name}" names provider "${t.provider}", which this account does not have.`,
      );
    if (up.format !== p.pathUpstream.format) {
      throw new GatewayError(
        "invalid_request",
        `Route "${route.name}" sends to ${up.format}-format providers; this call came in on ${p.pathUpstream.id} (${p.pathUpstream.format} format). Call it through /proxy/{provider} of a ${up.format}-format provider.`,
      );
    }
    if (p.presented.byok && up.id !== p.pathUpstream.id) {
      throw new GatewayError(
        "invalid_request",
        `Route "${route.name}" sends to ${up.id}, but this call brings its own ${p.pathUpstream.id} key (x-tollgate-key): it can only go to ${p.pathUpstream.id}.`,
      );
    }
    return up;
  };
  for (const t of [...route.targets, ...(route.onBudget ? [route.onBudget] : [])]) upstreamOf(t);

  const policy = applyPolicy(policies, body.json);
  const leg = (target: Attempt): Leg => prepareLeg(body, target, upstreamOf(target), policy);

  // The cache: looked up before anything is held, so a hit costs no budget and no upstream call.
  const cached = Boolean(route.cache) && req.headers.get(CACHE_HEADER) !== "bypass";
  headers[CACHE_HEADER] = cached ? "miss" : "bypass";
  let cacheStore: CallRouting["cacheStore"];
  if (cached) {
    const looked = await lookUp(p, policy, headers);
    if ("hit" in looked) return looked.hit;
    cacheStore = looked.store;
  }

  const fallbackOn = new Set(route.fallbackOn ?? DEFAULT_FALLBACK_ON);
  const chain = planChain(route.targets, policy.askedModel, Math.random);
  const attempts: string[] = [];
  const noteAttempt = (t: Attempt, answer: string | number) => {
    attempts.push(`${targetLabel(t)}:${answer}`);
    headers[ATTEMPTS_HEADER] = attempts.join(",");
  };
  let callId: Promise<string> | null = null;
  let firstId: string | null = null;
  let attempt = 0;
  let downgradedFrom: string | null = null;

  const admitLeg = (l: Leg): Promise<Admission> => {
    // Finished calls' settles (this call's failed attempts among them) ride in this admit's request.
    const carried = carryCommits(deps);
    deps.background.push(carried);
    p.ctx.waitUntil(carried);
    return admitCall({
      config,
      redis: deps.rest,
      identity,
      attribution,
      upstream: l.upstream,
      request: l.request,
      overrides: p.overrides,
      ...(p.settings.unpricedFallback ? { unpricedFallback: p.settings.unpricedFallback } : {}),
      ...(p.maxWaitMs !== undefined ? { maxWaitMs: p.maxWaitMs } : {}),
      countInputTokens: () => countInputTokens(l.request, l.upstream, req.headers, p.presented.byok),
      lazyDb: deps.lazyDb,
      billing: p.billing,
      loadWallet: p.loadWallet,
      now: nowMs(),
    });
  };

  for (let i = 0; i < chain.length; i++) {
    const last = i === chain.length - 1;
    let current = leg(chain[i]!);
    // The provider key first: a target without one is a 401 before anything is held.
    let credential = await current.upstream.credential(p.presented.byok);
    let admission: Admission;
    let downgradedNow = false;
    try {
      admission = await admitLeg(current);
    } catch (refused) {
      if (!isBudgetRefusal(refused)) throw refused;
      noteAttempt(current.target, refused.status);
      let downgraded: Admission | null = null;
      let lastRefusal: GatewayError = refused;
      if (route.onBudget && downgradedFrom === null) {
        // The downgrade: one more admit, for the cheaper model's own worst case (see the top).
        const cheaper = leg(route.onBudget);
        const cheaperCredential = await cheaper.upstream.credential(p.presented.byok);
        try {
          downgraded = await admitLeg(cheaper);
          downgradedFrom = targetLabel(current.target);
          downgradedNow = true;
          headers[DOWNGRADED_HEADER] = downgradedFrom;
          current = cheaper;
          credential = cheaperCredential;
        } catch (again) {
          if (!isBudgetRefusal(again)) throw again;
          noteAttempt(cheaper.target, again.status);
          lastRefusal = again;
        }
      }
      if (!downgraded) {
        if (fallbackOn.has("budget") && !last) continue;
        // route.ts renders it with this call's headers (route, attempts).
        throw lastRefusal;
      }
      admission = downgraded;
    }

    // 4 forward
    attempt++;
    const attemptStartedAt = nowMs();
    callId ??= assignRequestId(
      admission.redisUp && attribution.clientRequestId ? deps.redis : null,
      identity.accountId,
      attribution.clientRequestId,
    ).catch(() => assignRequestId(null, identity.accountId, attribution.clientRequestId));
    let res: Response | null = null;
    let failure: "timeout" | "error" | null = null;
    let error: unknown;
    try {
      res = await sendUpstream(req, current.upstream.baseUrl, current.request, credential, route.timeoutMs);
    } catch (err) {
      failure = err instanceof UpstreamTimeout ? "timeout" : "error";
      error = err;
    }
    const base = await callId;
    const requestId = attempt === 1 ? base : `${base}.a${attempt}`;
    firstId ??= requestId;
    headers["x-tollgate-request-id"] = requestId;
    const call: CallContext = {
      identity,
      attribution,
      upstream: current.upstream,
      request: current.request,
      admission,
      overrides: p.overrides,
      ...(p.settings.unpricedFallback ? { unpricedFallback: p.settings.unpricedFallback } : {}),
      billing: p.billing,
      requestId,
      startedAt: attemptStartedAt,
      routing: {
        route: route.name,
        attempt,
        attemptOf: attempt === 1 ? null : firstId,
        cache: cached ? "miss" : null,
        savedNano: null,
        maxTokensApplied: current.maxTokensApplied,
        downgradedFrom: downgradedNow ? downgradedFrom : null,
        // A downgraded answer is what the budget allowed, not what the route asks for: not cached.
        ...(cacheStore && !downgradedNow ? { cacheStore } : {}),
      },
    };
    const answer = failure ?? res!.status;
    noteAttempt(current.target, answer);
    const next = !last && movesOn(fallbackOn, answer);
    if (failure || next) {
      // Not the client's answer: its body is dropped, the attempt recorded (and its hold settled).
      if (res) await res.body?.cancel().catch(() => {});
      const status = failure === "timeout" ? 504 : failure ? 502 : res!.status;
      const finished = finishCall(call, attemptDeps(deps), { status, tally: null });
      deps.background.push(finished);
      p.ctx.waitUntil(finished);
      if (next) continue;
      throw new GatewayError(
        failure === "timeout" ? "upstream_timeout" : "upstream_unreachable",
        failure === "timeout"
          ? `The provider did not answer within route "${route.name}"'s timeoutMs (${route.timeoutMs} ms).`
          : `The provider could not be reached: ${String(error)}`,
      );
    }
    // 5–6 this answer is the client's (a last target's 429 or 500 too: passed through unchanged)
    return respond(p.ctx, call, deps, res!, {
      headers,
      includeCost: p.includeCost,
      ...(call.routing?.cacheStore ? { capture: newCapture(MAX_CACHED_BYTES) } : {}),
    });
  }
  // Only a budget refusal with "budget" in fallbackOn continues past the last target, and it throws there.
  throw new Error("unreachable: the route's chain ended without an answer");
}

/** This attempt's after-call work must not close the request's database: the answering attempt's does. */
function attemptDeps(deps: FinishDeps): FinishDeps {
  return Object.create(deps, {
    closeDb: { value: () => undefined },
    background: { value: [] },
  }) as FinishDeps;
}
