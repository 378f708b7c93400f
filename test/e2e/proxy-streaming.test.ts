/**
 * Streams under stress: a client that hangs up mid-stream still gets its call recorded with the
 * provider-reported usage (the gateway keeps reading upstream inside waitUntil); an upstream that
 * breaks off is recorded as "estimated" with a nonzero output estimate; events split at random
 * byte positions (inside multi-byte UTF-8) or coalesced into one write pass through byte-exact and
 * still yield the exact usage; chunks reach the client as they arrive (no buffering).
 */
import { describe, expect, it } from "vitest";
import { newAccount } from "../helpers/gateway";
import {
  anthropicClient,
  anthropicStreamUsage,
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
  usageAnthropic,
  usageOpenAIChat,
  usageResponses,
  withoutUsageOnlyEvents,
} from "../helpers/proxy";

const HAIKU = "claude-haiku-4-5-20251001";

describe("client disconnects", () => {
  it("OpenAI chat: the client aborts after 3 chunks; the record has the provider's full usage", async () => {
    const acc = await newAccount();
    const id = callId();
    const controller = new AbortController();
    const cap = capturingFetch();
    // Timed by this process's clock only (the double's clock is another party's: never compared).
    const sentAt = Date.now();
    const { data, response } = await openaiClient(acc.key, { fetch: cap.fetch })
      .chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "a long answer, then I leave" }] },
        {
          headers: { "x-e2e-call": id, "x-double-output-tokens": "30", "x-double-chunk-delay-ms": "40" },
          signal: controller.signal,
        },
      )
      .withResponse();
    let seen = 0;
    for await (const _ of data) if (++seen === 3) controller.abort(); // the SDK ends the stream quietly
    expect(seen).toBe(3);
    const abortedAt = Date.now();
    // The client really hung up: it never saw the end of the stream.
    const got = text(await cap.calls[0]!.bytes);
    expect(got).not.toContain("[DONE]");
    expect(sseData(got).length).toBeLessThan(10);
    // The stream still had ~1 s to go upstream: the record comes within 2 s of the upstream's last byte.
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!, 6000);
    const visibleAt = Date.now();
    expect(visibleAt - abortedAt).toBeGreaterThan(500); // it waited for the upstream, not for the client
    const up = await upstreamCall(id);
    // 34 frames, 40 ms apart: the provider's last byte was ~1.3 s after it got the request (sent at sentAt).
    expect(visibleAt - (sentAt + 33 * 40)).toBeLessThan(2000);
    const direct = await replay(up, up.body, { dropHeaders: ["x-double-chunk-delay-ms"] });
    expect(rec.usageSource).toBe("reported");
    expect(rec.outputTokens).toBe(30);
    expectPricedRecord(rec, usageOpenAIChat("openai", openaiStreamUsage(direct.text)!), {
      provider: "openai",
      model: "gpt-4o-mini",
    });
  });

  it("Anthropic messages: the client breaks out of the stream; usage from message_delta still recorded", async () => {
    const acc = await newAccount();
    const id = callId();
    const { data, response } = await anthropicClient(acc.key)
      .messages.create(
        { model: HAIKU, max_tokens: 500, stream: true, messages: [{ role: "user", content: "long, then I leave" }] },
        { headers: { "x-e2e-call": id, "x-double-output-tokens": "30", "x-double-chunk-delay-ms": "40" } },
      )
      .withResponse();
    let seen = 0;
    for await (const _ of data) if (++seen === 4) break; // the SDK aborts the request on break
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!, 6000);
    const up = await upstreamCall(id);
    const direct = await replay(up, up.body, { dropHeaders: ["x-double-chunk-delay-ms"] });
    expect(rec).toMatchObject({ usageSource: "reported", outputTokens: 30 });
    expectPricedRecord(rec, usageAnthropic(anthropicStreamUsage(direct.text)), { provider: "anthropic", model: HAIKU });
  });
});

