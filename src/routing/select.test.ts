import { describe, expect, it } from "vitest";
import type { AccountSettings } from "../account-settings";
import { selectRoute } from "./select";
import type { RouteSetting } from "./types";

const r = (name: string): RouteSetting => ({ name, rev: "1", targets: [{ provider: "openai", model: "gpt-4o" }] });
const settings: AccountSettings = {
  accountId: "acc",
  providers: {},
  priceOverrides: [],
  routes: { a: r("a"), b: r("b"), k: r("k") },
  routeDefaults: { keys: { key_1: "k" }, features: { search: "b" } },
};

describe("selectRoute", () => {
  it("an account without routes: none, and naming one is a 400", () => {
    const none: AccountSettings = { accountId: "acc", providers: {}, priceOverrides: [] };
    expect(selectRoute(none, null, "key_1", "search")).toBeNull();
    expect(() => selectRoute(none, "a", "key_1", null)).toThrow(/no route named "a"/);
  });

  it("the header, else the feature's default, else the key's; the key's route stays a policy", () => {
    expect(selectRoute(settings, "a", "key_1", "search")!.policies.map((p) => p.name)).toEqual(["a", "k"]);
    expect(selectRoute(settings, null, "key_1", "search")!.route.name).toBe("b");
    expect(selectRoute(settings, null, "key_1", null)!.policies.map((p) => p.name)).toEqual(["k"]);
    expect(selectRoute(settings, null, "key_2", null)).toBeNull();
    expect(() => selectRoute(settings, "nope", "key_2", null)).toThrow(/no route named/);
  });
});
