/**
 * Admission (design step 3): one script call before forwarding. The script re-checks the key,
 * applies its rate limits, and for every hard rule that applies decides:
 *   - fits now                → the worst case is held on all of them at once: admitted;
 *   - can never fit           → settled spend + this call's worst case > cap: refused at once;
 *   - fits once holds settle  → the call waits (bounded: the request's x-tollgate-max-wait-ms, else
 *                               the key's setting, else 5 s; 0 = refuse at once).
 * A waiting call is queued in Redis and its Worker blocks on one list (BLPOP). The settle that
 * frees enough room holds the worst case for it and pushes "ok" there, so the woken call is
 * already admitted; when the wait runs out the call makes one last attempt, which also takes a
 * hand-off that raced the timeout. Redis calls of a waiting call: admit (queued), BLPOP, and only
 * when no hand-off came, one last admit.
 *
 * A prepaid tenant's wallet is checked and held in the same script call (docs/billing.md §5): its
 * settled balance must cover the call's rated worst case (else 402 insufficient_credits at once),
 * and holds in flight make the call wait for room exactly as a budget's do.
 */
import { nowMs } from "../lib/clock";
import type { Db } from "../lib/db";
import { randomToken } from "../lib/ids";
import { runScript, type ScriptRedis } from "../lib/redis";
import { redisKeys } from "../lib/redis-keys";
import { denialMessage, unpricedMessage } from "./denial";
import { budgetKeys } from "./keys";
import { COUNTER_GRACE_SECONDS, counterExpireAt, type Period, periodWindow } from "./periods";
import { big, list, type Named, named, num, str } from "./replies";
import { type BudgetAttribution, type Mode, SCOPE_TYPES, type ScopeType, scopeValue } from "./rules";
import { ADMIT_SCRIPT } from "./scripts";
import { loadKeyIntoRedis, loadRulesIntoRedis } from "./store";

/** How long an unsettled hold keeps counting (a Worker that died never settles). */
export const DEFAULT_RESERVATION_TTL_MS = 15 * 60_000;
/** How long a call may wait for holds in flight when neither the request nor its key says. */
export const DEFAULT_MAX_WAIT_MS = 5_000;
/** The most a request may ask to wait (x-tollgate-max-wait-ms). */
export const MAX_WAIT_LIMIT_MS = 30_000;
const RATE_WINDOW_MS = 60_000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** A key that must outlive a settle this late still gets this long (it is never written already expired). */
const MIN_LIFETIME_SECONDS = 60;

export interface AdmitInput {
  /** SHA-256 of the gateway key (Identity.keyHash). */
  keyHash: string;
  attribution: BudgetAttribution;
  /** The most the call can cost, nano-USD (src/proxy/admit.ts worstCase). */
  worstCaseNano: bigint | number;
  /** Tokens the call counts against the key's tokens-per-minute limit now; settle corrects to the actual. */
  estimatedTokens: number;
  now: number;
  reservationTtlMs?: number;
  /** How long this call may wait for holds in flight, ms; undefined: the key's setting; 0: refuse at once. */
  maxWaitMs?: number;
  /**
   * A tighter worst case can be had (the provider's exact input count): when this one would make
   * the call wait or be refused, answer { kind: "tighten" } without writing anything.
   */
  probe?: boolean;
  /** Set when nothing can price the model (and no fallback price is set): refused under any hard rule. */
  unpriced?: { provider: string; model: string };
  /**
   * The tenant's wallet, checked when the tenant is prepaid (the script knows): the call's rated
   * worst case under the tenant's plan (src/billing/rating.ts ratedWorstNano); `unrated`: the plan
   * cannot rate the call (its price depends on a cost nothing can compute), so a prepaid tenant's
   * call is refused.
   */
  wallet?: { tenant: string; ratedWorstNano: bigint; unrated: boolean };
}

