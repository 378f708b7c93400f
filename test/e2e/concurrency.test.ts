/**
 * Many overlapping calls in one Worker isolate: nothing of one request (a Redis pipeline, a
 * response body, a cached promise) may be touched by another — Workers refuse that with a 500
 * ("Cannot perform I/O on behalf of a different request"). Every call must succeed and be recorded.
 */
import pg from "pg";
import { describe, expect, it } from "vitest";
import { eventually, newAccount, stack } from "../helpers/gateway";

describe("overlapping calls in one isolate", () => {
  it("300 concurrent streamed and JSON calls all succeed and are all recorded", async () => {
    const acc = await newAccount();
    const workflow = `wf-${Date.now()}`;
    const calls = Array.from({ length: 300 }, (_, i) =>
      fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${acc.key}`,
          "content-type": "application/json",
          "x-tollgate-workflow": workflow,
          "x-double-chunks": "20",
          "x-double-chunk-delay-ms": "2",
          "x-double-delay-ms": "50",
        },
        body: JSON.stringify({
          model: "gpt-4o-mini",
          max_tokens: 50,
          stream: i % 2 === 0,
          messages: [{ role: "user", content: `call ${i}` }],
        }),
      }).then(async (r) => ({ status: r.status, body: await r.text() })),
    );
    const results = await Promise.all(calls);
    expect(results.filter((r) => r.status !== 200).map((r) => r.body.slice(0, 200))).toEqual([]);

    const client = new pg.Client({ connectionString: stack().databaseUrl });
    await client.connect();
    try {
      const n = await eventually(async () => {
        const r = await client.query(
          "select count(*)::int as n from request_records where account_id = $1 and workflow = $2",
          [acc.accountId, workflow],
        );
        return r.rows[0].n === 300 ? r.rows[0].n : undefined;
      }, 10_000);
      expect(n).toBe(300);
    } finally {
      await client.end();
    }
  });
});
