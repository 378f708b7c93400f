/**
 * POST /v1/requests/{id}/outcome and /v1/workflows/{id}/outcome: whether a call, or a whole workflow
 * (x-tollgate-workflow), succeeded — one definition, declared for each kind. Gateway key; its own
 * account only. The recording is src/reports/outcomes.ts.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { GatewayError } from "../../lib/errors";
import { type OutcomeKind, recordOutcome } from "../../reports/outcomes";
import { newApi } from "../app";
import { IdParam, ok } from "../schemas";

const OutcomeBody = z
  .object({
    success: z.boolean(),
    value: z.number().finite().optional().openapi({ description: "What the outcome was worth to you (any unit)" }),
  })
  .openapi("OutcomeInput");
const Outcome = z
  .object({
    kind: z.enum(["request", "workflow"]),
    id: z.string(),
    success: z.boolean(),
    value: z.number().nullable(),
    startedAt: z.string(),
    recordedAt: z.string(),
  })
  .openapi("Outcome");

const SUMMARY: Record<OutcomeKind, string> = {
  request: "Record whether a call succeeded (replaces an earlier outcome)",
  workflow: "Record whether a workflow (x-tollgate-workflow) succeeded",
};

const outcomeApi = (kind: OutcomeKind) =>
  newApi().openapi(
    createRoute({
      method: "post",
      path: `/${kind}s/{id}/outcome`,
      tags: ["Outcomes"],
      summary: SUMMARY[kind],
      request: {
        params: IdParam,
        body: { required: true, content: { "application/json": { schema: OutcomeBody } } },
      },
      responses: ok(Outcome, "Recorded"),
    }),
    async (c) => {
      const { id } = c.req.valid("param");
      const body = c.req.valid("json");
      const saved = await recordOutcome(c.var.db, { accountId: c.var.caller.accountId, kind, subjectId: id, ...body });
      if (!saved) throw new GatewayError("not_found", `No ${kind} ${id} in this account.`);
      return c.json(saved, 200);
    },
  );

export const outcomesV1 = newApi().route("/", outcomeApi("request")).route("/", outcomeApi("workflow"));
