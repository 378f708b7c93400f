/**
 * A prepaid tenant's refusal, as the caller sees it: 402 `insufficient_credits` in the provider's own
 * error shape (rendered once, by src/lib/errors.ts), with the same machine-readable fields and
 * headers budget refusals carry (src/budgets/denial.ts):
 *
 *   available_nano, required_nano   integers: what the wallet has available and what the call needs
 *                                   held (its rated worst case), as docs/billing.md §5 names them
 *   available_usd, required_usd, settled_usd, reserved_usd (holds in flight), tenant,
 *   reason (balance | in_flight), waited_ms, retry_after_seconds (in_flight only)
 *
 * Headers: x-tollgate-limit-source (`wallet=acme`), x-tollgate-limit-reason,
 * x-tollgate-wallet-available-usd, x-tollgate-wallet-required-usd, retry-after (in_flight only).
 */
import type { WalletDenial, WalletUnpricedDenial } from "../budgets/admit";
import { GatewayError } from "../lib/errors";
import { nanoToUsd } from "../lib/money";

/** Seconds a caller refused for holds in flight should wait before trying again. */
const IN_FLIGHT_RETRY_AFTER_SECONDS = 1;

export function walletDenialMessage(d: WalletDenial): string {
  const usd = (n: bigint) => `$${nanoToUsd(n)}`;
  return d.reason === "balance"
    ? `Insufficient credits: tenant "${d.tenant}" has ${usd(d.settledNano)} of credit, and this call could be billed up to ${usd(d.requiredNano)}. Add a grant: POST …/tenants/${d.tenant}/credits.`
    : `Insufficient credits right now: tenant "${d.tenant}" has ${usd(d.availableNano)} available (${usd(d.reservedNano)} held by calls in flight); this call (up to ${usd(d.requiredNano)}) fits once they settle, but did not within ${d.waitedMs} ms. Retry shortly.`;
}

export function walletDenialError(d: WalletDenial): GatewayError {
  const waiting = d.reason === "in_flight";
  const details = {
    limit_source: { scope_type: "wallet", scope_id: d.tenant, value: d.tenant },
    reason: d.reason,
    tenant: d.tenant,
    available_nano: Number(d.availableNano),
    required_nano: Number(d.requiredNano),
    available_usd: nanoToUsd(d.availableNano),
    required_usd: nanoToUsd(d.requiredNano),
    settled_usd: nanoToUsd(d.settledNano),
    reserved_usd: nanoToUsd(d.reservedNano),
    waited_ms: d.waitedMs,
    ...(waiting ? { retry_after_seconds: IN_FLIGHT_RETRY_AFTER_SECONDS } : {}),
  };
  return new GatewayError(
    "insufficient_credits",
    walletDenialMessage(d),
    {
      "x-tollgate-limit-source": `wallet=${d.tenant}`,
      "x-tollgate-limit-reason": d.reason,
      "x-tollgate-wallet-available-usd": details.available_usd,
      "x-tollgate-wallet-required-usd": details.required_usd,
      ...(waiting ? { "retry-after": String(IN_FLIGHT_RETRY_AFTER_SECONDS) } : {}),
    },
    undefined,
    details,
  );
}

export function walletUnpricedError(d: WalletUnpricedDenial): GatewayError {
  return new GatewayError(
    "unpriced_model",
    `Unpriced model: tenant "${d.tenant}" is prepaid and its plan prices our cost, which nothing can compute for this model, so the call was not forwarded. Set the model's price (PUT …/prices/{provider}/{model}) or an unpriced fallback (PUT …/settings).`,
    { "x-tollgate-limit-source": `wallet=${d.tenant}`, "x-tollgate-limit-reason": "unpriced_model" },
    undefined,
    { limit_source: { scope_type: "wallet", scope_id: d.tenant, value: d.tenant }, reason: "unpriced_model" },
  );
}
