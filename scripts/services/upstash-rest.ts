/**
 * A local endpoint that speaks the Upstash Redis REST protocol to a real redis-server, so the
 * unmodified `@upstash/redis` client (and the Worker) run against it exactly as against Upstash.
 *
 * Protocol, as @upstash/redis 1.39 uses it (its HTTP client and its pipeline, in node_modules/@upstash/redis):
 *   POST /            body ["SET","k","v"]            → 200 {"result": …} | 400 {"error": "ERR …"}
 *   POST /pipeline    body [["SET","k","v"],["GET","k"]] → 200 [{"result": …} | {"error": …}, …]
 *   POST /multi-exec  same body, run as MULTI … EXEC   → 200 [{"result": …} | {"error": …}, …],
 *                     400 {"error": "EXECABORT …"} when a command could not be queued
 *   GET|POST /set/k/v?EX=100   the path form; a POST body is appended as the last argument
 * Auth: `Authorization: Bearer <token>` (or `?_token=`); otherwise 401 {"error":"Unauthorized"}.
 * `Upstash-Encoding: base64` (the client's default): every bulk and simple string in a result is
 * base64 of its bytes, recursively in arrays — except a top-level "OK", which stays "OK" as the
 * client expects; integers and null stay as they are; error messages are never encoded.
 * Arguments: strings, numbers and booleans (as their JSON text); anything else is a 400.
 * Redis unreachable or not answering: 503 {"error": "ERR …"} at once, never a hang.
 *
 * Connections: a small pool of persistent RESP connections, each pipelined; a request goes to the
 * least busy one, and a pool slot grows when all are busy. A pipeline or a MULTI … EXEC is written
 * to its connection in ONE write, so nothing from another request can come between its commands
 * (Redis serves one connection's commands in order), which makes a dedicated connection for a
 * transaction unnecessary. Blocking commands (BLPOP, XREAD BLOCK, WAIT …) get a connection of
 * their own for their duration. Commands that would change a shared connection's state
 * (SUBSCRIBE, MONITOR, SELECT, HELLO, MULTI outside /multi-exec, CLIENT REPLY …) are refused, as
 * Upstash refuses them over REST.
 */
import http from "node:http";
import {
  connectRedis,
  type RedisConnection,
  RedisConnectionError,
  RedisReplyError,
  type RespArg,
  type RespValue,
} from "./redis";

export interface UpstashRestOptions {
  redisPort: number;
  redisHost?: string;
  /** 0 or absent = a free port. */
  port?: number;
  token: string;
  /** Persistent Redis connections at most (opened as load needs them). Default 4. */
  poolSize?: number;
  /** Default 1000 ms. */
  connectTimeoutMs?: number;
  /** A connection that gives no reply for this long while commands wait is dropped. Default 10 000 ms. */
  commandTimeoutMs?: number;
}

export interface UpstashRestHandle {
  /** http://127.0.0.1:PORT — UPSTASH_REDIS_REST_URL */
  url: string;
  /** UPSTASH_REDIS_REST_TOKEN */
  token: string;
  port: number;
  stop(): Promise<void>;
}

// ─── Commands ────────────────────────────────────────────────────────────────────────────────

/** Would change the state of a shared connection, or stream replies: refused over REST. */
const REFUSED = new Set([
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "monitor",
  "sync",
  "psync",
  "multi",
  "exec",
  "discard",
  "watch",
  "unwatch",
  "hello",
  "reset",
  "quit",
  "select",
  "auth",
  "shutdown",
  "replicaof",
  "slaveof",
  "failover",
]);

const BLOCKING = new Set([
  "blpop",
  "brpop",
  "brpoplpush",
  "blmove",
  "blmpop",
  "bzpopmin",
  "bzpopmax",
  "bzmpop",
  "wait",
  "waitaof",
]);

class BadRequest extends Error {}

function lower(arg: RespArg | undefined): string {
  return typeof arg === "string" ? arg.toLowerCase() : "";
}

