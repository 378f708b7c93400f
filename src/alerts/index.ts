/**
 * Step 10: alerts for the budget thresholds a settle crossed (each fires once per rule, scope
 * value, period and threshold — the settle script guarantees that). Every alert channel of the
 * account gets every crossing: a webhook signed with HMAC-SHA256 (sign.ts), or an email through
 * an HTTP email API (Resend-compatible: EMAIL_API_URL, EMAIL_API_KEY, EMAIL_FROM).
 * The cron job's events (spend anomalies, forecasts, reconciliation differences) and wallet events
 * (low balance, depletion, top-up requests: src/billing/events.ts) go through the same channels with
 * deliverEvents; whoever emits an event makes sure it fires once.
 *
 * Runs inside waitUntil, so it is bounded: at most MAX_ATTEMPTS attempts per delivery, each with
 * an ATTEMPT_TIMEOUT_MS timeout, exponential backoff between them (0.5 s, 1 s, 2 s): under 20 s in
 * the worst case. 2xx = delivered; a network error, a timeout, 408, 429 or 5xx is retried; any
 * other answer is final. Every attempt is a row in alert_deliveries (GET …/alerts/deliveries).
 * After the last failed attempt the row says `gave_up` and the alert is not sent again (its
 * threshold marker is already set for the period).
 */
import { inArray } from "drizzle-orm";
import { alertDeliveries } from "../../schema/budgets";
import { alertChannels } from "../../schema/index";
import type { Crossing } from "../budgets";
import { describePeriod, periodWindow } from "../budgets/periods";
import { describeScope } from "../budgets/rules";
import { type Config, type Env, sealingSecret } from "../config";
import { nowMs } from "../lib/clock";
import { decryptSecret } from "../lib/crypto";
import { randomToken } from "../lib/ids";
import { nanoToUsd } from "../lib/money";
import type { ReportsDb } from "../reports/db";
import { SIGNATURE_HEADER, signWebhook } from "./sign";

export const MAX_ATTEMPTS = 4;
export const ATTEMPT_TIMEOUT_MS = 4000;
export const BACKOFF_BASE_MS = 500;

export interface AlertConfig {
  /** Seals webhook secrets at rest (TOLLGATE_ENCRYPTION_KEY, else TOLLGATE_ADMIN_TOKEN). */
  sealingSecret: string;
  EMAIL_API_URL?: string;
  EMAIL_API_KEY?: string;
  EMAIL_FROM?: string;
}

/** The alert settings from the Worker's config and env (EMAIL_* are plain vars/secrets). */
export function alertConfig(
  config: Pick<Config, "TOLLGATE_ADMIN_TOKEN"> & { TOLLGATE_ENCRYPTION_KEY?: string },
  env: Env,
): AlertConfig {
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  return {
    sealingSecret: sealingSecret(config),
    EMAIL_API_URL: str(env.EMAIL_API_URL),
    EMAIL_API_KEY: str(env.EMAIL_API_KEY),
    EMAIL_FROM: str(env.EMAIL_FROM),
  };
}

export interface DeliverDeps {
  /** Any drizzle Postgres db: the Worker's Neon one, node-postgres in tests. */
  db: ReportsDb | (() => ReportsDb);
  config: AlertConfig;
  fetch?: typeof fetch;
  /** Injectable for tests (backoff without waiting). */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** What every alert carries; each type adds its own fields (AlertEvent for budgets). */
export interface AccountEvent {
  /** Stable per occurrence: receivers de-duplicate on it (x-tollgate-event-id). */
  id: string;
  type: string;
  createdAt: string;
  accountId: string;
  message: string;
  /** The email subject line. */
  subject?: string;
  [field: string]: unknown;
}

export interface AlertEvent extends AccountEvent {
  id: string;
  type: "budget.threshold_crossed";
  createdAt: string;
  accountId: string;
  budget: {
    id: string;
    scope: { type: string; id: string | null };
    period: string;
    mode: string;
    capUsd: string;
  };
  /** The scope id the counter belongs to (for a `*` rule: the tenant, feature, … that crossed). */
  scopeValue: string;
  periodKey: string;
  threshold: number;
  spentUsd: string;
  requestId: string;
  message: string;
}

export function alertEvent(c: Crossing): AlertEvent {
  const scope = describeScope(c.scopeType, c.scopeId, c.value);
  const period = describePeriod({ ...periodWindow(c.period, c.at), key: c.periodKey });
  return {
    id: c.eventId,
    type: "budget.threshold_crossed",
    createdAt: new Date(c.at).toISOString(),
    accountId: c.accountId,
    budget: {
      id: c.budgetId,
      scope: { type: c.scopeType, id: c.scopeId },
      period: c.period,
      mode: c.mode,
      capUsd: nanoToUsd(c.capNano),
    },
    scopeValue: c.value,
    periodKey: c.periodKey,
    threshold: c.thresholdPct,
    spentUsd: nanoToUsd(c.spentNano),
    requestId: c.requestId,
    message: `${scope} reached ${c.thresholdPct}% of its $${nanoToUsd(c.capNano)} ${c.mode} cap for ${period}: $${nanoToUsd(c.spentNano)} spent.`,
  };
}

type Channel = typeof alertChannels.$inferSelect;

interface AttemptResult {
  ok: boolean;
  retry: boolean;
  httpStatus?: number;
  error?: string;
}

const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

async function attempt(send: (signal: AbortSignal) => Promise<Response>): Promise<AttemptResult> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), ATTEMPT_TIMEOUT_MS);
  try {
    const res = await send(ctrl.signal);
    await res.body?.cancel().catch(() => {});
    if (res.ok) return { ok: true, retry: false, httpStatus: res.status };
    return { ok: false, retry: retryable(res.status), httpStatus: res.status, error: `HTTP ${res.status}` };
  } catch (err) {
    const error = ctrl.signal.aborted
      ? `no answer within ${ATTEMPT_TIMEOUT_MS} ms`
      : String((err as Error)?.message ?? err);
    return { ok: false, retry: true, error };
  } finally {
    clearTimeout(timer);
  }
}

