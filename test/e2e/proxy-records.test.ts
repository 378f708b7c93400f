/**
 * Cost records: what GET /v1/requests/{id} shows and to whom (404 for another account's key), that
 * no prompt or completion is stored anywhere (a marker scanned for in every Postgres table and every
 * Redis key and value), unknown models recorded unpriced with their tokens and listed by the admin
 * API, account price overrides applied to the recorded cost, and custom providers (OpenAI- and
 * Anthropic-compatible) registered per account, proxied and metered.
 */
import { randomUUID } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import { Redis } from "@upstash/redis";
import OpenAI from "openai";
import pg from "pg";
import { describe, expect, it } from "vitest";
import { nanoToUsd } from "../../src/lib/money";
import { type AccountPriceOverride, catalogVersion, priceUsage } from "../../src/pricing";
import { emptyUsage } from "../../src/usage";
import { admin, newAccount, stack } from "../helpers/gateway";
import {
  anthropicClient,
  callId,
  capturingFetch,
  expectPricedRecord,
  getRecord,
  openaiClient,
  openaiStreamUsage,
  record,
  recordUsage,
  replay,
  text,
  upstreamCall,
  usageAnthropic,
  usageOpenAIChat,
} from "../helpers/proxy";

const HAIKU = "claude-haiku-4-5-20251001";

