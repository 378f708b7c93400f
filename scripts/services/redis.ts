/**
 * A real redis-server for local runs and tests, and the small RESP client (node:net, with
 * pipelining) that the local Upstash REST endpoint and the tests talk to it with.
 *
 *   startRedis()        spawns redis-server on 127.0.0.1, waits until it answers, stop() ends it
 *   ensureRedisServer() finds the redis-server binary (installs it with apt-get when root)
 *   connectRedis()      one RESP2 connection: send / sendMany (one write) / call
 *
 * Reply values (RespValue): a bulk string is a Buffer (binary-safe), a simple string ("OK",
 * "PONG", Lua status replies) is a string, an integer is a number (a bigint beyond 2^53), nil is
 * null, an array is an array (nested to any depth, as EVAL returns them), and an error reply is a
 * RedisReplyError *value* — inside arrays (EXEC, EVAL) as well as at the top. RESP3 types are
 * parsed too (map → flat array, boolean → 1/0, double → string) though we never send HELLO 3.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { accessSync, constants as fsConstants, rmSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "./ports";

// ─── RESP values and errors ──────────────────────────────────────────────────────────────────

export type RespArg = string | number | Uint8Array;
export type RespValue = string | Buffer | number | bigint | null | RedisReplyError | RespValue[];

/** An error reply from Redis (`-ERR …`, `-WRONGTYPE …`, `-NOSCRIPT …`). `message` is the whole line. */
export class RedisReplyError extends Error {
  override name = "RedisReplyError";
}

/** The connection failed: refused, timed out, closed, or no reply within the command timeout. */
export class RedisConnectionError extends Error {
  override name = "RedisConnectionError";
}

// ─── Encoding commands ───────────────────────────────────────────────────────────────────────

/** Commands in RESP (arrays of bulk strings), concatenated: a string unless some argument is binary. */
export function encodeCommands(commands: readonly (readonly RespArg[])[]): string | Buffer {
  let text = "";
  let parts: Buffer[] | null = null;
  for (const args of commands) {
    text += "*" + args.length + "\r\n";
    for (const arg of args) {
      if (typeof arg === "string") {
        text += "$" + Buffer.byteLength(arg) + "\r\n" + arg + "\r\n";
      } else if (typeof arg === "number") {
        const s = String(arg);
        text += "$" + s.length + "\r\n" + s + "\r\n";
      } else {
        parts ??= [];
        parts.push(
          Buffer.from(text + "$" + arg.byteLength + "\r\n"),
          Buffer.from(arg.buffer, arg.byteOffset, arg.byteLength),
        );
        text = "\r\n";
      }
    }
  }
  if (!parts) return text;
  parts.push(Buffer.from(text));
  return Buffer.concat(parts);
}

// ─── Parsing replies ─────────────────────────────────────────────────────────────────────────

const EMPTY = Buffer.alloc(0);
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

function parseInteger(buf: Buffer, start: number, end: number): number | bigint {
  let i = start;
  let negative = false;
  if (buf[i] === 0x2d) {
    negative = true;
    i++;
  } else if (buf[i] === 0x2b) {
    i++;
  }
  if (end - i > 15) {
    const big = BigInt(buf.toString("latin1", start, end));
    return big <= MAX_SAFE && big >= MIN_SAFE ? Number(big) : big;
  }
  if (i === end) throw new RedisConnectionError("RESP protocol error: empty integer");
  let n = 0;
  for (; i < end; i++) {
    const d = buf[i]! - 48;
    if (d < 0 || d > 9)
      throw new RedisConnectionError(`RESP protocol error: bad integer ${buf.toString("latin1", start, end)}`);
    n = n * 10 + d;
  }
  return negative ? -n : n;
}

interface Frame {
  items: RespValue[];
  index: number;
}

/**
 * An incremental RESP2/RESP3 reply parser. Feed it socket chunks in order; it calls `onReply` once
 * per complete top-level reply. It resumes where it stopped (a stack of partly filled arrays), and
 * a large bulk string split over many chunks is joined once, when all of it has arrived — so the
 * work is linear in the bytes received however the stream is cut.
 */
