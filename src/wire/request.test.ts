import fc from "fast-check";
import { countTokens as cl100k } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as o200k } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { BUILTIN_PROVIDERS } from "../providers";
import { IMAGE_TOKENS, TOOLS_OVERHEAD } from "./estimate";
import { endpointOf, isMeteredEndpoint, readRequestFacts, withIncludeUsage, withIncludeUsageText } from "./index";

describe("endpoints", () => {
  it.each([
    ["openai", "chat/completions", "chat"],
    ["openai", "/v1/chat/completions?x=1", "chat"],
    ["openai", "completions", "completions"],
    ["openai", "embeddings", "embeddings"],
    ["openai", "responses", "responses"],
    ["openai", "responses/resp_1/cancel", "other"],
    ["openai", "responses/input_tokens", "other"],
    ["openai", "models", "other"],
    ["openai", "files", "other"],
    ["anthropic", "v1/messages", "messages"],
    ["anthropic", "/v1/messages/", "messages"],
    ["anthropic", "v1/messages/count_tokens", "other"],
    ["anthropic", "v1/messages/batches", "other"],
    ["anthropic", "v1/models", "other"],
  ] as const)("%s %s → %s", (format, path, endpoint) => {
    expect(endpointOf(format, path)).toBe(endpoint);
    expect(isMeteredEndpoint(format, path)).toBe(endpoint !== "other");
  });
});

describe("request facts", () => {
  it("chat: model, stream, max_completion_tokens over max_tokens, times n", () => {
    const body = {
      model: "gpt-4o",
      stream: true,
      max_tokens: 50,
      max_completion_tokens: 100,
      n: 3,
      messages: [{ role: "user", content: "hi" }],
    };
    expect(readRequestFacts("openai", "chat/completions", body)).toMatchObject({
      endpoint: "chat",
      model: "gpt-4o",
      stream: true,
      maxOutputTokens: 300,
      inputBounded: true,
    });
    expect(readRequestFacts("openai", "chat/completions", { model: "m", messages: [] }).maxOutputTokens).toBeNull();
  });

  it("completions: best_of, responses: max_output_tokens, embeddings: zero output", () => {
    expect(
      readRequestFacts("openai", "completions", { model: "i", prompt: "x", max_tokens: 10, best_of: 4, n: 2 })
        .maxOutputTokens,
    ).toBe(40);
    expect(
      readRequestFacts("openai", "responses", { model: "o", input: "x", max_output_tokens: 77 }).maxOutputTokens,
    ).toBe(77);
    expect(readRequestFacts("openai", "embeddings", { model: "e", input: ["a", "b"] })).toMatchObject({
      endpoint: "embeddings",
      maxOutputTokens: 0,
      stream: false,
    });
  });

  it("anthropic: max_tokens, cache TTL asked for", () => {
    const body = {
      model: "claude-sonnet-4-5",
      max_tokens: 1024,
      stream: true,
      system: [{ type: "text", text: "sys", cache_control: { type: "ephemeral", ttl: "1h" } }],
      messages: [
        { role: "user", content: [{ type: "text", text: "q", cache_control: { type: "ephemeral", ttl: "1h" } }] },
      ],
    };
    expect(readRequestFacts("anthropic", "v1/messages", body)).toMatchObject({
      endpoint: "messages",
      model: "claude-sonnet-4-5",
      stream: true,
      maxOutputTokens: 1024,
      cacheWriteTtl: "1h",
    });
    const mixed = {
      ...body,
      messages: [{ role: "user", content: [{ type: "text", text: "q", cache_control: { type: "ephemeral" } }] }],
    };
    expect(readRequestFacts("anthropic", "v1/messages", mixed).cacheWriteTtl).toBe("5m");
    expect(
      readRequestFacts("anthropic", "v1/messages", { model: "m", max_tokens: 1, messages: [] }).cacheWriteTtl,
    ).toBeUndefined();
  });

  it("input estimate is an upper bound of o200k and cl100k counts for any text", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.constantFrom("user", "assistant", "system"), fc.string({ unit: "grapheme", maxLength: 300 })),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        (msgs) => {
          const body = { model: "gpt-4o", messages: msgs.map(([role, content]) => ({ role, content })) };
          const est = readRequestFacts("openai", "chat/completions", body).estimatedInputTokens;
          // OpenAI's own chat accounting: 3 tokens per message + 3 for the reply priming.
          const real = (count: (s: string) => number) => msgs.reduce((n, [r, c]) => n + count(r) + count(c) + 3, 3);
          expect(est).toBeGreaterThanOrEqual(real(o200k));
          expect(est).toBeGreaterThanOrEqual(real(cl100k));
        },
      ),
      { numRuns: 200 },
    );
  });

  it("media get fixed allowances, not their base64; references make the input unbounded", () => {
    const b64 = "A".repeat(400_000);
    const img = readRequestFacts("openai", "chat/completions", {
      model: "gpt-4o",
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "what?" },
            { type: "image_url", image_url: { url: `data:image/png;base64,${b64}` } },
          ],
        },
      ],
    });
    expect(img.estimatedInputTokens).toBeGreaterThan(IMAGE_TOKENS);
    expect(img.estimatedInputTokens).toBeLessThan(IMAGE_TOKENS + 200);
    expect(img.inputBounded).toBe(true);
    const anth = readRequestFacts("anthropic", "v1/messages", {
      model: "claude",
      max_tokens: 10,
      messages: [
        { role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: b64 } }] },
      ],
    });
    expect(anth.estimatedInputTokens).toBeLessThan(IMAGE_TOKENS + 200);
    const prev = readRequestFacts("openai", "responses", {
      model: "o",
      input: "go on",
      previous_response_id: "resp_1",
    });
    expect(prev.inputBounded).toBe(false);
    const file = readRequestFacts("openai", "responses", {
      model: "o",
      input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }],
    });
    expect(file.inputBounded).toBe(false);
    const search = readRequestFacts("anthropic", "v1/messages", {
      model: "c",
      max_tokens: 5,
      tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 5 }],
      messages: [{ role: "user", content: "weather?" }],
    });
    expect(search.inputBounded).toBe(false);
    expect(search.estimatedInputTokens).toBeGreaterThan(TOOLS_OVERHEAD);
  });

  it("token-array prompts count one token per integer", () => {
    const f = readRequestFacts("openai", "embeddings", {
      model: "e",
      input: [
        [1, 2, 3],
        [4, 5],
      ],
    });
    expect(f.estimatedInputTokens).toBeLessThan(40);
    expect(f.estimatedInputTokens).toBeGreaterThanOrEqual(5);
  });
});

