/**
 * Budgets on the hot path: admit (design step 3) before forwarding, settle (step 8) after the
 * response, in one Redis script call each. See rules.ts (what applies), periods.ts (UTC calendar),
 * keys.ts (the Redis layout) and scripts.ts (the Lua).
 *
 *   const r = await admit(redis, { keyHash, attribution, worstCaseNano, estimatedTokens, now }, { db });
 *   if (r.kind !== "allowed") throw admissionError(r);          // 401 / 402 / 429 in the provider's shape
 *   … forward, with budgetHeaders(r) on the response …
 *   waitUntil: const { crossed } = await settle(redis, { reservation: r.reservation, requestId, actualCostNano, actualTokens, now });
 *              await deliverAlerts(crossed, { db, config, fetch });   (src/alerts)
 */
import type { Redis } from "@upstash/redis/cloudflare";
import type { Db } from "../lib/db";
import { GatewayError } from "../lib/errors";
import { randomToken } from "../lib/ids";
import { nanoToUsd } from "../lib/money";
import { runScript } from "../lib/redis";
import { redisKeys } from "../lib/redis-keys";
import { budgetKeys } from "./keys";
import { COUNTER_GRACE_SECONDS, counterExpireAt, describePeriod, type Period, periodWindow } from "./periods";
import { type BudgetAttribution, describeScope, type Mode, SCOPE_TYPES, type ScopeType, scopeValue } from "./rules";
import { ADMIT_SCRIPT, SETTLE_SCRIPT } from "./scripts";
import { loadKeyIntoRedis, loadRulesIntoRedis } from "./store";

export type { Period } from "./periods";
export type { BudgetAttribution, BudgetRule, Mode, ScopeType } from "./rules";

/** How long an unsettled reservation keeps counting (a Worker that died never settles). */
export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;
const SETTLED_MARK_TTL_SECONDS = COUNTER_GRACE_SECONDS;
const RATE_WINDOW_MS = 60_000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

export interface AdmitInput {
  /** SHA-256 of the gateway key (Identity.keyHash). */
  keyHash: string;
  attribution: BudgetAttribution;
  /** Worst-case cost of the call (worstCaseCostNano). */
  worstCaseNano: bigint | number;
  /** Tokens the call counts against the key's tokens-per-minute limit now; settle corrects to the actual. */
  estimatedTokens: number;
  now: number;
  reservationTtlMs?: number;
}

export interface AdmitDeps {
  /** Postgres, opened only when Redis lacks the key's hash or the account's rules (then one retry). */
  db?: () => Db;
}

/** A rule the call was counted under; settle needs it back. */
export interface ReservedRule {
  budgetId: string;
  scopeType: ScopeType;
  /** The rule's scope id: "" for account, "*" for a per-value rule, else the id. */
  scopeId: string;
  /** The call's value for the scope type. */
  value: string;
  /** Counter field: "_" or, for a `*` rule, the value. */
  member: string;
  period: Period;
  periodKey: string;
  capNano: bigint;
  mode: Mode;
  /** "pct:thresholdNano/…" as stored. */
  alerts: string;
  /** When the period's counters may go, unix seconds by the admitting Worker's clock; 0 = never. */
  expireAt: number;
}

export interface Reservation {
  id: string;
  accountId: string;
  keyId: string;
  /** Exactly what was reserved on every hard rule, nano-USD, decimal string. */
  amountNano: string;
  estimatedTokens: number;
  tpmWindowKey: string;
  admittedAt: number;
  rules: ReservedRule[];
}

export interface BudgetDenial {
  kind: "denied";
  budgetId: string;
  scopeType: ScopeType;
  scopeId: string | null;
  value: string;
  period: Period;
  periodKey: string;
  capNano: bigint;
  spentNano: bigint;
  reservedNano: bigint;
  worstCaseNano: bigint;
  /** cap: the call does not fit in what is left; over_cap: its worst case alone exceeds the cap. */
  reason: "cap" | "over_cap";
  message: string;
}

export type AdmitResult =
  | {
      kind: "allowed";
      reservation: Reservation;
      /** The tightest room left on a hard rule after this reservation; null: no hard rule applies. */
      remainingNano: bigint | null;
    }
  | BudgetDenial
  | {
      kind: "rate_limited";
      limit: "requests_per_minute" | "tokens_per_minute";
      limitValue: number;
      retryAfterSeconds: number;
      message: string;
    }
  | { kind: "key_unknown" }
  | { kind: "key_revoked" };

