import { describe, expect, it } from "vitest";
import { signToken, verifyToken } from "./signed";

const SECRET = "a-worker-secret-of-some-length";

describe("signed tokens", () => {
  it("verify with the same secret and purpose until they expire", async () => {
    const t = await signToken({ exp: 2000, who: "admin" } as never, SECRET, "dashboard-session");
    expect(await verifyToken(t, SECRET, "dashboard-session", 1999)).toEqual({ exp: 2000, who: "admin" });
    expect(await verifyToken(t, SECRET, "dashboard-session", 2000)).toBeNull();
  });

  it("never verify for another purpose or secret", async () => {
    const t = await signToken({ exp: 2000 }, SECRET, "dashboard-session");
    expect(await verifyToken(t, SECRET, "share-link", 0)).toBeNull();
    expect(await verifyToken(t, `${SECRET}x`, "dashboard-session", 0)).toBeNull();
  });

  it("reject any change to payload or signature", async () => {
    const t = await signToken({ exp: 2000, acc: "acc_a" } as never, SECRET, "share-link");
    const [body, sig] = t.split(".") as [string, string];
    const forged = btoa(JSON.stringify({ exp: 2000, acc: "acc_b" })).replace(/=+$/, "");
    const flip = (s: string) => (s[0] === "A" ? "B" : "A") + s.slice(1);
    for (const bad of [
      `${forged}.${sig}`,
      `${flip(body)}.${sig}`,
      `${body}.${flip(sig)}`,
      `${body}.`,
      body,
      `${t}.x`,
      "",
    ])
      expect(await verifyToken(bad, SECRET, "share-link", 0), bad).toBeNull();
  });

  it("have one spelling: a last character differing only in unused bits is refused", async () => {
    const t = await signToken({ exp: 2000 }, SECRET, "share-link");
    const last = t.at(-1)!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // A 32-byte HMAC is 43 characters: the last carries 4 bits, the index's low 2 bits are spare.
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(await verifyToken(t, SECRET, "share-link", 0)).not.toBeNull();
    expect(await verifyToken(t.slice(0, -1) + sibling, SECRET, "share-link", 0)).toBeNull();
  });

  it("need a numeric expiry", async () => {
    const t = await signToken({} as never, SECRET, "share-link");
    expect(await verifyToken(t, SECRET, "share-link", 0)).toBeNull();
  });
});
