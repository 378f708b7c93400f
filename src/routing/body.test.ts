import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { setTopLevelFields } from "./body";

describe("setTopLevelFields", () => {
  it("replaces a top-level value in place and keeps every other byte", () => {
    const text =
      '{ "model" : "gpt-4o",\n  "seed": 12345678901234567890, "messages":[{"role":"user","content":"model: \\"x\\""}]}';
    const out = setTopLevelFields(text, { model: "gpt-4o-mini" }, JSON.parse(text));
    expect(out).toBe(text.replace('"gpt-4o"', '"gpt-4o-mini"'));
    expect(out).toContain("12345678901234567890");
  });

  it("does not touch nested keys of the same name; adds a missing field after the brace", () => {
    const text = '{"messages":[{"model":"inner","max_tokens":5}],"metadata":{"max_tokens":9}}';
    const out = setTopLevelFields(text, { max_tokens: 50 }, JSON.parse(text));
    expect(out).toBe(`{"max_tokens":50,${text.slice(1)}`);
    expect(JSON.parse(out).messages[0].max_tokens).toBe(5);
    expect(setTopLevelFields("{ }", { model: "m" }, {})).toBe('{"model":"m" }');
  });

  it("sets a duplicated key everywhere, and several fields at once", () => {
    const text = '{"max_tokens":900,"model":"a","max_tokens":800}';
    const out = setTopLevelFields(text, { max_tokens: 100, model: "b" }, JSON.parse(text));
    expect(out).toBe('{"max_tokens":100,"model":"b","max_tokens":100}');
  });

  it("any JSON object: the result parses to the object with the fields set", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.option(fc.nat()), (obj, n) => {
        const text = JSON.stringify(obj, null, n ?? undefined);
        const fields = { model: "m", max_tokens: 7 };
        expect(JSON.parse(setTopLevelFields(text, fields, obj))).toEqual(
          JSON.parse(JSON.stringify({ ...obj, ...fields })),
        );
      }),
    );
  });
});
