/**
 * The nine OpenAI-compatible built-ins through /proxy/{provider} with the real `openai` SDK, streamed
 * (the SDK's default: no stream_options) and JSON. For each: the client gets the provider's bytes
 * (minus the usage-only chunk when the gateway asked for it), the upstream got include_usage only
 * where the provider needs it, and the record holds the provider's usage under its quirks
 * (docs/wire-formats.md §6–§14), mapped by hand and priced by src/pricing:
 *   DeepSeek cache hit/miss · Gemini thoughts = total − prompt · xAI reasoning outside completion ·
 *   Groq usage repeated on one stream, counted once · OpenRouter SSE comments + stub usage chunk ·
 *   Perplexity cumulative usage on every chunk · Mistral/Together usage on the finish chunk, no opt-in ·
 *   Fireworks `choices: []` usage chunk.
 */
import { describe, expect, it } from "vitest";
import { newAccount } from "../helpers/gateway";
import {
  type CostRecord,
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
  usageOpenAIChat,
  withoutUsageOnlyEvents,
} from "../helpers/proxy";

interface Case {
  provider: string;
  model: string;
  /** Whether the gateway adds stream_options.include_usage for this provider. */
  injects: boolean;
  /** x-double-* knobs that make the provider's quirk visible. */
  knobs: Record<string, string>;
  /** Provider-specific checks on the record and the bytes. */
  check?: (r: CostRecord, ctx: { streamed: boolean; upstream: string; client: string }) => void;
}

const CASES: Case[] = [
  {
    provider: "deepseek",
    model: "deepseek-chat",
    injects: true,
    knobs: { "x-double-cached-tokens": "5", "x-double-reasoning-tokens": "4" },
    check: (r) => {
      // prompt_cache_hit_tokens → cache read, prompt_cache_miss_tokens → input (§7).
      expect(r.cacheReadTokens).toBe(5);
      expect(r.reasoningTokens).toBe(4);
      expect(r.outputTokens).toBe(20);
    },
  },
  {
    provider: "gemini",
    model: "gemini-2.5-flash",
    injects: true,
    knobs: { "x-double-reasoning-tokens": "7" },
    check: (r, { upstream }) => {
      // completion_tokens leaves the 7 thoughts out; total has them: output = total − prompt (§6).
      expect(r.outputTokens).toBe(16 + 7);
      expect(r.reasoningTokens).toBe(7);
      if (upstream.startsWith("data:")) {
        // Usage on every chunk, cumulative: taking the last is right, summing would be ~9× too much.
        expect(sseData(upstream).filter((c) => c.usage).length).toBeGreaterThan(5);
      }
    },
  },
  {
    provider: "xai",
    model: "grok-3-mini",
    injects: true,
    knobs: { "x-double-reasoning-tokens": "9", "x-double-cached-tokens": "2" },
    check: (r) => {
      // Reasoning sits outside completion_tokens: billed on top as output (§12).
      expect(r.outputTokens).toBe(16 + 9);
      expect(r.reasoningTokens).toBe(9);
      expect(r.cacheReadTokens).toBe(2);
    },
  },
  {
    provider: "groq",
    model: "llama-3.3-70b-versatile",
    injects: true,
    knobs: {},
    check: (r, { streamed, upstream }) => {
      if (streamed) {
        // x_groq.usage + top-level usage on the finish chunk + the opted-in usage chunk: 3 copies.
        const copies = sseData(upstream).flatMap((c) => [
          c.usage,
          (c.x_groq as { usage?: unknown } | undefined)?.usage,
        ]);
        expect(copies.filter(Boolean).length).toBe(3);
      }
      expect(r.outputTokens).toBe(16);
    },
  },
  {
    provider: "openrouter",
    model: "openai/gpt-4.1-mini",
    injects: true,
    knobs: { "x-double-cached-tokens": "3" },
    check: (r, { streamed, client }) => {
      if (streamed) {
        // The SSE comments reach the client; the stub choice carrying the usage is not stripped.
        expect(client).toContain(": OPENROUTER PROCESSING\n\n");
        const last = sseData(client).at(-1)!;
        expect(last.usage).toBeTruthy();
        expect((last.choices as unknown[]).length).toBe(1);
      }
      expect(r.cacheReadTokens).toBe(3);
      expect(r.outputTokens).toBe(16);
    },
  },
  {
    provider: "perplexity",
    model: "sonar",
    injects: false,
    knobs: {},
    check: (r) => expect(r.outputTokens).toBe(16),
  },
  { provider: "mistral", model: "mistral-small-latest", injects: false, knobs: { "x-double-cached-tokens": "2" } },
  { provider: "together", model: "meta-llama/Llama-3.3-70B-Instruct-Turbo", injects: false, knobs: {} },
  {
    provider: "fireworks",
    model: "accounts/fireworks/models/llama-v3p1-8b-instruct",
    injects: true,
    knobs: {},
  },
];