/** Why Redis must not get this command over a shared connection, or undefined. */
function refusal(cmd: readonly RespArg[]): string | undefined {
  const name = lower(cmd[0]);
  if (REFUSED.has(name) || (name === "client" && ["reply", "tracking"].includes(lower(cmd[1])))) {
    return `ERR Command is not available over the REST API: '${name}${name === "client" ? ` ${lower(cmd[1])}` : ""}'`;
  }
  return undefined;
}

function isBlocking(cmd: readonly RespArg[]): boolean {
  const name = lower(cmd[0]);
  if (BLOCKING.has(name)) return true;
  return (name === "xread" || name === "xreadgroup") && cmd.some((a) => lower(a) === "block");
}

/** A JSON command array → RESP arguments (strings, numbers and booleans, as Upstash takes them). */
function toCommand(value: unknown, where: string): RespArg[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new BadRequest(`ERR ${where} must be a non-empty JSON array of strings`);
  }
  const out: RespArg[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const a = value[i];
    if (typeof a === "string") out[i] = a;
    else if (typeof a === "number" && Number.isFinite(a)) out[i] = a;
    else if (typeof a === "boolean") out[i] = a ? "true" : "false";
    else
      throw new BadRequest(`ERR ${where}: argument ${i} is ${a === null ? "null" : typeof a}, not a string or number`);
  }
  if (typeof out[0] !== "string") throw new BadRequest(`ERR ${where}: the command name must be a string`);
  return out;
}

// ─── Results → JSON ──────────────────────────────────────────────────────────────────────────

/** A reply as Upstash writes it in JSON; with base64, strings are base64 of their bytes. */
function json(v: RespValue, b64: boolean, top: boolean): string {
  if (v === null) return "null";
  if (Buffer.isBuffer(v)) return b64 ? '"' + v.toString("base64") + '"' : JSON.stringify(v.toString("utf8"));
  switch (typeof v) {
    case "string":
      return b64 && !(top && v === "OK") ? '"' + Buffer.from(v).toString("base64") + '"' : JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "bigint":
      return v.toString(); // exact, beyond 2^53
  }
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) s += (i ? "," : "") + json(v[i]!, b64, false);
    return s + "]";
  }
  // An error inside an array (EVAL returning a table with an error in it): its message.
  return json((v as RedisReplyError).message, b64, false);
}

function entry(v: RespValue, b64: boolean): string {
  return v instanceof RedisReplyError
    ? '{"error":' + JSON.stringify(v.message) + "}"
    : '{"result":' + json(v, b64, true) + "}";
}

// ─── The connection pool ─────────────────────────────────────────────────────────────────────

class RedisPool {
  private readonly slots: (RedisConnection | undefined)[];
  private readonly connecting: (Promise<RedisConnection> | undefined)[];
  private readonly dedicated = new Set<RedisConnection>();
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    size: number,
    private readonly connectTimeoutMs: number,
    private readonly commandTimeoutMs: number,
  ) {
    this.slots = new Array(size).fill(undefined);
    this.connecting = new Array(size).fill(undefined);
  }

  /** The least busy open connection; opens another slot when all are busy (or none is open). */
  acquire(): RedisConnection | Promise<RedisConnection> {
    let best: RedisConnection | undefined;
    let empty = -1;
    for (let i = 0; i < this.slots.length; i++) {
      const c = this.slots[i];
      if (c) {
        if (!best || c.pending < best.pending) best = c;
      } else if (!this.connecting[i] && empty < 0) {
        empty = i;
      }
    }
    if (best && best.pending === 0) return best;
    if (empty >= 0) {
      const opening = this.open(empty);
      if (!best) return opening;
      opening.catch(() => {});
    }
    if (best) return best;
    const inFlight = this.connecting.find((p) => p !== undefined);
    return inFlight ?? Promise.reject(new RedisConnectionError("no Redis connection"));
  }

  private open(slot: number): Promise<RedisConnection> {
    const opening = connectRedis({
      host: this.host,
      port: this.port,
      connectTimeoutMs: this.connectTimeoutMs,
      commandTimeoutMs: this.commandTimeoutMs,
    }).then(
      (conn) => {
        this.connecting[slot] = undefined;
        if (this.closed) {
          void conn.close();
          throw new RedisConnectionError("the REST endpoint is stopping");
        }
        this.slots[slot] = conn;
        conn.onClose(() => {
          if (this.slots[slot] === conn) this.slots[slot] = undefined;
        });
        return conn;
      },
      (err) => {
        this.connecting[slot] = undefined;
        throw err;
      },
    );
    this.connecting[slot] = opening;
    return opening;
  }

  /** A connection of its own for `fn` (blocking commands), closed afterwards. */
  async withDedicated<T>(fn: (conn: RedisConnection) => Promise<T>): Promise<T> {
    const conn = await connectRedis({ host: this.host, port: this.port, connectTimeoutMs: this.connectTimeoutMs });
    this.dedicated.add(conn);
    try {
      return await fn(conn);
    } finally {
      this.dedicated.delete(conn);
      void conn.close();
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.slots, ...this.dedicated].filter((c): c is RedisConnection => c !== undefined);
    await Promise.all(all.map((c) => c.close()));
  }
}

