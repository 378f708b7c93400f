/**
 * The provider double: one plain node:http server that answers as OpenAI, Anthropic and the
 * OpenAI-compatible providers do, each under its own path prefix (README.md has the whole API).
 *
 *   const double = await startProviderDouble({ port: 0 });
 *   new OpenAI({ baseURL: `${double.url}/openai/v1`, apiKey: "sk-test" });
 *   new Anthropic({ baseURL: `${double.url}/anthropic`, apiKey: "sk-ant-test" });
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as anthropic from "./anthropic";
import { hashText, newId, prng } from "./content";
import { anthropicError, openaiError } from "./errors";
import * as openai from "./openai";
import type { Controls, HandlerContext, Reply, StyleId } from "./types";

export type { Controls, Reply, StyleId } from "./types";

export interface RecordedRequest {
  method: string;
  /** The path without the query string, e.g. `/openai/v1/chat/completions`. */
  path: string;
  /** The raw query string without `?` ("" when none). */
  query: string;
  /** Lower-cased header names; repeated headers joined with ", ". Includes authorization. */
  headers: Record<string, string>;
  /** The request body as text ("" when none). */
  body: string;
  /** Epoch milliseconds when the body had been read. */
  receivedAt: number;
}

export interface ProviderDoubleOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  host?: string;
  /** Keep at most this many recorded requests, dropping the oldest (default 10 000; 0 records nothing). */
  maxRecorded?: number;
  /** Require credentials like the real APIs (default true): Bearer for OpenAI styles, x-api-key for Anthropic. */
  requireAuth?: boolean;
}

export interface ProviderDouble {
  /** Base URL without a trailing slash, e.g. `http://127.0.0.1:9100`. */
  url: string;
  port: number;
  /** Every request received, oldest first (not the `/__double/*` control routes). */
  requests: RecordedRequest[];
  /** Forget the recorded requests. */
  reset(): void;
  close(): Promise<void>;
}

/** Where each style lives: its base paths on the double (the provider's SDK base URL, prefixed by the style). */
export const STYLE_BASES: Record<StyleId, string[]> = {
  openai: ["/openai/v1"],
  anthropic: ["/anthropic"],
  deepseek: ["/deepseek", "/deepseek/v1"],
  groq: ["/groq/openai/v1"],
  gemini: ["/gemini/v1beta/openai"],
  mistral: ["/mistral/v1"],
  together: ["/together/v1"],
  perplexity: ["/perplexity", "/perplexity/v1"],
  xai: ["/xai/v1"],
  fireworks: ["/fireworks/inference/v1"],
  openrouter: ["/openrouter/api/v1"],
};

/** The `UPSTREAM_<ID>_URL` value that points each built-in provider of Tollgate at the double. */
export function upstreamUrls(doubleUrl: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [style, bases] of Object.entries(STYLE_BASES)) {
    out[`UPSTREAM_${style.toUpperCase()}_URL`] = `${doubleUrl}${bases[0]}`;
  }
  return out;
}

// Longest base first, so `/deepseek/v1/...` wins over `/deepseek/...`.
const ROUTES: [string, StyleId][] = Object.entries(STYLE_BASES)
  .flatMap(([style, bases]) => bases.map((b): [string, StyleId] => [b, style as StyleId]))
  .sort((a, b) => b[0].length - a[0].length);

function route(path: string): { style: StyleId; endpoint: string } | undefined {
  for (const [base, style] of ROUTES) {
    if (path.length > base.length && path.startsWith(base) && path.charCodeAt(base.length) === 47 /* / */) {
      return { style, endpoint: path.slice(base.length) };
    }
  }
  return undefined;
}

type Handler = (ctx: HandlerContext) => Reply;

const OPENAI_ENDPOINTS: Record<string, [method: string, handler: Handler]> = {
  "/chat/completions": ["POST", openai.chatCompletions],
  "/completions": ["POST", openai.legacyCompletions],
  "/embeddings": ["POST", openai.embeddings],
  "/responses": ["POST", openai.responses],
  "/responses/input_tokens": ["POST", openai.inputTokens],
  "/models": ["GET", openai.models],
};

const ANTHROPIC_ENDPOINTS: Record<string, [method: string, handler: Handler]> = {
  "/v1/messages": ["POST", anthropic.messages],
  "/v1/messages/count_tokens": ["POST", anthropic.countTokens],
  "/v1/models": ["GET", anthropic.models],
};

function header(h: http.IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v.join(", ") : v;
}

