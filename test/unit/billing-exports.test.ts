/**
 * Stripe meter events and CloudEvents from real records (real Postgres; Stripe is the local double
 * under test/stripe-double/, which enforces Stripe's documented field rules): v1 and v2 pushes add up
 * to the billed records per customer; a record exported twice counts once downstream; 500 and 429
 * are retried, a 400 is not, a refused key stops the push with the cursor in place; the v2 session
 * is renewed before it expires and at once when Stripe says it expired; ≤ 100 events per stream
 * request; records too recent to be final, unmapped, unrated, free or outside Stripe's 35-day window
 * are passed over. The CloudEvents of a period are the period's records, paged in order.
 */
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { accounts, requestRecords } from "../../schema";
import { periodCloudEvents } from "../../src/billing/exports/cloudevents";
import { pushWith, replayFrom } from "../../src/billing/exports/push";
import { type StripeTarget, stripeSender } from "../../src/billing/exports/stripe";
import { monthOf } from "../../src/billing/zone";
import { randomToken } from "../../src/lib/ids";
import { type StripeDouble, startStripeDouble } from "../stripe-double/server";
import { startTestPostgres, type TestPostgres } from "./budgets-stack";
import { type RecordRow, record } from "./reports-fixtures";

let p: TestPostgres;
beforeAll(async () => {
  p = await startTestPostgres();
}, 90_000);
afterAll(async () => {
  await p?.stop();
});

const CUSTOMERS = { acme: "cus_acme", globex: "cus_globex" };

/** An account with `rows`, inserted "long enough ago" by Postgres's own clock (the push's lag). */
async function accountWith(rows: (accountId: string) => RecordRow[], insertedAgo = "2 minutes") {
  const accountId = `acc_${randomToken(8)}`;
  await p.db.insert(accounts).values({ id: accountId, name: "export test" });
  const all = rows(accountId);
  for (let i = 0; i < all.length; i += 500) await p.db.insert(requestRecords).values(all.slice(i, i + 500));
  await p.db.execute(
    sql`update request_records set created_at = now() - ${insertedAgo}::interval where account_id = ${accountId}`,
  );
  return { accountId, rows: all };
}

const recent = (i: number) => new Date(Date.now() - 3_600_000 + i * 1000);
function billedRows(accountId: string, n: number, tenant = "acme"): RecordRow[] {
  return Array.from({ length: n }, (_, i) =>
    record(accountId, {
      id: `req_${randomToken(12)}`,
      tenant,
      costNano: BigInt(1000 + i),
      billedNano: BigInt(1_234_567 + i * 1001),
      startedAt: recent(i),
    }),
  );
}
const sum = (rows: RecordRow[], tenant: string) =>
  rows.filter((r) => r.tenant === tenant).reduce((s, r) => s + (r.billedNano ?? 0n), 0n);

function target(d: StripeDouble, api: "v1" | "v2", over: Partial<StripeTarget> = {}): StripeTarget {
  return {
    secretKey: d.secretKey,
    api,
    apiBaseUrl: d.url,
    meterEventsBaseUrl: d.url,
    eventName: "tollgate_billed_nano_usd",
    customerKey: "stripe_customer_id",
    valueKey: "value",
    ...over,
  };
}

const push = (accountId: string, t: StripeTarget, doFetch: typeof fetch = fetch) =>
  pushWith(p.db, accountId, { customers: CUSTOMERS }, stripeSender(t, doFetch), 10_000);

