/**
 * A local stand-in for Stripe's meter event APIs, enforcing the documented field rules
 * (docs/stripe-export.md cites them). No network.
 *
 *   POST /v1/billing/meter_events           form-encoded; the secret key (Bearer, or Basic as curl -u)
 *   POST /v2/billing/meter_event_session    the secret key → {authentication_token, expires_at} (15 min)
 *   POST /v2/billing/meter_event_stream     Bearer the session token; {"events": [1..100]}
 *
 * Rules: event_name required (≤ 100 chars); payload holds the customer key (stripe_customer_id)
 * and the value key (value), the value a whole number as a string; identifier ≤ 100 chars, unique
 * (v1: a second event with it is a 400 "An event already exists with identifier …"; v2 validates
 * asynchronously, so a duplicate is accepted and dropped — either way it counts once); timestamp
 * within the past 35 days and at most 5 minutes ahead. Errors in Stripe's shape
 * {"error": {"type", "code"?, "message", "param"?}}. v1 honours Idempotency-Key (same key, same
 * answer, `idempotent-replayed: true`). Times are the test process's clock (test/setup/clock.ts moves
 * it with the Worker's).
 *
 * Knobs for tests: fail(status, times) answers the next requests with that status (a 429 with
 * Retry-After: 0), expireSessions() makes every token expired, sessionTtlMs sets the token's life,
 * forgetIdempotencyKeys() is the 24 hours after which Stripe prunes them.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface AcceptedEvent {
  api: "v1" | "v2";
  eventName: string;
  identifier: string;
  customerId: string;
  value: bigint;
  timestampMs: number;
}

export interface StripeDouble {
  url: string;
  secretKey: string;
  /** Events counted once each (duplicates left out). */
  events: AcceptedEvent[];
  /** v2's asynchronous validation failures (Stripe reports them as v1.billing.meter.error_report_triggered). */
  asyncErrors: { identifier: string; code: string }[];
  requests: { method: string; path: string; status: number }[];
  sessionsCreated(): number;
  total(customerId: string, eventName?: string): bigint;
  fail(status: number, times?: number): void;
  expireSessions(): void;
  /** Stripe prunes idempotency keys after 24 hours; this prunes them now. */
  forgetIdempotencyKeys(): void;
  close(): Promise<void>;
}

const DAY = 86_400_000;
const PAST_MS = 35 * DAY;
const FUTURE_MS = 5 * 60_000;
const MAX_BATCH = 100;

type Answer = [number, unknown, Record<string, string>?];

const stripeError = (
  status: number,
  message: string,
  code?: string,
  param?: string,
  headers: Record<string, string> = {},
): Answer => [
  status,
  {
    error: {
      type: status === 401 ? "invalid_request_error" : status >= 500 ? "api_error" : "invalid_request_error",
      ...(code ? { code } : {}),
      message,
      ...(param ? { param } : {}),
    },
  },
  headers,
];

