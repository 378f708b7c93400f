/**
 * The exact input count, from the provider itself — asked only when the input bound matters (the
 * call would otherwise wait for, or be refused by, a hard budget), so the hot path and isolate
 * start pay nothing for it (a bundled BPE tokenizer would cost ~100 ms of parse per isolate start:
 * o200k_base is 2.7 MB of JavaScript).
 *
 *   anthropic  POST /v1/messages/count_tokens  {model, messages, system, tools, tool_choice, thinking}
 *              → {input_tokens}: Anthropic's own count of the same request (images, tools included).
 *   openai     POST /responses/input_tokens    {model, input, instructions, tools, text}
 *              → {input_tokens}: a Responses body as is; a Chat Completions body mapped to Responses
 *              input items (text and image parts, function tools, a JSON schema format). Anything
 *              the mapping does not cover exactly (tool calls and results, audio, files) is not
 *              counted: the call keeps the byte bound.
 *
 * Only the providers themselves serve these (not the OpenAI-compatible ones). The count gets a
 * margin (MESSAGE_MARGIN per message plus BASE_MARGIN) for the chat template tokens a Responses
 * count of a chat request may lay out differently.
 */
import type { WireFormat } from "../providers";
import type { RequestFacts } from "./types";

export const BASE_MARGIN = 16;
export const MESSAGE_MARGIN = 4;

export interface TokenCountRequest {
  /** Path under the provider's base URL. */
  path: string;
  body: string;
  /** The upper bound to reserve, from the provider's answer; null if the answer is not a count. */
  bound(reply: unknown): number | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

function counted(margin: number) {
  return (reply: unknown): number | null => {
    const n = isObj(reply) ? reply.input_tokens : undefined;
    return typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n + margin : null;
  };
}

const ANTHROPIC_FIELDS = ["model", "messages", "system", "tools", "tool_choice", "thinking"] as const;
const RESPONSES_FIELDS = ["model", "input", "instructions", "tools", "tool_choice", "text", "reasoning"] as const;

function pick(body: Obj, fields: readonly string[]): Obj {
  const out: Obj = {};
  for (const f of fields) if (body[f] !== undefined) out[f] = body[f];
  return out;
}

/** One chat message as a Responses input item; null where the mapping would not be exact. */
function chatMessageItem(m: unknown): { item: Obj; extra: number } | null {
  if (!isObj(m) || typeof m.role !== "string") return null;
  if (!["system", "developer", "user", "assistant"].includes(m.role)) return null;
  if (m.tool_calls !== undefined || m.function_call !== undefined || m.audio !== undefined) return null;
  // A name is a few tokens of template: counted in the margin by its length.
  const extra = typeof m.name === "string" ? m.name.length : 0;
  if (typeof m.content === "string") return { item: { role: m.role, content: m.content }, extra };
  if (!Array.isArray(m.content)) return null;
  const parts: Obj[] = [];
  for (const p of m.content) {
    if (!isObj(p)) return null;
    if (p.type === "text" && typeof p.text === "string") {
      parts.push({ type: m.role === "assistant" ? "output_text" : "input_text", text: p.text });
    } else if (
      p.type === "image_url" &&
      isObj(p.image_url) &&
      typeof p.image_url.url === "string" &&
      m.role === "user"
    ) {
      parts.push({ type: "input_image", image_url: p.image_url.url, detail: p.image_url.detail ?? "auto" });
    } else {
      return null;
    }
  }
  return { item: { role: m.role, content: parts }, extra };
}

function chatToolToResponses(t: unknown): Obj | null {
  if (!isObj(t) || t.type !== "function" || !isObj(t.function) || typeof t.function.name !== "string") return null;
  return { type: "function", ...t.function };
}

function chatAsResponses(body: Obj): { body: Obj; messages: number; extra: number } | null {
  if (!Array.isArray(body.messages)) return null;
  const input: Obj[] = [];
  let extra = 0;
  for (const m of body.messages) {
    const mapped = chatMessageItem(m);
    if (!mapped) return null;
    input.push(mapped.item);
    extra += mapped.extra;
  }
  const out: Obj = { model: body.model, input };
  if (Array.isArray(body.tools) && body.tools.length > 0) {
    const tools = body.tools.map(chatToolToResponses);
    if (tools.some((t) => t === null)) return null;
    out.tools = tools;
  }
  const rf = body.response_format;
  if (isObj(rf) && rf.type === "json_schema" && isObj(rf.json_schema)) {
    out.text = { format: { type: "json_schema", ...rf.json_schema } };
  } else if (rf !== undefined && !(isObj(rf) && (rf.type === "text" || rf.type === "json_object"))) {
    return null;
  }
  return { body: out, messages: input.length, extra };
}

/** Whether the provider has a count endpoint for this call at all (cheap: no body is built). */
export function canCountTokens(format: WireFormat, providerId: string, facts: RequestFacts): boolean {
  if (facts.inputBounded === false || !facts.model) return false;
  if (format === "anthropic") return providerId === "anthropic" && facts.endpoint === "messages";
  return providerId === "openai" && (facts.endpoint === "chat" || facts.endpoint === "responses");
}

/** The provider's own count request for this call, or null when it has none that is exact. */
export function tokenCountRequest(
  format: WireFormat,
  providerId: string,
  facts: RequestFacts,
  body: Obj,
): TokenCountRequest | null {
  if (!canCountTokens(format, providerId, facts)) return null;
  if (format === "anthropic") {
    const messages = Array.isArray(body.messages) ? body.messages.length : 0;
    return {
      path: "v1/messages/count_tokens",
      body: JSON.stringify(pick(body, ANTHROPIC_FIELDS)),
      bound: counted(BASE_MARGIN + MESSAGE_MARGIN * messages),
    };
  }
  {
    if (facts.endpoint === "responses") {
      const items = Array.isArray(body.input) ? body.input.length : 1;
      return {
        path: "responses/input_tokens",
        body: JSON.stringify(pick(body, RESPONSES_FIELDS)),
        bound: counted(BASE_MARGIN + MESSAGE_MARGIN * items),
      };
    }
    const mapped = chatAsResponses(body);
    if (!mapped) return null;
    return {
      path: "responses/input_tokens",
      body: JSON.stringify(mapped.body),
      bound: counted(BASE_MARGIN + MESSAGE_MARGIN * mapped.messages + mapped.extra),
    };
  }
}