type AdmitReply =
  | ["key_unknown"]
  | ["key_revoked"]
  | ["rules_unknown"]
  | ["rate_limited", "rpm" | "tpm", number, number]
  | ["denied", string, string, string, string, string, string, string, number, number, string]
  | ["ok", number, string[][]];

const usd = (nano: bigint | number) => `$${nanoToUsd(nano)}`;

/** A key that must outlive a settle this late still gets this long (it is never written already expired). */
const MIN_LIFETIME_SECONDS = 60;

/**
 * Seconds from `now` until `expireAt` (unix s, by the same clock as `now`). Redis is given this
 * lifetime rather than the instant: it counts it from its own clock, so a Worker whose clock is
 * off from Redis's by seconds or minutes (or a test that fixes the Worker's clock) still writes
 * keys that live as long as they should.
 */
export function lifetimeSeconds(expireAt: number, now: number): number {
  return Math.max(MIN_LIFETIME_SECONDS, expireAt - Math.floor(now / 1000));
}

function attributionPairs(a: BudgetAttribution): string[] {
  const out: string[] = [];
  for (const type of SCOPE_TYPES) {
    const v = scopeValue(type, a);
    if (v !== null) out.push(type, v);
  }
  return out;
}

export async function admit(redis: Redis, input: AdmitInput, deps: AdmitDeps = {}): Promise<AdmitResult> {
  const worst = BigInt(input.worstCaseNano);
  if (worst < 0n || worst > MAX_SAFE) throw new RangeError(`worst case ${worst} nano-USD is out of range`);
  const { accountId, keyId } = input.attribution;
  const now = input.now;
  const ttlMs = input.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const minute = Math.floor(now / RATE_WINDOW_MS);
  const keys = [
    redisKeys.gatewayKey(input.keyHash),
    budgetKeys.rules(accountId),
    budgetKeys.rateWindow(accountId, keyId, "r", minute),
    budgetKeys.rateWindow(accountId, keyId, "r", minute - 1),
    budgetKeys.rateWindow(accountId, keyId, "t", minute),
    budgetKeys.rateWindow(accountId, keyId, "t", minute - 1),
  ];
  const periodArgs: string[] = [];
  for (const p of ["day", "week", "month"] as const) {
    const w = periodWindow(p, now);
    periodArgs.push(w.key, String(lifetimeSeconds(counterExpireAt(w)!, now)));
  }
  const reservationId = randomToken(20);
  const pairs = attributionPairs(input.attribution);
  const args = [
    String(now),
    reservationId,
    worst.toString(),
    String(Math.max(0, Math.ceil(input.estimatedTokens))),
    String(now + ttlMs),
    budgetKeys.prefix(accountId),
    String(now % RATE_WINDOW_MS),
    ...periodArgs,
    String(Math.ceil(ttlMs / 1000) + COUNTER_GRACE_SECONDS),
    String(pairs.length / 2),
    ...pairs,
  ];

  let reply = await runScript<AdmitReply>(redis, ADMIT_SCRIPT, keys, args);
  if ((reply[0] === "key_unknown" || reply[0] === "rules_unknown") && deps.db) {
    // Redis lost (or never had) what the script needs: copy it from Postgres, then retry once.
    const db = deps.db();
    if (reply[0] === "key_unknown" && !(await loadKeyIntoRedis(redis, db, input.keyHash))) {
      return { kind: "key_unknown" };
    }
    reply = await runScript<AdmitReply>(redis, ADMIT_SCRIPT, keys, args);
    if (reply[0] === "rules_unknown") {
      await loadRulesIntoRedis(redis, db, accountId, now);
      reply = await runScript<AdmitReply>(redis, ADMIT_SCRIPT, keys, args);
    }
  }

  switch (reply[0]) {
    case "key_unknown":
    case "key_revoked":
      return { kind: reply[0] };
    case "rules_unknown":
      throw new Error(`budget rules of account ${accountId} are not in Redis and no database was given to load them`);
    case "rate_limited": {
      const [, which, limitValue, waitMs] = reply;
      const limit = which === "rpm" ? "requests_per_minute" : "tokens_per_minute";
      const never = waitMs < 0;
      const retryAfterSeconds = never ? 60 : Math.max(1, Math.ceil(Number(waitMs) / 1000));
      const message = never
        ? `Rate limit: this call's ${input.estimatedTokens} estimated tokens exceed this key's limit of ${limitValue} tokens per minute on their own.`
        : `Rate limit: this key allows ${limitValue} ${which === "rpm" ? "requests" : "tokens"} per minute; retry in ${retryAfterSeconds} s.`;
      return { kind: "rate_limited", limit, limitValue: Number(limitValue), retryAfterSeconds, message };
    }
    case "denied": {
      const [, budgetId, scopeType, scopeId, value, period, periodKey, cap, spent, reserved, reason] = reply;
      const d = {
        kind: "denied" as const,
        budgetId,
        scopeType: scopeType as ScopeType,
        scopeId: scopeType === "account" ? null : scopeId,
        value,
        period: period as Period,
        periodKey,
        capNano: BigInt(cap),
        spentNano: BigInt(spent),
        reservedNano: BigInt(reserved),
        worstCaseNano: worst,
        reason: reason as "cap" | "over_cap",
      };
      return { ...d, message: denialMessage(d, now) };
    }
    case "ok": {
      const [, remaining, entries] = reply;
      return {
        kind: "allowed",
        remainingNano: Number(remaining) < 0 ? null : BigInt(remaining),
        reservation: {
          id: reservationId,
          accountId,
          keyId,
          amountNano: worst.toString(),
          estimatedTokens: Number(args[3]),
          tpmWindowKey: keys[4]!,
          admittedAt: now,
          rules: entries.map((e) => ({
            budgetId: e[0]!,
            scopeType: e[1] as ScopeType,
            scopeId: e[2]!,
            value: e[3]!,
            member: e[4]!,
            period: e[5] as Period,
            periodKey: e[6]!,
            capNano: BigInt(e[7]!),
            mode: e[8] as Mode,
            alerts: e[9]!,
            expireAt: counterExpireAt(periodWindow(e[5] as Period, now)) ?? 0,
          })),
        },
      };
    }
  }
}

