/**
 * A refused admission as the caller sees it: a sentence for people, and the same facts for
 * programs — in the error object of the provider's own shape (beside `type` and `message`, where
 * SDKs keep unknown fields) and in response headers:
 *
 *   limit_source  {scope_type, scope_id, value, rule_id}   which rule refused, for which value
 *   reason        cap | over_cap | in_flight | throttled | unpriced_model | rate limit names
 *   cap_usd, spent_usd, reserved_usd (holds in flight), worst_case_usd (this call), period,
 *   period_key, resets_at (ISO time; null for `total`), waited_ms, retry_after_seconds (only when
 *   waiting could help: in_flight, throttled, rate limits)
 *
 * Headers: x-tollgate-limit-source (`tenant=acme; rule=bud_…`), x-tollgate-limit-reason,
 * x-tollgate-limit-cap-usd, -spent-usd, -reserved-usd, x-tollgate-worst-case-usd,
 * x-tollgate-limit-resets-at, and retry-after when waiting could help.
 */
import { walletDenialError, walletUnpricedError } from "../billing/denial";
import { GatewayError } from "../lib/errors";
import { nanoToUsd } from "../lib/money";
import type { AdmitResult, BudgetDenial, LimitSource, UnpricedDenial } from "./admit";
import { describePeriod, periodWindow } from "./periods";
import { describeScope } from "./rules";

const usd = (nano: bigint | number) => `$${nanoToUsd(nano)}`;

/** Seconds a caller refused for holds in flight should wait before trying again. */
export const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

export function denialMessage(d: Omit<BudgetDenial, "message">, now: number): string {
  const scope = describeScope(d.scopeType, d.scopeId, d.value);
  const period = describePeriod({ ...periodWindow(d.period, now), key: d.periodKey });
  const inFlight = d.reservedNano > 0n ? ` and ${usd(d.reservedNano)} held by calls in flight` : "";
  switch (d.reason) {
    case "over_cap":
      return `Budget exceeded: this call could cost up to ${usd(d.worstCaseNano)}, more than the whole cap of ${scope}: ${usd(d.capNano)} for ${period} (spent ${usd(d.spentNano)}). Lower max_tokens or raise budget ${d.budgetId}.`;
    case "cap":
      return `Budget exceeded: ${scope} has spent ${usd(d.spentNano)}${inFlight} of its ${usd(d.capNano)} cap for ${period}; this call could cost up to ${usd(d.worstCaseNano)} (budget ${d.budgetId}).`;
    case "in_flight":
      return `Budget busy: ${scope} has spent ${usd(d.spentNano)} of its ${usd(d.capNano)} cap for ${period}, and ${usd(d.reservedNano)} is held by calls in flight; this call (up to ${usd(d.worstCaseNano)}) fits once they settle, but did not within ${d.waitedMs} ms. Retry shortly (budget ${d.budgetId}).`;
    case "throttled":
      return `Budget throttled: ${scope} is past the throttle mark of its ${usd(d.capNano)} cap for ${period} (spent ${usd(d.spentNano)}), where calls go one at a time, and the call in flight did not settle within ${d.waitedMs} ms. Retry shortly (budget ${d.budgetId}).`;
  }
}

export function unpricedMessage(
  d: Omit<UnpricedDenial, "message" | "kind">,
  model: string,
  provider: string,
  accountId: string,
): string {
  return `Unpriced model: nothing can price ${provider}/${model}, and ${describeScope(d.scopeType, d.scopeId, d.value)} has a hard budget (${d.budgetId}), so the call was not forwarded. Set its price with PUT /admin/v1/accounts/${accountId}/prices/${provider}/${model}, or a price for every unpriced model with PUT /admin/v1/accounts/${accountId}/settings {"unpricedFallback": {"inputPerMTokUsd": "…", "outputPerMTokUsd": "…"}}.`;
}

