/**
 * Attribution headers and request ids through the proxy: every x-tollgate-* header (and the aliases
 * X-Feature-Name / X-Tenant-ID) lands on the cost record and none reaches the provider; the
 * environment defaults to the key's, else "production"; tags are parsed. Request ids: generated when
 * absent; a client id is used as is on the first call and becomes {id}.2, {id}.3 on retries (a real
 * SDK retry loop here), each attempt recorded.
 */
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { newAccount, stack } from "../helpers/gateway";
import {
  anthropicClient,
  callId,
  capturingFetch,
  getRecord,
  openaiClient,
  record,
  upstreamCall,
  upstreamCalls,
} from "../helpers/proxy";

const chat = { model: "gpt-4o-mini", max_tokens: 20, messages: [{ role: "user" as const, content: "attribute me" }] };

const OURS = /^(x-tollgate-|x-feature-name$|x-tenant-id$)/;

describe("attribution headers", () => {
  it("all of them are recorded and none is forwarded", async () => {
    const acc = await newAccount({ environment: "staging" });
    const id = callId();
    const { response } = await openaiClient(acc.key)
      .chat.completions.create(chat, {
        headers: {
          "x-e2e-call": id,
          "x-tollgate-feature": "summarize",
          "x-tollgate-tenant": "acme",
          "x-tollgate-user": "user-42",
          "x-tollgate-env": "preview",
          "x-tollgate-workflow": "run-7",
          "x-tollgate-tags": "team=search, tier=gold,exp=a:b",
        },
      })
      .withResponse();
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({
      accountId: acc.accountId,
      keyId: acc.keyId,
      feature: "summarize",
      tenant: "acme",
      user: "user-42",
      environment: "preview",
      workflow: "run-7",
      tags: { team: "search", tier: "gold", exp: "a:b" },
    });
    const up = await upstreamCall(id);
    expect(Object.keys(up.headers).filter((h) => OURS.test(h))).toEqual([]);
    for (const v of ["summarize", "acme", "user-42", "preview", "run-7", "team=search"]) {
      expect(JSON.stringify(up.headers)).not.toContain(v);
    }
  });

  it("aliases X-Feature-Name and X-Tenant-ID (Anthropic SDK), stripped too", async () => {
    const acc = await newAccount();
    const id = callId();
    const { response } = await anthropicClient(acc.key)
      .messages.create(
        { model: "claude-haiku-4-5-20251001", max_tokens: 20, messages: [{ role: "user", content: "alias" }] },
        { headers: { "x-e2e-call": id, "X-Feature-Name": "search", "X-Tenant-ID": "globex" } },
      )
      .withResponse();
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ feature: "search", tenant: "globex", user: null, workflow: null, tags: {} });
    const up = await upstreamCall(id);
    expect(Object.keys(up.headers).filter((h) => OURS.test(h))).toEqual([]);
  });

  it("environment: the key's own by default, else production", async () => {
    const staging = await newAccount({ environment: "staging" });
    const plain = await newAccount();
    const a = await openaiClient(staging.key).chat.completions.create(chat).withResponse();
    const b = await openaiClient(plain.key).chat.completions.create(chat).withResponse();
    expect((await record(staging.key, a.response.headers.get("x-tollgate-request-id")!)).environment).toBe("staging");
    expect((await record(plain.key, b.response.headers.get("x-tollgate-request-id")!)).environment).toBe("production");
  });

  it("malformed attribution (bad tags) is a 400 in the provider's shape, nothing forwarded", async () => {
    const acc = await newAccount();
    const id = callId();
    const err = await openaiClient(acc.key)
      .chat.completions.create(chat, { headers: { "x-e2e-call": id, "x-tollgate-tags": "no spaces=in keys" } })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as Error).message).toContain("x-tollgate-tags");
    expect(await upstreamCalls(id)).toEqual([]);
  });
});

describe("request ids", () => {
  it("generated when the client sends none: unique per call, on every response", async () => {
    const acc = await newAccount();
    const client = openaiClient(acc.key);
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { response } = await client.chat.completions.create(chat).withResponse();
      const id = response.headers.get("x-tollgate-request-id")!;
      expect(id).toMatch(/^req_[0-9A-Za-z]{20}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(3);
    for (const id of ids) expect((await record(acc.key, id)).id).toBe(id);
  });

  it("the client's id: as is the first time, then {id}.2, {id}.3 — SDK retries each recorded", async () => {
    const acc = await newAccount();
    const clientId = `job-${crypto.randomUUID()}`;
    const cap = capturingFetch();
    // A real SDK retry loop: the provider answers 429 (retry-after 10 ms), the SDK retries twice.
    const client = new OpenAI({
      apiKey: acc.key,
      baseURL: `${stack().gatewayUrl}/proxy/openai`,
      maxRetries: 2,
      fetch: cap.fetch,
      defaultHeaders: { "x-tollgate-request-id": clientId },
    });
    const err = await client.chat.completions
      .create(chat, { headers: { "x-double-status": "429", "x-double-retry-after": "0.01" } })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(cap.calls.map((c) => c.headers.get("x-tollgate-request-id"))).toEqual([
      clientId,
      `${clientId}.2`,
      `${clientId}.3`,
    ]);
    for (const id of [clientId, `${clientId}.2`, `${clientId}.3`]) {
      const rec = await record(acc.key, id);
      expect(rec).toMatchObject({ id, status: 429, costUsd: "0.00" });
    }
    // A later call with the same id is attempt 4; a successful one is metered as usual.
    const { response } = await client.chat.completions.create(chat).withResponse();
    expect(response.headers.get("x-tollgate-request-id")).toBe(`${clientId}.4`);
    expect(await record(acc.key, `${clientId}.4`)).toMatchObject({ status: 200, usageSource: "reported" });
  });

  it("client ids are per account: the same id in two accounts is each one's first attempt", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const clientId = `shared-${crypto.randomUUID()}`;
    for (const acc of [a, b]) {
      const { response } = await openaiClient(acc.key, { headers: { "x-tollgate-request-id": clientId } })
        .chat.completions.create(chat)
        .withResponse();
      expect(response.headers.get("x-tollgate-request-id")).toBe(clientId);
      expect((await record(acc.key, clientId)).accountId).toBe(acc.accountId);
    }
    // Each account reads its own record under that id, never the other's.
    expect(((await getRecord(a.key, clientId)).body as { accountId: string }).accountId).toBe(a.accountId);
  });
});
