/** Anthropic Messages requests: endpoint, reservation facts, the cache TTL asked for. */
import { estimateInputTokens } from "../estimate";
import { trimPath } from "../openai/request";
import { isObj, type Json, num, str } from "../shared";
import type { Endpoint, RequestFacts } from "../types";

/** `v1/messages` → "messages"; `v1/messages/count_tokens`, `v1/messages/batches`, models… → "other". */
export function anthropicEndpoint(path: string): Endpoint {
  const p = trimPath(path);
  return p === "messages" || p.endsWith("/messages") ? "messages" : "other";
}

export function anthropicRequestFacts(path: string, body: Json): RequestFacts {
  const { tokens, bounded } = estimateInputTokens(body);
  const ttl = cacheTtl(body);
  return {
    endpoint: anthropicEndpoint(path),
    model: str(body.model),
    stream: body.stream === true,
    // max_tokens is required and includes the thinking budget.
    maxOutputTokens: num(body.max_tokens),
    estimatedInputTokens: tokens,
    inputBounded: bounded,
    ...(ttl ? { cacheWriteTtl: ttl } : {}),
  };
}

/**
 * The TTL the request's cache_control breakpoints ask for: "1h" when every one that sets a TTL
 * says 1h and at least one does; "5m" when any breakpoint exists otherwise; absent without any.
 * Used for cache writes the response does not split by TTL (docs/wire-formats.md §5, a recommendation).
 */
function cacheTtl(body: Json): "5m" | "1h" | undefined {
  let seen5m = false;
  let seen1h = false;
  const visit = (v: unknown, depth: number): void => {
    if (depth > 6) return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, depth + 1);
      return;
    }
    if (!isObj(v)) return;
    const cc = v.cache_control;
    if (isObj(cc)) {
      if (cc.ttl === "1h") seen1h = true;
      else seen5m = true;
    }
    if (Array.isArray(v.content)) visit(v.content, depth + 1);
  };
  visit(body.system, 0);
  visit(body.messages, 0);
  visit(body.tools, 0);
  if (isObj(body.cache_control)) visit({ cache_control: body.cache_control }, 0);
  return seen1h && !seen5m ? "1h" : seen5m || seen1h ? "5m" : undefined;
}
