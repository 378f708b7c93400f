/**
 * The local Upstash REST endpoint against a real redis-server, driven by the real @upstash/redis
 * client (as the Worker uses it) and by raw HTTP for the exact wire shape.
 */
import { errors, Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServerHandle, startRedis } from "./redis";
import { startUpstashRest, type UpstashRestHandle } from "./upstash-rest";

const TOKEN = "test-token-Zx9";
let server: RedisServerHandle;
let rest: UpstashRestHandle;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  rest = await startUpstashRest({ redisPort: server.port, token: TOKEN });
  redis = new Redis({ url: rest.url, token: TOKEN, enableTelemetry: false });
}, 30_000);

afterAll(async () => {
  await rest?.stop();
  await server?.stop();
});

let n = 0;
const key = (name: string) => `t:${++n}:${name}`;

/** Raw POST: status and parsed JSON body. */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(rest.url + path, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as unknown, type: res.headers.get("content-type") };
}
const b64 = (s: string | Buffer) => Buffer.from(s).toString("base64");

describe("@upstash/redis client against the local endpoint", () => {
  it("sets and gets strings, UTF-8 included, and JSON objects (auto-deserialization)", async () => {
    const k = key("s");
    expect(await redis.set(k, "plain value")).toBe("OK");
    expect(await redis.get(k)).toBe("plain value");
    const text = "héllo wörld — 中文 🌍 \u0000 nul \r\n";
    await redis.set(k, text);
    expect(await redis.get(k)).toBe(text);
    await redis.set(k, "OK");
    expect(await redis.get(k)).toBe("OK");
    const obj = { a: 1, nested: { b: [1, "two", null] }, s: "ü" };
    await redis.set(k, obj);
    expect(await redis.get(k)).toEqual(obj);
    const raw = new Redis({ url: rest.url, token: TOKEN, automaticDeserialization: false, enableTelemetry: false });
    expect(await raw.get(k)).toBe(JSON.stringify(obj));
    expect(await redis.set(k, "v", { nx: true })).toBeNull();
    expect(await redis.set(k, "v2", { ex: 100 })).toBe("OK");
    expect(await redis.ttl(k)).toBeGreaterThan(90);
  });

  it("incr / incrby / decrby return numbers; a missing key is null", async () => {
    const k = key("n");
    expect(await redis.incr(k)).toBe(1);
    expect(await redis.incrby(k, 41)).toBe(42);
    expect(await redis.decrby(k, 2)).toBe(40);
    expect(await redis.get(k)).toBe(40);
    expect(await redis.get(key("missing"))).toBeNull();
    expect(await redis.del(key("missing"))).toBe(0);
    // nano-USD counters beyond 2^32 stay exact
    expect(await redis.incrby(k, 9_000_000_000_000)).toBe(9_000_000_000_040);
  });

  it("hset / hgetall / hincrby", async () => {
    const k = key("h");
    expect(await redis.hset(k, { a: "x", b: 2, c: "ü" })).toBe(3);
    expect(await redis.hgetall(k)).toEqual({ a: "x", b: 2, c: "ü" });
    expect(await redis.hincrby(k, "b", 5)).toBe(7);
    expect(await redis.hget(k, "nope")).toBeNull();
    expect(await redis.hgetall(key("none"))).toBeNull();
  });

  it("zadd / zrange / zscore", async () => {
    const k = key("z");
    expect(await redis.zadd(k, { score: 2, member: "b" }, { score: 1.5, member: "a" })).toBe(2);
    expect(await redis.zrange(k, 0, -1)).toEqual(["a", "b"]);
    expect(await redis.zrange(k, 0, -1, { withScores: true })).toEqual(["a", 1.5, "b", 2]);
    expect(await redis.zscore(k, "a")).toBe(1.5);
  });

  it("EVAL returns nested arrays of integers, strings, nil and status replies", async () => {
    const k = key("e");
    const script = `
      redis.call('SET', KEYS[1], ARGV[1])
      return {1, 'two', {3, 'four', {5, ARGV[1]}}, redis.call('GET', KEYS[1]), redis.status_reply('OK'), -7}`;
    expect(await redis.eval(script, [k], ["ünï"])).toEqual([1, "two", [3, "four", [5, "ünï"]], "ünï", "OK", -7]);
    expect(await redis.eval("return nil", [], [])).toBeNull();
    expect(await redis.eval("return 12345678901", [], [])).toBe(12345678901);
    expect(await redis.eval("return {}", [], [])).toEqual([]);
  });

  it("SCRIPT LOAD + EVALSHA; EVALSHA of an unknown sha raises NOSCRIPT as an UpstashError", async () => {
    const sha = await redis.scriptLoad("return {ARGV[1], tonumber(ARGV[2]) + 1}");
    expect(sha).toMatch(/^[0-9a-f]{40}$/);
    expect(await redis.evalsha(sha, [], ["x", "41"])).toEqual(["x", 42]);
    const err = await redis.evalsha("0".repeat(40), [], []).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errors.UpstashError);
    expect(String((err as Error).message)).toMatch(/NOSCRIPT/);
    // without auto-pipelining the single-command path (HTTP 400) says the same
    const plain = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false, enableTelemetry: false });
    const err2 = await plain.evalsha("0".repeat(40), [], []).catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(errors.UpstashError);
    expect(String((err2 as Error).message)).toMatch(/^NOSCRIPT/);
  });

  it("createScript: EVALSHA, falls back to EVAL on NOSCRIPT, then EVALSHA hits", async () => {
    const body = `return 'script-${Date.now()}-' .. ARGV[1]`;
    const script = redis.createScript<string>(body);
    expect(await script.exec([], ["a"])).toMatch(/-a$/);
    expect(await redis.scriptExists(script.sha1)).toEqual([1]);
    expect(await script.exec([], ["b"])).toMatch(/-b$/);
    expect(await script.evalsha([], ["c"])).toMatch(/-c$/);
  });

  it("WRONGTYPE passes through, for a single command and without auto-pipelining", async () => {
    const k = key("w");
    await redis.set(k, "string");
    await expect(redis.hget(k, "f")).rejects.toThrow(/WRONGTYPE Operation against a key holding the wrong kind/);
    const plain = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false, enableTelemetry: false });
    const err = await plain.lpush(k, "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errors.UpstashError);
    expect((err as Error).message).toMatch(/^WRONGTYPE/);
  });

  it("explicit pipeline: mixed results, one failing entry", async () => {
    const k = key("p");
    const p = redis.pipeline().set(k, "v").incr(k).get(k).hset(key("ph"), { f: 1 }).exists(k);
    await expect(p.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    const kept = await redis
      .pipeline()
      .set(k, "v2")
      .incr(k)
      .get(k)
      .zadd(key("pz"), { score: 1, member: "m" })
      .exec({ keepErrors: true });
    expect(kept.map((r) => r.result)).toEqual(["OK", undefined, "v2", 1]);
    expect(kept[1]!.error).toMatch(/^ERR value is not an integer/);
    expect(kept.filter((r) => r.error).length).toBe(1);
  });

  it("multi: atomic, mixed results; a runtime error fails only its entry", async () => {
    const k = key("m");
    const res = await redis.multi().set(k, 5).incrby(k, 10).get(k).exec();
    expect(res).toEqual(["OK", 15, 15]);
    const failing = redis.multi().set(k, "str").incr(k).get(k);
    await expect(failing.exec()).rejects.toThrow(/Command 2 \[ incr \] failed: ERR value is not an integer/);
    expect(await redis.get(k)).toBe("str"); // Redis semantics: the other commands did run
    const kept = await redis.multi().set(k, "a").incr(k).get(k).exec({ keepErrors: true });
    expect(kept.map((r) => [r.result, Boolean(r.error)])).toEqual([
      ["OK", false],
      [undefined, true],
      ["a", false],
    ]);
  });

  it("auto-pipelining: many concurrent commands in few requests", async () => {
    const auto = new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: true, enableTelemetry: false });
    const k = key("auto");
    const incrs = await Promise.all(Array.from({ length: 500 }, () => auto.incr(k)));
    expect([...incrs].sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    const mixed = await Promise.all([
      auto.get(k),
      auto.set(key("a2"), "x"),
      auto.hget(k, "nope").catch((e) => String(e)),
    ]);
    expect(mixed[0]).toBe(500);
    expect(mixed[1]).toBe("OK");
    expect(mixed[2]).toMatch(/WRONGTYPE/);
    expect((auto as unknown as { pipelineCounter: number }).pipelineCounter).toBeLessThan(10);
  });

  it("a wrong token is refused with UpstashError Unauthorized", async () => {
    const bad = new Redis({ url: rest.url, token: "wrong", enableTelemetry: false });
    const err = await bad.get("x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errors.UpstashError);
    expect((err as Error).message).toMatch(/Unauthorized/);
  });

  it("many concurrent clients and large values", async () => {
    const big = "x".repeat(3 * 1024 * 1024) + "ü";
    const k = key("big");
    await redis.set(k, big);
    const clients = Array.from(
      { length: 8 },
      () => new Redis({ url: rest.url, token: TOKEN, enableAutoPipelining: false, enableTelemetry: false }),
    );
    const results = await Promise.all([
      redis.get<string>(k),
      ...clients.flatMap((c, i) => Array.from({ length: 50 }, (_, j) => c.incr(key(`c${i}-${j % 5}`)))),
    ]);
    expect(results[0]).toBe(big);
  });
});

