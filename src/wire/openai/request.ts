/**
 * OpenAI-format requests: which endpoint, the facts a budget reservation needs, and the one
 * rewrite the gateway makes (asking a stream for its usage, docs/wire-formats.md §2 [S2]).
 */
import type { ProviderQuirks } from "../../providers";
import { estimateInputTokens } from "../estimate";
import { isObj, type Json, num, str } from "../shared";
import type { Endpoint, RequestFacts } from "../types";

/** `chat/completions`, `v1/chat/completions`, `openai/deployments/x/chat/completions?…` → "chat". */
export function openaiEndpoint(path: string): Endpoint {
  const p = trimPath(path);
  if (p === "chat/completions" || p.endsWith("/chat/completions")) return "chat";
  if (p === "completions" || p.endsWith("/completions")) return "completions";
  if (p === "embeddings" || p.endsWith("/embeddings")) return "embeddings";
  if (p === "responses" || p.endsWith("/responses")) return "responses";
  return "other";
}

export function trimPath(path: string): string {
  const q = path.indexOf("?");
  return (q === -1 ? path : path.slice(0, q)).replace(/^\/+|\/+$/g, "");
}

export function openaiRequestFacts(path: string, body: Json): RequestFacts {
  const endpoint = openaiEndpoint(path);
  const { tokens, bounded } = estimateInputTokens(body);
  return {
    endpoint,
    model: str(body.model),
    stream: body.stream === true,
    maxOutputTokens: maxOutput(endpoint, body),
    estimatedInputTokens: tokens,
    inputBounded: bounded,
  };
}

function maxOutput(endpoint: Endpoint, body: Json): number | null {
  switch (endpoint) {
    case "embeddings":
      return 0;
    case "chat": {
      const max = num(body.max_completion_tokens) ?? num(body.max_tokens);
      return max === null ? null : max * Math.max(1, num(body.n) ?? 1);
    }
    case "completions": {
      // Legacy completions default max_tokens to 16 when absent; null here still reserves the model limit.
      const max = num(body.max_tokens);
      return max === null ? null : max * Math.max(1, num(body.best_of) ?? 0, num(body.n) ?? 1);
    }
    case "responses":
      return num(body.max_output_tokens);
    default:
      return num(body.max_completion_tokens) ?? num(body.max_tokens) ?? num(body.max_output_tokens);
  }
}

/** The gateway must ask for the usage chunk: a chat/completions stream the client did not opt in. */
export function needsIncludeUsage(facts: RequestFacts, body: Json, quirks?: ProviderQuirks): boolean {
  if (!facts.stream || (facts.endpoint !== "chat" && facts.endpoint !== "completions")) return false;
  if (quirks?.includeUsage === "never") return false;
  const opts = body.stream_options;
  return !(isObj(opts) && opts.include_usage === true);
}

/**
 * The body with `stream_options.include_usage: true`, other fields (and other stream_options)
 * kept; null when no rewrite is needed. The client then gets the usage-only chunk stripped
 * (createUsageChunkStripper).
 */
export function openaiWithIncludeUsage(facts: RequestFacts, body: Json, quirks?: ProviderQuirks): Json | null {
  if (!needsIncludeUsage(facts, body, quirks)) return null;
  const opts = isObj(body.stream_options) ? body.stream_options : {};
  return { ...body, stream_options: { ...opts, include_usage: true } };
}

/**
 * The same rewrite on the request TEXT, so everything the client sent stays byte-identical
 * (re-serialising would round integers above 2^53, e.g. a `seed`, and drop duplicate keys): when
 * the body has no stream_options, `"stream_options":{"include_usage":true},` is inserted after the
 * opening brace. Otherwise (rare: stream_options without include_usage) the parsed body is
 * re-serialised. null = forward the original text.
 */
export function openaiWithIncludeUsageText(
  facts: RequestFacts,
  text: string,
  body: Json,
  quirks?: ProviderQuirks,
): string | null {
  if (!needsIncludeUsage(facts, body, quirks)) return null;
  if (!("stream_options" in body)) {
    const brace = text.indexOf("{");
    if (brace !== -1)
      return `${text.slice(0, brace + 1)}"stream_options":{"include_usage":true},${text.slice(brace + 1)}`;
  }
  return JSON.stringify(openaiWithIncludeUsage(facts, body, quirks));
}
