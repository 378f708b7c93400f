/**
 * What the hot path needs to know about an account besides its budgets: stored provider
 * credentials (sealed), custom OpenAI/Anthropic-compatible providers, negotiated prices, its
 * price for models nothing else can price, its own OpenTelemetry collector, its routes
 * (src/routing/README.md) and its billing plans (src/billing/settings.ts).
 * Kept as one JSON value in Redis (written by the admin API, rebuilt from Postgres on a miss) and
 * cached per isolate for a few seconds.
 */

import type { Redis } from "@upstash/redis/cloudflare";
import { eq } from "drizzle-orm";
import { accounts, priceOverrides, providerConfigs } from "../schema";
import { routes as routeTable } from "../schema/routing";
import { telemetryExporters } from "../schema/trust";
import { type BillingSettings, loadBillingSettings } from "./billing/settings";
import { nowMs } from "./lib/clock";
import type { Db } from "./lib/db";
import { IsolateCache } from "./lib/isolate-cache";
import { REDIS_READ_TIMEOUT_MS, withTimeout } from "./lib/redis";
import { redisKeys } from "./lib/redis-keys";
import type { AccountPriceOverride, AccountRates } from "./pricing";
import type { RouteConfig, RouteDefaults, RouteSetting } from "./routing/types";
import type { AccountTelemetrySetting } from "./telemetry/destination";

export interface ProviderSetting {
  /** AES-GCM sealed API key (src/lib/crypto.ts); absent = bring-your-own-key only. */
  apiKeySealed?: string;
  baseUrl?: string;
  format?: "openai" | "anthropic";
}

export interface PriceOverrideSetting {
  provider: string;
  model: string;
  effectiveFrom: string;
  /** The pricing module's units: nano-USD per Mtok (tokens), per 1,000 (fees). */
  rates?: AccountRates;
  discountBasisPoints?: number;
}

/** The account's price for models nothing else can price, nano-USD per million tokens. */
export interface UnpricedFallback {
  inputPerMTokNano: number;
  outputPerMTokNano: number;
}

export interface AccountSettings {
  accountId: string;
  providers: Record<string, ProviderSetting>;
  priceOverrides: PriceOverrideSetting[];
  /** Absent: a model nothing can price is recorded unpriced, and refused under a hard budget. */
  unpricedFallback?: UnpricedFallback;
  /** The account's own OTLP collector (src/telemetry/); absent: spans only go to the deployment's, if any. */
  telemetry?: AccountTelemetrySetting;
  /**
   * The account's routes by name. Absent (not empty) until it defines one, so the hot path of an
   * account without routes tests one property and does nothing else for routing.
   */
  routes?: Record<string, RouteSetting>;
  /** Which route each key / feature defaults to (from the routes' defaultFor); with `routes`. */
  routeDefaults?: RouteDefaults;
  /** Plans and the invoice zone (src/billing/settings.ts); absent in settings cached before billing existed. */
  billing?: BillingSettings;
}

export async function loadAccountSettings(db: Db, accountId: string): Promise<AccountSettings> {
  const [providers, prices, [account], [telemetry], routeRows, billing] = await Promise.all([
    db.select().from(providerConfigs).where(eq(providerConfigs.accountId, accountId)),
    db.select().from(priceOverrides).where(eq(priceOverrides.accountId, accountId)),
    db.select({ unpricedFallback: accounts.unpricedFallback }).from(accounts).where(eq(accounts.id, accountId)),
    db.select().from(telemetryExporters).where(eq(telemetryExporters.accountId, accountId)),
    db.select().from(routeTable).where(eq(routeTable.accountId, accountId)),
    loadBillingSettings(db, accountId),
  ]);
  const settings: AccountSettings = {
    accountId,
    providers: {},
    priceOverrides: [],
    ...(account?.unpricedFallback ? { unpricedFallback: account.unpricedFallback } : {}),
    ...(telemetry
      ? {
          telemetry: {
            url: telemetry.url,
            ...(telemetry.headersCiphertext ? { headersSealed: telemetry.headersCiphertext } : {}),
          },
        }
      : {}),
    billing,
  };
  for (const p of providers) {
    settings.providers[p.provider] = {
      ...(p.apiKeyCiphertext ? { apiKeySealed: p.apiKeyCiphertext } : {}),
      ...(p.baseUrl ? { baseUrl: p.baseUrl } : {}),
      ...(p.format ? { format: p.format as "openai" | "anthropic" } : {}),
    };
  }
  for (const o of prices) {
    settings.priceOverrides.push({
      provider: o.provider,
      model: o.model,
      effectiveFrom: o.effectiveFrom.toISOString(),
      ...(o.rates ? { rates: o.rates as AccountRates } : {}),
      ...(o.discountBasisPoints !== null ? { discountBasisPoints: o.discountBasisPoints } : {}),
    });
  }
  if (routeRows.length > 0) {
    settings.routes = {};
    settings.routeDefaults = { keys: {}, features: {} };
    for (const r of routeRows) {
      const config = r.config as unknown as RouteConfig;
      settings.routes[r.name] = { ...config, name: r.name, rev: r.updatedAt.toISOString() };
      for (const k of config.defaultFor?.keys ?? []) settings.routeDefaults.keys[k] = r.name;
      for (const f of config.defaultFor?.features ?? []) settings.routeDefaults.features[f] = r.name;
    }
  }
  return settings;
}

/** The overrides in the pricing module's form (dates revived from their JSON strings). */
export function priceOverridesOf(settings: AccountSettings): AccountPriceOverride[] {
  return settings.priceOverrides.map((o) => ({
    provider: o.provider,
    model: o.model,
    effectiveFrom: new Date(o.effectiveFrom),
    ...(o.rates ? { rates: o.rates } : {}),
    ...(o.discountBasisPoints !== undefined ? { discountPercent: o.discountBasisPoints / 100 } : {}),
  }));
}

/**
 * The settings as the hot path reads them: the isolate's cache, then Redis, then Postgres (which
 * repopulates Redis). An admin change calls refreshAccountSettings; other isolates catch up within
 * SETTINGS_TTL_MS.
 */
const SETTINGS_TTL_MS = 10_000;
const settingsCache = new IsolateCache<AccountSettings>(SETTINGS_TTL_MS);

export interface SettingsDeps {
  redis: Redis;
  /** Opened only on a Redis miss. */
  db: () => Db;
  now?: number;
}

export async function accountSettings(accountId: string, deps: SettingsDeps): Promise<AccountSettings> {
  return settingsCache.get(accountId, deps.now ?? nowMs(), async () => {
    const raw = (await withTimeout(
      deps.redis.get(redisKeys.accountSettings(accountId)),
      REDIS_READ_TIMEOUT_MS,
      "Redis",
    ).catch(() => null)) as string | null;
    if (raw) return JSON.parse(raw) as AccountSettings;
    const settings = await loadAccountSettings(deps.db(), accountId);
    await deps.redis.set(redisKeys.accountSettings(accountId), JSON.stringify(settings)).catch(() => {});
    return settings;
  });
}

/**
 * After an admin change (and at account creation): rebuild the account's settings in Redis from
 * Postgres, so the hot path keeps finding them there. Other isolates catch up within SETTINGS_TTL_MS.
 */
export async function refreshAccountSettings(redis: Redis, db: Db, accountId: string): Promise<void> {
  settingsCache.delete(accountId);
  const settings = await loadAccountSettings(db, accountId);
  await redis.set(redisKeys.accountSettings(accountId), JSON.stringify(settings));
}
