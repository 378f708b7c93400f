/**
 * A route's model policy, applied to the client's body before anything is held or forwarded:
 *   - the model asked: the body's, else the route's defaultModel;
 *   - allowedModels: a model outside the list is refused (403 in the provider's shape); with the
 *     key's own default route also in force (select.ts), the model must be allowed by both;
 *   - maxTokensCap: the output limit of the forwarded body is lowered to the cap, or added when
 *     the body sets none — so the budget hold (which reads the same field) shrinks with it.
 */
import { GatewayError } from "../lib/errors";
import type { WireFormat } from "../providers";
import type { Endpoint } from "../wire";
import { ASKED_MODEL, type RouteSetting } from "./types";

export interface Policy {
  /** The model the call asks for (null: the body names none and the route has no default). */
  askedModel: string | null;
  /** The tightest cap of the routes in force; null: none. */
  maxTokensCap: number | null;
}

export function applyPolicy(routes: readonly RouteSetting[], body: Record<string, unknown>): Policy {
  const route = routes[0]!;
  const asked = typeof body.model === "string" && body.model !== "" ? body.model : (route.defaultModel ?? null);
  for (const r of routes) {
    if (!r.allowedModels || asked === null) continue;
    if (!r.allowedModels.includes(asked)) {
      throw new GatewayError(
        "forbidden",
        `Model "${asked}" is not allowed by route "${r.name}" (allowed: ${r.allowedModels.join(", ")}).`,
        {},
        undefined,
        { param: "model" },
      );
    }
  }
  if (asked === null && route.targets.some((t) => t.model === ASKED_MODEL)) {
    throw new GatewayError(
      "invalid_request",
      `The body names no model and route "${route.name}" has no defaultModel for its "*" target.`,
    );
  }
  let cap: number | null = null;
  for (const r of routes)
    if (r.maxTokensCap !== undefined) cap = cap === null ? r.maxTokensCap : Math.min(cap, r.maxTokensCap);
  return { askedModel: asked, maxTokensCap: cap };
}

const isLimit = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0;

/**
 * The output-limit fields to set so the forwarded body asks for at most `cap` tokens per answer;
 * empty when the body is within it already. Which field, per wire format and endpoint: OpenAI chat
 * max_completion_tokens and/or max_tokens as the body has them (a missing one is added as
 * max_completion_tokens for OpenAI itself, which refuses max_tokens on reasoning models, and as
 * max_tokens for the compatible providers, not all of which know the newer name); legacy
 * completions max_tokens (absent means 16, so it is only added below that); Responses
 * max_output_tokens; Anthropic max_tokens. Embeddings have no output.
 */
export function outputLimitFields(
  format: WireFormat,
  endpoint: Endpoint,
  providerId: string,
  body: Record<string, unknown>,
  cap: number,
): Record<string, number> {
  const lower = (field: string, addWhenAbsent: boolean): Record<string, number> => {
    const v = body[field];
    if (isLimit(v) ? v > cap : v !== undefined || addWhenAbsent) return { [field]: cap };
    return {};
  };
  if (format === "anthropic") return endpoint === "messages" ? lower("max_tokens", true) : {};
  switch (endpoint) {
    case "chat": {
      const has = (f: string) => body[f] !== undefined && body[f] !== null;
      if (!has("max_completion_tokens") && !has("max_tokens"))
        return { [providerId === "openai" ? "max_completion_tokens" : "max_tokens"]: cap };
      return {
        ...(has("max_completion_tokens") ? lower("max_completion_tokens", false) : {}),
        ...(has("max_tokens") ? lower("max_tokens", false) : {}),
      };
    }
    case "completions":
      return lower("max_tokens", cap < 16);
    case "responses":
      return lower("max_output_tokens", true);
    default:
      return {};
  }
}
