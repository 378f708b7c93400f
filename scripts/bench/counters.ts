/**
 * Counting the gateway's subrequests without a proxy in the way: the local services (Upstash REST
 * endpoint, WebSocket relay to Postgres, the upstream) run in this process, so a hook on
 * http.Server's emit sees every request ('request') and every new WebSocket ('upgrade') each of
 * them receives — no added hop, no added latency. While tracing, each event is timestamped (and
 * Upstash request bodies kept) so the probe can split them into before / after the upstream call.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";

export type ServiceName = "upstash" | "relay" | "upstream";

export interface TraceEvent {
  service: ServiceName;
  kind: "request" | "upgrade";
  at: number;
  body?: string;
}

export interface Counts {
  upstash: number;
  relayConnections: number;
  upstream: number;
}

const byPort = new Map<number, ServiceName>();
const counts: Counts = { upstash: 0, relayConnections: 0, upstream: 0 };
let tracing = false;
export const trace: TraceEvent[] = [];

let installed = false;
/** Installs the hook; call before the services start (it only looks up ports at event time). */
export function installServerHook(): void {
  if (installed) return;
  installed = true;
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (this: http.Server, event: string | symbol, ...args: unknown[]) {
    if (event === "request" || event === "upgrade") {
      const port = (this.address() as AddressInfo | null)?.port;
      const service = port === undefined ? undefined : byPort.get(port);
      if (service) {
        if (service === "upstash" && event === "request") counts.upstash++;
        else if (service === "relay" && event === "upgrade") counts.relayConnections++;
        else if (service === "upstream" && event === "request") counts.upstream++;
        if (tracing) {
          const ev: TraceEvent = { service, kind: event, at: performance.now() };
          trace.push(ev);
          if (service === "upstash" && event === "request") {
            let body = "";
            (args[0] as http.IncomingMessage).on("data", (c: Buffer) => {
              body += c.toString("utf8");
              ev.body = body;
            });
          }
        }
      }
    }
    return (emit as (this: http.Server, e: string | symbol, ...a: unknown[]) => boolean).call(this, event, ...args);
  } as typeof emit;
}

export function watchPort(port: number, service: ServiceName): void {
  byPort.set(port, service);
}

export function readCounts(): Counts {
  return { ...counts };
}

export function diffCounts(a: Counts, b: Counts): Counts {
  return {
    upstash: b.upstash - a.upstash,
    relayConnections: b.relayConnections - a.relayConnections,
    upstream: b.upstream - a.upstream,
  };
}

export function setTracing(on: boolean): void {
  tracing = on;
  if (on) trace.length = 0;
}

// ─── Postgres ────────────────────────────────────────────────────────────────────────────────

export interface RecordTotals {
  records: number;
  reported: number;
  inputTokens: number;
  outputTokens: number;
}

/** A plain node-postgres connection to the local Postgres, for the record checks. */
export class PgProbe {
  private constructor(private readonly client: pg.Client) {}

  static async connect(url: string): Promise<PgProbe> {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    await client.connect();
    return new PgProbe(client);
  }

  async recordTotals(accountId: string, workflow: string): Promise<RecordTotals> {
    const { rows } = await this.client.query(
      `select count(*)::int as records,
              count(*) filter (where usage_source = 'reported')::int as reported,
              coalesce(sum(input_tokens + cache_read_tokens + cache_write_tokens), 0)::bigint as input,
              coalesce(sum(output_tokens), 0)::bigint as output
         from request_records where account_id = $1 and workflow = $2`,
      [accountId, workflow],
    );
    const row = rows[0];
    return {
      records: row.records,
      reported: row.reported,
      inputTokens: Number(row.input),
      outputTokens: Number(row.output),
    };
  }

  /** Committed + rolled back transactions in this database so far (flushed by backends at exit or ≤ 1 s). */
  async transactions(): Promise<number> {
    await this.client.query("select pg_stat_clear_snapshot()");
    const { rows } = await this.client.query(
      "select (xact_commit + xact_rollback)::bigint as n from pg_stat_database where datname = current_database()",
    );
    return Number(rows[0].n);
  }

  async reloadConfig(): Promise<void> {
    await this.client.query("select pg_reload_conf()");
  }

  close(): Promise<void> {
    return this.client.end().catch(() => {});
  }
}

/** Spilled records (Redis stream tg:spill:records) per workflow, read through the Upstash endpoint. */
export async function spilledByWorkflow(upstashUrl: string, token: string): Promise<Map<string, number>> {
  const res = await fetch(upstashUrl, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(["XRANGE", "tg:spill:records", "-", "+"]),
  });
  const { result } = (await res.json()) as { result?: [string, string[]][] };
  const out = new Map<string, number>();
  for (const [, fields] of result ?? []) {
    const i = fields.indexOf("row");
    if (i < 0) continue;
    try {
      const wf = (JSON.parse(fields[i + 1]!) as { workflow?: string }).workflow ?? "";
      out.set(wf, (out.get(wf) ?? 0) + 1);
    } catch {}
  }
  return out;
}
