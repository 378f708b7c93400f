/**
 * Wallet events, delivered through the account's alert channels (src/alerts: signed webhooks,
 * email) like budget crossings (docs/billing.md §6):
 *
 *   wallet.balance_dropped   the settle that took the balance below a low-balance threshold
 *   wallet.depleted          the settle that took it to zero or below
 *   wallet.recovered         a grant lifted it back to a threshold (which is armed again)
 *   wallet.topup_requested   the balance crossed the top-up rule's threshold: grant `amountUsd`
 *
 * Each fires once per crossing: the settle script disarms a threshold when it fires and only a
 * grant re-arms it. A top-up request carries `idempotencyKey` = wallet:<tenant>:<crossing seq>; the
 * receiver grants with that key (its `grant` field is the request to make), so a replayed webhook
 * gets 409 instead of a second grant (src/billing/grants.ts).
 */
import { and, eq, sql } from "drizzle-orm";
import { tenantBilling } from "../../schema/billing";
import type { AccountEvent } from "../alerts";
import type { TopUpRequest, WalletEvent } from "../budgets/settle";
import type { Db } from "../lib/db";
import { nanoToUsd } from "../lib/money";
import type { Recovery } from "./grants";

const usd = (n: bigint) => `$${nanoToUsd(n)}`;

export function walletEvents(
  accountId: string,
  tenant: string,
  requestId: string,
  events: WalletEvent[],
  at: number,
): AccountEvent[] {
  return events.map((e) => {
    const type = e.kind === "depleted" ? "wallet.depleted" : "wallet.balance_dropped";
    const message =
      e.kind === "depleted"
        ? `Tenant "${tenant}" has used up its credit: balance ${usd(e.balanceNano)}.`
        : `Tenant "${tenant}"'s credit fell below ${usd(e.thresholdNano)}: balance ${usd(e.balanceNano)}.`;
    return {
      id: `wallet:${tenant}:${e.kind}:${e.thresholdNano}:${requestId}`,
      type,
      createdAt: new Date(at).toISOString(),
      accountId,
      tenant,
      thresholdUsd: nanoToUsd(e.thresholdNano),
      balanceUsd: nanoToUsd(e.balanceNano),
      requestId,
      message,
      subject: e.kind === "depleted" ? `Credit used up: ${tenant}` : `Low credit: ${tenant}`,
    };
  });
}

export function recoveryEvents(
  accountId: string,
  tenant: string,
  grantId: string,
  recovered: Recovery[],
  at: number,
): AccountEvent[] {
  return recovered.map((r) => ({
    id: `wallet:${tenant}:recovered:${r.thresholdNano}:${grantId}`,
    type: "wallet.recovered",
    createdAt: new Date(at).toISOString(),
    accountId,
    tenant,
    thresholdUsd: nanoToUsd(r.thresholdNano),
    balanceUsd: nanoToUsd(r.balanceNano),
    grantId,
    message: `Tenant "${tenant}"'s credit is back above ${usd(r.thresholdNano)}: balance ${usd(r.balanceNano)}.`,
    subject: `Credit recovered: ${tenant}`,
  }));
}

export const topUpKey = (tenant: string, seq: number) => `wallet:${tenant}:${seq}`;

export function topUpEvent(
  accountId: string,
  tenant: string,
  t: TopUpRequest,
  requestId: string,
  at: number,
): AccountEvent {
  const idempotencyKey = topUpKey(tenant, t.seq);
  return {
    id: idempotencyKey,
    type: "wallet.topup_requested",
    createdAt: new Date(at).toISOString(),
    accountId,
    tenant,
    idempotencyKey,
    amountUsd: nanoToUsd(t.amountNano),
    thresholdUsd: nanoToUsd(t.thresholdNano),
    balanceUsd: nanoToUsd(t.balanceNano),
    requestId,
    // What to call once the tenant is charged: the same key makes a replay a 409, not a second grant.
    grant: {
      method: "POST",
      path: `/admin/v1/accounts/${accountId}/tenants/${encodeURIComponent(tenant)}/credits`,
      body: { amountUsd: nanoToUsd(t.amountNano), category: "paid", idempotencyKey },
    },
    message: `Tenant "${tenant}"'s credit fell below ${usd(t.thresholdNano)} (balance ${usd(t.balanceNano)}): top up ${usd(t.amountNano)}.`,
    subject: `Top-up requested: ${tenant}`,
  };
}

/** Remembers the highest top-up crossing, so a wallet rebuilt from Postgres never reuses a key. */
export async function recordTopUpSeq(db: Db, accountId: string, tenant: string, seq: number): Promise<void> {
  await db
    .update(tenantBilling)
    .set({ topUpSeq: sql`greatest(${tenantBilling.topUpSeq}, ${seq})` })
    .where(and(eq(tenantBilling.accountId, accountId), eq(tenantBilling.tenant, tenant)));
}

/** The wallet events one settle produced (its crossings and top-up request), for the alert channels. */
export function settleEvents(
  input: { reservation: { accountId: string; wallet: { tenant: string } | null }; requestId: string; now: number },
  result: { walletEvents: WalletEvent[]; topUp: TopUpRequest | null },
): AccountEvent[] {
  const tenant = input.reservation.wallet?.tenant;
  if (!tenant) return [];
  const { accountId } = input.reservation;
  return [
    ...walletEvents(accountId, tenant, input.requestId, result.walletEvents, input.now),
    ...(result.topUp ? [topUpEvent(accountId, tenant, result.topUp, input.requestId, input.now)] : []),
  ];
}
