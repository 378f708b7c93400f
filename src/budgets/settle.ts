/**
 * Settle (design step 8), after the response, inside waitUntil: one script call drops the call's
 * hold, adds its actual cost on every rule it was counted under, returns each alert threshold
 * crossed for the first time this period — and hands the room it frees to the calls waiting on
 * those rules (src/budgets/admit.ts). Idempotent per reservation: a retried settle is a no-op.
 *
 * In the same script: the call is rated under its tenant's plan (the increment of the period price,
 * src/billing/rating.ts) and a prepaid tenant's wallet is debited; the bill is kept in Redis for the
 * record flush (src/records/record.ts), and the wallet thresholds the debit crossed come back.
 */
import { runScript, type ScriptRedis } from "../lib/redis";
import { lifetimeSeconds, type Reservation } from "./admit";
import { budgetKeys } from "./keys";
import { COUNTER_GRACE_SECONDS, type Period } from "./periods";
import { big, list, named, num, str } from "./replies";
import type { Mode, ScopeType } from "./rules";
import { SETTLE_SCRIPT } from "./scripts";

const SETTLED_MARK_TTL_SECONDS = COUNTER_GRACE_SECONDS;
/** Bills wait this long for the record flush that reads them (it runs within a second; the cron every 5 minutes). */
export const BILLS_LIFETIME_SECONDS = 7 * 86_400;
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

/** How the settle rates the call (src/billing/rating.ts) and keeps its bill. */
export interface SettleBilling {
  /** The rating program (ratingProgram); "": billed = the actual cost. */
  program: string;
  /** The tenant's rating state for the call's period and plan (src/billing/keys.ts). */
  stateKey: string;
  /** When the rating state may go, unix seconds by the admitting Worker's clock. */
  stateExpireAt: number;
  planVersion: string;
}

export interface WalletEvent {
  kind: "dropped" | "depleted";
  thresholdNano: bigint;
  balanceNano: bigint;
}

export interface TopUpRequest {
  /** The wallet's crossing sequence: with the tenant, the top-up's idempotency key. */
  seq: number;
  amountNano: bigint;
  thresholdNano: bigint;
  balanceNano: bigint;
}

export interface Bill {
  billedNano: bigint;
  /** What the wallet's grants could not cover (the balance went below zero by it). */
  overageNano: bigint;
  draws: { grantId: string; nano: bigint }[];
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
  /** Rate the call and keep its bill for the record (a tenant with a plan, or a prepaid one). */
  billing?: SettleBilling;
}

export interface SettleResult {
  crossed: Crossing[];
  duplicate: boolean;
  /** Waiting calls this settle admitted with the room it freed. */
  handedOff: number;
  /** The call's bill, when it was rated or debited; null: billed = cost, nothing kept. */
  bill: Bill | null;
  /** The wallet thresholds this debit crossed downward (each once per crossing). */
  walletEvents: WalletEvent[];
  topUp: TopUpRequest | null;
}

const NOTHING: Omit<SettleResult, "duplicate"> = {
  crossed: [],
  handedOff: 0,
  bill: null,
  walletEvents: [],
  topUp: null,
};

export async function settle(redis: ScriptRedis, input: SettleInput): Promise<SettleResult> {
  const r = input.reservation;
  const actual = BigInt(input.actualCostNano);
  if (actual < 0n || actual > MAX_SAFE) throw new RangeError(`actual cost ${actual} nano-USD is out of range`);
  const tokenDelta = Math.round(input.actualTokens) - r.estimatedTokens;
  const billing = input.billing;
  // Nothing to count: no rule applied, the token window needs no correction, nothing to rate or debit.
  if (r.rules.length === 0 && tokenDelta === 0 && !billing && !r.wallet) return { ...NOTHING, duplicate: false };
  const args: string[] = [
    r.id,
    r.amountNano,
    actual.toString(),
    String(SETTLED_MARK_TTL_SECONDS),
    String(tokenDelta),
    budgetKeys.prefix(r.accountId),
    String(input.now),
    r.wallet?.tenant ?? "",
    r.wallet?.heldNano ?? "",
    billing?.program ?? "",
    billing?.stateKey ?? "",
    billing ? String(lifetimeSeconds(billing.stateExpireAt, input.now)) : "0",
    billing || r.wallet ? input.requestId : "",
    String(BILLS_LIFETIME_SECONDS),
    billing?.planVersion ?? "",
    String(r.rules.length),
  ];
  for (const e of r.rules) {
    const lifetime = e.expireAt === 0 ? "0" : String(lifetimeSeconds(e.expireAt, input.now));
    args.push(e.budgetId, e.member, e.periodKey, e.mode, e.alerts, lifetime);
  }
  const reply = named(
    await runScript(redis, SETTLE_SCRIPT, [budgetKeys.settled(r.accountId, r.id), r.tpmWindowKey], args),
  );
  if (str(reply, "status") === "duplicate") return { ...NOTHING, duplicate: true };
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
  const draws = (Array.isArray(reply.draws) ? (reply.draws as string[]) : []).map((d) => {
    const at = String(d).lastIndexOf(":");
    return { grantId: String(d).slice(0, at), nano: BigInt(String(d).slice(at + 1)) };
  });
  const topUp = named(reply.topup);
  return {
    crossed,
    duplicate: false,
    handedOff: num(reply, "handed_off"),
    bill: billing || r.wallet ? { billedNano: big(reply, "billed"), overageNano: big(reply, "overage"), draws } : null,
    walletEvents: list(reply, "wallet_events").map((e) => ({
      kind: str(e, "kind") as WalletEvent["kind"],
      thresholdNano: big(e, "threshold"),
      balanceNano: big(e, "balance"),
    })),
    topUp: topUp.seq
      ? {
          seq: num(topUp, "seq"),
          amountNano: big(topUp, "amount"),
          thresholdNano: big(topUp, "threshold"),
          balanceNano: big(topUp, "balance"),
        }
      : null,
  };
}
