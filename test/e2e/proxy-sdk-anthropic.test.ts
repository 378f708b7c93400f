/**
 * The real `@anthropic-ai/sdk` (1.x, which sends its api key as `Authorization: Bearer`) through
 * /proxy/anthropic: Messages JSON and SSE reach the client exactly as the provider double sent them
 * (compared with a direct replay of the upstream request; generated ids normalised), and the record
 * holds the double's usage — input uncached, cache read, cache write (5m / 1h), output with its
 * thinking part — priced by src/pricing. Also the x-api-key auth style and an unmetered endpoint.
 */
import { describe, expect, it } from "vitest";
import { newAccount, stack } from "../helpers/gateway";
import {
  anthropicClient,
  anthropicStreamUsage,
  callId,
  capturingFetch,
  expectPricedRecord,
  normalizeIds,
  record,
  replay,
  sseData,
  text,
  upstreamCall,
  usageAnthropic,
} from "../helpers/proxy";

const MODEL = "claude-haiku-4-5-20251001";

async function setup() {
  const acc = await newAccount();
  const cap = capturingFetch();
  return { acc, cap, client: anthropicClient(acc.key, { fetch: cap.fetch }) };
}

describe("anthropic SDK through /proxy/anthropic", () => {
  it("messages, JSON, with cache read/write and thinking: exact bytes, record priced", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.messages
      .create(
        {
          model: MODEL,
          max_tokens: 200,
          system: "You are terse.",
          messages: [{ role: "user", content: "Anthropic JSON, with a cache" }],
        },
        {
          headers: {
            "x-e2e-call": id,
            "x-double-cached-tokens": "3",
            "x-double-cache-write-tokens": "4",
            "x-double-reasoning-tokens": "6",
          },
        },
      )
      .withResponse();
    expect(data.content[0]?.type).toBe("text");
    expect(data.usage.cache_read_input_tokens).toBe(3);
    const up = await upstreamCall(id);
    expect(up.body).toBe(cap.calls[0]!.requestBody);
    // The stored Anthropic key, in Anthropic's own auth header; the SDK's Bearer gateway key is gone.
    expect(up.headers["x-api-key"]).toBe("sk-ant-test");
    expect(up.headers.authorization).toBeUndefined();
    expect(up.headers["anthropic-version"]).toBeTruthy();
    const direct = await replay(up);
    expect(response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    expect(normalizeIds(text(await cap.calls[0]!.bytes))).toBe(normalizeIds(direct.text));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({
      provider: "anthropic",
      model: MODEL,
      endpoint: "messages",
      streamed: false,
      status: 200,
    });
    expectPricedRecord(rec, usageAnthropic(JSON.parse(direct.text).usage), { provider: "anthropic", model: MODEL });
    expect(rec).toMatchObject({ cacheReadTokens: 3, cacheWriteTokens: 4, reasoningTokens: 6 });
  });

  it("messages, SSE: message_start + cumulative message_delta; exact bytes", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.messages
      .create(
        { model: MODEL, max_tokens: 200, stream: true, messages: [{ role: "user", content: "Anthropic SSE" }] },
        { headers: { "x-e2e-call": id, "x-double-cached-tokens": "2", "x-double-cache-write-tokens": "1" } },
      )
      .withResponse();
    let out = "";
    for await (const ev of data) {
      if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") out += ev.delta.text;
    }
    expect(out).toMatch(/^Héllo 世界 🎉/);
    const up = await upstreamCall(id);
    expect(up.body).toBe(cap.calls[0]!.requestBody);
    const direct = await replay(up);
    const got = text(await cap.calls[0]!.bytes);
    expect(response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    expect(normalizeIds(got)).toBe(normalizeIds(direct.text));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "messages", streamed: true, outputTokens: 16 });
    expectPricedRecord(rec, usageAnthropic(anthropicStreamUsage(direct.text)), { provider: "anthropic", model: MODEL });
  });

  it("SSE whose input grows between message_start and message_delta (server tools): the delta wins", async () => {
    const { acc, client } = await setup();
    const id = callId();
    const start = { input_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 };
    const final = {
      input_tokens: 2300,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
      output_tokens: 40,
      server_tool_use: { web_search_requests: 2 },
    };
    const { data, response } = await client.messages
      .create(
        { model: MODEL, max_tokens: 200, stream: true, messages: [{ role: "user", content: "search the web" }] },
        {
          headers: {
            "x-e2e-call": id,
            "x-double-start-usage": JSON.stringify(start),
            "x-double-usage": JSON.stringify(final),
          },
        },
      )
      .withResponse();
    for await (const _ of data) {
      // drain
    }
    const direct = await replay(await upstreamCall(id));
    expect(sseData(direct.text).find((e) => e.type === "message_start")).toMatchObject({ message: { usage: start } });
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expectPricedRecord(rec, usageAnthropic(final), { provider: "anthropic", model: MODEL });
    expect(rec).toMatchObject({ inputTokens: 2300, outputTokens: 40, webSearchRequests: 2 });
  });

  it("1-hour cache writes are recorded and priced apart", async () => {
    const { acc, client } = await setup();
    const usage = {
      input_tokens: 10,
      cache_creation_input_tokens: 3000,
      cache_read_input_tokens: 0,
      cache_creation: { ephemeral_5m_input_tokens: 1000, ephemeral_1h_input_tokens: 2000 },
      output_tokens: 16,
    };
    const { response } = await client.messages
      .create(
        { model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "cache for an hour" }] },
        { headers: { "x-double-usage": JSON.stringify(usage) } },
      )
      .withResponse();
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ cacheWriteTokens: 1000, cacheWrite1hTokens: 2000 });
    expectPricedRecord(rec, usageAnthropic(usage), { provider: "anthropic", model: MODEL });
  });

  it("the gateway key as x-api-key works too (the older SDK style), never reaching upstream", async () => {
    const acc = await newAccount();
    const id = callId();
    const res = await fetch(`${stack().gatewayUrl}/proxy/anthropic/v1/messages`, {
      method: "POST",
      headers: {
        "x-api-key": acc.key,
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "x-e2e-call": id,
      },
      body: JSON.stringify({ model: MODEL, max_tokens: 50, messages: [{ role: "user", content: "x-api-key style" }] }),
    });
    expect(res.status).toBe(200);
    const up = await upstreamCall(id);
    expect(up.headers["x-api-key"]).toBe("sk-ant-test");
    expect(JSON.stringify(up.headers)).not.toContain(acc.key);
    const rec = await record(acc.key, res.headers.get("x-tollgate-request-id")!);
    expect(rec.usageSource).toBe("reported");
  });

  it("unmetered endpoints (models list) are proxied as they are", async () => {
    const { acc, cap, client } = await setup();
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toContain("claude-sonnet-4-5-20250929");
    const direct = await fetch(`${stack().doubleUrl}/anthropic/v1/models`, {
      headers: { "x-api-key": "k", "anthropic-version": "2023-06-01" },
    });
    expect(text(await cap.calls[0]!.bytes)).toBe(await direct.text());
    expect(acc.key).toMatch(/^tg_/);
  });
});
