/**
 * Token estimates, both sides, without a tokenizer on the hot path.
 *
 * INPUT (before the call, for budget reservations) must not under-estimate ordinary text:
 *   every BPE tokenizer in use (OpenAI, Anthropic, Llama, Mistral/Gemini SentencePiece with byte
 *   fallback) emits tokens of at least one byte, so a text of B UTF-8 bytes has at most B tokens.
 *   We count the UTF-8 bytes of what the provider tokenizes and nothing else:
 *     - message text (content strings and text parts, names, tool-call arguments and results),
 *       system prompts and instructions — their values only: the keys and JSON punctuation around
 *       them are the chat template, covered by MESSAGE_OVERHEAD per message (role/template tokens);
 *     - tool and response-format schemas whole, keys included (they are rendered into the prompt),
 *       plus TOOLS_OVERHEAD once when tools are declared (Anthropic's tool-use system prompt is a
 *       few hundred tokens);
 *     - never the request's parameters (temperature, max_tokens, stop, …: not in the prompt);
 *   plus BASE_OVERHEAD. Cost: one walk of the parsed body with a charCodeAt loop over strings; no
 *   tokenizer, no allocation. For English it is ~4–5× the real count. When that matters (the call
 *   would wait for or be refused by a hard budget), the proxy asks the provider for the exact
 *   count instead (src/wire/count.ts).
 *   Media are not text: their base64 is NOT counted; each gets a fixed allowance instead:
 *     image (image_url, input_image, Anthropic image)    IMAGE_TOKENS (6,000; gpt-4o-mini: 36,835 —
 *                                                        its images bill 2,833 + 5,667 per tile, 6 tiles max)
 *     audio (input_audio)                                base64 chars / 100 + 100 (≥ 25 tokens/s of audio
 *                                                        for any codec at ≥ 8 kB/s)
 *     file / document / input_file with inline data      decoded bytes + 2,000 (a heuristic, not a bound:
 *                                                        PDF pages are rendered as images too)
 *     file by id or URL                                  FILE_REF_TOKENS (32,000) and inputBounded = false
 *   Token arrays (legacy completions `prompt`, embeddings `input` as integers) count 1 per integer.
 *
 * OUTPUT (after a cut-off stream, no usage reported): estimateOutputTokens(text) below, a
 * character-class count calibrated against gpt-tokenizer's o200k_base and cl100k_base so that it
 * over-estimates ordinary prose, code and CJK modestly (see estimate.test.ts). gpt-tokenizer is
 * deliberately NOT bundled: o200k_base adds 2.76 MB minified (1.07 MB gzip) and ~90 ms of module
 * evaluation per isolate start, cl100k_base 0.99 MB (0.44 MB gzip) and ~50 ms — to serve a rare
 * fallback whose tokenizer is wrong for most providers anyway (Claude, Gemini, Llama differ).
 */

export const BASE_OVERHEAD = 16;
export const MESSAGE_OVERHEAD = 8;
export const TOOLS_OVERHEAD = 1024;
export const IMAGE_TOKENS = 6_000;
export const IMAGE_TOKENS_GPT4O_MINI = 36_835;
export const FILE_REF_TOKENS = 32_000;

/** UTF-8 byte length of a JS string, without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 1; // a surrogate pair: 2 units → 4 bytes
      i++;
      n += 1;
    } else n += 2;
  }
  return n;
}

// Keys at the top of a request body whose values are rendered into the prompt as schemas (their
// keys count too). Any other top-level key's value counts by its strings only.
const SCHEMA_TOP = new Set(["tools", "functions", "response_format", "text", "tool_choice", "function_call"]);
// Keys at the top of a request body that carry no prompt text at all: parameters and metadata.
const SKIP_TOP = new Set([
  "model",
  "metadata",
  "user",
  "safety_identifier",
  "prompt_cache_key",
  "prediction",
  "stream",
  "stream_options",
  "service_tier",
  "store",
  "temperature",
  "top_p",
  "top_k",
  "n",
  "best_of",
  "seed",
  "stop",
  "stop_sequences",
  "max_tokens",
  "max_completion_tokens",
  "max_output_tokens",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "logprobs",
  "top_logprobs",
  "parallel_tool_calls",
  "reasoning_effort",
  "reasoning",
  "thinking",
  "modalities",
  "background",
  "truncation",
  "include",
  "encoding_format",
  "dimensions",
  "echo",
  "suffix",
  "verbosity",
]);

interface Tally {
  tokens: number;
  bounded: boolean;
  imageTokens: number;
  /** Tokens of one string: its UTF-8 length for the upper bound, the text heuristic for a likely count. */
  text: (s: string) => number;
}

