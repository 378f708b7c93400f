/**
 * Budgets: the one surface the rest of Tollgate uses. Hot path (design steps 3 and 8):
 *
 *   const r = await admit(redis, { keyHash, attribution, worstCaseNano, estimatedTokens, now, maxWaitMs }, { db });
 *   if (r.kind !== "allowed") throw admissionError(r, now, keyId);  // 401 / 402 / 429, provider's shape
 *   … forward, with budgetHeaders(r) on the response …
 *   waitUntil: const { crossed } = await settle(redis, { reservation: r.reservation, requestId, actualCostNano, actualTokens, now });
 *              await deliverAlerts(crossed, …)   (src/alerts)
 *
 * The protocol (hold, wait, hand-off, settle, expiry) is in src/budgets/README.md; the Redis layout
 * in keys.ts; the Lua in scripts.ts; what applies to a call in rules.ts; the UTC calendar in periods.ts.
 */
export type {
  AdmitDeps,
  AdmitInput,
  AdmitResult,
  BudgetDenial,
  LimitSource,
  Reservation,
  ReservedRule,
  UnpricedDenial,
} from "./admit";
export { admit, DEFAULT_MAX_WAIT_MS, DEFAULT_RESERVATION_TTL_MS, MAX_WAIT_LIMIT_MS } from "./admit";
export { admissionError, budgetHeaders } from "./denial";
export {
  applicableWithStatus,
  createRule,
  deleteRule,
  listRuleRows,
  type RuleInput,
  type RuleRow,
  type RuleWithStatus,
  requireRule,
  updateRule,
  withStatus,
} from "./manage";
export type { Period } from "./periods";
export { PERIODS } from "./periods";
export type { BudgetAttribution, BudgetRule, Mode, ScopeType } from "./rules";
export { DEFAULT_ALERT_AT, MAX_CAP_NANO, MODES, SCOPE_TYPES } from "./rules";
export type { Crossing, SettleInput, SettleResult } from "./settle";
export { settle } from "./settle";
export { budgetStatus, type RuleStatus } from "./status";
export {
  loadKeyIntoRedis,
  loadRulesIntoRedis,
  markKeyRevoked,
  syncScopeToRedis,
  writeRulesToRedis,
} from "./store";
