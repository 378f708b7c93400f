/**
 * Steps 7–10, after the response's last byte, inside waitUntil: price the usage the provider
 * reported, settle the reservation (drop it, add the actual cost), write the cost record, and
 * deliver the alerts whose thresholds this call crossed. Nothing here delays the client.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { UnpricedFallback } from "../account-settings";
import { alertConfig, deliverAlerts } from "../alerts";
import { settle } from "../budgets";
import type { Config, Env } from "../config";
import { nowMs } from "../lib/clock";
import type { Db } from "../lib/db";
import type { RedisRest } from "../lib/redis-rest";
import { type AccountPriceOverride, catalogVersion, priceUsage } from "../pricing";
import { type CostRecord, queueRecord } from "../records/record";
import { emptyUsage, totalInputTokens, totalOutputTokens } from "../usage";
import type { Admission } from "./admit";
import type { Attribution } from "./attribute";
import type { Identity } from "./identify";
import type { ProxiedRequest } from "./request";
import type { TallyResult } from "./tally";
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
  requestId: string;
  startedAt: number;
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
}

export interface Outcome {
  status: number;
  /** null: no body was read (upstream unreachable, or an empty body). */
  tally: TallyResult | null;
  streamed?: boolean;
}

export async function finishCall(call: CallContext, deps: FinishDeps, outcome: Outcome): Promise<void> {
  try {
    const finishedAt = nowMs();
    const usage = outcome.tally?.usage ?? null;
    const modelAnswered = outcome.tally?.modelAnswered ?? null;
    const model = modelAnswered ?? call.request.facts.model;

    // 7 price
    let costNano = 0n;
    let priced = false;
    let priceVersion: string | null = catalogVersion;
    let ratesApplied: unknown = null;
    let pricedBy: CostRecord["pricedBy"] = null;
    if (usage && model) {
      const price = priceUsage({
        provider: call.upstream.id,
        model,
        requestedModel: call.request.facts.model,
        usage,
        at: new Date(call.startedAt),
        overrides: call.overrides,
        ...(call.unpricedFallback ? { unpricedFallback: call.unpricedFallback } : {}),
      });
      priceVersion = price.catalogVersion;
      if (price.priced) {
        priced = true;
        pricedBy = price.source;
        costNano = BigInt(price.costNano);
        ratesApplied = { modelId: price.modelId, provider: price.provider, source: price.source, ...price.rates };
      } else {
        ratesApplied = { unpricedReason: price.reason };
      }
    } else if (!usage) {
      // Nothing to price (an error with no usage, an unmetered endpoint): zero cost, truly.
      priced = true;
    }

    // 8 settle (a call that was never admitted through Redis has nothing to settle)
    const tasks: Promise<unknown>[] = [];
    if (call.admission.reservation) {
      const tokens = usage ? totalInputTokens(usage) + totalOutputTokens(usage) : 0;
      tasks.push(
        settle(deps.rest, {
          reservation: call.admission.reservation,
          requestId: call.requestId,
          actualCostNano: costNano,
          actualTokens: tokens,
          now: finishedAt,
        }).then(({ crossed }) =>
          crossed.length
            ? deliverAlerts(crossed, { db: deps.lazyDb, config: alertConfig(deps.config, deps.env) })
            : undefined,
        ),
      );
    }

    // 9 record
    const a = call.attribution;
    tasks.push(
      queueRecord(
        {
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
          costNano,
          priced,
          pricedBy,
          priceVersion,
          ratesApplied,
          usageSource: outcome.tally?.usageSource ?? "none",
          budgetChecked: call.admission.budgetChecked,
          latencyMs: outcome.tally?.latencyMs ?? finishedAt - call.startedAt,
          ttftMs: outcome.tally?.ttftMs ?? null,
          startedAt: new Date(call.startedAt),
          finishedAt: new Date(finishedAt),
        },
        { db: deps.lazyDb, redis: deps.rest },
      ),
    );
    const results = await Promise.allSettled(tasks);
    for (const r of results) if (r.status === "rejected") console.error("after-call step failed", r.reason);
  } finally {
    await deps.closeDb();
  }
}
