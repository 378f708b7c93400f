/**
 * Alert channels and the delivery log.
 *
 *   POST   /accounts/{account}/alerts    {kind: "webhook", url, secret?} | {kind: "email", email}
 *   GET    /accounts/{account}/alerts
 *   DELETE /accounts/{account}/alerts/{alertId}
 *   GET    /accounts/{account}/alerts/deliveries[?limit=&budgetId=]   every attempt, newest first
 *
 * A webhook's signing secret is sealed at rest and shown once: in the answer to POST (the rules are
 * src/alerts/channels.ts, which the dashboard calls too).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { type ChannelRow, createChannel, deleteChannel, listChannels, listDeliveries } from "../../alerts/channels";
import { sealingSecret } from "../../config";
import { AccountParam } from "../account";
import { newApi } from "../app";

/** The body of POST …/alerts (the dashboard's form is read with it too). */
export const CreateBody = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("webhook"),
    url: z.url().refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL"),
    secret: z.string().min(16, "at least 16 characters").max(256).optional(),
  }),
  z.object({ kind: z.literal("email"), email: z.email() }),
]);

const AlertChannelJson = z
  .object({
    id: z.string(),
    kind: z.enum(["webhook", "email"]),
    url: z.string().optional(),
    email: z.string().optional(),
    signed: z.boolean().optional(),
    createdAt: z.string(),
  })
  .openapi("AlertChannel");

const DeliveryJson = z
  .object({
    id: z.string(),
    alertId: z.string().nullable(),
    eventId: z.string(),
    type: z.string().openapi({ example: "budget.threshold_crossed" }),
    budgetId: z.string().nullable(),
    threshold: z.number().int().nullable(),
    kind: z.string(),
    target: z.string(),
    attempt: z.number().int(),
    status: z.enum(["delivered", "failed", "gave_up"]),
    httpStatus: z.number().int().nullable(),
    error: z.string().nullable(),
    durationMs: z.number().nullable(),
    payload: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
  })
  .openapi("AlertDelivery");

export const channelToJson = (a: ChannelRow) => ({
  id: a.id,
  kind: a.kind as "webhook" | "email",
  ...(a.url ? { url: a.url } : {}),
  ...(a.email ? { email: a.email } : {}),
  ...(a.kind === "webhook" ? { signed: a.secret !== null } : {}),
  createdAt: a.createdAt.toISOString(),
});

const tags = ["Admin: alerts"];

export const alertsAdmin = newApi()
  .openapi(
    createRoute({
      method: "post",
      path: "/accounts/{account}/alerts",
      tags,
      summary: "Add an alert channel (webhook or email) for every budget threshold of the account",
      request: {
        params: AccountParam,
        body: { required: true, content: { "application/json": { schema: CreateBody } } },
      },
      responses: {
        201: {
          description: "Created; a webhook's secret is in this answer only",
          content: { "application/json": { schema: AlertChannelJson.extend({ secret: z.string().optional() }) } },
        },
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const { row, secret } = await createChannel(c.var.db, account, c.req.valid("json"), sealingSecret(c.var.config));
      return c.json({ ...channelToJson(row), ...(secret ? { secret } : {}) }, 201);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/alerts",
      tags,
      summary: "List alert channels (never their secrets)",
      request: { params: AccountParam },
      responses: {
        200: { description: "Channels", content: { "application/json": { schema: z.array(AlertChannelJson) } } },
      },
    }),
    async (c) => c.json((await listChannels(c.var.db, c.req.valid("param").account)).map(channelToJson), 200),
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/alerts/deliveries",
      tags,
      summary: "The delivery log: every attempt to deliver an alert, newest first",
      request: {
        params: AccountParam,
        query: z.object({
          limit: z.coerce.number().int().min(1).max(1000).default(100),
          budgetId: z.string().optional(),
        }),
      },
      responses: {
        200: { description: "Attempts", content: { "application/json": { schema: z.array(DeliveryJson) } } },
      },
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const rows = await listDeliveries(c.var.db, account, c.req.valid("query"));
      return c.json(
        rows.map((d) => ({
          id: d.id,
          alertId: d.channelId,
          eventId: d.eventId,
          type: d.eventType,
          budgetId: d.budgetId,
          threshold: d.threshold,
          kind: d.kind,
          target: d.target,
          attempt: d.attempt,
          status: d.status as "delivered" | "failed" | "gave_up",
          httpStatus: d.httpStatus,
          error: d.error,
          durationMs: d.durationMs,
          payload: d.payload,
          createdAt: d.createdAt.toISOString(),
        })),
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/alerts/{alertId}",
      tags,
      summary: "Remove an alert channel",
      request: {
        params: AccountParam.extend({ alertId: z.string().openapi({ param: { name: "alertId", in: "path" } }) }),
      },
      responses: { 200: { description: "Removed", content: { "application/json": { schema: AlertChannelJson } } } },
    }),
    async (c) => {
      const { account, alertId } = c.req.valid("param");
      const row = await deleteChannel(c.var.db, account, alertId);
      return c.json(channelToJson(row), 200);
    },
  );
