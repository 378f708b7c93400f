/**
 * Fetching the provider's reports with an admin key (cost_sources): OpenAI's Usage (completions,
 * grouped by model) and Costs (grouped by line item) APIs, Anthropic's messages usage report
 * (grouped by model) and cost report (grouped by description), one day per bucket, following
 * `next_page` until `has_more` is false (bounded). Shapes: openai.ts, anthropic.ts.
 */
import type { ProviderData } from "./input";
import type { ReconcileProvider } from "./types";

export const DEFAULT_BASE_URL: Record<ReconcileProvider, string> = {
  openai: "https://api.openai.com/v1",
  anthropic: "https://api.anthropic.com",
};

const MAX_PAGES = 20;
const TIMEOUT_MS = 15_000;

export class FetchError extends Error {}

async function pages(
  url: (page: string | null) => string,
  headers: Record<string, string>,
  doFetch: typeof fetch,
): Promise<unknown[]> {
  const out: unknown[] = [];
  let page: string | null = null;
  for (let i = 0; i < MAX_PAGES; i++) {
    const target = url(page);
    const res = await doFetch(target, { headers, signal: AbortSignal.timeout(TIMEOUT_MS) });
    const text = await res.text();
    if (!res.ok) throw new FetchError(`${new URL(target).pathname}: HTTP ${res.status} ${text.slice(0, 300)}`);
    const body = JSON.parse(text) as { has_more?: boolean; next_page?: string | null };
    out.push(body);
    if (!body.has_more || !body.next_page) return out;
    page = body.next_page;
  }
  throw new FetchError(`more than ${MAX_PAGES} pages`);
}

export async function fetchProviderData(
  provider: ReconcileProvider,
  source: { adminKey: string; baseUrl?: string | null },
  period: { from: string; to: string },
  doFetch: typeof fetch = fetch,
): Promise<ProviderData> {
  const base = (source.baseUrl ?? DEFAULT_BASE_URL[provider]).replace(/\/+$/, "");
  const start = Date.parse(`${period.from}T00:00:00Z`);
  const end = Date.parse(`${period.to}T00:00:00Z`);
  const with_ = (path: string, params: [string, string][], page: string | null) => {
    const q = new URLSearchParams(params);
    if (page) q.set("page", page);
    return `${base}${path}?${q}`;
  };
  if (provider === "openai") {
    const headers = { authorization: `Bearer ${source.adminKey}`, "content-type": "application/json" };
    const range: [string, string][] = [
      ["start_time", String(start / 1000)],
      ["end_time", String(end / 1000)],
      ["bucket_width", "1d"],
      ["limit", "31"],
    ];
    const [usage, costs] = await Promise.all([
      pages((p) => with_("/organization/usage/completions", [...range, ["group_by", "model"]], p), headers, doFetch),
      pages((p) => with_("/organization/costs", [...range, ["group_by", "line_item"]], p), headers, doFetch),
    ]);
    return { provider, usage, costs };
  }
  const headers = { "x-api-key": source.adminKey, "anthropic-version": "2023-06-01" };
  const range: [string, string][] = [
    ["starting_at", new Date(start).toISOString()],
    ["ending_at", new Date(end).toISOString()],
    ["bucket_width", "1d"],
    ["limit", "31"],
  ];
  const [usage, costs] = await Promise.all([
    pages(
      (p) => with_("/v1/organizations/usage_report/messages", [...range, ["group_by[]", "model"]], p),
      headers,
      doFetch,
    ),
    pages(
      (p) => with_("/v1/organizations/cost_report", [...range, ["group_by[]", "description"]], p),
      headers,
      doFetch,
    ),
  ]);
  return { provider, usage, costs };
}
