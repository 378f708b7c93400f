/**
 * Helpers for the proxy e2e suites (test/e2e/proxy-*.test.ts): SDK clients pointed at the gateway
 * that also keep the exact bytes they received, the provider double's request log and a direct
 * replay against the double, cost records, and the hand-written usage mappings the expected costs
 * are computed from (docs/wire-formats.md, deliberately NOT src/wire's extractors).
 */
import { randomUUID } from "node:crypto";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { expect } from "vitest";
import { nanoToUsd } from "../../src/lib/money";
import { type AccountPriceOverride, priceUsage } from "../../src/pricing";
import { emptyUsage, USAGE_COUNTS, type Usage } from "../../src/usage";
import { eventually, stack } from "./gateway";

// ---------------------------------------------------------------------------------------------
// Clients that record what they got
// ---------------------------------------------------------------------------------------------

export interface Captured {
  url: string;
  /** The request body the SDK sent (text bodies only). */
  requestBody: string | null;
  status: number;
  headers: Headers;
  /** Every byte of the body as the client received it (resolves when the body ended or broke). */
  bytes: Promise<Uint8Array>;
}

/** A fetch for the SDKs that hands them the response unchanged and keeps a copy of its bytes. */
export function capturingFetch(): { fetch: typeof fetch; calls: Captured[] } {
  const calls: Captured[] = [];
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const res = await fetch(input, init);
    const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    const requestBody = typeof init?.body === "string" ? init.body : null;
    if (!res.body) {
      calls.push({
        url,
        requestBody,
        status: res.status,
        headers: res.headers,
        bytes: Promise.resolve(new Uint8Array()),
      });
      return res;
    }
    const [toSdk, toUs] = res.body.tee();
    const bytes = (async () => {
      const chunks: Uint8Array[] = [];
      const reader = toUs.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          chunks.push(value);
        }
      } catch {
        // Aborted or cut off: keep what arrived.
      }
      return Buffer.concat(chunks);
    })();
    calls.push({ url, requestBody, status: res.status, headers: res.headers, bytes });
    return new Response(toSdk, { status: res.status, statusText: res.statusText, headers: res.headers });
  }) as typeof fetch;
  return { fetch: f, calls };
}