function denialMessage(d: Omit<BudgetDenial, "message">, now: number): string {
  const scope = describeScope(d.scopeType, d.scopeId, d.value);
  const period = describePeriod({ ...periodWindow(d.period, now), key: d.periodKey });
  if (d.reason === "over_cap") {
    return `Budget exceeded: this call could cost up to ${usd(d.worstCaseNano)}, more than the whole cap of ${scope}: ${usd(d.capNano)} for ${period} (spent ${usd(d.spentNano)}). Lower max_tokens or raise budget ${d.budgetId}.`;
  }
  const inFlight = d.reservedNano > 0n ? ` and ${usd(d.reservedNano)} reserved by calls in flight` : "";
  return `Budget exceeded: ${scope} has spent ${usd(d.spentNano)}${inFlight} of its ${usd(d.capNano)} cap for ${period}; this call could cost up to ${usd(d.worstCaseNano)} (budget ${d.budgetId}).`;
}

/** The error the proxy throws for a refused admission (rendered once, in the provider's shape). */
export function admissionError(result: Exclude<AdmitResult, { kind: "allowed" }>): GatewayError {
  switch (result.kind) {
    case "denied":
      return new GatewayError("budget_exceeded", result.message);
    case "rate_limited":
      return new GatewayError("rate_limited", result.message, { "retry-after": String(result.retryAfterSeconds) });
    case "key_unknown":
      return new GatewayError("authentication", "Unknown Tollgate key.");
    case "key_revoked":
      return new GatewayError("authentication", "This Tollgate key has been revoked.");
  }
}

/** Response headers for an admitted call: the tightest remaining hard budget, in USD. */
export function budgetHeaders(result: AdmitResult): Record<string, string> {
  if (result.kind !== "allowed" || result.remainingNano === null) return {};
  return { "x-tollgate-budget-remaining": nanoToUsd(result.remainingNano) };
}

export interface Crossing {
  /** Stable per rule, scope value, period and threshold: the alert's idempotency key. */
  eventId: string;
  accountId: string;
  budgetId: string;
  scopeType: ScopeType;
  scopeId: string | null;
  value: string;
  period: Period;
  periodKey: string;
  mode: Mode;
  thresholdPct: number;
  capNano: bigint;
  spentNano: bigint;
  /** The call that crossed it. */
  requestId: string;
  at: number;
}