describe("Stripe v1 meter events", () => {
  it("adds up to the billed records per customer, one event per record with Stripe's field rules", async () => {
    const d = await startStripeDouble();
    try {
      const { accountId, rows } = await accountWith((a) => [
        ...billedRows(a, 30, "acme"),
        ...billedRows(a, 7, "globex"),
        ...billedRows(a, 3, "nobody"),
        record(a, { id: `req_${randomToken(12)}`, tenant: "acme", billedNano: null, startedAt: recent(1) }),
        record(a, { id: `req_${randomToken(12)}`, tenant: "acme", billedNano: 0n, startedAt: recent(2) }),
        record(a, {
          id: `req_${randomToken(12)}`,
          tenant: "acme",
          billedNano: 5n,
          startedAt: new Date(Date.now() - 40 * 86_400_000),
        }),
      ]);
      const r = await push(accountId, target(d, "v1"));
      expect(r).toMatchObject({ sent: 37, duplicates: 0, rejected: 0, caughtUp: true, error: null });
      expect(r.skipped).toEqual({ unmapped: 3, unrated: 1, zero: 1, tooOld: 1 });
      expect(d.total("cus_acme")).toBe(sum(rows.slice(0, 30), "acme"));
      expect(d.total("cus_globex")).toBe(sum(rows, "globex"));
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const e of d.events) {
        const row = byId.get(e.identifier)!;
        expect(e.value).toBe(row.billedNano);
        expect(e.timestampMs).toBe(Math.floor(row.startedAt.getTime() / 1000) * 1000);
        expect(e.eventName).toBe("tollgate_billed_nano_usd");
      }
      // Nothing left: a second push sends nothing.
      expect(await push(accountId, target(d, "v1"))).toMatchObject({ sent: 0, duplicates: 0, caughtUp: true });
      const [cursor] = await p.db
        .execute(sql`select exported, record_id from export_cursors where account_id = ${accountId}`)
        .then((x) => (x as unknown as { rows: { exported: number; record_id: string }[] }).rows);
      expect(cursor!.exported).toBe(37);
    } finally {
      await d.close();
    }
  });

  it("the same record exported twice counts once downstream (a replay is harmless)", async () => {
    const d = await startStripeDouble();
    try {
      const { accountId, rows } = await accountWith((a) => billedRows(a, 12));
      expect((await push(accountId, target(d, "v1"))).sent).toBe(12);
      await replayFrom(p.db, accountId, 0);
      const again = await push(accountId, target(d, "v1"));
      // Within a day Stripe answers from its idempotency cache (idempotent-replayed: true) …
      expect(again).toMatchObject({ sent: 0, duplicates: 12, rejected: 0, error: null });
      expect(d.events).toHaveLength(12);
      // … later it refuses the identifier with a 400, which is not retried and counts as delivered.
      d.forgetIdempotencyKeys();
      await replayFrom(p.db, accountId, 0);
      const later = await push(accountId, target(d, "v1"));
      expect(later).toMatchObject({ sent: 0, duplicates: 12, rejected: 0, requests: 12, error: null });
      expect(d.requests.filter((q) => q.status === 400)).toHaveLength(12);
      expect(d.events).toHaveLength(12);
      expect(d.total("cus_acme")).toBe(sum(rows, "acme"));
    } finally {
      await d.close();
    }
  });

  it("retries 500 and 429 with backoff; a 400 is final for its event; a refused key stops the push", async () => {
    const d = await startStripeDouble();
    try {
      const { accountId, rows } = await accountWith((a) => billedRows(a, 10));
      d.fail(500, 2);
      d.fail(429, 1);
      const r = await push(accountId, target(d, "v1"));
      expect(r).toMatchObject({ sent: 10, rejected: 0, error: null });
      expect(r.requests).toBe(13);
      expect(d.total("cus_acme")).toBe(sum(rows, "acme"));

      const more = await accountWith((a) => billedRows(a, 5));
      d.fail(400, 1);
      const r2 = await push(more.accountId, target(d, "v1"));
      expect(r2).toMatchObject({ sent: 4, rejected: 1, error: null, requests: 5 });

      // Down for longer than the retries: the push stops, the cursor stays, the next push sends them.
      const third = await accountWith((a) => billedRows(a, 3));
      d.fail(503, 4 * 3);
      const down = await push(third.accountId, target(d, "v1"));
      expect(down.sent).toBe(0);
      expect(down.error).toMatch(/503/);
      const up = await push(third.accountId, target(d, "v1"));
      expect(up).toMatchObject({ sent: 3, error: null });

      const fourth = await accountWith((a) => billedRows(a, 2));
      const refused = await push(fourth.accountId, target(d, "v1", { secretKey: "sk_test_wrong" }));
      expect(refused).toMatchObject({ sent: 0, rejected: 0, caughtUp: false });
      expect(refused.error).toMatch(/401/);
      expect((await push(fourth.accountId, target(d, "v1"))).sent).toBe(2);
    } finally {
      await d.close();
    }
  }, 30_000);

  it("leaves records inserted within the last minute for the next push (a slower flush may still commit older ones)", async () => {
    const d = await startStripeDouble();
    try {
      const { accountId } = await accountWith((a) => billedRows(a, 3), "0 seconds");
      expect(await push(accountId, target(d, "v1"))).toMatchObject({ sent: 0, caughtUp: true });
      expect(d.requests).toHaveLength(0);
    } finally {
      await d.close();
    }
  });
});

