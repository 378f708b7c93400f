import { describe, expect, it } from "vitest";
import { admin, newAccount, stack } from "../helpers/gateway";

describe("admin API: accounts and keys", () => {
  it("refuses calls without the admin token", async () => {
    const res = await fetch(`${stack().gatewayUrl}/admin/v1/accounts`, { method: "POST", body: "{}" });
    expect(res.status).toBe(401);
    const wrong = await fetch(`${stack().gatewayUrl}/admin/v1/accounts`, {
      method: "POST",
      headers: { authorization: "Bearer not-the-token" },
    });
    expect(wrong.status).toBe(401);
  });

  it("rejects bad input with 400 naming the failing fields", async () => {
    const res = await admin<{ error: { issues: { path: string }[] } }>("POST", "/accounts", { name: 42 });
    expect(res.status).toBe(400);
    expect(res.body.error.issues.map((i) => i.path)).toEqual(["name"]);
    const acc = await newAccount();
    const key = await admin<{ error: { issues: { path: string }[] } }>("POST", `/accounts/${acc.accountId}/keys`, {
      owner: "",
      environment: "no spaces allowed",
    });
    expect(key.status).toBe(400);
    expect(key.body.error.issues.map((i) => i.path).sort()).toEqual(["environment", "name", "owner"]);
  });

  it("creates a key shown once, lists it without the secret, and 404s for unknown accounts", async () => {
    const acc = await newAccount({ environment: "staging" });
    expect(acc.key).toMatch(/^tg_[0-9A-Za-z]{40}$/);
    const list = await admin<Record<string, unknown>[]>("GET", `/accounts/${acc.accountId}/keys`);
    expect(list.status).toBe(200);
    expect(list.body).toHaveLength(1);
    expect(list.body[0]).toMatchObject({
      id: acc.keyId,
      name: "test key",
      owner: "tests@example.com",
      environment: "staging",
      revokedAt: null,
    });
    expect(JSON.stringify(list.body)).not.toContain(acc.key);
    expect((await admin("GET", "/accounts/acc_nope/keys")).status).toBe(404);
  });

  it("revokes a key", async () => {
    const acc = await newAccount();
    const del = await admin<{ revokedAt: string | null }>("DELETE", `/accounts/${acc.accountId}/keys/${acc.keyId}`);
    expect(del.status).toBe(200);
    expect(del.body.revokedAt).not.toBeNull();
    expect((await admin("DELETE", `/accounts/${acc.accountId}/keys/key_unknown`)).status).toBe(404);
  });
});