describe("wire shape (raw HTTP)", () => {
  it("single command: 200 {result}, JSON content type", async () => {
    const k = key("raw");
    expect(await post("/", ["SET", k, "vä"])).toEqual({
      status: 200,
      body: { result: "OK" },
      type: "application/json",
    });
    expect((await post("/", ["GET", k])).body).toEqual({ result: "vä" });
    expect((await post("/", ["INCRBY", key("i"), 5])).body).toEqual({ result: 5 });
    expect((await post("/", ["GET", key("none")])).body).toEqual({ result: null });
    expect((await post("/", ["SET", k, 12.5])).body).toEqual({ result: "OK" });
    expect((await post("/", ["GET", k])).body).toEqual({ result: "12.5" });
    expect((await post("/", ["SET", k, true])).body).toEqual({ result: "OK" });
    expect((await post("/", ["GET", k])).body).toEqual({ result: "true" });
  });

  it("errors: 400 {error} for a command, bad JSON, null argument; 401 without or with a wrong token", async () => {
    expect(await post("/", ["NOSUCHCMD", "x"])).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^ERR unknown command/) },
    });
    const k = key("wt");
    await post("/", ["SET", k, "s"]);
    expect(await post("/", ["HGET", k, "f"])).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^WRONGTYPE/) },
    });
    expect(await post("/", "not json")).toMatchObject({ status: 400, body: { error: expect.any(String) } });
    expect(await post("/", ["SET", k, null])).toMatchObject({ status: 400 });
    expect(await post("/", [])).toMatchObject({ status: 400 });
    expect(await post("/", ["SUBSCRIBE", "ch"])).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/not available/) },
    });
    const none = await fetch(rest.url + "/", { method: "POST", body: '["PING"]' });
    expect([none.status, await none.json()]).toEqual([401, { error: "Unauthorized" }]);
    expect(await post("/", ["PING"], { authorization: "Bearer nope" })).toEqual({
      status: 401,
      body: { error: "Unauthorized" },
      type: "application/json",
    });
  });

  it("Upstash-Encoding: base64 encodes every string, recursively; integers and null stay; top-level OK stays", async () => {
    const H = { "upstash-encoding": "base64" };
    const k = key("b64");
    expect((await post("/", ["SET", k, "OK"], H)).body).toEqual({ result: "OK" });
    expect((await post("/", ["GET", k], H)).body).toEqual({ result: b64("OK") });
    expect((await post("/", ["PING"], H)).body).toEqual({ result: b64("PONG") });
    expect((await post("/", ["INCR", key("c")], H)).body).toEqual({ result: 1 });
    expect((await post("/", ["GET", key("none")], H)).body).toEqual({ result: null });
    const nested = await post("/", ["EVAL", "return {1, 'ä', {2, 'b', {redis.status_reply('OK')}}, false}", "0"], H);
    expect(nested.body).toEqual({ result: [1, b64("ä"), [2, b64("b"), [b64("OK")]], null] });
    const pipe = await post(
      "/pipeline",
      [
        ["SET", k, "x"],
        ["GET", k],
        ["INCR", k],
        ["LRANGE", key("none"), 0, -1],
      ],
      H,
    );
    expect(pipe).toEqual({
      status: 200,
      type: "application/json",
      body: [
        { result: "OK" },
        { result: b64("x") },
        { error: "ERR value is not an integer or out of range" },
        { result: [] },
      ],
    });
  });

  it("binary values round-trip exactly through base64 (path form with a POST body)", async () => {
    const k = key("bin");
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 13, 10, 0xc3]);
    const res = await fetch(`${rest.url}/set/${encodeURIComponent(k)}`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
      body: bytes,
    });
    expect(await res.json()).toEqual({ result: "OK" });
    expect((await post("/", ["GET", k], { "upstash-encoding": "base64" })).body).toEqual({
      result: bytes.toString("base64"),
    });
    expect((await post("/", ["STRLEN", k])).body).toEqual({ result: bytes.length });
  });

  it("path form: /set/k/v, query arguments, _token", async () => {
    const k = key("path");
    const auth = { authorization: `Bearer ${TOKEN}` };
    const set = await fetch(`${rest.url}/set/${k}/a%20b%2Fc?EX=100`, { headers: auth });
    expect([set.status, await set.json()]).toEqual([200, { result: "OK" }]);
    const get = await fetch(`${rest.url}/get/${k}?_token=${TOKEN}`);
    expect(await get.json()).toEqual({ result: "a b/c" });
    expect(await (await fetch(`${rest.url}/ttl/${k}`, { headers: auth })).json()).toEqual({ result: 100 });
    expect((await fetch(`${rest.url}/get/${k}`)).status).toBe(401);
  });

  it("pipeline: per-entry errors (NOSCRIPT, WRONGTYPE, refused) with status 200", async () => {
    const k = key("pe");
    const res = await post("/pipeline", [
      ["SET", k, "s"],
      ["EVALSHA", "0".repeat(40), "0"],
      ["HGET", k, "f"],
      ["MULTI"],
      ["GET", k],
    ]);
    expect(res.status).toBe(200);
    const body = res.body as { result?: unknown; error?: string }[];
    expect(body.map((e) => e.result ?? e.error!.split(" ")[0])).toEqual(["OK", "NOSCRIPT", "WRONGTYPE", "ERR", "s"]);
    expect((await post("/pipeline", [])).body).toEqual([]);
    expect((await post("/pipeline", [["GET", k], "GET"])).status).toBe(400);
  });

  it("multi-exec: results per entry; a command that cannot be queued aborts the whole transaction", async () => {
    const k = key("tx");
    const ok = await post("/multi-exec", [
      ["SET", k, "1"],
      ["INCR", k],
      ["HGET", k, "f"],
      ["GET", k],
    ]);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual([
      { result: "OK" },
      { result: 2 },
      { error: expect.stringMatching(/^WRONGTYPE/) },
      { result: "2" },
    ]);
    const aborted = await post("/multi-exec", [["SET", k, "changed"], ["NOSUCHCMD"]]);
    expect(aborted).toMatchObject({
      status: 400,
      body: { error: expect.stringMatching(/^EXECABORT .*unknown command/) },
    });
    expect((await post("/", ["GET", k])).body).toEqual({ result: "2" });
    expect((await post("/multi-exec", [["WATCH", k]])).status).toBe(400);
  });

  it("a transaction is never interleaved with concurrent commands on the shared connections", async () => {
    const k = key("iso");
    await post("/", ["SET", k, "0"]);
    // Each transaction reads, increments twice and reads again; concurrent INCRs must not land
    // between its commands.
    const txs = Array.from({ length: 40 }, () =>
      post("/multi-exec", [
        ["GET", k],
        ["INCR", k],
        ["INCR", k],
        ["GET", k],
      ]),
    );
    const noise = Array.from({ length: 200 }, () => post("/", ["INCR", k]));
    const results = await Promise.all(txs);
    await Promise.all(noise);
    for (const r of results) {
      const [a, , , d] = r.body as { result: string }[];
      expect(Number(d!.result) - Number(a!.result)).toBe(2);
    }
    expect((await post("/", ["GET", k])).body).toEqual({ result: String(40 * 2 + 200) });
  });

  it("a blocking command runs on its own connection and does not hold up others", async () => {
    const list = key("blk");
    const blocked = post("/", ["BLPOP", list, "2"]);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => post("/", ["PING"])));
    expect(Date.now() - t0).toBeLessThan(500);
    await post("/", ["RPUSH", list, "item"]);
    expect((await blocked).body).toEqual({ result: [list, "item"] });
  });

  it("405 for GET /pipeline", async () => {
    const res = await fetch(rest.url + "/pipeline", { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(405);
  });
});