describe("Stripe v2 meter event stream", () => {
  it("≤ 100 events per request on one 15-minute session; a replay counts once", async () => {
    const d = await startStripeDouble();
    try {
      const { accountId, rows } = await accountWith((a) => [...billedRows(a, 230), ...billedRows(a, 20, "globex")]);
      const r = await push(accountId, target(d, "v2"));
      expect(r).toMatchObject({ sent: 250, rejected: 0, sessions: 1, error: null });
      const streams = d.requests.filter((q) => q.path === "/v2/billing/meter_event_stream");
      expect(streams.map((q) => q.status)).toEqual([200, 200, 200]);
      expect(d.total("cus_acme")).toBe(sum(rows, "acme"));
      expect(d.total("cus_globex")).toBe(sum(rows, "globex"));

      await replayFrom(p.db, accountId, 0);
      expect((await push(accountId, target(d, "v2"))).sent).toBe(250);
      // Stripe's stream takes them and drops the duplicates asynchronously: still counted once.
      expect(d.events).toHaveLength(250);
      expect(d.asyncErrors.filter((e) => e.code === "duplicate_meter_event")).toHaveLength(250);
      expect(d.total("cus_acme")).toBe(sum(rows, "acme"));
    } finally {
      await d.close();
    }
  });

  it("renews the session a minute before it expires, and at once when Stripe says it expired", async () => {
    // Tokens living 30 s: always inside the minute's margin, so every batch takes a fresh one.
    const short = await startStripeDouble({ sessionTtlMs: 30_000 });
    const d = await startStripeDouble();
    try {
      const a = await accountWith((acc) => billedRows(acc, 250));
      const r = await push(a.accountId, target(short, "v2"));
      expect(r).toMatchObject({ sent: 250, sessions: 3 });
      expect(short.requests.filter((q) => q.status === 401)).toHaveLength(0);

      // A 15-minute token Stripe expires after the first batch: one 401, one renewal, nothing lost.
      const b = await accountWith((acc) => billedRows(acc, 250));
      let streams = 0;
      const expiring: typeof fetch = async (input, init) => {
        const res = await fetch(input, init);
        if (String(input).endsWith("/meter_event_stream") && ++streams === 1) d.expireSessions();
        return res;
      };
      const r2 = await push(b.accountId, target(d, "v2"), expiring);
      expect(r2).toMatchObject({ sent: 250, sessions: 2, error: null });
      const statuses = d.requests.filter((q) => q.path.endsWith("/meter_event_stream")).map((q) => q.status);
      expect(statuses).toEqual([200, 401, 200, 200]);
      expect(d.total("cus_acme")).toBe(sum(b.rows, "acme"));
    } finally {
      await Promise.all([short.close(), d.close()]);
    }
  });
});

