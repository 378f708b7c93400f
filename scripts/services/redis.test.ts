/**
 * redis-server lifecycle (startRedis / stop / persistence), the RESP parser and connection, and
 * the free-port helper.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { freePort, isPortFree } from "./ports";
import {
  connectRedis,
  encodeCommands,
  ensureRedisServer,
  RedisConnectionError,
  RedisReplyError,
  RespParser,
  type RespValue,
  startRedis,
} from "./redis";

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Parses `wire` fed in pieces of `step` bytes. */
function parseAll(wire: Buffer, step: number): RespValue[] {
  const out: RespValue[] = [];
  const parser = new RespParser((v) => out.push(v));
  for (let i = 0; i < wire.length; i += step) parser.feed(wire.subarray(i, i + step));
  return out;
}

describe("RespParser", () => {
  const utf8 = "héllo 🌍";
  const wire = Buffer.concat([
    Buffer.from("+OK\r\n-ERR bad thing\r\n:42\r\n:-7\r\n:9007199254740993\r\n$-1\r\n*-1\r\n*0\r\n$0\r\n\r\n"),
    Buffer.from(`$${Buffer.byteLength(utf8)}\r\n${utf8}\r\n`),
    Buffer.from("$6\r\n"),
    Buffer.from([0, 13, 10, 0xff, 0x80, 36]),
    Buffer.from("\r\n"),
    // EVAL-style nesting, an error inside an array (EXEC)
    Buffer.from("*4\r\n:1\r\n*3\r\n$3\r\ntwo\r\n*2\r\n:3\r\n*1\r\n$-1\r\n*0\r\n-WRONGTYPE nested\r\n+QUEUED\r\n"),
    // RESP3: null, booleans, double, big number, verbatim, map
    Buffer.from(
      "_\r\n#t\r\n#f\r\n,1.5\r\n(123456789012345678901234567890\r\n=8\r\ntxt:abcd\r\n%1\r\n$1\r\nk\r\n:1\r\n",
    ),
  ]);
  const expected: RespValue[] = [
    "OK",
    new RedisReplyError("ERR bad thing"),
    42,
    -7,
    9007199254740993n,
    null,
    null,
    [],
    Buffer.alloc(0),
    Buffer.from(utf8),
    Buffer.from([0, 13, 10, 0xff, 0x80, 36]),
    [1, [Buffer.from("two"), [3, [null]], []], new RedisReplyError("WRONGTYPE nested"), "QUEUED"],
    null,
    1,
    0,
    "1.5",
    123456789012345678901234567890n,
    Buffer.from("abcd"),
    [Buffer.from("k"), 1],
  ];

  for (const step of [1, 2, 3, 7, 64, 100_000]) {
    it(`parses every reply type fed ${step} byte(s) at a time`, () => {
      const got = parseAll(wire, step);
      expect(got).toEqual(expected);
      expect((got[1] as RedisReplyError).message).toBe("ERR bad thing");
      expect(got[1]).toBeInstanceOf(RedisReplyError);
    });
  }

  it("joins a large bulk string split over many chunks", () => {
    const payload = Buffer.alloc(1_000_003, 0x61);
    const wire2 = Buffer.concat([Buffer.from(`*2\r\n$${payload.length}\r\n`), payload, Buffer.from("\r\n:5\r\n")]);
    const got = parseAll(wire2, 1000);
    expect(got.length).toBe(1);
    const [bulk, five] = got[0] as [Buffer, number];
    expect(bulk.equals(payload)).toBe(true);
    expect(five).toBe(5);
  });

  it("encodes commands binary-safely", () => {
    expect(encodeCommands([["SET", "k", "ü"]])).toBe("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nü\r\n");
    expect(encodeCommands([["INCRBY", "k", 5], ["PING"]])).toBe(
      "*3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$1\r\n5\r\n*1\r\n$4\r\nPING\r\n",
    );
    const bin = encodeCommands([["SET", "k", Buffer.from([0, 13, 10])]]);
    expect(Buffer.isBuffer(bin)).toBe(true);
    expect((bin as Buffer).equals(Buffer.from("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\n\x00\r\n\r\n", "latin1"))).toBe(
      true,
    );
  });
});