export async function startStripeDouble(
  opts: { secretKey?: string; sessionTtlMs?: number; customerKey?: string; valueKey?: string } = {},
): Promise<StripeDouble> {
  const secretKey = opts.secretKey ?? "sk_test_tollgate_double";
  const customerKey = opts.customerKey ?? "stripe_customer_id";
  const valueKey = opts.valueKey ?? "value";
  const ttl = opts.sessionTtlMs ?? 15 * 60_000;
  const events: AcceptedEvent[] = [];
  const asyncErrors: StripeDouble["asyncErrors"] = [];
  const requests: StripeDouble["requests"] = [];
  const seen = new Set<string>();
  const idempotency = new Map<string, { body: string; answer: Answer }>();
  const sessions = new Map<string, number>();
  let sessionCount = 0;
  const faults: number[] = [];

  const secretOk = (auth: string | undefined) => {
    if (!auth) return false;
    if (auth.startsWith("Bearer ")) return auth.slice(7) === secretKey;
    if (auth.startsWith("Basic ")) return Buffer.from(auth.slice(6), "base64").toString().split(":")[0] === secretKey;
    return false;
  };

  /** The rules both APIs share; null when the event is good. */
  function check(e: {
    event_name?: unknown;
    identifier?: unknown;
    payload?: Record<string, unknown>;
    timestampMs: number | null;
  }): { message: string; code?: string; param: string } | null {
    if (typeof e.event_name !== "string" || e.event_name === "")
      return { message: "Missing required param: event_name.", code: "parameter_missing", param: "event_name" };
    if (e.event_name.length > 100) return { message: "event_name is too long", param: "event_name" };
    if (typeof e.identifier === "string" && e.identifier.length > 100)
      return { message: "identifier is too long", param: "identifier" };
    const customer = e.payload?.[customerKey];
    if (typeof customer !== "string" || customer === "")
      return {
        message: `Missing required param: payload[${customerKey}].`,
        code: "parameter_missing",
        param: `payload[${customerKey}]`,
      };
    const value = e.payload?.[valueKey];
    if (typeof value !== "string" || !/^-?\d+$/.test(value))
      return { message: `payload[${valueKey}] must be a whole number.`, param: `payload[${valueKey}]` };
    if (e.timestampMs === null || !Number.isFinite(e.timestampMs))
      return { message: "Invalid timestamp", param: "timestamp" };
    const now = Date.now();
    if (e.timestampMs < now - PAST_MS)
      return {
        message: "Timestamp must be within the past 35 calendar days.",
        code: "timestamp_too_far_in_past",
        param: "timestamp",
      };
    if (e.timestampMs > now + FUTURE_MS)
      return {
        message: "Timestamp must be at most 5 minutes in the future.",
        code: "timestamp_in_future",
        param: "timestamp",
      };
    return null;
  }

  function accept(
    api: "v1" | "v2",
    e: { event_name: string; identifier: string; payload: Record<string, unknown> },
    timestampMs: number,
  ) {
    seen.add(e.identifier);
    events.push({
      api,
      eventName: e.event_name,
      identifier: e.identifier,
      customerId: String(e.payload[customerKey]),
      value: BigInt(String(e.payload[valueKey])),
      timestampMs,
    });
  }

  function v1(headers: http.IncomingHttpHeaders, raw: string): Answer {
    if (!secretOk(headers.authorization)) return stripeError(401, "Invalid API Key provided.");
    if (!String(headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded"))
      return stripeError(400, "Invalid request: expected a form-encoded body.");
    const key = headers["idempotency-key"];
    if (typeof key === "string") {
      const earlier = idempotency.get(key);
      if (earlier) {
        if (earlier.body !== raw)
          return stripeError(
            400,
            "Keys for idempotent requests can only be used with the same parameters they were first used with.",
            "idempotency_key_in_use",
          );
        return [earlier.answer[0], earlier.answer[1], { "idempotent-replayed": "true" }];
      }
    }
    const form = new URLSearchParams(raw);
    const payload: Record<string, string> = {};
    for (const [k, v] of form) {
      const m = /^payload\[(.+)\]$/.exec(k);
      if (m) payload[m[1]!] = v;
    }
    const ts = form.get("timestamp");
    if (ts !== null && !/^\d+$/.test(ts)) return stripeError(400, "Invalid integer: timestamp", undefined, "timestamp");
    const timestampMs = ts === null ? Date.now() : Number(ts) * 1000;
    const identifier = form.get("identifier") ?? `gen_${events.length}_${Math.random()}`;
    const e = { event_name: form.get("event_name") ?? undefined, identifier, payload, timestampMs };
    const bad = check(e);
    let answer: Answer;
    if (bad) answer = stripeError(400, bad.message, bad.code, bad.param);
    else if (seen.has(identifier))
      answer = stripeError(400, `An event already exists with identifier ${identifier}.`, undefined, undefined, {
        "stripe-should-retry": "false",
      });
    else {
      accept("v1", { event_name: e.event_name!, identifier, payload }, timestampMs);
      answer = [
        200,
        {
          object: "billing.meter_event",
          created: Math.floor(Date.now() / 1000),
          event_name: e.event_name,
          identifier,
          livemode: false,
          payload,
          timestamp: Math.floor(timestampMs / 1000),
        },
      ];
    }
    if (typeof key === "string") idempotency.set(key, { body: raw, answer });
    return answer;
  }

  function session(headers: http.IncomingHttpHeaders): Answer {
    if (!secretOk(headers.authorization)) return stripeError(401, "Invalid API Key provided.");
    const token = `mes_tok_${++sessionCount}_${Math.random().toString(36).slice(2)}`;
    const now = Date.now();
    sessions.set(token, now + ttl);
    return [
      200,
      {
        id: `mes_${sessionCount}`,
        object: "v2.billing.meter_event_session",
        authentication_token: token,
        created: new Date(now).toISOString(),
        expires_at: new Date(now + ttl).toISOString(),
        livemode: false,
      },
    ];
  }

  function stream(headers: http.IncomingHttpHeaders, raw: string): Answer {
    const auth = headers.authorization ?? "";
    const expiresAt = auth.startsWith("Bearer ") ? sessions.get(auth.slice(7)) : undefined;
    if (expiresAt === undefined) return stripeError(401, "Invalid meter event session token.");
    if (expiresAt <= Date.now())
      return stripeError(
        401,
        "The meter event session has expired; create a new one.",
        "billing_meter_event_session_expired",
      );
    let body: { events?: unknown };
    try {
      body = JSON.parse(raw) as { events?: unknown };
    } catch {
      return stripeError(400, "Invalid JSON body.");
    }
    if (!Array.isArray(body.events) || body.events.length === 0)
      return stripeError(400, "events must be a non-empty array.", "parameter_missing", "events");
    if (body.events.length > MAX_BATCH)
      return stripeError(400, `events supports up to ${MAX_BATCH} events per request.`, "parameter_invalid", "events");
    // Structure first, for the whole request; then the asynchronous checks, per event.
    for (const e of body.events as Record<string, unknown>[]) {
      if (typeof e !== "object" || e === null || typeof e.payload !== "object")
        return stripeError(400, "Each event needs event_name and payload.", "parameter_missing", "events");
    }
    for (const e of body.events as {
      event_name?: unknown;
      identifier?: unknown;
      payload: Record<string, unknown>;
      timestamp?: unknown;
    }[]) {
      const timestampMs =
        e.timestamp === undefined ? Date.now() : typeof e.timestamp === "string" ? Date.parse(e.timestamp) : Number.NaN;
      const identifier = typeof e.identifier === "string" ? e.identifier : `gen_${events.length}_${Math.random()}`;
      const bad = check({ ...e, timestampMs });
      if (bad) asyncErrors.push({ identifier, code: bad.code ?? bad.param });
      else if (seen.has(identifier)) asyncErrors.push({ identifier, code: "duplicate_meter_event" });
      else accept("v2", { event_name: e.event_name as string, identifier, payload: e.payload }, timestampMs);
    }
    return [200, {}];
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString();
      const path = new URL(req.url ?? "/", "http://double").pathname;
      let answer: Answer;
      const fault = faults.shift();
      if (fault !== undefined)
        answer = stripeError(
          fault,
          fault === 429 ? "Too many requests" : "An unknown error occurred",
          undefined,
          undefined,
          fault === 429 ? { "retry-after": "0" } : {},
        );
      else if (req.method !== "POST") answer = stripeError(405, "POST only");
      else if (path === "/v1/billing/meter_events") answer = v1(req.headers, raw);
      else if (path === "/v2/billing/meter_event_session") answer = session(req.headers);
      else if (path === "/v2/billing/meter_event_stream") answer = stream(req.headers, raw);
      else answer = stripeError(404, `Unrecognized request URL (POST: ${path}).`);
      const [status, body, headers] = answer;
      requests.push({ method: req.method ?? "", path, status });
      res.writeHead(status, { "content-type": "application/json", ...(headers ?? {}) });
      res.end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    secretKey,
    events,
    asyncErrors,
    requests,
    sessionsCreated: () => sessionCount,
    total: (customerId, eventName) =>
      events
        .filter((e) => e.customerId === customerId && (eventName === undefined || e.eventName === eventName))
        .reduce((s, e) => s + e.value, 0n),
    fail: (status, times = 1) => {
      for (let i = 0; i < times; i++) faults.push(status);
    },
    expireSessions: () => {
      for (const k of sessions.keys()) sessions.set(k, 0);
    },
    forgetIdempotencyKeys: () => idempotency.clear(),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
