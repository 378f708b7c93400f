/**
 * Steps 7–10, after the response's last byte, inside waitUntil: price the usage the provider
 * reported (price.ts), then settle the hold, queue the cost record and deliver the alerts it
 * crossed, as one group commit (commit.ts). Nothing here delays the client.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { UnpricedFallback } from "../account-settings";
import type { Config, Env } from "../config";
import { nowMs } from "../lib/clock";
import type { Db } from "../lib/db";
import type { RedisRest } from "../lib/redis-rest";
import type { AccountPriceOverride } from "../pricing";
import type { CostRecord } from "../records/record";
import { traceAttempt } from "../telemetry";
import { emptyUsage, totalInputTokens, totalOutputTokens } from "../usage";
import type { Admission } from "./admit";
import type { Attribution } from "./attribute";
import { commit } from "./commit";
import type { Identity } from "./identify";
import { priceCall } from "./price";
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
  /** Work this request does for others (commits it carried with its admit), finished before the db closes. */
  background: Promise<unknown>[];
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

    // 7 price
    const price = priceCall({
      provider: call.upstream.id,
      model: modelAnswered ?? call.request.facts.model,
      requestedModel: call.request.facts.model,
      usage,
      at: new Date(call.startedAt),
      overrides: call.overrides,
      ...(call.unpricedFallback ? { unpricedFallback: call.unpricedFallback } : {}),
    });

    // 8–10 settle, record, alert: one group commit (src/proxy/commit.ts)
    const a = call.attribution;
    const reservation = call.admission.reservation;
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
            }
          : null,
        record,
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