/** Delivers every crossing to every alert channel of its account; resolves when all are done. */
export async function deliverAlerts(crossings: Crossing[], deps: DeliverDeps): Promise<void> {
  await deliverEvents(crossings.map(alertEvent), deps);
}

/** Delivers every event to every alert channel of its account; resolves when all are done. */
export async function deliverEvents(events: AccountEvent[], deps: DeliverDeps): Promise<void> {
  if (events.length === 0) return;
  const db = typeof deps.db === "function" ? deps.db() : deps.db;
  const accountIds = [...new Set(events.map((c) => c.accountId))];
  const channels = await db.select().from(alertChannels).where(inArray(alertChannels.accountId, accountIds));
  const jobs: Promise<void>[] = [];
  for (const event of events) {
    for (const channel of channels) {
      if (channel.accountId === event.accountId) jobs.push(deliverOne(db, channel, event, deps));
    }
  }
  await Promise.all(jobs);
}

const isBudgetEvent = (e: AccountEvent): e is AlertEvent => e.type === "budget.threshold_crossed";

function emailSubject(event: AccountEvent): string {
  if (isBudgetEvent(event)) {
    return `[Tollgate] Budget ${event.threshold}% reached: ${event.budget.scope.type} ${event.scopeValue || event.accountId}`;
  }
  return `[Tollgate] ${event.subject ?? event.type}`;
}

function emailText(event: AccountEvent, body: string): string {
  if (isBudgetEvent(event)) {
    return `${event.message}\n\nBudget ${event.budget.id}, period ${event.periodKey}.\nCall ${event.requestId}.\n\n${body}\n`;
  }
  return `${event.message}\n\n${body}\n`;
}

async function deliverOne(db: ReportsDb, channel: Channel, event: AccountEvent, deps: DeliverDeps): Promise<void> {
  const doFetch = deps.fetch ?? fetch;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = deps.now ?? nowMs;
  const body = JSON.stringify(event);
  const deliveryId = `dlv_${randomToken(20)}`;
  let target: string;
  let send: (signal: AbortSignal) => Promise<Response>;

  if (channel.kind === "webhook" && channel.url) {
    target = channel.url;
    const secret = channel.secret
      ? await decryptSecret(channel.secret, deps.config.sealingSecret).catch(() => null)
      : null;
    const url = channel.url;
    send = async (signal) => {
      const headers: Record<string, string> = {
        "content-type": "application/json",
        "user-agent": "Tollgate-Alerts/1",
        "x-tollgate-event": event.type,
        "x-tollgate-event-id": event.id,
        "x-tollgate-delivery": deliveryId,
      };
      // Signed at each attempt, so a retry carries a fresh timestamp.
      if (secret) headers[SIGNATURE_HEADER] = await signWebhook(secret, body, Math.floor(now() / 1000));
      return doFetch(url, { method: "POST", headers, body, signal });
    };
  } else if (channel.kind === "email" && channel.email) {
    target = channel.email;
    const { EMAIL_API_URL, EMAIL_API_KEY, EMAIL_FROM } = deps.config;
    const email = channel.email;
    send = async (signal) => {
      if (!EMAIL_API_URL || !EMAIL_FROM) throw new Error("email alerts need EMAIL_API_URL and EMAIL_FROM");
      return doFetch(EMAIL_API_URL, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(EMAIL_API_KEY ? { authorization: `Bearer ${EMAIL_API_KEY}` } : {}),
          // Resend de-duplicates on this header, so a retry after a lost answer sends one email.
          "idempotency-key": `${event.id}/${channel.id}`,
        },
        body: JSON.stringify({
          from: EMAIL_FROM,
          to: [email],
          subject: emailSubject(event),
          text: emailText(event, body),
        }),
        signal,
      });
    };
  } else {
    return;
  }

  for (let n = 1; n <= MAX_ATTEMPTS; n++) {
    const started = now();
    const result = await attempt(send);
    const last = result.ok || !result.retry || n === MAX_ATTEMPTS;
    const status = result.ok ? "delivered" : last ? "gave_up" : "failed";
    await db
      .insert(alertDeliveries)
      .values({
        id: n === 1 ? deliveryId : `${deliveryId}.${n}`,
        accountId: channel.accountId,
        channelId: channel.id,
        eventId: event.id,
        eventType: event.type,
        budgetId: isBudgetEvent(event) ? event.budget.id : null,
        threshold: isBudgetEvent(event) ? event.threshold : null,
        kind: channel.kind,
        target,
        attempt: n,
        status,
        httpStatus: result.httpStatus ?? null,
        error: result.error ?? null,
        durationMs: now() - started,
        payload: event as unknown as Record<string, unknown>,
      })
      .catch((err) => console.error("alert delivery log insert failed", err));
    if (last) return;
    await sleep(BACKOFF_BASE_MS * 2 ** (n - 1));
  }
}
