/**
 * The Postgres side of the wallet ledger (docs/billing.md §4). A record's draws (grant → nano) and
 * overage are decided in Redis by the settle script; when the record lands in Postgres, the same
 * statement that inserts it adds them to its grants' drawn_nano and its tenant's overage_nano —
 * counting only rows this statement inserted, so a flush that runs twice adds nothing twice. That
 * keeps what rebuilding a wallet needs (src/billing/store.ts) independent of how long records live.
 *
 * Bills: the settle script keeps each rated call's bill in the account's bills hash
 * (src/billing/keys.ts) under the request id; the record flush reads them (readBills) and puts them
 * on the rows before inserting (applyBill).
 */
import { type SQL, sql } from "drizzle-orm";
import { hashReply, type ScriptRedis } from "../lib/redis";
import { billingKeys } from "./keys";

/** `insertSql` (an INSERT … ON CONFLICT DO NOTHING into request_records) with the ledger updates. */
export function withLedger(insertSql: SQL): SQL {
  return sql`with ins as (${insertSql} returning account_id, tenant, wallet_draws, overage_nano),
drawn as (
  update credit_grants g set drawn_nano = g.drawn_nano + d.nano
  from (
    select ins.account_id, e.key as grant_id, sum(e.value::bigint) as nano
    from ins cross join lateral jsonb_each_text(ins.wallet_draws) e
    where ins.wallet_draws is not null
    group by 1, 2
  ) d
  where g.account_id = d.account_id and g.id = d.grant_id
  returning 1
),
owed as (
  insert into tenant_billing (account_id, tenant, overage_nano)
  select account_id, tenant, sum(overage_nano) from ins
  where overage_nano > 0 and tenant is not null
  group by 1, 2
  on conflict (account_id, tenant) do update set overage_nano = tenant_billing.overage_nano + excluded.overage_nano
  returning 1
)
select count(*)::int as inserted from ins`;
}

export interface Bill {
  billedNano: string;
  overageNano: string;
  planVersion: string;
  draws: Record<string, string>;
}

/** "billed|overage|plan version|grant:nano,…" as the settle script writes it. */
export function parseBill(raw: string): Bill | null {
  const m = /^(-?\d+)\|(\d+)\|([^|]*)\|(.*)$/.exec(raw);
  if (!m) return null;
  const draws: Record<string, string> = {};
  for (const d of m[4] ? m[4].split(",") : []) {
    const at = d.lastIndexOf(":");
    draws[d.slice(0, at)] = d.slice(at + 1);
  }
  return { billedNano: m[1]!, overageNano: m[2]!, planVersion: m[3]!, draws };
}

/** The bills of these records, by account then request id (one HMGET per account, issued together). */
export async function readBills(
  redis: ScriptRedis,
  wanted: { accountId: string; requestId: string }[],
): Promise<Map<string, Bill>> {
  const byAccount = new Map<string, string[]>();
  for (const w of wanted) byAccount.set(w.accountId, [...(byAccount.get(w.accountId) ?? []), w.requestId]);
  const out = new Map<string, Bill>();
  await Promise.all(
    [...byAccount].map(async ([accountId, ids]) => {
      const values = (await redis.exec(["HMGET", billingKeys.bills(accountId), ...ids])) as (string | null)[];
      ids.forEach((id, i) => {
        const bill = values?.[i] ? parseBill(String(values[i])) : null;
        if (bill) out.set(`${accountId}\n${id}`, bill);
      });
    }),
  );
  return out;
}

/** Once the records are in Postgres, their bills can go. */
export async function dropBills(redis: ScriptRedis, wanted: { accountId: string; requestId: string }[]): Promise<void> {
  const byAccount = new Map<string, string[]>();
  for (const w of wanted) byAccount.set(w.accountId, [...(byAccount.get(w.accountId) ?? []), w.requestId]);
  await Promise.all([...byAccount].map(([a, ids]) => redis.exec(["HDEL", billingKeys.bills(a), ...ids])));
}

/** A queued row (JSON under column names) with its bill on it. */
export function applyBill(rowJson: string, bill: Bill): string {
  const row = JSON.parse(rowJson) as Record<string, unknown>;
  row.billed_nano = bill.billedNano;
  row.overage_nano = bill.overageNano;
  row.wallet_draws = Object.keys(bill.draws).length ? bill.draws : null;
  row.plan_version = bill.planVersion || null;
  return JSON.stringify(row);
}

export { hashReply };