export class RespParser {
  private buf: Buffer = EMPTY;
  private pos = 0;
  private readonly stack: Frame[] = [];
  /** Bytes (from `pos`) needed before parsing can make progress; 0 = unknown, try on every chunk. */
  private need = 0;
  private held: Buffer[] = [];
  private heldBytes = 0;

  constructor(private readonly onReply: (value: RespValue) => void) {}

  feed(chunk: Buffer): void {
    if (this.need > 0) {
      this.held.push(chunk);
      this.heldBytes += chunk.length;
      if (this.buf.length - this.pos + this.heldBytes < this.need) return;
      this.buf = Buffer.concat([this.buf.subarray(this.pos), ...this.held]);
      this.held = [];
      this.heldBytes = 0;
      this.need = 0;
    } else if (this.pos >= this.buf.length) {
      this.buf = chunk;
    } else {
      this.buf = Buffer.concat([this.buf.subarray(this.pos), chunk]);
    }
    this.pos = 0;
    this.parse();
  }

  private parse(): void {
    const buf = this.buf;
    const len = buf.length;
    while (this.pos < len) {
      const start = this.pos;
      const type = buf[start];
      const cr = buf.indexOf(13, start + 1);
      if (cr < 0 || cr + 1 >= len) return; // the header line is not complete yet
      const next = cr + 2;
      let value: RespValue;
      switch (type) {
        case 0x2b: // + simple string
          value = buf.toString("utf8", start + 1, cr);
          break;
        case 0x2d: // - error
          value = new RedisReplyError(buf.toString("utf8", start + 1, cr));
          break;
        case 0x3a: // : integer
          value = parseInteger(buf, start + 1, cr);
          break;
        case 0x24: // $ bulk string
        case 0x3d: // = verbatim string (RESP3): "txt:" + text
        case 0x21: {
          // ! blob error (RESP3)
          const n = parseInteger(buf, start + 1, cr) as number;
          if (n < 0) {
            value = null;
            break;
          }
          const end = next + n;
          if (end + 2 > len) {
            this.need = end + 2 - start;
            return;
          }
          this.pos = end + 2;
          if (type === 0x24) value = buf.subarray(next, end);
          else if (type === 0x3d) value = buf.subarray(next + 4, end);
          else value = new RedisReplyError(buf.toString("utf8", next, end));
          this.deliver(value);
          continue;
        }
        case 0x2a: // * array
        case 0x7e: // ~ set (RESP3)
        case 0x25: {
          // % map (RESP3): flattened to [k, v, k, v …] as RESP2 returns it
          let n = parseInteger(buf, start + 1, cr) as number;
          if (type === 0x25) n *= 2;
          this.pos = next;
          if (n < 0) this.deliver(null);
          else if (n === 0) this.deliver([]);
          else this.stack.push({ items: new Array(n), index: 0 });
          continue;
        }
        case 0x5f: // _ null (RESP3)
          value = null;
          break;
        case 0x23: // # boolean (RESP3): 1 / 0 as RESP2 would say it
          value = buf[start + 1] === 0x74 ? 1 : 0;
          break;
        case 0x2c: // , double (RESP3): a string, as RESP2 returns doubles
          value = buf.toString("latin1", start + 1, cr);
          break;
        case 0x28: // ( big number (RESP3)
          value = BigInt(buf.toString("latin1", start + 1, cr));
          break;
        default:
          throw new RedisConnectionError(`RESP protocol error: unexpected type byte 0x${(type ?? 0).toString(16)}`);
      }
      this.pos = next;
      this.deliver(value);
    }
    this.buf = EMPTY;
    this.pos = 0;
  }

  private deliver(value: RespValue): void {
    let v = value;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      if (!top) {
        this.onReply(v);
        return;
      }
      top.items[top.index++] = v;
      if (top.index < top.items.length) return;
      this.stack.pop();
      v = top.items;
    }
  }
}

// ─── One connection ──────────────────────────────────────────────────────────────────────────

export interface RedisConnectOptions {
  port: number;
  host?: string;
  /** Give up connecting after this long. Default 1000 ms. */
  connectTimeoutMs?: number;
  /**
   * Destroy the connection (failing every command waiting on it) when commands are waiting and no
   * reply has arrived for this long: a hung or stopped server must not hang callers. 0 = never.
   * Default 0.
   */
  commandTimeoutMs?: number;
}

