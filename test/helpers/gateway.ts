/** Small helpers the e2e tests share: the stack's addresses, admin calls, a fresh account + key. */
import { inject } from "vitest";

export const stack = () => inject("stack");

export async function admin<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${stack().gatewayUrl}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${stack().adminToken}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
}

export interface TestAccount {
  accountId: string;
  keyId: string;
  key: string;
}

/** Provider keys stored for every new test account (the double accepts any key but tg_…). */
export const STORED_PROVIDER_KEYS: Record<string, string> = { openai: "sk-test-openai", anthropic: "sk-ant-test" };

/**
 * A new account with one gateway key and stored keys for `providers` (default openai + anthropic):
 * tests never share accounts, so their order does not matter.
 */
export async function newAccount(
  opts: { environment?: string; name?: string; providers?: string[] } = {},
): Promise<TestAccount> {
  const acc = await admin<{ id: string }>("POST", "/accounts", { name: opts.name ?? "test account" });
  if (acc.status !== 201) throw new Error(`account: ${acc.status} ${JSON.stringify(acc.body)}`);
  const key = await admin<{ id: string; key: string }>("POST", `/accounts/${acc.body.id}/keys`, {
    name: "test key",
    owner: "tests@example.com",
    ...(opts.environment ? { environment: opts.environment } : {}),
  });
  if (key.status !== 201) throw new Error(`key: ${key.status} ${JSON.stringify(key.body)}`);
  for (const provider of opts.providers ?? ["openai", "anthropic"]) {
    const apiKey = STORED_PROVIDER_KEYS[provider] ?? `sk-test-${provider}`;
    const put = await admin("PUT", `/accounts/${acc.body.id}/providers/${provider}`, { apiKey });
    if (put.status !== 200) throw new Error(`provider ${provider}: ${put.status} ${JSON.stringify(put.body)}`);
  }
  return { accountId: acc.body.id, keyId: key.body.id, key: key.body.key };
}

/** Polls until fn returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(fn: () => Promise<T | undefined>, timeoutMs = 5000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`condition not met within ${timeoutMs} ms${lastError ? `: ${String(lastError)}` : ""}`);
}
