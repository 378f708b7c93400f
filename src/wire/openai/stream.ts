/**
 * Usage from an OpenAI-format SSE stream (chat, legacy completions, Responses), read incrementally.
 *
 * Cost model: the scanner finds lines with String.indexOf; per event the meter does one or two
 * indexOf calls and JSON.parses ONLY an event that carries a non-null usage object — the usage chunk
 * (OpenAI [S2]), the finish_reason chunk of DeepSeek/Mistral/Groq/Together/OpenRouter/Fireworks,
 * Responses' terminal event — i.e. one or two events per stream. Providers that repeat cumulative
 * usage on every chunk (Gemini-compat [S13], Perplexity [S25]) get every chunk parsed: the price of
 * their format. Other events only have their delta text counted (for estimates if the usage never
 * comes), read with indexOf, not parsed.
 *
 * Rules (docs/wire-formats.md §1): every event is checked for `usage`, `x_groq.usage` and, in Responses,
 * `response.usage` (§1.2) — never by choices.length; successive usage objects are overlaid field by
 * field, a null never replacing a number (§1.1), which also de-duplicates Groq's two copies (§1.3)
 * and keeps the last of cumulative counts. Mapping to Usage: ./usage.ts.
 */

import type { ProviderQuirks } from "../../providers";
import { emptyUsage } from "../../usage";
import { resolveCount } from "../estimate";
import { type Json, obj, overlay, str, stringField } from "../shared";
import { hasObjectField, SseScanner, TextCollector } from "../sse";
import type { Endpoint, StreamMeter, StreamMeterResult } from "../types";
import { openaiUsage } from "./usage";

// Where generated text sits in a chunk: chat delta content (and DeepSeek's reasoning_content, which
// the same marker finds), OpenRouter's reasoning, tool-call arguments; legacy completions
// choices[].text; Responses *.delta.
const CHAT_TEXT = ['content":', 'reasoning":', 'arguments":'];
const COMPLETIONS_TEXT = ['text":'];
const RESPONSES_TEXT = ['delta":'];
const RESPONSES_TERMINAL = new Set(["response.completed", "response.incomplete", "response.failed"]);

export function createOpenAIStreamMeter(
  endpoint: Endpoint,
  quirks: ProviderQuirks,
  opts: { estimatedInputTokens?: number | (() => number) } = {},
): StreamMeter {
  const responses = endpoint === "responses";
  const text = new TextCollector(
    responses ? RESPONSES_TEXT : endpoint === "completions" ? COMPLETIONS_TEXT : CHAT_TEXT,
  );
  const warnings: string[] = [];
  let acc: Json | null = null;
  let output: unknown;
  let model: string | null = null; // from the first events, cheaply; the usage event's wins
  let modelTries = 0;
  let answeredModel: string | null = null;
  let serviceTier: string | null = null;
  let complete = false;

  const take = (usage: unknown) => {
    const u = obj(usage);
    if (u) acc = overlay(acc ?? {}, u);
  };

  const parse = (data: string): Json | null => {
    try {
      return obj(JSON.parse(data));
    } catch {
      warnings.push("an event with usage was not valid JSON");
      return null;
    }
  };

  const chatEvent = (data: string) => {
    if (data.charCodeAt(0) !== 123 /* { */) {
      if (data.trim() === "[DONE]") complete = true;
      return;
    }
    if (model === null && modelTries++ < 3) model = stringField(data, "model");
    if (!hasObjectField(data, "usage")) {
      text.scan(data);
      return;
    }
    const ev = parse(data);
    if (!ev) return;
    answeredModel = str(ev.model) ?? answeredModel;
    serviceTier = str(ev.service_tier) ?? serviceTier;
    take(ev.usage);
    take(obj(ev.x_groq)?.usage); // Groq without opt-in: usage only here (§9 [S21])
  };

  const responsesEvent = (name: string | null, data: string) => {
    const type = name ?? stringField(data, "type");
    if (model === null && modelTries++ < 3) model = stringField(data, "model");
    const terminal = type !== null && RESPONSES_TERMINAL.has(type);
    if (terminal) complete = true;
    if (type?.endsWith(".delta")) {
      text.scan(data);
      return;
    }
    if (!terminal && !hasObjectField(data, "usage")) return;
    const ev = parse(data);
    const r = obj(ev?.response);
    if (!r) return;
    answeredModel = str(r.model) ?? answeredModel;
    serviceTier = str(r.service_tier) ?? serviceTier;
    if (Array.isArray(r.output)) output = r.output;
    take(r.usage);
  };

  const scanner = new SseScanner(responses ? responsesEvent : (_name, data) => chatEvent(data));

  return {
    push: (chunk) => scanner.push(chunk),
    finish(): StreamMeterResult {
      scanner.end();
      const usage = acc ? openaiUsage(acc, quirks, warnings, output) : null;
      const outputText = usage ? "" : text.text();
      return {
        usage,
        model: answeredModel ?? model,
        complete,
        ...(serviceTier ? { serviceTier } : {}),
        outputTextChars: text.chars,
        outputText,
        estimatedUsage: usage
          ? null
          : {
              ...emptyUsage(),
              inputTokens: resolveCount(opts.estimatedInputTokens),
              outputTokens: text.estimateTokens(outputText),
            },
        warnings,
      };
    },
  };
}