export function openaiClient(
  key: string,
  opts: { provider?: string; headers?: Record<string, string>; fetch?: typeof fetch } = {},
): OpenAI {
  return new OpenAI({
    apiKey: key,
    baseURL: `${stack().gatewayUrl}/proxy/${opts.provider ?? "openai"}`,
    maxRetries: 0,
    timeout: 15_000,
    defaultHeaders: opts.headers ?? {},
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

export function anthropicClient(
  key: string,
  opts: { headers?: Record<string, string>; fetch?: typeof fetch } = {},
): Anthropic {
  return new Anthropic({
    apiKey: key,
    baseURL: `${stack().gatewayUrl}/proxy/anthropic`,
    maxRetries: 0,
    timeout: 15_000,
    defaultHeaders: opts.headers ?? {},
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
}

/** A fresh id sent as `x-e2e-call`, which the gateway passes upstream: finds this call in the double's log. */
export const callId = () => `call-${randomUUID()}`;

export const text = (b: Uint8Array) => new TextDecoder().decode(b);

// ---------------------------------------------------------------------------------------------
// The provider double
// ---------------------------------------------------------------------------------------------

export interface UpstreamRequest {
  method: string;
  path: string;
  query: string;
  headers: Record<string, string>;
  body: string;
  receivedAt: number;
}

export async function doubleRequests(): Promise<UpstreamRequest[]> {
  const res = await fetch(`${stack().doubleUrl}/__double/requests`);
  return (await res.json()) as UpstreamRequest[];
}

/** Every request the double received carrying `x-e2e-call: id` (the gateway forwards unknown headers). */
export async function upstreamCalls(id: string): Promise<UpstreamRequest[]> {
  return (await doubleRequests()).filter((r) => r.headers["x-e2e-call"] === id);
}

/** The one upstream request of a call. */
export async function upstreamCall(id: string): Promise<UpstreamRequest> {
  const found = await upstreamCalls(id);
  expect(found, `upstream requests with x-e2e-call ${id}`).toHaveLength(1);
  return found[0]!;
}

const NOT_REPLAYED = new Set(["host", "content-length", "connection", "transfer-encoding", "accept-encoding"]);

/**
 * Sends `req` (as the double recorded it, or with another body) straight to the double: what the
 * provider answers the very request the gateway made. Returns status, headers and raw bytes.
 */
export async function replay(
  req: UpstreamRequest,
  body: string = req.body,
  opts: { dropHeaders?: string[] } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (!NOT_REPLAYED.has(k) && !opts.dropHeaders?.includes(k)) headers[k] = v;
  }
  headers["x-e2e-call"] = `replay-${randomUUID()}`;
  const res = await fetch(`${stack().doubleUrl}${req.path}${req.query ? `?${req.query}` : ""}`, {
    method: req.method,
    headers,
    body: req.method === "GET" || req.method === "HEAD" ? undefined : body,
  });
  return { status: res.status, headers: res.headers, text: Buffer.from(await res.arrayBuffer()).toString("utf8") };
}

/**
 * The only fields in which two answers of the double to the same request differ: generated ids
 * (a per-process counter) and clock readings. Replaced by placeholders before comparing; the
 * length of every id is kept (each id field is replaced by its own length).
 */
export function normalizeIds(s: string): string {
  return s
    .replace(/"(id|item_id|request_id)": ?"([^"]*)"/g, (_m, k: string, v: string) => `"${k}":"<id:${v.length}>"`)
    .replace(/"(created|created_at)": ?\d+/g, (_m, k: string) => `"${k}":<time>`);
}

/** An SSE body's events (each ending with its blank line kept off). */
export function sseEvents(body: string): string[] {
  return body.split("\n\n").filter((e) => e.length > 0);
}

/** The JSON of each `data:` line of an SSE body (not [DONE], not comments). */
export function sseData(body: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const ev of sseEvents(body)) {
    for (const line of ev.split("\n")) {
      if (!line.startsWith("data:")) continue;
      const payload = line.slice(5).trim();
      if (payload === "[DONE]") continue;
      out.push(JSON.parse(payload) as Record<string, unknown>);
    }
  }
  return out;
}

/** An OpenAI-format stream minus its usage-only events (`choices: []` with a usage object). */
export function withoutUsageOnlyEvents(body: string): string {
  return body
    .split(/(?<=\n\n)/)
    .filter((ev) => {
      const m = /^data: (\{.*\})\n\n$/s.exec(ev);
      if (!m) return true;
      const j = JSON.parse(m[1]!) as { choices?: unknown[]; usage?: unknown };
      return !(Array.isArray(j.choices) && j.choices.length === 0 && j.usage && typeof j.usage === "object");
    })
    .join("");
}

// ---------------------------------------------------------------------------------------------
// Cost records
// ---------------------------------------------------------------------------------------------

export interface CostRecord {
  id: string;
  accountId: string;
  keyId: string | null;
  tenant: string | null;
  feature: string | null;
  user: string | null;
  environment: string;
  workflow: string | null;
  tags: Record<string, string>;
  provider: string;
  model: string | null;
  modelRequested: string | null;
  modelAnswered: string | null;
  endpoint: string;
  streamed: boolean;
  status: number;
  inputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cacheWrite1hTokens: number;
  inputAudioTokens: number;
  cacheAudioReadTokens: number;
  outputTokens: number;
  outputAudioTokens: number;
  reasoningTokens: number;
  webSearchRequests: number;
  costUsd: string;
  providerReportedCostUsd: string | null;
  priced: boolean;
  priceVersion: string | null;
  ratesApplied: unknown;
  usageSource: "reported" | "estimated" | "none";
  budgetChecked: boolean;
  latencyMs: number | null;
  ttftMs: number | null;
  startedAt: string;
  finishedAt: string;
  route: string | null;
  attempt: number | null;
  attemptOf: string | null;
  cache: "hit" | "miss" | null;
  savedUsd: string | null;
  maxTokensApplied: number | null;
  downgradedFrom: string | null;
}

export async function getRecord(key: string, id: string): Promise<{ status: number; body: unknown }> {
  const res = await fetch(`${stack().gatewayUrl}/v1/requests/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${key}` },
  });
  return { status: res.status, body: await res.json() };
}

/** The record of call `id`, polled until it is there: the contract says within 2 s of the last byte. */
export async function record(key: string, id: string, withinMs = 2000): Promise<CostRecord> {
  return eventually(async () => {
    const r = await getRecord(key, id);
    return r.status === 200 ? (r.body as CostRecord) : undefined;
  }, withinMs);
}

const BUCKETS = USAGE_COUNTS;

export function recordUsage(r: CostRecord): Usage {
  const u = emptyUsage();
  for (const b of BUCKETS) u[b] = r[b];
  return u;
}

/** usage buckets equal to `usage`, usageSource "reported", costUsd = priceUsage(usage). */
export function expectPricedRecord(
  r: CostRecord,
  usage: Partial<Usage>,
  opts: { provider: string; model: string; overrides?: AccountPriceOverride[] },
): void {
  const full = { ...emptyUsage(), ...usage };
  expect(recordUsage(r)).toEqual(full);
  expect(r.usageSource).toBe("reported");
  const price = priceUsage({
    provider: opts.provider,
    model: opts.model,
    usage: full,
    at: new Date(r.startedAt),
    ...(opts.overrides ? { overrides: opts.overrides } : {}),
  });
  expect(price.priced, `catalog prices ${opts.provider}/${opts.model}`).toBe(true);
  if (!price.priced) return;
  expect(price.costNano).toBeGreaterThan(0);
  expect(r.priced).toBe(true);
  expect(r.costUsd).toBe(nanoToUsd(price.costNano));
}