/**
 * The input upper bound of a request body (any format). `bounded` is false when the body points
 * at input it does not contain (files by reference, stored conversation state, server-side tools).
 */
export function estimateInputTokens(body: Record<string, unknown>): { tokens: number; bounded: boolean } {
  return tallyInput(body, utf8Length);
}

/**
 * A likely (not worst-case) input count, for a record whose usage the provider never reported (a
 * stream cut off before its usage): the same walk, text counted like streamed output. Only run then.
 */
export function likelyInputTokens(body: Record<string, unknown>): number {
  return tallyInput(body, estimateOutputTokens).tokens;
}

function tallyInput(body: Record<string, unknown>, text: (s: string) => number): { tokens: number; bounded: boolean } {
  const model = typeof body.model === "string" ? body.model : "";
  const t: Tally = {
    tokens: BASE_OVERHEAD,
    bounded: true,
    imageTokens: /gpt-4o-mini/.test(model) ? IMAGE_TOKENS_GPT4O_MINI : IMAGE_TOKENS,
    text,
  };
  for (const key of Object.keys(body)) {
    if (SKIP_TOP.has(key)) continue;
    const v = body[key];
    if (key === "previous_response_id" || key === "conversation") {
      if (v !== null && v !== undefined && v !== false) t.bounded = false;
      continue;
    }
    if ((key === "tools" || key === "functions") && Array.isArray(v) && v.length > 0) {
      t.tokens += TOOLS_OVERHEAD;
      for (const tool of v) if (isServerTool(tool)) t.bounded = false;
    }
    if (key === "web_search_options") t.bounded = false;
    if ((key === "prompt" || key === "input") && Array.isArray(v) && v.length > 0 && typeof v[0] === "number") {
      t.tokens += v.length; // one token array
      continue;
    }
    walk(v, t, key === "prompt" || key === "input", SCHEMA_TOP.has(key));
  }
  return { tokens: t.tokens, bounded: t.bounded };
}

// Keys inside messages and content parts whose values are template or structure, not text.
const STRUCTURE = new Set(["role", "type", "cache_control", "detail"]);
// Nested keys whose values are rendered whole, keys included: schemas, and a tool call's arguments
// given as an object (Anthropic tool_use `input`).
const SCHEMA_KEYS = new Set(["parameters", "input_schema", "input", "arguments"]);

/** `schema`: inside a tool or format schema, where keys are rendered too. */
function walk(v: unknown, t: Tally, tokenArrays: boolean, schema: boolean): void {
  if (typeof v === "string") {
    t.tokens += t.text(v);
    return;
  }
  if (typeof v === "number" || typeof v === "boolean") {
    t.tokens += schema ? 1 : t.text(String(v));
    return;
  }
  if (Array.isArray(v)) {
    if (tokenArrays && v.length > 0 && typeof v[0] === "number") {
      t.tokens += v.length;
      return;
    }
    for (const item of v) walk(item, t, tokenArrays && Array.isArray(item), schema);
    return;
  }
  if (typeof v !== "object" || v === null) return;
  const o = v as Record<string, unknown>;
  if (!schema && media(o, t)) return;
  if (typeof o.role === "string" || o.type === "message" || o.type === "function_call_output")
    t.tokens += MESSAGE_OVERHEAD;
  for (const key of Object.keys(o)) {
    if (schema) {
      t.tokens += t.text(key);
    } else if (STRUCTURE.has(key)) {
      continue;
    }
    walk(o[key], t, false, schema || SCHEMA_KEYS.has(key));
  }
}

