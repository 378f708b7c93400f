/**
 * Reads what the hot path needs from the client's request — model, stream, max tokens, an input
 * estimate — and nothing more. Only metered endpoints (chat, completions, embeddings, responses,
 * messages) have their JSON parsed; anything else (model lists, files, …) streams through untouched.
 * Body too large: 413; malformed JSON on a metered endpoint: 400 — both before anything is forwarded.
 */
import { concatBytes } from "../lib/bytes";
import { GatewayError } from "../lib/errors";
import type { ProviderQuirks, WireFormat } from "../providers";
import {
  canCountTokens,
  createStreamMeter,
  createUsageChunkStripperCore,
  isMeteredEndpoint,
  likelyInputTokens,
  type RequestFacts,
  readRequestFacts,
  type TokenCountRequest,
  tokenCountRequest,
  type UsageChunkStripper,
  withIncludeUsageText,
} from "../wire";
import type { Meter } from "./tally";

/** The largest request body Tollgate reads (and forwards): 32 MiB, above every provider's own limit for JSON. */
export const MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export interface ProxiedRequest {
  restPath: string;
  facts: RequestFacts;
  metered: boolean;
  upstreamBody: BodyInit | null;
  injectedIncludeUsage: boolean;
  /** The provider can count this call's input exactly (src/wire/count.ts). */
  countable: boolean;
  /** Its count request, built only when asked for (the input bound matters); null: no exact mapping. */
  tokenCount(): TokenCountRequest | null;
  meter(streamed: boolean): Meter;
  /** The client-side stripper of the usage-only chunk we asked for (only when injectedIncludeUsage). */
  stripUsageChunk(): UsageChunkStripper;
}

const NO_FACTS: RequestFacts = {
  endpoint: "other",
  model: null,
  stream: false,
  maxOutputTokens: null,
  estimatedInputTokens: 0,
};

async function readBodyText(req: Request): Promise<string> {
  const declared = Number(req.headers.get("content-length") ?? "NaN");
  if (declared > MAX_REQUEST_BYTES) {
    throw new GatewayError("too_large", `Request body over Tollgate's ${MAX_REQUEST_BYTES}-byte limit.`);
  }
  if (!req.body) return "";
  // A declared length within the limit: one native read (the runtime holds it to that length).
  if (Number.isFinite(declared)) return req.text();
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_REQUEST_BYTES) {
      reader.cancel().catch(() => {});
      throw new GatewayError("too_large", `Request body over Tollgate's ${MAX_REQUEST_BYTES}-byte limit.`);
    }
    chunks.push(value);
  }
  return new TextDecoder().decode(concatBytes(chunks));
}

/** The client's body as read: parsed only on a metered endpoint (the routed path edits it, src/proxy/routed.ts). */
export interface RequestBody {
  /** The path after /proxy/{provider}/, without leading slashes. */
  path: string;
  metered: boolean;
  /** Metered: the body text and its parse. */
  text: string;
  json: Record<string, unknown>;
  /** Not metered: the body to stream through as it comes (null for GET / HEAD). */
  passThrough: BodyInit | null;
}

export async function readRequestBody(req: Request, format: WireFormat, restPath: string): Promise<RequestBody> {
  const path = restPath.replace(/^\/+/, "");
  const metered = req.method === "POST" && isMeteredEndpoint(format, path);
  if (!metered) {
    // Streamed through as it comes; a GET has no body.
    const passThrough = req.method === "GET" || req.method === "HEAD" ? null : req.body;
    return { path, metered: false, text: "", json: {}, passThrough };
  }
  const text = await readBodyText(req);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new GatewayError("invalid_request", "The request body is not valid JSON.");
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    throw new GatewayError("invalid_request", "The request body must be a JSON object.");
  }
  return { path, metered: true, text, json: json as Record<string, unknown>, passThrough: null };
}

/** The request as it goes to `upstream`: its facts, the body to send, its meter. */
export function prepareRequest(
  read: RequestBody,
  upstream: { id: string; format: WireFormat; quirks: ProviderQuirks },
): ProxiedRequest {
  const { format, quirks } = upstream;
  const { path } = read;
  if (!read.metered) {
    return {
      restPath: path,
      facts: NO_FACTS,
      metered: false,
      upstreamBody: read.passThrough,
      injectedIncludeUsage: false,
      countable: false,
      tokenCount: () => null,
      meter: (streamed) => createStreamMeter({ format, quirks, endpoint: "other", streamed }),
      stripUsageChunk: () => createUsageChunkStripperCore(),
    };
  }
  const { text, json: body } = read;
  const facts = readRequestFacts(format, path, body);
  // Only the stream_options text is inserted: the rest of the client's body goes up byte for byte.
  const rewritten = withIncludeUsageText(format, facts, text, body, quirks);
  return {
    restPath: path,
    facts,
    metered: true,
    upstreamBody: rewritten ?? text,
    injectedIncludeUsage: rewritten !== null,
    countable: canCountTokens(format, upstream.id, facts),
    tokenCount: () => tokenCountRequest(format, upstream.id, facts, body),
    meter: (streamed) =>
      createStreamMeter({
        format,
        quirks,
        endpoint: facts.endpoint,
        streamed,
        // Only if the provider never reports usage: a likely count, not the reservation's bound.
        estimatedInputTokens: () => likelyInputTokens(body),
        ...(facts.cacheWriteTtl ? { cacheWriteTtl: facts.cacheWriteTtl } : {}),
      }),
    stripUsageChunk: () => createUsageChunkStripperCore(),
  };
}

export async function readRequest(
  req: Request,
  upstream: { id: string; format: WireFormat; quirks: ProviderQuirks },
  restPath: string,
): Promise<ProxiedRequest> {
  return prepareRequest(await readRequestBody(req, upstream.format, restPath), upstream);
}
