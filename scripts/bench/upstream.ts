/**
 * The fast upstream for the benchmark: an OpenAI-compatible POST {prefix}/chat/completions that
 * answers from precomputed bytes, so its own CPU stays out of the figures as much as possible.
 *
 * The workload is read from the request body (every gateway forwards the messages untouched;
 * headers and query strings are not forwarded by all of them):
 *   "stream": true          → SSE: a role chunk, `chunks=N` content chunks (default 40), a finish
 *                             chunk, a usage chunk only when stream_options.include_usage is true
 *                             (as OpenAI does), then `data: [DONE]` — each event its own write
 *   otherwise               → one chat.completion JSON with usage
 *   `delay=N` in the text   → wait N ms before the status line
 *   `pace=N` in the text    → SSE: N ms between events (a model generating at its own pace)
 * Usage is fixed: prompt_tokens = PROMPT_TOKENS, completion_tokens = the chunk count.
 * It counts what it reported, so the bench can check the gateway recorded exactly that.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export const PROMPT_TOKENS = 27;
export const MODEL = "gpt-4o-mini";
const DEFAULT_CHUNKS = 40;

export interface UpstreamStats {
  requests: number;
  /** Responses that carried a usage object. */
  usageReported: number;
  promptTokens: number;
  completionTokens: number;
}

export interface BenchUpstream {
  url: string;
  port: number;
  stats: UpstreamStats;
  /** Arrival times (performance.now()) of requests, recorded while tracing. */
  arrivals: number[];
  trace(on: boolean): void;
  reset(): void;
  close(): Promise<void>;
}

const created = Math.floor(Date.now() / 1000);

function jsonBody(chunks: number): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion",
      created,
      model: MODEL,
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: Array.from({ length: chunks }, (_, i) => `tok${i} `).join("") },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
      usage: {
        prompt_tokens: PROMPT_TOKENS,
        completion_tokens: chunks,
        total_tokens: PROMPT_TOKENS + chunks,
        prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
      },
      system_fingerprint: "fp_bench",
    }),
  );
}

function sseFrames(chunks: number, withUsage: boolean): Buffer[] {
  const base = {
    id: "chatcmpl-bench",
    object: "chat.completion.chunk",
    created,
    model: MODEL,
    system_fingerprint: "fp_bench",
  };
  const usageField = withUsage ? { usage: null } : {};
  const frame = (o: unknown) => Buffer.from(`data: ${JSON.stringify(o)}\n\n`);
  const frames = [
    frame({
      ...base,
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }],
      ...usageField,
    }),
  ];
  for (let i = 0; i < chunks; i++) {
    frames.push(
      frame({ ...base, choices: [{ index: 0, delta: { content: `tok${i} ` }, finish_reason: null }], ...usageField }),
    );
  }
  frames.push(frame({ ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }], ...usageField }));
  if (withUsage) {
    frames.push(
      frame({
        ...base,
        choices: [],
        usage: {
          prompt_tokens: PROMPT_TOKENS,
          completion_tokens: chunks,
          total_tokens: PROMPT_TOKENS + chunks,
          prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
          completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0 },
        },
      }),
    );
  }
  frames.push(Buffer.from("data: [DONE]\n\n"));
  return frames;
}

const STREAM = /"stream"\s*:\s*true/;
const INCLUDE_USAGE = /"include_usage"\s*:\s*true/;
const DELAY = /delay=(\d+)/;
const CHUNKS = /chunks=(\d+)/;
const PACE = /pace=(\d+)/;

export async function startBenchUpstream(opts: { port?: number } = {}): Promise<BenchUpstream> {
  const stats: UpstreamStats = { requests: 0, usageReported: 0, promptTokens: 0, completionTokens: 0 };
  const arrivals: number[] = [];
  let tracing = false;
  const jsonCache = new Map<number, Buffer>();
  const sseCache = new Map<string, Buffer[]>();

  const answer = (res: http.ServerResponse, body: string) => {
    const stream = STREAM.test(body);
    const chunks = Number(CHUNKS.exec(body)?.[1] ?? DEFAULT_CHUNKS);
    if (!stream) {
      let buf = jsonCache.get(chunks);
      if (!buf) {
        buf = jsonBody(chunks);
        jsonCache.set(chunks, buf);
      }
      stats.usageReported++;
      stats.promptTokens += PROMPT_TOKENS;
      stats.completionTokens += chunks;
      res.writeHead(200, { "content-type": "application/json", "content-length": String(buf.length) });
      res.end(buf);
      return;
    }
    const withUsage = INCLUDE_USAGE.test(body);
    const key = `${chunks}:${withUsage}`;
    let frames = sseCache.get(key);
    if (!frames) {
      frames = sseFrames(chunks, withUsage);
      sseCache.set(key, frames);
    }
    if (withUsage) {
      stats.usageReported++;
      stats.promptTokens += PROMPT_TOKENS;
      stats.completionTokens += chunks;
    }
    res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
    const pace = Number(PACE.exec(body)?.[1] ?? 0);
    if (pace > 0) {
      // The model's tokens come at its pace; the end (the finish_reason chunk, the usage chunk when
      // asked for, [DONE]) comes at once, as OpenAI sends it: the usage chunk is no event of its own
      // pace, so stripping it leaves no pause in the client's copy that the provider did not make.
      const tail = withUsage ? 3 : 2;
      let i = 0;
      const next = () => {
        if (res.destroyed) return;
        if (i < frames!.length - tail) {
          res.write(frames![i++]);
          setTimeout(next, pace);
        } else res.end(Buffer.concat(frames!.slice(i)));
      };
      next();
      return;
    }
    for (let i = 0; i < frames.length - 1; i++) res.write(frames[i]);
    res.end(frames[frames.length - 1]);
  };

  const server = http.createServer({ noDelay: true }, (req, res) => {
    if (tracing) arrivals.push(performance.now());
    stats.requests++;
    res.on("error", () => {});
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => {
      body += c;
    });
    req.on("end", () => {
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: `bench upstream: no route ${req.method} ${req.url}` } }));
        return;
      }
      const delay = Number(DELAY.exec(body)?.[1] ?? 0);
      if (delay > 0) setTimeout(() => answer(res, body), delay);
      else answer(res, body);
    });
  });
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    arrivals,
    trace(on) {
      tracing = on;
      if (on) arrivals.length = 0;
    },
    reset() {
      stats.requests = stats.usageReported = stats.promptTokens = stats.completionTokens = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
