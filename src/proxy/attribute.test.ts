import { describe, expect, it } from "vitest";
import { GatewayError } from "../lib/errors";
import { isTollgateHeader, readAttribution } from "./attribute";

describe("readAttribution", () => {
  it("reads every header and its alias", () => {
    const a = readAttribution(
      new Headers({
        "X-Feature-Name": "summarize",
        "X-Tenant-ID": "acme",
        "x-tollgate-user": "u-1",
        "x-tollgate-workflow": "run-7",
        "x-tollgate-tags": "team=search, tier=gold",
        "x-tollgate-request-id": "client-123",
        traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      }),
      "staging",
    );
    expect(a).toEqual({
      feature: "summarize",
      tenant: "acme",
      user: "u-1",
      environment: "staging",
      workflow: "run-7",
      tags: { team: "search", tier: "gold" },
      clientRequestId: "client-123",
      traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      tracestate: null,
    });
  });
  it("prefers x-tollgate-* over the aliases, and defaults env to production", () => {
    const a = readAttribution(new Headers({ "x-tollgate-tenant": "a", "x-tenant-id": "b" }), null);
    expect(a.tenant).toBe("a");
    expect(a.environment).toBe("production");
    expect(readAttribution(new Headers({ "x-tollgate-env": "dev" }), "staging").environment).toBe("dev");
  });
  it("rejects malformed tags and oversized values", () => {
    expect(() => readAttribution(new Headers({ "x-tollgate-tags": "novalue" }), null)).toThrow(GatewayError);
    expect(() => readAttribution(new Headers({ "x-tollgate-tenant": "x".repeat(300) }), null)).toThrow(
      /x-tollgate-tenant/,
    );
  });
  it("knows which headers are ours", () => {
    expect(["x-tollgate-key", "X-Tollgate-Feature", "x-feature-name", "X-Tenant-ID"].every(isTollgateHeader)).toBe(
      true,
    );
    expect(["authorization", "x-api-key", "x-request-id"].some(isTollgateHeader)).toBe(false);
  });
});