describe("the Stripe double enforces Stripe's rules", () => {
  it("auth, required fields, whole-number values, the timestamp window, ≤ 100 per stream request", async () => {
    const d = await startStripeDouble();
    try {
      const v1 = (body: Record<string, string>, key = d.secretKey) =>
        fetch(`${d.url}/v1/billing/meter_events`, {
          method: "POST",
          headers: { authorization: `Bearer ${key}`, "content-type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams(body),
        });
      const good = { event_name: "m", "payload[stripe_customer_id]": "cus_1", "payload[value]": "5", identifier: "a" };
      expect((await v1(good, "sk_nope")).status).toBe(401);
      const missing = await v1({ ...good, event_name: "" });
      expect(missing.status).toBe(400);
      expect(((await missing.json()) as { error: { type: string; param: string } }).error).toMatchObject({
        type: "invalid_request_error",
        param: "event_name",
      });
      expect((await v1({ ...good, "payload[value]": "1.5" })).status).toBe(400);
      const now = Math.floor(Date.now() / 1000);
      expect((await v1({ ...good, timestamp: String(now - 36 * 86_400) })).status).toBe(400);
      expect((await v1({ ...good, timestamp: String(now + 600) })).status).toBe(400);
      expect((await v1(good)).status).toBe(200);
      const dup = await v1(good);
      expect(dup.status).toBe(400);
      expect(dup.headers.get("stripe-should-retry")).toBe("false");
      expect(d.total("cus_1")).toBe(5n);

      const session = (await (
        await fetch(`${d.url}/v2/billing/meter_event_session`, {
          method: "POST",
          headers: { authorization: `Bearer ${d.secretKey}` },
        })
      ).json()) as { authentication_token: string; expires_at: string };
      expect(Date.parse(session.expires_at) - Date.now()).toBeGreaterThan(14 * 60_000);
      const stream = (events: unknown[]) =>
        fetch(`${d.url}/v2/billing/meter_event_stream`, {
          method: "POST",
          headers: { authorization: `Bearer ${session.authentication_token}`, "content-type": "application/json" },
          body: JSON.stringify({ events }),
        });
      const ev = (i: number) => ({
        event_name: "m",
        identifier: `v2_${i}`,
        timestamp: new Date().toISOString(),
        payload: { stripe_customer_id: "cus_2", value: "1" },
      });
      expect((await stream(Array.from({ length: 101 }, (_, i) => ev(i)))).status).toBe(400);
      expect((await stream(Array.from({ length: 100 }, (_, i) => ev(i)))).status).toBe(200);
      expect(d.total("cus_2")).toBe(100n);
      d.expireSessions();
      const expired = await stream([ev(200)]);
      expect(expired.status).toBe(401);
      expect(((await expired.json()) as { error: { code: string } }).error.code).toBe(
        "billing_meter_event_session_expired",
      );
    } finally {
      await d.close();
    }
  });
});

describe("CloudEvents of a period", () => {
  it("the month's records in order, paged, with the tenant as subject and integer amounts", async () => {
    const month = monthOf("UTC", Date.now());
    const inMonth = (i: number) => new Date(month.startMs + 3_600_000 + i * 60_000);
    const { accountId, rows } = await accountWith((a) => [
      ...Array.from({ length: 5 }, (_, i) =>
        record(a, {
          id: `req_${randomToken(10)}`,
          tenant: "acme",
          costNano: 100n,
          billedNano: 120n,
          startedAt: inMonth(i),
        }),
      ),
      record(a, { id: `req_${randomToken(10)}`, tenant: "acme", startedAt: new Date(month.startMs - 1000) }),
    ]);
    const first = await periodCloudEvents(p.db, accountId, { period: month.key, limit: 3 });
    const rest = await periodCloudEvents(p.db, accountId, { period: month.key, limit: 3, after: first.at(-1)!.id });
    expect([...first, ...rest].map((e) => e.id)).toEqual(rows.slice(0, 5).map((r) => r.id));
    expect(first[0]).toMatchObject({
      specversion: "1.0",
      source: `tollgate://${accountId}`,
      type: "tollgate.llm.usage.v1",
      subject: "acme",
      datacontenttype: "application/json",
      time: rows[0]!.startedAt.toISOString(),
    });
    expect(first[0]!.data).toMatchObject({ cost_nano: 100, billed_nano: 120 });
  });
});
