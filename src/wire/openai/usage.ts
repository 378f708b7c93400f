/**
 * OpenAI-format usage → the one Usage (src/usage.ts). Every OpenAI-compatible provider lands here;
 * what differs between them is data (ProviderQuirks) or a field only one of them sends.
 *
 * The mapping, with the section of docs/wire-formats.md it follows:
 *
 * Chat / legacy completions / embeddings (`prompt_tokens` shape), §2, §3 [S1][S4][S5]:
 *   P = prompt_tokens, C = completion_tokens, T = total_tokens
 *   details = prompt_tokens_details ?? prompt_token_details (Mistral/Gemini misspelling, §6 §8)
 *   cacheRead  = prompt_cache_hit_tokens (DeepSeek, §7; hit + miss = P)
 *             ?? details.cached_tokens ?? num_cached_tokens (Mistral observed, §8)        — inside P
 *   cacheWrite = details.cache_write_tokens (OpenAI ≥ Jul 2026 §2, OpenRouter §14)         — inside P
 *   audio in   = details.audio_tokens (subset of P, §2); cached audio = details.cached_tokens_details.audio_tokens
 *   inputAudioTokens = audio − cachedAudio; cacheAudioReadTokens = cachedAudio; cacheReadTokens = cached − cachedAudio
 *   inputTokens = P − cached − cacheWrite − (audio − cachedAudio)
 *   + Perplexity (quirk separateReasoningAndCitations, §11): citation_tokens added to inputTokens
 *   output O = C; quirk outputFromTotal (Gemini-compat §6 [S12], xAI §12 [S27]): O = max(C, T − P)
 *     otherwise T > P + C is reported as a warning (§1.4 "anywhere else, alarm")
 *   + Perplexity: top-level reasoning_tokens added to O (billed separately, §11)
 *   outputAudioTokens = completion_tokens_details.audio_tokens (subset of C, §2); outputTokens = O − audio out
 *   reasoningTokens = completion_tokens_details.reasoning_tokens (inside C: OpenAI §2, DeepSeek 789 ⊃ 415 §7,
 *     Groq §9, OpenRouter §14); with outputFromTotal and no breakdown: O − C (Gemini's 79 thoughts)
 *   accepted/rejected prediction tokens: inside C, never added (§2)
 *   webSearchRequests = server_tool_use_details.web_search_requests (OpenRouter §14)
 *     | num_search_queries (Perplexity §11) | server_side_tool_usage_details.web_search_calls + x_search_calls (xAI §12)
 *   providerReportedCostNano = cost (OpenRouter, USD §14) | cost.total_cost (Perplexity, USD §11)
 *     | cost_in_usd_ticks / 10 (xAI, 1 USD = 1e10 ticks §12)
 *
 * Responses (`input_tokens` shape), §4 [S3]: the same rules with input_tokens / output_tokens,
 *   input_tokens_details.{cached_tokens, cache_write_tokens} (Perplexity Agent API:
 *   cache_read_input_tokens / cache_creation_input_tokens, assumed inside input_tokens — unverified §11),
 *   output_tokens_details.reasoning_tokens; web searches = output[] items of type web_search_call,
 *   one each whatever the action (Helicone's rule [S17]; whether open_page/find are billed is unverified).
 *
 * Not mapped (no bucket in Usage): Mistral prompt_audio_seconds, xAI num_sources_used, Groq x_groq
 * hardware-cache statistics (non-stream x_groq.usage is not billing data, §9).
 */
import type { ProviderQuirks } from "../../providers";
import { emptyUsage, type Usage } from "../../usage";
import { type Json, num, obj, remainder, str, usdToNano } from "../shared";

export function openaiUsage(u: Json, quirks: ProviderQuirks, warnings: string[], output?: unknown): Usage {
  return "input_tokens" in u || "output_tokens" in u
    ? responsesUsage(u, quirks, warnings, output)
    : chatUsage(u, quirks, warnings);
}

function chatUsage(u: Json, quirks: ProviderQuirks, warnings: string[]): Usage {
  const hit = num(u.prompt_cache_hit_tokens);
  const miss = num(u.prompt_cache_miss_tokens);
  const P = num(u.prompt_tokens) ?? (hit !== null && miss !== null ? hit + miss : 0);
  const C = num(u.completion_tokens) ?? 0;
  const T = num(u.total_tokens);
  const pd = obj(u.prompt_tokens_details) ?? obj(u.prompt_token_details) ?? {};
  const cd = obj(u.completion_tokens_details) ?? {};
  const cached = hit ?? num(pd.cached_tokens) ?? num(u.num_cached_tokens) ?? 0;
  const out = inputBuckets(P, cached, num(pd.cache_write_tokens) ?? 0, pd, warnings);
  if (quirks.separateReasoningAndCitations) {
    // Perplexity: billed on top of prompt / completion (§11); count them in both sides of the total check.
    const citations = num(u.citation_tokens) ?? 0;
    const reasoning = num(u.reasoning_tokens) ?? 0;
    out.inputTokens += citations;
    outputBuckets(out, P + citations, C + reasoning, T, cd, quirks, warnings, "completion");
    out.reasoningTokens = Math.min(out.reasoningTokens + reasoning, out.outputTokens);
  } else {
    outputBuckets(out, P, C, T, cd, quirks, warnings, "completion");
  }
  out.webSearchRequests = webSearches(u);
  const cost = reportedCostNano(u);
  if (cost !== null) out.providerReportedCostNano = cost;
  return out;
}

