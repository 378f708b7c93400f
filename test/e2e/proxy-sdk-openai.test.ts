/**
 * The real `openai` SDK (6.x) through /proxy/openai, every metered OpenAI wire format, streamed and
 * not: the client receives exactly the bytes the provider double sends for the very request the
 * gateway made (compared with a direct replay of that request to the double; the double's generated
 * ids and clock fields are the only thing normalised, see normalizeIds), and the cost record holds
 * the usage the double reported, mapped by hand per docs/wire-formats.md, priced with src/pricing.
 */
import type OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { newAccount } from "../helpers/gateway";
import {
  callId,
  capturingFetch,
  expectPricedRecord,
  normalizeIds,
  openaiClient,
  openaiStreamUsage,
  record,
  replay,
  sseData,
  text,
  upstreamCall,
  usageEmbeddings,
  usageOpenAIChat,
  usageResponses,
  withoutUsageOnlyEvents,
} from "../helpers/proxy";

async function setup() {
  const acc = await newAccount();
  const cap = capturingFetch();
  return { acc, cap, client: openaiClient(acc.key, { fetch: cap.fetch }) };
}

describe("openai SDK through /proxy/openai", () => {
  it("chat completions, JSON: exact bytes, record = reported usage priced", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.chat.completions
      .create(
        { model: "gpt-4o-mini", max_tokens: 64, messages: [{ role: "user", content: "JSON chat, please" }] },
        { headers: { "x-e2e-call": id, "x-double-cached-tokens": "2", "x-double-reasoning-tokens": "3" } },
      )
      .withResponse();
    expect(data.choices[0]?.message.content).toMatch(/^Héllo 世界 🎉/);
    const got = text(await cap.calls[0]!.bytes);
    const up = await upstreamCall(id);
    // The client's body went upstream byte for byte; the provider key replaced the gateway key.
    expect(up.body).toBe(cap.calls[0]!.requestBody);
    expect(up.headers.authorization).toBe("Bearer sk-test-openai");
    const direct = await replay(up);
    expect(response.status).toBe(direct.status);
    expect(response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    expect(normalizeIds(got)).toBe(normalizeIds(direct.text));
    const reported = JSON.parse(direct.text).usage;
    expect(reported.prompt_tokens_details.cached_tokens).toBe(2);
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({
      provider: "openai",
      model: "gpt-4o-mini",
      endpoint: "chat",
      streamed: false,
      status: 200,
    });
    expectPricedRecord(rec, usageOpenAIChat("openai", reported), { provider: "openai", model: "gpt-4o-mini" });
    expect(rec.reasoningTokens).toBe(3);
    expect(rec.cacheReadTokens).toBe(2);
  });

  it("chat completions, SSE with the client's own include_usage: exact bytes, usage chunk delivered", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.chat.completions
      .create(
        {
          model: "gpt-4o-mini",
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: "user", content: "stream with usage" }],
        },
        { headers: { "x-e2e-call": id } },
      )
      .withResponse();
    let usageChunk: OpenAI.Completions.CompletionUsage | null | undefined;
    for await (const chunk of data) if (chunk.usage) usageChunk = chunk.usage;
    expect(usageChunk?.prompt_tokens).toBeGreaterThan(0);
    const got = text(await cap.calls[0]!.bytes);
    const up = await upstreamCall(id);
    expect(up.body).toBe(cap.calls[0]!.requestBody);
    const direct = await replay(up);
    expect(response.headers.get("content-type")).toBe(direct.headers.get("content-type"));
    expect(normalizeIds(got)).toBe(normalizeIds(direct.text));
    expect(sseData(got).some((c) => Array.isArray(c.choices) && c.choices.length === 0 && c.usage)).toBe(true);
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "chat", streamed: true, status: 200 });
    expectPricedRecord(rec, usageOpenAIChat("openai", openaiStreamUsage(direct.text)!), {
      provider: "openai",
      model: "gpt-4o-mini",
    });
  });

  it("chat completions, SSE without include_usage: injected upstream, the usage chunk kept from the client", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.chat.completions
      .create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "stream without usage" }] },
        { headers: { "x-e2e-call": id } },
      )
      .withResponse();
    let content = "";
    for await (const chunk of data) {
      expect(chunk.usage ?? null).toBeNull();
      content += chunk.choices[0]?.delta.content ?? "";
    }
    expect(content).toMatch(/^Héllo 世界 🎉/);
    const sent = cap.calls[0]!.requestBody!;
    expect(JSON.parse(sent).stream_options).toBeUndefined();
    const up = await upstreamCall(id);
    // Upstream asked for the usage: only the option was added, the rest of the body is the client's.
    expect(JSON.parse(up.body).stream_options).toEqual({ include_usage: true });
    expect(JSON.parse(up.body)).toEqual({ ...JSON.parse(sent), stream_options: { include_usage: true } });
    const got = text(await cap.calls[0]!.bytes);
    // No usage-only chunk reached the client…
    expect(sseData(got).filter((c) => Array.isArray(c.choices) && c.choices.length === 0)).toEqual([]);
    expect(got.endsWith("data: [DONE]\n\n")).toBe(true);
    // …and everything else is the provider's stream for the request made, byte for byte.
    const asked = await replay(up);
    expect(asked.text).not.toBe(withoutUsageOnlyEvents(asked.text));
    expect(normalizeIds(got)).toBe(normalizeIds(withoutUsageOnlyEvents(asked.text)));
    // Compared with what the client would have got without the gateway (no opt-in): the same
    // events in the same order; the only difference is the `"usage":null` member the provider puts
    // on every chunk of an opted-in stream (docs/wire-formats.md §2), which the gateway passes through.
    const plain = await replay(up, sent);
    expect(plain.text).not.toContain('"usage"');
    expect(normalizeIds(got.replaceAll(',"usage":null', ""))).toBe(normalizeIds(plain.text));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "chat", streamed: true, status: 200 });
    expectPricedRecord(rec, usageOpenAIChat("openai", openaiStreamUsage(asked.text)!), {
      provider: "openai",
      model: "gpt-4o-mini",
    });
  });

  it("legacy completions, JSON and SSE", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.completions
      .create(
        { model: "gpt-3.5-turbo-instruct", prompt: "Say this is a test", max_tokens: 12 },
        { headers: { "x-e2e-call": id } },
      )
      .withResponse();
    expect(data.usage?.completion_tokens).toBe(12);
    const up = await upstreamCall(id);
    const direct = await replay(up);
    expect(normalizeIds(text(await cap.calls[0]!.bytes))).toBe(normalizeIds(direct.text));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "completions", streamed: false });
    expectPricedRecord(rec, usageOpenAIChat("openai", JSON.parse(direct.text).usage), {
      provider: "openai",
      model: "gpt-3.5-turbo-instruct",
    });

    const id2 = callId();
    const streamed = await client.completions
      .create(
        { model: "gpt-3.5-turbo-instruct", prompt: "Stream a test", stream: true },
        { headers: { "x-e2e-call": id2 } },
      )
      .withResponse();
    let out = "";
    for await (const chunk of streamed.data) out += chunk.choices[0]?.text ?? "";
    expect(out).toMatch(/^Héllo/);
    const up2 = await upstreamCall(id2);
    expect(JSON.parse(up2.body).stream_options).toEqual({ include_usage: true });
    const asked = await replay(up2);
    const got = text(await cap.calls[1]!.bytes);
    expect(normalizeIds(got)).toBe(normalizeIds(withoutUsageOnlyEvents(asked.text)));
    const rec2 = await record(acc.key, streamed.response.headers.get("x-tollgate-request-id")!);
    expect(rec2).toMatchObject({ endpoint: "completions", streamed: true });
    expectPricedRecord(rec2, usageOpenAIChat("openai", openaiStreamUsage(asked.text)!), {
      provider: "openai",
      model: "gpt-3.5-turbo-instruct",
    });
  });

  it("embeddings (the SDK asks for base64): exact bytes, input-only record", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.embeddings
      .create(
        { model: "text-embedding-3-small", input: ["first text", "second, longer text"] },
        { headers: { "x-e2e-call": id } },
      )
      .withResponse();
    expect(data.data).toHaveLength(2);
    expect(data.data[0]?.embedding).toHaveLength(1536);
    const up = await upstreamCall(id);
    expect(JSON.parse(up.body).encoding_format).toBe("base64");
    const direct = await replay(up);
    expect(text(await cap.calls[0]!.bytes)).toBe(direct.text); // nothing generated in it: no normalising
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "embeddings", outputTokens: 0 });
    expectPricedRecord(rec, usageEmbeddings(JSON.parse(direct.text).usage), {
      provider: "openai",
      model: "text-embedding-3-small",
    });
  });

  it("Responses API, JSON", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.responses
      .create(
        { model: "gpt-4.1-mini", input: "Responses, JSON", instructions: "be brief" },
        { headers: { "x-e2e-call": id, "x-double-cached-tokens": "4", "x-double-reasoning-tokens": "5" } },
      )
      .withResponse();
    expect(data.output_text).toMatch(/^Héllo/);
    const up = await upstreamCall(id);
    const direct = await replay(up);
    expect(normalizeIds(text(await cap.calls[0]!.bytes))).toBe(normalizeIds(direct.text));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "responses", streamed: false, cacheReadTokens: 4, reasoningTokens: 5 });
    expectPricedRecord(rec, usageResponses(JSON.parse(direct.text).usage), {
      provider: "openai",
      model: "gpt-4.1-mini",
    });
  });

  it("Responses API, SSE: usage from response.completed, bytes untouched", async () => {
    const { acc, cap, client } = await setup();
    const id = callId();
    const { data, response } = await client.responses
      .create({ model: "gpt-4.1-mini", input: "Responses, streamed", stream: true }, { headers: { "x-e2e-call": id } })
      .withResponse();
    let completed: OpenAI.Responses.Response | undefined;
    for await (const ev of data) if (ev.type === "response.completed") completed = ev.response;
    expect(completed?.usage?.output_tokens).toBe(16);
    const up = await upstreamCall(id);
    expect(up.body).toBe(cap.calls[0]!.requestBody); // no rewrite for this format
    const direct = await replay(up);
    const got = text(await cap.calls[0]!.bytes);
    expect(normalizeIds(got)).toBe(normalizeIds(direct.text));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ endpoint: "responses", streamed: true });
    expectPricedRecord(rec, usageResponses(openaiStreamUsage(direct.text)!), {
      provider: "openai",
      model: "gpt-4.1-mini",
    });
  });

  it("max-tokens cap: a truncated Responses stream (response.incomplete) is still metered", async () => {
    const { acc, client } = await setup();
    const id = callId();
    const { data, response } = await client.responses
      .create(
        { model: "gpt-4.1-mini", input: "cut me short", stream: true, max_output_tokens: 5 },
        { headers: { "x-e2e-call": id } },
      )
      .withResponse();
    let incomplete = false;
    for await (const ev of data) if (ev.type === "response.incomplete") incomplete = true;
    expect(incomplete).toBe(true);
    const direct = await replay(await upstreamCall(id));
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.outputTokens).toBe(5);
    expectPricedRecord(rec, usageResponses(openaiStreamUsage(direct.text)!), {
      provider: "openai",
      model: "gpt-4.1-mini",
    });
  });
});
