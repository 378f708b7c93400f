/**
 * Stripe meter events (docs/billing.md §8, docs/stripe-export.md for Stripe's rules and sources):
 * one meter, event_name `tollgate_billed_nano_usd` by default (formula sum; price
 * unit_amount_decimal "0.0000001" cents per nano-USD), `identifier` = the record id, the value
 * billed_nano as an integer string (Stripe takes whole numbers only), `timestamp` = when the
 * request started.
 *
 *   v1  POST {api}/v1/billing/meter_events, form-encoded, the secret key; one event a request,
 *       a few at a time: for modest volumes. Validated synchronously: a 400 is final for that event.
 *   v2  POST {api}/v2/billing/meter_event_session (the secret key) → a token valid 15 minutes, then
 *       POST {meter events}/v2/billing/meter_event_stream with it, ≤ 100 events a request. The
 *       session is renewed a minute before it expires, and at once when Stripe answers
 *       billing_meter_event_session_expired. Stripe validates these events asynchronously.
 *
 * Only a 400 is final for the events it answers (counted, skipped: one bad record cannot stop the
 * export); any other refusal (a revoked key: 401, 403) stops the push with the cursor where it was.
 * Retries: network errors, timeouts, 429 and 5xx, with exponential backoff (Retry-After honoured,
 * capped), and whatever Stripe marks `stripe-should-retry: true`; never a 400. A v1 400 saying an
 * event with this identifier already exists means Stripe has the event: it counts as delivered, so
 * a replay of the cursor (src/billing/exports/push.ts) is harmless.
 */
import { nowMs } from "../../lib/clock";

export const DEFAULT_EVENT_NAME = "tollgate_billed_nano_usd";
export const STRIPE_API = "https://api.stripe.com";
export const STRIPE_METER_EVENTS = "https://meter-events.stripe.com";
/** v2: at most this many events per stream request (Stripe's limit). */
export const V2_BATCH = 100;
/** v1: events in flight at once. */
const V1_CONCURRENCY = 4;
const RENEW_BEFORE_MS = 60_000;
const ATTEMPTS = 4;
const BACKOFF_MS = 200;
const MAX_RETRY_AFTER_MS = 5_000;
const TIMEOUT_MS = 10_000;

export interface MeterEvent {
  identifier: string;
  customerId: string;
  /** A non-negative integer, as a decimal string. */
  value: string;
  timestampMs: number;
}

export interface StripeTarget {
  secretKey: string;
  api: "v1" | "v2";
  apiBaseUrl: string;
  meterEventsBaseUrl: string;
  eventName: string;
  /** The meter's customer_mapping.event_payload_key and value_settings.event_payload_key. */
  customerKey: string;
  valueKey: string;
}

export interface SendResult {
  sent: number;
  /** v1: Stripe already had the identifier (an earlier push, or a retried request). */
  duplicates: number;
  /** Refused for good (a 400): identifier and Stripe's message. */
  rejected: { identifier: string; error: string }[];
  /** HTTP requests made, retries included. */
  requests: number;
}

export class StripeUnavailable extends Error {}

type Fetch = typeof fetch;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function retryable(res: Response): boolean {
  const hint = res.headers.get("stripe-should-retry");
  if (hint === "true") return true;
  if (hint === "false") return false;
  return res.status === 429 || res.status >= 500;
}

function waitBefore(attempt: number, res: Response | null): number {
  const after = Number(res?.headers.get("retry-after"));
  if (Number.isFinite(after) && after > 0) return Math.min(after * 1000, MAX_RETRY_AFTER_MS);
  return BACKOFF_MS * 2 ** (attempt - 1);
}

async function request(doFetch: Fetch, url: string, init: RequestInit, out: SendResult): Promise<Response> {
  let last: unknown;
  let lastRes: Response | null = null;
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(waitBefore(attempt, lastRes));
    out.requests++;
    try {
      const res = await doFetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!retryable(res)) return res;
      lastRes = res;
      last = new Error(`Stripe answered ${res.status}: ${(await res.text()).slice(0, 200)}`);
    } catch (err) {
      lastRes = null;
      last = err;
    }
  }
  throw new StripeUnavailable(String((last as Error)?.message ?? last));
}

/** Stripe's error shape: {"error": {"type", "code"?, "message", "param"?}}. */
async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const text = await res.text();
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    return { code: e?.code ?? "", message: `${res.status} ${e?.code ?? ""}: ${e?.message ?? text}`.slice(0, 300) };
  } catch {
    return { code: "", message: `${res.status}: ${text.slice(0, 300)}` };
  }
}

const ALREADY_EXISTS = /already exists with identifier/i;

