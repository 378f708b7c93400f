/**
 * Deterministic content and token counts for the provider double.
 *
 * Everything here is a pure function of the request, so a test can predict what the double
 * answers: `promptTokens*` gives the prompt count, `generateOutput` the text and its tokens.
 */

/** Visible output tokens when neither `x-double-output-tokens` nor a max-tokens field says otherwise. */
export const DEFAULT_OUTPUT_TOKENS = 16;

/** The first tokens of every answer: multi-byte UTF-8 (2, 3 and 4 bytes) from the very start. */
const OPENING = ["Héllo", " 世界", " 🎉"];

/** The rest of an answer is drawn from this list by a PRNG seeded with the request. */
const VOCABULARY = [
  " the",
  " gateway",
  " meters",
  " every",
  " token",
  " naïve",
  " café",
  " Ωmega",
  " 日本語",
  " ✓",
  " ok",
  " budget",
  " 🚀",
  " stream",
  " ünïcode",
  " €",
  " done",
  ",",
  ".",
  " 𝄞",
];

/** Tokens in a piece of text: one per 4 UTF-16 code units, rounded up (`ceil(text.length / 4)`). */
export function textTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Tokens in a message `content` (string or array of parts; each image part counts 85). */
export function contentTokens(content: unknown): number {
  if (typeof content === "string") return textTokens(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (typeof part === "string") n += textTokens(part);
    else if (part && typeof part === "object") {
      const p = part as Record<string, unknown>;
      if (typeof p.text === "string") n += textTokens(p.text);
      else if (p.type === "image" || p.type === "image_url" || p.type === "input_image") n += 85;
      else if (typeof p.content === "string" || Array.isArray(p.content)) n += contentTokens(p.content);
    }
  }
  return n;
}

function toolsTokens(body: Record<string, unknown>): number {
  return Array.isArray(body.tools) && body.tools.length > 0 ? textTokens(JSON.stringify(body.tools)) : 0;
}

/**
 * Chat Completions prompt tokens: 3 + Σ over messages (3 + content tokens) + tools.
 * `ceil(JSON.stringify(tools).length / 4)` when tools are given.
 */
export function promptTokensChat(body: Record<string, unknown>): number {
  let n = 3;
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) n += 3 + contentTokens((m as Record<string, unknown> | null)?.content);
  }
  return n + toolsTokens(body);
}

/** Anthropic Messages input tokens: the chat rule, with `system` counted as one more message. */
export function promptTokensAnthropic(body: Record<string, unknown>): number {
  let n = promptTokensChat(body);
  if (body.system !== undefined) n += 3 + contentTokens(body.system);
  return n;
}

/** Responses input tokens: 3 + input (string: 3 + tokens; items: as chat messages) + instructions. */
export function promptTokensResponses(body: Record<string, unknown>): number {
  let n = 3;
  if (typeof body.input === "string") n += 3 + textTokens(body.input);
  else if (Array.isArray(body.input)) {
    for (const item of body.input) n += 3 + contentTokens((item as Record<string, unknown> | null)?.content);
  }
  if (typeof body.instructions === "string") n += 3 + textTokens(body.instructions);
  return n + toolsTokens(body);
}

/** Legacy Completions / Embeddings: tokens of each string input; an array of token ids counts its length. */
export function promptTokensPlain(input: unknown): number {
  if (typeof input === "string") return textTokens(input);
  if (!Array.isArray(input)) return 0;
  let n = 0;
  for (const x of input) {
    if (typeof x === "string") n += textTokens(x);
    else if (typeof x === "number") n += 1;
    else if (Array.isArray(x)) n += x.length;
  }
  return n;
}

/** FNV-1a over the first 512 code units plus the length: cheap, and stable for a given body. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  const n = Math.min(text.length, 512);
  for (let i = 0; i < n; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= text.length;
  return Math.imul(h, 0x01000193) >>> 0;
}

/** mulberry32: a small seeded PRNG, returns floats in [0, 1). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The text the answer is seeded from: the conversation only (messages, input, prompt, system,
 * instructions), so the same question gets the same answer streamed or not, from any style.
 */
export function seedText(body: Record<string, unknown>): string {
  return JSON.stringify([body.messages, body.input, body.prompt, body.system, body.instructions]);
}

export interface Output {
  /** The answer's tokens, in order; their concatenation is the answer. */
  tokens: string[];
  text: string;
  /** True when the cap (max_tokens …) cut the answer short. */
  truncated: boolean;
}

/**
 * The answer to a request: `wanted` tokens (default 16) capped at `maxTokens`; it starts with
 * "Héllo 世界 🎉" and continues with words picked by a PRNG seeded with `seed` (see `seedText`).
 */
export function generateOutput(seed: string, wanted: number | undefined, maxTokens: number | undefined): Output {
  const target = wanted ?? DEFAULT_OUTPUT_TOKENS;
  const count = maxTokens !== undefined && maxTokens >= 0 ? Math.min(target, maxTokens) : target;
  const rand = prng(hashText(seed));
  const tokens: string[] = [];
  for (let i = 0; i < count; i++) {
    tokens.push(i < OPENING.length ? OPENING[i]! : VOCABULARY[Math.floor(rand() * VOCABULARY.length)]!);
  }
  return { tokens, text: tokens.join(""), truncated: count < target };
}

export interface Piece {
  text: string;
  /** Tokens in this piece. */
  count: number;
}

/** Split `tokens` into `chunks` consecutive pieces, as evenly as possible (default: one token each). */
export function groupTokens(tokens: string[], chunks: number | undefined): Piece[] {
  if (chunks === undefined || chunks >= tokens.length) return tokens.map((text) => ({ text, count: 1 }));
  const n = Math.max(1, chunks);
  const out: Piece[] = [];
  for (let i = 0; i < n; i++) {
    const from = Math.floor((i * tokens.length) / n);
    const to = Math.floor(((i + 1) * tokens.length) / n);
    out.push({ text: tokens.slice(from, to).join(""), count: to - from });
  }
  return out;
}

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
let idCounter = 0;
const idSalt = Math.floor(Math.random() * 0xffffffff);

/** A unique id in a provider's style: `prefix` + `length` alphanumerics (a mixed salt, then a counter). */
export function newId(prefix: string, length = 24): string {
  let n = ++idCounter;
  let x = (idSalt ^ Math.imul(n, 2654435761)) >>> 0;
  let s = prefix;
  for (let i = 0; i < length - 6; i++) {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    s += ALNUM[x % 62];
  }
  let tail = "";
  for (let i = 0; i < 6; i++) {
    tail = ALNUM[n % 62] + tail;
    n = Math.floor(n / 62);
  }
  return s + tail;
}

/** A padding string of 2–17 letters (OpenAI's `obfuscation` field; its length varies per event). */
export function obfuscation(seq: number): string {
  return ALNUM.slice(seq % 40, (seq % 40) + 2 + ((seq * 7) % 16));
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
