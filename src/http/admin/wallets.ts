/**
 * Prepaid credit (src/billing/grants.ts, wallet.ts, wallet-settings.ts; docs/billing.md §3–6):
 *
 *   POST /accounts/{account}/tenants/{tenant}/credits   {amountUsd, priority?, effectiveAt?, expiresAt?,
 *                                                        category?: "paid"|"promotional", idempotencyKey?} → 201
 *   GET  /accounts/{account}/tenants/{tenant}/credits   the grants
 *   GET  /accounts/{account}/tenants/{tenant}/wallet    {settledUsd, reservedUsd, availableUsd, grants, …}
 *   PUT  /accounts/{account}/tenants/{tenant}/wallet/settings   {lowBalanceUsd, autoTopUp}   (GET reads them)
 *
 * A tenant's first grant makes it prepaid: from the next call on, its calls need available credit.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { requireAccount } from "../../accounts";
import { alertConfig, deliverEvents } from "../../alerts";
import { recoveryEvents } from "../../billing/events";
import { CATEGORIES, createGrant, DEFAULT_PRIORITY, type GrantRow, listGrants } from "../../billing/grants";
import { type GrantStatus, walletStatus } from "../../billing/wallet";
import { readWalletSettings, type WalletSettings, writeWalletSettings } from "../../billing/wallet-settings";
import { nowMs } from "../../lib/clock";
import { openDb } from "../../lib/db";
import { invalidRequest } from "../../lib/errors";
import { nanoToUsd } from "../../lib/money";
import { redisClient } from "../../lib/redis";
import { type ApiEnv, newApi } from "../app";
import { Money, TenantParam, UsdIn } from "../billing-schemas";
import { ok } from "../schemas";

const tags = ["Admin: wallets"];
const stores = (c: Context<ApiEnv>) => ({ db: c.var.db, redis: redisClient(c.var.config) });

const Instant = z.iso.datetime({ offset: true }).openapi({ example: "2026-12-01T00:00:00Z" });

const CreditBody = z
  .object({
    amountUsd: UsdIn({ positive: true, example: "25.00" }),
    priority: z
      .number()
      .int()
      .min(1)
      .max(999_999)
      .optional()
      .openapi({ description: `1 is drawn first; default ${DEFAULT_PRIORITY}` }),
    effectiveAt: Instant.optional().openapi({ description: "Default: now" }),
    expiresAt: Instant.nullable().optional().openapi({ description: "Exclusive; null or absent: never" }),
    category: z.enum(CATEGORIES).optional().openapi({ description: "Default paid" }),
    costBasisUsd: UsdIn({ example: "25.00" })
      .optional()
      .openapi({ description: "What the tenant paid (default: the amount; 0 for promotional)" }),
    idempotencyKey: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .openapi({ description: "Unique per tenant: a second grant with it is a 409" }),
  })
  .strict();

const GrantJson = z
  .object({
    id: z.string(),
    tenant: z.string(),
    amountUsd: Money,
    currency: z.literal("USD"),
    category: z.enum(CATEGORIES),
    costBasisUsd: Money,
    priority: z.number().int(),
    effectiveAt: z.string(),
    expiresAt: z.string().nullable(),
    idempotencyKey: z.string().nullable(),
    source: z.enum(["api", "topup"]),
    createdAt: z.string(),
    remainingUsd: Money.optional(),
    state: z.enum(["pending", "active", "exhausted", "expired"]).optional(),
  })
  .openapi("CreditGrant");

const grantJson = (g: GrantRow, status?: GrantStatus) => ({
  id: g.id,
  tenant: g.tenant,
  amountUsd: nanoToUsd(g.amountNano),
  currency: "USD" as const,
  category: g.category as (typeof CATEGORIES)[number],
  costBasisUsd: nanoToUsd(g.costBasisNano),
  priority: g.priority,
  effectiveAt: g.effectiveAt.toISOString(),
  expiresAt: g.expiresAt?.toISOString() ?? null,
  idempotencyKey: g.idempotencyKey,
  source: g.source as "api" | "topup",
  createdAt: g.createdAt.toISOString(),
  ...(status ? { remainingUsd: nanoToUsd(status.remainingNano), state: status.state } : {}),
});

const TopUp = z
  .object({
    thresholdUsd: z.string().openapi({ example: "5.00" }),
    amountUsd: z.string().openapi({ example: "50.00" }),
    cooldownSeconds: z
      .number()
      .int()
      .min(1)
      .max(86_400 * 30)
      .optional()
      .openapi({ description: "Default 300" }),
  })
  .openapi("AutoTopUp");

const SettingsJson = z
  .object({
    lowBalanceUsd: z
      .array(Money)
      .openapi({ description: "Alert thresholds: wallet.balance_dropped fires once per downward crossing" }),
    autoTopUp: TopUp.nullable().openapi({
      description: "Below thresholdUsd a signed wallet.topup_requested webhook asks for amountUsd",
    }),
  })
  .openapi("WalletSettings");

const settingsJson = (s: WalletSettings) => ({
  lowBalanceUsd: s.lowBalanceNano.map((n) => nanoToUsd(BigInt(n))),
  autoTopUp: s.topUp
    ? {
        thresholdUsd: nanoToUsd(BigInt(s.topUp.thresholdNano)),
        amountUsd: nanoToUsd(BigInt(s.topUp.amountNano)),
        cooldownSeconds: s.topUp.cooldownSeconds,
      }
    : null,
});

const WalletJson = z
  .object({
    tenant: z.string(),
    prepaid: z
      .boolean()
      .openapi({ description: "false: no grant yet; the tenant is postpaid and never blocked by a wallet" }),
    settledUsd: Money.openapi({ description: "Σ live grants' remaining − overage not yet invoiced" }),
    reservedUsd: Money.openapi({ description: "Held by calls in flight (their rated worst case)" }),
    availableUsd: Money.openapi({ description: "settled − reserved: what the next call can be held against" }),
    overageUsd: Money.openapi({ description: "Below zero by admitted calls' overruns, until an invoice bills it" }),
    expiredUsd: Money.openapi({ description: "Left on expired grants (never drawn)" }),
    grants: z.array(GrantJson),
  })
  .merge(SettingsJson)
  .openapi("Wallet");

export const walletsAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/tenants/{tenant}/credits",
      tags,
      summary: "Grant credit to a tenant (its first grant makes it prepaid; the next call sees it)",
      request: {
        params: TenantParam,
        body: { required: true, content: { "application/json": { schema: CreditBody } } },
      },
      responses: {
        201: { description: "The grant", content: { "application/json": { schema: GrantJson } } },
        409: { description: "The idempotency key was used before (error.grant_id names that grant)" },
      },
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const b = c.req.valid("json");
      const now = nowMs();
      const { grant, recovered } = await createGrant(
        stores(c),
        account,
        tenant,
        {
          amountNano: b.amountUsd,
          ...(b.priority !== undefined ? { priority: b.priority } : {}),
          ...(b.effectiveAt ? { effectiveAt: new Date(b.effectiveAt) } : {}),
          ...(b.expiresAt !== undefined ? { expiresAt: b.expiresAt === null ? null : new Date(b.expiresAt) } : {}),
          ...(b.category ? { category: b.category } : {}),
          ...(b.costBasisUsd !== undefined ? { costBasisNano: b.costBasisUsd } : {}),
          ...(b.idempotencyKey ? { idempotencyKey: b.idempotencyKey } : {}),
          ...(b.idempotencyKey?.startsWith("wallet:") ? { source: "topup" as const } : {}),
        },
        now,
      );
      if (recovered.length) {
        // After the answer, on a session of its own: the request's closes with the request.
        const session = openDb(c.var.config);
        c.executionCtx.waitUntil(
          deliverEvents(recoveryEvents(account, tenant, grant.id, recovered, now), {
            db: session.db,
            config: alertConfig(c.var.config, c.env),
          })
            .catch((err) => console.error("wallet.recovered delivery failed", err))
            .finally(() => session.close()),
        );
      }
      return c.json(grantJson(grant), 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/tenants/{tenant}/credits",
      tags,
      summary: "A tenant's grants, in draw-down order by priority",
      request: { params: TenantParam },
      responses: ok(z.array(GrantJson), "Grants"),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(
        (await listGrants(c.var.db, account, tenant)).map((g) => grantJson(g)),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/tenants/{tenant}/wallet",
      tags,
      summary: "A tenant's balance (settled, reserved, available: exact, live) and its grants",
      request: { params: TenantParam },
      responses: ok(WalletJson, "The wallet"),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const [w, settings] = await Promise.all([
        walletStatus(stores(c), account, tenant, nowMs()),
        readWalletSettings(c.var.db, account, tenant),
      ]);
      return c.json(
        {
          tenant,
          prepaid: w.prepaid,
          settledUsd: nanoToUsd(w.settledNano),
          reservedUsd: nanoToUsd(w.reservedNano),
          availableUsd: nanoToUsd(w.availableNano),
          overageUsd: nanoToUsd(w.debtNano),
          expiredUsd: nanoToUsd(w.expiredNano),
          grants: w.grants.map((g) => grantJson(g.row, g)),
          ...settingsJson(settings),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/tenants/{tenant}/wallet/settings",
      tags,
      summary: "Low-balance alert thresholds and the auto top-up rule of a tenant's wallet",
      request: {
        params: TenantParam,
        body: {
          required: true,
          content: {
            "application/json": {
              schema: z
                .object({
                  lowBalanceUsd: z.array(z.string()).max(10).default([]),
                  autoTopUp: TopUp.nullable().default(null),
                })
                .strict(),
            },
          },
        },
      },
      responses: ok(SettingsJson, "The settings now"),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const b = c.req.valid("json");
      const issues: { path: string; message: string }[] = [];
      const toNano = (v: string, path: string, positive = false) => {
        const r = UsdIn({ positive }).safeParse(v);
        if (!r.success) issues.push({ path, message: r.error.issues[0]?.message ?? "invalid" });
        return r.success ? Number(r.data) : 0;
      };
      const lowBalanceNano = b.lowBalanceUsd.map((v, i) => toNano(v, `lowBalanceUsd.${i}`, true));
      const topUp = b.autoTopUp
        ? {
            thresholdNano: toNano(b.autoTopUp.thresholdUsd, "autoTopUp.thresholdUsd", true),
            amountNano: toNano(b.autoTopUp.amountUsd, "autoTopUp.amountUsd", true),
            cooldownSeconds: b.autoTopUp.cooldownSeconds ?? 300,
          }
        : null;
      if (issues.length) throw invalidRequest(issues);
      return c.json(
        settingsJson(await writeWalletSettings(stores(c), account, tenant, { lowBalanceNano, topUp }, nowMs())),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/tenants/{tenant}/wallet/settings",
      tags,
      summary: "A tenant's wallet alert and top-up settings",
      request: { params: TenantParam },
      responses: ok(SettingsJson, "The settings"),
    }),
    async (c) => {
      const { account, tenant } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      return c.json(settingsJson(await readWalletSettings(c.var.db, account, tenant)), 200);
    },
  );
