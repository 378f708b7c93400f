import { describe, expect, it } from "vitest";
import { clientHeaders, headersInit, upstreamHeaders as record, type UpstreamCredential, upstreamUrl } from "./forward";

// What fetch() makes of the record.
const upstreamHeaders = (client: Headers, credential: UpstreamCredential) => new Headers(record(client, credential));

describe("upstreamUrl", () => {
  it("joins base, path and query without doubling slashes", () => {
    expect(upstreamUrl("https://api.openai.com/v1/", "/chat/completions", "?a=1")).toBe(
      "https://api.openai.com/v1/chat/completions?a=1",
    );
    expect(upstreamUrl("https://api.anthropic.com", "v1/messages", "")).toBe("https://api.anthropic.com/v1/messages");
  });
});

describe("upstreamHeaders", () => {
  const client = new Headers({
    authorization: "Bearer tg_secretgatewaykey",
    "x-tollgate-feature": "f",
    "x-feature-name": "f",
    "x-tenant-id": "t",
    "content-type": "application/json",
    "anthropic-version": "2023-06-01",
    "openai-organization": "org-1",
    host: "gateway.example",
    "content-length": "12",
    connection: "keep-alive",
  });

  it("replaces the gateway key with the stored credential in the provider's auth style", () => {
    const bearer = upstreamHeaders(client, { apiKey: "sk-provider", authStyle: "bearer" });
    expect(bearer.get("authorization")).toBe("Bearer sk-provider");
    const anthropic = upstreamHeaders(new Headers({ "x-api-key": "tg_k" }), {
      apiKey: "sk-ant",
      authStyle: "x-api-key",
    });
    expect(anthropic.get("x-api-key")).toBe("sk-ant");
    expect(anthropic.get("authorization")).toBeNull();
  });

  it("drops our headers, the gateway key and hop-by-hop headers; keeps the rest", () => {
    const h = upstreamHeaders(client, { apiKey: "sk-provider", authStyle: "bearer" });
    const names = [...h.keys()].sort();
    expect(names).toEqual(["anthropic-version", "authorization", "content-type", "openai-organization"]);
    expect([...h.values()].join(" ")).not.toContain("tg_");
  });

  it("passes the client's own provider key untouched with bring-your-own-key", () => {
    const h = upstreamHeaders(new Headers({ authorization: "Bearer sk-client", "x-tollgate-key": "tg_k" }), {
      apiKey: null,
      authStyle: "bearer",
    });
    expect(h.get("authorization")).toBe("Bearer sk-client");
    expect(h.get("x-tollgate-key")).toBeNull();
  });

  it("never forwards a gateway key left beside bring-your-own-key", () => {
    const h = upstreamHeaders(
      new Headers({ authorization: "Bearer sk-client", "x-api-key": "tg_k", "x-tollgate-key": "tg_k" }),
      { apiKey: null, authStyle: "bearer" },
    );
    expect(h.get("authorization")).toBe("Bearer sk-client");
    expect(h.get("x-api-key")).toBeNull();
  });
});

describe("clientHeaders", () => {
  it("keeps provider headers, drops content-length only when the body changed", () => {
    const up = new Headers({
      "content-type": "text/event-stream",
      "content-length": "99",
      "x-request-id": "r1",
      connection: "close",
    });
    const response = (bodyChanged: boolean) => new Headers(headersInit(clientHeaders(up, { bodyChanged })));
    expect([...response(false).keys()].sort()).toEqual(["content-length", "content-type", "x-request-id"]);
    expect(response(true).get("content-length")).toBeNull();
  });

  it("keeps every Set-Cookie a separate header (they cannot be joined)", () => {
    const up = new Headers([
      ["content-type", "application/json"],
      ["set-cookie", "__cf_bm=a; Expires=Wed, 02 Dec 2026 08:00:00 GMT; path=/"],
      ["set-cookie", "_cfuvid=b; path=/"],
    ]);
    const h = new Headers(headersInit(clientHeaders(up, { bodyChanged: false })));
    expect([...h].filter(([n]) => n === "set-cookie").map(([, v]) => v)).toEqual([
      "__cf_bm=a; Expires=Wed, 02 Dec 2026 08:00:00 GMT; path=/",
      "_cfuvid=b; path=/",
    ]);
    expect(h.get("content-type")).toBe("application/json");
  });
});
