import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CollectorDouble,
  decodeExportRequest,
  startCollectorDouble,
} from "../../test/otlp-collector-double/server";
import type { CostRecord } from "../records/record";
import { emptyUsage } from "../usage";
import { accountDestination, accountTracesUrl, deploymentDestination, parseOtlpHeaders } from "./destination";
import { exportSpan, MAX_BATCH } from "./exporter";
import { exportTraceRequest } from "./otlp-json";
import { type AttemptCall, attemptSpan } from "./span";
import { parseTraceparent } from "./trace-context";

const PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

function record(over: Partial<CostRecord> = {}): CostRecord {
  return {
    id: "req_1",
    accountId: "acc_1",
    keyId: "key_1",
    tenant: "acme",
    feature: "summarize",
    userId: "u-1",
    environment: "production",
    workflow: "run-42",
    tags: { team: "search" },
    provider: "anthropic",
    modelRequested: "claude-sonnet-4-5",
    modelAnswered: "claude-sonnet-4-5-20250929",
    endpoint: "messages",
    streamed: true,
    status: 200,
    usage: {
      ...emptyUsage(),
      inputTokens: 100,
      cacheReadTokens: 2000,
      cacheWriteTokens: 300,
      outputTokens: 50,
      reasoningTokens: 20,
    },
    costNano: 1_234_567n,
    priced: true,
    pricedBy: "catalog",
    priceVersion: "abc123",
    ratesApplied: null,
    usageSource: "reported",
    budgetChecked: true,
    latencyMs: 900,
    ttftMs: 120,
    startedAt: new Date("2026-05-01T10:00:00.000Z"),
    finishedAt: new Date("2026-05-01T10:00:00.900Z"),
    ...over,
  };
}

const call: AttemptCall = {
  upstream: { id: "anthropic", baseUrl: "https://api.anthropic.com" },
  request: { facts: { endpoint: "messages", maxOutputTokens: 1024 } },
  admission: { budgetChecked: true, worstCaseNano: 20_000_000n, responseHeaders: {} },
};

describe("W3C traceparent", () => {
  it("reads trace id, parent span and the sampled flag", () => {
    expect(parseTraceparent(PARENT, "vendor=x")).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      parentSpanId: "b7ad6b7169203331",
      sampled: true,
      traceState: "vendor=x",
    });
    expect(parseTraceparent(PARENT.replace(/-01$/, "-00"))?.sampled).toBe(false);
  });
  it("ignores what the spec calls invalid", () => {
    for (const bad of [
      null,
      "",
      "00-00000000000000000000000000000000-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
      "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
      "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
      "00-0af7651916cd43dd8448eb211c8031-b7ad6b7169203331-01",
    ]) {
      expect(parseTraceparent(bad)).toBeNull();
    }
    // A later version may carry more fields.
    expect(parseTraceparent(`01${PARENT.slice(2)}-more`)?.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
  });
});

describe("destinations", () => {
  it("follow OpenTelemetry's exporter variables", () => {
    expect(deploymentDestination({})).toBeNull();
    const d = deploymentDestination({
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/",
      OTEL_EXPORTER_OTLP_HEADERS: "Authorization=Bearer%20abc, x-team = t1",
      OTEL_SERVICE_NAME: "gw",
    })!;
    expect(d.url).toBe("http://collector:4318/v1/traces");
    expect(d.headers).toEqual({ authorization: "Bearer abc", "x-team": "t1" });
    expect(d.resource).toEqual({ "service.name": "gw" });
    expect(
      deploymentDestination({
        OTEL_EXPORTER_OTLP_ENDPOINT: "http://a:4318",
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://b:4318/custom/traces",
      })!.url,
    ).toBe("http://b:4318/custom/traces");
    expect(parseOtlpHeaders("novalue")).toBeNull();
    expect(parseOtlpHeaders("bad name=x")).toBeNull();
  });
  it("an account's endpoint is a base URL or the traces URL itself", () => {
    expect(accountTracesUrl("https://otlp.example.com")).toBe("https://otlp.example.com/v1/traces");
    expect(accountTracesUrl("https://otlp.example.com:4318/")).toBe("https://otlp.example.com:4318/v1/traces");
    expect(accountTracesUrl("https://api.example.com/otlp/v1/traces")).toBe("https://api.example.com/otlp/v1/traces");
  });
});