/** Fixed allowances for a content part that is not text. true = handled, do not walk it. */
function media(o: Record<string, unknown>, t: Tally): boolean {
  const type = typeof o.type === "string" ? o.type : "";
  // OpenAI chat image part, Responses input_image, Anthropic image block.
  if (type === "image_url" || type === "input_image" || type === "image" || (type === "" && "image_url" in o)) {
    t.tokens += t.imageTokens;
    return true;
  }
  if (type === "input_audio" || (type === "" && "input_audio" in o)) {
    const audio = o.input_audio as Record<string, unknown> | undefined;
    const data = typeof audio?.data === "string" ? audio.data : typeof o.data === "string" ? o.data : "";
    t.tokens += Math.ceil(data.length / 100) + 100;
    return true;
  }
  if (type === "file" || type === "input_file" || type === "document") {
    const inner = (o.file ?? o.source ?? o) as Record<string, unknown>;
    // Anthropic document with a plain-text or content source: that is text, walk it.
    if (type === "document" && (inner.type === "text" || inner.type === "content")) return false;
    const data =
      typeof inner.file_data === "string" ? inner.file_data : typeof inner.data === "string" ? inner.data : null;
    if (data !== null) {
      const comma = data.startsWith("data:") ? data.indexOf(",") + 1 : 0;
      t.tokens += Math.ceil(((data.length - comma) * 3) / 4) + 2_000;
    } else {
      t.tokens += FILE_REF_TOKENS;
      t.bounded = false;
    }
    return true;
  }
  return false;
}

// Tools run by the provider whose results become input: Anthropic web_search_*/web_fetch_*/
// code_execution_*, OpenAI Responses web_search*/file_search/code_interpreter/mcp/…
function isServerTool(tool: unknown): boolean {
  if (typeof tool !== "object" || tool === null) return false;
  const type = (tool as Record<string, unknown>).type;
  return typeof type === "string" && type !== "function" && type !== "custom";
}

/**
 * Output tokens for text the provider did not count for us (a stream cut off before its usage):
 * a character-class estimate. ASCII word runs cost ceil(len / 6), digit runs ceil(len / 3) (o200k
 * splits numbers in groups of 3), punctuation runs ceil(len / 2), whitespace 1 per run except a
 * single space before a letter or punctuation, letters beyond ASCII below U+3000 (Latin, Cyrillic, Greek, …)
 * ceil(len / 2) per run, CJK and other BMP characters 1 each, astral characters (emoji) 2 each.
 * Measured (estimate.test.ts): 1.06–1.2× o200k_base on English prose, Markdown, JSON and code,
 * ≥ 1.0× o200k on every sample (CJK, Cyrillic, French, emoji, numbers); 0.73–0.9× cl100k on CJK/emoji.
 */
export function estimateOutputTokens(text: string): number {
  let tokens = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isAsciiLetter(c)) {
      const start = i;
      while (i < n && isAsciiLetter(text.charCodeAt(i))) i++;
      tokens += Math.ceil((i - start) / 6);
    } else if (c >= 48 && c <= 57) {
      const start = i;
      while (i < n && isDigit(text.charCodeAt(i))) i++;
      tokens += Math.ceil((i - start) / 3);
    } else if (c === 32 || c === 9 || c === 10 || c === 13) {
      const start = i;
      while (i < n && isWhite(text.charCodeAt(i))) i++;
      // One space is glued to the next word; a longer run (indentation, blank lines), or a space
      // before a digit (digits never merge with it), is a token.
      if (i - start > 1 || c !== 32 || i === n || isDigit(text.charCodeAt(i))) tokens += 1;
    } else if (c < 0x80) {
      // Punctuation: runs merge in pairs ("()", ");", "**").
      const start = i;
      while (i < n && isPunct(text.charCodeAt(i))) i++;
      tokens += Math.ceil((i - start) / 2);
    } else if (c >= 0xd800 && c <= 0xdbff) {
      tokens += 2;
      i += 2;
    } else if (c < 0x3000) {
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d < 0x80 || d >= 0x3000 || (d >= 0xd800 && d <= 0xdfff)) break;
        i++;
      }
      tokens += Math.ceil((i - start) / 2);
    } else {
      tokens += 1;
      i++;
    }
  }
  return tokens;
}

function isAsciiLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isPunct(c: number): boolean {
  return c > 32 && c < 0x80 && !isAsciiLetter(c) && !isDigit(c) && c !== 127;
}
function isWhite(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** A count given as a number or as a function evaluated only when it is needed. */
export function resolveCount(x: number | (() => number) | undefined): number {
  return typeof x === "function" ? x() : (x ?? 0);
}