// ---------------------------------------------------------------------------------------------
// Usage as the provider reported it → our buckets, by hand (docs/wire-formats.md)
// ---------------------------------------------------------------------------------------------

type Obj = Record<string, unknown>;
const n = (x: unknown): number => (typeof x === "number" ? x : 0);
const o = (x: unknown): Obj => (x && typeof x === "object" ? (x as Obj) : {});

/**
 * OpenAI-format chat / completions usage (§2) with each provider's quirk:
 * DeepSeek hit/miss (§7), Gemini thoughts only in total (§6), xAI reasoning outside completion (§12).
 */
export function usageOpenAIChat(provider: string, reported: object): Partial<Usage> {
  const u = reported as Obj;
  const prompt = n(u.prompt_tokens);
  const completion = n(u.completion_tokens);
  const total = n(u.total_tokens);
  const ptd = o(u.prompt_tokens_details);
  const ctd = o(u.completion_tokens_details);
  if (provider === "deepseek") {
    return {
      inputTokens: n(u.prompt_cache_miss_tokens),
      cacheReadTokens: n(u.prompt_cache_hit_tokens),
      outputTokens: completion,
      reasoningTokens: n(ctd.reasoning_tokens),
    };
  }
  const cached = n(ptd.cached_tokens);
  const cacheWrite = n(ptd.cache_write_tokens);
  const base = { inputTokens: prompt - cached - cacheWrite, cacheReadTokens: cached, cacheWriteTokens: cacheWrite };
  if (provider === "gemini" || provider === "xai") {
    const output = Math.max(completion, total - prompt);
    return { ...base, outputTokens: output, reasoningTokens: output - completion };
  }
  return { ...base, outputTokens: completion, reasoningTokens: n(ctd.reasoning_tokens) };
}

/** Embeddings (§3): everything is input. */
export function usageEmbeddings(reported: object): Partial<Usage> {
  const u = reported as Obj;
  return { inputTokens: n(u.prompt_tokens) };
}

/** Responses API (§4). */
export function usageResponses(reported: object): Partial<Usage> {
  const u = reported as Obj;
  const cached = n(o(u.input_tokens_details).cached_tokens);
  const cacheWrite = n(o(u.input_tokens_details).cache_write_tokens);
  return {
    inputTokens: n(u.input_tokens) - cached - cacheWrite,
    cacheReadTokens: cached,
    cacheWriteTokens: cacheWrite,
    outputTokens: n(u.output_tokens),
    reasoningTokens: n(o(u.output_tokens_details).reasoning_tokens),
  };
}

/** Anthropic Messages (§5): input excludes cache reads/writes; writes split by TTL when reported. */
export function usageAnthropic(reported: object): Partial<Usage> {
  const u = reported as Obj;
  const write = n(u.cache_creation_input_tokens);
  const split = o(u.cache_creation);
  const oneHour = n(split.ephemeral_1h_input_tokens);
  return {
    inputTokens: n(u.input_tokens),
    cacheReadTokens: n(u.cache_read_input_tokens),
    cacheWriteTokens: write - oneHour,
    cacheWrite1hTokens: oneHour,
    outputTokens: n(u.output_tokens),
    reasoningTokens: n(o(u.output_tokens_details).thinking_tokens),
    webSearchRequests: n(o(u.server_tool_use).web_search_requests),
  };
}

/** The final usage of an Anthropic SSE body: message_start's usage overlaid with the last delta's non-null fields. */
export function anthropicStreamUsage(body: string): Obj {
  let usage: Obj = {};
  for (const ev of sseData(body)) {
    if (ev.type === "message_start") usage = { ...o(o(ev.message).usage) };
    if (ev.type === "message_delta") {
      for (const [k, v] of Object.entries(o(ev.usage))) if (v !== null && v !== undefined) usage[k] = v;
    }
  }
  return usage;
}

/** The last usage object of an OpenAI-format SSE body (top-level `usage`; cumulative styles: the last wins). */
export function openaiStreamUsage(body: string): Obj | null {
  let last: Obj | null = null;
  for (const ev of sseData(body)) {
    if (ev.usage && typeof ev.usage === "object") last = ev.usage as Obj;
    const r = o(ev.response);
    if (r.usage && typeof r.usage === "object") last = r.usage as Obj;
  }
  return last;
}

/** One chat call for a tenant, expected to succeed; its request id. */
export async function tenantChat(key: string, tenant: string, maxTokens = 40): Promise<string> {
  const res = await fetch(`${stack().gatewayUrl}/proxy/openai/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", "x-tollgate-tenant": tenant },
    body: JSON.stringify({ model: "gpt-4o-mini", max_tokens: maxTokens, messages: [{ role: "user", content: "hi" }] }),
  });
  if (res.status !== 200) throw new Error(`chat for ${tenant}: ${res.status} ${await res.text()}`);
  await res.text();
  return res.headers.get("x-tollgate-request-id")!;
}
