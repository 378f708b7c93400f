/**
 * The Redis layout of wallets and rating state. Every key carries the account's hash tag (the
 * prefix of src/budgets/keys.ts), so the admission and settle scripts may touch them beside the
 * budget counters in one atomic call.
 *
 *   tg:{acc}:wallets              hash    `__v` = loaded; tenant → "1" for every prepaid tenant (ever granted)
 *   tg:{acc}:w:<tenant>           hash    the wallet: `__v` loaded, `reserved` (Σ holds), `debt` (overage
 *                                         not yet invoiced), `seq` (top-up crossings), grants
 *                                         `g|<priority>|<expires>|<created>|<id>|<effective>` → remaining
 *                                         nano (the field sorts in draw-down order, docs/billing.md §3),
 *                                         thresholds `a|<nano>` → "1" armed / "0" fired, `depleted`,
 *                                         `topup` = "<threshold>|<amount>|<cooldown s>", `topup_armed`
 *   tg:{acc}:wz:<tenant>          zset    holds "<ticket>|<nano>" scored by expiry ms (swept like budget holds)
 *   tg:{acc}:wq:<tenant>          zset    tickets of calls waiting for the wallet, by arrival ms
 *   tg:{acc}:wc:<tenant>          string  top-up cooldown (SET NX EX)
 *   tg:{acc}:rs:<period>:<plan version>:<tenant>   hash  rating state: hi, lo (markup/unit) or q
 *   tg:{acc}:bills                hash    request id → "billed|overage|plan version|grant:nano,…", read by
 *                                         the record flush (src/records/record.ts)
 */
import { budgetKeys } from "../budgets/keys";

export const billingKeys = {
  walletIndex: (accountId: string) => `${budgetKeys.prefix(accountId)}wallets`,
  wallet: (accountId: string, tenant: string) => `${budgetKeys.prefix(accountId)}w:${tenant}`,
  ratingState: (accountId: string, periodKey: string, planVersion: string, tenant: string) =>
    `${budgetKeys.prefix(accountId)}rs:${periodKey}:${planVersion}:${tenant}`,
  bills: (accountId: string) => `${budgetKeys.prefix(accountId)}bills`,
};

/** Never-expiring grants sort after every dated one. */
const NEVER = "9999999999999999";
const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** A grant's wallet field: its draw-down order is the field's sort order. */
export function grantField(g: {
  id: string;
  priority: number;
  expiresAtMs: number | null;
  createdAtMs: number;
  effectiveAtMs: number;
}): string {
  return `g|${pad(g.priority, 6)}|${g.expiresAtMs === null ? NEVER : pad(g.expiresAtMs, 16)}|${pad(g.createdAtMs, 16)}|${g.id}|${pad(g.effectiveAtMs, 16)}`;
}

/** The grant id inside a wallet field. */
export const grantIdOfField = (field: string): string | null =>
  /^g\|\d+\|\d+\|\d+\|([^|]+)\|\d+$/.exec(field)?.[1] ?? null;
