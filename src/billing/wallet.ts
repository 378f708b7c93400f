/**
 * A tenant's wallet as the API shows it (docs/billing.md §4): settled (Σ live grants' remaining −
 * overage not yet invoiced), reserved (holds of calls in flight) and available = settled − reserved,
 * exact, read from the live wallet in Redis (its expired holds swept first); each grant with what is
 * left of it and its state by the gateway's clock. An expired grant's remainder is breakage: it is
 * never drawn, and shown as expired.
 */
import { budgetKeys } from "../budgets/keys";
import { big, named, str } from "../budgets/replies";
import type { Db } from "../lib/db";
import { runScript, type ScriptRedis } from "../lib/redis";
import { type GrantRow, listGrants } from "./grants";
import { WALLET_STATUS_SCRIPT } from "./scripts";
import { loadWallet } from "./store";

export type GrantState = "pending" | "active" | "exhausted" | "expired";

export interface GrantStatus {
  row: GrantRow;
  remainingNano: bigint;
  state: GrantState;
}

export interface WalletStatus {
  /** false: the tenant never received a grant (postpaid: never blocked by a wallet). */
  prepaid: boolean;
  settledNano: bigint;
  reservedNano: bigint;
  availableNano: bigint;
  /** Overage carried until an invoice bills it (the balance is below zero by it, at most). */
  debtNano: bigint;
  /** Σ remaining of expired grants. */
  expiredNano: bigint;
  grants: GrantStatus[];
}

export async function walletStatus(
  stores: { db: Db; redis: ScriptRedis },
  accountId: string,
  tenant: string,
  now: number,
): Promise<WalletStatus> {
  const grants = await listGrants(stores.db, accountId, tenant);
  if (grants.length === 0) {
    return {
      prepaid: false,
      settledNano: 0n,
      reservedNano: 0n,
      availableNano: 0n,
      debtNano: 0n,
      expiredNano: 0n,
      grants: [],
    };
  }
  const read = async () =>
    named(await runScript(stores.redis, WALLET_STATUS_SCRIPT, [], [budgetKeys.prefix(accountId), tenant, String(now)]));
  let reply = await read();
  if (str(reply, "status") === "unloaded") {
    await loadWallet(stores.redis, stores.db, accountId, tenant, now);
    reply = await read();
  }
  const remaining = new Map<string, bigint>();
  const flat = (reply.grants as unknown[]) ?? [];
  for (let i = 0; i + 1 < flat.length; i += 2) remaining.set(String(flat[i]), BigInt(String(flat[i + 1])));
  let expiredNano = 0n;
  const statuses = grants.map((row) => {
    const left = remaining.get(row.id) ?? 0n;
    const expired = row.expiresAt !== null && row.expiresAt.getTime() <= now;
    const state: GrantState = expired
      ? "expired"
      : row.effectiveAt.getTime() > now
        ? "pending"
        : left > 0n
          ? "active"
          : "exhausted";
    if (expired) expiredNano += left;
    return { row, remainingNano: left, state };
  });
  const settledNano = big(reply, "settled");
  const reservedNano = big(reply, "reserved");
  return {
    prepaid: true,
    settledNano,
    reservedNano,
    availableNano: settledNano - reservedNano,
    debtNano: big(reply, "debt"),
    expiredNano,
    grants: statuses,
  };
}
