/**
 * The provider double, driven by the real SDKs (openai, @anthropic-ai/sdk) to prove they accept
 * its output, and by raw fetch to pin each style's wire quirks (docs/wire-formats.md).
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateOutput, promptTokensAnthropic, promptTokensChat, seedText } from "../provider-double/content";
import { type ProviderDouble, startProviderDouble, upstreamUrls } from "../provider-double/server";

let double: ProviderDouble;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  double = await startProviderDouble({ port: 0 });
  openai = new OpenAI({ baseURL: `${double.url}/openai/v1`, apiKey: "sk-test", maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: `${double.url}/anthropic`, apiKey: "sk-ant-test", maxRetries: 0 });
});
afterAll(async () => {
  await double.close();
});
beforeEach(() => double.reset());

const messages = [{ role: "user" as const, content: "Say hi" }];
/** 3 + (3 + ceil(6/4)) */
const PROMPT = 8;

interface SseEvent {
  event?: string;
  data: string;
  comment?: string;
}

/** A small SSE parser: events separated by a blank line; `:` lines are comments. */
function parseSse(text: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const block of text.split("\n\n")) {
    if (!block) continue;
    const ev: SseEvent = { data: "" };
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) ev.comment = line.slice(1).trim();
      else if (line.startsWith("event: ")) ev.event = line.slice(7);
      else if (line.startsWith("data: ")) ev.data += line.slice(6);
    }
    out.push(ev);
  }
  return out;
}

