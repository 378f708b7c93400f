/**
 * Fallback chains through the real gateway: the provider double fails the first targets by model
 * (x-double-status-for, x-double-delay-for); every attempt is its own record, linked to the call,
 * costs exact, and the attempts header lists the chain — JSON and streams. Also: routes never mix
 * wire formats (a 400 at creation), and a status outside fallbackOn is passed through unchanged.
 */
import { describe, expect, it } from "vitest";
import { usdToNano } from "../../src/lib/money";
import { admin, newAccount } from "../helpers/gateway";
import {
  callId,
  expectPricedRecord,
  openaiStreamUsage,
  record,
  sseData,
  upstreamCalls,
  usageOpenAIChat,
} from "../helpers/proxy";
import { chat, hi, putRoute } from "../helpers/routing";

const CHAIN = {
  targets: [
    { provider: "openai", model: "gpt-4o" },
    { provider: "deepseek", model: "deepseek-chat" },
    { provider: "openai", model: "gpt-4o-mini" },
  ],
};
const FAULTS = { "x-double-status-for": "gpt-4o=429,deepseek-chat=500" };
const ATTEMPTS = "openai/gpt-4o:429,deepseek/deepseek-chat:500,openai/gpt-4o-mini:200";

async function chainRecords(key: string, finalId: string) {
  const base = finalId.replace(/\.a3$/, "");
  expect(finalId).toBe(`${base}.a3`);
  return Promise.all([record(key, base), record(key, `${base}.a2`), record(key, finalId)]);
}

