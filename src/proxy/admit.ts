/**
 * Step 3: one Redis script call before forwarding. It re-checks the key (revocation takes effect at
 * once), applies the key's rate limits, and reserves the call's worst-case cost on every budget
 * scope that applies — or refuses, naming the scope. Redis unreachable: FAIL_MODE decides.
 */
import type { UnpricedFallback } from "../account-settings";
import { type CallBilling, walletCheck } from "../billing/call";
import type { CallAmounts } from "../billing/rating";
import { type AdmitDeps, admissionError, admit, budgetHeaders, MAX_WAIT_LIMIT_MS, type Reservation } from "../budgets";
import type { Config } from "../config";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { type ScriptRedis, withTimeout } from "../lib/redis";
import { type AccountPriceOverride, lookupModel, priceUsage } from "../pricing";
import { emptyUsage } from "../usage";
import type { Attribution } from "./attribute";
import { upstreamHeaders, upstreamUrl } from "./forward";
import type { Identity } from "./identify";
import type { ProxiedRequest } from "./request";
import type { Upstream } from "./upstream";

export interface Admission {
  /** The budgets were checked (false: Redis was unreachable and FAIL_MODE=open let the call through). */
  budgetChecked: boolean;
  redisUp: boolean;
  reservation: Reservation | null;
  responseHeaders: Record<string, string>;
  worstCaseNano: bigint;
}

/** When neither the request nor the catalog bounds the output, reserve for this many tokens. */
export const FALLBACK_MAX_OUTPUT_TOKENS = 32_768;
/** A Redis call that takes longer than this is treated as Redis being down (FAIL_MODE decides). */
const REDIS_TIMEOUT_MS = 3000;
/** The provider's token count is worth waiting this long for (else the byte bound stands). */
const COUNT_TIMEOUT_MS = 3000;
export const MAX_WAIT_HEADER = "x-tollgate-max-wait-ms";

export interface WorstCase {
  worstCaseNano: bigint;
  estimatedTokens: number;
  /** Nothing can price the model (no catalog entry, no account rate, no fallback price). */
  unpriced: boolean;
  /** The usage shapes the worst case was taken over, each with our cost of it (0 when unpriced): what a plan rates. */
  shapes: CallAmounts[];
}

/**
 * The most this call can cost, from the request alone: the input bound (see src/wire/estimate.ts)
 * at the priciest input bucket, and max_tokens (else the model's output limit) as output, priced by
 * the same cost function as the bill (context tiers, account overrides, the account's fallback
 * price for unpriced models).
 */
export function worstCase(
  upstream: Upstream,
  request: ProxiedRequest,
  pricing: { overrides: readonly AccountPriceOverride[]; unpricedFallback?: UnpricedFallback },
  at: Date,
  /** The provider's own input count (with its margin), when it was asked for. */
  countedInputTokens?: number,
): WorstCase {
  const model = request.facts.model;
  if (!request.metered) return { worstCaseNano: 0n, estimatedTokens: 0, unpriced: false, shapes: [] };
  if (!model) return { worstCaseNano: 0n, estimatedTokens: 0, unpriced: true, shapes: [] };
  const lookup = lookupModel(upstream.id, model, at);
  const outputTokens =
    request.facts.maxOutputTokens ?? lookup?.maxOutputTokens ?? lookup?.contextWindow ?? FALLBACK_MAX_OUTPUT_TOKENS;
  // When the input can grow past what the body shows (server tools, stored conversation state),
  // only the context window bounds it.
  const bound =
    request.facts.inputBounded === false && lookup?.contextWindow
      ? Math.max(lookup.contextWindow, request.facts.estimatedInputTokens)
      : request.facts.estimatedInputTokens;
  const input = countedInputTokens === undefined ? bound : Math.min(bound, countedInputTokens);
  let worst = -1;
  const shapes: CallAmounts[] = [];
  // The same input may be billed as plain input or as a (pricier) cache write: take the dearest.
  for (const bucket of ["inputTokens", "cacheWriteTokens", "cacheWrite1hTokens"] as const) {
    const usage = { ...emptyUsage(), [bucket]: input, outputTokens };
    const price = priceUsage({ provider: upstream.id, model, usage, at, ...pricing });
    if (price.priced && price.costNano > worst) worst = price.costNano;
    shapes.push({ usage, costNano: price.priced ? BigInt(price.costNano) : 0n });
  }
  const estimatedTokens = input + outputTokens;
  if (worst < 0) return { worstCaseNano: 0n, estimatedTokens, unpriced: true, shapes };
  return { worstCaseNano: BigInt(worst), estimatedTokens, unpriced: false, shapes };
}

/** x-tollgate-max-wait-ms: how long this call may wait for budget holds in flight (0 = never). */
export function readMaxWait(headers: Headers): number | undefined {
  const raw = headers.get(MAX_WAIT_HEADER);
  if (raw === null || raw.trim() === "") return undefined;
  const ms = Number(raw.trim());
  if (!/^\d+$/.test(raw.trim()) || ms > MAX_WAIT_LIMIT_MS) {
    throw new GatewayError("invalid_request", `${MAX_WAIT_HEADER} must be an integer from 0 to ${MAX_WAIT_LIMIT_MS}.`);
  }
  return ms;
}

