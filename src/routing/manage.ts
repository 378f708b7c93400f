/**
 * Routes as an operator changes them: validated against the account (its providers and their wire
 * formats, its keys, the defaults other routes claim), stored in Postgres, and copied into the
 * account's settings in Redis so the next call sees them (other isolates within the settings TTL,
 * src/proxy/identify.ts).
 *
 * Cross-format routes are refused here, with a 400 naming the targets: every target and the
 * onBudget model must speak the same wire format, because Tollgate forwards the client's body in
 * its own format and never translates requests or responses (streams included) between them.
 */
import type { Redis } from "@upstash/redis/cloudflare";
import { and, asc, eq } from "drizzle-orm";
import { gatewayKeys } from "../../schema";
import { routes } from "../../schema/routing";
import { loadAccountSettings, refreshAccountSettings } from "../account-settings";
import { nowDate } from "../lib/clock";
import type { Db } from "../lib/db";
import { GatewayError, invalidRequest } from "../lib/errors";
import { resolveProvider, type WireFormat } from "../providers";
import { customProviders } from "../proxy/upstream";
import { targetLabel } from "./plan";
import { ASKED_MODEL, type RouteConfig } from "./types";

export interface RouteRow extends RouteConfig {
  name: string;
  /** The wire format every target speaks: a call must come in on a provider of this format. */
  format: WireFormat;
  createdAt: string;
  updatedAt: string;
}

type Issue = { path: string; message: string };

type Custom = ReturnType<typeof customProviders>;
const accountProviders = async (db: Db, accountId: string): Promise<Custom> =>
  customProviders(await loadAccountSettings(db, accountId));

/** The one wire format of the route's targets, or the issues that make it not one. */
function checkTargets(custom: Custom, config: RouteConfig): { format?: WireFormat; issues: Issue[] } {
  const issues: Issue[] = [];
  const formats = new Map<WireFormat, string[]>();
  const all = [
    ...config.targets.map((t, i) => ({ ...t, path: `targets.${i}` })),
    ...(config.onBudget ? [{ ...config.onBudget, path: "onBudget" }] : []),
  ];
  for (const t of all) {
    const p = resolveProvider(t.provider, { custom });
    if (!p) {
      issues.push({
        path: `${t.path}.provider`,
        message: `unknown provider "${t.provider}" (not built in, not registered by this account)`,
      });
      continue;
    }
    formats.set(p.format, [...(formats.get(p.format) ?? []), targetLabel(t)]);
  }
  if (formats.size > 1) {
    const parts = [...formats].map(([f, ts]) => `${f}: ${ts.join(", ")}`).join("; ");
    issues.push({
      path: "targets",
      message: `cross-format routes are refused (${parts}): Tollgate forwards the client's body in its own wire format and does not translate requests or responses between formats; make one route per format`,
    });
  }
  return { ...(formats.size === 1 ? { format: [...formats.keys()][0]! } : {}), issues };
}

async function checkDefaults(db: Db, accountId: string, name: string, config: RouteConfig): Promise<Issue[]> {
  const issues: Issue[] = [];
  const keys = config.defaultFor?.keys ?? [];
  const features = config.defaultFor?.features ?? [];
  if (keys.length) {
    const known = new Set(
      (await db.select({ id: gatewayKeys.id }).from(gatewayKeys).where(eq(gatewayKeys.accountId, accountId))).map(
        (k) => k.id,
      ),
    );
    keys.forEach((k, i) => {
      if (!known.has(k)) issues.push({ path: `defaultFor.keys.${i}`, message: `no key ${k} in this account` });
    });
  }
  if (keys.length || features.length) {
    const others = await db.select().from(routes).where(eq(routes.accountId, accountId));
    for (const other of others) {
      if (other.name === name) continue;
      const o = (other.config as unknown as RouteConfig).defaultFor;
      keys.forEach((k, i) => {
        if (o?.keys?.includes(k))
          issues.push({ path: `defaultFor.keys.${i}`, message: `key ${k} already defaults to route "${other.name}"` });
      });
      features.forEach((f, i) => {
        if (o?.features?.includes(f))
          issues.push({
            path: `defaultFor.features.${i}`,
            message: `feature "${f}" already defaults to route "${other.name}"`,
          });
      });
    }
  }
  return issues;
}

function checkPolicy(config: RouteConfig): Issue[] {
  const issues: Issue[] = [];
  if (config.onBudget?.model === ASKED_MODEL)
    issues.push({ path: "onBudget.model", message: 'the downgrade names its model ("*" is for targets)' });
  if (config.defaultModel && config.allowedModels && !config.allowedModels.includes(config.defaultModel))
    issues.push({ path: "defaultModel", message: "must be one of allowedModels" });
  if (config.fallbackOn?.includes("budget") && config.targets.length < 2 && !config.onBudget)
    issues.push({ path: "fallbackOn", message: '"budget" needs a second target to fall back to' });
  return issues;
}

function toRow(r: typeof routes.$inferSelect, format: WireFormat): RouteRow {
  return {
    ...(r.config as unknown as RouteConfig),
    name: r.name,
    format,
    createdAt: r.createdAt.toISOString(),
    updatedAt: r.updatedAt.toISOString(),
  };
}

/** Creates or replaces the route (the whole body is the new route). */
export async function putRoute(
  redis: Redis,
  db: Db,
  accountId: string,
  name: string,
  config: RouteConfig,
): Promise<RouteRow> {
  const { format, issues } = checkTargets(await accountProviders(db, accountId), config);
  issues.push(...checkPolicy(config), ...(await checkDefaults(db, accountId, name, config)));
  if (issues.length || !format) throw invalidRequest(issues);
  const now = nowDate();
  const stored = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
  const [row] = await db
    .insert(routes)
    .values({ accountId, name, config: stored, createdAt: now, updatedAt: now })
    .onConflictDoUpdate({ target: [routes.accountId, routes.name], set: { config: stored, updatedAt: now } })
    .returning();
  await refreshAccountSettings(redis, db, accountId);
  return toRow(row!, format);
}

function withFormat(custom: Custom, r: typeof routes.$inferSelect): RouteRow {
  const config = r.config as unknown as RouteConfig;
  // A custom provider removed since the route was stored leaves the format open: the first known one.
  const format =
    checkTargets(custom, config).format ??
    config.targets.map((t) => resolveProvider(t.provider, { custom })?.format).find((f) => f !== undefined) ??
    "openai";
  return toRow(r, format);
}

export async function getRoute(db: Db, accountId: string, name: string): Promise<RouteRow> {
  const [r] = await db
    .select()
    .from(routes)
    .where(and(eq(routes.accountId, accountId), eq(routes.name, name)));
  if (!r) throw new GatewayError("not_found", `Account ${accountId} has no route ${name}.`);
  return withFormat(await accountProviders(db, accountId), r);
}

export async function listRoutes(db: Db, accountId: string): Promise<RouteRow[]> {
  const rows = await db.select().from(routes).where(eq(routes.accountId, accountId)).orderBy(asc(routes.name));
  const custom = await accountProviders(db, accountId);
  return rows.map((r) => withFormat(custom, r));
}

export async function deleteRoute(redis: Redis, db: Db, accountId: string, name: string): Promise<RouteRow> {
  const [r] = await db
    .delete(routes)
    .where(and(eq(routes.accountId, accountId), eq(routes.name, name)))
    .returning();
  if (!r) throw new GatewayError("not_found", `Account ${accountId} has no route ${name}.`);
  await refreshAccountSettings(redis, db, accountId);
  return withFormat(await accountProviders(db, accountId), r);
}
