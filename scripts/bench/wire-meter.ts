/**
 * CPU cost of the stream meter and the usage-chunk stripper, per MB of realistic SSE, against a
 * baseline that only iterates the chunks and a naive meter that decodes and JSON.parses every event.
 * Run: npx tsx scripts/bench/wire-meter.ts
 */
import { BUILTIN_PROVIDERS } from "../../src/providers";
import { createStreamMeter, createUsageChunkStripperCore } from "../../src/wire/index";

const enc = new TextEncoder();
const WORDS = [
  "Héllo",
  " world",
  " 世界",
  " the",
  " quick",
  " brown",
  " fox",
  " 🎉",
  " jumps",
  " over",
  " a",
  " lazy",
  " dog.",
];

function openaiChat(events: number): Uint8Array[] {
  const head =
    '{"id":"chatcmpl-C2xQ8mZk1","object":"chat.completion.chunk","created":1761091200,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[{"index":0,"delta":{"content":';
  const out: Uint8Array[] = [];
  for (let i = 0; i < events; i++) {
    out.push(
      enc.encode(
        `data: ${head}${JSON.stringify(WORDS[i % WORDS.length])}},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"a8Xk"}\n\n`,
      ),
    );
  }
  out.push(
    enc.encode(
      'data: {"id":"chatcmpl-C2xQ8mZk1","object":"chat.completion.chunk","created":1761091200,"model":"gpt-4o-2024-08-06","service_tier":"default","system_fingerprint":"fp_07871e2ad8","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":50,"total_tokens":1250,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},"obfuscation":"x"}\n\ndata: [DONE]\n\n',
    ),
  );
  return out;
}

function anthropic(events: number): Uint8Array[] {
  const out: Uint8Array[] = [
    enc.encode(
      'event: message_start\ndata: {"type":"message_start","message":{"model":"claude-sonnet-4-5-20250929","id":"msg_01","type":"message","role":"assistant","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":2068,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":3,"service_tier":"standard"}}}\n\nevent: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n',
    ),
  ];
  for (let i = 0; i < events; i++) {
    out.push(
      enc.encode(
        `event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":${JSON.stringify(WORDS[i % WORDS.length])}}}\n\n`,
      ),
    );
  }
  out.push(
    enc.encode(
      'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\nevent: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":22397,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":511,"server_tool_use":{"web_search_requests":1}}}\n\nevent: message_stop\ndata: {"type":"message_stop"}\n\n',
    ),
  );
  return out;
}

function perplexity(events: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < events; i++) {
    out.push(
      enc.encode(
        `data: {"id":"0f5c","model":"sonar","created":1761091200,"usage":{"prompt_tokens":14,"completion_tokens":${i + 1},"total_tokens":${i + 15},"search_context_size":"low"},"citations":["https://fr.wikipedia.org/wiki/Z%C3%BCrich"],"object":"chat.completion.chunk","choices":[{"index":0,"finish_reason":null,"message":{"role":"assistant","content":""},"delta":{"role":"assistant","content":${JSON.stringify(WORDS[i % WORDS.length])}}}]}\n\n`,
      ),
    );
  }
  return out;
}

function bytesOf(chunks: Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

function time(label: string, chunks: Uint8Array[], fn: (chunks: Uint8Array[]) => unknown, ms = 1500): number {
  const size = bytesOf(chunks);
  for (let i = 0; i < 200; i++) fn(chunks); // warm up
  let runs = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 20; i++) fn(chunks);
    runs += 20;
    now = performance.now();
  }
  const perStreamUs = ((now - start) * 1000) / runs;
  const perMbMs = (perStreamUs / 1000) * ((1024 * 1024) / size);
  console.log(
    `${label.padEnd(44)} ${String(chunks.length).padStart(5)} chunks ${String(size).padStart(7)} B   ${perStreamUs.toFixed(2).padStart(8)} µs/stream   ${perMbMs.toFixed(3).padStart(7)} ms/MB`,
  );
  return perMbMs;
}

let sink = 0;
const baseline = (chunks: Uint8Array[]) => {
  for (const c of chunks) sink += c.byteLength;
};
const naive = (chunks: Uint8Array[]) => {
  // What a straightforward meter does: decode everything, parse every data line.
  const dec = new TextDecoder();
  let carry = "";
  for (const c of chunks) {
    const text = carry + dec.decode(c, { stream: true });
    const lines = text.split("\n");
    carry = lines.pop() ?? "";
    for (const l of lines) {
      if (!l.startsWith("data: {")) continue;
      const ev = JSON.parse(l.slice(6));
      if (ev.usage) sink += 1;
    }
  }
};
const meterFor = (format: "openai" | "anthropic", path: string, provider: string) => (chunks: Uint8Array[]) => {
  const m = createStreamMeter({ format, path, quirks: BUILTIN_PROVIDERS[provider]!.quirks });
  for (const c of chunks) m.push(c);
  const r = m.finish();
  if (!r.usage) throw new Error("no usage");
};
const stripper = (chunks: Uint8Array[]) => {
  const s = createUsageChunkStripperCore();
  for (const c of chunks) sink += s.push(c).length;
  s.flush();
};

for (const events of [50, 4000]) {
  console.log(`\n— ${events} content events, one event per network chunk —`);
  const chat = openaiChat(events);
  time("baseline: iterate chunks", chat, baseline);
  time("naive: decode + JSON.parse every event", chat, naive);
  time("meter: OpenAI chat (include_usage)", chat, meterFor("openai", "chat/completions", "openai"));
  time("stripper: OpenAI chat", chat, stripper);
  const anth = anthropic(events);
  time("naive: Anthropic", anth, naive);
  time("meter: Anthropic messages", anth, meterFor("anthropic", "v1/messages", "anthropic"));
  const pplx = perplexity(events);
  time("naive: Perplexity (usage on every chunk)", pplx, naive);
  time("meter: Perplexity (usage on every chunk)", pplx, meterFor("openai", "chat/completions", "perplexity"));
}
// Whole stream in 16 KiB network chunks (events cut anywhere).
const whole = openaiChat(4000);
const all = new Uint8Array(bytesOf(whole));
let at = 0;
for (const c of whole) {
  all.set(c, at);
  at += c.length;
}
const big: Uint8Array[] = [];
for (let i = 0; i < all.length; i += 16384) big.push(all.subarray(i, i + 16384));
console.log("\n— the 4000-event OpenAI stream in 16 KiB chunks —");
time("baseline: iterate chunks", big, baseline);
time("meter: OpenAI chat", big, meterFor("openai", "chat/completions", "openai"));
time("stripper: OpenAI chat", big, stripper);
if (sink === -1) console.log(sink);
