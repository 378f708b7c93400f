import { describe, expect, it } from "vitest";
import { readGatewayKey } from "./identify";

describe("readGatewayKey", () => {
  it("the SDK's api key: Bearer or x-api-key, stored provider key used", () => {
    expect(readGatewayKey(new Headers({ authorization: "Bearer tg_a" }))).toEqual({ gatewayKey: "tg_a", byok: false });
    expect(readGatewayKey(new Headers({ "x-api-key": "tg_b" }))).toEqual({ gatewayKey: "tg_b", byok: false });
    expect(readGatewayKey(new Headers({ authorization: "Bearer sk-provider" }))).toBeNull();
  });

  it("x-tollgate-key with the client's own provider key: bring-your-own-key", () => {
    expect(readGatewayKey(new Headers({ "x-tollgate-key": "tg_c", authorization: "Bearer sk-own" }))).toEqual({
      gatewayKey: "tg_c",
      byok: true,
    });
    expect(readGatewayKey(new Headers({ "x-tollgate-key": "tg_c", "x-api-key": "sk-ant-own" }))?.byok).toBe(true);
  });

  it("x-tollgate-key with no provider key of the client's own (none, or a tg_ key): the stored key", () => {
    expect(readGatewayKey(new Headers({ "x-tollgate-key": "tg_c" }))).toEqual({ gatewayKey: "tg_c", byok: false });
    expect(readGatewayKey(new Headers({ "x-tollgate-key": "tg_c", authorization: "Bearer tg_c" }))?.byok).toBe(false);
    expect(readGatewayKey(new Headers({ "x-tollgate-key": "tg_c", "x-api-key": "tg_c" }))?.byok).toBe(false);
  });
});
