import { describe, expect, it } from "vitest";
import { GatewayError } from "../lib/errors";
import { applyPolicy, outputLimitFields } from "./policy";
import type { RouteSetting } from "./types";

const route = (r: Partial<RouteSetting>): RouteSetting => ({
  name: "r",
  rev: "1",
  targets: [{ provider: "openai", model: "*" }],
  ...r,
});

describe("applyPolicy", () => {
  it("asks the body's model, else the default; refuses a model outside allowedModels with 403", () => {
    const r = route({ allowedModels: ["gpt-4o-mini"], defaultModel: "gpt-4o-mini" });
    expect(applyPolicy([r], { model: "gpt-4o-mini" }).askedModel).toBe("gpt-4o-mini");
    expect(applyPolicy([r], {}).askedModel).toBe("gpt-4o-mini");
    const err = (() => {
      try {
        applyPolicy([r], { model: "gpt-4o" });
      } catch (e) {
        return e as GatewayError;
      }
    })();
    expect(err).toBeInstanceOf(GatewayError);
    expect(err?.status).toBe(403);
  });

  it("a key's own route still limits a call that names another route; caps take the tightest", () => {
    const named = route({ name: "named", maxTokensCap: 500 });
    const keys = route({ name: "key", allowedModels: ["a"], maxTokensCap: 100 });
    expect(() => applyPolicy([named, keys], { model: "b" })).toThrow(/not allowed by route "key"/);
    expect(applyPolicy([named, keys], { model: "a" }).maxTokensCap).toBe(100);
  });

  it("a '*' target with no model asked is a 400", () => {
    expect(() => applyPolicy([route({})], {})).toThrow(/names no model/);
  });
});

describe("outputLimitFields", () => {
  it("lowers what is above the cap, leaves what is within it, adds the field a body lacks", () => {
    expect(outputLimitFields("openai", "chat", "openai", { max_tokens: 1000 }, 50)).toEqual({ max_tokens: 50 });
    expect(outputLimitFields("openai", "chat", "openai", { max_completion_tokens: 10 }, 50)).toEqual({});
    expect(outputLimitFields("openai", "chat", "openai", {}, 50)).toEqual({ max_completion_tokens: 50 });
    expect(outputLimitFields("openai", "chat", "groq", {}, 50)).toEqual({ max_tokens: 50 });
    expect(outputLimitFields("openai", "chat", "openai", { max_tokens: 80, max_completion_tokens: 90 }, 50)).toEqual({
      max_tokens: 50,
      max_completion_tokens: 50,
    });
    expect(outputLimitFields("openai", "responses", "openai", {}, 50)).toEqual({ max_output_tokens: 50 });
    expect(outputLimitFields("openai", "completions", "openai", {}, 50)).toEqual({});
    expect(outputLimitFields("openai", "completions", "openai", {}, 8)).toEqual({ max_tokens: 8 });
    expect(outputLimitFields("openai", "embeddings", "openai", {}, 8)).toEqual({});
    expect(outputLimitFields("anthropic", "messages", "anthropic", { max_tokens: 4096 }, 256)).toEqual({
      max_tokens: 256,
    });
  });
});
