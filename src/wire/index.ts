/**
 * The wire-format layer's public surface: pure functions from bytes and parsed JSON to request
 * facts and usage, dispatching on the provider's wire format. Everything runs in a Worker (no node:
 * imports) and holds no state beyond one meter / one stripper per call.
 *
 *   request:  isMeteredEndpoint, endpointOf, readRequestFacts, withIncludeUsage(Text)
 *   response: usageFromJson, createStreamMeter (SSE and JSON bodies), createUsageChunkStripper
 *   fallback: estimateOutputTokens
 */
import { ByteBuffer } from "../lib/bytes";
import type { ProviderQuirks, WireFormat } from "../providers";
import { anthropicEndpoint, anthropicRequestFacts } from "./anthropic/request";
import { createAnthropicStreamMeter } from "./anthropic/stream";
import { anthropicUsageFromJson } from "./anthropic/usage";
import { createLazyMeter } from "./lazy";
import {
  openaiEndpoint,
  openaiRequestFacts,
  openaiWithIncludeUsage,
  openaiWithIncludeUsageText,
} from "./openai/request";
import { createOpenAIStreamMeter } from "./openai/stream";
import { openaiUsageFromJson } from "./openai/usage";
import type { Json } from "./shared";
import type { Endpoint, JsonUsage, RequestFacts, StreamMeter, StreamMeterOptions, StreamMeterResult } from "./types";

export { canCountTokens, type TokenCountRequest, tokenCountRequest } from "./count";
export { estimateInputTokens, estimateOutputTokens, likelyInputTokens } from "./estimate";
export { createUsageChunkStripper, createUsageChunkStripperCore, type UsageChunkStripper } from "./openai/strip";
export type { Endpoint, JsonUsage, RequestFacts, StreamMeter, StreamMeterOptions, StreamMeterResult };

const METERED: ReadonlySet<Endpoint> = new Set(["chat", "completions", "embeddings", "responses", "messages"]);

/** The endpoint a request path (after /proxy/{provider}/) goes to, in the provider's wire format. */
export function endpointOf(format: WireFormat, path: string): Endpoint {
  return format === "anthropic" ? anthropicEndpoint(path) : openaiEndpoint(path);
}

/** Metered = its body is read for facts and its response for usage; anything else streams through. */
export function isMeteredEndpoint(format: WireFormat, path: string): boolean {
  return METERED.has(endpointOf(format, path));
}

/** model, stream, max output, input upper bound (and more, see RequestFacts) from a parsed body. */
export function readRequestFacts(format: WireFormat, path: string, body: Record<string, unknown>): RequestFacts {
  return format === "anthropic" ? anthropicRequestFacts(path, body) : openaiRequestFacts(path, body);
}

/**
 * The upstream body with `stream_options.include_usage: true` for an OpenAI chat/completions stream
 * the client did not opt in; null = forward the client's body unchanged. Pass the provider's quirks
 * (providers whose includeUsage is "never" are left alone); without quirks every OpenAI-format
 * stream is rewritten. When it returns non-null, strip the client's copy (createUsageChunkStripper).
 */
export function withIncludeUsage(
  format: WireFormat,
  facts: RequestFacts,
  body: Record<string, unknown>,
  quirks?: ProviderQuirks,
): Record<string, unknown> | null {
  return format === "openai" ? openaiWithIncludeUsage(facts, body, quirks) : null;
}

/**
 * Same decision, on the request text: inserts the option without re-serialising anything else
 * (keeps integers above 2^53, key order, spacing). null = forward `text` unchanged. Prefer this one.
 */
export function withIncludeUsageText(
  format: WireFormat,
  facts: RequestFacts,
  text: string,
  body: Record<string, unknown>,
  quirks?: ProviderQuirks,
): string | null {
  return format === "openai" ? openaiWithIncludeUsageText(facts, text, body, quirks) : null;
}

/**
 * Usage from a whole JSON response body (non-streamed). `path` is only used to tell formats'
 * endpoints apart where the body alone cannot; null = no usage in the body (errors, other endpoints).
 */
export function usageFromJson(
  format: WireFormat,
  _path: string,
  body: unknown,
  quirks: ProviderQuirks = {},
  opts: { cacheWriteTtl?: "5m" | "1h" } = {},
): JsonUsage | null {
  return format === "anthropic" ? anthropicUsageFromJson(body, opts) : openaiUsageFromJson(body, quirks);
}

/**
 * The meter for one response body. `streamed` (default true): an SSE body, scanned incrementally;
 * false: a JSON body, buffered (up to MAX_JSON_BYTES) and parsed once in finish(). Endpoint from
 * `endpoint`, else from `path`; an "other" endpoint gets a meter that keeps nothing.
 */
export function createStreamMeter(opts: StreamMeterOptions): StreamMeter {
  const endpoint = opts.endpoint ?? endpointOf(opts.format, opts.path ?? "");
  const quirks = opts.quirks ?? {};
  if (opts.streamed === false) return createJsonMeter(opts.format, endpoint, quirks, opts);
  // Kept, not parsed, per chunk; read at the end, usually just its head and tail (./lazy.ts).
  if (opts.format === "anthropic") {
    return createLazyMeter(() =>
      createAnthropicStreamMeter({
        ...(opts.cacheWriteTtl ? { cacheWriteTtl: opts.cacheWriteTtl } : {}),
        ...(opts.estimatedInputTokens !== undefined ? { estimatedInputTokens: opts.estimatedInputTokens } : {}),
      }),
    );
  }
  return createLazyMeter(() => createOpenAIStreamMeter(endpoint, quirks, opts));
}

/** Largest JSON response body the JSON meter keeps (bigger ones: usage null, flagged in warnings). */
export const MAX_JSON_BYTES = 16 * 1024 * 1024;

/** One decoder for every body: a decode without `stream` keeps no state between calls. */
const utf8 = new TextDecoder();

function createJsonMeter(
  format: WireFormat,
  endpoint: Endpoint,
  quirks: ProviderQuirks,
  opts: StreamMeterOptions,
): StreamMeter {
  const body = new ByteBuffer(MAX_JSON_BYTES);
  const keep = endpoint !== "other";
  return {
    push(chunk) {
      if (keep) body.append(chunk);
    },
    finish(): StreamMeterResult {
      const none: StreamMeterResult = {
        usage: null,
        model: null,
        complete: false,
        outputTextChars: 0,
        outputText: "",
        estimatedUsage: null,
        warnings: body.overflow ? [`JSON body over ${MAX_JSON_BYTES} bytes: not read for usage`] : [],
      };
      if (!keep || body.overflow) return none;
      let json: Json;
      try {
        json = JSON.parse(utf8.decode(body.view())) as Json;
      } catch {
        return { ...none, warnings: ["response body is not JSON"] };
      }
      const found = usageFromJson(
        format,
        "",
        json,
        quirks,
        opts.cacheWriteTtl ? { cacheWriteTtl: opts.cacheWriteTtl } : {},
      );
      const model = found?.model ?? (typeof json?.model === "string" ? json.model : null);
      return {
        ...none,
        usage: found?.usage ?? null,
        model,
        complete: true,
        ...(found?.serviceTier ? { serviceTier: found.serviceTier } : {}),
        warnings: found?.warnings ?? [],
      };
    },
  };
}
