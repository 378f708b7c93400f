/**
 * One span per call attempt, following OpenTelemetry's GenAI semantic conventions for an inference
 * client span (kind CLIENT, name "{gen_ai.operation.name} {gen_ai.request.model}"), plus what only
 * the gateway knows under `tollgate.*`: the exact cost, the price version, the attribution, the
 * budget decision, where the usage came from, whether the upstream body was cut off and whether
 * the client hung up.
 *
 * GenAI token attributes follow the conventions' inclusive counting: gen_ai.usage.input_tokens
 * includes the cache reads and writes (gen_ai.usage.cache_read.input_tokens,
 * gen_ai.usage.cache_creation.input_tokens), gen_ai.usage.output_tokens includes reasoning
 * (gen_ai.usage.reasoning.output_tokens). Tollgate's own non-overlapping buckets — what the bill is
 * computed from — are `tollgate.usage.*`.
 */
import type { CostRecord } from "../records/record";
import { totalInputTokens, totalOutputTokens, USAGE_COUNTS, type UsageCount } from "../usage";
import { newIds, type TraceContext } from "./trace-context";

export type AttributeValue = string | number | boolean | bigint;

export interface Span {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  traceState: string | null;
  name: string;
  /** Milliseconds since the epoch, by the gateway's clock. */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  error: string | null;
}

/** What a span reads from the call besides its record (a structural subset of the proxy's call context). */
export interface AttemptCall {
  upstream: { id: string; baseUrl: string };
  request: { facts: { endpoint: string; maxOutputTokens: number | null } };
  admission: { budgetChecked: boolean; worstCaseNano: bigint; responseHeaders: Record<string, string> };
}

/** What the span reads from the tally (src/proxy/tally.ts); null when no body was read. */
export interface AttemptTally {
  /** The upstream body ended normally. */
  complete: boolean;
  /** The client hung up before the end (its SDK cancelled the stream); undefined: not known. */
  clientGone?: boolean;
}

/** gen_ai.operation.name per Tollgate endpoint (the conventions' well-known values). */
const OPERATION: Record<string, string> = {
  chat: "chat",
  completions: "text_completion",
  embeddings: "embeddings",
  responses: "chat",
  messages: "chat",
};

/** gen_ai.provider.name: the conventions' well-known values where one exists, else our id. */
const PROVIDER_NAME: Record<string, string> = {
  openai: "openai",
  anthropic: "anthropic",
  deepseek: "deepseek",
  gemini: "gcp.gemini",
  mistral: "mistral_ai",
  groq: "groq",
  perplexity: "perplexity",
  xai: "x_ai",
};

const snake = (name: string) => name.replace(/[A-Z]|\d+/g, (c) => `_${c.toLowerCase()}`);
const USAGE_ATTRIBUTE: Record<UsageCount, string> = Object.fromEntries(
  USAGE_COUNTS.map((k) => [k, `tollgate.usage.${snake(k)}`]),
) as Record<UsageCount, string>;

export const WAITED_HEADER = "x-tollgate-budget-waited-ms";

// Parsed once per base URL: a URL parse is most of a span's cost otherwise.
const servers = new Map<string, { address: string; port: number } | null>();
function serverOf(baseUrl: string): { address: string; port: number } | null {
  let server = servers.get(baseUrl);
  if (server === undefined) {
    try {
      const u = new URL(baseUrl);
      server = { address: u.hostname, port: u.port ? Number(u.port) : u.protocol === "https:" ? 443 : 80 };
    } catch {
      server = null;
    }
    if (servers.size >= 1000) servers.clear();
    servers.set(baseUrl, server);
  }
  return server;
}

/** nano-USD → USD as a double: the division is correctly rounded, so it equals the decimal string's value. */
const usdNumber = (nano: bigint) => Number(nano) / 1e9;