describe("include_usage injection", () => {
  const facts = (body: Record<string, unknown>, path = "chat/completions") => readRequestFacts("openai", path, body);

  it("adds stream_options.include_usage to a stream that did not ask, keeping everything else", () => {
    const body = { model: "gpt-4o", stream: true, stream_options: { foo: 1 }, messages: [], temperature: 0.2 };
    expect(withIncludeUsage("openai", facts(body), body)).toEqual({
      ...body,
      stream_options: { foo: 1, include_usage: true },
    });
    const off = { model: "gpt-4o", stream: true, stream_options: { include_usage: false }, messages: [] };
    expect(withIncludeUsage("openai", facts(off), off)).toMatchObject({ stream_options: { include_usage: true } });
  });

  it("leaves alone: opted-in clients, non-streams, embeddings/responses, Anthropic, 'never' providers", () => {
    const opted = { model: "m", stream: true, stream_options: { include_usage: true }, messages: [] };
    expect(withIncludeUsage("openai", facts(opted), opted)).toBeNull();
    const plain = { model: "m", messages: [] };
    expect(withIncludeUsage("openai", facts(plain), plain)).toBeNull();
    const resp = { model: "m", stream: true, input: "x" };
    expect(withIncludeUsage("openai", facts(resp, "responses"), resp)).toBeNull();
    const anth = { model: "c", stream: true, max_tokens: 5, messages: [] };
    expect(withIncludeUsage("anthropic", readRequestFacts("anthropic", "v1/messages", anth), anth)).toBeNull();
    const mistral = { model: "mistral-large", stream: true, messages: [] };
    expect(withIncludeUsage("openai", facts(mistral), mistral, BUILTIN_PROVIDERS.mistral!.quirks)).toBeNull();
    expect(withIncludeUsage("openai", facts(mistral), mistral, BUILTIN_PROVIDERS.groq!.quirks)).not.toBeNull();
  });

  it("the text rewrite keeps every other byte (big integers too) and parses to the same body", () => {
    const text =
      '{ "model":"gpt-4o","seed": 12345678901234567890,\n "stream":true,"messages":[{"role":"user","content":"héllo 世界 🎉"}]}';
    const body = JSON.parse(text);
    const out = withIncludeUsageText("openai", facts(body), text, body)!;
    expect(out).toBe(
      `{"stream_options":{"include_usage":true}, "model":"gpt-4o","seed": 12345678901234567890,\n "stream":true,"messages":[{"role":"user","content":"héllo 世界 🎉"}]}`,
    );
    expect(JSON.parse(out)).toEqual({ ...body, stream_options: { include_usage: true } });
    const withOpts = '{"model":"m","stream":true,"stream_options":{"x":1},"messages":[]}';
    expect(
      JSON.parse(withIncludeUsageText("openai", facts(JSON.parse(withOpts)), withOpts, JSON.parse(withOpts))!),
    ).toEqual({
      model: "m",
      stream: true,
      stream_options: { x: 1, include_usage: true },
      messages: [],
    });
    const no = '{"model":"m","messages":[]}';
    expect(withIncludeUsageText("openai", facts(JSON.parse(no)), no, JSON.parse(no))).toBeNull();
  });
});
