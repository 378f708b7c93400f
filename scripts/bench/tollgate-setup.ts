/**
 * Tollgate's side of the benchmark, through the admin API only: an account, a gateway key, the
 * account's stored OpenAI credential (the SDK sends the gateway key as its API key, the default
 * mode), and one hard budget rule per scope type, with caps no run can reach so every call is
 * admitted and every scope reserved and settled.
 */
export const SCOPES = ["account", "tenant", "feature", "key", "user", "env", "workflow"] as const;

export interface TollgateAccount {
  accountId: string;
  keyId: string;
  key: string;
  rules: { type: string; id?: string }[];
  /** The attribution headers every call carries (the workflow is set per run). */
  headers: Record<string, string>;
}

async function admin<T>(base: string, token: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`admin ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return (text ? JSON.parse(text) : null) as T;
}

export async function setupTollgate(gatewayUrl: string, adminToken: string): Promise<TollgateAccount> {
  const acc = await admin<{ id: string }>(gatewayUrl, adminToken, "POST", "/accounts", { name: "bench" });
  const key = await admin<{ id: string; key: string }>(gatewayUrl, adminToken, "POST", `/accounts/${acc.id}/keys`, {
    name: "bench",
    owner: "bench@example.com",
    environment: "production",
  });
  await admin(gatewayUrl, adminToken, "PUT", `/accounts/${acc.id}/providers/openai`, { apiKey: "sk-bench-upstream" });
  const ids: Record<(typeof SCOPES)[number], string | undefined> = {
    account: undefined,
    tenant: "*", // each tenant separately
    feature: "chat",
    key: key.id,
    user: "*",
    env: "production",
    workflow: "*", // each run is its own workflow
  };
  const rules: TollgateAccount["rules"] = [];
  for (const type of SCOPES) {
    const scope = ids[type] === undefined ? { type } : { type, id: ids[type] };
    await admin(gatewayUrl, adminToken, "POST", `/accounts/${acc.id}/budgets`, {
      scope,
      period: "month",
      capUsd: "1000000",
      mode: "hard",
    });
    rules.push(scope);
  }
  return {
    accountId: acc.id,
    keyId: key.id,
    key: key.key,
    rules,
    headers: {
      authorization: `Bearer ${key.key}`,
      "x-tollgate-tenant": "acme",
      "x-tollgate-feature": "chat",
      "x-tollgate-user": "user-1",
      "x-tollgate-env": "production",
    },
  };
}
