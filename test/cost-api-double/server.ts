/**
 * A local stand-in for the providers' admin reporting APIs — the documented shapes only
 * (docs/provider-cost-reports.md), computed from a dataset a test gives it: usage per UTC day and
 * model, and the price each side of the test means the provider to charge. No network.
 *
 *   GET /openai/v1/organization/usage/completions   start_time, end_time, bucket_width=1d, group_by=model, limit, page
 *   GET /openai/v1/organization/costs               start_time, end_time, bucket_width=1d, group_by=line_item, limit, page
 *   GET /anthropic/v1/organizations/usage_report/messages  starting_at, ending_at, bucket_width=1d, group_by[]=model, limit, page
 *   GET /anthropic/v1/organizations/cost_report            starting_at, ending_at, group_by[]=description, limit, page
 *
 * Like the real APIs: an admin key is required (OpenAI `Authorization: Bearer`, Anthropic
 * `x-api-key` plus `anthropic-version`), a wrong one is a 401 in the provider's error shape; every
 * day of the range is a bucket, empty or not; `limit` buckets per page (default 7), `has_more` and
 * an opaque `next_page` for the rest. Grouping is applied only when asked: without group_by
 * results are summed per bucket. Costs are exact: OpenAI's `amount.value` is USD as a JSON number,
 * Anthropic's `amount` a decimal string of cents.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface UsageRow {
  /** YYYY-MM-DD */
  day: string;
  model: string;
  input?: number;
  cacheRead?: number;
  cacheWrite?: number;
  cacheWrite1h?: number;
  output?: number;
  webSearches?: number;
  requests?: number;
}

/** nano-USD per Mtok per bucket (per 1,000 for web searches) the provider charges on a day. */
export type PriceBook = (
  model: string,
  day: string,
) => Partial<Record<"input" | "cacheRead" | "cacheWrite" | "cacheWrite1h" | "output" | "webSearch", number>>;

export interface ProviderDataset {
  usage: UsageRow[];
  prices: PriceBook;
  adminKey: string;
}

export interface CostApiDouble {
  url: string;
  /** Base URLs for a cost source: `${url}/openai/v1`, `${url}/anthropic`. */
  openaiBase: string;
  anthropicBase: string;
  set(provider: "openai" | "anthropic", data: ProviderDataset): void;
  requests: { path: string; query: string; status: number }[];
  close(): Promise<void>;
}

const DAY = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Cost of `tokens` at `rate` nano-USD per Mtok, exact in nano (half up). */
const costNano = (tokens: number, rate: number, per = 1_000_000) =>
  (BigInt(tokens) * BigInt(rate) * 2n + BigInt(per)) / (2n * BigInt(per));

function usd(nano: bigint): number {
  return Number(nano) / 1e9;
}

/** nano → cents as an exact decimal string ("123.78912" = $1.2378912). */
function cents(nano: bigint): string {
  const s = nano.toString().padStart(8, "0");
  const whole = s.slice(0, -7);
  const frac = s.slice(-7).replace(/0+$/, "");
  return frac ? `${whole}.${frac}` : whole;
}

const OPENAI_KINDS = [
  ["input", "input"],
  ["cacheRead", "cached input"],
  ["cacheWrite", "cache write"],
  ["output", "output"],
] as const;

const ANTHROPIC_TOKEN_TYPES = [
  ["input", "uncached_input_tokens", "Input Tokens"],
  ["cacheRead", "cache_read_input_tokens", "Cache Read"],
  ["cacheWrite", "cache_creation.ephemeral_5m_input_tokens", "Cache Write (5m)"],
  ["cacheWrite1h", "cache_creation.ephemeral_1h_input_tokens", "Cache Write (1h)"],
  ["output", "output_tokens", "Output Tokens"],
] as const;

function pageOf(days: string[], limit: number, page: string | null): { days: string[]; next: string | null } {
  const start = page ? Number(Buffer.from(page, "base64url").toString()) : 0;
  const slice = days.slice(start, start + limit);
  const next = start + limit < days.length ? Buffer.from(String(start + limit)).toString("base64url") : null;
  return { days: slice, next };
}

function rangeDays(startMs: number, endMs: number): string[] {
  const out: string[] = [];
  for (let t = Math.floor(startMs / DAY) * DAY; t < endMs; t += DAY) out.push(dayOf(t));
  return out;
}

