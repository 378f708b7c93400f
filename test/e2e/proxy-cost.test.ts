/**
 * The cost returned to the caller on calls without a route: x-tollgate-cost-usd on a JSON answer
 * (known before the headers: the body is read whole and metered anyway), and for a stream, only
 * when asked with x-tollgate-include-cost: 1, a last SSE comment line — otherwise the stream is the
 * provider's bytes exactly. Both equal the cost record.
 */
import { describe, expect, it } from "vitest";
import { newAccount } from "../helpers/gateway";
import { anthropicClient, normalizeIds, openaiClient, record } from "../helpers/proxy";
import { chat, hi } from "../helpers/routing";

describe("the cost, returned to the caller", () => {
  it("JSON: x-tollgate-cost-usd equals the record's cost", async () => {
    const acc = await newAccount();
    const res = await chat(acc.key, { model: "gpt-4o-mini", messages: hi() });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-route")).toBeNull();
    expect(res.headers.get("x-tollgate-cache")).toBeNull();
    const rec = await record(acc.key, res.headers.get("x-tollgate-request-id")!);
    expect(res.headers.get("x-tollgate-cost-usd")).toBe(rec.costUsd);
    expect(rec.route).toBeNull();
  });

  it("SSE: a last comment line only with x-tollgate-include-cost: 1, equal to the record's cost", async () => {
    const acc = await newAccount();
    const body = { model: "gpt-4o-mini", stream: true, messages: hi() };
    const plain = await chat(acc.key, body);
    const plainText = await plain.text();
    expect(plainText.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(plain.headers.get("x-tollgate-cost-usd")).toBeNull();

    const withCost = await chat(acc.key, body, { "x-tollgate-include-cost": "1" });
    const text = await withCost.text();
    const rec = await record(acc.key, withCost.headers.get("x-tollgate-request-id")!);
    // The same answer (but for the double's generated ids and clock) and the comment after it.
    expect(normalizeIds(text)).toBe(normalizeIds(`${plainText}: x-tollgate-cost-usd=${rec.costUsd}\n\n`));
    expect(rec.usageSource).toBe("reported");
  });

  it("the SDKs read a stream that ends with the cost comment as usual", async () => {
    const acc = await newAccount();
    const headers = { "x-tollgate-include-cost": "1" };
    const openai = openaiClient(acc.key, { headers });
    const stream = await openai.chat.completions.create({
      model: "gpt-4o-mini",
      stream: true,
      messages: hi() as never,
    });
    let textOut = "";
    for await (const c of stream) textOut += c.choices[0]?.delta.content ?? "";
    expect(textOut).toContain("Héllo");
    const anthropic = anthropicClient(acc.key, { headers });
    const msg = await anthropic.messages
      .stream({ model: "claude-haiku-4-5", max_tokens: 64, messages: hi() as never })
      .finalMessage();
    expect(msg.usage.output_tokens).toBeGreaterThan(0);
  });
});
