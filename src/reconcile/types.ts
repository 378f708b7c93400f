/**
 * What both sides of a reconciliation are brought to: lines keyed by UTC day, model and usage
 * bucket. The provider's reports and Tollgate's records bill the same buckets under different
 * names; these are the names a report uses.
 *
 *   input           uncached input tokens (text, audio, image)
 *   cache_read      input served from the prompt cache
 *   cache_write     input written to the cache (Anthropic's 5-minute TTL; OpenAI's cache writes)
 *   cache_write_1h  Anthropic's 1-hour cache writes
 *   output          output tokens, reasoning and audio included
 *   web_search      server-side web searches (requests, not tokens)
 *   other           a line item Tollgate does not meter apart (images, code execution, …)
 *   total           every bucket of the model (a report without a per-bucket split)
 */
export const BUCKETS = [
  "input",
  "cache_read",
  "cache_write",
  "cache_write_1h",
  "output",
  "web_search",
  "other",
] as const;
export type Bucket = (typeof BUCKETS)[number] | "total";

/** A provider model name for lines that are not per model (Anthropic web search, an ungrouped OpenAI cost). */
export const ANY_MODEL = "*";

export type ReconcileProvider = "openai" | "anthropic";

/** One line of the provider's data: tokens (usage reports), cost (cost reports), or both. */
export interface TheirLine {
  /** YYYY-MM-DD, the UTC day the bucket starts. */
  day: string;
  /** Lower-cased model name as the provider reports it, or ANY_MODEL. */
  model: string;
  bucket: Bucket;
  tokens?: number;
  costNano?: bigint;
  /** Requests the provider counted (OpenAI's num_model_requests, on `total` lines). */
  requests?: number;
  /** The provider's own words for the line (OpenAI line_item, Anthropic description). */
  label?: string;
}

/** The provider's side, parsed from an upload or fetched from its API. */
export interface TheirReport {
  provider: ReconcileProvider;
  /** What was given: token counts, costs, or both. */
  has: { usage: boolean; costs: boolean };
  /** Where it came from, for the report: "openai usage API", "anthropic cost report CSV", … */
  sources: string[];
  /** Days covered, [from, to) as YYYY-MM-DD; from the buckets' own bounds. */
  from: string | null;
  to: string | null;
  lines: TheirLine[];
  /** Things read but not compared (another currency, an unknown line item), said in the report. */
  notes: string[];
}

export const dayOf = (d: Date) => d.toISOString().slice(0, 10);

export function addDays(day: string, n: number): string {
  return dayOf(new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000));
}
