/** Every billing endpoint of issue 15 is in /openapi.json, with the export's media types. */
import { describe, expect, it } from "vitest";
import { adminApi } from "../../src/http/admin";
import { buildOpenApiDocument } from "../../src/http/openapi";

describe("/openapi.json (billing)", () => {
  const doc = buildOpenApiDocument([{ path: "/admin/v1", api: adminApi }]);
  const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
    Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
  );
  it("documents plans, tenants' plans and wallets, credits, invoices, re-rating and exports", () => {
    const a = "/admin/v1/accounts/{account}";
    for (const op of [
      `POST ${a}/plans`,
      `GET ${a}/plans`,
      `GET ${a}/plans/{planId}`,
      `PUT ${a}/plans/{planId}`,
      `PUT ${a}/billing`,
      `GET ${a}/billing`,
      `PUT ${a}/tenants/{tenant}/plan`,
      `GET ${a}/tenants/{tenant}/plan`,
      `POST ${a}/tenants/{tenant}/rerate`,
      `POST ${a}/tenants/{tenant}/credits`,
      `GET ${a}/tenants/{tenant}/credits`,
      `GET ${a}/tenants/{tenant}/wallet`,
      `PUT ${a}/tenants/{tenant}/wallet/settings`,
      `GET ${a}/tenants/{tenant}/wallet/settings`,
      `GET ${a}/invoices/draft`,
      `POST ${a}/invoices`,
      `GET ${a}/invoices`,
      `GET ${a}/invoices/{invoiceId}`,
      `POST ${a}/invoices/{invoiceId}/void`,
      `GET ${a}/exports/cloudevents`,
      `GET ${a}/exports/stripe`,
      `PUT ${a}/exports/stripe`,
      `DELETE ${a}/exports/stripe`,
      `POST ${a}/exports/stripe/push`,
    ]) {
      expect(ops).toContain(op);
    }
  });
  it("the CloudEvents export offers the batch and JSON lines media types; the Stripe export's schemas are named", () => {
    const get = doc.paths["/admin/v1/accounts/{account}/exports/cloudevents"].get;
    expect(Object.keys(get.responses["200"].content).sort()).toEqual([
      "application/cloudevents-batch+json",
      "application/x-ndjson",
    ]);
    expect(doc.components.schemas.StripeExport).toBeDefined();
    expect(doc.components.schemas.StripePush).toBeDefined();
    const put = doc.paths["/admin/v1/accounts/{account}/exports/stripe"].put;
    const body = put.requestBody.content["application/json"].schema;
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(["secretKey", "api", "eventName", "customers"]),
    );
  });
});