describe("the attempt span", () => {
  it("carries the GenAI conventions' names and Tollgate's own", () => {
    const span = attemptSpan(record(), call, { complete: true }, parseTraceparent(PARENT, "k=v"));
    expect(span.name).toBe("chat claude-sonnet-4-5");
    expect(span.traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(span.parentSpanId).toBe("b7ad6b7169203331");
    expect(span.traceState).toBe("k=v");
    expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "anthropic",
      "gen_ai.request.model": "claude-sonnet-4-5",
      "gen_ai.response.model": "claude-sonnet-4-5-20250929",
      "gen_ai.request.max_tokens": 1024,
      // Inclusive, as the conventions count: 100 + 2000 + 300.
      "gen_ai.usage.input_tokens": 2400,
      "gen_ai.usage.output_tokens": 50,
      "gen_ai.usage.cache_read.input_tokens": 2000,
      "gen_ai.usage.cache_creation.input_tokens": 300,
      "gen_ai.usage.reasoning.output_tokens": 20,
      "server.address": "api.anthropic.com",
      "server.port": 443,
      "tollgate.usage.input_tokens": 100,
      "tollgate.usage.cache_read_tokens": 2000,
      "tollgate.usage.cache_write_1h_tokens": 0,
      "tollgate.cost.usd": 0.001234567,
      "tollgate.cost.nano_usd": 1_234_567n,
      "tollgate.price_version": "abc123",
      "tollgate.priced": true,
      "tollgate.usage.source": "reported",
      "tollgate.tenant": "acme",
      "tollgate.feature": "summarize",
      "tollgate.user": "u-1",
      "tollgate.workflow": "run-42",
      "tollgate.tag.team": "search",
      "tollgate.budget.decision": "admitted",
      "tollgate.budget.worst_case_usd": 0.02,
      "tollgate.aborted": false,
      "tollgate.streamed": true,
    });
    expect(span.error).toBeNull();
    // Not known for a native tee: absent, not false.
    expect(span.attributes["tollgate.cancelled"]).toBeUndefined();
  });
  it("says when the budget was not checked, the call waited, the body was cut off or the call failed", () => {
    const waited = attemptSpan(
      record(),
      { ...call, admission: { ...call.admission, responseHeaders: { "x-tollgate-budget-waited-ms": "250" } } },
      { complete: false, clientGone: true },
      null,
    );
    expect(waited.attributes["tollgate.cancelled"]).toBe(true);
    expect(waited.attributes["tollgate.budget.decision"]).toBe("admitted_after_wait");
    expect(waited.attributes["tollgate.budget.waited_ms"]).toBe(250);
    expect(waited.attributes["tollgate.aborted"]).toBe(true);
    expect(waited.parentSpanId).toBeNull();
    const open = attemptSpan(record(), { ...call, admission: { ...call.admission, budgetChecked: false } }, null, null);
    expect(open.attributes["tollgate.budget.decision"]).toBe("unchecked");
    const failed = attemptSpan(record({ status: 502, usageSource: "none", usage: emptyUsage() }), call, null, null);
    expect(failed.error).toBe("upstream_unreachable");
    expect(failed.attributes["error.type"]).toBe("upstream_unreachable");
    expect(failed.attributes["gen_ai.usage.input_tokens"]).toBeUndefined();
  });
  it("encodes as OTLP/HTTP JSON a collector decodes", () => {
    const span = attemptSpan(record(), call, { complete: true }, parseTraceparent(PARENT));
    const [got] = decodeExportRequest(JSON.parse(exportTraceRequest({ "service.name": "tollgate" }, [span])));
    expect(got!.resource).toEqual({ "service.name": "tollgate" });
    expect(got!.kind).toBe(3);
    expect(got!.startNs).toBe(BigInt(Date.parse("2026-05-01T10:00:00.000Z")) * 1_000_000n);
    expect(got!.endNs - got!.startNs).toBe(900_000_000n);
    expect(got!.attributes["tollgate.cost.nano_usd"]).toBe(1_234_567);
    expect(got!.attributes["tollgate.cost.usd"]).toBe(0.001234567);
    expect(got!.status.code).toBe(0);
  });
});

describe("the batched exporter", () => {
  let collector: CollectorDouble;
  beforeAll(async () => {
    collector = await startCollectorDouble();
  });
  afterAll(() => collector.close());

  it("sends one request per delay for many calls, with the account's sealed headers opened", async () => {
    const { encryptSecret } = await import("../lib/crypto");
    const secret = "0123456789abcdef0123";
    const sealed = await encryptSecret(JSON.stringify({ "x-api-key": "team-key" }), secret);
    const dest = accountDestination("acc_batch", { url: `${collector.url}/v1/traces`, headersSealed: sealed });
    const before = collector.requests.length;
    await Promise.all(
      Array.from({ length: 25 }, (_, i) =>
        exportSpan(dest, attemptSpan(record({ id: `req_b${i}` }), call, { complete: true }, null), {
          sealingSecret: secret,
          delayMs: 50,
        }),
      ),
    );
    const sent = collector.requests.slice(before);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.spans).toBe(25);
    expect(sent[0]!.headers["x-api-key"]).toBe("team-key");
    const mine = collector.spans.filter((s) => s.resource["tollgate.account.id"] === "acc_batch");
    expect(mine.map((s) => s.attributes["tollgate.request_id"]).sort()).toEqual(
      Array.from({ length: 25 }, (_, i) => `req_b${i}`).sort(),
    );
  });

  it("sends a full batch at once, retries a 503 once, and drops what still fails without throwing", async () => {
    const dest = accountDestination("acc_full", { url: `${collector.url}/v1/traces` });
    const before = collector.requests.length;
    const spans = Array.from({ length: MAX_BATCH }, (_, i) =>
      attemptSpan(record({ id: `req_f${i}` }), call, { complete: true }, null),
    );
    // The first span waits out the delay; the one that fills the batch sends it at once.
    const pending = spans.map((s) => exportSpan(dest, s, { sealingSecret: "x".repeat(16), delayMs: 1500 }));
    await pending[MAX_BATCH - 1];
    expect(collector.requests.slice(before).map((r) => r.spans)).toEqual([MAX_BATCH]);
    await Promise.all(pending);
    expect(collector.requests.slice(before).map((r) => r.spans)).toEqual([MAX_BATCH]);

    collector.script([503]);
    const retried = collector.requests.length;
    await exportSpan(dest, spans[0]!, { sealingSecret: "x".repeat(16), delayMs: 10 });
    expect(collector.requests.slice(retried).map((r) => r.status)).toEqual([503, 200]);

    collector.script([400, 400]);
    const dropped = collector.requests.length;
    await expect(exportSpan(dest, spans[0]!, { sealingSecret: "x".repeat(16), delayMs: 10 })).resolves.toBeUndefined();
    // 400 is final: no retry.
    expect(collector.requests.slice(dropped).map((r) => r.status)).toEqual([400]);
    collector.script([]);
  });
});
