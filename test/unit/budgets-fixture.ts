/** Accounts, keys and rules written straight into Redis, as the admin API would leave them. */
import type { Redis } from "@upstash/redis/cloudflare";
import { type AdmitInput, admit, settle } from "../../src/budgets";
import type { Period } from "../../src/budgets/periods";
import { type BudgetRule, DEFAULT_ALERT_AT, type Mode, type ScopeType } from "../../src/budgets/rules";
import { writeRulesToRedis } from "../../src/budgets/store";
import { randomToken } from "../../src/lib/ids";
import { usdToNano } from "../../src/lib/money";
import { redisKeys } from "../../src/lib/redis-keys";

export interface RuleSpec {
  scope: ScopeType;
  id?: string | null;
  period?: Period;
  capUsd: string;
  mode?: Mode;
  alertAt?: number[];
  throttleAt?: number;
}

export interface Fixture {
  accountId: string;
  keyId: string;
  keyHash: string;
  rules: BudgetRule[];
  input(
    over?: Partial<AdmitInput> & { tenant?: string; feature?: string; user?: string; workflow?: string },
  ): AdmitInput;
}

export async function fixture(
  redis: Redis,
  specs: RuleSpec[],
  opts: { now?: number; rpm?: number; tpm?: number } = {},
): Promise<Fixture> {
  const accountId = `acc_${randomToken(12)}`;
  const keyId = `key_${randomToken(12)}`;
  const keyHash = randomToken(40);
  const rules: BudgetRule[] = specs.map((s, i) => ({
    id: `bud_${i}${randomToken(6)}`,
    accountId,
    scopeType: s.scope,
    scopeId: s.scope === "account" ? null : (s.id ?? "*"),
    period: s.period ?? "month",
    capNano: usdToNano(s.capUsd),
    mode: s.mode ?? "hard",
    alertAt: s.alertAt ?? DEFAULT_ALERT_AT,
    throttleAt: s.throttleAt ?? null,
  }));
  await redis.hset(redisKeys.gatewayKey(keyHash), {
    id: keyId,
    account: accountId,
    env: "production",
    name: "test",
    revoked: "0",
    rpm: String(opts.rpm ?? 0),
    tpm: String(opts.tpm ?? 0),
    lim: "1",
  });
  await writeRulesToRedis(redis, accountId, rules, opts.now ?? Date.now());
  return {
    accountId,
    keyId,
    keyHash,
    rules,
    input: (over = {}) => {
      const { tenant, feature, user, workflow, ...rest } = over;
      return {
        keyHash,
        attribution: {
          accountId,
          keyId,
          tenant: tenant ?? null,
          feature: feature ?? null,
          user: user ?? null,
          environment: "production",
          workflow: workflow ?? null,
        },
        worstCaseNano: usdToNano("0.01"),
        estimatedTokens: 100,
        now: Date.now(),
        ...rest,
      };
    },
  };
}

/** admit, then (if allowed) settle with the given actual cost, as the call `requestId`. */
export async function call(redis: Redis, input: AdmitInput, actualNano: bigint) {
  const requestId = `req_${randomToken(10)}`;
  const a = await admit(redis, input);
  if (a.kind !== "allowed") return { requestId, admitted: a, settled: null };
  const s = await settle(redis, {
    reservation: a.reservation,
    requestId,
    actualCostNano: actualNano,
    actualTokens: 100,
    now: input.now,
  });
  return { requestId, admitted: a, settled: s };
}
