/**
 * The database the report functions take: any drizzle Postgres database. The Worker passes its
 * Neon-driver db (src/lib/db.ts); tests and the benchmark pass a node-postgres one. Both return
 * `{ rows }` from execute(), which is all the report code reads.
 */
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";

// biome-ignore lint/suspicious/noExplicitAny: any schema; report code only uses execute(), select() and transaction().
export type ReportsDb = PgDatabase<PgQueryResultHKT, any>;

export async function queryRows<T>(db: ReportsDb, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown as { rows?: T[] } | T[];
  return Array.isArray(result) ? result : (result.rows ?? []);
}

/** Round-half-up integer division for non-negative bigints (nano-USD per unit). */
export function divRound(numerator: bigint, denominator: bigint): bigint {
  return (numerator * 2n + denominator) / (denominator * 2n);
}