export async function startCostApiDouble(): Promise<CostApiDouble> {
  const data: Partial<Record<"openai" | "anthropic", ProviderDataset>> = {};
  const requests: CostApiDouble["requests"] = [];

  function openai(path: string, q: URLSearchParams, headers: http.IncomingHttpHeaders): [number, unknown] {
    const d = data.openai;
    if (!d || headers.authorization !== `Bearer ${d.adminKey}`) {
      return [
        401,
        { error: { message: "Invalid authorization header", type: "invalid_request_error", param: null, code: null } },
      ];
    }
    const start = Number(q.get("start_time"));
    if (!q.get("start_time") || !Number.isInteger(start)) {
      return [
        400,
        {
          error: { message: "start_time is required", type: "invalid_request_error", param: "start_time", code: null },
        },
      ];
    }
    const end = q.has("end_time") ? Number(q.get("end_time")) : start + 7 * 86_400;
    const limit = Number(q.get("limit") ?? 7);
    const groupBy = q.getAll("group_by").flatMap((g) => g.split(","));
    const { days, next } = pageOf(rangeDays(start * 1000, end * 1000), limit, q.get("page"));
    const bucket = (day: string, results: unknown[]) => ({
      object: "bucket",
      start_time: Date.parse(`${day}T00:00:00Z`) / 1000,
      end_time: Date.parse(`${day}T00:00:00Z`) / 1000 + 86_400,
      results,
    });
    const rows = (day: string) => d.usage.filter((u) => u.day === day);
    let buckets: unknown[];
    if (path === "/organization/usage/completions") {
      const byModel = groupBy.includes("model");
      buckets = days.map((day) => {
        return bucket(
          day,
          byModelOrAll(rows(day), byModel).map(([model, us]) => {
            const sum = summer(us);
            const uncached = sum("input");
            return {
              object: "organization.usage.completions.result",
              input_tokens: uncached + sum("cacheRead") + sum("cacheWrite"),
              input_cached_tokens: sum("cacheRead"),
              input_cache_write_tokens: sum("cacheWrite"),
              input_uncached_tokens: uncached,
              output_tokens: sum("output"),
              input_audio_tokens: 0,
              output_audio_tokens: 0,
              num_model_requests: sum("requests"),
              project_id: null,
              user_id: null,
              api_key_id: null,
              model: byModel ? model : null,
              batch: null,
              service_tier: null,
            };
          }),
        );
      });
    } else if (path === "/organization/costs") {
      const byLine = groupBy.includes("line_item");
      buckets = days.map((day) => {
        const results: unknown[] = [];
        let total = 0n;
        for (const u of rows(day)) {
          const p = d.prices(u.model, day);
          for (const [k, kind] of OPENAI_KINDS) {
            const tokens = (u[k] as number | undefined) ?? 0;
            if (!tokens) continue;
            const nano = costNano(tokens, p[k] ?? 0);
            total += nano;
            if (byLine) {
              results.push({
                object: "organization.costs.result",
                amount: { value: usd(nano), currency: "usd" },
                line_item: `${u.model}, ${kind}`,
                project_id: null,
                quantity: tokens,
              });
            }
          }
        }
        if (!byLine && total > 0n) {
          results.push({
            object: "organization.costs.result",
            amount: { value: usd(total), currency: "usd" },
            line_item: null,
            project_id: null,
          });
        }
        return bucket(day, results);
      });
    } else {
      return [
        404,
        { error: { message: `Invalid URL (GET /v1${path})`, type: "invalid_request_error", param: null, code: null } },
      ];
    }
    return [200, { object: "page", data: buckets, has_more: next !== null, next_page: next }];
  }

  function anthropic(path: string, q: URLSearchParams, headers: http.IncomingHttpHeaders): [number, unknown] {
    const d = data.anthropic;
    const error = (type: string, message: string) => ({ type: "error", error: { type, message } });
    if (!d || headers["x-api-key"] !== d.adminKey) return [401, error("authentication_error", "invalid x-api-key")];
    if (!headers["anthropic-version"])
      return [400, error("invalid_request_error", "anthropic-version: header is required")];
    const start = Date.parse(q.get("starting_at") ?? "");
    if (!Number.isFinite(start)) return [400, error("invalid_request_error", "starting_at: Field required")];
    const end = q.has("ending_at") ? Date.parse(q.get("ending_at")!) : start + 7 * DAY;
    const limit = Number(q.get("limit") ?? 7);
    const groupBy = [...q.getAll("group_by[]"), ...q.getAll("group_by")];
    const { days, next } = pageOf(rangeDays(start, end), limit, q.get("page"));
    const bucket = (day: string, results: unknown[]) => ({
      starting_at: `${day}T00:00:00Z`,
      ending_at: `${dayOf(Date.parse(`${day}T00:00:00Z`) + DAY)}T00:00:00Z`,
      results,
    });
    const rows = (day: string) => d.usage.filter((u) => u.day === day);
    let buckets: unknown[];
    if (path === "/v1/organizations/usage_report/messages") {
      const byModel = groupBy.includes("model");
      buckets = days.map((day) => {
        return bucket(
          day,
          byModelOrAll(rows(day), byModel).map(([model, us]) => {
            const sum = summer(us);
            return {
              uncached_input_tokens: sum("input"),
              cache_creation: {
                ephemeral_1h_input_tokens: sum("cacheWrite1h"),
                ephemeral_5m_input_tokens: sum("cacheWrite"),
              },
              cache_read_input_tokens: sum("cacheRead"),
              output_tokens: sum("output"),
              server_tool_use: { web_search_requests: sum("webSearches") },
              api_key_id: null,
              workspace_id: null,
              model: byModel ? model : null,
              service_tier: null,
              context_window: null,
            };
          }),
        );
      });
    } else if (path === "/v1/organizations/cost_report") {
      const byDescription = groupBy.includes("description");
      buckets = days.map((day) => {
        const results: unknown[] = [];
        let total = 0n;
        let searches = 0n;
        for (const u of rows(day)) {
          const p = d.prices(u.model, day);
          for (const [k, tokenType, label] of ANTHROPIC_TOKEN_TYPES) {
            const tokens = (u[k] as number | undefined) ?? 0;
            if (!tokens) continue;
            const nano = costNano(tokens, p[k] ?? 0);
            total += nano;
            if (byDescription) {
              results.push({
                currency: "USD",
                amount: cents(nano),
                workspace_id: null,
                description: `${u.model} Usage - ${label}`,
                cost_type: "tokens",
                context_window: "0-200k",
                model: u.model,
                service_tier: "standard",
                token_type: tokenType,
              });
            }
          }
          if (u.webSearches) searches += costNano(u.webSearches, p.webSearch ?? 0, 1000);
        }
        total += searches;
        if (byDescription && searches > 0n) {
          results.push({
            currency: "USD",
            amount: cents(searches),
            workspace_id: null,
            description: "Web Search",
            cost_type: "web_search",
            context_window: null,
            model: null,
            service_tier: null,
            token_type: null,
          });
        }
        if (!byDescription && total > 0n)
          results.push({ currency: "USD", amount: cents(total), workspace_id: null, description: null });
        return bucket(day, results);
      });
    } else {
      return [404, error("not_found_error", "Not found")];
    }
    return [200, { data: buckets, has_more: next !== null, next_page: next }];
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://double");
    let status: number;
    let body: unknown;
    if (req.method !== "GET") [status, body] = [405, { error: "GET only" }];
    else if (url.pathname.startsWith("/openai/v1/")) {
      [status, body] = openai(url.pathname.slice("/openai/v1".length), url.searchParams, req.headers);
    } else if (url.pathname.startsWith("/anthropic/")) {
      [status, body] = anthropic(url.pathname.slice("/anthropic".length), url.searchParams, req.headers);
    } else [status, body] = [404, { error: "unknown path" }];
    requests.push({ path: url.pathname, query: url.search, status });
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBase: `${url}/openai/v1`,
    anthropicBase: `${url}/anthropic`,
    set: (provider, d) => {
      data[provider] = d;
    },
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The OpenAI console's cost CSV (Usage → Export → Cost data, by line item, 1 day) for a costs API response. */
export function openaiCostCsv(costs: {
  data: { start_time: number; end_time: number; results: Record<string, unknown>[] }[];
}): string {
  const header =
    "start_time,end_time,amount_value,amount_currency,line_item,project_id,organization_id,project_name,organization_name";
  const rows = costs.data.flatMap((b) =>
    b.results.map((r) => {
      const amount = r.amount as { value: number; currency: string };
      const item = String(r.line_item ?? "");
      return [
        b.start_time,
        b.end_time,
        amount.value,
        amount.currency,
        item.includes(",") ? `"${item}"` : item,
        "proj_1",
        "org_1",
        "Default project",
        "Acme",
      ].join(",");
    }),
  );
  return [header, ...rows].join("\r\n");
}

/** Rows grouped by model (or all in one group, keyed ""), as both providers' group_by=model does. */
function byModelOrAll(rows: UsageRow[], byModel: boolean): [string, UsageRow[]][] {
  const groups = new Map<string, UsageRow[]>();
  for (const u of rows) {
    const key = byModel ? u.model : "";
    groups.set(key, [...(groups.get(key) ?? []), u]);
  }
  return [...groups.entries()];
}

/** The sum of one numeric field over rows (a missing field counts 0). */
const summer = (us: UsageRow[]) => (k: keyof UsageRow) =>
  us.reduce((s, u) => s + ((u[k] as number | undefined) ?? 0), 0);
