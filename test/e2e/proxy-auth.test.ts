/**
 * Authentication on the proxy: a missing, unknown or revoked gateway key is a 401 in the provider's
 * own error shape (so each SDK raises its AuthenticationError) and nothing is forwarded; the gateway
 * key never reaches the provider (checked in the headers the double received); bring-your-own-key
 * (x-tollgate-key + the client's own provider key) passes the client's Authorization / x-api-key
 * upstream unchanged; the Anthropic SDK's Bearer style and the x-api-key style both work.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { admin, newAccount, stack } from "../helpers/gateway";
import { anthropicClient, callId, openaiClient, record, upstreamCall, upstreamCalls } from "../helpers/proxy";

const chat = { model: "gpt-4o-mini", max_tokens: 20, messages: [{ role: "user" as const, content: "auth" }] };
const msg = {
  model: "claude-haiku-4-5-20251001",
  max_tokens: 20,
  messages: [{ role: "user" as const, content: "auth" }],
};

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
}

function post(path: string, headers: Record<string, string>, body: unknown): Promise<Response> {
  return fetch(`${stack().gatewayUrl}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

describe("proxy authentication", () => {
  it("no gateway key: 401 in OpenAI's shape / Anthropic's shape, nothing forwarded", async () => {
    const id = callId();
    const o = await post("/proxy/openai/chat/completions", { "x-e2e-call": id }, chat);
    expect(o.status).toBe(401);
    expect(await o.json()).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_api_key" } });
    // A provider key where the gateway key belongs is not a gateway key either.
    const sk = await post(
      "/proxy/openai/chat/completions",
      { authorization: "Bearer sk-proj-not-a-gateway-key", "x-e2e-call": id },
      chat,
    );
    expect(sk.status).toBe(401);
    const a = await post(
      "/proxy/anthropic/v1/messages",
      { "anthropic-version": "2023-06-01", "x-api-key": "sk-ant-provider-key", "x-e2e-call": id },
      msg,
    );
    expect(a.status).toBe(401);
    expect(await a.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect(await upstreamCalls(id)).toEqual([]);
  });

  it("unknown tg_ key: the SDKs raise AuthenticationError, nothing forwarded", async () => {
    const id = callId();
    const unknown = `tg_${"x".repeat(40)}`;
    const e1 = await caught(openaiClient(unknown).chat.completions.create(chat, { headers: { "x-e2e-call": id } }));
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((e1 as InstanceType<typeof OpenAI.APIError>).code).toBe("invalid_api_key");
    const e2 = await caught(anthropicClient(unknown).messages.create(msg, { headers: { "x-e2e-call": id } }));
    expect(e2).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((e2 as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "authentication_error" },
    });
    expect(await upstreamCalls(id)).toEqual([]);
  });

  it("a revoked key is refused on the very next call, in both shapes", async () => {
    const acc = await newAccount();
    const oai = openaiClient(acc.key);
    const ant = anthropicClient(acc.key);
    // Warm every cache the gateway has for this key.
    await oai.chat.completions.create(chat);
    await ant.messages.create(msg);
    const del = await admin("DELETE", `/accounts/${acc.accountId}/keys/${acc.keyId}`);
    expect(del.status).toBe(200);
    const id = callId();
    const e1 = await caught(oai.chat.completions.create(chat, { headers: { "x-e2e-call": id } }));
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError);
    const e2 = await caught(ant.messages.create(msg, { headers: { "x-e2e-call": id } }));
    expect(e2).toBeInstanceOf(Anthropic.AuthenticationError);
    // Bring-your-own-key does not get around it either.
    const e3 = await caught(
      openaiClient("sk-own", { headers: { "x-tollgate-key": acc.key } }).chat.completions.create(chat, {
        headers: { "x-e2e-call": id },
      }),
    );
    expect(e3).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(await upstreamCalls(id)).toEqual([]);
  });

  it("the gateway key never goes upstream: the stored provider key does, in the provider's auth style", async () => {
    const acc = await newAccount();
    const id1 = callId();
    await openaiClient(acc.key).chat.completions.create(chat, { headers: { "x-e2e-call": id1 } });
    const id2 = callId();
    await anthropicClient(acc.key).messages.create(msg, { headers: { "x-e2e-call": id2 } });
    const [o, a] = [await upstreamCall(id1), await upstreamCall(id2)];
    expect(o.headers.authorization).toBe("Bearer sk-test-openai");
    expect(a.headers["x-api-key"]).toBe("sk-ant-test");
    for (const r of [o, a]) {
      expect(JSON.stringify(r)).not.toContain(acc.key);
      expect(JSON.stringify(r)).not.toMatch(/tg_[0-9A-Za-z]{40}/);
    }
  });

  it("bring your own key: x-tollgate-key + the client's own Authorization reach the provider unchanged", async () => {
    const acc = await newAccount({ providers: [] }); // nothing stored: the client's key is the only one
    const id = callId();
    const { response } = await openaiClient("sk-client-own-openai-key", { headers: { "x-tollgate-key": acc.key } })
      .chat.completions.create(chat, { headers: { "x-e2e-call": id } })
      .withResponse();
    expect(response.status).toBe(200);
    const up = await upstreamCall(id);
    expect(up.headers.authorization).toBe("Bearer sk-client-own-openai-key");
    expect(up.headers["x-tollgate-key"]).toBeUndefined();
    expect(JSON.stringify(up)).not.toContain(acc.key);
    // Metered to the account all the same.
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ accountId: acc.accountId, keyId: acc.keyId, usageSource: "reported" });
  });

  it("bring your own key with Anthropic: the SDK's Bearer key and a raw x-api-key both pass unchanged", async () => {
    const acc = await newAccount({ providers: [] });
    const id1 = callId();
    const { response } = await anthropicClient("sk-ant-client-own", { headers: { "x-tollgate-key": acc.key } })
      .messages.create(msg, { headers: { "x-e2e-call": id1 } })
      .withResponse();
    expect(response.status).toBe(200);
    const up1 = await upstreamCall(id1);
    expect(up1.headers.authorization).toBe("Bearer sk-ant-client-own");
    expect(up1.headers["x-api-key"]).toBeUndefined();

    const id2 = callId();
    const res = await post(
      "/proxy/anthropic/v1/messages",
      {
        "x-tollgate-key": acc.key,
        "x-api-key": "sk-ant-raw-own",
        "anthropic-version": "2023-06-01",
        "x-e2e-call": id2,
      },
      msg,
    );
    expect(res.status).toBe(200);
    const up2 = await upstreamCall(id2);
    expect(up2.headers["x-api-key"]).toBe("sk-ant-raw-own");
    expect(JSON.stringify([up1, up2])).not.toContain(acc.key);
    await record(acc.key, res.headers.get("x-tollgate-request-id")!);
  });

  it("no stored provider key and no key of the client's own: 401 naming the fix, nothing forwarded", async () => {
    const acc = await newAccount({ providers: ["openai"] });
    const id = callId();
    const e = await caught(
      openaiClient(acc.key, { provider: "groq" }).chat.completions.create(chat, { headers: { "x-e2e-call": id } }),
    );
    expect(e).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((e as Error).message).toContain("/providers/groq");
    expect(await upstreamCalls(id)).toEqual([]);
  });

  it("x-tollgate-key with the gateway key also left in Authorization: the gateway key still never goes upstream", async () => {
    const acc = await newAccount();
    const id = callId();
    // A client that set the gateway key both as the SDK key and in x-tollgate-key.
    const { response } = await openaiClient(acc.key, { headers: { "x-tollgate-key": acc.key } })
      .chat.completions.create(chat, { headers: { "x-e2e-call": id } })
      .withResponse();
    expect(response.status).toBe(200);
    const up = await upstreamCall(id);
    expect(JSON.stringify(up)).not.toContain(acc.key);
    expect(up.headers.authorization).toBe("Bearer sk-test-openai");

    // Bring-your-own-key with the gateway key also in x-api-key: the client's key goes up, ours not.
    const id2 = callId();
    const res = await post(
      "/proxy/openai/chat/completions",
      { "x-tollgate-key": acc.key, authorization: "Bearer sk-own", "x-api-key": acc.key, "x-e2e-call": id2 },
      chat,
    );
    expect(res.status).toBe(200);
    const up2 = await upstreamCall(id2);
    expect(up2.headers.authorization).toBe("Bearer sk-own");
    expect(JSON.stringify(up2)).not.toContain(acc.key);
  });
});