describe("fallback chains", () => {
  it("429, then 500, then an answer on the third target: three records, exact costs, the attempts header", async () => {
    const acc = await newAccount({ providers: ["openai", "deepseek"] });
    await putRoute(acc.accountId, "chain", CHAIN);
    const id = callId();
    const res = await chat(
      acc.key,
      { model: "gpt-4o", max_tokens: 40, messages: hi() },
      { "x-tollgate-route": "chain", "x-e2e-call": id, ...FAULTS },
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { model: string; usage: object };
    expect(body.model).toBe("gpt-4o-mini");
    expect(res.headers.get("x-tollgate-route")).toBe("chain");
    expect(res.headers.get("x-tollgate-attempts")).toBe(ATTEMPTS);
    expect(res.headers.get("x-tollgate-cache")).toBe("bypass");

    // The provider got three calls, each with its target's model and the client's body otherwise.
    const up = await upstreamCalls(id);
    expect(up.map((u) => [u.path, JSON.parse(u.body).model])).toEqual([
      ["/openai/v1/chat/completions", "gpt-4o"],
      ["/deepseek/chat/completions", "deepseek-chat"],
      ["/openai/v1/chat/completions", "gpt-4o-mini"],
    ]);

    const [first, second, third] = await chainRecords(acc.key, res.headers.get("x-tollgate-request-id")!);
    expect([first.status, second.status, third.status]).toEqual([429, 500, 200]);
    expect([first.attempt, second.attempt, third.attempt]).toEqual([1, 2, 3]);
    expect([first.attemptOf, second.attemptOf, third.attemptOf]).toEqual([null, first.id, first.id]);
    expect([first.provider, second.provider, third.provider]).toEqual(["openai", "deepseek", "openai"]);
    expect([first.route, second.route, third.route]).toEqual(["chain", "chain", "chain"]);
    expect([first.costUsd, second.costUsd]).toEqual(["0.00", "0.00"]);
    expectPricedRecord(third, usageOpenAIChat("openai", body.usage), { provider: "openai", model: "gpt-4o-mini" });
    // A JSON answer's cost is known before its headers go: the same number as the record.
    expect(res.headers.get("x-tollgate-cost-usd")).toBe(third.costUsd);
  });

  it("streams too: the third target's stream, its usage exact, the cost as a last SSE comment when asked", async () => {
    const acc = await newAccount({ providers: ["openai", "deepseek"] });
    await putRoute(acc.accountId, "chain", CHAIN);
    const res = await chat(
      acc.key,
      { model: "gpt-4o", max_tokens: 40, stream: true, stream_options: { include_usage: true }, messages: hi() },
      { "x-tollgate-route": "chain", "x-tollgate-include-cost": "1", ...FAULTS },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("x-tollgate-attempts")).toBe(ATTEMPTS);
    const text = await res.text();
    expect(sseData(text)[0]!.model).toBe("gpt-4o-mini");
    const [, , third] = await chainRecords(acc.key, res.headers.get("x-tollgate-request-id")!);
    expect(third.streamed).toBe(true);
    expectPricedRecord(third, usageOpenAIChat("openai", openaiStreamUsage(text)!), {
      provider: "openai",
      model: "gpt-4o-mini",
    });
    // The stream ends with the provider's [DONE], then our comment line (SSE clients skip it).
    expect(text.endsWith(`data: [DONE]\n\n: x-tollgate-cost-usd=${third.costUsd}\n\n`)).toBe(true);
    expect(usdToNano(third.costUsd)).toBeGreaterThan(0n);
  });

  it("a target that sends no status line within timeoutMs counts as a timeout", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "quick", {
      targets: [
        { provider: "openai", model: "gpt-4o" },
        { provider: "openai", model: "gpt-4o-mini" },
      ],
      timeoutMs: 300,
    });
    const started = Date.now();
    const res = await chat(
      acc.key,
      { model: "gpt-4o", messages: hi() },
      { "x-tollgate-route": "quick", "x-double-delay-for": "gpt-4o=3000" },
    );
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(2500);
    expect(res.headers.get("x-tollgate-attempts")).toBe("openai/gpt-4o:timeout,openai/gpt-4o-mini:200");
    const finalId = res.headers.get("x-tollgate-request-id")!;
    const timedOut = await record(acc.key, finalId.replace(/\.a2$/, ""));
    expect(timedOut.status).toBe(504);
    expect(timedOut.costUsd).toBe("0.00");
  });

  it("a status outside fallbackOn goes to the client as the provider sent it", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "only-5xx", {
      targets: [
        { provider: "openai", model: "gpt-4o" },
        { provider: "openai", model: "gpt-4o-mini" },
      ],
      fallbackOn: ["5xx"],
    });
    const res = await chat(
      acc.key,
      { model: "gpt-4o", messages: hi() },
      { "x-tollgate-route": "only-5xx", "x-double-status-for": "gpt-4o=429" },
    );
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("1");
    expect(res.headers.get("x-tollgate-attempts")).toBe("openai/gpt-4o:429");
    const err = (await res.json()) as { error: { type: string } };
    expect(err.error.type).toBe("requests");
  });

  it("cross-format routes are refused at creation with a 400; a call on the other format is a 400", async () => {
    const acc = await newAccount();
    const bad = await admin<{ error: { issues: { path: string; message: string }[] } }>(
      "PUT",
      `/accounts/${acc.accountId}/routes/mixed`,
      {
        targets: [
          { provider: "openai", model: "gpt-4o" },
          { provider: "anthropic", model: "claude-sonnet-4-5" },
        ],
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues[0]!.path).toBe("targets");
    expect(bad.body.error.issues[0]!.message).toMatch(/cross-format routes are refused/);
    await putRoute(acc.accountId, "claude", { targets: [{ provider: "anthropic", model: "claude-haiku-4-5" }] });
    const res = await chat(acc.key, { model: "gpt-4o", messages: hi() }, { "x-tollgate-route": "claude" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/anthropic-format/);
    expect(res.headers.get("x-tollgate-route")).toBe("claude");
    const unknown = await chat(acc.key, { model: "gpt-4o", messages: hi() }, { "x-tollgate-route": "nope" });
    expect(unknown.status).toBe(400);
  });

  it("GET, list and DELETE; a deleted route is unknown to the next call", async () => {
    const acc = await newAccount();
    const put = await putRoute(acc.accountId, "r1", { targets: [{ provider: "openai", model: "gpt-4o-mini" }] });
    expect(put).toMatchObject({
      name: "r1",
      format: "openai",
      targets: [{ provider: "openai", model: "gpt-4o-mini" }],
    });
    const one = await admin("GET", `/accounts/${acc.accountId}/routes/r1`);
    expect(one.body).toEqual(put);
    const list = await admin<{ name: string }[]>("GET", `/accounts/${acc.accountId}/routes`);
    expect(list.body.map((r) => r.name)).toEqual(["r1"]);
    expect((await chat(acc.key, { model: "x", messages: hi() }, { "x-tollgate-route": "r1" })).status).toBe(200);
    expect((await admin("DELETE", `/accounts/${acc.accountId}/routes/r1`)).status).toBe(200);
    expect((await admin("GET", `/accounts/${acc.accountId}/routes/r1`)).status).toBe(404);
    expect((await chat(acc.key, { model: "x", messages: hi() }, { "x-tollgate-route": "r1" })).status).toBe(400);
  });
});
