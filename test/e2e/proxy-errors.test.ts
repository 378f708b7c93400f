/**
 * Errors and bad input through the proxy. Upstream errors (429, 500, 400, Anthropic 529) reach the
 * client unchanged — status, body, retry-after — so each SDK raises its usual error class, and are
 * recorded with their status and zero cost. Tollgate's own refusals happen before anything is
 * forwarded (checked in the double's log by a per-call header): unknown provider 404, malformed JSON
 * on a metered endpoint 400 in the provider's shape, a body over MAX_REQUEST_BYTES 413 (declared by
 * content-length or streamed without one). Unmetered endpoints (models list, a query string, a
 * non-JSON body) are proxied as they are.
 */
import http from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { MAX_REQUEST_BYTES } from "../../src/proxy/request";
import { newAccount, stack } from "../helpers/gateway";
import {
  anthropicClient,
  callId,
  capturingFetch,
  normalizeIds,
  openaiClient,
  record,
  replay,
  text,
  upstreamCall,
  upstreamCalls,
} from "../helpers/proxy";

const chat = { model: "gpt-4o-mini", max_tokens: 20, messages: [{ role: "user" as const, content: "errors" }] };
const msg = {
  model: "claude-haiku-4-5-20251001",
  max_tokens: 20,
  messages: [{ role: "user" as const, content: "errors" }],
};

async function caught(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => e,
  );
}

describe("upstream errors pass through unchanged and are recorded at zero cost", () => {
  for (const [status, cls] of [
    [429, OpenAI.RateLimitError],
    [500, OpenAI.InternalServerError],
    [400, OpenAI.BadRequestError],
  ] as const) {
    it(`OpenAI ${status} (JSON and streaming requests)`, async () => {
      const acc = await newAccount();
      for (const stream of [false, true]) {
        const cap = capturingFetch();
        const id = callId();
        const err = await caught(
          openaiClient(acc.key, { fetch: cap.fetch }).chat.completions.create(
            { ...chat, stream },
            { headers: { "x-e2e-call": id, "x-double-status": String(status) } },
          ),
        );
        expect(err).toBeInstanceOf(cls);
        expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
        const direct = await replay(await upstreamCall(id));
        const got = cap.calls[0]!;
        expect(got.status).toBe(direct.status);
        expect(got.headers.get("content-type")).toBe(direct.headers.get("content-type"));
        if (status === 429) expect(got.headers.get("retry-after")).toBe(direct.headers.get("retry-after"));
        // The provider's request id differs per answer; everything else is byte for byte.
        expect(got.headers.get("x-request-id")).toMatch(/^req_/);
        expect(text(await got.bytes)).toBe(direct.text);
        const rec = await record(acc.key, got.headers.get("x-tollgate-request-id")!);
        expect(rec).toMatchObject({ status, costUsd: "0.00", outputTokens: 0, inputTokens: 0, usageSource: "none" });
      }
    });
  }

  for (const [status, cls] of [
    [429, Anthropic.RateLimitError],
    [500, Anthropic.InternalServerError],
    [400, Anthropic.BadRequestError],
    [529, Anthropic.APIError],
  ] as const) {
    it(`Anthropic ${status}`, async () => {
      const acc = await newAccount();
      const cap = capturingFetch();
      const id = callId();
      const err = await caught(
        anthropicClient(acc.key, { fetch: cap.fetch }).messages.create(msg, {
          headers: { "x-e2e-call": id, "x-double-status": String(status) },
        }),
      );
      expect(err).toBeInstanceOf(cls);
      expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(status);
      const direct = await replay(await upstreamCall(id));
      expect(cap.calls[0]!.status).toBe(status);
      expect(normalizeIds(text(await cap.calls[0]!.bytes))).toBe(normalizeIds(direct.text));
      const rec = await record(acc.key, cap.calls[0]!.headers.get("x-tollgate-request-id")!);
      expect(rec).toMatchObject({ status, costUsd: "0.00", usageSource: "none" });
    });
  }

  it("a JSON body cut off mid-way by the provider: the SDK raises, the call is still recorded", async () => {
    const acc = await newAccount();
    // The client's own request id names the record: what the client sees of a cut body (an error,
    // a reset before the headers, or an empty gzip body) depends on timing and on the runtime.
    const clientId = `cut-${crypto.randomUUID()}`;
    const err = await caught(
      openaiClient(acc.key).chat.completions.create(chat, {
        headers: { "x-double-break-after": "1", "x-tollgate-request-id": clientId },
      }),
    );
    expect(err).toBeInstanceOf(Error);
    const rec = await record(acc.key, clientId);
    expect(rec).toMatchObject({ status: 200, streamed: false, endpoint: "chat" });
    // No usage arrived, so none is "reported". (Today it is "none" with zero tokens and zero cost —
    // a cut JSON body gets no estimate, unlike a cut stream: reported as a gap in src/wire.)
    expect(rec.usageSource).not.toBe("reported");
  });
});

