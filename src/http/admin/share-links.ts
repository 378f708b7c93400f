/**
 * POST /accounts/{account}/tenants/{tenant}/share-links {expiresInHours?} → 201 {url, token, …}:
 * a signed, read-only link to one tenant's usage page (GET /dashboard/share/{token}), for the
 * account's own customer. What the token carries and why it cannot be revoked: src/share-links.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireAccount } from "../../accounts";
import { sealingSecret } from "../../config";
import { createShareLink, SHARE_LINK_DEFAULT_HOURS, SHARE_LINK_MAX_HOURS } from "../../share-links";
import { AccountParam } from "../account";
import { newApi } from "../app";
import { TenantId } from "../budget-schemas";
import { errorResponses } from "../schemas";

export const ShareLinkBody = z.object({
  expiresInHours: z
    .number()
    .positive()
    .max(SHARE_LINK_MAX_HOURS)
    .default(SHARE_LINK_DEFAULT_HOURS)
    .openapi({
      description: `How long the link works (default ${SHARE_LINK_DEFAULT_HOURS}, at most ${SHARE_LINK_MAX_HOURS})`,
      example: 24,
    }),
});

const ShareLinkJson = z
  .object({
    url: z.string().openapi({ example: "https://gateway.example/dashboard/share/eyJ2Ijox…" }),
    token: z.string(),
    accountId: z.string(),
    tenant: z.string(),
    expiresAt: z.string(),
  })
  .openapi("ShareLink");

/** The page a share token opens, on the gateway that was asked. */
export const shareUrl = (requestUrl: string, token: string) => `${new URL(requestUrl).origin}/dashboard/share/${token}`;

export const shareLinksAdmin = newApi().openapi(
  createRoute({
    method: "post",
    path: "/accounts/{account}/tenants/{tenant}/share-links",
    tags: ["Admin: accounts"],
    summary: "A signed, read-only, expiring link to one tenant's usage and budgets (GET /dashboard/share/{token})",
    request: {
      params: AccountParam.extend({
        tenant: TenantId.openapi({ param: { name: "tenant", in: "path" }, example: "acme" }),
      }),
      body: { required: false, content: { "application/json": { schema: ShareLinkBody } } },
    },
    responses: {
      201: { description: "Created", content: { "application/json": { schema: ShareLinkJson } } },
      ...errorResponses,
    },
  }),
  async (c) => {
    const { account, tenant } = c.req.valid("param");
    await requireAccount(c.var.db, account);
    // The body is optional: without one the link lasts the default.
    const expiresInHours = c.req.valid("json")?.expiresInHours ?? SHARE_LINK_DEFAULT_HOURS;
    const link = await createShareLink(sealingSecret(c.var.config), { accountId: account, tenant, expiresInHours });
    return c.json(
      {
        url: shareUrl(c.req.url, link.token),
        token: link.token,
        accountId: account,
        tenant,
        expiresAt: link.expiresAt.toISOString(),
      },
      201,
    );
  },
);
