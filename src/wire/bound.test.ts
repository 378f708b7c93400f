/**
 * The input bound is an upper bound: for every request below — a small corpus of realistic bodies
 * per wire format, and adversarial text (CJK, emoji, random code points, random bytes, long
 * numbers, whitespace runs, base64) — the reserved input is at least what OpenAI's own tokenizers
 * (o200k_base and cl100k_base, through gpt-tokenizer's chat encoding: the template tokens
 * included) count. And it is tighter than counting the body's JSON: the bound counts tokenized text,
 * not keys, punctuation or parameters.
 */
import { encodeChat as cl100kChat } from "gpt-tokenizer/encoding/cl100k_base";
import { countTokens as o200k, encodeChat as o200kChat } from "gpt-tokenizer/encoding/o200k_base";
import { describe, expect, it } from "vitest";
import { anthropicRequestFacts } from "./anthropic/request";
import { estimateInputTokens, utf8Length } from "./estimate";
import { openaiRequestFacts } from "./openai/request";

type Msg = { role: "system" | "user" | "assistant"; content: string };

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomCodePoints(r: () => number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) {
    const pick = r();
    let cp: number;
    if (pick < 0.3) cp = 0x20 + Math.floor(r() * 0x5f);
    else if (pick < 0.5) cp = 0x4e00 + Math.floor(r() * 0x5000);
    else if (pick < 0.7) cp = 0x1f300 + Math.floor(r() * 0x300);
    else cp = 0x80 + Math.floor(r() * 0xd000);
    if (cp >= 0xd800 && cp <= 0xdfff) cp = 0x41;
    s += String.fromCodePoint(cp);
  }
  return s;
}

function randomBytesText(r: () => number, n: number): string {
  const bytes = new Uint8Array(n);
  for (let i = 0; i < n; i++) bytes[i] = Math.floor(r() * 256);
  // What a client would send after decoding arbitrary bytes: replacement characters and all.
  return new TextDecoder().decode(bytes);
}

const r = prng(42);
const ADVERSARIAL: Record<string, string> = {
  cjk: "人工智能是计算机科学的一个分支，它企图了解智能的实质。東京は日本の首都です。한국어 텍스트도 있습니다。".repeat(
    30,
  ),
  emoji: "🎉🎊🎈👩‍👩‍👧‍👦🏳️‍🌈🇯🇵🧑🏽‍🚀 ".repeat(80),
  randomCodePoints: randomCodePoints(r, 3000),
  randomBytes: randomBytesText(r, 6000),
  longNumbers: Array.from({ length: 200 }, (_, i) => String(BigInt(i + 1) ** 17n)).join(" "),
  digitsOnly: "9".repeat(5000),
  whitespace: " \t\n  \n\n\t ".repeat(400),
  base64: Buffer.from(randomBytesText(r, 4000)).toString("base64"),
  punctuation: "!?.,;:()[]{}<>\"'`~@#$%^&*-_=+|\\/".repeat(100),
  mixedScripts: "Ωmega naïve café Москва العربية हिन्दी ελληνικά עברית ".repeat(60),
};

const CORPUS: { name: string; messages: Msg[] }[] = [
  {
    name: "support chat",
    messages: [
      { role: "system", content: "You are a helpful support agent for Acme. Answer briefly and cite the docs." },
      { role: "user", content: "My invoice for November shows two charges for the same seat. Why?" },
      { role: "assistant", content: "It looks like the seat was added twice on Nov 3. I can refund one." },
      { role: "user", content: "Yes please, and make sure it does not happen again next month." },
    ],
  },
  {
    name: "600-word prompt",
    messages: [
      {
        role: "user",
        content:
          "Summarize the quarterly report for the board. Revenue grew 14% year over year, driven by the enterprise tier; churn fell to 2.1%. ".repeat(
            40,
          ),
      },
    ],
  },
  {
    name: "code review",
    messages: [
      { role: "system", content: "Review this TypeScript for bugs." },
      {
        role: "user",
        content:
          "export function f(a: number, b: string): Record<string, number> {\n  const out = { [b]: a * 2 };\n  return out;\n}\n".repeat(
            30,
          ),
      },
    ],
  },
  ...Object.entries(ADVERSARIAL).map(([name, text]) => ({
    name: `adversarial: ${name}`,
    messages: [
      { role: "system" as const, content: "Echo." },
      { role: "user" as const, content: text },
    ],
  })),
];