type Callback = (err: Error | null, value?: RespValue) => void;

/** One RESP connection with pipelining: commands are written at once and answered in order. */
export class RedisConnection {
  private readonly callbacks: (Callback | undefined)[] = [];
  private head = 0;
  private readonly parser: RespParser;
  private readonly commandTimeoutMs: number;
  private lastProgress = 0;
  private timer: NodeJS.Timeout | undefined;
  private closeError: Error | undefined;
  private readonly closeListeners: ((err: Error) => void)[] = [];
  private readonly closedPromise: Promise<void>;

  constructor(
    private readonly socket: net.Socket,
    private readonly label: string,
    commandTimeoutMs = 0,
  ) {
    this.commandTimeoutMs = commandTimeoutMs;
    this.parser = new RespParser((value) => this.onReply(value));
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 10_000);
    socket.on("data", (chunk: Buffer) => {
      this.lastProgress = Date.now();
      try {
        this.parser.feed(chunk);
      } catch (err) {
        this.destroy(err instanceof Error ? err : new RedisConnectionError(String(err)));
      }
    });
    socket.on("error", (err) => this.destroy(new RedisConnectionError(`Redis at ${label}: ${err.message}`)));
    this.closedPromise = new Promise((resolve) => {
      socket.once("close", () => {
        this.destroy(new RedisConnectionError(`Redis at ${label} closed the connection`));
        resolve();
      });
    });
  }

  /** Commands written and not yet answered. */
  get pending(): number {
    return this.callbacks.length - this.head;
  }

  get isClosed(): boolean {
    return this.closeError !== undefined;
  }

  /** Called once, with the reason, when the connection is closed or fails. */
  onClose(listener: (err: Error) => void): void {
    if (this.closeError) listener(this.closeError);
    else this.closeListeners.push(listener);
  }

  /** One command; resolves with the reply, an error reply included (as a RedisReplyError value). */
  send(args: readonly RespArg[]): Promise<RespValue> {
    return new Promise((resolve, reject) => {
      if (this.closeError) return reject(this.closeError);
      this.enqueue((err, value) => (err ? reject(err) : resolve(value as RespValue)));
      this.socket.write(encodeCommands([args]));
    });
  }

  /**
   * Several commands in ONE write, so they reach Redis back to back: nothing another caller sends
   * on this connection can come between them (MULTI … EXEC relies on it). Resolves with one reply
   * per command, error replies as RedisReplyError values.
   */
  sendMany(commands: readonly (readonly RespArg[])[]): Promise<RespValue[]> {
    return new Promise((resolve, reject) => {
      if (this.closeError) return reject(this.closeError);
      if (commands.length === 0) return resolve([]);
      const out: RespValue[] = new Array(commands.length);
      let i = 0;
      let failed = false;
      const cb: Callback = (err, value) => {
        if (failed) return;
        if (err) {
          failed = true;
          reject(err);
          return;
        }
        out[i++] = value as RespValue;
        if (i === out.length) resolve(out);
      };
      for (let k = 0; k < commands.length; k++) this.enqueue(cb);
      this.socket.write(encodeCommands(commands));
    });
  }

  /** One command; rejects on an error reply. */
  async call(...args: RespArg[]): Promise<RespValue> {
    const value = await this.send(args);
    if (value instanceof RedisReplyError) throw value;
    return value;
  }

  /** Closes the socket; commands still waiting fail. */
  close(): Promise<void> {
    this.destroy(new RedisConnectionError(`connection to Redis at ${this.label} closed by the client`));
    return this.closedPromise;
  }

  private enqueue(cb: Callback): void {
    if (this.pending === 0) this.lastProgress = Date.now();
    this.callbacks.push(cb);
    if (this.commandTimeoutMs > 0 && !this.timer) this.armTimer(this.commandTimeoutMs);
  }

  private armTimer(ms: number): void {
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pending === 0 || this.closeError) return;
      const idle = Date.now() - this.lastProgress;
      if (idle >= this.commandTimeoutMs) {
        this.destroy(
          new RedisConnectionError(`no reply from Redis at ${this.label} within ${this.commandTimeoutMs} ms`),
        );
      } else {
        this.armTimer(this.commandTimeoutMs - idle);
      }
    }, ms);
    this.timer.unref();
  }

  private onReply(value: RespValue): void {
    if (this.head >= this.callbacks.length) {
      throw new RedisConnectionError(`RESP protocol error: a reply from ${this.label} that nobody asked for`);
    }
    const cb = this.callbacks[this.head]!;
    this.callbacks[this.head++] = undefined;
    if (this.head === this.callbacks.length) {
      this.callbacks.length = 0;
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.callbacks.length) {
      this.callbacks.splice(0, this.head);
      this.head = 0;
    }
    cb(null, value);
  }

  private destroy(err: Error): void {
    if (this.closeError) return;
    this.closeError = err;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.socket.destroy();
    const waiting = this.callbacks.slice(this.head);
    this.callbacks.length = 0;
    this.head = 0;
    for (const cb of waiting) cb?.(err);
    for (const listener of this.closeListeners.splice(0)) listener(err);
  }
}

