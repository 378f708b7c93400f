import { describe, expect, it } from "vitest";
import { BUILTIN_PROVIDERS } from "../providers";
import { createStreamMeter, createUsageChunkStripperCore, usageFromJson } from "./index";

const enc = new TextEncoder();

function run(format: "openai" | "anthropic", path: string, text: string, provider = "openai", chunkSize = 0) {
  const m = createStreamMeter({ format, path, quirks: BUILTIN_PROVIDERS[provider]!.quirks });
  const bytes = enc.encode(text);
  if (chunkSize === 0) m.push(bytes);
  else for (let i = 0; i < bytes.length; i += chunkSize) m.push(bytes.subarray(i, i + chunkSize));
  return m.finish();
}

describe("stream meter, targeted cases", () => {
  it("Responses stream: web searches counted from response.completed output", () => {
    const done = {
      type: "response.completed",
      response: {
        model: "gpt-5",
        output: [
          { type: "web_search_call", action: { type: "search" } },
          { type: "message", content: [] },
        ],
        usage: { input_tokens: 100, output_tokens: 20, total_tokens: 120, input_tokens_details: { cached_tokens: 0 } },
      },
    };
    const r = run("openai", "responses", `event: response.completed\ndata: ${JSON.stringify(done)}\n\n`);
    expect(r.usage).toMatchObject({ inputTokens: 100, outputTokens: 20, webSearchRequests: 1 });
    expect(r.complete).toBe(true);
  });

  it("warns when total exceeds prompt + completion for a provider without outputFromTotal", () => {
    const r = usageFromJson("openai", "chat/completions", {
      model: "m",
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 40 },
    });
    expect(r?.usage.outputTokens).toBe(5);
    expect(r?.warnings?.[0]).toMatch(/total_tokens 40/);
  });

  it("a huge single-line event across many small chunks is read (and linearly)", () => {
    const big = "é".repeat(300_000);
    const done = {
      type: "response.completed",
      response: {
        model: "m",
        output: [{ type: "message", content: [{ type: "output_text", text: big }] }],
        usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 },
      },
    };
    const text = `event: response.completed\ndata: ${JSON.stringify(done)}\n\n`;
    const t0 = performance.now();
    const r = run("openai", "responses", text, "openai", 1024);
    expect(performance.now() - t0).toBeLessThan(500);
    expect(r.usage).toMatchObject({ inputTokens: 1, outputTokens: 2 });
  });

  it("a JSON meter for an unmetered endpoint keeps nothing", () => {
    const m = createStreamMeter({ format: "openai", path: "models", streamed: false });
    m.push(enc.encode('{"data":[]}'));
    expect(m.finish()).toMatchObject({ usage: null, complete: false, estimatedUsage: null });
  });

  it("an Anthropic body without event: lines still meters (type read from data)", () => {
    const text = [
      `data: {"type":"message_start","message":{"model":"claude-x","usage":{"input_tokens":5,"output_tokens":1}}}`,
      `data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hé"}}`,
      `data: {"type":"message_delta","delta":{},"usage":{"output_tokens":9}}`,
      `data: {"type":"message_stop"}`,
    ].join("\n\n");
    const r = run("anthropic", "v1/messages", `${text}\n\n`, "anthropic");
    expect(r).toMatchObject({ model: "claude-x", complete: true, usage: { inputTokens: 5, outputTokens: 9 } });
  });
});

describe("stripper, targeted cases", () => {
  const strip = (parts: string[]) => {
    const s = createUsageChunkStripperCore();
    const out: Uint8Array[] = [];
    for (const p of parts) out.push(...s.push(enc.encode(p)));
    out.push(...s.flush());
    return out.map((b) => new TextDecoder().decode(b)).join("");
  };

  it("tolerates spaces around the choices key", () => {
    expect(strip(['data: {"choices" : [ ], "usage": {"prompt_tokens": 1}}\n\n', "data: [DONE]\n\n"])).toBe(
      "data: [DONE]\n\n",
    );
  });

  it("never holds more than 64 KiB of an undecided line", () => {
    const s = createUsageChunkStripperCore();
    const line = `data: {"prompt_filter_results":"${"x".repeat(70_000)}","choices":[],"usage":null}\n\n`;
    const bytes = enc.encode(line);
    let emitted = 0;
    for (let i = 0; i < bytes.length; i += 4096) {
      for (const p of s.push(bytes.subarray(i, i + 4096))) emitted += p.length;
      expect(i + 4096 - emitted).toBeLessThanOrEqual(64 * 1024 + 4096);
    }
    expect(emitted).toBe(bytes.length);
  });
});
