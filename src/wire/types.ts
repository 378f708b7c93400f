/** Types shared by the wire formats and the public surface (src/wire/index.ts). */
import type { ProviderQuirks, WireFormat } from "../providers";
import type { Usage } from "../usage";

/** The API a request goes to. Only the first five are metered; "other" streams through untouched. */
export type Endpoint = "chat" | "completions" | "embeddings" | "responses" | "messages" | "other";

export interface RequestFacts {
  endpoint: Endpoint;
  /** The model asked for; null when the body has none. */
  model: string | null;
  stream: boolean;
  /**
   * Worst-case output tokens the request allows: max_completion_tokens / max_tokens /
   * max_output_tokens, times `n` (OpenAI chat, several choices) or `best_of` (legacy completions).
   * null = the request sets no limit (reserve the model's output limit).
   */
  maxOutputTokens: number | null;
  /**
   * An upper bound on input tokens for text (UTF-8 bytes of every string and key in the body +
   * per-message overhead: a BPE token is at least one byte), plus fixed allowances for media.
   * See src/wire/estimate.ts.
   */
  estimatedInputTokens: number;
  /**
   * false when the input can grow past the estimate in ways the body cannot show: files by
   * reference, previous_response_id / conversation state, server-side tools (web search results
   * are input: Anthropic 2068 → 22397 observed, docs/wire-formats.md §5). Cap the reservation at the
   * model's context window instead.
   */
  inputBounded?: boolean;
  /** Anthropic: the TTL its cache_control breakpoints ask for, used for cache writes the response does not split (§5). */
  cacheWriteTtl?: "5m" | "1h";
}

export interface JsonUsage {
  usage: Usage;
  /** The model the provider answered with. */
  model: string | null;
  /** The tier actually used (price by it, §2). */
  serviceTier?: string;
  /** Anything that looked off (e.g. total > prompt + completion where no quirk explains it, §1.4). */
  warnings?: string[];
}

export interface StreamMeterOptions {
  format: WireFormat;
  quirks?: ProviderQuirks;
  /** The request path after the provider id (e.g. "chat/completions"); used when endpoint is absent. */
  path?: string;
  endpoint?: Endpoint;
  /** false: the body is one JSON document (buffered, parsed once at finish). Default true. */
  streamed?: boolean;
  /**
   * The input side of estimatedUsage when no usage arrives: a count, or a function computed only
   * then (e.g. likelyInputTokens of the request body — closer than the worst-case bound).
   */
  estimatedInputTokens?: number | (() => number);
  /** Anthropic: TTL for cache writes the response does not split by TTL (default "5m", §5). */
  cacheWriteTtl?: "5m" | "1h";
}

export interface StreamMeterResult {
  /** What the provider reported; null when no usage arrived (cut-off stream, error body). */
  usage: Usage | null;
  /** The model the provider answered with (from the usage event, else the first chunk). */
  model: string | null;
  /** The terminal event was seen: `data: [DONE]`, `message_stop`, `response.completed|incomplete|failed`. */
  complete: boolean;
  serviceTier?: string;
  /** Characters of generated text seen (content, reasoning, tool arguments), JSON-escaped length. */
  outputTextChars: number;
  /** The generated text (capped at 1 MiB of characters); only filled when usage is null. */
  outputText: string;
  /**
   * When usage is null: input from the request estimate (Anthropic: message_start's reported
   * input), output from the streamed text (estimateOutputTokens). Flag it `estimated`.
   */
  estimatedUsage: Usage | null;
  warnings: string[];
}

export interface StreamMeter {
  /** Keeps no view of `chunk` once it returns (what it keeps, it copies): the caller may reuse the buffer. */
  push(chunk: Uint8Array): void;
  finish(): StreamMeterResult;
}