function responsesUsage(u: Json, quirks: ProviderQuirks, warnings: string[], output: unknown): Usage {
  const I = num(u.input_tokens) ?? 0;
  const O = num(u.output_tokens) ?? 0;
  const T = num(u.total_tokens);
  const id = obj(u.input_tokens_details) ?? {};
  const od = obj(u.output_tokens_details) ?? {};
  const cached = num(id.cached_tokens) ?? num(id.cache_read_input_tokens) ?? 0;
  const write = num(id.cache_write_tokens) ?? num(id.cache_creation_input_tokens) ?? 0;
  const out = inputBuckets(I, cached, write, id, warnings);
  outputBuckets(out, I, O, T, od, quirks, warnings, "output");
  out.webSearchRequests = webSearches(u) + webSearchCalls(output);
  const cost = reportedCostNano(u);
  if (cost !== null) out.providerReportedCostNano = cost;
  return out;
}

function inputBuckets(prompt: number, cached: number, write: number, details: Json, warnings: string[]): Usage {
  const out = emptyUsage();
  const audio = num(details.audio_tokens) ?? 0;
  const cachedAudio = num(obj(details.cached_tokens_details)?.audio_tokens) ?? 0;
  out.cacheAudioReadTokens = Math.min(cachedAudio, cached);
  out.cacheReadTokens = cached - out.cacheAudioReadTokens;
  out.cacheWriteTokens = write;
  out.inputAudioTokens = Math.max(0, audio - out.cacheAudioReadTokens);
  out.inputTokens = remainder(prompt, [cached, write, out.inputAudioTokens], warnings, "input");
  return out;
}

function outputBuckets(
  out: Usage,
  prompt: number,
  completion: number,
  total: number | null,
  details: Json,
  quirks: ProviderQuirks,
  warnings: string[],
  what: string,
): void {
  let O = completion;
  const reported = num(details.reasoning_tokens);
  let reasoning = reported ?? 0;
  if (total !== null && total > prompt + completion) {
    if (quirks.outputFromTotal) {
      O = total - prompt;
      if (reported === null) reasoning = O - completion;
    } else {
      warnings.push(`total_tokens ${total} > prompt ${prompt} + ${what} ${completion}: output may be unreported`);
    }
  }
  out.outputAudioTokens = num(details.audio_tokens) ?? 0;
  out.outputTokens = remainder(O, [out.outputAudioTokens], warnings, "output");
  out.reasoningTokens = Math.min(reasoning, out.outputTokens);
}

function webSearches(u: Json): number {
  const orouter = num(obj(u.server_tool_use_details)?.web_search_requests);
  if (orouter !== null) return orouter;
  const pplx = num(u.num_search_queries);
  if (pplx !== null) return pplx;
  const xai = obj(u.server_side_tool_usage_details);
  if (xai) return (num(xai.web_search_calls) ?? 0) + (num(xai.x_search_calls) ?? 0);
  return 0;
}

function webSearchCalls(output: unknown): number {
  if (!Array.isArray(output)) return 0;
  let n = 0;
  for (const item of output) if (obj(item)?.type === "web_search_call") n++;
  return n;
}

function reportedCostNano(u: Json): number | null {
  const cost = u.cost;
  if (typeof cost === "number" && Number.isFinite(cost)) return usdToNano(cost); // OpenRouter
  const total = num(obj(cost)?.total_cost); // Perplexity
  if (total !== null) return usdToNano(total);
  const ticks = num(u.cost_in_usd_ticks); // xAI: 1 USD = 1e10 ticks
  if (ticks !== null) return Math.round(ticks / 10);
  return null;
}

/** Usage from a whole (non-streamed) OpenAI-format response body. */
export function openaiUsageFromJson(
  body: unknown,
  quirks: ProviderQuirks,
): { usage: Usage; model: string | null; serviceTier?: string; warnings?: string[] } | null {
  const b = obj(body);
  if (!b) return null;
  // A Responses object nests nothing: usage, model and output sit at the top (§4).
  const u = obj(b.usage);
  if (!u) return null;
  const warnings: string[] = [];
  const usage = openaiUsage(u, quirks, warnings, b.output);
  const tier = str(b.service_tier);
  return {
    usage,
    model: str(b.model),
    ...(tier ? { serviceTier: tier } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}
