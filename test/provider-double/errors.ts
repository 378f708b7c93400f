/** Error replies in each provider's own shape, so the SDKs raise their normal error classes. */
import type { Reply } from "./types";

interface OpenAIErrorBody {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

function openaiDefaults(status: number, model: string): OpenAIErrorBody {
  switch (status) {
    case 400:
      return {
        message: `This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.`,
        type: "invalid_request_error",
        param: "messages",
        code: "context_length_exceeded",
      };
    case 401:
      return {
        message:
          "Incorrect API key provided: sk-***. You can find your API key at https://platform.openai.com/account/api-keys.",
        type: "invalid_request_error",
        param: null,
        code: "invalid_api_key",
      };
    case 403:
      return {
        message: "Country, region, or territory not supported",
        type: "request_forbidden",
        param: null,
        code: "unsupported_country_region_territory",
      };
    case 404:
      return {
        message: `The model \`${model}\` does not exist or you do not have access to it.`,
        type: "invalid_request_error",
        param: null,
        code: "model_not_found",
      };
    case 429:
      return {
        message: `Rate limit reached for ${model} in organization org-double on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.`,
        type: "requests",
        param: null,
        code: "rate_limit_exceeded",
      };
    case 500:
      return {
        message: "The server had an error while processing your request. Sorry about that!",
        type: "server_error",
        param: null,
        code: null,
      };
    case 503:
      return {
        message: "The engine is currently overloaded, please try again later",
        type: "server_error",
        param: null,
        code: null,
      };
    default:
      return {
        message: `The provider double answered ${status} as asked by x-double-status.`,
        type: status >= 500 ? "server_error" : "invalid_request_error",
        param: null,
        code: null,
      };
  }
}

/** `{"error":{"message","type","param","code"}}` — OpenAI and every OpenAI-compatible style. */
export function openaiError(
  status: number,
  requestId: string,
  opts: { model?: string; retryAfter?: string; error?: Partial<OpenAIErrorBody> } = {},
): Reply {
  const error = { ...openaiDefaults(status, opts.model ?? "gpt-4o"), ...opts.error };
  const headers: Record<string, string> = {
    "content-type": "application/json; charset=utf-8",
    "x-request-id": requestId,
    "openai-version": "2020-10-01",
  };
  if (status === 429) headers["retry-after"] = opts.retryAfter ?? "1";
  return { kind: "json", status, headers, body: JSON.stringify({ error }) };
}

/** The OpenAI in-stream error event (`data: {"error":{…}}`), which openai-node raises as an APIError. */
export function openaiStreamErrorFrame(): string {
  return `data: ${JSON.stringify({ error: openaiDefaults(500, "") })}\n\n`;
}

const ANTHROPIC_TYPES: Record<number, [string, string]> = {
  400: ["invalid_request_error", "prompt is too long: 210000 tokens > 200000 maximum"],
  401: ["authentication_error", "invalid x-api-key"],
  402: ["billing_error", "Your credit balance is too low to access the Anthropic API."],
  403: ["permission_error", "Your API key does not have permission to use the specified resource."],
  404: ["not_found_error", "Not Found"],
  413: ["request_too_large", "Request exceeds the maximum allowed number of bytes."],
  429: [
    "rate_limit_error",
    "This request would exceed the rate limit for your organization of 50 requests per minute. Please try again later.",
  ],
  500: ["api_error", "Internal server error"],
  504: ["timeout_error", "Request timed out"],
  529: ["overloaded_error", "Overloaded"],
};

/** `{"type":"error","error":{"type","message"},"request_id"}` — the Anthropic error shape. */
export function anthropicError(
  status: number,
  requestId: string,
  opts: { type?: string; message?: string; retryAfter?: string } = {},
): Reply {
  const [defType, defMessage] = ANTHROPIC_TYPES[status] ?? [
    status >= 500 ? "api_error" : "invalid_request_error",
    `The provider double answered ${status} as asked by x-double-status.`,
  ];
  const headers: Record<string, string> = { "content-type": "application/json", "request-id": requestId };
  if (status === 429) headers["retry-after"] = opts.retryAfter ?? "1";
  const body = {
    type: "error",
    error: { type: opts.type ?? defType, message: opts.message ?? defMessage },
    request_id: requestId,
  };
  return { kind: "json", status, headers, body: JSON.stringify(body) };
}

/** The Anthropic in-stream error event (`event: error`), e.g. an overload in the middle of a stream. */
export function anthropicStreamErrorFrame(requestId: string): string {
  const body = { type: "error", error: { type: "overloaded_error", message: "Overloaded" }, request_id: requestId };
  return `event: error\ndata: ${JSON.stringify(body)}\n\n`;
}
