/**
 * Step 9: one cost record per call attempt, written after the response (inside waitUntil).
 *
 * A Postgres connection per call costs more CPU than the whole proxied call (the benchmark showed
 * ~12 ms of connection setup against ~0.3 ms for a bare pass-through), so a record goes to a Redis
 * stream instead — in the same Upstash round trip as the budget settle (the client pipelines
 * commands issued together) — and is batch-inserted from there:
 *   - every call also does SET NX on a "flush due" marker that lives RECORD_FLUSH_DELAY_MS; the call
 *     that creates it flushes the stream after that delay, so records reach Postgres within about
 *     half a second (a quarter of the 2 s the contract promises, leaving the rest to a busy
 *     machine) with at most two Postgres connections a second, whatever the traffic;
 *   - the cron trigger flushes too (a flusher that died leaves its records in the stream, not lost);
 *   - Redis unreachable: the record is inserted into Postgres directly (with retries).
 * Inserts are idempotent on (account, request id), so flushing twice is harmless.
 * Never the prompt, never the completion: nothing here can hold either.
 *
 * Billing: a call billed at our cost carries billed_nano = cost_nano from the start. A call rated
 * under a plan or drawn from a wallet is billed by the settle script; its queued entry says so
 * (`bill`: the account), and the flush puts the bill the script kept on the row before inserting it
 * (src/billing/ledger.ts), in the statement that also advances the wallet ledger.
 */
import { getTableColumns, type SQL, sql } from "drizzle-orm";
import { requestRecords } from "../../schema";
import { applyBill, dropBills, readBills, withLedger } from "../billing/ledger";
import type { Db } from "../lib/db";
import { hashReply, type ScriptRedis } from "../lib/redis";
import { redisKeys } from "../lib/redis-keys";
import type { Usage, UsageSource } from "../usage";

export interface CostRecord {
  id: string;
  accountId: string;
  keyId: string | null;
  tenant: string | null;
  feature: string | null;
  userId: string | null;
  environment: string;
  workflow: string | null;
  tags: Record<string, string>;
  provider: string;
  modelRequested: string | null;
  modelAnswered: string | null;
  endpoint: string;
  streamed: boolean;
  status: number;
  usage: Usage;
  costNano: bigint;
  priced: boolean;
  /** What priced it (catalog, the account's rates, or its fallback for unpriced models); null: unpriced or nothing to price. */
  pricedBy: "catalog" | "account" | "fallback" | null;
  priceVersion: string | null;
  ratesApplied: unknown;
  usageSource: UsageSource;
  budgetChecked: boolean;
  latencyMs: number | null;
  ttftMs: number | null;
  startedAt: Date;
  finishedAt: Date;
  /**
   * What the tenant is billed: our cost when absent (no plan rates it); null with `billPending` (the
   * settle script bills it, the flush writes it), or when the call could not be rated (Redis was down).
   */
  billedNano?: bigint | null;
  billPending?: boolean;
  /** Routing (src/routing/README.md); absent on a call without a route. */
  routing?: RecordRouting;
}

export interface RecordRouting {
  route: string;
  attempt: number;
  /** The id of the call's first attempt; null on the first. */
  attemptOf: string | null;
  cache: "hit" | "miss" | null;
  /** A cache hit: what the answer cost upstream. */
  savedNano: bigint | null;
  maxTokensApplied: number | null;
  downgradedFrom: string | null;
}

/** null → absent: json_populate_recordset reads a missing key as NULL, and JSON.stringify drops undefined. */
const opt = <T>(v: T | null | undefined): T | undefined => v ?? undefined;
const big = (v: bigint | null | undefined): string | undefined =>
  v === null || v === undefined ? undefined : v.toString();

/**
 * The record as its row: JSON under the Postgres column names, bigints as strings, nulls left out
 * (most columns of a call without a route or an attribution are null: a smaller row to build and
 * parse). Both ways a record reaches Postgres take it: the queued entry the flush hands to
 * json_populate_recordset as one array, and the direct insert when Redis is down — so the Worker
 * builds no per-row query (drizzle's insert builder was the flusher's largest CPU cost), and one
 * object literal is built per call instead of a row object walked column by column.
 * record.test.ts holds its keys to the schema's columns.
 */
