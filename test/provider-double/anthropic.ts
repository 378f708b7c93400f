/**
 * Anthropic Messages: POST /v1/messages (JSON and SSE), POST /v1/messages/count_tokens, GET /v1/models.
 * Usage semantics per docs/wire-formats.md §5: `input_tokens` excludes the cache counts; a stream gives
 * input and the cache counts in `message_start` and the cumulative totals in `message_delta`.
 */
import { generateOutput, groupTokens, newId, promptTokensAnthropic, seedText } from "./content";
import { anthropicError, anthropicStreamErrorFrame } from "./errors";
import type { HandlerContext, Reply } from "./types";

type Obj = Record<string, unknown>;

export interface AnthropicCounts {
  /** All input tokens of the request (what `promptTokensAnthropic` counts). */
  prompt: number;
  visible: number;
  thinking: number;
  cacheRead: number;
  cacheWrite: number;
}

/** The `usage` of a Messages response: the total input split into uncached, cache read and cache write. */
export function anthropicUsage(c: AnthropicCounts): Obj {
  const cacheRead = Math.min(c.cacheRead, c.prompt);
  const cacheWrite = Math.min(c.cacheWrite, c.prompt - cacheRead);
  const u: Obj = {
    input_tokens: c.prompt - cacheRead - cacheWrite,
    cache_creation_input_tokens: cacheWrite,
    cache_read_input_tokens: cacheRead,
    cache_creation: { ephemeral_5m_input_tokens: cacheWrite, ephemeral_1h_input_tokens: 0 },
    output_tokens: c.visible + c.thinking,
  };
  if (c.thinking > 0) u.output_tokens_details = { thinking_tokens: c.thinking };
  u.service_tier = "standard";
  u.inference_geo = "not_available";
  return u;
}

/** The fields `message_delta.usage` carries (cumulative; no TTL split, no service tier). */
const DELTA_FIELDS = [
  "input_tokens",
  "cache_creation_input_tokens",
  "cache_read_input_tokens",
  "output_tokens",
  "server_tool_use",
  "output_tokens_details",
];

function pick(u: Obj, fields: string[]): Obj {
  const out: Obj = {};
  for (const f of fields) if (u[f] !== undefined) out[f] = u[f];
  return out;
}

/** Anthropic pads some event payloads with spaces before the closing brace; so does the double. */
function padded(json: string, seq: number): string {
  const n = (seq * 5) % 17;
  return n === 0 ? json : `${json.slice(0, -1)}${" ".repeat(n)}}`;
}

function headers(ctx: HandlerContext, sse: boolean): Record<string, string> {
  return sse
    ? { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache", "request-id": ctx.requestId }
    : { "content-type": "application/json", "request-id": ctx.requestId };
}

function invalid(ctx: HandlerContext, message: string): Reply {
  return anthropicError(400, ctx.requestId, { type: "invalid_request_error", message });
}

export function messages(ctx: HandlerContext): Reply {
  const { body, ctl } = ctx;
  if (typeof body.model !== "string") return invalid(ctx, "model: Field required");
  if (typeof body.max_tokens !== "number") return invalid(ctx, "max_tokens: Field required");
  if (!Array.isArray(body.messages)) return invalid(ctx, "messages: Field required");

  const out = generateOutput(seedText(body), ctl.outputTokens, body.max_tokens);
  const usage =
    ctl.usage ??
    anthropicUsage({
      prompt: promptTokensAnthropic(body),
      visible: out.tokens.length,
      thinking: ctl.reasoningTokens,
      cacheRead: ctl.cachedTokens,
      cacheWrite: ctl.cacheWriteTokens,
    });
  const stopReason = out.truncated ? "max_tokens" : "end_turn";
  const id = newId("msg_01", 22);

  if (body.stream !== true) {
    const message = {
      model: ctx.model,
      id,
      type: "message",
      role: "assistant",
      content: [{ type: "text", text: out.text }],
      stop_reason: stopReason,
      stop_sequence: null,
      stop_details: null,
      usage,
    };
    return { kind: "json", status: 200, headers: headers(ctx, false), body: JSON.stringify(message) };
  }

  // message_start: input and cache counts, and a small partial output count (1 observed).
  let startUsage: Obj;
  if (ctl.startUsage) startUsage = ctl.startUsage;
  else {
    startUsage = {
      ...usage,
      output_tokens: Math.min(1, typeof usage.output_tokens === "number" ? usage.output_tokens : 1),
    };
    delete startUsage.server_tool_use;
    delete startUsage.output_tokens_details;
  }
  const frames: string[] = [];
  let seq = 0;
  const ev = (type: string, data: Obj) => {
    frames.push(`event: ${type}\ndata: ${padded(JSON.stringify({ type, ...data }), seq++)}\n\n`);
  };
  ev("message_start", {
    message: {
      model: ctx.model,
      id,
      type: "message",
      role: "assistant",
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: startUsage,
    },
  });
  ev("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
  frames.push('event: ping\ndata: {"type": "ping"}\n\n');
  for (const piece of groupTokens(out.tokens, ctl.chunks)) {
    ev("content_block_delta", { index: 0, delta: { type: "text_delta", text: piece.text } });
  }
  ev("content_block_stop", { index: 0 });
  ev("message_delta", {
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: pick(usage, DELTA_FIELDS),
  });
  ev("message_stop", {});
  return {
    kind: "sse",
    status: 200,
    headers: headers(ctx, true),
    frames,
    errorFrame: anthropicStreamErrorFrame(ctx.requestId),
  };
}

export function countTokens(ctx: HandlerContext): Reply {
  if (!Array.isArray(ctx.body.messages)) return invalid(ctx, "messages: Field required");
  const body = JSON.stringify({ input_tokens: promptTokensAnthropic(ctx.body) });
  return { kind: "json", status: 200, headers: headers(ctx, false), body };
}

const MODELS: [string, string][] = [
  ["claude-sonnet-4-5-20250929", "Claude Sonnet 4.5"],
  ["claude-haiku-4-5-20251001", "Claude Haiku 4.5"],
  ["claude-opus-4-5-20251101", "Claude Opus 4.5"],
];

export function models(ctx: HandlerContext): Reply {
  const data = MODELS.map(([id, display_name]) => ({
    type: "model",
    id,
    display_name,
    created_at: "2025-09-29T00:00:00Z",
  }));
  const body = JSON.stringify({ data, has_more: false, first_id: data[0]?.id, last_id: data.at(-1)?.id });
  return { kind: "json", status: 200, headers: headers(ctx, false), body };
}
