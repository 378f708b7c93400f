/** Schemas several routes share: the error body, the usual responses, an id path parameter. */
import { z } from "@hono/zod-openapi";

export const ErrorJson = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      issues: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    }),
  })
  .openapi("Error");

export const errorResponses = {
  400: { description: "Bad parameters (issues name them)", content: { "application/json": { schema: ErrorJson } } },
  401: { description: "Missing or unknown credentials", content: { "application/json": { schema: ErrorJson } } },
  404: { description: "Not found in this account", content: { "application/json": { schema: ErrorJson } } },
};

/** 200 with `schema`, and the error responses. */
export const ok = (schema: z.ZodType, description: string) => ({
  200: { description, content: { "application/json": { schema } } },
  ...errorResponses,
});

/** {id}: a request id or a workflow id. */
export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(300)
    .openapi({ param: { name: "id", in: "path" } }),
});
