/**
 * The one usage type. Every token of a call sits in exactly one bucket, so a cost is
 * Σ bucket × rate with nothing added twice and nothing left out. Wire-format extractors
 * (src/wire/*) fill it from what the provider reported; pricing (src/pricing) prices it.
 *
 * Providers report overlapping counts (OpenAI's prompt_tokens includes cached tokens,
 * Anthropic's input_tokens excludes them); the extractors do the subtraction, once.
 */
export interface Usage {
  /** Input tokens billed at the plain input rate (text, not cached, not a cache write). */
  inputTokens: number;
  /** Input tokens served from the provider's prompt cache. */
  cacheReadTokens: number;
  /** Input tokens written to the cache at the default TTL (Anthropic 5-minute, OpenAI cache_write). */
  cacheWriteTokens: number;
  /** Input tokens written to the cache with Anthropic's 1-hour TTL (priced higher). */
  cacheWrite1hTokens: number;
  /** Audio input tokens, not cached (OpenAI audio models). */
  inputAudioTokens: number;
  /** Audio input tokens served from cache. */
  cacheAudioReadTokens: number;
  /** Output tokens billed at the output rate: text and reasoning, audio excluded. */
  outputTokens: number;
  /** Audio output tokens. */
  outputAudioTokens: number;
  /** Reasoning/thinking tokens: a visible PART of outputTokens, never priced on top of it. */
  reasoningTokens: number;
  /** Per-request units: server-side web searches the provider billed. */
  webSearchRequests: number;
  /** Cost the provider itself reported (OpenRouter `cost`, xAI ticks, Perplexity), for reconciliation. */
  providerReportedCostNano?: number;
}

/** The token buckets that are priced, each at its own rate (reasoning is inside outputTokens). */
export const TOKEN_BUCKETS = [
  "inputTokens",
  "cacheReadTokens",
  "cacheWriteTokens",
  "cacheWrite1hTokens",
  "inputAudioTokens",
  "cacheAudioReadTokens",
  "outputTokens",
  "outputAudioTokens",
] as const;
export type TokenBucket = (typeof TOKEN_BUCKETS)[number];

/** Every count a record carries, in the order of the API and the CSV: the token buckets, reasoning, units. */
export const USAGE_COUNTS = [...TOKEN_BUCKETS, "reasoningTokens", "webSearchRequests"] as const;
export type UsageCount = (typeof USAGE_COUNTS)[number];

export type UsageSource = "reported" | "estimated" | "none";

export function emptyUsage(): Usage {
  return {
    inputTokens: 0,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    cacheWrite1hTokens: 0,
    inputAudioTokens: 0,
    cacheAudioReadTokens: 0,
    outputTokens: 0,
    outputAudioTokens: 0,
    reasoningTokens: 0,
    webSearchRequests: 0,
  };
}

/** Every input token, whatever its bucket: what context-size tiers are measured against. */
export function totalInputTokens(u: Usage): number {
  return (
    u.inputTokens +
    u.cacheReadTokens +
    u.cacheWriteTokens +
    u.cacheWrite1hTokens +
    u.inputAudioTokens +
    u.cacheAudioReadTokens
  );
}

/** Every output token (reasoning is already inside outputTokens). */
export function totalOutputTokens(u: Usage): number {
  return u.outputTokens + u.outputAudioTokens;
}