/** Every row of every table of the stack's Postgres, as text. */
async function allPostgresText(): Promise<string[]> {
  const client = new pg.Client({ connectionString: stack().databaseUrl });
  await client.connect();
  try {
    const tables = await client.query<{ s: string; t: string }>(
      `select table_schema as s, table_name as t from information_schema.tables
       where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
    );
    expect(tables.rows.map((r) => r.t)).toContain("request_records");
    const out: string[] = [];
    for (const { s, t } of tables.rows) {
      const rows = await client.query<{ row: string }>(`select x::text as row from "${s}"."${t}" x`);
      for (const r of rows.rows) out.push(`${s}.${t}: ${r.row}`);
    }
    return out;
  } finally {
    await client.end();
  }
}

/** Every key of the stack's Redis and everything stored under it, as text. */
async function allRedisText(): Promise<string[]> {
  const redis = new Redis({ url: stack().upstashUrl, token: stack().upstashToken, automaticDeserialization: false });
  const out: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, { count: 1000 });
    cursor = String(next);
    for (const key of keys) {
      const type: string = await redis.type(key);
      let value: unknown;
      if (type === "string") value = await redis.get(key);
      else if (type === "hash") value = await redis.hgetall(key);
      else if (type === "list") value = await redis.lrange(key, 0, -1);
      else if (type === "set") value = await redis.smembers(key);
      else if (type === "zset") value = await redis.zrange(key, 0, -1, { withScores: true });
      else if (type === "stream") value = await redis.xrange(key, "-", "+");
      else value = `(${type})`;
      out.push(`${key} = ${JSON.stringify(value)}`);
    }
  } while (cursor !== "0");
  return out;
}

describe("privacy: neither the prompt nor the completion is stored", () => {
  it("a marker sent in every kind of prompt, and the completion text, appear in no table and no Redis key", async () => {
    const acc = await newAccount();
    const marker = `PRIVATE-${randomUUID()}`;
    const cap = capturingFetch();
    const oai = openaiClient(acc.key, { fetch: cap.fetch });
    const ant = anthropicClient(acc.key, { fetch: cap.fetch });
    const long = { "x-double-output-tokens": "64" };
    const ids: string[] = [];
    const id = (r: { response: Response }) => ids.push(r.response.headers.get("x-tollgate-request-id")!);

    id(
      await oai.chat.completions
        .create(
          {
            model: "gpt-4o-mini",
            messages: [
              { role: "system", content: `sys ${marker}` },
              { role: "user", content: marker },
            ],
          },
          { headers: long },
        )
        .withResponse(),
    );
    const s = await oai.chat.completions
      .create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: `stream ${marker}` }] },
        { headers: long },
      )
      .withResponse();
    for await (const _ of s.data) {
      // drain
    }
    id(s);
    id(
      await oai.completions.create({ model: "gpt-3.5-turbo-instruct", prompt: marker, max_tokens: 64 }).withResponse(),
    );
    id(await oai.embeddings.create({ model: "text-embedding-3-small", input: marker }).withResponse());
    id(
      await oai.responses
        .create({ model: "gpt-4.1-mini", input: marker, instructions: marker }, { headers: long })
        .withResponse(),
    );
    id(
      await ant.messages
        .create(
          { model: HAIKU, max_tokens: 200, system: marker, messages: [{ role: "user", content: marker }] },
          { headers: long },
        )
        .withResponse(),
    );
    const as = await ant.messages
      .create(
        { model: HAIKU, max_tokens: 200, stream: true, messages: [{ role: "user", content: `stream ${marker}` }] },
        { headers: long },
      )
      .withResponse();
    for await (const _ of as.data) {
      // drain
    }
    id(as);
    // An upstream error and a cut-off stream (estimated from the streamed text) too.
    await oai.chat.completions
      .create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: marker }] },
        { headers: { "x-double-status": "500" } },
      )
      .catch(() => {});
    const cut = await oai.chat.completions
      .create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: `cut ${marker}` }] },
        { headers: { ...long, "x-double-break-after": "20" } },
      )
      .withResponse();
    await (async () => {
      for await (const _ of cut.data) {
        // until the cut
      }
    })().catch(() => {});
    id(cut);

    // The completions the client got (long, PRNG-chosen words: no other data holds them).
    const completions: string[] = [];
    const first = JSON.parse(text(await cap.calls[0]!.bytes)).choices[0].message.content as string;
    completions.push(first);
    const anthropicJson = cap.calls.find(
      (c) => c.url.endsWith("/v1/messages") && c.headers.get("content-type") === "application/json",
    );
    completions.push(JSON.parse(text(await anthropicJson!.bytes)).content[0].text as string);
    for (const c of completions) expect(c.length).toBeGreaterThan(100);

    for (const rid of ids) await record(acc.key, rid);

    const rows = await allPostgresText();
    // The scan sees the records (control), and none of them holds the prompt or the completion.
    expect(rows.filter((r) => r.includes(ids[0]!))).toHaveLength(1);
    expect(rows.filter((r) => r.includes(marker))).toEqual([]);
    for (const c of completions) expect(rows.filter((r) => r.includes(c) || r.includes(c.slice(20, 80)))).toEqual([]);

    const keys = await allRedisText();
    expect(keys.some((k) => k.includes(acc.accountId))).toBe(true); // control
    expect(keys.filter((k) => k.includes(marker))).toEqual([]);
    for (const c of completions) expect(keys.filter((k) => k.includes(c.slice(20, 80)))).toEqual([]);
  }, 30_000);
});

describe("GET /v1/requests/{id}", () => {
  it("the account's own records only: 404 for another account's key, for unknown ids; 401 without a key", async () => {
    const a = await newAccount();
    const b = await newAccount();
    const { response } = await openaiClient(a.key)
      .chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "mine" }] })
      .withResponse();
    const id = response.headers.get("x-tollgate-request-id")!;
    const rec = await record(a.key, id);
    expect(rec).toMatchObject({ id, accountId: a.accountId, keyId: a.keyId });
    expect(await getRecord(b.key, id)).toMatchObject({ status: 404 });
    expect((await getRecord(a.key, `${id}x`)).status).toBe(404);
    const anon = await fetch(`${stack().gatewayUrl}/v1/requests/${id}`);
    expect(anon.status).toBe(401);
  });

  it("shows the price version, the rates applied, timings and the budget check", async () => {
    const acc = await newAccount();
    const { data, response } = await openaiClient(acc.key)
      .chat.completions.create(
        { model: "gpt-4o-mini", stream: true, messages: [{ role: "user", content: "timings" }] },
        { headers: { "x-double-delay-ms": "120" } },
      )
      .withResponse();
    for await (const _ of data) {
      // drain
    }
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.priceVersion).toBe(catalogVersion);
    expect(rec.ratesApplied).toMatchObject({ modelId: "gpt-4o-mini", provider: "openai" });
    expect(rec.ttftMs).toBeGreaterThanOrEqual(120);
    expect(rec.latencyMs).toBeGreaterThanOrEqual(rec.ttftMs!);
    expect(rec.budgetChecked).toBe(true);
    expect(Date.parse(rec.finishedAt)).toBeGreaterThanOrEqual(Date.parse(rec.startedAt));
  });
});

describe("unknown models and account prices", () => {
  it("a model the catalog does not know: forwarded, recorded unpriced with its tokens, listed as unpriced", async () => {
    const acc = await newAccount();
    const asked = `acme-private-llm-${randomUUID().slice(0, 8)}`;
    const answered = `${asked}-2026-01-15`;
    const client = openaiClient(acc.key);
    const one = await client.chat.completions
      .create({ model: asked, messages: [{ role: "user", content: "who prices me?" }] })
      .withResponse();
    expect(one.data.usage?.total_tokens).toBeGreaterThan(0);
    const two = await client.chat.completions
      .create(
        { model: asked, messages: [{ role: "user", content: "and me?" }] },
        { headers: { "x-double-model": answered } },
      )
      .withResponse();
    expect(two.data.model).toBe(answered);
    const r1 = await record(acc.key, one.response.headers.get("x-tollgate-request-id")!);
    const r2 = await record(acc.key, two.response.headers.get("x-tollgate-request-id")!);
    for (const [r, usage] of [
      [r1, one.data.usage],
      [r2, two.data.usage],
    ] as const) {
      expect(r).toMatchObject({ priced: false, costUsd: "0.00", usageSource: "reported" });
      expect(recordUsage(r)).toEqual({ ...emptyUsage(), ...usageOpenAIChat("openai", usage!) });
      expect(r.outputTokens).toBe(16);
    }
    expect(r2).toMatchObject({ modelRequested: asked, modelAnswered: answered, model: answered });
    const list = await admin<
      { provider: string; model: string; calls: number; inputTokens: number; outputTokens: number }[]
    >("GET", `/accounts/${acc.accountId}/unpriced`);
    expect(list.status).toBe(200);
    expect(list.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          provider: "openai",
          model: asked,
          calls: 1,
          inputTokens: r1.inputTokens,
          outputTokens: 16,
        }),
        expect.objectContaining({ provider: "openai", model: answered, calls: 1, outputTokens: 16 }),
      ]),
    );
  });

  it("a dated snapshot answered for a catalog model is priced as that model", async () => {
    const acc = await newAccount();
    const { data, response } = await openaiClient(acc.key)
      .chat.completions.create(
        { model: "gpt-4o-mini", messages: [{ role: "user", content: "snapshot" }] },
        { headers: { "x-double-model": "gpt-4o-mini-2024-07-18" } },
      )
      .withResponse();
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec.modelAnswered).toBe("gpt-4o-mini-2024-07-18");
    expectPricedRecord(rec, usageOpenAIChat("openai", data.usage!), {
      provider: "openai",
      model: "gpt-4o-mini-2024-07-18",
    });
  });

  it("an account discount on gpt-4o-mini changes the recorded cost accordingly", async () => {
    const acc = await newAccount();
    const client = openaiClient(acc.key);
    const ask = { model: "gpt-4o-mini", messages: [{ role: "user" as const, content: "price me twice" }] };
    const before = await client.chat.completions.create(ask).withResponse();
    const put = await admin<{ effectiveFrom: string; discountPercent: number }>(
      "PUT",
      `/accounts/${acc.accountId}/prices/openai/gpt-4o-mini`,
      { discountPercent: 25 },
    );
    expect(put.status).toBe(200);
    const after = await client.chat.completions.create(ask).withResponse();
    const r0 = await record(acc.key, before.response.headers.get("x-tollgate-request-id")!);
    const r1 = await record(acc.key, after.response.headers.get("x-tollgate-request-id")!);
    const usage = usageOpenAIChat("openai", after.data.usage!);
    expectPricedRecord(r0, usage, { provider: "openai", model: "gpt-4o-mini" });
    const overrides: AccountPriceOverride[] = [
      {
        provider: "openai",
        model: "gpt-4o-mini",
        effectiveFrom: new Date(put.body.effectiveFrom),
        discountPercent: 25,
      },
    ];
    expectPricedRecord(r1, usage, { provider: "openai", model: "gpt-4o-mini", overrides });
    expect(Number(r1.costUsd)).toBeCloseTo(Number(r0.costUsd) * 0.75, 12);
    expect(r1.costUsd).not.toBe(r0.costUsd);
  });
});

describe("custom providers", () => {
  it("PUT …/providers/mycorp (OpenAI format) → /proxy/mycorp works, is metered, priced by account rates", async () => {
    const acc = await newAccount({ providers: [] });
    const put = await admin("PUT", `/accounts/${acc.accountId}/providers/mycorp`, {
      baseUrl: `${stack().doubleUrl}/openai/v1`,
      format: "openai",
      apiKey: "sk-mycorp-secret",
    });
    expect(put.status).toBe(200);
    const listed = await admin<unknown[]>("GET", `/accounts/${acc.accountId}/providers`);
    expect(listed.body).toEqual([
      expect.objectContaining({ provider: "mycorp", builtin: false, hasApiKey: true, format: "openai" }),
    ]);
    expect(JSON.stringify(listed.body)).not.toContain("sk-mycorp-secret");
    const rates = await admin<{ effectiveFrom: string }>("PUT", `/accounts/${acc.accountId}/prices/mycorp/*`, {
      rates: { inputUsd: "1.00", outputUsd: "3.00" },
    });
    expect(rates.status).toBe(200);

    const cap = capturingFetch();
    const client = openaiClient(acc.key, { provider: "mycorp", fetch: cap.fetch });
    const jid = callId();
    const j = await client.chat.completions
      .create(
        { model: "mycorp-llm", messages: [{ role: "user", content: "custom" }] },
        { headers: { "x-e2e-call": jid } },
      )
      .withResponse();
    const jup = await upstreamCall(jid);
    expect(jup.path).toBe("/openai/v1/chat/completions");
    expect(jup.headers.authorization).toBe("Bearer sk-mycorp-secret");
    const overrides: AccountPriceOverride[] = [
      {
        provider: "mycorp",
        model: "*",
        effectiveFrom: new Date(rates.body.effectiveFrom),
        rates: { input: 1e9, output: 3e9 },
      },
    ];
    const jr = await record(acc.key, j.response.headers.get("x-tollgate-request-id")!);
    expect(jr).toMatchObject({ provider: "mycorp", model: "mycorp-llm", endpoint: "chat" });
    expectPricedRecord(jr, usageOpenAIChat("openai", j.data.usage!), {
      provider: "mycorp",
      model: "mycorp-llm",
      overrides,
    });

    // Streamed: a custom OpenAI-compatible provider gets include_usage asked for and stripped, too.
    const sid = callId();
    const s = await client.chat.completions
      .create(
        { model: "mycorp-llm", stream: true, messages: [{ role: "user", content: "custom stream" }] },
        { headers: { "x-e2e-call": sid } },
      )
      .withResponse();
    for await (const _ of s.data) {
      // drain
    }
    const sup = await upstreamCall(sid);
    expect(JSON.parse(sup.body).stream_options).toEqual({ include_usage: true });
    const direct = await replay(sup);
    const sr = await record(acc.key, s.response.headers.get("x-tollgate-request-id")!);
    expect(sr.streamed).toBe(true);
    expectPricedRecord(sr, usageOpenAIChat("openai", openaiStreamUsage(direct.text)!), {
      provider: "mycorp",
      model: "mycorp-llm",
      overrides,
    });

    // Another account does not have it.
    const other = await newAccount();
    const err = await openaiClient(other.key, { provider: "mycorp" })
      .chat.completions.create({ model: "mycorp-llm", messages: [{ role: "user", content: "x" }] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("an Anthropic-format custom provider works with the Anthropic SDK", async () => {
    const acc = await newAccount({ providers: [] });
    const put = await admin("PUT", `/accounts/${acc.accountId}/providers/myclaude`, {
      baseUrl: `${stack().doubleUrl}/anthropic`,
      format: "anthropic",
      apiKey: "sk-ant-myclaude",
    });
    expect(put.status).toBe(200);
    const client = new Anthropic({
      apiKey: acc.key,
      baseURL: `${stack().gatewayUrl}/proxy/myclaude`,
      maxRetries: 0,
    });
    const id = callId();
    const { data, response } = await client.messages
      .create(
        { model: HAIKU, max_tokens: 50, messages: [{ role: "user", content: "custom anthropic" }] },
        { headers: { "x-e2e-call": id } },
      )
      .withResponse();
    const up = await upstreamCall(id);
    expect(up.path).toBe("/anthropic/v1/messages");
    expect(up.headers["x-api-key"]).toBe("sk-ant-myclaude");
    expect(up.headers.authorization).toBeUndefined();
    const rec = await record(acc.key, response.headers.get("x-tollgate-request-id")!);
    expect(rec).toMatchObject({ provider: "myclaude", endpoint: "messages", usageSource: "reported" });
    expect(recordUsage(rec)).toEqual({ ...emptyUsage(), ...usageAnthropic(data.usage) });
    // Not a catalog provider: recorded with its tokens, unpriced (never silently $0 as if priced).
    const price = priceUsage({
      provider: "myclaude",
      model: HAIKU,
      usage: recordUsage(rec),
      at: new Date(rec.startedAt),
    });
    expect(rec.priced).toBe(price.priced);
    if (price.priced) expect(rec.costUsd).toBe(nanoToUsd(price.costNano));
  });

  it("bad custom provider input: 400 naming baseUrl and format", async () => {
    const acc = await newAccount({ providers: [] });
    const res = await admin<{ error: { issues: { path: string }[] } }>(
      "PUT",
      `/accounts/${acc.accountId}/providers/newcorp`,
      {
        apiKey: "k",
      },
    );
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i) => i.path).sort()).toEqual(["baseUrl", "format"]);
  });
});