export function rowJson(r: CostRecord): string {
  const u = r.usage;
  return JSON.stringify({
    id: r.id,
    account_id: r.accountId,
    key_id: opt(r.keyId),
    tenant: opt(r.tenant),
    feature: opt(r.feature),
    user_id: opt(r.userId),
    environment: r.environment,
    workflow: opt(r.workflow),
    tags: r.tags,
    provider: r.provider,
    model_requested: opt(r.modelRequested),
    model_answered: opt(r.modelAnswered),
    endpoint: r.endpoint,
    streamed: r.streamed,
    status: r.status,
    input_tokens: u.inputTokens,
    cache_read_tokens: u.cacheReadTokens,
    cache_write_tokens: u.cacheWriteTokens,
    cache_write_1h_tokens: u.cacheWrite1hTokens,
    input_audio_tokens: u.inputAudioTokens,
    cache_audio_read_tokens: u.cacheAudioReadTokens,
    output_tokens: u.outputTokens,
    output_audio_tokens: u.outputAudioTokens,
    reasoning_tokens: u.reasoningTokens,
    web_search_requests: u.webSearchRequests,
    cost_nano: r.costNano.toString(),
    provider_reported_cost_nano:
      u.providerReportedCostNano === undefined ? undefined : String(Math.round(u.providerReportedCostNano)),
    priced: r.priced,
    priced_by: opt(r.pricedBy),
    price_version: opt(r.priceVersion),
    rates_applied: opt(r.ratesApplied),
    usage_source: r.usageSource,
    budget_checked: r.budgetChecked,
    latency_ms: opt(r.latencyMs),
    ttft_ms: opt(r.ttftMs),
    started_at: r.startedAt,
    finished_at: r.finishedAt,
    billed_nano: r.billPending ? undefined : big(r.billedNano === undefined ? r.costNano : r.billedNano),
    route: opt(r.routing?.route),
    attempt: opt(r.routing?.attempt),
    attempt_of: opt(r.routing?.attemptOf),
    cache: opt(r.routing?.cache),
    saved_nano: big(r.routing?.savedNano),
    max_tokens_applied: opt(r.routing?.maxTokensApplied),
    downgraded_from: opt(r.routing?.downgradedFrom),
  });
}

/** Every column a row sets (all but created_at, which Postgres fills), in the insert's column list. */
export const ROW_COLUMNS = Object.values(getTableColumns(requestRecords))
  .map((column) => column.name)
  .filter((name) => name !== "created_at");
const COLUMN_LIST = sql.raw(ROW_COLUMNS.map((name) => `"${name}"`).join(", "));

async function insertQueued(deps: Pick<RecordDeps, "db" | "oneStatement">, jsonRows: string[]): Promise<void> {
  const statement = withLedger(
    sql`insert into ${requestRecords} (${COLUMN_LIST}) select ${COLUMN_LIST} from json_populate_recordset(null::request_records, ${`[${jsonRows.join(",")}]`}::json) on conflict (account_id, id) do nothing`,
  );
  if (deps.oneStatement) await deps.oneStatement(statement);
  else await deps.db().execute(statement);
}

export interface RecordDeps {
  db: () => Db;
  /** Either Redis client (src/lib/redis.ts, src/lib/redis-rest.ts): commands go through exec. */
  redis: ScriptRedis;
  /**
   * Runs one statement without a session (src/lib/db.ts queryOverHttp): the flush's insert, which
   * is a single statement, goes this way when given; else through db().
   */
  oneStatement?: (statement: SQL) => Promise<unknown>;
  /** Backoff between direct insert attempts, ms; tests shorten it. */
  backoffMs?: number[];
  /** How long the first record of a batch waits for others; tests shorten it. */
  flushDelayMs?: number;
}

/** Records reach Postgres within about this long after the call (plus the insert). */
export const RECORD_FLUSH_DELAY_MS = 500;
const FLUSH_BATCH = 500;
const FLUSH_MAX_BATCHES = 20;

