/**
 * Tollgate's side: the account's cost records for one provider over [from, to), per UTC day and
 * model (answered, else asked), split into the report's buckets (types.ts).
 *
 * Per-bucket cost comes from the rates each record stores (rates_applied, src/pricing/cost.ts):
 * tokens × the bucket's rate, with the record's batch and account discounts, summed exactly and
 * rounded once per line. Records are grouped by their rates first, so a price change inside the
 * period shows as two rates, not as a blend. A model's `total` line is the records' own costs.
 *
 * Raw records only: days that retention already moved into rollups have no per-bucket rates
 * (the report says so; src/reports/maintenance.ts).
 */
import { and, eq, gte, lt, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { queryRows, type ReportsDb } from "../reports/db";
import type { Bucket } from "./types";

export interface OurLine {
  day: string;
  model: string;
  bucket: Bucket;
  tokens: number;
  /** Rounded once per line (bucket lines: from rates; `total` lines: the records' costs). */
  costNano: bigint;
  /** Distinct rates that priced this bucket, nano-USD per Mtok (per 1,000 for web searches). */
  rates: number[];
}

export interface OurModelDay {
  day: string;
  model: string;
  records: number;
  errors: number;
  unpriced: number;
  costNano: bigint;
}

export interface OurSide {
  lines: OurLine[];
  models: OurModelDay[];
  /** Days with at least one record of the provider. */
  daysWithRecords: Set<string>;
}

interface Row {
  day: string;
  model: string;
  priced: boolean;
  rates: Record<string, number | null> | null;
  web_search_per_k: string | null;
  batch_bps: string | null;
  account_bps: string | null;
  records: string;
  errors: string;
  input: string;
  audio_in: string;
  cache_read: string;
  cache_audio_read: string;
  cache_write: string;
  cache_write_1h: string;
  output: string;
  audio_out: string;
  web_search: string;
  cost_nano: string;
}

/** Our bucket ← usage columns, and the rate key each column is priced by (src/usage.ts names). */
const PARTS: Record<Exclude<Bucket, "total" | "other">, [column: keyof Row, rate: string][]> = {
  input: [
    ["input", "inputTokens"],
    ["audio_in", "inputAudioTokens"],
  ],
  cache_read: [
    ["cache_read", "cacheReadTokens"],
    ["cache_audio_read", "cacheAudioReadTokens"],
  ],
  cache_write: [["cache_write", "cacheWriteTokens"]],
  cache_write_1h: [["cache_write_1h", "cacheWrite1hTokens"]],
  output: [
    ["output", "outputTokens"],
    ["audio_out", "outputAudioTokens"],
  ],
  web_search: [["web_search", "webSearchPerK"]],
};

export async function ourSide(
  db: ReportsDb,
  q: { accountId: string; provider: string; from: string; to: string },
): Promise<OurSide> {
  const r = requestRecords;
  const day = sql`to_char(date_trunc('day', ${r.startedAt}, 'UTC'), 'YYYY-MM-DD')`;
  const model = sql`lower(coalesce(${r.modelAnswered}, ${r.modelRequested}, '(unknown)'))`;
  const rows = await queryRows<Row>(
    db,
    sql`select ${day} as day, ${model} as model, ${r.priced} as priced,
          ${r.ratesApplied}->'tokens' as rates,
          ${r.ratesApplied}->>'webSearchPerK' as web_search_per_k,
          ${r.ratesApplied}->>'batchDiscountBps' as batch_bps,
          ${r.ratesApplied}->>'accountDiscountBps' as account_bps,
          count(*) as records, count(*) filter (where ${r.status} >= 400) as errors,
          sum(${r.inputTokens}) as input, sum(${r.inputAudioTokens}) as audio_in,
          sum(${r.cacheReadTokens}) as cache_read, sum(${r.cacheAudioReadTokens}) as cache_audio_read,
          sum(${r.cacheWriteTokens}) as cache_write, sum(${r.cacheWrite1hTokens}) as cache_write_1h,
          sum(${r.outputTokens}) as output, sum(${r.outputAudioTokens}) as audio_out,
          sum(${r.webSearchRequests}) as web_search, sum(${r.costNano}) as cost_nano
        from ${r}
        where ${and(
          eq(r.accountId, q.accountId),
          eq(r.provider, q.provider),
          gte(r.startedAt, new Date(`${q.from}T00:00:00Z`)),
          lt(r.startedAt, new Date(`${q.to}T00:00:00Z`)),
        )}
        group by 1, 2, 3, 4, 5, 6, 7`,
  );
  return fold(rows);
}

/** Rows (one per day × model × rates) → lines; exported for tests. */
export function fold(rows: Row[]): OurSide {
  const lines = new Map<string, OurLine & { numerator: bigint; denominator: bigint }>();
  const models = new Map<string, OurModelDay>();
  const daysWithRecords = new Set<string>();
  for (const row of rows) {
    daysWithRecords.add(row.day);
    const mk = `${row.day}|${row.model}`;
    const m = models.get(mk) ?? { day: row.day, model: row.model, records: 0, errors: 0, unpriced: 0, costNano: 0n };
    m.records += Number(row.records);
    m.errors += Number(row.errors);
    if (!row.priced) m.unpriced += Number(row.records);
    m.costNano += BigInt(row.cost_nano);
    models.set(mk, m);
    const batch = BigInt(10_000 - Number(row.batch_bps ?? 0));
    const account = BigInt(10_000 - Number(row.account_bps ?? 0));
    for (const [bucket, parts] of Object.entries(PARTS) as [Bucket, [keyof Row, string][]][]) {
      const key = `${mk}|${bucket}`;
      const line = lines.get(key) ?? {
        day: row.day,
        model: row.model,
        bucket,
        tokens: 0,
        costNano: 0n,
        rates: [],
        numerator: 0n,
        denominator: 1_000_000n * 10_000n * 10_000n,
      };
      for (const [column, rateKey] of parts) {
        const units = Number(row[column]);
        if (!units) continue;
        line.tokens += units;
        const rate =
          bucket === "web_search" ? Number(row.web_search_per_k ?? 0) : Number(row.rates?.[rateKey] ?? 0) || 0;
        if (!row.priced || !rate) continue;
        if (!line.rates.includes(rate)) line.rates.push(rate);
        // Tokens: rate per 1e6; web searches: per 1e3, not batch-discounted (src/pricing/cost.ts).
        line.numerator +=
          bucket === "web_search"
            ? BigInt(units) * BigInt(rate) * 1000n * 10_000n * account
            : BigInt(units) * BigInt(rate) * batch * account;
      }
      lines.set(key, line);
    }
  }
  const out: OurLine[] = [];
  for (const l of lines.values()) {
    if (l.tokens === 0) continue;
    const { numerator, denominator, ...line } = l;
    out.push({ ...line, costNano: (numerator * 2n + denominator) / (denominator * 2n) });
  }
  return { lines: out, models: [...models.values()], daysWithRecords };
}