describe("startRedis", () => {
  it("starts on a free port, answers over RESP, and stop() leaves no process and frees the port", async () => {
    const bin = await ensureRedisServer();
    expect(existsSync(bin)).toBe(true);
    const server = await startRedis();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(processExists(server.pid)).toBe(true);
    expect(await isPortFree(server.port)).toBe(false);
    const conn = await connectRedis({ port: server.port });
    try {
      expect(await conn.call("PING")).toBe("PONG");
      expect(await conn.call("SET", "k", Buffer.from([0xff, 0, 1]))).toBe("OK");
      expect(await conn.call("GET", "k")).toEqual(Buffer.from([0xff, 0, 1]));
      expect(await conn.call("GET", "missing")).toBeNull();
      // pipelining: many commands in flight, answered in order
      const replies = await Promise.all(Array.from({ length: 1000 }, () => conn.send(["INCR", "n"])));
      expect(replies).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
      expect(
        await conn.sendMany([
          ["INCR", "n"],
          ["HGET", "n", "f"],
          ["EVAL", "return {1,{'a',{2}}}", 0],
        ]),
      ).toEqual([
        1001,
        new RedisReplyError("WRONGTYPE Operation against a key holding the wrong kind of value"),
        [1, [Buffer.from("a"), [2]]],
      ]);
      await expect(conn.call("NOSUCHCMD")).rejects.toBeInstanceOf(RedisReplyError);
      // not persisting: nothing to save, and the data dir is a temporary one
      expect(await conn.call("CONFIG", "GET", "save")).toEqual([Buffer.from("save"), Buffer.from("")]);
      expect(await conn.call("CONFIG", "GET", "bind")).toEqual([Buffer.from("bind"), Buffer.from("127.0.0.1")]);
    } finally {
      await conn.close();
    }
    const dir = server.dir;
    await server.stop();
    await server.stop(); // idempotent
    expect(processExists(server.pid)).toBe(false);
    expect(await isPortFree(server.port)).toBe(true);
    expect(existsSync(dir)).toBe(false);
  });

  it("persists across restarts when given a dir", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "tollgate-redis-test-"));
    try {
      const first = await startRedis({ dir });
      let conn = await connectRedis({ port: first.port });
      await conn.call("SET", "kept", "yes");
      await conn.call("INCRBY", "money", 123456789);
      await conn.close();
      await first.stop();
      const port = await freePort();
      const second = await startRedis({ dir, port, persist: true });
      expect(second.port).toBe(port);
      conn = await connectRedis({ port });
      try {
        expect(await conn.call("GET", "kept")).toEqual(Buffer.from("yes"));
        expect(await conn.call("GET", "money")).toEqual(Buffer.from("123456789"));
      } finally {
        await conn.close();
        await second.stop();
      }
      expect(existsSync(dir)).toBe(true); // the caller's dir is left in place
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("fails clearly when the port is taken", async () => {
    const server = await startRedis();
    try {
      await expect(startRedis({ port: server.port })).rejects.toThrow(/exited|Address already in use/);
    } finally {
      await server.stop();
    }
  });
});

describe("connectRedis", () => {
  it("a refused connection fails at once; a dropped server fails waiting commands", async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(connectRedis({ port })).rejects.toBeInstanceOf(RedisConnectionError);
    expect(Date.now() - t0).toBeLessThan(1000);

    const server = await startRedis();
    const conn = await connectRedis({ port: server.port });
    const blocked = conn.send(["BLPOP", "nothing", "0"]).catch((e: unknown) => e);
    let closedWith: Error | undefined;
    conn.onClose((err) => {
      closedWith = err;
    });
    await server.stop();
    expect(await blocked).toBeInstanceOf(RedisConnectionError);
    expect(conn.isClosed).toBe(true);
    expect(closedWith).toBeInstanceOf(RedisConnectionError);
    await expect(conn.send(["PING"])).rejects.toBeInstanceOf(RedisConnectionError);
  });
});

describe("freePort", () => {
  it("returns distinct bindable ports", async () => {
    const ports = await Promise.all([freePort(), freePort(), freePort()]);
    for (const p of ports) {
      expect(p).toBeGreaterThan(0);
      expect(await isPortFree(p)).toBe(true);
    }
  });
});