/** Opens one RESP connection (no AUTH, no SELECT: the local server has neither). */
export function connectRedis(opts: RedisConnectOptions): Promise<RedisConnection> {
  const host = opts.host ?? "127.0.0.1";
  const label = `${host}:${opts.port}`;
  const timeoutMs = opts.connectTimeoutMs ?? 1000;
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: opts.port });
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new RedisConnectionError(`cannot connect to Redis at ${label}: ${err.message}`));
    };
    const timer = setTimeout(() => fail(new Error(`no connection within ${timeoutMs} ms`)), timeoutMs);
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.removeListener("error", fail);
      resolve(new RedisConnection(socket, label, opts.commandTimeoutMs ?? 0));
    });
  });
}

// ─── The redis-server binary ─────────────────────────────────────────────────────────────────

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/bin", "/usr/local/bin", "/usr/sbin", "/bin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      accessSync(file, fsConstants.X_OK);
      if (statSync(file).isFile()) return file;
    } catch {}
  }
  return undefined;
}

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    let output = "";
    const keep = (b: Buffer) => {
      output = (output + b.toString()).slice(-4000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    child.once("error", (err) => resolve({ code: -1, output: String(err) }));
    child.once("close", (code) => resolve({ code: code ?? -1, output }));
  });
}

let redisServerPath: Promise<string> | undefined;

/**
 * The path of redis-server. When it is missing and we run as root where apt-get exists, installs
 * the `redis-server` package (running `apt-get update` first if the install fails); otherwise
 * throws one sentence saying what to install.
 */
export function ensureRedisServer(): Promise<string> {
  redisServerPath ??= (async () => {
    const found = findExecutable("redis-server");
    if (found) return found;
    const aptGet = findExecutable("apt-get");
    if (process.getuid?.() === 0 && aptGet) {
      const install = ["install", "-y", "--no-install-recommends", "redis-server"];
      let result = await run(aptGet, install);
      if (result.code !== 0) {
        await run(aptGet, ["update"]);
        result = await run(aptGet, install);
      }
      const installed = findExecutable("redis-server");
      if (installed) return installed;
      throw new Error(
        `redis-server is not installed and \`apt-get install -y redis-server\` failed (exit ${result.code}): ${result.output.trim().split("\n").slice(-3).join(" | ")}`,
      );
    }
    throw new Error(
      "redis-server was not found on PATH: install Redis 7 (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) and run again.",
    );
  })();
  redisServerPath.catch(() => {
    redisServerPath = undefined; // try again next time
  });
  return redisServerPath;
}

// ─── The server ──────────────────────────────────────────────────────────────────────────────

export interface StartRedisOptions {
  /** 0 or absent = a free port. */
  port?: number;
  /** Data directory, kept across restarts when persisting. */
  dir?: string;
  /**
   * Keep data across restarts (append-only file in `dir`, fsynced every second and on shutdown).
   * Default: true when `dir` is given. When false the server runs in a fresh temporary directory
   * with persistence off, removed by stop().
   */
  persist?: boolean;
}