export interface AdmitDeps {
  /** Postgres, opened only when Redis lacks the key's hash or the account's rules (then one retry). */
  db?: () => Db;
  /** BLPOP: the first element pushed to `key` within `timeoutMs`, or null. Default: through `redis`. */
  blockingPop?: (key: string, timeoutMs: number) => Promise<string | null>;
  /**
   * Rebuilds from Postgres what the wallet check needs when Redis lacks it: the account's index of
   * prepaid tenants ("index") or one tenant's wallet ("wallet") — src/billing/store.ts.
   */
  loadWallet?: (what: "index" | "wallet", accountId: string, tenant: string) => Promise<void>;
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
  /** Exactly what was held on every hard rule, nano-USD, decimal string. */
  amountNano: string;
  estimatedTokens: number;
  tpmWindowKey: string;
  admittedAt: number;
  rules: ReservedRule[];
  /** The prepaid tenant's wallet hold (exactly what was held, nano-USD, decimal string); null: no wallet. */
  wallet: { tenant: string; heldNano: string } | null;
}

/** Where a refusal came from: the rule, its scope and the call's value for it. */
export interface LimitSource {
  budgetId: string;
  scopeType: ScopeType;
  /** The rule's scope id; null for the account; "*" for a per-value rule. */
  scopeId: string | null;
  /** The call's value for the scope type ("" for the account). */
  value: string;
  period: Period;
  periodKey: string;
}

export interface BudgetDenial extends LimitSource {
  kind: "denied";
  capNano: bigint;
  spentNano: bigint;
  reservedNano: bigint;
  worstCaseNano: bigint;
  /** The rule's throttle mark (nano-USD), 0 when it has none. */
  throttleNano: bigint;
  /**
   * over_cap: the worst case alone exceeds the cap; cap: settled spend + worst case exceeds it (it
   * cannot fit this period); in_flight: it fits once holds in flight settle, but the wait ran out
   * (or was 0); throttled: past the rule's throttle mark calls go one at a time, and the wait ran out.
   */
  reason: "cap" | "over_cap" | "in_flight" | "throttled";
  /** How long the call waited before this answer. */
  waitedMs: number;
  message: string;
}

export interface UnpricedDenial extends LimitSource {
  kind: "unpriced";
  message: string;
}

/** A prepaid tenant's wallet cannot cover the call's rated worst case (docs/billing.md §5). */
export interface WalletDenial {
  kind: "insufficient_credits";
  tenant: string;
  /** balance: settled credit cannot cover it (a grant is needed); in_flight: holds in flight leave too little, and the wait ran out. */
  reason: "balance" | "in_flight";
  settledNano: bigint;
  reservedNano: bigint;
  availableNano: bigint;
  requiredNano: bigint;
  waitedMs: number;
}

/** A prepaid tenant's plan cannot rate the call (its model is unpriced): not forwarded. */
export interface WalletUnpricedDenial {
  kind: "wallet_unpriced";
  tenant: string;
}

export type AdmitResult =
  | {
      kind: "allowed";
      reservation: Reservation;
      /** The tightest room left on a hard rule after this hold; null: no hard rule applies (or unknown after a hand-off). */
      remainingNano: bigint | null;
      /** How long the call waited for holds in flight (0: admitted at once). */
      waitedMs: number;
    }
  | BudgetDenial
  | UnpricedDenial
  | WalletDenial
  | WalletUnpricedDenial
  /** Only with `probe`: the call would wait or be refused on this worst case; admit again with a tighter one. */
  | { kind: "tighten"; reason: BudgetDenial["reason"] | WalletDenial["reason"] }
  | {
      kind: "rate_limited";
      limit: "requests_per_minute" | "tokens_per_minute";
      limitValue: number;
      retryAfterSeconds: number;
      message: string;
    }
  | { kind: "key_unknown" }
  | { kind: "key_revoked" };

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

function limitSource(r: Named): LimitSource {
  const scopeType = str(r, "scope_type") as ScopeType;
  return {
    budgetId: str(r, "rule"),
    scopeType,
    scopeId: scopeType === "account" ? null : str(r, "scope_id"),
    value: str(r, "value"),
    period: str(r, "period") as Period,
    periodKey: str(r, "period_key"),
  };
}

