/**
 * Errors rendered once. Handlers throw a GatewayError; the proxy renders it in the caller's
 * provider shape (so SDKs raise their normal error types), the APIs as Tollgate JSON.
 */
import type { WireFormat } from "../providers";

export type ErrorKind =
  | "authentication"
  | "budget_exceeded"
  | "insufficient_credits"
  | "unpriced_model"
  | "rate_limited"
  | "invalid_request"
  | "not_found"
  | "conflict"
  | "too_large"
  | "unavailable"
  | "upstream_unreachable"
  | "forbidden"
  | "upstream_timeout";

const STATUS: Record<ErrorKind, number> = {
  authentication: 401,
  budget_exceeded: 402,
  insufficient_credits: 402,
  unpriced_model: 402,
  rate_limited: 429,
  invalid_request: 400,
  not_found: 404,
  conflict: 409,
  too_large: 413,
  unavailable: 503,
  upstream_unreachable: 502,
  forbidden: 403,
  upstream_timeout: 504,
};

/** The `type` each provider's own SDK maps to the right error class. */
const OPENAI_TYPE: Record<ErrorKind, [type: string, code: string]> = {
  authentication: ["invalid_request_error", "invalid_api_key"],
  budget_exceeded: ["budget_exceeded", "budget_exceeded"],
  insufficient_credits: ["insufficient_credits", "insufficient_credits"],
  unpriced_model: ["unpriced_model", "unpriced_model"],
  rate_limited: ["rate_limit_exceeded", "rate_limit_exceeded"],
  invalid_request: ["invalid_request_error", "invalid_request"],
  not_found: ["invalid_request_error", "not_found"],
  conflict: ["invalid_request_error", "conflict"],
  too_large: ["invalid_request_error", "request_too_large"],
  unavailable: ["server_error", "gateway_unavailable"],
  upstream_unreachable: ["server_error", "upstream_unreachable"],
  // OpenAI's SDK raises PermissionDeniedError for any 403; the code says why.
  forbidden: ["invalid_request_error", "model_not_allowed"],
  upstream_timeout: ["server_error", "upstream_timeout"],
};
const ANTHROPIC_TYPE: Record<ErrorKind, string> = {
  authentication: "authentication_error",
  budget_exceeded: "budget_exceeded",
  insufficient_credits: "insufficient_credits",
  unpriced_model: "unpriced_model",
  rate_limited: "rate_limit_error",
  invalid_request: "invalid_request_error",
  not_found: "not_found_error",
  conflict: "invalid_request_error",
  too_large: "request_too_large",
  unavailable: "api_error",
  upstream_unreachable: "api_error",
  forbidden: "permission_error",
  upstream_timeout: "api_error",
};

export class GatewayError extends Error {
  readonly status: number;
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly headers: Record<string, string> = {},
    /** Failing fields, for invalid_request on the JSON APIs. */
    readonly issues?: { path: string; message: string }[],
    /** Machine-readable fields added to the error object beside type and message (e.g. limit_source). */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.status = STATUS[kind];
  }
}

/** 400 naming the failing fields (the JSON APIs list them as `issues`). */
export function invalidRequest(issues: { path: string; message: string }[]): GatewayError {
  return new GatewayError(
    "invalid_request",
    `invalid request: ${issues.map((i) => `${i.path}: ${i.message}`).join("; ")}`,
    {},
    issues,
  );
}

export function proxyErrorResponse(
  err: GatewayError,
  format: WireFormat,
  extraHeaders: Record<string, string> = {},
): Response {
  const body =
    format === "anthropic"
      ? { type: "error", error: { type: ANTHROPIC_TYPE[err.kind], message: err.message, ...err.details } }
      : {
          error: {
            message: err.message,
            type: OPENAI_TYPE[err.kind][0],
            param: null,
            code: OPENAI_TYPE[err.kind][1],
            ...err.details,
          },
        };
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { "content-type": "application/json", ...err.headers, ...extraHeaders },
  });
}

export function apiErrorBody(err: GatewayError): { error: { code: ErrorKind; message: string; issues?: unknown } } {
  return {
    error: { code: err.kind, message: err.message, ...(err.issues ? { issues: err.issues } : {}), ...err.details },
  };
}