export interface RedisServerHandle {
  port: number;
  /** redis://127.0.0.1:PORT */
  url: string;
  /** The redis-server process id. */
  pid: number;
  /** Where the server keeps its files. */
  dir: string;
  /** SIGTERM (SIGKILL after 10 s), waits for the process to exit; frees the port. Idempotent. */
  stop(): Promise<void>;
}

// Servers still running when this process exits get SIGTERM, and their temporary directories go
// (a crashed dev script or test run must not leave redis-server behind).
const liveServers = new Map<ChildProcess, string | undefined>();
let exitHookInstalled = false;
function trackServer(child: ChildProcess, tempDir: string | undefined): void {
  liveServers.set(child, tempDir);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    for (const [c, dir] of liveServers) {
      try {
        c.kill("SIGTERM");
        if (dir) rmSync(dir, { recursive: true, force: true });
      } catch {}
    }
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startRedis(opts: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const bin = await ensureRedisServer();
  const persist = opts.persist ?? opts.dir !== undefined;
  let dir: string;
  let tempDir: string | undefined;
  if (persist) {
    if (!opts.dir) throw new Error("startRedis: persist: true needs a data directory (dir)");
    dir = path.resolve(opts.dir);
    await mkdir(dir, { recursive: true });
  } else {
    tempDir = await mkdtemp(path.join(os.tmpdir(), "tollgate-redis-"));
    dir = tempDir;
  }
  // A port we picked can be taken by someone else before redis-server binds it: pick again.
  const attempts = opts.port ? 1 : 3;
  for (let attempt = 1; ; attempt++) {
    const port = opts.port || (await freePort());
    try {
      return await launch(bin, port, dir, persist, tempDir);
    } catch (err) {
      const portTaken = /address already in use/i.test(String(err));
      if (attempt < attempts && portTaken) continue;
      if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {});
      throw err;
    }
  }
}

async function launch(
  bin: string,
  port: number,
  dir: string,
  persist: boolean,
  tempDir: string | undefined,
): Promise<RedisServerHandle> {
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--daemonize",
    "no",
    "--logfile",
    "",
    "--loglevel",
    "notice",
    // DEBUG SLEEP and friends, from loopback only: tests use them to simulate a slow server.
    "--enable-debug-command",
    "local",
    ...(persist
      ? ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
      : ["--appendonly", "no", "--save", ""]),
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const log: string[] = [];
  const keep = (b: Buffer) => {
    for (const line of b.toString().split("\n")) if (line.trim()) log.push(line);
    if (log.length > 60) log.splice(0, log.length - 60);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    else child.once("exit", () => resolve());
  });
  const alive = () => child.exitCode === null && child.signalCode === null && !spawnError;
  trackServer(child, tempDir);
  const tail = () => log.slice(-15).join("\n");

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      if (alive() && child.pid !== undefined) {
        child.kill("SIGTERM");
        const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exited;
        clearTimeout(killer);
      }
      liveServers.delete(child);
      if (tempDir) await rm(tempDir, { recursive: true, force: true }).catch(() => {});
    })();
    return stopping;
  };

  // Ready when PING says PONG (not LOADING) and the server answering is this very process (not
  // something else already listening on the port).
  const deadline = Date.now() + 30_000;
  for (;;) {
    await sleep(15);
    if (!alive()) {
      await exited.catch(() => {});
      liveServers.delete(child);
      throw new Error(
        `redis-server exited (${spawnError?.message ?? `code ${child.exitCode}, signal ${child.signalCode}`}) before answering on 127.0.0.1:${port}:\n${tail()}`,
      );
    }
    let conn: RedisConnection | undefined;
    try {
      conn = await connectRedis({ port, connectTimeoutMs: 500, commandTimeoutMs: 2000 });
      const [pong, info] = await conn.sendMany([["PING"], ["INFO", "server"]]);
      const pid = Buffer.isBuffer(info) ? /process_id:(\d+)/.exec(info.toString())?.[1] : undefined;
      if (pong === "PONG" && pid === String(child.pid)) break;
    } catch {
      // not listening yet
    } finally {
      await conn?.close();
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`redis-server did not answer on 127.0.0.1:${port} within 30 s:\n${tail()}`);
    }
  }
  return { port, url: `redis://127.0.0.1:${port}`, pid: child.pid!, dir, stop };
}