/**
 * The provider's own count of this call's input (src/wire/count.ts), plus its margin; null when it
 * has none for this request or the count failed (the byte bound stands). Asked only when the bound
 * would make the call wait or be refused.
 */
export async function countInputTokens(
  request: ProxiedRequest,
  upstream: Upstream,
  clientHeaders: Headers,
  byok: boolean,
): Promise<number | null> {
  const count = request.tokenCount();
  if (!count) return null;
  try {
    const headers = upstreamHeaders(clientHeaders, await upstream.credential(byok));
    headers["content-type"] = "application/json";
    const res = await fetch(upstreamUrl(upstream.baseUrl, count.path, ""), {
      method: "POST",
      headers,
      body: count.body,
      signal: AbortSignal.timeout(COUNT_TIMEOUT_MS),
    });
    if (!res.ok) {
      await res.body?.cancel();
      return null;
    }
    return count.bound(await res.json());
  } catch {
    return null;
  }
}

export async function admitCall(p: {
  config: Config;
  redis: ScriptRedis;
  identity: Identity;
  attribution: Attribution;
  upstream: Upstream;
  request: ProxiedRequest;
  overrides: readonly AccountPriceOverride[];
  unpricedFallback?: UnpricedFallback;
  maxWaitMs?: number;
  /** The provider's exact input count (see countInputTokens); asked only when the bound matters. */
  countInputTokens?: () => Promise<number | null>;
  lazyDb: () => Db;
  /** The call's tenant and plan (src/billing/call.ts); null: no tenant, no wallet to check. */
  billing: CallBilling | null;
  /** Rebuilds a wallet Redis lost (src/billing/store.ts walletLoader). */
  loadWallet?: AdmitDeps["loadWallet"];
  now: number;
}): Promise<Admission> {
  const pricing = { overrides: p.overrides, ...(p.unpricedFallback ? { unpricedFallback: p.unpricedFallback } : {}) };
  let worst = worstCase(p.upstream, p.request, pricing, new Date(p.now));
  const attempt = (w: WorstCase, probe: boolean) =>
    withTimeout(
      admit(
        p.redis,
        {
          keyHash: p.identity.keyHash,
          attribution: {
            accountId: p.identity.accountId,
            keyId: p.identity.keyId,
            tenant: p.attribution.tenant,
            feature: p.attribution.feature,
            user: p.attribution.user,
            environment: p.attribution.environment,
            workflow: p.attribution.workflow,
          },
          worstCaseNano: w.worstCaseNano,
          estimatedTokens: w.estimatedTokens,
          now: p.now,
          probe,
          ...(p.maxWaitMs !== undefined ? { maxWaitMs: p.maxWaitMs } : {}),
          ...(w.unpriced && p.request.facts.model !== null
            ? { unpriced: { provider: p.upstream.id, model: p.request.facts.model } }
            : {}),
          // A metered call's tenant may be prepaid: the script checks its wallet in the same call.
          ...(p.billing && p.request.metered ? { wallet: walletCheck(p.billing, w.shapes, w.unpriced) } : {}),
        },
        { db: p.lazyDb, ...(p.loadWallet ? { loadWallet: p.loadWallet } : {}) },
      ),
      // A waiting call may hold its one blocking pop for the whole wait.
      REDIS_TIMEOUT_MS + (p.maxWaitMs ?? MAX_WAIT_LIMIT_MS),
      "Redis",
    );
  let result: Awaited<ReturnType<typeof admit>>;
  try {
    const canTighten = Boolean(p.countInputTokens) && p.request.countable && !worst.unpriced;
    result = await attempt(worst, canTighten);
    if (result.kind === "tighten") {
      // The byte bound would make this call wait or be refused: count its input exactly, once.
      const counted = await p.countInputTokens!();
      if (counted !== null) worst = worstCase(p.upstream, p.request, pricing, new Date(p.now), counted);
      result = await attempt(worst, false);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    if (p.config.FAIL_MODE === "closed") {
      throw new GatewayError(
        "unavailable",
        "Tollgate cannot check budgets right now (Redis unreachable) and FAIL_MODE=closed: the call was not forwarded.",
      );
    }
    console.error("budget check skipped (FAIL_MODE=open):", err);
    return {
      budgetChecked: false,
      redisUp: false,
      reservation: null,
      responseHeaders: {},
      worstCaseNano: worst.worstCaseNano,
    };
  }
  if (result.kind === "tighten") throw new Error("admission asked to tighten twice");
  if (result.kind !== "allowed") throw admissionError(result, p.now, p.identity.keyId);
  return {
    budgetChecked: true,
    redisUp: true,
    reservation: result.reservation,
    responseHeaders: budgetHeaders(result),
    worstCaseNano: worst.worstCaseNano,
  };
}