describe("OpenAI-compatible providers through /proxy/{provider}", () => {
  for (const c of CASES) {
    it(`${c.provider}: SSE and JSON — bytes passed through, usage per its quirks, priced`, async () => {
      const acc = await newAccount({ providers: [c.provider] });
      const cap = capturingFetch();
      const client = openaiClient(acc.key, { provider: c.provider, fetch: cap.fetch });
      const messages = [{ role: "user" as const, content: `hello ${c.provider}` }];

      // Streamed, as the SDK sends it (no stream_options).
      const sid = callId();
      const s = await client.chat.completions
        .create({ model: c.model, stream: true, messages }, { headers: { "x-e2e-call": sid, ...c.knobs } })
        .withResponse();
      let content = "";
      for await (const chunk of s.data) content += chunk.choices[0]?.delta?.content ?? "";
      expect(content).toMatch(/^Héllo 世界 🎉/);
      const sup = await upstreamCall(sid);
      expect(sup.path.endsWith("/chat/completions")).toBe(true);
      expect(sup.headers.authorization).toBe(`Bearer sk-test-${c.provider}`);
      const sent = cap.calls[0]!.requestBody!;
      if (c.injects) expect(JSON.parse(sup.body).stream_options).toEqual({ include_usage: true });
      else expect(sup.body).toBe(sent);
      const sDirect = await replay(sup);
      const sGot = text(await cap.calls[0]!.bytes);
      expect(s.response.headers.get("content-type")).toBe(sDirect.headers.get("content-type"));
      expect(normalizeIds(sGot)).toBe(normalizeIds(c.injects ? withoutUsageOnlyEvents(sDirect.text) : sDirect.text));
      const sRec = await record(acc.key, s.response.headers.get("x-tollgate-request-id")!);
      expect(sRec).toMatchObject({
        provider: c.provider,
        model: c.model,
        endpoint: "chat",
        streamed: true,
        status: 200,
      });
      expectPricedRecord(sRec, usageOpenAIChat(c.provider, openaiStreamUsage(sDirect.text)!), c);
      c.check?.(sRec, { streamed: true, upstream: sDirect.text, client: sGot });

      // JSON.
      const jid = callId();
      const j = await client.chat.completions
        .create({ model: c.model, messages }, { headers: { "x-e2e-call": jid, ...c.knobs } })
        .withResponse();
      expect(j.data.choices[0]?.message.content).toBe(content);
      const jup = await upstreamCall(jid);
      expect(jup.body).toBe(cap.calls[1]!.requestBody);
      const jDirect = await replay(jup);
      const jGot = text(await cap.calls[1]!.bytes);
      expect(normalizeIds(jGot)).toBe(normalizeIds(jDirect.text));
      const jRec = await record(acc.key, j.response.headers.get("x-tollgate-request-id")!);
      expect(jRec).toMatchObject({ provider: c.provider, endpoint: "chat", streamed: false, status: 200 });
      expectPricedRecord(jRec, usageOpenAIChat(c.provider, JSON.parse(jDirect.text).usage), c);
      c.check?.(jRec, { streamed: false, upstream: jDirect.text, client: jGot });
      // The same call, streamed or not, costs the same.
      expect(jRec.costUsd).toBe(sRec.costUsd);
    });
  }

  it("provider-reported costs are kept for reconciliation (OpenRouter cost, xAI ticks, Perplexity total_cost)", async () => {
    const acc = await newAccount({ providers: ["openrouter", "xai", "perplexity"] });
    const expected: Record<string, (u: Record<string, unknown>) => number> = {
      openrouter: (u) => (u.cost as number) * 1e9,
      xai: (u) => (u.cost_in_usd_ticks as number) / 10,
      perplexity: (u) => ((u.cost as { total_cost: number }).total_cost as number) * 1e9,
    };
    const models: Record<string, string> = {
      openrouter: "openai/gpt-4.1-mini",
      xai: "grok-3-mini",
      perplexity: "sonar",
    };
    for (const provider of Object.keys(expected)) {
      const cap = capturingFetch();
      const { response } = await openaiClient(acc.key, { provider, fetch: cap.fetch })
        .chat.completions.create({
          model: models[provider]!,
          messages: [{ role: "user", content: "what did it cost?" }],
        })
        .withResponse();
      const usage = JSON.parse(text(await cap.calls[0]!.bytes)).usage;
      const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
      expect(Number(rec.providerReportedCostUsd) * 1e9, provider).toBeCloseTo(expected[provider]!(usage), 0);
    }
  });
});