describe("refused by Tollgate before anything is forwarded", () => {
  it("unknown provider: 404", async () => {
    const acc = await newAccount();
    const id = callId();
    const err = await caught(
      openaiClient(acc.key, { provider: "nosuchprovider" }).chat.completions.create(chat, {
        headers: { "x-e2e-call": id },
      }),
    );
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as Error).message).toContain("nosuchprovider");
    expect(await upstreamCalls(id)).toEqual([]);
  });

  it("the router's entry and the direct one agree: an encoded provider id (left to Hono) is the same provider", async () => {
    const acc = await newAccount();
    const answers = [];
    for (const provider of ["openai", "open%61i"]) {
      const res = await fetch(`${stack().gatewayUrl}/proxy/${provider}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${acc.key}`, "content-type": "application/json", "x-e2e-call": callId() },
        body: JSON.stringify(chat),
      });
      const body = (await res.json()) as { usage?: unknown };
      answers.push({ status: res.status, priced: res.headers.get("x-tollgate-cost-usd") !== null, usage: body.usage });
    }
    expect(answers[0]).toMatchObject({ status: 200, priced: true });
    expect(answers[1]).toEqual(answers[0]);
    // An unknown id refused the same way on both entries.
    for (const provider of ["nosuch", "nos%75ch"]) {
      const res = await fetch(`${stack().gatewayUrl}/proxy/${provider}/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${acc.key}`, "content-type": "application/json" },
        body: JSON.stringify(chat),
      });
      expect(res.status).toBe(404);
      expect(((await res.json()) as { error: { message: string } }).error.message).toContain("nosuch");
    }
  });

  it("malformed JSON on a metered endpoint: 400 in OpenAI's shape / Anthropic's shape", async () => {
    const acc = await newAccount();
    const id = callId();
    const o = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${acc.key}`, "content-type": "application/json", "x-e2e-call": id },
      body: '{"model": "gpt-4o-mini", "messages": [',
    });
    expect(o.status).toBe(400);
    expect(await o.json()).toMatchObject({
      error: { type: "invalid_request_error", message: expect.stringContaining("JSON") },
    });
    for (const body of ["not json at all", "[1,2,3]"]) {
      const a = await fetch(`${stack().gatewayUrl}/proxy/anthropic/v1/messages`, {
        method: "POST",
        headers: {
          "x-api-key": acc.key,
          "anthropic-version": "2023-06-01",
          "content-type": "application/json",
          "x-e2e-call": id,
        },
        body,
      });
      expect(a.status).toBe(400);
      expect(await a.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    }
    expect(await upstreamCalls(id)).toEqual([]);
  });

  it("body over the limit: 413, declared by content-length or streamed without one", async () => {
    const acc = await newAccount();
    const id = callId();
    const headers = { "content-type": "application/json", "x-e2e-call": id };

    // Declared too large: refused on the header alone, before any of the body is read.
    const declared = await rawPost(
      "/proxy/openai/chat/completions",
      { ...headers, authorization: `Bearer ${acc.key}`, "content-length": String(MAX_REQUEST_BYTES + 1) },
      0,
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ error: { code: "request_too_large" } });

    // The same size in chunks, no content-length: counted while read, refused one byte past the limit.
    const streamed = await rawPost(
      "/proxy/anthropic/v1/messages",
      { ...headers, "x-api-key": acc.key, "anthropic-version": "2023-06-01" },
      MAX_REQUEST_BYTES + 1,
    );
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toMatchObject({ type: "error", error: { type: "request_too_large" } });
    expect(await upstreamCalls(id)).toEqual([]);
  }, 60_000);
});

/**
 * POSTs `bytes` bytes of body on a connection of its own, then waits for the answer without ending
 * the body: a gateway that waited for more would never answer (the test times out). Sending no
 * byte the gateway does not read keeps the close clean: a server that closes with unread bytes
 * resets the connection, and the reset can overtake its answer.
 */
function rawPost(
  path: string,
  headers: Record<string, string>,
  bytes: number,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${stack().gatewayUrl}${path}`, { method: "POST", headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") });
        req.destroy();
      });
    });
    req.on("error", reject);
    const piece = Buffer.alloc(1024 * 1024, "a");
    let sent = 0;
    const write = () => {
      while (sent < bytes && !req.destroyed) {
        const n = Math.min(piece.length, bytes - sent);
        sent += n;
        if (!req.write(n === piece.length ? piece : piece.subarray(0, n))) {
          req.once("drain", write);
          return;
        }
      }
      if (bytes === 0) req.flushHeaders();
    };
    write();
  });
}

describe("unmetered endpoints are proxied", () => {
  it("GET models through the SDK, with the query string kept", async () => {
    const acc = await newAccount();
    const cap = capturingFetch();
    const models = await openaiClient(acc.key, { fetch: cap.fetch }).models.list();
    expect(models.data.map((m) => m.id)).toContain("gpt-4o-mini");
    const direct = await fetch(`${stack().doubleUrl}/openai/v1/models`, { headers: { authorization: "Bearer sk" } });
    expect(text(await cap.calls[0]!.bytes)).toBe(await direct.text());
    expect(cap.calls[0]!.headers.get("x-tollgate-request-id")).toMatch(/^req_/);

    const id = callId();
    const res = await fetch(`${stack().gatewayUrl}/proxy/openai/models?limit=2&after=x%20y`, {
      headers: { authorization: `Bearer ${acc.key}`, "x-e2e-call": id },
    });
    expect(res.status).toBe(200);
    const up = await upstreamCall(id);
    expect(up).toMatchObject({ method: "GET", path: "/openai/v1/models", query: "limit=2&after=x%20y" });
    expect(up.headers.authorization).toBe("Bearer sk-test-openai");
  });

  it("a non-JSON body to an unmetered endpoint is forwarded as is (the provider answers)", async () => {
    const acc = await newAccount();
    const id = callId();
    const res = await fetch(`${stack().gatewayUrl}/proxy/openai/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${acc.key}`, "content-type": "text/plain", "x-e2e-call": id },
      body: "raw bytes, not JSON",
    });
    const up = await upstreamCall(id);
    expect(up.body).toBe("raw bytes, not JSON");
    expect(up.path).toBe("/openai/v1/files");
    // The double has no files endpoint: its own 404, passed through.
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { message: expect.stringContaining("Invalid URL") } });
  });
});
