/**
 * Usage from an Anthropic Messages SSE stream (docs/wire-formats.md §5 [S6][S9]).
 *
 *   message_start  → `.message.usage`: input, cache counts and TTL split, a partial output_tokens
 *   message_delta  → `.usage`, CUMULATIVE; may now also carry input, cache counts, server_tool_use
 *                    (input grows with server tools: 2068 → 22397 observed), possibly several times
 *   message_stop   → the stream is complete
 * Final usage = message_start's usage overlaid with every delta's non-null fields in order (§1.1:
 * the last non-null value of each field wins, a null never overwrites a number). Only
 * message_start and message_delta are parsed (a handful per stream); content_block_delta events only
 * have their text counted for estimates. A stream cut before any message_delta has no final usage;
 * its estimate keeps message_start's reported input and cache counts (§1.5) and takes output as
 * max(message_start's output_tokens, the streamed text's estimate).
 */

import { emptyUsage } from "../../usage";
import { resolveCount } from "../estimate";
import { type Json, obj, overlay, str, stringField } from "../shared";
import { SseScanner, TextCollector } from "../sse";
import type { StreamMeter, StreamMeterResult } from "../types";
import { type AnthropicUsageOptions, anthropicUsage } from "./usage";

const TEXT = ['text":', 'thinking":', 'partial_json":'];

export function createAnthropicStreamMeter(
  opts: AnthropicUsageOptions & { estimatedInputTokens?: number | (() => number) } = {},
): StreamMeter {
  const text = new TextCollector(TEXT);
  const warnings: string[] = [];
  let acc: Json | null = null;
  let sawDelta = false;
  let model: string | null = null;
  let complete = false;

  const parse = (data: string): Json | null => {
    try {
      return obj(JSON.parse(data));
    } catch {
      warnings.push("a message_start/message_delta event was not valid JSON");
      return null;
    }
  };

  const scanner = new SseScanner((name, data) => {
    const type = name ?? stringField(data, "type");
    switch (type) {
      case "content_block_delta":
        text.scan(data);
        return;
      case "message_start": {
        const msg = obj(parse(data)?.message);
        if (!msg) return;
        model = str(msg.model) ?? model;
        const u = obj(msg.usage);
        if (u) acc = overlay(acc ?? {}, u);
        return;
      }
      case "message_delta": {
        const u = obj(parse(data)?.usage);
        if (!u) return;
        acc = overlay(acc ?? {}, u);
        sawDelta = true;
        return;
      }
      case "message_stop":
        complete = true;
        return;
      default:
        return;
    }
  });

  return {
    push: (chunk) => scanner.push(chunk),
    finish(): StreamMeterResult {
      scanner.end();
      const usage = acc && sawDelta ? anthropicUsage(acc, opts, warnings) : null;
      const serviceTier = acc ? str(acc.service_tier) : null;
      const outputText = usage ? "" : text.text();
      let estimatedUsage = null;
      if (!usage) {
        const streamed = text.estimateTokens(outputText);
        if (acc) {
          estimatedUsage = anthropicUsage(acc, opts, warnings);
          estimatedUsage.outputTokens = Math.max(estimatedUsage.outputTokens, streamed);
        } else {
          estimatedUsage = {
            ...emptyUsage(),
            inputTokens: resolveCount(opts.estimatedInputTokens),
            outputTokens: streamed,
          };
        }
      }
      return {
        usage,
        model,
        complete,
        ...(serviceTier ? { serviceTier } : {}),
        outputTextChars: text.chars,
        outputText,
        estimatedUsage,
        warnings,
      };
    },
  };
}