async function sendOneV1(t: StripeTarget, e: MeterEvent, doFetch: Fetch, out: SendResult): Promise<void> {
  const body = new URLSearchParams({
    event_name: t.eventName,
    [`payload[${t.customerKey}]`]: e.customerId,
    [`payload[${t.valueKey}]`]: e.value,
    identifier: e.identifier,
    timestamp: String(Math.floor(e.timestampMs / 1000)),
  });
  const res = await request(
    doFetch,
    `${t.apiBaseUrl}/v1/billing/meter_events`,
    {
      method: "POST",
      headers: {
        authorization: `Bearer ${t.secretKey}`,
        "content-type": "application/x-www-form-urlencoded",
        // A retried request is the same event: Stripe answers it from its idempotency cache.
        "idempotency-key": `tollgate-${e.identifier}`,
      },
      body,
    },
    out,
  );
  if (res.ok) {
    await res.body?.cancel();
    // Stripe answered from its idempotency cache (keys live ~24 h): an earlier push delivered it.
    if (res.headers.get("idempotent-replayed") === "true") out.duplicates++;
    else out.sent++;
    return;
  }
  const error = await errorOf(res);
  if (res.status !== 400) throw new StripeUnavailable(error.message);
  if (ALREADY_EXISTS.test(error.message)) out.duplicates++;
  else out.rejected.push({ identifier: e.identifier, error: error.message });
}

async function sendV1(t: StripeTarget, events: MeterEvent[], doFetch: Fetch, out: SendResult): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const worker = async () => {
    while (failure === null && next < events.length) {
      const e = events[next++]!;
      await sendOneV1(t, e, doFetch, out).catch((err) => {
        failure = err;
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(V1_CONCURRENCY, events.length) }, worker));
  if (failure) throw failure;
}

/** A v2 meter event session, renewed before it expires. */
export class MeterEventSession {
  private token: string | null = null;
  private expiresAt = 0;
  /** Sessions created (for the status and the tests). */
  created = 0;
  /** The batch whose requests the session's own requests count in. */
  out: SendResult = { sent: 0, duplicates: 0, rejected: [], requests: 0 };
  constructor(
    private readonly t: StripeTarget,
    private readonly doFetch: Fetch,
  ) {}

  async get(renew = false): Promise<string> {
    if (!renew && this.token && this.expiresAt - nowMs() > RENEW_BEFORE_MS) return this.token;
    const res = await request(
      this.doFetch,
      `${this.t.apiBaseUrl}/v2/billing/meter_event_session`,
      {
        method: "POST",
        headers: { authorization: `Bearer ${this.t.secretKey}`, "content-type": "application/json" },
        body: "{}",
      },
      this.out,
    );
    if (!res.ok) throw new StripeUnavailable(`meter event session: ${(await errorOf(res)).message}`);
    const s = (await res.json()) as { authentication_token: string; expires_at: string };
    this.token = s.authentication_token;
    this.expiresAt = Date.parse(s.expires_at);
    this.created++;
    return this.token;
  }
}

async function sendV2(
  t: StripeTarget,
  events: MeterEvent[],
  doFetch: Fetch,
  session: MeterEventSession,
  out: SendResult,
): Promise<void> {
  for (let i = 0; i < events.length; i += V2_BATCH) {
    const batch = events.slice(i, i + V2_BATCH);
    const body = JSON.stringify({
      events: batch.map((e) => ({
        event_name: t.eventName,
        identifier: e.identifier,
        timestamp: new Date(e.timestampMs).toISOString(),
        payload: { [t.customerKey]: e.customerId, [t.valueKey]: e.value },
      })),
    });
    const post = async (renew: boolean) =>
      request(
        doFetch,
        `${t.meterEventsBaseUrl}/v2/billing/meter_event_stream`,
        {
          method: "POST",
          headers: { authorization: `Bearer ${await session.get(renew)}`, "content-type": "application/json" },
          body,
        },
        out,
      );
    let res = await post(false);
    if (res.status === 401 && (await errorOf(res.clone())).code === "billing_meter_event_session_expired") {
      await res.body?.cancel();
      res = await post(true);
    }
    if (res.ok) {
      await res.body?.cancel();
      out.sent += batch.length;
    } else {
      const error = (await errorOf(res)).message;
      if (res.status !== 400) throw new StripeUnavailable(error);
      for (const e of batch) out.rejected.push({ identifier: e.identifier, error });
    }
  }
}

export interface StripeSender {
  /** Sends events; throws StripeUnavailable when Stripe cannot be reached or refuses the key. */
  send(events: MeterEvent[]): Promise<SendResult>;
  /** v2 sessions created so far. */
  sessions(): number;
}

/** One push's sender: its v2 session lives across the batches the push sends. */
export function stripeSender(t: StripeTarget, doFetch: Fetch = fetch): StripeSender {
  const session = new MeterEventSession(t, doFetch);
  return {
    async send(events) {
      const out: SendResult = { sent: 0, duplicates: 0, rejected: [], requests: 0 };
      if (t.api === "v1") {
        await sendV1(t, events, doFetch, out);
        return out;
      }
      session.out = out;
      await sendV2(t, events, doFetch, session, out);
      return out;
    },
    sessions: () => session.created,
  };
}
