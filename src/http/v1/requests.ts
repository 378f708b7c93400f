/** GET /v1/requests/{id}: one call's cost record, for the account of the gateway key that asks. */
import { createRoute } from "@hono/zod-openapi";
import { findRecord } from "../../reports/records";
import { newApi } from "../app";
import { CostRecordJson, recordToJson } from "../record-schemas";
import { IdParam } from "../schemas";

export const requestsApi = newApi().openapi(
  createRoute({
    method: "get",
    path: "/requests/{id}",
    tags: ["Usage"],
    summary: "One call's cost record (gateway key; its own account only)",
    request: { params: IdParam },
    responses: {
      200: { description: "The record", content: { "application/json": { schema: CostRecordJson } } },
      404: { description: "No such record in this account" },
    },
  }),
  async (c) => {
    const row = await findRecord(c.var.db, c.var.caller.accountId, c.req.valid("param").id);
    return c.json(recordToJson(row), 200);
  },
);
