/**
 * Anthropic's Usage & Cost Admin API, as documented (docs/provider-cost-reports.md):
 *
 *   GET /v1/organizations/usage_report/messages?bucket_width=1d&group_by[]=model
 *     {data:[{starting_at, ending_at, results:[{uncached_input_tokens, cache_read_input_tokens,
 *       cache_creation:{ephemeral_5m_input_tokens, ephemeral_1h_input_tokens}, output_tokens,
 *       server_tool_use:{web_search_requests}, model, service_tier, context_window, …}]}],
 *      has_more, next_page}
 *   GET /v1/organizations/cost_report?group_by[]=description
 *     … results:[{amount, currency, cost_type, token_type, model, description, context_window, …}]
 *
 * The cost `amount` is a decimal string in the currency's lowest unit: "123.45" USD is $1.2345.
 * `token_type` names the bucket (uncached_input_tokens, output_tokens, cache_read_input_tokens,
 * cache_creation.ephemeral_5m_input_tokens, cache_creation.ephemeral_1h_input_tokens);
 * `cost_type` web_search (and other non-token costs) has no model.
 */
import { decimalToNano } from "../lib/money";
import type { Parsed } from "./openai";
import { ANY_MODEL, type Bucket, dayOf, type TheirLine } from "./types";

type Json = Record<string, unknown>;

const CENTS = 10_000_000n;

function buckets(input: unknown): Json[] {
  const pages = Array.isArray(input) ? input : [input];
  const out: Json[] = [];
  for (const page of pages) {
    const data = (page as Json | null)?.data;
    if (!Array.isArray(data)) throw new TypeError("an Anthropic usage/cost report has a `data` array of buckets");
    out.push(...(data as Json[]));
  }
  return out;
}

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const model = (v: unknown) => (typeof v === "string" && v !== "" ? v.toLowerCase() : ANY_MODEL);

function span(b: Json, acc: Parsed): string {
  const start = Date.parse(String(b.starting_at));
  const end = Date.parse(String(b.ending_at ?? b.starting_at));
  if (!Number.isFinite(start)) throw new TypeError("a bucket's starting_at is not an RFC 3339 time");
  const day = dayOf(new Date(start));
  if (!acc.from || day < acc.from) acc.from = day;
  const last = dayOf(new Date(Math.max(end, start + 1) - 1));
  const after = dayOf(new Date(Date.parse(`${last}T00:00:00Z`) + 86_400_000));
  if (!acc.to || after > acc.to) acc.to = after;
  return day;
}

export function parseAnthropicUsage(input: unknown): Parsed {
  const acc: Parsed = { lines: [], notes: [], from: null, to: null };
  for (const b of buckets(input)) {
    const day = span(b, acc);
    for (const r of (b.results ?? []) as Json[]) {
      const m = model(r.model);
      const creation = (r.cache_creation ?? {}) as Json;
      const tools = (r.server_tool_use ?? {}) as Json;
      const add = (bucket: Bucket, tokens: number) => acc.lines.push({ day, model: m, bucket, tokens });
      add("input", num(r.uncached_input_tokens));
      add("cache_read", num(r.cache_read_input_tokens));
      // The flat names are an older shape of the same counts.
      add("cache_write", num(creation.ephemeral_5m_input_tokens ?? r.cache_creation_5m_input_tokens));
      add("cache_write_1h", num(creation.ephemeral_1h_input_tokens ?? r.cache_creation_1h_input_tokens));
      add("output", num(r.output_tokens));
      if (tools.web_search_requests !== undefined) add("web_search", num(tools.web_search_requests));
    }
  }
  return acc;
}

const TOKEN_TYPE: Record<string, Bucket> = {
  uncached_input_tokens: "input",
  output_tokens: "output",
  cache_read_input_tokens: "cache_read",
  "cache_creation.ephemeral_5m_input_tokens": "cache_write",
  "cache_creation.ephemeral_1h_input_tokens": "cache_write_1h",
};

/** One cost result (API or CSV row) → a line. `amount` is in cents. */
export function anthropicCostLine(day: string, r: Record<string, unknown>, notes: string[]): TheirLine | null {
  if (r.currency && String(r.currency).toUpperCase() !== "USD") {
    notes.push(`a ${String(r.currency)} amount on ${day} was left out (only USD is compared)`);
    return null;
  }
  if (r.amount === undefined || r.amount === null || r.amount === "") return null;
  const costType = r.cost_type ? String(r.cost_type) : null;
  const tokenType = r.token_type ? String(r.token_type) : null;
  const bucket: Bucket =
    costType === "web_search"
      ? "web_search"
      : tokenType
        ? (TOKEN_TYPE[tokenType] ?? "other")
        : costType && costType !== "tokens"
          ? "other"
          : "total";
  const m = bucket === "web_search" ? ANY_MODEL : model(r.model);
  return {
    day,
    model: m,
    bucket,
    costNano: decimalToNano(String(r.amount), CENTS),
    ...(r.description ? { label: String(r.description) } : {}),
  };
}

export function parseAnthropicCosts(input: unknown): Parsed {
  const acc: Parsed = { lines: [], notes: [], from: null, to: null };
  for (const b of buckets(input)) {
    const day = span(b, acc);
    for (const r of (b.results ?? []) as Json[]) {
      const line = anthropicCostLine(day, r, acc.notes);
      if (line) acc.lines.push(line);
    }
  }
  return acc;
}
