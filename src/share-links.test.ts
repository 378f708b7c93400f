import { afterEach, describe, expect, it } from "vitest";
import { applyClockOffset, CLOCK_OFFSET_BINDING } from "./lib/clock";
import { createShareLink, readShareLink } from "./share-links";

const SECRET = "the-sealing-secret-of-this-gateway";

describe("share links", () => {
  afterEach(() => applyClockOffset({}));

  it("name one account and tenant until they expire by the gateway's clock", async () => {
    const { token, expiresAt } = await createShareLink(SECRET, {
      accountId: "acc_a",
      tenant: "acme",
      expiresInHours: 2,
    });
    expect(await readShareLink(SECRET, token)).toEqual({ accountId: "acc_a", tenant: "acme", expiresAt });
    applyClockOffset({ [CLOCK_OFFSET_BINDING]: String(2 * 3_600_000 - 5000) });
    expect(await readShareLink(SECRET, token)).not.toBeNull();
    applyClockOffset({ [CLOCK_OFFSET_BINDING]: String(2 * 3_600_000 + 5000) });
    expect(await readShareLink(SECRET, token)).toBeNull();
  });

  it("are worthless under another secret, and two links to one tenant differ", async () => {
    const a = await createShareLink(SECRET, { accountId: "acc_a", tenant: "acme", expiresInHours: 1 });
    const b = await createShareLink(SECRET, { accountId: "acc_a", tenant: "acme", expiresInHours: 1 });
    expect(a.token).not.toBe(b.token);
    expect(await readShareLink(`${SECRET}-rotated`, a.token)).toBeNull();
  });
});