function sourceDetails(s: LimitSource): Record<string, unknown> {
  return {
    limit_source: { scope_type: s.scopeType, scope_id: s.scopeId, value: s.value, rule_id: s.budgetId },
    period: s.period,
    period_key: s.periodKey,
  };
}

function resetsAt(s: LimitSource, now: number): string | null {
  const end = periodWindow(s.period, now).endMs;
  return end === null ? null : new Date(end).toISOString();
}

function sourceHeader(s: LimitSource): string {
  const scope = s.scopeType === "account" ? "account" : `${s.scopeType}=${s.value}`;
  return `${scope}; rule=${s.budgetId}`;
}

/** The error the proxy throws for a refused admission (rendered once, in the provider's shape). */
export function admissionError(
  result: Exclude<AdmitResult, { kind: "allowed" } | { kind: "tighten" }>,
  now: number,
  keyId = "",
): GatewayError {
  switch (result.kind) {
    case "denied": {
      const waiting = result.reason === "in_flight" || result.reason === "throttled";
      const resets = resetsAt(result, now);
      const details = {
        ...sourceDetails(result),
        reason: result.reason,
        cap_usd: nanoToUsd(result.capNano),
        spent_usd: nanoToUsd(result.spentNano),
        reserved_usd: nanoToUsd(result.reservedNano),
        worst_case_usd: nanoToUsd(result.worstCaseNano),
        resets_at: resets,
        waited_ms: result.waitedMs,
        ...(waiting ? { retry_after_seconds: IN_FLIGHT_RETRY_AFTER_SECONDS } : {}),
      };
      const headers: Record<string, string> = {
        "x-tollgate-limit-source": sourceHeader(result),
        "x-tollgate-limit-reason": result.reason,
        "x-tollgate-limit-cap-usd": details.cap_usd,
        "x-tollgate-limit-spent-usd": details.spent_usd,
        "x-tollgate-limit-reserved-usd": details.reserved_usd,
        "x-tollgate-worst-case-usd": details.worst_case_usd,
        ...(resets ? { "x-tollgate-limit-resets-at": resets } : {}),
        ...(waiting ? { "retry-after": String(IN_FLIGHT_RETRY_AFTER_SECONDS) } : {}),
      };
      return new GatewayError("budget_exceeded", result.message, headers, undefined, details);
    }
    case "unpriced":
      return new GatewayError(
        "unpriced_model",
        result.message,
        { "x-tollgate-limit-source": sourceHeader(result), "x-tollgate-limit-reason": "unpriced_model" },
        undefined,
        { ...sourceDetails(result), reason: "unpriced_model" },
      );
    case "rate_limited": {
      const details = {
        limit_source: { scope_type: "key", scope_id: keyId, limit: result.limit },
        reason: result.limit,
        limit_value: result.limitValue,
        retry_after_seconds: result.retryAfterSeconds,
      };
      return new GatewayError(
        "rate_limited",
        result.message,
        {
          "retry-after": String(result.retryAfterSeconds),
          "x-tollgate-limit-source": `key=${keyId}; limit=${result.limit}`,
          "x-tollgate-limit-reason": result.limit,
        },
        undefined,
        details,
      );
    }
    case "insufficient_credits":
      return walletDenialError(result);
    case "wallet_unpriced":
      return walletUnpricedError(result);
    case "key_unknown":
      return new GatewayError("authentication", "Unknown Tollgate key.");
    case "key_revoked":
      return new GatewayError("authentication", "This Tollgate key has been revoked.");
  }
}

/** Response headers for an admitted call: the tightest remaining hard budget, and the wait. */
export function budgetHeaders(result: AdmitResult): Record<string, string> {
  if (result.kind !== "allowed") return {};
  return {
    ...(result.remainingNano === null ? {} : { "x-tollgate-budget-remaining": nanoToUsd(result.remainingNano) }),
    ...(result.waitedMs > 0 ? { "x-tollgate-budget-waited-ms": String(result.waitedMs) } : {}),
  };
}
