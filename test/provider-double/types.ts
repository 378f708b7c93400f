/** Shared types of the provider double: the control knobs, a handler's context and its reply. */

/** Every provider style the double speaks; the first path segment of a request selects one. */
export type StyleId =
  | "openai"
  | "anthropic"
  | "deepseek"
  | "groq"
  | "gemini"
  | "mistral"
  | "together"
  | "perplexity"
  | "xai"
  | "fireworks"
  | "openrouter";

/** What the `x-double-*` request headers ask for (see README.md). */
export interface Controls {
  /** `x-double-usage`: the exact final usage object to report, in the provider's own field names. */
  usage?: Record<string, unknown>;
  /** `x-double-start-usage` (Anthropic): the usage object of `message_start`. */
  startUsage?: Record<string, unknown>;
  /** `x-double-chunks`: number of content chunks (default: one per token). */
  chunks?: number;
  /** `x-double-output-tokens`: visible output tokens before any max-tokens cap (default 16). */
  outputTokens?: number;
  /** `x-double-reasoning-tokens`: reasoning/thinking tokens to report (default 0). */
  reasoningTokens: number;
  /** `x-double-cached-tokens`: cache-read prompt tokens to report (default 0). */
  cachedTokens: number;
  /** `x-double-cache-write-tokens` (Anthropic `cache_creation_input_tokens`, 5-minute TTL; default 0). */
  cacheWriteTokens: number;
  /** `x-double-delay-ms`: wait before the status line. */
  delayMs: number;
  /** `x-double-chunk-delay-ms`: wait between SSE events. */
  chunkDelayMs: number;
  /** `x-double-status`: answer with this status in the provider's error shape. */
  status?: number;
  /** `x-double-status-for: model=status,…`: that status for a request asking that model (a chain's targets apart). */
  statusFor?: Record<string, number>;
  /** `x-double-delay-for: model=ms,…`: wait that long before the status line when the request asks that model. */
  delayFor?: Record<string, number>;
  /** `x-double-retry-after`: the `retry-after` value sent with a 429 (default "1"). */
  retryAfter: string;
  /** `x-double-break-after`: destroy the socket after N data events (JSON: after half the body). */
  breakAfter?: number;
  /** `x-double-error-after`: after N data events, send the provider's in-stream error event and end. */
  errorAfter?: number;
  /** `x-double-model`: the model name answered. */
  model?: string;
  /** `x-double-split`: `random` writes each event in 2–3 pieces; `coalesce` writes the whole stream at once. */
  split?: "random" | "coalesce";
}

export interface HandlerContext {
  style: StyleId;
  body: Record<string, unknown>;
  bodyText: string;
  ctl: Controls;
  /** The provider request id sent in `x-request-id` / `request-id`. */
  requestId: string;
  /** The model answered: `x-double-model`, else the request's `model`. */
  model: string;
}

export type Reply =
  | { kind: "json"; status: number; headers: Record<string, string>; body: string }
  | {
      kind: "sse";
      status: number;
      headers: Record<string, string>;
      /** Complete SSE events, each ending in "\n\n"; those starting with ":" are comments. */
      frames: string[];
      /** The provider's in-stream error event, for `x-double-error-after`. */
      errorFrame: string;
    };