export async function admit(redis: ScriptRedis, input: AdmitInput, deps: AdmitDeps = {}): Promise<AdmitResult> {
  const worst = BigInt(input.worstCaseNano);
  if (worst < 0n || worst > MAX_SAFE) throw new RangeError(`worst case ${worst} nano-USD is out of range`);
  const { accountId, keyId } = input.attribution;
  const ttlMs = input.reservationTtlMs ?? DEFAULT_RESERVATION_TTL_MS;
  const reservationId = randomToken(20);
  const pairs = attributionPairs(input.attribution);
  const tokens = Math.max(0, Math.ceil(input.estimatedTokens));
  const maxWait =
    input.maxWaitMs === undefined ? -1 : Math.max(0, Math.min(MAX_WAIT_LIMIT_MS, Math.floor(input.maxWaitMs)));

  // Everything the script needs depends on `now` (periods, the rate window, the hold's expiry).
  const attempt = (now: number, final: boolean) => {
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
    const args = [
      String(now),
      reservationId,
      worst.toString(),
      String(tokens),
      String(ttlMs),
      budgetKeys.prefix(accountId),
      String(now % RATE_WINDOW_MS),
      ...periodArgs,
      String(Math.ceil(ttlMs / 1000) + COUNTER_GRACE_SECONDS),
      String(maxWait),
      input.unpriced ? "1" : "0",
      final ? "1" : "0",
      input.probe && !final ? "1" : "0",
      input.wallet?.tenant ?? "",
      (input.wallet?.ratedWorstNano ?? 0n).toString(),
      input.wallet?.unrated ? "1" : "0",
      String(pairs.length / 2),
      ...pairs,
    ];
    return { keys, run: async () => named(await runScript(redis, ADMIT_SCRIPT, keys, args)) };
  };

  const first = attempt(input.now, false);
  let reply = await first.run();
  // Redis lost (or never had) what the script needs: copy each piece from Postgres once, retrying.
  const loaded = new Set<string>();
  for (;;) {
    const missing = str(reply, "status");
    if (loaded.has(missing)) break;
    loaded.add(missing);
    if (missing === "key_unknown" && deps.db) {
      if (!(await loadKeyIntoRedis(redis, deps.db(), input.keyHash))) return { kind: "key_unknown" };
    } else if (missing === "rules_unknown" && deps.db) {
      await loadRulesIntoRedis(redis, deps.db(), accountId, input.now);
    } else if ((missing === "wallets_unknown" || missing === "wallet_unknown") && deps.loadWallet && input.wallet) {
      await deps.loadWallet(missing === "wallets_unknown" ? "index" : "wallet", accountId, input.wallet.tenant);
    } else {
      break;
    }
    reply = await first.run();
  }

  let now = input.now;
  let waitedMs = 0;
  let handedOff = false;
  // A waiter's wallet hold, should a settle hand it one: what the first answer said it would be.
  const waiterWalletHeld = reply.status === "wait" ? str(reply, "wallet_held") : "";
  if (reply.status === "wait") {
    const started = nowMs();
    const pop = deps.blockingPop ?? ((key, ms) => blpop(redis, key, ms));
    const woke = await pop(budgetKeys.wake(accountId, reservationId), num(reply, "wait_ms"));
    waitedMs = nowMs() - started;
    now = input.now + waitedMs;
    if (woke === "ok") {
      handedOff = true;
    } else {
      // Out of time (or told it can never fit): one last attempt, which also takes a hand-off
      // that came after the pop returned, and otherwise leaves the queues.
      reply = await attempt(now, true).run();
    }
  }

  const status = str(reply, "status");
  switch (status) {
    case "key_unknown":
    case "key_revoked":
      return { kind: status };
    case "rules_unknown":
      throw new Error(`budget rules of account ${accountId} are not in Redis and no database was given to load them`);
    case "wallets_unknown":
    case "wallet_unknown":
      throw new Error(`wallets of account ${accountId} are not in Redis and nothing was given to load them`);
    case "insufficient_credits": {
      const settledNano = big(reply, "settled");
      const reservedNano = big(reply, "reserved");
      return {
        kind: "insufficient_credits",
        tenant: input.wallet!.tenant,
        reason: str(reply, "reason") as WalletDenial["reason"],
        settledNano,
        reservedNano,
        availableNano: settledNano - reservedNano,
        requiredNano: big(reply, "required"),
        waitedMs,
      };
    }
    case "wallet_unpriced":
      return { kind: "wallet_unpriced", tenant: input.wallet!.tenant };
    case "rate_limited": {
      const which = str(reply, "limit");
      const limitValue = num(reply, "limit_value");
      const waitMs = num(reply, "wait_ms");
      const never = waitMs < 0;
      const retryAfterSeconds = never ? 60 : Math.max(1, Math.ceil(waitMs / 1000));
      const message = never
        ? `Rate limit: this call's ${input.estimatedTokens} estimated tokens exceed this key's limit of ${limitValue} tokens per minute on their own.`
        : `Rate limit: this key allows ${limitValue} ${which === "rpm" ? "requests" : "tokens"} per minute; retry in ${retryAfterSeconds} s.`;
      return {
        kind: "rate_limited",
        limit: which === "rpm" ? "requests_per_minute" : "tokens_per_minute",
        limitValue,
        retryAfterSeconds,
        message,
      };
    }
    case "tighten":
      return { kind: "tighten", reason: str(reply, "reason") as BudgetDenial["reason"] | WalletDenial["reason"] };
    case "unpriced": {
      const source = limitSource(reply);
      const { provider, model } = input.unpriced!;
      return { kind: "unpriced", ...source, message: unpricedMessage(source, model, provider, accountId) };
    }
    case "denied": {
      const d = {
        kind: "denied" as const,
        ...limitSource(reply),
        capNano: big(reply, "cap"),
        spentNano: big(reply, "spent"),
        reservedNano: big(reply, "reserved"),
        throttleNano: big(reply, "throttle"),
        worstCaseNano: worst,
        reason: str(reply, "reason") as BudgetDenial["reason"],
        waitedMs,
      };
      return { ...d, message: denialMessage(d, now) };
    }
    case "ok":
    case "wait": {
      // "wait" here: woken with "ok" by a settle that already holds the worst case for this call.
      const remaining = status === "ok" ? num(reply, "remaining") : -1;
      const walletHeld = handedOff || reply.handed_off ? waiterWalletHeld : str(reply, "wallet_held");
      return {
        kind: "allowed",
        remainingNano: remaining < 0 || handedOff ? null : BigInt(str(reply, "remaining")),
        waitedMs,
        reservation: {
          id: reservationId,
          accountId,
          keyId,
          amountNano: worst.toString(),
          estimatedTokens: tokens,
          tpmWindowKey: first.keys[4]!,
          admittedAt: now,
          rules: list(reply, "entries").map((e) => ({
            budgetId: str(e, "rule"),
            scopeType: str(e, "scope_type") as ScopeType,
            scopeId: str(e, "scope_id"),
            value: str(e, "value"),
            member: str(e, "member"),
            period: str(e, "period") as Period,
            periodKey: str(e, "period_key"),
            capNano: big(e, "cap"),
            mode: str(e, "mode") as Mode,
            alerts: str(e, "alerts"),
            expireAt: counterExpireAt(periodWindow(str(e, "period") as Period, input.now)) ?? 0,
          })),
          wallet: walletHeld && input.wallet ? { tenant: input.wallet.tenant, heldNano: walletHeld } : null,
        },
      };
    }
    default:
      throw new Error(`the admit script answered ${JSON.stringify(reply)}`);
  }
}

/**
 * BLPOP through the REST client. A blocking command holds its HTTP request until an element
 * arrives or the timeout passes (Upstash serves it, as the local endpoint does, on a connection
 * of its own); the reply is [list, element] or null.
 */
async function blpop(redis: ScriptRedis, key: string, timeoutMs: number): Promise<string | null> {
  const seconds = Math.max(0.001, timeoutMs / 1000).toFixed(3);
  const reply = (await redis.exec(["BLPOP", key, seconds])) as [string, string] | null;
  return Array.isArray(reply) ? String(reply[1]) : null;
}
