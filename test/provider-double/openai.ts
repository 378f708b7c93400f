/**
 * OpenAI-format endpoints for every OpenAI-compatible style: chat/completions, completions,
 * embeddings, responses, models. The style decides the envelope of each chunk and, above all,
 * where a stream carries its usage (docs/wire-formats.md §0 and §2–§14).
 */
import {
  generateOutput,
  groupTokens,
  hashText,
  newId,
  nowSeconds,
  type Output,
  obfuscation,
  prng,
  promptTokensChat,
  promptTokensPlain,
  promptTokensResponses,
  seedText,
} from "./content";
import { openaiError, openaiStreamErrorFrame } from "./errors";
import type { HandlerContext, Reply, StyleId } from "./types";

type Obj = Record<string, unknown>;

/** The counts a usage object is rendered from. */
export interface Counts {
  prompt: number;
  /** Visible output tokens. */
  visible: number;
  reasoning: number;
  cached: number;
}

const FINGERPRINT: Partial<Record<StyleId, string>> = {
  openai: "fp_d0469e1700",
  deepseek: "fp_8802369eaa_prod0623_fp8_kvcache",
  groq: "fp_448a0d11e0",
  xai: "fp_9a2f0e7c3b",
};

function num(x: unknown): number | undefined {
  return typeof x === "number" && Number.isFinite(x) ? x : undefined;
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

/** A cost in USD for the styles that report one (OpenRouter, Perplexity): fixed demo rates. */
function usdCost(prompt: number, output: number): { prompt: number; output: number; total: number } {
  const p = round(prompt * 4e-7, 10);
  const o = round(output * 1.6e-6, 10);
  return { prompt: p, output: o, total: round(p + o, 10) };
}

/**
 * The usage object each style reports for chat completions, in its own field names, when
 * `visible` output tokens have been produced. `final` adds what only the last chunk carries
 * (Perplexity's `cost`).
 */
export function chatUsage(style: StyleId, c: Counts, visible = c.visible, final = true): Obj {
  const p = c.prompt;
  const r = c.reasoning;
  const out = visible + r;
  switch (style) {
    case "deepseek": {
      const u: Obj = { prompt_tokens: p, completion_tokens: out, total_tokens: p + out };
      u.prompt_tokens_details = { cached_tokens: c.cached };
      if (r > 0) u.completion_tokens_details = { reasoning_tokens: r };
      u.prompt_cache_hit_tokens = c.cached;
      u.prompt_cache_miss_tokens = p - c.cached;
      return u;
    }
    case "groq": {
      const u: Obj = {
        queue_time: 0.012345,
        prompt_tokens: p,
        prompt_time: 0.004567,
        completion_tokens: out,
        completion_time: 0.0321,
        total_tokens: p + out,
        total_time: 0.036667,
      };
      if (c.cached > 0) u.prompt_tokens_details = { cached_tokens: c.cached };
      if (r > 0) u.completion_tokens_details = { reasoning_tokens: r };
      return u;
    }
    case "gemini":
      // Thoughts are left out of completion_tokens and appear only in total_tokens (§6).
      return { completion_tokens: visible, prompt_tokens: p, total_tokens: p + visible + r };
    case "mistral":
      return {
        prompt_tokens: p,
        total_tokens: p + out,
        completion_tokens: out,
        prompt_tokens_details: { cached_tokens: c.cached },
      };
    case "together":
      return { prompt_tokens: p, completion_tokens: out, total_tokens: p + out };
    case "perplexity": {
      const u: Obj = { prompt_tokens: p, completion_tokens: visible, total_tokens: p + visible + r };
      if (r > 0) u.reasoning_tokens = r;
      u.search_context_size = "low";
      if (final) {
        const cost = usdCost(p, visible + r);
        u.cost = {
          input_tokens_cost: cost.prompt,
          output_tokens_cost: cost.output,
          request_cost: 0.005,
          total_cost: round(cost.total + 0.005, 10),
        };
      }
      return u;
    }
    case "xai":
      // Reasoning sits outside completion_tokens: total = prompt + completion + reasoning (§12).
      return {
        prompt_tokens: p,
        completion_tokens: visible,
        total_tokens: p + visible + r,
        prompt_tokens_details: { text_tokens: p, audio_tokens: 0, image_tokens: 0, cached_tokens: c.cached },
        completion_tokens_details: {
          reasoning_tokens: r,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
        num_sources_used: 0,
        cost_in_usd_ticks: (p - c.cached) * 2000 + c.cached * 500 + (visible + r) * 5000,
      };
    case "fireworks":
      return {
        prompt_tokens: p,
        total_tokens: p + out,
        completion_tokens: out,
        prompt_tokens_details: { cached_tokens: c.cached },
      };
    case "openrouter": {
      const cost = usdCost(p, out);
      return {
        prompt_tokens: p,
        completion_tokens: out,
        total_tokens: p + out,
        cost: cost.total,
        is_byok: false,
        prompt_tokens_details: { cached_tokens: c.cached, cache_write_tokens: 0, audio_tokens: 0, video_tokens: 0 },
        cost_details: {
          upstream_inference_cost: null,
          upstream_inference_prompt_cost: cost.prompt,
          upstream_inference_completions_cost: cost.output,
        },
        completion_tokens_details: { reasoning_tokens: r, image_tokens: 0, audio_tokens: 0 },
      };
    }
    default:
      return {
        prompt_tokens: p,
        completion_tokens: out,
        total_tokens: p + out,
        prompt_tokens_details: { cached_tokens: c.cached, audio_tokens: 0 },
        completion_tokens_details: {
          reasoning_tokens: r,
          audio_tokens: 0,
          accepted_prediction_tokens: 0,
          rejected_prediction_tokens: 0,
        },
      };
  }
}

/** A cumulative mid-stream usage derived from an `x-double-usage` override (Gemini, Perplexity). */
function partialOverride(final: Obj, visibleSoFar: number): Obj {
  const out: Obj = { ...final };
  delete out.cost;
  const completion = num(final.completion_tokens);
  const total = num(final.total_tokens);
  if (completion !== undefined) {
    const partial = Math.min(visibleSoFar, completion);
    out.completion_tokens = partial;
    if (total !== undefined) out.total_tokens = total - (completion - partial);
  }
  return out;
}

export function jsonHeaders(style: StyleId, requestId: string): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json", "x-request-id": requestId };
  if (style === "openai") {
    h["openai-version"] = "2020-10-01";
    h["openai-processing-ms"] = "1";
  }
  if (style === "mistral") h["mistral-correlation-id"] = requestId;
  return h;
}

function sseHeaders(style: StyleId, requestId: string): Record<string, string> {
  const plain = style === "groq" || style === "openrouter" || style === "mistral" || style === "gemini";
  const h: Record<string, string> = {
    "content-type": plain ? "text/event-stream" : "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    "x-request-id": requestId,
  };
  if (style === "openai") {
    h["openai-version"] = "2020-10-01";
    h["openai-processing-ms"] = "1";
  }
  if (style === "mistral") h["mistral-correlation-id"] = requestId;
  return h;
}

function jsonReply(ctx: HandlerContext, obj: unknown): Reply {
  return { kind: "json", status: 200, headers: jsonHeaders(ctx.style, ctx.requestId), body: JSON.stringify(obj) };
}

function sseReply(ctx: HandlerContext, frames: string[], errorFrame = openaiStreamErrorFrame()): Reply {
  return { kind: "sse", status: 200, headers: sseHeaders(ctx.style, ctx.requestId), frames, errorFrame };
}

function chatId(style: StyleId): string {
  switch (style) {
    case "openai":
      return newId("chatcmpl-", 29);
    case "groq":
      return newId("chatcmpl-", 32);
    case "openrouter":
      return `gen-${nowSeconds()}-${newId("", 20)}`;
    case "mistral":
    case "gemini":
      return newId("", 32);
    default:
      return newId("", 36);
  }
}

function maxTokensOf(body: Obj, ...fields: string[]): number | undefined {
  for (const f of fields) {
    const v = num(body[f]);
    if (v !== undefined) return v;
  }
  return undefined;
}

function countsFor(ctx: HandlerContext, prompt: number, out: Output): Counts {
  return {
    prompt,
    visible: out.tokens.length,
    reasoning: ctx.ctl.reasoningTokens,
    cached: Math.min(ctx.ctl.cachedTokens, prompt),
  };
}

// ---------------------------------------------------------------------------------------------
// POST chat/completions
// ---------------------------------------------------------------------------------------------

export function chatCompletions(ctx: HandlerContext): Reply {
  const { body, style } = ctx;
  if (!Array.isArray(body.messages)) {
    return openaiError(400, ctx.requestId, {
      error: {
        message: "Missing required parameter: 'messages'.",
        type: "invalid_request_error",
        param: "messages",
        code: "missing_required_parameter",
      },
    });
  }
  const out = generateOutput(
    seedText(body),
    ctx.ctl.outputTokens,
    maxTokensOf(body, "max_completion_tokens", "max_tokens"),
  );
  const counts = countsFor(ctx, promptTokensChat(body), out);
  const usage = ctx.ctl.usage ?? chatUsage(style, counts);
  const finish = out.truncated ? "length" : "stop";
  const id = chatId(style);
  const created = nowSeconds();
  const model = ctx.model;
  if (body.stream === true) return sseReply(ctx, chatStreamFrames(ctx, out, counts, id, created));

  const message: Obj = { role: "assistant", content: out.text };
  let res: Obj;
  switch (style) {
    case "gemini":
      res = {
        choices: [{ finish_reason: finish, index: 0, message: { content: out.text, role: "assistant" } }],
        created,
        id,
        model,
        object: "chat.completion",
        usage,
      };
      break;
    case "perplexity":
      res = {
        id,
        model,
        created,
        usage,
        citations: [],
        search_results: [],
        object: "chat.completion",
        choices: [{ index: 0, finish_reason: finish, message }],
      };
      break;
    case "openrouter":
      res = {
        id,
        provider: "OpenAI",
        model,
        object: "chat.completion",
        created,
        choices: [
          {
            logprobs: null,
            finish_reason: finish,
            native_finish_reason: finish === "stop" ? "completed" : finish,
            index: 0,
            message: { role: "assistant", content: out.text, refusal: null, reasoning: null },
          },
        ],
        usage,
      };
      break;
    default: {
      res = { id, object: "chat.completion", created, model };
      const m = style === "openai" ? { ...message, refusal: null, annotations: [] } : message;
      if (style === "mistral")
        res.choices = [{ index: 0, message: { ...message, tool_calls: null }, finish_reason: finish }];
      else if (style === "fireworks" || style === "together")
        res.choices = [{ index: 0, message: m, finish_reason: finish }];
      else res.choices = [{ index: 0, message: m, logprobs: null, finish_reason: finish }];
      res.usage = usage;
      if (style === "openai") res.service_tier = "default";
      if (FINGERPRINT[style]) res.system_fingerprint = FINGERPRINT[style];
      if (style === "groq") {
        res.usage_breakdown = null;
        res.x_groq = { id: newId("req_", 26) };
        res.service_tier = "on_demand";
      }
    }
  }
  return jsonReply(ctx, res);
}

/** Where each style puts usage in a chat stream — the heart of the double (docs/wire-formats.md). */
function chatStreamFrames(ctx: HandlerContext, out: Output, counts: Counts, id: string, created: number): string[] {
  const { style, body, ctl, model } = ctx;
  const so = (body.stream_options ?? {}) as Obj;
  const includeUsage = so.include_usage === true;
  const obfuscate = style === "openai" && so.include_obfuscation !== false;
  const finish = out.truncated ? "length" : "stop";
  const pieces = groupTokens(out.tokens, ctl.chunks);
  const finalUsage = ctl.usage ?? chatUsage(style, counts);
  const cumulative = (soFar: number): Obj =>
    ctl.usage ? partialOverride(ctl.usage, soFar) : chatUsage(style, counts, soFar, false);
  // Styles whose chunks carry `"usage": null` until the one that has it.
  const nullUsage =
    ((style === "openai" || style === "deepseek") && includeUsage) || style === "together" || style === "fireworks";
  const groqId = newId("req_", 26);
  const frames: string[] = [];
  let seq = 0;

  const head = (): Obj => {
    switch (style) {
      case "openai":
        return { id, object: "chat.completion.chunk", created, model, service_tier: "default" };
      case "openrouter":
        return { id, provider: "OpenAI", model, object: "chat.completion.chunk", created };
      case "perplexity":
        return { id, model, created };
      default:
        return { id, object: "chat.completion.chunk", created, model };
    }
  };
  const choice = (delta: Obj, finishReason: string | null, soFarText = ""): Obj => {
    switch (style) {
      case "openrouter":
        return {
          index: 0,
          delta: { role: "assistant", ...delta },
          finish_reason: finishReason,
          native_finish_reason: finishReason === "stop" ? "completed" : finishReason,
          logprobs: null,
        };
      case "gemini":
        return finishReason === null
          ? { delta: { ...delta, role: "assistant" }, index: 0 }
          : { delta: { ...delta, role: "assistant" }, finish_reason: finishReason, index: 0 };
      case "perplexity":
        return {
          index: 0,
          finish_reason: finishReason,
          message: { role: "assistant", content: soFarText },
          delta: { role: "assistant", content: delta.content ?? "" },
        };
      case "together":
        return {
          index: 0,
          text: delta.content ?? "",
          logprobs: null,
          finish_reason: finishReason,
          seed: null,
          delta: { token_id: 0, role: "assistant", content: delta.content ?? "", tool_calls: null },
        };
      case "mistral":
      case "fireworks":
      case "xai":
        return { index: 0, delta, finish_reason: finishReason };
      default:
        return { index: 0, delta, logprobs: null, finish_reason: finishReason };
    }
  };
  /** `usage`: an object, null, or undefined (field left out). */
  const emit = (choices: Obj[], usage: Obj | null | undefined, extra?: Obj) => {
    const chunk: Obj = head();
    if (style === "perplexity") {
      if (usage !== undefined) chunk.usage = usage;
      chunk.citations = [];
      chunk.search_results = [];
      chunk.object = "chat.completion.chunk";
      chunk.choices = choices;
    } else if (style === "gemini") {
      // Gemini's compat layer orders keys alphabetically.
      const g: Obj = { choices, created, id, model, object: "chat.completion.chunk" };
      if (usage !== undefined) g.usage = usage;
      frames.push(`data: ${JSON.stringify(g)}\n\n`);
      return;
    } else {
      if (FINGERPRINT[style]) chunk.system_fingerprint = FINGERPRINT[style];
      chunk.choices = choices;
      if (usage !== undefined) chunk.usage = usage;
    }
    if (extra) Object.assign(chunk, extra);
    if (obfuscate) chunk.obfuscation = obfuscation(seq++);
    frames.push(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  const nul = nullUsage ? null : undefined;

  if (style === "openrouter") frames.push(": OPENROUTER PROCESSING\n\n", ": OPENROUTER PROCESSING\n\n");

  // 1. The role chunk.
  if (style !== "gemini" && style !== "perplexity") {
    const delta: Obj =
      style === "openai" ? { role: "assistant", content: "", refusal: null } : { role: "assistant", content: "" };
    emit(
      [choice(style === "openrouter" ? { content: "" } : delta, null)],
      nul,
      style === "groq" ? { x_groq: { id: groqId } } : undefined,
    );
  }

  // 2. Content chunks.
  let soFar = 0;
  let soFarText = "";
  pieces.forEach((piece, i) => {
    soFar += piece.count;
    soFarText += piece.text;
    const last = i === pieces.length - 1;
    if (style === "gemini")
      emit([choice({ content: piece.text }, last ? finish : null)], last ? finalUsage : cumulative(soFar));
    else if (style === "perplexity") emit([choice({ content: piece.text }, null, soFarText)], cumulative(soFar));
    else emit([choice({ content: piece.text }, null)], nul);
    if (style === "openrouter" && i === 0) frames.push(": OPENROUTER PROCESSING\n\n");
  });

  // 3. The finish chunk and the usage, where each style puts it.
  switch (style) {
    case "openai":
      emit([choice({}, finish)], nul);
      if (includeUsage) emit([], finalUsage);
      break;
    case "deepseek":
      // Usage rides on the finish chunk; no empty-choices chunk (§7).
      emit([choice({ content: "" }, finish)], includeUsage ? finalUsage : undefined);
      break;
    case "groq":
      // x_groq.usage and (observed 2026) top-level usage on the finish chunk; with the opt-in a
      // separate empty-choices usage chunk follows too, so the usage arrives twice (§9).
      emit([choice({}, finish)], finalUsage, { x_groq: { id: groqId, usage: finalUsage } });
      if (includeUsage) emit([], finalUsage);
      break;
    case "gemini":
      // Usage was on every chunk; the last content chunk carried finish_reason.
      if (pieces.length === 0) emit([choice({ content: "" }, finish)], finalUsage);
      break;
    case "mistral":
      emit([choice({ content: "" }, finish)], finalUsage);
      break;
    case "together":
      emit([choice({ content: "" }, finish)], finalUsage);
      break;
    case "perplexity":
      // Cumulative usage on every chunk; `cost` only on this last one (§11).
      emit([choice({ content: "" }, finish, soFarText)], finalUsage);
      break;
    case "xai":
      if (includeUsage) {
        emit([choice({}, finish)], finalUsage);
        emit([], finalUsage);
      } else emit([choice({}, finish)], undefined);
      break;
    case "fireworks":
      if (includeUsage) {
        emit([choice({}, finish)], null);
        emit([], finalUsage);
      } else emit([choice({}, finish)], finalUsage);
      break;
    case "openrouter":
      emit([choice({ content: "" }, finish)], undefined);
      frames.push(": OPENROUTER PROCESSING\n\n");
      // Aug 2026 shape: a stub choice that repeats finish_reason, with the usage (§14).
      emit([choice({ content: "" }, finish)], finalUsage);
      break;
    default:
      emit([choice({}, finish)], undefined);
  }
  frames.push("data: [DONE]\n\n");
  return frames;
}

// ---------------------------------------------------------------------------------------------
// POST completions (legacy)
// ---------------------------------------------------------------------------------------------

export function legacyCompletions(ctx: HandlerContext): Reply {
  const { body } = ctx;
  if (body.prompt === undefined) {
    return openaiError(400, ctx.requestId, {
      error: {
        message: "Missing required parameter: 'prompt'.",
        type: "invalid_request_error",
        param: "prompt",
        code: "missing_required_parameter",
      },
    });
  }
  // The legacy endpoint's max_tokens defaults to 16.
  const out = generateOutput(seedText(body), ctx.ctl.outputTokens, maxTokensOf(body, "max_tokens") ?? 16);
  const prompt = promptTokensPlain(body.prompt);
  const completion = out.tokens.length + ctx.ctl.reasoningTokens;
  const usage = ctx.ctl.usage ?? {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
  };
  const finish = out.truncated ? "length" : "stop";
  const id = newId("cmpl-", 29);
  const created = nowSeconds();
  const model = ctx.model;
  if (body.stream !== true) {
    return jsonReply(ctx, {
      id,
      object: "text_completion",
      created,
      model,
      choices: [{ text: out.text, index: 0, logprobs: null, finish_reason: finish }],
      usage,
    });
  }
  const includeUsage = (body.stream_options as Obj | undefined)?.include_usage === true;
  const frames: string[] = [];
  const emit = (choices: Obj[], u: Obj | null | undefined) => {
    const chunk: Obj = { id, object: "text_completion", created, choices, model };
    if (u !== undefined) chunk.usage = u;
    frames.push(`data: ${JSON.stringify(chunk)}\n\n`);
  };
  const nul = includeUsage ? null : undefined;
  for (const piece of groupTokens(out.tokens, ctx.ctl.chunks)) {
    emit([{ text: piece.text, index: 0, logprobs: null, finish_reason: null }], nul);
  }
  emit([{ text: "", index: 0, logprobs: null, finish_reason: finish }], nul);
  if (includeUsage) emit([], usage);
  frames.push("data: [DONE]\n\n");
  return sseReply(ctx, frames);
}

// ---------------------------------------------------------------------------------------------
// POST embeddings
// ---------------------------------------------------------------------------------------------

export function embeddings(ctx: HandlerContext): Reply {
  const { body } = ctx;
  const input = body.input;
  if (input === undefined || input === null || (Array.isArray(input) && input.length === 0)) {
    return openaiError(400, ctx.requestId, {
      error: {
        message: "'input' is a required property",
        type: "invalid_request_error",
        param: "input",
        code: null,
      },
    });
  }
  // A list of strings (or of token arrays) gives one embedding each; a string or one token array gives one.
  const items: unknown[] =
    Array.isArray(input) && (typeof input[0] === "string" || Array.isArray(input[0])) ? input : [input];
  const model = ctx.model;
  const dims = num(body.dimensions) ?? (model.includes("3-large") ? 3072 : 1536);
  const base64 = body.encoding_format === "base64";
  const data = items.map((item, index) => {
    const rand = prng(hashText(JSON.stringify(item)));
    const vec = new Float32Array(dims);
    for (let i = 0; i < dims; i++) vec[i] = (rand() - 0.5) / 8;
    const embedding = base64
      ? Buffer.from(vec.buffer, vec.byteOffset, vec.byteLength).toString("base64")
      : Array.from(vec, (v) => round(v, 8));
    return { object: "embedding", index, embedding };
  });
  const prompt = promptTokensPlain(input);
  const usage = ctx.ctl.usage ?? { prompt_tokens: prompt, total_tokens: prompt };
  return jsonReply(ctx, { object: "list", data, model, usage });
}

// ---------------------------------------------------------------------------------------------
// POST responses
// ---------------------------------------------------------------------------------------------

export function responsesUsage(c: Counts): Obj {
  const out = c.visible + c.reasoning;
  return {
    input_tokens: c.prompt,
    input_tokens_details: { cached_tokens: c.cached },
    output_tokens: out,
    output_tokens_details: { reasoning_tokens: c.reasoning },
    total_tokens: c.prompt + out,
  };
}

export function responses(ctx: HandlerContext): Reply {
  const { body, ctl } = ctx;
  if (body.input === undefined && body.previous_response_id === undefined && body.prompt === undefined) {
    return openaiError(400, ctx.requestId, {
      error: {
        message: "Missing required parameter: 'input'.",
        type: "invalid_request_error",
        param: "input",
        code: null,
      },
    });
  }
  const out = generateOutput(seedText(body), ctl.outputTokens, maxTokensOf(body, "max_output_tokens"));
  const counts = countsFor(ctx, promptTokensResponses(body), out);
  const usage = ctl.usage ?? responsesUsage(counts);
  const id = newId("resp_", 50);
  const msgId = newId("msg_", 50);
  const createdAt = nowSeconds();
  const incomplete = out.truncated;
  const reasoning = (body.reasoning ?? {}) as Obj;
  const response = (status: string, output: Obj[], u: Obj | null): Obj => ({
    id,
    object: "response",
    created_at: createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === "incomplete" ? { reason: "max_output_tokens" } : null,
    instructions: body.instructions ?? null,
    max_output_tokens: body.max_output_tokens ?? null,
    max_tool_calls: null,
    model: ctx.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: body.previous_response_id ?? null,
    prompt_cache_key: null,
    reasoning: { effort: reasoning.effort ?? null, summary: reasoning.summary ?? null },
    safety_identifier: null,
    service_tier: "default",
    store: body.store ?? true,
    temperature: body.temperature ?? 1.0,
    text: { format: { type: "text" }, verbosity: "medium" },
    tool_choice: body.tool_choice ?? "auto",
    tools: body.tools ?? [],
    top_logprobs: 0,
    top_p: body.top_p ?? 1.0,
    truncation: "disabled",
    usage: u,
    user: null,
    metadata: body.metadata ?? {},
  });
  const part = (text: string): Obj => ({ type: "output_text", annotations: [], logprobs: [], text });
  const item = (status: string, content: Obj[]): Obj => ({
    id: msgId,
    type: "message",
    status,
    content,
    role: "assistant",
  });
  const doneStatus = incomplete ? "incomplete" : "completed";
  const finalItem = item(doneStatus, [part(out.text)]);
  if (body.stream !== true) return jsonReply(ctx, response(doneStatus, [finalItem], usage));

  const frames: string[] = [];
  let seq = 0;
  const ev = (type: string, fields: Obj) => {
    frames.push(`event: ${type}\ndata: ${JSON.stringify({ type, sequence_number: seq++, ...fields })}\n\n`);
  };
  ev("response.created", { response: response("in_progress", [], null) });
  ev("response.in_progress", { response: response("in_progress", [], null) });
  ev("response.output_item.added", { output_index: 0, item: item("in_progress", []) });
  ev("response.content_part.added", { item_id: msgId, output_index: 0, content_index: 0, part: part("") });
  for (const piece of groupTokens(out.tokens, ctl.chunks)) {
    ev("response.output_text.delta", {
      item_id: msgId,
      output_index: 0,
      content_index: 0,
      delta: piece.text,
      logprobs: [],
      obfuscation: obfuscation(seq),
    });
  }
  ev("response.output_text.done", { item_id: msgId, output_index: 0, content_index: 0, text: out.text, logprobs: [] });
  ev("response.content_part.done", { item_id: msgId, output_index: 0, content_index: 0, part: part(out.text) });
  ev("response.output_item.done", { output_index: 0, item: finalItem });
  ev(incomplete ? "response.incomplete" : "response.completed", { response: response(doneStatus, [finalItem], usage) });
  const errorFrame = `event: error\ndata: ${JSON.stringify({
    type: "error",
    sequence_number: 9999,
    code: "server_error",
    message: "The server had an error while processing your request. Sorry about that!",
    param: null,
  })}\n\n`;
  return sseReply(ctx, frames, errorFrame);
}

// ---------------------------------------------------------------------------------------------
// GET models
// ---------------------------------------------------------------------------------------------

const MODELS: Partial<Record<StyleId, string[]>> = {
  openai: ["gpt-4o-mini", "gpt-4o", "gpt-4.1-mini", "gpt-5", "text-embedding-3-small", "gpt-3.5-turbo-instruct"],
  deepseek: ["deepseek-chat", "deepseek-reasoner"],
  groq: ["llama-3.3-70b-versatile", "openai/gpt-oss-120b"],
  gemini: ["models/gemini-2.5-flash", "models/gemini-2.5-pro"],
  mistral: ["mistral-small-latest", "mistral-large-latest"],
  together: ["meta-llama/Llama-3.3-70B-Instruct-Turbo"],
  perplexity: ["sonar", "sonar-pro"],
  xai: ["grok-4", "grok-3-mini"],
  fireworks: ["accounts/fireworks/models/llama-v3p1-8b-instruct"],
  openrouter: ["openai/gpt-4.1-mini", "anthropic/claude-sonnet-4.5"],
};

export function models(ctx: HandlerContext): Reply {
  const created = 1_700_000_000;
  const owner = ctx.style === "openai" ? "system" : ctx.style;
  const data = (MODELS[ctx.style] ?? []).map((id) => ({ id, object: "model", created, owned_by: owner }));
  return jsonReply(ctx, { object: "list", data });
}

/**
 * POST /responses/input_tokens: OpenAI's count of a Responses request's input, by the same rule
 * the double bills a Responses call with (promptTokensResponses).
 */
export function inputTokens(ctx: HandlerContext): Reply {
  if (ctx.body.input === undefined) {
    return openaiError(400, ctx.requestId, {
      error: {
        message: "Missing required parameter: 'input'.",
        type: "invalid_request_error",
        param: "input",
        code: null,
      },
    });
  }
  return jsonReply(ctx, { object: "response.input_tokens", input_tokens: promptTokensResponses(ctx.body) });
}
