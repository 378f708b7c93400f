/** The endpoints of reconciliation, telemetry and the forecast are in /openapi.json with their inputs. */
import { describe, expect, it } from "vitest";
import { adminApi } from "../../src/http/admin";
import { buildOpenApiDocument } from "../../src/http/openapi";
import { v1Api } from "../../src/http/v1";

describe("/openapi.json", () => {
  const doc = buildOpenApiDocument([
    { path: "/admin/v1", api: adminApi },
    { path: "/v1", api: v1Api },
  ]);
  it("documents every new endpoint", () => {
    const ops = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
      Object.keys(item).map((m) => `${m.toUpperCase()} ${p}`),
    );
    for (const op of [
      "POST /admin/v1/accounts/{account}/reconciliations",
      "GET /admin/v1/accounts/{account}/reconciliations",
      "GET /admin/v1/accounts/{account}/reconciliations/{reconciliationId}",
      "PUT /admin/v1/accounts/{account}/cost-sources/{provider}",
      "GET /admin/v1/accounts/{account}/cost-sources",
      "DELETE /admin/v1/accounts/{account}/cost-sources/{provider}",
      "POST /admin/v1/accounts/{account}/cost-sources/{provider}/fetch",
      "PUT /admin/v1/accounts/{account}/telemetry",
      "GET /admin/v1/accounts/{account}/telemetry",
      "DELETE /admin/v1/accounts/{account}/telemetry",
      "GET /v1/usage/forecast",
      "GET /admin/v1/accounts/{account}/usage/forecast",
    ]) {
      expect(ops).toContain(op);
    }
  });
  it("an upload may be JSON, CSV or a form, and the report's schema is named", () => {
    const post = doc.paths["/admin/v1/accounts/{account}/reconciliations"].post;
    expect(Object.keys(post.requestBody.content).sort()).toEqual([
      "application/json",
      "multipart/form-data",
      "text/csv",
    ]);
    expect(post.responses["201"].content["application/json"].schema.$ref).toBe("#/components/schemas/Reconciliation");
    expect(doc.components.schemas.Forecast).toBeDefined();
    expect(doc.paths["/v1/usage/forecast"].get.security).toEqual([{ gatewayKey: [] }]);
  });
});
