import { describe, expect, it } from "vitest";
import { BUILTIN_PROVIDER_IDS, BUILTIN_PROVIDERS, resolveProvider, upstreamEnvName } from "./providers";

describe("provider registry", () => {
  it("has exactly the built-ins, with versioned base URLs", () => {
    expect(Object.keys(BUILTIN_PROVIDERS).sort()).toEqual([...BUILTIN_PROVIDER_IDS].sort());
    expect(Object.fromEntries(Object.entries(BUILTIN_PROVIDERS).map(([id, p]) => [id, p.baseUrl]))).toEqual({
      openai: "https://api.openai.com/v1",
      anthropic: "https://api.anthropic.com",
      deepseek: "https://api.deepseek.com",
      gemini: "https://generativelanguage.googleapis.com/v1beta/openai",
      mistral: "https://api.mistral.ai/v1",
      groq: "https://api.groq.com/openai/v1",
      together: "https://api.together.xyz/v1",
      perplexity: "https://api.perplexity.ai",
      xai: "https://api.x.ai/v1",
      fireworks: "https://api.fireworks.ai/inference/v1",
      openrouter: "https://openrouter.ai/api/v1",
    });
    expect(BUILTIN_PROVIDERS.anthropic).toMatchObject({ authStyle: "x-api-key", format: "anthropic" });
    for (const id of BUILTIN_PROVIDER_IDS.filter((i) => i !== "anthropic")) {
      expect(BUILTIN_PROVIDERS[id]).toMatchObject({ authStyle: "bearer", format: "openai" });
    }
    expect(BUILTIN_PROVIDERS.gemini!.quirks.outputFromTotal).toBe(true);
    expect(BUILTIN_PROVIDERS.xai!.quirks.outputFromTotal).toBe(true);
    expect(BUILTIN_PROVIDERS.openai!.quirks.outputFromTotal).toBeUndefined();
  });

  it("applies UPSTREAM_<ID>_URL", () => {
    expect(upstreamEnvName("openai")).toBe("UPSTREAM_OPENAI_URL");
    const env = { UPSTREAM_OPENAI_URL: "http://127.0.0.1:9000/v1/", UPSTREAM_GROQ_URL: "" };
    expect(resolveProvider("openai", { env })?.baseUrl).toBe("http://127.0.0.1:9000/v1");
    expect(resolveProvider("groq", { env })?.baseUrl).toBe("https://api.groq.com/openai/v1");
    expect(resolveProvider("anthropic", { env })).toMatchObject({
      id: "anthropic",
      baseUrl: "https://api.anthropic.com",
      builtin: true,
    });
  });

  it("resolves account-registered providers, as a list or a map", () => {
    const custom = [{ id: "vllm", baseUrl: "https://llm.internal/v1/", format: "openai" as const }];
    expect(resolveProvider("vllm", { custom })).toEqual({
      id: "vllm",
      baseUrl: "https://llm.internal/v1",
      format: "openai",
      authStyle: "bearer",
      quirks: { includeUsage: "inject" },
      builtin: false,
    });
    const map = { "my-claude": { baseUrl: "https://proxy.example", format: "anthropic" as const } };
    expect(resolveProvider("my-claude", { custom: map })).toMatchObject({
      authStyle: "x-api-key",
      format: "anthropic",
    });
    // An account may re-point a built-in id; it keeps the built-in's quirks.
    expect(
      resolveProvider("xai", { custom: { xai: { baseUrl: "https://x.example/v1", format: "openai" } } }),
    ).toMatchObject({
      baseUrl: "https://x.example/v1",
      quirks: { outputFromTotal: true },
    });
    expect(resolveProvider("nope", { custom })).toBeNull();
    expect(resolveProvider("constructor")).toBeNull();
  });
});