describe("the input bound is never below the real count", () => {
  it.each(CORPUS.map((c) => [c.name, c] as const))("OpenAI chat: %s", (_, c) => {
    const body = { model: "gpt-4o-mini", max_tokens: 100, temperature: 0.2, messages: c.messages };
    const bound = openaiRequestFacts("chat/completions", body).estimatedInputTokens;
    expect(bound).toBeGreaterThanOrEqual(o200kChat(c.messages, "gpt-4o").length);
    expect(bound).toBeGreaterThanOrEqual(cl100kChat(c.messages, "gpt-4").length);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))("OpenAI Responses: %s", (_, c) => {
    const body = {
      model: "gpt-4o-mini",
      instructions: c.messages[0]!.content,
      input: c.messages.slice(1).map((m) => ({ role: m.role, content: [{ type: "input_text", text: m.content }] })),
    };
    const bound = openaiRequestFacts("responses", body).estimatedInputTokens;
    expect(bound).toBeGreaterThanOrEqual(o200kChat(c.messages, "gpt-4o").length);
  });

  it.each(CORPUS.map((c) => [c.name, c] as const))("Anthropic messages: %s", (_, c) => {
    const body = {
      model: "claude-haiku-4-5",
      max_tokens: 100,
      system: [{ type: "text", text: c.messages[0]!.content, cache_control: { type: "ephemeral" } }],
      messages: c.messages.slice(1).map((m) => ({ role: m.role, content: [{ type: "text", text: m.content }] })),
    };
    const bound = anthropicRequestFacts("v1/messages", body).estimatedInputTokens;
    // Claude's tokenizer is not public; it is byte-level BPE too, so UTF-8 bytes bound it. Here:
    // the bound covers every text byte, and OpenAI's tokenizers' counts.
    const textBytes = c.messages.reduce((n, m) => n + utf8Length(m.content), 0);
    expect(bound).toBeGreaterThanOrEqual(textBytes);
    expect(bound).toBeGreaterThanOrEqual(o200kChat(c.messages, "gpt-4o").length);
  });

  it("tool schemas and tool calls are counted whole", () => {
    const tools = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city, in Celsius.",
          parameters: {
            type: "object",
            properties: { city: { type: "string", description: "City name" } },
            required: ["city"],
          },
        },
      },
    ];
    const body = {
      model: "gpt-4o",
      tools,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: '{"temp": 21, "sky": "clear"}' },
      ],
    };
    const bound = estimateInputTokens(body).tokens;
    expect(bound).toBeGreaterThanOrEqual(
      utf8Length(JSON.stringify(tools)) + o200k('{"city":"Paris"}{"temp": 21, "sky": "clear"}'),
    );
  });
});

describe("the bound counts text, not the JSON around it", () => {
  it("keys, punctuation and parameters are not counted", () => {
    const messages = Array.from({ length: 40 }, (_, i) => ({ role: i % 2 ? "assistant" : "user", content: "ok" }));
    const body = { model: "gpt-4o-mini", temperature: 0.7, top_p: 0.9, max_tokens: 100, stop: ["\n\n"], messages };
    const bound = openaiRequestFacts("chat/completions", body).estimatedInputTokens;
    // 40 two-byte messages: the per-message template allowance dominates, the JSON (~1.2 kB) does not.
    expect(bound).toBeLessThan(utf8Length(JSON.stringify(body)) / 2);
    expect(bound).toBeGreaterThanOrEqual(o200kChat(messages as Msg[], "gpt-4o").length);
  });

  it("for English prose the bound is ~4–6× the real count (the exact count is asked for when it matters)", () => {
    const text = CORPUS[1]!.messages[0]!.content;
    const bound = openaiRequestFacts("chat/completions", {
      model: "gpt-4o",
      messages: [{ role: "user", content: text }],
    }).estimatedInputTokens;
    const ratio = bound / o200k(text);
    expect(ratio).toBeGreaterThan(3);
    expect(ratio).toBeLessThan(7);
  });
});
