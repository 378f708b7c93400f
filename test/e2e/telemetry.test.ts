/**
 * OpenTelemetry end to end: calls through the gateway reach a local OTLP collector as GenAI spans,
 * one per attempt, in the caller's trace when it sent a traceparent — for an account's own
 * collector (PUT …/telemetry) on the shared Worker, and for a deployment's collector
 * (OTEL_EXPORTER_OTLP_ENDPOINT) on a Worker of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { admin, eventually, newAccount, stack } from "../helpers/gateway";
import { type CollectorDouble, type ReceivedSpan, startCollectorDouble } from "../otlp-collector-double/server";
import { startWorker } from "../setup/worker";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN = "00f067aa0ba902b7";

let collector: CollectorDouble;
beforeAll(async () => {
  collector = await startCollectorDouble();
});
afterAll(() => collector?.close());

async function chat(
  gatewayUrl: string,
  key: string,
  headers: Record<string, string> = {},
  body: Record<string, unknown> = {},
): Promise<string> {
  const res = await fetch(`${gatewayUrl}/proxy/openai/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify({
      model: "gpt-4o-mini",
      max_tokens: 200,
      messages: [{ role: "user", content: "hi" }],
      ...body,
    }),
  });
  await res.text();
  expect(res.status).toBe(200);
  return res.headers.get("x-tollgate-request-id")!;
}

const spanOf = (requestId: string) =>
  eventually(async () => collector.spans.find((s) => s.attributes["tollgate.request_id"] === requestId), 8000);

async function recordOf(key: string, id: string) {
  return eventually(async () => {
    const r = await fetch(`${stack().gatewayUrl}/v1/requests/${encodeURIComponent(id)}`, {
      headers: { authorization: `Bearer ${key}` },
    });
    return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
  });
}

describe("spans to the account's own collector", () => {
  it("configuring it: bad input names the fields; headers are never shown", async () => {
    const acc = await newAccount();
    const bad = await admin<{ error: { issues: { path: string }[] } }>("PUT", `/accounts/${acc.accountId}/telemetry`, {
      endpoint: "ftp://x",
      headers: { "bad header": "v" },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues.map((i) => i.path).sort()).toEqual(["endpoint", "headers.bad header"]);
    expect((await admin("GET", `/accounts/${acc.accountId}/telemetry`)).status).toBe(404);
    const put = await admin<{ endpoint: string; headerNames: string[] }>(
      "PUT",
      `/accounts/${acc.accountId}/telemetry`,
      {
        endpoint: "https://otlp.example.com:4318",
        headers: { "X-Api-Key": "secret" },
      },
    );
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ endpoint: "https://otlp.example.com:4318/v1/traces", headerNames: ["x-api-key"] });
    expect(JSON.stringify((await admin("GET", `/accounts/${acc.accountId}/telemetry`)).body)).not.toContain("secret");
    expect((await admin("DELETE", `/accounts/${acc.accountId}/telemetry`)).status).toBe(200);
    expect((await admin("GET", `/accounts/${acc.accountId}/telemetry`)).status).toBe(404);
  });

  it("one GenAI span per attempt, in the caller's trace, with the record's cost and attribution", async () => {
    const acc = await newAccount();
    const put = await admin("PUT", `/accounts/${acc.accountId}/telemetry`, {
      endpoint: collector.url,
      headers: { "x-collector-key": "k-123" },
    });
    expect(put.status).toBe(200);
    const id = await chat(
      stack().gatewayUrl,
      acc.key,
      {
        traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01`,
        tracestate: "app=1",
        "x-tollgate-tenant": "acme",
        "x-tollgate-feature": "summarize",
        "x-tollgate-workflow": "run-7",
        "x-double-cached-tokens": "4",
        "x-double-reasoning-tokens": "3",
      },
      { messages: [{ role: "user", content: "a question long enough to hold four cached tokens" }] },
    );
    const span = await spanOf(id);
    const record = await recordOf(acc.key, id);

    expect(span.traceId).toBe(TRACE_ID);
    expect(span.parentSpanId).toBe(PARENT_SPAN);
    expect(span.traceState).toBe("app=1");
    expect(span.kind).toBe(3);
    expect(span.name).toBe("chat gpt-4o-mini");
    expect(span.resource).toMatchObject({ "service.name": "tollgate", "tollgate.account.id": acc.accountId });
    const input =
      (record.inputTokens as number) + (record.cacheReadTokens as number) + (record.cacheWriteTokens as number);
    expect(span.attributes).toMatchObject({
      "gen_ai.operation.name": "chat",
      "gen_ai.provider.name": "openai",
      "gen_ai.request.model": "gpt-4o-mini",
      "gen_ai.response.model": record.modelAnswered,
      "gen_ai.request.max_tokens": 200,
      "gen_ai.usage.input_tokens": input,
      "gen_ai.usage.output_tokens": record.outputTokens,
      "gen_ai.usage.cache_read.input_tokens": 4,
      "gen_ai.usage.reasoning.output_tokens": 3,
      "tollgate.usage.input_tokens": record.inputTokens,
      "tollgate.cost.usd": Number(record.costUsd),
      "tollgate.price_version": record.priceVersion,
      "tollgate.usage.source": "reported",
      "tollgate.tenant": "acme",
      "tollgate.feature": "summarize",
      "tollgate.workflow": "run-7",
      "tollgate.env": "production",
      "tollgate.key.id": acc.keyId,
      "tollgate.budget.decision": "admitted",
      "tollgate.budget.checked": true,
      "tollgate.aborted": false,
      "http.response.status_code": 200,
    });
    // The span lasts as long as the call, by the gateway's clock.
    const latencyMs = Number((span.endNs - span.startNs) / 1_000_000n);
    expect(Math.abs(latencyMs - (record.latencyMs as number))).toBeLessThanOrEqual(1);
    const req = collector.requests.find((r) => r.status === 200 && r.headers["x-collector-key"] === "k-123");
    expect(req?.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("a stream the provider cut off is marked aborted and its usage estimated; an unsampled trace gets no span", async () => {
    const acc = await newAccount();
    await admin("PUT", `/accounts/${acc.accountId}/telemetry`, { endpoint: `${collector.url}/v1/traces` });
    const unsampled = await chat(stack().gatewayUrl, acc.key, { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-00` });
    const res = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${acc.key}`,
        "content-type": "application/json",
        "x-double-break-after": "5",
      },
      body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }),
    });
    await res.text().catch(() => "");
    const cut = await spanOf(res.headers.get("x-tollgate-request-id")!);
    expect(cut.attributes).toMatchObject({
      "tollgate.aborted": true,
      "tollgate.streamed": true,
      "tollgate.usage.source": "estimated",
    });
    // Its own trace: no traceparent was sent.
    expect(cut.parentSpanId).toBeNull();
    // The unsampled call finished first; its span would have come with the same batch or earlier.
    await recordOf(acc.key, unsampled);
    expect(collector.spans.some((s: ReceivedSpan) => s.attributes["tollgate.request_id"] === unsampled)).toBe(false);
  });
});

describe("a client that hangs up", () => {
  it("is marked cancelled; the provider's answer is still read to its end and metered", async () => {
    const acc = await newAccount();
    await admin("PUT", `/accounts/${acc.accountId}/telemetry`, { endpoint: collector.url });
    const ctrl = new AbortController();
    const res = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${acc.key}`,
        "content-type": "application/json",
        "x-double-output-tokens": "30",
        "x-double-chunk-delay-ms": "40",
      },
      body: JSON.stringify({ model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "hi" }] }),
      signal: ctrl.signal,
    });
    const id = res.headers.get("x-tollgate-request-id")!;
    const reader = res.body!.getReader();
    await reader.read();
    ctrl.abort();
    await reader.cancel().catch(() => {});
    const span = await spanOf(id);
    expect(span.attributes).toMatchObject({
      "tollgate.cancelled": true,
      "tollgate.aborted": false,
      "tollgate.usage.source": "reported",
      "gen_ai.usage.output_tokens": 30,
    });
  });
});

describe("spans to the deployment's collector", () => {
  it("OTEL_EXPORTER_OTLP_ENDPOINT and _HEADERS send every account's spans", async () => {
    const own = await startCollectorDouble();
    const worker = await startWorker({
      ...stack().workerVars,
      OTEL_EXPORTER_OTLP_ENDPOINT: own.url,
      OTEL_EXPORTER_OTLP_HEADERS: "authorization=Bearer%20deploy-token",
      OTEL_SERVICE_NAME: "tollgate-test",
      OTEL_BSP_SCHEDULE_DELAY: "50",
    });
    try {
      const acc = await newAccount();
      const id = await chat(worker.url, acc.key, { "x-tollgate-user": "u-9" });
      const span = await eventually(
        async () => own.spans.find((s) => s.attributes["tollgate.request_id"] === id),
        8000,
      );
      expect(span.resource).toEqual({ "service.name": "tollgate-test" });
      expect(span.attributes).toMatchObject({ "tollgate.user": "u-9", "tollgate.account.id": acc.accountId });
      expect(own.requests.find((r) => r.status === 200)?.headers.authorization).toBe("Bearer deploy-token");
    } finally {
      await worker.stop();
      await own.close();
    }
  });
});
