/**
 * A gateway key's copy in Redis (src/key-copy.ts), written by the one module every writer uses,
 * against the real Redis behind the Upstash REST endpoint: what the admission script and the hot
 * path read back, the limits' `lim` mark, and a limits change that never resurrects a missing copy.
 */
import { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { readKeyCopy, writeKeyCopy, writeKeyLimits } from "../../src/key-copy";
import { redisKeys } from "../../src/lib/redis-keys";
import { stack } from "../helpers/gateway";

const redis = () =>
  new Redis({ url: stack().upstashUrl, token: stack().upstashToken, automaticDeserialization: false });
// With automaticDeserialization off, HMGET answers the raw array of values, in the order asked.
const hash = () => `test${Math.random().toString(16).slice(2)}`;
const key = { id: "key_1", accountId: "acc_1", environment: null, name: "ci", revoked: false };

describe("a gateway key's copy in Redis", () => {
  it("reads back what was written; without limits there is no `lim` mark, with them there is", async () => {
    const r = redis();
    const h = hash();
    expect(await readKeyCopy(r, h)).toBeNull();
    await writeKeyCopy(r, h, key);
    expect(await readKeyCopy(r, h)).toEqual({ id: "key_1", accountId: "acc_1", environment: null, revoked: false });
    expect(await r.hget(redisKeys.gatewayKey(h), "lim")).toBeNull();
    await writeKeyCopy(
      r,
      h,
      { ...key, environment: "staging", revoked: true },
      {
        requestsPerMinute: 60,
        tokensPerMinute: null,
        maxWaitMs: 250,
      },
    );
    expect(await readKeyCopy(r, h)).toMatchObject({ environment: "staging", revoked: true });
    expect(await r.hmget(redisKeys.gatewayKey(h), "rpm", "tpm", "mw", "lim")).toEqual(["60", "0", "250", "1"]);
  });

  it("a limits change updates a copy that exists and leaves a missing one missing", async () => {
    const r = redis();
    const h = hash();
    await writeKeyLimits(r, h, { requestsPerMinute: 5, tokensPerMinute: 7 });
    expect(await r.exists(redisKeys.gatewayKey(h))).toBe(0);
    await writeKeyCopy(r, h, key, { requestsPerMinute: null, tokensPerMinute: null });
    await writeKeyLimits(r, h, { requestsPerMinute: 5, tokensPerMinute: 7, maxWaitMs: null });
    expect(await r.hmget(redisKeys.gatewayKey(h), "rpm", "tpm", "mw", "lim", "id")).toEqual([
      "5",
      "7",
      "",
      "1",
      "key_1",
    ]);
  });
});
