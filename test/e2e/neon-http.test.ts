/**
 * Neon's HTTP query endpoint as the local relay serves it (scripts/services/ws-relay.ts), driven by
 * the real driver through src/lib/db.ts queryOverHttp — the path of the record flush. The rows must
 * come back as the driver parses Neon's answers (types from the field OIDs), and a Postgres error
 * must surface as the driver's error with its SQLSTATE.
 */
import { sql } from "drizzle-orm";
import { describe, expect, inject, it } from "vitest";
import { queryOverHttp } from "../../src/lib/db";

const stack = inject("stack");
const config = { DATABASE_URL: stack.workerVars.DATABASE_URL!, NEON_WS_PROXY: stack.workerVars.NEON_WS_PROXY! };

describe("one statement over Neon's HTTP endpoint", () => {
  it("sends the parameters and parses each column by its type", async () => {
    const rows = await queryOverHttp<{ n: number; big: string; doc: unknown; t: string; at: Date; nothing: null }>(
      config,
      sql`select ${41}::int + 1 as n, ${"9007199254740993"}::bigint as big, ${JSON.stringify({ a: [1, "x"] })}::jsonb as doc,
          ${"naïve ☃"}::text as t, '2026-01-02T03:04:05Z'::timestamptz as at, null as nothing`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.n).toBe(42);
    // int8 stays a string (beyond 2^53 a number would round), as the driver's default parsers do.
    expect(rows[0]!.big).toBe("9007199254740993");
    expect(rows[0]!.doc).toEqual({ a: [1, "x"] });
    expect(rows[0]!.t).toBe("naïve ☃");
    expect(rows[0]!.at).toEqual(new Date("2026-01-02T03:04:05Z"));
    expect(rows[0]!.nothing).toBeNull();
  });

  it("returns every row of a set, in order", async () => {
    const rows = await queryOverHttp<{ i: number }>(config, sql`select generate_series(1, ${300}::int) as i`);
    expect(rows.map((r) => r.i)).toEqual(Array.from({ length: 300 }, (_, k) => k + 1));
  });

  it("raises a Postgres error with its SQLSTATE, and nothing is written", async () => {
    const table = `neon_http_${Date.now().toString(36)}`;
    await queryOverHttp(config, sql.raw(`create table ${table} (id int primary key)`));
    await queryOverHttp(config, sql.raw(`insert into ${table} values (1)`));
    const err = await queryOverHttp(config, sql.raw(`insert into ${table} values (2), (1)`)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { code?: string }).code).toBe("23505");
    expect(String((err as Error).message)).toMatch(/duplicate key/);
    const rows = await queryOverHttp<{ c: number }>(config, sql.raw(`select count(*)::int as c from ${table}`));
    expect(rows[0]!.c).toBe(1);
    await queryOverHttp(config, sql.raw(`drop table ${table}`));
  });
});