export interface SettleInput {
  reservation: Reservation;
  /**
   * The settling call's record id (x-tollgate-request-id): an alert names the call that crossed
   * its threshold. Given here, not at admission, because the id is assigned while the call is in
   * flight.
   */
  requestId: string;
  /** The call's actual cost (0 for an unpriced or failed call). */
  actualCostNano: bigint | number;
  /** The call's actual tokens (input + output), to correct the tokens-per-minute window. */
  actualTokens: number;
  now: number;
}

type SettleReply = ["duplicate"] | ["ok", [string, string, string, number, number][]];

export async function settle(redis: Redis, input: SettleInput): Promise<{ crossed: Crossing[]; duplicate: boolean }> {
  const r = input.reservation;
  const actual = BigInt(input.actualCostNano);
  if (actual < 0n || actual > MAX_SAFE) throw new RangeError(`actual cost ${actual} nano-USD is out of range`);
  const tokenDelta = Math.round(input.actualTokens) - r.estimatedTokens;
  // Nothing to count: no rule applied and the token window needs no correction.
  if (r.rules.length === 0 && tokenDelta === 0) return { crossed: [], duplicate: false };
  const args: string[] = [
    r.id,
    r.amountNano,
    actual.toString(),
    String(SETTLED_MARK_TTL_SECONDS),
    String(tokenDelta),
    budgetKeys.prefix(r.accountId),
    String(r.rules.length),
  ];
  for (const e of r.rules) {
    const lifetime = e.expireAt === 0 ? "0" : String(lifetimeSeconds(e.expireAt, input.now));
    args.push(e.budgetId, e.member, e.periodKey, e.mode, e.alerts, lifetime);
  }
  const reply = await runScript<SettleReply>(
    redis,
    SETTLE_SCRIPT,
    [budgetKeys.settled(r.accountId, r.id), r.tpmWindowKey],
    args,
  );
  if (reply[0] === "duplicate") return { crossed: [], duplicate: true };
  const crossed: Crossing[] = [];
  for (const [budgetId, member, periodKey, pct, spent] of reply[1]) {
    const e = r.rules.find((x) => x.budgetId === budgetId && x.member === member);
    if (!e) continue;
    crossed.push({
      eventId: `${budgetId}:${periodKey}:${pct}:${member}`,
      accountId: r.accountId,
      budgetId,
      scopeType: e.scopeType,
      scopeId: e.scopeType === "account" ? null : e.scopeId,
      value: e.value,
      period: e.period,
      periodKey,
      mode: e.mode,
      thresholdPct: Number(pct),
      capNano: e.capNano,
      spentNano: BigInt(spent),
      requestId: input.requestId,
      at: input.now,
    });
  }
  return { crossed, duplicate: false };
}

/** Rates in nano-USD per million tokens (as the pricing module gives them). */
export interface WorstCaseRates {
  input: bigint | number | string;
  output: bigint | number | string;
  /** Input-side rates a prompt may be billed at instead of `input` (the highest one counts). */
  cacheWrite?: bigint | number | string | null;
  cacheWrite1h?: bigint | number | string | null;
  inputAudio?: bigint | number | string | null;
  /** Output-side alternative. */
  outputAudio?: bigint | number | string | null;
}

const big = (v: bigint | number | string | null | undefined): bigint => {
  if (v === null || v === undefined) return 0n;
  if (typeof v === "number") return BigInt(Math.ceil(v));
  return BigInt(v);
};

/**
 * The most a call can cost: every input token at the highest input-side rate, max output tokens
 * at the highest output-side rate, rounded UP to a whole nano-USD (a reservation is never below
 * the truth).
 */
export function worstCaseCostNano(p: {
  estimatedInputTokens: number;
  maxOutputTokens: number;
  rates: WorstCaseRates;
}): bigint {
  // biome-ignore lint/complexity/useMathMinMax: bigint, which Math.max does not take
  const maxOf = (...xs: bigint[]) => xs.reduce((a, b) => (b > a ? b : a), 0n);
  const inRate = maxOf(big(p.rates.input), big(p.rates.cacheWrite), big(p.rates.cacheWrite1h), big(p.rates.inputAudio));
  const outRate = maxOf(big(p.rates.output), big(p.rates.outputAudio));
  const micro =
    BigInt(Math.ceil(Math.max(0, p.estimatedInputTokens))) * inRate +
    BigInt(Math.ceil(Math.max(0, p.maxOutputTokens))) * outRate;
  return (micro + 999_999n) / 1_000_000n;
}

export { loadKeyIntoRedis, loadRulesIntoRedis, syncScopeToRedis } from "./store";
