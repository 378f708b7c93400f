import { describe, expect, it } from "vitest";
import { decryptSecret, encryptSecret, sha256Hex } from "./crypto";

describe("crypto", () => {
  it("hashes with SHA-256", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
  it("seals and opens a secret; ciphertext differs each time and hides the plaintext", async () => {
    const a = await encryptSecret("sk-live-123", "server secret");
    const b = await encryptSecret("sk-live-123", "server secret");
    expect(a).not.toBe(b);
    expect(a).not.toContain("sk-live");
    expect(await decryptSecret(a, "server secret")).toBe("sk-live-123");
  });
  it("refuses the wrong key and tampered ciphertext", async () => {
    const sealed = await encryptSecret("sk-live-123", "server secret");
    await expect(decryptSecret(sealed, "other secret")).rejects.toThrow();
    const tampered = sealed.slice(0, -4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA");
    await expect(decryptSecret(tampered, "server secret")).rejects.toThrow();
  });
});