function intHeader(h: http.IncomingHttpHeaders, name: string): number | undefined | Error {
  const v = header(h, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : new Error(`${name} must be a non-negative integer, got "${v}"`);
}

function jsonHeader(h: http.IncomingHttpHeaders, name: string): Record<string, unknown> | undefined | Error {
  const v = header(h, name);
  if (v === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(v);
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {}
  return new Error(`${name} must be a JSON object, got ${v}`);
}

/** `model=n,model2=n2` → {model: n, …}; models may hold any character but `,` and `=`. */
function perModelHeader(h: http.IncomingHttpHeaders, name: string): Record<string, number> | undefined | Error {
  const v = header(h, name);
  if (v === undefined) return undefined;
  const out: Record<string, number> = {};
  for (const pair of v.split(",")) {
    const m = /^\s*([^=,\s][^=,]*?)\s*=\s*(\d+)\s*$/.exec(pair);
    if (!m) return new Error(`${name} must be model=integer,…; got "${v}"`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Reads the `x-double-*` headers; a malformed one is an Error naming it. */
export function parseControls(h: http.IncomingHttpHeaders): Controls | Error {
  const usage = jsonHeader(h, "x-double-usage");
  const startUsage = jsonHeader(h, "x-double-start-usage");
  const chunks = intHeader(h, "x-double-chunks");
  const outputTokens = intHeader(h, "x-double-output-tokens");
  const reasoning = intHeader(h, "x-double-reasoning-tokens");
  const cached = intHeader(h, "x-double-cached-tokens");
  const cacheWrite = intHeader(h, "x-double-cache-write-tokens");
  const delay = intHeader(h, "x-double-delay-ms");
  const chunkDelay = intHeader(h, "x-double-chunk-delay-ms");
  const status = intHeader(h, "x-double-status");
  const breakAfter = intHeader(h, "x-double-break-after");
  const errorAfter = intHeader(h, "x-double-error-after");
  for (const v of [usage, startUsage, chunks, outputTokens, reasoning, cached, cacheWrite, delay, chunkDelay]) {
    if (v instanceof Error) return v;
  }
  for (const v of [status, breakAfter, errorAfter]) if (v instanceof Error) return v;
  const statusFor = perModelHeader(h, "x-double-status-for");
  const delayFor = perModelHeader(h, "x-double-delay-for");
  if (statusFor instanceof Error) return statusFor;
  if (delayFor instanceof Error) return delayFor;
  for (const [model, s] of Object.entries(statusFor ?? {})) {
    if (s < 100 || s > 599) return new Error(`x-double-status-for: ${model}=${s} is not an HTTP status`);
  }
  if (status !== undefined && !(status instanceof Error) && (status < 100 || status > 599)) {
    return new Error(`x-double-status must be an HTTP status, got ${status}`);
  }
  const split = header(h, "x-double-split");
  if (split !== undefined && split !== "random" && split !== "coalesce") {
    return new Error(`x-double-split must be "random" or "coalesce", got "${split}"`);
  }
  const ctl: Controls = {
    reasoningTokens: (reasoning as number | undefined) ?? 0,
    cachedTokens: (cached as number | undefined) ?? 0,
    cacheWriteTokens: (cacheWrite as number | undefined) ?? 0,
    delayMs: (delay as number | undefined) ?? 0,
    chunkDelayMs: (chunkDelay as number | undefined) ?? 0,
    retryAfter: header(h, "x-double-retry-after") ?? "1",
  };
  if (usage !== undefined) ctl.usage = usage as Record<string, unknown>;
  if (startUsage !== undefined) ctl.startUsage = startUsage as Record<string, unknown>;
  if (chunks !== undefined) ctl.chunks = chunks as number;
  if (outputTokens !== undefined) ctl.outputTokens = outputTokens as number;
  if (status !== undefined) ctl.status = status as number;
  if (breakAfter !== undefined) ctl.breakAfter = breakAfter as number;
  if (errorAfter !== undefined) ctl.errorAfter = errorAfter as number;
  if (statusFor) ctl.statusFor = statusFor;
  if (delayFor) ctl.delayFor = delayFor;
  const model = header(h, "x-double-model");
  if (model) ctl.model = model;
  if (split) ctl.split = split;
  return ctl;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function writeAsync(res: http.ServerResponse, chunk: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (res.destroyed) resolve();
    else res.write(chunk, () => resolve());
  });
}

/** Writes one event in 2–3 pieces; the first cut falls inside a multi-byte character when there is one. */
async function writeSplit(res: http.ServerResponse, frame: string, rand: () => number): Promise<void> {
  const buf = Buffer.from(frame);
  if (buf.length < 3) {
    await writeAsync(res, buf);
    return;
  }
  const cuts = new Set<number>();
  const continuation = buf.findIndex((b) => b >= 0x80 && b < 0xc0);
  cuts.add(continuation > 0 ? continuation : 1 + Math.floor(rand() * (buf.length - 1)));
  if (rand() < 0.5) cuts.add(1 + Math.floor(rand() * (buf.length - 1)));
  let from = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    await writeAsync(res, buf.subarray(from, cut));
    await sleep(1);
    from = cut;
  }
  await writeAsync(res, buf.subarray(from));
}

function cutConnection(res: http.ServerResponse): void {
  res.socket?.destroy();
  res.destroy();
}

async function send(res: http.ServerResponse, reply: Reply, ctl: Controls, seed: number): Promise<void> {
  if (ctl.delayMs > 0) await sleep(ctl.delayMs);
  if (res.destroyed) return;
  const ok = reply.status < 400;
  if (reply.kind === "json") {
    const buf = Buffer.from(reply.body);
    if (ok && ctl.breakAfter !== undefined) {
      // Status line and half the body, then the connection drops.
      res.writeHead(reply.status, { ...reply.headers, "content-length": String(buf.length) });
      await writeAsync(res, buf.subarray(0, Math.floor(buf.length / 2)));
      cutConnection(res);
      return;
    }
    res.writeHead(reply.status, { ...reply.headers, "content-length": String(buf.length) });
    res.end(buf);
    return;
  }
  res.writeHead(reply.status, reply.headers);
  const { frames } = reply;
  if (ctl.split === "coalesce" && ctl.breakAfter === undefined && ctl.errorAfter === undefined) {
    res.end(frames.join(""));
    return;
  }
  res.flushHeaders();
  if (ctl.breakAfter === 0) {
    await sleep(10);
    cutConnection(res);
    return;
  }
  const rand = prng(seed);
  let data = 0;
  for (let i = 0; i < frames.length; i++) {
    const frame = frames[i]!;
    const isData = frame.charCodeAt(0) !== 58; /* ":" comment */
    if (isData && ctl.errorAfter !== undefined && data >= ctl.errorAfter) {
      await writeAsync(res, reply.errorFrame);
      res.end();
      return;
    }
    if (i > 0 && ctl.chunkDelayMs > 0) await sleep(ctl.chunkDelayMs);
    if (res.destroyed) return;
    if (isData) data++;
    const cutHere = isData && ctl.breakAfter !== undefined && data >= ctl.breakAfter;
    if (ctl.split === "random") await writeSplit(res, frame, rand);
    else if (cutHere) await writeAsync(res, frame);
    else res.write(frame);
    if (cutHere && i < frames.length - 1) {
      cutConnection(res);
      return;
    }
  }
  res.end();
}

function openaiStyleAuth(req: http.IncomingMessage, requestId: string): Reply | undefined {
  const auth = header(req.headers, "authorization");
  const m = auth ? /^Bearer\s+(\S+)/i.exec(auth) : null;
  if (!m) {
    return openaiError(401, requestId, {
      error: {
        message:
          "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
        type: "invalid_request_error",
        param: null,
        code: null,
      },
    });
  }
  // A Tollgate gateway key must never reach a provider: the double refuses it like an unknown key.
  if (m[1]!.startsWith("tg_")) {
    return openaiError(401, requestId, {
      error: { message: "Incorrect API key provided: tg_***. (A gateway key reached the provider.)" },
    });
  }
  return undefined;
}

/**
 * The API key in `x-api-key` or, as @anthropic-ai/sdk ≥ 1.x sends it, `Authorization: Bearer`;
 * and `anthropic-version`.
 */
function anthropicAuth(req: http.IncomingMessage, requestId: string): Reply | undefined {
  const bearer = /^Bearer\s+(\S+)/i.exec(header(req.headers, "authorization") ?? "");
  const key = header(req.headers, "x-api-key") || bearer?.[1];
  if (!key) {
    return anthropicError(401, requestId, { type: "authentication_error", message: "x-api-key header is required" });
  }
  if (key.startsWith("tg_")) {
    return anthropicError(401, requestId, {
      type: "authentication_error",
      message: "invalid x-api-key (a gateway key reached the provider)",
    });
  }
  if (!header(req.headers, "anthropic-version")) {
    return anthropicError(400, requestId, {
      type: "invalid_request_error",
      message: "anthropic-version: header is required",
    });
  }
  return undefined;
}

function controlRoute(path: string, method: string, requests: RecordedRequest[], res: http.ServerResponse): boolean {
  if (!path.startsWith("/__double/")) return false;
  let status = 200;
  let body: unknown;
  if (path === "/__double/requests" && method === "GET") body = requests;
  else if (path === "/__double/reset" && method === "POST") {
    requests.length = 0;
    body = { ok: true };
  } else if (path === "/__double/health" && method === "GET") body = { ok: true };
  else {
    status = 404;
    body = { error: { message: `Unknown control route ${method} ${path}` } };
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
  return true;
}

export async function startProviderDouble(options: ProviderDoubleOptions = {}): Promise<ProviderDouble> {
  const host = options.host ?? "127.0.0.1";
  const maxRecorded = options.maxRecorded ?? 10_000;
  const requireAuth = options.requireAuth ?? true;
  const requests: RecordedRequest[] = [];

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse, bodyText: string) => {
    const rawUrl = req.url ?? "/";
    const q = rawUrl.indexOf("?");
    const path = q === -1 ? rawUrl : rawUrl.slice(0, q);
    const method = req.method ?? "GET";
    if (controlRoute(path, method, requests, res)) return;

    if (maxRecorded > 0) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      requests.push({
        method,
        path,
        query: q === -1 ? "" : rawUrl.slice(q + 1),
        headers,
        body: bodyText,
        receivedAt: Date.now(),
      });
      if (requests.length > maxRecorded) requests.splice(0, requests.length - maxRecorded);
    }

    const found = route(path);
    const isAnthropic = found?.style === "anthropic";
    const requestId = isAnthropic ? newId("req_011C", 20) : `req_${newId("", 32).toLowerCase()}`;
    const table = isAnthropic ? ANTHROPIC_ENDPOINTS : OPENAI_ENDPOINTS;
    const entry = found ? table[found.endpoint] : undefined;
    const fail = (reply: Reply) => send(res, reply, { ...NO_CONTROLS }, 0);

    if (!found || !entry || entry[0] !== method) {
      if (isAnthropic) return fail(anthropicError(404, requestId, { type: "not_found_error", message: "Not Found" }));
      const hint = found ? "" : ` Styles: ${ROUTES.map(([b]) => b).join(" ")}`;
      return fail(
        openaiError(404, requestId, {
          error: {
            message: `Invalid URL (${method} ${path}).${hint}`,
            type: "invalid_request_error",
            param: null,
            code: null,
          },
        }),
      );
    }
    const { style } = found;
    if (requireAuth) {
      const denied = isAnthropic ? anthropicAuth(req, requestId) : openaiStyleAuth(req, requestId);
      if (denied) return fail(denied);
    }
    const ctl = parseControls(req.headers);
    const badRequest = (message: string) =>
      isAnthropic
        ? anthropicError(400, requestId, { type: "invalid_request_error", message })
        : openaiError(400, requestId, { error: { message, type: "invalid_request_error", param: null, code: null } });
    if (ctl instanceof Error) return fail(badRequest(ctl.message));

    let body: Record<string, unknown> = {};
    if (method === "POST") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(bodyText);
      } catch {}
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        return fail(
          badRequest(
            isAnthropic
              ? "There was an issue with your request body: the body is not valid JSON."
              : "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
          ),
        );
      }
      body = parsed as Record<string, unknown>;
      if (!isAnthropic && typeof body.model !== "string") return fail(badRequest("you must provide a model parameter"));
    }
    const model = ctl.model ?? (typeof body.model === "string" ? body.model : "unknown");
    // Per-model faults: the request's own model picks them (a gateway's fallback targets differ by model).
    const asked = typeof body.model === "string" ? body.model : "";
    if (ctl.statusFor && Object.hasOwn(ctl.statusFor, asked)) ctl.status = ctl.statusFor[asked];
    if (ctl.delayFor && Object.hasOwn(ctl.delayFor, asked)) ctl.delayMs = ctl.delayFor[asked]!;

    if (ctl.status !== undefined && ctl.status >= 400) {
      const reply = isAnthropic
        ? anthropicError(ctl.status, requestId, { retryAfter: ctl.retryAfter })
        : openaiError(ctl.status, requestId, { model, retryAfter: ctl.retryAfter });
      return send(res, reply, ctl, 0);
    }
    const reply = entry[1]({ style, body, bodyText, ctl, requestId, model });
    return send(res, reply, ctl, hashText(bodyText));
  };

  const server = http.createServer((req, res) => {
    res.on("error", () => {});
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("error", () => {});
    req.on("end", () => {
      const bodyText = chunks.length === 0 ? "" : Buffer.concat(chunks).toString("utf8");
      handle(req, res, bodyText).catch((err: unknown) => {
        if (!res.headersSent) {
          res.writeHead(500, { "content-type": "application/json" });
          res.end(
            JSON.stringify({ error: { message: `provider double crashed: ${String(err)}`, type: "server_error" } }),
          );
        } else res.destroy();
      });
    });
  });
  // Longer than undici's keep-alive so a pooled connection is never closed under a client's feet.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(":") ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    requests,
    reset() {
      requests.length = 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

const NO_CONTROLS: Controls = {
  reasoningTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  delayMs: 0,
  chunkDelayMs: 0,
  retryAfter: "1",
};