describe("when Redis goes away", () => {
  it("answers 503 at once and the client raises quickly; recovers when Redis is back", async () => {
    const own = await startRedis();
    const port = own.port;
    const endpoint = await startUpstashRest({ redisPort: port, token: TOKEN, connectTimeoutMs: 500 });
    const client = new Redis({ url: endpoint.url, token: TOKEN, retry: false, enableTelemetry: false });
    try {
      expect(await client.set("k", "v")).toBe("OK");
      await own.stop();
      for (const attempt of [1, 2]) {
        const t0 = Date.now();
        const err = await client.get("k").catch((e: unknown) => e);
        expect(err, `attempt ${attempt}`).toBeInstanceOf(errors.UpstashError);
        expect((err as Error).message).toMatch(/Redis/);
        expect(Date.now() - t0).toBeLessThan(1000);
      }
      const raw = await fetch(endpoint.url, {
        method: "POST",
        headers: { authorization: `Bearer ${TOKEN}` },
        body: '["PING"]',
      });
      expect(raw.status).toBe(503);
      expect(((await raw.json()) as { error: string }).error).toMatch(/^ERR /);
      // Redis back on the same port: the endpoint reconnects by itself.
      const again = await startRedis({ port });
      try {
        expect(await client.set("k", "v2")).toBe("OK");
        expect(await client.get("k")).toBe("v2");
      } finally {
        await again.stop();
      }
    } finally {
      await endpoint.stop();
      await own.stop();
    }
  }, 20_000);

  it("a hung Redis (SIGSTOP) gives an error after commandTimeoutMs, not a hang", async () => {
    const own = await startRedis();
    const endpoint = await startUpstashRest({ redisPort: own.port, token: TOKEN, commandTimeoutMs: 300 });
    const client = new Redis({ url: endpoint.url, token: TOKEN, retry: false, enableTelemetry: false });
    try {
      expect(await client.incr("c")).toBe(1);
      process.kill(own.pid, "SIGSTOP");
      const t0 = Date.now();
      await expect(client.incr("c")).rejects.toThrow(/no reply from Redis/);
      expect(Date.now() - t0).toBeLessThan(1500);
    } finally {
      process.kill(own.pid, "SIGCONT");
      await endpoint.stop();
      await own.stop();
    }
  }, 20_000);

  it("refuses to start when Redis is not there, saying so", async () => {
    const own = await startRedis();
    const port = own.port;
    await own.stop();
    await expect(startUpstashRest({ redisPort: port, token: TOKEN })).rejects.toThrow(/cannot reach Redis/);
  });
});