describe("upstream breaks off", () => {
  it("OpenAI chat stream cut after 5 events: estimated, nonzero output, status kept", async () => {
    const acc = await newAccount();
    const cap = capturingFetch();
    const { data, response } = await openaiClient(acc.key, { fetch: cap.fetch })
      .chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "I will be cut off" }] },
        { headers: { "x-double-break-after": "5" } },
      )
      .withResponse();
    let got = "";
    await (async () => {
      for await (const chunk of data) got += chunk.choices[0]?.delta?.content ?? "";
    })().catch(() => {});
    expect(got.length).toBeGreaterThan(0);
    // Nothing after the cut reached the client: no [DONE], no usage.
    expect(text(await cap.calls[0]!.bytes)).not.toContain("[DONE]");
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.usageSource).toBe("estimated");
    expect(rec.outputTokens).toBeGreaterThan(0);
    expect(rec.inputTokens).toBeGreaterThan(0);
    expect(rec.status).toBe(200);
    expect(rec.priced).toBe(true);
    expect(Number(rec.costUsd)).toBeGreaterThan(0);
  });

  it("Anthropic stream cut after message_start and a few deltas: estimated, input from message_start", async () => {
    const acc = await newAccount();
    const usage = { input_tokens: 321, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 16 };
    const { data, response } = await anthropicClient(acc.key)
      .messages.create(
        { model: HAIKU, max_tokens: 100, stream: true, messages: [{ role: "user", content: "cut me" }] },
        { headers: { "x-double-break-after": "6", "x-double-usage": JSON.stringify(usage) } },
      )
      .withResponse();
    await (async () => {
      for await (const _ of data) {
        // drain until the cut
      }
    })().catch(() => {});
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.usageSource).toBe("estimated");
    expect(rec.inputTokens).toBe(321);
    expect(rec.outputTokens).toBeGreaterThan(0);
    expect(rec.outputTokens).toBeLessThan(16);
  });

  it("Responses stream cut before response.completed: estimated", async () => {
    const acc = await newAccount();
    const { data, response } = await openaiClient(acc.key)
      .responses.create(
        { model: "gpt-4.1-mini", input: "cut", stream: true },
        { headers: { "x-double-break-after": "8" } },
      )
      .withResponse();
    await (async () => {
      for await (const _ of data) {
        // drain until the cut
      }
    })().catch(() => {});
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.usageSource).toBe("estimated");
    expect(rec.outputTokens).toBeGreaterThan(0);
  });
});

