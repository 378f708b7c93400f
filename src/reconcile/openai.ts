/**
 * OpenAI's organization Usage and Costs APIs, as documented (docs/provider-cost-reports.md):
 *
 *   GET /v1/organization/usage/completions?bucket_width=1d&group_by=model
 *     {object:"page", data:[{object:"bucket", start_time, end_time, results:[
 *       {object:"organization.usage.completions.result", input_tokens, input_cached_tokens,
 *        input_cache_write_tokens, input_uncached_tokens, output_tokens, num_model_requests, model, …}]}],
 *      has_more, next_page}
 *   GET /v1/organization/costs?bucket_width=1d&group_by=line_item
 *     … results:[{object:"organization.costs.result", amount:{value, currency}, line_item, project_id}]
 *
 * `input_tokens` includes cached and cache-write tokens; `input_uncached_tokens` excludes both (and
 * is derived when absent). The API reference names the bucket array `result`, its examples and the
 * SDK `results`: both are read. A line item is "<model>, <kind>" ("gpt-4o-2024-08-06, input",
 * ", cached input", ", output"). The console's cost CSV export has the same fields flattened
 * (start_time, end_time, amount_value, amount_currency, line_item, project_id, …): csv.ts.
 */
import { decimalToNano } from "../lib/money";
import { ANY_MODEL, type Bucket, dayOf, type TheirLine } from "./types";

export interface Parsed {
  lines: TheirLine[];
  notes: string[];
  from: string | null;
  to: string | null;
}

type Json = Record<string, unknown>;

/** A response, or several pages of one (an array of responses). */
function buckets(input: unknown): Json[] {
  const pages = Array.isArray(input) ? input : [input];
  const out: Json[] = [];
  for (const page of pages) {
    const data = (page as Json | null)?.data;
    if (!Array.isArray(data)) throw new TypeError("an OpenAI usage/costs page has a `data` array of buckets");
    out.push(...(data as Json[]));
  }
  return out;
}

const resultsOf = (b: Json) => ((b.results ?? b.result ?? []) as Json[]) ?? [];
const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
const model = (v: unknown) => (typeof v === "string" && v !== "" ? v.toLowerCase() : ANY_MODEL);

function span(b: Json, acc: Parsed): string {
  const start = num(b.start_time);
  const end = num(b.end_time);
  const day = dayOf(new Date(start * 1000));
  if (!acc.from || day < acc.from) acc.from = day;
  const endDay = dayOf(new Date(Math.max(end, start + 1) * 1000 - 1));
  const after = dayOf(new Date(Date.parse(`${endDay}T00:00:00Z`) + 86_400_000));
  if (!acc.to || after > acc.to) acc.to = after;
  return day;
}

export function parseOpenAIUsage(input: unknown): Parsed {
  const acc: Parsed = { lines: [], notes: [], from: null, to: null };
  for (const b of buckets(input)) {
    const day = span(b, acc);
    for (const r of resultsOf(b)) {
      if (r.object && r.object !== "organization.usage.completions.result") continue;
      const m = model(r.model);
      const cached = num(r.input_cached_tokens);
      const written = num(r.input_cache_write_tokens);
      const uncached =
        typeof r.input_uncached_tokens === "number" ? r.input_uncached_tokens : num(r.input_tokens) - cached - written;
      const add = (bucket: Bucket, tokens: number) => acc.lines.push({ day, model: m, bucket, tokens });
      add("input", uncached);
      add("cache_read", cached);
      add("cache_write", written);
      add("output", num(r.output_tokens));
      acc.lines.push({ day, model: m, bucket: "total", requests: num(r.num_model_requests) });
    }
  }
  return acc;
}

/** "gpt-4o-2024-08-06, cached input" → model and bucket. */
export function parseLineItem(lineItem: string | null | undefined): { model: string; bucket: Bucket } {
  if (!lineItem) return { model: ANY_MODEL, bucket: "total" };
  const cut = lineItem.lastIndexOf(",");
  const name = cut < 0 ? lineItem : lineItem.slice(0, cut);
  const kind = (cut < 0 ? "" : lineItem.slice(cut + 1)).trim().toLowerCase();
  const bucket: Bucket = /cache[ds]? ?(read|input)|cached input/.test(kind)
    ? "cache_read"
    : /cache[ds]? ?writ/.test(kind)
      ? "cache_write"
      : /^input/.test(kind)
        ? "input"
        : /^output/.test(kind)
          ? "output"
          : /web ?search/.test(kind)
            ? "web_search"
            : "other";
  return { model: name.trim() ? name.trim().toLowerCase() : ANY_MODEL, bucket };
}

export function costLine(
  day: string,
  amount: unknown,
  currency: unknown,
  lineItem: string | null | undefined,
  notes: string[],
): TheirLine | null {
  if (currency && String(currency).toLowerCase() !== "usd") {
    notes.push(`a ${String(currency)} amount on ${day} was left out (only USD is compared)`);
    return null;
  }
  if (amount === undefined || amount === null || amount === "") return null;
  const { model, bucket } = parseLineItem(lineItem);
  return {
    day,
    model,
    bucket,
    costNano: decimalToNano(amount as string | number),
    ...(lineItem ? { label: lineItem } : {}),
  };
}

export function parseOpenAICosts(input: unknown): Parsed {
  const acc: Parsed = { lines: [], notes: [], from: null, to: null };
  for (const b of buckets(input)) {
    const day = span(b, acc);
    for (const r of resultsOf(b)) {
      if (r.object && r.object !== "organization.costs.result") continue;
      const amount = (r.amount ?? {}) as Json;
      const line = costLine(day, amount.value, amount.currency, r.line_item as string | null, acc.notes);
      if (line) acc.lines.push(line);
    }
  }
  return acc;
}
