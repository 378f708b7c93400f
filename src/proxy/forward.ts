/**
 * Step 4: the upstream request. The provider's base URL (built-in, UPSTREAM_<ID>_URL, or the
 * account's custom provider) + the rest of the path + the query string; the client's headers minus
 * ours, minus hop-by-hop ones, minus the gateway key; the provider credential in the provider's
 * own auth style.
 */
import type { AuthStyle } from "../providers";
import { isTollgateHeader } from "./attribute";

// Hop-by-hop and per-connection headers (RFC 9110 §7.6.1), plus what the runtime sets itself.
const DROP_REQUEST = new Set([
  "host",
  "connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "content-length",
  "cf-connecting-ip",
  "cf-ipcountry",
  "cf-ray",
  "cf-visitor",
  "cf-worker",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-real-ip",
]);

export interface UpstreamCredential {
  /** null: bring-your-own-key — the client's Authorization / x-api-key go upstream untouched. */
  apiKey: string | null;
  authStyle: AuthStyle;
}

export function upstreamUrl(baseUrl: string, restPath: string, search: string): string {
  const base = baseUrl.replace(/\/+$/, "");
  const rest = restPath.replace(/^\/+/, "");
  return `${base}/${rest}${search}`;
}

/**
 * Headers are built as a plain record (names lower-case, as a Headers iterator yields them, repeated
 * headers already joined): fetch() and Response take it in one conversion, where a Headers object
 * costs a runtime call per append.
 */
export type HeaderRecord = Record<string, string>;

export function upstreamHeaders(client: Headers, credential: UpstreamCredential): HeaderRecord {
  const out: HeaderRecord = {};
  for (const [n, value] of client) {
    if (DROP_REQUEST.has(n) || isTollgateHeader(n)) continue;
    // The gateway key was the SDK's api key: it never goes upstream.
    if (credential.apiKey !== null && (n === "authorization" || n === "x-api-key")) continue;
    // Bring-your-own-key: the client's provider key goes up as is, but never a gateway key beside it.
    if ((n === "authorization" || n === "x-api-key") && /(^|\s)tg_/.test(value.trim())) continue;
    out[n] = value;
  }
  if (credential.apiKey !== null) {
    if (credential.authStyle === "x-api-key") out["x-api-key"] = credential.apiKey;
    else out.authorization = `Bearer ${credential.apiKey}`;
  }
  return out;
}

const DROP_RESPONSE = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "proxy-authenticate",
  "trailer",
  "upgrade",
]);

/** Response headers as a record, with Set-Cookie apart: the one header that cannot be joined. */
export interface ResponseHeaders {
  fields: HeaderRecord;
  cookies: string[];
}

/** The provider's response headers for the client; content-length dropped when we change the body. */
export function clientHeaders(upstream: Headers, opts: { bodyChanged: boolean }): ResponseHeaders {
  const out: ResponseHeaders = { fields: {}, cookies: [] };
  for (const [n, value] of upstream) {
    if (DROP_RESPONSE.has(n)) continue;
    if (opts.bodyChanged && n === "content-length") continue;
    // A Headers iterator yields Set-Cookie once per cookie (and every other name once, joined).
    if (n === "set-cookie") out.cookies.push(value);
    else out.fields[n] = value;
  }
  return out;
}

/** What Response takes: the record itself, or pairs when cookies must stay separate headers. */
export function headersInit(h: ResponseHeaders): HeadersInit {
  if (h.cookies.length === 0) return h.fields;
  return [...Object.entries(h.fields), ...h.cookies.map((c): [string, string] => ["set-cookie", c])];
}

/** The upstream did not send its status line within the route's timeoutMs. */
export class UpstreamTimeout extends Error {}

/**
 * Sends the call upstream. With `timeoutMs` (a route's), the fetch is aborted when no status line
 * came in that time; the timer stops once it does, so a slow stream is never cut. Rejects with
 * UpstreamTimeout, or with the fetch's own error when the provider cannot be reached.
 */
export async function sendUpstream(
  client: Request,
  baseUrl: string,
  request: { restPath: string; upstreamBody: BodyInit | null },
  credential: UpstreamCredential,
  timeoutMs?: number,
): Promise<Response> {
  const init: RequestInit = {
    method: client.method,
    headers: upstreamHeaders(client.headers, credential),
    body: request.upstreamBody,
    redirect: "manual",
  };
  const url = upstreamUrl(baseUrl, request.restPath, new URL(client.url).search);
  if (timeoutMs === undefined) return fetch(url, init);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    return await fetch(url, { ...init, signal: abort.signal });
  } catch (err) {
    throw abort.signal.aborted ? new UpstreamTimeout(`no answer within ${timeoutMs} ms`) : err;
  } finally {
    clearTimeout(timer);
  }
}
