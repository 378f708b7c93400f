import { describe, expect, it } from "vitest";
import { plainProxyPath } from "./route";

const at = (path: string) => plainProxyPath(new URL(`https://gw.example${path}`));

describe("plainProxyPath (the hot path's entry before the router)", () => {
  it("splits /proxy/{provider}/… into the id and the rest, the query left out", () => {
    expect(at("/proxy/openai/chat/completions?x=1")).toEqual({ providerId: "openai", rest: "/chat/completions" });
    expect(at("/proxy/anthropic/v1/messages")).toEqual({ providerId: "anthropic", rest: "/v1/messages" });
    expect(at("/proxy/my-vllm/")).toEqual({ providerId: "my-vllm", rest: "/" });
  });

  it("leaves everything else to Hono's route: no rest, an empty or encoded id, other paths", () => {
    expect(at("/proxy/openai")).toBeNull();
    expect(at("/proxy//chat/completions")).toBeNull();
    expect(at("/proxy/open%61i/chat/completions")).toBeNull();
    expect(at("/v1/usage")).toBeNull();
    expect(at("/proxyx/openai/chat")).toBeNull();
  });
});
