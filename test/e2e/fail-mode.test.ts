/**
 * Redis unreachable. FAIL_MODE=open forwards the call and records it with budgetChecked=false;
 * FAIL_MODE=closed refuses with a clear 503 in the provider's shape and forwards nothing.
 * Each case runs a Worker of its own pointed at a port where no Redis endpoint listens.
 */
import { describe, expect, it } from "vitest";
import { freePort } from "../../scripts/services/ports";
import { eventually, newAccount, stack } from "../helpers/gateway";
import { startWorker } from "../setup/worker";

async function workerWithoutRedis(failMode: "open" | "closed") {
  const deadPort = await freePort();
  return startWorker({
    ...stack().workerVars,
    UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${deadPort}`,
    FAIL_MODE: failMode,
  });
}

const body = JSON.stringify({ model: "gpt-4o-mini", max_tokens: 50, messages: [{ role: "user", content: "hi" }] });

describe("FAIL_MODE with Redis down", () => {
  it("open: the call goes through and is recorded with budgetChecked=false", async () => {
    const acc = await newAccount();
    const worker = await workerWithoutRedis("open");
    try {
      const res = await fetch(`${worker.url}/proxy/openai/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${acc.key}`, "content-type": "application/json" },
        body,
      });
      expect(res.status).toBe(200);
      const answer = (await res.json()) as { usage: { completion_tokens: number } };
      const id = res.headers.get("x-tollgate-request-id")!;
      // Read it back through the healthy gateway (same Postgres).
      const record = await eventually(async () => {
        const r = await fetch(`${stack().gatewayUrl}/v1/requests/${encodeURIComponent(id)}`, {
          headers: { authorization: `Bearer ${acc.key}` },
        });
        return r.status === 200 ? ((await r.json()) as { budgetChecked: boolean; outputTokens: number }) : undefined;
      });
      expect(record.budgetChecked).toBe(false);
      expect(record.outputTokens).toBe(answer.usage.completion_tokens);
      const health = (await (await fetch(`${worker.url}/health`)).json()) as {
        redis: { ok: boolean };
        budgets: string;
      };
      expect(health.redis.ok).toBe(false);
      expect(health.budgets).toBe("unchecked (FAIL_MODE=open)");
    } finally {
      await worker.stop();
    }
  });

  it("closed: 503 in the provider's shape, nothing forwarded", async () => {
    const acc = await newAccount();
    const worker = await workerWithoutRedis("closed");
    const before = ((await (await fetch(`${stack().doubleUrl}/__double/requests`)).json()) as unknown[]).length;
    try {
      const res = await fetch(`${worker.url}/proxy/anthropic/v1/messages`, {
        method: "POST",
        headers: { "x-api-key": acc.key, "anthropic-version": "2023-06-01", "content-type": "application/json" },
        body: JSON.stringify({
          model: "claude-3-5-haiku-20241022",
          max_tokens: 50,
          messages: [{ role: "user", content: "hi" }],
        }),
      });
      expect(res.status).toBe(503);
      const err = (await res.json()) as { type: string; error: { type: string; message: string } };
      expect(err.type).toBe("error");
      expect(err.error.message).toMatch(/FAIL_MODE=closed/);
      const after = (await (await fetch(`${stack().doubleUrl}/__double/requests`)).json()) as {
        headers: Record<string, string>;
      }[];
      expect(after.slice(before).some((r) => r.headers["x-api-key"] === "sk-ant-test")).toBe(false);
    } finally {
      await worker.stop();
    }
  });
});