type Obj = Record<string, unknown> & { choices?: Obj[]; usage?: Obj | null };

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${double.url}${path}`, {
    method: "POST",
    headers: { authorization: "Bearer sk-test", "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { res, text: await res.text() };
}

/** The JSON data events of an OpenAI-style stream (without `[DONE]` and comments). */
async function chunks(path: string, body: unknown, headers: Record<string, string> = {}) {
  const { res, text } = await post(path, { stream: true, messages, ...(body as object) }, headers);
  expect(res.status).toBe(200);
  const events = parseSse(text);
  expect(events.at(-1)?.data).toBe("[DONE]");
  const data = events.filter((e) => e.data && e.data !== "[DONE]").map((e) => JSON.parse(e.data) as Obj);
  return { res, text, events, data };
}

describe("OpenAI via the openai SDK", () => {
  it("chat JSON: deterministic text, predictable usage, request id header", async () => {
    const { data, response } = await openai.chat.completions.create({ model: "gpt-4o-mini", messages }).withResponse();
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content).toMatch(/^Héllo 世界 🎉/);
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 16, total_tokens: PROMPT + 16 });
    expect(promptTokensChat({ messages })).toBe(PROMPT);
    // Same request, same answer.
    const again = await openai.chat.completions.create({ model: "gpt-4o-mini", messages });
    expect(again.choices[0]!.message.content).toBe(data.choices[0]!.message.content);
  });

  it("chat stream with include_usage: usage only on a final choices:[] chunk", async () => {
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    const got = [];
    for await (const c of stream) got.push(c);
    const last = got.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 16, total_tokens: PROMPT + 16 });
    for (const c of got.slice(0, -1)) expect(c.usage).toBeNull();
    expect(got.at(-2)!.choices[0]!.finish_reason).toBe("stop");
    const text = got.map((c) => c.choices[0]?.delta.content ?? "").join("");
    // The answer depends on the conversation only, so tests can predict it.
    expect(text).toBe(generateOutput(seedText({ messages }), undefined, undefined).text);
  });

  it("chat stream without include_usage: no chunk has a usage field", async () => {
    const stream = await openai.chat.completions.create({ model: "gpt-4o-mini", messages, stream: true });
    let n = 0;
    for await (const c of stream) {
      n++;
      expect("usage" in c).toBe(false);
    }
    expect(n).toBe(16 + 2); // role chunk, one per token, finish chunk
  });

  it("max_tokens caps the completion and finishes with length; x-double-chunks groups tokens", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages, max_tokens: 5, stream: true, stream_options: { include_usage: true } },
      { headers: { "x-double-chunks": "2" } },
    );
    const got = [];
    for await (const c of stream) got.push(c);
    expect(got).toHaveLength(1 + 2 + 1 + 1);
    expect(got.at(-2)!.choices[0]!.finish_reason).toBe("length");
    expect(got.at(-1)!.usage?.completion_tokens).toBe(5);
  });

  it("x-double-usage and x-double-model override what is answered", async () => {
    const usage = {
      prompt_tokens: 1000,
      completion_tokens: 50,
      total_tokens: 1050,
      prompt_tokens_details: { cached_tokens: 800, cache_write_tokens: 100 },
      completion_tokens_details: { reasoning_tokens: 30 },
    };
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o", messages, stream: true, stream_options: { include_usage: true } },
      { headers: { "x-double-usage": JSON.stringify(usage), "x-double-model": "gpt-4o-2024-08-06" } },
    );
    const got = [];
    for await (const c of stream) got.push(c);
    expect(got.at(-1)!.usage).toEqual(usage);
    expect(got.every((c) => c.model === "gpt-4o-2024-08-06")).toBe(true);
  });

  it("the stream helper accepts the chunks (finalChatCompletion)", async () => {
    const s = openai.chat.completions.stream({
      model: "gpt-4o-mini",
      messages,
      stream_options: { include_usage: true },
    });
    const final = await s.finalChatCompletion();
    expect(final.usage?.completion_tokens).toBe(16);
    expect(final.choices[0]!.message.content).toMatch(/^Héllo 世界 🎉/);
  });

  it("responses JSON and stream: events in order, usage in response.completed", async () => {
    const json = await openai.responses.create({ model: "gpt-4.1-mini", input: "Say hi" });
    expect(json.status).toBe("completed");
    expect(json.output_text).toMatch(/^Héllo 世界 🎉/);
    expect(json.usage).toMatchObject({ input_tokens: 3 + 3 + 2, output_tokens: 16, total_tokens: 24 });

    const stream = openai.responses.stream({ model: "gpt-4.1-mini", input: "Say hi" });
    const types: string[] = [];
    let deltas = "";
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === "response.output_text.delta") deltas += ev.delta;
    }
    const final = await stream.finalResponse();
    expect(types.slice(0, 4)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
    ]);
    expect(types.at(-1)).toBe("response.completed");
    expect(deltas).toBe(json.output_text);
    expect(final.usage).toEqual(json.usage);
  });

  it("responses with max_output_tokens ends in response.incomplete", async () => {
    const { text } = await post("/openai/v1/responses", {
      model: "gpt-4.1-mini",
      input: "Say hi",
      max_output_tokens: 4,
      stream: true,
    });
    const events = parseSse(text);
    expect(events.every((e) => e.event !== undefined)).toBe(true);
    const last = events.at(-1)!;
    expect(last.event).toBe("response.incomplete");
    const r = (JSON.parse(last.data) as { response: Obj }).response;
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect((r.usage as Obj).output_tokens).toBe(4);
  });

  it("embeddings (the SDK asks for base64 and decodes it), legacy completions, models", async () => {
    const emb = await openai.embeddings.create({ model: "text-embedding-3-small", input: ["héllo", "world"] });
    expect(emb.data).toHaveLength(2);
    expect(emb.data[0]!.embedding).toHaveLength(1536);
    expect(typeof emb.data[0]!.embedding[0]).toBe("number");
    expect(emb.usage).toEqual({ prompt_tokens: 4, total_tokens: 4 });
    const floats = await openai.embeddings.create({
      model: "text-embedding-3-small",
      input: "héllo",
      encoding_format: "float",
      dimensions: 8,
    });
    expect(floats.data[0]!.embedding).toHaveLength(8);

    const stream = await openai.completions.create({
      model: "gpt-3.5-turbo-instruct",
      prompt: "Say hi",
      stream: true,
      stream_options: { include_usage: true },
    });
    const got = [];
    for await (const c of stream) got.push(c);
    expect(got.at(-1)!.choices).toEqual([]);
    expect(got.at(-1)!.usage).toEqual({ prompt_tokens: 2, completion_tokens: 16, total_tokens: 18 });

    const list = await openai.models.list();
    expect(list.data.map((m) => m.id)).toContain("gpt-4o-mini");
  });

  it("error statuses raise the SDK's own classes, in OpenAI's error shape", async () => {
    const call = (status: number) =>
      openai.chat.completions.create(
        { model: "gpt-4o-mini", messages },
        { headers: { "x-double-status": String(status) } },
      );
    const e429 = await call(429).catch((e: unknown) => e);
    expect(e429).toBeInstanceOf(OpenAI.RateLimitError);
    expect((e429 as InstanceType<typeof OpenAI.RateLimitError>).status).toBe(429);
    expect((e429 as InstanceType<typeof OpenAI.RateLimitError>).headers.get("retry-after")).toBe("1");
    expect((e429 as InstanceType<typeof OpenAI.RateLimitError>).code).toBe("rate_limit_exceeded");
    await expect(call(500)).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    await expect(call(400)).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(call(404)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    const { res, text } = await post(
      "/openai/v1/chat/completions",
      { model: "m", messages },
      { "x-double-status": "503" },
    );
    expect(res.status).toBe(503);
    expect(JSON.parse(text)).toEqual({
      error: { message: expect.any(String), type: "server_error", param: null, code: null },
    });
  });

  it("authentication like the real API: a missing key and a leaked gateway key are refused", async () => {
    const res = await fetch(`${double.url}/openai/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages }),
    });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: Obj }).error.type).toBe("invalid_request_error");
    const leaked = new OpenAI({ baseURL: `${double.url}/openai/v1`, apiKey: "tg_live_123", maxRetries: 0 });
    await expect(leaked.chat.completions.create({ model: "m", messages })).rejects.toBeInstanceOf(
      OpenAI.AuthenticationError,
    );
  });

  it("x-double-break-after cuts the stream: the client sees an error, no usage", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages, stream: true, stream_options: { include_usage: true } },
      { headers: { "x-double-break-after": "3" } },
    );
    const got: unknown[] = [];
    const err = await (async () => {
      for await (const c of stream) got.push(c);
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(got.length).toBeLessThanOrEqual(3);
    expect(got.some((c) => (c as Obj).usage)).toBe(false);
  });

  it("x-double-error-after sends OpenAI's in-stream error, which the SDK raises", async () => {
    const stream = await openai.chat.completions.create(
      { model: "gpt-4o-mini", messages, stream: true },
      { headers: { "x-double-error-after": "2" } },
    );
    const err = await (async () => {
      for await (const _ of stream) {
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
  });

  it("x-double-split=random: events in pieces cut inside multi-byte characters arrive intact", async () => {
    const body = { model: "gpt-4o-mini", messages, stream: true as const };
    const plain = await openai.chat.completions.create(body);
    let expected = "";
    for await (const c of plain) expected += c.choices[0]?.delta.content ?? "";
    const split = await openai.chat.completions.create(body, { headers: { "x-double-split": "random" } });
    let got = "";
    for await (const c of split) got += c.choices[0]?.delta.content ?? "";
    expect(got).toBe(expected);
    expect(got).toContain("世界 🎉");
  });

  it("x-double-delay-ms holds the first byte", async () => {
    const t0 = Date.now();
    await openai.chat.completions.create({ model: "m", messages }, { headers: { "x-double-delay-ms": "120" } });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  });

  it("x-double-status-for and x-double-delay-for fail or slow only the models they name", async () => {
    const headers = { "x-double-status-for": "gpt-4o=429, gpt-4o-mini=500", "x-double-delay-for": "gpt-4.1=150" };
    await expect(openai.chat.completions.create({ model: "gpt-4o", messages }, { headers })).rejects.toBeInstanceOf(
      OpenAI.RateLimitError,
    );
    await expect(
      openai.chat.completions.create({ model: "gpt-4o-mini", messages }, { headers }),
    ).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const t0 = Date.now();
    const ok = await openai.chat.completions.create({ model: "gpt-4.1", messages }, { headers });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(ok.choices[0]?.message.content).toContain("Héllo");
    const bad = await fetch(`${double.url}/openai/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: "Bearer sk-test", "x-double-status-for": "gpt-4o" },
      body: JSON.stringify({ model: "gpt-4o", messages }),
    });
    expect(bad.status).toBe(400);
  });
});

describe("Anthropic via @anthropic-ai/sdk", () => {
  const params = { model: "claude-sonnet-4-5", max_tokens: 1024, messages };

  it("messages JSON: usage split like the real API, request-id header", async () => {
    const { data, response } = await anthropic.messages
      .create(params, { headers: { "x-double-cached-tokens": "3", "x-double-model": "claude-sonnet-4-5-20250929" } })
      .withResponse();
    expect(response.headers.get("request-id")).toMatch(/^req_011C/);
    // @anthropic-ai/sdk 1.x sends the API key as a Bearer token; the double accepts it and x-api-key.
    expect(double.requests[0]!.headers.authorization).toBe("Bearer sk-ant-test");
    expect(double.requests[0]!.headers["anthropic-version"]).toBeTruthy();
    expect(data.model).toBe("claude-sonnet-4-5-20250929");
    expect(data.stop_reason).toBe("end_turn");
    const first = data.content[0];
    expect(first?.type === "text" && first.text.startsWith("Héllo 世界 🎉")).toBe(true);
    const total = promptTokensAnthropic(params);
    expect(data.usage).toMatchObject({
      input_tokens: total - 3,
      cache_read_input_tokens: 3,
      cache_creation_input_tokens: 0,
      output_tokens: 16,
    });
  });

  it("messages stream: finalMessage() usage equals what the double reported", async () => {
    const usage = {
      input_tokens: 12,
      cache_creation_input_tokens: 2000,
      cache_read_input_tokens: 30000,
      cache_creation: { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 345,
      server_tool_use: { web_search_requests: 2, web_fetch_requests: 0 },
      service_tier: "standard",
      inference_geo: "not_available",
    };
    const stream = anthropic.messages.stream(params, { headers: { "x-double-usage": JSON.stringify(usage) } });
    const types: string[] = [];
    stream.on("streamEvent", (e) => types.push(e.type));
    const final = await stream.finalMessage();
    expect(final.usage).toEqual(usage);
    expect(types[0]).toBe("message_start");
    expect(types.slice(-3)).toEqual(["content_block_stop", "message_delta", "message_stop"]);
    const first = final.content[0];
    expect(first?.type === "text" && first.text.startsWith("Héllo 世界 🎉")).toBe(true);
  });

  it("raw stream: event lines, ping, message_start input, cumulative message_delta", async () => {
    const { res, text } = await post(
      "/anthropic/v1/messages",
      { ...params, stream: true },
      {
        "x-api-key": "k",
        "anthropic-version": "2023-06-01",
        "x-double-start-usage": '{"input_tokens":5,"output_tokens":2}',
      },
    );
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const events = parseSse(text);
    expect(events.map((e) => e.event).slice(0, 3)).toEqual(["message_start", "content_block_start", "ping"]);
    const start = JSON.parse(events[0]!.data) as { message: { usage: Obj } };
    expect(start.message.usage).toEqual({ input_tokens: 5, output_tokens: 2 });
    const delta = JSON.parse(events.find((e) => e.event === "message_delta")!.data) as { usage: Obj };
    expect(delta.usage).toMatchObject({ input_tokens: promptTokensAnthropic(params), output_tokens: 16 });
  });

  it("errors raise Anthropic's classes; missing key and version refused like the real API", async () => {
    const e = await anthropic.messages
      .create(params, { headers: { "x-double-status": "429" } })
      .catch((err: unknown) => err);
    expect(e).toBeInstanceOf(Anthropic.RateLimitError);
    expect((e as InstanceType<typeof Anthropic.RateLimitError>).status).toBe(429);
    expect((e as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error" },
    });
    await expect(anthropic.messages.create(params, { headers: { "x-double-status": "529" } })).rejects.toBeInstanceOf(
      Anthropic.InternalServerError,
    );

    const noKey = await fetch(`${double.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "anthropic-version": "2023-06-01" },
      body: JSON.stringify(params),
    });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    const noVersion = await fetch(`${double.url}/anthropic/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "k" },
      body: JSON.stringify(params),
    });
    expect(noVersion.status).toBe(400);
    expect(await noVersion.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("x-double-break-after and x-double-error-after end the stream with an error", async () => {
    await expect(
      anthropic.messages.stream(params, { headers: { "x-double-break-after": "3" } }).finalMessage(),
    ).rejects.toThrow();
    await expect(
      anthropic.messages.stream(params, { headers: { "x-double-error-after": "3" } }).finalMessage(),
    ).rejects.toBeInstanceOf(Anthropic.APIError);
  });

  it("multi-byte text survives random splits", async () => {
    const plain = await anthropic.messages.create(params);
    const split = await anthropic.messages.stream(params, { headers: { "x-double-split": "random" } }).finalMessage();
    expect(split.content).toEqual(plain.content);
  });
});

describe("provider styles (docs/wire-formats.md)", () => {
  const opt = { model: "m", stream_options: { include_usage: true } };

  it("every style's stream is accepted by the openai SDK", async () => {
    for (const [name, base] of Object.entries(upstreamUrls(double.url))) {
      if (name === "UPSTREAM_ANTHROPIC_URL") continue;
      const client = new OpenAI({ baseURL: base, apiKey: "sk-test", maxRetries: 0 });
      const s = client.chat.completions.stream({ model: "m", messages, stream_options: { include_usage: true } });
      const final = await s.finalChatCompletion();
      expect(final.choices[0]!.message.content, name).toMatch(/^Héllo 世界 🎉/);
      const json = await client.chat.completions.create({ model: "m", messages });
      expect(json.usage?.prompt_tokens, name).toBe(PROMPT);
    }
  });

  it("deepseek: usage on the finish_reason chunk, with cache hit/miss; none without the opt-in", async () => {
    const { data } = await chunks("/deepseek/chat/completions", opt, { "x-double-cached-tokens": "5" });
    const last = data.at(-1)!;
    expect(last.choices![0]!.finish_reason).toBe("stop");
    expect(last.usage).toMatchObject({
      prompt_tokens: PROMPT,
      prompt_cache_hit_tokens: 5,
      prompt_cache_miss_tokens: PROMPT - 5,
      prompt_tokens_details: { cached_tokens: 5 },
    });
    expect(data.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    const without = await chunks("/deepseek/v1/chat/completions", { model: "m" });
    expect(without.data.every((c) => !("usage" in c))).toBe(true);
  });

  it("groq: x_groq.usage on the finish chunk; the opt-in adds a duplicate top-level chunk", async () => {
    const plain = await chunks("/groq/openai/v1/chat/completions", { model: "m" });
    const fin = plain.data.at(-1)!;
    expect(fin.choices![0]!.finish_reason).toBe("stop");
    expect((fin.x_groq as Obj).usage).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 16 });
    const opted = await chunks("/groq/openai/v1/chat/completions", opt);
    expect(opted.data.at(-1)!.choices).toEqual([]);
    expect(opted.data.at(-1)!.usage).toEqual((opted.data.at(-2)!.x_groq as Obj).usage);
  });

  it("gemini: cumulative usage on every chunk; thoughts only in total_tokens", async () => {
    const { data } = await chunks(
      "/gemini/v1beta/openai/chat/completions",
      { model: "m" },
      {
        "x-double-reasoning-tokens": "40",
        "x-double-chunks": "4",
      },
    );
    expect(data).toHaveLength(4);
    const completions = data.map((c) => (c.usage as Obj).completion_tokens);
    expect(completions).toEqual([4, 8, 12, 16]);
    expect(data.at(-1)!.usage).toEqual({
      completion_tokens: 16,
      prompt_tokens: PROMPT,
      total_tokens: PROMPT + 16 + 40,
    });
    expect(data.at(-1)!.choices![0]!.finish_reason).toBe("stop");
  });

  it("mistral and together: usage on the finish chunk without any opt-in", async () => {
    for (const path of ["/mistral/v1/chat/completions", "/together/v1/chat/completions"]) {
      const { data } = await chunks(path, { model: "m" });
      const last = data.at(-1)!;
      expect(last.choices![0]!.finish_reason, path).toBe("stop");
      expect(last.usage, path).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 16 });
    }
  });

  it("openrouter: processing comments, usage on a stub that repeats finish_reason, with cost", async () => {
    const { events, data } = await chunks("/openrouter/api/v1/chat/completions", opt);
    expect(events[0]!.comment).toBe("OPENROUTER PROCESSING");
    const [fin, usage] = data.slice(-2);
    expect(fin!.choices![0]!.finish_reason).toBe("stop");
    expect(fin!.usage).toBeUndefined();
    expect(usage!.choices![0]!.finish_reason).toBe("stop");
    expect(usage!.usage).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 16, cost: expect.any(Number) });
  });

  it("xai: reasoning outside completion, total = prompt + completion + reasoning", async () => {
    const { text } = await post(
      "/xai/v1/chat/completions",
      { model: "grok-4", messages },
      {
        "x-double-reasoning-tokens": "7",
      },
    );
    const usage = (JSON.parse(text) as Obj).usage as Obj;
    expect(usage).toMatchObject({ prompt_tokens: PROMPT, completion_tokens: 16, total_tokens: PROMPT + 16 + 7 });
    expect((usage.completion_tokens_details as Obj).reasoning_tokens).toBe(7);
  });

  it("perplexity: cumulative usage on every chunk, cost only on the last", async () => {
    const { data } = await chunks("/perplexity/chat/completions", { model: "sonar" });
    expect(data.every((c) => c.usage)).toBe(true);
    expect(data.slice(0, -1).some((c) => (c.usage as Obj).cost)).toBe(false);
    expect((data.at(-1)!.usage as Obj).cost).toMatchObject({ total_cost: expect.any(Number) });
  });

  it("fireworks: usage on the finish chunk, or in a choices:[] chunk with the opt-in", async () => {
    const plain = await chunks("/fireworks/inference/v1/chat/completions", { model: "m" });
    expect(plain.data.at(-1)!.usage).toMatchObject({ completion_tokens: 16 });
    const opted = await chunks("/fireworks/inference/v1/chat/completions", opt);
    expect(opted.data.at(-1)!.choices).toEqual([]);
    expect(opted.data.at(-2)!.usage).toBeNull();
  });

  it("unknown routes answer 404 in the provider's shape", async () => {
    const { res, text } = await post("/openai/v1/v1/chat/completions", { model: "m", messages });
    expect(res.status).toBe(404);
    expect(JSON.parse(text)).toMatchObject({ error: { type: "invalid_request_error" } });
  });
});

describe("recording", () => {
  it("records method, path, query, headers and body, in-process and over HTTP", async () => {
    await post("/openai/v1/chat/completions?api-version=1", { model: "m", messages }, { "x-custom": "yes" });
    expect(double.requests).toHaveLength(1);
    const r = double.requests[0]!;
    expect(r).toMatchObject({ method: "POST", path: "/openai/v1/chat/completions", query: "api-version=1" });
    expect(r.headers.authorization).toBe("Bearer sk-test");
    expect(r.headers["x-custom"]).toBe("yes");
    expect(JSON.parse(r.body)).toEqual({ model: "m", messages });

    const over = (await (await fetch(`${double.url}/__double/requests`)).json()) as unknown[];
    expect(over).toHaveLength(1);
    expect((await fetch(`${double.url}/__double/reset`, { method: "POST" })).status).toBe(200);
    expect(double.requests).toHaveLength(0);
  });
});