export function attemptSpan(
  record: CostRecord,
  call: AttemptCall,
  tally: AttemptTally | null,
  parent: TraceContext | null,
): Span {
  const a: Record<string, AttributeValue> = {};
  const set = (k: string, v: AttributeValue | null | undefined) => {
    if (v !== null && v !== undefined && v !== "") a[k] = v;
  };
  const operation = OPERATION[call.request.facts.endpoint];
  const model = record.modelRequested ?? record.modelAnswered;

  set("gen_ai.operation.name", operation);
  set("gen_ai.provider.name", PROVIDER_NAME[record.provider] ?? record.provider);
  set("gen_ai.request.model", record.modelRequested);
  set("gen_ai.response.model", record.modelAnswered);
  set("gen_ai.request.max_tokens", call.request.facts.maxOutputTokens);
  const server = serverOf(call.upstream.baseUrl);
  set("server.address", server?.address);
  set("server.port", server?.port);
  set("http.response.status_code", record.status);
  const error =
    record.status >= 400 ? (record.status === 502 && !tally ? "upstream_unreachable" : String(record.status)) : null;
  set("error.type", error);

  if (record.usageSource !== "none") {
    const u = record.usage;
    set("gen_ai.usage.input_tokens", totalInputTokens(u));
    set("gen_ai.usage.output_tokens", totalOutputTokens(u));
    set("gen_ai.usage.cache_read.input_tokens", u.cacheReadTokens + u.cacheAudioReadTokens);
    set("gen_ai.usage.cache_creation.input_tokens", u.cacheWriteTokens + u.cacheWrite1hTokens);
    set("gen_ai.usage.reasoning.output_tokens", u.reasoningTokens);
    for (const k of USAGE_COUNTS) set(USAGE_ATTRIBUTE[k], u[k]);
  }

  set("tollgate.request_id", record.id);
  set("tollgate.account.id", record.accountId);
  set("tollgate.key.id", record.keyId);
  set("tollgate.provider", record.provider);
  set("tollgate.endpoint", record.endpoint);
  set("tollgate.streamed", record.streamed);
  set("tollgate.cost.usd", usdNumber(record.costNano));
  set("tollgate.cost.nano_usd", record.costNano);
  set("tollgate.priced", record.priced);
  set("tollgate.priced_by", record.pricedBy);
  set("tollgate.price_version", record.priceVersion);
  set("tollgate.usage.source", record.usageSource);
  set("tollgate.tenant", record.tenant);
  set("tollgate.feature", record.feature);
  set("tollgate.user", record.userId);
  set("tollgate.env", record.environment);
  set("tollgate.workflow", record.workflow);
  for (const [k, v] of Object.entries(record.tags)) set(`tollgate.tag.${k}`, v);

  const waited = Number(call.admission.responseHeaders[WAITED_HEADER] ?? 0);
  set(
    "tollgate.budget.decision",
    !call.admission.budgetChecked ? "unchecked" : waited > 0 ? "admitted_after_wait" : "admitted",
  );
  set("tollgate.budget.checked", call.admission.budgetChecked);
  if (waited > 0) set("tollgate.budget.waited_ms", waited);
  set("tollgate.budget.worst_case_usd", usdNumber(call.admission.worstCaseNano));
  // The upstream body did not end normally: cut off, or over the meter's bounds (src/proxy/tally.ts).
  set("tollgate.aborted", tally ? !tally.complete : false);
  // The client cancelled: the provider went on (and billed); Tollgate read its answer to the end.
  // Known where Tollgate writes the client's copy itself; a native tee does not say (then absent).
  set("tollgate.cancelled", tally?.clientGone);
  set("tollgate.ttft_ms", record.ttftMs);

  const ids = newIds(!parent);
  return {
    traceId: parent?.traceId ?? ids.traceId,
    spanId: ids.spanId,
    parentSpanId: parent?.parentSpanId ?? null,
    traceState: parent?.traceState ?? null,
    name: operation ? `${operation} ${model ?? "unknown"}` : `proxy ${record.provider} ${record.endpoint}`,
    startMs: record.startedAt.getTime(),
    endMs: record.finishedAt.getTime(),
    attributes: a,
    error,
  };
}
