/**
 * Model policy through the real gateway and the SDKs: a disallowed model is a 403 the SDK raises as
 * its permission error (OpenAI and Anthropic shapes), max_tokens is capped in the body the provider
 * gets (and recorded as applied), a body without a model gets the default, a key's default route
 * stays its policy when a call names another route, and a feature's default route applies to it.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { admin, newAccount } from "../helpers/gateway";
import { anthropicClient, callId, openaiClient, record, upstreamCall } from "../helpers/proxy";
import { chat, hi, putRoute } from "../helpers/routing";

describe("model policy", () => {
  it("a key's default route: disallowed model → 403 (OpenAI shape), max_tokens capped upstream and recorded", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "interns", {
      targets: [{ provider: "openai", model: "*" }],
      allowedModels: ["gpt-4o-mini", "gpt-4.1-mini"],
      defaultModel: "gpt-4o-mini",
      maxTokensCap: 50,
      defaultFor: { keys: [acc.keyId] },
    });
    const openai = openaiClient(acc.key);
    const denied = await openai.chat.completions.create({ model: "gpt-4o", messages: hi() as never }).catch((e) => e);
    expect(denied).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(denied.status).toBe(403);
    expect(denied.error).toMatchObject({ code: "model_not_allowed", param: "model" });
    expect(denied.message).toMatch(/gpt-4o.*not allowed by route "interns"/);

    const id = callId();
    const ok = await openai.chat.completions
      .create({ model: "gpt-4o-mini", max_tokens: 1000, messages: hi() as never }, { headers: { "x-e2e-call": id } })
      .withResponse();
    expect(ok.response.headers.get("x-tollgate-route")).toBe("interns");
    const sent = JSON.parse((await upstreamCall(id)).body);
    expect(sent.max_tokens).toBe(50);
    expect(ok.data.usage?.completion_tokens).toBeLessThanOrEqual(50);
    const rec = await record(acc.key, ok.response.headers.get("x-tollgate-request-id")!);
    expect(rec.maxTokensApplied).toBe(50);

    // No limit in the body: OpenAI gets max_completion_tokens; no model: the default.
    const id2 = callId();
    const res = await chat(acc.key, { messages: hi() }, { "x-e2e-call": id2 });
    expect(res.status).toBe(200);
    const sent2 = JSON.parse((await upstreamCall(id2)).body);
    expect(sent2).toMatchObject({ model: "gpt-4o-mini", max_completion_tokens: 50 });
    // Within the cap: the body goes up as the client sent it, and nothing is recorded as applied.
    const id3 = callId();
    const within = await chat(
      acc.key,
      { model: "gpt-4.1-mini", max_tokens: 20, messages: hi() },
      { "x-e2e-call": id3 },
    );
    const sent3 = JSON.parse((await upstreamCall(id3)).body);
    expect(sent3.max_tokens).toBe(20);
    expect((await record(acc.key, within.headers.get("x-tollgate-request-id")!)).maxTokensApplied).toBeNull();
  });

  it("naming another route does not lift the key's policy; a feature's default route applies", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "key-policy", {
      targets: [{ provider: "openai", model: "*" }],
      allowedModels: ["gpt-4o-mini"],
      defaultFor: { keys: [acc.keyId] },
    });
    await putRoute(acc.accountId, "open", { targets: [{ provider: "openai", model: "*" }], maxTokensCap: 10 });
    await putRoute(acc.accountId, "search", {
      targets: [{ provider: "openai", model: "gpt-4o-mini" }],
      defaultFor: { features: ["search"] },
    });
    const named = await chat(acc.key, { model: "gpt-4o", messages: hi() }, { "x-tollgate-route": "open" });
    expect(named.status).toBe(403);
    const allowed = await chat(
      acc.key,
      { model: "gpt-4o-mini", max_tokens: 99, messages: hi() },
      { "x-tollgate-route": "open" },
    );
    expect(allowed.status).toBe(200);
    expect((await record(acc.key, allowed.headers.get("x-tollgate-request-id")!)).maxTokensApplied).toBe(10);
    const feature = await chat(acc.key, { model: "gpt-4o-mini", messages: hi() }, { "x-tollgate-feature": "search" });
    expect(feature.headers.get("x-tollgate-route")).toBe("search");

    // Two routes cannot both be a key's default.
    const clash = await admin("PUT", `/accounts/${acc.accountId}/routes/other`, {
      targets: [{ provider: "openai", model: "*" }],
      defaultFor: { keys: [acc.keyId], features: ["search"] },
    });
    expect(clash.status).toBe(400);
  });

  it("Anthropic format: 403 as Anthropic's permission_error, max_tokens capped upstream", async () => {
    const acc = await newAccount();
    await putRoute(acc.accountId, "claude", {
      targets: [{ provider: "anthropic", model: "*" }],
      allowedModels: ["claude-haiku-4-5"],
      maxTokensCap: 64,
    });
    const anthropic = anthropicClient(acc.key, { headers: { "x-tollgate-route": "claude" } });
    const denied = await anthropic.messages
      .create({ model: "claude-opus-4-5", max_tokens: 1024, messages: hi() as never })
      .catch((e) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(denied.error).toMatchObject({ type: "error", error: { type: "permission_error" } });
    const id = callId();
    const msg = await anthropic.messages.create(
      { model: "claude-haiku-4-5", max_tokens: 1024, messages: hi() as never },
      { headers: { "x-e2e-call": id } },
    );
    expect(msg.usage.output_tokens).toBeLessThanOrEqual(64);
    expect(JSON.parse((await upstreamCall(id)).body).max_tokens).toBe(64);
  });
});
