/**
 * Budget rules and how the hot path finds them.
 *
 * A rule caps the spend of one scope over one period. Scope: `account` (the whole account), or a
 * type (`tenant feature key user env workflow`) with an id — or `*`, "each one separately": a `*`
 * tenant rule gives every tenant its own counter. A tenant's own rule for a period replaces the `*`
 * rule of that period for that tenant ("every tenant gets $5/month unless it has its own rule");
 * `*` rules of other periods still apply. A call with no value for a type (no tenant header) is
 * not under that type's rules.
 *
 * In Redis (tg:{acc}:rules:v2, one hash per account) each field is one scope — `account|`,
 * `tenant|acme`, `tenant|*` — and its value every rule of that scope, encoded for Lua:
 * `id,period,capNano,mode,throttleNano,pct:thresholdNano/pct:thresholdNano;id,…` (throttleNano 0:
 * no throttle). The admission script asks
 * for at most 13 fields with one HMGET (O(fields asked), not O(rules)), so an account with ten
 * thousand per-tenant rules costs a call no more than one with two. The field `__v` says the hash
 * is loaded; when it is missing (a new Redis, a flush, an eviction) the script answers
 * `rules_unknown` and the caller rebuilds the hash from Postgres (loadRulesIntoRedis).
 */
import type { Period } from "./periods";

export const SCOPE_TYPES = ["account", "tenant", "feature", "key", "user", "env", "workflow"] as const;
export type ScopeType = (typeof SCOPE_TYPES)[number];
export const MODES = ["hard", "soft"] as const;
export type Mode = (typeof MODES)[number];
export const DEFAULT_ALERT_AT = [50, 80, 100];

/** Caps stay below 2^53 nano-USD (~9 million USD) so Lua's doubles hold them exactly. */
export const MAX_CAP_NANO = 9_000_000_000_000_000n;

export interface BudgetRule {
  id: string;
  accountId: string;
  scopeType: ScopeType;
  /** null for `account`, `*` for "each one separately", else the scope's id. */
  scopeId: string | null;
  period: Period;
  capNano: bigint;
  mode: Mode;
  /** Percent thresholds, ascending. */
  alertAt: number[];
  /**
   * Percent of the cap past which calls under this rule are admitted one at a time (no two holds
   * at once), so the last of the budget is used exactly instead of refused in a burst; null: never.
   */
  throttleAt?: number | null;
}

/** Who a call is for: the account and key (from identify) and the attribution headers. */
export interface BudgetAttribution {
  accountId: string;
  keyId: string;
  tenant?: string | null;
  feature?: string | null;
  user?: string | null;
  /** x-tollgate-env, else the key's environment, else "production" (src/proxy/attribute.ts). */
  environment?: string | null;
  workflow?: string | null;
}

/** The value a call has for a scope type; null: the call is not under that type's rules. */
export function scopeValue(type: ScopeType, a: BudgetAttribution): string | null {
  switch (type) {
    case "account":
      return "";
    case "key":
      return a.keyId;
    case "env":
      return a.environment ?? null;
    default:
      return a[type] ?? null;
  }
}

/** The Redis hash field of a scope. */
export const scopeField = (type: ScopeType, id: string | null) => `${type}|${id ?? ""}`;

/** The nano-USD amount at which `pct` percent of `capNano` is reached (rounded up). */
export function thresholdNano(capNano: bigint, pct: number): bigint {
  const num = capNano * BigInt(Math.round(pct * 100));
  return (num + 9_999n) / 10_000n;
}

export function encodeRule(rule: BudgetRule): string {
  const alerts = rule.alertAt.map((p) => `${p}:${thresholdNano(rule.capNano, p)}`).join("/");
  const throttle = rule.throttleAt ? thresholdNano(rule.capNano, rule.throttleAt) : 0n;
  return `${rule.id},${rule.period},${rule.capNano},${rule.mode},${throttle},${alerts}`;
}

/** Every field of an account's rules hash (without `__v`). */
export function encodeRulesIndex(rules: BudgetRule[]): Record<string, string> {
  const fields: Record<string, string[]> = {};
  for (const rule of rules) {
    const f = scopeField(rule.scopeType, rule.scopeId);
    const list = fields[f] ?? [];
    list.push(encodeRule(rule));
    fields[f] = list;
  }
  return Object.fromEntries(Object.entries(fields).map(([f, list]) => [f, list.sort().join(";")]));
}

/** A rule that applies to a call, and the counter it uses: `_` for a rule of one scope, else the value. */
export interface AppliedRule {
  rule: BudgetRule;
  /** The concrete scope id the call is counted under ("" for account). */
  value: string;
  /** Field of the rule's counters: `_` for a rule with its own id, the value for a `*` rule. */
  member: string;
}

/**
 * The TypeScript mirror of the admission script's rule lookup (used by GET /v1/budgets and tests;
 * the hot path runs the Lua in scripts.ts).
 */
export function applicableRules(rules: BudgetRule[], a: BudgetAttribution): AppliedRule[] {
  const out: AppliedRule[] = [];
  for (const type of SCOPE_TYPES) {
    const value = scopeValue(type, a);
    if (value === null) continue;
    if (type === "account") {
      for (const rule of rules) if (rule.scopeType === "account") out.push({ rule, value, member: "_" });
      continue;
    }
    const own = value === "*" ? [] : rules.filter((r) => r.scopeType === type && r.scopeId === value);
    const ownPeriods = new Set(own.map((r) => r.period));
    for (const rule of own) out.push({ rule, value, member: "_" });
    for (const rule of rules) {
      if (rule.scopeType === type && rule.scopeId === "*" && !ownPeriods.has(rule.period)) {
        out.push({ rule, value, member: value });
      }
    }
  }
  return out;
}

/** "tenant \"acme\"", "each feature (now \"chat\")", "the account". */
export function describeScope(type: ScopeType, scopeId: string | null, value?: string): string {
  if (type === "account") return "the account";
  if (scopeId === "*") return value !== undefined ? `${type} "${value}" (the per-${type} rule "*")` : `each ${type}`;
  return `${type} "${scopeId}"`;
}
