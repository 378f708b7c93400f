/** Helpers of the routing e2e suites (test/e2e/routing-*.test.ts): define a route, call through it. */
import { expect } from "vitest";
import { admin, stack } from "./gateway";

export async function putRoute(accountId: string, name: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await admin<Record<string, unknown>>("PUT", `/accounts/${accountId}/routes/${name}`, body);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

/** A raw OpenAI-format chat call through the gateway (status, headers and body as sent). */
export function chat(
  key: string,
  body: Record<string, unknown>,
  headers: Record<string, string> = {},
  provider = "openai",
): Promise<Response> {
  return fetch(`${stack().gatewayUrl}/proxy/${provider}/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
}

export const hi = (content = "hi") => [{ role: "user", content }];
