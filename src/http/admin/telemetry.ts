/**
 * The account's own OpenTelemetry collector: where its calls' spans go (src/telemetry/).
 *   PUT    /admin/v1/accounts/{account}/telemetry  {endpoint, headers?}
 *   GET    /admin/v1/accounts/{account}/telemetry  (header names, never their values)
 *   DELETE /admin/v1/accounts/{account}/telemetry
 * `endpoint` is an OTLP/HTTP collector: its base URL (`https://collector:4318`, /v1/traces is
 * appended) or the traces URL itself. Headers (API keys, usually) are sealed like provider keys.
 * Changes reach the hot path through the account settings in Redis (other isolates within 10 s).
 */
import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { telemetryExporters } from "../../../schema/trust";
import { refreshAccountSettings } from "../../account-settings";
import { requireAccount } from "../../accounts";
import { sealingSecret } from "../../config";
import { nowDate } from "../../lib/clock";
import { encryptSecret } from "../../lib/crypto";
import { GatewayError } from "../../lib/errors";
import { redisClient } from "../../lib/redis";
import { accountTracesUrl } from "../../telemetry";
import { AccountParam } from "../account";
import { newApi } from "../app";
import { errorResponses } from "../schemas";

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

const Body = z
  .object({
    endpoint: z
      .url()
      .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL")
      .openapi({ example: "https://otlp.example.com:4318" }),
    headers: z
      .record(z.string().regex(HEADER_NAME, "must be an HTTP header name"), z.string().max(4096))
      .refine((h) => Object.keys(h).length <= 20, "at most 20 headers")
      .optional()
      .openapi({ example: { authorization: "Bearer …" } }),
  })
  .strict()
  .openapi("TelemetryInput");

const Exporter = z
  .object({
    endpoint: z.string().openapi({ description: "The OTLP/HTTP traces URL spans are sent to" }),
    headerNames: z.array(z.string()),
    updatedAt: z.string(),
  })
  .openapi("TelemetryExporter");

const toJson = (r: typeof telemetryExporters.$inferSelect) => ({
  endpoint: r.url,
  headerNames: r.headerNames,
  updatedAt: r.updatedAt.toISOString(),
});

const exporterResponse = (description: string) => ({
  200: { description, content: { "application/json": { schema: Exporter } } },
  ...errorResponses,
});

export const telemetryAdmin = newApi()
  .openapi(
    createRoute({
      method: "put",
      path: "/accounts/{account}/telemetry",
      tags: ["Admin: telemetry"],
      summary: "Send the account's spans (one per call attempt) to its own OTLP/HTTP collector",
      request: { params: AccountParam, body: { required: true, content: { "application/json": { schema: Body } } } },
      responses: exporterResponse("Stored"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const body = c.req.valid("json");
      await requireAccount(c.var.db, account);
      const headers = Object.fromEntries(Object.entries(body.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
      const names = Object.keys(headers).sort();
      const values = {
        accountId: account,
        url: accountTracesUrl(body.endpoint),
        headersCiphertext: names.length
          ? await encryptSecret(JSON.stringify(headers), sealingSecret(c.var.config))
          : null,
        headerNames: names,
        updatedAt: nowDate(),
      };
      const [row] = await c.var.db
        .insert(telemetryExporters)
        .values(values)
        .onConflictDoUpdate({ target: telemetryExporters.accountId, set: values })
        .returning();
      await refreshAccountSettings(redisClient(c.var.config), c.var.db, account);
      return c.json(toJson(row!), 200);
    },
  )
  .openapi(
    createRoute({
      method: "get",
      path: "/accounts/{account}/telemetry",
      tags: ["Admin: telemetry"],
      summary: "The account's OTLP collector (header names only)",
      request: { params: AccountParam },
      responses: exporterResponse("The collector"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      await requireAccount(c.var.db, account);
      const [row] = await c.var.db.select().from(telemetryExporters).where(eq(telemetryExporters.accountId, account));
      if (!row) throw new GatewayError("not_found", `Account ${account} has no collector of its own.`);
      return c.json(toJson(row), 200);
    },
  )
  .openapi(
    createRoute({
      method: "delete",
      path: "/accounts/{account}/telemetry",
      tags: ["Admin: telemetry"],
      summary: "Stop sending the account's spans to its own collector",
      request: { params: AccountParam },
      responses: exporterResponse("Deleted"),
    }),
    async (c) => {
      const { account } = c.req.valid("param");
      const [row] = await c.var.db
        .delete(telemetryExporters)
        .where(eq(telemetryExporters.accountId, account))
        .returning();
      if (!row) throw new GatewayError("not_found", `Account ${account} has no collector of its own.`);
      await refreshAccountSettings(redisClient(c.var.config), c.var.db, account);
      return c.json(toJson(row), 200);
    },
  );
