/**
 * Settle (design step 8), after the response, inside waitUntil: one script call drops the call's
 * hold, adds its actual cost on every rule it was counted under, returns each alert threshold
 * crossed for the first time this period — and hands the room it frees to the calls waiting on
 * those rules (src/budgets/admit.ts). Idempotent per reservation: a retried settle is a no-op.
 */
import { runScript, type ScriptRedis } from "../lib/redis";
import { lifetimeSeconds, type Reservation } from "./admit";
import { budgetKeys } from "./keys";
import { COUNTER_GRACE_SECONDS, type Period } from "./periods";
import { list, named, num, str } from "./replies";
import type { Mode, ScopeType } from "./rules";
import { SETTLE_SCRIPT } from "./scripts";

const SETTLED_MARK_TTL_SECONDS = COUNTER_GRACE_SECONDS;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

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

export interface SettleResult {
  crossed: Crossing[];
  duplicate: boolean;
  /** Waiting calls this settle admitted with the room it freed. */
  handedOff: number;
}

export async function settle(redis: ScriptRedis, input: SettleInput): Promise<SettleResult> {
  const r = input.reservation;
  const actual = BigInt(input.actualCostNano);
  if (actual < 0n || actual > MAX_SAFE) throw new RangeError(`actual cost ${actual} nano-USD is out of range`);
  const tokenDelta = Math.round(input.actualTokens) - r.estimatedTokens;
  // Nothing to count: no rule applied and the token window needs no correction.
  if (r.rules.length === 0 && tokenDelta === 0) return { crossed: [], duplicate: false, handedOff: 0 };
  const args: string[] = [
    r.id,
    r.amountNano,
    actual.toString(),
    String(SETTLED_MARK_TTL_SECONDS),
    String(tokenDelta),
    budgetKeys.prefix(r.accountId),
    String(input.now),
    String(r.rules.length),
  ];
  for (const e of r.rules) {
    const lifetime = e.expireAt === 0 ? "0" : String(lifetimeSeconds(e.expireAt, input.now));
    args.push(e.budgetId, e.member, e.periodKey, e.mode, e.alerts, lifetime);
  }
  const reply = named(
    await runScript(redis, SETTLE_SCRIPT, [budgetKeys.settled(r.accountId, r.id), r.tpmWindowKey], args),
  );
  if (str(reply, "status") === "duplicate") return { crossed: [], duplicate: true, handedOff: 0 };
  const crossed: Crossing[] = [];
  for (const c of list(reply, "crossed")) {
    const budgetId = str(c, "rule");
    const member = str(c, "member");
    const e = r.rules.find((x) => x.budgetId === budgetId && x.member === member);
    if (!e) continue;
    const pct = num(c, "pct");
    crossed.push({
      eventId: `${budgetId}:${str(c, "period_key")}:${pct}:${member}`,
      accountId: r.accountId,
      budgetId,
      scopeType: e.scopeType,
      scopeId: e.scopeType === "account" ? null : e.scopeId,
      value: e.value,
      period: e.period,
      periodKey: str(c, "period_key"),
      mode: e.mode,
      thresholdPct: pct,
      capNano: e.capNano,
      spentNano: BigInt(str(c, "spent")),
      requestId: input.requestId,
      at: input.now,
    });
  }
  return { crossed, duplicate: false, handedOff: num(reply, "handed_off") };
}
