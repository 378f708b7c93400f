/**
 * Shared by the reports tests: a throwaway Postgres with the migrations applied, a node-postgres
 * drizzle db (the report functions take any drizzle Postgres db), and record builders.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { drizzle } from "drizzle-orm/node-postgres";
import pg from "pg";
import { accounts, requestRecords } from "../../schema";
import { migrateDatabase } from "../../scripts/migrate";
import { freePort } from "../../scripts/services/ports";
import { startPostgres } from "../../scripts/services/postgres";
import type { ReportsDb } from "../../src/reports/db";

export type RecordRow = typeof requestRecords.$inferInsert;

export interface TestDb {
  db: ReportsDb;
  pool: pg.Pool;
  url: string;
  stop(): Promise<void>;
}

export async function startTestDb(): Promise<TestDb> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-reports-"));
  const server = await startPostgres({ port: await freePort(), dir: path.join(dir, "pg"), persist: false });
  await migrateDatabase(server.url);
  const pool = new pg.Pool({ connectionString: server.url, max: 4 });
  // Idle clients see the server go away at stop(); without a listener that would throw.
  pool.on("error", () => {});
  return {
    db: drizzle(pool) as unknown as ReportsDb,
    pool,
    url: server.url,
    stop: async () => {
      await pool.end();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Deterministic pseudo-random numbers (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let seq = 0;
export function record(accountId: string, over: Partial<RecordRow> = {}): RecordRow {
  const startedAt = over.startedAt ?? new Date("2026-03-01T12:00:00Z");
  return {
    id: `req_${++seq}`,
    accountId,
    keyId: "key_1",
    tenant: null,
    feature: null,
    userId: null,
    environment: "production",
    workflow: null,
    tags: {},
    provider: "openai",
    modelRequested: "gpt-4o",
    modelAnswered: "gpt-4o-2024-08-06",
    endpoint: "/chat/completions",
    streamed: false,
    status: 200,
    costNano: 0n,
    priced: true,
    usageSource: "reported",
    budgetChecked: true,
    finishedAt: new Date(startedAt.getTime() + 1500),
    ...over,
    startedAt,
  };
}

export async function insertRecords(db: ReportsDb, rows: RecordRow[]): Promise<void> {
  for (let i = 0; i < rows.length; i += 500) await db.insert(requestRecords).values(rows.slice(i, i + 500));
}

export async function newAccount(db: ReportsDb, id: string, retentionDays = 90): Promise<string> {
  await db.insert(accounts).values({ id, name: id, retentionDays });
  return id;
}