/** Queues the record in Redis and, when this call owns the next flush, flushes after the delay. */
export async function queueRecord(record: CostRecord, deps: RecordDeps): Promise<"queued" | "written" | "lost"> {
  const row = rowJson(record);
  const delay = deps.flushDelayMs ?? RECORD_FLUSH_DELAY_MS;
  let owner: unknown;
  try {
    // Issued together: one pipelined request to Upstash (with the settle, when the caller issues it too).
    const bill = record.billPending ? ["bill", record.accountId, "rid", record.id] : [];
    [, owner] = await Promise.all([
      deps.redis.exec(["XADD", redisKeys.recordQueue(), "*", "row", row, ...bill]),
      deps.redis.exec(["SET", redisKeys.recordFlushDue(), "1", "NX", "PX", delay]),
    ]);
  } catch (err) {
    console.error(`record ${record.id}: Redis unreachable, inserting directly`, err);
    return insertWithRetries(record.id, row, deps);
  }
  if (owner === "OK") {
    await new Promise((r) => setTimeout(r, delay + 20));
    await flushRecords(deps).catch((err) => console.error("record flush failed; the records stay queued", err));
  }
  return "queued";
}

/** Inserts one record straight into Postgres, retrying with backoff. */
export async function insertWithRetries(
  id: string,
  row: string,
  deps: Pick<RecordDeps, "db" | "backoffMs">,
): Promise<"written" | "lost"> {
  const backoff = deps.backoffMs ?? [50, 250];
  for (let attempt = 0; ; attempt++) {
    try {
      await insertQueued({ db: deps.db }, [row]);
      return "written";
    } catch (err) {
      if (attempt >= backoff.length) {
        console.error(`record ${id}: insert failed ${attempt + 1} times with Redis also down: lost`, err);
        return "lost";
      }
      await new Promise((r) => setTimeout(r, backoff[attempt]));
    }
  }
}

/** Moves queued records into Postgres, batch by batch, until the queue is empty (bounded). */
export async function flushRecords(deps: Pick<RecordDeps, "db" | "redis" | "oneStatement">): Promise<number> {
  let total = 0;
  for (let i = 0; i < FLUSH_MAX_BATCHES; i++) {
    const n = await flushBatch(deps, FLUSH_BATCH);
    total += n.entries;
    if (n.entries < FLUSH_BATCH) break;
  }
  return total;
}

async function flushBatch(
  deps: Pick<RecordDeps, "db" | "redis" | "oneStatement">,
  max: number,
): Promise<{ entries: number }> {
  // Raw XRANGE reply (automaticDeserialization is off): [[entryId, [field, value, …]], …]
  const entries = (await deps.redis.exec(["XRANGE", redisKeys.recordQueue(), "-", "+", "COUNT", max])) as
    | [string, string[]][]
    | null;
  if (!Array.isArray(entries) || entries.length === 0) return { entries: 0 };
  const ids: string[] = [];
  const rows: { json: string; billOf: { accountId: string; requestId: string } | null }[] = [];
  for (const [id, fields] of entries) {
    const h = hashReply(fields);
    ids.push(id);
    if (h?.row) rows.push({ json: h.row, billOf: h.bill && h.rid ? { accountId: h.bill, requestId: h.rid } : null });
  }
  const billed = rows.flatMap((r) => (r.billOf ? [r.billOf] : []));
  // A bill missing here (its settle failed, or has not run) leaves the record unrated (billed_nano null).
  const bills = billed.length ? await readBills(deps.redis, billed) : new Map();
  const json = rows.map((r) => {
    const bill = r.billOf && bills.get(`${r.billOf.accountId}\n${r.billOf.requestId}`);
    return bill ? applyBill(r.json, bill) : r.json;
  });
  if (json.length) await insertQueued(deps, json);
  // Deleted only after the insert succeeded; a crash in between re-inserts, which is a no-op.
  await Promise.all([
    deps.redis.exec(["XDEL", redisKeys.recordQueue(), ...ids]),
    billed.length ? dropBills(deps.redis, billed) : undefined,
  ]);
  return { entries: entries.length };
}
