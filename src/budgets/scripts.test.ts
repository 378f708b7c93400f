import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { BILLING_SCRIPTS } from "../billing/scripts";
import { ALL_SCRIPTS as BUDGET_SCRIPTS } from "./scripts";

const ALL_SCRIPTS = [...BUDGET_SCRIPTS, ...BILLING_SCRIPTS];

describe("Lua scripts", () => {
  it.each(ALL_SCRIPTS.map((s) => [s.name, s] as const))("%s carries the SHA-1 of its source", (_, script) => {
    expect(script.sha1).toBe(createHash("sha1").update(script.source).digest("hex"));
  });
  it("names are unique", () => {
    expect(new Set(ALL_SCRIPTS.map((s) => s.name)).size).toBe(ALL_SCRIPTS.length);
  });
});