// ─── HTTP ────────────────────────────────────────────────────────────────────────────────────

const MAX_BODY = 64 * 1024 * 1024;

function send(res: http.ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function errorBody(message: string): string {
  return '{"error":' + JSON.stringify(message) + "}";
}

export async function startUpstashRest(opts: UpstashRestOptions): Promise<UpstashRestHandle> {
  if (!opts.token) throw new Error("startUpstashRest: a token is required");
  const host = opts.redisHost ?? "127.0.0.1";
  const pool = new RedisPool(
    host,
    opts.redisPort,
    Math.max(1, opts.poolSize ?? 4),
    opts.connectTimeoutMs ?? 1000,
    opts.commandTimeoutMs ?? 10_000,
  );
  const bearer = `Bearer ${opts.token}`;

  const runOne = async (cmd: RespArg[]): Promise<RespValue> => {
    if (isBlocking(cmd)) return pool.withDedicated((c) => c.send(cmd));
    return (await pool.acquire()).send(cmd);
  };

  const runMany = async (cmds: RespArg[][]): Promise<RespValue[]> => {
    if (cmds.some(isBlocking)) return pool.withDedicated((c) => c.sendMany(cmds));
    return (await pool.acquire()).sendMany(cmds);
  };

  const single = async (cmd: RespArg[], b64: boolean): Promise<[number, string]> => {
    const refused = refusal(cmd);
    if (refused) return [400, errorBody(refused)];
    const value = await runOne(cmd);
    if (value instanceof RedisReplyError) return [400, errorBody(value.message)];
    return [200, '{"result":' + json(value, b64, true) + "}"];
  };

  const pipeline = async (body: unknown, b64: boolean): Promise<[number, string]> => {
    if (!Array.isArray(body)) throw new BadRequest("ERR the pipeline body must be a JSON array of command arrays");
    const cmds = body.map((c, i) => toCommand(c, `pipeline command ${i + 1}`));
    const refusals = cmds.map(refusal);
    const allowed = refusals.some(Boolean) ? cmds.filter((_, i) => !refusals[i]) : cmds;
    const replies = await runMany(allowed);
    let out = "[";
    for (let i = 0, k = 0; i < cmds.length; i++) {
      const refused = refusals[i];
      out += (i ? "," : "") + (refused ? errorBody(refused) : entry(replies[k++]!, b64));
    }
    return [200, out + "]"];
  };

  const transaction = async (body: unknown, b64: boolean): Promise<[number, string]> => {
    if (!Array.isArray(body)) throw new BadRequest("ERR the multi-exec body must be a JSON array of command arrays");
    const cmds = body.map((c, i) => toCommand(c, `multi-exec command ${i + 1}`));
    for (const cmd of cmds) {
      const refused = refusal(cmd);
      if (refused) return [400, errorBody(refused)];
    }
    if (cmds.length === 0) return [200, "[]"];
    // MULTI, the commands and EXEC in one write on one connection: nothing can interleave.
    const replies = await runMany([["MULTI"], ...cmds, ["EXEC"]]);
    const exec = replies[replies.length - 1]!;
    if (exec instanceof RedisReplyError) {
      // EXECABORT: a command could not be queued (unknown command, wrong arity …); nothing ran.
      const why = replies.slice(1, -1).find((r) => r instanceof RedisReplyError) as RedisReplyError | undefined;
      return [400, errorBody(why ? `${exec.message} ${why.message}` : exec.message)];
    }
    if (!Array.isArray(exec)) return [500, errorBody("ERR EXEC returned no results")];
    return [200, "[" + exec.map((v) => entry(v, b64)).join(",") + "]"];
  };

  const pathCommand = (pathname: string, query: URLSearchParams | undefined, body: Buffer): RespArg[] => {
    const segments = pathname.split("/").slice(1);
    if (segments.length > 0 && segments[segments.length - 1] === "") segments.pop();
    let cmd: RespArg[];
    try {
      cmd = segments.map((s) => decodeURIComponent(s));
    } catch {
      throw new BadRequest("ERR malformed URL encoding in the command path");
    }
    if (query) {
      for (const [k, v] of query) {
        if (k === "_token") continue;
        cmd.push(k);
        if (v !== "") cmd.push(v);
      }
    }
    if (body.length > 0) cmd.push(body);
    if (cmd.length === 0 || cmd[0] === "") throw new BadRequest("ERR empty command");
    return cmd;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q < 0 ? url : url.slice(0, q);
    const query = q < 0 ? undefined : new URLSearchParams(url.slice(q + 1));
    const auth = req.headers.authorization;
    if (auth !== bearer && !(auth === undefined && query?.get("_token") === opts.token)) {
      return send(res, 401, '{"error":"Unauthorized"}');
    }
    const format = req.headers["upstash-response-format"];
    if (format !== undefined && String(format).toLowerCase() !== "json") {
      return send(res, 400, errorBody(`ERR Upstash-Response-Format '${format}' is not supported locally`));
    }
    const b64 = String(req.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    const method = req.method ?? "GET";
    let status: number;
    let out: string;
    try {
      const special = pathname === "/" || pathname === "/pipeline" || pathname === "/multi-exec";
      if (special && method !== "POST" && !(pathname === "/" && body.length === 0 && method === "GET")) {
        return send(res, 405, '{"error":"Method Not Allowed"}');
      }
      if (pathname === "/" && method === "POST") {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          throw new BadRequest("ERR the request body is not valid JSON");
        }
        [status, out] = await single(toCommand(parsed, "the command"), b64);
      } else if (pathname === "/pipeline" || pathname === "/multi-exec") {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body.toString("utf8"));
        } catch {
          throw new BadRequest("ERR the request body is not valid JSON");
        }
        [status, out] = pathname === "/pipeline" ? await pipeline(parsed, b64) : await transaction(parsed, b64);
      } else {
        [status, out] = await single(pathCommand(pathname, query, body), b64);
      }
    } catch (err) {
      if (err instanceof BadRequest) [status, out] = [400, errorBody(err.message)];
      else if (err instanceof RedisConnectionError) [status, out] = [503, errorBody(`ERR ${err.message}`)];
      else [status, out] = [500, errorBody(`ERR local Upstash endpoint: ${String(err)}`)];
    }
    send(res, status, out);
  };

  const server = http.createServer({ noDelay: true }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        send(res, 413, errorBody("ERR request body too large"));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (size > MAX_BODY) return;
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      handle(req, res, body).catch((err) => send(res, 500, errorBody(`ERR ${String(err)}`)));
    });
  });
  // Clients keep connections alive (undici, workerd): outlive their idle timeouts so a request
  // never races a server-side close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => {
      server.removeListener("error", reject);
      resolve();
    });
  }).catch((err) => {
    throw new Error(`the local Upstash endpoint cannot listen on 127.0.0.1:${opts.port ?? 0}: ${String(err)}`);
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  // Fail now, with a clear message, if Redis is not there.
  try {
    await pool.acquire();
  } catch (err) {
    await new Promise((r) => server.close(r));
    await pool.close();
    throw new Error(`the local Upstash endpoint cannot reach Redis at ${host}:${opts.redisPort}: ${String(err)}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    token: opts.token,
    port,
    stop: () => {
      stopping ??= (async () => {
        const closed = new Promise((r) => server.close(r));
        server.closeAllConnections();
        await closed;
        await pool.close();
      })();
      return stopping;
    },
  };
}
