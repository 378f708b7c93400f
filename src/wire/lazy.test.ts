import { describe, expect, it } from "vitest";
import { createAnthropicStreamMeter } from "./anthropic/stream";
import { createStreamMeter } from "./index";
import { HEAD_BYTES, KEEP_MAX_BYTES, TAIL_BYTES } from "./lazy";
import { createOpenAIStreamMeter } from "./openai/stream";

const enc = new TextEncoder();

/** A long OpenAI chat stream (well past head + tail), the usage chunk before [DONE]. */
function chatStream(chunks: number, opts: { usage?: boolean; crlf?: boolean } = {}): string {
  const nl = opts.crlf ? "\r\n" : "\n";
  const ev = (o: unknown) => `data: ${JSON.stringify(o)}${nl}${nl}`;
  let s = ev({
    id: "c1",
    object: "chat.completion.chunk",
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, delta: { role: "assistant", content: "" } }],
    usage: null,
  });
  for (let i = 0; i < chunks; i++) {
    s += ev({
      id: "c1",
      object: "chat.completion.chunk",
      model: "gpt-4o-mini-2024-07-18",
      choices: [{ index: 0, delta: { content: ` word${i} ünïcode 世界` } }],
      usage: null,
    });
  }
  s += ev({
    id: "c1",
    object: "chat.completion.chunk",
    model: "gpt-4o-mini-2024-07-18",
    choices: [{ index: 0, delta: {}, finish_reason: "stop" }],
    usage: null,
  });
  if (opts.usage !== false) {
    s += ev({
      id: "c1",
      object: "chat.completion.chunk",
      model: "gpt-4o-mini-2024-07-18",
      choices: [],
      usage: {
        prompt_tokens: 900,
        completion_tokens: chunks,
        total_tokens: 900 + chunks,
        prompt_tokens_details: { cached_tokens: 128 },
      },
    });
    s += `data: [DONE]${nl}${nl}`;
  }
  return s;
}

function feed(meter: { push(c: Uint8Array): void }, text: string, piece = 777) {
  const bytes = enc.encode(text);
  for (let i = 0; i < bytes.length; i += piece) meter.push(bytes.subarray(i, i + piece));
}

describe("the lazy meter reads head and tail, and equals the eager meter", () => {
  it.each([
    ["LF", false],
    ["CRLF", true],
  ])("a long chat stream (%s): same usage, model and completeness", (_, crlf) => {
    const text = chatStream(3000, { crlf });
    expect(text.length).toBeGreaterThan(HEAD_BYTES + TAIL_BYTES);
    const lazy = createStreamMeter({ format: "openai", endpoint: "chat" });
    const eager = createOpenAIStreamMeter("chat", {});
    feed(lazy, text);
    feed(eager, text);
    const a = lazy.finish();
    const b = eager.finish();
    expect(a.usage).toEqual(b.usage);
    expect(a.usage?.outputTokens).toBe(3000);
    expect(a.model).toBe(b.model);
    expect(a.complete).toBe(true);
  });

  it("cut off before its usage: the whole stream is read, the estimate is the eager meter's", () => {
    const text = chatStream(3000, { usage: false });
    const lazy = createStreamMeter({ format: "openai", endpoint: "chat", estimatedInputTokens: 42 });
    const eager = createOpenAIStreamMeter("chat", {}, { estimatedInputTokens: 42 });
    feed(lazy, text);
    feed(eager, text);
    const a = lazy.finish();
    expect(a.usage).toBeNull();
    expect(a.estimatedUsage).toEqual(eager.finish().estimatedUsage);
    expect(a.estimatedUsage?.outputTokens).toBeGreaterThan(3000);
  });

  it("Anthropic: message_start at the head, the last message_delta at the tail", () => {
    const ev = (name: string, o: unknown) => `event: ${name}\ndata: ${JSON.stringify(o)}\n\n`;
    let text = ev("message_start", {
      type: "message_start",
      message: {
        id: "m",
        model: "claude-haiku-4-5",
        usage: { input_tokens: 1200, cache_read_input_tokens: 300, cache_creation_input_tokens: 50, output_tokens: 1 },
      },
    });
    text += ev("content_block_start", {
      type: "content_block_start",
      index: 0,
      content_block: { type: "text", text: "" },
    });
    for (let i = 0; i < 2500; i++)
      text += ev("content_block_delta", {
        type: "content_block_delta",
        index: 0,
        delta: { type: "text_delta", text: ` tok${i}` },
      });
    text += ev("content_block_stop", { type: "content_block_stop", index: 0 });
    text += ev("message_delta", {
      type: "message_delta",
      delta: { stop_reason: "end_turn" },
      usage: { output_tokens: 2500 },
    });
    text += ev("message_stop", { type: "message_stop" });
    expect(text.length).toBeGreaterThan(HEAD_BYTES + TAIL_BYTES);
    const lazy = createStreamMeter({ format: "anthropic", endpoint: "messages" });
    const eager = createAnthropicStreamMeter({});
    feed(lazy, text, 1234);
    feed(eager, text, 1234);
    const a = lazy.finish();
    expect(a.usage).toEqual(eager.finish().usage);
    expect(a.usage).toMatchObject({ inputTokens: 1200, cacheReadTokens: 300, outputTokens: 2500 });
  });

  it("past KEEP_MAX_BYTES it turns eager and still gets the usage", () => {
    const text = chatStream(Math.ceil(KEEP_MAX_BYTES / 60));
    expect(text.length).toBeGreaterThan(KEEP_MAX_BYTES);
    const lazy = createStreamMeter({ format: "openai", endpoint: "chat" });
    feed(lazy, text, 16_384);
    expect(lazy.finish().usage?.inputTokens).toBe(900 - 128);
  });
});

/** Feeds `text` through ONE scratch buffer, overwritten after every push — as the tee path's reads reuse theirs. */
function feedReusing(meter: { push(c: Uint8Array): void }, text: string, piece = 200) {
  const bytes = enc.encode(text);
  const scratch = new Uint8Array(4096);
  for (let i = 0; i < bytes.length; i += piece) {
    const part = bytes.subarray(i, i + piece);
    scratch.set(part);
    meter.push(scratch.subarray(0, part.byteLength));
    scratch.fill(0x7b); // "{": garbage a kept view would now read
  }
}

describe("meters keep copies, never the caller's buffers", () => {
  it.each([
    ["short stream (read whole at the end)", 20],
    ["long stream (head and tail)", 3000],
  ])("%s: exact usage although every read's buffer is reused", (_, chunks) => {
    const text = chatStream(chunks);
    const lazy = createStreamMeter({ format: "openai", endpoint: "chat" });
    feedReusing(lazy, text);
    const got = lazy.finish();
    expect(got.usage).toMatchObject({ outputTokens: chunks, cacheReadTokens: 128 });
    expect(got.complete).toBe(true);
  });

  it("the JSON meter too", () => {
    const body = JSON.stringify({
      id: "c1",
      object: "chat.completion",
      model: "gpt-4o-mini-2024-07-18",
      choices: [{ index: 0, message: { role: "assistant", content: "x".repeat(900) }, finish_reason: "stop" }],
      usage: { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 },
    });
    const json = createStreamMeter({ format: "openai", endpoint: "chat", streamed: false });
    feedReusing(json, body, 100);
    const got = json.finish();
    expect(got.usage).toMatchObject({ inputTokens: 12, outputTokens: 34 });
    expect(got.model).toBe("gpt-4o-mini-2024-07-18");
  });
});
