import { describe, expect, it } from "vitest";
import { BASE_MARGIN, canCountTokens, MESSAGE_MARGIN, tokenCountRequest } from "./count";
import { readRequestFacts } from "./index";

const chat = {
  model: "gpt-4o-mini",
  max_tokens: 50,
  temperature: 0.1,
  messages: [
    { role: "system", content: "Be brief." },
    {
      role: "user",
      content: [
        { type: "text", text: "What is in this picture?" },
        { type: "image_url", image_url: { url: "https://x/y.png" } },
      ],
    },
  ],
  tools: [{ type: "function", function: { name: "f", parameters: { type: "object", properties: {} } } }],
  response_format: { type: "json_schema", json_schema: { name: "out", schema: { type: "object" } } },
};

describe("tokenCountRequest", () => {
  it("maps a chat body to a Responses count request, with a margin per message", () => {
    const facts = readRequestFacts("openai", "chat/completions", chat);
    const req = tokenCountRequest("openai", "openai", facts, chat)!;
    expect(req.path).toBe("responses/input_tokens");
    expect(JSON.parse(req.body)).toEqual({
      model: "gpt-4o-mini",
      input: [
        { role: "system", content: "Be brief." },
        {
          role: "user",
          content: [
            { type: "input_text", text: "What is in this picture?" },
            { type: "input_image", image_url: "https://x/y.png", detail: "auto" },
          ],
        },
      ],
      tools: [{ type: "function", name: "f", parameters: { type: "object", properties: {} } }],
      text: { format: { type: "json_schema", name: "out", schema: { type: "object" } } },
    });
    expect(req.bound({ object: "response.input_tokens", input_tokens: 100 })).toBe(
      100 + BASE_MARGIN + 2 * MESSAGE_MARGIN,
    );
    expect(req.bound({ error: { message: "nope" } })).toBeNull();
  });

  it("Anthropic: the messages body's prompt fields to count_tokens", () => {
    const body = {
      model: "claude-haiku-4-5",
      max_tokens: 10,
      system: "s",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
    };
    const facts = readRequestFacts("anthropic", "v1/messages", body);
    const req = tokenCountRequest("anthropic", "anthropic", facts, body)!;
    expect(req.path).toBe("v1/messages/count_tokens");
    expect(JSON.parse(req.body)).toEqual({
      model: "claude-haiku-4-5",
      system: "s",
      messages: [{ role: "user", content: "hi" }],
    });
  });

  it("no count where it would not be exact, or the provider has none", () => {
    const withToolCall = {
      model: "gpt-4o",
      messages: [
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "1", type: "function", function: { name: "f", arguments: "{}" } }],
        },
      ],
    };
    const facts = readRequestFacts("openai", "chat/completions", withToolCall);
    expect(canCountTokens("openai", "openai", facts)).toBe(true);
    expect(tokenCountRequest("openai", "openai", facts, withToolCall)).toBeNull();
    const chatFacts = readRequestFacts("openai", "chat/completions", chat);
    expect(canCountTokens("openai", "groq", chatFacts)).toBe(false);
    expect(
      canCountTokens("openai", "openai", readRequestFacts("openai", "embeddings", { model: "m", input: "x" })),
    ).toBe(false);
    const stateful = { model: "gpt-4o", previous_response_id: "resp_1", input: "more" };
    expect(canCountTokens("openai", "openai", readRequestFacts("openai", "responses", stateful))).toBe(false);
  });
});
