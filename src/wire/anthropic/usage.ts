/**
 * Anthropic Messages usage → Usage. docs/wire-formats.md §5 [S6][S8][S9]:
 *
 *   inputTokens        = input_tokens (only the tokens after the last cache breakpoint [S8]:
 *                        cache reads and writes are NOT inside it, so nothing is subtracted)
 *   cacheReadTokens    = cache_read_input_tokens
 *   cacheWriteTokens   = cache_creation.ephemeral_5m_input_tokens
 *   cacheWrite1hTokens = cache_creation.ephemeral_1h_input_tokens
 *     total writes W = cache_creation_input_tokens (or the split's sum when absent). Writes the split
 *     does not explain (no split at all, or a message_delta whose W grew past message_start's split,
 *     §5 "observed deltas had no TTL split") go to the TTL the request asked for — `cacheWriteTtl`,
 *     default "5m" (when the split is absent, all writes are 5m).
 *   outputTokens       = output_tokens ("the inclusive, authoritative total used for billing" [S6])
 *   reasoningTokens    = output_tokens_details.thinking_tokens (an approximate part of output, ≤ it)
 *   webSearchRequests  = server_tool_use.web_search_requests (web_fetch has no per-request fee mapped: unverified)
 *   serviceTier        = usage.service_tier (standard | priority | batch)
 *   Beta `usage.iterations[]` (compaction, §5 [S10], secondary source): when present, the buckets
 *   are the sums over the iterations, since the top-level counts leave the compaction one out.
 *   (The ≥200k long-context threshold applies per iteration: a pricing concern, not mapped here.)
 */
import { emptyUsage, type Usage } from "../../usage";
import { type Json, num, obj, str } from "../shared";

export interface AnthropicUsageOptions {
  cacheWriteTtl?: "5m" | "1h";
}

export function anthropicUsage(u: Json, opts: AnthropicUsageOptions, warnings: string[]): Usage {
  const iterations = Array.isArray(u.iterations) ? u.iterations.map(obj).filter((x): x is Json => x !== null) : [];
  const out = iterations.length > 0 ? sumIterations(iterations, opts, warnings) : tokenBuckets(u, opts, warnings);
  out.webSearchRequests = num(obj(u.server_tool_use)?.web_search_requests) ?? 0;
  return out;
}

function tokenBuckets(u: Json, opts: AnthropicUsageOptions, warnings: string[]): Usage {
  const out = emptyUsage();
  out.inputTokens = num(u.input_tokens) ?? 0;
  out.cacheReadTokens = num(u.cache_read_input_tokens) ?? 0;
  const split = obj(u.cache_creation);
  let w5 = num(split?.ephemeral_5m_input_tokens) ?? 0;
  let w1h = num(split?.ephemeral_1h_input_tokens) ?? 0;
  const written = num(u.cache_creation_input_tokens) ?? w5 + w1h;
  const unexplained = written - w5 - w1h;
  if (unexplained < 0) {
    warnings.push(`cache_creation split ${w5 + w1h} exceeds cache_creation_input_tokens ${written}`);
  } else if (opts.cacheWriteTtl === "1h") {
    w1h += unexplained;
  } else {
    w5 += unexplained;
  }
  out.cacheWriteTokens = w5;
  out.cacheWrite1hTokens = w1h;
  out.outputTokens = num(u.output_tokens) ?? 0;
  out.reasoningTokens = Math.min(num(obj(u.output_tokens_details)?.thinking_tokens) ?? 0, out.outputTokens);
  return out;
}

function sumIterations(iterations: Json[], opts: AnthropicUsageOptions, warnings: string[]): Usage {
  const out = emptyUsage();
  for (const it of iterations) {
    const b = tokenBuckets(it, opts, warnings);
    out.inputTokens += b.inputTokens;
    out.cacheReadTokens += b.cacheReadTokens;
    out.cacheWriteTokens += b.cacheWriteTokens;
    out.cacheWrite1hTokens += b.cacheWrite1hTokens;
    out.outputTokens += b.outputTokens;
    out.reasoningTokens += b.reasoningTokens;
  }
  return out;
}

/** Usage from a whole (non-streamed) Messages response. */
export function anthropicUsageFromJson(
  body: unknown,
  opts: AnthropicUsageOptions = {},
): { usage: Usage; model: string | null; serviceTier?: string; warnings?: string[] } | null {
  const b = obj(body);
  const u = obj(b?.usage);
  if (!b || !u) return null;
  const warnings: string[] = [];
  const usage = anthropicUsage(u, opts, warnings);
  const tier = str(u.service_tier);
  return {
    usage,
    model: str(b.model),
    ...(tier ? { serviceTier: tier } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}