describe("SSE framing", () => {
  it("events split at random byte positions (inside multi-byte UTF-8): byte-exact, exact usage — chat, messages, responses", async () => {
    const acc = await newAccount();
    const cap = capturingFetch();
    const headers = (id: string) => ({ "x-e2e-call": id, "x-double-split": "random", "x-double-cached-tokens": "3" });

    const c1 = callId();
    const chat = await openaiClient(acc.key, { fetch: cap.fetch })
      .chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "split me 🎉" }] },
        { headers: headers(c1) },
      )
      .withResponse();
    let content = "";
    for await (const chunk of chat.data) content += chunk.choices[0]?.delta?.content ?? "";
    expect(content).toMatch(/^Héllo 世界 🎉/);
    const chatDirect = await replay(await upstreamCall(c1));
    expect(normalizeIds(text(await cap.calls[0]!.bytes))).toBe(normalizeIds(withoutUsageOnlyEvents(chatDirect.text)));
    expectPricedRecord(
      await record(acc.key, chat.response.headers.get("x-tollgate-request-id")!),
      usageOpenAIChat("openai", openaiStreamUsage(chatDirect.text)!),
      { provider: "openai", model: "gpt-4o-mini" },
    );

    const c2 = callId();
    const msg = await anthropicClient(acc.key, { fetch: cap.fetch })
      .messages.create(
        { model: HAIKU, max_tokens: 100, stream: true, messages: [{ role: "user", content: "split me too" }] },
        { headers: headers(c2) },
      )
      .withResponse();
    for await (const _ of msg.data) {
      // drain
    }
    const msgDirect = await replay(await upstreamCall(c2));
    expect(normalizeIds(text(await cap.calls[1]!.bytes))).toBe(normalizeIds(msgDirect.text));
    expectPricedRecord(
      await record(acc.key, msg.response.headers.get("x-tollgate-request-id")!),
      usageAnthropic(anthropicStreamUsage(msgDirect.text)),
      { provider: "anthropic", model: HAIKU },
    );

    const c3 = callId();
    const resp = await openaiClient(acc.key, { fetch: cap.fetch })
      .responses.create({ model: "gpt-4.1-mini", input: "split the responses", stream: true }, { headers: headers(c3) })
      .withResponse();
    for await (const _ of resp.data) {
      // drain
    }
    const respDirect = await replay(await upstreamCall(c3));
    expect(normalizeIds(text(await cap.calls[2]!.bytes))).toBe(normalizeIds(respDirect.text));
    expectPricedRecord(
      await record(acc.key, resp.response.headers.get("x-tollgate-request-id")!),
      usageResponses(openaiStreamUsage(respDirect.text)!),
      { provider: "openai", model: "gpt-4.1-mini" },
    );
  });

  it("the whole stream in one write (coalesced): the usage chunk is still found and stripped", async () => {
    const acc = await newAccount();
    const cap = capturingFetch();
    const id = callId();
    const { data, response } = await openaiClient(acc.key, { fetch: cap.fetch })
      .chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "all at once" }] },
        { headers: { "x-e2e-call": id, "x-double-split": "coalesce" } },
      )
      .withResponse();
    for await (const _ of data) {
      // drain
    }
    const direct = await replay(await upstreamCall(id));
    const got = text(await cap.calls[0]!.bytes);
    expect(normalizeIds(got)).toBe(normalizeIds(withoutUsageOnlyEvents(direct.text)));
    expect(sseData(got).every((c) => (c.choices as unknown[]).length > 0)).toBe(true);
    expectPricedRecord(
      await record(acc.key, response.headers.get("x-tollgate-request-id")!),
      usageOpenAIChat("openai", openaiStreamUsage(direct.text)!),
      { provider: "openai", model: "gpt-4o-mini" },
    );
  });

  it("chunks reach the client as the provider sends them, not at the end", async () => {
    const acc = await newAccount();
    const started = Date.now();
    const stream = await openaiClient(acc.key).chat.completions.create(
      { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "slowly" }] },
      { headers: { "x-double-output-tokens": "12", "x-double-chunk-delay-ms": "100" } },
    );
    const at: number[] = [];
    for await (const chunk of stream) if (chunk.choices[0]?.delta?.content) at.push(Date.now() - started);
    expect(at).toHaveLength(12);
    const total = at.at(-1)!;
    expect(total).toBeGreaterThan(1000);
    // The first token arrived long before the last: nothing waited for the end of the stream.
    expect(at[0]!).toBeLessThan(total - 700);
    // And they arrived spread out, about one per 100 ms.
    expect(at[6]! - at[0]!).toBeGreaterThan(400);
  });

  it("Anthropic too (its bytes go to the client through a native tee; the meter reads the other branch rarely)", async () => {
    const acc = await newAccount();
    const started = Date.now();
    const stream = anthropicClient(acc.key).messages.stream(
      { model: HAIKU, max_tokens: 64, messages: [{ role: "user", content: "slowly" }] },
      { headers: { "x-double-output-tokens": "12", "x-double-chunk-delay-ms": "100" } },
    );
    const at: number[] = [];
    for await (const ev of stream) if (ev.type === "content_block_delta") at.push(Date.now() - started);
    const final = await stream.finalMessage();
    expect(at.length).toBeGreaterThanOrEqual(10);
    const total = at.at(-1)!;
    expect(total).toBeGreaterThan(900);
    expect(at[0]!).toBeLessThan(total - 700);
    expect(at[6]! - at[0]!).toBeGreaterThan(400);
    expect(final.usage.output_tokens).toBe(12);
  });

  it("an in-stream provider error event passes through; the SDK raises it and the call is recorded", async () => {
    const acc = await newAccount();
    const cap = capturingFetch();
    const { data, response } = await openaiClient(acc.key, { fetch: cap.fetch })
      .chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "fail midway" }] },
        { headers: { "x-double-error-after": "4" } },
      )
      .withResponse();
    await expect(
      (async () => {
        for await (const _ of data) {
          // until the error event
        }
      })(),
    ).rejects.toThrow(/server had an error/);
    expect(text(await cap.calls[0]!.bytes)).toContain('data: {"error":');
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.status).toBe(200);
    expect(rec.usageSource).not.toBe("reported");
  });
});
